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


def test_gan_starts_from_a_network_of_its_resolution(tmp_path):
    """gan_train refuses a start network of another resolution: check it here, not after the faces phase."""
    from synthfer.gan.options import DEFAULTS, resolve_config
    from synthfer.gan.start import frozen_parameter_names, read_start_networks

    gan = _validated(tmp_path)["gan"]
    assert gan.get("resume_from") is None  # a new run on the user's photos, not a continuation
    start = read_start_networks(REPO / gan["start_from"])
    assert start.G_kwargs["img_resolution"] == gan["resolution"]
    assert start.D is not None  # G, D and G_ema: FreezeD needs the pretrained discriminator
    cfg = resolve_config({k: v for k, v in gan.items() if k in DEFAULTS}, resolution=gan["resolution"], num_images=244)
    assert cfg["total_kimg"] > 0 and cfg["freeze_d"] == gan["freeze_d"] > 0
    from synthfer.gan.networks import Discriminator

    D = Discriminator(**start.D_kwargs)
    frozen = frozen_parameter_names(D, gan["freeze_d"])
    assert frozen and len(frozen) < len(dict(D.named_parameters()))  # some layers frozen, not all


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
    assert counts["faces_real_shard"] == "4" and "fer_fold" not in counts  # fer.enabled: false
    for rule in ("gan_dataset", "gan_train", "gan_snapshot_fid", "gan_network", "latent_directions", "review_material"):
        assert counts.get(rule) == "1", rule
    assert "seed_plan" not in counts  # the first run ends at the review material ...
    assert "config/seeds.yaml does not exist yet" in out  # ... and says what to do next
