"""The review stage in the workflow: without a reviewed seed list the default target ends successfully at
the review material and says the next step once; the annotation assistant puts real_only training before
the review material (and nothing changes with it off). Every run happens in a temporary working directory,
so the checkout's results/ cannot change the outcome."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NEXT_STEP = "Next step: review the seeds."

pytestmark = pytest.mark.workflow


def workdir(tmp_path: Path) -> Path:
    """An empty working directory that sees the checkout's config/ and resources/ (the demo's inputs)."""
    wd = tmp_path / "wd"
    wd.mkdir(parents=True)
    for name in ("config", "resources"):
        (wd / name).symlink_to(REPO / name)
    return wd


def snakemake(wd: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *args],
        cwd=wd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)},
    )


def job_counts(out: str) -> dict[str, int]:
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


MISSING = "seeds={'file': 'config-missing/seeds.yaml'}"


def test_dry_run_without_seed_list_ends_at_the_review_and_says_so_once(tmp_path):
    res = snakemake(workdir(tmp_path), "-n", "--configfile", "config/demo.yaml", "--config", MISSING)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert out.count(NEXT_STEP) == 1, out[-3000:]
    assert "results/review/index.html in a browser" in out and "save the text as config-missing/seeds.yaml" in out
    jobs = job_counts(out)
    assert jobs.get("review_material") == 1 and jobs.get("latent_directions") == 1
    for after_review in ("seed_plan", "generate_shard", "select", "annotate", "fer_evaluate"):
        assert after_review not in jobs, (after_review, jobs)
    # with the seed list the default target runs through to the FER evaluation, and nothing is said
    res = snakemake(workdir(tmp_path / "ready"), "-n", "--configfile", "config/demo.yaml")
    out = res.stdout + res.stderr
    assert res.returncode == 0 and NEXT_STEP not in out
    assert {"seed_plan", "generate_shard", "fer_evaluate"} <= set(job_counts(out))


def _prebuilt_upstream(wd: Path) -> None:
    """Everything the review material needs, as files the workflow accepts as up to date: a tiny real
    generator and its directions, dummies for the rest (older than what is built from them)."""
    import numpy as np

    from synthfer.gan.api import save_generator, tiny_generator
    from synthfer.io import save_npy, save_npz
    from synthfer.latent.directions import compute_directions

    (wd / "small.yaml").write_text(SMALL_REVIEW)
    res = snakemake(wd, "--summary", *SMALL)
    assert res.returncode == 0, res.stderr[-3000:]
    outputs = [line.split("\t")[0] for line in res.stdout.splitlines()[1:] if line.startswith("results/")]
    assert "results/review/index.html" in outputs
    for rel in outputs:
        path = wd / rel
        if rel.startswith("results/review/"):
            continue
        if Path(rel).suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
        else:
            path.mkdir(parents=True, exist_ok=True)
    G = tiny_generator(resolution=16, seed=5)
    save_generator(wd / "results/gan/network-final.pt", G)
    save_generator(wd / "results/gan/network-selected.pt", G)  # gan.network's choice (rule gan_network)
    d, kept = compute_directions(G, 200, 3, seed=1, batch_size=200, std_samples=100, keep_samples=20)
    save_npz(wd / "results/latent/directions.npz", **d)
    save_npy(wd / "results/latent/w_sample.npy", kept)
    # newer than every input in the checkout (resources/), in dependency order
    base = max(time.time() - 30, max(p.stat().st_mtime for p in (REPO / "resources").rglob("*")) + 1)
    for path in sorted((wd / "results").rglob("*")):
        os.utime(path, (base, base))
    # training → face check / snapshot FID → the chosen network → directions → plots
    os.utime(wd / "results/gan/network-final.pt", (base + 1, base + 1))
    for path in (wd / "results/gan").rglob("*"):
        if path.name not in ("dataset.zip", "network-final.pt") and not path.name.startswith("network-selected"):
            os.utime(path, (base + 2, base + 2))
    for path in (wd / "results/gan").glob("network-selected*"):
        os.utime(path, (base + 3, base + 3))
    for rel in ("results/latent/directions.npz", "results/latent/w_sample.npy", "results/gan/snapshot_fid.png"):
        os.utime(wd / rel, (base + 4, base + 4))
    plots = ("explained_variance.png", "pca_2d.png", "tsne.png", "tsne_runs.png", "tsne_stability.png")
    plots += ("tsne_stability.csv", "tsne_stability.json")
    for rel in (f"results/latent/{name}" for name in plots):
        os.utime(wd / rel, (base + 5, base + 5))
    assert np.load(wd / "results/latent/directions.npz")["components"].shape[0] == 3


# A review of 6 seeds at 16 px, without the assistant (merged over config/demo.yaml).
SMALL_REVIEW = """\
latent:
  review: {seed_count: 6, cols: 3, rows: 2, thumb: 16, grid_seeds: 1, grid_directions: 2, grid_degrees: [-1.0, 1.0],
           strip_pairs: 1, strip_steps: 3, assistant: {enabled: false}}
