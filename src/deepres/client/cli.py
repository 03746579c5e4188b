"""`deepres dates | submit | status | download | cancel | split`: a running service from a shell.

The server is `--api-url` or `DEEPRES_API_URL` (default http://127.0.0.1:8000) and the client
token `--token` or `DEEPRES_CLIENT_TOKEN`. Results go to stdout (tables, job ids, file paths,
GeoJSON); progress and errors to stderr. An error is printed as its message with the URL that
failed (the API, or a download link) and exits with 1; a bad argument or AOI file exits with 2;
never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from deepres.client import wire
from deepres.client.aoi_files import (
    AOIFileError,
    Piece,
    combined_extent,
    piece_hectares,
    read_geometry,
    read_pieces,
)
from deepres.client.errors import DeepresAPIError, WaitTimeout, shown_url
from deepres.client.models import JobStatus
from deepres.client.sdk import Client
from deepres.client.watching import Followed, GaveUp, SearchReport, follow

ApiUrl = Annotated[
    str, typer.Option("--api-url", envvar="DEEPRES_API_URL", help="the deepres service")
]
Token = Annotated[
    str,
    typer.Option(
        "--token", envvar="DEEPRES_CLIENT_TOKEN", show_default=False, help="your client token"
    ),
]
AoiFile = Annotated[
    Path, typer.Option("--aoi", help="GeoJSON file: geometry, Feature or FeatureCollection")
]
Cloud = Annotated[float, typer.Option("--cloud", min=0, max=100, help="max cloud % over the AOI")]
# The service's default limit on one job's AOI; `deepres split` cuts larger ones.
JOB_MAX_HECTARES = 25_000

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, markup=False)


def _cover(percent: float | None, known: bool) -> str:
    """A cloud cover cell: the percentage, or why there is none."""
    if not known:
        return "unknown (no SCL)"
    return "" if percent is None else f"{percent:.1f}"


def register(app: typer.Typer) -> None:
    """Add the client commands to the root `deepres` application."""
    app.command("dates")(dates)
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("download")(download)
    app.command("cancel")(cancel)
    app.command("split")(split)


def dates(
    aoi: AoiFile,
    start: Annotated[str | None, typer.Option(help="first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD (default today)")] = None,
    cloud: Cloud = 20,
    timeout: Annotated[float, typer.Option(min=0, help="seconds to wait for the search")] = 600,
    give_up_after: Annotated[
        float,
        typer.Option(min=0, help="seconds to wait once the service reports the search failing"),
    ] = 60,
    api_url: ApiUrl = wire.DEFAULT_URL,
    token: Token = "",
) -> None:
    """List the dates with little cloud over the AOI (polls the service; no callback needed)."""
    pieces = _pieces(aoi)
    _warn_if_too_large(aoi, pieces)
    with _session(api_url, token) as client:
        report = SearchReport(_say, give_up_after=give_up_after)
        try:
            found = client.available_dates(
                combined_extent(pieces),
                start=_day(start),
                end=_day(end),
                cloud_cover=cloud,
                timeout=timeout,
                progress=report,
            )
        except WaitTimeout as exc:
            raise GaveUp(report.explain(str(exc))) from exc
    table = Table("date", "mgrs", "cloud cover %", "data source")
    for entry in found.available_dates:
        cover = _cover(entry.cloud_cover, entry.cloud_cover_known)
        table.add_row(entry.date.isoformat(), entry.mgrs or "", cover, entry.data_source or "")
    out.print(table)
    for skipped in found.skipped:
        err.print(
            f"not offered: {skipped.date.isoformat()} {skipped.mgrs or ''} "
            f"{skipped.data_source or ''}: {skipped.reason}"
        )
    area = f"{found.area_hectares:,.2f} ha" if found.area_hectares is not None else "unknown"
    count = len(found.available_dates)
    typer.echo(
        f"{count} date{'' if count == 1 else 's'} with at most {cloud:g} % cloud; area {area}"
    )


def _warn_if_too_large(path: Path, pieces: list[Piece]) -> None:
    """Say on stderr when a piece is over the job limit, and how to cut it."""
    for piece in pieces:
        hectares = piece_hectares(piece)
        if hectares is None or hectares <= JOB_MAX_HECTARES:
            continue
        which = f"piece {piece.label} of the AOI" if len(pieces) > 1 else "the AOI"
        err.print(
            f"note: {which} is {hectares:,.0f} ha; a job refuses more than "
            f"{JOB_MAX_HECTARES:,} ha. `deepres split {path}` cuts it into pieces that fit "
            "(submit makes one job per piece).",
            soft_wrap=True,
        )


def submit(
    aoi: AoiFile,
    dates: Annotated[
        list[str] | None,
        typer.Option("--dates", help="a day to process (repeat, or separate with commas)"),
    ] = None,
    start: Annotated[str | None, typer.Option(help="first day of a range")] = None,
    end: Annotated[
        str | None, typer.Option(help="last day of a range (future: keep watching)")
    ] = None,
    interval: Annotated[int | None, typer.Option(help="days between searches")] = None,
    cloud: Cloud = 20,
    scale: Annotated[int | None, typer.Option(help="1, 2 or 4 (2.5 m)")] = None,
    model: Annotated[str | None, typer.Option(help="a model registered on the service")] = None,
    callback_url: Annotated[str | None, typer.Option(help="where files are announced")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="where --wait downloads")] = Path("."),
    wait: Annotated[
        bool, typer.Option("--wait", help="follow the jobs, downloading each date when done")
    ] = False,
    poll: Annotated[float, typer.Option(help="seconds between status checks")] = 2.0,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="with --wait: seconds before giving up")
    ] = None,
    api_url: ApiUrl = wire.DEFAULT_URL,
    token: Token = "",
) -> None:
    """Start one job per AOI piece and print each job id; --wait follows them and downloads.

    With several pieces (a FeatureCollection from `deepres split`) the ids come one a line in
    piece order and each piece's files go to `OUT/piece-N/`. --wait downloads each date as
    soon as it is processed, until the jobs are done or cancelled (a range that ends in the
    future is watched until then); the exit code is 1 when a date or a job failed or a job was
    cancelled.
    """
    days = [day.strip() for value in dates or [] for day in value.split(",") if day.strip()]
    if not days and end is None:
        raise typer.BadParameter("give --dates, or --end (optionally with --start)")
    fields: dict[str, Any] = {
        "dates": [_day(day) for day in days] or None,
        "start_date": _day(start),
        "end_date": _day(end),
        "interval": interval,
        "cloud_cover": cloud,
        "scale": scale,
        "model": model,
        "callback_url": callback_url,
    }
    with _session(api_url, token) as client:
        pieces = _pieces(aoi)
        several = len(pieces) > 1
        followed: list[Followed] = []
        for piece in pieces:
            job_id = client.create_job(piece.geojson, **fields)
            typer.echo(job_id)  # the one place a job id is printed: stdout, for scripts
            if several:
                err.print(f"piece {piece.label}: job submitted")
            folder = out_dir / f"piece-{piece.label}" if several else out_dir
            label = piece.label if several else None
            followed.append(Followed(job_id, folder, label=label, end=fields["end_date"]))
        if not wait:
            return
        finals = follow(client, followed, poll=poll, timeout=timeout, console=err, show=typer.echo)
    reported = [_report_failures(final) for final in finals]  # every job's, not the first's
    if not all(reported):
        raise typer.Exit(1)


def _report_failures(final: JobStatus) -> bool:
    """Print the job's failed dates to stderr; True when nothing failed."""
    failed = [entry for entry in final.dates if entry.status == "FAILED"]
    for entry in failed:
        where = " ".join(filter(None, (final.job_id, entry.date.isoformat(), entry.mgrs)))
        err.print(f"{where}: {entry.reason or 'failed'}")
    if final.status == "CANCELLED":
        err.print(f"{final.job_id} was cancelled")
    if final.error:
        err.print(f"{final.job_id} failed: {final.error}")
    elif not final.dates and not failed:
        err.print(f"{final.job_id}: no date matched")
    return not failed and final.status != "CANCELLED" and not final.error


