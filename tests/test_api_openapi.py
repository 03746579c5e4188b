"""`/openapi.json` tells the truth: typed answers, the spec's examples, the real error envelope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from deepres.api.app import create_app
from deepres.settings import Settings


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    document: dict[str, Any] = TestClient(create_app(settings)).get("/openapi.json").json()
    return document


def _schema(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref:
        found: dict[str, Any] = doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]
        return found
    return ref


def _field(doc: dict[str, Any], schema: dict[str, Any], name: str) -> dict[str, Any]:
    prop = _schema(doc, schema)["properties"][name]
    options = prop.get("anyOf", [prop])
    return _schema(doc, next(o for o in options if o.get("type") != "null"))


def test_the_status_answer_describes_dates_link_and_status(doc: dict[str, Any]) -> None:
    ok = doc["paths"]["/deep-resolution/status/{job_id}"]["get"]["responses"]["200"]
    envelope = ok["content"]["application/json"]["schema"]
    data = _field(doc, envelope, "data")
    assert {"job_id", "status", "dates"} <= set(data["properties"])
    entry = _schema(doc, data["properties"]["dates"]["items"])
    assert {"date", "status", "link", "mgrs", "cloud_cover", "reason"} <= set(entry["properties"])
    assert entry["examples"][0]["status"] == "PROCESSED"
    assert set(_schema(doc, entry["properties"]["status"])["enum"]) == {
        "PENDING",
        "PROCESSING",
        "PROCESSED",
        "FAILED",
    }


def test_every_body_has_an_example_the_service_accepts_and_models_are_listed(
    doc: dict[str, Any],
) -> None:
    bodies = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            bodies += 1
            schema = _schema(doc, body["content"]["application/json"]["schema"])
            assert schema.get("examples"), f"{method} {path} has no example body"
            assert "aoi" not in schema["examples"][0]  # Swagger's filled-in body is valid
    assert bodies >= 6
    model = doc["components"]["schemas"]["JobRequestBody"]["properties"]["model"]
    names = next(o["enum"] for o in model["anyOf"] if o.get("type") == "string")
    assert "deepres-s2sr" in names and "bicubic" in names


def test_errors_are_documented_as_the_envelope_the_service_sends(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in str(doc)
    operation = doc["paths"]["/deep-resolution"]["post"]
    bad = operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert _schema(doc, bad)["title"] == "ErrorEnvelope"
    for name in ("statusCode", "data", "error", "errorMessage", "version", "timestamp"):
        assert name in _schema(doc, bad)["properties"]


def test_pages_and_cancel_answers_are_typed(doc: dict[str, Any]) -> None:
    page = doc["paths"]["/deep-resolution/jobs"]["get"]["responses"]["200"]
    page_schema = _schema(doc, page["content"]["application/json"]["schema"])
    assert {"results", "cursor"} <= set(page_schema["properties"])
    cancel = doc["paths"]["/deep-resolution/cancel/{job_id}"]["post"]["responses"]["200"]
    data = _field(doc, cancel["content"]["application/json"]["schema"], "data")
    assert set(data["properties"]) == {"job_id", "status"}
