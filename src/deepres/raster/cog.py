"""Cloud-Optimised GeoTIFFs: writing one from a tiled GeoTIFF, and checking that a file is one.

`validate_cog` follows GDAL's `validate_cloud_optimized_geotiff.py` as far as rasterio and a short
walk over the TIFF directory allow: GTiff, tiled, internal tiled overviews when the image is larger
than a block, IFDs at the head of the file, overview data before full-resolution data.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import rasterio
import rasterio.shutil
from rasterio.errors import RasterioError

from deepres.errors import StorageError

# TIFF tag ids and the (struct code, size) of the integer field types they use.
_IMAGE_WIDTH, _IMAGE_LENGTH, _NEW_SUBFILE_TYPE = 256, 257, 254
_STRIP_OFFSETS, _TILE_OFFSETS = 273, 324
_TYPES = {3: ("H", 2), 4: ("I", 4), 16: ("Q", 8)}
_GHOST_KEY = b"GDAL_STRUCTURAL_METADATA_SIZE="
_GHOST_LINE = 43  # "GDAL_STRUCTURAL_METADATA_SIZE=XXXXXX bytes\n"
_SUBFILE_REDUCED, _SUBFILE_MASK = 1, 4
_MAX_IFDS = 64  # more than any sane pyramid; stops a looping IFD chain


def write_cog(src: Path, dst: Path, *, blocksize: int = 512) -> None:
    """Writes `src` (any GDAL raster) to `dst` as a DEFLATE COG with average overviews."""
    try:
        rasterio.shutil.copy(
            str(src),
            str(dst),
            driver="COG",
            compress="DEFLATE",
            predictor=2,
            blocksize=blocksize,
            overview_resampling="AVERAGE",
            bigtiff="IF_SAFER",
        )
    except RasterioError as exc:
        raise StorageError(f"Could not write the COG {dst}: {exc}") from exc


@dataclass(frozen=True)
class _Ifd:
    offset: int
    width: int
    height: int
    subfile_type: int
    tiled: bool
    first_block: int  # smallest non-zero data offset, 0 when the image holds no data yet


def _unpack(f: BinaryIO, fmt: str, size: int) -> int:
    value: int = struct.unpack(fmt, f.read(size))[0]
    return value


class _TiffWalker:
    """Reads the IFD chain of a classic or Big TIFF: just the tags a COG check needs."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        order = f.read(2)
        if order not in (b"II", b"MM"):
            raise ValueError("not a TIFF file")
        self.end = "<" if order == b"II" else ">"
        magic = self.read("H", 2)
        if magic not in (42, 43):
            raise ValueError("not a TIFF file")
        self.big = magic == 43
        if self.big:
            f.read(4)
        self.header_size = 16 if self.big else 8
        self.first_ifd = self.read("Q", 8) if self.big else self.read("I", 4)

    def read(self, code: str, size: int) -> int:
        return _unpack(self.f, self.end + code, size)

    def ifds(self) -> list[_Ifd]:
        out: list[_Ifd] = []
        offset = self.first_ifd
        while offset and len(out) < _MAX_IFDS:
            ifd, offset = self._ifd(offset)
            out.append(ifd)
        return out

    def _ifd(self, offset: int) -> tuple[_Ifd, int]:
        self.f.seek(offset)
        count = self.read("Q", 8) if self.big else self.read("H", 2)
        tags: dict[int, list[int]] = {}
        for _ in range(count):
            tag, kind = self.read("H", 2), self.read("H", 2)
            n = self.read("Q", 8) if self.big else self.read("I", 4)
            field = self.f.read(8 if self.big else 4)
            if kind in _TYPES and tag in (
                _IMAGE_WIDTH,
                _IMAGE_LENGTH,
                _NEW_SUBFILE_TYPE,
                _STRIP_OFFSETS,
                _TILE_OFFSETS,
            ):
                tags[tag] = self._values(kind, n, field)
        nxt = self.read("Q", 8) if self.big else self.read("I", 4)
        blocks = tags.get(_TILE_OFFSETS) or tags.get(_STRIP_OFFSETS) or []
        ifd = _Ifd(
            offset=offset,
            width=tags.get(_IMAGE_WIDTH, [0])[0],
            height=tags.get(_IMAGE_LENGTH, [0])[0],
            subfile_type=tags.get(_NEW_SUBFILE_TYPE, [0])[0],
            tiled=_TILE_OFFSETS in tags,
            first_block=min((b for b in blocks if b), default=0),
        )
        return ifd, nxt

    def _values(self, kind: int, n: int, field: bytes) -> list[int]:
        code, size = _TYPES[kind]
        fmt = f"{self.end}{n}{code}"
        if n * size <= len(field):
            return list(struct.unpack(fmt, field[: n * size]))
        here = self.f.tell()
        self.f.seek(_unpack_offset(field, self.end, self.big))
        values = list(struct.unpack(fmt, self.f.read(n * size)))
        self.f.seek(here)
        return values

    def ghost_end(self) -> int | None:
        """Where GDAL's structural-metadata ghost area ends, None when there is none."""
        self.f.seek(self.header_size)
        line = self.f.read(_GHOST_LINE)
        if not line.startswith(_GHOST_KEY):
            return None
        size = int(line[len(_GHOST_KEY) :].split(b" ")[0])
        return self.header_size + _GHOST_LINE + size


