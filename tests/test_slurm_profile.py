"""The Slurm profile without a cluster: it plans on a login node without heavy imports, it is found by
name after `make slurm-profile`, and it only names rules that exist, each with a time limit and memory,
GPU rules with a GPU in a GPU partition. The real-cluster run is tests/test_slurm.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = REPO / "profiles" / "slurm-test"
NO_HEAVY = REPO / "tests" / "support" / "no_heavy_imports"

pytestmark = pytest.mark.workflow


def _snakemake(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Snakemake in ``cwd``: the clean ``workdir`` fixture, never the checkout (its results/ would change the plan)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _no_heavy_env() -> dict:
    return {"PYTHONPATH": os.pathsep.join([str(NO_HEAVY), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


@pytest.fixture(scope="module")
def rules(workdir) -> set[str]:
    res = _snakemake("--list-rules", "--configfile", "config/demo.yaml", cwd=workdir)
    assert res.returncode == 0, res.stderr
    return {line.strip() for line in res.stdout.splitlines() if re.fullmatch(r"\s*\w+\s*", line)}


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/demo.yaml"])
def test_dry_run_through_the_profile_imports_nothing_heavy(configfile, workdir, disfa_stand_in):
    extra = ["--config", disfa_stand_in] if configfile == "config/config.yaml" else []
    res = _snakemake(
        "--profile", "profiles/slurm", "-n", "--quiet", "rules", "--configfile", configfile, *extra,
        cwd=workdir, env=_no_heavy_env(),
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "heavy import" not in res.stderr


def test_rulegraph_through_the_profile_imports_nothing_heavy(workdir):
    res = _snakemake(
        "--profile", "profiles/slurm", "--rulegraph", "--configfile", "config/demo.yaml", cwd=workdir, env=_no_heavy_env()
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.lstrip().startswith("digraph")
    assert "heavy import" not in res.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_slurm_profile_makes_the_bare_name_work(tmp_path, workdir):
    """The README's two HPC commands, with HOME in a scratch folder."""
    env = {**os.environ, "HOME": str(tmp_path)}
    made = subprocess.run(
        ["make", "-s", "slurm-profile"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stdout + made.stderr
    link = tmp_path / ".config" / "snakemake" / "slurm"
    assert link.resolve() == PROFILE.resolve()
    res = _snakemake(
        "--profile", "slurm", "-n", "--quiet", "rules", "--configfile", "config/demo.yaml",
        cwd=workdir, env={"HOME": str(tmp_path)},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


def test_profile_uses_the_slurm_executor_with_retries(profile):
    assert profile["executor"] == "slurm"
    assert profile["retries"] >= 1  # GAN time-limit chunks and node failures are resubmitted
    assert profile["latency-wait"] >= 30  # shared file systems
    assert "slurm_partition" not in profile["default-resources"]  # CPU jobs use the site's default partition


def test_profile_names_only_rules_that_exist(profile, rules):
    named = set(profile.get("set-resources", {})) | set(profile.get("set-threads", {}))
    unknown = sorted(named - rules)
    assert not unknown, f"profiles/slurm names rules the workflow does not have: {unknown}"


# Rule families whose memory (and FER's time limit) the rule reads from a config key: the profile leaves them out.
CONFIG_MEM = {"gan_train", "gan_face_samples", "gan_snapshot_fid", "score_batch", "fid_features_batch",
              "fid_features_real", "iqa_real_scores", "svr_train", "fer_fold", "fer_predict", "annotate_pseudo_predict"}
CONFIG_RUNTIME = {"fer_fold", "fer_predict", "annotate_pseudo_predict"}


def test_every_rule_family_has_time_and_memory(profile):
    """From the profile, or — one source — from the config key the rule reads (issue 19)."""
    for rule, res in profile["set-resources"].items():
        if rule in CONFIG_RUNTIME:
            assert "runtime" not in res, rule
        else:
            assert isinstance(res.get("runtime"), int) and res["runtime"] > 0, rule
        if rule in CONFIG_MEM:
            assert "mem_mb" not in res, rule
        else:
            assert re.fullmatch(r"\d+ \* attempt", res.get("mem_mb", "")), (rule, res.get("mem_mb"))


def test_gpu_rules_ask_for_one_gpu_in_the_gpu_partition(profile):
    gpu_rules = {rule for rule, res in profile["set-resources"].items() if res.get("gpu") or res.get("gres")}
    # The long and the per-shard GPU families of the pipeline.
    assert {"gan_train", "generate_shard", "fer_fold"} <= gpu_rules
    for rule in gpu_rules:
        res = profile["set-resources"][rule]
        assert res["gpu"] == 1 and "gres" not in res, rule  # one of gpu/gres, never both
        assert res["slurm_partition"] == "gpu", rule
    # GAN training is the long job: the longest time limit of all (FER's comes from fer.runtime, 720 in the thesis config).
    assert profile["set-resources"]["gan_train"]["runtime"] == max(
        r.get("runtime", 0) for r in profile["set-resources"].values()
    )
    thesis = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert profile["set-resources"]["gan_train"]["runtime"] > thesis["fer"]["runtime"]


def test_rules_scaling_with_images_are_batched_not_per_image(workdir):
    """The per-image work runs in shard/batch jobs: no rule has an image-name wildcard."""
    res = _snakemake("--profile", "profiles/slurm", "-n", "--configfile", "config/demo.yaml", cwd=workdir, env=_no_heavy_env())
    assert res.returncode == 0, res.stderr[-2000:]
    assert not re.search(r"wildcards: .*\b(name|image|seed)=", res.stdout), "a job per image"


def test_test_cluster_overrides_only_cluster_facts():
    """profiles/slurm-test changes how Snakemake talks to the test cluster, never what jobs ask for."""
    overrides = yaml.safe_load((TEST_PROFILE / "config.yaml").read_text())
    assert overrides["slurm-status-command"] == "squeue"
    assert not {"default-resources", "set-resources", "set-threads", "executor", "retries", "cores"} & set(overrides)
