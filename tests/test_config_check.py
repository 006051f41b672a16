"""synthfer.config.check_config: every cross-key rule and every input that exists at parse time, checked once
when the Snakefile is parsed (rules/common.smk), each problem naming the key (or file, row, column) and the fix;
and nested ``--config`` overrides typed as a config file would be (issue 18, items 5 and 10)."""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthfer import AU_COLUMNS, ConfigError
from synthfer.config import bundle_schema, check_config, fer_enabled, parse_nested_overrides

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def defaults(tmp_path_factory):
    """A validated config with every default filled in, FER off (each test switches on what it checks)."""
    from snakemake.utils import validate

    folder = tmp_path_factory.mktemp("photos")
    schema = tmp_path_factory.mktemp("schema") / "bundled.yaml"
    schema.write_text(yaml.safe_dump(bundle_schema(REPO / "config" / "schema" / "config.schema.yaml")))
    config = {"real_images": {"folder": str(folder)}, "fer": {"enabled": False}}
    validate(config, schema=str(schema))
    return config


def _with(config, **changes):
    out = copy.deepcopy(config)
    for dotted, value in changes.items():
        node = out
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return out


def _problem(config) -> str:
    with pytest.raises(ConfigError) as info:
        check_config(config)
    return str(info.value)


def test_defaults_pass(defaults):
    check_config(defaults)


def test_start_from_with_resume_from(defaults, tmp_path):
    net = tmp_path / "net.pkl"
    net.write_bytes(b"x")
    msg = _problem(_with(defaults, gan__start_from=str(net), gan__resume_from=str(net)))
    assert "gan.start_from and gan.resume_from are both set" in msg and "Fix: set only one of them" in msg


def test_freeze_d_without_a_start_network(defaults):
    msg = _problem(_with(defaults, gan__freeze_d=4))
    assert "gan.freeze_d = 4" in msg and "Fix: set gan.start_from" in msg


def test_select_metrics_empty_and_zero_weights(defaults):
    msg = _problem(_with(defaults, select__metrics=[]))
    assert "config key 'select.metrics' is empty" in msg and "Fix:" in msg
    check_config(_with(defaults, select__metrics=[], select__method="single"))  # single ranks by select.metric
    msg = _problem(_with(defaults, select__metrics=["psnr"], select__weights={"psnr": 0}))
    assert "config key 'select.weights'" in msg


def test_every_problem_is_listed_at_once(defaults):
    msg = _problem(_with(defaults, select__metrics=[], gan__freeze_d=2, gan__network="best_fid"))
    assert "select.metrics" in msg and "gan.freeze_d" in msg and "'gan.network' is 'best_fid'" in msg