def _unpack_offset(field: bytes, end: str, big: bool) -> int:
    value: int = struct.unpack(end + ("Q" if big else "I"), field)[0]
    return value


def _layout_problems(path: Path, block: tuple[int, int]) -> list[str]:
    """Problems in the TIFF directory: tiling, overview presence, IFD and data placement."""
    with path.open("rb") as f:
        walker = _TiffWalker(f)
        ifds = walker.ifds()
        ghost_end = walker.ghost_end()
    main = ifds[0]
    overviews = [
        i
        for i in ifds[1:]
        if i.subfile_type & _SUBFILE_REDUCED and not i.subfile_type & _SUBFILE_MASK
    ]
    problems: list[str] = []
    # GDAL puts the main IFD right after the header, or after its ghost area (word-aligned).
    head = {walker.header_size} | ({ghost_end, ghost_end + 1} if ghost_end else set())
    if walker.first_ifd not in head:
        problems.append(f"The main IFD is at byte {walker.first_ifd}, not at the head of the file.")
    if (main.width > block[1] or main.height > block[0]) and not overviews:
        problems.append("The image is larger than one block but has no internal overviews.")
    for name, ifd in [("The main image", main)] + [
        (f"Overview {n}", o) for n, o in enumerate(overviews)
    ]:
        if (ifd.width > 512 or ifd.height > 512) and not ifd.tiled:
            problems.append(f"{name} is not tiled.")
    if any(b.offset < a.offset for a, b in itertools.pairwise(ifds)):
        problems.append("The IFDs are not in increasing order.")
    first_data = min((i.first_block for i in ifds if i.first_block), default=0)
    if first_data and max(i.offset for i in ifds) > first_data:
        problems.append(
            "Some IFDs come after image data; all IFDs should be at the head of the file."
        )
    levels = [main, *overviews]
    for n in range(1, len(levels)):
        big, small = levels[n - 1], levels[n]
        if big.first_block and small.first_block and small.first_block > big.first_block:
            problems.append(
                f"The data of overview {n - 1} should come before that of the larger level."
            )
    return problems


def validate_cog(path: Path | str) -> list[str]:
    """The reasons `path` is not a valid Cloud-Optimised GeoTIFF; an empty list when it is one."""
    path = Path(path)
    try:
        with rasterio.open(path) as ds:
            driver, block = ds.driver, ds.block_shapes[0]
            layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
            files = [Path(p) for p in ds.files]
    except RasterioError as exc:
        return [f"Cannot open {path}: {exc}"]
    if driver != "GTiff":
        return [f"The file is a {driver} raster, not a GeoTIFF."]
    problems: list[str] = []
    if any(p.suffix.lower() == ".ovr" for p in files):
        problems.append("The overviews are in an external .ovr file; a COG holds them inside.")
    if layout != "COG":
        problems.append(
            f"IMAGE_STRUCTURE LAYOUT is {layout!r}, not 'COG' (not written by GDAL's COG driver)."
        )
    try:
        problems += _layout_problems(path, block)
    except (ValueError, struct.error, OSError) as exc:
        problems.append(f"Cannot read the TIFF directory: {exc}")
    return problems
