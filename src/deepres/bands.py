"""Sentinel-2 band facts every layer shares: ids, native resolutions, output order, names.

One place for them, as rio-tiler keeps its `constants.py`: the catalog maps asset keys to these
ids, the raster layer reads and writes them in this order, the SR models take and give them,
STAC describes them, quicklooks pick their composites from them.
"""

from __future__ import annotations

from typing import NamedTuple

#: The 10 m bands, in output order.
BANDS_10M: tuple[str, ...] = ("B02", "B03", "B04", "B08")
#: The 20 m bands, in output order.
BANDS_20M: tuple[str, ...] = ("B05", "B06", "B07", "B8A", "B11", "B12")
#: The bands deepres super-resolves, in the order of every input stack and output file.
OUTPUT_BANDS: tuple[str, ...] = BANDS_10M + BANDS_20M

#: The scene classification layer (cloud cover over an AOI).
SCL = "SCL"

#: Earth Search v1 `sentinel-2-l2a` asset keys -> band ids (v0 keys are the band ids).
V1_ASSET_BANDS: dict[str, str] = {
    "coastal": "B01",
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir": "B08",
    "nir08": "B8A",
    "nir09": "B09",
    "swir16": "B11",
    "swir22": "B12",
    "scl": SCL,
}
#: Every band id a catalog item may carry (also the Earth Search v0 asset keys).
BAND_IDS: tuple[str, ...] = (*V1_ASSET_BANDS.values(),)


class BandInfo(NamedTuple):
    """What STAC's eo extension says of a band (wavelengths in micrometres)."""

    common_name: str
    centre_um: float
    fwhm_um: float
    resolution_m: int


#: Sentinel-2 MSI facts of the output bands.
S2_BANDS: dict[str, BandInfo] = {
    "B02": BandInfo("blue", 0.49, 0.098, 10),
    "B03": BandInfo("green", 0.56, 0.045, 10),
    "B04": BandInfo("red", 0.665, 0.038, 10),
    "B08": BandInfo("nir", 0.842, 0.145, 10),
    "B05": BandInfo("rededge", 0.704, 0.019, 20),
    "B06": BandInfo("rededge", 0.74, 0.018, 20),
    "B07": BandInfo("rededge", 0.783, 0.028, 20),
    "B8A": BandInfo("nir08", 0.865, 0.033, 20),
    "B11": BandInfo("swir16", 1.61, 0.143, 20),
    "B12": BandInfo("swir22", 2.19, 0.242, 20),
}

#: Display composites, in (red, green, blue) order.
RGB_BANDS: tuple[str, str, str] = ("B04", "B03", "B02")
SWIR_BANDS: tuple[str, str, str] = ("B12", "B8A", "B05")

#: DN added to L2A reflectance from processing baseline 04.00 on (BOA_ADD_OFFSET = -1000).
L2A_BOA_OFFSET_DN = 1000
#: Reflectance = DN * REFLECTANCE_SCALE once the offset is removed.
REFLECTANCE_SCALE = 0.0001


def band_index(band: str) -> int:
    """0-based position of `band` in `OUTPUT_BANDS` (1 less than its GeoTIFF band number)."""
    return OUTPUT_BANDS.index(band)
