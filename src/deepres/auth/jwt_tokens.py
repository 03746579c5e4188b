"""Short-lived bearer JWTs exchanged for a client token (`POST /auth/token`).

Each JWT carries the client's token generation (`gen`); rotating the client token bumps it, so
`verify`'s caller can refuse every JWT issued before the rotation.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from deepres.auth.clients import Principal
from deepres.errors import Unauthorized

ISSUER = "deepres"
ALGORITHM = "HS256"


def issue(principal: Principal, key: bytes, lifetime_s: int) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": principal.client_id,
        "name": principal.name,
        "permissions": list(principal.permissions),
        "iat": now,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
        "gen": principal.token_generation,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(token: str, key: bytes) -> tuple[str, int]:
    """(client id, token generation) of a valid, unexpired JWT; Unauthorized otherwise."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Unauthorized. The bearer token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Unauthorized. Invalid bearer token.") from exc
    generation = claims.get("gen", 0)
    if isinstance(generation, bool) or not isinstance(generation, int):
        raise Unauthorized("Unauthorized. Invalid bearer token.")
    return str(claims["sub"]), generation
