"""Workflow wiring of the latent → seeds → generate → annotate chain (Snakemake dry-runs)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.workflow


def dry_run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    snakemake = Path(sys.executable).parent / "snakemake"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [str(snakemake), "-n", "--quiet", "rules", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_missing_seed_list_builds_review_then_stops_with_message(repo, tmp_path, disfa_stand_in):
    # The thesis config (config/seeds.yaml is written by the reviewer), pointed at a file that is surely missing.
    missing = tmp_path / "seeds.yaml"
    res = dry_run(
        repo,
        "--config",
        f"seeds={{'file': '{missing}'}}",
        disfa_stand_in,
        "--",
        "results/seeds/plan.csv",
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert f"The reviewed seed list {missing} does not exist yet" in out
    assert "results/review/index.html in a browser" in out
    assert "review_material" in out and "seed_plan" in out


def test_demo_chain_is_planned(repo):
    res = dry_run(
        repo,
        "--configfile",
        "config/demo.yaml",
        "--",
        "results/annotations/synthetic_all/labels.npy",
        "results/annotations/synthetic_tds/labels.npy",
        "results/latent/tsne.png",
        "results/review/index.html",
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    for rule in (
        "latent_directions",
        "latent_plots",
        "review_material",
        "seed_plan",
        "generate_shard",
        "generate_merge",
        "faces_filter_synthetic",
        "annotate",
    ):
        assert rule in out, rule
    assert "does not exist yet" not in out
    # one generation job per configured shard (demo: generate.shards = 2)
    assert re.search(r"^generate_shard\s+2$", out, re.M), out[-2000:]
