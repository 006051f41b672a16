"""One reader for the merged synthetic manifest and the face-filter tables (issue 12, item 9).

Every phase that reads ``face_ok`` goes through :func:`synthfer.io.bool_column` (via
:func:`synthfer.synthetic_manifest.read_manifest` / :func:`synthfer.faces.pipeline.read_face_filter`), so
the same file gives the same pool everywhere and a damaged value stops the job with a message.
"""

from __future__ import annotations

import pandas as pd
import pytest

from synthfer.io import bool_column


def _manifest(path, face_ok):
    n = len(face_ok)
    df = pd.DataFrame({
        "name": [f"7_{i:06d}" for i in range(n)], "file": [f"raw/7_{i:06d}.png" for i in range(n)],
        "face_ok": face_ok, "face_reason": ["" if str(v).strip().lower() in ("true", "1", "yes") else "no_face" for v in face_ok],
        "AU1": 0, "AU4": 0, "AU5": 0, "AU6": 1, "AU12": 1, "AU15": 0, "neutral": 0,
    })  # fmt: skip
    df.to_csv(path, index=False)
    return path


def test_bool_column_accepts_what_the_writers_write_and_common_spellings():
    df = pd.DataFrame({"face_ok": ["True", " True ", "false", "FALSE", "1", "0", "yes", " no", "Yes"]})
    assert bool_column(df, "face_ok", "x.csv").tolist() == [True, True, False, False, True, False, True, False, True]
    assert bool_column(pd.DataFrame({"face_ok": [True, False]}), "face_ok", "x.csv").dtype == bool
    assert bool_column(pd.DataFrame({"face_ok": [1, 0]}), "face_ok", "x.csv").tolist() == [True, False]
    assert bool_column(pd.DataFrame({"face_ok": pd.Series([], dtype=object)}), "face_ok", "x.csv").dtype == bool


@pytest.mark.parametrize("bad", ["ok", "", "2", "nan", "truee"])
def test_bool_column_rejects_garbage_naming_file_row_and_value(bad):
    df = pd.DataFrame({"face_ok": ["True", "False", bad]})
    with pytest.raises(ValueError, match=rf"m\.csv: row 3 \(line 4\): column face_ok has '{bad}'"):
        bool_column(df, "face_ok", "m.csv")


def test_every_manifest_reader_gives_the_same_pool(tmp_path):
    """' True ', 'yes', '1' count as passing in every phase (they did not in all of them)."""
    from synthfer.annotate.labels import read_names
    from synthfer.iqa.batches import make_batches
    from synthfer.report.landing import key_counts
    from synthfer.select.control import face_filtered_pool
    from synthfer.synthetic_manifest import read_manifest

    path = _manifest(tmp_path / "manifest.csv", [" True ", "yes", "1", "False", "no", "0", "TRUE"])
    expect = ["7_000000", "7_000001", "7_000002", "7_000006"]
    man = read_manifest(path)
    assert man["face_ok"].dtype == bool and man.loc[man["face_ok"], "name"].tolist() == expect
    assert read_names(path, "manifest") == expect
    assert face_filtered_pool(path)["name"].tolist() == expect
    make_batches(path, tmp_path / "batches.csv", 512, 1)
    assert sorted(pd.read_csv(tmp_path / "batches.csv")["name"]) == expect
    counts = key_counts(synthetic_manifest=path).set_index("key")["value"]
    assert int(counts["images_face_ok"]) == 4


def test_every_manifest_reader_rejects_garbage(tmp_path):
    from synthfer.annotate.labels import read_names
    from synthfer.iqa.batches import make_batches
    from synthfer.report.landing import key_counts
    from synthfer.select.control import face_filtered_pool

    path = _manifest(tmp_path / "manifest.csv", ["True", "False", "maybe"])
    msg = r"manifest\.csv: row 3 \(line 4\): column face_ok has 'maybe'"
    for read in (lambda: read_names(path, "manifest"), lambda: face_filtered_pool(path),
                 lambda: make_batches(path, tmp_path / "b.csv", 512, 1), lambda: key_counts(synthetic_manifest=path)):  # fmt: skip
        with pytest.raises(ValueError, match=msg):
            read()


def test_face_filter_reader(tmp_path):
    from synthfer.faces.pipeline import FILTER_COLUMNS, read_face_filter

    path = tmp_path / "detections.csv"
    pd.DataFrame([["a", " true", "", "", 1, 0, 0, 1, 1], ["b", "False", "no_face", "", 0, "", "", "", ""]],
                 columns=FILTER_COLUMNS).to_csv(path, index=False)  # fmt: skip
    df = read_face_filter(path)
    assert df["face_ok"].tolist() == [True, False] and df["face_reason"].tolist() == ["", "no_face"]
    pd.DataFrame({"name": ["a"], "face_ok": ["x"], "face_reason": [""]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"detections\.csv: row 1 \(line 2\): column face_ok has 'x'"):
        read_face_filter(path)
