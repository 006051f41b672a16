"""Issue 19 item 6: one source for resources, memory that grows with the attempt, GPU rules that declare their
GPU, the trained network protected. (The rule-file parts need /work/wt/hpc-results-root.sh applied.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
GPU_RULES = {"gan_train", "gan_snapshot_fid", "gan_face_samples", "latent_directions", "review_material",
             "generate_shard", "fer_fold", "fer_predict", "annotate_pseudo_predict"}  # fmt: skip
# rule -> (resource, config key) the rule reads; the profile must not override them.
FROM_CONFIG = {
    "gan_train": [("mem_mb", "gan.mem_mb")],
    "fer_fold": [("mem_mb", "fer.mem_mb"), ("runtime", "fer.runtime")],
    "fer_predict": [("mem_mb", "fer.mem_mb"), ("runtime", "fer.runtime")],
    "annotate_pseudo_predict": [("mem_mb", "fer.mem_mb"), ("runtime", "fer.runtime")],
    "score_batch": [("mem_mb", "iqa.mem_mb")],
}


def _rule_blocks() -> dict[str, str]:
    blocks = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=\s*rule \w+:)", smk.read_text()):
            m = re.match(r"\s*rule (\w+):", block)
            if m:
                blocks[m.group(1)] = block
    return blocks


def test_the_profile_does_not_override_config_keys():
    for rule, pairs in FROM_CONFIG.items():
        for resource, key in pairs:
            assert resource not in PROFILE["set-resources"].get(rule, {}), f"profile overrides {key} for {rule}"


def test_profile_memory_grows_with_the_attempt():
    entries = [PROFILE["default-resources"]] + list(PROFILE["set-resources"].values())
    for res in entries:
        if "mem_mb" in res:
            assert re.fullmatch(r"\d+ \* attempt", str(res["mem_mb"])), res


def test_rule_memory_grows_with_the_attempt():
    blocks = _rule_blocks()
    static = sorted(r for r, b in blocks.items() if re.search(r"^\s+mem_mb=(?!mem_mb_per_attempt\()", b, re.M))
    assert not static, f"mem_mb not scaled by attempt in {static}"


def test_gpu_rules_declare_their_gpu_and_the_network_is_protected():
    blocks = _rule_blocks()
    missing = sorted(r for r in GPU_RULES if not re.search(r"resources:\s*\n\s+gpu=1,", blocks[r]))
    assert not missing, f"no resources: gpu=1 in {missing}"
    assert re.search(r"final=protected\(", blocks["gan_train"])


def test_a_retried_job_gets_more_memory(tmp_path):
    """Through Snakemake: a job that fails on its first attempt is retried with twice the memory."""
    (tmp_path / "Snakefile").write_text(
        f"config.setdefault('deploy', {{}})\ninclude: {str(REPO / 'rules' / 'deploy.smk')!r}\n\n"
        "rule probe:\n"
        "    output: 'done.txt'\n"
        "    resources:\n        mem_mb=mem_mb_per_attempt(100),\n"
        "    shell: \"echo {resources.mem_mb} >> mem.log; test $(wc -l < mem.log) -ge 2 && touch {output}\"\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--retries", "1", "--workflow-profile", "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert (tmp_path / "mem.log").read_text().split() == ["100", "200"]


@pytest.mark.workflow
def test_local_resources_gpu_limits_the_gpu_rules(workdir):
    """`--resources gpu=1` is accepted locally and the GPU rules carry gpu=1 in the plan."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--resources", "gpu=1", "--configfile",
         "config/demo.yaml"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    block = res.stdout.split("rule gan_train:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"resources: .*\bgpu=1\b", block), block
