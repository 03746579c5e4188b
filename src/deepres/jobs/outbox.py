"""The webhook outbox: every message is a row, sent by a worker, retried on the schedule.

Callers `announce` a typed message (`announcements`) inside the transaction that records what
it announces, then `dispatch` the returned ids once that transaction has committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deepres.auth.models import Client
from deepres.db import utcnow
from deepres.jobs.announcements import Announcement
from deepres.jobs.models import Delivery, DeliveryAttempt, DeliveryState, Job, JobState
from deepres.jobs.runtime import Runtime
from deepres.webhooks.retry import next_delay
from deepres.webhooks.sender import SendResult, send
from deepres.webhooks.signing import digifarm_body_and_signature, standard_headers

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Digifarm-Signature"
CLAIM_MARGIN_S = 30.0


def webhook_id(dedupe_key: str) -> str:
    """The `webhook-id` of a message: derived from what it announces, so reruns reuse it."""
    return "msg_" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def enqueue(
    session: Session,
    *,
    client_id: str,
    url: str,
    event: str,
    payload: Mapping[str, Any],
    dedupe_key: str,
    job_id: str | None = None,
    pipeline_id: str | None = None,
) -> Delivery | None:
    """Add a message to the outbox; None when one with the same `dedupe_key` already exists."""
    msg_id = webhook_id(dedupe_key)
    if session.get(Delivery, msg_id) is not None:
        return None
    delivery = Delivery(
        id=msg_id,
        dedupe_key=dedupe_key,
        client_id=client_id,
        job_id=job_id,
        pipeline_id=pipeline_id,
        event=event,
        url=url,
        payload=dict(payload),
        state=DeliveryState.PENDING,
        next_attempt_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        return None  # a concurrent run of the same task enqueued it first
    return delivery


def announce(
    session: Session,
    announcement: Announcement,
    *,
    client_id: str,
    url: str | None,
    job_id: str | None = None,
    pipeline_id: str | None = None,
) -> str | None:
    """Queue `announcement` for `url`; its id, or None (no URL, or already queued once)."""
    if not url:
        return None
    delivery = enqueue(
        session,
        client_id=client_id,
        url=url,
        event=announcement.event,
        payload=announcement.payload.model_dump(mode="json"),
        dedupe_key=announcement.dedupe_key,
        job_id=job_id,
        pipeline_id=pipeline_id,
    )
    return delivery.id if delivery else None


def announce_for_job(session: Session, job: Job, announcement: Announcement) -> str | None:
    """`announce` to the job's callback, unless it has none or was cancelled."""
    if job.state == JobState.CANCELLED:
        return None
    return announce(
        session, announcement, client_id=job.client_id, url=job.callback_url, job_id=job.id
    )


def dispatch_all(runtime: Runtime, delivery_ids: list[str | None]) -> None:
    """`dispatch` every id that `announce` gave (None ones are skipped)."""
    for delivery_id in delivery_ids:
        if delivery_id is not None:
            dispatch(runtime, delivery_id)


def dispatch(runtime: Runtime, delivery_id: str) -> None:
    """Hand a message to a delivery worker, holding a lease so the scheduler does not resend."""
    from deepres.jobs.dispatch import TASK_DELIVER

    with runtime.db.session() as s:
        s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                lease_until=utcnow() + dt.timedelta(seconds=runtime.settings.queue_lease_seconds)
            )
        )
    runtime.send(TASK_DELIVER, delivery_id)


def _claim(runtime: Runtime, delivery_id: str) -> Delivery | None:
    """Take a due message for one send; pushing `next_attempt_at` ahead keeps others off it.

    A worker that dies mid-send leaves the message claimable again once the hold has passed.
    """
    now = utcnow()
    hold = now + dt.timedelta(seconds=runtime.settings.webhook_timeout_seconds + CLAIM_MARGIN_S)
    with runtime.db.session() as s:
        claimed = s.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.state == DeliveryState.PENDING,
                Delivery.next_attempt_at <= now,
            )
            .values(lease_until=hold, next_attempt_at=hold)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return s.get(Delivery, delivery_id)


def _cancelled(s: Session, delivery: Delivery) -> bool:
    if delivery.job_id is None:
        return False
    job = s.get(Job, delivery.job_id)
    return job is not None and job.state == JobState.CANCELLED


def _headers(runtime: Runtime, delivery: Delivery, client: Client) -> tuple[bytes, dict[str, str]]:
    token = runtime.keys.decrypt(client.token_encrypted)
    body, signature = digifarm_body_and_signature(delivery.payload, token)
    secret = runtime.keys.decrypt(client.webhook_secret_encrypted)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
    headers.update(standard_headers(delivery.id, int(time.time()), body, secret))
    return body, headers


def deliver(runtime: Runtime, delivery_id: str) -> SendResult | None:
    """Send one message once, record the attempt and schedule the next one if it failed."""
    delivery = _claim(runtime, delivery_id)
    if delivery is None:
        return None
    with runtime.db.session() as s:
        client = s.get(Client, delivery.client_id)
        if client is None or _cancelled(s, delivery):
            _finish(s, delivery_id, DeliveryState.DISABLED, None, "job cancelled: not sent")
            return None
        wait_s = _over_rate(runtime, s, delivery.client_id)
        if wait_s is not None:
            _postpone(s, delivery_id, wait_s)
            return None
        body, headers = _headers(runtime, delivery, client)
    try:
        result = send(
            delivery.url,
            body,
            headers,
            allow_private=runtime.settings.webhook_allow_private,
            timeout_s=runtime.settings.webhook_timeout_seconds,
        )
    except Exception as exc:  # a bug must cost one attempt, not stall the message for ever
        log.exception("webhook %s: the attempt itself failed", delivery_id)
        result = SendResult(None, False, None, False, f"internal error: {exc!r}", 0.0)
    with runtime.db.session() as s:
        s.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                status_code=result.status_code,
                error=result.error,
                duration_s=result.elapsed_s,
            )
        )
        _record(runtime, s, delivery, result)
    return result


