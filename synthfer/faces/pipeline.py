"""Folder- and shard-level face processing: real-photo alignment shards, their merge, and the
detection-only filter of generated images.

Shards: shard ``k`` of ``n`` takes every ``n``-th file of the sorted file list starting at ``k``
(``files[k::n]``), so shards are balanced and each one streams its images one at a time.
One bad file never stops a shard: its row gets ``status='rejected'`` and a ``reason``.
Every other non-hidden entry of the folder (another format, a folder, a broken link) gets a rejected row
too, written by shard 0, so the manifest accounts for everything in the folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthfer.faces.settings import FaceSettings
from synthfer.imaging import IMAGE_EXTENSIONS, ImageReadError, list_images, load_rgb, save_png, scan_folder
from synthfer.io import PathLike, link_or_copy, provenance, read_table, sha256_file, write_json, write_table
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

BASE_COLUMNS = [
    "name", "source", "sha256", "width", "height", "status", "reason", "detail", "detector", "n_faces",
    "box_x", "box_y", "box_w", "box_h", "angle",
    "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "scale",
    "crop_left_eye_x", "crop_left_eye_y", "crop_right_eye_x", "crop_right_eye_y", "outside_frac", "crop", "shard",
]  # fmt: skip
LANDMARK_COLUMNS = [f"x{i}" for i in range(68)] + [f"y{i}" for i in range(68)]
MANIFEST_COLUMNS = BASE_COLUMNS + LANDMARK_COLUMNS
FILTER_COLUMNS = ["name", "face_ok", "face_reason", "detector", "n_faces", "box_x", "box_y", "box_w", "box_h"]


def shard_files(files: Sequence[Path], shard: int, n_shards: int) -> list[Path]:
    """Shard ``shard`` of ``n_shards`` of an already sorted list: ``files[shard::n_shards]``."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} out of range for {n_shards} shards")
    return list(files[shard::n_shards])


def duplicate_stems(files: Sequence[Path]) -> set[Path]:
    """Files whose stem was already taken by an earlier file in sorted order (``a.jpg`` beats ``a.png``)."""
    seen: set[str] = set()
    dups: set[Path] = set()
    for p in files:
        if p.stem in seen:
            dups.add(p)
        seen.add(p.stem)
    return dups


def photo_folder_problem(folder: PathLike) -> str | None:
    """The one message for a real-photo folder the faces phase cannot start from (missing, a file, or
    without a single image file), or None when it holds at least one image file.

    Used by ``align_shard`` and, before any job starts, by the workflow (rules/common.smk).
    """
    folder = Path(folder)
    fix = "put the photographs there or point real_images.folder at them"
    if not folder.exists():
        return f"the photo folder {folder} does not exist: create it and {fix}"
    if not folder.is_dir():
        return f"the photo folder {folder} is a file, not a folder: point real_images.folder at the folder that holds the photographs"
    entries = scan_folder(folder)
    if not any(e.reason == "" for e in entries):
        names = ", ".join(e.path.name for e in entries[:3]) + (", …" if len(entries) > 3 else "")
        holds = f"; it holds only {names}" if entries else ""
        return f"no images in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)}{holds}): {fix}"
    return None


def _empty_row(path: Path, shard: int) -> dict[str, Any]:
    row: dict[str, Any] = {c: np.nan for c in MANIFEST_COLUMNS}
    row.update(name=path.stem, source=str(path), sha256="", status="rejected", reason="", detail="", detector="", n_faces=0, crop="", shard=shard)
    return row


