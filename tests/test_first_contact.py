"""First contact with the thesis config: a photo folder without photographs stops the run once, before any
job, with one message; every workflow script's error lands in its rule's log file; `python -m synthfer`."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NO_IMAGES = "put the photographs there or point real_images.folder at them"

pytestmark = pytest.mark.workflow


# Without data/disfa the thesis config first stops at the FER phase's own parse-time check (tests/test_fer_config.py);
# these tests are about the photograph folder, so FER is switched off.
# (Snakemake's --config turns nested values into strings, so the switch travels as a config file.)
def _no_fer(workdir: Path) -> tuple[str, str]:
    (workdir / "no_fer.yaml").write_text("fer:\n  enabled: false\n")
    return "--configfile", str(workdir / "no_fer.yaml")


def _snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture
def empty_photos(tmp_path) -> Path:
    """The shipped data/cfd as a new user finds it: a README and no photograph."""
    folder = tmp_path / "cfd"
    folder.mkdir()
    (folder / "README.md").write_text("Put the Chicago Face Database photographs here.\n")
    return folder


def test_thesis_run_without_photographs_stops_once_before_any_job(fresh_workdir, empty_photos):
    res = _snakemake(fresh_workdir, "--cores", "2", "--config", f"real_images={{'folder': '{empty_photos}'}}", *_no_fer(fresh_workdir))
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert out.count(NO_IMAGES) == 1, out[-3000:]
    assert f"no images in {empty_photos}" in out and "README.md" in out
    # before any job: nothing was started, logged or written
    assert "rule faces_real_shard:" not in out and "Error in rule" not in out, out[-3000:]
    assert not (fresh_workdir / "logs").exists() and not any((fresh_workdir / "results").iterdir())


def test_dry_run_without_photographs_warns_and_still_plans(fresh_workdir, empty_photos):
    res = _snakemake(fresh_workdir, "-n", "--config", f"real_images={{'folder': '{empty_photos}'}}", *_no_fer(fresh_workdir))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert out.count(NO_IMAGES) == 1 and "a real run stops here" in out
    assert "faces_real_shard" in out


def test_a_photo_folder_that_is_a_file_is_named_before_anything_runs(fresh_workdir, tmp_path):
    archive = tmp_path / "cfd.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    res = _snakemake(fresh_workdir, "-n", "--config", f"real_images={{'folder': '{archive}'}}", *_no_fer(fresh_workdir))
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert f"config key 'real_images.folder': '{archive}' is a file, not a folder. Fix:" in out


def test_a_failing_script_writes_its_error_into_the_rules_log(tmp_path):
    """Through a real Snakemake rule: the script raises after log_to(snakemake.log[0]), like every workflow script."""
    (tmp_path / "fails.py").write_text(
        "from synthfer.logs import get_logger, log_to\n"
        "log_to(snakemake.log[0])\n"
        "get_logger('synthfer.test').info('started')\n"
        "raise FileNotFoundError('no images in data/cfd: put the photographs there')\n"
    )
    (tmp_path / "Snakefile").write_text(
        "rule fails:\n"
        "    output: 'out.txt'\n"
        "    log: 'logs/fails.log'\n"
        "    script: 'fails.py'\n"
    )
    res = _snakemake(tmp_path, "--cores", "1", "--snakefile", "Snakefile")
    assert res.returncode != 0
    log = (tmp_path / "logs" / "fails.log").read_text()
    assert "started" in log
    assert "error: no images in data/cfd: put the photographs there" in log
    assert "Traceback (most recent call last)" in log and log.rstrip().endswith(
        "FileNotFoundError: no images in data/cfd: put the photographs there"
    )
    assert res.stderr.count("Traceback (most recent call last)") == 1  # on the terminal once, not twice


def test_every_workflow_script_logs_to_its_rule_log_first():
    """The hook in log_to covers every script only if each calls it before doing anything."""
    for script in sorted((REPO / "workflow_scripts").glob("*.py")):
        tree = ast.parse(script.read_text())
        body = [
            node for node in tree.body
            if not isinstance(node, (ast.Import, ast.ImportFrom))
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        ]  # fmt: skip
        assert body and ast.unparse(body[0]) == "log_to(snakemake.log[0])", script.name


def test_python_dash_m_synthfer_is_the_command():
    res = subprocess.run(
        [sys.executable, "-m", "synthfer", "--help"], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: synthfer") and "seeds-check" in res.stdout
