"""Commands of the latent/seeds phase (``synthfer <verb>``), for work outside the DAG.

* ``synthfer review`` — build contact sheets, edit grids, strips and the offline review page for any
  network (e.g. an official ``.pkl`` or an intermediate snapshot) and seed range.
* ``synthfer seeds-check`` — validate a seed-list YAML and print what it would generate.
"""

from __future__ import annotations

import argparse


def _int_list(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def _float_list(text: str) -> list[float]:
    return [float(t) for t in text.split(",") if t.strip()]


def _pairs(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.append((int(a), int(b)))
    return out


# The workflow's directions (rule latent_directions), relative to the directory seeds-check runs in.
DEFAULT_DIRECTIONS = "results/latent/directions.npz"


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "review",
        help="build review material (sheets, edit grids, strips, index.html) for a network",
        description="Render the review material for a generator outside the workflow. Directions come from a "
        "directions.npz (rule latent_directions) or are computed here with --n-samples.",
    )
    p.add_argument("network", help="generator checkpoint (.pt from synthfer, or an official StyleGAN2-ADA .pkl)")
    p.add_argument("--out", default="results/review", help="output folder (index.html goes here)")
    p.add_argument("--directions", help="directions.npz; default: compute a quick PCA (see --n-samples)")
    p.add_argument(
        "--n-samples", type=int, default=20000, help="w samples for the quick PCA when --directions is absent"
    )
    p.add_argument("--n-components", type=int, default=20)
    p.add_argument("--seed-start", type=int, default=0)
    p.add_argument("--seed-count", type=int, default=100)
    p.add_argument("--cols", type=int, default=10)
    p.add_argument("--rows", type=int, default=10)
    p.add_argument("--thumb", type=int, default=128)
    p.add_argument("--psi", type=float, default=0.7, help="truncation psi")
    p.add_argument("--grid-seeds", type=_int_list, default=None, help="comma-separated seeds (default: the first 10)")
    p.add_argument("--grid-directions", type=int, default=10, help="directions 0..n-1 as grid rows")
    p.add_argument(
        "--degrees",
        type=_float_list,
        default=[-4.0, -2.0, 2.0, 4.0],
        help="comma-separated degrees (0 = the unedited face)",
    )
    p.add_argument(
        "--layers", type=_int_list, default=None, help="edited w layers start,end (end exclusive; default all)"
    )
    p.add_argument(
        "--strips", type=_pairs, default=None, help="seed pairs a-b,c-d for interpolation strips (default: 5 pairs)"
    )
    p.add_argument(
        "--seeds-file", default="config/seeds.yaml", help="where the page tells the reviewer to save the YAML"
    )
    p.add_argument(
        "--format",
        choices=["png", "jpeg"],
        default="png",
        dest="image_format",
        help="image format of sheets, grids and strips (jpeg: ~5x smaller; default png)",
    )
    p.add_argument("--jpeg-quality", type=int, default=90, help="JPEG quality 50-100 (default 90)")
    p.add_argument("--device", default=None, help="torch device (default: CUDA if available)")
    p.add_argument("--log", default=None, help="also write the log to this file")
    p.set_defaults(func=_review)

    q = subparsers.add_parser(
        "seeds-check",
        help="validate a seeds.yaml and summarise the plan it makes",
        description="Validate a seed-list YAML (unknown AUs, non-integer or duplicate seeds, neutral/AU conflicts, "
        "bad edit groups) and print the number of images per AU it would generate.",
    )
    q.add_argument("seeds_file")
    q.add_argument(
        "--directions",
        default=None,
        help=f"directions.npz the edits must exist in (default: {DEFAULT_DIRECTIONS} when present; 'none' skips the check)",
    )
    q.add_argument(
        "--network", default=None, help="generator file the list must have been reviewed on (default: not checked)"
    )
    q.add_argument("--shards", type=int, default=1)
    q.add_argument("--plan", default=None, help="also write the plan CSV here")
    q.add_argument("--log", default=None)
    q.set_defaults(func=_seeds_check)


def _review(args: argparse.Namespace) -> int:
    from pathlib import Path

    from synthfer.gan.api import load_generator
    from synthfer.latent.directions import Directions, compute_directions
    from synthfer.latent.options import ReviewOptions, network_record
    from synthfer.latent.review import build_review
    from synthfer.runtime import pick_device

    G = load_generator(args.network, device=pick_device(args.device))
    if args.directions:
        directions = Directions.load(args.directions)
    else:
        d, _ = compute_directions(
            G,
            args.n_samples,
            min(args.n_components, G.w_dim),
            seed=1,
            batch_size=min(10000, args.n_samples),
            std_samples=min(5000, args.n_samples),
        )
        directions = Directions(d["components"], d["std"], d["mean"], G.num_ws)
    layers = (0, None) if not args.layers else (args.layers[0], args.layers[1] if len(args.layers) > 1 else None)
    options = ReviewOptions.of(
        seed_start=args.seed_start,
        seed_count=args.seed_count,
        cols=args.cols,
        rows=args.rows,
        thumb=args.thumb,
        truncation_psi=args.psi,
        grid_seeds=args.grid_seeds if args.grid_seeds is not None else 10,
        grid_directions=args.grid_directions,
        grid_degrees=args.degrees,
        edit_layers=layers,
        strip_pairs=args.strips if args.strips is not None else 5,
        seeds_file=args.seeds_file,
        image_format=args.image_format,
        jpeg_quality=args.jpeg_quality,
    )
    build_review(G, directions, Path(args.out), options, network=network_record(args.network))
    print(f"open {Path(args.out) / 'index.html'} in a browser")
    return 0


def _seeds_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from synthfer import AU_COLUMNS
    from synthfer.seeds.plan import build_plan, check_directions, check_network, plan_merges
    from synthfer.seeds.spec import SeedSpecError, load_seed_spec

    directions = args.directions
    if directions is None:
        directions = DEFAULT_DIRECTIONS if Path(DEFAULT_DIRECTIONS).is_file() else None
    elif directions.lower() == "none":
        directions = None
    try:
        spec = load_seed_spec(args.seeds_file)
        n_dirs = num_ws = None
        if directions is not None:
            if not Path(directions).is_file():
                raise SeedSpecError(
                    f"{directions}: directions file not found (pass --directions FILE or --directions none)"
                )
            with np.load(directions) as npz:
                n_dirs, num_ws = int(npz["components"].shape[0]), int(npz["num_ws"])
            check_directions(spec, n_dirs, num_ws, args.seeds_file, directions)
        if args.network:
            from synthfer.io import sha256_file

            check_network(spec, args.seeds_file, args.network, sha256_file(args.network))
        plan = build_plan(spec, args.shards, num_ws=num_ws, n_directions=n_dirs)
    except SeedSpecError as exc:
        print(f"error: {exc}")
        return 1
    print(f"{args.seeds_file}: OK — {len(spec.seeds)} seeds ({len(spec.neutral)} neutral), {len(plan)} images")
    if directions is None:
        print(f"  directions not checked (no {DEFAULT_DIRECTIONS}; pass --directions FILE)")
    else:
        print(f"  directions checked against {directions} ({n_dirs} components)")
    for line in plan_merges(spec).lines():
        print(f"  {line}")
    for au in (*AU_COLUMNS, "neutral"):
        print(f"  {au:8s} {int(plan[au].sum()):8d} images")
    if args.plan:
        from synthfer.io import write_table

        write_table(args.plan, plan)
        print(f"plan written to {args.plan}")
    return 0
