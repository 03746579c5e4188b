"""`/openapi.json` as the service really behaves: its bodies, its errors, its models.

FastAPI's generated document is adjusted in three ways:
* the request bodies the routes read themselves (`schemas.REQUEST_BODIES`) join the components;
* FastAPI's own `422 HTTPValidationError` goes: validation errors answer 400 in the envelope
  (documented per route), 422 only where an AOI has too many vertices;
* the job's `model` field lists the models this service can run.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from deepres.api.schemas import REQUEST_BODIES

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _drop_fastapi_422(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            schema = (
                responses.get("422", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            if schema.get("$ref") == _FASTAPI_422:
                del responses["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _add_bodies(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in REQUEST_BODIES:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema


def _list_models(document: dict[str, Any], names: list[str]) -> None:
    model = document["components"]["schemas"]["JobRequestBody"]["properties"]["model"]
    model["anyOf"] = [{"type": "string", "enum": names}, {"type": "null"}]


def install(app: FastAPI, model_names: list[str]) -> None:
    """Replace `app.openapi` with the adjusted document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _add_bodies(document)
            _drop_fastapi_422(document)
            _list_models(document, model_names)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
