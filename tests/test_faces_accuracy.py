"""Alignment accuracy on real photographs with hand-placed pupils (the shared London set), rotated
copies, no-face negatives and multi-face photos. Needs the shared data (``faces_data`` fixture:
skipped locally when missing, a failure under CI)."""

from __future__ import annotations

import numpy as np
import pytest

from synthfer.faces.accuracy import evaluate, london_pupils, summarise
from synthfer.faces.align import align_face
from synthfer.faces.settings import FaceSettings
from synthfer.imaging import list_images, load_rgb

# The project's settings (config/config.yaml) except upsample: London faces are ~300 px, far above
# the HOG window, so one pyramid level suffices and the test is 4× faster.
SETTINGS = FaceSettings(upsample=0)


@pytest.fixture(scope="module")
def london(faces_data):
    root = faces_data / "london"
    truth = london_pupils(root)
    assert len(truth) == 102
    return [(r.image, root / r.image, (r.lx, r.ly), (r.rx, r.ry)) for r in truth.itertuples()]


def test_london_pupil_line_level_and_distance_on_target(london):
    df = evaluate(london, SETTINGS)
    s = summarise(df, max_tilt=1.5, max_iod_err=0.05)
    assert s["aligned"] == 1.0, df[df["status"] != "ok"]
    assert s["level"] >= 0.98, s
    assert s["iod_within"] >= 0.98, s


@pytest.mark.parametrize("rotation", [-25.0, -12.0, 12.0, 25.0])
def test_rotated_copies_come_out_level(london, rotation):
    df = evaluate(london[::9], SETTINGS, rotations=[rotation])  # 12 subjects per angle
    s = summarise(df, max_tilt=1.5, max_iod_err=0.05)
    assert s["aligned"] == 1.0 and s["level"] == 1.0 and s["iod_within"] >= 0.9, (s, df)


def test_no_face_photos_give_no_crop(faces_data):
    files = list_images(faces_data / "no_face")
    assert len(files) == 18
    for path in files:
        res = align_face(load_rgb(path), FaceSettings())
        assert res.status == "rejected" and res.reason == "no_face" and res.crop is None, (path.name, res.detector)


def test_the_fox_fools_plain_haar_but_not_the_pipeline(faces_data):
    """The Haar cascade alone (OpenCV defaults) reports a face on the fox; the verified fallback does not."""
    import cv2

    from synthfer.faces.models import haar_cascades

    rgb = load_rgb(faces_data / "no_face" / "fox-715588_640.jpg")
    face_c, _ = haar_cascades()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert len(face_c.detectMultiScale(grey)) >= 1
    assert align_face(rgb, FaceSettings()).reason == "no_face"


@pytest.mark.parametrize("name,n", [("tiled_two_faces.jpg", 2), ("tiled_four_faces.jpg", 4), ("tiled_six_faces.jpg", 6)])
def test_multi_face_policy(faces_data, name, n):
    rgb = load_rgb(faces_data / "wild" / name)
    keep = align_face(rgb, SETTINGS)
    assert keep.status == "ok" and keep.n_faces == n
    areas = []
    from synthfer.faces.detect import detect_faces

    for b in detect_faces(rgb, SETTINGS).boxes:
        areas.append(b[2] * b[3])
    assert keep.box[2] * keep.box[3] == pytest.approx(max(areas))  # the largest face is the one kept
    assert abs(keep.crop_left_eye[1] - keep.crop_right_eye[1]) < 1e-6
    rej = align_face(rgb, FaceSettings(upsample=0, multi_face="reject"))
    assert rej.status == "rejected" and rej.reason == "multiple_faces" and rej.crop is None


def test_group_photo_and_poses(faces_data):
    group = align_face(load_rgb(faces_data / "wild" / "pexels_group.jpeg"), FaceSettings())
    assert group.status == "ok" and group.n_faces >= 2
    for path in list_images(faces_data / "poses"):
        res = align_face(load_rgb(path), FaceSettings())
        assert res.status == "ok", path.name
        assert res.crop.shape == (256, 256, 3)
        assert np.hypot(*np.subtract(res.crop_right_eye, res.crop_left_eye)) == pytest.approx(80.0)
