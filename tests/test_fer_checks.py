"""Parse-time checks of the FER inputs (synthfer.fer.checks) and of local weight files
(synthfer.config.check_weight_files): each problem gives one message naming the key and the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.config import ConfigError, check_weight_files
from synthfer.fer.checks import check_real_data


def _fer(**real) -> dict:
    base = {"source": "table", "table": None, "image_root": None, "align": False,
            "disfa": {"root": "data/disfa", "camera": "right"}}
    return {"real": {**base, **real}}


def _table(path, images, subjects=None):
    rows = [{"image": im, "subject": (subjects or ["S1"] * len(images))[i], **dict.fromkeys(AU_COLUMNS, 0)}
            for i, im in enumerate(images)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_missing_disfa_folder_points_to_the_generic_table(tmp_path):
    with pytest.raises(ConfigError) as err:
        check_real_data(_fer(source="disfa", disfa={"root": str(tmp_path / "disfa"), "camera": "right"}))
    msg = str(err.value)
    assert "'fer.real.disfa.root'" in msg and "does not exist" in msg
    assert "fer.real.source: table" in msg and "Without DISFA" in msg and "fer.enabled: false" in msg


def test_disfa_folder_without_its_layout(tmp_path):
    (tmp_path / "disfa" / "ActionUnit_Labels").mkdir(parents=True)
    with pytest.raises(ConfigError, match="has no Videos_LeftCamera/ folder"):
        check_real_data(_fer(source="disfa", disfa={"root": str(tmp_path / "disfa"), "camera": "left"}))
    (tmp_path / "disfa" / "videos_leftcamera").mkdir()  # names are matched case-insensitively, like the importer
    check_real_data(_fer(source="disfa", disfa={"root": str(tmp_path / "disfa"), "camera": "left"}))


def test_table_null_or_missing(tmp_path):
    with pytest.raises(ConfigError, match=r"'fer.real.table' is null.*Fix"):
        check_real_data(_fer(table=None))
    with pytest.raises(ConfigError, match=r"'fer.real.table': '.*nowhere.csv' does not exist.*Without DISFA"):
        check_real_data(_fer(table=str(tmp_path / "nowhere.csv")))


def test_table_columns_and_images(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(b"x")
    bad = tmp_path / "bad.csv"
    bad.write_text("image,subject,AU1\nimgs/a.png,S1,0\n")
    with pytest.raises(ConfigError, match="no column.*AU4"):
        check_real_data(_fer(table=str(bad)))
    table = _table(tmp_path / "t.csv", ["imgs/a.png", "imgs/b.png"])
    with pytest.raises(ConfigError, match=r"1 of the 2 images .* do not exist, e\.g\. .*imgs/b\.png.*image_root"):
        check_real_data(_fer(table=str(table)))
    (tmp_path / "imgs" / "b.png").write_bytes(b"x")
    check_real_data(_fer(table=str(table)))


def test_image_root_moves_the_start_of_relative_paths(tmp_path):
    (tmp_path / "photos" / "x").mkdir(parents=True)
    (tmp_path / "photos" / "x" / "a.jpg").write_bytes(b"x")
    table = _table(tmp_path / "config" / "t.csv", ["x/a.jpg"])
    with pytest.raises(ConfigError, match="do not exist"):
        check_real_data(_fer(table=str(table)))
    check_real_data(_fer(table=str(table), image_root=str(tmp_path / "photos")))
    with pytest.raises(ConfigError, match=r"'fer.real.image_root': folder .* does not exist"):
        check_real_data(_fer(table=str(table), image_root=str(tmp_path / "elsewhere")))


def test_images_the_workflow_writes_are_refused_with_the_align_fix(tmp_path, monkeypatch):
    """The first-run failure: a table of results/faces/real crops raced the faces phase. Now the dry-run says
    so, whether or not the crops exist yet, and names fer.real.align."""
    monkeypatch.chdir(tmp_path)
    table = _table(tmp_path / "labels.csv", ["results/faces/real/a.png"])
    for align in (False, True):
        with pytest.raises(ConfigError, match=r"under results/ that the workflow itself writes.*fer.real.align: true"):
            check_real_data(_fer(table=str(table), align=align))
    check_real_data(_fer(table="results/demo/disfa_like/labels.csv"))  # a workflow output: its job checks it


def test_weight_files(tmp_path):
    weights = tmp_path / "w.h5"
    cfg = {"fer": {"enabled": True, "model": {"weights": str(weights)}},
           "iqa": {"fid": {"inception_weights": str(tmp_path / "inc.pth")}}}
    with pytest.raises(ConfigError) as err:
        check_weight_files(cfg)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("config key 'fer.model.weights': file") and "efficientnetb0_notop.h5" in lines[0]
    assert lines[1].startswith("config key 'iqa.fid.inception_weights': file") and "Fix:" in lines[1]
    weights.write_bytes(b"x")
    (tmp_path / "inc.pth").write_bytes(b"x")
    check_weight_files(cfg)
    check_weight_files({"fer": {"model": {"weights": "imagenet"}}, "gan": {"resume_from": "results/gan/x.pt"}})
    check_weight_files({"fer": {"enabled": False, "model": {"weights": "absent.h5"}}})
    with pytest.raises(ConfigError, match="'gan.resume_from'"):
        check_weight_files({"gan": {"resume_from": str(tmp_path / "snap.pt")}})
