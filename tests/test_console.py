"""The web console in a real headless Chromium against a real `deepres serve`.

A user's whole path: paste a token, see where the catalog has data, upload and draw an AOI, list
its dates (ticked), submit a job with the model of their choice, watch it finish and judge input
and result 1:1 in the before/after viewer (zoom, pan, swipe), then run bicubic on the same AOI and
date and swipe between the two results. The same path on the native-resolution sample (a real
2.5 m product of the Virginia coast, whose cloud is unknown) is judged 1:1 by eye from its
screenshot. A second page checks what a signed-out user sees: the
model list, why Submit is disabled, and a tile server that does not answer. The browser is
Debian's chromium (`scripts/browser.sh` installs it), driven by Playwright; screenshots are saved
under the test's tmp_path and their paths printed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from shapely.geometry import box, mapping

from deepres.sr import DEFAULT_MODEL
from deepres.sr.registry import find_model
from tests.browser import BROWSER_ARGS, CHROMIUM, require_chromium
from tests.harness import Service

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CLEAR = box(-11.765, 24.734, -11.752, 24.747)  # clear over 29RKH on 2020-02-19
RKH = "S2A_29RKH_20200219_0_L2A"
DEAD_TILES = "http://127.0.0.1:9/"  # the discard port: nothing listens there
NATIVE = "T18SVG_20160112_L1C"  # 10 m native, no SCL: offered only at 100 % cloud
MARSH = box(-75.64, 37.66, -75.62, 37.675)  # about 300 ha of marsh and fields over 18SVG
LOADED = """ids => ids.every(id => {
    const img = document.getElementById(id);
    return img && img.complete && img.naturalWidth > 0;
})"""
# [naturalWidth, naturalHeight, rendered width, rendered height, left, top] of each image.
GEOMETRY = """ids => ids.map(id => {
    const img = document.getElementById(id), r = img.getBoundingClientRect();
    return [img.naturalWidth, img.naturalHeight, r.width, r.height, r.left, r.top];
})"""
# The RGBA pixels of each image, as `px` (the body of the two checks below).
PIXELS = """
    const px = ids.map(id => {
        const img = document.getElementById(id), c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext("2d");
        g.drawImage(img, 0, 0);
        return g.getImageData(0, 0, c.width, c.height).data;
    });
