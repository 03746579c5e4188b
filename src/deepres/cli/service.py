"""`deepres serve | api | worker | scheduler | migrate | clients | catalog`: the service itself."""

from __future__ import annotations

import gc
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deepres.settings import Settings

if TYPE_CHECKING:
    from deepres.jobs.runtime import Runtime

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    help="deepres: on-demand super-resolution of Sentinel-2 imagery over an area of interest.",
)
clients_app = typer.Typer(no_args_is_help=True, help="Manage API clients.")
catalog_app = typer.Typer(no_args_is_help=True, help="Build static STAC catalogs of local scenes.")
app.add_typer(clients_app, name="clients")
app.add_typer(catalog_app, name="catalog")


def _log_level() -> str:
    return os.environ.get("DEEPRES_LOG_LEVEL", "INFO").upper()


def _logging() -> None:
    logging.basicConfig(
        level=_log_level(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from deepres.jobs.migrate import upgrade

    settings = Settings()
    upgrade(settings.effective_database_url)
    typer.echo(f"database ready: {_safe_url(settings.effective_database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


HostOpt = Annotated[
    str | None, typer.Option("--host", help="bind address (DEEPRES_HOST, default 127.0.0.1)")
]
PortOpt = Annotated[
    int | None, typer.Option("--port", min=1, max=65535, help="port (DEEPRES_PORT, default 8000)")
]


WORKER_NICE = 10  # the processing worker's CPU priority below the API's (nice(1))


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    """Settings from the environment, with the command line's host and port on top."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    return Settings(**overrides)  # type: ignore[arg-type]


def _server(settings: Settings) -> Any:
    import uvicorn

    from deepres.api.app import create_app

    application = create_app(settings)
    # What start-up built lives as long as the process: keep it out of every later garbage
    # collection, which would otherwise walk all of it again and again under load.
    gc.freeze()
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_level=_log_level().lower(),  # INFO (the default) logs each request; WARNING does not
        proxy_headers=False,
        # asyncio's own loop, not uvloop: under load (200 connections on 2 cores) uvloop stopped
        # accepting: 90 of the 200 connections sat in the listen queue unserved for the whole run.
        loop="asyncio",
    )
    return uvicorn.Server(config)


@app.command()
def api(
    host: HostOpt = None,
    port: PortOpt = None,
    fd: Annotated[
        int | None, typer.Option(hidden=True, help="serve on this inherited listening socket")
    ] = None,
) -> None:
    """Run the HTTP API."""
    _logging()
    settings = _settings(host, port)
    if fd is None:
        _warn_if_catalog_unreachable(settings)
        logging.getLogger("deepres").info("links point at %s", settings.effective_public_url)
    # serve's listening socket, when given, as itself (uvicorn's `fd=` would wrap it as AF_UNIX)
    _server(settings).run(sockets=None if fd is None else [socket.socket(fileno=fd)])


def _warn_if_catalog_unreachable(settings: Settings) -> None:
    """Say plainly at start-up when the configured STAC catalog cannot be reached."""
    import httpx

    url = settings.catalog_url
    if url.startswith(("http://", "https://")):
        try:
            httpx.get(url, timeout=5).raise_for_status()
            return
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
    elif Path(url.removeprefix("file://")).is_file():
        return
    else:
        problem = "no such file"
    logging.getLogger("deepres").warning(
        "The catalog %s cannot be reached (%s). Searches will fail until it can. To work on "
        "local scenes: deepres catalog index DIR -o catalog.json, then set "
        "DEEPRES_CATALOG_URL to that file (see the README).",
        url,
        problem,
    )


@app.command()
def worker(
    queues: str = typer.Option("catalog,sr,delivery", help="comma-separated queues to consume"),
    concurrency: int | None = typer.Option(None, help="tasks at once (DEEPRES_WORKER_CONCURRENCY)"),
    pool: str = typer.Option("threads", help="Celery pool: threads, prefork or solo"),
) -> None:
    """Run a Celery worker (any number, on any machine).

    SIGTERM stops it within seconds: a date in progress goes back to the queue for another
    worker. The default threads pool shares one model per process (ONNX Runtime, GDAL and
    NumPy work outside the GIL).
    """
    from deepres.jobs.celery_app import create_celery

    settings = Settings()
    celery = create_celery(settings)
    celery.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "-Q",
            queues,
            "-P",
            pool,
            "-c",
            str(concurrency or settings.worker_concurrency),
            "-n",
            f"deepres-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@app.command()
def scheduler() -> None:
    """Run the scheduler: watches open-ended jobs and takes up abandoned work."""
    from deepres.jobs.runtime import Runtime
    from deepres.jobs.scheduler import run_forever

    _logging()
    run_forever(Runtime(Settings()))


@app.command()
def serve(host: HostOpt = None, port: PortOpt = None) -> None:
    """Run API, workers and scheduler together on the embedded default (one machine).

    The API runs in DEEPRES_API_WORKERS processes on one listening socket (one per core by
    default). Processing and webhook delivery run in separate workers, so a slow receiver never
    takes a processing slot. A part that dies is started again. SIGTERM or Ctrl-C stops
    everything: the API at once, the workers after handing unfinished dates back, and nothing
    is left running.
    """
    from deepres.cli.processes import Children, StopOnSignal, listening_socket
    from deepres.jobs.dispatch import QUEUE_CATALOG, QUEUE_DELIVERY, QUEUE_SR
    from deepres.jobs.migrate import upgrade

    _logging()
    settings = _settings(host, port)
    upgrade(settings.effective_database_url)
    _warn_if_catalog_unreachable(settings)
    stop = StopOnSignal()
    env = {
        **os.environ,
        "DEEPRES_HOME": str(settings.resolved_home),
        "DEEPRES_HOST": settings.host,
        "DEEPRES_PORT": str(settings.port),
    }
    listener = listening_socket(settings.host, settings.port)
    children = Children(env)
    try:
        for _ in range(settings.effective_api_workers):
            children.start("api", "--fd", str(listener.fileno()), pass_fds=(listener.fileno(),))
        # Processing yields the CPU to the API: on one machine a busy worker must not make
        # every status call wait (status p99 under load beside processing: 544 ms, niced 388).
        children.start("worker", "--queues", f"{QUEUE_CATALOG},{QUEUE_SR}", nice=WORKER_NICE)
        children.start(
            "worker",
            "--queues",
            QUEUE_DELIVERY,
            "--concurrency",
            str(settings.delivery_concurrency),
        )
        children.start("scheduler")
        log = logging.getLogger("deepres")
        log.info(
            "deepres on http://%s:%d (%d API processes); links point at %s",
            settings.host,
            settings.port,
            settings.effective_api_workers,
            settings.effective_public_url,
        )
        stop.wait(children.revive)
    finally:
        listener.close()
        children.stop(settings.shutdown_grace_seconds)


def _migrated_runtime() -> Runtime:
    """A Runtime whose database schema is current (so `clients` works before `migrate`)."""
    from deepres.jobs.migrate import upgrade
    from deepres.jobs.runtime import Runtime

    settings = Settings()
    upgrade(settings.effective_database_url)
    return Runtime(settings)


@clients_app.command("create")
def clients_create(
    name: str = typer.Option(..., "--name", help="who the client is"),
    permissions: str | None = typer.Option(
        None, help="comma-separated dotted permissions (default: deep-resolution,tasking)"
    ),
    hectares: float | None = typer.Option(None, help="hectare allocation (default: unlimited)"),
) -> None:
    """Create a client; its token is printed once, on the last line."""
    from deepres.auth.clients import create_client
    from deepres.auth.permissions import DEFAULT_PERMISSIONS

    perms = (
        [p.strip() for p in permissions.split(",") if p.strip()]
        if permissions
        else list(DEFAULT_PERMISSIONS)
    )
    runtime = _migrated_runtime()
    with runtime.db.session() as s:
        client, token = create_client(s, runtime.keys, name, perms, hectares)
        secret = runtime.keys.decrypt(client.webhook_secret_encrypted)
        typer.echo(f"client {client.id} ({name}) permissions: {','.join(perms)}")
        typer.echo(f"webhook secret (Standard Webhooks signatures): {secret}")
    typer.echo(token)


@clients_app.command("rotate")
def clients_rotate(client_id: str) -> None:
    """Give a client a new token; the old one stops working. Prints the new token last."""
    from deepres.auth.clients import rotate_token
    from deepres.auth.models import Client

    runtime = _migrated_runtime()
    with runtime.db.session() as s:
        client = s.get(Client, client_id)
        if client is None:
            typer.echo(f"no client {client_id}", err=True)
            raise typer.Exit(1)
        token = rotate_token(s, runtime.keys, client)
    typer.echo(token)


@catalog_app.command("index")
def catalog_index(
    directory: list[Path] = typer.Argument(..., help="scene folders, or folders of them"),
    out: Path = typer.Option(..., "-o", "--out", help="the item-collection JSON to write"),
) -> None:
    """Index folders of per-band GeoTIFFs into a static STAC item collection.

    Folders that cannot be indexed are listed with the reason, and so are scenes that are
    indexed with a limit (no SCL: cloud cover unknown; missing bands: cannot be processed).
    """
    from deepres.catalog.index import write_report
    from deepres.errors import DeepresError

    try:
        report = write_report(directory, out)
    except DeepresError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.folder}: {skipped.reason}", err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    n = len(report.collection["features"])
    typer.echo(f"wrote {out} ({n} items); set DEEPRES_CATALOG_URL={out.resolve()}")
