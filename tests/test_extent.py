"""Extent decomposition: the fewest pieces within the area limits, covering the AOI once each."""

from __future__ import annotations

import itertools
import math

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from deepres.aoi import geodesic_hectares, to_crs
from deepres.extent import split_aoi

NORWAY = box(10.0, 60.0, 10.6, 60.3)  # ≈ 111,400 ha near 60° N
ACROSS_6E = box(5.8, 50.0, 6.4, 50.3)  # UTM zones 31 and 32 meet at 6° E
# A field with a 2-metre strip running 19 km east.
WITH_STRIP = Polygon(
    [
        (10.0, 60.0),
        (10.4, 60.0),
        (10.42, 60.1),
        (10.75, 60.1),
        (10.75, 60.10002),
        (10.41, 60.10002),
        (10.38, 60.2),
        (10.05, 60.18),
        (10.0, 60.0),
    ]
)
# A field with a 2-metre hook: it leaves the field's top east of the cut, turns west and
# ends across the cut, 3 km on, in a 0.7 ha tip apart from the rest of the west piece.
BODY = box(-11.99, 24.5, -11.69, 24.6)  # ≈ 33,700 ha: two pieces, cut near 11.84° W
HOOK = shapely.union_all(
    [BODY, box(-11.81, 24.6, -11.80998, 24.61002), box(-11.87, 24.61, -11.80998, 24.61002)]
)
# ≈ 64,385 ha, twice as wide as high: six squares before, three pieces fit.
WIDE = box(10.0, 60.0, 10.6444, 60.1611)
# ≈ 74,965 ha: three pieces fit, with under 0.2 % to spare each.
TIGHT = box(10.0, 60.0, 10.492, 60.246)


def assert_partition(
    aoi: BaseGeometry, pieces: list[Polygon | MultiPolygon], max_ha: float, min_ha: float
) -> None:
    areas = [geodesic_hectares(piece) for piece in pieces]
    assert all(min_ha <= area <= max_ha for area in areas), sorted(areas)
    assert all(piece.is_valid and not piece.is_empty for piece in pieces)
    assert all(isinstance(piece, Polygon | MultiPolygon) for piece in pieces)
    union = shapely.union_all(pieces)
    total = geodesic_hectares(aoi)
    assert geodesic_hectares(union) == pytest.approx(total, rel=1e-3)
    assert sum(areas) == pytest.approx(total, rel=1e-3)
    missing = aoi.difference(union)
    extra = union.difference(aoi)
    assert missing.is_empty or geodesic_hectares(missing) < 1e-3 * total
    assert extra.is_empty or geodesic_hectares(extra) < 1e-3 * total
    for a, b in itertools.combinations(pieces, 2):
        overlap = a.intersection(b)
        assert overlap.is_empty or geodesic_hectares(overlap) < 1e-6  # < 1 cm²


@pytest.mark.parametrize("max_ha", [25_000, 4_000])
def test_box_near_60_north_is_cut_into_pieces_within_the_limits(max_ha: float) -> None:
    pieces = split_aoi(NORWAY, max_hectares=max_ha)
    assert len(pieces) >= geodesic_hectares(NORWAY) / max_ha
    assert_partition(NORWAY, pieces, max_ha, 3)
    # The fewest pieces (5 of ≈ 22,300 ha for the default limit, 28 for 4,000 ha)...
    assert len(pieces) == math.ceil(geodesic_hectares(NORWAY) / max_ha)
    # ...and blocks, not strips: none is more than twice as long as it is wide.
    for piece in pieces:
        x0, y0, x1, y1 = to_crs(piece, 32632).bounds
        assert max(x1 - x0, y1 - y0) <= 2 * min(x1 - x0, y1 - y0)
    if max_ha == 25_000:
        assert len(pieces) == 5


def test_a_64385_ha_aoi_is_three_pieces_not_six() -> None:
    assert geodesic_hectares(WIDE) == pytest.approx(64_385, abs=10)
    pieces = split_aoi(WIDE)
    assert len(pieces) == 3
    assert_partition(WIDE, pieces, 25_000, 3)


