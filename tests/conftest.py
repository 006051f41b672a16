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


@pytest.fixture(scope="session")
def disfa_stand_in(tmp_path_factory) -> str:
    """``--config`` entry pointing the thesis config's DISFA root at an empty folder with DISFA's layout.

    The thesis config reads DISFA from data/disfa/, which is not redistributable and absent here; without
    it a dry-run of that config stops at the FER check (by design). Dry-run tests of the thesis config pass
    this entry after ``--config``.
    """
    root = tmp_path_factory.mktemp("disfa")
    (root / "Videos_RightCamera").mkdir()
    (root / "ActionUnit_Labels").mkdir()
    return f"fer={{real: {{disfa: {{root: {root}}}}}}}"
