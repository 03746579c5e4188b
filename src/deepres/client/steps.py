"""The I/O an SDK operation asks for, and `Run`, which steps an operation through it.

An operation (see `deepres.client.operations`) is a generator: it yields a step — send this
request, sleep this long, stream this link into this file — and is sent back what the step
gave. It never touches a socket or a clock's sleep itself, so one operation serves both
`Client` (httpx.Client, time.sleep) and `AsyncClient` (httpx.AsyncClient, asyncio.sleep);
each of those only performs steps.

    response = yield from exchange(Send("GET", "/deep-resolution/status/j1", headers))
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Generic, TypeAlias, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send one request (a path under the service, or an absolute URL); gives the response."""

    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    params: dict[str, Any] | None = None

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The request built by `http`, so its base URL and timeouts apply."""
        return http.build_request(
            self.method, self.url, headers=self.headers, json=self.json, params=self.params
        )


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds; gives None."""

    seconds: float


@dataclass(frozen=True)
class Download:
    """GET a link and stream a 2xx body into `sink`; gives the response (other bodies read)."""

    url: str
    headers: dict[str, str]
    sink: BinaryIO = field(repr=False)
    chunk_size: int = 1 << 20


Step: TypeAlias = Send | Sleep | Download
# An operation: yields steps, is sent what each gave, returns its result.
Op: TypeAlias = Generator[Step, object, T]


def exchange(step: Send | Download) -> Op[httpx.Response]:
    """The response a request or a download gives (the typed form of `yield step`)."""
    response = yield step
    assert isinstance(response, httpx.Response)
    return response


def sleep(seconds: float) -> Op[None]:
    """Wait `seconds` (the typed form of `yield Sleep(seconds)`)."""
    yield Sleep(seconds)


class Pages(Generic[T]):
    """A listing read page by page: `next()` is the operation reading the next page."""

    def next(self) -> Op[list[T] | None]:
        """The next page's items; None once the last page was read."""
        raise NotImplementedError


class Run(Generic[T]):
    """An operation being driven: the step it waits on, then, once it returned, its result.

    A driver performs `step` and hands back what it gave (`send`) or what it raised (`throw`,
    so the operation's own `finally` and `except` run), until `step` is None.
    """

    def __init__(self, op: Op[T]) -> None:
        self._op = op
        self.step: Step | None = None
        self._returned: tuple[T] | None = None
        self._resume(lambda: next(op))

    def send(self, outcome: object) -> None:
        """Give the operation what its step gave."""
        self._resume(lambda: self._op.send(outcome))

    def throw(self, error: BaseException) -> None:
        """Raise what its step raised inside the operation (where it may be handled)."""
        self._resume(lambda: self._op.throw(error))

    @property
    def result(self) -> T:
        """What the operation returned; only once `step` is None."""
        if self._returned is None:
            raise RuntimeError("the operation has not returned yet")
        return self._returned[0]

    def _resume(self, advance: Callable[[], Step]) -> None:
        try:
            self.step = advance()
        except StopIteration as done:
            self.step, self._returned = None, (done.value,)
