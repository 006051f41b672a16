"""Issue 19, item 5: another workflow can `module` this one by path. The host lives in a temporary folder with
its own config (the demo config, its shipped model files named by absolute path, as a host names its own
data) and dry-runs the whole demo through the module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.workflow


def _absolute(node):
    """The demo config with the checkout's own files (resources/…) named by absolute path."""
    if isinstance(node, dict):
        return {k: _absolute(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute(v) for v in node]
    if isinstance(node, str) and node.startswith("resources/"):
        return str(REPO / node)
    return node


def test_a_host_workflow_modules_this_one_and_dry_runs_the_demo(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    config = _absolute(yaml.safe_load((REPO / "config" / "demo.yaml").read_text()))
    (host / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (host / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        "module synthfer:\n"
        f"    snakefile:\n        {str(REPO / 'Snakefile')!r}\n"
        "    config:\n        config\n\n\n"
        "use rule * from synthfer as synthfer_*\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1"],
        cwd=host, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "synthfer_gan_train" in out and "synthfer_fer_fold" in out, out[-3000:]
    # The bundled schema lands in the host's .snakemake, built from this workflow's schema files.
    assert (host / ".snakemake" / "synthfer" / "config.schema.bundled.yaml").is_file()


def test_every_output_lives_under_deploy_results(workdir, tmp_path):
    """deploy.results moves every workflow output (a second run beside the first, a host's own folder). Needs
    /work/wt/hpc-results-root.sh applied to the rule files (the integrator re-applies it after merging)."""
    override = tmp_path / "out_root.yaml"
    override.write_text(yaml.safe_dump({
        "deploy": {"results": "out"},
        "real_images": {"folder": "out/demo/real", "metadata": "out/demo/real_metadata.csv"},
        "fer": {"real": {"table": "out/demo/disfa_like/labels.csv"}},
    }))  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "config/demo.yaml", str(override)],
        cwd=workdir, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    files = {
        f.strip()
        for line in res.stdout.splitlines()
        if line.strip().startswith(("input:", "output:"))
        for f in line.split(":", 1)[1].split(",")
    }
    assert "out/gan/network-final.pt" in files and "out/fer/summary.csv" in files, sorted(files)[:40]
    stray = sorted(f for f in files if f and f != "<TBD>" and not f.startswith(("out/", "/", "resources/")))
    assert not stray, stray
