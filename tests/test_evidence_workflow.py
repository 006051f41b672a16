"""Workflow wiring of the evidence (issue 15): the variants in the DAG (synthetic_pseudo after the real_only
folds, ablations from select.ablations), the config check of variant names, and a report that opens on the
answer table — built by `snakemake --report` from the real rule and landing text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

pytestmark = pytest.mark.workflow


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)


@pytest.fixture
def checkout_view(tmp_path) -> Path:
    """A clean working directory that sees the checkout's workflow (links), so planning never touches results/."""
    for name in ("Snakefile", "rules", "config", "synthfer", "workflow_scripts", "resources", "envs"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def _dry_jobs(text: str) -> list[dict]:
    """The jobs of a dry-run's listing: rule, input and output paths, wildcards."""
    jobs = []
    for block in re.split(r"^(?:local)?rule ", text, flags=re.M)[1:]:
        job = {"rule": block.split(":", 1)[0], "input": [], "output": [], "wildcards": {}}
        for key in ("input", "output"):
            m = re.search(rf"^    {key}: (.*)$", block, re.M)
            job[key] = m.group(1).split(", ") if m else []
        m = re.search(r"^    wildcards: (.*)$", block, re.M)
        job["wildcards"] = dict(kv.split("=", 1) for kv in m.group(1).split(", ")) if m else {}
        jobs.append(job)
    return jobs


def test_demo_dag_labels_pseudo_per_fold(checkout_view):
    """synthetic_pseudo fold k trains on fold k's labels only, made from real_only's fold-k model (issue 22)."""
    res = _snakemake(checkout_view, "-n", "--configfile", "config/demo.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = _dry_jobs(res.stdout)
    predict = next(j for j in jobs if j["rule"] == "annotate_pseudo_predict")
    real = [f"results/fer/real_only/fold_{k:02d}/rep_r0/model.keras" for k in range(1, 14)]
    assert sorted(p for p in predict["input"] if p.endswith(".keras")) == real  # one job, every real_only model
    labels = {j["wildcards"]["fold"]: j for j in jobs if j["rule"] == "annotate_pseudo"}
    pseudo = {j["wildcards"]["fold"]: j for j in jobs if j["rule"] == "fer_fold" and j["wildcards"]["variant"] == "synthetic_pseudo"}
    assert sorted(labels) == sorted(pseudo) == [f"{k:02d}" for k in range(1, 14)]
    for fold, job in labels.items():
        assert f"results/annotations/synthetic_pseudo/model_predictions/fold_{fold}/rep_r0.csv" in job["input"]
        assert f"results/fer/real_only/fold_{fold}/rep_r0/inner_predictions.csv" in job["input"]  # the inner cut
        assert "results/annotations/synthetic_all/labels.csv" in job["input"]  # κ against the seed IDs
        used = [p for p in pseudo[fold]["input"] if p.startswith("results/annotations/synthetic_pseudo/")]
        assert used == [f"results/annotations/synthetic_pseudo/fold_{fold}/rep_r0/{f}" for f in ("labels.csv", "image_names.txt")]
    agreement = next(j for j in jobs if j["rule"] == "annotate_pseudo_agreement")
    assert len([p for p in agreement["input"] if p.endswith("rep_r0/labels.csv")]) == 13


def test_ablations_add_selections_and_variants(checkout_view):
    res = _snakemake(checkout_view, "-n", "--configfile", "config/demo.yaml", "--config",
                     'select={"ablations": ["psnr", "sam"]}')  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", res.stdout, re.M))
    # 3 demo variants + 2 random draws + 2 ablations + their own random controls (2 draws each)
    assert stats["fer_fold"] == str(13 * 11)
    assert "variant=synthetic_tds_psnr" in res.stdout and "variant=synthetic_tds_sam" in res.stdout
    assert stats["select_ablation_random"] == "2" and stats["select_ablation_random_draw"] == "2"
    assert "results/select/ablation/sam/random/d1.csv" in res.stdout
    assert "variant=synthetic_random_sam" in res.stdout


def test_without_fer_there_is_no_answer_page_and_no_model_labels(checkout_view):
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    cfg["fer"]["enabled"] = False
    cfg["latent"]["review"]["assistant"]["enabled"] = False  # it needs the FER models (a clear config error otherwise)
    (checkout_view / "demo_without_fer.yaml").write_text(yaml.safe_dump(cfg))
    res = _snakemake(checkout_view, "-n", "--configfile", "demo_without_fer.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", res.stdout, re.M))
    assert not {"report_landing", "annotate_pseudo_predict", "annotate_pseudo", "fer_fold"} & set(stats), stats
    assert stats["annotate"] == "4"  # synthetic_all, synthetic_tds and the random control's 2 draws are still labelled


def test_an_unknown_variant_names_the_key_and_the_fix(checkout_view):
    res = _snakemake(checkout_view, "-n", "--configfile", "config/demo.yaml", "--config",
                     'fer={"variants": ["real_only", "synthetic_best"]}')  # fmt: skip
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "config key 'fer.variants': 'synthetic_best'" in text and "Fix:" in text


SNAKEFILE = """
configfile: "config.yaml"
report: "{repo}/rules/report/workflow.rst"
include: "{repo}/rules/common.smk"
TARGETS = {{}}
RUN_VARIANTS = ["real_only", "synthetic_random", "synthetic_tds"]
include: "{repo}/rules/landing.smk"
rule all:
    input: TARGETS["report"]
"""


def _fer_tables(root: Path) -> None:
    from test_fer_comparisons import _fold

    from synthfer.fer.evaluate import evaluate

    rng = np.random.default_rng(2)
    preds = {}
    for v, signal in (("real_only", 0.2), ("synthetic_random", 0.3), ("synthetic_tds", 0.6)):
        preds[v] = []
        for fold in range(1, 6):
            df = _fold(rng, 40, signal)
            for k, rep in enumerate(["d0r0", "d1r0"] if v == "synthetic_random" else ["r0"]):
                path = root / "pred" / v / f"fold_{fold:02d}" / f"rep_{rep}" / "predictions.csv"
                path.parent.mkdir(parents=True)
                probs = [c for c in df.columns if c.startswith("prob_")]
                df.assign(**{c: (df[c] + 0.05 * k).clip(0, 1) for c in probs}).to_csv(path, index=False)
                preds[v].append(path)
    fer = root / "results" / "fer"
    fer.mkdir(parents=True)
    evaluate(preds, fer / "summary.csv", root / "folds.csv", root / "roc.csv", fer / "comparisons.csv", root / "auc.png",
             {v: root / f"roc_{v}.png" for v in preds}, out_primary=fer / "primary.json",
             out_replicate_spread=fer / "replicate_spread.csv", out_forest=fer / "figures" / "forest.png")  # fmt: skip


def test_report_opens_on_the_answer_table(tmp_path):
    """The real rule report_landing and rules/report/workflow.rst, in a stand-alone workflow; the built report
    (snakemake --report) shows the answer table first, with summary.csv's numbers."""
    res_dir = tmp_path / "results"
    _fer_tables(tmp_path)
    (res_dir / "faces").mkdir()
    pd.DataFrame({"name": ["a", "b", "c"], "status": ["ok", "ok", "no_face"]}).to_csv(res_dir / "faces" / "real_manifest.csv", index=False)
    (res_dir / "synthetic").mkdir()
    pd.DataFrame({"name": ["1_000000", "1_000001"], "face_ok": [True, True]}).to_csv(res_dir / "synthetic" / "manifest.csv", index=False)
    (res_dir / "gan").mkdir()
    (res_dir / "gan" / "network-selected.json").write_text('{"kimg": 64.0, "fid": 41.5, "source": "network-final.pt"}')
    (res_dir / "select").mkdir()
    pd.DataFrame({"name": ["1_000000"]}).to_csv(res_dir / "select" / "selected.csv", index=False)
    for v in ("synthetic_random", "synthetic_tds"):
        (res_dir / "annotations" / v).mkdir(parents=True)
        pd.DataFrame({"label": ["total"], "count": [1], "fraction": [1.0]}).to_csv(res_dir / "annotations" / v / "label_counts.csv", index=False)
    (tmp_path / "config.yaml").write_text(
        "real_images: {folder: results/demo/real}\ngan: {total_kimg: 64, snapshot_fid: {enabled: false}}\n"
        # the real table is a workflow output here (results/...), so the parse-time data check leaves it to its job
        "fer: {enabled: true, allow_overlap: true, evaluate: {ci_level: 0.95},\n"
        "      real: {source: table, table: results/fer/labels.csv}}\n"
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "schema").symlink_to(REPO / "config" / "schema")  # common.smk validates the config
    (tmp_path / "Snakefile").write_text(SNAKEFILE.format(repo=REPO))
    run = _snakemake(tmp_path, "--cores", "1")
    assert run.returncode == 0, run.stderr[-4000:]
    rep = _snakemake(tmp_path, "--report", "report.html")
    assert rep.returncode == 0, rep.stderr[-4000:]
    html = (tmp_path / "report.html").read_text()
    answer = pd.read_csv(res_dir / "report" / "answer.csv")
    summary = pd.read_csv(res_dir / "fer" / "summary.csv").set_index(["variant", "au"])
    row = answer[(answer["variant"] == "synthetic_tds") & (answer["au"] == "mean")].iloc[0]
    assert row["mean_auc"] == pytest.approx(summary.loc[("synthetic_tds", "mean"), "mean_auc"])
    # the landing text comes before the rest of the description, and holds the table's numbers
    start = html.index("The answer")
    assert start < html.index("About this report")
    assert html.count(f"{row['mean_auc']:.3f}") >= 1 and f"{row['diff_synthetic_random']:+.3f}" in html
    assert "wiring, not science" in html and "photos_aligned" in html
    # it opens on the primary endpoint, then the embedded forest plot, then the secondary table
    assert start < html.index("Primary endpoint") < html.index("data:image/png;base64,") < html.index("Secondary comparisons")
    # the network is the one rule gan_network chose (its sidecar), not a guess from gan.total_kimg
    # a safeguard the config switched off is stated on the page (rule param -> landing)
    assert "fer.allow_overlap: true" in html and "What this run does not protect" in html
    counts = pd.read_csv(res_dir / "report" / "key_counts.csv").set_index("key")["value"]
    assert float(counts["network_fid"]) == 41.5
