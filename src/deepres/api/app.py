"""The FastAPI application: composes routers, error handlers and middleware."""

from __future__ import annotations

from fastapi import FastAPI

from deepres import __version__
from deepres.api import (
    openapi,
    routes_catalog,
    routes_console,
    routes_dates,
    routes_docs,
    routes_jobs,
    routes_misc,
    routes_models,
    routes_quicklooks,
    routes_stac,
    routes_webhooks,
)
from deepres.api.errors import add_exception_handlers
from deepres.api.middleware import RequestContext
from deepres.api.ratelimit import RateLimiter
from deepres.jobs.runtime import Runtime
from deepres.settings import Settings
from deepres.sr import describe_models


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The deepres API over `runtime` (built from `settings` when not given)."""
    runtime = runtime or Runtime(settings or Settings())
    app = FastAPI(
        title="deepres",
        version=__version__,
        description=(
            "On-demand super-resolution of Sentinel-2 L2A imagery over an area of interest. "
            "Wire-compatible with the Deep Resolution API; errors use one envelope."
        ),
        docs_url=None,  # served by routes_docs from vendored files, so it works offline
        redoc_url=None,
    )
    app.state.runtime = runtime
    settings = runtime.settings
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.auth_failures = RateLimiter(
        settings.failed_auth_per_minute, "failed authentications", "address"
    )
    app.state.metrics_limiter = RateLimiter(settings.metrics_per_minute, "requests", "address")
    add_exception_handlers(app)
    app.add_middleware(RequestContext, max_body=runtime.settings.max_body_bytes)
    # First: routes are matched in order, and status is what clients poll.
    app.include_router(routes_jobs.router)
    app.include_router(routes_misc.router)
    app.include_router(routes_dates.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_models.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_stac.router)
    app.include_router(routes_quicklooks.router)
    app.include_router(routes_console.router)
    app.include_router(routes_docs.router)
    models = describe_models(runtime.settings.models_dir)
    openapi.install(app, [m.name for m in models])
    return app
