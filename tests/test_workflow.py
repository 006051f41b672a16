"""Workflow-level checks: every shipped config parses and dry-runs, parsing imports nothing heavy,
config mistakes give one message naming the key and the fix, and the linter is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SHIPPED_CONFIGS = ["config/config.yaml", "config/demo.yaml"]
NO_HEAVY = REPO / "tests" / "support" / "no_heavy_imports"

pytestmark = pytest.mark.workflow


def run_snakemake(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*SNAKEMAKE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("configfile", SHIPPED_CONFIGS)
def test_dry_run_of_shipped_config_imports_nothing_heavy(configfile, disfa_stand_in):
    env = {"PYTHONPATH": os.pathsep.join([str(NO_HEAVY), os.environ.get("PYTHONPATH", "")])}
    extra = ["--config", disfa_stand_in] if configfile == "config/config.yaml" else []
    res = run_snakemake("-n", "--quiet", "rules", "--configfile", configfile, *extra, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "heavy import" not in res.stderr


def test_the_import_guard_itself_works():
    env = {"PYTHONPATH": str(NO_HEAVY)}
    res = subprocess.run([sys.executable, "-c", "import cv2"], env={**os.environ, **env}, capture_output=True, text=True)
    assert res.returncode != 0 and "heavy import at parse time: cv2" in res.stderr


def test_rulegraph_without_heavy_imports():
    env = {"PYTHONPATH": os.pathsep.join([str(NO_HEAVY), os.environ.get("PYTHONPATH", "")])}
    res = run_snakemake("--rulegraph", "--configfile", "config/demo.yaml", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.lstrip().startswith("digraph")
    assert "demo_data" in res.stdout


def _error_text(res: subprocess.CompletedProcess) -> str:
    return res.stdout + res.stderr


def test_unknown_key_names_the_key_and_the_fix():
    res = run_snakemake("-n", "--configfile", "config/demo.yaml", "--config", "sed=1")
    assert res.returncode != 0
    text = _error_text(res)
    assert "unknown key(s) 'sed'" in text and "Fix:" in text and "seed" in text


def test_wrong_type_names_the_full_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "config/demo.yaml").read_text() + "\n")
    res = run_snakemake("-n", "--configfile", str(bad), "--config", "seed=minus-one")
    assert res.returncode != 0
    text = _error_text(res)
    assert "config key 'seed'" in text and "not of type 'integer'" in text and "Fix:" in text


def test_missing_input_path_is_named(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"real_images:\n  folder: {tmp_path / 'nowhere'}\n")
    res = run_snakemake("-n", "--configfile", str(cfg))
    assert res.returncode != 0
    text = _error_text(res)
    assert "config key 'real_images.folder'" in text and "does not exist" in text


def test_lint_has_no_findings():
    res = run_snakemake("--lint", "--configfile", "config/demo.yaml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Lints for rule" not in res.stdout + res.stderr, res.stdout + res.stderr



def test_configfile_on_the_command_line_replaces_the_thesis_config(disfa_stand_in):
    """`--configfile demo.yaml` must not be merged over config/config.yaml (thesis values would leak into
    the demo); without --configfile the thesis config is used and --config overrides apply on top."""
    demo = run_snakemake("-n", "--configfile", "config/demo.yaml")
    assert demo.returncode == 0, demo.stderr
    line = next(x for x in demo.stdout.splitlines() if "Config file(s):" in x)
    assert "demo.yaml" in line and "config/config.yaml" not in line
    thesis = run_snakemake("-n", "--config", "seed=4", disfa_stand_in)
    assert thesis.returncode == 0, thesis.stderr
    line = next(x for x in thesis.stdout.splitlines() if "Config file(s):" in x)
    assert "config/config.yaml" in line
