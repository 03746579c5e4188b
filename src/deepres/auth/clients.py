"""Client accounts: creating them, rotating tokens and finding a client by its token."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
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


def find_by_token(session: Session, keys: ServerKeys, token: str) -> Client | None:
    """The active client holding `token`, found through its keyed hash."""
    if not token or len(token) > 512:
        return None
    lookup = keys.token_lookup(token)
    client = session.scalars(select(Client).where(Client.token_lookup == lookup)).first()
    if client is None or not client.active:
        return None
    # The index found it by hash; compare once more in constant time for defence in depth.
    if not secrets.compare_digest(client.token_lookup, lookup):
        return None
    return client


def principal_of(client: Client) -> Principal:
    """The caller a client row stands for."""
    return Principal(
        client.id, client.name, tuple(client.permissions), client.token_generation or 0
    )
