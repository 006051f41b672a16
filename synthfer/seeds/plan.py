"""The generation plan: one row per image to generate, derived from a validated seed list.

``results/seeds/plan.csv`` is the single source of truth for image names and labels. Columns:

=============  =======  ==========================================================================
order          int      global running number, 0 … N−1 (seeds ascending, then ψ, then edits)
name           str      ``{seed}_{order:06d}`` (the image is ``{name}.png``)
seed           int      generator seed (z = RandomState(seed).randn(1, z_dim))
direction      int      GANSpace component index k; −1 = unedited
degree         float    σ in units of the component's std (0.0 when unedited)
psi            float    truncation ψ
layer_start    int      first edited w layer (inclusive)
layer_end      int      last edited w layer (exclusive, resolved to num_ws when open)
shard          int      generation shard, contiguous blocks: ``order * n_shards // N``
AU1 … AU15     int 0/1  label (seed's AU lists, then label rules)
neutral        int 0/1  1 if the seed is neutral and no label rule added an AU
=============  =======  ==========================================================================

Per seed and ψ the unedited image comes first, then the edit groups in file order, each
direction-major then degree. ``images_per_seed`` keeps an evenly spaced subset
(indices ``round(linspace(0, M−1, cap))``) of the seed's M combinations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from synthfer.logs import get_logger
from synthfer.seeds import AU_NAMES
from synthfer.seeds.spec import SeedSpec, SeedSpecError

log = get_logger(__name__)

PLAN_COLUMNS = [
    "order",
    "name",
    "seed",
    "direction",
    "degree",
    "psi",
    "layer_start",
    "layer_end",
    "shard",
    *AU_NAMES,
    "neutral",
]


class SeedsFileMissing(SeedSpecError):
    """The reviewed seed list does not exist yet: the run stops here on purpose."""

    def __init__(self, seeds_file: str | Path, review_page: str | Path | None = None):
        page = f" Open {review_page} in a browser (it works from disk, no server needed)," if review_page else ""
        super().__init__(
            f"The reviewed seed list {seeds_file} does not exist yet, so the run stops before generation.{page}"
            f" tick the AUs (or neutral) shown by each seed, press 'Export seeds YAML', save the text as"
            f" {seeds_file}, and run snakemake again. The review material is ready; nothing is lost."
        )
        self.seeds_file = str(seeds_file)


def image_name(seed: int, order: int) -> str:
    """``{seed}_{order:06d}`` — the generated image's name (file ``{name}.png``)."""
    return f"{int(seed)}_{int(order):06d}"


def build_plan(
    spec: SeedSpec,
    n_shards: int,
    default_layers: tuple[int, int | None] = (0, None),
    num_ws: int | None = None,
    n_directions: int | None = None,
):
    """Return the plan DataFrame (columns :data:`PLAN_COLUMNS`).

    ``num_ws`` resolves an open layer end and bounds the layer ranges; ``n_directions`` (the
    number of components in ``directions.npz``) bounds the direction indices. Either may be
    ``None`` to skip that check (then an open end is written as −1).
    """
    import pandas as pd

    if n_shards < 1:
        raise ValueError(f"n_shards must be >= 1, got {n_shards}")
    rows = []
    order = 0
    for seed in spec.seeds:
        combos: list[tuple[float, int, float, tuple[int, int | None]]] = []
        for psi in spec.truncation_psi:
            if spec.include_unedited:
                combos.append((psi, -1, 0.0, (0, 0)))
            for group in spec.edits:
                if seed not in group.seeds:
                    continue
                layers = group.layers if group.layers is not None else default_layers
                for d in group.directions:
                    for deg in group.degrees:
                        combos.append((psi, d, deg, layers))
        if spec.images_per_seed is not None and len(combos) > spec.images_per_seed:
            keep = np.rint(np.linspace(0, len(combos) - 1, spec.images_per_seed)).astype(int)
            combos = [combos[i] for i in keep]
        seed_is_neutral = seed in spec.neutral
        for psi, d, deg, layers in combos:
            if d >= 0 and n_directions is not None and d >= n_directions:
                raise SeedSpecError(
                    f"seed {seed}: direction {d} does not exist (directions.npz has {n_directions} components, 0…{n_directions - 1})"
                )
            start, end = layers
            if d < 0:
                start, end = 0, 0
            elif end is None:
                end = num_ws if num_ws is not None else -1
            if d >= 0 and num_ws is not None and end > num_ws:
                raise SeedSpecError(
                    f"seed {seed}: layer range [{start}, {end}) exceeds the generator's {num_ws} w layers"
                )
            label = spec.image_label(seed, d, deg) if d >= 0 else spec.seed_label(seed)
            rows.append(
                {
                    "order": order,
                    "name": image_name(seed, order),
                    "seed": seed,
                    "direction": d,
                    "degree": float(deg),
                    "psi": float(psi),
                    "layer_start": int(start),
                    "layer_end": int(end),
                    "shard": 0,
                    **dict(zip(AU_NAMES, label, strict=True)),
                    "neutral": int(seed_is_neutral and not any(label)),
                }
            )
            order += 1
    df = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    n = len(df)
    if n:
        df["shard"] = (df["order"].to_numpy(np.int64) * n_shards) // n
    return df.astype(
        {c: "int64" for c in ["order", "seed", "direction", "layer_start", "layer_end", "shard", *AU_NAMES, "neutral"]}
    )


