"""`GET /deep-resolution/catalog`: where and when the configured catalog holds scenes.

A first look for a new user (the console fits its map to the extent and lists the latest scenes):
a static catalog is read whole; a STAC API answers its collection's declared extent and a small
newest-first search.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from deepres.api.deps import authorized, get_runtime
from deepres.api.schemas import errors_for
from deepres.auth import permissions as perm
from deepres.auth.clients import Principal
from deepres.catalog.scene import Scene
from deepres.catalog.search import CatalogOverview

router = APIRouter()

#: How many recent scenes a caller may ask for.
MAX_RECENT = 50


class CatalogExtent(BaseModel):
    """The catalog's spatial and temporal extent; null where the catalog does not say."""

    bbox: list[float] | None = Field(
        description="WGS84 [west, south, east, north]", examples=[[-11.98, 24.3, 12.72, 52.53]]
    )
    start: dt.datetime | None = Field(description="first acquisition (UTC)")
    end: dt.datetime | None = Field(description="last acquisition (UTC); null: still open")


class CatalogScene(BaseModel):
    """One scene of the catalog, as a job date would name it."""

    id: str
    datetime: dt.datetime
    date: dt.date
    mgrs: str = Field(examples=["29RKH"])
    bbox: list[float] | None = Field(description="WGS84 [west, south, east, north]")
    geometry: dict[str, Any] | None = Field(description="the footprint, GeoJSON in WGS84")
    cloud_cover: float | None = Field(description="scene-level eo:cloud_cover, %")


class CatalogAnswer(BaseModel):
    """What GET /deep-resolution/catalog answers."""

    kind: Literal["static", "stac-api"] = Field(
        description="static: a STAC file read whole; stac-api: a STAC API"
    )
    collection: str | None
    extent: CatalogExtent
    scene_count: int | None = Field(description="scenes in a static catalog; null for an API")
    recent: list[CatalogScene] = Field(description="the most recent scenes, newest first")


def _scene(scene: Scene) -> CatalogScene:
    return CatalogScene(
        id=scene.id,
        datetime=scene.datetime,
        date=scene.date,
        mgrs=scene.mgrs,
        bbox=list(scene.bbox) if scene.bbox else None,
        geometry=scene.geometry,
        cloud_cover=scene.eo_cloud_cover,
    )


def answer(overview: CatalogOverview) -> CatalogAnswer:
    """The wire form of a catalog overview."""
    return CatalogAnswer(
        kind=overview.kind,
        collection=overview.collection,
        extent=CatalogExtent(
            bbox=list(overview.bbox) if overview.bbox else None,
            start=overview.start,
            end=overview.end,
        ),
        scene_count=overview.scene_count,
        recent=[_scene(scene) for scene in overview.recent],
    )


@router.get(
    "/deep-resolution/catalog",
    response_model=CatalogAnswer,
    responses=errors_for(400, 401, 403, 429, 500, 503),
    summary="The catalog's extent in space and time and its most recent scenes",
)
def catalog(
    request: Request,
    response: Response,
    limit: int = Query(10, ge=1, le=MAX_RECENT, description="how many recent scenes"),
    principal: Principal = Depends(authorized(perm.AVAILABLE_DATES)),
) -> CatalogAnswer:
    overview = get_runtime(request).catalog.overview(limit)
    # Catalogs change slowly: a console opened twice in a minute need not ask again.
    response.headers["Cache-Control"] = "private, max-age=60"
    return answer(overview)
