"""Webhook signatures as a receiver checks them: the spec's verifier and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepres.webhooks.signing import (
    digifarm_body_and_signature,
    new_webhook_secret,
    standard_headers,
    verify_digifarm,
    verify_standard,
)
from tests.harness import is_valid_signature

TOKEN = "client-token-Ω-123"
SPEC_PAYLOAD = {
    "statusCode": 200,
    "data": {
        "filename": "2023-11-21_MS.tif",
        "job_id": "43288813-5b43-4b6b-a242-1fa35de35a04",
        "link": "https://digi-data-v1.s3.amazonaws.com/partial-dr/x/y/32VPN/2023-11-21_MS.tif",
        "status": "success",
        "timestamp": "2024-03-03T13:49:49.290596",
        "version": "v1.0",
    },
}


def raw_body_is_valid(x_digifarm_signature: str, body: bytes, client_token: str) -> bool:
    """A receiver that signs the raw body it was sent, as most webhook guides recommend."""
    expected = hmac.new(client_token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, x_digifarm_signature)


def test_spec_verifier_accepts_the_parsed_body() -> None:
    body, signature = digifarm_body_and_signature(SPEC_PAYLOAD, TOKEN)
    assert is_valid_signature(signature, json.loads(body), TOKEN)
    assert raw_body_is_valid(signature, body, TOKEN)
    assert verify_digifarm(body, signature, TOKEN)


def test_body_uses_default_separators_and_ascii() -> None:
    body, _ = digifarm_body_and_signature({"b": "é", "a": [1, 2]}, TOKEN)
    assert body == b'{"a": [1, 2], "b": "\\u00e9"}'


def test_wrong_token_or_tampered_body_fails() -> None:
    body, signature = digifarm_body_and_signature(SPEC_PAYLOAD, TOKEN)
    assert not is_valid_signature(signature, json.loads(body), "another-token")
    assert not verify_digifarm(body, signature, "another-token")
    assert not verify_digifarm(body.replace(b"200", b"201"), signature, TOKEN)
    assert not verify_digifarm(body, "ünicode-garbage", TOKEN)


def test_nan_is_refused_as_not_json() -> None:
    with pytest.raises(ValueError):
        digifarm_body_and_signature({"x": float("nan")}, TOKEN)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150)
@given(payload=st.dictionaries(st.text(), json_values, max_size=6), token=st.text(min_size=1))
def test_any_json_payload_verifies_both_ways(payload: dict[str, Any], token: str) -> None:
    body, signature = digifarm_body_and_signature(payload, token)
    assert is_valid_signature(signature, json.loads(body), token)
    assert raw_body_is_valid(signature, body, token)
    assert verify_digifarm(body, signature, token)


def test_standard_round_trip() -> None:
    secret = new_webhook_secret()
    body, _ = digifarm_body_and_signature(SPEC_PAYLOAD, TOKEN)
    headers = standard_headers("msg_1", 1_700_000_000, body, secret)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
    assert verify_standard(headers, body, secret, now=1_700_000_100)
    # Header names are case-insensitive on the wire.
    upper = {name.upper(): value for name, value in headers.items()}
    assert verify_standard(upper, body, secret, now=1_700_000_100)


def test_standard_matches_the_reference_construction() -> None:
    """The signature is the one the Standard Webhooks libraries compute, by hand here."""
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    headers = standard_headers("msg_2", 1_614_265_330, b'{"test": 2432232314}', secret)
    expected = base64.b64encode(
        hmac.new(key, b'msg_2.1614265330.{"test": 2432232314}', hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_standard_rejects_stale_future_and_tampered() -> None:
    secret = new_webhook_secret()
    body = b'{"a": 1}'
    headers = standard_headers("msg_3", 1_000_000, body, secret)
    assert not verify_standard(headers, body, secret, now=1_000_000 + 301)
    assert not verify_standard(headers, body, secret, now=1_000_000 - 301)
    assert not verify_standard(headers, b'{"a": 2}', secret, now=1_000_000)
    assert not verify_standard(headers, body, new_webhook_secret(), now=1_000_000)
    assert not verify_standard({**headers, "webhook-id": "msg_4"}, body, secret, now=1_000_000)
    assert not verify_standard({}, body, secret, now=1_000_000)
    assert not verify_standard({**headers, "webhook-timestamp": "soon"}, body, secret)


def test_standard_accepts_any_of_several_signatures() -> None:
    """During secret rotation a sender lists a signature per secret, space-separated."""
    old, new = new_webhook_secret(), new_webhook_secret()
    body = b"{}"
    by_old = standard_headers("m", 10, body, old)["webhook-signature"]
    by_new = standard_headers("m", 10, body, new)["webhook-signature"]
    headers = {"webhook-id": "m", "webhook-timestamp": "10", "webhook-signature": ""}
    headers["webhook-signature"] = f"v1,bogus {by_old} {by_new}"
    assert verify_standard(headers, body, new, now=10)
    assert verify_standard(headers, body, old, now=10)
    headers["webhook-signature"] = by_old.replace("v1,", "v2,")
    assert not verify_standard(headers, body, old, now=10)


@settings(max_examples=100)
@given(
    body=st.binary(max_size=256),
    msg_id=st.text(min_size=1, max_size=40),
    timestamp=st.integers(min_value=0, max_value=2**33),
)
def test_standard_round_trip_property(body: bytes, msg_id: str, timestamp: int) -> None:
    secret = new_webhook_secret()
    headers = standard_headers(msg_id, timestamp, body, secret)
    assert verify_standard(headers, body, secret, now=timestamp)
    assert not verify_standard(headers, body + b" ", secret, now=timestamp)


def test_new_secrets_are_distinct_and_well_formed() -> None:
    first, second = new_webhook_secret(), new_webhook_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
