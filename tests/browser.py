"""Debian's Chromium for the browser tests (`scripts/browser.sh` installs it), headless."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--headless"]


def require_chromium() -> None:
    """Skip, saying how to install it, when this machine has no Chromium."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/browser.sh")