"""
# How many pixels both images hold, and how many of those differ in red by more than 2 levels.
DIFFERENCE = (
    "ids => {"
    + PIXELS
    + """
    let both = 0, differ = 0;
    for (let k = 0; k < px[0].length; k += 4) {
        if (px[0][k + 3] === 255 && px[1][k + 3] === 255) {
            both += 1;
            if (Math.abs(px[0][k] - px[1][k]) > 2) differ += 1;
        }
    }
    return [both, differ];
}"""
)
# Over the pixels both images hold: per channel (R, G, B) the two means and their correlation.
LIKENESS = (
    "ids => {"
    + PIXELS
    + """
    return [0, 1, 2].map(ch => {
        let n = 0, a = 0, b = 0, aa = 0, bb = 0, ab = 0;
        for (let k = 0; k < px[0].length; k += 4) {
            if (px[0][k + 3] !== 255 || px[1][k + 3] !== 255) continue;
            const x = px[0][k + ch], y = px[1][k + ch];
            n += 1; a += x; b += y; aa += x * x; bb += y * y; ab += x * y;
        }
        const ma = a / n, mb = b / n;
        const r = (ab / n - ma * mb) / Math.sqrt((aa / n - ma * ma) * (bb / n - mb * mb));
        return [ma, mb, r];
    });
}"""
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, scenes_catalog: Path) -> Iterator[Service]:
    """`deepres serve` on the embedded default only: the console only talks HTTP to it."""
    svc = Service(tmp_path_factory.mktemp("home"), {"DEEPRES_CATALOG_URL": str(scenes_catalog)})
    svc.start("serve")
    yield svc
    svc.stop()


@pytest.fixture
def native_service(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[Service]:
    """`deepres serve` over a catalog of the native-resolution Virginia scene alone."""
    from deepres.catalog.index import write_index

    catalog = tmp_path_factory.mktemp("native-catalog") / "catalog.json"
    write_index([shared_data / "native" / NATIVE], catalog)
    svc = Service(tmp_path_factory.mktemp("native-home"), {"DEEPRES_CATALOG_URL": str(catalog)})
    try:
        svc.start("serve")
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def chromium() -> None:
    require_chromium()


def _hectares(text: str) -> float:
    match = re.search(r"([\d,]+(?:\.\d+)?) ha", text)
    assert match, text
    return float(match.group(1).replace(",", ""))


def _watch(
    page: Any, allowed: tuple[str, ...], failing: tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """Requests that left `allowed`, and errors the page reported (but not loads from `failing`,
    which the test expects to fail)."""
    elsewhere: list[str] = []
    problems: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((*allowed, "blob:", "data:")) else elsewhere.append(r.url)
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def on_console(message: Any) -> None:
        source = (message.location or {}).get("url", "")
        if message.type == "error" and not (failing and source.startswith(failing)):
            problems.append(f"{message.text} ({source})")

    page.on("console", on_console)
    return elsewhere, problems


def test_console_runs_a_job_and_compares_input_and_result(
    service: Service, tmp_path: Path, chromium: None
) -> None:
    from playwright.sync_api import expect, sync_playwright

    token = service.create_client("console")
    extent = httpx.get(
        f"{service.url}/deep-resolution/catalog", headers={"client_token": token}
    ).json()["extent"]["bbox"]
    aoi_file = tmp_path / "field.geojson"
    aoi_file.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(CLEAR)})
    )
    shots = {name: tmp_path / f"console-{name}.png" for name in ("catalog", "input", "bicubic")}

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        elsewhere, problems = _watch(page, (service.url,))
        try:
            page.goto(f"{service.url}/console")
            expect(page.locator("#who")).to_have_text("signed out")
            expect(page.locator("#submit")).to_be_disabled()
            expect(page.locator("#submit-why")).to_have_text("Sign in first (step 1).")

            page.fill("#token", "not-a-token")
            page.click("#sign-in")
            expect(page.locator("#token-msg")).to_contain_text("Unauthorized")
            problems.clear()  # the browser logs the refused request: expected here
            page.fill("#token", token)
            page.click("#sign-in")
            expect(page.locator("#who")).to_have_text("signed in")
            assert page.evaluate("sessionStorage.getItem('deepres.jwt')").count(".") == 2

            # Where the data is: the map fits the catalog's extent, its scenes are listed newest
            # first, and the date window ends on the newest scene instead of today.
            scenes = page.locator("#scenes li")
            expect(scenes).to_have_count(3, timeout=30_000)
            expect(scenes.first).to_have_text("2020-02-19 29RKH 4.1 % cloud")
            expect(scenes.nth(1)).to_contain_text("2017-06-17 29UPT")
            expect(page.locator("#catalog-msg")).to_have_text(
                "3 scene(s) in a local catalog, 2017-02-16 to 2020-02-19."
            )
            west, south, east, north = extent
            view = page.evaluate(
                "([s, w, n, e]) => { const m = deepresConsole.map, b = m.getBounds(); return "
                "[b.contains(L.latLngBounds([s, w], [n, e])), b.getEast() - b.getWest(), "
                "m.getZoom()]; }",
                [south, west, north, east],
            )
            assert view[0], f"the map does not show the catalog's extent {extent}: {view}"
            assert view[1] < 3 * (east - west) and view[2] >= 3  # fitted, not the whole world
            expect(page.locator("#end")).to_have_value("2020-02-19")
            newest = dt.date(2020, 2, 19)
            expect(page.locator("#start")).to_have_value(str(newest - dt.timedelta(days=90)))
            expect(page.locator("#window-hint")).to_contain_text("newest scene (2020-02-19)")
            expect(page.locator("#submit-why")).to_have_text(
                "Draw or upload an area of interest (step 2)."
            )
            page.screenshot(path=str(shots["catalog"]))

            # A scene of the list: the map zooms to its footprint, the window to its day.
            page.click(f"#scenes button[data-id='{RKH}']")
            expect(page.locator("#start")).to_have_value("2020-02-19")
            expect(page.locator("#end")).to_have_value("2020-02-19")
            page.wait_for_function(
                "() => { const c = deepresConsole.map.getCenter(); "
                "return deepresConsole.map.getZoom() >= 7 && c.lng > -12 && c.lng < -10.8 "
                "&& c.lat > 24.2 && c.lat < 25.4; }"
            )

            page.set_input_files("#aoi-file", str(aoi_file))
            expect(page.locator("#aoi-msg")).to_contain_text("uploaded from field.geojson")
            uploaded_ha = _hectares(page.locator("#area").inner_text())
            assert 185 < uploaded_ha < 195  # the service says 189.37 ha (ellipsoid)
            expect(page.locator("#submit-why")).to_have_text("Find the available dates (step 3).")
            page.evaluate(
                "deepresConsole.setAoi({type: 'Polygon', coordinates: "
                "[[[-12, 24], [-11, 24], [-11, 25], [-12, 25], [-12, 24]]]}, 'pasted')"
            )
            expect(page.locator("#submit-why")).to_contain_text(
                "a job takes between 3 and 25,000 ha"
            )
            expect(page.locator("#submit")).to_be_disabled()

            # Draw on the map the upload zoomed to: a triangle (closed on its first vertex),
            # then the uploaded rectangle again from its two corners.
            page.set_input_files("#aoi-file", [])
            page.set_input_files("#aoi-file", str(aoi_file))
            expect(page.locator("#aoi-msg")).to_contain_text("uploaded from field.geojson")
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

            page.fill("#cloud", "20")
            page.click("#find-dates")
            row = page.locator("#dates tbody tr[data-date='2020-02-19']")
            expect(row).to_be_visible(timeout=60_000)
            expect(row.locator("td").nth(2)).to_have_text("29RKH")
            expect(page.locator("#area-server")).to_contain_text("service:")
            assert abs(_hectares(page.locator("#area-server").inner_text()) - drawn_ha) < 2

            # Found dates come ticked: Submit is ready and says nothing against it.
            expect(row.locator("input")).to_be_checked()
            expect(page.locator("#submit")).to_be_enabled()
            expect(page.locator("#submit-why")).to_have_text("")
            row.locator("input").uncheck()
            expect(page.locator("#submit")).to_be_disabled()
            expect(page.locator("#submit-why")).to_have_text("Tick at least one date.")
            row.locator("input").check()
            expect(page.locator("#submit-why")).to_have_text("")

            assert page.input_value("#model") == "deepres-s2sr"
            assert page.input_value("#scale") == "4"
            page.click("#submit")
            expect(page.locator("#job-msg")).to_have_text("Job queued.")
            job_id = page.locator("#job-id").inner_text()
            assert re.fullmatch(r"[0-9a-f-]{36}", job_id)
            expect(page.locator("#job-model")).to_have_text("deepres-s2sr x4")
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
            # The quicklook is the product's own grid, in a viewer far larger than the 340 px
            # box it had; it opens 1:1, or (this sample's 64 px) magnified by a power of two.
            item = page.evaluate("deepresConsole.state.compare.item.properties")
            shape, gsd = item["proj:shape"], item["gsd"]  # the sample COGs are 10x coarser
            assert sizes[0] == [shape[1], shape[0]]
            expect(page.locator("#scale-note")).to_contain_text("full resolution")
            viewer = page.locator("#swipe").bounding_box()
            assert viewer is not None and viewer["width"] > 900 and viewer["height"] > 450
            opened = page.evaluate("deepresConsole.state.compare.zoom")
            expect(page.locator("#zoom-label")).to_have_text(f"{opened}:1")
            left, right = page.evaluate(GEOMETRY, ["ql-input", "ql-result"])
            assert left == right and left[2:4] == [opened * sizes[0][0], opened * sizes[0][1]]
            assert left[2] <= viewer["width"] and left[3] <= viewer["height"]
            assert opened == 1 or 2 * left[2] > viewer["width"] or 2 * left[3] > viewer["height"]
            # 1:1 is one PNG pixel per screen pixel.
            page.click("#zoom-1")
            expect(page.locator("#zoom-label")).to_have_text("1:1")
            expect(page.locator("#scale-note")).to_contain_text(f"one screen pixel = {gsd:g} m")
            left, right = page.evaluate(GEOMETRY, ["ql-input", "ql-result"])
            assert left == right and left[2:4] == left[0:2], (left, right)
            # The + button doubles the scale, the wheel doubles it again.
            page.click("#zoom-in")
            expect(page.locator("#zoom-label")).to_have_text("2:1")
            expect(page.locator("#scale-note")).to_contain_text(f"one screen pixel = {gsd / 2:g} m")
            zoomed = page.evaluate(GEOMETRY, ["ql-input"])[0]
            assert zoomed[2:4] == [2 * sizes[0][0], 2 * sizes[0][1]]
            centre = (viewer["x"] + viewer["width"] / 2, viewer["y"] + viewer["height"] / 2)
            page.mouse.move(*centre)
            page.mouse.wheel(0, -120)
            expect(page.locator("#zoom-label")).to_have_text("4:1")
            # Dragging (off the swipe line, which is at the centre) pans both layers together.
            before = page.evaluate(GEOMETRY, ["ql-input"])[0]
            page.mouse.move(centre[0] + 40, centre[1] + 30)
            page.mouse.down()
            page.mouse.move(centre[0] - 40, centre[1] - 10, steps=4)
            page.mouse.up()
            left, right = page.evaluate(GEOMETRY, ["ql-input", "ql-result"])
            assert left == right and left[2] == 4 * sizes[0][0]
            assert (left[4] - before[4], left[5] - before[5]) == (-80, -40)
            page.click("#zoom-1")
            expect(page.locator("#zoom-label")).to_have_text("1:1")
            assert page.evaluate(GEOMETRY, ["ql-input"])[0][2:4] == sizes[0]

            overlay = page.locator("#map img.ql-overlay")
            expect(overlay).to_have_count(1)
            assert page.evaluate("document.querySelector('#map img.ql-overlay').naturalWidth") > 0
            expect(page.locator("#map path.leaflet-interactive")).not_to_have_count(0)

            for _ in range(3):
                page.click("#zoom-in")
            expect(page.locator("#zoom-label")).to_have_text("8:1")
            page.locator("#swipe-range").fill("35")
            clip = page.evaluate("document.getElementById('ql-result').style.clipPath")
            assert clip == "inset(0px 0px 0px 35%)"
            handle = page.locator("#swipe-handle").bounding_box()
            image = page.evaluate(GEOMETRY, ["ql-result"])[0]
            assert handle is not None
            assert abs(handle["x"] + handle["width"] / 2 - (image[4] + 0.35 * image[2])) < 1.5
            expect(page.locator("#tag-left")).to_have_text("input L2A")
            expect(page.locator("#tag-right")).to_have_text("deepres-s2sr x4")
            page.screenshot(path=str(shots["input"]))

            # Bicubic against the network, one click: the same AOI and date, then on the left.
            expect(page.locator("#compare-other")).to_have_text("Run bicubic to compare")
            page.click("#compare-other")
            expect(page.locator("#tag-left")).to_have_text("bicubic x4", timeout=120_000)
            expect(page.locator("#compare-msg")).to_contain_text(
                "Left: bicubic x4, right: deepres-s2sr x4"
            )
            page.wait_for_function(LOADED, arg=["ql-input", "ql-result"], timeout=30_000)
            left, right = page.evaluate(GEOMETRY, ["ql-input", "ql-result"])
            assert left == right and left[0:2] == sizes[0]
            assert page.input_value("#left-src") != f"result:{job_id}"
            both, differ = page.evaluate(DIFFERENCE, ["ql-input", "ql-result"])
            assert both > 0.5 * sizes[0][0] * sizes[0][1], both
            assert differ > 0.05 * both, (both, differ)  # two models, two pictures
            page.screenshot(path=str(shots["bicubic"]))
        finally:
            browser.close()

    for shot in shots.values():
        assert shot.stat().st_size > 10_000
        print(f"console screenshot: {shot}")
    assert elsewhere == [], f"the console reached outside the service: {elsewhere}"
    assert problems == [], problems


def test_console_shows_a_native_scene_result_1_to_1_beside_its_input(
    native_service: Service, tmp_path: Path, chromium: None
) -> None:
    """The README's own path in the console: the marsh over the native 10 m Virginia scene, its
    cloud unknown (so 100 % allowed), at x4; the before/after opens on a real 2.5 m product."""
    from playwright.sync_api import expect, sync_playwright

    svc = native_service
    token = svc.create_client("console-native")
    aoi_file = tmp_path / "marsh.geojson"
    aoi_file.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(MARSH)})
    )
    shot = tmp_path / "console-native.png"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        elsewhere, problems = _watch(page, (svc.url,))
        try:
            page.goto(f"{svc.url}/console")
            page.fill("#token", token)
            page.click("#sign-in")
            expect(page.locator("#who")).to_have_text("signed in")
            scenes = page.locator("#scenes li")
            expect(scenes).to_have_count(1, timeout=30_000)
            expect(scenes.first).to_have_text("2016-01-12 18SVG cloud unknown")

            page.set_input_files("#aoi-file", str(aoi_file))
            expect(page.locator("#aoi-msg")).to_contain_text("uploaded from marsh.geojson")
            assert 280 < _hectares(page.locator("#area").inner_text()) < 320

            page.fill("#start", "2016-01-01")
            page.fill("#end", "2016-01-31")
            page.fill("#cloud", "20")  # the default: the scene is not offered, and it says why
            page.click("#find-dates")
            why = page.locator("#dates-msg")
            expect(why).to_contain_text("Not offered: 2016-01-12 18SVG", timeout=60_000)
            expect(why).to_contain_text("no scene classification layer (SCL)")
            page.fill("#cloud", "100")
            page.click("#find-dates")
            row = page.locator("#dates tbody tr[data-date='2016-01-12']")
            expect(row).to_be_visible(timeout=60_000)
            expect(page.locator("#dates tbody tr")).to_have_count(1)
            expect(row.locator("td").nth(2)).to_have_text("18SVG")
            expect(row.locator("td").nth(3)).to_contain_text("unknown")
            expect(row.locator("input")).to_be_checked()
            expect(page.locator("#submit")).to_be_enabled()
            expect(page.locator("#submit-why")).to_have_text("")

            assert page.input_value("#model") == "deepres-s2sr"
            assert page.input_value("#scale") == "4"
            page.click("#submit")
            expect(page.locator("#job-msg")).to_have_text("Job queued.")
            expect(page.locator("#job-model")).to_have_text("deepres-s2sr x4")
            done = page.locator("#job-dates tbody td.status-PROCESSED")
            expect(done).to_have_count(1, timeout=600_000)
            expect(page.locator("#job-state")).to_have_text("done", timeout=30_000)
            expect(page.locator("#job-dates tbody tr td").nth(3)).to_have_text("unknown")

            page.click("#job-dates .compare-btn")
            expect(page.locator("#compare")).to_be_visible()
            page.wait_for_function(LOADED, arg=["ql-input", "ql-result"], timeout=60_000)
            # The product: 2.5 m over the AOI (1.76 x 1.67 km: 720 x 680 px, proj:shape
            # [680, 720]), its quicklook on that very grid.
            item = page.evaluate("deepresConsole.state.compare.item.properties")
            (height, width), gsd = item["proj:shape"], item["gsd"]
            assert gsd == 2.5 and 690 < width < 750 and 650 < height < 710, (width, height, gsd)
            left, right = page.evaluate(GEOMETRY, ["ql-input", "ql-result"])
            assert left[0:2] == right[0:2] == [width, height], (left, right, item["proj:shape"])
            expect(page.locator("#scale-note")).to_contain_text(
                f"{width} x {height} px, full resolution"
            )

            # Hide the map ("Larger") so that the whole product fits 1:1, then 1:1.
            page.click("#compare-large")
            page.click("#zoom-1")
            expect(page.locator("#zoom-label")).to_have_text("1:1")
            expect(page.locator("#scale-note")).to_contain_text("one screen pixel = 2.5 m")
            viewer = page.locator("#swipe").bounding_box()
            assert viewer is not None
            left, right = page.evaluate(GEOMETRY, ["ql-input", "ql-result"])
            assert left == right and left[2:4] == left[0:2], (left, right)  # aligned, 1:1
            assert viewer["x"] <= left[4] and left[4] + left[2] <= viewer["x"] + viewer["width"]
            assert viewer["y"] <= left[5] and left[5] + left[3] <= viewer["y"] + viewer["height"]
            expect(page.locator("#tag-right")).to_have_text("deepres-s2sr x4")
            expect(page.locator("#tag-left")).to_have_text("input L1C")  # as the scene is

            # The swipe shows something: the two differ, yet show one place on one scale.
            both, differ = page.evaluate(DIFFERENCE, ["ql-input", "ql-result"])
            assert both > 0.8 * width * height, (both, width * height)
            assert differ > 0.05 * both, (both, differ)
            likeness = page.evaluate(LIKENESS, ["ql-input", "ql-result"])
            for channel, (mean_in, mean_out, r) in zip("RGB", likeness, strict=True):
                assert abs(mean_in - mean_out) < 8 and r > 0.9, (channel, likeness)
            page.screenshot(path=str(shot))
        finally:
            browser.close()

    assert shot.stat().st_size > 100_000
    print(f"console screenshot: {shot}")
    print(f"native quicklooks {width} x {height} px at {gsd} m; {differ} of {both} px differ")
    print(f"R, G, B: input mean, result mean, correlation: {likeness}")
    assert elsewhere == [], f"the console reached outside the service: {elsewhere}"
    assert problems == [], problems


def test_a_signed_out_page_lists_models_and_says_what_is_missing(
    service: Service, tmp_path: Path, chromium: None
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shot = tmp_path / "console-tiles.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        elsewhere, problems = _watch(page, (service.url, DEAD_TILES), failing=(DEAD_TILES,))
        tiles: list[str] = []
        page.on("requestfailed", lambda r: tiles.append(r.url))
        try:
            page.goto(f"{service.url}/console")
            expect(page.locator("#submit-why")).to_have_text("Sign in first (step 1).")
            expect(page.locator("#find-why")).to_have_text("Sign in first.")
            expect(page.locator("#catalog-msg")).to_contain_text("Sign in to see the catalog")

            models = page.locator("#model option")
            expect(models).to_have_count(2)
            shipped = find_model(DEFAULT_MODEL).card.version
            names = [f"deepres-s2sr {shipped} (default)", "bicubic 1 (baseline)"]
            expect(models).to_have_text(names)
            assert page.input_value("#model") == "deepres-s2sr"
            page.select_option("#model", "bicubic")
            # bicubic could do x8 but a job takes 1, 2 or 4: only those are offered.
            scales = page.locator("#scale option")
            expect(scales).to_have_text(["4 (2.5 m)", "2 (5 m)", "1 (10 m)"])
            expect(page.locator("#model-note")).to_have_text("bicubic interpolation (baseline)")

            page.fill("#tile-url", "http://127.0.0.1:9/tiles.png")
            page.click("#set-tiles")
            expect(page.locator("#tiles-msg")).to_contain_text("needs {z}, {x} and {y}")
            page.fill("#tile-url", DEAD_TILES + "{z}/{x}/{y}.png")
            page.click("#set-tiles")
            message = page.locator("#tiles-msg")
            expect(message).to_contain_text(
                "The tile server 127.0.0.1:9 did not deliver any tile", timeout=15_000
            )
            expect(message).to_have_class("msg error")
            # ... and over the map, where the user looks for the basemap.
            expect(page.locator("#map-msg")).to_be_visible()
            expect(page.locator("#map-msg")).to_contain_text("127.0.0.1:9 did not deliver")
            page.screenshot(path=str(shot))
        finally:
            browser.close()

    assert tiles and all(url.startswith(DEAD_TILES) for url in tiles), tiles
    print(f"console screenshot: {shot}")
    assert elsewhere == [], f"the console reached outside the service: {elsewhere}"
    assert problems == [], problems
