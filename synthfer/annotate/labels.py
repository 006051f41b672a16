"""Seed-ID labels (the thesis' semi-automated annotation) for a list of generated images.

A generated image is named ``{seed}_{order:06d}.png``; its label is looked up

1. in the plan (``results/seeds/plan.csv``) by name — the seed's AU lists with the optional
   per-direction label rules already applied (the plan's seed must equal the name's seed);
2. otherwise from the seed-level table (``results/seeds/seed_labels.csv``): the union of the AU
   lists that contain the seed; neutral seeds are all zeros;
3. a seed in no list is an error, or — with ``unknown_seed: exclude`` — left out and counted.

Outputs in ``results/annotations/{variant}/``:

* ``labels.npy`` — uint8 ``[N, 6]``, columns AU1, AU4, AU5, AU6, AU12, AU15;
* ``image_names.txt`` — N lines, the image file names (``{name}.png``) in the ``.npy``'s row order
  (ascending global order number);
* ``labels.csv`` — the thesis' Figure 3.9 layout ``Image_name,AU1,AU4,AU5,AU6,AU12,AU15``;
* ``label_counts.csv`` — ``label,count,fraction``: one row per AU (images with that AU),
  ``neutral`` (images with no AU), ``total``, ``excluded_unknown_seed``;
* ``label_balance.png`` — bar chart of the per-AU counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike, save_figure
from synthfer.logs import get_logger
from synthfer.seeds.plan import image_name, parse_name

log = get_logger(__name__)

def label_images(names: Iterable[str], plan, seed_labels, unknown_seed: str = "error"):
    """Labels for ``names``.

    Returns ``(names_sorted, labels uint8 [N, 6], n_excluded)`` with names as ``{seed}_{order}``
    (no extension), sorted by order number.
    """
    if unknown_seed not in ("error", "exclude"):
        raise ValueError(f"unknown_seed must be 'error' or 'exclude', got {unknown_seed!r}")
    by_name = {str(n): r for n, r in zip(plan["name"], plan[[*AU_COLUMNS, "seed"]].to_numpy(np.int64), strict=True)}
    by_seed = {
        int(s): r for s, r in zip(seed_labels["seed"], seed_labels[list(AU_COLUMNS)].to_numpy(np.int64), strict=True)
    }
    parsed = []
    seen = set()
    for n in names:
        seed, order = parse_name(n)
        stem = image_name(seed, order)
        if stem in seen:
            raise ValueError(f"image {stem!r} is listed twice")
        seen.add(stem)
        parsed.append((order, seed, stem))
    parsed.sort()
    out_names, rows, excluded = [], [], []
    for _, seed, stem in parsed:
        if stem in by_name:
            row = by_name[stem]
            if int(row[-1]) != seed:
                raise ValueError(
                    f"image {stem!r}: the plan lists it with seed {int(row[-1])}, its name says seed {seed}"
                )
            label = row[:-1]
        elif seed in by_seed:
            label = by_seed[seed]
        elif unknown_seed == "exclude":
            excluded.append(stem)
            continue
        else:
            raise ValueError(
                f"image {stem!r}: seed {seed} is in no AU list and not neutral "
                "(add it to the seeds file, or set annotate.unknown_seed: exclude)"
            )
        out_names.append(stem)
        rows.append(label)
    labels = np.asarray(rows, dtype=np.uint8).reshape(-1, len(AU_COLUMNS))
    if excluded:
        log.warning("excluded %d image(s) whose seed is in no list, e.g. %s", len(excluded), excluded[0])
    return out_names, labels, len(excluded)


def read_names(source: PathLike, kind: str) -> list[str]:
    """Image names from the merged manifest (``kind='manifest'``: rows with ``face_ok`` true) or from
    the TDS selection (``kind='selected'``: every row of ``selected.csv``)."""
    import pandas as pd

    source = Path(source)
    if kind == "manifest":
        from synthfer.synthetic_manifest import read_manifest

        df = read_manifest(source)
        return df.loc[df["face_ok"], "name"].tolist()
    if kind == "selected":
        df = pd.read_csv(source, dtype={"name": str}, keep_default_na=False)
        if "name" not in df.columns:
            raise ValueError(f"{source}: no 'name' column")
        return df["name"].tolist()
    raise ValueError(f"unknown name source kind {kind!r} (use 'manifest' or 'selected')")


def label_counts(labels: np.ndarray, n_excluded: int = 0):
    """The ``label_counts.csv`` table (see the module docstring)."""
    import pandas as pd

    n = len(labels)
    rows = [(au, int(labels[:, i].sum())) for i, au in enumerate(AU_COLUMNS)]
    rows.append(("neutral", int((labels.sum(axis=1) == 0).sum()) if n else 0))
    rows.append(("total", n))
    rows.append(("excluded_unknown_seed", int(n_excluded)))
    df = pd.DataFrame(rows, columns=["label", "count"])
    df["fraction"] = (df["count"] / n).round(6) if n else 0.0
    return df


def plot_balance(counts, path: PathLike, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    sub = counts[counts["label"].isin([*AU_COLUMNS, "neutral"])]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar(sub["label"], sub["count"], color=["#4c72b0"] * len(AU_COLUMNS) + ["#999999"])
    ax.bar_label(bars, fontsize=8)
    total = int(counts.loc[counts["label"] == "total", "count"].iloc[0])
    ax.set(ylabel="images", title=f"{title}: {total} images")
    fig.tight_layout()
    save_figure(fig, path, tight=False)


def write_annotation(
    stems: list[str],
    labels: np.ndarray,
    n_excluded: int,
    out_npy: PathLike,
    out_names: PathLike,
    out_csv: PathLike,
    out_counts: PathLike,
    out_plot: PathLike,
    variant: str,
):
    """Write the five files of one annotation variant (module docstring) from image stems (no
    extension, in row order) and their uint8 ``[N, 6]`` labels; returns the ``label_counts`` table."""
    import pandas as pd

    from synthfer.io import save_npy, write_table, write_text

    files = [f"{s}.png" for s in stems]
    save_npy(out_npy, np.asarray(labels, dtype=np.uint8).reshape(-1, len(AU_COLUMNS)))
    write_text(out_names, "".join(f + "\n" for f in files))
    table = pd.DataFrame(np.asarray(labels).astype(int).reshape(-1, len(AU_COLUMNS)), columns=list(AU_COLUMNS))
    table.insert(0, "Image_name", files)
    write_table(out_csv, table)
    counts = label_counts(np.asarray(labels).reshape(-1, len(AU_COLUMNS)), n_excluded)
    write_table(out_counts, counts)
    plot_balance(counts, out_plot, variant)
    return counts


def annotate_variant(
    names_source: PathLike,
    names_kind: str,
    plan_csv: PathLike,
    seed_labels_csv: PathLike,
    out_npy: PathLike,
    out_names: PathLike,
    out_csv: PathLike,
    out_counts: PathLike,
    out_plot: PathLike,
    variant: str,
    unknown_seed: str = "error",
) -> int:
    """Rule ``annotate``: write the label files of one variant; returns the number of images."""
    import pandas as pd

    from synthfer.seeds.plan import read_plan

    plan = read_plan(plan_csv)
    seed_labels = pd.read_csv(seed_labels_csv)
    names = read_names(names_source, names_kind)
    stems, labels, n_excluded = label_images(names, plan, seed_labels, unknown_seed)
    if not stems:
        raise ValueError(f"{names_source}: no image left to annotate for variant {variant}")
    counts = write_annotation(stems, labels, n_excluded, out_npy, out_names, out_csv, out_counts, out_plot, variant)
    log.info(
        "%s: %d images labelled from %s (%d excluded); %s",
        variant,
        len(stems),
        names_source,
        n_excluded,
        ", ".join(f"{r.label} {r.count}" for r in counts.itertuples() if r.label in (*AU_COLUMNS, "neutral")),
    )
    return len(stems)
