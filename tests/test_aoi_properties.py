"""Properties of deepres.aoi over random boxes: area, GeoJSON round trips, UTM splits."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from deepres.aoi import (
    geodesic_hectares,
    parse_aoi,
    parse_bbox,
    parse_geojson,
    split_by_utm_zone,
)

_GEOD = Geod(ellps="WGS84")

# Boxes from ~100 m to ~3° wide, kept off the poles and the antimeridian.
_boxes = st.builds(
    lambda lon, lat, width, height: {
        "x_min": lon,
        "y_min": lat,
        "x_max": lon + width,
        "y_max": lat + height,
    },
    lon=st.floats(-179.0, 175.0, allow_nan=False),
    lat=st.floats(-80.0, 76.0, allow_nan=False),
    width=st.floats(0.001, 3.0, allow_nan=False),
    height=st.floats(0.001, 3.0, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(bbox=_boxes)
def test_box_area_is_the_geodesic_area_of_its_corners(bbox: dict[str, float]) -> None:
    aoi = parse_aoi(None, bbox)

    lons = [bbox["x_min"], bbox["x_max"], bbox["x_max"], bbox["x_min"]]
    lats = [bbox["y_min"], bbox["y_min"], bbox["y_max"], bbox["y_max"]]
    expected, _ = _GEOD.polygon_area_perimeter(lons, lats)
    assert aoi.area_hectares > 0
    assert aoi.area_hectares == pytest.approx(abs(expected) / 10_000, rel=1e-9)
    # A sanity bound independent of pyproj: the spherical lat/lon rectangle area (R = 6371 km).
    spherical = (
        6_371_008.8**2
        * math.radians(bbox["x_max"] - bbox["x_min"])
        * abs(math.sin(math.radians(bbox["y_max"])) - math.sin(math.radians(bbox["y_min"])))
    )
    assert aoi.area_hectares == pytest.approx(spherical / 10_000, rel=0.015)


@settings(max_examples=60, deadline=None)
@given(bbox=_boxes)
def test_geojson_round_trip_keeps_the_geometry_and_area(bbox: dict[str, float]) -> None:
    aoi = parse_aoi(None, bbox)

    again = parse_geojson(aoi.to_geojson())

    assert again.equals(aoi.geometry)
    assert geodesic_hectares(again) == aoi.area_hectares


@settings(max_examples=60, deadline=None)
@given(bbox=_boxes)
def test_utm_split_keeps_the_area_and_stays_in_the_box(bbox: dict[str, float]) -> None:
    rectangle = parse_bbox(bbox)

    parts = split_by_utm_zone(rectangle)

    zones_touched = math.floor((bbox["x_max"] + 180) / 6) - math.floor((bbox["x_min"] + 180) / 6)
    assert 1 <= len(parts) <= zones_touched + 1
    for epsg, part in parts:
        assert 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760
        west = -180 + 6 * (epsg % 100 - 1)
        assert west - 1e-9 <= part.bounds[0] and part.bounds[2] <= west + 6 + 1e-9
    total = sum(geodesic_hectares(part) for _, part in parts)
    assert total == pytest.approx(geodesic_hectares(rectangle), rel=1e-9)