def status(job_id: str, api_url: ApiUrl = wire.DEFAULT_URL, token: Token = "") -> None:
    """Show a job's dates, their states and files."""
    with _session(api_url, token) as client:
        current = client.status(job_id)
    table = Table("date", "mgrs", "status", "cloud cover %", "file / reason")
    for entry in current.dates:
        cover = _cover(entry.cloud_cover, entry.cloud_cover_known)
        note = entry.filename or entry.reason or ""
        table.add_row(entry.date.isoformat(), entry.mgrs or "", entry.status, cover, note)
    out.print(table)
    state = current.status or "done"
    typer.echo(f"job {current.job_id}: {state}, {current.dates_done}/{len(current.dates)} dates")


def download(
    job_id: str,
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write into")] = Path("."),
    api_url: ApiUrl = wire.DEFAULT_URL,
    token: Token = "",
) -> None:
    """Download a job's processed dates as `YYYY-MM-DD_MS.tif` (`…_MGRS_MS.tif` across tiles)."""
    with _session(api_url, token) as client:
        paths = client.download(job_id, out_dir)
    for path in paths:
        typer.echo(str(path))
    if not paths:
        err.print(f"job {job_id} has no processed date yet")


def cancel(job_id: str, api_url: ApiUrl = wire.DEFAULT_URL, token: Token = "") -> None:
    """Cancel a job: nothing new starts and nothing more is delivered."""
    with _session(api_url, token) as client:
        client.cancel(job_id)
    typer.echo(f"cancelled {job_id}")


