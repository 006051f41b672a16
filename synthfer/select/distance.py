"""FID and KID of real vs synthetic features, overall and per class, before and after selection.

Classes (as in the seed thesis): the six AUs (images whose plan row has AUk = 1) and ``neutral``
(``neutral`` = 1), plus ``all``. The real set has no AU labels: every synthetic subset is compared
with the whole real set. Subsets: ``all_scored`` = every face-filter-passing image with features,
``selected`` = the TDS selection. A cell with fewer than 2 synthetic images gets NaN.

``fid_kid.csv``: extractor (str), subset (str), class (str), n_real (int), n_synthetic (int),
fid (float), kid (float), kid_std (float). FID is biased when n < d (the covariance is singular;
with ~1,200 real images and d = 2048 it always is) — compare FIDs only at equal n, prefer KID.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synthfer import AU_COLUMNS
from synthfer.io import PathLike, provenance, read_table, sidecar_path, write_json, write_table
from synthfer.iqa.fid import feature_stats, frechet_distance, kid
from synthfer.logs import get_logger

log = get_logger(__name__)
CLASSES = ("all", *AU_COLUMNS, "neutral")


def fid_kid_table(
    real_npz: PathLike,
    batch_npzs: Sequence[PathLike],
    manifest_csv: PathLike,
    selected_csv: PathLike,
    out_csv: PathLike,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 2023,
    out_summary: PathLike | None = None,
) -> dict:
    import pandas as pd

    with np.load(real_npz, allow_pickle=False) as f:
        real, mu_r, sig_r, extractor = f["features"], f["mu"], f["sigma"], str(f["extractor"])
    names, feats = [], []
    for p in sorted(map(str, batch_npzs)):
        with np.load(p, allow_pickle=False) as f:
            if str(f["extractor"]) != extractor:
                raise ValueError(f"{p}: features from {f['extractor']}, the real set's from {extractor}")
            names.extend(f["names"].astype(str))
            feats.append(f["features"])
    synth = np.concatenate(feats) if feats else np.zeros((0, real.shape[1]))
    from synthfer.synthetic_manifest import read_manifest

    man = read_manifest(manifest_csv).set_index("name")
    labels = man.reindex(names)
    selected = set(read_table(selected_csv)["name"].astype(str))
    is_sel = np.array([n in selected for n in names])
    rows = []
    for subset, mask in (("all_scored", np.ones(len(names), bool)), ("selected", is_sel)):
        for cls in CLASSES:
            m = mask.copy()
            if cls != "all":
                m &= labels[cls].fillna(0).to_numpy().astype(int) == 1
            x = synth[m]
            row = {
                "extractor": extractor,
                "subset": subset,
                "class": cls,
                "n_real": len(real),
                "n_synthetic": int(m.sum()),
            }
            if len(x) >= 2:
                mu, sig = feature_stats(x)
                row["fid"] = frechet_distance(mu_r, sig_r, mu, sig)
                row["kid"], row["kid_std"] = kid(real, x, kid_subsets, kid_subset_size, seed)
            else:
                row["fid"] = row["kid"] = row["kid_std"] = np.nan
            rows.append(row)
    out = pd.DataFrame(rows, columns=["extractor", "subset", "class", "n_real", "n_synthetic", "fid", "kid", "kid_std"])
    write_table(out_csv, out)
    write_json(
        sidecar_path(out_summary, out_csv),
        {
            "extractor": extractor,
            "kid_subsets": kid_subsets,
            "kid_subset_size": kid_subset_size,
            "seed": seed,
            "provenance": provenance(compute=True),  # FID's matrix square root: BLAS threads change the last bits
        },
    )
    log.info("FID/KID (%s): %s", extractor, out[out["class"] == "all"][["subset", "fid", "kid"]].to_dict("records"))
    return {"rows": len(out)}