def process_real_image(path: Path, out_dir: Path, settings: FaceSettings, shard: int = 0) -> dict[str, Any]:
    """Align one photograph; write ``out_dir/<stem>.png`` when accepted; return its manifest row."""
    from synthfer.faces.align import align_face

    row = _empty_row(path, shard)
    try:
        row["sha256"] = sha256_file(path)
        rgb = load_rgb(path, min_side=settings.min_side, max_side=settings.max_side)
    except ImageReadError as exc:
        row.update(reason=exc.reason, detail=exc.detail[:200])
        return row
    except OSError as exc:  # permissions, a folder named like an image, …
        row.update(reason="unreadable", detail=str(exc)[:200])
        return row
    row["height"], row["width"] = rgb.shape[:2]
    res = align_face(rgb, settings)
    row.update(status=res.status, reason=res.reason, detector=res.detector, n_faces=res.n_faces, angle=res.angle)
    if res.box is not None:
        row.update(box_x=res.box[0], box_y=res.box[1], box_w=res.box[2], box_h=res.box[3])
    if res.left_eye is not None:
        row.update(left_eye_x=res.left_eye[0], left_eye_y=res.left_eye[1], right_eye_x=res.right_eye[0], right_eye_y=res.right_eye[1])
    if res.landmarks is not None:
        for i, (x, y) in enumerate(res.landmarks):
            row[f"x{i}"], row[f"y{i}"] = float(x), float(y)
    if res.status == "ok":
        row.update(
            scale=float(np.hypot(res.matrix[0, 0], res.matrix[0, 1])),
            crop_left_eye_x=res.crop_left_eye[0], crop_left_eye_y=res.crop_left_eye[1],
            crop_right_eye_x=res.crop_right_eye[0], crop_right_eye_y=res.crop_right_eye[1],
            outside_frac=res.outside_frac, crop=f"{path.stem}.png",
        )  # fmt: skip
        save_png(out_dir / f"{path.stem}.png", res.crop)
    return row


def align_shard(
    folder: PathLike,
    out_dir: PathLike,
    manifest_path: PathLike,
    shard: int,
    n_shards: int,
    settings: FaceSettings | Mapping[str, Any] | None = None,
) -> Any:
    """Align shard ``shard`` of the photographs in ``folder``; crops to ``out_dir``, rows to ``manifest_path``.

    Returns the manifest DataFrame (columns :data:`MANIFEST_COLUMNS`, one row per file of the shard;
    shard 0 also has one row per folder entry that is not an image file, see :func:`scan_folder`).
    """
    import pandas as pd

    settings = settings if isinstance(settings, FaceSettings) else FaceSettings.from_mapping(settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problem = photo_folder_problem(folder)
    if problem:
        raise FileNotFoundError(problem)
    entries = scan_folder(folder)
    files = [e.path for e in entries if not e.reason]
    others = [e for e in entries if e.reason] if shard == 0 else []
    dups = duplicate_stems(files)
    mine = shard_files(files, shard, n_shards)
    log.info("shard %d/%d: %d of %d images in %s", shard, n_shards, len(mine), len(files), folder)
    rows = []
    for entry in others:
        row = _empty_row(entry.path, shard)
        row.update(reason=entry.reason, detail=entry.detail)
        log.info("%s: rejected (%s) %s", entry.path.name, entry.reason, entry.detail)
        rows.append(row)
    if others:
        log.info("shard 0: %d folder entries are not image files: %s", len(others), dict(Counter(e.reason for e in others)))
    prog = Progress(log, len(mine), f"shard {shard:03d} aligned")
    for path in mine:
        if path in dups:
            row = _empty_row(path, shard)
            row.update(reason="duplicate_stem", detail="another file with the same name stem comes first")
        else:
            try:
                row = process_real_image(path, out_dir, settings, shard)
            except Exception as exc:  # noqa: BLE001 — one bad file must not abort the shard
                log.exception("%s: unexpected error", path)
                row = _empty_row(path, shard)
                row.update(reason="error", detail=f"{type(exc).__name__}: {exc}"[:200])
        if row["status"] != "ok":
            log.info("%s: rejected (%s) %s", path.name, row["reason"], row["detail"])
        rows.append(row)
        prog.update()
    df = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    write_table(manifest_path, df)
    counts = Counter(df["reason"].where(df["status"] != "ok", "ok"))
    log.info("shard %d: %s", shard, dict(sorted(counts.items())))
    return df


def merge_real_shards(
    shard_dirs: Sequence[PathLike],
    shard_manifests: Sequence[PathLike],
    out_dir: PathLike,
    manifest_path: PathLike,
    sidecar_path: PathLike,
    settings: FaceSettings | Mapping[str, Any] | None = None,
    source_folder: str = "",
    seed: int | None = None,
) -> Any:
    """Merge shard outputs: hard-link crops into ``out_dir``, one manifest sorted by name, a JSON sidecar.

    The sidecar holds the settings, counts per reason, the input folder and :func:`synthfer.io.provenance`.
    """
    import pandas as pd

    settings = settings if isinstance(settings, FaceSettings) else FaceSettings.from_mapping(settings)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = [read_table(p, keep_default_na=False, na_values=[""]) for p in shard_manifests]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MANIFEST_COLUMNS)
    df = df.sort_values("name", kind="stable").reset_index(drop=True)
    for c in ("reason", "detail", "detector", "crop", "sha256"):
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    by_shard = {int(str(Path(d).name)): Path(d) for d in shard_dirs}
    n_ok = 0
    for row in df.itertuples(index=False):
        if row.status == "ok":
            link_or_copy(by_shard[int(row.shard)] / row.crop, out_dir / row.crop)
            n_ok += 1
    counts = Counter(df["reason"].where(df["status"] != "ok", "ok"))
    if n_ok == 0:
        raise ValueError(
            f"faces: none of the {len(df)} photographs in {source_folder or 'the input folder'} was aligned "
            f"(outcomes: {dict(sorted(counts.items()))}); see the shard manifests {', '.join(map(str, shard_manifests))}"
        )
    write_table(manifest_path, df[MANIFEST_COLUMNS])
    write_json(
        sidecar_path,
        {
            "what": "aligned real face crops (synthfer faces phase)",
            "source_folder": source_folder,
            "n_images": int(len(df)),
            "n_ok": n_ok,
            "counts": dict(sorted(counts.items())),
            "n_shards": len(shard_manifests),
            "seed": seed,
            "settings": settings.to_dict(),
            "provenance": provenance(),
        },
    )
    log.info("merged %d shards: %d images, %d crops; %s", len(shard_manifests), len(df), n_ok, dict(counts))
    return df


