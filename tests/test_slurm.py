"""The Slurm profile on a real Slurm cluster: a single-node cluster with a fake GPU built on this machine by
tests/slurm/cluster.sh (root; installs Debian's slurm-wlm and munge when missing).

A part of the demo — demo data, the faces shards, the GAN dataset and a short GAN training — runs through
`--profile profiles/slurm --profile profiles/slurm-test` (squeue instead of sacct), with profiles/default
auto-loaded as the workflow profile exactly as for a user, and,
for reference, locally with `--cores 2`. Checks: every cluster job went through sbatch with its rule in the job
comment; GPU rules asked for and were given a GPU and their processes saw CUDA_VISIBLE_DEVICES; the outputs
equal the local run's; a job that fails once is resubmitted and the run completes; GAN training cut by a short
time limit snapshots, fails, is resubmitted and resumes.

Marker ``slurm``. Skipped when not root or when Slurm cannot be installed here; under ``CI=true`` that is a
failure instead. About 6 minutes on 2 cores.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
SUBSET = REPO / "tests" / "slurm" / "subset.yaml"
IN_CI = os.environ.get("CI", "").lower() == "true"

# What the test asks for: real outputs of three phases (demo data, faces, GAN), and the test-only retry probe.
TARGETS = [
    "results/faces/real_manifest.csv",
    "results/faces/real",
    "results/gan/dataset.zip",
    "results/gan/network-final.pt",
]
# The local reference run stops before training (GAN training is not bit-identical across thread counts).
LOCAL_TARGETS = TARGETS[:3]
# The only change to profiles/slurm for the test run: a 2-minute time limit for GAN training.
GAN_TEST_RUNTIME = 2
PROBE_TARGET = "results/slurm_test/retry_probe.txt"
GPU_RULES = {"gan_train"}

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.workflow]


def _unavailable(reason: str):
    """No cluster possible here: skip locally, fail in CI (CI must not go green without this test)."""
    if IN_CI:
        pytest.fail(f"Slurm test cannot run under CI=true: {reason}")
    pytest.skip(reason)


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> dict:
    """A running single-node cluster; its daemons are stopped by PID afterwards, whatever happens."""
    _require_cluster_possible()
    folder = tmp_path_factory.mktemp("slurm-cluster")
    try:
        start = _run(["bash", CLUSTER, "start", folder], timeout=900)
        if start.returncode in (3, 4):  # cannot be made here / packages could not be installed
            _unavailable(start.stderr.strip()[-2000:])
        assert start.returncode == 0, f"cluster did not start:\n{start.stderr[-4000:]}"
        yield {"dir": folder, "conf": folder / "slurm.conf", "node": (folder / "nodename").read_text().strip()}
    finally:
        stop = _run(["bash", CLUSTER, "stop", folder], timeout=120)
        print(stop.stderr)
        for name in ("slurmctld.pid", "slurmd.pid"):
            pid_file = folder / name
            if pid_file.is_file() and pid_file.read_text().strip():
                assert not Path(f"/proc/{pid_file.read_text().strip()}").exists(), f"{name}: daemon still running"


def _require_cluster_possible() -> None:
    if os.geteuid() != 0:
        _unavailable("needs root to run slurmctld/slurmd/munged")
    check = _run(["bash", CLUSTER, "check"])
    if check.returncode != 0:
        _unavailable(check.stderr.strip() or f"cluster.sh check exited {check.returncode}")


def test_cluster_script_stops_its_daemons_when_the_command_fails(tmp_path):
    """`cluster.sh run DIR -- CMD`: CMD sees a working cluster; a failing CMD still stops every daemon the
    script started (by PID) and removes its /etc/slurm links; CMD's exit status is passed on.
    (Runs before the module's cluster starts: one cluster at a time.)"""
    _require_cluster_possible()
    folder = tmp_path / "c"
    run = _run(["bash", CLUSTER, "run", folder, "--", "bash", "-c", "sinfo -h -o '%P %G %T'; exit 7"], timeout=900)
    if run.returncode in (3, 4):
        _unavailable(run.stderr.strip()[-2000:])
    assert run.returncode == 7, run.stderr[-3000:]
    assert "gpu gpu:1 idle" in run.stdout and "cpu* gpu:1 idle" in run.stdout, run.stdout
    started = (folder / "daemons.pid").read_text()  # emptied by stop; the log names what was stopped
    assert started == ""
    stopped = dict(re.findall(r"stopped (\w+) \((\d+)\)", run.stderr))
    assert {"slurmd", "slurmctld"} <= set(stopped), run.stderr[-2000:]
    for name, pid in stopped.items():
        assert not Path(f"/proc/{pid}").exists(), f"{name} ({pid}) still running"
    for link in ("/etc/slurm/slurm.conf", "/etc/slurm/gres.conf"):
        assert not Path(link).is_symlink() or not os.readlink(link).startswith(str(folder)), link


def _copy_checkout(dest: Path) -> Path:
    """The checkout's files (tracked + new, not ignored) without results/logs: a clean working copy."""
    out = _run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO)
    assert out.returncode == 0, out.stderr
    for rel in out.stdout.splitlines():
        if not rel or rel.startswith(".venv") or not (REPO / rel).is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return dest


