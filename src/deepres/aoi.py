"""Areas of interest: the spec's bbox and GeoJSON rules, checked; their geodesy is `geodesy`."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from deepres.errors import AOIAreaOutOfRange, InvalidAOI, TooManyVertices
from deepres.geodesy import (
    Areal,
    areal,
    geodesic_hectares,
    polygons_of,
    split_by_utm_zone,
    to_crs,
    utm_epsg,
)
from deepres.types import BBox

# The geodesy every user of an AOI needs, importable from here too.
__all__ = [
    "AOI",
    "Areal",
    "check_area",
    "geodesic_hectares",
    "parse_aoi",
    "parse_bbox",
    "parse_geojson",
    "split_by_utm_zone",
    "to_crs",
    "utm_epsg",
]
_BBOX_KEYS = ("x_min", "y_min", "x_max", "y_max")
_ONE_RING_RULE = 'as the GeoJSON instructions require ("Coordinates length should always be one")'
_SPLIT_HINT = "split it at the 180° meridian and send one request per side"
_AREAL = ("Polygon", "MultiPolygon")
_NOT_AREAL = ("Point", "MultiPoint", "LineString", "MultiLineString")


@dataclass(frozen=True)
class AOI:
    """An area of interest: a valid WGS84 lon/lat polygon or multipolygon and its geodesic area."""

    geometry: Areal
    area_hectares: float

    @property
    def bounds(self) -> BBox:
        """The (lon_min, lat_min, lon_max, lat_max) of the geometry."""
        x_min, y_min, x_max, y_max = self.geometry.bounds
        return (float(x_min), float(y_min), float(x_max), float(y_max))

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON geometry dict of the AOI (shapely's mapping: positions are tuples)."""
        return dict(mapping(self.geometry))

    def to_extent(self) -> dict[str, Any]:
        """The AOI as the mechanics document's extent (a GeometryCollection of its polygons),
        which `parse_geojson` reads back whatever holes or parts it has."""
        return {
            "type": "GeometryCollection",
            "geometries": [json.loads(json.dumps(mapping(p))) for p in polygons_of(self.geometry)],
        }


def parse_aoi(aoi: object | None, bbox: object | None, *, max_vertices: int = 10_000) -> AOI:
    """The AOI a request describes; `aoi` wins over `bbox` when both are given, as the spec says."""
    if aoi is not None:
        geometry: Areal = parse_geojson(aoi, max_vertices=max_vertices)
    elif bbox is not None:
        geometry = parse_bbox(bbox)
    else:
        raise InvalidAOI("Provide either bbox or aoi.")
    return AOI(geometry=geometry, area_hectares=geodesic_hectares(geometry))


def parse_bbox(obj: object) -> Polygon:
    """The rectangle a spec `bbox` object {x_min, y_min, x_max, y_max} describes, once checked."""
    if not isinstance(obj, Mapping):
        raise InvalidAOI(
            "bbox must be an object with numeric x_min, y_min, x_max and y_max; "
            f"got {_describe(obj)}."
        )
    missing = [key for key in _BBOX_KEYS if key not in obj]
    if missing:
        raise InvalidAOI(
            f"bbox is missing {', '.join(missing)}; "
            "send x_min, y_min, x_max and y_max in WGS84 degrees."
        )
    x_min, y_min, x_max, y_max = (_number(obj[key], f"bbox {key}") for key in _BBOX_KEYS)
    for key, lon in (("x_min", x_min), ("x_max", x_max)):
        if not -180 <= lon <= 180:
            raise InvalidAOI(f"bbox {key} is {lon}; longitudes must lie within [-180, 180].")
    for key, lat in (("y_min", y_min), ("y_max", y_max)):
        if not -90 <= lat <= 90:
            raise InvalidAOI(f"bbox {key} is {lat}; latitudes must lie within [-90, 90].")
    if y_min >= y_max:
        raise InvalidAOI(
            f"bbox y_min ({y_min}) must be less than y_max ({y_max}); the box has no height."
        )
    if x_min > x_max:
        raise InvalidAOI(
            f"bbox x_min ({x_min}) is greater than x_max ({x_max}), which looks like a box "
            f"crossing the antimeridian; {_SPLIT_HINT}: [x_min, 180] and [-180, x_max]."
        )
    if x_min == x_max:
        raise InvalidAOI(
            f"bbox x_min and x_max are both {x_min}; the box has no width. "
            "x_min must be less than x_max."
        )
    rectangle = box(x_min, y_min, x_max, y_max)
    _check_span(rectangle, "bbox")
    return rectangle


