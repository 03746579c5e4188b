"""S3 storage end to end: a job's link is a presigned URL on moto's S3 server that downloads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deepres.raster import validate_cog
from tests.backends import moto_s3
from tests.harness import Service

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3() as url:
        yield url


def test_job_link_is_a_presigned_s3_url_that_downloads_the_cog(
    tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path, s3_endpoint: str
) -> None:
    svc = Service(
        tmp_path_factory.mktemp("s3home"),
        {
            "DEEPRES_CATALOG_URL": str(scenes_catalog),
            "DEEPRES_STORAGE_URL": "s3://results/deepres",
            "DEEPRES_S3_ENDPOINT_URL": s3_endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        },
    )
    svc.start("serve")
    try:
        token = svc.create_client("s3")
        job_id = svc.submit(token)
        data = svc.wait_status(job_id, token, lambda d: d["dates"] and "status" not in d)
        (entry,) = data["dates"]
        link = entry["link"]
        assert link.startswith(f"{s3_endpoint}/results/deepres/{job_id}/29RKH/2020-02-19_MS.tif?")
        assert "X-Amz-Expires=604800" in link
        out = tmp_path_factory.mktemp("dl") / "2020-02-19_MS.tif"
        out.write_bytes(httpx.get(link).content)
        assert validate_cog(out) == []
    finally:
        svc.stop()
