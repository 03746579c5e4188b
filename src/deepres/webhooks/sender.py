"""One webhook delivery attempt: POST a signed body to a checked address and report the outcome."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import certifi
import httpx

from deepres import __version__
from deepres.errors import CallbackRefused
from deepres.webhooks.retry import parse_retry_after
from deepres.webhooks.ssrf import ResolvedTarget, resolve_and_check

USER_AGENT = f"deepres-webhooks/{__version__}"
DEFAULT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SendResult:
    """What one delivery attempt gave: the receiver's status, or why there was none.

    `error` is None exactly when `ok`; otherwise it says why the attempt failed, in words fit
    for a delivery log. `refused` means the SSRF guard refused the target and nothing was sent.
    """

    status_code: int | None
    ok: bool
    retry_after_s: float | None
    gone: bool
    error: str | None
    elapsed_s: float
    refused: bool = False
    ip: str | None = None  # the address the request went to, when one was tried


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every delivery shares; building one per request costs ms."""
    return ssl.create_default_context(cafile=certifi.where())


def _failure(
    error: str, started: float, *, refused: bool = False, ip: str | None = None
) -> SendResult:
    """A SendResult for an attempt that got no HTTP answer."""
    return SendResult(
        status_code=None,
        ok=False,
        retry_after_s=None,
        gone=False,
        error=error,
        elapsed_s=time.monotonic() - started,
        refused=refused,
        ip=ip,
    )


def _from_response(response: httpx.Response, started: float, ip: str) -> SendResult:
    """A SendResult read from the receiver's status line and headers (the body is never read)."""
    code = response.status_code
    ok = 200 <= code < 300
    error: str | None = None
    if 300 <= code < 400:
        location = response.headers.get("location", "no Location")
        error = f"receiver answered HTTP {code} ({location}); redirects are not followed"
    elif not ok:
        error = f"receiver answered HTTP {code}"
    return SendResult(
        status_code=code,
        ok=ok,
        retry_after_s=parse_retry_after(response.headers.get("retry-after")),
        gone=code == 410,
        error=error,
        elapsed_s=time.monotonic() - started,
        ip=ip,
    )


def _request_headers(headers: Mapping[str, str], target: ResolvedTarget) -> httpx.Headers:
    """The caller's headers plus ours; ours win, since the URL is rewritten to an IP address."""
    merged = httpx.Headers(dict(headers))
    merged["Host"] = target.host_header
    merged["Content-Type"] = "application/json"
    merged["User-Agent"] = USER_AGENT
    return merged


def send(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """The outcome of POSTing `body` to `url` once; never raises for network or receiver faults.

    The host is resolved and checked by the SSRF guard, then the request goes to a checked
    address with the original `Host` header (and TLS SNI and certificate check against the
    original host name), so DNS cannot change the destination between check and connect.
    `timeout_s` bounds the whole attempt (connect, request, status line and headers): a
    receiver that answers one byte at a time is cut off there, not after each byte. Redirects
    are not followed: a 3xx is a failed attempt. The response body is not read, so a receiver
    cannot make us download anything. `ssl_context` replaces the default verifying context
    (certifi's CAs), e.g. for receivers behind a private CA.
    """
    started = time.monotonic()
    try:
        target = resolve_and_check(url, allow_private=allow_private)
    except CallbackRefused as exc:
        return _failure(exc.message, started, refused=True)
    except (OSError, UnicodeError) as exc:
        return _failure(f"could not resolve the callback host: {exc}", started)
    try:
        return asyncio.run(
            _post(url, body, headers, target, timeout_s, ssl_context or _default_ssl_context())
        )
    except TimeoutError:
        return _failure(
            f"timed out: no complete answer within {timeout_s:g} s", started, ip=target.ip
        )


async def _post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    target: ResolvedTarget,
    timeout_s: float,
    ssl_context: ssl.SSLContext,
) -> SendResult:
    started = time.monotonic()
    request_headers = _request_headers(headers, target)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    last_error = "no address to connect to"
    async with asyncio.timeout(timeout_s):
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would defeat the address pinning
            verify=ssl_context,
        ) as client:
            # Every address passed the guard; try the next one only when a connection is
            # refused, as a dual-stack receiver listening on one family alone would refuse
            # the other.
            for ip in target.addresses:
                request = client.build_request(
                    "POST",
                    httpx.URL(url).copy_with(host=ip),
                    content=body,
                    headers=request_headers,
                    extensions=extensions,
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.ConnectError as exc:
                    last_error = f"could not connect to {ip}: {exc}"
                    continue
                except httpx.TimeoutException as exc:
                    return _failure(
                        f"timed out after {timeout_s:g} s ({type(exc).__name__})", started, ip=ip
                    )
                except httpx.HTTPError as exc:
                    return _failure(f"{type(exc).__name__}: {exc}", started, ip=ip)
                try:
                    return _from_response(response, started, ip)
                finally:
                    await response.aclose()
    return _failure(last_error, started, ip=target.addresses[-1])
