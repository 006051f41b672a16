"""Issue 19, item 3: a job records which device it computes on, and warns when it was given a GPU (Slurm's
CUDA_VISIBLE_DEVICES / SLURM_* GPU variables) but runs on the CPU. Torch jobs report through pick_device, Keras
(FER) jobs through use_backend. This machine has no GPU, so "given a GPU" is simulated with the variables Slurm
sets (the real-Slurm test sees the same on its fake GPU)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthfer import runtime

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(runtime, "_REPORTED", set())
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_GPUS_ON_NODE", "SLURM_JOB_GPUS", "SLURM_STEP_GPUS"):
        monkeypatch.delenv(var, raising=False)


def test_gpu_allocation_reads_what_slurm_sets():
    assert runtime.gpu_allocation({}) is None
    assert runtime.gpu_allocation({"CUDA_VISIBLE_DEVICES": ""}) is None
    assert runtime.gpu_allocation({"CUDA_VISIBLE_DEVICES": "-1"}) is None
    assert runtime.gpu_allocation({"CUDA_VISIBLE_DEVICES": "0"}) == "CUDA_VISIBLE_DEVICES=0"
    assert runtime.gpu_allocation({"SLURM_GPUS_ON_NODE": "1"}) == "SLURM_GPUS_ON_NODE=1"
    assert runtime.gpu_allocation({"SLURM_GPUS_ON_NODE": "0"}) is None


def test_a_gpu_job_on_the_cpu_logs_its_device_and_warns(monkeypatch, caplog):
    pytest.importorskip("torch")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with caplog.at_level(logging.INFO, logger="synthfer"):
        dev = runtime.pick_device(None)
    assert dev.type == "cpu"
    text = caplog.text
    assert "device: cpu" in text and "GPU allocated: CUDA_VISIBLE_DEVICES=0" in text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "was given a GPU (CUDA_VISIBLE_DEVICES=0) but runs on the CPU" in warnings[0].message


def test_a_cpu_job_logs_its_device_without_warning(caplog):
    pytest.importorskip("torch")
    with caplog.at_level(logging.INFO, logger="synthfer"):
        runtime.pick_device("cpu")
        runtime.pick_device("cpu")  # once per device, not per call
    assert caplog.text.count("device: cpu") == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_keras_gpu_job_on_the_cpu_warns(tmp_path):
    """The FER jobs (fer_fold, fer_predict, annotate_pseudo_predict) choose their device through Keras."""
    pytest.importorskip("keras")
    pytest.importorskip("torch")
    code = (
        "import logging; logging.basicConfig(level=logging.INFO)\n"
        "import torch; torch.cuda.is_available = lambda: False\n"
        "from synthfer.fer.backend import use_backend\n"
        "use_backend('torch', 1)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "0", "KERAS_BACKEND": "torch"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "device: cpu (Keras backend torch)" in res.stderr
    assert "was given a GPU (CUDA_VISIBLE_DEVICES=0) but runs on the CPU" in res.stderr
