"""Dotted permissions, tested exactly as the mechanics document's snippet does."""

from __future__ import annotations

from collections.abc import Iterable

#: What each endpoint requires. The README lists the same table.
AVAILABLE_DATES = "deep-resolution.available-dates"
JOBS_CREATE = "deep-resolution.jobs.create"
JOBS_READ = "deep-resolution.jobs.read"
JOBS_CANCEL = "deep-resolution.jobs.cancel"
WEBHOOKS_READ = "deep-resolution.webhooks.read"
WEBHOOKS_REDELIVER = "deep-resolution.webhooks.redeliver"
TASKING_STATUS = "tasking.check-status"

DEFAULT_PERMISSIONS: tuple[str, ...] = ("deep-resolution", "tasking")


def grants(user_permission: str, required_permission: str) -> bool:
    """True when one permission is a dotted prefix of the other over their common length."""
    user = user_permission.split(".")
    required = required_permission.split(".")
    n = min(len(user), len(required))
    return user[:n] == required[:n]


def any_grants(user_permissions: Iterable[str], required: str) -> bool:
    return any(grants(p, required) for p in user_permissions)
