"""The `deepres` command line: run the service, manage clients, index scenes, super-resolve.

Commands only parse, call the library, print and return. `service` holds the service's own
commands, `sr` the model's, and `deepres.client.cli` those of a service's users.
"""

from __future__ import annotations

from deepres.cli.service import app


def _mount_subcommands() -> None:
    # Imported here so `deepres --help` stays quick; an import error is a bug and must fail
    # loudly rather than make commands vanish.
    from deepres.cli.sr import sr_app
    from deepres.client.cli import register

    app.add_typer(sr_app, name="sr")
    register(app)


_mount_subcommands()


def main() -> None:
    app()


__all__ = ["app", "main"]
