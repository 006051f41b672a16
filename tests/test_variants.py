"""The one list of training-set variants (synthfer/variants.py) and what is derived from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from synthfer import variants as V
from synthfer.scores import SCORE_METRICS

REPO = Path(__file__).resolve().parents[1]


def test_fer_variants_add_ablations_in_order():
    assert V.fer_variants(["real_only", "synthetic_tds"], ["sam", "psnr"]) == [
        "real_only", "synthetic_tds", "synthetic_tds_sam", "synthetic_tds_psnr"]  # fmt: skip
    assert V.fer_variants(["synthetic_tds_sam", "real_only"], ["sam"]) == ["synthetic_tds_sam", "real_only"]
    with pytest.raises(ValueError, match="config key 'fer.variants': 'synthetic_best'.*Fix"):
        V.fer_variants(["real_only", "synthetic_best"])
    with pytest.raises(ValueError, match="config key 'select.ablations': unknown metric 'lpips'"):
        V.fer_variants(["real_only"], ["lpips"])
    with pytest.raises(ValueError, match="listed twice"):
        V.check_variants(["real_only", "real_only"])


def test_sources_and_labels():
    assert V.seed_id_source("synthetic_all") == ("results/synthetic/manifest.csv", "manifest")
    assert V.seed_id_source("synthetic_tds") == ("results/select/selected.csv", "selected")
    assert V.seed_id_source("synthetic_random") == ("results/select/random.csv", "selected")
    assert V.seed_id_source("synthetic_tds_uiq") == ("results/select/ablation/uiq/selected.csv", "selected")
    assert V.seed_id_source("real_only") is None and V.seed_id_source("synthetic_pseudo") is None
    assert V.ablation_metric("synthetic_tds_svr_severity") == "svr_severity" and V.ablation_metric("synthetic_tds") is None
    assert V.label("synthetic_tds_sam") == "TDS by sam only"
    assert len(V.all_variant_names()) == len(V.BASE_VARIANTS) + 2 * len(SCORE_METRICS)


def test_each_ablation_gets_a_random_control_of_its_own_size():
    """Issue 22 item 4: the ablations are compared with random draws of their own size."""
    assert V.fer_variants(["real_only", "synthetic_tds", "synthetic_random"], ["sam"]) == [
        "real_only", "synthetic_tds", "synthetic_random", "synthetic_tds_sam", "synthetic_random_sam"]  # fmt: skip
    assert V.fer_variants(["real_only", "synthetic_tds"], ["sam"]) == ["real_only", "synthetic_tds", "synthetic_tds_sam"]
    assert V.size_matched_control("synthetic_tds") == "synthetic_random"
    assert V.size_matched_control("synthetic_tds_sam") == "synthetic_random_sam"
    assert V.size_matched_control("synthetic_all") is None
    assert V.is_random_control("synthetic_random_sam") and V.control_metric("synthetic_random_sam") == "sam"
    assert V.replicate_ids("synthetic_random_sam", 1, 2) == ["d0r0", "d1r0"]
    assert V.seed_id_source("synthetic_random_sam") == ("results/select/ablation/sam/random.csv", "selected")
    assert V.random_draw_table(2, "synthetic_random_sam") == "results/select/ablation/sam/random/d2.csv"
    assert V.random_draw_sets(2, ["synthetic_random", "synthetic_random_sam"]) == {
        "synthetic_random/d1": "results/select/random/d1.csv",
        "synthetic_random_sam/d1": "results/select/ablation/sam/random/d1.csv"}  # fmt: skip
    assert V.label("synthetic_random_sam") == "+ random, sized as TDS by sam (control)"
    with pytest.raises(ValueError, match="not a random control"):
        V.random_draw_table(0, "synthetic_tds")


def test_wildcard_regex_matches_exactly_the_names():
    names = ["synthetic_tds", "synthetic_tds_psnr", "synthetic_all"]
    rx = re.compile(f"^(?:{V.wildcard_regex(names)})$")
    assert all(rx.match(n) for n in names)
    assert not rx.match("synthetic_tds_") and not rx.match("real_only")
    assert not re.match(f"^(?:{V.wildcard_regex([])})$", "anything")


def test_schema_accepts_every_variant_and_configs_use_known_names():
    """The schema holds no list of its own (a pattern); the configs name only registered variants."""
    schema = yaml.safe_load((REPO / "config" / "schema" / "fer.schema.yaml").read_text())
    prop = schema["properties"]["variants"]
    assert "enum" not in prop["items"]
    pattern = re.compile(prop["items"]["pattern"])
    assert all(pattern.match(n) for n in V.all_variant_names())
    V.check_variants(prop["default"])
    for cfg in ("config.yaml", "demo.yaml"):
        config = yaml.safe_load((REPO / "config" / cfg).read_text())
        V.fer_variants(config["fer"]["variants"], config.get("select", {}).get("ablations", []))


def test_no_other_variant_list_in_rules_or_code():
    """The names are spelled out only in synthfer/variants.py (rules and code derive them)."""
    spelled = re.compile(r"[\"'](synthetic_random|synthetic_pseudo)[\"']")
    offenders = [
        str(p.relative_to(REPO))
        for p in [*REPO.glob("rules/*.smk"), *REPO.glob("synthfer/**/*.py")]
        if p.name != "variants.py" and spelled.search(p.read_text())
    ]
    assert offenders == []


def test_variant_names_are_written_only_in_variants_py():
    """The rules, workflow scripts and phase modules name a variant only through synthfer.variants (comments
    and docstrings may mention them): no quoted variant name, no variant folder spelled out in a path."""
    import ast

    names = "|".join(map(re.escape, sorted(V.all_variant_names(), key=len, reverse=True)))
    literal = re.compile(rf"[\"'](?:{names})[\"']|/(?:{names})/")
    offenders = []
    for path in [*REPO.glob("rules/*.smk"), REPO / "Snakefile", *REPO.glob("workflow_scripts/*.py"), *REPO.glob("synthfer/**/*.py")]:
        if path.name == "variants.py":
            continue
        text = path.read_text()
        if path.suffix == ".py":  # code only: drop docstrings
            tree = ast.parse(text)
            docs = {n.body[0].value.lineno for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
                    and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}  # fmt: skip
            spans = {i for n in ast.walk(tree) if isinstance(n, ast.Expr) and getattr(n.value, "lineno", None) in docs
                     for i in range(n.lineno, n.end_lineno + 1)}  # fmt: skip
        else:
            spans = set()
        for i, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            if i not in spans and literal.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{i}: {line.strip()}")
    assert offenders == []
