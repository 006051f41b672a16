"""`synthfer changes`: what the next run would re-run, exactly (synthfer.changes).

The workflow test runs the real config validation (rules/common.smk) and the real iqa + select rules
in a temporary working directory on a few prepared images, then asks what a run would re-run: nothing
after the run, nothing after reordering the config, exactly the selection after a threshold change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthfer.changes import (
    PlannedJob,
    changed_outputs,
    format_report,
    parse_dry_run,
    planned_jobs,
    sort_mapping_keys,
)
from synthfer.imaging import save_png

REPO = Path(__file__).resolve().parents[1]

# Shaped like Snakemake 9.27's dry-run printout (stdout), trimmed.
DRY_RUN = """\
Building DAG of jobs...
Job stats:
job       count
------  -------
select        1
total         3

[Mon Nov 30 10:39:11 2026]
localrule select:
    input: results/iqa/scores/batch_0000.parquet, results/synthetic/manifest.csv
    output: results/select/selected.csv, results/select/rejected.csv, results/select/selected.json
    log: logs/select/select.log
    jobid: 1
    benchmark: benchmarks/rules/select/select.tsv
    reason: Params have changed since last execution: Union of exclusive params before and now across all output: before: {'psnr': {'min': 5.0}} now: {'psnr': {'min': 6.0}}
    resources: tmpdir=/tmp
Shell command: None
[Mon Nov 30 10:39:11 2026]
rule fid_kid:
    input: results/select/selected.csv
    output: results/select/fid_kid_dlib.csv, results/select/fid_kid_dlib.json
    jobid: 2
    reason: Input files updated by another job: results/select/selected.csv
    wildcards: extractor=dlib
    resources: tmpdir=/tmp
[Mon Nov 30 10:39:11 2026]
checkpoint iqa_batches:
    input: results/synthetic/manifest.csv
    output: results/iqa/batches.csv, results/iqa/batches.json
    jobid: 4
    reason: Missing output files: results/iqa/batches.csv; Params have changed since last execution: Union of exclusive params before and now across all output: before: 4 now: 8
    resources: tmpdir=/tmp
[Mon Nov 30 10:39:11 2026]
localrule all:
    input: results/select/selected.csv
    jobid: 0
    reason: Input files updated by another job: results/select/selected.csv
    resources: tmpdir=/tmp
Job stats:
This was a dry-run (flag -n). The order of jobs does not reflect the order of execution.
"""


def test_parse_dry_run_jobs_outputs_and_reasons():
    jobs = parse_dry_run(DRY_RUN)
    assert [j.rule for j in jobs] == ["select", "fid_kid", "iqa_batches", "all"]
    select, fid_kid, batches, target = jobs
    assert select.outputs == ("results/select/selected.csv", "results/select/rejected.csv", "results/select/selected.json")
    assert select.triggers == ("params changed",) and not select.is_downstream
    assert "before: {'psnr': {'min': 5.0}} now: {'psnr': {'min': 6.0}}" in select.describe_reason()
    assert "Union of exclusive" not in select.describe_reason()
    assert fid_kid.is_downstream and fid_kid.wildcards == "extractor=dlib"
    assert batches.checkpoint and batches.triggers == ("missing output", "params changed")
    assert target.outputs == ()
    assert changed_outputs(jobs) == [
        *select.outputs,
        "results/select/fid_kid_dlib.csv",
        "results/select/fid_kid_dlib.json",
        "results/iqa/batches.csv",
        "results/iqa/batches.json",
    ]
    text = format_report(jobs)
    assert "3 job(s) would run: 2 because of a change or a missing output, 1 because they read" in text
    assert text.index("select:") < text.index("Downstream:") < text.index("fid_kid (extractor=dlib):")
    assert "iqa_batches is a checkpoint" in text


def test_parse_dry_run_nothing_and_garbage():
    assert parse_dry_run("Building DAG of jobs...\nNothing to be done (all requested files are present and up to date).\n") == []
    assert format_report([]).startswith("Nothing would run")
    assert format_report([PlannedJob("all", (), "Input files updated by another job: x")]).startswith("Nothing would run")
    with pytest.raises(ValueError, match="neither jobs nor"):
        parse_dry_run("Building DAG of jobs...\nJob stats:\n")


def test_sort_mapping_keys_makes_equal_configs_equal_params():
    a = {"gan": {"mirror": True, "batch": 16, "snapshot_fid": {"images": 100, "enabled": True}}, "seed": 1}
    b = {"seed": 1, "gan": {"snapshot_fid": {"enabled": True, "images": 100}, "batch": 16, "mirror": True}}
    assert a == b and repr(a) != repr(b)  # what Snakemake stores for a param is its repr
    inner = a["gan"]
    assert sort_mapping_keys(a) is a and a["gan"] is inner  # in place: the Snakefile's config object stays
    sort_mapping_keys(b)
    assert repr(a) == repr(b) == (
        "{'gan': {'batch': 16, 'mirror': True, 'snapshot_fid': {'enabled': True, 'images': 100}}, 'seed': 1}"
    )
    lists = {"x": [3, 1, {"b": 1, "a": 2}]}
    assert repr(sort_mapping_keys(lists)) == "{'x': [3, 1, {'a': 2, 'b': 1}]}"  # list order is meaning: kept


def test_cli_lists_command():
    from synthfer.cli import build_parser

    args = build_parser().parse_args(["changes", "--files", "--", "--configfile", "config/demo.yaml", "all"])
    assert args.files and args.snakemake_args == ["--configfile", "config/demo.yaml", "all"]


# ---- a small real workflow -------------------------------------------------------------------------

SNAKEFILE = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
configfile: "config.yaml"
include: {str(REPO / "rules" / "common.smk")!r}
include: {str(REPO / "rules" / "iqa_common.smk")!r}
include: {str(REPO / "rules" / "iqa.smk")!r}
include: {str(REPO / "rules" / "select.smk")!r}
rule all:
    input: rules.select.output
"""

