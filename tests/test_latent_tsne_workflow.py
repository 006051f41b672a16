"""The t-SNE stability runs in the workflow (issue 20): the real latent rules run on a tiny generator in a
temporary working directory; then changing ``latent.tsne_runs`` re-runs exactly rule latent_tsne_stability
(its four outputs), and nothing else — not the directions, not the single t-SNE plot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from synthfer.changes import changed_outputs, planned_jobs

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

SNAKEFILE = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
configfile: "config.yaml"
include: {str(REPO / "rules" / "common.smk")!r}
NETWORK_SELECTED = "net.pt"  # rules/gan.smk's chosen network, here a tiny generator written by the test
include: {str(REPO / "rules" / "latent.smk")!r}
rule all:
    input: rules.latent_plots.output, rules.latent_tsne_stability.output
"""

# Keys left out take the schema's defaults (validated by rules/common.smk, as in a real run).
CONFIG = {
    "real_images": {"folder": "results/faces/real"},  # results/ paths are not checked at parse time
    "generate": {"device": "cpu"},
    "fer": {"enabled": False},  # no FER data here: with FER on, check_config stops at the missing DISFA folder
    "latent": {
        "n_samples": 200,
        "n_components": 3,
        "batch_size": 200,
        "std_samples": 100,
        "plot_samples": 40,
        "tsne_samples": 30,
        "tsne_perplexity": 5,
        "tsne_runs": 2,
    },
}
STABILITY_OUTPUTS = [
    "results/latent/tsne_runs.png",
    "results/latent/tsne_stability.png",
    "results/latent/tsne_stability.csv",
    "results/latent/tsne_stability.json",
]


def _write_config(wd: Path, config: dict) -> None:
    (wd / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def latent_run(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    from synthfer.gan.api import save_generator, tiny_generator

    wd = tmp_path_factory.mktemp("latent_tsne")
    (wd / "Snakefile").write_text(SNAKEFILE)
    (wd / "config").mkdir()
    (wd / "config" / "schema").symlink_to(REPO / "config" / "schema")  # common.smk reads it beside the Snakefile
    _write_config(wd, CONFIG)
    save_generator(wd / "net.pt", tiny_generator(resolution=16, seed=5))
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1"],
        cwd=wd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return wd


def test_the_rule_writes_its_outputs(latent_run):
    table = pd.read_csv(latent_run / "results/latent/tsne_stability.csv")
    assert len(table) == 1 and (table.seed_a[0], table.seed_b[0]) == (1, 2)  # 2 runs, seeds latent.seed + r
    for rel in STABILITY_OUTPUTS:
        assert (latent_run / rel).stat().st_size > 0
    assert planned_jobs(cwd=latent_run) == []


def test_changing_tsne_runs_reruns_only_the_stability_outputs(latent_run):
    changed = {**CONFIG, "latent": {**CONFIG["latent"], "tsne_runs": 3}}
    try:
        _write_config(latent_run, changed)
        jobs = [job for job in planned_jobs(cwd=latent_run) if job.outputs]
        assert [(job.rule, job.triggers) for job in jobs] == [("latent_tsne_stability", ("params changed",))]
        assert sorted(changed_outputs(jobs)) == sorted(STABILITY_OUTPUTS)
    finally:
        _write_config(latent_run, CONFIG)
    assert planned_jobs(cwd=latent_run) == []