@pytest.mark.parametrize(
    ("aoi", "fewest"),
    [
        (TIGHT, 3),
        (WIDE, 3),
        (NORWAY, 5),
        (ACROSS_6E, 2 + 4),  # per UTM zone: parts of ≈ 47,700 and 95,400 ha
    ],
    ids=["tight", "wide", "norway", "across-6E"],
)
def test_no_piece_exceeds_the_limit_even_when_the_fewest_barely_fit(
    aoi: Polygon, fewest: int
) -> None:
    assert 3 * 25_000 > geodesic_hectares(TIGHT) > 0.998 * 3 * 25_000
    pieces = split_aoi(aoi)
    assert len(pieces) == fewest
    assert max(geodesic_hectares(piece) for piece in pieces) <= 25_000
    assert min(geodesic_hectares(piece) for piece in pieces) >= 3


def test_aoi_across_a_utm_zone_boundary_is_cut_at_the_boundary() -> None:
    pieces = split_aoi(ACROSS_6E)
    assert_partition(ACROSS_6E, pieces, 25_000, 3)
    west, east = box(-180, -90, 6, 90), box(6, -90, 180, 90)
    sides = [
        (geodesic_hectares(p.intersection(west)), geodesic_hectares(p.intersection(east)))
        for p in pieces
    ]
    assert any(w > 0 and e == 0 for w, e in sides) and any(e > 0 and w == 0 for w, e in sides)
    # Each piece lies in one zone (a merged sliver of under 3 ha aside).
    assert all(min(w, e) < 3 for w, e in sides)


def test_a_sliver_joins_its_neighbour() -> None:
    raw = split_aoi(HOOK, min_hectares=0)
    units = [unit for piece in raw for unit in shapely.get_parts(piece)]
    slivers = [unit for unit in units if geodesic_hectares(unit) < 3]
    assert len(slivers) == 1  # the hook's tip, cut off from the rest of the west piece
    (west,) = [p for p in raw if p.contains(slivers[0].representative_point())]
    assert isinstance(west, MultiPolygon)
    pieces = split_aoi(HOOK)
    assert len(pieces) == len(raw) == 2
    assert_partition(HOOK, pieces, 25_000, 3)
    (home,) = [p for p in pieces if p.contains(slivers[0].representative_point())]
    assert isinstance(home, Polygon)  # merged along the border it shares, not beside it
    west_field = max(west.geoms, key=lambda unit: unit.area)
    assert home.intersection(west_field).area == 0  # ...the east piece's, not its own


def test_a_thin_strip_stays_with_its_field() -> None:
    pieces = split_aoi(WITH_STRIP)
    assert_partition(WITH_STRIP, pieces, 25_000, 3)
    assert all(isinstance(piece, Polygon) for piece in pieces)


def test_a_small_island_joins_the_nearest_piece() -> None:
    island = box(10.70, 60.1, 10.7015, 60.1008)  # ≈ 0.74 ha, kilometres from the rest
    aoi = MultiPolygon([box(10.0, 60.0, 10.4, 60.2), island])
    pieces = split_aoi(aoi)
    assert_partition(aoi, pieces, 25_000, 3)
    (home,) = [p for p in pieces if p.contains(island.representative_point())]
    assert isinstance(home, MultiPolygon)


def test_an_aoi_within_the_limit_comes_back_unchanged() -> None:
    small = box(-11.765, 24.734, -11.752, 24.747)
    assert split_aoi(small) == [small]
    assert split_aoi(NORWAY, max_hectares=200_000)[0] is NORWAY


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="min_hectares"):
        split_aoi(NORWAY, max_hectares=10, min_hectares=10)
    bowtie = Polygon([(10, 60), (11, 61), (11, 60), (10, 61), (10, 60)])
    with pytest.raises(ValueError, match="valid"):
        split_aoi(bowtie)
