"""`Scene`: one Sentinel-2 L2A item, reduced to what deepres reads from it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from deepres.bands import L2A_BOA_OFFSET_DN
from deepres.types import BBox


@dataclass(frozen=True)
class Scene:
    """A catalog item: identity, acquisition, grid and per-band asset hrefs.

    `assets` maps band ids (`B02` … `B12`, `SCL`) to local paths or URLs, whatever key scheme
    (Earth Search v1 `blue`…, v0 `B02`…) the item used.
    """

    id: str
    datetime: dt.datetime
    mgrs: str
    epsg: int | None
    assets: dict[str, str]
    geometry: dict[str, Any] | None = None
    bbox: BBox | None = None
    eo_cloud_cover: float | None = None
    processing_baseline: str | None = None
    boa_offset_applied: bool | None = None
    properties: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, so a job-date row can carry its scene to a worker."""
        return {
            "id": self.id,
            "datetime": self.datetime.isoformat(),
            "mgrs": self.mgrs,
            "epsg": self.epsg,
            "assets": dict(self.assets),
            "geometry": self.geometry,
            "bbox": list(self.bbox) if self.bbox else None,
            "eo_cloud_cover": self.eo_cloud_cover,
            "processing_baseline": self.processing_baseline,
            "boa_offset_applied": self.boa_offset_applied,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scene:
        bbox = data.get("bbox")
        return cls(
            id=data["id"],
            datetime=dt.datetime.fromisoformat(data["datetime"]),
            mgrs=data["mgrs"],
            epsg=data.get("epsg"),
            assets=dict(data["assets"]),
            geometry=data.get("geometry"),
            bbox=(bbox[0], bbox[1], bbox[2], bbox[3]) if bbox else None,
            eo_cloud_cover=data.get("eo_cloud_cover"),
            processing_baseline=data.get("processing_baseline"),
            boa_offset_applied=data.get("boa_offset_applied"),
        )

    @property
    def date(self) -> dt.date:
        return self.datetime.astimezone(dt.UTC).date()

    @property
    def offset_dn(self) -> int:
        """DN to subtract from the reflectance pixels so that reflectance = DN / 10000.

        Baseline < 04.00: none. Baseline >= 04.00: 1000 unless Earth Search says it already
        removed it (`earthsearch:boa_offset_applied: true`); the stale `raster:bands` offset of
        -0.1 in such items is ignored on purpose.
        """
        if self.processing_baseline is None or self.boa_offset_applied:
            return 0
        try:
            major = float(self.processing_baseline)
        except ValueError:
            return 0
        return L2A_BOA_OFFSET_DN if major >= 4.0 else 0
