"""The clients table: who may call the API, with their token stored only hashed and encrypted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from deepres.db import Base, utcnow


class Client(Base):
    """One API client: token look-up hash, encrypted token and webhook secret, permissions."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_lookup: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    permissions: Mapped[list[Any]] = mapped_column(JSON)
    hectares_allocation: Mapped[float | None] = mapped_column(Float, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Bumped by every token rotation; bearer JWTs carry the value they were issued under.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
