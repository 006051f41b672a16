"""The ``synthfer`` command: a bad file gives one ``error:`` line, never a traceback; a missing command module
fails loudly instead of silently dropping its commands (issue 18, items 8 and 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthfer import cli

REPO = Path(__file__).resolve().parents[1]


def test_bad_file_gives_one_error_line(tmp_path):
    bad = tmp_path / "network.pt"
    bad.write_bytes(b"this is not a network")
    env = {k: v for k, v in os.environ.items() if k != "SYNTHFER_TRACEBACK"}
    res = subprocess.run([sys.executable, "-m", "synthfer", "gan-info", str(bad)], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env={**env, "PYTHONPATH": str(REPO)})
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, res.stderr


def test_from_python_errors_propagate(tmp_path):
    bad = tmp_path / "network.pt"
    bad.write_bytes(b"this is not a network")
    with pytest.raises(Exception):  # noqa: B017 — whatever torch raises; the point is that main() does not swallow it
        cli.main(["gan-info", str(bad)])
    assert cli.main(["gan-info", str(bad)], catch=True) == 1


def test_missing_command_module_fails_loudly(monkeypatch):
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "nosuchphase"))
    with pytest.raises(ModuleNotFoundError, match="synthfer.nosuchphase"):
        cli.build_parser()
