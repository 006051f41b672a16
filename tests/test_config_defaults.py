"""Code defaults cannot drift from the schema (issue 18, item 1).

The schema (``config/schema/<phase>.schema.yaml``) is the one home of every default. A function a rule calls
may leave a parameter without a default (or ``None``, "not given"), or give it the schema's; never another value — the old
``select(metrics=(psnr, ssim, uiq, brisque, svr_severity))`` against the schema's ``rmse, psnr, issm, sam, uiq``
is the drift this keeps out. The bindings are read from the wiring itself, for every phase: a rule's
``params: name=config[...]...`` → its workflow script's ``f(kw=snakemake.params.name)`` → ``f``'s default
for ``kw``. (The GAN's training options have their own table, ``synthfer.gan.options.DEFAULTS``, checked
by tests/test_gan_config.py.)
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest
import yaml

from synthfer.config import bundle_schema
from synthfer.scores import SCORE_METRICS

REPO = Path(__file__).resolve().parents[1]
LOOKUP = re.compile(r'^(\w+)((?:\["\w+"\])+),?$')


def _schema_default(schema: dict, dotted: str):
    node = schema
    for part in dotted.split("."):
        node = node["properties"][part]
    return node.get("default", inspect.Parameter.empty)


def _rule_params() -> list[tuple[str, str, str, str]]:
    """``(rule file, script, param name, dotted config key)`` of every param that is a plain config lookup."""
    out = []
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        aliases = {m.group(1): m.group(2) for m in re.finditer(r'^(\w+) = config\["(\w+)"\]\s*$', text, re.M)}
        nested = {m.group(1): (m.group(2), m.group(3)) for m in
                  re.finditer(r'^(\w+) = config\["(\w+)"\]\["(\w+)"\]\s*$', text, re.M)}
        for block in re.split(r"^(?=[ \t]*(?:rule|checkpoint) \w+:)", text, flags=re.M)[1:]:
            script = re.search(r'script:\s*\n\s*"\.\./(workflow_scripts/\w+\.py)"', block)
            params = re.search(r"\n(\s+)params:\n((?:\1\s+.*\n)+)", block)
            if not script or not params:
                continue
            for line in params.group(2).splitlines():
                name, _, expr = line.strip().partition("=")
                m = LOOKUP.match(expr.strip())
                if not m:
                    continue
                root, keys = m.group(1), re.findall(r'"(\w+)"', m.group(2))
                if root == "config":
                    prefix = []
                elif root in aliases:
                    prefix = [aliases[root]]
                elif root in nested:
                    prefix = list(nested[root])
                else:
                    continue
                out.append((smk.name, script.group(1), name.strip(), ".".join(prefix + keys)))
    return out


def _script_bindings(script: str) -> dict[str, list[tuple[object, str]]]:
    """param name → ``[(function, keyword)]`` the workflow script passes ``snakemake.params.<name>`` to."""
    tree = ast.parse((REPO / script).read_text())
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("synthfer"):
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module, alias.name)
    out: dict[str, list] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported):
            continue
        module, name = imported[node.func.id]
        func = getattr(importlib.import_module(module), name)
        for kw in node.keywords:
            value = kw.value
            while isinstance(value, ast.Call) and len(value.args) == 1:  # list(snakemake.params.x), dict(…)
                value = value.args[0]
            text = ast.unparse(value)
            m = re.fullmatch(r"snakemake\.params\.(\w+)|snakemake\.params\[['\"](\w+)['\"]\]", text)
            if m and kw.arg:
                out.setdefault(m.group(1) or m.group(2), []).append((func, kw.arg))
    return out


def _same(code, schema) -> bool:
    if isinstance(code, tuple):
        code = list(code)
    return code == schema


def test_code_defaults_equal_schema_defaults_or_are_absent():
    schema = bundle_schema(REPO / "config" / "schema" / "config.schema.yaml")
    bindings = _rule_params()
    assert len(bindings) > 40  # the reader finds the wiring (a change of rule layout must not silence this test)
    checked, drifted = 0, []
    scripts: dict[str, dict] = {}
    for smk, script, param, key in bindings:
        if script not in scripts:
            scripts[script] = _script_bindings(script)
        for func, kw in scripts[script].get(param, []):
            target = inspect.unwrap(func)
            if inspect.isclass(target):
                target = target.__init__
            parameter = inspect.signature(target).parameters.get(kw)
            checked += 1
            if parameter is None or parameter.default in (inspect.Parameter.empty, None):
                continue  # no default (None = "not given": the rule always passes the value)
            want = _schema_default(schema, key)
            if want is not inspect.Parameter.empty and not _same(parameter.default, want):
                drifted.append(f"{func.__module__}.{func.__qualname__}({kw}={parameter.default!r}): "
                               f"schema {key} default {want!r} ({smk}, {script})")
    assert checked > 30
    assert drifted == [], "code defaults that differ from the schema (drop them or make them equal):\n" + "\n".join(drifted)


@pytest.mark.parametrize("key", ["metrics", "weights", "metric", "thresholds", "ablations"])
def test_select_schema_names_the_score_metrics(key):
    """The select schema's metric lists are SCORE_METRICS (synthfer/scores.py, their one home)."""
    node = yaml.safe_load((REPO / "config" / "schema" / "select.schema.yaml").read_text())["properties"][key]
    names = (node.get("items") or node.get("propertyNames") or node).get("enum")
    assert names == list(SCORE_METRICS)
