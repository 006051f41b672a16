"""Shared fixtures. Tests run on CPU with tiny sizes and never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _faces_root() -> Path:
    return Path(os.environ.get("SYNTHFER_FACES_DATA", REPO.parent / "shared" / "data" / "faces"))


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def faces_data() -> Path:
    """The shared real-face folder (London, Canada, poses, no_face, wild).

    Located through ``SYNTHFER_FACES_DATA`` (default ``../shared/data/faces``). Missing: skipped
    locally, a failure under CI (``CI=true``), so CI cannot go green without the accuracy tests.
    """
    root = _faces_root()
    if not (root / "london").is_dir():
        msg = f"shared face data not found at {root} (set SYNTHFER_FACES_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return root
