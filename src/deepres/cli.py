"""The `deepres` command line: run the service, manage clients, index local scenes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from deepres.settings import Settings

if TYPE_CHECKING:
    from deepres.jobs.runtime import Runtime

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
clients_app = typer.Typer(no_args_is_help=True, help="Manage API clients.")
catalog_app = typer.Typer(no_args_is_help=True, help="Build static STAC catalogs of local scenes.")
app.add_typer(clients_app, name="clients")
app.add_typer(catalog_app, name="catalog")


def _logging() -> None:
    logging.basicConfig(
        level=os.environ.get("DEEPRES_LOG_LEVEL", "INFO"),
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


@app.command()
def api(
    host: str | None = typer.Option(None, help="bind address (DEEPRES_HOST)"),
    port: int | None = typer.Option(None, help="port (DEEPRES_PORT)"),
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from deepres.api.app import create_app

    _logging()
    settings = Settings()
    _warn_if_catalog_unreachable(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        proxy_headers=False,
    )


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
    concurrency: int | None = typer.Option(
        None, help="worker processes (DEEPRES_WORKER_CONCURRENCY)"
    ),
) -> None:
    """Run a Celery worker (any number, on any machine)."""
    from deepres.jobs.celery_app import create_celery

    settings = Settings()
    celery = create_celery(settings)
    celery.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "-Q",
            queues,
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
def serve() -> None:
    """Run API, worker and scheduler together on the embedded default (one machine)."""
    from deepres.jobs.migrate import upgrade

    _logging()
    settings = Settings()
    upgrade(settings.effective_database_url)
    env = {**os.environ, "DEEPRES_HOME": str(settings.resolved_home)}
    children = [
        subprocess.Popen([sys.executable, "-m", "deepres", role], env=env)
        for role in ("worker", "scheduler")
    ]

    def stop_children(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()

    try:
        api(host=None, port=None)
    finally:
        stop_children()


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
    """Index folders of per-band GeoTIFFs into a static STAC item collection."""
    from deepres.catalog.index import write_index

    collection = write_index(directory, out)
    n = len(collection.get("features", []))
    typer.echo(f"wrote {out} ({n} items); set DEEPRES_CATALOG_URL={out.resolve()}")


def _mount_subcommands() -> None:
    # Imported here, not at the top, so `deepres --help` stays fast; an import error is a bug
    # and must fail loudly rather than make commands vanish.
    from deepres.client.cli import register
    from deepres.sr.cli import sr_app

    app.add_typer(sr_app, name="sr")
    register(app)


_mount_subcommands()


def main() -> None:
    app()
