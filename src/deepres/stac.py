"""STAC for results: an Item per produced COG, a Collection and an ItemCollection per job.

Each processed job date (one date, one MGRS tile) is an Item `{job_id}-{mgrs}-{date}` whose
`data` asset is a signed link to the COG. The job is a Collection whose `items` link names the
ItemCollection (a GeoJSON FeatureCollection of every item, assets signed) and whose `item` links
name each item: a STAC client reads the collection and then the items, and odc-stac or QGIS can
load the ItemCollection directly. Items carry the projection, eo and raster extension fields that
such readers need to read the COG without opening it first (CRS, shape, transform, dtype, nodata,
scale). `proj:code` is the projection extension v2 field; `proj:epsg` (v1) is kept beside it for
readers that predate v2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pystac
import shapely
from pyproj import Transformer
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from shapely.geometry import box, mapping, shape

from deepres.bands import OUTPUT_BANDS, REFLECTANCE_SCALE, S2_BANDS
from deepres.jobs.models import DateState, Job, JobDate

#: Media type of the `data` asset.
COG_MEDIA_TYPE = str(pystac.MediaType.COG)
GEOJSON = "application/geo+json"
JSON = "application/json"


# Longest footprint edge (CRS units, metres in UTM) left without intermediate vertices.
_DENSIFY_M = 10_000.0

#: `href_for(storage_key)` gives a link that downloads the stored file.
HrefFor = Callable[[str], str]


@dataclass(frozen=True)
class StacLinks:
    """Where one job's STAC documents are served; `collection` is the collection's URL."""

    collection: str

    @property
    def items(self) -> str:
        """URL of the job's ItemCollection."""
        return f"{self.collection}/items"

    def item(self, item_id: str) -> str:
        """URL of one item."""
        return f"{self.items}/{item_id}"


def item_id(job_id: str, mgrs: str, date: dt.date) -> str:
    """The id of the item describing `job_id`'s product for one MGRS tile and date."""
    return f"{job_id}-{mgrs}-{date.isoformat()}"


def described(rows: Iterable[JobDate]) -> list[JobDate]:
    """The rows that have a stored product to describe, by date then tile."""
    done = [
        r
        for r in rows
        if r.state == DateState.PROCESSED and r.storage_key and r.product is not None
    ]
    return sorted(done, key=lambda r: (r.date, r.mgrs))


