"""Seed-ID annotation: name parsing, labels through the plan, .npy shape/dtype/order, Figure 3.9 CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from synthfer import AU_COLUMNS
from synthfer.annotate.labels import annotate_variant, label_counts, label_images, parse_name


def test_parse_name():
    assert parse_name("9_000061.png") == (9, 61)
    assert parse_name("9_000061") == (9, 61)
    assert parse_name("results/synthetic/raw/123456_1234567.png") == (123456, 1234567)
    for bad in ("9-000061.png", "x_000001.png", "9_61.png", "9_000061.jpeg", "9_000061.PNG"):
        with pytest.raises(ValueError, match="not a generated image name"):
            parse_name(bad)


@pytest.fixture()
def seeds_and_plan(tmp_path):
    from synthfer.seeds.plan import write_seed_plan

    seeds = {
        "format": 1,
        "aus": {"AU1": [9], "AU4": [], "AU5": [], "AU6": [9, 4], "AU12": [4], "AU15": []},
        "neutral": [2],
        "generation": {"truncation_psi": 0.7, "edits": [{"directions": [1], "degrees": [-2.0, 2.5]}]},
        "label_rules": [{"direction": 1, "degree_min": 2.0, "add": ["AU12"]}],
    }
    (tmp_path / "seeds.yaml").write_text(yaml.safe_dump(seeds))
    write_seed_plan(tmp_path / "seeds.yaml", None, tmp_path / "plan.csv", tmp_path / "seed_labels.csv", n_shards=1)
    return tmp_path


def test_labels_union_neutral_rules_and_order(seeds_and_plan):
    root = seeds_and_plan
    plan = pd.read_csv(root / "plan.csv", dtype={"name": str})
    seed_labels = pd.read_csv(root / "seed_labels.csv")
    # plan: seed 2 → orders 0-2, seed 4 → 3-5, seed 9 → 6-8 (unedited, -2, +2.5)
    names = ["9_000008.png", "2_000000.png", "4_000003.png", "9_000006.png", "2_000002.png"]
    stems, labels, excl = label_images(names, plan, seed_labels)
    assert stems == ["2_000000", "2_000002", "4_000003", "9_000006", "9_000008"]  # by order number
    assert labels.dtype == np.uint8 and labels.shape == (5, 6)
    col = {au: i for i, au in enumerate(AU_COLUMNS)}
    assert labels[0].tolist() == [0] * 6  # neutral seed
    assert labels[1, col["AU12"]] == 1 and labels[1].sum() == 1  # rule: direction 1 at +2.5 adds AU12
    assert labels[2, col["AU6"]] == 1 and labels[2, col["AU12"]] == 1 and labels[2].sum() == 2
    assert labels[3, col["AU1"]] == 1 and labels[3, col["AU6"]] == 1 and labels[3].sum() == 2  # union of lists
    assert labels[4].tolist() == [1, 0, 0, 1, 1, 0]
    assert excl == 0
    # Not in the plan: falls back to the seed's lists (no rules)
    stems, labels, _ = label_images(["9_000500.png"], plan, seed_labels)
    assert labels[0].tolist() == [1, 0, 0, 1, 0, 0]
    # A seed in no list: error, or excluded and counted
    with pytest.raises(ValueError, match="seed 77 is in no AU list"):
        label_images(["77_000001.png", "9_000006.png"], plan, seed_labels)
    stems, labels, excl = label_images(["77_000001.png", "9_000006.png"], plan, seed_labels, unknown_seed="exclude")
    assert stems == ["9_000006"] and excl == 1
    # name/plan disagreement and duplicates
    with pytest.raises(ValueError, match="plan lists it with seed 2"):
        label_images(["5_000000.png"], plan.assign(name=plan["name"].str.replace("2_000000", "5_000000")), seed_labels)
    with pytest.raises(ValueError, match="listed twice"):
        label_images(["9_000006.png", "9_000006"], plan, seed_labels)


def test_annotate_variant_outputs(seeds_and_plan):
    root = seeds_and_plan
    plan = pd.read_csv(root / "plan.csv", dtype={"name": str})
    manifest = plan[["name"]].assign(face_ok=[True, False, True, True, True, True, True, False, True])
    manifest.to_csv(root / "manifest.csv", index=False)
    out = root / "ann"
    n = annotate_variant(
        root / "manifest.csv",
        "manifest",
        root / "plan.csv",
        root / "seed_labels.csv",
        out / "labels.npy",
        out / "image_names.txt",
        out / "labels.csv",
        out / "label_counts.csv",
        out / "label_balance.png",
        "synthetic_all",
    )
    assert n == 7
    labels = np.load(out / "labels.npy")
    names = (out / "image_names.txt").read_text().splitlines()
    assert labels.shape == (7, 6) and labels.dtype == np.uint8
    assert names == [f"{n}.png" for n in manifest.loc[manifest["face_ok"], "name"]]
    csv_text = (out / "labels.csv").read_text().splitlines()
    assert csv_text[0] == "Image_name,AU1,AU4,AU5,AU6,AU12,AU15"  # the thesis' Figure 3.9 layout
    assert csv_text[1] == "2_000000.png,0,0,0,0,0,0"
    table = pd.read_csv(out / "labels.csv")
    assert table["Image_name"].tolist() == names
    np.testing.assert_array_equal(table[list(AU_COLUMNS)].to_numpy(), labels)
    counts = pd.read_csv(out / "label_counts.csv").set_index("label")
    assert counts.loc["total", "count"] == 7
    assert counts.loc["AU6", "count"] == int(labels[:, 3].sum())
    assert counts.loc["neutral", "count"] == int((labels.sum(1) == 0).sum())
    assert (out / "label_balance.png").stat().st_size > 1000
    # TDS selection as the name source
    pd.DataFrame({"name": ["9_000006", "4_000005"], "batch": [0, 0], "rank": [1, 2], "score": [0.1, 0.2]}).to_csv(
        root / "sel.csv", index=False
    )
    n = annotate_variant(
        root / "sel.csv",
        "selected",
        root / "plan.csv",
        root / "seed_labels.csv",
        out / "t.npy",
        out / "t.txt",
        out / "t.csv",
        out / "tc.csv",
        out / "t.png",
        "synthetic_tds",
    )
    assert n == 2 and (out / "t.txt").read_text().splitlines() == ["4_000005.png", "9_000006.png"]


def test_label_counts_empty_safe():
    c = label_counts(np.zeros((0, 6), np.uint8), 3)
    assert c.set_index("label").loc["excluded_unknown_seed", "count"] == 3
