"""Locating and loading the detector and landmark models (cached per process).

dlib's 68-point predictor (``shape_predictor_68_face_landmarks.dat``, iBUG 300-W, Sagonas et al.
2013; Kazemi & Sullivan 2014 regression trees) ships in the ``face-recognition-models`` wheel.
Importing that package needs ``pkg_resources``, so we only *locate* it with
``importlib.util.find_spec`` and read the file next to its ``__init__``.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

PREDICTOR_NAME = "shape_predictor_68_face_landmarks.dat"


class ModelNotFoundError(FileNotFoundError):
    """A model file needed by the faces phase is missing."""


def predictor_path(configured: str | os.PathLike | None = None) -> Path:
    """Path of the 68-landmark model: ``configured`` if given, else the one in face-recognition-models.

    Raises :class:`ModelNotFoundError` naming both places looked at.
    """
    if configured:
        p = Path(configured)
        if not p.is_file():
            raise ModelNotFoundError(f"faces.predictor: {p} does not exist (set it to {PREDICTOR_NAME} or null)")
        return p
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.origin:
        p = Path(spec.origin).parent / "models" / PREDICTOR_NAME
        if p.is_file():
            return p
    raise ModelNotFoundError(
        f"{PREDICTOR_NAME} not found: install face-recognition-models (pip install face-recognition-models) "
        "or set faces.predictor to the .dat file"
    )


@functools.lru_cache(maxsize=4)
def dlib_models(configured: str | None = None):
    """``(hog_detector, shape_predictor)`` for this process."""
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(predictor_path(configured)))


@functools.lru_cache(maxsize=1)
def haar_cascades():
    """``(frontal_face_cascade, eye_cascade)`` from OpenCV's bundled XML files."""
    import cv2

    root = Path(cv2.data.haarcascades)
    face = cv2.CascadeClassifier(str(root / "haarcascade_frontalface_default.xml"))
    eye = cv2.CascadeClassifier(str(root / "haarcascade_eye.xml"))
    if face.empty() or eye.empty():
        raise ModelNotFoundError(f"OpenCV Haar cascades missing under {root} (opencv-python-headless<5 is required)")
    return face, eye
