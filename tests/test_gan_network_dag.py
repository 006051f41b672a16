"""Where the network choice and the face gate sit in the DAG (dry-runs in a scratch working directory, so
neither the checkout's results/ nor its .snakemake/ can influence them):

- generation, latent directions and the review read the chosen network (rule gan_network), which waits for
  training and the face check, and — with gan.network: best_fid — for the snapshot FID;
- no IQA rule that the snapshot FID needs waits for generation;
- gan.network: final needs no FID.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

GENERATION = {"seed_plan", "generate_shard", "faces_filter_synthetic", "generate_merge", "iqa_batches"}


def _workdir(tmp_path: Path, network=None) -> Path:
    """A scratch working directory that sees the repository's config/, resources/ and data/ (read-only
    inputs), with the demo config, optionally with another gan.network."""
    wd = tmp_path / "wd"
    wd.mkdir()
    for name in ("config", "resources", "data"):
        (wd / name).symlink_to(REPO / name)
    cfg = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    if network is not None:
        cfg["gan"]["network"] = network
    (wd / "demo.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return wd


def _snakemake(wd: Path, *args: str) -> str:
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", "demo.yaml",
         "--forceall", *args],
        cwd=wd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    return res.stdout


def _ancestors(dot: str) -> dict[str, set[str]]:
    """Rule → every rule it (transitively) waits for, from ``--rulegraph``'s DOT."""
    names = dict(re.findall(r"^\s*(\d+)\[label = \"(\w+)\"", dot, flags=re.M))
    parents: dict[str, set[str]] = {n: set() for n in names.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.M):
        parents[names[b]].add(names[a])

    def up(rule: str, seen: set[str]) -> set[str]:
        for p in parents[rule] - seen:
            seen.add(p)
            up(p, seen)
        return seen

    return {r: up(r, set()) for r in parents}


def test_best_fid_decides_before_generation(tmp_path):
    wd = _workdir(tmp_path)  # the demo: gan.network best_fid, snapshot FID on
    anc = _ancestors(_snakemake(wd, "--rulegraph"))
    # the choice waits for training, the face check and the snapshot FID ...
    assert {"gan_train", "gan_face_samples", "faces_filter_gan_samples", "gan_snapshot_fid"} <= anc["gan_network"]
    # ... and the snapshot FID for the real statistics, which wait for nothing generated
    assert {"iqa_references", "fid_features_real", "faces_real"} <= anc["gan_snapshot_fid"]
    for rule in ("iqa_references", "fid_features_real", "gan_snapshot_fid", "gan_network"):
        assert not anc[rule] & GENERATION, (rule, anc[rule] & GENERATION)
    # everything that uses a network reads the chosen one
    for rule in ("generate_shard", "latent_directions", "review_material"):
        assert "gan_network" in anc[rule], rule
    assert "gan_network" in anc["gan_snapshot_plot"]
    assert not {"gan_network", "review_material", "generate_shard"} & anc["gan_train"]


def test_generate_shard_reads_the_selected_network(tmp_path):
    wd = _workdir(tmp_path)
    out = _snakemake(wd, "-n", "results/synthetic/shards/000.csv")
    job = re.search(r"rule generate_shard:\n(.*?)\n\n", out, flags=re.S)
    assert job, out[-3000:]
    inputs = re.search(r"input: (.*)", job.group(1)).group(1).split(", ")
    assert "results/gan/network-selected.pt" in inputs and "results/gan/network-final.pt" not in inputs
    gate = re.search(r"rule gan_network:\n(.*?)\n\n", out, flags=re.S).group(1)
    assert "output: results/gan/network-selected.pt, results/gan/network-selected.json" in gate
    assert "results/gan/snapshot_fid.csv" in re.search(r"input: (.*)", gate).group(1)


@pytest.mark.parametrize("network", ["final", 63])
def test_final_or_a_kimg_needs_no_fid(tmp_path, network):
    wd = _workdir(tmp_path, network=network)
    anc = _ancestors(_snakemake(wd, "--rulegraph"))
    assert "gan_snapshot_fid" in anc["all"]  # still measured (snapshot FID stays on) ...
    for rule in ("gan_network", "latent_directions", "review_material", "generate_shard"):
        assert "gan_snapshot_fid" not in anc[rule], rule  # ... but nothing waits for it
    assert {"gan_train", "faces_filter_gan_samples"} <= anc["gan_network"] <= anc["review_material"]
