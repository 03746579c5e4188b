"""`GET /deep-resolution/models`: what a job may name, read from the cards without ONNX Runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from deepres.api.app import create_app
from deepres.settings import Settings


def test_models_lists_the_network_the_baseline_and_the_default(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(home=tmp_path)))
    r = client.get("/deep-resolution/models")
    assert r.status_code == 200
    models = {m["name"]: m for m in r.json()["results"]}
    assert models["deepres-s2sr"]["scales"] == [1, 2, 4] and models["deepres-s2sr"]["default"]
    assert models["bicubic"]["baseline"] and not models["bicubic"]["default"]
    assert [m["name"] for m in r.json()["results"] if m["default"]] == ["deepres-s2sr"]


def test_the_api_process_never_loads_onnx_runtime(tmp_path: Path) -> None:
    """Checking a job's model and scale reads the card; the network stays on the workers."""
    code = (
        "import sys; from fastapi.testclient import TestClient; "
        "from deepres.api.app import create_app; from deepres.settings import Settings; "
        f"c = TestClient(create_app(Settings(home={str(tmp_path)!r}))); "
        "c.get('/deep-resolution/models'); c.get('/openapi.json'); "
        "print('onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
