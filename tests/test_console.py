"""The web console in a real headless Chromium against a real `deepres serve`.

A user's whole path: paste a token, upload and draw an AOI, list its dates, submit a job, watch
it finish and compare input and result with the before/after swipe and the map overlay. The
browser is Debian's chromium (`scripts/browser.sh` installs it), driven by Playwright.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from shapely.geometry import box, mapping

from tests.harness import Service

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CLEAR = box(-11.765, 24.734, -11.752, 24.747)  # clear over 29RKH on 2020-02-19
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--headless"]
LOADED = """ids => ids.every(id => {
    const img = document.getElementById(id);
    return img && img.complete && img.naturalWidth > 0;
})"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path) -> Iterator[Service]:
    """`deepres serve` on the embedded default only: the console only talks HTTP to it."""
    svc = Service(tmp_path_factory.mktemp("home"), {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    svc.start("serve")
    yield svc
    svc.stop()


def _hectares(text: str) -> float:
    match = re.search(r"([\d,]+(?:\.\d+)?) ha", text)
    assert match, text
    return float(match.group(1).replace(",", ""))


def test_console_runs_a_job_and_compares_input_and_result(service: Service, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/browser.sh")
    from playwright.sync_api import expect, sync_playwright

    token = service.create_client("console")
    aoi_file = tmp_path / "field.geojson"
    aoi_file.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(CLEAR)})
    )
    screenshot = tmp_path / "console.png"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        elsewhere: list[str] = []
        problems: list[str] = []
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith((service.url, "blob:", "data:"))
                else elsewhere.append(r.url)
            ),
        )
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        try:
            page.goto(f"{service.url}/console")
            expect(page.locator("#who")).to_have_text("signed out")

            page.fill("#token", "not-a-token")
            page.click("#sign-in")
            expect(page.locator("#token-msg")).to_contain_text("Unauthorized")
            problems.clear()  # the browser logs the refused request: expected here
            page.fill("#token", token)
            page.click("#sign-in")
            expect(page.locator("#who")).to_have_text("signed in")
            assert page.evaluate("sessionStorage.getItem('deepres.jwt')").count(".") == 2

            page.set_input_files("#aoi-file", str(aoi_file))
            expect(page.locator("#aoi-msg")).to_contain_text("uploaded from field.geojson")
            uploaded_ha = _hectares(page.locator("#area").inner_text())
            assert 185 < uploaded_ha < 195  # the service says 189.37 ha (ellipsoid)

            # Draw on the map the upload zoomed to: a triangle (closed on its first vertex),
            # then the uploaded rectangle again from its two corners.
            bounds = page.locator("#map").bounding_box()
            assert bounds is not None

            def click(lon: float, lat: float) -> None:
                x, y = page.evaluate(
                    "([lat, lon]) => { const p = deepresConsole.map.latLngToContainerPoint("
                    "[lat, lon]); return [p.x, p.y]; }",
                    [lat, lon],
                )
                page.mouse.click(bounds["x"] + x, bounds["y"] + y)

            page.click("#draw-poly")
            for lon, lat in ((-11.765, 24.734), (-11.752, 24.734), (-11.765, 24.747)):
                click(lon, lat)
            click(-11.765, 24.734)
            expect(page.locator("#aoi-msg")).to_contain_text("drawn")
            triangle_text = page.locator("#area").inner_text()
            triangle_ha = _hectares(triangle_text)
            assert abs(triangle_ha - uploaded_ha / 2) / uploaded_ha < 0.03
            page.click("#draw-rect")
            click(-11.765, 24.734)
            click(-11.752, 24.747)
            expect(page.locator("#area")).not_to_have_text(triangle_text)
            drawn_ha = _hectares(page.locator("#area").inner_text())
            assert abs(drawn_ha - uploaded_ha) / uploaded_ha < 0.03
            aoi = page.evaluate("deepresConsole.state.aoi")
            assert (
                aoi["geometry"]["type"] == "Polygon" and len(aoi["geometry"]["coordinates"][0]) == 5
            )

            page.fill("#start", "2020-02-01")
            page.fill("#end", "2020-03-01")
            page.fill("#cloud", "20")
            page.click("#find-dates")
            row = page.locator("#dates tbody tr[data-date='2020-02-19']")
            expect(row).to_be_visible(timeout=60_000)
            expect(row.locator("td").nth(2)).to_have_text("29RKH")
            expect(page.locator("#area-server")).to_contain_text("service:")
            assert abs(_hectares(page.locator("#area-server").inner_text()) - drawn_ha) < 2

            row.locator("input").check()
            page.click("#submit")
            expect(page.locator("#job-msg")).to_have_text("Job queued.")
            job_id = page.locator("#job-id").inner_text()
            assert re.fullmatch(r"[0-9a-f-]{36}", job_id)
            done = page.locator("#job-dates tbody td.status-PROCESSED")
            expect(done).to_have_count(1, timeout=120_000)
            expect(done).to_have_text("PROCESSED")
            expect(page.locator("#job-state")).to_have_text("done", timeout=30_000)

            page.click("#job-dates .compare-btn")
            expect(page.locator("#compare")).to_be_visible()
            page.wait_for_function(LOADED, arg=["ql-input", "ql-result"], timeout=30_000)
            sizes = page.evaluate(
                "['ql-input', 'ql-result'].map(id => { const i = document.getElementById(id); "
                "return [i.naturalWidth, i.naturalHeight]; })"
            )
            assert sizes[0] == sizes[1] and sizes[0][0] > 0
            overlay = page.locator("#map img.ql-overlay")
            expect(overlay).to_have_count(1)
            assert page.evaluate("document.querySelector('#map img.ql-overlay').naturalWidth") > 0
            expect(page.locator("#map path.leaflet-interactive")).not_to_have_count(0)

            page.locator("#swipe-range").fill("35")
            clip = page.evaluate("document.getElementById('ql-result').style.clipPath")
            assert clip == "inset(0px 0px 0px 35%)"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert screenshot.stat().st_size > 10_000
    print(f"console screenshot: {screenshot}")
    assert elsewhere == [], f"the console reached outside the service: {elsewhere}"
    assert problems == [], problems
