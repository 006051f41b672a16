"""Seed-list validation, conflict detection, plan resolution and the YAML format."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from synthfer import AU_COLUMNS
from synthfer.seeds.plan import PLAN_COLUMNS, build_plan, image_name, read_plan, seed_labels_table, write_seed_plan
from synthfer.seeds.spec import SeedSpecError, format_seed_yaml, load_seed_spec, parse_seed_spec


def base(**over):
    data = {
        "format": 1,
        "aus": {"AU1": [5], "AU4": [], "AU5": [], "AU6": [7], "AU12": [7, 9], "AU15": []},
        "neutral": [3],
        "generation": {
            "truncation_psi": 0.7,
            "include_unedited": True,
            "images_per_seed": None,
            "edits": [{"seeds": "all", "directions": [0, 1], "degrees": [-2.0, 2.0]}],
        },
        "label_rules": [],
    }
    data.update(over)
    return data


def test_seed_labels_union_and_neutral():
    spec = parse_seed_spec(base())
    assert spec.seeds == [3, 5, 7, 9]
    assert spec.seed_label(7) == (0, 0, 0, 1, 1, 0)  # AU6 and AU12
    assert spec.seed_label(5) == (1, 0, 0, 0, 0, 0)
    assert spec.seed_label(3) == (0,) * 6
    with pytest.raises(KeyError):
        spec.seed_label(4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aus": {"AU2": [1]}}, r"aus\.AU2: unknown AU 'AU2'"),
        ({"aus": {"AU1": [1, "x"]}}, r"aus\.AU1: seed 'x' is not an integer"),
        ({"aus": {"AU1": [1.5]}}, r"aus\.AU1: seed 1\.5 is not an integer"),
        ({"aus": {"AU1": [True]}}, r"seed True is not an integer"),
        ({"aus": {"AU1": [4, 4]}}, r"aus\.AU1: seed 4 is listed twice"),
        ({"aus": {"AU1": [-1]}}, r"outside"),
        ({"neutral": [7]}, r"neutral: seed 7 is both neutral and in aus\.AU6"),
        ({"neutral": [3, 3]}, r"neutral: seed 3 is listed twice"),
        ({"extra": 1}, r"unknown key\(s\) 'extra'"),
        ({"format": 2}, r"unsupported format 2"),
        ({"aus": {}, "neutral": []}, r"no seed listed"),
    ],
)
def test_conflicts_name_the_entry(change, message):
    with pytest.raises(SeedSpecError, match=message) as exc:
        parse_seed_spec(base(**change), source="my/seeds.yaml")
    assert str(exc.value).startswith("my/seeds.yaml: ")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"seeds": [4], "directions": [0], "degrees": [1.0]}, r"edits\[0\]\.seeds: seed 4 is in no AU list"),
        ({"seeds": "AU9", "directions": [0], "degrees": [1.0]}, r"'AU9' is not all, neutral"),
        ({"directions": [0, 0], "degrees": [1.0]}, r"duplicate directions"),
        ({"directions": [-1], "degrees": [1.0]}, r"direction -1"),
        ({"directions": [0], "degrees": [1.0, "big"]}, r"degree 'big'"),
        ({"directions": [0]}, r"missing key 'degrees'"),
        ({"directions": [0], "degrees": [1.0], "layers": [4, 2]}, r"layers"),
    ],
)
def test_bad_edits(edit, message):
    data = base()
    data["generation"]["edits"] = [edit]
    with pytest.raises(SeedSpecError, match=message):
        parse_seed_spec(data)


def test_duplicate_planned_image_is_an_error():
    data = base()
    data["generation"]["edits"] = [
        {"seeds": "AU12", "directions": [0], "degrees": [1.0]},
        {"seeds": [7], "directions": {"start": 0, "stop": 2}, "degrees": [1.0]},
    ]
    with pytest.raises(
        SeedSpecError, match=r"edits\[1\].*seed 7 direction 0 degree 1\.0 is already planned by generation\.edits\[0\]"
    ):
        parse_seed_spec(data)


def test_ranges_and_linspace():
    data = base()
    data["generation"]["edits"] = [
        {"seeds": ["neutral", 5], "directions": {"start": 1, "stop": 4}, "degrees": {"start": -1, "stop": 1, "num": 3}}
    ]
    spec = parse_seed_spec(data)
    g = spec.edits[0]
    assert g.seeds == (3, 5) and g.directions == (1, 2, 3) and g.degrees == (-1.0, 0.0, 1.0)


def test_plan_resolution_order_names_labels_shards():
    data = base()
    data["generation"]["truncation_psi"] = [0.5, 1.0]
    data["generation"]["edits"] = [
        {"seeds": "all", "directions": [0], "degrees": [-2.0, 2.0]},
        {"seeds": "AU12", "directions": [3], "degrees": [1.5], "layers": [2, None]},
    ]
    data["label_rules"] = [{"direction": 0, "degree_min": 1.0, "add": ["AU15"]}, {"direction": 3, "remove": "AU6"}]
    spec = parse_seed_spec(data)
    plan = build_plan(spec, n_shards=3, default_layers=(0, 4), num_ws=6, n_directions=4)
    assert list(plan.columns) == PLAN_COLUMNS
    # seeds 3, 5: 2 psi × (1 + 2) = 6; seeds 7, 9: 2 × (1 + 2 + 1) = 8  → 28
    assert len(plan) == 28
    assert plan["order"].tolist() == list(range(28))
    assert plan["name"].tolist()[:2] == ["3_000000", "3_000001"]
    assert all(n == image_name(s, o) for n, s, o in zip(plan["name"], plan["seed"], plan["order"], strict=True))
    s7 = plan[plan["seed"] == 7].reset_index(drop=True)
    assert s7[["psi", "direction", "degree"]].values.tolist()[:4] == [
        [0.5, -1, 0.0],
        [0.5, 0, -2.0],
        [0.5, 0, 2.0],
        [0.5, 3, 1.5],
    ]
    unedited = s7.iloc[0]
    assert (unedited["layer_start"], unedited["layer_end"]) == (0, 0)
    assert (s7.iloc[1]["layer_start"], s7.iloc[1]["layer_end"]) == (0, 4)
    assert (s7.iloc[3]["layer_start"], s7.iloc[3]["layer_end"]) == (2, 6)  # open end → num_ws
    lab = lambda r: tuple(int(r[a]) for a in AU_COLUMNS)  # noqa: E731
    assert lab(s7.iloc[0]) == (0, 0, 0, 1, 1, 0)
    assert lab(s7.iloc[2]) == (0, 0, 0, 1, 1, 1)  # rule: direction 0, degree >= 1 adds AU15
    assert lab(s7.iloc[1]) == (0, 0, 0, 1, 1, 0)  # degree -2 does not
    assert lab(s7.iloc[3]) == (0, 0, 0, 0, 1, 0)  # rule: direction 3 removes AU6
    s3 = plan[plan["seed"] == 3]
    assert s3["neutral"].tolist() == [1, 1, 0, 1, 1, 0]  # the AU15 rule un-neutralises degree +2
    # contiguous, balanced shards
    assert plan["shard"].tolist() == sorted(plan["shard"].tolist())
    assert np.bincount(plan["shard"]).tolist() in ([10, 9, 9], [9, 10, 9], [9, 9, 10])


def test_plan_cap_and_bounds():
    data = base()
    data["generation"]["images_per_seed"] = 3
    data["generation"]["edits"] = [{"directions": [0, 1, 2], "degrees": [-1.0, 1.0]}]
    spec = parse_seed_spec(data)
    plan = build_plan(spec, 1)
    assert plan.groupby("seed").size().tolist() == [3, 3, 3, 3]
    first = plan[plan["seed"] == 3]
    # 7 combos (unedited + 6) → indices round(linspace(0, 6, 3)) = 0, 3, 6
    assert first[["direction", "degree"]].values.tolist() == [[-1, 0.0], [1, -1.0], [2, 1.0]]
    with pytest.raises(SeedSpecError, match="direction 2 does not exist"):
        build_plan(spec, 1, n_directions=2)
    with pytest.raises(SeedSpecError, match="exceeds the generator's 3 w layers"):
        build_plan(spec, 1, default_layers=(0, 5), num_ws=3)


def test_format_roundtrip_and_seed_labels_table(tmp_path):
    text = format_seed_yaml(
        {"AU12": [9, 7], "AU6": [7], "AU1": [5]}, [3], 0.7, [0, 1], [-2.0, 0.5, 2.0], layers=(0, None)
    )
    assert "  AU12: [7, 9]\n" in text and "      degrees: [-2.0, 0.5, 2.0]\n" in text
    p = tmp_path / "seeds.yaml"
    p.write_text(text)
    spec = load_seed_spec(p)
    assert spec.aus["AU12"] == (7, 9) and spec.neutral == (3,) and spec.truncation_psi == (0.7,)
    assert spec.edits[0].layers == (0, None) and spec.edits[0].degrees == (-2.0, 0.5, 2.0)
    table = seed_labels_table(spec)
    assert table.columns.tolist() == ["seed", *AU_COLUMNS, "neutral"]
    assert table["seed"].tolist() == [3, 5, 7, 9]
    assert yaml.safe_load(format_seed_yaml({}, [1], 1.0, [], []))["generation"]["edits"] == []


def test_write_seed_plan_files(tmp_path):
    from synthfer.io import save_npz

    p = tmp_path / "seeds.yaml"
    p.write_text(yaml.safe_dump(base()))
    save_npz(
        tmp_path / "d.npz",
        components=np.eye(3, 6, dtype=np.float32),
        std=np.ones(3, np.float32),
        mean=np.zeros(6, np.float32),
        num_ws=np.int64(5),
    )
    n = write_seed_plan(
        p, tmp_path / "d.npz", tmp_path / "plan.csv", tmp_path / "seed_labels.csv", n_shards=2, default_layers=(1, None)
    )
    plan = read_plan(tmp_path / "plan.csv")
    assert n == len(plan) == 4 * 5
    assert set(plan.loc[plan["direction"] >= 0, "layer_end"]) == {5}
    assert (tmp_path / "plan.json").is_file() and (tmp_path / "seed_labels.csv").is_file()
    assert plan.dtypes["degree"] == np.float64 and plan.dtypes["seed"] == np.int64


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(SeedSpecError, match="not found"):
        load_seed_spec(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("aus: [unclosed\n")
    with pytest.raises(SeedSpecError, match="bad.yaml: not valid YAML"):
        load_seed_spec(tmp_path / "bad.yaml")


def test_cli_seeds_check(tmp_path, capsys, repo):
    from synthfer.cli import main

    assert (
        main(
            [
                "seeds-check",
                str(repo / "config" / "demo_seeds.yaml"),
                "--shards",
                "2",
                "--plan",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "60 seeds" in out and "600 images" in out
    assert len(read_plan(tmp_path / "p.csv")) == 600
    (tmp_path / "bad.yaml").write_text("aus: {AU3: [1]}\n")
    assert main(["seeds-check", str(tmp_path / "bad.yaml")]) == 1
    assert "aus.AU3: unknown AU" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["demo_seeds.yaml", "seeds.example.yaml"])
def test_shipped_seed_lists_are_valid(repo, name):
    spec = load_seed_spec(repo / "config" / name)
    assert spec.seeds


def test_parse_name_is_the_inverse_of_image_name():
    """The image-name format lives in synthfer.seeds.plan: image_name builds it, parse_name reads it back
    (the seed thesis' ``.jpg`` names too); anything else is refused with the expected format."""
    from synthfer.annotate import labels
    from synthfer.seeds.plan import parse_name

    for seed, order in ((0, 0), (9, 61), (123456, 999999), (7, 1234567)):
        name = image_name(seed, order)
        for text in (name, name + ".png", name + ".jpg", f"results/synthetic/raw/{name}.png"):
            assert parse_name(text) == (seed, order)
    assert labels.parse_name is parse_name
    for bad in ("9_0000061", "09_000061.png", "9_000061.gif", "9_61", "9_000061.png.png", "", "seed_000001"):
        with pytest.raises(ValueError, match=r"is not a generated image name '\{seed\}_\{order:06d\}' \(optionally with .png or .jpg\)"):
            parse_name(bad)


def test_image_name_format_is_written_in_one_module():
    """No other module builds (an f-string ``{order:06d}``) or parses (``rsplit("_")``, a ``_(\\d{6,})``
    regex) the image name itself; code only, docstrings may quote the format."""
    import ast
    from pathlib import Path

    def builds_or_parses(node) -> bool:
        if isinstance(node, ast.FormattedValue) and "order" in ast.unparse(node.value):
            return ast.unparse(node.format_spec or ast.Constant("")).find("06d") >= 0
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "rsplit":
            return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "_"
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and "_(\\d{6" in node.value

    root = Path(__file__).resolve().parents[1] / "synthfer"
    offenders = sorted({f"{p.relative_to(root)}:{n.lineno}" for p in root.rglob("*.py") if p.name != "plan.py"
                        for n in ast.walk(ast.parse(p.read_text())) if builds_or_parses(n)})  # fmt: skip
    assert offenders == []
