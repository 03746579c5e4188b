"""Webhook delivery against a real receiver on loopback that records what reaches it."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deepres import __version__
from deepres.webhooks.sender import send
from deepres.webhooks.signing import (
    digifarm_body_and_signature,
    new_webhook_secret,
    standard_headers,
    verify_digifarm,
    verify_standard,
)

TOKEN = "client-token-1"
PAYLOAD = {"statusCode": 200, "data": {"job_id": "j-1", "status": "success", "filename": "é.tif"}}


@dataclass
class Record:
    path: str
    headers: dict[str, str]
    body: bytes
    local_ip: str  # the address the connection arrived on, seen from the receiver


class Receiver(ThreadingHTTPServer):
    daemon_threads = True
    records: list[Record]


class RecordingHandler(BaseHTTPRequestHandler):
    """Records every POST, then answers as its path asks."""

    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.records.append(
            Record(
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                local_ip=self.connection.getsockname()[0],
            )
        )
        answers: dict[str, tuple[int, dict[str, str]]] = {
            "/ok": (200, {}),
            "/redirect": (302, {"Location": "/ok"}),
            "/gone": (410, {}),
            "/busy": (503, {"Retry-After": "7"}),
        }
        if self.path == "/slow":
            time.sleep(1.0)
        status, headers = answers.get(self.path, (200, {}))
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"thanks")
        except OSError:
            pass  # the sender gave up waiting (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), RecordingHandler)
    server.records = []
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve()


@dataclass
class Certificate:
    pem: bytes
    server_context: ssl.SSLContext
    client_context: ssl.SSLContext = field(init=False)

    def __post_init__(self) -> None:
        self.client_context = ssl.create_default_context(cadata=self.pem.decode())


def make_certificate(hostname: str, tmp_path: Path) -> Certificate:
    """A self-signed certificate for `hostname` and contexts that serve and trust it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / f"{hostname}.crt", tmp_path / f"{hostname}.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    return Certificate(pem=cert_pem, server_context=server_context)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the test fills in, answered without DNS (there is no DNS server to ask here).

    Each lookup of a name takes the next answer from its list; an exhausted list no longer
    resolves, so a second lookup by anyone but the guard would fail loudly.
    """
    real = socket.getaddrinfo
    table: dict[str, list[str]] = {}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in table:
            return real(host, port, *args, **kwargs)
        if kwargs.get("flags", 0) & socket.AI_NUMERICHOST or not table[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        ip = table[host].pop(0)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def signed(body_payload: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body, signature = digifarm_body_and_signature(body_payload, TOKEN)
    secret = new_webhook_secret()
    headers = {"X-Digifarm-Signature": signature}
    headers |= standard_headers("msg_1", int(time.time()), body, secret)
    return body, headers, secret


def test_body_and_headers_arrive_intact_at_the_checked_ip(receiver: Receiver) -> None:
    port = receiver.server_address[1]
    body, headers, secret = signed(PAYLOAD)
    result = send(f"http://localhost:{port}/ok", body, headers, allow_private=True)
    assert (result.ok, result.status_code, result.error, result.gone) == (True, 200, None, False)
    assert result.ip == "127.0.0.1"
    assert result.elapsed_s > 0
    [record] = receiver.records
    assert record.path == "/ok"
    assert record.body == body
    assert record.local_ip == "127.0.0.1"
    assert record.headers["host"] == f"localhost:{port}"
    assert record.headers["content-type"] == "application/json"
    assert record.headers["user-agent"] == f"deepres-webhooks/{__version__}"
    assert verify_digifarm(record.body, record.headers["x-digifarm-signature"], TOKEN)
    assert verify_standard(record.headers, record.body, secret)


def test_callers_cannot_override_host_or_content_type(receiver: Receiver) -> None:
    port = receiver.server_address[1]
    headers = {"Host": "evil.example", "content-type": "text/plain", "X-Extra": "kept"}
    assert send(f"http://127.0.0.1:{port}/ok", b"{}", headers, allow_private=True).ok
    [record] = receiver.records
    assert record.headers["host"] == f"127.0.0.1:{port}"
    assert record.headers["content-type"] == "application/json"
    assert record.headers["x-extra"] == "kept"


def test_connects_to_the_address_it_checked(
    receiver: Receiver, fake_dns: dict[str, list[str]]
) -> None:
    """DNS rebinding: only the guard's lookup is answered; any later lookup would fail."""
    port = receiver.server_address[1]
    fake_dns["callback.example"] = ["127.0.0.1"]
    result = send(f"http://callback.example:{port}/ok", b"{}", {}, allow_private=True)
    assert result.ok, result.error
    [record] = receiver.records
    assert record.headers["host"] == f"callback.example:{port}"
    assert record.local_ip == "127.0.0.1"


