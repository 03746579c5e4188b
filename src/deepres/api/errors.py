"""One table from exception to HTTP status, and the handlers that answer in the envelope."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from deepres import errors
from deepres.jobs.envelope import error

log = logging.getLogger(__name__)

STATUS: dict[type[errors.DeepresError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.PaymentRequired: 402,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.TooManyVertices: 422,
    errors.PipelineFailed: 424,
    errors.RateLimited: 429,
    errors.CatalogUnavailable: 503,
    errors.SceneReadError: 503,
    errors.StorageError: 503,
}

BAD_REQUEST = "Bad request. Invalid input data. Please provide all fields in correct format."
UNAUTHORIZED = "Unauthorized. Invalid client token."
INTERNAL = (
    "Internal Server Error. Could not initiate task due to an internal server error. "
    "Please try again later."
)
HTTP_CODES = {
    404: ("NOT-FOUND", "Not found. No such endpoint."),
    405: ("METHOD-NOT-ALLOWED", "Method not allowed for this endpoint."),
}


def status_for(exc: errors.DeepresError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def envelope_response(
    status: int,
    code: str,
    message: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error(status, code, message, detail), status_code=status, headers=headers)


async def _deepres_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DeepresError)
    status = status_for(exc)
    headers = None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return envelope_response(status, exc.code, exc.message, exc.detail, headers)


def _describe(err: dict[str, object]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")  # type: ignore[attr-defined]
    return f"{loc or 'body'}: {err.get('msg')}"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(_describe(e) for e in exc.errors()[:5])
    return envelope_response(400, "INVALID-INPUT", f"{BAD_REQUEST} {problems}".strip())


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path answers (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        route_methods = getattr(route, "methods", None)
        if match != Match.NONE and route_methods:
            methods |= set(route_methods)
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = HTTP_CODES.get(exc.status_code, (f"HTTP-{exc.status_code}", str(exc.detail)))
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return envelope_response(exc.status_code, code, message, headers=headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return envelope_response(500, "INTERNAL-ERROR", INTERNAL)


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DeepresError, _deepres_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
