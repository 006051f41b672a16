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

**No latent is planned twice.** An edit of degree 0 moves w by 0 · s_k · v_k = 0 whatever the direction
and layers, so it *is* the unedited image: it is planned once per seed and ψ, as the unedited row
(direction −1), in the place of its first occurrence, with the seed's label (label rules act on edited
images). A seed listed under several AUs is one seed with the union of those labels, so each of its
(ψ, direction, degree) images is planned once. :func:`plan_merges` says what was merged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike
from synthfer.logs import get_logger
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
    *AU_COLUMNS,
    "neutral",
]


class SeedsFileMissing(SeedSpecError):
    """The reviewed seed list does not exist yet: the run stops here on purpose."""

    def __init__(self, seeds_file: PathLike, review_page: PathLike | None = None):
        page = f" Open {review_page} in a browser (it works from disk, no server needed)," if review_page else ""
        super().__init__(
            f"The reviewed seed list {seeds_file} does not exist yet, so the run stops before generation.{page}"
            f" tick the AUs (or neutral) shown by each seed, press 'Export seeds YAML', save the text as"
            f" {seeds_file}, and run snakemake again. The review material is ready; nothing is lost."
        )
        self.seeds_file = str(seeds_file)


# The generated image's name: ``{seed}_{order:06d}`` (file ``{name}.png``). The seed thesis' label
# tables list the same names with ``.jpg``. Built by image_name, read back by parse_name — nowhere else.
IMAGE_NAME_FORMAT = "{seed}_{order:06d}"
NAME_EXTENSIONS = (".png", ".jpg")
_NAME = re.compile(r"^(0|[1-9]\d*)_(\d{6,})(\.png|\.jpg)?$")


def image_name(seed: int, order: int) -> str:
    """``{seed}_{order:06d}`` — the generated image's name (file ``{name}.png``)."""
    return IMAGE_NAME_FORMAT.format(seed=int(seed), order=int(order))


def parse_name(name: PathLike) -> tuple[int, int]:
    """``(seed, order)`` of a generated image's name, the inverse of :func:`image_name`.

    Accepts the name, the name with ``.png`` or ``.jpg`` (the seed thesis' label tables), or a path ending
    in one: ``'9_000061.png'`` → ``(9, 61)``. Anything else — another separator or extension, an order with
    fewer than 6 digits or extra leading zeros (``9_0000061``, which :func:`image_name` never writes) —
    raises ``ValueError`` quoting the name and the expected format.
    """
    base = Path(str(name)).name
    m = _NAME.match(base)
    if not m or image_name(int(m.group(1)), int(m.group(2))) != base[: m.start(3) if m.group(3) else None]:
        raise ValueError(
            f"{str(name)!r} is not a generated image name '{IMAGE_NAME_FORMAT}' (optionally with "
            f"{' or '.join(NAME_EXTENSIONS)}), e.g. {image_name(9, 61)!r}"
        )
    return int(m.group(1)), int(m.group(2))


UNEDITED = (-1, 0.0, (0, 0))  # (direction, degree, layers) of the unedited image


def _canonical(direction: int, degree: float, layers) -> tuple[int, float, tuple]:
    """Degree 0 of any direction is the unedited latent (w + 0·s_k·v_k = w)."""
    if direction < 0 or float(degree) == 0.0:
        return UNEDITED
    return (int(direction), float(degree), tuple(layers))


def _seed_combos(spec: SeedSpec, seed: int, default_layers) -> tuple[list, int]:
    """The seed's distinct (ψ, direction, degree, layers) in plan order, and how many degree-0 edits
    were folded into the unedited image."""
    combos: list[tuple[float, int, float, tuple]] = []
    seen: set[tuple] = set()
    folded = 0
    for psi in spec.truncation_psi:
        candidates = [UNEDITED] if spec.include_unedited else []
        for group in spec.edits:
            if seed not in group.seeds:
                continue
            layers = group.layers if group.layers is not None else default_layers
            candidates += [(d, deg, layers) for d in group.directions for deg in group.degrees]
        for d, deg, layers in candidates:
            key = (float(psi), *_canonical(d, deg, layers))
            if d >= 0 and key[1] < 0:
                folded += 1
            if key in seen:
                continue
            seen.add(key)
            combos.append(key)
    return combos, folded


