"""ORM rows: the database is the truth; the queue only carries work."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from deepres.auth.models import Client
from deepres.db import Base, utcnow


class JobState(enum.StrEnum):
    NEW = "NEW"  # accepted, the catalog search has not run yet
    ACTIVE = "ACTIVE"  # end date ahead: the scheduler keeps looking for new scenes
    SEARCHED = "SEARCHED"  # every date is known; the job ends when they are all done
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"  # the search itself failed for good


#: The states in which a job may still search: a cancel or a failure leaves them for good.
OPEN_JOB_STATES = (JobState.NEW, JobState.ACTIVE)


class DateState(enum.StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class PipelineState(enum.StrEnum):
    NEW = "NEW"
    PROCESSING = "PROCESSING"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"


class DeliveryState(enum.StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # retry schedule exhausted
    DISABLED = "DISABLED"  # 410 Gone, or the job was cancelled


class Pipeline(Base):
    """An available-dates search: answered by callback, or polled through check-status."""

    __tablename__ = "pipelines"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey(Client.id), index=True)
    kind: Mapped[str] = mapped_column(String(40), default="available_dates")
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default=PipelineState.NEW)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_client_created", "client_id", "created_at", "id"),
        UniqueConstraint("client_id", "idempotency_key", name="uq_jobs_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey(Client.id), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    aoi: Mapped[dict[str, Any]] = mapped_column(JSON)
    area_hectares: Mapped[float] = mapped_column(Float)
    cloud_cover: Mapped[float] = mapped_column(Float)
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    interval_days: Mapped[int] = mapped_column(Integer, default=1)
    dates: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    callback_url: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(100))
    scale: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=JobState.NEW, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    searched_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    next_search_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    search_lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    search_attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class JobDate(Base):
    """One unit of work: one date of one MGRS tile of one job, with its state and lease."""

    __tablename__ = "job_dates"
    __table_args__ = (
        UniqueConstraint("job_id", "date", "mgrs", name="uq_job_dates_job_date_mgrs"),
        Index("ix_job_dates_state_lease", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    mgrs: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scene: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cloud_cover: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default=DateState.PENDING)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    storage_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The product's grid and the model that made it: what STAC items describe.
    product: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    processing_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One webhook message; its id is the stable `webhook-id` across retries and reruns."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey(Client.id), index=True)
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    pipeline_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    event: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)


class SchedulerLock(Base):
    """Only the scheduler holding this row (until `expires_at`) acts on a tick."""

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