RATE_WINDOW_S = 60.0


def _over_rate(runtime: Runtime, s: Session, client_id: str) -> float | None:
    """Seconds to wait when the client had its `webhook_rate_per_minute` attempts already."""
    limit = runtime.settings.webhook_rate_per_minute
    if limit <= 0:
        return None
    since = utcnow() - dt.timedelta(seconds=RATE_WINDOW_S)
    recent = s.scalar(
        select(func.count())
        .select_from(DeliveryAttempt)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(Delivery.client_id == client_id, DeliveryAttempt.at > since)
    )
    if int(recent or 0) < limit:
        return None
    return RATE_WINDOW_S * (1 + random.random()) / limit * max(1, int(recent or 0) - limit + 1)


def _postpone(s: Session, delivery_id: str, wait_s: float) -> None:
    """Put a message back for later without an attempt: the scheduler sends it when due."""
    s.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(next_attempt_at=utcnow() + dt.timedelta(seconds=wait_s), lease_until=None)
    )


def _record(runtime: Runtime, s: Session, delivery: Delivery, result: SendResult) -> None:
    attempts = delivery.attempts + 1
    if result.ok:
        _finish(s, delivery.id, DeliveryState.DELIVERED, result.status_code, None, attempts)
        return
    if result.refused:  # a malformed or forbidden address does not get better with time
        _finish(s, delivery.id, DeliveryState.FAILED, None, result.error, attempts)
        log.warning("webhook %s refused: %s", delivery.id, result.error)
        return
    if result.gone:
        _finish(s, delivery.id, DeliveryState.DISABLED, 410, "410 Gone", attempts)
        if delivery.job_id is not None:  # the receiver said this endpoint is gone for the job
            s.execute(
                update(Delivery)
                .where(
                    Delivery.job_id == delivery.job_id,
                    Delivery.url == delivery.url,
                    Delivery.state == DeliveryState.PENDING,
                )
                .values(state=DeliveryState.DISABLED, last_error="endpoint answered 410 Gone")
            )
        return
    delay = next_delay(attempts, runtime.settings.retry_delays, retry_after_s=result.retry_after_s)
    if delay is None:
        _finish(s, delivery.id, DeliveryState.FAILED, result.status_code, result.error, attempts)
        log.warning("webhook %s gave up after %d attempts: %s", delivery.id, attempts, result.error)
        return
    s.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id)
        .values(
            attempts=attempts,
            last_status_code=result.status_code,
            last_error=result.error,
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
            lease_until=None,
        )
    )


def _finish(
    s: Session,
    delivery_id: str,
    state: DeliveryState,
    status: int | None,
    error: str | None,
    attempts: int | None = None,
) -> None:
    values: dict[str, Any] = {
        "state": state,
        "last_status_code": status,
        "last_error": error,
        "lease_until": None,
    }
    if attempts is not None:
        values["attempts"] = attempts
    if state == DeliveryState.DELIVERED:
        values["delivered_at"] = utcnow()
    s.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def due(session: Session, now: dt.datetime, limit: int = 200) -> list[str]:
    """Ids of messages whose next attempt is due and that no worker holds."""
    rows = session.scalars(
        select(Delivery.id)
        .where(
            Delivery.state == DeliveryState.PENDING,
            Delivery.next_attempt_at <= now,
            (Delivery.lease_until.is_(None)) | (Delivery.lease_until < now),
        )
        .limit(limit)
    )
    return list(rows)


def log_for_job(session: Session, client_id: str, job_id: str) -> list[dict[str, Any]]:
    """Every message of a job with its attempts, oldest first (the client's own only)."""
    deliveries = session.scalars(
        select(Delivery)
        .where(Delivery.job_id == job_id, Delivery.client_id == client_id)
        .order_by(Delivery.created_at, Delivery.id)
    ).all()
    return [_entry(session, d) for d in deliveries]


def _entry(session: Session, d: Delivery) -> dict[str, Any]:
    attempts = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == d.id)
        .order_by(DeliveryAttempt.at, DeliveryAttempt.id)
    ).all()
    return {
        "webhook_id": d.id,
        "event": d.event,
        "url": d.url,
        "state": d.state,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created": d.created_at.isoformat() + "Z",
        "delivered_at": d.delivered_at.isoformat() + "Z" if d.delivered_at else None,
        "log": [
            {
                "at": a.at.isoformat() + "Z",
                "status_code": a.status_code,
                "error": a.error,
                "duration_s": a.duration_s,
            }
            for a in attempts
        ],
    }


def redeliver(runtime: Runtime, client_id: str, delivery_id: str) -> dict[str, Any] | None:
    """Queue a message again under the same `webhook-id`, with a fresh retry schedule."""
    with runtime.db.session() as s:
        delivery = s.get(Delivery, delivery_id)
        if delivery is None or delivery.client_id != client_id:
            return None
        if delivery.job_id is not None:
            job = s.get(Job, delivery.job_id)
            if job is not None and job.state == JobState.CANCELLED:
                from deepres.errors import Conflict

                raise Conflict("The job was cancelled: its webhooks are not sent any more.")
        delivery.state = DeliveryState.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = utcnow()
        delivery.lease_until = None
        entry = _entry(s, delivery)
    dispatch(runtime, delivery_id)
    return entry
