"""Replicates (issue 22): ids per variant, their seeds, the synthetic set each one trains on, and FoldOptions built
from the config with no defaults of its own (issue 18: defaults live in the schema only)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from test_fer_helpers import fer_config

from synthfer.fer.train import FoldOptions, fold_seed
from synthfer.variants import annotation_folder, parse_replicate, random_draw_sets, random_draw_table, replicate_ids

REPO = Path(__file__).resolve().parents[1]


def test_replicate_ids():
    assert replicate_ids("real_only", 1) == ["r0"]
    assert replicate_ids("synthetic_tds", 3, draws=2) == ["r0", "r1", "r2"]  # draws only multiply the random control
    assert replicate_ids("synthetic_random", 2, draws=2) == ["d0r0", "d0r1", "d1r0", "d1r1"]
    assert replicate_ids("synthetic_random", 1) == ["d0r0"]
    with pytest.raises(ValueError, match="fer.repeats"):
        replicate_ids("real_only", 0)
    assert parse_replicate("d1r0") == (1, 0) and parse_replicate("r2") == (None, 2)
    with pytest.raises(ValueError, match="replicate id"):
        parse_replicate("x1")


def test_each_replicate_trains_on_its_own_set():
    assert annotation_folder("synthetic_tds", 3, "r1") == "results/annotations/synthetic_tds"
    assert annotation_folder("synthetic_random", 3, "d0r1") == "results/annotations/synthetic_random"
    assert annotation_folder("synthetic_random", 3, "d2r0") == "results/annotations/synthetic_random/d2"
    assert annotation_folder("synthetic_pseudo", 3, "r1") == "results/annotations/synthetic_pseudo/fold_03/rep_r1"
    assert random_draw_table(0) == "results/select/random.csv"
    assert random_draw_sets(3) == {"synthetic_random/d1": "results/select/random/d1.csv",
                                   "synthetic_random/d2": "results/select/random/d2.csv"}  # fmt: skip


def test_seeds_differ_by_fold_and_repeat_not_by_variant():
    seeds = {fold_seed(2023, f, r) for f in (1, 2) for r in (0, 1)}
    assert len(seeds) == 4 and all(0 <= s < 2**31 for s in seeds)
    assert fold_seed(2023, 1, 0) == fold_seed(2023, 1, 0)


def test_fold_options_have_no_code_defaults_and_follow_the_schema():
    """Every FoldOptions field comes from the config (the schema is the one home of the defaults)."""
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(FoldOptions))
    opts = FoldOptions.from_config(fer_config(), seed=5)
    props = yaml.safe_load((REPO / "config/schema/fer.schema.yaml").read_text())["properties"]
    for f in dataclasses.fields(FoldOptions):
        if f.name == "seed":
            continue
        spec = next((props[s]["properties"][f.name] for s in ("model", "train") if f.name in props[s]["properties"]),
                    props.get(f.name))  # fmt: skip
        assert spec is not None, f.name
        default = spec["default"]
        assert getattr(opts, f.name) == (tuple(default) if isinstance(default, list) else default), f.name
    assert opts.workers == 4 and opts.budget == "steps" and opts.model_selection == "inner"
    with pytest.raises(ValueError, match="fer.model_selection"):
        FoldOptions.from_config(fer_config(model_selection="test_fold"), seed=5)


def test_step_budget_gives_every_training_set_the_same_steps():
    opts = FoldOptions.from_config(fer_config(budget="steps", steps=10, epochs=3), seed=1)
    assert {opts.epoch_steps(n) for n in (1, 7, 300)} == {4}  # ceil(10 / 3), whatever the set's size
    by_epoch = FoldOptions.from_config(fer_config(budget="epochs", steps_per_epoch=None), seed=1)
    assert [by_epoch.epoch_steps(n) for n in (7, 300)] == [7, 300]  # a full pass: more data, more steps


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fer": {"folds": 2}}, "config key 'fer.model_selection': 'inner' needs fer.folds >= 3"),
        ({"fer": {"model_selection": "fixed"}}, "config key 'annotate.pseudo_rule': 'inner'"),
    ],
)
def test_protocol_settings_that_cannot_work_stop_the_dry_run(tmp_path, change, message):
    import os
    import subprocess
    import sys

    cfg = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    for section, values in change.items():
        cfg[section].update(values)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(tmp_path / "c.yaml")], cwd=REPO,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert res.returncode != 0 and message in res.stdout + res.stderr and "Fix:" in res.stdout + res.stderr


def test_replicate_paths():
    from synthfer.fer.paths import prediction_paths, synthetic_inputs

    assert prediction_paths("synthetic_random", ["01", "02"], ["d0r0", "d1r0"]) == [
        "results/fer/synthetic_random/fold_01/rep_d0r0/predictions.csv",
        "results/fer/synthetic_random/fold_01/rep_d1r0/predictions.csv",
        "results/fer/synthetic_random/fold_02/rep_d0r0/predictions.csv",
        "results/fer/synthetic_random/fold_02/rep_d1r0/predictions.csv",
    ]
    assert synthetic_inputs("real_only", "01", "r0") == {}
    assert synthetic_inputs("synthetic_pseudo", "04", "r1")["syn_labels"] == (
        "results/annotations/synthetic_pseudo/fold_04/rep_r1/labels.csv"
    )
    assert synthetic_inputs("synthetic_random", "04", "d1r0")["syn_names"] == (
        "results/annotations/synthetic_random/d1/image_names.txt"
    )
