"""`ClientAPI`: the SDK's public methods, declared once for `Client` and `AsyncClient`.

Each method is an operation of `deepres.client.operations` bound by a descriptor: on a
`Client` it returns the operation's result, on an `AsyncClient` a coroutine of it (and a
listing is an iterator or an async iterator). Type checkers see the operation's own
parameters and the right return type for each client.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from deepres.client import operations as ops
from deepres.client.session import H, Session
from deepres.client.steps import Op, Pages

P = ParamSpec("P")
T = TypeVar("T")


class _Bound(Generic[P, T]):
    """What the descriptors share: the operation, and its name and docstring for help()."""

    def __init__(self, fn: Callable[Concatenate[Session[Any], P], T]) -> None:
        self._fn = fn
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self._name = fn.__name__
        # The method's own signature: the operation's, less the session it is bound to and
        # the generator it returns (a Client gives its result, an AsyncClient a coroutine).
        whole = inspect.signature(fn)
        self._signature = whole.replace(
            parameters=list(whole.parameters.values())[1:],
            return_annotation=inspect.Signature.empty,
        )

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    def _method(self, client: Session[Any], drive: Callable[[Any], Any]) -> Callable[..., Any]:
        fn = self._fn

        def method(*args: Any, **kwargs: Any) -> Any:
            return drive(fn(client, *args, **kwargs))

        functools.update_wrapper(method, fn)
        method.__qualname__ = f"{type(client).__qualname__}.{self._name}"
        method.__signature__ = self._signature  # type: ignore[attr-defined]
        return method


class Operation(_Bound[P, Op[T]]):
    """A method running one operation: its result (`Client`) or a coroutine (`AsyncClient`)."""

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, client: Session[httpx.Client], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, client: Session[httpx.AsyncClient], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: Session[Any] | None, owner: type[Any]) -> Any:
        return self if client is None else self._method(client, client._run)


class Listing(_Bound[P, Pages[T]]):
    """A method listing items page by page: an iterator (`Client`) or an async iterator."""

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, client: Session[httpx.Client], owner: type[Any]
    ) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(
        self, client: Session[httpx.AsyncClient], owner: type[Any]
    ) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, client: Session[Any] | None, owner: type[Any]) -> Any:
        return self if client is None else self._method(client, client._iterate)


class ClientAPI(Session[H]):
    """Everything a deepres client can do; `Client` and `AsyncClient` say how it runs."""

    available_dates = Operation(ops.available_dates)
    create_job = Operation(ops.create_job)
    status = Operation(ops.status)
    wait = Operation(ops.wait)
    download = Operation(ops.download)
    download_file = Operation(ops.download_file)
    cancel = Operation(ops.cancel)
    jobs = Listing(ops.jobs)
