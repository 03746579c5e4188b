"""Response headers on every answer, and a cap on request bodies (413 before reading them)."""

from __future__ import annotations

import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deepres import API_VERSION
from deepres.jobs.envelope import error

VERSION_HEADER = b"deepres-api-version"
REQUEST_ID_HEADER = b"deepres-request-id"


class RequestContext:
    """Adds `DeepRes-Api-Version` and `DeepRes-Request-Id`; refuses bodies over `max_body`."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        extra = [(VERSION_HEADER, API_VERSION.encode()), (REQUEST_ID_HEADER, request_id.encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._too_large(send_with_headers)
            return
        body = await self._read_capped(receive)
        if body is None:
            await self._too_large(send_with_headers)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as Starlette does

        await self.app(scope, replay, send_with_headers)

    async def _read_capped(self, receive: Receive) -> bytes | None:
        """The whole request body, or None once it grows past `max_body` (chunked uploads too)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(
            error(413, "PAYLOAD-TOO-LARGE", f"Request body is larger than {self.max_body} bytes.")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
