"""The DISFA importer on a fixture in DISFA's layout: OpenCV-written videos + per-AU label files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthfer import AU_COLUMNS
from synthfer.fer.disfa import find_subjects, import_disfa, read_au_labels, sample_frames
from synthfer.imaging import load_rgb

N_FRAMES = 24


def _frame(n: int) -> np.ndarray:
    """Frame n (1-based) is a flat grey of level 8·n: the importer's choice can be read back."""
    return np.full((48, 64, 3), 8 * n, dtype=np.uint8)


def _intensity(subject: int, au: int, frame: int) -> int:
    return (frame * (au + 1) + subject) % 6  # 0..5, every level present


@pytest.fixture
def disfa(tmp_path):
    import cv2

    root = tmp_path / "DISFA"
    (root / "Videos_RightCamera").mkdir(parents=True)
    (root / "Videos_LeftCamera").mkdir()
    for s in (1, 2):
        subj = f"SN{s:03d}"
        for cam in ("Right", "Left"):
            path = root / f"Videos_{cam}Camera" / f"{cam}Video{subj}_comp.avi"
            w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (64, 48))
            assert w.isOpened()
            for n in range(1, N_FRAMES + 1):
                w.write(cv2.cvtColor(_frame(n) if cam == "Right" else 255 - _frame(n), cv2.COLOR_RGB2BGR))
            w.release()
        lab = root / "ActionUnit_Labels" / subj
        lab.mkdir(parents=True)
        for j, au in enumerate(["1", "2", "4", "5", "6", "9", "12", "15", "17", "20", "25", "26"]):
            (lab / f"{subj}_au{au}.txt").write_text("".join(f"{n},{_intensity(s, j, n)}\n" for n in range(1, N_FRAMES + 1)))
    # a subject with a video but no labels is skipped with a warning
    (root / "Videos_RightCamera" / "RightVideoSN099_comp.avi").write_bytes(b"")
    return root


def _centre_crop(rgb):
    """Stand-in for the faces phase (fixture frames hold no face); rejects the brightest frames."""
    if rgb.mean() > 8 * 22:
        return None, "no_face"
    return np.ascontiguousarray(rgb[8:40, 16:48]), ""


def test_import_layout_labels_and_frames(disfa, tmp_path):
    out = tmp_path / "out"
    table = import_disfa(disfa, out, camera="right", frames=6, threshold=2, crop=_centre_crop, seed=1)
    assert list(table.columns[:9]) == ["image", "subject", "frame", *AU_COLUMNS]
    written = pd.read_csv(out / "labels.csv", dtype={"subject": str})
    assert written.equals(table.astype(written.dtypes.to_dict()))
    assert sorted(set(table["subject"])) == ["SN001", "SN002"]
    report = pd.read_csv(out / "import_report.csv", keep_default_na=False)
    # uniform sampling of 6 of 24 frames: 1, 6, 10, 15, 19, 24; frame 24 (level 192) fails the crop
    assert sorted(report[report["subject"] == "SN001"]["frame"]) == [1, 6, 10, 15, 19, 24]
    assert report.query("frame == 24")["reason"].unique().tolist() == ["no_face"]
    assert len(table) == 10
    au_index = {"AU1": 0, "AU4": 2, "AU5": 3, "AU6": 4, "AU12": 6, "AU15": 7}
    for row in table.itertuples():
        s = int(row.subject[2:])
        for au, j in au_index.items():
            assert getattr(row, f"I_{au}") == _intensity(s, j, row.frame)
            assert getattr(row, au) == int(_intensity(s, j, row.frame) >= 2)
        img = load_rgb(out / row.image)
        assert img.shape == (32, 32, 3)
        assert abs(float(img.mean()) - 8 * row.frame) < 6  # the right frame of the right-camera video
        assert row.image == f"images/{row.subject}/{row.subject}_{row.frame:05d}.png"


