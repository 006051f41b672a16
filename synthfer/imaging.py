"""Image reading and writing shared by every phase.

:func:`load_rgb` is the single entry point for reading photographs and generated images. It
decodes with Pillow, honours the EXIF orientation tag, and converts every mode a face photo can
come in (greyscale, palette, RGBA/LA, CMYK JPEG, 16-bit PNG) to 8-bit RGB. Anything it cannot
read raises :class:`ImageReadError` with a short, stable ``reason`` code that manifests record.

:func:`scan_folder` accounts for every entry of an input folder: the images to read and, with a
manifest reason, everything else (another format, a folder, a broken link), so nothing a user put
there vanishes without a row.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from synthfer.io import PathLike, atomic_path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageReadError(Exception):
    """An image that cannot be used. ``reason`` is a short code for manifests
    (``unreadable``, ``truncated``, ``corrupt``, ``too_small``, ``too_large``, ``wrong_size``)."""

    def __init__(self, path: PathLike, reason: str, detail: str = ""):
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


def list_images(folder: PathLike, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (by extension, case-insensitive), sorted by path for determinism."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist or is not a folder")
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))


class FolderEntry(NamedTuple):
    """One entry of a scanned folder: ``reason`` is ``''`` for an image file to read, else the manifest
    reason it is not one (``unsupported_format``, ``not_a_file``, ``unreadable``) with a ``detail``."""

    path: Path
    reason: str
    detail: str


def scan_folder(folder: PathLike) -> list[FolderEntry]:
    """Every non-hidden entry of ``folder`` (not recursive), sorted by path, with what it is:

    - ``reason=''``: a file (or a link to one) with an image extension (:data:`IMAGE_EXTENSIONS`);
    - ``not_a_file``: a folder (also one named ``x.jpg``), a link to one, a socket, a device …;
    - ``unreadable``: a symbolic link whose target does not exist, or an entry that cannot be examined;
    - ``unsupported_format``: a file of any other type (GIF, HEIC, a README …).

    Hidden entries (name starting with ``.``) are skipped: editors, file browsers and sync tools
    leave them, and they were never photographs.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist or is not a folder")
    entries = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        try:
            if p.is_symlink() and not p.exists():
                entries.append(FolderEntry(p, "unreadable", f"broken symbolic link to {os.readlink(p)}"))
            elif p.is_dir():
                entries.append(FolderEntry(p, "not_a_file", "a folder (folders are not searched)"))
            elif not p.is_file():
                entries.append(FolderEntry(p, "not_a_file", "not a regular file (a socket, pipe or device)"))
            elif p.suffix.lower() not in IMAGE_EXTENSIONS:
                kind = f"{p.suffix.lower()} files" if p.suffix else "files without an extension"
                entries.append(FolderEntry(p, "unsupported_format", f"{kind} are not read (use {', '.join(IMAGE_EXTENSIONS)})"))
            else:
                entries.append(FolderEntry(p, "", ""))
        except OSError as exc:  # e.g. a permission denied on stat
            entries.append(FolderEntry(p, "unreadable", str(exc)[:200]))
    return entries


def load_rgb(
    path: PathLike,
    min_side: int | None = None,
    max_side: int | None = None,
    expect_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read ``path`` as an ``(H, W, 3)`` uint8 RGB array.

    - EXIF orientation is applied (a phone photo stored sideways comes out upright).
    - Greyscale/palette → RGB by replication; RGBA/LA → alpha dropped (composited on black);
      CMYK → RGB by Pillow's ICC-less conversion; 16-bit → 8-bit by ``round(v / 257)``.
    - A PNG's chunk checksums (CRC-32) are verified first: a PNG with a broken checksum is ``corrupt``
      even where its pixels would still decode (Pillow skips the image-data checksums while decoding).
    - ``min_side`` / ``max_side`` bound the shorter / longer side *after* orientation;
      ``expect_size`` = ``(height, width)`` demands an exact size.

    Raises :class:`ImageReadError` (never a bare Pillow exception).
    """
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    path = Path(path)
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format == "PNG":
                    _verify_png_checksums(path)
                im.load()
                im = ImageOps.exif_transpose(im)
                arr = _to_rgb8(im)
    except FileNotFoundError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageReadError(path, "unreadable", "not an image file Pillow can identify") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(path, "too_large", str(exc)) from exc
    except OSError as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "unreadable"
        raise ImageReadError(path, reason, str(exc)) from exc
    except (ValueError, SyntaxError) as exc:
        raise ImageReadError(path, "unreadable", str(exc)) from exc
    h, w = arr.shape[:2]
    if min_side is not None and min(h, w) < min_side:
        raise ImageReadError(path, "too_small", f"{w}x{h} px, shorter side must be >= {min_side}")
    if max_side is not None and max(h, w) > max_side:
        raise ImageReadError(path, "too_large", f"{w}x{h} px, longer side must be <= {max_side}")
    if expect_size is not None and (h, w) != tuple(expect_size):
        raise ImageReadError(path, "wrong_size", f"{w}x{h} px, expected {expect_size[1]}x{expect_size[0]}")
    return arr


def _verify_png_checksums(path: Path) -> None:
    """Raise ``corrupt`` when a chunk's CRC-32 does not match its bytes (other damage is left to decoding)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
    except (SyntaxError, OSError) as exc:
        if "checksum" in str(exc).lower():
            raise ImageReadError(path, "corrupt", f"PNG chunk checksum (CRC) mismatch: {exc}") from exc


def _to_rgb8(im) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        scale = 257.0 if a.max(initial=0) <= 65535 else a.max() / 255.0
        a = np.clip(np.rint(a / scale), 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if mode == "F":
        a = np.clip(np.rint(np.asarray(im, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        a = np.asarray(im, dtype=np.float32)
        rgb = a[..., :3] * (a[..., 3:4] / 255.0)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if mode != "RGB":
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


IMAGE_SUFFIXES = {"png": ".png", "jpeg": ".jpg"}


def save_image(path: PathLike, rgb: np.ndarray, image_format: str = "png", jpeg_quality: int = 90) -> Path:
    """Write a uint8 RGB/grey array as ``png`` (lossless) or ``jpeg`` (baseline, 4:2:0, ``jpeg_quality``
    1–100, about 5× smaller for faces; for pages a human looks at, not for pixels a metric reads), atomically."""
    from PIL import Image

    if image_format == "png":
        return save_png(path, rgb)
    if image_format != "jpeg":
        raise ValueError(f"{path}: unknown image format {image_format!r} (use 'png' or 'jpeg')")
    if rgb.dtype != np.uint8:
        raise TypeError(f"{path}: save_image expects uint8, got {rgb.dtype}")
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="JPEG", quality=int(jpeg_quality))
    return Path(path)


def save_png(path: PathLike, rgb: np.ndarray, compress_level: int = 6) -> Path:
    """Write an ``(H, W, 3)`` or ``(H, W)`` uint8 array as PNG, atomically."""
    from PIL import Image

    if rgb.dtype != np.uint8:
        raise TypeError(f"{path}: save_png expects uint8, got {rgb.dtype}")
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG", compress_level=compress_level)
    return Path(path)
