"""`Session`: one client's connection to a deepres service, and the authenticated call that
every operation makes through it.

The client token is exchanged for a bearer JWT (`POST /auth/token`) on the first call and again
before it expires; a 401 on a JWT that looked valid (the server's key changed, the token was
rotated) triggers one fresh exchange and one retry. A driver (`Client`, `AsyncClient`) adds the
httpx client and runs operations; nothing here does I/O itself.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import httpx

from deepres.client import steps, wire
from deepres.client.steps import Op, Pages, Send

H = TypeVar("H", httpx.Client, httpx.AsyncClient)


class Session(Generic[H]):
    """A connection to one deepres service as one API client (H: its httpx client class)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | httpx.Timeout = wire.DEFAULT_TIMEOUT,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> None:
        """`poll_interval`: seconds between polls when the service gives no `nextTry`;
        `max_poll_interval`: the longest a poll waits, whatever `nextTry` says."""
        if not token:
            raise ValueError("a client token is required (deepres clients create prints one)")
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._token = token
        self._bearer = wire.BearerToken()
        self._http: H = self._connect(timeout)

    # -- what a driver provides -------------------------------------------------------------

    def _connect(self, timeout: float | httpx.Timeout) -> H:
        """The httpx client every step goes through."""
        raise NotImplementedError

    def _run(self, op: Op[Any]) -> Any:
        """The operation's result (`Client`), or an awaitable of it (`AsyncClient`)."""
        raise NotImplementedError

    def _iterate(self, pages: Pages[Any]) -> Any:
        """The items of every page: an iterator (`Client`) or an async iterator."""
        raise NotImplementedError

    # -- authenticated calls ----------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        extra: dict[str, str] | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Op[Any]:
        """The JSON answer of an authenticated call; typed errors for non-2xx answers."""
        fresh = not self._bearer.valid()
        response = yield from self._authorized(method, path, extra, json, params)
        if response.status_code == 401 and not fresh:
            self._bearer.forget()
            response = yield from self._authorized(method, path, extra, json, params)
        return wire.checked(response)

    def _authorized(
        self,
        method: str,
        path: str,
        extra: dict[str, str] | None,
        json: Any,
        params: dict[str, Any] | None,
    ) -> Op[httpx.Response]:
        jwt = yield from self._jwt()
        headers = {**wire.headers(jwt), **(extra or {})}
        return (yield from steps.exchange(Send(method, path, headers, json, params)))

    def _jwt(self) -> Op[str]:
        if not self._bearer.valid():
            body = {"client_token": self._token}
            answer = yield from steps.exchange(Send("POST", "/auth/token", wire.headers(), body))
            self._bearer.store(wire.checked(answer))
        assert self._bearer.jwt is not None
        return self._bearer.jwt
