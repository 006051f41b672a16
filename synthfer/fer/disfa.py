"""Import DISFA (Mavadati et al. 2013) as distributed into the generic labelled table.

Expected layout under ``root`` (folder names matched case-insensitively):

- ``Videos_RightCamera/RightVideoSN001_comp.avi`` (and ``Videos_LeftCamera/LeftVideoSN001_comp.avi``):
  one video per subject and camera; the seed used the right camera;
- ``ActionUnit_Labels/SN001/SN001_au1.txt``: one file per subject and AU, one ``frame,intensity``
  line per frame (frames counted from 1, intensity 0–5).

Per subject: the frames labelled for all six AUs, of which ``frames`` are sampled —
``uniform``: evenly spaced over the video; ``stratified``: first, for each AU from the rarest,
up to ``frames // 7`` frames drawn (seeded) among its positive frames not yet chosen, then the rest
evenly spaced over the remaining frames — so AUs a subject shows rarely are not lost. Labels are
binarised at ``intensity ≥ threshold`` (2 by convention: FACS level B). Each sampled frame is
cropped by ``crop`` (default: the faces phase's :func:`synthfer.faces.align.align_face`); frames
whose crop fails are listed in ``import_report.csv`` and left out.

Outputs in ``out_dir``: ``images/<subject>/<subject>_<frame:05d>.png``, ``labels.csv`` (``image,
subject, frame``, the six binary AUs, then ``I_<AU>`` intensities) and ``import_report.csv``
(``subject, frame, status, reason``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from synthfer import AU_COLUMNS
from synthfer.imaging import save_png
from synthfer.io import PathLike, provenance, write_json, write_table
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

CropFn = Callable[[np.ndarray], "tuple[np.ndarray | None, str]"]


def _child(folder: Path, name: str) -> Path:
    for p in folder.iterdir():
        if p.name.lower() == name.lower():
            return p
    raise FileNotFoundError(f"{folder}: no {name}/ folder (is this the DISFA root?)")


def find_subjects(root: PathLike, camera: str = "right") -> dict[str, tuple[Path, Path]]:
    """``{subject: (video, label folder)}`` for every subject with both, sorted by ID."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"DISFA root {root} does not exist")
    if camera not in ("right", "left"):
        raise ValueError(f"DISFA camera must be 'right' or 'left', got {camera!r}")
    cam_dir = _child(root, f"Videos_{camera.capitalize()}Camera")
    label_dir = _child(root, "ActionUnit_Labels")
    pattern = re.compile(rf"^{camera}video(sn\d+).*\.(avi|mp4|mov|mkv)$", re.IGNORECASE)
    videos = {m.group(1).upper(): p for p in cam_dir.iterdir() if (m := pattern.match(p.name))}
    labels = {p.name.upper(): p for p in label_dir.iterdir() if p.is_dir()}
    for s in sorted(set(videos) ^ set(labels)):
        log.warning("DISFA subject %s has %s only: skipped", s, "a video" if s in videos else "labels")
    subjects = {s: (videos[s], labels[s]) for s in sorted(set(videos) & set(labels))}
    if not subjects:
        raise FileNotFoundError(f"{root}: no subject has both a {camera}-camera video and AU labels")
    return subjects


def read_au_labels(label_dir: PathLike, subject: str) -> pd.DataFrame:
    """Intensities of the six AUs per frame: index ``frame`` (1-based), columns AU1…AU15 (int).
    Only frames present in all six files are kept."""
    label_dir = Path(label_dir)
    cols = []
    for au in AU_COLUMNS:
        num = au[2:]
        matches = [p for p in label_dir.iterdir() if p.name.lower() == f"{subject.lower()}_au{num}.txt"]
        if not matches:
            raise FileNotFoundError(f"{label_dir}: missing {subject}_au{num}.txt")
        path = matches[0]
        try:
            t = pd.read_csv(path, header=None, names=["frame", au], dtype=int, skipinitialspace=True)
        except ValueError as exc:
            raise ValueError(f"{path}: expected 'frame,intensity' integer lines ({exc})") from None
        bad = ~t[au].between(0, 5)
        if bad.any():
            raise ValueError(f"{path}: intensity {t[au][bad].iloc[0]} outside 0–5 at frame {t['frame'][bad].iloc[0]}")
        cols.append(t.drop_duplicates("frame").set_index("frame")[au])
    return pd.concat(cols, axis=1, join="inner").sort_index()