def seed_labels_table(spec: SeedSpec):
    """One row per listed seed: ``seed, AU1 … AU15, neutral`` (the seed-level labels)."""
    import pandas as pd

    rows = [
        {"seed": s, **dict(zip(AU_NAMES, spec.seed_label(s), strict=True)), "neutral": int(s in spec.neutral)}
        for s in spec.seeds
    ]
    return pd.DataFrame(rows, columns=["seed", *AU_NAMES, "neutral"])


def read_plan(path: str | Path):
    """Read and sanity-check ``plan.csv`` (columns, unique names, running order)."""
    import pandas as pd

    path = Path(path)
    df = pd.read_csv(path)
    missing = [c for c in PLAN_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not a generation plan, missing column(s) {', '.join(missing)}")
    if not np.array_equal(df["order"].to_numpy(), np.arange(len(df))):
        raise ValueError(f"{path}: column 'order' must run 0…{len(df) - 1} in row order")
    if df["name"].duplicated().any():
        raise ValueError(f"{path}: duplicate name {df.loc[df['name'].duplicated(), 'name'].iloc[0]!r}")
    return df


def write_seed_plan(
    seeds_file: str | Path,
    directions: str | Path | None,
    plan_path: str | Path,
    seed_labels_path: str | Path,
    n_shards: int,
    meta_path: str | Path | None = None,
    default_layers: tuple[int, int | None] = (0, None),
    review_page: str | Path | None = None,
    missing_seeds_file: str | Path | None = None,
) -> int:
    """Rule ``seed_plan``: validate ``seeds_file`` and write the plan and the seed-level labels.

    ``directions`` (``directions.npz``) bounds direction indices and resolves open layer ranges.
    A missing ``seeds_file`` (an empty value: the workflow passes ``missing_seeds_file``, the path the
    reviewer must create, instead) raises :class:`SeedsFileMissing` with the review instructions
    (``review_page`` is the page to open). Returns the number of planned images.
    """
    from synthfer.io import provenance, write_json, write_table
    from synthfer.seeds.spec import load_seed_spec

    if not seeds_file or not Path(seeds_file).is_file():
        exc = SeedsFileMissing(seeds_file or missing_seeds_file or "the seed-list file", review_page)
        log.error("%s", exc)  # into the rule's log too, which Snakemake shows for a failed job
        raise exc
    spec = load_seed_spec(seeds_file)
    n_dirs = num_ws = None
    if directions is not None:
        with np.load(directions) as npz:
            n_dirs = int(npz["components"].shape[0])
            num_ws = int(npz["num_ws"])
    start, end = default_layers
    plan = build_plan(
        spec, n_shards, (int(start), None if end is None else int(end)), num_ws=num_ws, n_directions=n_dirs
    )
    write_table(plan_path, plan)
    write_table(seed_labels_path, seed_labels_table(spec))
    write_json(
        meta_path if meta_path is not None else Path(plan_path).with_suffix(".json"),
        {
            "seeds_file": str(seeds_file),
            "n_images": len(plan),
            "n_seeds": len(spec.seeds),
            "n_shards": n_shards,
            "images_per_shard": plan.groupby("shard").size().reindex(range(n_shards), fill_value=0).tolist(),
            "seeds": spec.seeds,
            "provenance": provenance(),
        },
    )
    counts = {au: int(plan[au].sum()) for au in AU_NAMES}
    log.info(
        "plan: %d images from %d seeds in %d shards; AU counts %s; neutral %d",
        len(plan),
        len(spec.seeds),
        n_shards,
        counts,
        int(plan["neutral"].sum()),
    )
    return len(plan)
