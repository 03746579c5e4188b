"""The SSRF guard: callback URLs that must never be reached, and the ones that may."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from deepres.errors import CallbackRefused
from deepres.webhooks.ssrf import resolve_and_check, validate_callback_url

FakeDNS = Callable[[dict[str, list[str]]], None]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """Answers chosen names with chosen addresses; there is no DNS server to ask here.

    Every other name or literal goes to the real resolver, so connections still work.
    """
    real = socket.getaddrinfo

    def install(table: dict[str, list[str]]) -> None:
        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in table:
                return real(host, port, *args, **kwargs)
            numeric_only = kwargs.get("flags", 0) & socket.AI_NUMERICHOST
            if numeric_only or not table[host]:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port or 0, 0, 0) if ":" in ip else (ip, port or 0),
                )
                for ip in table[host]
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    return install


REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.8.9.10:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://172.31.255.255/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback (IPv4-mapped form of 127.0.0.1)"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata (IPv4-mapped"),
    ("http://[64:ff9b::a00:1]/", "private (NAT64 form of 10.0.0.1)"),
    ("http://[2002:7f00:1::]/", "loopback (6to4 form of 127.0.0.1)"),
    ("http://[::127.0.0.1]/", "loopback (IPv4-compatible"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[::]/", "unspecified"),
    ("http://[2001:db8::1]/", "reserved"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://0/hook", "unspecified"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f.1/hook", "loopback"),
    ("http://100.64.0.1/hook", "shared"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://255.255.255.255/", "reserved"),
    ("http://192.0.2.1/", "reserved"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused_without_allow_private(url: str, reason: str) -> None:
    with pytest.raises(CallbackRefused) as delivery:
        resolve_and_check(url, allow_private=False)
    assert reason in delivery.value.message
    assert "publicly reachable" in delivery.value.message
    with pytest.raises(CallbackRefused) as request_time:
        validate_callback_url(url, allow_private=False)
    assert reason in request_time.value.message


@pytest.mark.parametrize(
    "url", ["http://93.184.216.34/hook", "https://[2606:2800:220:1::]/hook", "http://8.8.8.8:81/"]
)
def test_public_literal_ip_is_allowed(url: str) -> None:
    """Only checked, never connected to: this machine has no outside network."""
    target = resolve_and_check(url, allow_private=False)
    assert target.ip in url
    validate_callback_url(url, allow_private=False)


def test_target_describes_where_to_connect() -> None:
    target = resolve_and_check("https://93.184.216.34:8443/a?b=1", allow_private=False)
    assert (target.scheme, target.host, target.port, target.ip) == (
        "https",
        "93.184.216.34",
        8443,
        "93.184.216.34",
    )
    assert target.host_header == "93.184.216.34:8443"
    assert resolve_and_check("http://[2606:2800:220:1::]/", allow_private=False).host_header == (
        "[2606:2800:220:1::]"
    )


def test_allow_private_lets_loopback_through() -> None:
    target = resolve_and_check("http://127.0.0.1:9/hook", allow_private=True)
    assert target.ip == "127.0.0.1"
    assert target.port == 9
    validate_callback_url("http://localhost/hook", allow_private=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("example.com/hook", "http or https"),
        ("http:///hook", "no host"),
        ("https://user:secret@example.com/hook", "user name or password"),
        ("https://example.com:0/hook", "port 0"),
        ("https://example.com:99999/hook", "port 99999"),
        ("https://exa mple.com/hook", "spaces"),
        ("https://example.com/" + "a" * 2100, "longer than 2048"),
        ("http://[zz]/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        validate_callback_url(url, allow_private=True)
    assert reason in refused.value.message
    with pytest.raises(CallbackRefused):
        resolve_and_check(url, allow_private=True)


def test_any_bad_address_among_several_refuses(fake_dns: FakeDNS) -> None:
    """A name with one public and one private address could be steered to the private one."""
    fake_dns({"mixed.example": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(CallbackRefused, match=r"mixed\.example resolves to 10\.0\.0\.5"):
        resolve_and_check("https://mixed.example/hook", allow_private=False)
    with pytest.raises(CallbackRefused):
        validate_callback_url("https://mixed.example/hook", allow_private=False)


def test_public_name_resolves_to_a_checked_target(fake_dns: FakeDNS) -> None:
    fake_dns({"hooks.example": ["2606:2800:220:1::", "93.184.216.34"]})
    target = resolve_and_check("https://hooks.example/hook", allow_private=False)
    assert target.ip == "2606:2800:220:1::"
    assert target.addresses == ("2606:2800:220:1::", "93.184.216.34")
    assert (target.port, target.host_header) == (443, "hooks.example")


def test_idn_host_is_checked_in_ascii_form(fake_dns: FakeDNS) -> None:
    fake_dns({"xn--bcher-kva.example": ["93.184.216.34"]})
    target = resolve_and_check("https://bücher.example/hook", allow_private=False)
    assert target.host == "xn--bcher-kva.example"


def test_unresolvable_name_passes_at_request_time_but_not_at_delivery(fake_dns: FakeDNS) -> None:
    fake_dns({"not-yet.example": []})
    validate_callback_url("https://not-yet.example/hook", allow_private=False)
    with pytest.raises(socket.gaierror):
        resolve_and_check("https://not-yet.example/hook", allow_private=False)


def test_request_time_check_can_skip_dns(fake_dns: FakeDNS) -> None:
    fake_dns({"internal.example": ["10.0.0.7"]})
    validate_callback_url("https://internal.example/", allow_private=False, resolve=False)
    with pytest.raises(CallbackRefused):
        validate_callback_url("https://internal.example/", allow_private=False)