def parse_geojson(obj: object, *, max_vertices: int = 10_000) -> Areal:
    """The valid WGS84 geometry a GeoJSON Feature, FeatureCollection or geometry describes.

    Features, single-feature FeatureCollections and bare Polygons/MultiPolygons follow the spec's
    GeoJSON instructions literally (one ring, one polygon). A GeometryCollection (the mechanics
    doc's "extent") may hold several Polygons/MultiPolygons, with holes; they are unioned.
    More than `max_vertices` positions in all raises TooManyVertices.
    """
    budget = _VertexBudget(max_vertices)
    kind, body = _typed(obj, "aoi")
    if kind == "FeatureCollection":
        geometry = _parse_feature(_only_feature(body), budget)
    elif kind == "Feature":
        geometry = _parse_feature(body, budget)
    elif kind == "GeometryCollection":
        geometry = _parse_collection(body, budget)
    else:
        geometry = _parse_geometry(body, kind, _named(kind, "aoi"), budget, strict=True)
    _check_valid(geometry, "aoi")
    _check_span(geometry, "aoi")
    return geometry


def check_area(aoi: AOI, min_ha: float = 3, max_ha: float = 25_000) -> None:
    """Nothing when the AOI's area lies in [min_ha, max_ha]; else AOIAreaOutOfRange."""
    if not min_ha <= aoi.area_hectares <= max_ha:
        # The spec prints areas to 10 decimals ("Given area: 29969.1494036403 hectares.").
        raise AOIAreaOutOfRange(round(aoi.area_hectares, 10), min_ha, max_ha)