def _config_args() -> list[str]:
    """Last on the command line: --configfile takes every following word as a config file."""
    return ["--configfile", "config/demo.yaml", str(SUBSET)]


def _env(extra: dict | None = None) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Jobs inherit the submitting environment (sbatch --export=ALL): put this Python's tools first on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory) -> dict:
    work = _copy_checkout(tmp_path_factory.mktemp("slurm-run"))
    # The test's own Snakefile: the real workflow plus the test-only retry probe.
    (work / "Snakefile.slurmtest").write_text('include: "Snakefile"\ninclude: "tests/slurm/retry_probe.smk"\n')
    # profiles/slurm with a short GAN time limit (a command-line --set-resources would replace the profile's
    # whole set-resources, so the test writes a copy instead).
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    profile["set-resources"]["gan_train"]["runtime"] = GAN_TEST_RUNTIME
    (work / "profiles" / "slurm-short").mkdir(parents=True)
    (work / "profiles" / "slurm-short" / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", "Snakefile.slurmtest",
        *TARGETS, PROBE_TARGET, "--profile", "profiles/slurm-short", "--profile", "profiles/slurm-test",
        *_config_args(),
    ]  # fmt: skip
    # As a user composes it: the general profile, and profiles/default auto-loaded as the workflow profile (it
    # wins key by key); the test cluster's differences are a second general profile layered on the first.
    t0 = time.monotonic()
    run = subprocess.run(
        cmd, cwd=work, env=_env({"SLURM_CONF": str(cluster["conf"])}), capture_output=True, text=True, timeout=900
    )
    seconds = time.monotonic() - t0
    log = run.stdout + run.stderr
    (REPO / "logs").mkdir(exist_ok=True)
    (REPO / "logs" / "test_slurm.log").write_text(log)
    assert run.returncode == 0, log[-8000:]
    assert "workflow specific profile profiles/default" in log, log[:3000]
    print(f"slurm run: {seconds:.0f} s")
    return {"work": work, "log": log, "seconds": seconds, "cluster": cluster, "profile": profile}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    work = _copy_checkout(tmp_path_factory.mktemp("local-run"))
    cmd = [sys.executable, "-m", "snakemake", *LOCAL_TARGETS, "--cores", "2", *_config_args()]
    run = subprocess.run(cmd, cwd=work, env=_env(), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    return work


def _jobs(cluster: dict) -> dict[str, dict]:
    """Every job the cluster has seen (MinJobAge keeps finished ones), by job id: scontrol's fields."""
    out = _run(["scontrol", "show", "job", "--oneliner"], env=_env({"SLURM_CONF": str(cluster["conf"])}))
    assert out.returncode == 0, out.stderr
    jobs = {}
    for line in out.stdout.splitlines():
        fields = dict(re.findall(r"(\w[\w/:]*)=(\S*)", line))
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def _submitted(log: str) -> dict[str, str]:
    """Snakemake's own record: SLURM job id -> the rule it ran."""
    subs = {}
    for m in re.finditer(r"has been submitted with SLURM jobid (\d+) \(log: [^)]*/rule_(\w+?)(?:/|\))", log):
        subs[m.group(1)] = m.group(2)
    return subs


def _own_lines(log: str) -> str:
    """The submitting Snakemake's own output, without the failed jobs' logs it quotes (show-failed-logs):
    those hold the job-side Snakemake's output, where every rule is a 'localrule'."""
    return re.sub(r"^Logfile [^\n]*:\n(=+)\n.*?^\1\n", "", log, flags=re.M | re.S)


def _job_stats(log: str) -> dict[str, int]:
    table = log[log.index("Job stats:") :].split("\n\n")[0]
    rows = re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)
    return {rule: int(n) for rule, n in rows if rule != "total"}


