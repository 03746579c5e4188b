"""Schemathesis against the service's own /openapi.json: no server error, answers as documented."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from deepres.api.app import create_app
from tests.inprocess import migrated_runtime, new_client


def _app() -> tuple[FastAPI, dict[str, str]]:
    """The real app over a fresh database; tasks are recorded rather than queued."""
    home = tempfile.mkdtemp(prefix="deepres-fuzz-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    # A local (empty) catalog: fuzzing must neither reach the internet nor wait for it.
    catalog = Path(home) / "catalog.json"
    catalog.write_text('{"type": "FeatureCollection", "features": []}')
    runtime = migrated_runtime(
        home, rate_limit_per_minute=0, webhook_allow_private=False, catalog_url=str(catalog)
    )
    _, token = new_client(runtime, "fuzzer")
    app = create_app(runtime.settings, runtime)
    with TestClient(app) as http:
        jwt = http.post("/auth/token", json={"client_token": token}).json()["access_token"]
    return app, {"Authorization": f"Bearer {jwt}"}


APP, AUTH = _app()
CALLS: list[str] = []
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


# One pytest item per operation, with its label as id: schemathesis' own parametrize gives its
# items one shared node id, which pytest-xdist collapses into a single test.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error_and_every_answer_is_documented(operation: Any) -> None:
    valid_and_invalid = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=valid_and_invalid)
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: schemathesis.Case) -> None:
        # positive_data_acceptance wants every schema-valid request accepted; deepres rightly
        # refuses some with a documented 4xx (an AOI that is missing or invalid, a cursor it
        # never issued): rules no JSON schema can state. Every other check runs.
        response = case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])
        CALLS.append(f"{case.operation.label} -> {response.status_code}")

    fuzz()


def test_the_fuzzing_really_ran() -> None:
    """Runs after the fuzz cases (same file, same worker): they must have sent real requests."""
    operations = {c.split(" -> ")[0] for c in CALLS}
    print(f"schemathesis: {len(CALLS)} requests over {len(operations)} operations")
    assert operations == {op.label for op in OPERATIONS} and len(CALLS) >= 20 * len(operations)
