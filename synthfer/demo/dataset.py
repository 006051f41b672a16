"""The demo's data sets, rendered deterministically from a seed.

CFD-like set (stand-in for the Chicago Face Database): ``n_identities`` people × the five
expressions of :data:`synthfer.demo.render.EXPRESSIONS`, ``size``² PNG, each with a random in-plane
rotation (±``max_angle``°), scale and offset so alignment has real work. Written files:

- ``real/<face_id>.png`` with ``face_id = D{identity:03d}-{expression}``;
- ``real_metadata.csv``: ``face_id, identity, expression, age, gender, skin_tone``;
- ``real_truth.csv``: ``face_id, left_eye_x, left_eye_y, right_eye_x, right_eye_y, angle, scale,
  offset_x, offset_y`` — ground-truth pupil centres (image pixels, left = the image's left) and
  the applied transform.

DISFA-like set (stand-in for DISFA's AU-coded video frames): ``n_subjects`` people (``SN001``…)
× ``frames`` frames, roughly face-centred, each frame with binary AU1/4/5/6/12/15 drawn by the
renderer. Written files: ``disfa_like/images/SN001_0000.png`` … and ``disfa_like/labels.csv``
(``image, subject, AU1, AU4, AU5, AU6, AU12, AU15``; ``image`` relative to the folder of labels.csv).

Every image gets its own generator ``default_rng([seed, kind, index])``, so the result does not
depend on the number of worker processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.demo.render import EXPRESSIONS, Expression, Identity, render_face
from synthfer.imaging import save_png
from synthfer.io import PathLike, write_json, write_table
from synthfer.logs import get_logger
from synthfer.runtime import map_jobs

log = get_logger(__name__)

_REAL, _DISFA, _IDENT = 1, 2, 3


def _identity(seed: int, kind: int, index: int) -> Identity:
    return Identity.random(np.random.default_rng([seed, _IDENT, kind, index]))


def _render_real(job: tuple) -> dict[str, Any]:
    seed, ident_i, expr_i, expr_name, size, max_angle, scale_range, max_offset, out_dir = job
    ident = _identity(seed, _REAL, ident_i)
    rng = np.random.default_rng([seed, _REAL, ident_i, expr_i])
    angle = float(rng.uniform(-max_angle, max_angle))
    scale = float(rng.uniform(*scale_range))
    off = rng.uniform(-max_offset, max_offset, 2) * size
    r = render_face(ident, EXPRESSIONS[expr_name], size, angle_deg=angle, scale=scale, offset=(float(off[0]), float(off[1])), rng=rng, light=float(rng.uniform(-0.6, 0.6)))
    face_id = f"D{ident_i:03d}-{expr_name}"
    save_png(Path(out_dir) / f"{face_id}.png", r.image, compress_level=1)
    return {
        "face_id": face_id, "identity": ident_i, "expression": expr_name, "age": ident.age, "gender": ident.gender,
        "skin_tone": ident.skin_tone, "left_eye_x": r.left_eye[0], "left_eye_y": r.left_eye[1],
        "right_eye_x": r.right_eye[0], "right_eye_y": r.right_eye[1], "angle": angle, "scale": scale,
        "offset_x": float(off[0]), "offset_y": float(off[1]),
    }  # fmt: skip


def sample_aus(rng: np.random.Generator, p_on: float) -> np.ndarray:
    """Binary AU1, AU4, AU5, AU6, AU12, AU15 for one frame.

    Each AU is on with probability ``p_on``, except: AU12 and AU15 exclude each other (one is dropped
    at random), and AU6 follows AU12 more often (P(AU6 | AU12) = 0.7), as in spontaneous smiles.
    """
    on = rng.random(len(AU_COLUMNS)) < p_on
    i12, i15, i6 = AU_COLUMNS.index("AU12"), AU_COLUMNS.index("AU15"), AU_COLUMNS.index("AU6")
    if on[i12] and on[i15]:
        on[i12 if rng.random() < 0.5 else i15] = False
    if on[i12]:
        on[i6] = rng.random() < 0.7
    return on.astype(np.uint8)


def render_disfa_frame(ident: Identity, rng: np.random.Generator, size: int, p_on: float) -> tuple[np.ndarray, np.ndarray]:
    """One DISFA-like frame of ``ident``: ``(image uint8 (size, size, 3), binary AUs uint8 (6,))``,
    everything random drawn from ``rng`` (also used to pretrain the demo's FER backbone on other identities)."""
    on = sample_aus(rng, p_on)
    # On: intensity 0.45–1; off: a faint residue 0–0.12, so "absent" is not one constant picture.
    inten = np.where(on == 1, rng.uniform(0.45, 1.0, len(on)), rng.uniform(0.0, 0.12, len(on)))
    expr = Expression(**{a: float(v) for a, v in zip(AU_COLUMNS, inten, strict=True)})
    # Zoom ×1.45 about a point near the face centre: frames come roughly face-centred (≈ a face crop).
    zoom = float(rng.uniform(1.35, 1.55))
    off = (float(rng.uniform(-0.03, 0.03) * size), float((0.06 + rng.uniform(-0.03, 0.03)) * size))
    r = render_face(ident, expr, size, angle_deg=float(rng.uniform(-4, 4)), scale=zoom, offset=off, rng=rng, noise=2.5, light=float(rng.uniform(-0.7, 0.7)))
    return r.image, on


def _render_disfa(job: tuple) -> dict[str, Any]:
    seed, subj, frame, size, p_on, out_dir = job
    image, on = render_disfa_frame(_identity(seed, _DISFA, subj), np.random.default_rng([seed, _DISFA, subj, frame]), size, p_on)
    name = f"SN{subj + 1:03d}_{frame:04d}.png"
    save_png(Path(out_dir) / "images" / name, image, compress_level=1)
    return {"image": f"images/{name}", "subject": f"SN{subj + 1:03d}", **{a: int(v) for a, v in zip(AU_COLUMNS, on, strict=True)}}


def make_real_set(
    out_dir: PathLike,
    metadata_csv: PathLike,
    truth_csv: PathLike,
    n_identities: int = 40,
    size: int = 512,
    seed: int = 2023,
    max_angle: float = 10.0,
    scale_range: tuple[float, float] = (0.85, 1.1),
    max_offset: float = 0.05,
    workers: int = 1,
) -> Any:
    """Render the CFD-like set (see module docstring); returns the truth table."""
    import pandas as pd

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        (seed, i, j, name, size, max_angle, tuple(scale_range), max_offset, str(out_dir))
        for i in range(n_identities)
        for j, name in enumerate(EXPRESSIONS)
    ]
    rows = map_jobs(_render_real, jobs, workers, "demo real faces rendered", logger=log)
    df = pd.DataFrame(rows)
    write_table(metadata_csv, df[["face_id", "identity", "expression", "age", "gender", "skin_tone"]])
    truth_cols = ["face_id", "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "angle", "scale", "offset_x", "offset_y"]
    write_table(truth_csv, df[truth_cols])
    return df


def make_disfa_like(
    out_dir: PathLike,
    n_subjects: int = 26,
    frames: int = 40,
    size: int = 192,
    p_on: float = 0.35,
    seed: int = 2023,
    workers: int = 1,
) -> Any:
    """Render the DISFA-like labelled set into ``out_dir`` (``images/`` + ``labels.csv``)."""
    import pandas as pd

    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(seed, s, f, size, p_on, str(out_dir)) for s in range(n_subjects) for f in range(frames)]
    rows = map_jobs(_render_disfa, jobs, workers, "demo DISFA-like frames rendered", logger=log)
    df = pd.DataFrame(rows, columns=["image", "subject", *AU_COLUMNS])
    write_table(out_dir / "labels.csv", df)
    log.info("DISFA-like: %d frames; AU base rates %s", len(df), {a: round(float(df[a].mean()), 3) for a in AU_COLUMNS})
    return df


