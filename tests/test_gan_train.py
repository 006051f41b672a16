"""Training loop: learning on a simple data set, ADA p, exact resume after a kill, time budget/signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synthfer.gan.api import load_generator, read_checkpoint, synthesize  # noqa: E402
from synthfer.gan.checkpoint import list_snapshots  # noqa: E402
from synthfer.gan.dataset import build_dataset_zip, load_dataset  # noqa: E402
from synthfer.gan.train import TrainingIncomplete, train_gan  # noqa: E402
from synthfer.imaging import save_png  # noqa: E402

torch.set_num_threads(1)  # the CI machine's cores are shared; one thread also keeps CPU results bitwise stable
REPO = Path(__file__).resolve().parents[1]
TINY = dict(z_dim=32, w_dim=32, channel_base=256, channel_max=32, batch=8, grid_size=8, mirror=False)


def _make_crops(folder: Path, n: int, size: int = 32, seed: int = 0) -> Path:
    """Simple faces-like data: a bright disc with two dark 'eyes' on a random plain background."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        im = np.empty((size, size, 3), np.float32)
        im[:] = rng.uniform(0, 80, 3)
        cx, cy = 0.5 + rng.uniform(-0.05, 0.05, 2)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < 0.09
        im[disc] = rng.uniform(170, 240, 3)
        for ex in (cx - 0.12, cx + 0.12):
            im[(xx - ex) ** 2 + (yy - cy + 0.05) ** 2 < 0.004] = 20
        save_png(folder / f"face_{i:03d}.png", im.astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("gan_data")
    _make_crops(d / "crops", 24)
    build_dataset_zip(d / "crops", d / "dataset.zip", resolution=16)
    return d / "dataset.zip"


def test_dataset_zip_format(dataset):
    import zipfile

    with zipfile.ZipFile(dataset) as zf:
        names = zf.namelist()
        assert "00000/img00000000.png" in names and "00000/img00000023.png" in names
        assert json.loads(zf.read("dataset.json")) == {"labels": None}
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert json.loads(zf.read("synthfer.json"))["sources"]["00000/img00000000.png"] == "face_000.png"
    x = load_dataset(dataset)
    assert x.shape == (24, 3, 16, 16) and x.dtype == np.uint8


def test_dataset_zip_is_byte_reproducible(dataset, tmp_path):
    import time

    time.sleep(2.1)  # ZIP timestamps have 2-second resolution: a rebuild must not depend on the clock
    again = tmp_path / "again.zip"
    build_dataset_zip(dataset.parent / "crops", again, resolution=16)
    assert again.read_bytes() == dataset.read_bytes()


def _state_equal(a: dict, b: dict) -> list[str]:
    bad = []
    for key in ("G", "D", "G_ema"):
        for k in a[key]:
            if not torch.equal(a[key][k], b[key][k]):
                bad.append(f"{key}.{k}")
    for key in ("opt_G", "opt_D"):
        for i, st in a[key]["state"].items():
            for n, v in st.items():
                if torch.is_tensor(v) and not torch.equal(v, b[key]["state"][i][n]):
                    bad.append(f"{key}.{i}.{n}")
    for key in ("augment_p", "cur_nimg", "batch_idx", "sampler", "ada"):
        if a[key] != b[key]:
            bad.append(key)
    if not torch.equal(a["pl_mean"], b["pl_mean"]) or not torch.equal(a["rng_cpu"], b["rng_cpu"]):
        bad.append("pl_mean/rng")
    return bad


def _train_in_subprocess(dataset, run, opts, extra=""):
    code = (
        "import sys, time, torch; torch.set_num_threads(1)\n"
        "from synthfer.logs import log_to; log_to(None)\n"
        "from synthfer.gan import train\n"
        "step = train.Trainer.step\n"
        # Slow the loop down (outside the computation) so the kill lands mid-run.
        "def slow(self):\n    step(self); time.sleep(0.05)\n"
        "train.Trainer.step = slow\n"
        f"{extra}"
        f"train.train_gan({str(dataset)!r}, {str(run)!r}, {str(run / 'final.pt')!r}, {str(run / 'log.jsonl')!r}, "
        f"{opts!r}, device='cpu')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)


def _wait_for_snapshot(proc, run: Path, timeout=120):
    t0 = time.time()
    while not list_snapshots(run / "snapshots"):
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() - t0 < timeout, "no snapshot written"
        time.sleep(0.02)


def test_exact_resume_after_kill(dataset, tmp_path):
    opts = dict(TINY, total_kimg=0.256, kimg_per_tick=0.064, snapshot_ticks=1)
    ref = tmp_path / "ref"
    train_gan(dataset, ref, ref / "final.pt", ref / "log.jsonl", opts, device="cpu")
    ref_state = read_checkpoint(list_snapshots(ref / "snapshots")[-1][1])

    run = tmp_path / "killed"
    proc = _train_in_subprocess(dataset, run, opts)
    _wait_for_snapshot(proc, run)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "final.pt").exists(), "the run finished before it could be killed"
    resumed_from = list_snapshots(run / "snapshots")[-1][1]
    assert read_checkpoint(resumed_from)["cur_nimg"] < 256
    train_gan(dataset, run, run / "final.pt", run / "log.jsonl", opts, device="cpu")
    got = read_checkpoint(list_snapshots(run / "snapshots")[-1][1])
    assert got["cur_nimg"] == ref_state["cur_nimg"] == 256
    assert _state_equal(ref_state, got) == []
    # The log is continuous: one row per tick, the same kimg column as the uninterrupted run.
    rows = [json.loads(s) for s in (run / "log.jsonl").read_text().splitlines()]
    ref_rows = [json.loads(s) for s in (ref / "log.jsonl").read_text().splitlines()]
    assert [r["kimg"] for r in rows] == [r["kimg"] for r in ref_rows] == [0.064, 0.128, 0.192, 0.256]
    assert [r["loss_G"] for r in rows] == [r["loss_G"] for r in ref_rows]
    G = load_generator(run / "final.pt", device="cpu")
    assert np.array_equal(synthesize(G, [1, 2]), synthesize(load_generator(ref / "final.pt", device="cpu"), [1, 2]))


def test_sigterm_writes_snapshot_and_exits_nonzero(dataset, tmp_path):
    opts = dict(TINY, total_kimg=10, kimg_per_tick=0.064, snapshot_ticks=100)
    run = tmp_path / "term"
    proc = _train_in_subprocess(dataset, run, opts)
    t0 = time.time()
    while not (run / "log.jsonl").exists():  # first tick done: the loop is running
        assert proc.poll() is None and time.time() - t0 < 120, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "TrainingIncomplete" in err and "signal SIGTERM" in err and "resume" in err
    snaps = list_snapshots(run / "snapshots")
    assert len(snaps) == 1 and not (run / "final.pt").exists()
    state = read_checkpoint(snaps[0][1])
    assert 64 <= state["cur_nimg"] < 10_000


def test_time_budget_stops_with_snapshot(dataset, tmp_path):
    opts = dict(TINY, total_kimg=10, kimg_per_tick=0.064, snapshot_ticks=100, time_margin_minutes=0)
    run = tmp_path / "budget"
    t0 = time.monotonic()
    with pytest.raises(TrainingIncomplete, match="time budget"):
        train_gan(dataset, run, run / "final.pt", run / "log.jsonl", opts, time_limit_s=4, device="cpu")
    assert time.monotonic() - t0 < 15
    ((kimg, path),) = list_snapshots(run / "snapshots")
    nimg = read_checkpoint(path)["cur_nimg"]
    # Raising the target resumes from there (total_kimg may change between runs; the rest may not).
    res = train_gan(dataset, run, run / "final.pt", run / "log.jsonl", {**opts, "total_kimg": (nimg + 16) / 1000},
                    device="cpu")  # fmt: skip
    assert res.status == "done" and res.kimg == (nimg + 16) / 1000 and (run / "final.pt").exists()
    with pytest.raises(ValueError, match="different configuration.*gamma"):
        train_gan(dataset, run, run / "final.pt", run / "log.jsonl", {**opts, "gamma": 5.0}, device="cpu")


def test_learning_on_simple_data(dataset, tmp_path):
    """A few hundred minibatches: losses stay finite, D separates, and G_ema's images move towards the data."""
    opts = dict(TINY, total_kimg=2.4, kimg_per_tick=0.4, snapshot_ticks=100, aug="noaug", style_mixing=0.0)
    run = tmp_path / "learn"
    reals = load_dataset(dataset).astype(np.float32)
    res = train_gan(dataset, run, run / "final.pt", run / "log.jsonl", opts, device="cpu")
    rows = [json.loads(s) for s in (run / "log.jsonl").read_text().splitlines()]
    assert res.status == "done" and len(rows) == 6
    for r in rows:
        assert all(np.isfinite(r[k]) for k in ("loss_G", "loss_D", "D_real", "D_fake"))
    first = read_checkpoint(run / "snapshots" / "network-snapshot-000002.pt")
    fakes = synthesize(load_generator(run / "final.pt", device="cpu"), range(64)).astype(np.float32)
    from synthfer.gan.api import build_generator

    G0 = build_generator(first["G_kwargs"])  # the same architecture, untrained
    G0.eval()
    init = synthesize(G0, range(64)).astype(np.float32)
    real_mean = reals.transpose(0, 2, 3, 1).mean(0)

    def err(x):
        return float(np.abs(x.mean(0) - real_mean).mean())

    assert err(fakes) < 0.5 * err(init), (err(fakes), err(init))
    assert rows[-1]["D_real"] > rows[-1]["D_fake"]


def test_ada_p_rises_when_d_overfits(tmp_path):
    d = tmp_path
    _make_crops(d / "crops", 8, seed=3)
    build_dataset_zip(d / "crops", d / "ds.zip", resolution=16)
    # ada_kimg=2: p may move by 1 in 2 kimg (500 in real training) so the test sees it within 0.8 kimg.
    opts = dict(TINY, total_kimg=0.8, kimg_per_tick=0.2, snapshot_ticks=100, ada_kimg=2.0)
    train_gan(d / "ds.zip", d / "run", d / "final.pt", d / "log.jsonl", opts, device="cpu")
    rows = [json.loads(s) for s in (d / "log.jsonl").read_text().splitlines()]
    assert np.mean([r["r_t"] for r in rows]) > 0.6  # D is confidently right on the 8 reals
    ps = [r["augment_p"] for r in rows]
    assert ps[-1] > 0.15 and ps == sorted(ps[:3]) + ps[3:]  # p rises from 0 while r_t > target


def test_slurm_time_budget(monkeypatch):
    from synthfer.gan import time_budget

    assert time_budget.parse_slurm_duration("1-02:03:04") == 93784
    assert time_budget.parse_slurm_duration("02:03:04") == 7384
    assert time_budget.parse_slurm_duration("03:04") == 184
    assert time_budget.parse_slurm_duration("UNLIMITED") is None
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert time_budget.time_budget_s(None, 60) is None  # local run: no limit even if the rule declares a runtime
    assert time_budget.time_budget_s(30, 60) == 1800
    monkeypatch.setenv("SLURM_JOB_ID", "123")
    monkeypatch.setattr(time_budget, "slurm_time_left_s", lambda: None)
    assert time_budget.time_budget_s(None, 60) == 3600
    monkeypatch.setattr(time_budget, "slurm_time_left_s", lambda: 1000.0)
    assert time_budget.time_budget_s(None, 60) == 1000.0


def test_train_rule_outputs(dataset, tmp_path):
    from synthfer.gan.train import train_rule
    from synthfer.imaging import load_rgb

    run = tmp_path / "gan"
    opts = dict(TINY, total_kimg=0.032, kimg_per_tick=0.016, snapshot_ticks=1)
    res = train_rule(dataset, run, run / "network-final.pt", run / "training_log.jsonl", run / "fakes-final.png",
                     opts, threads=1, device="cpu")  # fmt: skip
    assert res.status == "done"
    grid = load_rgb(run / "fakes-final.png")
    assert grid.shape == (16, 8 * 16, 3)  # 8 seeds, 8 columns of 16² tiles
    final = read_checkpoint(run / "network-final.pt")
    assert final["kind"] == "generator" and final["kimg"] == 0.032 and final["config"]["gamma"] == pytest.approx(0.0064)
    rows = [json.loads(s) for s in (run / "training_log.jsonl").read_text().splitlines()]
    assert [r["tick"] for r in rows] == [0, 1]
    assert set(rows[0]) >= {"kimg", "time_s", "sec_per_kimg", "loss_G", "loss_D", "r1_penalty", "pl_penalty",
                            "augment_p", "r_t", "peak_mem_mb", "device"}  # fmt: skip
    assert rows[0]["r1_penalty"] is not None and rows[0]["pl_penalty"] is not None


def test_ada_counts_the_real_logits_of_the_r1_phase_too():
    """r_t = E[sign(D(real))] over every real logit since the last p update: the D-main phase's and, in the
    minibatches with lazy R1, the R1 phase's (the official code reports Loss/signs/real in both)."""
    from synthfer.gan.options import resolve_config
    from synthfer.gan.train import Trainer

    cfg = resolve_config(dict(TINY, r1_interval=2, ada_interval=8), resolution=16, num_images=8)
    images = np.random.RandomState(0).randint(0, 256, (8, 3, 16, 16), dtype=np.uint8)
    trainer = Trainer(cfg, images, torch.device("cpu"))
    counts = []
    for _ in range(3):
        trainer.step()
        counts.append(trainer.ada.count)
    assert counts == [16, 24, 40]  # batch 8: with R1 (batch 0, 2) 16 logits, without 8
