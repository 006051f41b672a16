"""Landmarks, levelling and cropping of one face; detection-only screening.

Alignment (per face):

1. 68 landmarks (iBUG 300-W scheme) from dlib's shape predictor inside the detected box.
2. Eye centres: ``e_L`` = mean of landmarks 36–41 (the eye on the image's left), ``e_R`` = mean of 42–47.
3. In-plane angle ``θ = atan2(e_R.y − e_L.y, e_R.x − e_L.x)`` (degrees, image y pointing down).
4. Similarity transform ``p' = s·R(−θ)·(p − m) + t`` about the eye midpoint ``m``, with
   ``s = (size / crop_scale) / |e_R − e_L|`` and ``t = (size/2, eye_y·size)`` (``crop_basis='iod'``), or
   ``s = size / (crop_scale · max side of the levelled landmark box)`` centred on that box
   (``crop_basis='landmarks'``). In OpenCV's form the 2×3 matrix is ``[[a, b, tx], [−b, a, ty]]``
   with ``a = s·cos θ``, ``b = s·sin θ``.
   A face tilted by more than ``refine_angle`` degrees is first levelled by the first-pass angle and
   detected + landmarked again (the predictor is most accurate on upright faces), then mapped back.
5. Warp (bilinear, edges replicated) to ``size × size``; when ``s < 0.5`` the crop is first taken at
   ``2·size`` and then reduced with area averaging so a high-resolution photo does not alias.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from synthfer.faces.detect import Detection, detect_faces
from synthfer.faces.models import dlib_models
from synthfer.faces.settings import FaceSettings

LEFT_EYE = slice(36, 42)  # the eye on the image's left (the subject's right eye)
RIGHT_EYE = slice(42, 48)


@dataclass
class AlignResult:
    """Outcome of :func:`align_face` for one image (``crop`` is None when ``status != 'ok'``)."""

    status: str  # "ok" or "rejected"
    reason: str = ""  # "" when ok; else no_face, multiple_faces, landmarks_failed, …
    detector: str = ""
    n_faces: int = 0
    box: tuple[float, float, float, float] | None = None  # x, y, w, h in source pixels
    landmarks: np.ndarray | None = None  # (68, 2) float, source pixels
    angle: float = float("nan")  # degrees; positive = the image-right eye is lower
    left_eye: tuple[float, float] | None = None  # source pixels
    right_eye: tuple[float, float] | None = None
    matrix: np.ndarray | None = None  # (2, 3) source → crop
    crop: np.ndarray | None = None  # (size, size, 3) uint8
    crop_left_eye: tuple[float, float] | None = None
    crop_right_eye: tuple[float, float] | None = None
    outside_frac: float = float("nan")  # share of crop pixels that fell outside the source image
    extra: dict = field(default_factory=dict)


@dataclass
class DetectResult:
    """Outcome of :func:`detect_only` (the synthetic face filter's row)."""

    face_ok: bool
    face_reason: str
    detector: str
    n_faces: int
    box: tuple[float, float, float, float] | None


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means of landmarks 36–41 and 42–47 (image-left eye, image-right eye)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return lm[LEFT_EYE].mean(axis=0), lm[RIGHT_EYE].mean(axis=0)


def eye_angle(left_eye, right_eye) -> float:
    """In-plane angle of the eye line in degrees (0 = level; positive = right eye lower, y down)."""
    return math.degrees(math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))


def alignment_matrix(
    left_eye, right_eye, settings: FaceSettings, landmarks: np.ndarray | None = None
) -> np.ndarray:
    """The 2×3 similarity matrix source → crop described in the module docstring."""
    le, re = np.asarray(left_eye, dtype=np.float64), np.asarray(right_eye, dtype=np.float64)
    theta = math.radians(eye_angle(le, re))
    mid = (le + re) / 2.0
    rot = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    if settings.crop_basis == "iod":
        iod = float(np.linalg.norm(re - le))
        s = settings.target_iod / iod
        target = np.array([settings.size / 2.0, settings.eye_y * settings.size])
        lin = s * rot
        t = target - lin @ mid
    else:
        if landmarks is None:
            raise ValueError("crop_basis='landmarks' needs the landmarks")
        q = (np.asarray(landmarks, dtype=np.float64) - mid) @ rot.T  # levelled, about the midpoint
        lo, hi = q.min(axis=0), q.max(axis=0)
        side = settings.crop_scale * float(max(hi - lo))
        s = settings.size / side
        centre_q = (lo + hi) / 2.0
        lin = s * rot
        t = settings.size / 2.0 - s * centre_q - lin @ mid
    return np.concatenate([lin, t[:, None]], axis=1)


def apply_matrix(matrix: np.ndarray, points) -> np.ndarray:
    """Map ``(N, 2)`` points with a 2×3 affine matrix."""
    p = np.atleast_2d(np.asarray(points, dtype=np.float64))
    return p @ matrix[:, :2].T + matrix[:, 2]


