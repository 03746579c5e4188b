"""`verify_webhook`: is a request that claims to come from deepres really signed by it?

    @app.post("/hook")
    async def hook(request: Request) -> None:
        body = await request.body()           # the raw bytes, before any JSON parsing
        if not verify_webhook(body, request.headers, client_token=TOKEN):
            raise HTTPException(401)

Every delivery carries two signatures over the same raw body (see `deepres.webhooks.signing`):
`X-Digifarm-Signature`, the product spec's hex HMAC-SHA256 keyed with the client token, and the
Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`), keyed with
the client's `whsec_…` webhook secret, which add replay protection through the timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping

from deepres.webhooks.signing import (
    DEFAULT_TOLERANCE_S,
    DIGIFARM_SIGNATURE_HEADER,
    verify_digifarm,
    verify_standard,
)


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    *,
    client_token: str,
    webhook_secret: str | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when the raw `body` is signed by deepres for this client; never raises.

    Without `webhook_secret`: the `X-Digifarm-Signature` must match under `client_token`.
    With it: the Standard Webhooks signature must match and its timestamp lie within
    `tolerance_s` seconds of now. The X-Digifarm signature alone is then not enough, since it
    carries no timestamp and a captured request could be replayed with it.
    Header names are matched case-insensitively.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if webhook_secret is not None:
        return verify_standard(lowered, body, webhook_secret, tolerance_s=tolerance_s)
    signature = lowered.get(DIGIFARM_SIGNATURE_HEADER.lower())
    if not signature or not client_token:
        return False
    return verify_digifarm(body, signature, client_token)
