"""Small shared types every layer may import: bounding boxes and the spec's date format."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

#: (left, bottom, right, top): x_min, y_min, x_max, y_max in the CRS at hand.
BBox: TypeAlias = tuple[float, float, float, float]
#: (x, y) in the CRS at hand (lon, lat in WGS84).
Point: TypeAlias = tuple[float, float]


def spec_date(day: dt.date) -> str:
    """A date as the Deep Resolution API writes it: `2023-10-01T00:00:00.000Z`."""
    return f"{day.isoformat()}T00:00:00.000Z"