class _VertexBudget:
    """Counts positions as rings are read, refusing an oversized AOI before any costly work."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise TooManyVertices(
                f"aoi has at least {self.used:,} vertices, more than the {self.limit:,} accepted; "
                "simplify it or split it into several requests."
            )


def _typed(obj: object, what: str) -> tuple[str, Mapping[str, Any]]:
    """The GeoJSON "type" of `obj` and `obj` itself, known now to be an object."""
    if not isinstance(obj, Mapping):
        raise InvalidAOI(
            f"{what} must be a GeoJSON object (Feature, FeatureCollection, Polygon or "
            f"MultiPolygon); got {_describe(obj)}."
        )
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise InvalidAOI(f'{what} needs a GeoJSON "type" string; got {_describe(kind)}.')
    return kind, obj


def _only_feature(collection: Mapping[str, Any]) -> object:
    features = _as_list(collection.get("features"), "aoi FeatureCollection features", "an array")
    if not features:
        raise InvalidAOI("aoi FeatureCollection holds no features; send exactly one Feature.")
    if len(features) > 1:
        raise InvalidAOI(
            "There should not be more than one feature: the aoi FeatureCollection holds "
            f"{len(features)}. Send one Feature per request."
        )
    return features[0]


def _parse_feature(feature: object, budget: _VertexBudget) -> Areal:
    kind, body = _typed(feature, "aoi feature")
    if kind != "Feature":
        raise InvalidAOI(f"aoi FeatureCollection must hold a Feature; got a {kind}.")
    geometry = body.get("geometry")
    if geometry is None:
        raise InvalidAOI("aoi Feature has no geometry; give it a Polygon or MultiPolygon.")
    geometry_kind, geometry_body = _typed(geometry, "aoi Feature geometry")
    what = _named(geometry_kind, "aoi Feature geometry")
    return _parse_geometry(geometry_body, geometry_kind, what, budget, strict=True)


def _parse_collection(collection: Mapping[str, Any], budget: _VertexBudget) -> Areal:
    members = _as_list(
        collection.get("geometries"),
        "aoi GeometryCollection geometries",
        "an array of Polygon or MultiPolygon geometries",
    )
    if not members:
        raise InvalidAOI("aoi GeometryCollection holds no geometries; add a Polygon.")
    parts = []
    for number, member in enumerate(members, start=1):
        what = f"aoi GeometryCollection member {number}"
        kind, body = _typed(member, what)
        if kind == "GeometryCollection":
            raise InvalidAOI(
                f"{what} is a GeometryCollection; nested collections are not accepted. "
                "List its Polygons and MultiPolygons directly."
            )
        part = _parse_geometry(body, kind, what, budget, strict=False)
        _check_valid(part, what)
        parts.append(part)
    return areal(shapely.union_all(parts))


def _parse_geometry(
    obj: Mapping[str, Any], kind: str, what: str, budget: _VertexBudget, *, strict: bool
) -> Areal:
    if kind in _NOT_AREAL:
        raise InvalidAOI(
            f"{what} is a {kind}, which encloses no area; send a Polygon or MultiPolygon."
        )
    if kind not in _AREAL:
        raise InvalidAOI(f"{what} has type {kind!r}; only Polygon and MultiPolygon are accepted.")
    coordinates = obj.get("coordinates")
    if kind == "Polygon":
        rings = _as_list(coordinates, f"{what} coordinates", "an array of linear rings")
        return _polygon(rings, what, budget, strict=strict)
    polygons = _as_list(coordinates, f"{what} coordinates", "an array of polygons")
    if strict and len(polygons) != 1:
        raise InvalidAOI(
            f"{what} coordinates must hold exactly one polygon, {_ONE_RING_RULE}; got "
            f"{len(polygons)}. Send one request per polygon."
        )
    if not polygons:
        raise InvalidAOI(f"{what} holds no polygons; give it at least one.")
    return MultiPolygon(
        [
            _polygon(
                _as_list(rings, f"{what} polygon {number}", "an array of linear rings"),
                f"{what} polygon {number}",
                budget,
                strict=strict,
            )
            for number, rings in enumerate(polygons, start=1)
        ]
    )


def _polygon(rings: Sequence[Any], what: str, budget: _VertexBudget, *, strict: bool) -> Polygon:
    if strict and len(rings) != 1:
        raise InvalidAOI(
            f"{what} coordinates must hold exactly one ring (no holes), {_ONE_RING_RULE}; "
            f"got {len(rings)} rings."
        )
    if not rings:
        raise InvalidAOI(f"{what} has no rings; give it an exterior ring.")
    shell, *holes = (
        _ring(ring, f"{what} ring {number}", budget) for number, ring in enumerate(rings, start=1)
    )
    return Polygon(shell, holes)


def _ring(raw: object, what: str, budget: _VertexBudget) -> list[tuple[float, float]]:
    positions = _as_list(raw, what, "an array of [longitude, latitude] positions")
    budget.take(len(positions))
    if len(positions) < 4:
        raise InvalidAOI(
            f"{what} has {len(positions)} positions; a linear ring needs at least 4 "
            "(three corners, then the first repeated at the end)."
        )
    points = [_position(p, f"{what} position {n}") for n, p in enumerate(positions, start=1)]
    if points[0] != points[-1]:
        raise InvalidAOI(
            f"{what} is not closed: its first position {list(points[0])} differs from its "
            f"last {list(points[-1])}. Repeat the first position at the end."
        )
    for number, ((lon_a, _), (lon_b, _)) in enumerate(itertools.pairwise(points), start=1):
        if abs(lon_b - lon_a) > 180:
            raise InvalidAOI(
                f"{what} jumps {abs(lon_b - lon_a):.1f}° of longitude between positions "
                f"{number} and {number + 1}, which looks like it crosses the antimeridian; "
                f"{_SPLIT_HINT}."
            )
    return points


def _position(raw: object, what: str) -> tuple[float, float]:
    if not isinstance(raw, list | tuple) or len(raw) not in (2, 3):
        raise InvalidAOI(
            f"{what} must be [longitude, latitude] or [longitude, latitude, height]; "
            f"got {_describe(raw)}."
        )
    lon = _number(raw[0], f"{what} longitude")
    lat = _number(raw[1], f"{what} latitude")
    if len(raw) == 3:
        _number(raw[2], f"{what} height")  # checked, then dropped: AOIs are 2-D
    if not -180 <= lon <= 180:
        raise InvalidAOI(f"{what} has longitude {lon}, outside [-180, 180].")
    if not -90 <= lat <= 90:
        raise InvalidAOI(
            f"{what} has latitude {lat}, outside [-90, 90]; "
            "positions are [longitude, latitude], in that order."
        )
    return (lon, lat)


def _check_valid(geom: BaseGeometry, what: str) -> None:
    # The hull, not the area: a symmetric bow-tie's signed area is 0 too, and it deserves the
    # self-intersection message below.
    if geom.is_empty or geom.convex_hull.area == 0:
        raise InvalidAOI(
            f"{what} encloses no area (its positions repeat or lie on one line); "
            "send a polygon with a non-zero area."
        )
    if not geom.is_valid:
        raise InvalidAOI(
            f"{what} is not a valid polygon: {explain_validity(geom)}. Rings must not cross or "
            "touch themselves or each other, and holes must lie inside their shell."
        )


def _check_span(geom: BaseGeometry, what: str) -> None:
    x_min, _, x_max, _ = geom.bounds
    if x_max - x_min > 180:
        raise InvalidAOI(
            f"{what} spans {x_max - x_min:.1f}° of longitude, more than 180°: if it crosses "
            f"the antimeridian, {_SPLIT_HINT}; otherwise split it into narrower requests."
        )


def _named(kind: str, otherwise: str) -> str:
    """How messages name a geometry: "aoi Polygon" when it is one, `otherwise` when it is not."""
    return f"aoi {kind}" if kind in _AREAL else otherwise


def _as_list(value: object, what: str, expected: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidAOI(f"{what} must be {expected}; got {_describe(value)}.")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAOI(f"{what} must be a number; got {_describe(value)}.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidAOI(f"{what} must be a finite number; got {_describe(value)}.")
    return number


def _describe(value: object) -> str:
    """What the client sent, named in JSON terms for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        text = repr(value)
        return f"the number {text if len(text) <= 30 else text[:27] + '...'}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} items"
    return f"a {type(value).__name__}"
