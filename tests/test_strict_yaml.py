"""Duplicate keys are refused (naming the key and both lines) in seed lists and config files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthfer.seeds.spec import SeedSpecError, load_seed_spec
from synthfer.strict_yaml import DuplicateKeyError, load_yaml

REPO = Path(__file__).resolve().parents[1]

SEEDS_AU1_TWICE = """\
format: 1
aus:
  AU1: [4, 8]
  AU12: [5]
  AU1: [9]
neutral: [3]
"""

SEEDS_NEUTRAL_TWICE = """\
format: 1
aus:
  AU1: [4]
neutral: [3, 7]
generation:
  truncation_psi: 0.7
neutral: [11]
"""


def test_plain_yaml_is_read_as_safe_load_reads_it():
    text = "a: 1\nb: {c: [1, 2]}\nbase: &x {p: 1, q: 2}\nm:\n  <<: *x\n  p: 3\n"
    import yaml

    assert load_yaml(text) == yaml.safe_load(text)  # a merge key may still be overridden
    assert load_yaml("") is None


def test_duplicate_key_names_key_place_and_both_lines():
    with pytest.raises(DuplicateKeyError) as exc:
        load_yaml("select:\n  keep: 1\n  thresholds:\n    psnr: {min: 1}\n    psnr: {min: 2}\n", source="c.yaml")
    assert str(exc.value).startswith("c.yaml: key 'psnr' in select.thresholds is written twice (lines 4 and 5)")


def test_seed_list_with_au_written_twice_is_refused(tmp_path):
    path = tmp_path / "seeds.yaml"
    path.write_text(SEEDS_AU1_TWICE)
    with pytest.raises(SeedSpecError) as exc:
        load_seed_spec(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: key 'AU1' in aus is written twice (lines 3 and 5)"), msg


def test_seed_list_with_neutral_written_twice_is_refused(tmp_path):
    path = tmp_path / "seeds.yaml"
    path.write_text(SEEDS_NEUTRAL_TWICE)
    with pytest.raises(SeedSpecError, match=r"key 'neutral' at the top level is written twice \(lines 4 and 7\)"):
        load_seed_spec(path)


def test_seeds_check_reports_the_duplicate_and_fails(tmp_path, capsys):
    from synthfer.cli import main

    path = tmp_path / "seeds.yaml"
    path.write_text(SEEDS_AU1_TWICE)
    assert main(["seeds-check", str(path), "--directions", "none"]) == 1
    out = capsys.readouterr().out
    assert "'AU1'" in out and "lines 3 and 5" in out and "OK" not in out


@pytest.mark.workflow
def test_config_file_with_a_section_written_twice_is_refused(tmp_path):
    cfg = tmp_path / "demo_twice.yaml"
    demo = (REPO / "config" / "demo.yaml").read_text()
    first = demo.count("\n") + 2
    cfg.write_text(demo + "\nselect:\n  keep: 3\n")
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(cfg)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0
    original = next(i for i, line in enumerate(demo.splitlines(), 1) if line.startswith("select:"))
    assert f"key 'select' at the top level is written twice (lines {original} and {first})" in out, out[-2000:]
    assert str(cfg) in out
