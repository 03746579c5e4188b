"""The super-resolution models a job may name, with the scales each supports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from deepres.api.deps import get_runtime
from deepres.jobs.requests import SCALES
from deepres.sr import describe_models

router = APIRouter()


class ModelEntry(BaseModel):
    """One model: its name (the job's `model`), version and output scales."""

    name: str = Field(examples=["deepres-s2sr"])
    version: str
    scales: list[int] = Field(
        description="the scales a job may ask of it; 1: 10 m, 2: 5 m, 4: 2.5 m",
        examples=[[1, 2, 4]],
    )
    baseline: bool = Field(description="true for bicubic, the interpolation baseline")
    default: bool = Field(description="the model a job gets when it names none")
    description: str = ""


class ModelList(BaseModel):
    results: list[ModelEntry]


@router.get(
    "/deep-resolution/models",
    response_model=ModelList,
    summary="The models a job may name (`model`) and the scales each supports",
)
def models(request: Request) -> ModelList:
    settings = get_runtime(request).settings
    return ModelList(
        results=[
            ModelEntry(
                name=m.name,
                version=m.version,
                scales=[s for s in m.scales if s in SCALES],
                baseline=m.baseline,
                default=m.name == settings.default_model,
                description=m.description,
            )
            for m in describe_models(settings.models_dir)
        ]
    )
