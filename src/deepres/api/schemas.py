"""Pydantic models of the wire format, so /openapi.json says what the service answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    # Clients written for the spec send extra fields (e.g. `data_cover`): accept and ignore them.
    model_config = ConfigDict(extra="allow")


class BBox(_Open):
    x_min: float = Field(description="minimum longitude")
    y_min: float = Field(description="minimum latitude")
    x_max: float = Field(description="maximum longitude")
    y_max: float = Field(description="maximum latitude")


class AreaRequest(_Open):
    client_token: str | None = Field(None, description="or send Authorization: Bearer JWT")
    bbox: BBox | None = None
    aoi: dict[str, Any] | None = Field(
        None,
        description="GeoJSON Feature, FeatureCollection of one feature, Polygon or MultiPolygon",
    )
    cloud_cover: float = Field(ge=0, le=100, description="largest cloud percentage inside the AOI")
    start_date: str | None = Field(None, description="ISO 8601")
    end_date: str | None = Field(None, description="ISO 8601")


class AvailableDatesRequest(AreaRequest):
    callback_url: str


class InitiateRequest(AreaRequest):
    callback_url: str | None = None


class JobRequestBody(AreaRequest):
    callback_url: str | None = Field(None, description="where each produced file is announced")
    interval: int | None = Field(None, ge=1, le=365, description="days between searches")
    dates: list[str] | None = None
    model: str | None = Field(None, description="a registered model name (default: the service's)")
    scale: Literal[1, 2, 4] | None = Field(None, description="1: 10 m, 2: 5 m, 4: 2.5 m")


class PipelineRef(_Open):
    pipelineId: str  # the mechanics document's name


class TokenRequest(BaseModel):
    client_token: str


class TokenResponse(BaseModel):
    id_token: str
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class Envelope(BaseModel):
    statusCode: int
    data: dict[str, Any]
    version: str
    timestamp: str
    status: str | None = None


class ErrorData(BaseModel):
    message: str
    detail: str | None = None


class ErrorEnvelope(BaseModel):
    statusCode: int
    data: ErrorData
    error: str
    errorMessage: str
    version: str
    timestamp: str


class PipelineStatus(BaseModel):
    pipelineId: str
    status: Literal["NEW", "PROCESSING", "RESOLVED", "FAILED"]
    nextTry: int | None = None


class JobsPage(BaseModel):
    results: list[dict[str, Any]]
    cursor: str | None


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


def errors_for(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error codes, all in the envelope."""
    return {code: {"model": ErrorEnvelope} for code in codes}
