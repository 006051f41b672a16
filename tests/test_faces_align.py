"""Alignment geometry (no detector needed): the similarity matrix, warping, settings, model lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthfer.faces.align import (
    alignment_matrix,
    apply_matrix,
    eye_angle,
    eye_centres,
    invert_affine,
    rotate_expand,
    warp_crop,
)
from synthfer.faces.models import ModelNotFoundError, predictor_path
from synthfer.faces.report import match_ids
from synthfer.faces.settings import FaceSettings


@pytest.mark.parametrize("angle", [-25.0, -7.5, 0.0, 3.0, 25.0])
@pytest.mark.parametrize("iod", [30.0, 120.0])
def test_matrix_puts_eyes_level_at_target(angle, iod):
    s = FaceSettings(size=256, crop_scale=3.2, eye_y=0.4)
    mid = np.array([300.0, 211.0])
    half = iod / 2 * np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    le, re = mid - half, mid + half
    assert eye_angle(le, re) == pytest.approx(angle)
    m = alignment_matrix(le, re, s)
    q = apply_matrix(m, [le, re])
    assert q[0] == pytest.approx([128 - 40, 0.4 * 256], abs=1e-9)
    assert q[1] == pytest.approx([128 + 40, 0.4 * 256], abs=1e-9)


def test_landmark_basis_centres_the_levelled_box():
    s = FaceSettings(size=100, crop_basis="landmarks", crop_scale=2.0)
    rng = np.random.default_rng(0)
    lm = rng.uniform(50, 150, (68, 2))
    le, re = eye_centres(lm)
    m = alignment_matrix(le, re, s, lm)
    q = apply_matrix(m, lm)
    # the levelled landmark box is centred and its larger side is size / crop_scale
    lo, hi = q.min(axis=0), q.max(axis=0)
    assert (lo + hi) / 2 == pytest.approx([50, 50], abs=1e-9)
    assert max(hi - lo) == pytest.approx(50, abs=1e-9)
    ce = apply_matrix(m, [le, re])
    assert ce[0, 1] == pytest.approx(ce[1, 1], abs=1e-9)  # still level


def test_eye_centres_are_landmark_means():
    lm = np.zeros((68, 2))
    lm[36:42] = [[10, 20]] * 6
    lm[42:48] = [[30, 40]] * 6
    lm[36] = [16, 20]
    le, re = eye_centres(lm)
    assert le == pytest.approx([11, 20]) and re == pytest.approx([30, 40])


@pytest.mark.parametrize("src_size", [300, 1400])  # 1400 exercises the area-averaged reduction
def test_warp_crop_moves_marked_points_where_the_matrix_says(src_size):
    img = np.full((src_size, src_size, 3), 40, np.uint8)
    k = src_size / 300
    le, re = np.array([100.0, 150.0]) * k, np.array([190.0, 170.0]) * k
    r = int(4 * k)
    for (x, y), colour in ((le, (255, 0, 0)), (re, (0, 255, 0))):
        img[int(y) - r : int(y) + r + 1, int(x) - r : int(x) + r + 1] = colour
    s = FaceSettings(size=128, crop_scale=3.0)
    m = alignment_matrix(le, re, s)
    crop, outside = warp_crop(img, m, s.size)
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
    for target, ch in ((apply_matrix(m, [le])[0], 0), (apply_matrix(m, [re])[0], 1)):
        # the brightest pixel of the marker's channel is at the predicted place
        chan = crop[..., ch].astype(int) - crop[..., 1 - ch].astype(int)
        y, x = np.unravel_index(np.argmax(chan), chan.shape)
        assert abs(x - target[0]) <= 2 and abs(y - target[1]) <= 2
    assert 0.0 <= outside < 1.0


def test_rotate_expand_and_inverse_round_trip():
    img = np.zeros((80, 120, 3), np.uint8)
    out, m = rotate_expand(img, 25.0)
    assert out.shape[0] > 80 and out.shape[1] > 120  # nothing cut off
    pts = np.array([[0.0, 0.0], [119.0, 79.0], [60.0, 40.0]])
    back = apply_matrix(invert_affine(m), apply_matrix(m, pts))
    assert back == pytest.approx(pts)
    corners = apply_matrix(m, [[0, 0], [120, 0], [0, 80], [120, 80]])
    assert corners.min() >= -1e-6 and corners[:, 0].max() <= out.shape[1] + 1e-6


def test_settings_validate_and_target():
    assert FaceSettings(size=256, crop_scale=3.2).target_iod == pytest.approx(80.0)
    with pytest.raises(ValueError, match="multi_face"):
        FaceSettings(multi_face="all")
    with pytest.raises(ValueError, match="crop_basis"):
        FaceSettings(crop_basis="box")
    s = FaceSettings.from_mapping({"size": 64, "shards": 3, "report_faces": 9})
    assert s.size == 64


def test_predictor_lookup(tmp_path):
    p = predictor_path()
    assert p.name == "shape_predictor_68_face_landmarks.dat" and p.stat().st_size > 50_000_000
    with pytest.raises(ModelNotFoundError, match="faces.predictor"):
        predictor_path(tmp_path / "missing.dat")
    own = tmp_path / "mine.dat"
    own.write_bytes(b"x")
    assert predictor_path(own) == own


def test_metadata_id_matching():
    ids = ["001", "2", "AF-200", "D000-happy"]
    stems = ["001_03", "002_08", "CFD-AF-200-228-N", "D000-happy", "zzz"]
    assert match_ids(stems, ids) == ["1", "2", "AF-200", "D000-happy", None]
