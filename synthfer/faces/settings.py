"""Settings of the faces phase (one dataclass, filled from the ``faces`` config section)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class FaceSettings:
    """Detection, landmarking and cropping parameters (see ``config/schema/faces.schema.yaml``).

    Crop geometry (``crop_basis='iod'``): after levelling, the crop side is ``crop_scale`` × the
    inter-ocular distance (distance between the eye centres, each the mean of landmarks 36–41 and
    42–47), the eye midpoint sits at ``(size/2, eye_y·size)``; so the eye distance in the crop is
    ``size / crop_scale`` px. ``crop_basis='landmarks'``: the side is ``crop_scale`` × the larger
    side of the (levelled) 68-landmark box, centred on that box.
    """

    size: int = 256
    crop_basis: str = "iod"
    crop_scale: float = 3.2
    eye_y: float = 0.40
    upsample: int = 1
    refine_angle: float = 5.0
    detect_max_side: int = 1024
    upscale_to: int = 256
    haar_fallback: bool = True
    haar_scale_factor: float = 1.1
    haar_min_neighbors: int = 5
    haar_verify_eyes: bool = True
    min_face_frac: float = 0.08
    multi_face: str = "largest"
    min_side: int = 64
    max_side: int = 8000
    predictor: str | None = None

    def __post_init__(self) -> None:
        if self.crop_basis not in ("iod", "landmarks"):
            raise ValueError(f"faces.crop_basis must be 'iod' or 'landmarks', got {self.crop_basis!r}")
        if self.multi_face not in ("largest", "reject"):
            raise ValueError(f"faces.multi_face must be 'largest' or 'reject', got {self.multi_face!r}")
        if self.size < 16 or self.crop_scale <= 0 or not 0 < self.eye_y < 1:
            raise ValueError(f"faces: bad crop geometry size={self.size} crop_scale={self.crop_scale} eye_y={self.eye_y}")

    @property
    def target_iod(self) -> float:
        """Eye distance in the crop (px) when ``crop_basis == 'iod'``."""
        return self.size / self.crop_scale

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any] | None) -> FaceSettings:
        """Build from a dict (a config section or rule params); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(params or {}).items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
