"""Review options (synthfer/latent/options.py): one home for the review's settings, their config keys and
defaults (equal to the schema's), the layout resolved once for the review material and the assistant, and
the rules' params built from it."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest
import yaml

from synthfer.latent.options import (
    LAYOUT_KEYS,
    PAGE_KEYS,
    PageOptions,
    ReviewLayout,
    ReviewOptions,
    layout_params,
    page_params,
)


@pytest.fixture(scope="module")
def validated(repo, tmp_path_factory):
    """A config with the schema's defaults filled in, as rules/common.smk validates it."""
    from snakemake.utils import validate

    from synthfer.config import bundle_schema

    p = tmp_path_factory.mktemp("schema") / "bundled.yaml"
    p.write_text(yaml.safe_dump(bundle_schema(repo / "config" / "schema" / "config.schema.yaml")))

    def fill(cfg: dict) -> dict:
        validate(cfg, schema=str(p))
        return cfg

    return fill


@pytest.fixture(scope="module")
def defaults(validated):
    return validated({"real_images": {"folder": "x"}})


def test_every_field_has_a_config_key_and_the_schema_default(defaults):
    for cls, keys in ((ReviewLayout, LAYOUT_KEYS), (PageOptions, PAGE_KEYS)):
        assert [f.name for f in fields(cls)] == list(keys), cls.__name__
    # the dataclasses normalise what they are given, so compare through them
    assert ReviewLayout() == ReviewLayout(**layout_params(defaults))
    assert PageOptions() == PageOptions(**page_params(defaults))
    assert ReviewOptions() == ReviewOptions.from_params(layout_params(defaults), page_params(defaults))


def test_params_are_plain_config_values(repo, validated):
    cfg = validated(yaml.safe_load((repo / "config" / "demo.yaml").read_text()))
    layout = layout_params(cfg)
    assert layout["grid_degrees"] == [-3.0, -1.5, 1.5, 3.0] and layout["edit_layers"] == [0, None]
    assert layout["noise_mode"] == cfg["generate"]["noise_mode"]
    assert page_params(cfg)["seeds_file"] == cfg["seeds"]["file"] and page_params(cfg)["thumb"] == 64
    opts = ReviewOptions.from_params(layout, page_params(cfg))
    assert opts.layout.grid_degrees == (-3.0, -1.5, 1.5, 3.0) and opts.layout.edit_layers == (0, None)
    hash(opts)  # frozen, normalised: lists became tuples


def test_resolve_expands_counts_and_computes_the_layer_end_once():
    layout = ReviewLayout(seed_start=5, seed_count=6, grid_seeds=2, grid_directions=9, grid_degrees=[-1, 1])
    r = layout.resolve(n_directions=3, num_ws=8)
    assert r.seeds == (5, 6, 7, 8, 9, 10) and r.grid_seeds == (5, 6) and r.grid_directions == (0, 1, 2)
    assert (r.layer_start, r.layer_end) == (0, 8) and r.grid_degrees == (-1.0, 1.0)
    r = ReviewLayout(seed_count=3, grid_seeds=[40], grid_directions=[2, 0], edit_layers=[2, 5]).resolve(3, 8)
    assert r.grid_seeds == (40,) and r.grid_directions == (2, 0) and (r.layer_start, r.layer_end) == (2, 5)
    with pytest.raises(ValueError, match=re.escape("latent.review.grid_directions: direction 3 does not exist")):
        ReviewLayout(grid_directions=[3]).resolve(3, 8)
    with pytest.raises(ValueError, match=re.escape("latent.edit_layers [0, 9]")):
        ReviewLayout(edit_layers=(0, 9)).resolve(3, 8)
    with pytest.raises(ValueError, match="latent.review.seed_count"):
        ReviewLayout(seed_count=0)


def test_page_strips_and_flat_construction():
    assert PageOptions(strip_pairs=2).strips([0, 1, 2, 3, 4]) == [(0, 1), (2, 3)]
    assert PageOptions(strip_pairs=9).strips([0, 1, 2]) == [(0, 1)]
    assert PageOptions(strip_pairs=[[7, 3]]).strips([0, 1]) == [(7, 3)]
    opts = ReviewOptions.of(seed_count=4, thumb=16)
    assert opts.layout.seed_count == 4 and opts.page.thumb == 16 and opts.page.cols == 10
    with pytest.raises(TypeError, match="seeds_file_hint"):
        ReviewOptions.of(seeds_file_hint="x.yaml")


def test_rules_pass_the_options_built_once(repo):
    """Both review rules take the layout from the one REVIEW_LAYOUT; neither restates a review key."""
    latent = (repo / "rules" / "latent.smk").read_text()
    assistant = (repo / "rules" / "assistant.smk").read_text()
    assert latent.count("REVIEW_LAYOUT = layout_params(config)") == 1
    assert "layout=REVIEW_LAYOUT" in latent and "page=REVIEW_PAGE" in latent
    assert "layout=REVIEW_LAYOUT" in assistant
    for key in (*LAYOUT_KEYS, *PAGE_KEYS):
        assert f'["review"]["{key}"]' not in latent + assistant, key


def test_latent_code_defaults_equal_the_schema_defaults(defaults):
    """Every default a latent function gives a configurable value is the schema's (issue 18, item 1)."""
    import inspect

    from synthfer.latent import assistant, directions, review, tsne
    from synthfer.latent.options import _get

    checked = {
        directions.sample_w: {"batch_size": "latent.batch_size"},
        directions.compute_directions: {
            "seed": "latent.seed",
            "batch_size": "latent.batch_size",
            "std_samples": "latent.std_samples",
            "estimator": "latent.estimator",
            "keep_samples": "latent.plot_samples",
        },
        directions.plot_directions: {
            "tsne_samples": "latent.tsne_samples",
            "perplexity": "latent.tsne_perplexity",
            "seed": "latent.seed",
        },
        tsne.tsne_stability: {
            "runs": "latent.tsne_runs",
            "tsne_samples": "latent.tsne_samples",
            "perplexity": "latent.tsne_perplexity",
            "seed": "latent.seed",
        },
        review.write_review: {"suggestion_threshold": "latent.review.assistant.threshold"},
        assistant.score_review_images: {
            "batch_size": "latent.review.assistant.batch_size",
            "threshold": "latent.review.assistant.threshold",
        },
        assistant.write_suggestions: {
            "batch_size": "latent.review.assistant.batch_size",
            "threshold": "latent.review.assistant.threshold",
        },
        assistant.page_suggestions: {"threshold": "latent.review.assistant.threshold"},
    }
    for func, keys in checked.items():
        params = inspect.signature(func).parameters
        for name, key in keys.items():
            assert params[name].default == _get(defaults, key), (func.__name__, name, key)
