"""Aligning a labelled table of photographs with the faces phase (synthfer.fer.align): shards, merge,
the rewritten table, the report of images that could not be used, and the committed London table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.fer.align import REPORT_COLUMNS, align_table_shard, crop_names, merge_aligned_table
from synthfer.fer.data import read_real_table
from synthfer.imaging import load_rgb

SETTINGS = {"size": 64, "upsample": 0}  # London faces are ~300 px: no pyramid up-sampling needed


def test_crop_names_are_unique_and_filesystem_safe():
    table = pd.DataFrame({"image": ["a/001.jpg", "b/001.png", "c/x y.jpg", "/abs/z.JPG"],
                          "subject": ["S 1", "S 1", "S/2", "3"]})
    assert crop_names(table) == ["S_1/001.png", "S_1/001_r1.png", "S_2/x_y.png", "3/z.png"]


def test_align_table_through_the_faces_phase(tmp_path, faces_data):
    rows = []
    for sid in ("001", "002"):
        rows.append({"image": f"london/neutral/{sid}_03.jpg", "subject": sid, **dict.fromkeys(AU_COLUMNS, 0), "note": "n"})
        rows.append({"image": f"london/smiling/{sid}_08.jpg", "subject": sid, **dict.fromkeys(AU_COLUMNS, 0),
                     "note": "s"})
        rows[-1]["AU12"] = 1
    no_face = sorted((faces_data / "no_face").glob("*.jpg"))[0].relative_to(faces_data)
    rows.append({"image": str(no_face), "subject": "003", **dict.fromkeys(AU_COLUMNS, 0), "note": "x"})
    rows.append({"image": "london/neutral/999_03.jpg", "subject": "004", **dict.fromkeys(AU_COLUMNS, 0), "note": "m"})
    table = tmp_path / "config" / "labels.csv"
    table.parent.mkdir()
    pd.DataFrame(rows).to_csv(table, index=False)

    shards = [tmp_path / "shards" / f"{k:03d}" for k in range(2)]
    reports = [tmp_path / "shards" / f"{k:03d}.csv" for k in range(2)]
    for k in range(2):
        rep = align_table_shard(table, shards[k], reports[k], k, 2, SETTINGS, image_root=faces_data)
        assert rep["row"].tolist() == list(range(k, 6, 2))
    out = merge_aligned_table(table, shards, reports, tmp_path / "aligned", SETTINGS, image_root=faces_data)

    report = pd.read_csv(tmp_path / "aligned" / "align_report.csv", keep_default_na=False)
    assert list(report.columns) == REPORT_COLUMNS and report["row"].tolist() == list(range(6))
    assert report["status"].tolist() == ["ok"] * 4 + ["rejected"] * 2
    assert report["reason"].tolist()[4:] == ["no_face", "missing"]

    labels = pd.read_csv(tmp_path / "aligned" / "labels.csv", dtype=str)
    assert list(labels.columns) == ["image", "source", "subject", *AU_COLUMNS, "note"]
    assert labels["image"].tolist() == ["images/001/001_03.png", "images/001/001_08.png", "images/002/002_03.png",
                                        "images/002/002_08.png"]
    assert labels["source"].tolist() == [r["image"] for r in rows[:4]] and labels["AU12"].tolist() == ["0", "1"] * 2
    assert labels["note"].tolist() == ["n", "s", "n", "s"] and len(out) == 4
    again = read_real_table(tmp_path / "aligned" / "labels.csv")  # a valid generic table, images present
    for p in again["path"]:
        img = load_rgb(p)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8


def test_merge_refuses_when_nothing_aligned(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame([{"image": "none.jpg", "subject": "1", **dict.fromkeys(AU_COLUMNS, 0)}]).to_csv(table, index=False)
    align_table_shard(table, tmp_path / "s0", tmp_path / "s0.csv", 0, 1, SETTINGS)
    with pytest.raises(ValueError, match="none of its 1 images could be aligned"):
        merge_aligned_table(table, [tmp_path / "s0"], [tmp_path / "s0.csv"], tmp_path / "out", SETTINGS)
    assert (tmp_path / "out" / "align_report.csv").is_file() and not (tmp_path / "out" / "labels.csv").exists()


def test_committed_london_table_matches_the_shared_set(repo, faces_data):
    """config/london_labels.csv: each of the 102 London subjects once neutral (no AU) and once smiling (AU12
    only; docs/fer.md says why AU6 is not labelled), paths relative to fer.real.image_root."""
    t = read_real_table(repo / "config" / "london_labels.csv", image_root=faces_data)
    assert len(t) == 204 and t["subject"].nunique() == 102 and (t.groupby("subject").size() == 2).all()
    smiling = t["expression"] == "smiling"
    assert t["image"][smiling].str.startswith("london/smiling/").all()
    assert (t["AU12"] == smiling.astype(int)).all()
    assert (t[[a for a in AU_COLUMNS if a != "AU12"]] == 0).all().all()
    ids = {p.name[:3] for p in (faces_data / "london" / "neutral").glob("*.jpg")}
    assert set(t["subject"]) == ids
