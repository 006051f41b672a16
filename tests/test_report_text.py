"""The report's front text (rules/report/workflow.rst) names only sections the report has, and renders.

Snakemake's HTML report has the menu items Workflow, Statistics and About, and one Results entry per
``report(category=…)`` declared in rules/*.smk; it does not show the config files. The front text is a
Jinja template rendered with ``snakemake.config`` and ``categories``, then docutils.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
FRONT = REPO / "rules" / "report" / "workflow.rst"
MENU = {"Results", "Workflow", "Statistics", "About"}  # snakemake/report/html_reporter/template/components/menu.js


def _declared_categories() -> set[str]:
    found = set()
    for smk in (REPO / "rules").glob("*.smk"):
        found |= set(re.findall(r'\bcategory="([^"{}]+)"', smk.read_text()))
    return found


def _validated(config_file: str, tmp: Path) -> dict:
    from snakemake.utils import validate

    from synthfer.config import bundle_schema

    cfg = yaml.safe_load((REPO / config_file).read_text())
    schema = bundle_schema(REPO / "config" / "schema" / "config.schema.yaml")
    path = tmp / "config.schema.bundled.yaml"
    path.write_text(yaml.safe_dump(schema, sort_keys=False))
    validate(cfg, schema=str(path))
    return cfg


class _Category:  # what Snakemake passes as the keys of `categories` (snakemake.report.Category)
    def __init__(self, name: str):
        self.name = name

    def __lt__(self, other: _Category) -> bool:
        return self.name < other.name


def _render(config: dict, categories: set[str]) -> str:
    from jinja2 import Environment

    class Snakemake:
        pass

    Snakemake.config = copy.deepcopy(config)
    env = Environment(trim_blocks=True, lstrip_blocks=True)  # as snakemake.report.auto_report
    return env.from_string(FRONT.read_text()).render(
        snakemake=Snakemake, categories={_Category(c): {} for c in categories}, files=[]
    )


def test_named_sections_exist():
    """Every section the text names in bold or quotes is a menu item or a declared category."""
    static = re.sub(r"{[%{#].*?[%}#]}", "", FRONT.read_text(), flags=re.S)
    named = set(re.findall(r"\*\*([^*]+)\*\*", static)) | set(re.findall(r'"([^"]+)"', static))
    assert named, "the front text points the reader nowhere"
    assert named <= MENU | _declared_categories(), named - MENU - _declared_categories()
    assert "Configuration" not in static  # no such section (Snakemake's report does not show config files)


@pytest.mark.parametrize("config_file", ["config/config.yaml", "config/demo.yaml"])
def test_renders_for_every_shipped_config(config_file, tmp_path):
    from docutils.core import publish_parts

    cfg = _validated(config_file, tmp_path)
    categories = _declared_categories()
    text = _render(cfg, categories)
    for name in categories:
        assert f'"{name}"' in text
    assert f"the best {cfg['select']['keep']} of every batch of {cfg['iqa']['batch_size']}" in text
    assert f"{cfg['fer']['folds']}-fold" in text and cfg["real_images"]["folder"] in text
    off = _render({**cfg, "fer": {**cfg["fer"], "enabled": False}}, categories)  # fer.enabled (issue 14, item 3)
    assert "FER: switched off" in off and "-fold" not in off
    # docutils warnings (bad markup) are errors here
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})
    assert "<li>" in html["html_body"]


@pytest.mark.workflow
def test_real_report_shows_the_front_text(tmp_path):
    """A one-rule workflow with the real front text and config validation: `snakemake --report` renders it."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "schema").symlink_to(REPO / "config" / "schema")
    (tmp_path / "config.yaml").write_text(
        # no FER data here: with FER on, check_config would (rightly) stop at the missing DISFA folder
        yaml.safe_dump({"real_images": {"folder": "results/faces/real"}, "select": {"keep": 7}, "fer": {"enabled": False}})
    )
    (tmp_path / "Snakefile").write_text(
        f"""
import sys
sys.path.insert(0, {str(REPO)!r})
configfile: "config.yaml"
report: {str(FRONT)!r}
include: {str(REPO / "rules" / "common.smk")!r}
rule all:
    input: "results/note.txt"
rule note:
    output: report("results/note.txt", category="1 Faces")
    log: "logs/note.log"
    shell: "echo note > {{output}}"
"""
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["--cores", "1"], ["--report", "report.html"]):
        res = subprocess.run(
            [sys.executable, "-m", "snakemake", *args], cwd=tmp_path, capture_output=True, text=True, env=env
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    page = (tmp_path / "report.html").read_text()
    assert "the best 7 of every batch of 512" in page
    assert "&quot;1 Faces&quot;" in page or '"1 Faces"' in page or "\\u00221 Faces\\u0022" in page
