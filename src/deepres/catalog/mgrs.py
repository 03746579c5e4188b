"""MGRS tile codes (`29RKH`): read them from names and metadata, or derive them from a UTM grid.

Sentinel-2 names its 110 km tiles by the MGRS 100 km square that holds the tile's upper-left
100 km cell: a two-digit UTM zone, a latitude band letter and two square letters.
"""

from __future__ import annotations

import re

from pyproj import Transformer

#: Latitude band letters, 8° each from 80° S (I and O are not used).
_LATITUDE_BANDS = "CDEFGHJKLMNPQRSTUVWX"
#: Column letters of the 100 km squares, in three sets that repeat every three zones.
_COLUMN_SETS = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")
#: Row letters of the 100 km squares; even zones start five letters later.
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"

_TILE = r"(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z]{2})"
_TILE_RE = re.compile(rf"^T?{_TILE}$")
#: A tile code inside a longer name: `S2A_29RKH_2020...`, `..._T29RKH_...`, `T32TNR_L2A`.
_TILE_IN_NAME_RE = re.compile(rf"(?:^|[_\-.])T?{_TILE}(?=$|[_\-.])")


def normalise_mgrs(code: str) -> str | None:
    """Give `code` as a five-character tile code (`MGRS-5VNK` → `05VNK`); None if not one."""
    text = code.strip().upper().removeprefix("MGRS-")
    match = _TILE_RE.match(text)
    if match is None:
        return None
    zone, band, square = match.groups()
    return f"{int(zone):02d}{band}{square}"


def mgrs_in_name(name: str) -> str | None:
    """Give the first tile code embedded in an item id, product id or folder name, else None."""
    match = _TILE_IN_NAME_RE.search(name.upper())
    if match is None:
        return None
    zone, band, square = match.groups()
    if not 1 <= int(zone) <= 60:
        return None
    return f"{int(zone):02d}{band}{square}"


def utm_zone_of_epsg(epsg: int) -> int | None:
    """Give the UTM zone of a WGS 84 / UTM EPSG code (326zz north, 327zz south), else None."""
    if 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760:
        return epsg % 100
    return None


def mgrs_of_utm_point(epsg: int, easting: float, northing: float) -> str:
    """Give the tile code of the 100 km square that holds a point of a WGS 84 / UTM grid.

    Used to name scenes that carry no tile code. For a whole Sentinel-2 tile pass its centre: the
    centre lies in the tile's own 100 km square. A point in the 9.8 km overlap of two tiles gets the
    square it falls in, which is one of the two valid names.
    """
    zone = utm_zone_of_epsg(epsg)
    if zone is None:
        raise ValueError(f"EPSG:{epsg} is not a WGS 84 / UTM zone")
    to_wgs84 = Transformer.from_crs(epsg, 4326, always_xy=True)
    _, lat = to_wgs84.transform(easting, northing)
    band = _LATITUDE_BANDS[min(max(int((lat + 80) // 8), 0), len(_LATITUDE_BANDS) - 1)]
    column_letters = _COLUMN_SETS[zone % 3]
    column = column_letters[min(max(int(easting // 100_000) - 1, 0), len(column_letters) - 1)]
    row_shift = 5 if zone % 2 == 0 else 0
    row = _ROW_LETTERS[(int(northing // 100_000) + row_shift) % len(_ROW_LETTERS)]
    return f"{zone:02d}{band}{column}{row}"
