"""Dates per minute with one worker and with two, same run, on PostgreSQL + Redis + S3 (moto).

Run from the repository root: `.venv/bin/python bench/bench_workers.py [--jobs 6]`. Prints JSON.
Each job asks for two dates of the real 29RKH scene (the second a synthetic re-acquisition) over
a ~5,000 ha AOI at 2.5 m, so every date is real work: windowed reads, bicubic, COG, upload.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.backends import scaleout_env
from tests.harness import Service

from deepres.catalog.index import write_index

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "scenes"
BBOX = {"x_min": -11.70, "y_min": 24.70, "x_max": -11.63, "y_max": 24.76}


def two_date_catalog(tmp: Path) -> Path:
    out = tmp / "catalog.json"
    collection = write_index([SHARED / "S2A_29RKH_20200219_L2A"], out)
    later = json.loads(json.dumps(collection["features"][0]))
    later["id"] = "S2A_29RKH_20200224_0_L2A"
    later["properties"]["datetime"] = "2020-02-24T11:34:25Z"
    collection["features"].append(later)
    out.write_text(json.dumps(collection))
    return out


def run(workers: int, jobs: int, tmp: Path, catalog: Path) -> dict[str, float]:
    with scaleout_env() as env:
        svc = Service(tmp / f"w{workers}", {**env, "DEEPRES_CATALOG_URL": str(catalog)})
        svc.home.mkdir()
        svc.cli("migrate")
        try:
            svc.start("api")
            svc.start("scheduler", wait=False)
            for _ in range(workers):
                svc.start("worker", wait=False)
            token = svc.create_client("bench")
            time.sleep(3)  # let the workers connect before the clock starts
            started = time.monotonic()
            ids = [
                httpx.post(
                    f"{svc.url}/deep-resolution",
                    json={
                        "client_token": token,
                        "bbox": BBOX,
                        "cloud_cover": 100,
                        "start_date": "2020-02-01",
                        "end_date": "2020-03-01",
                    },
                ).json()["data"]["job_id"]
                for _ in range(jobs)
            ]
            for job_id in ids:
                svc.wait_status(job_id, token, lambda d: d["dates"] and "status" not in d, 900)
            elapsed = time.monotonic() - started
        finally:
            svc.stop()
    dates = 2 * jobs
    return {
        "dates": dates,
        "seconds": round(elapsed, 2),
        "dates_per_minute": round(60 * dates / elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        catalog = two_date_catalog(tmp)
        result = {
            "configuration": "postgresql + redis + s3 (moto), worker concurrency 1",
            "one_worker": run(1, args.jobs, tmp, catalog),
            "two_workers": run(2, args.jobs, tmp, catalog),
        }
    one, two = result["one_worker"], result["two_workers"]
    result["speedup"] = round(two["dates_per_minute"] / one["dates_per_minute"], 2)  # type: ignore[index]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
