"""The SSRF guard: which callback URLs deepres will POST to, and at which checked address.

A callback URL is client input that makes the server send a request, so it must not reach
loopback, the private network or a cloud metadata endpoint. Names are resolved and every
address is checked at delivery time; the sender then connects to the checked address itself,
so a DNS answer that changes between check and connect (rebinding) cannot redirect it.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import httpx

from deepres.errors import CallbackRefused

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_LABEL, MAX_HOST = 63, 253
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$")

IPAddress = IPv4Address | IPv6Address

# Ordered: the first class an address falls in names it in the refusal message.
_IPV4_CLASSES: tuple[tuple[str, tuple[IPv4Network, ...]], ...] = tuple(
    (name, tuple(IPv4Network(n) for n in networks))
    for name, networks in (
        ("cloud metadata", ("169.254.169.254/32", "100.100.100.200/32")),
        ("unspecified", ("0.0.0.0/8",)),
        ("loopback", ("127.0.0.0/8",)),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
        ("shared (carrier-grade NAT)", ("100.64.0.0/10",)),
        ("link-local", ("169.254.0.0/16",)),
        ("multicast", ("224.0.0.0/4",)),
        (
            "reserved",
            (
                "240.0.0.0/4",  # includes the 255.255.255.255 broadcast
                "192.0.0.0/24",
                "192.0.2.0/24",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
            ),
        ),
    )
)
_IPV6_CLASSES: tuple[tuple[str, tuple[IPv6Network, ...]], ...] = tuple(
    (name, tuple(IPv6Network(n) for n in networks))
    for name, networks in (
        ("cloud metadata", ("fd00:ec2::254/128",)),
        ("unspecified", ("::/128",)),
        ("loopback", ("::1/128",)),
        ("private", ("fc00::/7", "fec0::/10")),  # unique local, and the deprecated site-local
        ("link-local", ("fe80::/10",)),
        ("multicast", ("ff00::/8",)),
        # 2001::/23 holds Teredo, whose tunnelled client address cannot be checked.
        ("reserved", ("100::/64", "2001::/23", "2001:db8::/32", "64:ff9b:1::/48", "3fff::/20")),
    )
)

# IPv6 forms that carry an IPv4 address in their low 32 bits; the packet ends up at that IPv4
# address, so it is that address which must be checked.
_IPV4_MAPPED = IPv6Network("::ffff:0:0/96")
_IPV4_TRANSLATED = IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class ResolvedTarget:
    """A callback URL whose every address passed the guard, and the address to connect to."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) form, without brackets: what SNI and certificates name
    port: int
    ip: str  # the checked address the sender connects to
    addresses: tuple[str, ...]  # every resolved address, all checked, `ip` first

    @property
    def host_header(self) -> str:
        """The `Host` header value for this target: the host, plus the port when not default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"


def _embedded_ipv4(ip: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, with the name of its form; else None."""
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_MAPPED:
        return "IPv4-mapped", low32
    if ip in _IPV4_TRANSLATED:
        return "IPv4-translated", low32
    if ip in _NAT64:
        return "NAT64", low32
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    # :: and ::1 are themselves (unspecified, loopback), not IPv4-compatible forms.
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", low32
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """The class that makes `ip` unsafe as a webhook target ("loopback", ...), or None if public."""
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            form, ipv4 = embedded
            inner = refusal_reason(ipv4)
            return None if inner is None else f"{inner} ({form} form of {ipv4})"
        for name, networks6 in _IPV6_CLASSES:
            if any(ip in network for network in networks6):
                return name
    else:
        for name, networks4 in _IPV4_CLASSES:
            if any(ip in network for network in networks4):
                return name
    # Whatever else IANA lists as not globally reachable, in case the tables above lag behind.
    return None if ip.is_global else "reserved"


