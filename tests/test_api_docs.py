"""`/docs` in a real headless Chromium: Swagger UI renders with no request to another host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import BROWSER_ARGS, CHROMIUM, require_chromium
from tests.harness import Service

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path) -> Iterator[Service]:
    svc = Service(tmp_path_factory.mktemp("home"), {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    svc.start("api")
    yield svc
    svc.stop()


def test_docs_render_offline_from_the_service_itself(service: Service, tmp_path: Path) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1600})
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{service.url}/docs")
            page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
            title = page.inner_text(".swagger-ui .info .title")
            operations = page.locator(".swagger-ui .opblock").count()
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
            print(f"screenshot: {tmp_path / 'docs.png'}")
        finally:
            browser.close()
    assert "deepres" in title
    assert operations >= 20  # every documented operation is listed
    foreign = [u for u in requested if not u.startswith(service.url) and not u.startswith("data:")]
    assert foreign == []
    assert any(u.endswith("/docs/static/swagger-ui-bundle.js") for u in requested)
