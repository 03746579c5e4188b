"""The HTTP API (FastAPI): the spec's endpoints, STAC, quicklooks, the console and the docs."""
