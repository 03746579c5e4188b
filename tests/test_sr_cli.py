"""`deepres sr ...` on real scene folders: a georeferenced GeoTIFF out, JSON metrics printed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from deepres.cli.sr import sr_app
from deepres.raster import validate_cog
from deepres.sr import DEFAULT_MODEL

SCENE = "bigearthnet_S2A_MSIL2A_20170617T113321_36_85"
BANDS = ("B02", "B03", "B04", "B08", "B05", "B06", "B07", "B8A", "B11", "B12")
runner = CliRunner()


@pytest.mark.realdata
def test_upscale_writes_ten_georeferenced_bands(shared_data: Path, tmp_path: Path) -> None:
    scene = shared_data / "scenes" / SCENE
    out = tmp_path / "sr.tif"
    result = runner.invoke(
        sr_app, ["upscale", str(scene), str(out), "--scale", "4", "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == DEFAULT_MODEL
    assert validate_cog(out) == []  # the service's own COG writer
    with rasterio.open(scene / "B04.tif") as src, rasterio.open(out) as dst:
        assert dst.count == 10 and dst.descriptions == BANDS
        assert dst.nodata == 0
        assert "Copernicus Sentinel data 2017" in dst.tags()["TIFFTAG_COPYRIGHT"]
        assert dst.tags()["DEEPRES_MODEL"] == DEFAULT_MODEL and dst.tags()["DEEPRES_SCALE"] == "4"
        assert dst.crs == src.crs
        assert (dst.width, dst.height) == (src.width * 4, src.height * 4)
        assert dst.transform.a == pytest.approx(src.transform.a / 4)
        assert (dst.transform.c, dst.transform.f) == (src.transform.c, src.transform.f)
        red = dst.read(3).astype(np.float64)
        red_in = src.read(1).astype(np.float64)
    block_means = red.reshape(red_in.shape[0], 4, red_in.shape[1], 4).mean(axis=(1, 3))
    assert np.corrcoef(block_means.ravel(), red_in.ravel())[0, 1] > 0.99


@pytest.mark.realdata
def test_evaluate_prints_metrics_for_model_and_bicubic(shared_data: Path) -> None:
    scene = shared_data / "scenes" / SCENE
    result = runner.invoke(sr_app, ["evaluate", str(scene), "--scale", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for task in ("fusion", "x2"):
        for who in ("model", "bicubic"):
            assert {"psnr", "sre", "sam_deg", "ergas", "consistency"} <= set(report[task][who])
    assert report["fusion"]["psnr_gain_db"] > 3
    ceiling = report["fusion"]["ceiling"]
    assert set(ceiling["predictable_share"]) == {"B05", "B06", "B07", "B8A", "B11", "B12"}
    assert all(0.0 <= v <= 1.0 for v in ceiling["predictable_share"].values())
    # A correction that saw the truth does at least about as well as the model alone.
    assert ceiling["truth_fitted_gain_db"] > ceiling["model_gain_db"] - 0.5
    x2 = report["x2"]["ceiling"]
    assert x2["truth_fitted_gain_db"] > x2["model_gain_db"] - 0.5


def test_unknown_model_is_a_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(
        sr_app, ["upscale", str(tmp_path), str(tmp_path / "o.tif"), "--model", "nope"]
    )
    assert result.exit_code == 2
    assert "No super-resolution model named 'nope'" in result.output
    assert "Traceback" not in result.output


def test_models_lists_the_baseline_and_the_default() -> None:
    result = runner.invoke(sr_app, ["models"])
    assert result.exit_code == 0
    names = [json.loads(line)["name"] for line in result.output.splitlines()]
    assert names[:2] == ["bicubic", DEFAULT_MODEL]


@pytest.mark.realdata
def test_evaluate_native_scores_what_a_user_sees_per_band(shared_data: Path) -> None:
    scene = shared_data / "native" / "bigearthnet_S2A_MSIL2A_20170613T101031_87_48"
    result = runner.invoke(
        sr_app, ["evaluate", str(scene), "--native", "--scale", "2", "--threads", "1"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "native" and list(report["bands"]) == list(BANDS)
    for band in report["bands"].values():
        for who in ("model", "bicubic"):
            assert set(band[who]) == {"grid_dn", "low_frac", "hf_ratio"}
        assert set(band["targets_met"]) == {"grid_dn", "low_frac", "hf_ratio"}
    # bicubic adds almost nothing above the input's Nyquist: the scale of the figure
    assert all(b["bicubic"]["hf_ratio"] < 0.3 for b in report["bands"].values())
