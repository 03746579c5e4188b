"""Request schemas for `/openapi.json`: they describe the bodies, with the spec's examples.

They check nothing. Every rule of a request lives in `jobs.requests` (and the services that
call it), so a body is judged in one place and answered with one error envelope; the numbers
shown here come from that module. Success answers are the typed models of `jobs.answers` in
`jobs.envelope.Envelope`; errors are `jobs.envelope.ErrorEnvelope`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deepres.jobs import requests as rules
from deepres.jobs.envelope import ErrorEnvelope

# The spec's own example area (Norway) and dates, as a bbox so Swagger's "Try it out" body is
# one the service accepts.
SPEC_BBOX: dict[str, Any] = {
    "x_min": 11.16545302951809,
    "y_min": 60.73687126373886,
    "x_max": 11.21197326267199,
    "y_max": 60.75331374707744,
}
CALLBACK = "https://webhook.site/e6249d0a-ed68-4b71-9d09-dc694acb34e4"
TOKEN = "dr_your-client-token"
#: The spec's example search: its area, a cloud limit and its three months.
SEARCH_EXAMPLE: dict[str, Any] = {
    "client_token": TOKEN,
    "bbox": SPEC_BBOX,
    "cloud_cover": 70,
    "start_date": "2023-10-01T00:00:00",
    "end_date": "2024-01-01T00:00:00",
}


def _examples(*bodies: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="allow", json_schema_extra={"examples": list(bodies)})


class _Described(BaseModel):
    # Clients written for the spec send extra fields (e.g. `data_cover`): accepted, not kept.
    model_config = ConfigDict(extra="allow")


class BBox(_Described):
    x_min: float = Field(description="minimum longitude", ge=-180, le=180)
    y_min: float = Field(description="minimum latitude", ge=-90, le=90)
    x_max: float = Field(description="maximum longitude", ge=-180, le=180)
    y_max: float = Field(description="maximum latitude", ge=-90, le=90)


class AreaRequest(_Described):
    client_token: str | None = Field(None, description="or send Authorization: Bearer JWT")
    bbox: BBox | None = Field(None, description="the AOI as a lon/lat box (aoi wins when both)")
    aoi: dict[str, Any] | None = Field(
        None,
        description="GeoJSON Feature, FeatureCollection of one feature, Polygon or MultiPolygon "
        "(one ring, one polygon), or a GeometryCollection extent",
    )
    cloud_cover: float = Field(
        ge=rules.CLOUD_COVER_RANGE[0],
        le=rules.CLOUD_COVER_RANGE[1],
        description="largest cloud, shadow and cirrus percentage inside the AOI",
    )
    start_date: str | None = Field(None, description="ISO 8601 date or date-time")
    end_date: str | None = Field(None, description="ISO 8601 date or date-time")


class AvailableDatesRequest(AreaRequest):
    model_config = _examples(SEARCH_EXAMPLE | {"callback_url": CALLBACK})

    callback_url: str = Field(
        max_length=rules.MAX_CALLBACK_CHARS, description="where the dates are POSTed"
    )


class InitiateRequest(AreaRequest):
    model_config = _examples(SEARCH_EXAMPLE)

    callback_url: str | None = Field(None, max_length=rules.MAX_CALLBACK_CHARS)


class JobRequestBody(AreaRequest):
    model_config = _examples(
        {
            "client_token": TOKEN,
            "bbox": SPEC_BBOX,
            "cloud_cover": 70,
            "interval": 5,
            "end_date": "2024-01-01T00:00:00",
            "callback_url": CALLBACK,
        },
        {
            "client_token": TOKEN,
            "bbox": SPEC_BBOX,
            "cloud_cover": 20,
            "dates": ["2023-10-01T00:00:00"],
            "model": "deepres-s2sr",
            "scale": 4,
        },
    )

    callback_url: str | None = Field(
        None, max_length=rules.MAX_CALLBACK_CHARS, description="where each file is announced"
    )
    interval: int | None = Field(
        None, ge=1, le=rules.MAX_INTERVAL_DAYS, description="days between searches (default 1)"
    )
    dates: list[str] | None = Field(
        None, max_length=rules.MAX_EXPLICIT_DATES, description="the dates to process"
    )
    model: str | None = Field(
        None, description="a model of GET /deep-resolution/models (default: the service's)"
    )
    scale: Literal[1, 2, 4] | None = Field(None, description="1: 10 m, 2: 5 m, 4: 2.5 m")


class PipelineRef(_Described):
    model_config = _examples({"pipelineId": "3g4PovfhGxmymQolpgvv"})

    pipelineId: str = Field(description="from .../initiate, or a job id")  # the mechanics name


class TokenRequest(_Described):
    model_config = _examples({"client_token": TOKEN})

    client_token: str


class TokenResponse(BaseModel):
    id_token: str
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


#: Request bodies the routes read themselves; `openapi.py` adds them to the document.
REQUEST_BODIES: tuple[type[BaseModel], ...] = (
    AvailableDatesRequest,
    InitiateRequest,
    JobRequestBody,
    PipelineRef,
    TokenRequest,
)


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body `model` describes (read by `json_body`)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def errors_for(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error codes, all in the envelope."""
    return {code: {"model": ErrorEnvelope} for code in codes}
