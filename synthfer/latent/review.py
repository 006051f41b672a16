"""Review material for the human annotator (``results/review/``).

* ``sheets/sheet_{page:04d}.png`` (``.jpg`` with ``image_format='jpeg'``, likewise grids and strips) — contact sheets: ``cols × rows`` faces per page, the seed number
  printed under each face; tile i of page p shows seed ``seed_start + p·cols·rows + i`` (row-major).
  Every tile is ``thumb × (thumb + label_h)`` px, so the page can use a sheet as a CSS sprite.
* ``grids/seed_{seed}.png`` — per-seed edit grid: rows = direction index k, columns = degrees σ
  (additive GANSpace edit, see :mod:`synthfer.latent.directions`), with row/column captions.
* ``strips/strip_{a}_{b}.png`` — linear interpolation in W (after truncation) from seed a to b.
* ``index.html`` — a self-contained page (data inlined, no network, works from ``file://``):
  short instructions, a responsive grid of faces with named AU tick boxes, a larger view (and the
  edit grid where one was rendered) on click, export of the seed-list YAML in the format of
  :func:`synthfer.seeds.spec.format_seed_yaml`, carrying the network's sha256.
  With the annotation assistant (:mod:`synthfer.latent.assistant`), each seed also shows the
  ``real_only`` ensemble's AU probabilities, and the page sorts and filters by them; only ticks are exported.
* ``review.json`` — the same data the page embeds (layout, seeds, files, network, suggestions), for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from synthfer import AU_COLUMNS, AU_DESCRIPTIONS
from synthfer.io import PathLike
from synthfer.latent.options import ReviewOptions, network_record
from synthfer.logs import Progress, get_logger

log = get_logger(__name__)

LABEL_H_FRACTION = 0.18  # caption strip height relative to the thumbnail (min 14 px)


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def label_height(thumb: int) -> int:
    return max(14, int(round(thumb * LABEL_H_FRACTION)))


def _thumbs(images: np.ndarray, thumb: int) -> list:
    from PIL import Image

    out = []
    for img in images:
        im = Image.fromarray(img)
        if im.size != (thumb, thumb):
            im = im.resize((thumb, thumb), Image.LANCZOS)
        out.append(im)
    return out


def contact_sheet(images: np.ndarray, seeds: Sequence[int], cols: int, rows: int, thumb: int) -> np.ndarray:
    """A ``rows × cols`` sheet (uint8 RGB) with each seed number centred under its face."""
    from PIL import Image, ImageDraw

    lh = label_height(thumb)
    sheet = Image.new("RGB", (cols * thumb, rows * (thumb + lh)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = _font(max(10, lh - 4))
    for i, (im, seed) in enumerate(zip(_thumbs(images, thumb), seeds, strict=True)):
        r, c = divmod(i, cols)
        x, y = c * thumb, r * (thumb + lh)
        sheet.paste(im, (x, y))
        draw.text((x + thumb / 2, y + thumb + lh / 2), str(seed), fill=(0, 0, 0), font=font, anchor="mm")
    return np.asarray(sheet)


def labelled_grid(
    cells: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], thumb: int, title: str = ""
) -> np.ndarray:
    """Cells ``[R·C, H, W, 3]`` (row-major) as a grid with row captions left and column captions on top."""
    from PIL import Image, ImageDraw

    R, C = len(row_labels), len(col_labels)
    lh = label_height(thumb)
    font = _font(max(10, lh - 4))
    left = max(3 * lh, max((int(font.getlength(s)) for s in row_labels), default=0) + 8)
    top = lh * (2 if title else 1)
    img = Image.new("RGB", (left + C * thumb, top + R * thumb), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    if title:
        draw.text((4, lh / 2), title, fill=(0, 0, 0), font=font, anchor="lm")
    for c, s in enumerate(col_labels):
        draw.text((left + c * thumb + thumb / 2, top - lh / 2), s, fill=(0, 0, 0), font=font, anchor="mm")
    for r, s in enumerate(row_labels):
        draw.text((left - 4, top + r * thumb + thumb / 2), s, fill=(0, 0, 0), font=font, anchor="rm")
    for i, im in enumerate(_thumbs(cells, thumb)):
        r, c = divmod(i, C)
        img.paste(im, (left + c * thumb, top + r * thumb))
    return np.asarray(img)


def fmt_degree(d: float) -> str:
    """Column caption: the degree in std units (ASCII: Pillow's default font has no σ)."""
    return f"{d:+g}" if d else "0"


def build_review(
    G,
    directions,
    out_dir: PathLike,
    options: ReviewOptions,
    network: dict | None = None,
    suggestions: dict | None = None,
) -> dict:
    """Render sheets, edit grids and strips into ``out_dir`` and write ``index.html`` + ``review.json``.

    ``directions`` is a :class:`synthfer.latent.directions.Directions`; ``options`` says which faces
    (:class:`~synthfer.latent.options.ReviewLayout`) and how they are drawn and written
    (:class:`~synthfer.latent.options.PageOptions`: ``image_format`` ``png`` or ``jpeg`` — at the thesis'
    30,000 seeds the PNG sheets alone are ≈ 700 MB to copy off a cluster). ``network`` = ``{"file",
    "sha256"}`` of the generator (:func:`~synthfer.latent.options.network_record`; exported into the seed
    list, so the plan can refuse seeds reviewed on another network). ``suggestions`` = the annotation
    assistant's probabilities (:func:`synthfer.latent.assistant.page_suggestions`) or None. Returns the
    review data dict.
    """
    import torch

    from synthfer.gan.api import seeds_to_ws, synthesize_ws
    from synthfer.imaging import IMAGE_SUFFIXES, save_image
    from synthfer.io import write_json, write_text

    page = options.page
    if page.image_format not in IMAGE_SUFFIXES:
        raise ValueError(f"latent.review.image_format: {page.image_format!r} is not one of {sorted(IMAGE_SUFFIXES)}")
    ext = IMAGE_SUFFIXES[page.image_format]
    layout = options.layout.resolve(len(directions), G.num_ws)
    thumb, batch_size, noise_mode = page.thumb, page.batch_size, layout.noise_mode

    def save(rel: str, rgb: np.ndarray) -> None:
        save_image(out / rel, rgb, page.image_format, page.jpeg_quality)

    def edited(w0, k: int, d: float):
        return directions.apply(w0, k, d, layout.layer_start, layout.layer_end)

    out = Path(out_dir)
    for sub in ("sheets", "grids", "strips"):  # declared outputs even when empty
        (out / sub).mkdir(parents=True, exist_ok=True)
    per_page = page.cols * page.rows
    seed_count = len(layout.seeds)
    n_pages = (seed_count + per_page - 1) // per_page
    lh = label_height(thumb)
    sheets = []
    progress = Progress(log, seed_count, "review sheet faces")
    for p in range(n_pages):
        seeds = list(layout.seeds[p * per_page : (p + 1) * per_page])
        imgs = synthesize_ws(G, seeds_to_ws(G, seeds, layout.truncation_psi, batch_size), noise_mode, batch_size)
        rel = f"sheets/sheet_{p:04d}{ext}"
        save(rel, contact_sheet(imgs, seeds, page.cols, page.rows, thumb))
        sheets.append({"file": rel, "first_seed": seeds[0], "n": len(seeds)})
        progress.update(len(seeds))

    grids = {}
    if layout.grid_directions and layout.grid_seeds:
        for seed in layout.grid_seeds:
            w0 = seeds_to_ws(G, [seed], layout.truncation_psi)
            ws = torch.cat([edited(w0, k, d) for k in layout.grid_directions for d in layout.grid_degrees])
            cells = synthesize_ws(G, ws, noise_mode, batch_size)
            rel = f"grids/seed_{seed}{ext}"
            save(
                rel,
                labelled_grid(
                    cells,
                    [f"dir {k}" for k in layout.grid_directions],
                    [fmt_degree(d) for d in layout.grid_degrees],
                    thumb,
                    title=f"seed {seed}: rows direction k, columns degree (x std)",
                ),
            )
            grids[str(seed)] = rel
        log.info(
            "edit grids: %d seeds × %d directions × %d degrees",
            len(layout.grid_seeds),
            len(layout.grid_directions),
            len(layout.grid_degrees),
        )

    strips = []
    for a, b in page.strips(layout.seeds):
        w = seeds_to_ws(G, [a, b], layout.truncation_psi)
        t = torch.linspace(0, 1, page.strip_steps, device=w.device).view(-1, 1, 1)
        cells = synthesize_ws(G, w[0:1] * (1 - t) + w[1:2] * t, noise_mode, batch_size)
        rel = f"strips/strip_{a}_{b}{ext}"
        save(
            rel,
            labelled_grid(cells, [""], [f"{float(x):.2f}" for x in t.flatten()], thumb, title=f"seed {a} -> seed {b}"),
        )
        strips.append({"file": rel, "a": a, "b": b})

    start, end = options.layout.edit_layers
    data = {
        "version": 1,
        "aus": list(AU_COLUMNS),
        "au_names": {au: AU_DESCRIPTIONS[au] for au in AU_COLUMNS},
        "seed_start": options.layout.seed_start,
        "seed_count": seed_count,
        "cols": page.cols,
        "rows": page.rows,
        "tile_w": thumb,
        "tile_h": thumb + lh,
        "thumb": thumb,
        "sheets": sheets,
        "grids": grids,
        "strips": strips,
        "truncation_psi": layout.truncation_psi,
        "grid_directions": list(layout.grid_directions),
        "grid_degrees": list(layout.grid_degrees),
        "edit_layers": [start, end],  # as configured (null = up to num_ws)
        "seeds_file": page.seeds_file,
        "image_format": page.image_format,
        "network": network,
        "assistant": suggestions,
    }
    write_json(out / "review.json", data)
    write_text(out / "index.html", review_html(data))
    log.info(
        "review: %d sheets (%d seeds), %d grids, %d strips in %s; open %s in a browser",
        len(sheets),
        seed_count,
        len(grids),
        len(strips),
        out,
        out / "index.html",
    )
    return data


def review_html(data: dict) -> str:
    """The review page with ``data`` inlined (``</`` escaped so it cannot close the script tag)."""
    template = (Path(__file__).parent / "review_page.html").read_text(encoding="utf-8")
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return template.replace("/*__REVIEW_DATA__*/null", blob)


def write_review(
    network: PathLike,
    directions_npz: PathLike,
    page_path: PathLike,
    options: ReviewOptions,
    device: str | None = None,
    threads: int | None = None,
    suggestions: PathLike | None = None,
    suggestion_threshold: float = 0.5,
) -> dict:
    """Rule ``review_material``: load the network and directions and build the review in the folder of
    ``page_path`` (which must be named ``index.html``). ``suggestions`` is the annotation assistant's table
    (rule ``review_suggestions``) or None; the page marks an AU as suggested from probability
    ``suggestion_threshold`` (the reviewer may change it on the page)."""

    from synthfer.gan.api import load_generator
    from synthfer.latent.directions import Directions
    from synthfer.runtime import pick_device, set_threads

    page_path = Path(page_path)
    if page_path.name != "index.html":
        raise ValueError(f"{page_path}: the review page must be called index.html")
    set_threads(threads)
    G = load_generator(network, device=pick_device(device))
    directions = Directions.load(directions_npz)
    page_suggestions = None
    if suggestions:
        from synthfer.latent.assistant import page_suggestions as read_page_suggestions

        layout = options.layout.resolve(len(directions), G.num_ws)
        page_suggestions = read_page_suggestions(
            suggestions, layout.seeds, layout.grid_seeds, layout.grid_directions, layout.grid_degrees,
            suggestion_threshold,
        )  # fmt: skip
    return build_review(
        G, directions, page_path.parent, options, network=network_record(network), suggestions=page_suggestions
    )
