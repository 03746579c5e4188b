"""deepres: on-demand super-resolution of Sentinel-2 L2A imagery over an area of interest."""

__version__ = "0.1.0"
API_VERSION = "v1.0"
