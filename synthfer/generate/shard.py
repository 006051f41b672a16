"""Rule ``generate_shard``: render the plan rows of one shard to ``{name}.png``.

For each row: ws = mapping(z(seed), ψ) (truncation first), then the additive GANSpace edit of
``direction`` by ``degree`` on layers [layer_start, layer_end) (see
:mod:`synthfer.latent.directions`), then synthesis with ``noise_mode`` ('const' = deterministic).
Images are PNG-encoded in memory; an image that already exists with *different* bytes is never
overwritten (that would mean the plan or network changed under a finished shard): the shard fails.

Shard manifest ``results/synthetic/shards/{shard}.csv``: ``name, file`` (``{shard}/{name}.png``,
relative to ``results/synthetic/shards``), ``seed, order, direction, degree, psi, layer_start,
layer_end, shard, sha256`` (of the PNG bytes), ``width, height``; rows in plan order. Sidecar
``{shard}.json``: network, counts, timing and provenance.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import numpy as np

from synthfer.io import PathLike
from synthfer.logs import Progress, get_logger
from synthfer.synthetic_manifest import SHARD_COLUMNS

log = get_logger(__name__)

def png_bytes(rgb: np.ndarray) -> bytes:
    """Deterministic PNG encoding (Pillow, compress level 6, no metadata)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def plan_ws(G, directions, rows, batch_size: int = 32):
    """The ws ``[len(rows), num_ws, w_dim]`` of plan rows (a DataFrame), in row order: mapping(z(seed), ψ),
    then the row's edit."""
    import torch

    from synthfer.gan.api import seeds_to_ws

    ws_list = []
    for psi, part in rows.groupby("psi", sort=False):
        w = seeds_to_ws(G, part["seed"].tolist(), float(psi), batch_size)
        for j, row in enumerate(part.itertuples(index=False)):
            wj = w[j : j + 1]
            if row.direction >= 0:
                if directions is None:
                    raise ValueError(f"plan row {row.name}: direction {row.direction} but no directions were given")
                wj = directions.apply(wj, int(row.direction), float(row.degree), int(row.layer_start), int(row.layer_end))
            ws_list.append((row.order, wj))
    ws_list.sort(key=lambda t: t[0])  # back to plan order after grouping by psi
    return torch.cat([w for _, w in ws_list])


def render_rows(G, directions, rows, batch_size: int = 32, noise_mode: str = "const"):
    """Yield ``(row, uint8 image)`` for the plan rows (a DataFrame), batch by batch, in row order."""
    from synthfer.gan.api import synthesize_ws

    for i in range(0, len(rows), batch_size):
        chunk = rows.iloc[i : i + batch_size]
        ws = plan_ws(G, directions, chunk, batch_size)
        images = synthesize_ws(G, ws, noise_mode, batch_size)
        yield from zip(chunk.itertuples(index=False), images, strict=True)


def generate_rows(
    G, directions, rows, out_dir: PathLike, shard: int, batch_size: int = 32, noise_mode: str = "const"
):
    """Render ``rows`` into ``out_dir`` and return the shard manifest DataFrame."""
    import pandas as pd

    from synthfer.io import sha256_file, write_bytes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    progress = Progress(log, len(rows), f"shard {shard:03d} images")
    for row, img in render_rows(G, directions, rows, batch_size, noise_mode):
        data = png_bytes(img)
        path = out / f"{row.name}.png"
        digest = hashlib.sha256(data).hexdigest()
        if path.exists():
            if sha256_file(path) != digest:
                raise RuntimeError(
                    f"{path} exists with different content: refusing to overwrite a generated image "
                    "(the plan or the network changed; move the old shard away or use a new plan)"
                )
        else:
            write_bytes(path, data)
        records.append(
            {
                "name": row.name,
                "file": f"{shard:03d}/{row.name}.png",
                "seed": row.seed,
                "order": row.order,
                "direction": row.direction,
                "degree": row.degree,
                "psi": row.psi,
                "layer_start": row.layer_start,
                "layer_end": row.layer_end,
                "shard": shard,
                "sha256": digest,
                "width": img.shape[1],
                "height": img.shape[0],
            }
        )
        progress.update()
    return pd.DataFrame(records, columns=SHARD_COLUMNS)


def generate_shard(
    network: PathLike,
    directions_npz: PathLike,
    plan_csv: PathLike,
    shard: int,
    out_dir: PathLike,
    manifest_path: PathLike,
    meta_path: PathLike,
    batch_size: int = 64,
    noise_mode: str = "const",
    device: str | None = None,
    threads: int | None = None,
    compile: bool = False,
) -> int:
    """Rule ``generate_shard``: render the plan rows whose ``shard`` column equals ``shard``.

    ``compile``: run the synthesis network under ``torch.compile`` (inductor) on CUDA — for the GPU, where it pays
    when a shard renders thousands of images (measured by ``benchmarks/gpu_suite.py``'s ``generate_compile``);
    ignored on a CPU. The images may then differ by one level from the eager ones (docs/reproducibility.md).
    """

    from synthfer.gan.api import load_generator
    from synthfer.io import provenance, write_json, write_table
    from synthfer.latent.directions import Directions
    from synthfer.runtime import pick_device, set_threads
    from synthfer.seeds.plan import read_plan

    set_threads(threads)
    plan = read_plan(plan_csv)
    rows = plan[plan["shard"] == shard].reset_index(drop=True)
    directions = Directions.load(directions_npz)
    bad = rows[rows["direction"] >= len(directions)]
    if len(bad):
        raise ValueError(
            f"{plan_csv}: row {bad['name'].iloc[0]} uses direction {bad['direction'].iloc[0]}, "
            f"but {directions_npz} has {len(directions)} components (re-run seed_plan)"
        )
    dev = pick_device(device)
    G = load_generator(network, device=dev)
    compiled = bool(compile) and dev.type == "cuda"
    if compiled:
        import torch

        G.synthesis = torch.compile(G.synthesis)
    log.info("shard %03d: %d of %d plan rows on %s", shard, len(rows), len(plan), dev)
    t0 = time.monotonic()
    manifest = generate_rows(G, directions, rows, out_dir, shard, batch_size, noise_mode)
    seconds = time.monotonic() - t0
    write_table(manifest_path, manifest)
    write_json(
        meta_path,
        {
            "shard": shard,
            "n_images": len(manifest),
            "network": str(network),
            "directions": str(directions_npz),
            "plan": str(plan_csv),
            "noise_mode": noise_mode,
            "device": str(dev),
            "compiled": compiled,
            "seconds": round(seconds, 3),
            "images_per_second": round(len(manifest) / seconds, 3) if seconds > 0 else None,
            "seeds": sorted(set(int(s) for s in rows["seed"])),
            "provenance": provenance(device=dev),
        },
    )
    log.info("shard %03d: wrote %d images in %.1f s", shard, len(manifest), seconds)
    return len(manifest)
