"""Config schemas of the latent, seeds, generate and annotate sections: defaults and messages."""

from __future__ import annotations

import pytest
import yaml


@pytest.fixture(scope="module")
def bundled(repo, tmp_path_factory):
    from synthfer.config import bundle_schema

    p = tmp_path_factory.mktemp("schema") / "bundled.yaml"
    p.write_text(yaml.safe_dump(bundle_schema(repo / "config" / "schema" / "config.schema.yaml")))
    return p


def test_defaults_fill_nested_sections(bundled):
    from snakemake.utils import validate

    cfg = {"real_images": {"folder": "x"}, "latent": {"review": {"thumb": 64}}}
    validate(cfg, schema=str(bundled))
    assert cfg["latent"]["review"]["seed_count"] == 30000 and cfg["latent"]["review"]["thumb"] == 64
    assert cfg["latent"]["n_samples"] == 1_000_000 and cfg["latent"]["edit_layers"] == [0, None]
    assert cfg["latent"]["tsne_runs"] == 4
    assert cfg["seeds"] == {"file": "config/seeds.yaml", "allow_other_network": False}
    assert cfg["latent"]["review"]["assistant"] == {"enabled": False, "threshold": 0.5, "batch_size": 32}
    assert 0.0 not in cfg["latent"]["review"]["grid_degrees"]
    assert cfg["generate"]["shards"] == 20 and cfg["generate"]["noise_mode"] == "const"
    assert cfg["annotate"] == {"unknown_seed": "error", "pseudo_rule": "inner", "pseudo_threshold": 0.5,
                               "agreement_bootstrap": 1000, "agreement_ci_level": 0.95}


@pytest.mark.parametrize("name", ["config.yaml", "demo.yaml"])
def test_shipped_configs_validate(repo, bundled, name):
    from snakemake.utils import validate

    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    cfg.update(yaml.safe_load((repo / "config" / name).read_text()))
    validate(cfg, schema=str(bundled))
    assert (repo / cfg["seeds"]["file"]).is_file() or name == "config.yaml"


def test_messages_name_the_key(repo):
    from synthfer.config import explain_config_error

    schema = repo / "config" / "schema" / "config.schema.yaml"
    msg = explain_config_error({"real_images": {"folder": "x"}, "latent": {"review": {"thumbs": 64}}}, schema)
    assert "'thumbs'" in msg and "latent.review" in msg and "thumb" in msg
    msg = explain_config_error({"real_images": {"folder": "x"}, "annotate": {"unknown_seed": "skip"}}, schema)
    assert "annotate.unknown_seed" in msg and "'exclude'" in msg
    msg = explain_config_error({"real_images": {"folder": "x"}, "generate": {"shards": 0}}, schema)
    assert "generate.shards" in msg
