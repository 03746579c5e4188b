"""`AsyncClient`: the asyncio twin of `Client`, with the same methods awaited.

    async with AsyncClient("http://127.0.0.1:8000", token) as deepres:
        job_id = await deepres.create_job(bbox=(-11.765, 24.734, -11.752, 24.747),
                                          dates=["2020-02-19"], cloud_cover=20)
        await deepres.wait(job_id)
        files = await deepres.download(job_id, "results/")
        async for job in deepres.jobs():
            ...

Its methods are `ClientAPI`'s, as `Client`'s are; this module only performs their steps: with
httpx.AsyncClient, and asyncio.sleep for the waits between polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx

from deepres.client.api import ClientAPI
from deepres.client.steps import Download, Op, Pages, Run, Send, Sleep, Step

T = TypeVar("T")


class AsyncClient(ClientAPI[httpx.AsyncClient]):
    """A connection to one deepres service as one API client; `async with` it."""

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _connect(self, timeout: float | httpx.Timeout) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def _run(self, op: Op[T]) -> T:
        run = Run(op)
        while run.step is not None:
            try:
                outcome = await self._perform(run.step)
            except BaseException as error:  # cancellation too: the operation cleans up
                run.throw(error)
            else:
                run.send(outcome)
        return run.result

    async def _iterate(self, pages: Pages[T]) -> AsyncIterator[T]:
        while (page := await self._run(pages.next())) is not None:
            for item in page:
                yield item

    async def _perform(self, step: Step) -> object:
        if isinstance(step, Send):
            return await self._http.send(step.request(self._http))
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        return await self._download(step)

    async def _download(self, step: Download) -> httpx.Response:
        async with self._http.stream("GET", step.url, headers=step.headers) as response:
            if not response.is_success:
                await response.aread()  # the error's envelope
                return response
            async for chunk in response.aiter_bytes(step.chunk_size):
                step.sink.write(chunk)
        return response
