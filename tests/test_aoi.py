"""deepres.aoi: the spec's bbox/GeoJSON rules, geodesic hectares and UTM zone splits."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon, box

from deepres.aoi import (
    AOI,
    check_area,
    geodesic_hectares,
    parse_aoi,
    parse_bbox,
    parse_geojson,
    split_by_utm_zone,
    to_crs,
    utm_epsg,
)
from deepres.errors import AOIAreaOutOfRange, InvalidAOI, TooManyVertices

# The request body example of POST /deep-resolution in spec/deep-resolution-api.txt, verbatim
# (re-wrapped only at whitespace).
SPEC_FEATURE_JSON = """
{ "type": "Feature", "properties": { "id": 1 }, "geometry": { "type": "MultiPolygon",
"coordinates": [ [ [ [ 138.629423808807388, 35.396884261237581 ], [ 138.627417448995601,
35.396586287008105 ], [ 138.627417448995601, 35.396586287008105 ], [ 138.626682445896222,
35.39814568547569 ], [ 138.627169137137685, 35.399148865381584 ], [ 138.627477043841481,
35.399446839611059 ], [ 138.627993532505911, 35.399466704559693 ], [ 138.628281574261081,
35.399516366931273 ], [ 138.62859941343919, 35.399367379816532 ], [ 138.628807995399796,
35.398989945792529 ], [ 138.629125834577906, 35.398801228780535 ], [ 138.629821107780032,
35.398890621049375 ], [ 138.630417056238969, 35.398890621049375 ], [ 138.631161991812661,
35.398413862282212 ], [ 138.63163875057981, 35.398552916922633 ], [ 138.631608953156871,
35.398890621049375 ], [ 138.631241451607195, 35.399029675689796 ], [ 138.630844152634552,
35.399466704559693 ], [ 138.629890635100224, 35.399655421571694 ], [ 138.62936421396148,
35.400360627248112 ], [ 138.629523133550549, 35.400787723643695 ], [ 138.629632390768023,
35.40094664323275 ], [ 138.629602593345084, 35.401135360244751 ], [ 138.629185429423814,
35.4013538746797 ], [ 138.629016577360431, 35.401473064371487 ], [ 138.628976847463179,
35.401721376229382 ], [ 138.629562863447802, 35.402416649431487 ], [ 138.630019757266325,
35.402645096340756 ], [ 138.631013004697934, 35.402913273147277 ], [ 138.631350708824669,
35.4033006396456 ], [ 138.631946657283606, 35.402823880878437 ], [ 138.63195658975792,
35.402645096340756 ], [ 138.632075779449707, 35.402257729842439 ], [ 138.632701525331612,
35.401502861794434 ], [ 138.633625245442971, 35.401542591691694 ], [ 138.633486190802557,
35.401880295818437 ], [ 138.633595448020031, 35.402088877779065 ], [ 138.634529100605732,
35.403211247376753 ], [ 138.634469505759824, 35.40478057831865 ], [ 138.634688020194773,
35.404949430382025 ], [ 138.635552145460252, 35.405038822650866 ], [ 138.636356675879824,
35.405446054097816 ], [ 138.636585122789086, 35.405058687599499 ], [ 138.636465933097298,
35.404830240690231 ], [ 138.636942691864476, 35.404125035013813 ], [ 138.636833434647002,
35.40379726336139 ], [ 138.636654650109307, 35.403608546349389 ], [ 138.637886276924462,
35.402436514380121 ], [ 138.636604987737712, 35.398155617950003 ], [ 138.629423808807388,
35.396884261237581 ] ] ] ] } }"""

# The oversized bbox of the spec's area-guard example, and the sentence its service answered.
SPEC_BBOX = {"x_min": 0.0, "y_min": 0.0, "x_max": 0.15603603603603605, "y_max": 0.15603603603603605}
SPEC_GIVEN_AREA = 29969.1494036403
# What pyproj's geodesic area gives for that bbox (4 geodesic edges on WGS84), pinned.
GEODESIC_SPEC_BBOX_AREA = 29969.181393987452


def spec_feature() -> dict[str, Any]:
    feature: dict[str, Any] = json.loads(SPEC_FEATURE_JSON)
    return feature


def square(lon: float, lat: float, size: float = 0.01) -> list[list[float]]:
    """A closed counter-clockwise ring: the square with south-west corner (lon, lat)."""
    return [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]


def polygon(*rings: object) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(geometry: object) -> dict[str, Any]:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def invalid(obj: object, **kwargs: Any) -> str:
    """The message parse_geojson gives for `obj`, which must be an InvalidAOI."""
    with pytest.raises(InvalidAOI) as caught:
        parse_geojson(obj, **kwargs)
    return caught.value.message


def invalid_bbox(obj: object) -> str:
    with pytest.raises(InvalidAOI) as caught:
        parse_bbox(obj)
    return caught.value.message


# --- the spec's examples ---------------------------------------------------------------------


def test_spec_oversized_bbox_area_is_geodesic_and_near_the_spec_figure() -> None:
    aoi = parse_aoi(None, SPEC_BBOX)

    assert aoi.area_hectares == pytest.approx(GEODESIC_SPEC_BBOX_AREA, abs=1e-6)
    # Geodesic edges give 0.032 ha (1.1e-6 relative) more than the spec prints; see the next test.
    assert abs(aoi.area_hectares - SPEC_GIVEN_AREA) < 0.035


def test_spec_area_figure_is_the_planar_area_in_laea_europe() -> None:
    # Documents how the reference service measured: planar area in EPSG:3035 reproduces the
    # spec's figure to all 10 printed decimals. deepres measures geodesically instead.
    rectangle = parse_bbox(SPEC_BBOX)

    assert round(to_crs(rectangle, 3035).area / 10_000, 10) == SPEC_GIVEN_AREA


def test_spec_oversized_bbox_fails_the_area_guard_with_the_spec_sentence() -> None:
    aoi = parse_aoi(None, SPEC_BBOX)

    with pytest.raises(AOIAreaOutOfRange) as caught:
        check_area(aoi)

    assert caught.value.message == (
        "AOI must be between 3 and 25,000 hectares. Given area: 29969.1813939875 hectares."
    )
    assert caught.value.area_hectares == round(GEODESIC_SPEC_BBOX_AREA, 10)


def test_spec_example_feature_parses_as_a_valid_multipolygon() -> None:
    aoi = parse_aoi(spec_feature(), None)

    assert isinstance(aoi.geometry, MultiPolygon)
    assert aoi.geometry.is_valid
    assert aoi.area_hectares == pytest.approx(49.669249, abs=1e-5)
    x_min, y_min, x_max, y_max = aoi.bounds
    assert 138.626 < x_min < x_max < 138.638
    assert 35.396 < y_min < y_max < 35.406
    check_area(aoi)  # within 3..25,000 ha: no error


def test_aoi_wins_over_bbox_when_both_are_given() -> None:
    aoi = parse_aoi(spec_feature(), SPEC_BBOX)

    assert aoi.area_hectares == pytest.approx(49.669249, abs=1e-5)
    assert aoi.bounds[0] > 138


def test_neither_aoi_nor_bbox_is_refused() -> None:
    with pytest.raises(InvalidAOI, match=r"^Provide either bbox or aoi\.$"):
        parse_aoi(None, None)


def test_an_invalid_aoi_is_refused_even_with_a_valid_bbox() -> None:
    with pytest.raises(InvalidAOI, match="Point"):
        parse_aoi({"type": "Point", "coordinates": [1, 2]}, SPEC_BBOX)


# --- bbox ------------------------------------------------------------------------------------


def test_bbox_gives_its_rectangle() -> None:
    rectangle = parse_bbox({"x_min": 10, "y_min": 45, "x_max": 10.5, "y_max": 45.25})

    assert rectangle.bounds == (10.0, 45.0, 10.5, 45.25)
    assert rectangle.equals(box(10, 45, 10.5, 45.25))


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ([0, 0, 1, 1], "bbox must be an object .* got an array of 4 items"),
        ("0,0,1,1", "bbox must be an object .* got the string '0,0,1,1'"),
        ({"x_min": 0, "y_min": 0, "x_max": 1}, "bbox is missing y_max"),
        ({}, "bbox is missing x_min, y_min, x_max, y_max"),
        ({"x_min": True, "y_min": 0, "x_max": 1, "y_max": 1}, "x_min must be a number; got the bo"),
        ({"x_min": "0", "y_min": 0, "x_max": 1, "y_max": 1}, "x_min must be a number; got the st"),
        ({"x_min": 0, "y_min": None, "x_max": 1, "y_max": 1}, "y_min must be a number; got null"),
        ({"x_min": 0, "y_min": 0, "x_max": math.nan, "y_max": 1}, "x_max must be a finite number"),
        ({"x_min": 0, "y_min": 0, "x_max": 1, "y_max": math.inf}, "y_max must be a finite number"),
        (
            {"x_min": 0, "y_min": 0, "x_max": 1, "y_max": 10**400},
            r"y_max must be a finite number; got the number 10{26}\.\.\.\.$",
        ),
        ({"x_min": -181, "y_min": 0, "x_max": 1, "y_max": 1}, r"x_min is -181.0; longitudes mu"),
        ({"x_min": 0, "y_min": 0, "x_max": 1, "y_max": 90.5}, r"y_max is 90.5; latitudes must"),
        (
            {"x_min": 0, "y_min": 2, "x_max": 1, "y_max": 1},
            r"y_min \(2.0\) must be less than y_max",
        ),
        ({"x_min": 0, "y_min": 1, "x_max": 1, "y_max": 1}, "the box has no height"),
        ({"x_min": 1, "y_min": 0, "x_max": 1, "y_max": 1}, "the box has no width"),
        ({"x_min": -100, "y_min": 0, "x_max": 100, "y_max": 1}, "spans 200.0° of longitude"),
    ],
)
def test_bad_bbox_is_refused_with_what_is_wrong(bbox: object, expected: str) -> None:
    with pytest.raises(InvalidAOI, match=expected):
        parse_bbox(bbox)


def test_bbox_crossing_the_antimeridian_asks_for_two_requests() -> None:
    message = invalid_bbox({"x_min": 179.5, "y_min": -17, "x_max": -179.5, "y_max": -16})

    assert "x_min (179.5) is greater than x_max (-179.5)" in message
    assert "antimeridian" in message
    assert "[x_min, 180] and [-180, x_max]" in message


def test_bbox_on_the_antimeridian_edge_is_fine() -> None:
    rectangle = parse_bbox({"x_min": 179.5, "y_min": -17, "x_max": 180, "y_max": -16})

    assert rectangle.bounds == (179.5, -17.0, 180.0, -16.0)


# --- GeoJSON forms accepted ------------------------------------------------------------------


def test_polygon_feature_polygon_feature_collection_and_bare_polygon_agree() -> None:
    ring = square(10, 45)
    forms = [
        polygon(ring),
        feature(polygon(ring)),
        {"type": "FeatureCollection", "features": [feature(polygon(ring))]},
    ]

    geometries = [parse_geojson(form) for form in forms]

    assert all(isinstance(geometry, Polygon) for geometry in geometries)
    assert all(geometry.equals(box(10, 45, 10.01, 45.01)) for geometry in geometries)


def test_multipolygon_feature_collection_and_bare_multipolygon_are_kept_as_multipolygons() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[square(10, 45)]]}

    for form in (multi, {"type": "FeatureCollection", "features": [feature(multi)]}):
        geometry = parse_geojson(form)
        assert isinstance(geometry, MultiPolygon)
        assert geometry.equals(box(10, 45, 10.01, 45.01))


def test_positions_with_a_height_are_accepted_and_flattened() -> None:
    ring = [[*position, 120.5] for position in square(10, 45)]

    geometry = parse_geojson(polygon(ring))

    assert not geometry.has_z
    assert geometry.equals(box(10, 45, 10.01, 45.01))


def test_geometry_collection_extent_from_the_mechanics_doc_parses() -> None:
    extent = {
        "type": "GeometryCollection",
        "geometries": [
            polygon(
                [
                    [14.452436864376, 50.092111002982],
                    [14.451779723167, 50.092107561411],
                    [14.452233016491, 50.091543140472],
                    [14.452436864376, 50.092111002982],
                ]
            )
        ],
    }

    geometry = parse_geojson(extent)

    assert isinstance(geometry, Polygon)
    assert geodesic_hectares(geometry) == pytest.approx(0.15, rel=0.1)


def test_geometry_collection_members_are_unioned_and_may_hold_holes() -> None:
    with_hole = polygon(square(10, 45, 0.1), square(10.04, 45.04, 0.02))
    overlapping = polygon(square(10.05, 45, 0.1))
    far = {"type": "MultiPolygon", "coordinates": [[square(20, 45)]]}

    geometry = parse_geojson(
        {"type": "GeometryCollection", "geometries": [with_hole, overlapping, far]}
    )

    assert isinstance(geometry, MultiPolygon)
    assert len(geometry.geoms) == 2
    expected = box(10, 45, 10.15, 45.1).difference(box(10.04, 45.04, 10.05, 45.06))
    expected = expected.union(box(20, 45, 20.01, 45.01))
    assert geometry.symmetric_difference(expected).area < 1e-12


def test_area_of_parts_wound_in_opposite_directions_adds_up() -> None:
    clockwise = list(reversed(square(20, 45)))
    counter_clockwise = square(10, 45)
    collection = {
        "type": "GeometryCollection",
        "geometries": [polygon(clockwise), polygon(counter_clockwise)],
    }

    area = geodesic_hectares(parse_geojson(collection))

    single = geodesic_hectares(box(10, 45, 10.01, 45.01))
    assert area == pytest.approx(2 * single, rel=1e-9)
    assert single == pytest.approx(87.5, rel=0.01)


# --- GeoJSON refused -------------------------------------------------------------------------


def test_more_than_one_feature_is_refused_with_the_spec_rule() -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [feature(polygon(square(10, 45))), feature(polygon(square(11, 45)))],
    }

    message = invalid(collection)

    assert message.startswith("There should not be more than one feature")
    assert "holds 2" in message


def test_polygon_with_a_hole_is_refused_with_the_spec_rule() -> None:
    message = invalid(feature(polygon(square(10, 45, 0.1), square(10.04, 45.04, 0.02))))

    assert "Polygon coordinates must hold exactly one ring (no holes)" in message
    assert '"Coordinates length should always be one"' in message
    assert "got 2 rings" in message


def test_multipolygon_with_two_polygons_is_refused_with_the_spec_rule() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[square(10, 45)], [square(11, 45)]]}

    message = invalid({"type": "FeatureCollection", "features": [feature(multi)]})

    assert "MultiPolygon coordinates must hold exactly one polygon" in message
    assert '"Coordinates length should always be one"' in message
    assert "got 2" in message


def test_multipolygon_whose_polygon_has_a_hole_is_refused() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[square(10, 45, 0.1), square(10.04, 45.04)]]}

    message = invalid(multi)

    assert "MultiPolygon polygon 1 coordinates must hold exactly one ring (no holes)" in message


@pytest.mark.parametrize(
    ("aoi", "expected"),
    [
        (None, "aoi must be a GeoJSON object .* got null"),
        ([1, 2], "aoi must be a GeoJSON object .* got an array of 2 items"),
        ("POLYGON((0 0, 1 0, 1 1, 0 0))", "aoi must be a GeoJSON object .* got the string"),
        ({"coordinates": [square(10, 45)]}, 'aoi needs a GeoJSON "type" string; got null'),
        ({"type": 7}, 'aoi needs a GeoJSON "type" string; got the number 7'),
        ({"type": "Point", "coordinates": [10, 45]}, "^aoi is a Point, which encloses no area"),
        ({"type": "LineString", "coordinates": square(10, 45)}, "^aoi is a LineString"),
        ({"type": "Circle", "coordinates": [10, 45]}, "^aoi has type 'Circle'; only Polygon and"),
        (feature(None), "aoi Feature has no geometry"),
        ({"type": "Feature", "properties": {}}, "aoi Feature has no geometry"),
        (
            feature({"type": "Point", "coordinates": [1, 2]}),
            "^aoi Feature geometry is a Point, which encloses no area",
        ),
        (feature("polygon"), "aoi Feature geometry must be a GeoJSON object"),
        ({"type": "FeatureCollection", "features": []}, "holds no features"),
        ({"type": "FeatureCollection"}, "features must be an array; got null"),
        ({"type": "FeatureCollection", "features": [polygon(square(1, 1))]}, "got a Polygon"),
        ({"type": "GeometryCollection", "geometries": []}, "holds no geometries"),
        ({"type": "GeometryCollection"}, "geometries must be an array"),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "Point", "coordinates": [0, 0]}],
            },
            "member 1 is a Point",
        ),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "GeometryCollection", "geometries": []}],
            },
            "member 1 is a GeometryCollection; nested collections are not accepted",
        ),
        (feature({"type": "GeometryCollection", "geometries": []}), "only Polygon and Multi"),
        ({"type": "Polygon"}, "aoi Polygon coordinates must be an array .* got null"),
        ({"type": "Polygon", "coordinates": []}, "exactly one ring .* got 0 rings"),
        ({"type": "MultiPolygon", "coordinates": []}, "exactly one polygon.*got 0"),
        (
            {"type": "GeometryCollection", "geometries": [{"type": "Polygon", "coordinates": []}]},
            "member 1 has no rings",
        ),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "MultiPolygon", "coordinates": []}],
            },
            "member 1 holds no polygons",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [5]},
            "polygon 1 must be an array of linear rings",
        ),
    ],
)
def test_wrong_geojson_is_refused_naming_what_was_received(aoi: object, expected: str) -> None:
    with pytest.raises(InvalidAOI, match=expected):
        parse_geojson(aoi)


@pytest.mark.parametrize(
    ("ring", "expected"),
    [
        ("ring", "aoi Polygon ring 1 must be an array of .* got the string 'ring'"),
        ([[0, 0], [1, 0], [0, 0]], "ring 1 has 3 positions; a linear ring needs at least 4"),
        (
            [[0, 0], [1, 0], [1, 1], [0, 1]],
            r"ring 1 is not closed: its first position \[0.0, 0.0\] differs from its last "
            r"\[0.0, 1.0\]. Repeat the first position at the end",
        ),
        ([[0, 0], [1, 0], [1, 1], [0, 0, 0, 0]], "position 4 must be .* got an array of 4 items"),
        ([[0, 0], [1], [1, 1], [0, 0]], "position 2 must be .* got an array of 1 items"),
        ([[0, 0], 5, [1, 1], [0, 0]], "position 2 must be .* got the number 5"),
        ([[0, 0], [True, 0], [1, 1], [0, 0]], "position 2 longitude must be a number; got the b"),
        ([[0, 0], [1, "0"], [1, 1], [0, 0]], "position 2 latitude must be a number; got the str"),
        ([[0, 0], [1, 0, None], [1, 1], [0, 0]], "position 2 height must be a number; got null"),
        ([[0, 0], [math.nan, 0], [1, 1], [0, 0]], "position 2 longitude must be a finite num"),
        ([[0, 0], [1, math.inf], [1, 1], [0, 0]], "position 2 latitude must be a finite num"),
        ([[0, 0], [180.5, 0], [1, 1], [0, 0]], r"position 2 has longitude 180.5, outside"),
        (
            [[10, 45], [10, 100], [11, 45], [10, 45]],
            r"position 2 has latitude 100.0, outside \[-90, 90\]; positions are \[longitude, lat",
        ),
    ],
)
def test_bad_ring_is_refused_saying_where_and_why(ring: object, expected: str) -> None:
    with pytest.raises(InvalidAOI, match=expected):
        parse_geojson(feature(polygon(ring)))


def test_ring_jumping_across_the_antimeridian_is_refused() -> None:
    ring = [[179.9, -16], [-179.9, -16], [-179.9, -15.9], [179.9, -15.9], [179.9, -16]]

    message = invalid(feature(polygon(ring)))

    assert "jumps 359.8° of longitude between positions 1 and 2" in message
    assert "antimeridian" in message
    assert "split it at the 180° meridian" in message


def test_geometry_spanning_more_than_180_degrees_is_refused() -> None:
    ring = [
        [-170, 0],
        [-10, 0],
        [10, 0],
        [170, 0],
        [170, 1],
        [10, 1],
        [-10, 1],
        [-170, 1],
        [-170, 0],
    ]

    message = invalid(polygon(ring))

    assert "spans 340.0° of longitude, more than 180°" in message
    assert "split it at the 180° meridian" in message


def test_self_intersecting_polygon_is_refused_with_the_reason() -> None:
    bowtie = [[10, 45], [10.01, 45.01], [10.01, 45], [10, 45.01], [10, 45]]

    message = invalid(feature(polygon(bowtie)))

    assert "aoi is not a valid polygon: Self-intersection[10.005 45.005]" in message
    assert "must not cross" in message


def test_zero_area_polygon_is_refused() -> None:
    on_a_line = [[10, 45], [10.01, 45], [10.02, 45], [10, 45]]

    message = invalid(polygon(on_a_line))

    assert "aoi encloses no area" in message


def test_overlapping_multipolygon_parts_in_a_collection_are_refused_as_invalid() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[square(10, 45)], [square(10.005, 45)]]}

    message = invalid({"type": "GeometryCollection", "geometries": [multi]})

    assert message.startswith("aoi GeometryCollection member 1 is not a valid polygon:")


def test_too_many_vertices_is_its_own_error() -> None:
    circle = Point(10, 45).buffer(0.01, quad_segs=2600)  # 10,401 positions
    geometry = shapely.geometry.mapping(circle)

    with pytest.raises(TooManyVertices) as caught:
        parse_geojson(feature(geometry))

    assert not isinstance(caught.value, InvalidAOI)
    assert "more than the 10,000 accepted" in caught.value.message
    assert "simplify it" in caught.value.message
    assert isinstance(parse_geojson(feature(geometry), max_vertices=10_401), Polygon)


def test_vertex_limit_counts_every_ring_of_a_collection() -> None:
    collection = {
        "type": "GeometryCollection",
        "geometries": [polygon(square(10, 45)), polygon(square(11, 45))],
    }

    assert isinstance(parse_geojson(collection, max_vertices=10), MultiPolygon)
    with pytest.raises(TooManyVertices, match="at least 10 vertices, more than the 9 accepted"):
        parse_aoi(collection, None, max_vertices=9)


# --- the AOI record and the area guard -------------------------------------------------------


def test_aoi_bounds_and_geojson() -> None:
    aoi = parse_aoi(feature(polygon(square(10, 45))), None)

    assert aoi.bounds == (10.0, 45.0, 10.01, 45.01)
    assert all(isinstance(value, float) for value in aoi.bounds)
    geojson = aoi.to_geojson()
    assert geojson["type"] == "Polygon"
    assert json.loads(json.dumps(geojson))["coordinates"][0][0] == [10.0, 45.0]


def test_geojson_round_trip_keeps_the_area_of_the_spec_feature() -> None:
    aoi = parse_aoi(spec_feature(), None)

    again = parse_aoi(aoi.to_geojson(), None)

    assert again.area_hectares == aoi.area_hectares
    assert again.geometry.equals(aoi.geometry)


@pytest.mark.parametrize(
    ("area", "refused"),
    [(2.99, True), (3.0, False), (25_000.0, False), (25_000.01, True)],
)
def test_area_guard_edges(area: float, refused: bool) -> None:
    aoi = AOI(geometry=box(0, 0, 0.01, 0.01), area_hectares=area)

    if refused:
        with pytest.raises(AOIAreaOutOfRange, match=f"Given area: {area} hectares"):
            check_area(aoi)
    else:
        check_area(aoi)


def test_area_guard_takes_other_limits() -> None:
    aoi = parse_aoi(None, {"x_min": 10, "y_min": 45, "x_max": 10.01, "y_max": 45.01})

    with pytest.raises(AOIAreaOutOfRange, match="AOI must be between 100 and 1,000 hectares"):
        check_area(aoi, min_ha=100, max_ha=1_000)
    check_area(aoi, min_ha=80, max_ha=90)


# --- UTM -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (-6.1, 52.0, 32629),
        (-5.9, 52.0, 32630),
        (-6.0, 52.0, 32630),
        (138.63, 35.4, 32654),
        (10.0, -33.0, 32732),
        (3.0, 0.0, 32631),
        (-180.0, -1.0, 32701),
        (180.0, 1.0, 32660),
        (179.99, 1.0, 32660),
    ],
)
def test_utm_epsg(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg(lon, lat) == epsg


def test_utm_epsg_refuses_a_position_off_the_globe() -> None:
    with pytest.raises(ValueError, match="not a WGS84"):
        utm_epsg(200, 0)


def test_split_across_the_zone_29_30_boundary_keeps_the_area() -> None:
    rectangle = parse_bbox({"x_min": -6.2, "y_min": 51.8, "x_max": -5.8, "y_max": 52.2})

    parts = split_by_utm_zone(rectangle)

    assert [epsg for epsg, _ in parts] == [32629, 32630]
    west, east = (part for _, part in parts)
    assert west.bounds[0] == -6.2
    assert west.bounds[2] == east.bounds[0] == -6.0
    assert east.bounds[2] == -5.8
    total = sum(geodesic_hectares(part) for _, part in parts)
    assert total == pytest.approx(geodesic_hectares(rectangle), rel=1e-6)
    assert total == pytest.approx(geodesic_hectares(rectangle), rel=1e-11)


def test_split_cuts_on_the_geodesic_edge_not_the_parallel() -> None:
    rectangle = parse_bbox({"x_min": -6.2, "y_min": 51.8, "x_max": -5.8, "y_max": 52.2})

    _, east = split_by_utm_zone(rectangle)[1]

    # The top edge's geodesic bulges ~19 m (0.00017°) poleward of the 52.2° parallel mid-way.
    assert east.bounds[3] == pytest.approx(52.2 + 0.00017, abs=0.00001)


def test_geometry_inside_one_zone_is_one_part() -> None:
    geometry = parse_geojson(spec_feature())

    parts = split_by_utm_zone(geometry)

    assert len(parts) == 1
    epsg, part = parts[0]
    assert epsg == 32654
    assert part.equals(geometry)


def test_geometry_touching_a_zone_edge_does_not_make_an_empty_part() -> None:
    assert [epsg for epsg, _ in split_by_utm_zone(box(-7, 10, -6, 11))] == [32629]


def test_part_straddling_the_equator_takes_its_centroids_hemisphere() -> None:
    north = split_by_utm_zone(box(1, -1, 2, 3))
    south = split_by_utm_zone(box(1, -3, 2, 1))

    assert [epsg for epsg, _ in north] == [32631]
    assert [epsg for epsg, _ in south] == [32731]


def test_split_of_a_multipolygon_across_three_zones() -> None:
    geometry = MultiPolygon([box(-7, 10, -5, 11), box(0.5, 10, 1, 11)])

    parts = split_by_utm_zone(geometry)

    assert [epsg for epsg, _ in parts] == [32629, 32630, 32631]
    assert sum(geodesic_hectares(part) for _, part in parts) == pytest.approx(
        geodesic_hectares(geometry), rel=1e-11
    )


def test_to_crs_projects_to_utm_metres() -> None:
    origin = to_crs(Point(-3, 0), 32630)
    rectangle = box(-6.2, 52.0, -6.1, 52.1)
    projected = to_crs(rectangle, 32629)

    assert (origin.x, origin.y) == pytest.approx((500_000.0, 0.0), abs=1e-6)
    # Near the zone's middle UTM's scale factor (0.9996) shrinks areas by ~0.08 %.
    assert projected.area / 10_000 == pytest.approx(geodesic_hectares(rectangle), rel=2e-3)
    assert geodesic_hectares(rectangle) == pytest.approx(
        abs(Geod(ellps="WGS84").geometry_area_perimeter(rectangle)[0]) / 10_000, rel=1e-12
    )