def test_every_cluster_job_went_through_sbatch(slurm_run):
    log = slurm_run["log"]
    jobs = _jobs(slurm_run["cluster"])
    submitted = _submitted(log)
    assert submitted, "no job was submitted to Slurm"
    # Snakemake's plan (its first "Job stats" table): every job of a non-local rule was submitted once
    # (the retry probe twice); local rules ran on the submit host and were never submitted.
    planned = _job_stats(log)
    local = set(re.findall(r"^localrule (\w+):", _own_lines(log), flags=re.M))
    sub_counts = {rule: list(submitted.values()).count(rule) for rule in set(submitted.values())}
    retried = {"slurm_retry_probe": 1, "gan_train": sub_counts.get("gan_train", 1) - 1}  # checked below
    expected = {rule: n + retried.get(rule, 0) for rule, n in planned.items() if rule not in local}
    assert sub_counts == expected, f"submitted {sub_counts}, planned {planned}, local {local}"
    assert "faces_real_shard" in expected and "demo_data" in local
    # ...and Slurm knows each submitted job, with the rule in its comment (how the plugin tags jobs).
    for jobid, rule in submitted.items():
        assert jobid in jobs, f"Slurm has no job {jobid}"
        assert jobs[jobid]["Comment"].startswith(f"rule_{rule}"), jobs[jobid]["Comment"]
    # The faces shards ran as separate cluster jobs (sharding works on the cluster).
    assert (
        list(submitted.values()).count("faces_real_shard")
        == yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["faces"]["shards"]
    )


def test_cluster_jobs_got_the_profiles_resources(slurm_run):
    jobs = _jobs(slurm_run["cluster"])
    profile = slurm_run["profile"]
    for jobid, rule in _submitted(slurm_run["log"]).items():
        job = jobs[jobid]
        want = profile["set-resources"].get(rule, {})
        if "mem_mb" in want:  # "N * attempt": every job here that has a profile entry ran on its first attempt
            mem = eval(str(want["mem_mb"]), {"attempt": 1})
            assert job["MinMemoryNode"] == f"{mem}M", (rule, job["MinMemoryNode"])
        if "runtime" in want:
            minutes = want["runtime"]
            assert job["TimeLimit"] == (f"{minutes // 1440}-" if minutes >= 1440 else "") + (
                f"{minutes % 1440 // 60:02d}:{minutes % 60:02d}:00"
            ), (rule, job["TimeLimit"])
        threads = profile["set-threads"].get(rule)
        if threads:
            # sbatch --cpus-per-task: the profile's threads, not the submitting machine's cores (issue 19)
            assert job["CPUs/Task"] == str(threads), (rule, job["CPUs/Task"])
            assert job["NumCPUs"] == str(threads), (rule, job["NumCPUs"])
        if "gpu" in want:
            assert job["Partition"] == want["slurm_partition"], (rule, job["Partition"])
        else:
            assert job["Partition"] == "cpu", (rule, job["Partition"])  # the cluster's default partition


def test_gpu_rules_asked_for_and_got_a_gpu(slurm_run):
    cluster = slurm_run["cluster"]
    jobs = _jobs(cluster)
    submitted = _submitted(slurm_run["log"])
    tasks = (cluster["dir"] / "log" / "tasks.log").read_text()
    gpu_jobs = [jobid for jobid, rule in submitted.items() if rule in GPU_RULES]
    cpu_jobs = [jobid for jobid, rule in submitted.items() if rule not in GPU_RULES]
    assert gpu_jobs, f"no GPU rule ran on the cluster: {sorted(set(submitted.values()))}"
    for jobid in gpu_jobs:
        assert jobs[jobid]["TresPerJob"] == "gres:gpu:1", jobs[jobid]  # sbatch --gpus=1
        # The job's processes (batch script and the job step running the rule) saw the allocated GPU.
        seen = re.findall(rf"^job={jobid} step=(\S*) CUDA_VISIBLE_DEVICES=(\S+)", tasks, flags=re.M)
        assert seen and all(cvd == "0" for _step, cvd in seen), (jobid, seen)
        assert any(step == "0" for step, _cvd in seen), "the rule's job step never started"
    # The fake GPU has no device: the GAN job logged its device and warned that it fell back to the CPU (issue 19).
    gan_log = (slurm_run["work"] / "logs" / "gan_train" / "gan_train.log").read_text()
    assert "device: cpu" in gan_log and "GPU allocated: CUDA_VISIBLE_DEVICES=0" in gan_log, gan_log[-3000:]
    assert "was given a GPU (CUDA_VISIBLE_DEVICES=0) but runs on the CPU" in gan_log
    for jobid in cpu_jobs:
        assert "TresPerJob" not in jobs[jobid] or "gpu" not in jobs[jobid]["TresPerJob"], jobs[jobid]
        seen = re.findall(rf"^job={jobid} step=\S* CUDA_VISIBLE_DEVICES=(\S+)", tasks, flags=re.M)
        assert seen and set(seen) == {"unset"}, (jobid, seen)


