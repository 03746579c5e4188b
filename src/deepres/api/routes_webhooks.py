"""The webhook delivery log of a job, and redelivery of one message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from deepres.api.deps import authorized, get_runtime
from deepres.api.schemas import errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.errors import NotFound
from deepres.jobs import outbox, service

router = APIRouter()


@router.get(
    "/deep-resolution/webhooks",
    responses=errors_for(400, 401, 403, 404, 429, 500),
    summary="Every webhook of a job with each delivery attempt",
)
def webhook_log(
    request: Request,
    job_id: str = Query(..., max_length=64),
    principal: Principal = Depends(authorized(perm.WEBHOOKS_READ)),
) -> dict[str, Any]:
    runtime = get_runtime(request)
    with runtime.db.session() as s:
        service.require_owned(s, principal, job_id)
        return {"job_id": job_id, "results": outbox.log_for_job(s, principal.client_id, job_id)}


@router.post(
    "/deep-resolution/webhooks/{webhook_id}/redeliver",
    responses=errors_for(400, 401, 403, 404, 409, 429, 500),
    summary="Send a webhook again, under the same webhook-id",
)
def redeliver(
    request: Request,
    webhook_id: str,
    principal: Principal = Depends(authorized(perm.WEBHOOKS_REDELIVER)),
) -> dict[str, Any]:
    entry = outbox.redeliver(get_runtime(request), principal.client_id, webhook_id)
    if entry is None:
        raise NotFound(f"No webhook {webhook_id!r} for this client.")
    return entry
