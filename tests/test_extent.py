"""Extent decomposition: pieces within the area limits that cover the AOI exactly, once each."""

from __future__ import annotations

import itertools

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from deepres.aoi import geodesic_hectares
from deepres.extent import split_aoi

NORWAY = box(10.0, 60.0, 10.6, 60.3)  # ≈ 111,400 ha near 60° N
ACROSS_6E = box(5.8, 50.0, 6.4, 50.3)  # UTM zones 31 and 32 meet at 6° E
# A field with a 2-metre strip running 19 km east: the strip's far end is alone in a square.
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
    # Squares, not strips: the pieces of the default split are at most ~15.4 km a side.
    if max_ha == 25_000:
        assert len(pieces) == 9


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
    raw = split_aoi(WITH_STRIP, min_hectares=0)
    slivers = [p for p in raw if geodesic_hectares(p) < 3]
    assert len(slivers) == 1  # the strip's end, alone in its square
    pieces = split_aoi(WITH_STRIP)
    assert len(pieces) == len(raw) - 1
    assert_partition(WITH_STRIP, pieces, 25_000, 3)
    (home,) = [p for p in pieces if p.contains(slivers[0].representative_point())]
    assert isinstance(home, Polygon)  # merged along the border it shares, not beside it


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
