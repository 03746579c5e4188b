"""Purpose-bound keys derived from the one server secret, so no two uses share a key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet


class ServerKeys:
    """Derives the lookup, encryption, JWT and URL-signing keys from the server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._derived: dict[str, bytes] = {}

    def derive(self, purpose: str) -> bytes:
        key = self._derived.get(purpose)
        if key is None:
            key = hmac.new(self._secret, b"deepres/" + purpose.encode(), hashlib.sha256).digest()
            self._derived[purpose] = key
        return key

    @property
    def jwt(self) -> bytes:
        return self.derive("jwt")

    @property
    def url_signing(self) -> bytes:
        return self.derive("url-signing")

    @property
    def fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(self.derive("fernet")))

    def token_lookup(self, token: str) -> str:
        """The keyed hash under which a client token is found (never the token itself)."""
        return hmac.new(self.derive("token-lookup"), token.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self.fernet.decrypt(token.encode()).decode()