def test_a_job_that_fails_once_is_resubmitted_and_the_run_completes(slurm_run):
    jobs = _jobs(slurm_run["cluster"])
    probe_jobs = sorted((int(j) for j, r in _submitted(slurm_run["log"]).items() if r == "slurm_retry_probe"))
    assert len(probe_jobs) == 2, probe_jobs
    assert jobs[str(probe_jobs[0])]["JobState"] == "FAILED"
    assert jobs[str(probe_jobs[1])]["JobState"] == "COMPLETED"
    out = (slurm_run["work"] / PROBE_TARGET).read_text()
    assert out.strip() == f"attempt 2 job {probe_jobs[1]}"
    # The first attempt's Slurm log (kept by profiles/slurm-test) shows why it failed.
    first = slurm_run["work"] / "logs" / "slurm" / "rule_slurm_retry_probe" / f"{probe_jobs[0]}.log"
    assert "failing the first attempt on purpose" in first.read_text()


def _digest(path: Path) -> dict[str, str]:
    """sha256 per file; for a zip, per member (the archive itself records when it was written)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return {name: hashlib.sha256(archive.read(name)).hexdigest() for name in sorted(archive.namelist())}
    if path.is_dir():
        return {
            str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*"))
            if p.is_file()
        }
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}


@pytest.mark.parametrize(
    "output",
    [
        "results/demo/real",
        "results/demo/real_metadata.csv",
        "results/faces/real",
        "results/faces/real_shards/000",
        "results/faces/real_shards/001",
        "results/gan/dataset.zip",
    ],
)
def test_outputs_equal_a_local_run(slurm_run, local_run, output):
    slurm_files = _digest(slurm_run["work"] / output)
    local_files = _digest(local_run / output)
    assert slurm_files, output
    assert slurm_files == local_files, output


def test_gan_training_cut_by_its_time_budget_snapshots_and_resumes(slurm_run):
    """gan_train whose budget ends before the training (tests/slurm/subset.yaml): the first job trains until
    its budget is spent, writes a snapshot and fails before Slurm's limit; Snakemake resubmits it (profile
    `retries`) and the new job resumes from that snapshot, reaches total_kimg and writes network-final.pt."""
    work, jobs = slurm_run["work"], _jobs(slurm_run["cluster"])
    ids = sorted(int(j) for j, rule in _submitted(slurm_run["log"]).items() if rule == "gan_train")
    assert len(ids) == 2, f"expected one cut and one resumed job: {ids}"
    states = [jobs[str(i)]["JobState"] for i in ids]
    # The first stopped itself before the limit (FAILED, not TIMEOUT); the resubmitted one completed.
    assert states == ["FAILED", "COMPLETED"], states
    for i in ids:
        assert jobs[str(i)]["TimeLimit"] == f"00:{GAN_TEST_RUNTIME:02d}:00"
    slurm_logs = work / "logs" / "slurm" / "rule_gan_train"
    for i in ids[:-1]:
        text = (slurm_logs / f"{i}.log").read_text()
        assert "TrainingIncomplete" in text and "time budget" in text, text[-3000:]
    final_log = (work / "logs" / "gan_train" / "gan_train.log").read_text()
    resumed = re.search(r"resumed from (\S+) at ([\d.]+) kimg", final_log)
    assert resumed and float(resumed.group(2)) > 0, final_log[-3000:]
    assert "training complete" in final_log
    # One continuous training log across the chunks, ending at total_kimg.
    rows = [json.loads(line) for line in (work / "results" / "gan" / "training_log.jsonl").read_text().splitlines()]
    kimg = [row["kimg"] for row in rows]
    assert kimg == sorted(kimg) and len(set(kimg)) == len(kimg)
    total = yaml.safe_load(SUBSET.read_text())["gan"]["total_kimg"]
    assert kimg[-1] >= total
    assert (work / "results" / "gan" / "network-final.pt").stat().st_size > 0


def test_gan_budget_is_the_slurm_jobs_remaining_time(cluster):
    """With gan.time_limit_minutes null (the default), a training job's budget is the time Slurm gives it."""
    probe = "from synthfer.gan.time_budget import time_budget_s; print(time_budget_s(None, 99))"
    res = _run(
        ["srun", "--time=3", "--mem=500", sys.executable, "-c", probe],
        cwd=REPO, env=_env({"SLURM_CONF": str(cluster["conf"])}), timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    budget = float(res.stdout.strip().splitlines()[-1])
    assert 150 <= budget <= 180, budget  # squeue's time left of a 3-minute job, not the 99 min fallback
    outside = _run(
        [sys.executable, "-c", probe], cwd=REPO, env={k: v for k, v in _env().items() if not k.startswith("SLURM")}
    )
    assert outside.stdout.strip() == "None"  # no Slurm job: no budget
