"""Geodesy of WGS84 areas: geodesic hectares, UTM zones, cuts at zone meridians, reprojection."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache
from typing import TypeAlias

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

Areal: TypeAlias = Polygon | MultiPolygon

_GEOD = Geod(ellps="WGS84")


def geodesic_hectares(geom: BaseGeometry) -> float:
    """The geodesic area of a WGS84 polygonal geometry on the WGS84 ellipsoid, in hectares."""
    # Summed per polygon: pyproj adds multipolygon parts' *signed* areas, so parts wound in
    # opposite directions would cancel out.
    total = 0.0
    for polygon in polygons_of(geom):
        area, _ = _GEOD.geometry_area_perimeter(polygon)
        total += abs(area)
    return total / 10_000


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of the standard UTM zone holding (lon, lat): 326zz north, 327zz south."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"({lon}, {lat}) is not a WGS84 longitude/latitude")
    return (32600 if lat >= 0 else 32700) + _zone_index(lon) + 1


def split_by_utm_zone(geom: Areal) -> list[tuple[int, Areal]]:
    """The geometry cut at the 6° UTM zone meridians: each non-empty part with its zone's EPSG.

    A part's hemisphere is that of its centroid, so a part straddling the equator gets one CRS.
    """
    # Standard 6° zones only: the Norway (32V) and Svalbard (31X-37X) exceptions are ignored;
    # any zone within a few degrees is a fine planar CRS for measuring and clipping an AOI.
    x_min, _, x_max, _ = geom.bounds
    zones = range(_zone_index(x_min), _zone_index(x_max) + 1)
    geom = _with_crossings(geom, [-180.0 + 6 * index for index in zones[1:]])
    parts: list[tuple[int, Areal]] = []
    for index in zones:
        west = -180 + 6 * index
        part = areal(geom.intersection(box(west, -90, west + 6, 90)))
        if part.is_empty or part.area == 0:
            continue  # the geometry only touches this strip's edge
        hemisphere = 32600 if part.centroid.y >= 0 else 32700
        parts.append((hemisphere + index + 1, part))
    return parts


def to_crs(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    """The WGS84 geometry reprojected to EPSG:`epsg` in x/y order (metres for a UTM zone)."""
    transformer = _transformer(epsg)

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack((x, y))

    return shapely.transform(geom, project)


def _with_crossings(geom: Areal, meridians: list[float]) -> Areal:
    """The geometry with a vertex wherever one of its geodesic edges crosses one of `meridians`.

    Cutting a lon/lat straight line at a meridian would move the cut off the geodesic edge (by
    ~20 m on a 27 km edge at 52°N) and change the parts' summed geodesic area; cutting at a
    vertex already on the geodesic keeps it.
    """
    if not meridians:
        return geom
    polygons = [
        Polygon(
            _ring_with_crossings(polygon.exterior.coords, meridians),
            [_ring_with_crossings(ring.coords, meridians) for ring in polygon.interiors],
        )
        for polygon in polygons_of(geom)
    ]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _ring_with_crossings(
    coords: Sequence[tuple[float, float]], meridians: list[float]
) -> list[tuple[float, float]]:
    points = [(float(lon), float(lat)) for lon, lat in coords]
    out = [points[0]]
    for (lon_a, lat_a), (lon_b, lat_b) in itertools.pairwise(points):
        crossed = [m for m in meridians if min(lon_a, lon_b) < m < max(lon_a, lon_b)]
        if lon_b < lon_a:
            crossed.reverse()
        out.extend((m, _geodesic_lat_at(lon_a, lat_a, lon_b, lat_b, m)) for m in crossed)
        out.append((lon_b, lat_b))
    return out


def _geodesic_lat_at(lon_a: float, lat_a: float, lon_b: float, lat_b: float, lon: float) -> float:
    """The latitude where the geodesic from a to b crosses meridian `lon`, found by bisection.

    Longitude changes monotonically along a geodesic that passes no pole, and the antimeridian
    checks keep every edge under 180° of longitude, so the bisection is sound.
    """
    azimuth, _, distance = _GEOD.inv(lon_a, lat_a, lon_b, lat_b)
    eastward = lon_b > lon_a
    near, far = 0.0, float(distance)
    lat = lat_a
    for _ in range(60):  # 20,000 km / 2**60 is far below a float's resolution in metres
        middle = (near + far) / 2
        lon_mid, lat, _ = _GEOD.fwd(lon_a, lat_a, azimuth, middle)
        if (lon_mid < lon) == eastward:
            near = middle
        else:
            far = middle
    return float(lat)


@lru_cache(maxsize=64)
def _transformer(epsg: int) -> Transformer:
    """A WGS84 → EPSG:`epsg` transformer, cached: building one costs far more than using it."""
    return Transformer.from_crs(4326, epsg, always_xy=True)


def polygons_of(geom: BaseGeometry) -> list[Polygon]:
    polygons: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon) and not part.is_empty:
            polygons.append(part)
        elif isinstance(part, MultiPolygon):
            polygons.extend(p for p in part.geoms if not p.is_empty)
    return polygons


def areal(geom: BaseGeometry) -> Areal:
    """The polygonal part of a geometry, dropping the lines and points an overlay may leave."""
    polygons = polygons_of(geom)
    if len(polygons) == 1:
        return polygons[0]
    return MultiPolygon(polygons) if polygons else Polygon()


def _zone_index(lon: float) -> int:
    # 180° itself belongs to zone 60, not a zone 61.
    return min(int((lon + 180) // 6), 59)