# Keys left out take the schema's defaults (validated by rules/common.smk, as in a real run).
CONFIG = {
    "seed": 5,
    "real_images": {"folder": "results/faces/real"},  # prepared below (results/ paths are not checked)
    "gan": {"resolution": 32},  # the references are made at the GAN's resolution, the size of the images below
    "fer": {"enabled": False},  # no FER data here: with FER on, check_config stops at the missing DISFA folder
    "iqa": {
        "batch_size": 4,
        "nearest_size": 8,
        "device": "cpu",
        "threads": 1,
        "fid": {"extractor": "dlib"},
        "svr": {"blur_sigma": [0.8], "noise_sigma": [8], "jpeg_quality": [20], "train_fraction": 0.5},
    },
    "select": {
        "keep": 2,
        "metrics": ["psnr", "ssim", "svr_severity"],
        "thresholds": {"psnr": {"min": 5.0}, "ssim": {"min": -1.0}},
    },
}
SELECT_OUTPUTS = ["results/select/selected.csv", "results/select/rejected.csv", "results/select/selected.json"]


def _write_config(wd: Path, config: dict) -> None:
    (wd / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def tiny_run(faces_data, tmp_path_factory) -> Path:
    from PIL import Image

    wd = tmp_path_factory.mktemp("changes")
    (wd / "Snakefile").write_text(SNAKEFILE)
    (wd / "config").mkdir()
    (wd / "config" / "schema").symlink_to(REPO / "config" / "schema")  # common.smk reads it beside the Snakefile
    _write_config(wd, CONFIG)
    for f in sorted((faces_data / "london" / "neutral").glob("*.jpg"))[:6]:
        with Image.open(f) as im:
            save_png(wd / "results/faces/real" / f"{f.stem}.png", np.asarray(im.convert("RGB").resize((128, 128))))
    rows = []
    for i, f in enumerate(sorted((faces_data / "london" / "smiling").glob("*.jpg"))[:8]):
        with Image.open(f) as im:
            save_png(wd / "results/synthetic/raw" / f"{i}_{i:06d}.png", np.asarray(im.convert("RGB").resize((32, 32))))
        rows.append({"name": f"{i}_{i:06d}", "file": f"raw/{i}_{i:06d}.png", "face_ok": True, "face_reason": ""})
    man = pd.DataFrame(rows)
    for c in ("AU1", "AU4", "AU5", "AU6", "AU12", "AU15", "neutral"):
        man[c] = [(i + len(c)) % 2 for i in range(len(man))]
    man.to_csv(wd / "results/synthetic/manifest.csv", index=False)
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=wd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (wd / "results/select/selected.csv").is_file()
    return wd


@pytest.mark.workflow
@pytest.mark.slow
def test_nothing_changed_lists_nothing(tiny_run):
    assert planned_jobs(cwd=tiny_run) == []


@pytest.mark.workflow
@pytest.mark.slow
def test_reordered_config_and_written_defaults_rerun_nothing(tiny_run):
    """Equal configs give equal params: keys in another order, a default written down explicitly."""
    reordered = {
        "select": {
            "method": "rank_mean",  # the schema default, now written first (validation appended it before)
            "thresholds": {"ssim": {"min": -1.0}, "psnr": {"min": 5.0}},
            "metrics": ["psnr", "ssim", "svr_severity"],
            "keep": 2,
        },
        "iqa": dict(reversed(list(CONFIG["iqa"].items()))),
        "real_images": CONFIG["real_images"],
        "gan": CONFIG["gan"],
        "fer": CONFIG["fer"],
        "seed": 5,
    }
    try:
        _write_config(tiny_run, reordered)
        assert planned_jobs(cwd=tiny_run) == []
    finally:
        _write_config(tiny_run, CONFIG)


@pytest.mark.workflow
@pytest.mark.slow
def test_one_threshold_lists_exactly_the_selection(tiny_run):
    changed = {**CONFIG, "select": {**CONFIG["select"], "thresholds": {"psnr": {"min": 6.0}, "ssim": {"min": -1.0}}}}
    try:
        _write_config(tiny_run, changed)
        jobs = [job for job in planned_jobs(cwd=tiny_run) if job.outputs]
        assert [(job.rule, job.triggers) for job in jobs] == [("select", ("params changed",))]
        assert "'min': 5.0" in jobs[0].reason and "'min': 6.0" in jobs[0].reason
        assert sorted(changed_outputs(jobs)) == sorted(SELECT_OUTPUTS)
        # the same through the command line, as a user runs it
        res = subprocess.run(
            [sys.executable, "-m", "synthfer.cli", "changes", "--files"],
            cwd=tiny_run,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert res.returncode == 0, res.stderr[-3000:]
        assert sorted(res.stdout.split()) == sorted(SELECT_OUTPUTS)
    finally:
        _write_config(tiny_run, CONFIG)