def filter_synthetic_shard(
    in_dir: PathLike, out_csv: PathLike, settings: FaceSettings | Mapping[str, Any] | None = None
) -> Any:
    """Detection-only face screen of one generation shard → ``out_csv`` (columns :data:`FILTER_COLUMNS`).

    ``name`` is the file stem; ``face_ok`` is a bool; ``face_reason`` is ``''`` when ok, else
    ``no_face``, ``multiple_faces`` (policy ``reject``) or an image-read reason. Boxes are in the
    generated image's pixels (empty when no face).
    """
    import pandas as pd

    from synthfer.faces.align import detect_only

    settings = settings if isinstance(settings, FaceSettings) else FaceSettings.from_mapping(settings)
    files = list_images(in_dir)
    prog = Progress(log, len(files), f"face filter {Path(in_dir).name}")
    rows = []
    for path in files:
        row: dict[str, Any] = {"name": path.stem, "face_ok": False, "face_reason": "", "detector": "", "n_faces": 0,
                               "box_x": np.nan, "box_y": np.nan, "box_w": np.nan, "box_h": np.nan}  # fmt: skip
        try:
            rgb = load_rgb(path)
            res = detect_only(rgb, settings)
            row.update(face_ok=res.face_ok, face_reason=res.face_reason, detector=res.detector, n_faces=res.n_faces)
            if res.box is not None:
                row.update(box_x=res.box[0], box_y=res.box[1], box_w=res.box[2], box_h=res.box[3])
        except ImageReadError as exc:
            row.update(face_reason=exc.reason)
        except Exception as exc:  # noqa: BLE001 — one bad file must not abort the shard
            log.exception("%s: unexpected error", path)
            row.update(face_reason=f"error: {type(exc).__name__}")
        rows.append(row)
        prog.update()
    df = pd.DataFrame(rows, columns=FILTER_COLUMNS)
    df["face_ok"] = df["face_ok"].astype(bool)
    write_table(out_csv, df)
    log.info("face filter %s: %d/%d images with a face", in_dir, int(df["face_ok"].sum()), len(df))
    return df


def read_face_filter(path: PathLike) -> Any:
    """A table written by :func:`filter_synthetic_shard` (``detections.csv``, a shard's filter table),
    for every phase that reads one: ``name`` and ``face_reason`` str (empty cells stay ``''``),
    ``face_ok`` bool (:func:`synthfer.io.bool_column`; a non-boolean value raises ``ValueError`` naming
    the file, row and value). A missing ``name`` or ``face_ok`` column raises naming the file (the merge
    also requires ``face_reason``)."""
    from synthfer.io import bool_column

    df = read_table(path, dtype={"name": str}, keep_default_na=False)
    for col in ("name", "face_ok"):
        if col not in df.columns:
            raise ValueError(f"{path}: face-filter table lacks column {col!r}")
    df["face_ok"] = bool_column(df, "face_ok", path)
    return df

