"""Parse-time checks of the FER phase's real labelled data (``fer.real``), run by ``rules/fer.smk``.

A dry-run must already say what a job would only find out hours later: no DISFA folder, no table,
images that do not exist, or images that the workflow itself is still to write (the folds would race
the phase that writes them). Standard library only (this runs when the Snakefile is parsed).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthfer import AU_COLUMNS, ConfigError

PRODUCED = "results"
WITHOUT_DISFA = (
    "use your own labelled table instead (fer.real.source: table, fer.real.table: <CSV>, and fer.real.align: true "
    "when its images are photographs rather than aligned crops; docs/fer.md \"Without DISFA\"), "
    "or switch the FER phase off (fer.enabled: false)"
)


def _child_dir(folder: Path, name: str) -> Path | None:
    return next((p for p in folder.iterdir() if p.is_dir() and p.name.lower() == name.lower()), None)


def _produced(path: Path) -> bool:
    """Whether ``path`` (relative to the working directory, or absolute) lies under ``results/``."""
    try:
        path.resolve().relative_to(Path(PRODUCED).resolve())
        return True
    except ValueError:
        return False


def check_disfa_root(root: str, camera: str = "right") -> None:
    """The DISFA folder exists and holds ``Videos_<Camera>Camera/`` and ``ActionUnit_Labels/``."""
    folder = Path(root)
    if not folder.is_dir():
        raise ConfigError(
            f"config key 'fer.real.disfa.root': DISFA folder {root!r} does not exist (fer.real.source is 'disfa'). "
            f"Fix: put DISFA there as distributed (Videos_{camera.capitalize()}Camera/, ActionUnit_Labels/) or point "
            f"fer.real.disfa.root at it; or {WITHOUT_DISFA}."
        )
    missing = [n for n in (f"Videos_{camera.capitalize()}Camera", "ActionUnit_Labels") if _child_dir(folder, n) is None]
    if missing:
        raise ConfigError(
            f"config key 'fer.real.disfa.root': {root!r} has no {' or '.join(m + '/' for m in missing)} folder (camera "
            f"{camera!r}). Fix: point it at the DISFA folder as distributed; or {WITHOUT_DISFA}."
        )


def check_real_table(table: str | None, image_root: str | None = None) -> None:
    """The generic table exists, has the columns, and every image it lists exists and is not a
    workflow output. A table under ``results/`` is a workflow output itself and is checked by its job."""
    if table is None:
        raise ConfigError(
            "config key 'fer.real.table' is null but fer.real.source is 'table'. Fix: set it to your labelled CSV "
            "(columns image, subject, " + ", ".join(AU_COLUMNS) + "; docs/fer.md \"Without DISFA\"), or use "
            "fer.real.source: disfa, or fer.enabled: false."
        )
    if image_root is not None and not _produced(Path(image_root)) and not Path(image_root).is_dir():
        raise ConfigError(
            f"config key 'fer.real.image_root': folder {image_root!r} does not exist. Fix: point it at the folder the "
            "table's relative image paths start from, or null (the table's own folder)."
        )
    path = Path(table)
    if _produced(path):
        return
    if not path.is_file():
        raise ConfigError(
            f"config key 'fer.real.table': {table!r} does not exist. Fix: point it at your labelled CSV (columns image, "
            f"subject, {', '.join(AU_COLUMNS)}; docs/fer.md \"Without DISFA\"), or use fer.real.source: disfa, or "
            "fer.enabled: false."
        )
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in ("image", "subject", *AU_COLUMNS) if c not in columns]
        if missing:
            raise ConfigError(
                f"config key 'fer.real.table': {table} has no column(s) {', '.join(missing)}. Fix: a labelled table needs "
                f"image, subject and {', '.join(AU_COLUMNS)} (0/1); docs/fer.md \"Without DISFA\"."
            )
        images = [row["image"] or "" for row in reader]
    if not images:
        raise ConfigError(f"config key 'fer.real.table': {table} has no rows. Fix: list the labelled images in it.")
    base = Path(image_root) if image_root is not None else path.parent
    paths = [Path(i) if Path(i).is_absolute() else base / i for i in images]
    produced = [str(p) for p in paths if _produced(p)]
    if produced:
        raise ConfigError(
            f"config key 'fer.real.table': {table} lists {len(produced)} image(s) under results/ that the workflow itself "
            f"writes (e.g. {produced[0]}); the FER jobs cannot wait for them. Fix: list the original photographs "
            "instead and set fer.real.align: true (rule fer_align_table then aligns them with the faces phase's "
            "settings, as a step of the workflow)."
        )
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        start = "fer.real.image_root" if image_root is not None else "the table's folder"
        raise ConfigError(
            f"config key 'fer.real.table': {len(absent)} of the {len(paths)} images {table} lists do not exist, e.g. "
            f"{', '.join(absent[:3])}. Fix: relative image paths start at {start}"
            + ("" if image_root is not None else " (set fer.real.image_root to start them elsewhere)")
            + "; correct the paths or the table."
        )


def check_real_data(fer: Mapping[str, Any]) -> None:
    """Check ``fer.real`` (the FER config section, defaults filled) for the configured source."""
    real = fer["real"]
    if real["source"] == "disfa":
        root = real["disfa"]["root"]
        if not _produced(Path(root)):
            check_disfa_root(root, real["disfa"].get("camera", "right"))
    else:
        check_real_table(real.get("table"), real.get("image_root"))
