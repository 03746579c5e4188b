"""Extent decomposition: an AOI too large for one job cut into pieces the service accepts.

The mechanics document's recipe, done in a planar CRS as it recommends: per UTM zone, the
part's bounding rectangle is covered by equal squares (metres in that zone's UTM CRS), each
square is intersected with the AOI, and slivers are merged into a neighbour.

Two choices keep the pieces exact. The squares are built on one shared lattice of points,
densified along their sides, and brought back to WGS84 *before* being intersected with the AOI:
neighbouring squares then share their sides vertex for vertex, so pieces never overlap, and the
AOI's own edges are never re-drawn through a projection, so the pieces cover it exactly.
Areas are geodesic (`deepres.aoi.geodesic_hectares`), as the service measures them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from deepres.aoi import Areal, geodesic_hectares, split_by_utm_zone, to_crs

# Squares of 95 % of the limit: UTM's scale error (< 0.1 % in a zone) and the merged slivers
# stay far inside the remaining 5 %.
SAFETY = 0.95
# Square sides are densified every this many metres so their WGS84 form follows the square.
DENSIFY_M = 500.0
# Padding around a part's projected bounds (metres): the projected vertices of a long edge
# need not bound the curve that edge becomes in UTM.
PAD_M = 50.0
_HAIR_DEG = 1e-9
_GEOD = Geod(ellps="WGS84")


def split_aoi(
    geometry_wgs84: BaseGeometry, *, max_hectares: float = 25_000, min_hectares: float = 3
) -> list[Areal]:
    """WGS84 pieces, each of at most `max_hectares` (geodesic), that together are the AOI.

    Pieces do not overlap, their union is the AOI, and none is smaller than `min_hectares`
    unless the whole AOI is (slivers join the neighbour they share the longest border with;
    an island with no neighbour joins the nearest piece). An AOI within the limit comes back
    alone and unchanged. Pieces are valid Polygons, or MultiPolygons where a square cut the
    AOI into parts.
    """
    if not 0 <= min_hectares < max_hectares:
        raise ValueError("need 0 <= min_hectares < max_hectares")
    aoi = _areal(geometry_wgs84)
    if aoi.is_empty or not aoi.is_valid:
        raise ValueError("the AOI must be a valid, non-empty Polygon or MultiPolygon")
    if geodesic_hectares(aoi) <= max_hectares:
        return [aoi]
    side = math.sqrt(SAFETY * max_hectares * 10_000)
    pieces: list[_Piece] = []
    for epsg, part in split_by_utm_zone(aoi):
        pieces.extend(_grid_pieces(part, epsg, side))
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

    def geometry(self) -> Areal:
        merged = _areal(shapely.union_all(self.units)) if len(self.units) > 1 else self.units[0]
        return merged if merged.is_valid else _areal(shapely.make_valid(merged))


def _grid_pieces(part: Areal, epsg: int, side: float) -> list[_Piece]:
    """The part cut by a lattice of `side`-metre squares of zone `epsg`, one piece per square."""
    # Densified (~1 km in latitude) so projecting the vertices bounds the projected part.
    x0, y0, x1, y1 = to_crs(shapely.segmentize(part, 0.01), epsg).bounds
    nx = max(1, math.ceil((x1 - x0 + 2 * PAD_M) / side))
    ny = max(1, math.ceil((y1 - y0 + 2 * PAD_M) / side))
    # Centre the lattice on the part, so any leftover margin is shared by both sides.
    left = (x0 + x1) / 2 - nx * side / 2
    bottom = (y0 + y1) / 2 - ny * side / 2
    steps = max(1, math.ceil(side / DENSIFY_M))
    xs = left + np.arange(nx * steps + 1) * (side / steps)
    ys = bottom + np.arange(ny * steps + 1) * (side / steps)
    lon, lat = _inverse(epsg).transform(*np.meshgrid(xs, ys))
    cells = [
        _cell(lon, lat, col * steps, row * steps, steps) for row in range(ny) for col in range(nx)
    ]
    shapely.prepare(part)
    pieces = []
    for cell in cells:
        if not part.intersects(cell):
            continue
        piece = _Piece()
        for unit in _polygons(part.intersection(cell)):
            piece.add(unit, geodesic_hectares(unit))
        if piece.units:
            pieces.append(piece)
    return pieces


def _cell(
    lon: NDArray[np.float64], lat: NDArray[np.float64], i0: int, j0: int, steps: int
) -> Polygon:
    """The square whose lower-left lattice point is (column i0, row j0), counter-clockwise."""
    i1, j1 = i0 + steps, j0 + steps
    ring = (
        [(lon[j0, i], lat[j0, i]) for i in range(i0, i1)]
        + [(lon[j, i1], lat[j, i1]) for j in range(j0, j1)]
        + [(lon[j1, i], lat[j1, i]) for i in range(i1, i0, -1)]
        + [(lon[j, i0], lat[j, i0]) for j in range(j1, j0, -1)]
    )
    return Polygon(ring)


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
