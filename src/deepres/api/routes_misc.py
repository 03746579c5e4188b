"""Token exchange, signed file downloads and health probes."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from sqlalchemy import text

from deepres.api.deps import client_address, get_runtime
from deepres.api.errors import UNAUTHORIZED
from deepres.api.schemas import Health, TokenRequest, TokenResponse, errors_for
from deepres.auth import jwt_tokens
from deepres.auth.clients import principal_for_token
from deepres.errors import NotFound, Unauthorized

router = APIRouter()


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    responses=errors_for(400, 401, 429, 500),
    summary="Exchange a client token for a 10-hour bearer JWT",
)
def token(request: Request, payload: TokenRequest) -> dict[str, Any]:
    runtime = get_runtime(request)
    failures = request.app.state.auth_failures
    address = client_address(request)
    failures.refuse_if_over(address)
    with runtime.db.engine.connect() as conn:
        principal = principal_for_token(conn, runtime.keys, payload.client_token)
    if principal is None:
        failures.count(address)
        raise Unauthorized(UNAUTHORIZED)
    lifetime = runtime.settings.jwt_lifetime_seconds
    jwt = jwt_tokens.issue(principal, runtime.keys.jwt, lifetime)
    return {"id_token": jwt, "access_token": jwt, "token_type": "bearer", "expires_in": lifetime}


def download(
    request: Request,
    key: str,
    expires: int = Query(..., ge=0, le=2**40),
    signature: str = Query(..., max_length=128),
) -> FileResponse:
    runtime = get_runtime(request)
    storage = runtime.storage
    verify = getattr(storage, "verify_signed", None)
    if verify is None or not verify(key, expires, signature):
        raise NotFound("This download link is invalid or has expired.")
    path = storage.get_local_path(key)
    if path is None or not path.is_file():
        raise NotFound("This file no longer exists.")
    return FileResponse(path, media_type="image/tiff", filename=path.name)


for _method in ("GET", "HEAD"):  # HEAD: what a download manager asks first
    router.add_api_route(
        "/files/{key:path}",
        download,
        methods=[_method],
        name=f"download_{_method.lower()}",
        responses={200: {"content": {"image/tiff": {}}}, **errors_for(400, 404)},
        response_class=FileResponse,
        summary="Download a result through a signed, expiring link",
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=errors_for(401, 429),
    summary="Prometheus metrics: jobs and dates by state, queue depth, timings, webhooks",
)
def metrics(request: Request) -> PlainTextResponse:
    from deepres.api.metrics import render

    runtime = get_runtime(request)
    request.app.state.metrics_limiter.check(client_address(request))
    expected = runtime.settings.metrics_token
    if expected:
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("Unauthorized. /metrics wants Authorization: Bearer <token>.")
    return PlainTextResponse(render(runtime), media_type="text/plain; version=0.0.4")


@router.get("/healthz", response_model=Health, summary="The API process is up")
def healthz() -> dict[str, Any]:
    return {"status": "ok", "checks": {}}


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health}},
    summary="Database and broker reachable",
)
def readyz(request: Request) -> Any:
    runtime = get_runtime(request)
    checks: dict[str, str] = {}
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        runtime.dispatcher.ping()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return body if ok else JSONResponse(body, status_code=503)
