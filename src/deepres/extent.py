"""Extent decomposition: an AOI too large for one job cut into the fewest pieces that fit.

Per UTM zone, as the mechanics document recommends (a planar CRS for the cuts), a part of
A hectares becomes n = ceil(A / limit) pieces by recursive bisection: the part is cut across
its longer side (metres in that zone's UTM CRS) where the two sides hold k and n - k of the n
equal shares, and each side is cut again, until every piece is one share. Cutting across the
longer side keeps pieces compact (no strips where blocks fit), and equal shares mean no piece
is needlessly small. Slivers (polygon parts cut off from the rest of their piece) then join a
neighbour.

Two choices keep the pieces exact. A cut is a half-plane of the UTM CRS, densified along its
sides and brought back to WGS84 *before* meeting the part: one side is the part within it and
the other the part without it, so the sides never overlap and together are the part, and the
AOI's own edges are never re-drawn through a projection. Areas are geodesic
(`deepres.aoi.geodesic_hectares`), as the service measures them, so a piece's share is exact
where the service will measure it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from deepres.geodesy import Areal, geodesic_hectares, split_by_utm_zone, to_crs

# Half-plane sides are densified every this many metres so their WGS84 form follows the line.
DENSIFY_M = 500.0
# Padding around a part's projected bounds (metres): the projected vertices of a long edge
# need not bound the curve that edge becomes in UTM.
PAD_M = 50.0
# A cut is placed to within a millimetre, or where its sides' shares are within 10 m² of exact.
CUT_TOLERANCE_M = 1e-3
SHARE_TOLERANCE_HA = 1e-3
_HAIR_DEG = 1e-9
_GEOD = Geod(ellps="WGS84")


def split_aoi(
    geometry_wgs84: BaseGeometry, *, max_hectares: float = 25_000, min_hectares: float = 3
) -> list[Areal]:
    """The fewest WGS84 pieces per UTM zone, each of at most `max_hectares`, that are the AOI.

    Pieces do not overlap, their union is the AOI, and none is smaller than `min_hectares`
    unless the whole AOI is (slivers join the neighbour they share the longest border with;
    an island with no neighbour joins the nearest piece). An AOI within the limit comes back
    alone and unchanged. Pieces are valid Polygons, or MultiPolygons where a cut left a part
    of the AOI apart from the rest of its piece.
    """
    if not 0 <= min_hectares < max_hectares:
        raise ValueError("need 0 <= min_hectares < max_hectares")
    aoi = _areal(geometry_wgs84)
    if aoi.is_empty or not aoi.is_valid:
        raise ValueError("the AOI must be a valid, non-empty Polygon or MultiPolygon")
    if geodesic_hectares(aoi) <= max_hectares:
        return [aoi]
    pieces: list[_Piece] = []
    for epsg, part in split_by_utm_zone(aoi):
        pieces.extend(_zone_pieces(part, epsg, max_hectares))
    _merge_slivers(pieces, min_hectares, max_hectares)
    return [piece.geometry() for piece in pieces if piece.units]


@dataclass
class _Piece:
    """One square's share of the AOI, as polygon units that slivers may move between."""

    units: list[Polygon] = field(default_factory=list)
    hectares: list[float] = field(default_factory=list)

    @property
    def area(self) -> float:
        return sum(self.hectares)

    def add(self, unit: Polygon, hectares: float) -> None:
        self.units.append(unit)
        self.hectares.append(hectares)

    def remove(self, unit: Polygon) -> None:
        index = next(k for k, mine in enumerate(self.units) if mine is unit)
        del self.units[index], self.hectares[index]

    @classmethod
    def of(cls, share: Areal) -> _Piece:
        """A piece of the share's polygons, each with its geodesic area."""
        piece = cls()
        for unit in _polygons(share):
            piece.add(unit, geodesic_hectares(unit))
        return piece

    def geometry(self) -> Areal:
        merged = _areal(shapely.union_all(self.units)) if len(self.units) > 1 else self.units[0]
        return merged if merged.is_valid else _areal(shapely.make_valid(merged))


def _zone_pieces(part: Areal, epsg: int, max_ha: float) -> list[_Piece]:
    """The part of one UTM zone cut into the fewest equal shares within `max_ha`."""
    area = geodesic_hectares(part)
    # Equal shares of ceil(A / limit) fit unless a share lands a hair over the limit; then
    # one share more does.
    for count in itertools.count(max(1, math.ceil(area / max_ha))):
        pieces = [_Piece.of(share) for share in _bisect(part, epsg, count)]
        if all(piece.area <= max_ha for piece in pieces):
            return [piece for piece in pieces if piece.units]
    raise AssertionError("unreachable")  # itertools.count never ends


