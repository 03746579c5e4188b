"""`deepres sr ...`: upscale a scene folder, evaluate, train, compare, list and register models.

The commands only parse, call the library, print and return. `upscale` indexes the folder into
a scene and runs the service's own pipeline (`raster.process_scene`) over its footprint, so it
writes the same COG the service does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from deepres.errors import DeepresError

sr_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    help="Super-resolve Sentinel-2 bands; evaluate, train and manage models.",
)

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Model name (default: deepres-s2sr; 'bicubic' is the baseline)."
    ),
]
RegistryOpt = Annotated[
    Path | None,
    typer.Option("--registry", help="User model registry folder (default: $DEEPRES_HOME/models)."),
]


def _registry(registry: Path | None) -> Path:
    """The user registry: the option, else the folder the service itself reads models from."""
    from deepres.settings import Settings

    return registry or Settings().models_dir


ThreadsOpt = Annotated[int, typer.Option("--threads", help="ONNX Runtime threads (0: auto).")]
ScaleOpt = Annotated[int, typer.Option("--scale", "-s", help="Output pixel = 10 m / scale.")]


def _fail(exc: DeepresError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(2)


@sr_app.command()
def upscale(
    scene_dir: Path,
    out: Path,
    scale: ScaleOpt = 4,
    model: ModelOpt = None,
    registry: RegistryOpt = None,
    threads: ThreadsOpt = 0,
    offset_dn: Annotated[
        int | None,
        typer.Option(
            help="DN to subtract: 1000 for L2A from baseline 04.00 whose offset is still in the "
            "pixels, 0 for none (default: decided from the folder's STAC item or name)."
        ),
    ] = None,
) -> None:
    """Write all ten bands of SCENE_DIR (B02.tif ... B12.tif) at 10 m / SCALE to OUT as a COG.

    The same COG the service writes (uint16 DN, nodata 0, overviews, band names, model tags).
    """
    from rich.progress import Progress

    from deepres.catalog.index import scene_item
    from deepres.catalog.items import scene_from_item
    from deepres.raster import process_scene
    from deepres.sr import get_model

    if offset_dn not in (None, 0, 1000):
        raise typer.BadParameter("offset-dn must be 0 or 1000 (Sentinel-2's BOA_ADD_OFFSET)")
    try:
        sr = get_model(model, registry_dir=_registry(registry), threads=threads)
        scene = scene_from_item(scene_item(scene_dir))
        with Progress(transient=True, console=_stderr()) as bar:
            task = bar.add_task(f"{sr.name} x{scale}", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            info = process_scene(scene, None, sr, scale, out, offset_dn=offset_dn, progress=tick)
    except DeepresError as exc:
        raise _fail(exc) from exc
    if info is None:
        typer.echo(f"error: {scene_dir} holds no valid pixels", err=True)
        raise typer.Exit(2)
    typer.echo(
        json.dumps(
            {
                "out": str(out),
                "model": sr.name,
                "scale": scale,
                "rows": info.height,
                "cols": info.width,
                "epsg": info.epsg,
                "resolution": info.resolution,
                "shift_20m_px": info.shift_20m_px,
            }
        )
    )


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@sr_app.command()
def evaluate(
    scene_dir: Path,
    scale: ScaleOpt = 4,
    model: ModelOpt = None,
    registry: RegistryOpt = None,
    threads: ThreadsOpt = 0,
    offset_dn: Annotated[float, typer.Option(help="DN to subtract (L2A offset still in).")] = 0.0,
    native: Annotated[
        bool,
        typer.Option(
            "--native",
            help="No degradation: the scene as it is, scored per band for what a user sees "
            "(grid_dn, low_frac, hf_ratio) for the model and bicubic side by side.",
        ),
    ] = False,
) -> None:
    """Print Wald's-protocol metrics (PSNR, SRE, SAM, ERGAS, consistency) vs bicubic as JSON.

    `fusion.ceiling` says how much fusion gain the scene's own pixels allow: per 20 m band the
    share of its fine detail the 10 m bands predict linearly (`predictable_share`), and the
    model's gain on the scene's centre beside a correction fitted against the truth, each half
    corrected by the fit on the other (`truth_fitted_gain_db`); `xN.ceiling` the same for the
    10 m bands, the model's answer sharpened by filters of bicubic's fitted on the truth.

    With --native the scene is super-resolved as it is and each band is scored on what a user
    would see: the grid pattern on the input pixels (grid_dn, DN), the share of pixels at or
    below 1 DN (low_frac) and the energy added above the input's Nyquist against its own
    spectrum (hf_ratio, about 1 for natural detail); `targets_met` applies the model's
    acceptance rules against bicubic.
    """
    from deepres.sr import Bicubic, get_model
    from deepres.sr.ceiling import fusion_ceiling, spatial_ceiling
    from deepres.sr.evaluate import evaluate as run_evaluation
    from deepres.sr.native import native_report
    from deepres.sr.scene_dir import read_scene_dir

    try:
        sr = get_model(model, registry_dir=_registry(registry), threads=threads)
        bands = read_scene_dir(scene_dir, offset_dn=offset_dn)
        report: dict[str, Any]
        if native:
            per_band = native_report(
                {"model": sr, "bicubic": Bicubic()}, bands.b10, bands.b20, scale
            )
            report = {"model": sr.name, "mode": "native", "bands": per_band}
        else:
            report = run_evaluation(sr, bands.b10, bands.b20, scale)
            report["fusion"]["ceiling"] = fusion_ceiling(sr, bands.b10, bands.b20)
            if scale > 1:
                report[f"x{scale}"]["ceiling"] = spatial_ceiling(sr, bands.b10, bands.b20, scale)
    except DeepresError as exc:
        raise _fail(exc) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(json.dumps({"scene": str(scene_dir), "scale": scale, **report}, indent=2))


@sr_app.command()
def compare(
    scene_dir: Path,
    out: Path,
    scale: ScaleOpt = 4,
    model: ModelOpt = None,
    registry: RegistryOpt = None,
    threads: ThreadsOpt = 0,
    crop: Annotated[
        str | None,
        typer.Option(help="ROW,COL,SIZE of the 10 m crop (default: the centre, 96 px)."),
    ] = None,
) -> None:
    """Write a PNG to judge by eye: input (nearest), model and bicubic, in RGB and SWIR.

    Rows: true colour (B04 B03 B02) and a SWIR composite (B12 B8A B05), each with one stretch
    from the input; columns: the input's own pixels, the model, the bicubic baseline.
    """
    from deepres.sr import get_model
    from deepres.sr.pictures import Crop, compare_png
    from deepres.sr.scene_dir import read_scene_dir

    try:
        sr = get_model(model, registry_dir=_registry(registry), threads=threads)
        bands = read_scene_dir(scene_dir)
        if crop:
            row, col, size = (int(v) for v in crop.split(","))
        else:
            size = min(96, bands.b10.shape[1] - 32, bands.b10.shape[2] - 32)
            row, col = (bands.b10.shape[1] - size) // 2, (bands.b10.shape[2] - size) // 2
        png = compare_png(sr, bands.b10, bands.b20, Crop(row, col, size), scale)
    except DeepresError as exc:
        raise _fail(exc) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    typer.echo(
        json.dumps({"out": str(out), "model": sr.name, "scale": scale, "crop": [row, col, size]})
    )


NativeOpt = Annotated[
    Path | None,
    typer.Option(
        "--native",
        help="Folder of native scene folders to train on too (../shared/data/native); the "
        "unseen and share-alike ones are left out, and all are reported on.",
    ),
]

CheckSceneOpt = Annotated[
    list[Path] | None, typer.Option(help="Unseen scene folder to report on (repeatable).")
]


@sr_app.command()
def train(
    data_dir: Annotated[Path, typer.Option("--data", help="Folder of sr-train .npz stacks.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Checkpoints and the exported model.")],
    native: NativeOpt = None,
    name: Annotated[str, typer.Option(help="Name of the exported model.")] = "deepres-s2sr",
    version: Annotated[str, typer.Option(help="Version written into the model card.")] = "3",
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = 16000,
    minutes: Annotated[float | None, typer.Option(help="Stop after this wall time.")] = None,
    time_schedule: Annotated[
        bool,
        typer.Option(
            help="Run the learning rate's cosine over --minutes of wall time rather than over "
            "--steps (a run on a device whose step rate is not known ahead still ends its "
            "schedule)."
        ),
    ] = False,
    batch: Annotated[int, typer.Option(help="Crops per step (Wald losses).")] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate (Adam).")] = 2e-3,
    prior_batch: Annotated[int, typer.Option(help="Native crops per prior step.")] = 4,
    prior_hf_weight: Annotated[
        float, typer.Option(help="Weight of the native prior's high-frequency energy term.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for crops, augmentation and weights.")] = 0,
    threads: Annotated[int, typer.Option(help="Torch threads.")] = 1,
    device: Annotated[
        str, typer.Option(help="Torch device to train on: cpu, or cuda where a GPU is.")
    ] = "cpu",
    val_every: Annotated[int, typer.Option(help="Validate every N steps.")] = 2000,
    check_scene: CheckSceneOpt = None,
    band_jitter: Annotated[
        float,
        typer.Option(
            help="Sigma of a random log gain per band and crop (0: none): band ratios vary "
            "from crop to crop, so the net reads them from its input."
        ),
    ] = 0.0,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Go on from this checkpoint (best.pt / last.pt of this config), or from a "
            "released MODEL.onnx and its card (the shipped model: fine-tune it)."
        ),
    ] = None,
) -> None:
    """Train deepres-s2sr (Wald's protocol and a native-input prior), export ONNX + card."""
    try:
        from deepres.sr.training import TrainConfig
        from deepres.sr.training import train as run_training
    except ImportError as exc:
        typer.echo(
            f"error: training needs the 'train' extra ({exc.name} is missing): "
            "pip install 'deepres[train]'",
            err=True,
        )
        raise typer.Exit(2) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = TrainConfig(
        data_dir,
        out_dir,
        native_dir=native,
        steps=steps,
        max_minutes=minutes,
        time_schedule=time_schedule,
        batch=batch,
        lr=lr,
        prior_batch=prior_batch,
        prior_hf_weight=prior_hf_weight,
        seed=seed,
        threads=threads,
        device=device,
        val_every=val_every,
        band_jitter=band_jitter,
        resume=resume,
    )
    run_training(config)
    _release(
        out_dir / "best.pt",
        out_dir / f"{name}.onnx",
        name,
        version,
        data_dir,
        native,
        threads,
        check_scene or [],
    )


def _release(
    checkpoint: Path,
    onnx_path: Path,
    name: str,
    version: str,
    data_dir: Path,
    native: Path | None,
    threads: int,
    check_scenes: list[Path],
) -> None:
    from deepres.sr.release import release

    unseen, every = _card_scenes(native, check_scenes)
    card = release(
        checkpoint,
        onnx_path,
        name=name,
        version=version,
        data_dir=data_dir,
        threads=threads,
        check_scenes=unseen,
        native_scenes=every,
    )
    report = card.validation_metrics
    summary = {"onnx": str(onnx_path), "validation": report["mean_over_blocks"]}
    typer.echo(json.dumps(summary))


def _card_scenes(
    native: Path | None, check_scenes: list[Path]
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The scenes a card's Wald cross-scene check runs on (unseen) and its native figures."""
    from deepres.sr.dataset import UNSEEN_SCENES, scene_folders

    every_native = scene_folders(native) if native else []
    unseen = [p for p in every_native if p.name in UNSEEN_SCENES or "majortom" in p.name.lower()]
    return (*unseen, *check_scenes), (*every_native, *check_scenes)


@sr_app.command("release")
def release_checkpoint(
    checkpoint: Path,
    out: Annotated[Path, typer.Option("--out", help="The ONNX file to write (and its card).")],
    data_dir: Annotated[Path, typer.Option("--data", help="Folder of sr-train .npz stacks.")],
    native: NativeOpt = None,
    name: Annotated[str, typer.Option(help="Name of the exported model.")] = "deepres-s2sr",
    version: Annotated[str, typer.Option(help="Version written into the model card.")] = "3",
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads.")] = 1,
    check_scene: CheckSceneOpt = None,
) -> None:
    """Export a training CHECKPOINT (best.pt) as ONNX + card, with every figure measured again."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        typer.echo("error: release needs the 'train' extra: pip install 'deepres[train]'", err=True)
        raise typer.Exit(2) from exc
    _release(checkpoint, out, name, version, data_dir, native, threads, check_scene or [])


@sr_app.command()
def refigure(
    onnx_path: Path,
    data_dir: Annotated[Path, typer.Option("--data", help="Folder of sr-train .npz stacks.")],
    native: NativeOpt = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads.")] = 1,
    check_scene: CheckSceneOpt = None,
) -> None:
    """Measure every figure of a released model's card again from its ONNX file, in place.

    For a change around the network (tiling, co-registration) that leaves the weights as they
    are; needs no torch. The ablation and the training record stay as released.
    """
    from deepres.sr.figures import refigure as measure_again

    unseen, every = _card_scenes(native, check_scene or [])
    card = measure_again(onnx_path, data_dir, native, unseen, every, threads)
    summary = {"card": str(onnx_path.with_suffix(".json"))}
    typer.echo(json.dumps(summary | {"validation": card.validation_metrics["mean_over_blocks"]}))


@sr_app.command()
def models(registry: RegistryOpt = None) -> None:
    """List the models deepres can run, as JSON lines."""
    from deepres.sr import list_models

    typer.echo(
        json.dumps(
            {
                "name": "bicubic",
                "version": "1",
                "scales": [1, 2, 4, 8],
                "builtin": True,
                "baseline": True,
            }
        )
    )
    for entry in list_models(_registry(registry)):
        c = entry.card
        typer.echo(
            json.dumps(
                {
                    "name": c.name,
                    "version": c.version,
                    "scales": c.scales,
                    "tasks": c.tasks,
                    "builtin": entry.builtin,
                    "parameters": c.parameter_count,
                    "onnx": str(entry.onnx_path),
                }
            )
        )


@sr_app.command()
def register(
    onnx_path: Path,
    card_path: Path,
    registry: RegistryOpt = None,
) -> None:
    """Check ONNX_PATH against CARD_PATH and add it to the user registry."""
    from deepres.sr import register_model

    try:
        entry = register_model(onnx_path, card_path, _registry(registry))
    except DeepresError as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps({"registered": entry.name, "onnx": str(entry.onnx_path)}))