def _table(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["image", "subject", *AU_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _fer_table(defaults, tmp_path, rows, folds=2):
    for row in rows:
        (tmp_path / row["image"]).write_bytes(b"")
    table = _table(tmp_path / "labels.csv", rows)
    return _with(defaults, fer__enabled=True, fer__folds=folds, fer__model__weights=None,
                 fer__real={**defaults["fer"]["real"], "source": "table", "table": str(table), "align": False})


def _row(i, subject, **aus):
    return {"image": f"{i}.png", "subject": subject, **dict.fromkeys(AU_COLUMNS, 0), **aus}


@pytest.mark.parametrize("value", ["2", "-1", "0.5", "yes", ""])
def test_fer_label_values_name_file_row_column(defaults, tmp_path, value):
    config = _fer_table(defaults, tmp_path, [_row(0, "S1"), _row(1, "S2", AU12=value)])
    msg = _problem(config)
    assert f"labels.csv: row 2 (line 3), column AU12 has {value!r}" in msg and "Fix: write 1" in msg
    assert "np." not in msg and "int64" not in msg


def test_fer_labels_one_and_zero_pass(defaults, tmp_path):
    config = _fer_table(defaults, tmp_path, [_row(0, "S1", AU1=1), _row(1, "S2", AU4="1.0")])
    config["fer"]["model_selection"] = "fixed"  # two folds leave no inner validation fold
    config["annotate"]["pseudo_rule"] = "fixed"
    check_config(config)


def test_inner_model_selection_needs_three_folds(defaults, tmp_path):
    msg = _problem(_fer_table(defaults, tmp_path, [_row(0, "S1", AU1=1), _row(1, "S2", AU4="1.0")]))
    assert "config key 'fer.model_selection': 'inner' needs fer.folds >= 3" in msg and "fer.folds = 2" in msg


def test_fer_folds_greater_than_subjects(defaults, tmp_path):
    msg = _problem(_fer_table(defaults, tmp_path, [_row(0, "S1"), _row(1, "S2"), _row(2, "S2")], folds=3))
    assert "config key 'fer.folds': 3 folds, but" in msg and "only 2 subject(s)" in msg and "at most 2" in msg


def test_fer_folds_beyond_the_fold_id_width(defaults, tmp_path):
    rows = [_row(i, f"S{i}") for i in range(102)]
    msg = _problem(_fer_table(defaults, tmp_path, rows, folds=100))
    assert "config key 'fer.folds': 100 folds, but fold ids have 2 digits" in msg and "at most 99" in msg


def test_broken_seed_list(defaults, tmp_path):
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text("format: 1\naus: {AU1: [3]}\nneutral: []\ngeneration: {truncation_psi: 0.7}\ncolour: red\n")
    msg = _problem(_with(defaults, seeds__file=str(seeds)))
    assert "config key 'seeds.file'" in msg and "unknown key(s) 'colour'" in msg and "Fix:" in msg
    seeds.write_text("format: 1\naus: {AU1: [3]}\naus: {AU4: [5]}\nneutral: []\n")
    assert "written twice" in _problem(_with(defaults, seeds__file=str(seeds)))
    check_config(_with(defaults, seeds__file=str(REPO / "config" / "demo_seeds.yaml")))
    check_config(_with(defaults, seeds__file=str(tmp_path / "not-yet.yaml")))  # missing: the run stops at the review


def test_assistant_needs_fer(defaults):
    msg = _problem(_with(defaults, latent__review={**defaults["latent"]["review"], "assistant": {
        **defaults["latent"]["review"]["assistant"], "enabled": True}}))
    assert "config key 'latent.review.assistant.enabled'" in msg


def test_fer_enabled_is_read_one_way():
    """The switch is read by synthfer.config.fer_enabled only (before: four spellings in four files)."""
    import re

    assert fer_enabled({}) is True and fer_enabled({"fer": {}}) is True
    assert fer_enabled({"fer": {"enabled": False}}) is False
    reads = re.compile(r'\["fer"\]\["enabled"\]|\["fer"\]\.get\("enabled"|"fer\.enabled"|FER\["enabled"\]')
    found = []
    for path in [REPO / "Snakefile", *(REPO / "rules").glob("*.smk"), *(REPO / "synthfer").rglob("*.py")]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if reads.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(REPO)}:{n}")
    assert found == ["synthfer/config.py:" + str(_helper_line())], found


def _helper_line() -> int:
    import inspect

    from synthfer import config

    lines, start = inspect.getsourcelines(config.fer_enabled)
    return start + next(i for i, line in enumerate(lines) if '"fer.enabled"' in line)


def test_nested_overrides_get_yaml_types():
    config = {"fer": {"enabled": True, "model": {"weights": "x"}}, "select": {"keep": 180, "metrics": ["psnr"]}}
    parse_nested_overrides(config, {"fer": {"enabled": "false", "model": {"weights": "null"}},
                                    "select": {"keep": "50", "metrics": ["rmse", "sam"]}, "seed": "7"})
    assert config == {"fer": {"enabled": False, "model": {"weights": None}},
                      "select": {"keep": 50, "metrics": ["rmse", "sam"]}}  # top-level scalars: Snakemake's own


@pytest.mark.workflow
def test_nested_config_on_the_command_line(workdir):
    """The README's --config form with a nested mapping: before, "'false' is not of type 'boolean'"."""
    snakemake = Path(sys.executable).parent / "snakemake"
    res = subprocess.run(
        [str(snakemake), "-n", "--quiet", "rules", "--configfile", "config/demo.yaml",
         "--config", "fer={enabled: false}", "select={keep: 50}", "latent={review: {assistant: {enabled: false}}}"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "fer_fold" not in out and "select" in out
    bad = subprocess.run(
        [str(snakemake), "-n", "--quiet", "rules", "--configfile", "config/demo.yaml", "--config", "select={metrics: []}"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert bad.returncode != 0 and "config key 'select.metrics' is empty" in bad.stdout + bad.stderr


def test_fold_job_label_message_has_no_numpy_type(tmp_path):
    """The fold jobs' own check (a table written after parse time) names the value as written, not np.int64(2)."""
    from synthfer.fer.data import read_real_table

    table = _table(tmp_path / "labels.csv", [_row(0, "S1"), _row(1, "S2", AU12=2)])
    with pytest.raises(ValueError) as info:
        read_real_table(table, check_files=False)
    assert "row 3 has '2'" in str(info.value) and "np." not in str(info.value)