@dataclass
class PlanMerges:
    """What the plan merged so that no latent is generated twice (reported by ``seeds-check``)."""

    #: degree-0 edits that are the unedited image, per seed (planned once per seed and ψ)
    degree_zero: dict[int, int] = field(default_factory=dict)
    #: the degree-0 edits' directions
    degree_zero_directions: tuple[int, ...] = ()
    #: seeds listed under several AUs → those AUs (one image per combination, labelled with all of them)
    multi_au_seeds: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def n_degree_zero(self) -> int:
        return sum(self.degree_zero.values())

    def lines(self) -> list[str]:
        """Human-readable summary, one line per kind of merge (empty when nothing was merged)."""
        out = []
        if self.degree_zero:
            dirs = ", ".join(map(str, self.degree_zero_directions))
            out.append(
                f"merged {self.n_degree_zero} degree-0 edit(s) (direction(s) {dirs}) of {len(self.degree_zero)} seed(s) "
                "into the seeds' unedited images: a degree-0 edit is the unedited latent, planned once per seed and psi"
            )
        if self.multi_au_seeds:
            shown = ", ".join(f"{s} ({'+'.join(a)})" for s, a in list(self.multi_au_seeds.items())[:10])
            more = f", … {len(self.multi_au_seeds) - 10} more" if len(self.multi_au_seeds) > 10 else ""
            out.append(
                f"merged {len(self.multi_au_seeds)} seed(s) listed under several AUs into one set of images each, "
                f"labelled with all of their AUs: {shown}{more}"
            )
        return out

    def as_dict(self) -> dict:
        return {
            "degree_zero_edits": self.n_degree_zero,
            "degree_zero_seeds": len(self.degree_zero),
            "degree_zero_directions": list(self.degree_zero_directions),
            "multi_au_seeds": {str(s): list(a) for s, a in self.multi_au_seeds.items()},
        }


def plan_merges(spec: SeedSpec, default_layers: tuple[int, int | None] = (0, None)) -> PlanMerges:
    """Which listed combinations :func:`build_plan` merges (before any ``images_per_seed`` cap)."""
    merges = PlanMerges()
    zero_dirs: set[int] = set()
    for group in spec.edits:
        if any(float(deg) == 0.0 for deg in group.degrees):
            zero_dirs.update(group.directions)
    for seed in spec.seeds:
        _, folded = _seed_combos(spec, seed, default_layers)
        if folded:
            merges.degree_zero[seed] = folded
        aus = tuple(au for au in AU_COLUMNS if seed in spec.aus[au])
        if len(aus) > 1:
            merges.multi_au_seeds[seed] = aus
    merges.degree_zero_directions = tuple(sorted(zero_dirs))
    return merges


def check_directions(
    spec: SeedSpec,
    n_directions: int,
    num_ws: int | None = None,
    seeds_file: PathLike = "the seed list",
    directions_file: PathLike = "directions.npz",
    default_layers: tuple[int, int | None] = (0, None),
) -> None:
    """Raise :class:`SeedSpecError` naming both files when an edit group uses a direction that
    ``directions_file`` does not have, or a layer range beyond the generator's ``num_ws``."""
    for i, group in enumerate(spec.edits):
        bad = [d for d in group.directions if d >= n_directions]
        if bad:
            raise SeedSpecError(
                f"{seeds_file}: generation.edits[{i}].directions: direction {bad[0]} does not exist in "
                f"{directions_file} ({n_directions} components, 0…{n_directions - 1}). Fix: use directions below "
                f"{n_directions}, or recompute the directions with more components (latent.n_components)."
            )
        start, end = group.layers if group.layers is not None else default_layers
        if num_ws is not None and end is not None and end > num_ws:
            raise SeedSpecError(
                f"{seeds_file}: generation.edits[{i}]: layer range [{start}, {end}) exceeds the generator's {num_ws} "
                f"w layers ({directions_file})"
            )


