"""The SDK's exception tree: one class per HTTP status family, built from the error envelope.

Every answer deepres gives outside 2xx is the envelope
`{"statusCode", "data": {"message", "detail"?}, "error", "errorMessage", ...}`;
`DeepresAPIError.from_response` reads it (and anything else a proxy may answer) into the
subclass its status names.

    DeepresAPIError             status_code, message, code, detail, url
    ├── BadRequest              400, 413, 422
    ├── Unauthorized            401
    ├── PaymentRequired         402 (the client's hectare allocation is spent)
    ├── Forbidden               403
    ├── NotFound                404
    ├── Conflict                409 (also: a pipeline still running)
    ├── PipelineFailed          424
    ├── RateLimited             429, retry_after
    └── ServerError             5xx
    WaitTimeout (TimeoutError)  a wait or a poll outlived its timeout
"""

from __future__ import annotations

from typing import Any

import httpx


class DeepresAPIError(Exception):
    """An error answer from a deepres service: its status, message, machine code and detail.

    `url` is the URL that answered (an API endpoint, or a download link), without its query,
    which may hold a signature.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.url = url

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.message} (HTTP {self.status_code}{code})"

    @classmethod
    def from_response(cls, response: httpx.Response) -> DeepresAPIError:
        """The typed error an answer stands for, with the envelope's message, code and detail.

        Reads the body, so a streamed response must have been read (or closed) first.
        """
        status = response.status_code
        message, code, detail = _envelope_fields(response)
        kind = _class_for(status)
        kwargs: dict[str, Any] = {
            "status_code": status,
            "code": code,
            "detail": detail,
            "request_id": response.headers.get("DeepRes-Request-Id"),
            "url": _url_of(response),
        }
        if kind is RateLimited:
            kwargs["retry_after"] = _retry_after(response)
        return kind(message, **kwargs)


class BadRequest(DeepresAPIError):
    """The request was refused as malformed or invalid (400, 413, 422)."""


class Unauthorized(DeepresAPIError):
    """The client token or bearer JWT was missing, wrong, revoked or expired (401)."""


class PaymentRequired(DeepresAPIError):
    """The client's hectare allocation does not cover the request (402)."""


class Forbidden(DeepresAPIError):
    """The client lacks the permission this endpoint needs (403)."""


class NotFound(DeepresAPIError):
    """No such job, pipeline or file for this client (404); another client's ids answer this."""


class Conflict(DeepresAPIError):
    """The request clashes with the service's state (409): a reused idempotency key, a pipeline
    that has not resolved yet."""


class PipelineFailed(DeepresAPIError):
    """The pipeline failed; its result will never come (424)."""


class RateLimited(DeepresAPIError):
    """Too many requests (429); `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(DeepresAPIError):
    """The service failed or is unavailable (5xx); trying again later may work."""


class WaitTimeout(TimeoutError):
    """A wait for a job or pipeline ran past its timeout; the work goes on server-side."""


_BY_STATUS: dict[int, type[DeepresAPIError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    422: BadRequest,
    424: PipelineFailed,
    429: RateLimited,
}


def shown_url(url: httpx.URL | str) -> str:
    """A URL to print in a message: without its query, where a link's signature would be."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


def _url_of(response: httpx.Response) -> str | None:
    try:
        return shown_url(response.request.url)
    except RuntimeError:  # a Response built by hand has no request
        return None


def _class_for(status: int) -> type[DeepresAPIError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, DeepresAPIError)


def _envelope_fields(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """(message, code, detail) from the error envelope, or a plain description otherwise."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        data = body.get("data")
        data = data if isinstance(data, dict) else {}
        message = data.get("message") or body.get("errorMessage") or data.get("error")
        code = body.get("error")
        detail = data.get("detail")
        if isinstance(message, str) and message:
            return (
                message,
                code if isinstance(code, str) else None,
                detail if isinstance(detail, str) else None,
            )
    text = response.text.strip()[:300] if response.content else ""
    reason = response.reason_phrase or "error"
    return (f"{reason}: {text}" if text else reason), None, None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare enough from this service to leave to the caller
