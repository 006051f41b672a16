"""Issue 19 item 6: the files a workflow catalog and an HPC admin expect — LICENSE matching pyproject, a
config/README.md naming every shipped config, and a snakefmt config (line length 120) that `make lint` checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_license_is_the_mit_text_pyproject_names():
    assert PYPROJECT["project"]["license"] == "MIT"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_config_readme_names_every_shipped_config_and_section():
    readme = (REPO / "config" / "README.md").read_text()
    for cfg in sorted((REPO / "config").glob("*.yaml")):
        assert f"`{cfg.name}`" in readme, cfg.name
    import yaml

    sections = yaml.safe_load((REPO / "config" / "schema" / "config.schema.yaml").read_text())["properties"]
    for section in sections:
        assert f"`{section}`" in readme, section


def test_snakefmt_is_configured_and_checked_by_make_lint():
    assert PYPROJECT["tool"]["snakefmt"]["line_length"] == 120
    assert any(dep.startswith("snakefmt") for dep in PYPROJECT["project"]["optional-dependencies"]["test"])
    lint = re.search(r"^lint:.*?(?=^\S)", (REPO / "Makefile").read_text(), flags=re.M | re.S).group(0)
    assert "snakefmt --check Snakefile rules" in lint
