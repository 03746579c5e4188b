"""Client accounts: creating them, rotating tokens and finding a client by its token."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from deepres.auth.keys import ServerKeys
from deepres.auth.models import Client
from deepres.auth.permissions import DEFAULT_PERMISSIONS
from deepres.webhooks.signing import new_webhook_secret

TOKEN_PREFIX = "dr_"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    client_id: str
    name: str
    permissions: tuple[str, ...]
    token_generation: int = 0


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_client(
    session: Session,
    keys: ServerKeys,
    name: str,
    permissions: Sequence[str] = DEFAULT_PERMISSIONS,
    hectares: float | None = None,
) -> tuple[Client, str]:
    """A new client row and its token; the token is shown once and stored only hashed/encrypted."""
    token = new_token()
    client = Client(
        id=str(uuid.uuid4()),
        name=name,
        token_lookup=keys.token_lookup(token),
        token_encrypted=keys.encrypt(token),
        webhook_secret_encrypted=keys.encrypt(new_webhook_secret()),
        permissions=list(permissions),
        hectares_allocation=hectares,
    )
    session.add(client)
    session.flush()
    return client, token


def rotate_token(session: Session, keys: ServerKeys, client: Client) -> str:
    """Replace a client's token: the old one, and every JWT issued for it, stop working at once."""
    token = new_token()
    client.token_lookup = keys.token_lookup(token)
    client.token_encrypted = keys.encrypt(token)
    client.token_generation = (client.token_generation or 0) + 1
    session.flush()
    return token


# Every authenticated request reads one client: a compiled Core statement on a bare connection
# (no ORM session), the cheapest read there is.
_CLIENTS = Client.__table__.c
_PRINCIPAL = select(
    _CLIENTS.id,
    _CLIENTS.name,
    _CLIENTS.permissions,
    _CLIENTS.token_generation,
    _CLIENTS.token_lookup,
)
_BY_LOOKUP = _PRINCIPAL.where(_CLIENTS.token_lookup == bindparam("lookup"), _CLIENTS.active)
_BY_ID = _PRINCIPAL.where(_CLIENTS.id == bindparam("id"), _CLIENTS.active)


def principal_for_token(conn: Connection, keys: ServerKeys, token: str) -> Principal | None:
    """The caller holding client `token`, when it belongs to an active client."""
    if not token or len(token) > 512:
        return None
    lookup = keys.token_lookup(token)
    row = conn.execute(_BY_LOOKUP, {"lookup": lookup}).first()
    # The index found it by hash; compare once more in constant time for defence in depth.
    if row is None or not secrets.compare_digest(row.token_lookup, lookup):
        return None
    return _principal(row)


def principal_for_id(conn: Connection, client_id: str) -> Principal | None:
    """The caller with id `client_id` (from a verified JWT), when that client is active."""
    row = conn.execute(_BY_ID, {"id": client_id}).first()
    return None if row is None else _principal(row)


def _principal(row: Row[*tuple[Any, ...]]) -> Principal:
    return Principal(row.id, row.name, tuple(row.permissions), row.token_generation or 0)
