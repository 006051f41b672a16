"""config/small.yaml, the small real-photo recipe: it validates, dry-runs to the first stop (the review)
without heavy imports, and its GAN settings can resume the starting network it names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "config" / "small.yaml"
NO_HEAVY = REPO / "tests" / "support" / "no_heavy_imports"


def _validated(tmp: Path) -> dict:
    from snakemake.utils import validate

    from synthfer.config import bundle_schema

    cfg = yaml.safe_load(SMALL.read_text())
    schema = tmp / "config.schema.bundled.yaml"
    schema.write_text(yaml.safe_dump(bundle_schema(REPO / "config" / "schema" / "config.schema.yaml"), sort_keys=False))
    validate(cfg, schema=str(schema))
    return cfg


def test_gan_settings_resume_the_starting_network(tmp_path):
    """gan_train refuses a starting snapshot trained with other settings: check them here, not an hour in."""
    from synthfer.gan.api import read_checkpoint
    from synthfer.gan.train import DEFAULTS, RESUME_MUST_MATCH, resolve_config

    gan = _validated(tmp_path)["gan"]
    start = read_checkpoint(REPO / gan["resume_from"])
    options = {k: v for k, v in gan.items() if k in DEFAULTS}
    cfg = resolve_config(options, resolution=gan["resolution"], num_images=244)
    saved = {**start["config"], "num_images": cfg["num_images"]}  # the image count may differ (train.py)
    diffs = {k: (saved.get(k), cfg.get(k)) for k in RESUME_MUST_MATCH if saved.get(k) != cfg.get(k)}
    assert not diffs, diffs
    assert gan["total_kimg"] > start["cur_nimg"] / 1000 + 5  # the fine-tuning itself: kimg carries on from the start


def test_review_grid_has_no_zero_degree(tmp_path):
    """A 0.0 edit is the unedited face again: with include_unedited it would be generated twice."""
    assert 0.0 not in _validated(tmp_path)["latent"]["review"]["grid_degrees"]


@pytest.mark.workflow
def test_dry_run_of_a_first_run(tmp_path):
    """A user's first run: photos in data/cfd, no reviewed seed list yet, nothing heavy imported at parse time."""
    (tmp_path / "data" / "cfd").mkdir(parents=True)
    (tmp_path / "resources").symlink_to(REPO / "resources")  # the starting networks the config names
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NO_HEAVY), str(REPO)])}
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(SMALL)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "heavy import" not in out
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", res.stdout, flags=re.M))
    assert counts["faces_real_shard"] == "4" and counts["fer_fold"] == "15"
    for rule in ("gan_dataset", "gan_train", "gan_snapshot_fid", "latent_directions", "review_material", "seed_plan"):
        assert counts.get(rule) == "1", rule
    assert "config/seeds.yaml does not exist yet" in out  # the first run stops at the review
