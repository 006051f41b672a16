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


# What a run leaves in a checkout (outputs, logs, Snakemake's metadata and locks). No test may depend
# on it: a test that runs Snakemake does so in a working directory made by :func:`clean_workdir`.
RUN_STATE = ("results", "logs", ".snakemake")


def clean_workdir(dest: Path, checkout: Path = REPO) -> Path:
    """Make ``dest`` a working directory that looks like a fresh clone of ``checkout``.

    Every visible top-level entry of the checkout is symlinked into ``dest`` except the run state
    (:data:`RUN_STATE`), so a dry-run there sees no results, no ``.snakemake`` metadata and no lock
    whatever ``make demo`` left in the checkout, and writes nothing into the checkout.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(checkout.iterdir()):
        if entry.name.startswith(".") or entry.name in RUN_STATE:
            continue
        (dest / entry.name).symlink_to(entry)
    (dest / "results").mkdir(exist_ok=True)
    return dest


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A clean working directory of this checkout for Snakemake runs (see :func:`clean_workdir`)."""
    return clean_workdir(tmp_path_factory.mktemp("workdir"))


@pytest.fixture
def fresh_workdir(tmp_path) -> Path:
    """A clean working directory of this checkout of its own (for tests that run jobs or leave state)."""
    return clean_workdir(tmp_path / "workdir")


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
