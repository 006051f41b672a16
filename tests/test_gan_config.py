"""The gan config schema, the training defaults and the auto config agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synthfer.gan.train import DEFAULTS, RESUME_MUST_MATCH, resolve_config

REPO = Path(__file__).resolve().parents[1]
RULE_KEYS = {"resolution", "resize_filter", "time_limit_minutes", "resume_from", "threads", "device", "mem_mb", "snapshot_fid",
             "network", "face_check"}  # fmt: skip


def _schema():
    return yaml.safe_load((REPO / "config" / "schema" / "gan.schema.yaml").read_text())


def test_schema_matches_training_defaults():
    props = _schema()["properties"]
    assert set(props) == set(DEFAULTS) | RULE_KEYS
    for key, value in DEFAULTS.items():
        assert props[key]["default"] == value, key
    for key, spec in props.items():
        assert spec.get("description") and "default" in spec, key
    assert _schema()["additionalProperties"] is False
    # The rule splits the section the same way (rules/gan.smk GAN_RULE_KEYS).
    smk = (REPO / "rules" / "gan.smk").read_text()
    assert all(f'"{k}"' in smk.split("GAN_RULE_KEYS = ")[1].split(")")[0] for k in RULE_KEYS)


def test_auto_config_256_matches_the_official_values():
    cfg = resolve_config({}, resolution=256, num_images=1000)
    assert (cfg["batch"], cfg["gamma"], cfg["ema_kimg"], cfg["lr"], cfg["channel_base"], cfg["mbstd_group"]) == (
        16, pytest.approx(0.8192), 5.0, 0.0025, 16384, 4
    )  # fmt: skip
    assert resolve_config({}, resolution=1024, num_images=1)["lr"] == 0.002
    assert resolve_config({}, resolution=512, num_images=1)["channel_base"] == 32768
    assert set(RESUME_MUST_MATCH) <= set(cfg)
    with pytest.raises(ValueError, match="unknown gan training option"):
        resolve_config({"bach": 3}, resolution=64, num_images=1)
    with pytest.raises(ValueError, match="multiple of mbstd_group"):
        resolve_config({"batch": 6}, resolution=64, num_images=1)


@pytest.mark.parametrize("name", ["config.yaml", "demo.yaml"])
def test_shipped_configs_use_only_known_keys(name):
    section = yaml.safe_load((REPO / "config" / name).read_text()).get("gan") or {}
    assert set(section) <= set(_schema()["properties"])
    options = {k: v for k, v in section.items() if k not in RULE_KEYS}
    cfg = resolve_config(options, resolution=section.get("resolution", 256), num_images=100)
    assert cfg["total_kimg"] > 0
