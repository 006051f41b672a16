"""Which ranking metrics select images closer to the real crops? FID and KID of selections by metric sets.

Reads a finished run (score tables, FID features, the manifest, the random control and the ablation
selections when present) and re-runs the selection of synthfer.select.selection with each metric set — the
run's thresholds and keep — then prints, per selection, its size, KID (mean ± std over subsets) and FID to the
real crops, and the overlap of the first two sets. The numbers behind docs/select.md "Which metrics rank":
    .venv/bin/python benchmarks/select_metric_sets.py --configfile config/demo.yaml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETS = {
    "seed's five": ["rmse", "psnr", "issm", "sam", "uiq"],
    "earlier default": ["psnr", "ssim", "uiq", "brisque", "svr_severity"],
}


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import pandas as pd
    import yaml

    from synthfer.iqa.fid import feature_stats, frechet_distance, kid
    from synthfer.scores import SCORE_METRICS
    from synthfer.select.selection import select

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", default="config/demo.yaml", help="the run's config (thresholds, keep, batch size, extractor)")
    ap.add_argument("--results", default="results", help="the run's results folder")
    ap.add_argument("--kid-subsets", type=int, default=20)
    ap.add_argument("--kid-subset-size", type=int, default=100)
    args = ap.parse_args(argv)
    cfg = yaml.safe_load(Path(args.configfile).read_text())
    sel_cfg, iqa = cfg.get("select", {}), cfg.get("iqa", {})
    keep, batch_size = sel_cfg.get("keep", 180), iqa.get("batch_size", 512)
    thresholds = sel_cfg.get("thresholds", {})
    extractor = iqa.get("fid", {}).get("extractor", "inception")
    res = Path(args.results)
    scores = sorted(map(str, (res / "iqa" / "scores").glob("batch_*.parquet")))
    with np.load(res / "iqa" / "features" / extractor / "real.npz") as f:
        real, mu_r, sig_r = f["features"], f["mu"], f["sigma"]
    names, feats = [], []
    for p in sorted((res / "iqa" / "features" / extractor).glob("batch_*.npz")):
        with np.load(p) as f:
            names += list(f["names"].astype(str))
            feats.append(f["features"])
    feats = np.concatenate(feats)
    index = {n: i for i, n in enumerate(names)}

    def distance(sel: list[str]) -> tuple[float, float, float]:
        x = feats[[index[n] for n in sel]]
        mu, sig = feature_stats(x)
        k, k_std = kid(real, x, args.kid_subsets, args.kid_subset_size, cfg.get("seed", 0))
        return frechet_distance(mu_r, sig_r, mu, sig), k, k_std

    chosen: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, metrics in SETS.items():
            select(scores, res / "synthetic" / "manifest.csv", f"{tmp}/s.csv", f"{tmp}/r.csv", keep=keep,
                   batch_size=batch_size, thresholds=thresholds, metrics=metrics)  # fmt: skip
            chosen[f"{label} ({', '.join(metrics)})"] = pd.read_csv(f"{tmp}/s.csv", dtype={"name": str})["name"].tolist()
        for m in SCORE_METRICS:
            p = res / "select" / "ablation" / m / "selected.csv"
            if not p.is_file():  # no ablation in the run: rank by that metric alone here, same keep and thresholds
                select(scores, res / "synthetic" / "manifest.csv", f"{tmp}/s.csv", f"{tmp}/r.csv", keep=keep,
                       batch_size=batch_size, thresholds=thresholds, metrics=[m])  # fmt: skip
                p = Path(f"{tmp}/s.csv")
            chosen[f"{m} alone"] = pd.read_csv(p, dtype={"name": str})["name"].tolist()
    if (res / "select" / "random.csv").is_file():
        chosen["random, same size per class"] = pd.read_csv(res / "select" / "random.csv", dtype={"name": str})["name"].tolist()
    chosen["all scored"] = names
    print(f"{'selection':60s} {'n':>5s} {'KID':>8s} {'± std':>8s} {'FID':>8s}")
    for label, sel in chosen.items():
        fid, k, k_std = distance(sel)
        print(f"{label:60s} {len(sel):5d} {k:8.4f} {k_std:8.4f} {fid:8.4f}")
    a, b = (set(chosen[k]) for k in list(chosen)[:2])
    print(f"the two metric sets share {len(a & b)} of {len(a)} images")
    r, p = set(chosen["rmse alone"]), set(chosen["psnr alone"])
    print(f"rmse alone and psnr alone share {len(r & p)} of {len(r)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
