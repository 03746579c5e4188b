"""AOI files for the command line: GeoJSON read into the pieces to send, or one geometry.

A file may hold a geometry, a Feature, or a FeatureCollection; a FeatureCollection of several
features (what `deepres split` prints) is several pieces, one job each. Pieces are sent as
written (the service checks them and says what is wrong); only `split` builds a geometry here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from deepres.client.wire import extent_of


class AOIFileError(ValueError):
    """An AOI file that cannot be read or holds no usable GeoJSON; the message says why."""


@dataclass(frozen=True)
class Piece:
    """One AOI to send: its label (the feature's `index`, else its position) and its GeoJSON."""

    label: str
    geojson: dict[str, Any]


def read_pieces(path: Path) -> list[Piece]:
    """The pieces a GeoJSON file describes: one per feature of a FeatureCollection."""
    obj = _read(path)
    kind = obj.get("type")
    if kind != "FeatureCollection":
        return [Piece("1", dict(obj))]
    features = obj.get("features")
    if not isinstance(features, list) or not features:
        raise AOIFileError(f"{path}: the FeatureCollection holds no features")
    if len(features) == 1 and isinstance(features[0], Mapping):
        return [Piece("1", dict(features[0]))]
    pieces = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, Mapping) or not isinstance(feature.get("geometry"), Mapping):
            raise AOIFileError(f"{path}: feature {number} has no geometry")
        properties = feature.get("properties") or {}
        label = properties.get("index", number) if isinstance(properties, Mapping) else number
        pieces.append(Piece(str(label), dict(feature["geometry"])))
    return pieces


def combined_extent(pieces: list[Piece]) -> dict[str, Any]:
    """One GeoJSON for all pieces: the piece itself, or a GeometryCollection of every polygon."""
    if len(pieces) == 1:
        return pieces[0].geojson
    geometries: list[Any] = []
    for piece in pieces:
        extent = extent_of(_geometry_of(piece.geojson))
        geometries.extend(extent["geometries"] if "geometries" in extent else [extent])
    return {"type": "GeometryCollection", "geometries": geometries}


def piece_hectares(piece: Piece) -> float | None:
    """The piece's geodesic area in hectares, as the service measures it; None if unreadable.

    Unreadable pieces are left to the service, which says what is wrong with them.
    """
    from deepres.aoi import geodesic_hectares  # pyproj: only for the commands that measure

    try:
        return geodesic_hectares(shape(_geometry_of(piece.geojson)))
    except (AOIFileError, AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None


def read_geometry(path: Path) -> BaseGeometry:
    """The whole AOI of a GeoJSON file as one valid shapely geometry (features unioned)."""
    pieces = read_pieces(path)
    try:
        shapes = [shape(_geometry_of(piece.geojson)) for piece in pieces]
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise AOIFileError(f"{path}: not a GeoJSON geometry ({exc})") from exc
    for number, geom in enumerate(shapes, start=1):
        if not geom.is_valid:
            raise AOIFileError(f"{path}: geometry {number} is invalid: {explain_validity(geom)}")
    merged: BaseGeometry = shapes[0] if len(shapes) == 1 else shapely.union_all(shapes)
    if isinstance(merged, shapely.GeometryCollection):  # the mechanics document's extent
        merged = shapely.union_all(shapely.get_parts(merged))
    if not isinstance(merged, Polygon | MultiPolygon):
        raise AOIFileError(f"{path}: the AOI must be made of Polygons or MultiPolygons")
    if merged.is_empty or merged.area == 0:
        raise AOIFileError(f"{path}: the AOI encloses no area")
    return merged


def _geometry_of(geojson: Mapping[str, Any]) -> Mapping[str, Any]:
    geometry = geojson.get("geometry") if geojson.get("type") == "Feature" else geojson
    if not isinstance(geometry, Mapping):
        raise AOIFileError("a Feature without a geometry")
    return geometry


def _read(path: Path) -> Mapping[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AOIFileError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AOIFileError(f"{path}: cannot read it ({exc})") from exc
    except ValueError as exc:
        raise AOIFileError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(obj, Mapping) or not isinstance(obj.get("type"), str):
        raise AOIFileError(f'{path}: not GeoJSON (an object with a "type")')
    return obj
