"""Webhook signatures: the spec's `X-Digifarm-Signature` and Standard Webhooks headers.

Two schemes travel on every delivery. `X-Digifarm-Signature` is what the product spec promises
(hex HMAC-SHA256 of the body, keyed by the client token); it carries no timestamp, so Standard
Webhooks headers (https://www.standardwebhooks.com/) are sent beside it for replay protection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

DIGIFARM_SIGNATURE_HEADER = "X-Digifarm-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_S = 300


def digifarm_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes to send as the webhook body: `json.dumps(payload, sort_keys=True)`.

    Default separators and `ensure_ascii=True` are kept on purpose: the spec's verifier
    re-serialises the parsed body with exactly these settings, so sending these bytes lets a
    receiver verify either the raw body or its own re-serialisation. NaN and infinities are
    refused because they are not JSON and a strict receiver could not parse them.
    """
    return json.dumps(dict(payload), sort_keys=True, allow_nan=False).encode("ascii")


def digifarm_signature(body: bytes, client_token: str) -> str:
    """The hex HMAC-SHA256 of `body` keyed by `client_token`, as `X-Digifarm-Signature` carries."""
    return hmac.new(client_token.encode(), msg=body, digestmod=hashlib.sha256).hexdigest()


def digifarm_body_and_signature(payload: Mapping[str, Any], client_token: str) -> tuple[bytes, str]:
    """The body to send and its `X-Digifarm-Signature` value, computed over those same bytes."""
    body = digifarm_body(payload)
    return body, digifarm_signature(body, client_token)


def verify_digifarm(body: bytes, signature: str, client_token: str) -> bool:
    """True when `signature` is the hex HMAC-SHA256 of the raw `body` under `client_token`."""
    expected = digifarm_signature(body, client_token).encode()
    # Compare bytes: compare_digest refuses non-ASCII str, and a forged header may contain any.
    return hmac.compare_digest(expected, signature.strip().lower().encode())


def new_webhook_secret() -> str:
    """A fresh Standard Webhooks secret, `whsec_` followed by 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_<base64>` secret; raises ValueError when it is not base64."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded, validate=True)


def _standard_signature(msg_id: str, timestamp: int, body: bytes, key: bytes) -> str:
    """The base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, as Standard Webhooks defines it."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def standard_headers(msg_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for one delivery.

    `msg_id` must stay the same across retries of one event: receivers use it to drop
    duplicates. `timestamp` is the Unix time of this attempt, so each retry is signed afresh.
    """
    signature = _standard_signature(msg_id, timestamp, body, _secret_key(secret))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


def verify_standard(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when one of the `v1` signatures matches and the timestamp is within `tolerance_s`.

    Never raises: missing headers, a malformed timestamp or secret all answer False.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    raw_timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not raw_timestamp or not signatures:
        return False
    try:
        timestamp = int(raw_timestamp)
        key = _secret_key(secret)
    except ValueError:
        return False
    current = time.time() if now is None else now
    # Both directions: a timestamp far in the future is as suspect as a stale one.
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _standard_signature(msg_id, timestamp, body, key).encode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode()):
            return True
    return False