def build_plan(
    spec: SeedSpec,
    n_shards: int,
    default_layers: tuple[int, int | None] = (0, None),
    num_ws: int | None = None,
    n_directions: int | None = None,
):
    """Return the plan DataFrame (columns :data:`PLAN_COLUMNS`); no two rows share a latent.

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
        combos, _ = _seed_combos(spec, seed, default_layers)
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
                    **dict(zip(AU_COLUMNS, label, strict=True)),
                    "neutral": int(seed_is_neutral and not any(label)),
                }
            )
            order += 1
    df = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    n = len(df)
    if n:
        df["shard"] = (df["order"].to_numpy(np.int64) * n_shards) // n
    return df.astype(
        {c: "int64" for c in ["order", "seed", "direction", "layer_start", "layer_end", "shard", *AU_COLUMNS, "neutral"]}
    )


def seed_labels_table(spec: SeedSpec):
    """One row per listed seed: ``seed, AU1 … AU15, neutral`` (the seed-level labels)."""
    import pandas as pd

    rows = [
        {"seed": s, **dict(zip(AU_COLUMNS, spec.seed_label(s), strict=True)), "neutral": int(s in spec.neutral)}
        for s in spec.seeds
    ]
    return pd.DataFrame(rows, columns=["seed", *AU_COLUMNS, "neutral"])


def read_plan(path: PathLike):
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


class NetworkMismatch(SeedSpecError):
    """The seed list was reviewed on another generator than the one this run generates with."""


def check_network(
    spec: SeedSpec,
    seeds_file: PathLike,
    network: PathLike,
    network_sha256: str,
    allow_other_network: bool = False,
) -> str:
    """Compare the network recorded in the seed list with the one the plan will be generated with.

    Returns ``"match"``, ``"not recorded"`` (a hand-written list; logged) or ``"overridden"``
    (``allow_other_network``; logged); raises :class:`NetworkMismatch` — one line naming both files
    and both hashes — otherwise.
    """
    if spec.network_sha256 is None:
        log.warning(
            "%s records no network (written by hand or by an older review page): not checked against %s",
            seeds_file,
            network,
        )
        return "not recorded"
    if spec.network_sha256 == network_sha256:
        return "match"
    msg = (
        f"{seeds_file} was reviewed on network {spec.network_file or '(file not recorded)'} (sha256 "
        f"{spec.network_sha256}) but this run generates with {network} (sha256 {network_sha256}): the seeds show "
        "other faces now. Fix: review again on the rebuilt review page and export a new seed list, or set "
        "seeds.allow_other_network: true to generate with it anyway."
    )
    if allow_other_network:
        log.warning("%s (allowed by seeds.allow_other_network)", msg.split(": the seeds show")[0])
        return "overridden"
    log.error("%s", msg)  # into the rule's log too
    raise NetworkMismatch(msg)


def write_seed_plan(
    seeds_file: PathLike,
    directions: PathLike | None,
    plan_path: PathLike,
    seed_labels_path: PathLike,
    n_shards: int,
    meta_path: PathLike | None = None,
    default_layers: tuple[int, int | None] = (0, None),
    review_page: PathLike | None = None,
    missing_seeds_file: PathLike | None = None,
    network: PathLike | None = None,
    allow_other_network: bool = False,
) -> int:
    """Rule ``seed_plan``: validate ``seeds_file`` and write the plan and the seed-level labels.

    ``directions`` (``directions.npz``) bounds direction indices and resolves open layer ranges.
    ``network`` (the generator the plan is generated with) must be the one the seeds were reviewed on
    (:func:`check_network`). A missing ``seeds_file`` (an empty value: the workflow passes
    ``missing_seeds_file``, the path the reviewer must create, instead) raises :class:`SeedsFileMissing`
    with the review instructions (``review_page`` is the page to open). Returns the number of planned images.
    """
    from synthfer.io import provenance, sha256_file, write_json, write_table
    from synthfer.seeds.spec import load_seed_spec

    if not seeds_file or not Path(seeds_file).is_file():
        exc = SeedsFileMissing(seeds_file or missing_seeds_file or "the seed-list file", review_page)
        log.error("%s", exc)  # into the rule's log too, which Snakemake shows for a failed job
        raise exc
    spec = load_seed_spec(seeds_file)
    network_info = None
    if network is not None:
        sha = sha256_file(network)
        status = check_network(spec, seeds_file, network, sha, allow_other_network)
        network_info = {"file": str(network), "sha256": sha, "reviewed_on": spec.network_sha256, "check": status}
    n_dirs = num_ws = None
    start, end = default_layers
    layers = (int(start), None if end is None else int(end))
    if directions is not None:
        with np.load(directions) as npz:
            n_dirs = int(npz["components"].shape[0])
            num_ws = int(npz["num_ws"])
        check_directions(spec, n_dirs, num_ws, seeds_file, directions, layers)
    merges = plan_merges(spec, layers)
    for line in merges.lines():
        log.info("%s", line)
    plan = build_plan(spec, n_shards, layers, num_ws=num_ws, n_directions=n_dirs)
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
            "merged": merges.as_dict(),
            "network": network_info,
            "provenance": provenance(),
        },
    )
    counts = {au: int(plan[au].sum()) for au in AU_COLUMNS}
    log.info(
        "plan: %d images from %d seeds in %d shards; AU counts %s; neutral %d",
        len(plan),
        len(spec.seeds),
        n_shards,
        counts,
        int(plan["neutral"].sum()),
    )
    return len(plan)
