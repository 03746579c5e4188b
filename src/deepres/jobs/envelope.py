"""The spec's envelopes, in one place: every answer and webhook body derives from `Wire`.

`Wire` leaves out keys whose value is None, so no answer carries a null the spec does not have
(a model names the keys that must stay, such as a page's `cursor`). `Envelope[T]` is the
spec's `{"statusCode", "data", "version", "timestamp"}` around a typed `data`; `ErrorEnvelope`
is the one error body both documents' clients read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Generic, TypeVar, no_type_check

from pydantic import BaseModel, ConfigDict, model_serializer

from deepres import API_VERSION
from deepres.types import spec_date

__all__ = ["Envelope", "ErrorEnvelope", "Wire", "error", "ok", "spec_date", "timestamp"]

T = TypeVar("T")


def timestamp() -> str:
    """ISO 8601 UTC with microseconds, e.g. `2024-03-04T13:18:19.557515Z`."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Wire(BaseModel):
    """Base of every body deepres sends: None-valued keys are left out of the JSON."""

    model_config = ConfigDict(extra="forbid")
    #: Keys sent even when None (the mechanics document's `cursor` on the last page).
    keep_none: ClassVar[frozenset[str]] = frozenset()

    # No annotations on purpose: pydantic then documents each model's own schema for its
    # answers (an annotated return type would replace it in /openapi.json).
    @model_serializer(mode="wrap")
    @no_type_check
    def _without_nulls(self, handler):
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if v is not None or k in self.keep_none}


class Envelope(Wire, Generic[T]):
    """`{"statusCode": 200, "data": ..., "version": "v1.0", "timestamp": ...}` (+ `status`)."""

    statusCode: int = 200
    data: T
    version: str = API_VERSION
    timestamp: str
    status: str | None = None


def ok(data: T, *, status: str | None = None) -> Envelope[T]:
    """A 200 envelope around `data`, stamped now."""
    return Envelope[T](data=data, timestamp=timestamp(), status=status)


class ErrorData(Wire):
    message: str
    detail: str | None = None


class ErrorEnvelope(Wire):
    """The error envelope: `data.message` for the product spec, `error*` for the mechanics one."""

    statusCode: int
    data: ErrorData
    error: str
    errorMessage: str
    version: str = API_VERSION
    timestamp: str


def error(status: int, code: str, message: str, detail: str | None = None) -> dict[str, Any]:
    """The error envelope as JSON-ready data."""
    body = ErrorEnvelope(
        statusCode=status,
        data=ErrorData(message=message, detail=detail),
        error=code,
        errorMessage=message,
        timestamp=timestamp(),
    )
    return body.model_dump(mode="json")