def test_left_camera_and_threshold(disfa, tmp_path):
    table = import_disfa(disfa, tmp_path / "o", camera="left", frames=3, threshold=5, crop=lambda x: (x[:32, :32], ""))
    assert (table[list(AU_COLUMNS)].to_numpy() == (table[[f"I_{a}" for a in AU_COLUMNS]].to_numpy() >= 5)).all()
    img = load_rgb(tmp_path / "o" / table["image"].iloc[0])
    assert abs(float(img.mean()) - (255 - 8 * table["frame"].iloc[0])) < 6


def test_stratified_sampling_keeps_rare_aus():
    frames = np.arange(1, 301)
    inten = pd.DataFrame(0, index=pd.Index(frames, name="frame"), columns=list(AU_COLUMNS))
    inten.loc[[7, 8, 9, 150, 151], "AU15"] = 3  # rare: 5 of 300 frames
    inten.loc[100:200, "AU12"] = 4
    uni = sample_frames(inten, 14, 2, "uniform")
    strat = sample_frames(inten, 14, 2, "stratified", seed=0)
    assert len(uni) == len(strat) == 14 and len(set(strat)) == 14
    assert (inten.loc[strat, "AU15"] >= 2).sum() == 2 > (inten.loc[uni, "AU15"] >= 2).sum()
    assert np.array_equal(strat, sample_frames(inten, 14, 2, "stratified", seed=0))


def test_layout_errors(disfa, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_subjects(tmp_path / "missing")
    (disfa / "ActionUnit_Labels" / "SN001" / "SN001_au12.txt").unlink()
    with pytest.raises(FileNotFoundError, match="SN001_au12.txt"):
        read_au_labels(disfa / "ActionUnit_Labels" / "SN001", "SN001")
    (disfa / "ActionUnit_Labels" / "SN002" / "SN002_au4.txt").write_text("1,7\n")
    with pytest.raises(ValueError, match="outside 0–5"):
        read_au_labels(disfa / "ActionUnit_Labels" / "SN002", "SN002")


def test_default_crop_is_the_faces_alignment(tmp_path):
    """Demo faces in a DISFA-layout video, cropped by the faces phase's align_face (no crop given)."""
    import cv2

    from synthfer.demo.render import Expression, Identity, render_face

    root = tmp_path / "DISFA"
    (root / "Videos_RightCamera").mkdir(parents=True)
    lab = root / "ActionUnit_Labels" / "SN001"
    lab.mkdir(parents=True)
    ident = Identity.random(np.random.default_rng(3))
    w = cv2.VideoWriter(str(root / "Videos_RightCamera" / "RightVideoSN001_comp.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 20, (256, 256))
    for n in range(3):
        face = render_face(ident, Expression(AU12=0.5 * n), size=256).image
        w.write(cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    w.release()
    for au in ("1", "4", "5", "6", "12", "15"):
        (lab / f"SN001_au{au}.txt").write_text("1,0\n2,2\n3,4\n" if au == "12" else "1,0\n2,0\n3,0\n")
    table = import_disfa(root, tmp_path / "out", frames=3, size=64)
    assert table["AU12"].tolist() == [0, 1, 1] and table["frame"].tolist() == [1, 2, 3]
    assert all(load_rgb(tmp_path / "out" / p).shape == (64, 64, 3) for p in table["image"])


def test_import_disfa_command(disfa, tmp_path):
    """`synthfer import-disfa` runs the importer with the faces phase's crop: the fixture's flat frames hold
    no face, so every frame is reported and the command stops with a clear error."""
    from synthfer.cli import main

    with pytest.raises(ValueError, match="no frame could be imported"):
        main(["import-disfa", "--root", str(disfa), "--out", str(tmp_path / "o"), "--frames", "2", "--size", "64"])
    assert not (tmp_path / "o" / "labels.csv").exists()
    report = pd.read_csv(tmp_path / "o" / "import_report.csv")
    assert len(report) == 4 and set(report["status"]) == {"failed"} and set(report["reason"]) <= {"no_face", "landmarks_failed"}
