"""The spec's response and webhook bodies, built in one place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from deepres import API_VERSION


def timestamp() -> str:
    """ISO 8601 UTC with microseconds, e.g. `2024-03-04T13:18:19.557515Z`."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def spec_date(day: dt.date) -> str:
    """A date as the spec writes it: `2023-10-01T00:00:00.000Z`."""
    return f"{day.isoformat()}T00:00:00.000Z"


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "data": data,
        "version": API_VERSION,
        "timestamp": timestamp(),
        **extra,
    }


def error(status: int, code: str, message: str, detail: str | None = None) -> dict[str, Any]:
    """The error envelope both documents' clients read (`data.message` and `errorMessage`)."""
    data: dict[str, Any] = {"message": message}
    if detail is not None:
        data["detail"] = detail
    return {
        "statusCode": status,
        "data": data,
        "error": code,
        "errorMessage": message,
        "version": API_VERSION,
        "timestamp": timestamp(),
    }
