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


# ---- issue 22 item 8: leak guards ----


def _photo(path, value: int, size: int = 8):
    import numpy as np

    from synthfer.imaging import save_png

    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(path, np.full((size, size, 3), value, np.uint8))
    return path


def test_table_rows_refuse_one_photo_under_two_subjects_conflicts_and_duplicates(tmp_path):
    for i in range(4):
        _photo(tmp_path / f"p{i}.png", 10 * i)
    table = tmp_path / "t.csv"
    base = {c: 0 for c in AU_COLUMNS}
    cases = {
        "2 subjects": ([{"image": "p0.png", "subject": "S1", **base}, {"image": "p1.png", "subject": "S1", **base},
                        {"image": "p0.png", "subject": "S2", **base}], ["'p0.png'", "row 2 (subject S1)", "row 4 (subject S2)"]),
        "conflicting labels": ([{"image": "p0.png", "subject": "S1", **base},
                                {"image": "p0.png", "subject": "S1", **base, "AU12": 1}], ["conflicting labels in rows 2, 3"]),
        "duplicate rows": ([{"image": "p1.png", "subject": "S1", **base}, {"image": "p2.png", "subject": "S1", **base},
                            {"image": "p1.png", "subject": "S1", **base}], ["rows 2, 4 are the same row"]),
    }  # fmt: skip
    for name, (rows, needles) in cases.items():
        pd.DataFrame(rows).to_csv(table, index=False)
        with pytest.raises(ConfigError) as err:  # at parse time
            check_real_data(_fer(table=str(table)))
        assert "config key 'fer.real.table'" in str(err.value) and all(n in str(err.value) for n in needles), name
        from synthfer.fer.data import read_real_table

        with pytest.raises(ValueError) as err:  # and when a job reads the table
            read_real_table(table)
        assert all(n in str(err.value) for n in needles) and "Fix:" in str(err.value), name
    pd.DataFrame([{"image": f"p{i}.png", "subject": f"S{i}", **base} for i in range(4)]).to_csv(table, index=False)
    check_real_data(_fer(table=str(table)))


def test_byte_identical_images_under_different_names_are_refused(tmp_path):
    from synthfer.fer.data import read_real_table

    _photo(tmp_path / "a.png", 10)
    _photo(tmp_path / "b.png", 20)
    (tmp_path / "copy_of_a.png").write_bytes((tmp_path / "a.png").read_bytes())
    table = _table(tmp_path / "t.csv", ["a.png", "b.png", "copy_of_a.png"], ["S1", "S2", "S3"])
    with pytest.raises(ValueError) as err:
        read_real_table(table)
    msg = str(err.value)
    assert "row 2 (a.png, subject S1)" in msg and "row 4 (copy_of_a.png, subject S3)" in msg and "identical bytes" in msg
    assert len(read_real_table(table, check_files=False)) == 3  # fold table: names only


def _fer_with(table, **extra) -> dict:
    return {"real": {"source": "table", "table": str(table), "image_root": None, "align": False,
                     "disfa": {"root": "data/disfa", "camera": "right"}}, **extra}


def test_gan_photos_sharing_a_file_or_subject_with_the_fer_images_are_refused(tmp_path):
    from synthfer.fer.checks import check_gan_fer_overlap

    fer_dir, gan_dir = tmp_path / "fer", tmp_path / "gan"
    _photo(fer_dir / "london" / "001_08.jpg", 50)
    _photo(fer_dir / "london" / "002_08.jpg", 60)
    table = _table(fer_dir / "t.csv", ["london/001_08.jpg", "london/002_08.jpg"], ["001", "002"])
    # same bytes under another name
    (gan_dir).mkdir()
    (gan_dir / "portrait.jpg").write_bytes((fer_dir / "london" / "002_08.jpg").read_bytes())
    _photo(gan_dir / "other.jpg", 70)
    with pytest.raises(ConfigError) as err:
        check_gan_fer_overlap(str(gan_dir), _fer_with(table))
    msg = str(err.value)
    assert "same bytes" in msg and "portrait.jpg" in msg and "002_08.jpg" in msg and "fer.allow_overlap: true" in msg
    # the same person (file stem 1_03 → subject 001), different bytes
    (gan_dir / "portrait.jpg").unlink()
    _photo(gan_dir / "1_03.jpg", 90)
    with pytest.raises(ConfigError, match=r"same subject: GAN photo .*1_03.jpg and FER subject '001'"):
        check_gan_fer_overlap(str(gan_dir), _fer_with(table))
    # opted out, a real_only run (the GAN never reaches the classifier), a workflow output folder: no error
    check_gan_fer_overlap(str(gan_dir), _fer_with(table, allow_overlap=True))
    check_gan_fer_overlap(str(gan_dir), _fer_with(table), synthetic=False)
    check_gan_fer_overlap("results/demo/real", _fer_with(table))
    # disjoint people: passes
    (gan_dir / "1_03.jpg").unlink()
    check_gan_fer_overlap(str(gan_dir), _fer_with(table))


def test_gan_photos_against_disfa_subjects(tmp_path):
    from synthfer.fer.checks import check_gan_fer_overlap

    root = tmp_path / "disfa"
    (root / "Videos_RightCamera").mkdir(parents=True)
    (root / "ActionUnit_Labels" / "SN001").mkdir(parents=True)
    _photo(tmp_path / "gan" / "SN001_00010.png", 5)
    fer = {"real": {"source": "disfa", "table": None, "image_root": None, "align": False,
                    "disfa": {"root": str(root), "camera": "right"}}}
    with pytest.raises(ConfigError, match="FER subject 'SN001'"):
        check_gan_fer_overlap(str(tmp_path / "gan"), fer)


def test_london_config_gan_photos_are_other_people(faces_data, repo):
    """config/london.yaml: the GAN's folder (Canada set) holds no FER subject and no FER photograph (London set);
    the old setting (both at the London photographs) is refused."""
    import yaml

    from synthfer.fer.checks import check_gan_fer_overlap

    cfg = yaml.safe_load((repo / "config" / "london.yaml").read_text())
    assert not cfg["fer"].get("allow_overlap", False)
    prefix = "../shared/data/faces"
    assert cfg["real_images"]["folder"].startswith(prefix) and cfg["fer"]["real"]["image_root"] == prefix
    fer = {**cfg["fer"], "real": {**cfg["fer"]["real"], "table": str(repo / cfg["fer"]["real"]["table"]),
                                   "image_root": str(faces_data)}}  # fmt: skip
    check_gan_fer_overlap(str(faces_data / cfg["real_images"]["folder"][len(prefix) + 1 :]), fer)
    with pytest.raises(ConfigError, match="same file: .*001_03.jpg is a GAN photo and a FER image"):
        check_gan_fer_overlap(str(faces_data / "london" / "neutral"), fer)