def make_demo_data(
    real_dir: PathLike,
    metadata_csv: PathLike,
    truth_csv: PathLike,
    disfa_dir: PathLike,
    sidecar: PathLike,
    seed: int,
    real: dict[str, Any],
    disfa: dict[str, Any],
    workers: int = 1,
) -> None:
    """Both demo sets plus a JSON sidecar (settings, counts, provenance). ``real``/``disfa``: the
    keyword arguments of :func:`make_real_set` / :func:`make_disfa_like` (from ``config['demo']``)."""
    import time

    from synthfer.io import provenance

    t0 = time.monotonic()
    real_kw = dict(real)
    if "scale_range" in real_kw:
        real_kw["scale_range"] = tuple(real_kw["scale_range"])
    rdf = make_real_set(real_dir, metadata_csv, truth_csv, seed=seed, workers=workers, **real_kw)
    ddf = make_disfa_like(disfa_dir, seed=seed, workers=workers, **disfa)
    secs = time.monotonic() - t0
    write_json(
        sidecar,
        {
            "what": "synthfer demo data: procedurally drawn faces (exercises the pipeline; not science)",
            "seed": seed,
            "real": {**real, "n_images": int(len(rdf))},
            "disfa_like": {**disfa, "n_images": int(len(ddf)), "au_rates": {a: float(ddf[a].mean()) for a in AU_COLUMNS}},
            "seconds": round(secs, 1),
            "provenance": provenance(),
        },
    )
    log.info("demo data written in %.1f s (%d real, %d DISFA-like)", secs, len(rdf), len(ddf))

