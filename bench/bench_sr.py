"""Throughput of the default SR network vs bicubic on the same real input, as JSON.

Output band-megapixels per second = 10 bands x output rows x output cols / seconds, for the
whole `SRModel.upscale` call (normalisation, tiling, blending included). The best of
`--repeat` runs is reported for each method.

    .venv/bin/python bench/bench_sr.py --threads 2 --scale 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from deepres.bands import BANDS_10M, BANDS_20M
from deepres.sr import get_model

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_INPUT = SHARED_DATA / "sr-train" / "dsen2_T33UUB_20170527_L1C.npz"


def _best_seconds(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--registry", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    with np.load(args.input) as z:
        b10 = np.stack([z[b] for b in BANDS_10M]).astype(np.float32)
        b20 = np.stack([z[b] for b in BANDS_20M]).astype(np.float32)
    out_mpx = 10 * b10.shape[1] * b10.shape[2] * args.scale**2 / 1e6
    report: dict[str, object] = {
        "input": args.input.name,
        "input_10m_px": list(b10.shape[1:]),
        "scale": args.scale,
        "output_band_mpx": round(out_mpx, 2),
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cores_visible": os.cpu_count(),
    }
    for key, name in (("model", args.model), ("bicubic", "bicubic")):
        model = get_model(name, registry_dir=args.registry, threads=args.threads)
        model.upscale(b10[:, :64, :64], b20[:, :32, :32], args.scale)  # warm-up
        seconds = _best_seconds(lambda m=model: m.upscale(b10, b20, args.scale), args.repeat)
        report[key] = {
            "name": model.name,
            "seconds": round(seconds, 3),
            "band_mpx_per_s": round(out_mpx / seconds, 2),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
