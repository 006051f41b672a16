"""What is reproducible (docs/reproducibility.md): outputs computed with torch/TensorFlow/BLAS record threads,
device and versions; selection, labels and evaluation are bit-identical whatever the thread count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthfer import AU_COLUMNS
from synthfer.scores import SCORE_METRICS

REPO = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "GOTO_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")  # fmt: skip


def _python(code: str, threads: int | None = None, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(REPO)
    if threads is not None:  # what Snakemake sets for a job with `threads: n`
        env.update({k: str(threads) for k in THREAD_VARS})
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_torch_outputs_record_threads_device_and_versions():
    out = _python(
        "import json, torch; torch.set_num_threads(2)\n"
        "from synthfer.io import provenance\n"
        "print(json.dumps([provenance(), provenance(device='cuda:1')]))",
        threads=2,
    )
    auto, given = json.loads(out)
    assert auto["torch_threads"] == 2 and auto["device"] == "cpu" and auto["torch"] and auto["numpy"]
    assert "openblas" in auto["blas"] or "mkl" in auto["blas"], auto["blas"]
    assert "OMP_NUM_THREADS=2" in auto["thread_env"] and auto["cpu_count"] >= 1
    assert isinstance(auto["deterministic_algorithms"], bool)
    assert given["device"] == "cuda:1" and "cudnn" in given  # the device a caller names, with its libraries


def test_outputs_without_torch_record_no_threads():
    """Selection, labels and evaluation run without torch: their provenance has versions only."""
    out = _python(
        "import json\nfrom synthfer.io import provenance\nimport synthfer.select.selection, synthfer.annotate.labels, "
        "synthfer.fer.evaluate\nimport sys\nprint(json.dumps([provenance(), 'torch' in sys.modules]))",
        threads=2,
    )
    info, torch_loaded = json.loads(out)
    assert not torch_loaded
    assert "numpy" in info and not {"device", "torch_threads", "thread_env", "blas"} & set(info)


def test_gan_checkpoint_provenance_is_plain_strings_with_threads():
    torch = pytest.importorskip("torch")
    from synthfer.gan.checkpoint import checkpoint_provenance

    prov = checkpoint_provenance()
    assert all(isinstance(v, str) for v in prov.values())  # torch.load(weights_only=True) reads them
    assert prov["torch_threads"] == str(torch.get_num_threads()) and prov["device"] == "cpu"


# --- selection, labels and evaluation with 1 and 2 threads ---------------------------------------------------

RUN_CHEAP_PHASES = """
import sys
from pathlib import Path
from synthfer.annotate.labels import annotate_variant
from synthfer.fer.evaluate import evaluate
from synthfer.select.selection import select

inp, out = Path(sys.argv[1]), Path(sys.argv[2])
select(sorted(inp.glob("scores/*.parquet")), inp / "manifest.csv", out / "selected.csv", out / "rejected.csv",
       keep=6, batch_size=24, thresholds={"psnr": {"min": 0.1}, "brisque": {"max": 0.95}},
       weights={"ssim": 2.0})
annotate_variant(out / "selected.csv", "selected", inp / "plan.csv", inp / "seed_labels.csv", out / "labels.npy",
                 out / "image_names.txt", out / "labels.csv", out / "counts.csv", out / "balance.png",
                 variant="synthetic_tds")
variants = ["real_only", "synthetic_all", "synthetic_tds"]
evaluate({v: sorted(inp.glob(f"pred/{v}/fold_*/predictions.csv")) for v in variants}, out / "summary.csv",
         out / "fold_aucs.csv", out / "roc.csv", out / "wilcoxon.csv", out / "auc.png",
         {v: out / f"roc_{v}.png" for v in variants}, baseline_neutral=True)
"""


@pytest.fixture(scope="module")
def cheap_inputs(tmp_path_factory) -> Path:
    """Score tables of a planned pool, its manifest, plan and seed labels, and fold predictions."""
    from synthfer.seeds.plan import write_seed_plan

    root = tmp_path_factory.mktemp("cheap")
    seeds = {
        "format": 1,
        "aus": {"AU1": [9, 11], "AU4": [5], "AU5": [], "AU6": [9, 4], "AU12": [4, 7], "AU15": [11]},
        "neutral": [2, 3],
        "generation": {"truncation_psi": 0.7, "edits": [{"directions": [1, 2], "degrees": [-2.0, -1.0, 1.0, 2.5]}]},
        "label_rules": [{"direction": 1, "degree_min": 2.0, "add": ["AU12"]}],
    }
    (root / "seeds.yaml").write_text(yaml.safe_dump(seeds))
    write_seed_plan(root / "seeds.yaml", None, root / "plan.csv", root / "seed_labels.csv", n_shards=1)
    names = pd.read_csv(root / "plan.csv", dtype={"name": str})["name"].tolist()
    rng = np.random.default_rng(7)
    (root / "scores").mkdir()
    for b, part in enumerate(np.array_split(np.array(names), 3)):
        df = pd.DataFrame({"name": part, "batch": np.int64(b), "status": "ok", "detail": "", "reference": "r",
                           "reference_mode": "nearest"})  # fmt: skip
        for m in SCORE_METRICS:
            df[m] = rng.random(len(df))
        df.to_parquet(root / "scores" / f"batch_{b:04d}.parquet", index=False)
    pd.DataFrame({"name": names, "face_ok": True, "face_reason": ""}).to_csv(root / "manifest.csv", index=False)
    for v, skill in (("real_only", 0.8), ("synthetic_all", 1.0), ("synthetic_tds", 1.2)):
        for fold in range(1, 5):
            n = 60
            labels = rng.random((n, len(AU_COLUMNS))) < 0.35
            probs = 1 / (1 + np.exp(-(skill * (2 * labels - 1) + rng.normal(0, 1.0, labels.shape))))
            df = pd.DataFrame({"image": [f"f{fold}_{i:03d}.png" for i in range(n)],
                               "subject": [f"S{fold}{i % 3}" for i in range(n)]})  # fmt: skip
            for j, au in enumerate(AU_COLUMNS):
                df[au] = labels[:, j].astype(int)
            for j, au in enumerate(AU_COLUMNS):
                df[f"prob_{au}"] = probs[:, j]
            path = root / "pred" / v / f"fold_{fold:02d}" / "predictions.csv"
            path.parent.mkdir(parents=True)
            df.to_csv(path, index=False)
    return root


def test_selection_labels_and_evaluation_do_not_depend_on_threads(cheap_inputs, tmp_path):
    outputs = {}
    for threads in (1, 2):
        out = tmp_path / f"threads_{threads}"
        out.mkdir()
        _python(RUN_CHEAP_PHASES.replace("sys.argv[1]", repr(str(cheap_inputs))).replace("sys.argv[2]", repr(str(out))),
                threads=threads)  # fmt: skip
        outputs[threads] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert set(outputs[1]) == set(outputs[2]) == {
        "selected.csv", "rejected.csv", "selected.json",  # select (the summary with its provenance)
        "labels.npy", "image_names.txt", "labels.csv", "counts.csv", "balance.png",  # annotate
        "summary.csv", "fold_aucs.csv", "roc.csv", "wilcoxon.csv", "auc.png",  # fer_evaluate
        "roc_real_only.png", "roc_synthetic_all.png", "roc_synthetic_tds.png",
    }  # fmt: skip
    different = [name for name in outputs[1] if outputs[1][name] != outputs[2][name]]
    assert not different, f"these outputs changed with the thread count: {different}"
    assert len(pd.read_csv(tmp_path / "threads_1" / "selected.csv")) > 0
