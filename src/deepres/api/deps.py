"""Request dependencies: the process Runtime and the authenticated, authorised caller."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from deepres.api.errors import UNAUTHORIZED
from deepres.api.ratelimit import RateLimiter
from deepres.auth import jwt_tokens
from deepres.auth.clients import Principal, principal_for_id, principal_for_token
from deepres.auth.permissions import any_grants
from deepres.errors import Forbidden, InvalidInput, Unauthorized
from deepres.jobs.runtime import Runtime

P = ParamSpec("P")
T = TypeVar("T")


async def quick_read(
    runtime: Runtime, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a short indexed database read: inline on SQLite, in the thread pool elsewhere.

    An SQLite read is an in-process call of microseconds that never waits for a writer (WAL);
    handing it to a thread and back costs more than the read itself: under load, two hops per
    request held the status endpoint to 40 % of what it serves without them (2 cores).
    A networked database waits on the network, so there the read goes to a thread. Writes
    always go to threads: they may wait for SQLite's write lock.
    """
    if runtime.db.is_sqlite:
        return read(*args, **kwargs)
    return await run_in_threadpool(read, *args, **kwargs)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


_NO_BODY = object()


async def json_body(request: Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when there is no body; 400 for a broken one.

    Parsed once per request (authentication reads the body's `client_token` first). Nesting
    deeper than Python's recursion limit is refused like any other malformed body.
    """
    cached: object = getattr(request.state, "json_body", _NO_BODY)
    if cached is not _NO_BODY:
        return cached if isinstance(cached, dict) else None
    raw = await request.body()
    body: dict[str, Any] | None = None
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidInput("Bad request. The body is not valid JSON.") from exc
        if not isinstance(parsed, dict):
            raise InvalidInput("Bad request. The body must be a JSON object.")
        body = parsed
    request.state.json_body = body
    return body


def _lookup(runtime: Runtime, bearer: str | None, token: str | None) -> Principal:
    with runtime.db.engine.connect() as conn:
        if bearer is None:
            principal = principal_for_token(conn, runtime.keys, token or "")
        else:
            client_id, generation = jwt_tokens.verify(bearer, runtime.keys.jwt)
            principal = principal_for_id(conn, client_id)
            if principal is not None and principal.token_generation != generation:
                raise Unauthorized(
                    "Unauthorized. The client token was rotated after this bearer token was "
                    "issued; exchange the new client token at /auth/token."
                )
    if principal is None:
        raise Unauthorized(UNAUTHORIZED)
    return principal


def client_address(request: Request) -> str:
    """The peer address of the request (what failed-authentication throttling counts by)."""
    return request.client.host if request.client else "unknown"


async def authenticate(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer`, a `client_token` header, or the JSON body.

    Failed attempts count per address: past `failed_auth_per_minute` of them the address gets
    429 until the window has passed, so tokens cannot be guessed at speed.
    """
    failures: RateLimiter = request.app.state.auth_failures
    address = client_address(request)
    failures.refuse_if_over(address)
    try:
        return await _authenticate(request)
    except Unauthorized:
        failures.count(address)
        raise


async def _authenticate(request: Request) -> Principal:
    runtime = get_runtime(request)
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    token = request.headers.get("client_token") or request.headers.get("client-token")
    if bearer is None and request.method in ("POST", "PUT", "PATCH"):
        body = await json_body(request)
        value = (body or {}).get("client_token")
        in_body = value if isinstance(value, str) and value else None
        if token and in_body and not secrets.compare_digest(token.encode(), in_body.encode()):
            raise InvalidInput(
                "Bad request. The client_token header and the body's client_token differ; "
                "send one of them."
            )
        token = token or in_body
    if bearer is None and not token:
        raise Unauthorized(UNAUTHORIZED)
    return await quick_read(runtime, _lookup, runtime, bearer, token)


def authorized(permission: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency giving the caller when one of its permissions grants `permission`."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        request.app.state.rate_limiter.check(principal.client_id)
        if not any_grants(principal.permissions, permission):
            raise Forbidden(f"Forbidden. This client lacks the permission '{permission}'.")
        return principal

    dependency.__name__ = f"authorized_{permission.replace('.', '_').replace('-', '_')}"
    return dependency