def warp_crop(rgb: np.ndarray, matrix: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """``(crop, outside_frac)``: warp ``rgb`` by ``matrix`` to ``size``², area-averaging big reductions."""
    import cv2

    scale = math.hypot(matrix[0, 0], matrix[0, 1])
    if scale < 0.5:
        # Take the crop at k·size (k = 2 / scale ≥ 4 … ) then reduce with INTER_AREA. Pixel centres:
        # resize maps x_final ↦ (x_final + 0.5)·k − 0.5, so the big crop's matrix is k·M shifted.
        big = int(round(size * min(1.0 / scale, 8.0)))
        k = big / size
        m_big = matrix * k
        m_big[:, 2] += 0.5 * k - 0.5
        crop = cv2.warpAffine(rgb, m_big, (big, big), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    else:
        crop = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(
        np.ones(rgb.shape[:2], np.uint8), matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=0
    )
    return np.ascontiguousarray(crop), float(1.0 - inside.mean())


def landmarks_68(rgb: np.ndarray, box, settings: FaceSettings, det: Detection | None = None) -> np.ndarray:
    """68 landmarks (source pixels) inside ``box`` (x, y, w, h in source pixels)."""
    import dlib

    _, predictor = dlib_models(settings.predictor)
    img, f = rgb, 1.0
    if det is not None and det.factor > 1.0 and det.work is not None:
        img, f = det.work, det.factor  # small image: landmark on the enlarged copy
    x, y, w, h = (v * f for v in box)
    rect = dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h)))
    shape = predictor(img, rect)
    pts = np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)
    return pts / f


def rotate_expand(rgb: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate ``rgb`` by ``angle_deg`` (counter-clockwise as seen) about its centre onto an enlarged
    canvas so nothing is cut off (edges replicated). Returns the image and the 2×3 matrix used."""
    import cv2

    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(math.ceil(h * s + w * c)), int(math.ceil(h * c + w * s))
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    out = cv2.warpAffine(rgb, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, m


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine matrix."""
    lin_inv = np.linalg.inv(matrix[:, :2])
    return np.concatenate([lin_inv, (-lin_inv @ matrix[:, 2])[:, None]], axis=1)


def _refine_levelled(rgb: np.ndarray, lm: np.ndarray, angle: float, box, settings: FaceSettings) -> np.ndarray:
    """Second pass for tilted faces: level the image by ``angle`` (the current eye-angle estimate), detect and landmark
    again (the regression-tree predictor starts from an upright mean shape, so it is most accurate on
    a level face) and map the landmarks back. Keeps the first pass when the levelled image has no face."""
    img, m = rotate_expand(rgb, angle)
    det = detect_faces(img, settings)
    if det.n_faces == 0:
        return lm
    centre = apply_matrix(m, [(box[0] + box[2] / 2.0, box[1] + box[3] / 2.0)])[0]
    best = min(det.boxes, key=lambda b: float(np.hypot(b[0] + b[2] / 2 - centre[0], b[1] + b[3] / 2 - centre[1])))
    lm2 = landmarks_68(img, best, settings, det)
    return apply_matrix(invert_affine(m), lm2)


def align_face(rgb: np.ndarray, settings: FaceSettings | None = None) -> AlignResult:
    """Detect, landmark, level and crop the face in one ``(H, W, 3)`` uint8 RGB array.

    Returns an :class:`AlignResult`; never raises for "no face" (``status='rejected'`` with a reason).
    """
    settings = settings or FaceSettings()
    det = detect_faces(rgb, settings)
    res = AlignResult(status="rejected", detector=det.detector, n_faces=det.n_faces)
    if det.n_faces == 0:
        res.reason = "no_face"
        return res
    if det.n_faces > 1 and settings.multi_face == "reject":
        res.reason = "multiple_faces"
        res.box = det.boxes[0]
        return res
    res.box = det.boxes[0]
    lm = landmarks_68(rgb, res.box, settings, det)
    le, re = eye_centres(lm)
    if settings.refine_angle and abs(eye_angle(le, re)) > settings.refine_angle:
        # Re-level until the estimate agrees (within 1°) with the angle the image was levelled by.
        levelled_by = None
        for _ in range(3):
            a = eye_angle(le, re)
            if levelled_by is not None and abs(a - levelled_by) <= 1.0:
                break
            lm = _refine_levelled(rgb, lm, a, res.box, settings)
            le, re = eye_centres(lm)
            levelled_by = a
    res.landmarks = lm
    res.left_eye, res.right_eye = (float(le[0]), float(le[1])), (float(re[0]), float(re[1]))
    res.angle = eye_angle(le, re)
    iod = float(np.linalg.norm(re - le))
    # The predictor always returns 68 points; eyes closer than 15 % or wider than 90 % of the box
    # mean it latched onto something that is not a frontal face.
    if not 0.15 * res.box[2] <= iod <= 0.9 * res.box[2] or abs(res.angle) > 60:
        res.reason = "landmarks_failed"
        return res
    m = alignment_matrix(le, re, settings, lm)
    res.matrix = m
    res.crop, res.outside_frac = warp_crop(rgb, m, settings.size)
    ce = apply_matrix(m, [le, re])
    res.crop_left_eye = (float(ce[0, 0]), float(ce[0, 1]))
    res.crop_right_eye = (float(ce[1, 0]), float(ce[1, 1]))
    res.status = "ok"
    return res


def detect_only(rgb: np.ndarray, settings: FaceSettings | None = None) -> DetectResult:
    """Face screening without landmarks or crop (generated images; small ones are enlarged first).

    ``face_ok`` is True when at least one face is found and, under ``multi_face='reject'``, only one.
    """
    settings = settings or FaceSettings()
    det = detect_faces(rgb, settings)
    if det.n_faces == 0:
        return DetectResult(False, "no_face", det.detector, 0, None)
    if det.n_faces > 1 and settings.multi_face == "reject":
        return DetectResult(False, "multiple_faces", det.detector, det.n_faces, det.boxes[0])
    return DetectResult(True, "", det.detector, det.n_faces, det.boxes[0])
