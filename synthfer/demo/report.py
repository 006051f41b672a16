"""The demo data's page in the Snakemake report: what the drawn faces look like and how the
DISFA-like labels are distributed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.imaging import load_rgb
from synthfer.io import PathLike, read_table, save_figure


def demo_sheet(real_dir: PathLike, metadata_csv: PathLike, disfa_labels: PathLike, out_png: PathLike, n_frames: int = 20) -> None:
    """One figure: row 1 = the five expressions of the first two demo identities (as rendered, before
    alignment); rows 2–3 = ``n_frames`` DISFA-like frames (evenly spaced) titled with their present AUs;
    right = the AU base rates of the DISFA-like set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = read_table(metadata_csv)
    ids = sorted(meta["identity"].unique())[:2]
    portraits = meta[meta["identity"].isin(ids)].sort_values(["identity", "expression"])
    labels = read_table(disfa_labels, dtype={"subject": str})
    frames = labels.iloc[np.linspace(0, len(labels) - 1, min(n_frames, len(labels))).round().astype(int)]
    cols = max(len(portraits), int(np.ceil(len(frames) / 2)))
    fig = plt.figure(figsize=(1.5 * cols + 3.0, 5.2))
    grid = fig.add_gridspec(3, cols + 2)
    for i, row in enumerate(portraits.itertuples(index=False)):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(load_rgb(Path(real_dir) / f"{row.face_id}.png"))
        ax.set_title(f"{row.face_id}", fontsize=6)
        ax.axis("off")
    base = Path(disfa_labels).parent
    for j, row in enumerate(frames.itertuples(index=False)):
        ax = fig.add_subplot(grid[1 + j // cols, j % cols])
        ax.imshow(load_rgb(base / row.image))
        on = [a for a in AU_COLUMNS if getattr(row, a) == 1]
        ax.set_title(f"{row.subject}: " + ("AU" + " ".join(a[2:] for a in on) if on else "no AU"), fontsize=6)
        ax.axis("off")
    ax = fig.add_subplot(grid[1:, cols:])
    rates = [float(labels[a].mean()) for a in AU_COLUMNS]
    ax.barh(list(AU_COLUMNS)[::-1], rates[::-1], color="C1")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of frames")
    ax.set_title(f"DISFA-like AU base rates\n({len(labels)} frames, {labels['subject'].nunique()} subjects)", fontsize=8)
    fig.suptitle("Demo data (procedurally drawn; exercises the pipeline, not science)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out_png, tight=False)
