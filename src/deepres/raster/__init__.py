"""Windowed band reads, tiled super-resolution of one scene over an AOI, and COG writing."""

from deepres.raster.cog import validate_cog, write_cog
from deepres.raster.process import ProductInfo, process_scene
from deepres.raster.reader import BandWindow, SceneGrid, SceneReader, read_window_bands
from deepres.raster.tiling import Tile, decompose, snapped_window

__all__ = [
    "BandWindow",
    "ProductInfo",
    "SceneGrid",
    "SceneReader",
    "Tile",
    "decompose",
    "process_scene",
    "read_window_bands",
    "snapped_window",
    "validate_cog",
    "write_cog",
]