def sample_frames(intensities: pd.DataFrame, n: int, threshold: int, sampling: str = "uniform", seed: int = 0) -> np.ndarray:
    """The sampled frame numbers (sorted); all frames when there are ``n`` or fewer."""
    frames = intensities.index.to_numpy()
    if len(frames) <= n:
        return frames
    if sampling == "uniform":
        return frames[np.unique(np.round(np.linspace(0, len(frames) - 1, n)).astype(int))]
    if sampling != "stratified":
        raise ValueError(f"DISFA sampling must be 'uniform' or 'stratified', got {sampling!r}")
    rng = np.random.default_rng(seed)
    positive = intensities.to_numpy() >= threshold
    chosen = np.zeros(len(frames), dtype=bool)
    quota = n // (len(AU_COLUMNS) + 1)
    for j in np.argsort(positive.sum(axis=0), kind="stable"):
        cand = np.flatnonzero(positive[:, j] & ~chosen)
        if cand.size:
            chosen[rng.choice(cand, size=min(quota, cand.size), replace=False)] = True
    rest = np.flatnonzero(~chosen)
    need = n - int(chosen.sum())
    chosen[rest[np.unique(np.round(np.linspace(0, rest.size - 1, need)).astype(int))]] = True
    return frames[chosen]


def read_frames(video: PathLike, wanted) -> dict[int, np.ndarray]:
    """RGB frames ``{frame number (1-based): (H, W, 3) uint8}`` read sequentially from ``video``."""
    import cv2

    wanted = set(int(f) for f in wanted)
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise OSError(f"{video}: OpenCV cannot open the video")
    out, frame_no, last = {}, 0, max(wanted, default=0)
    try:
        while frame_no < last:
            if not cap.grab():
                break
            frame_no += 1
            if frame_no in wanted:
                ok, bgr = cap.retrieve()
                if ok:
                    out[frame_no] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out


def face_crop_fn(size: int = 256, faces: dict | None = None) -> CropFn:
    """The faces phase's alignment as a crop function (``faces``: the faces config section)."""
    from synthfer.faces.align import align_face
    from synthfer.faces.settings import FaceSettings

    settings = FaceSettings.from_mapping({**(faces or {}), "size": int(size)})

    def crop(rgb: np.ndarray):
        res = align_face(rgb, settings)
        return (res.crop, "") if res.status == "ok" else (None, res.reason or res.status)

    return crop


def import_disfa(
    root: PathLike,
    out_dir: PathLike,
    camera: str = "right",
    frames: int = 300,
    threshold: int = 2,
    sampling: str = "uniform",
    seed: int = 2023,
    crop: CropFn | None = None,
    size: int = 256,
    faces: dict | None = None,
) -> pd.DataFrame:
    """Import DISFA into ``out_dir`` (see the module docstring); returns the labels table."""
    out_dir = Path(out_dir)
    crop = crop or face_crop_fn(size, faces)
    subjects = find_subjects(root, camera)
    log.info("DISFA %s camera: %d subjects, %d frames each (%s), AU positive at intensity >= %d",
             camera, len(subjects), frames, sampling, threshold)
    rows, report = [], []
    progress = Progress(log, len(subjects), "subjects imported", every=1)
    for k, (subject, (video, label_dir)) in enumerate(subjects.items()):
        inten = read_au_labels(label_dir, subject)
        picked = sample_frames(inten, frames, threshold, sampling, seed + k)
        images = read_frames(video, picked)
        for f in picked:
            f = int(f)
            if f not in images:
                report.append((subject, f, "failed", "frame_unreadable"))
                continue
            face, reason = crop(images[f])
            if face is None:
                report.append((subject, f, "failed", reason))
                continue
            rel = f"images/{subject}/{subject}_{f:05d}.png"
            save_png(out_dir / rel, np.ascontiguousarray(face, dtype=np.uint8))
            lab = inten.loc[f]
            rows.append({"image": rel, "subject": subject, "frame": f,
                         **{au: int(lab[au] >= threshold) for au in AU_COLUMNS},
                         **{f"I_{au}": int(lab[au]) for au in AU_COLUMNS}})
            report.append((subject, f, "ok", ""))
        progress.update()
    table = pd.DataFrame(rows, columns=["image", "subject", "frame", *AU_COLUMNS, *(f"I_{a}" for a in AU_COLUMNS)])
    rep = pd.DataFrame(report, columns=["subject", "frame", "status", "reason"])
    write_table(out_dir / "import_report.csv", rep)
    if table.empty:
        raise ValueError(f"{root}: no frame could be imported (reasons in {out_dir / 'import_report.csv'})")
    write_table(out_dir / "labels.csv", table)
    write_json(out_dir / "labels.csv.json", {"root": str(root), "camera": camera, "frames": frames, "threshold": threshold,
                                             "sampling": sampling, "seed": seed, "size": size,
                                             "n_images": len(table), "n_failed": int((rep["status"] != "ok").sum()),
                                             "provenance": provenance()})
    log.info("imported %d frames of %d subjects (%d failed)", len(table), table["subject"].nunique(),
             int((rep["status"] != "ok").sum()))
    return table
