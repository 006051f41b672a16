"""Parse-time checks of the FER phase's real labelled data (``fer.real``), run by ``rules/fer.smk``.

A dry-run must already say what a job would only find out hours later: no DISFA folder, no table,
images that do not exist, or images that the workflow itself is still to write (the folds would race
the phase that writes them); a table that lists one photograph under two subjects, with conflicting labels or
twice (:func:`table_row_problems`); a GAN that learns from the FER subjects (:func:`check_gan_fer_overlap`).
Standard library only (this runs when the Snakefile is parsed).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from synthfer import AU_COLUMNS, ConfigError

WITHOUT_DISFA = (
    "use your own labelled table instead (fer.real.source: table, fer.real.table: <CSV>, and fer.real.align: true "
    "when its images are photographs rather than aligned crops; docs/fer.md \"Without DISFA\"), "
    "or switch the FER phase off (fer.enabled: false)"
)


def _child_dir(folder: Path, name: str) -> Path | None:
    return next((p for p in folder.iterdir() if p.is_dir() and p.name.lower() == name.lower()), None)


def _produced(path: Path, produced: str = "results") -> bool:
    """Whether ``path`` (relative to the working directory, or absolute) lies under the output root ``produced``
    (``deploy.results``): a file the workflow writes itself."""
    try:
        path.resolve().relative_to(Path(produced).resolve())
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


def check_real_table(table: str | None, image_root: str | None = None, produced: str = "results") -> None:
    """The generic table exists, has the columns, and every image it lists exists and is not a
    workflow output. A table under ``results/`` is a workflow output itself and is checked by its job."""
    if table is None:
        raise ConfigError(
            "config key 'fer.real.table' is null but fer.real.source is 'table'. Fix: set it to your labelled CSV "
            "(columns image, subject, " + ", ".join(AU_COLUMNS) + "; docs/fer.md \"Without DISFA\"), or use "
            "fer.real.source: disfa, or fer.enabled: false."
        )
    if image_root is not None and not _produced(Path(image_root), produced) and not Path(image_root).is_dir():
        raise ConfigError(
            f"config key 'fer.real.image_root': folder {image_root!r} does not exist. Fix: point it at the folder the "
            "table's relative image paths start from, or null (the table's own folder)."
        )
    path = Path(table)
    if _produced(path, produced):
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
        rows = list(reader)
        images = [row["image"] or "" for row in rows]
    problems = table_row_problems(rows, table)
    if problems:
        raise ConfigError("config key 'fer.real.table': " + " ".join(problems))
    if not images:
        raise ConfigError(f"config key 'fer.real.table': {table} has no rows. Fix: list the labelled images in it.")
    base = Path(image_root) if image_root is not None else path.parent
    paths = [Path(i) if Path(i).is_absolute() else base / i for i in images]
    outputs = [str(p) for p in paths if _produced(p, produced)]
    if outputs:
        raise ConfigError(
            f"config key 'fer.real.table': {table} lists {len(outputs)} image(s) under {produced}/ that the workflow "
            f"itself writes (e.g. {outputs[0]}); the FER jobs cannot wait for them. Fix: list the original photographs "
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


def check_real_data(fer: Mapping[str, Any], produced: str = "results") -> None:
    """Check ``fer.real`` (the FER config section, defaults filled) for the configured source; ``produced``: the
    output root, whose files the workflow writes itself (their jobs check them)."""
    real = fer["real"]
    if real["source"] == "disfa":
        root = real["disfa"]["root"]
        if not _produced(Path(root), produced):
            check_disfa_root(root, real["disfa"].get("camera", "right"))
    else:
        check_real_table(real.get("table"), real.get("image_root"), produced)


# ---- the labelled table itself (issue 22 item 8): one photograph, one subject, one set of labels ----

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def table_row_problems(rows: Sequence[Mapping[str, Any]], source: str) -> list[str]:
    """What is wrong with the rows of a labelled table (dicts with ``image``, ``subject`` and the AU columns, in
    file order: row i is line i + 2 of the CSV), one sentence each naming the rows: the same image under two
    subjects (it would sit in a training fold and in its test fold), the same image with conflicting labels, exact
    duplicate rows. Empty when none."""
    by_image: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_image.setdefault(str(r["image"]).strip(), []).append(i)
    problems = []
    for image, idx in by_image.items():
        if len(idx) < 2:
            continue
        subjects = {str(rows[i]["subject"]) for i in idx}
        where = ", ".join(f"row {i + 2} (subject {rows[i]['subject']})" for i in idx[:4])
        if len(subjects) > 1:
            problems.append(f"{source}: image {image!r} is listed under {len(subjects)} subjects — {where}; one "
                            "photograph would sit in a training fold and in its own test fold. Fix: give each "
                            "photograph one subject (remove the wrong rows).")  # fmt: skip
            continue
        labels = {tuple(str(rows[i][c]).strip() for c in AU_COLUMNS) for i in idx}
        lines = ", ".join(str(i + 2) for i in idx[:6])
        if len(labels) > 1:
            problems.append(f"{source}: image {image!r} has conflicting labels in rows {lines}. Fix: keep one row "
                            "with the right labels.")  # fmt: skip
        else:
            problems.append(f"{source}: rows {lines} are the same row (image {image!r}, subject "
                            f"{rows[idx[0]]['subject']}, same labels): it would count twice. Fix: keep one.")  # fmt: skip
    return problems


def identical_files(paths: Sequence[str | Path]) -> list[list[int]]:
    """Groups (positions in ``paths``, ascending) of distinct paths whose files have identical bytes. Fast: only
    files of equal size are hashed (SHA-256). Missing files are skipped. Standard library only."""
    from synthfer.io import sha256_file

    by_size: dict[int, list[int]] = {}
    seen: dict[str, int] = {}
    for i, p in enumerate(paths):
        key = str(Path(p).resolve())
        if key in seen:  # the same path twice is a table problem (table_row_problems), not a copy
            continue
        seen[key] = i
        try:
            by_size.setdefault(Path(p).stat().st_size, []).append(i)
        except OSError:
            continue
    groups = []
    for idx in by_size.values():
        if len(idx) < 2:
            continue
        by_hash: dict[str, list[int]] = {}
        for i in idx:
            by_hash.setdefault(sha256_file(paths[i]), []).append(i)
        groups += [g for g in by_hash.values() if len(g) > 1]
    return sorted(groups)


def identical_image_problems(rows: Sequence[Mapping[str, Any]], paths: Sequence[str | Path], source: str) -> list[str]:
    """One sentence per group of rows whose image files are byte-identical under different names."""
    out = []
    for g in identical_files(paths):
        where = ", ".join(f"row {i + 2} ({rows[i]['image']}, subject {rows[i]['subject']})" for i in g[:4])
        out.append(f"{source}: {where} are the same image file (identical bytes) under different names; a copy "
                   "can sit in a training fold and in its test fold. Fix: keep one file (and one row).")  # fmt: skip
    return out


# ---- the GAN's photographs against the FER images (issue 22 item 8): no test subject in the generator ----


def _norm_id(x: Any) -> str:
    s = str(x).strip()
    return (s.lstrip("0") or "0") if s.isdigit() else s.lower()


def photo_subject_keys(stem: str) -> set[str]:
    """The subject ids a photograph's file stem can stand for: the whole stem and its first ``_``/``-`` token
    (London ``001_03`` → ``001``; DISFA-style ``SN001_00012`` → ``SN001``), numeric ids without leading zeros,
    others case-insensitive."""
    return {_norm_id(stem), _norm_id(re.split(r"[_\-]", stem)[0])}


def _fer_images_and_subjects(fer: Mapping[str, Any], produced: str) -> tuple[list[Path], dict[str, str]]:
    """The FER images that exist at parse time and ``{normalised subject: subject}``."""
    real = fer["real"]
    if real["source"] == "disfa":
        root = Path(real["disfa"]["root"])
        labels = _child_dir(root, "ActionUnit_Labels") if root.is_dir() else None
        subjects = [p.name for p in labels.iterdir() if p.is_dir()] if labels else []
        return [], {_norm_id(s): s for s in subjects}
    table = real.get("table")
    if table is None or _produced(Path(table), produced) or not Path(table).is_file():
        return [], {}
    with Path(table).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    base = Path(real["image_root"]) if real.get("image_root") is not None else Path(table).parent
    paths = [Path(r["image"]) if Path(r["image"]).is_absolute() else base / r["image"] for r in rows if r.get("image")]
    return [p for p in paths if not _produced(p, produced) and p.is_file()], {_norm_id(r["subject"]): r["subject"] for r in rows}


def check_gan_fer_overlap(
    gan_folder: str | None, fer: Mapping[str, Any], synthetic: bool = True, produced: str = "results"
) -> None:
    """Refuse a run whose GAN learns from the FER phase's test subjects: a file in ``real_images.folder`` with the
    bytes of a FER image, or a photograph whose file stem names a FER subject (:func:`photo_subject_keys`),
    names both. Checked only when the FER run trains on synthetic images (``synthetic``; a real_only run never
    sees the GAN) and for inputs that exist at parse time (a folder under ``results/``, like the demo's drawn
    faces, is the workflow's own). ``fer.allow_overlap: true`` opts out (the landing page then says so)."""
    if not synthetic or fer.get("allow_overlap", False) or not gan_folder:
        return
    folder = Path(gan_folder)
    if _produced(folder, produced) or not folder.is_dir():
        return
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    fer_images, fer_subjects = _fer_images_and_subjects(fer, produced)
    problems = []
    same_path = sorted({p.resolve() for p in photos} & {p.resolve() for p in fer_images})
    problems += [f"same file: {p} is a GAN photo and a FER image" for p in same_path[:3]]
    if len(same_path) > 3:
        problems.append(f"… {len(same_path)} shared files in all")
    shared = [g for g in identical_files([*photos, *fer_images]) if min(g) < len(photos) <= max(g)]
    for g in shared[:3]:
        names = [str(([*photos, *fer_images])[i]) for i in g]
        problems.append(f"same bytes: {names[0]} (GAN photo) = {', '.join(names[1:])} (FER image)")
    if len(shared) > 3:
        problems.append(f"… {len(shared)} shared files in all")
    hits = [(p, fer_subjects[k]) for p in photos for k in sorted(photo_subject_keys(p.stem)) if k in fer_subjects]
    for p, s in hits[:3]:
        problems.append(f"same subject: GAN photo {p} and FER subject {s!r}")
    if len(hits) > 3:
        problems.append(f"… {len(hits)} GAN photos of FER subjects in all")
    if problems:
        raise ConfigError(
            f"config keys 'real_images.folder' and 'fer.real': the GAN's photographs ({gan_folder}) and the FER images "
            "share files or subjects, so the synthetic training sets can carry the faces of evaluation subjects: "
            + "; ".join(problems)
            + ". Fix: give the GAN photographs of other people (a disjoint split), or set fer.allow_overlap: true "
            "(the report's landing page then says so)."
        )