def test_refused_target_gets_nothing(receiver: Receiver) -> None:
    port = receiver.server_address[1]
    result = send(f"http://localhost:{port}/ok", b"{}", {}, allow_private=False)
    assert (result.ok, result.refused, result.status_code) == (False, True, None)
    assert result.error is not None and "loopback" in result.error
    assert receiver.records == []


def test_redirect_is_not_followed(receiver: Receiver) -> None:
    port = receiver.server_address[1]
    result = send(f"http://127.0.0.1:{port}/redirect", b"{}", {}, allow_private=True)
    assert (result.ok, result.status_code) == (False, 302)
    assert result.error is not None and "redirects are not followed" in result.error
    assert [r.path for r in receiver.records] == ["/redirect"]


def test_gone_and_retry_after(receiver: Receiver) -> None:
    port = receiver.server_address[1]
    gone = send(f"http://127.0.0.1:{port}/gone", b"{}", {}, allow_private=True)
    assert (gone.ok, gone.status_code, gone.gone) == (False, 410, True)
    busy = send(f"http://127.0.0.1:{port}/busy", b"{}", {}, allow_private=True)
    assert (busy.ok, busy.status_code, busy.gone, busy.retry_after_s) == (False, 503, False, 7.0)
    assert busy.error == "receiver answered HTTP 503"


def test_slow_receiver_times_out(receiver: Receiver) -> None:
    port = receiver.server_address[1]
    result = send(f"http://127.0.0.1:{port}/slow", b"{}", {}, allow_private=True, timeout_s=0.2)
    assert (result.ok, result.status_code) == (False, None)
    assert result.error is not None and "timed out" in result.error


def test_closed_port_and_unresolvable_name_are_errors(fake_dns: dict[str, list[str]]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    closed = send(f"http://127.0.0.1:{free_port}/ok", b"{}", {}, allow_private=True)
    assert (closed.ok, closed.refused) == (False, False)
    assert closed.error is not None and "could not connect to 127.0.0.1" in closed.error
    fake_dns["nowhere.example"] = []
    missing = send("https://nowhere.example/ok", b"{}", {}, allow_private=True)
    assert (missing.ok, missing.refused) == (False, False)
    assert missing.error is not None and "could not resolve" in missing.error


def test_https_verifies_the_original_hostname(
    tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    """The request goes to 127.0.0.1 yet TLS checks the certificate against the URL's name."""
    cert = make_certificate("callback.example", tmp_path)
    for server in _serve(cert.server_context):
        port = server.server_address[1]
        fake_dns["callback.example"] = ["127.0.0.1"]
        fake_dns["other.example"] = ["127.0.0.1"]
        good = send(
            f"https://callback.example:{port}/ok",
            b"{}",
            {},
            allow_private=True,
            ssl_context=cert.client_context,
        )
        assert good.ok, good.error
        assert server.records[0].headers["host"] == f"callback.example:{port}"
        wrong_name = send(
            f"https://other.example:{port}/ok",
            b"{}",
            {},
            allow_private=True,
            ssl_context=cert.client_context,
        )
        assert (wrong_name.ok, wrong_name.status_code) == (False, None)
        assert wrong_name.error is not None and "other.example" in wrong_name.error
        fake_dns["callback.example"] = ["127.0.0.1"]
        untrusted = send(f"https://callback.example:{port}/ok", b"{}", {}, allow_private=True)
        assert not untrusted.ok
        assert untrusted.error is not None and "CERTIFICATE_VERIFY_FAILED" in untrusted.error
        assert len(server.records) == 1


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_total_deadline() -> None:
    """One byte of the status line every 0.2 s: each read is quick, the whole never ends.

    A per-read timeout would wait for the whole drip and report success; the deadline counts
    the attempt as a whole.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        result = send(f"http://127.0.0.1:{port}/slow", b"{}", {}, allow_private=True, timeout_s=1.0)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert not result.ok and result.status_code is None
    assert result.error is not None and "within 1 s" in result.error
