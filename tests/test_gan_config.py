"""The gan config schema, the training options (defined once in synthfer.gan.options) and the rules agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synthfer.gan.options import DEFAULTS, RESUME_MUST_MATCH, resolve_config, training_options

REPO = Path(__file__).resolve().parents[1]


def _schema():
    return yaml.safe_load((REPO / "config" / "schema" / "gan.schema.yaml").read_text())


def _rule_keys() -> set[str]:
    """The section's keys that are not training options: the rules' own settings."""
    return set(_schema()["properties"]) - set(DEFAULTS)


def test_schema_matches_training_defaults():
    props = _schema()["properties"]
    # Every training option is in the schema with the same default ...
    assert set(DEFAULTS) <= set(props), sorted(set(DEFAULTS) - set(props))
    for key, value in DEFAULTS.items():
        assert props[key]["default"] == value, key
    for key, spec in props.items():
        assert spec.get("description") and "default" in spec, key
    assert _schema()["additionalProperties"] is False
    # ... and every other key is a rule setting that rules/gan.smk reads (none is silently ignored).
    smk = (REPO / "rules" / "gan.smk").read_text()
    unused = sorted(k for k in _rule_keys() if f'GAN["{k}"]' not in smk)
    assert unused == [], f"gan schema keys that are neither training options nor read by rules/gan.smk: {unused}"
    assert "training_options(GAN)" in smk


def test_training_options_split_the_section():
    section = {k: spec["default"] for k, spec in _schema()["properties"].items()}
    opts = training_options(section)
    assert set(opts) == set(DEFAULTS)
    resolve_config(opts, resolution=64, num_images=10)  # every option of the section is accepted


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
    options = training_options(section)
    cfg = resolve_config(options, resolution=section.get("resolution", 256), num_images=100)
    assert cfg["total_kimg"] > 0