def split(
    aoi: Annotated[Path, typer.Argument(help="GeoJSON file of the AOI")],
    max_hectares: Annotated[float, typer.Option(min=1, help="largest piece")] = 25_000,
    min_hectares: Annotated[float, typer.Option(min=0, help="smallest piece")] = 3,
) -> None:
    """Print the AOI cut into pieces the service accepts, as a GeoJSON FeatureCollection."""
    from shapely.geometry import mapping

    from deepres.aoi import geodesic_hectares
    from deepres.extent import split_aoi

    if min_hectares >= max_hectares:
        raise typer.BadParameter("--min-hectares must be below --max-hectares")
    try:
        geometry = read_geometry(aoi)
    except AOIFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="AOI") from exc
    try:
        pieces = split_aoi(geometry, max_hectares=max_hectares, min_hectares=min_hectares)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="AOI") from exc
    features = [
        {
            "type": "Feature",
            "properties": {"index": index, "area_hectares": round(geodesic_hectares(piece), 4)},
            "geometry": mapping(piece),
        }
        for index, piece in enumerate(pieces, start=1)
    ]
    typer.echo(json.dumps({"type": "FeatureCollection", "features": features}))
    err.print(f"{len(pieces)} pieces of at most {max_hectares:,g} ha")


@contextmanager
def _session(api_url: str, token: str) -> Iterator[Client]:
    """A Client whose failures end the command with their message and exit code 1."""
    if not token:
        raise typer.BadParameter("pass --token or set DEEPRES_CLIENT_TOKEN", param_hint="--token")
    try:
        with Client(api_url, token) as client:
            yield client
    except DeepresAPIError as exc:
        where = f" (HTTP {exc.status_code} from {exc.url})" if exc.url else ""
        detail = f"\n{exc.detail}" if exc.detail and exc.detail != exc.message else ""
        _fail(exc.message + where + detail)
    except (WaitTimeout, GaveUp) as exc:
        _fail(str(exc))
    except httpx.HTTPError as exc:
        # The URL that was being fetched: a download link is not the API.
        _fail(f"cannot talk to {_failed_url(exc, api_url)}: {exc}")


def _failed_url(exc: httpx.HTTPError, api_url: str) -> str:
    try:
        return shown_url(exc.request.url)
    except RuntimeError:  # an error raised before any request was made
        return api_url


def _say(line: str) -> None:
    err.print(line, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    raise typer.Exit(1)


def _pieces(path: Path) -> list[Piece]:
    try:
        return read_pieces(path)
    except AOIFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--aoi") from exc


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from exc
