"""``synthfer`` sub-commands of the gan phase.

- ``synthfer import-pkl NETWORK.pkl OUT.pt`` — convert an official StyleGAN2-ADA pickle (read without
  NVIDIA's code) to a synthfer checkpoint holding G, D, G_ema and the ADA p (kind ``networks``); it refuses an
  output named ``.pkl`` (or the input itself) and a synthfer ``.pt`` as input.
A bad or missing network file gives every command one ``error: …`` line and exit status 1 (no traceback).
- ``synthfer generate --network N --seeds 0-9,42 --outdir DIR`` — images for seeds (official z convention),
  ``seed{seed:04d}.png`` like the official generate.py.
- ``synthfer gan-info CHECKPOINT`` — kimg, augmentation p, resolution and config of a checkpoint or pickle.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def parse_seeds(text: str) -> list[int]:
    """``"0-3,7"`` → ``[0, 1, 2, 3, 7]``."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            if int(b) < int(a):
                raise argparse.ArgumentTypeError(f"bad seed range {part!r}")
            seeds.extend(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise argparse.ArgumentTypeError("no seeds given")
    return seeds


def _import_pkl(args) -> int:
    from synthfer.gan.pkl import import_official_pkl

    import_official_pkl(args.pkl, args.out)
    return 0


def _generate(args) -> int:
    from synthfer.gan.api import load_generator, synthesize
    from synthfer.imaging import save_png
    from synthfer.logs import Progress, get_logger

    log = get_logger(__name__)
    G = load_generator(args.network, device=args.device)
    seeds = args.seeds
    progress = Progress(log, len(seeds), "images")
    out = Path(args.outdir)
    for i in range(0, len(seeds), args.batch_size):
        chunk = seeds[i : i + args.batch_size]
        imgs = synthesize(G, chunk, truncation_psi=args.trunc, noise_mode=args.noise_mode, batch_size=args.batch_size)
        for s, img in zip(chunk, imgs, strict=True):
            save_png(out / f"seed{s:04d}.png", img)
        progress.update(len(chunk))
    return 0


def _info(args) -> int:
    path = Path(args.checkpoint)
    if path.suffix == ".pkl":
        from synthfer.gan.pkl import load_official_pkl

        net = load_official_pkl(path)
        info = {
            "kind": "official pickle",
            "augment_p": net["augment_p"],
            "G_kwargs": net["G_kwargs"],
            "D_kwargs": net["D_kwargs"],
        }
    else:
        from synthfer.gan.api import read_checkpoint

        ck = read_checkpoint(path)
        info = {
            k: ck.get(k)
            for k in ("kind", "kimg", "augment_p", "G_kwargs", "D_kwargs", "source", "config", "provenance")
            if k in ck
        }
    print(json.dumps(info, indent=2, default=str))
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "import-pkl", help="convert an official StyleGAN2-ADA .pkl to a synthfer .pt (G, D, G_ema, p)"
    )
    p.add_argument("pkl", help="network-snapshot-*.pkl from the official code")
    p.add_argument("out", help="output .pt (networks checkpoint: usable by generate and gan.start_from)")
    p.add_argument("--log", help="also log to this file")
    p.set_defaults(func=_import_pkl)

    p = subparsers.add_parser("generate", help="images for seeds from a synthfer .pt or an official .pkl")
    p.add_argument("--network", required=True, help="network-final.pt, a snapshot, or an official .pkl")
    p.add_argument("--seeds", required=True, type=parse_seeds, help="e.g. 0-9,42")
    p.add_argument("--outdir", required=True, help="folder for seed{seed:04d}.png")
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default 1)")
    p.add_argument("--noise-mode", choices=("const", "random", "none"), default="const")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    p.add_argument("--log", help="also log to this file")
    p.set_defaults(func=_generate)

    p = subparsers.add_parser("gan-info", help="show kimg, p and config of a GAN checkpoint")
    p.add_argument("checkpoint")
    p.set_defaults(func=_info)