def _parse(url: str) -> httpx.URL:
    """The parsed callback URL; raises CallbackRefused for anything but a plain http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise CallbackRefused(f"Callback URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise CallbackRefused("Callback URL must not contain spaces or control characters.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise CallbackRefused(f"Callback URL is not a valid URL: {exc}.") from exc
    if parsed.scheme not in DEFAULT_PORTS:
        raise CallbackRefused(
            f"Callback URL must use http or https, not {parsed.scheme or 'no scheme'!r}."
        )
    if not parsed.raw_host:
        raise CallbackRefused("Callback URL has no host.")
    _check_host_name(parsed.raw_host.decode("ascii", errors="replace"))
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise CallbackRefused(f"Callback URL port {parsed.port} is not between 1 and 65535.")
    if parsed.userinfo:
        # Credentials in a URL end up in logs; receivers should check our signature instead.
        raise CallbackRefused("Callback URL must not contain a user name or password.")
    return parsed


def _check_host_name(host: str) -> None:
    """Refuse a host name DNS cannot carry: empty or over-long labels, odd characters."""
    if ":" in host:
        return  # an IPv6 literal; httpx has parsed it
    name = host[:-1] if host.endswith(".") else host
    if len(name) > MAX_HOST:
        raise CallbackRefused(f"Callback URL host is longer than {MAX_HOST} characters.")
    for label in name.split("."):
        if not label:
            raise CallbackRefused(f"Callback URL host {host!r} has an empty label ('..').")
        if len(label) > MAX_LABEL:
            raise CallbackRefused(
                f"Callback URL host {host!r} has a label of {len(label)} characters; "
                f"DNS allows at most {MAX_LABEL}."
            )
        if not _LABEL.match(label):
            raise CallbackRefused(f"Callback URL host {host!r} is not a valid host name.")


def _numeric_addresses(host: str) -> list[IPAddress] | None:
    """The address a numeric host stands for (any form inet_aton accepts), or None for a name."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        return None
    return [ip_address(str(info[4][0])) for info in infos[:1]]


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's preferred order, without duplicates.

    Raises socket.gaierror when the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for info in infos:
        seen.setdefault(ip_address(str(info[4][0])), None)
    return list(seen)


def _check(host: str, addresses: list[IPAddress], *, literal: bool) -> None:
    """Raises CallbackRefused naming the first address (and its class) the guard refuses."""
    for address in addresses:
        reason = refusal_reason(address)
        if reason is None:
            continue
        if not literal:
            where = f"host {host} resolves to {address}, which"
        elif str(address) == host:
            where = f"host {host}"
        else:
            where = f"host {host} ({address})"
        raise CallbackRefused(
            f"Callback URL {where} is a {reason} address; "
            "webhooks are only sent to publicly reachable addresses."
        )


def resolve_and_check(url: str, *, allow_private: bool) -> ResolvedTarget:
    """The target to connect to for `url`, after resolving its host and checking every address.

    Raises CallbackRefused when the URL is malformed or any address is loopback, private,
    link-local, multicast, reserved, unspecified, shared or a metadata endpoint (unless
    `allow_private`). Raises socket.gaierror (an OSError) when the name does not resolve,
    which may be transient: the caller decides whether to retry.
    """
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    numeric = _numeric_addresses(host)
    addresses = numeric if numeric is not None else _resolve(host, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no addresses")
    if not allow_private:
        _check(host, addresses, literal=numeric is not None)
    return ResolvedTarget(
        url=url,
        scheme=parsed.scheme,
        host=host,
        port=port,
        ip=str(addresses[0]),
        addresses=tuple(str(a) for a in addresses),
    )


def validate_callback_url(url: str, *, allow_private: bool, resolve: bool = True) -> None:
    """Returns when `url` is acceptable at request time; raises CallbackRefused otherwise.

    Checks the syntax and any literal IP address. With `resolve`, a name is looked up too and
    refused when it resolves to a refused address; a name that does not resolve is accepted,
    because the receiver may not be published yet and the guard runs again at every delivery.
    """
    parsed = _parse(url)
    if allow_private:
        return
    host = parsed.raw_host.decode("ascii")
    numeric = _numeric_addresses(host)
    if numeric is not None:
        _check(host, numeric, literal=True)
        return
    if not resolve:
        return
    try:
        addresses = _resolve(host, parsed.port or DEFAULT_PORTS[parsed.scheme])
    except OSError:
        return
    _check(host, addresses, literal=False)