def _bisect(part: Areal, epsg: int, count: int) -> list[Areal]:
    """The part cut into `count` shares of equal geodesic area across its longer sides."""
    if count == 1:
        return [part]
    # Densified (~1 km in latitude) so projecting the vertices bounds the projected part.
    x0, y0, x1, y1 = to_crs(shapely.segmentize(part, 0.01), epsg).bounds
    frame = (x0 - PAD_M, y0 - PAD_M, x1 + PAD_M, y1 + PAD_M)
    axis = 0 if x1 - x0 >= y1 - y0 else 1
    low, high = (frame[0], frame[2]) if axis == 0 else (frame[1], frame[3])
    first_count = count // 2
    # Balanced as measured on the two sides themselves: a cut puts new vertices on the AOI's
    # lon/lat edges, so the sides' geodesic areas need not add up to the part's exactly.
    while True:
        at = (low + high) / 2
        side = _half_plane(epsg, frame, axis, at)
        first, second = part.intersection(side), part.difference(side)
        excess = (
            geodesic_hectares(first) * (count - first_count)
            - geodesic_hectares(second) * first_count
        )
        if abs(excess) <= SHARE_TOLERANCE_HA or high - low <= CUT_TOLERANCE_M:
            break
        low, high = (at, high) if excess < 0 else (low, at)
    return _bisect(_areal(first), epsg, first_count) + _bisect(
        _areal(second), epsg, count - first_count
    )


def _half_plane(
    epsg: int, frame: tuple[float, float, float, float], axis: int, at: float
) -> Polygon:
    """The WGS84 form of the UTM rectangle `frame` cut at `at` (x when axis is 0, else y)."""
    x0, y0, x1, y1 = frame
    if axis == 0:
        x1 = at
    else:
        y1 = at
    rectangle = shapely.segmentize(Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), DENSIFY_M)
    return shapely.transform(rectangle, _inverse_points(epsg))


def _merge_slivers(pieces: list[_Piece], min_ha: float, max_ha: float) -> None:
    """Rehome every unit under `min_ha`, and every unit of a piece under `min_ha`, smallest first.

    A unit joins the piece it shares the longest border with among those with room for it. One
    with no border to share stays where it is, unless its piece is too small: then it joins the
    nearest piece with room (an island must go somewhere).
    """
    for _ in range(3):  # a move can leave another piece small; settle in a few passes
        small = [
            (hectares, owner, unit)
            for owner in pieces
            for unit, hectares in zip(owner.units, owner.hectares, strict=True)
            if hectares < min_ha or owner.area < min_ha
        ]
        moved = False
        for hectares, owner, unit in sorted(small, key=lambda item: item[0]):
            if sum(1 for piece in pieces if piece.units) < 2:
                return
            target = _new_home(pieces, owner, unit, hectares, min_ha, max_ha)
            if target is not None:
                owner.remove(unit)
                target.add(unit, hectares)
                moved = True
        if not moved:
            return


def _new_home(
    pieces: list[_Piece],
    owner: _Piece,
    unit: Polygon,
    hectares: float,
    min_ha: float,
    max_ha: float,
) -> _Piece | None:
    others = [p for p in pieces if p is not owner and p.units and p.area + hectares <= max_ha]
    if not others:
        return None
    borders = [_shared_border_m(unit, other) for other in others]
    best = max(range(len(others)), key=borders.__getitem__)
    if borders[best] > 0:
        return others[best]
    if owner.area >= min_ha:
        return None
    return min(others, key=lambda other: min(unit.distance(u) for u in other.units))


def _shared_border_m(unit: Polygon, piece: _Piece) -> float:
    """The length in metres of the border `unit` shares with `piece` (0 when they only touch)."""
    # Within a hair (~0.1 mm) rather than exactly: where the AOI's edge crosses a square's
    # side, each neighbour computed that crossing point on its own.
    near = unit.boundary.buffer(_HAIR_DEG)
    length = 0.0
    for other in piece.units:
        if other.distance(unit) <= _HAIR_DEG:
            shared = other.boundary.intersection(near)
            length += _GEOD.geometry_length(shared) if not shared.is_empty else 0.0
    return length


def _inverse_points(epsg: int) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """EPSG:`epsg` (x, y) rows → WGS84 (lon, lat) rows, as `shapely.transform` takes them."""
    transformer = _inverse(epsg)

    def inverse(points: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = transformer.transform(points[:, 0], points[:, 1])
        return np.column_stack((lon, lat))

    return inverse


@lru_cache(maxsize=64)
def _inverse(epsg: int) -> Transformer:
    """An EPSG:`epsg` → WGS84 transformer in x/y order, cached."""
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons in `geom`, however deeply collections nest them."""
    out: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            if not part.is_empty and part.area > 0:
                out.append(part)
        elif isinstance(part, MultiPolygon | shapely.GeometryCollection):
            out.extend(_polygons(part))
    return out


def _areal(geom: BaseGeometry) -> Areal:
    """A Polygon or MultiPolygon of the polygonal parts of `geom` (lines and points dropped)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    polygons = _polygons(geom)
    if len(polygons) == 1:
        return polygons[0]
    return MultiPolygon(polygons)