seeds: {file: config-missing/seeds.yaml}
generate: {device: cpu}
"""
SMALL = ["--configfile", "config/demo.yaml", "small.yaml"]


def test_run_without_seed_list_builds_the_review_and_ends_successfully(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    wd = workdir(tmp_path)
    _prebuilt_upstream(wd)
    # mtime only: the dummies have no metadata, which Snakemake would otherwise take for changed code
    args = ["--cores", "1", "--rerun-triggers", "mtime", *SMALL]
    res = snakemake(wd, *args, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert (wd / "results/review/index.html").is_file()
    assert re.search(r"^review_material\s+1$", out, re.M), out[-3000:]  # the only job besides rule all
    assert "seed_plan" not in out and "Exiting because a job execution failed" not in out
    assert out.count(NEXT_STEP) == 1 and "Traceback" not in out
    assert res.stderr.rstrip().endswith("and run snakemake again.")  # the last thing the user reads
    # again, with nothing left to do: still a success, still said once
    res = snakemake(wd, *args)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "Nothing to be done" in out and out.count(NEXT_STEP) == 1, out[-3000:]


def _rule_edges(wd: Path, assistant: bool) -> tuple[set[str], set[tuple[str, str]]]:
    (wd / "assistant.yaml").write_text(f"latent: {{review: {{assistant: {{enabled: {str(assistant).lower()}}}}}}}\n")
    res = snakemake(wd, "-n", "--forceall", "--rulegraph", "--configfile", "config/demo.yaml", "assistant.yaml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', res.stdout, re.M))
    edges = {(names[a], names[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", res.stdout, re.M)}
    return set(names.values()), edges


def _upstream(rule: str, edges: set[tuple[str, str]]) -> set[str]:
    found, todo = set(), [rule]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if b == node and a not in found:
                found.add(a)
                todo.append(a)
    return found


def test_assistant_puts_real_only_training_before_the_review_material(tmp_path):
    rules_on, edges_on = _rule_edges(workdir(tmp_path / "on"), assistant=True)
    assert ("fer_fold", "review_suggestions") in edges_on and ("review_suggestions", "review_material") in edges_on
    assert {"fer_fold", "fer_fold_table", "review_suggestions"} <= _upstream("review_material", edges_on)

    rules_off, edges_off = _rule_edges(workdir(tmp_path / "off"), assistant=False)
    assert "review_suggestions" not in rules_off
    assert not _upstream("review_material", edges_off) & {"fer_fold", "fer_fold_table", "fer_import_disfa"}
    # off, the graph is the one without the assistant: the same rules and edges, minus its own
    assert rules_off == rules_on - {"review_suggestions"}
    assert edges_off == {e for e in edges_on if "review_suggestions" not in e}
    # the plan checks the seeds against the network the review was made on: the same rule produces both inputs
    network_rules = {a for a, b in edges_off if b == "review_material"} - {"latent_directions"}
    assert network_rules and all((r, "seed_plan") in edges_off for r in network_rules), network_rules

    # and at job level: the real_only folds are the review material's only FER inputs
    res = snakemake(workdir(tmp_path / "jobs"), "-n", "--forceall", "--dag", "--configfile", "config/demo.yaml")
    assert res.returncode == 0, res.stderr[-2000:]
    labels = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', res.stdout, re.M))
    suggest = next(k for k, v in labels.items() if v.startswith("review_suggestions"))
    feeding = [labels[a] for a, b in re.findall(r"^\s*(\d+) -> (\d+)", res.stdout, re.M) if b == suggest]
    folds = [f for f in feeding if f.startswith("fer_fold")]
    assert len(folds) == 13 and all("variant: real_only" in f for f in folds), folds
