"""Training images: NVIDIA's dataset format (writer and reader) and the in-memory training set.

Format (as written by the official ``dataset_tool.py``, so the official trainer accepts our file):
an uncompressed ZIP (``ZIP_STORED``) holding ``00000/img00000000.png`` … (8-digit running index; the
folder is the first 5 digits), uncompressed PNG, all images the same power-of-two square size, RGB;
``dataset.json`` at the root = ``{"labels": null}`` (unconditional). We add ``synthfer.json`` with the
source file of every entry (``{"sources": {"00000/img00000000.png": "<stem>.png", ...}}``); the official
loader ignores it (it reads only image files and dataset.json).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from synthfer.imaging import ImageReadError, list_images, load_rgb
from synthfer.io import PathLike, atomic_path, provenance
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

RESIZE_FILTERS = ("lanczos", "box")


def _fixed_time(name: str) -> zipfile.ZipInfo:
    """A ZIP entry with a fixed timestamp, so the same crops give a byte-identical dataset.zip."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def archive_name(index: int) -> str:
    """``00000/img00000000.png`` for index 0 (the official naming)."""
    s = f"{index:08d}"
    return f"{s[:5]}/img{s}.png"


def resize_square(rgb: np.ndarray, resolution: int, resize_filter: str = "lanczos") -> np.ndarray:
    """Resize an RGB uint8 image to ``resolution²`` with PIL's Lanczos or box filter."""
    from PIL import Image

    if resize_filter not in RESIZE_FILTERS:
        raise ValueError(f"resize_filter must be one of {RESIZE_FILTERS}, not {resize_filter!r}")
    if rgb.shape[0] == resolution and rgb.shape[1] == resolution:
        return rgb
    flt = Image.Resampling.LANCZOS if resize_filter == "lanczos" else Image.Resampling.BOX
    return np.asarray(Image.fromarray(rgb).resize((resolution, resolution), flt), dtype=np.uint8)


def build_dataset_zip(
    crops_dir: PathLike, out_zip: PathLike, resolution: int, resize_filter: str = "lanczos", min_images: int = 1
) -> dict:
    """Write the crops in ``crops_dir`` (square RGB images, sorted by name) to ``out_zip`` in NVIDIA's format.

    Images that cannot be read, or are not square, are skipped and listed in the log; fewer than
    ``min_images`` usable images is an error. Returns a summary dict (counts, resolution).
    """
    from PIL import Image

    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"gan resolution must be a power of two >= 4, got {resolution}")
    files = list_images(crops_dir)
    progress = Progress(log, len(files), "dataset images")
    sources: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    with atomic_path(out_zip) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for path in files:
                try:
                    rgb = load_rgb(path)
                    if rgb.shape[0] != rgb.shape[1]:
                        raise ImageReadError(
                            path, "wrong_size", f"{rgb.shape[1]}x{rgb.shape[0]} px, crops must be square"
                        )
                except ImageReadError as exc:
                    skipped.append((path.name, exc.reason))
                    log.warning("skipping %s", exc)
                    progress.update()
                    continue
                rgb = resize_square(rgb, resolution, resize_filter)
                name = archive_name(len(sources))
                buf = io.BytesIO()
                Image.fromarray(rgb).save(buf, format="PNG", compress_level=0, optimize=False)
                zf.writestr(_fixed_time(name), buf.getvalue())
                sources[name] = path.name
                progress.update()
            if len(sources) < min_images:
                raise ValueError(f"{crops_dir}: only {len(sources)} usable images, need at least {min_images}")
            zf.writestr(_fixed_time("dataset.json"), json.dumps({"labels": None}))
            zf.writestr(
                _fixed_time("synthfer.json"),
                json.dumps(
                    {
                        "sources": sources,
                        "resolution": resolution,
                        "resize_filter": resize_filter,
                        "provenance": provenance(),
                    }
                ),
            )
    log.info("wrote %s: %d images at %d², %d skipped", out_zip, len(sources), resolution, len(skipped))
    return {"images": len(sources), "skipped": skipped, "resolution": resolution}


def load_dataset(path: PathLike) -> np.ndarray:
    """Read an NVIDIA-format dataset (``.zip`` or folder) → uint8 ``[N, 3, H, W]`` (sorted by name).

    Every image must be RGB (greyscale is replicated), square, power-of-two and share one size.
    """
    path = Path(path)
    images: list[np.ndarray] = []
    if path.is_dir():
        files = list_images(path, recursive=True)
        names = [str(p.relative_to(path)) for p in files]
        for f in files:
            images.append(load_rgb(f))
    elif path.is_file():
        from PIL import Image

        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist() if n.lower().endswith((".png", ".jpg", ".jpeg")))
            for n in names:
                with zf.open(n) as fh, Image.open(fh) as im:
                    images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    else:
        raise FileNotFoundError(f"dataset {path} does not exist")
    if not images:
        raise ValueError(f"dataset {path} holds no images")
    shape = images[0].shape
    for n, im in zip(names, images, strict=True):
        if im.shape != shape:
            raise ValueError(f"dataset {path}: {n} is {im.shape[1]}x{im.shape[0]}, expected {shape[1]}x{shape[0]}")
    h = shape[0]
    if shape[0] != shape[1] or h < 4 or h & (h - 1):
        raise ValueError(
            f"dataset {path}: images are {shape[1]}x{shape[0]}; they must be square with a power-of-two side"
        )
    return np.stack(images).transpose(0, 3, 1, 2).copy()


class InfiniteSampler:
    """Deterministic endless shuffled order: epoch e is ``RandomState(seed + e).permutation(n)``.

    Its whole state is ``(epoch, pos)``, so a resumed run draws exactly the same images.
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.epoch, self.pos = 0, 0
        self._perm = np.random.RandomState(seed).permutation(n)

    def next(self, k: int) -> np.ndarray:
        out = []
        while k > 0:
            take = min(k, self.n - self.pos)
            out.append(self._perm[self.pos : self.pos + take])
            self.pos += take
            k -= take
            if self.pos == self.n:
                self.epoch += 1
                self.pos = 0
                self._perm = np.random.RandomState((self.seed + self.epoch) % 2**32).permutation(self.n)
        return np.concatenate(out)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._perm = np.random.RandomState((self.seed + self.epoch) % 2**32).permutation(self.n)
