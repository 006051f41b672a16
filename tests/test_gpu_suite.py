"""benchmarks/gpu_suite.py: the table logic, the official training log parser, and its dry mode (CPU, tiny sizes,
every section's code path in its own process; the official code is absent here, so its sections are skipped)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "gpu_suite.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("gpu_suite", SUITE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Two status lines as the official training loop prints them (format of its training_loop.py).
OFFICIAL_LOG = """\
Training for 1000 kimg...

tick 0     kimg 0.0      time 59s          sec/tick 6.2     sec/kimg 3091.67 maintenance 53.3   cpumem 0.58   gpumem 1.25   augment 0.200
tick 1     kimg 0.5      time 1m 08s       sec/tick 9.0     sec/kimg 17.58   maintenance 0.0    cpumem 0.58   gpumem 4.50   augment 0.200
tick 2     kimg 1.0      time 1m 18s       sec/tick 4.1     sec/kimg 8.01    maintenance 0.0    cpumem 0.59   gpumem 4.75   augment 0.201
tick 3     kimg 1.5      time 1m 22s       sec/tick 4.0     sec/kimg 7.81    maintenance 0.0    cpumem 0.59   gpumem 4.75   augment 0.201

Aborting...
"""


def test_official_ticks_parsed_and_warmup_tick_excluded(suite, tmp_path):
    ticks = suite._parse_ticks(OFFICIAL_LOG)
    assert [t["tick"] for t in ticks] == [0, 1, 2, 3]
    assert ticks[2]["sec_per_kimg"] == 8.01 and ticks[3]["gpumem_gib"] == 4.75 and ticks[0]["augment"] == 0.2
    c = suite.Child(dict(P=suite.FULL, work=str(tmp_path), result=str(tmp_path / "r.json"), deadline=0, dry=True))
    suite._report_ticks(c, ticks)
    # Steady state = median of ticks >= 2: tick 0 (one minibatch) and tick 1 (warm-up) are left out.
    assert c.fig["sec_per_kimg"] == pytest.approx((8.01 + 7.81) / 2)
    assert c.fig["steady_ticks"] == 2 and c.fig["peak_gpu_mem_gib"] == 4.75
    assert json.loads((tmp_path / "r.json").read_text())["sec_per_kimg"] == c.fig["sec_per_kimg"]


def test_table_ratios_are_speed_of_ours_over_official(suite):
    S = {
        "train_mixed": {"status": "ok", "sec_per_kimg": 4.0, "peak_gpu_mem_gib": 3.5},
        "train_fp32": {"status": "timeout after 60 s (cap 60 s)"},
        "official_train": {"status": "ok", "mode": "loop", "sec_per_kimg": 6.0, "custom_ops": True,
                           "steady_ticks": 5, "kimg_per_tick": 0.512},
        "generate": {"status": "ok", "images_per_s_mixed": 2000.0, "images_per_s_fp32": 900.0},
        "official_generate": {"status": "ok", "images_per_s_mixed": 1600.0, "images_per_s_fp32": 1200.0,
                              "max_abs_diff_vs_ours_fp32": 1, "mean_abs_diff_vs_ours_fp32": 0.01, "custom_ops": True},
        "iqa": {"status": "ok", "minutes_per_100k": 1.5, "max_abs_diff_fr": 3e-12},
        "fer_tensorflow": {"status": "skipped: tensorflow not installed"},
    }  # fmt: skip
    rows = {r["figure"]: r for r in suite.table_rows(S, suite.FULL)}
    mixed = rows["ours, mixed precision (bf16, 4 blocks): the default"]
    assert (mixed["ours"], mixed["official"], mixed["ratio"]) == ("4.00", "6.00", "1.50")  # 6 / 4: ours faster
    assert mixed["notes"] == "peak 3.5 GiB"
    fp32 = rows["ours, fp32 (TF32 on)"]
    assert fp32["ours"] == "" and fp32["ratio"] == "" and fp32["status"].startswith("timeout")
    gen = rows["mapping + synthesis, mixed precision (ours bf16, official fp16)"]
    assert (gen["ours"], gen["official"], gen["ratio"]) == ("2,000", "1,600", "1.25")
    assert rows["mapping + synthesis, fp32"]["ratio"] == "0.75"
    assert "max |official − ours| 1 uint8 levels" in rows["mapping + synthesis, fp32"]["notes"]
    assert rows["100,000 images, extrapolated from the parallel jobs"]["ours"] == "1.50"
    assert rows["Keras 3, KERAS_BACKEND=tensorflow"]["status"] == "not available on this machine"
    md = suite.markdown(suite.table_rows(S, suite.FULL), {"mode": "full"})
    assert "| ours, mixed precision (bf16, 4 blocks): the default | sec/kimg | 4.00 | 6.00 | 1.50 |" in md
    assert "|official − ours|" not in md  # a pipe inside a cell would break the Markdown table


def test_textures_deterministic_natural_range(suite):
    a, b = suite.textures(3, 32, seed=5), suite.textures(3, 32, seed=5)
    assert a.shape == (3, 32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert 20 < a.std() < 90 and not np.array_equal(a[0], a[1])


@pytest.mark.slow
def test_dry_run_every_section_path_on_cpu(tmp_path):
    """The suite's dry mode runs the GAN training, generation (eager and under torch.compile's graph capture) and
    IQA sections (CPU, tiny sizes) in child processes and writes the table; without an official copy its sections
    are skipped, not failed."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STYLEGAN2_ADA_OFFICIAL": ""}
    cmd = [sys.executable, str(SUITE), "--dry", "--out", str(out), "--budget", "900",
           "--sections", "env", "train_mixed", "generate", "iqa", "official_generate", "official_train",
           "generate_compile"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    S = res["sections"]
    assert S["env"]["status"] == "ok" and S["env"]["cuda_available"] in (True, False)
    tr = S["train_mixed"]
    assert tr["status"] == "ok", tr
    assert tr["sec_per_kimg"] > 0 and tr["losses_finite"] is True and tr["minibatches"] >= 2
    gen = S["generate"]
    assert gen["status"] == "ok", gen
    assert min(gen["images_per_s_mixed"], gen["images_per_s_fp32"], gen["images_per_s_shard"]) > 0
    gc = S["generate_compile"]
    assert gc["status"] == "ok" and gc["backend"] == "eager" and gc["images_per_s"] > 0, gc
    assert gc["max_abs_diff_vs_eager"] == 0  # dynamo's graph computes exactly the eager images
    iqa = S["iqa"]
    assert iqa["status"] == "ok", iqa
    assert iqa["accelerator"] == "cpu:0"  # the torch (accelerator) path of the metrics, run on the CPU
    assert iqa["compared_images"] == 4 and iqa["same_status"] is True
    assert iqa["max_abs_diff_fr"] < 1e-9 and iqa["max_abs_diff_brisque_svr"] == 0.0
    assert iqa["minutes_per_100k"] > 0 and iqa["cpu_one_job_images_per_s"] > 0
    for name in ("official_generate", "official_train"):
        assert S[name]["status"] == "skipped: no official code path given"
    rows = {r["figure"]: r for r in res["rows"]}
    assert float(rows["ours, mixed precision (bf16, 4 blocks): the default"]["ours"].replace(",", "")) > 0
    md = (out / "results.md").read_text()
    assert "| Figure | Unit | Ours | Official | Ratio | Goal | Status | Notes |" in md
    assert md in proc.stdout  # the table is printed last
    with open(out / "results.csv") as fh:
        assert fh.readline().startswith("group,figure,unit,ours,official,ratio")
    assert "train_mixed" in (out / "suite.log").read_text()
    with tarfile.open(out / "details.tar.gz") as tar:
        names = tar.getnames()
    assert "details/train_mixed.log" in names and "details/iqa.json" in names
    assert sorted(p.name for p in out.iterdir()) == [
        "details.tar.gz", "results.csv", "results.json", "results.md", "suite.log"
    ]  # fmt: skip  (at most 8 files come back from the GPU machine)


def test_official_row_says_when_the_phase_loop_replaced_the_training_loop(suite):
    S = {"official_train": {"status": "ok", "mode": "phases", "sec_per_kimg": 7.0, "loop_error": "RuntimeError: x"}}
    (row,) = [r for r in suite.table_rows(S, suite.FULL) if r["figure"].startswith("official")]
    assert row["figure"] == "official: its networks, AugmentPipe and loss in its phase loop"
    assert row["official"] == "7.00"
    assert row["notes"] == ("fp16 on 4 blocks, TF32 off (its defaults); "
                            "its training_loop failed (RuntimeError: x), so its phase loop was timed")  # fmt: skip


@pytest.mark.slow
def test_dry_run_train_phases_section(tmp_path):
    """Issue 21: the phase-timing section reports ms, ops and convolutions per phase, the first minibatch's time
    and the syncs per plain minibatch (0 on the CPU's dispatch count)."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STYLEGAN2_ADA_OFFICIAL": ""}
    cmd = [sys.executable, str(SUITE), "--dry", "--out", str(out), "--budget", "300", "--sections", "train_phases"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    S = json.loads((out / "results.json").read_text())["sections"]["train_phases"]
    assert S["status"] == "ok", S
    assert S["first_minibatch_s"] > 0 and S["syncs_per_plain_minibatch"] == 0
    for phase in ("Gmain", "Greg", "Dmain", "Dreg"):
        assert S[f"ms_{phase}"] > 0 and S[f"ops_{phase}"] > 0 and S[f"convs_{phase}"] > 0
    rows = {r["figure"]: r for r in json.loads((out / "results.json").read_text())["rows"]}
    assert rows["ours, ms per phase Gmain / Greg / Dmain / Dreg (mixed precision)"]["ours"].count("/") == 3
