"""IQA speed, measured in one run: ours vs the peer tools, and the 100,000-image extrapolation.

    bash benchmarks/peer_env.sh                 # once: the separate peer venv
    .venv/bin/python benchmarks/iqa_speed.py    # [--pairs 3] [--scale 5000] [--faces DIR]

1. Full-reference set (RMSE, PSNR, SSIM, ISSM, SAM, UIQ) on the same 256² real-crop pairs:
   image-similarity-measures 0.3.6 (peer venv, called correctly: max_p=255, float64) vs ours, both
   on ONE thread (OMP/BLAS/OpenCV/torch limited to 1) → ratio per CPU core. Target ≥ 200×.
2. BRISQUE on 256² crops: ``brisque`` 0.2.0's score() (peer venv, one thread) vs ours; the
   largest score difference on mildly noisy crops (no flat areas). Target ≥ 10×.
3. Scale: ``--scale`` generated-like 256² PNGs scored by 2 worker processes (one thread each, the
   2-core budget) through ``score_batch`` (PNG decode + references + 6 metrics + BRISQUE + SVR):
   wall time, peak RSS per worker, extrapolated linearly to 100,000 images. Target ≤ 30 min,
   ≤ 2 GB. On a CUDA machine also the GPU path.
4. FID feature extraction, images/s: dlib face descriptor and InceptionV3 (random weights in the
   pt_inception format: the same compute as the real weights).

Prints one table per section; machine load (``os.getloadavg``) is printed too, because on a
shared machine every absolute number scales with it (the ratios much less).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PEER_PY = Path(os.environ.get("SYNTHFER_PEER_VENV", REPO / ".venv-peers")) / "bin" / "python"
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _single_thread() -> None:
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def _crops(faces: Path, n: int, size: int = 256) -> np.ndarray:
    from PIL import Image

    files = sorted((faces / "london").glob("*/*.jpg"))[:n]
    out = []
    for f in files:
        with Image.open(f) as im:
            out.append(np.asarray(im.convert("RGB").crop((120, 120, 555, 555)).resize((size, size), Image.BILINEAR)))
    return np.stack(out)


def _best(fn, repeat: int = 3) -> float:
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def full_reference(crops: np.ndarray, pairs: int, tmp: Path) -> dict:
    from synthfer.iqa.metrics import full_reference_scores

    x, y = crops[:pairs], crops[pairs : 2 * pairs]
    np.savez(tmp / "pairs.npz", x=x, y=y)
    subprocess.run(
        [str(PEER_PY), str(REPO / "benchmarks/peer_ism.py"), str(tmp / "pairs.npz"), str(tmp / "ism.json"), "--time",
         "--metrics=rmse,psnr,ssim,issm,sam,uiq"],
        check=True, env=ONE_THREAD, capture_output=True,
    )  # fmt: skip
    ism = json.loads((tmp / "ism.json").read_text())["seconds_per_pair"]
    ism_total = sum(ism.values())
    one = _best(lambda: [full_reference_scores(x[i : i + 1], y[i : i + 1]) for i in range(pairs)]) / pairs
    xb, yb = np.concatenate([x] * 4), np.concatenate([y[::-1]] * 4)
    batch = _best(lambda: full_reference_scores(xb, yb)) / len(xb)
    ours = min(one, batch)
    print(f"\n== 1. Full-reference set, 256² pairs, one thread ({pairs} pairs for ISM)")
    for k, v in ism.items():
        print(f"   ISM {k:5s} {v * 1000:10.1f} ms/pair")
    print(f"   ISM total   {ism_total * 1000:10.1f} ms/pair")
    print(
        f"   ours        {ours * 1000:10.2f} ms/pair  (1 at a time {one * 1000:.2f}, batches of {len(xb)} {batch * 1000:.2f})"
    )
    print(f"   RATIO       {ism_total / ours:10.0f}x  (target >= 200x)")
    return {"ism_s_per_pair": ism, "ours_s_per_pair": ours, "ratio": ism_total / ours}


def brisque_speed(crops: np.ndarray, tmp: Path) -> dict:
    from synthfer.iqa import brisque as B

    rng = np.random.default_rng(0)
    imgs = np.clip(crops[:8] + rng.normal(0, 2, crops[:8].shape), 0, 255).astype(np.uint8)
    np.save(tmp / "b.npy", imgs)
    code = (
        "import json, sys, time, numpy as np, brisque\n"
        "r = brisque.BRISQUE(url=False); imgs = np.load(sys.argv[1]); r.score(imgs[0])\n"
        "t = time.perf_counter(); s = [float(r.score(im)) for im in imgs]\n"
        "print(json.dumps({'s': s, 't': (time.perf_counter() - t) / len(imgs)}))\n"
    )
    res = subprocess.run(
        [str(PEER_PY), "-c", code, str(tmp / "b.npy")], check=True, env=ONE_THREAD, capture_output=True, text=True
    )
    ref = json.loads(res.stdout.strip().splitlines()[-1])
    ours_t = _best(lambda: [B.score(imgs[i : i + 1]) for i in range(len(imgs))]) / len(imgs)
    batch_t = _best(lambda: B.score(imgs)) / len(imgs)
    t = min(ours_t, batch_t)
    diff = float(np.max(np.abs(B.score(imgs) - np.array(ref["s"]))))
    print("\n== 2. BRISQUE, 256² crops, one thread")
    print(f"   brisque 0.2.0 {ref['t'] * 1000:8.1f} ms/image")
    print(
        f"   ours          {t * 1000:8.2f} ms/image  (1 at a time {ours_t * 1000:.2f}, batch of 8 {batch_t * 1000:.2f})"
    )
    print(f"   RATIO         {ref['t'] / t:8.1f}x  (target >= 10x); largest score difference {diff:.2e}")
    return {"brisque_s": ref["t"], "ours_s": t, "ratio": ref["t"] / t, "max_abs_diff": diff}


_WORKER = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
import cv2, torch
torch.set_num_threads(1); cv2.setNumThreads(1)
from synthfer.iqa.score import score_batch
t = time.perf_counter()
for b in {batches!r}:
    score_batch({tmp!r} + "/batches.csv", b, {tmp!r} + "/synthetic", {tmp!r} + "/references.npz", {tmp!r} + "/svr.joblib",
                {tmp!r} + f"/scores/batch_{{b:04d}}.parquet", chunk=64, device={device!r})
print(json.dumps({{"seconds": time.perf_counter() - t, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def scale(crops: np.ndarray, n: int, tmp: Path) -> dict:
    import pandas as pd

    from synthfer.imaging import save_png
    from synthfer.iqa.batches import make_batches
    from synthfer.iqa.references import build_references
    from synthfer.iqa.svr import train_svr

    rng = np.random.default_rng(1)
    (tmp / "real").mkdir()
    for i, c in enumerate(crops):
        save_png(tmp / "real" / f"r{i:04d}.png", c)
    rows = []
    t0 = time.perf_counter()
    for i in range(n):  # generated-like images: flipped/shifted crops with mild noise
        c = crops[rng.integers(len(crops))]
        c = c[:, ::-1] if i % 2 else c
        c = np.roll(c, rng.integers(-8, 8), axis=1)
        c = np.clip(c + rng.normal(0, rng.uniform(0, 6), c.shape), 0, 255).astype(np.uint8)
        name = f"{i}_{i:06d}"
        save_png(tmp / "synthetic" / "raw" / f"{name}.png", c, compress_level=1)
        rows.append({"name": name, "file": f"raw/{name}.png", "face_ok": True})
    pd.DataFrame(rows).to_csv(tmp / "manifest.csv", index=False)
    print(
        f"\n== 3. Scale: {n} 256² images written in {time.perf_counter() - t0:.0f} s; scoring with 2 workers x 1 thread"
    )
    build_references(tmp / "real", tmp / "references.npz", (256, 256))
    train_svr(tmp / "references.npz", tmp / "svr.joblib", tmp / "svr.json", tmp / "svr.csv",
              {"blur": [1.0], "noise": [8], "jpeg": [20]}, max_crops=12, seed=0)  # fmt: skip
    nb = make_batches(tmp / "manifest.csv", tmp / "batches.csv", batch_size=512, seed=0)
    results = {}
    devices = ["cpu"]
    import torch

    if torch.cuda.is_available():
        devices.append("cuda")
    for device in devices:
        halves = [list(range(nb))[0::2], list(range(nb))[1::2]] if device == "cpu" else [list(range(nb))]
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER.format(repo=str(REPO), batches=h, tmp=str(tmp), device=device)],
                stdout=subprocess.PIPE,
                text=True,
                env=ONE_THREAD,
            )  # fmt: skip
            for h in halves
            if h
        ]
        outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        wall = time.perf_counter() - t0
        rss = max(o["maxrss_mb"] for o in outs)
        per_100k = wall * 100_000 / n
        label = "2 CPU workers" if device == "cpu" else "1 GPU worker"
        print(f"   {label}: {n} images in {wall:.1f} s ({n / wall:.1f} images/s), peak RSS per worker {rss:.0f} MB")
        print(
            f"   extrapolated to 100,000 images: {per_100k / 60:.1f} min  (target <= {30 if device == 'cpu' else 2} min, <= 2048 MB)"
        )
        results[device] = {
            "seconds": wall,
            "images_per_s": n / wall,
            "peak_rss_mb": rss,
            "minutes_per_100k": per_100k / 60,
        }
    return results


def fid_features(crops: np.ndarray, tmp: Path) -> dict:
    import torch

    from synthfer.iqa.fid import Extractor, _build_inception

    out = {}
    ex = Extractor("dlib")
    imgs = crops[:32]
    t = _best(lambda: ex(imgs), repeat=1)
    out["dlib_images_per_s"] = len(imgs) / t
    torch.manual_seed(0)
    torch.save(_build_inception().state_dict(), tmp / "pt_inception-2015-12-05-6726825d.pth")
    inc = Extractor("inception", weights=tmp / "pt_inception-2015-12-05-6726825d.pth", device="cpu")
    t = _best(lambda: inc(crops[:8]), repeat=1)
    out["inception_cpu_images_per_s"] = 8 / t
    print("\n== 4. FID feature extraction (one thread)")
    print(f"   dlib 128-d face descriptor: {out['dlib_images_per_s']:.1f} images/s")
    print(f"   InceptionV3 pool3 (CPU):    {out['inception_cpu_images_per_s']:.2f} images/s")
    if torch.cuda.is_available():
        inc = Extractor("inception", weights=tmp / "pt_inception-2015-12-05-6726825d.pth", device="cuda")
        big = np.concatenate([crops] * 8)[:256]
        t = _best(lambda: inc(big), repeat=2)
        out["inception_cuda_images_per_s"] = len(big) / t
        print(f"   InceptionV3 pool3 (CUDA):   {out['inception_cuda_images_per_s']:.0f} images/s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=3, help="pairs timed through ISM (its UIQ takes seconds per pair)")
    ap.add_argument("--scale", type=int, default=5000, help="images scored for the 100k extrapolation (0 = skip)")
    ap.add_argument(
        "--faces", type=Path, default=Path(os.environ.get("SYNTHFER_FACES_DATA", REPO.parent / "shared/data/faces"))
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if not PEER_PY.exists():
        sys.exit(f"peer venv missing ({PEER_PY}): run `bash benchmarks/peer_env.sh` first")
    _single_thread()
    crops = _crops(args.faces, max(2 * args.pairs, 100))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    res = {}
    with tempfile.TemporaryDirectory(prefix="iqa-speed-") as d:
        tmp = Path(d)
        res["full_reference"] = full_reference(crops, args.pairs, tmp)
        res["brisque"] = brisque_speed(crops, tmp)
        res["fid_features"] = fid_features(crops, tmp)
        if args.scale:
            (tmp / "scale").mkdir()
            res["scale"] = scale(crops, args.scale, tmp / "scale")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
