"""Storage keys: the one check that keeps a key inside its store, on disk and in S3 alike."""

from __future__ import annotations

import re

from deepres.errors import InvalidInput

# One path segment: letters, digits, dot, dash, underscore, not starting with a dot or dash (so
# ".", "..", hidden names and option-like names never appear).
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_MAX_KEY = 1024


def validate_key(key: str) -> str:
    """`key` itself when it is a safe relative key (`job/29UPU/2020-01-01_MS.tif`).

    Segments are separated by `/` and made of `A-Z a-z 0-9 . _ -`, never starting with `.` or
    `-`: no `..`, no absolute path, no backslash, no empty segment, so a key can never name a
    file outside the store.
    """
    if not key or len(key) > _MAX_KEY:
        raise InvalidInput(f"A storage key must have 1 to {_MAX_KEY} characters.")
    if not all(_SEGMENT.fullmatch(part) for part in key.split("/")):
        raise InvalidInput(
            f"Invalid storage key {key!r}: use '/'-separated names of letters, digits, "
            "'.', '_' and '-', without '..' or a leading '/'."
        )
    return key


def validate_prefix(prefix: str) -> str:
    """`prefix` itself when it is a valid key or a valid key followed by `/`."""
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix
