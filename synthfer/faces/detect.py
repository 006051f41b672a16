"""Face detection: dlib's HOG frontal detector, OpenCV's Haar cascade as the fallback.

- HOG + linear SVM sliding window (Dalal & Triggs 2005; dlib's ``get_frontal_face_detector``),
  ``upsample`` pyramid-doublings so faces under ~80 px are found.
- Viola–Jones Haar cascade (Viola & Jones 2001; ``haarcascade_frontalface_default.xml``) on the
  histogram-equalised grey image, only when HOG finds nothing. Its false positives on textures
  are rejected by asking the eye cascade for at least one eye in the upper 60 % of the box
  (``haar_verify_eyes``).

Images are resampled before detection: ones whose shorter side is under ``upscale_to`` are
enlarged to it (generated 64² images), ones whose longer side is over ``detect_max_side`` are
reduced to it (speed); boxes are mapped back to the original pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthfer.faces.models import dlib_models, haar_cascades
from synthfer.faces.settings import FaceSettings


@dataclass
class Detection:
    """Faces found in one image, largest first. ``boxes``: ``(x, y, w, h)`` in original pixels."""

    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    detector: str = ""  # "dlib_hog", "haar" or "" (none found)
    factor: float = 1.0  # work image = original × factor
    work: np.ndarray | None = None  # the resampled image detection ran on

    @property
    def n_faces(self) -> int:
        return len(self.boxes)


def resample_for_detection(rgb: np.ndarray, settings: FaceSettings) -> tuple[np.ndarray, float]:
    """``(work_image, factor)``: enlarge small images to ``upscale_to``, shrink big ones to ``detect_max_side``."""
    import cv2

    h, w = rgb.shape[:2]
    factor = 1.0
    if settings.upscale_to and min(h, w) < settings.upscale_to:
        factor = settings.upscale_to / min(h, w)
        interp = cv2.INTER_CUBIC
    elif settings.detect_max_side and max(h, w) > settings.detect_max_side:
        factor = settings.detect_max_side / max(h, w)
        interp = cv2.INTER_AREA
    if factor == 1.0:
        return rgb, 1.0
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(rgb, size, interpolation=interp), factor


def detect_faces(rgb: np.ndarray, settings: FaceSettings | None = None) -> Detection:
    """Detect faces in an ``(H, W, 3)`` uint8 RGB array (largest first; tiny boxes dropped).

    A box is kept when its side is at least ``min_face_frac`` × the image's shorter side.
    """
    settings = settings or FaceSettings()
    work, factor = resample_for_detection(rgb, settings)
    min_side = settings.min_face_frac * min(work.shape[:2])
    hog, _ = dlib_models(settings.predictor)
    rects = hog(work, settings.upsample)
    boxes = [(r.left(), r.top(), r.width(), r.height()) for r in rects]
    boxes = [b for b in boxes if min(b[2], b[3]) >= min_side]
    detector = "dlib_hog" if boxes else ""
    if not boxes and settings.haar_fallback:
        boxes = _haar(work, settings, min_side)
        detector = "haar" if boxes else ""
    boxes.sort(key=lambda b: -b[2] * b[3])
    orig = [(x / factor, y / factor, bw / factor, bh / factor) for x, y, bw, bh in boxes]
    return Detection(boxes=[tuple(float(v) for v in b) for b in orig], detector=detector, factor=factor, work=work)


def _haar(work: np.ndarray, settings: FaceSettings, min_side: float) -> list[tuple[int, int, int, int]]:
    import cv2

    face_c, eye_c = haar_cascades()
    grey = cv2.equalizeHist(cv2.cvtColor(work, cv2.COLOR_RGB2GRAY))
    m = max(24, int(min_side))
    found = face_c.detectMultiScale(
        grey, scaleFactor=settings.haar_scale_factor, minNeighbors=settings.haar_min_neighbors, minSize=(m, m)
    )
    boxes = [tuple(int(v) for v in b) for b in found]
    if settings.haar_verify_eyes:
        kept = []
        for x, y, w, h in boxes:
            upper = grey[y : y + int(0.6 * h), x : x + w]
            me = max(8, w // 10)
            eyes = eye_c.detectMultiScale(upper, scaleFactor=1.1, minNeighbors=3, minSize=(me, me), maxSize=(w // 2, w // 2))
            if len(eyes) >= 1:
                kept.append((x, y, w, h))
        boxes = kept
    return boxes