def footprint_wgs84(epsg: int, bounds: Sequence[float]) -> dict[str, Any]:
    """The GeoJSON polygon (lon/lat, counter-clockwise) of `bounds` in EPSG:`epsg`.

    `bounds` is (left, bottom, right, top). Edges longer than 10 km get intermediate vertices,
    so that a large footprint follows the projected rectangle's curved outline.
    """
    left, bottom, right, top = (float(v) for v in bounds)
    rect = shapely.segmentize(box(left, bottom, right, top), _DENSIFY_M)
    to_wgs84 = Transformer.from_crs(epsg, 4326, always_xy=True)
    lonlat = shapely.transform(rect, lambda xy: _round(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    geometry: dict[str, Any] = mapping(lonlat)
    return geometry


def _round(lonlat: tuple[Any, Any]) -> npt.NDArray[np.float64]:
    return np.round(np.column_stack(lonlat), 7)


def _bands(resolution: float) -> tuple[list[Band], list[RasterBand]]:
    eo, raster = [], []
    for name in OUTPUT_BANDS:
        common, centre, fwhm, _ = S2_BANDS[name]
        eo.append(
            Band.create(
                name=name, common_name=common, center_wavelength=centre, full_width_half_max=fwhm
            )
        )
        raster.append(
            RasterBand.create(
                data_type=DataType.UINT16,
                nodata=0,
                scale=REFLECTANCE_SCALE,
                offset=0,
                spatial_resolution=resolution,
            )
        )
    return eo, raster


def _acquired(row: JobDate) -> dt.datetime:
    """The scene's acquisition time, else midnight UTC of the row's date."""
    raw = (row.scene or {}).get("datetime")
    if isinstance(raw, str):
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(row.date, dt.time(), tzinfo=dt.UTC)


def product_item(row: JobDate, href: str, *, links: StacLinks | None = None) -> pystac.Item:
    """The STAC item of one processed job date; `href` is the (signed) link to its COG."""
    if row.product is None or row.storage_key is None:
        raise ValueError(f"job date {row.id} has no product to describe")
    product: Mapping[str, Any] = row.product
    epsg = int(product["epsg"])
    bounds = [float(v) for v in product["bounds"]]
    width, height = int(product["width"]), int(product["height"])
    resolution = float(product["resolution"])
    geometry = footprint_wgs84(epsg, bounds)
    properties: dict[str, Any] = {
        "gsd": resolution,
        "deepres:job_id": row.job_id,
        "deepres:mgrs": row.mgrs,
        "deepres:model": product.get("model"),
        "deepres:model_version": product.get("model_version"),
        "deepres:scale": product.get("scale"),
        "deepres:source_item": product.get("scene_id") or row.item_id,
        "constellation": "sentinel-2",
    }
    if product.get("shift_20m_px"):
        # (down, right) in 20 m pixels: the 20 m bands were co-registered with the 10 m bands
        properties["deepres:shift_20m_px"] = [float(v) for v in product["shift_20m_px"]]
    item = pystac.Item(
        id=item_id(row.job_id, row.mgrs, row.date),
        geometry=geometry,
        bbox=list(shape(geometry).bounds),
        datetime=_acquired(row),
        properties=properties,
        collection=row.job_id,
    )
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    proj.epsg = epsg
    proj.shape = [height, width]
    left, _bottom, _right, top = bounds
    proj.transform = [resolution, 0.0, left, 0.0, -resolution, top]
    proj.bbox = bounds
    EOExtension.ext(item, add_if_missing=True)
    if row.cloud_cover is not None:
        # Cloud cover inside the AOI (what the status answers carry), not the whole scene's.
        EOExtension.ext(item).cloud_cover = row.cloud_cover
    asset = pystac.Asset(
        href=href,
        title=f"{row.date.isoformat()} {row.mgrs}: {len(OUTPUT_BANDS)} super-resolved bands",
        media_type=COG_MEDIA_TYPE,
        roles=["data"],
    )
    item.add_asset("data", asset)
    eo_bands, raster_bands = _bands(resolution)
    EOExtension.ext(asset).bands = eo_bands
    RasterExtension.ext(asset, add_if_missing=True).bands = raster_bands
    if links is not None:
        item.add_link(pystac.Link("self", links.item(item.id), media_type=GEOJSON))
        item.add_link(pystac.Link("parent", links.collection, media_type=JSON))
        item.add_link(pystac.Link("collection", links.collection, media_type=JSON))
        item.add_link(pystac.Link("root", links.collection, media_type=JSON))
    return item


def item_dict(item: pystac.Item) -> dict[str, Any]:
    """The JSON form of `item`, with `proj:epsg` beside `proj:code` for pre-v2 readers."""
    data = item.to_dict(include_self_link=True, transform_hrefs=False)
    code = data["properties"].get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        data["properties"]["proj:epsg"] = int(code.split(":", 1)[1])
    return data


def job_items(
    rows: Iterable[JobDate], href_for: HrefFor, *, links: StacLinks | None = None
) -> list[dict[str, Any]]:
    """The items of every produced file among `rows`, assets linked through `href_for`."""
    return [
        item_dict(product_item(r, href_for(r.storage_key or ""), links=links))
        for r in described(rows)
    ]


def job_item_collection(
    rows: Iterable[JobDate], href_for: HrefFor, *, links: StacLinks | None = None
) -> dict[str, Any]:
    """A STAC ItemCollection (GeoJSON FeatureCollection) of the job's produced files."""
    out: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": job_items(rows, href_for, links=links),
    }
    if links is not None:
        out["links"] = [
            {"rel": "self", "href": links.items, "type": GEOJSON},
            {"rel": "collection", "href": links.collection, "type": JSON},
            {"rel": "root", "href": links.collection, "type": JSON},
        ]
    return out


def _extent(job: Job, items: Sequence[pystac.Item]) -> pystac.Extent:
    if items:
        boxes = [it.bbox for it in items if it.bbox]
        bbox = [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
        times = sorted(it.datetime for it in items if it.datetime)
        interval: list[dt.datetime | None] = [times[0], times[-1]]
    else:
        bbox = list(shape(job.aoi).bounds)
        interval = [
            _day(job.start_date) or job.created_at.replace(tzinfo=dt.UTC),
            _day(job.end_date),
        ]
    return pystac.Extent(pystac.SpatialExtent([bbox]), pystac.TemporalExtent([interval]))


def _day(date: dt.date | None) -> dt.datetime | None:
    return None if date is None else dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC)


def job_collection(
    job: Job, rows: Iterable[JobDate], href_for: HrefFor, *, links: StacLinks | None = None
) -> dict[str, Any]:
    """The STAC collection of `job`: extent and summaries of its items, links to each of them.

    Items are linked (`item` links, `items` to the ItemCollection), not embedded: a collection
    has no place for them. Before any date is processed the extent is the AOI's bounds.
    """
    items = [product_item(r, href_for(r.storage_key or ""), links=links) for r in described(rows)]
    collection = pystac.Collection(
        id=job.id,
        title=f"deepres job {job.id}",
        description=(
            f"Sentinel-2 L2A super-resolved by deepres over an AOI of {job.area_hectares:.2f} ha "
            f"(model {job.model}, scale {job.scale}). Contains modified Copernicus Sentinel data."
        ),
        extent=_extent(job, items),
        license="other",
        providers=[
            pystac.Provider(
                "ESA", roles=[pystac.ProviderRole.PRODUCER, pystac.ProviderRole.LICENSOR]
            ),
            pystac.Provider("deepres", roles=[pystac.ProviderRole.PROCESSOR]),
        ],
        summaries=_summaries(items),
    )
    data = collection.to_dict(include_self_link=False, transform_hrefs=False)
    data["links"] = [] if links is None else _collection_links(links, items)
    return data


def _summaries(items: Sequence[pystac.Item]) -> pystac.Summaries | None:
    if not items:
        return None
    fields = ("gsd", "deepres:model", "deepres:scale", "deepres:mgrs")
    return pystac.Summaries(
        {
            f: sorted({it.properties[f] for it in items if it.properties.get(f) is not None})
            for f in fields
        }
    )


def _collection_links(links: StacLinks, items: Sequence[pystac.Item]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"rel": "self", "href": links.collection, "type": JSON},
        {"rel": "root", "href": links.collection, "type": JSON},
        {
            "rel": "items",
            "href": links.items,
            "type": GEOJSON,
            "title": "every item, assets signed",
        },
    ]
    out += [
        {"rel": "item", "href": links.item(it.id), "type": GEOJSON, "title": it.id} for it in items
    ]
    return out
