"""Procedural colour faces with known geometry and drawn Action Units.

The demo ships no third-party images, so it draws its own: a head-and-shoulders portrait on a
plain background, built from shaded ellipses and polygons (Pillow drawing + a few numpy shading
passes). Every face is described by a :class:`Identity` (face shape, skin tone, hair, eye
spacing, background…) and an :class:`Expression` (intensities in [0, 1] of AU1, AU4, AU5, AU6,
AU12, AU15); the renderer returns the image and the exact pupil centres, so alignment can be
checked against ground truth.

How each Action Unit is drawn (FACS appearance changes, Ekman & Friesen 1978):

=====  ====================  ============================================================
AU1    inner brow raiser     inner brow ends lifted (oblique brows), central forehead lines
AU4    brow lowerer          brows lowered (by up to d/4) and pulled together, vertical glabella lines,
                             shadow at the nose root and over the eyes, upper lids pressed down
AU5    upper lid raiser      upper lid lifted (about 3.7× its neutral height at full intensity, never into the brow),
                             white of the eye visible above the iris
AU6    cheek raiser          lower lid pushed up, cheek highlight raised, crow's feet
AU12   lip corner puller     mouth corners up and out, nasolabial folds, teeth when strong
AU15   lip corner depressor  mouth corners down, shadow lines below the corners
=====  ====================  ============================================================

The geometry is measured in units of the inter-ocular distance ``d`` (pupil to pupil) with the
usual adult proportions (eye width ≈ 0.48 d, eye line to mouth ≈ 1.3 d, eye line to chin ≈ 1.85 d).
This is a pipeline exerciser, not a face model: nothing learned from it is science.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthfer import AU_COLUMNS

# Skin tones (sRGB) from light to dark, with the label written to the metadata table.
SKIN_TONES = (
    ("light", (238, 204, 180)),
    ("light", (232, 190, 160)),
    ("medium", (214, 168, 128)),
    ("medium", (198, 150, 112)),
    ("tan", (172, 122, 86)),
    ("brown", (140, 96, 66)),
    ("dark", (108, 72, 50)),
    ("dark", (86, 58, 42)),
)
HAIR_COLOURS = ((30, 24, 20), (60, 42, 30), (95, 66, 40), (150, 110, 70), (190, 160, 110), (120, 118, 115), (25, 25, 28))
IRIS_COLOURS = ((70, 45, 30), (100, 70, 40), (60, 90, 120), (80, 110, 80), (45, 35, 30))
CLOTHES = ((40, 60, 110), (120, 30, 40), (50, 50, 55), (200, 200, 205), (60, 100, 70), (150, 120, 80))


@dataclass(frozen=True)
class Identity:
    """What stays fixed for one person across expressions."""

    iod: float  # inter-ocular (pupil) distance in px at scale 1, canvas 512
    face_w: float  # face half-width / iod
    jaw: float  # jaw narrowing, 0 (square) … 0.35 (pointed)
    chin: float  # eye line → chin / iod
    skin: tuple[int, int, int]
    skin_tone: str
    hair: tuple[int, int, int]
    hair_style: int  # 0 short, 1 long, 2 fringe, 3 very short
    iris: tuple[int, int, int]
    background: tuple[int, int, int]
    clothes: tuple[int, int, int]
    brow_thick: float  # / iod
    lip_colour: tuple[int, int, int]
    mouth_w: float  # / iod
    nose_w: float  # / iod
    eye_w: float  # / iod
    gender: str
    age: int

    @staticmethod
    def random(rng: np.random.Generator) -> Identity:
        gender = str(rng.choice(["female", "male"]))
        tone_i = int(rng.integers(len(SKIN_TONES)))
        tone, skin = SKIN_TONES[tone_i]
        skin = tuple(int(np.clip(c + rng.normal(0, 6), 0, 255)) for c in skin)
        lip = tuple(int(np.clip(c, 0, 255)) for c in (skin[0] * 0.82 + 20, skin[1] * 0.55, skin[2] * 0.6))
        bg_grey = rng.uniform(150, 225)
        tint = rng.normal(0, 8, 3)
        background = tuple(int(np.clip(bg_grey + t, 0, 255)) for t in tint)
        age = int(rng.integers(18, 66))
        hair = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))]
        if age > 50 and rng.random() < 0.5:
            hair = (150, 148, 145)
        return Identity(
            iod=float(rng.uniform(80, 94)),
            face_w=float(rng.uniform(1.02, 1.16) * (0.97 if gender == "female" else 1.0)),
            jaw=float(rng.uniform(0.12, 0.3) if gender == "female" else rng.uniform(0.05, 0.2)),
            chin=float(rng.uniform(1.75, 1.95)),
            skin=skin,
            skin_tone=tone,
            hair=hair,
            hair_style=int(rng.choice([1, 2, 0], p=[0.5, 0.3, 0.2]) if gender == "female" else rng.choice([0, 3, 2], p=[0.5, 0.3, 0.2])),
            iris=IRIS_COLOURS[int(rng.integers(len(IRIS_COLOURS)))],
            background=background,
            clothes=CLOTHES[int(rng.integers(len(CLOTHES)))],
            brow_thick=float(rng.uniform(0.07, 0.095) if gender == "female" else rng.uniform(0.09, 0.12)),
            lip_colour=lip,
            mouth_w=float(rng.uniform(0.8, 0.95)),
            nose_w=float(rng.uniform(0.36, 0.46)),
            eye_w=float(rng.uniform(0.44, 0.52)),
            gender=gender,
            age=age,
        )


@dataclass(frozen=True)
class Expression:
    """AU intensities in [0, 1] (0 = absent)."""

    AU1: float = 0.0
    AU4: float = 0.0
    AU5: float = 0.0
    AU6: float = 0.0
    AU12: float = 0.0
    AU15: float = 0.0

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, a) for a in AU_COLUMNS], dtype=np.float64)


# The five CFD-like expressions (CFD: neutral, happy closed/open, angry, fearful; here drawn with our AUs).
EXPRESSIONS = {
    "neutral": Expression(),
    "happy": Expression(AU6=0.8, AU12=0.9),
    "sad": Expression(AU1=0.8, AU4=0.5, AU15=0.8),
    "surprised": Expression(AU1=0.9, AU5=0.9),
    "angry": Expression(AU4=0.9, AU5=0.5, AU15=0.3),
}


@dataclass
class Rendered:
    """A rendered face: ``image`` (H, W, 3) uint8 and pupil centres in image pixels."""

    image: np.ndarray
    left_eye: tuple[float, float]  # pupil on the image's left (the subject's right eye)
    right_eye: tuple[float, float]


def _curve(p0, p1, p2, n=16):
    """Points of the quadratic Bézier p0 → p2 with control point p1."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _soft(layer, sigma: float):
    """Gaussian blur of a soft-shadow layer, computed at quarter resolution (16× cheaper; the
    layer is smooth anyway) and enlarged back."""
    from PIL import Image, ImageFilter

    w, h = layer.size
    small = layer.resize((max(1, w // 4), max(1, h // 4)), Image.BILINEAR)
    return small.filter(ImageFilter.GaussianBlur(sigma / 4)).resize((w, h), Image.BILINEAR)


def _pts(a) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in np.asarray(a)]


def render_face(
    ident: Identity,
    expr: Expression,
    size: int = 512,
    angle_deg: float = 0.0,
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
    rng: np.random.Generator | None = None,
    noise: float = 3.0,
    light: float = 0.0,
) -> Rendered:
    """Draw ``ident`` with ``expr`` on a ``size``² canvas.

    The face is drawn upright on a canvas of 512-px geometry (scaled by ``size / 512``), then the
    whole picture is rotated by ``angle_deg`` (counter-clockwise as seen, like PIL) about the
    canvas centre, scaled by ``scale`` and shifted by ``offset`` px; the returned pupil positions
    go through the same similarity transform. ``light`` ∈ [-1, 1] moves the key light left/right.
    """
    from PIL import Image, ImageDraw, ImageFilter

    rng = rng if rng is not None else np.random.default_rng(0)
    k = size / 512.0
    d = ident.iod * k
    cx = size / 2.0
    ey = size * 0.45  # eye line
    au = expr

    # ---- background, shoulders, hair (behind) ----
    img = Image.new("RGB", (size, size), ident.background)
    draw = ImageDraw.Draw(img)
    fg = Image.new("L", (size, size), 0)  # the person (shaded); the background stays flat
    fgd = ImageDraw.Draw(fg)
    top = ey - 1.85 * d  # crown
    chin = ey + ident.chin * d
    a = ident.face_w * d  # face half-width
    hair = ident.hair
    if ident.hair_style == 1:  # long hair falls behind the shoulders
        draw.rounded_rectangle([cx - 1.45 * a, top - 0.05 * d, cx + 1.45 * a, chin + 0.6 * d], radius=int(a), fill=hair)
    shoulder_y = chin + 0.55 * d
    draw.ellipse([cx - 2.6 * a, shoulder_y, cx + 2.6 * a, shoulder_y + 3.0 * a], fill=ident.clothes)
    neck_w = 0.5 * a
    skin = ident.skin
    skin_dark = tuple(int(c * 0.78) for c in skin)
    draw.rectangle([cx - neck_w, chin - 0.6 * d, cx + neck_w, shoulder_y + 0.35 * d], fill=skin_dark)
    draw.ellipse([cx - 1.08 * a, top - 0.12 * d, cx + 1.08 * a, ey + 0.7 * d], fill=hair)  # skull / back hair
    fgd.ellipse([cx - 1.08 * a, top - 0.12 * d, cx + 1.08 * a, ey + 0.7 * d], fill=255)

    # ears
    for s in (-1, 1):
        ex0 = cx + s * (a * 0.97)
        draw.ellipse([ex0 - 0.16 * d, ey - 0.12 * d, ex0 + 0.16 * d, ey + 0.62 * d], fill=skin_dark)

    # ---- face outline: egg shape, narrower jaw ----
    cy = ey + 0.1 * d
    t = np.linspace(0, 2 * math.pi, 120, endpoint=False)
    st, ct = np.sin(t), np.cos(t)
    b = np.where(st > 0, chin - cy, cy - (top + 0.15 * d))
    jaw = np.where(st > 0, 1.0 - ident.jaw * st**3, 1.0)
    face_poly = np.stack([cx + a * ct * jaw, cy + b * st], axis=1)
    draw.polygon(_pts(face_poly), fill=skin)
    fgd.polygon(_pts(face_poly), fill=255)

    # hair in front of the forehead
    hairline = ey - (1.2 if ident.hair_style != 2 else 0.85) * d
    if ident.hair_style != 3:
        hp = _pts(
            np.concatenate(
                [
                    _curve((cx - 1.1 * a, ey - 0.05 * d), (cx - 1.05 * a, top - 0.3 * d), (cx, top - 0.2 * d)),
                    _curve((cx, top - 0.2 * d), (cx + 1.05 * a, top - 0.3 * d), (cx + 1.1 * a, ey - 0.05 * d)),
                    [(cx + 0.95 * a, ey - 0.45 * d)],
                    _curve((cx + 0.85 * a, hairline + 0.25 * d), (cx, hairline - 0.35 * d), (cx - 0.85 * a, hairline + 0.25 * d)),
                    [(cx - 0.95 * a, ey - 0.45 * d)],
                ]
            )
        )
        draw.polygon(hp, fill=hair)

    arr = np.asarray(img, dtype=np.float32)

    # ---- shading: the face is a lit ellipsoid (Lambert-like fall-off towards its rim) ----
    ys, xs = np.ogrid[0:size, 0:size]
    u = (xs.astype(np.float32) - (cx + light * 0.25 * a)) / (a * 1.05)
    v = (ys.astype(np.float32) - cy) / ((chin - top) * 0.55)
    r2 = np.clip(u * u + v * v, 0, 1.5)
    shade = 1.0 - 0.28 * r2**1.5
    fgm = np.asarray(fg, dtype=np.float32) / 255.0
    arr *= (1.0 - fgm * (1.0 - shade))[..., None]

    # ---- soft shadow layer (multiplicative) and highlight layer (additive) ----
    sh = Image.new("L", (size, size), 0)
    sd = ImageDraw.Draw(sh)
    hl = Image.new("L", (size, size), 0)
    hd = ImageDraw.Draw(hl)

    lw = max(1, int(round(0.045 * d)))
    ew = ident.eye_w * d
    eye_open = 0.34 * ew
    # Brow line: AU4 lowers it by up to a quarter of d (≈ 2 px at the demo's 32-px FER input), AU1 lifts it.
    brow_y = ey - 0.42 * d + 0.24 * au.AU4 * d - 0.1 * au.AU1 * d
    # Upper lid: AU5 lifts it (sclera shows above the iris), AU4's lowered brow presses it down; it never
    # rises into the brow.
    up_h = eye_open * (0.55 + 1.5 * au.AU5 - 0.25 * au.AU4)  # upper lid height above the eye line
    up_h = min(up_h, max(0.3 * eye_open, (ey - brow_y) - 0.08 * d))
    lo_h = eye_open * (0.5 - 0.35 * au.AU6)  # lower lid depth below
    eyes = [(cx - d / 2, ey), (cx + d / 2, ey)]
    for s, (px, py) in zip((-1, 1), eyes, strict=True):
        # eye socket and lid crease
        sd.ellipse([px - 0.42 * d, py - 0.34 * d - 0.1 * au.AU4 * d, px + 0.42 * d, py + 0.22 * d], fill=int(70 + 90 * au.AU4))
        crease = _curve((px - 0.55 * ew, py - 0.05 * d), (px, py - up_h - 0.55 * eye_open - 0.15 * au.AU5 * d), (px + 0.55 * ew, py - 0.05 * d))
        sd.line(_pts(crease), fill=150, width=lw)
        # AU6: crow's feet at the outer corner and an infraorbital furrow
        if au.AU6 > 0:
            outer = px + s * 0.62 * ew
            for j in (-1, 0, 1):
                sd.line([(outer, py + j * 0.08 * d), (outer + s * 0.22 * d, py + j * 0.16 * d)], fill=int(200 * au.AU6), width=lw)
            furrow = _curve((px - 0.5 * ew, py + lo_h + 0.12 * d), (px, py + lo_h + 0.32 * d), (px + 0.5 * ew, py + lo_h + 0.12 * d))
            sd.line(_pts(furrow), fill=int(220 * au.AU6), width=lw * 2)
        # cheek highlight, raised by AU6 / AU12
        ch_y = py + (0.75 - 0.25 * au.AU6 - 0.1 * au.AU12) * d
        hd.ellipse([px + s * 0.05 * d - 0.3 * d, ch_y - 0.2 * d, px + s * 0.05 * d + 0.3 * d, ch_y + 0.2 * d], fill=int(40 + 70 * au.AU6))

    # nose: side shadows, base shadow, tip and bridge highlight
    nose_y = ey + 0.95 * d
    nw = ident.nose_w * d
    for s in (-1, 1):
        side = _curve((cx + s * 0.2 * d, ey + 0.05 * d), (cx + s * 0.17 * d, ey + 0.55 * d), (cx + s * 0.6 * nw, nose_y - 0.1 * d))
        sd.line(_pts(side), fill=120, width=lw * 2)
    sd.ellipse([cx - 0.6 * nw, nose_y - 0.05 * d, cx + 0.6 * nw, nose_y + 0.15 * d], fill=150)
    hd.line([(cx, ey + 0.1 * d), (cx, nose_y - 0.2 * d)], fill=60, width=max(1, int(0.1 * d)))
    hd.ellipse([cx - 0.12 * d, nose_y - 0.28 * d, cx + 0.12 * d, nose_y - 0.06 * d], fill=80)

    # mouth geometry
    my = ey + 1.32 * d
    mw = ident.mouth_w * d * (1 + 0.12 * au.AU12 - 0.05 * au.AU15)
    corner_dy = (-0.16 * au.AU12 + 0.14 * au.AU15) * d
    centre_dy = 0.03 * d * au.AU12 - 0.03 * d * au.AU15
    lc, rc = (cx - mw / 2, my + corner_dy), (cx + mw / 2, my + corner_dy)
    # nasolabial folds (AU12 deepens them), AU15 depressor lines, chin shadow
    for s, corner in ((-1, lc), (1, rc)):
        fold = _curve((cx + s * 0.55 * nw, nose_y - 0.05 * d), (corner[0] + s * 0.3 * d, corner[1] - 0.55 * d), (corner[0] + s * 0.12 * d, corner[1] + 0.15 * d))
        sd.line(_pts(fold), fill=int(60 + 170 * au.AU12), width=lw * 2)
        if au.AU15 > 0:
            sd.line([corner, (corner[0] + s * 0.05 * d, corner[1] + 0.35 * d)], fill=int(200 * au.AU15), width=lw * 2)
    sd.ellipse([cx - 0.35 * d, my + 0.22 * d, cx + 0.35 * d, my + 0.38 * d], fill=90)

    # brows and forehead lines (AU1) / glabella lines (AU4)
    brows = []
    for s in (-1, 1):
        inner = (cx + s * (0.22 - 0.11 * au.AU4) * d, brow_y - 0.34 * au.AU1 * d + 0.08 * au.AU4 * d)
        outer = (cx + s * 0.88 * d, brow_y + 0.08 * d + 0.04 * au.AU1 * d)
        peak = (cx + s * 0.6 * d, brow_y - 0.16 * d - 0.06 * au.AU1 * d + 0.04 * au.AU4 * d)
        brows.append((inner, peak, outer))
    if au.AU1 > 0:
        for j in range(3):
            yline = brow_y - (0.35 + 0.14 * j) * d
            sd.line(_pts(_curve((cx - 0.4 * d, yline + 0.05 * d), (cx, yline - 0.1 * d), (cx + 0.4 * d, yline + 0.05 * d))), fill=int(255 * au.AU1), width=lw * 2)
    if au.AU4 > 0:
        # the skin bunched between the drawn-together brows shades the nose root; the furrows go on top
        # (the layer is overwritten, not accumulated, so the order matters)
        sd.ellipse([cx - 0.16 * d, brow_y - 0.1 * d, cx + 0.16 * d, brow_y + 0.22 * d], fill=int(150 * au.AU4))
        for s in (-1, 1):
            gx = cx + s * 0.07 * d
            sd.line([(gx, brow_y - 0.2 * d), (gx + s * 0.02 * d, brow_y + 0.12 * d)], fill=int(230 * au.AU4), width=lw * 2)

    sh = _soft(sh, 0.06 * d)
    hl = _soft(hl, 0.08 * d)
    arr *= 1.0 - 0.45 * (np.asarray(sh, dtype=np.float32)[..., None] / 255.0)
    arr += 0.35 * np.asarray(hl, dtype=np.float32)[..., None]
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)

    # ---- crisp features ----
    for inner, peak, outer in brows:
        top_c = _curve(inner, peak, outer)
        th = ident.brow_thick * d
        w = np.linspace(1.0, 0.45, len(top_c))[:, None]
        bot_c = top_c + np.concatenate([np.zeros_like(w), th * w], axis=1)
        brow_col = tuple(int(0.55 * hc + 0.45 * 25) for hc in ident.hair) if ident.hair_style != 3 else tuple(int(c * 0.35) for c in skin)
        draw.polygon(_pts(np.concatenate([top_c, bot_c[::-1]])), fill=brow_col)

    sclera = (235, 232, 225)
    for s, (px, py) in zip((-1, 1), eyes, strict=True):
        inner_c = (px - s * 0.5 * ew, py + 0.02 * d)
        outer_c = (px + s * 0.5 * ew, py - 0.01 * d)
        upper = _curve(inner_c, (px + s * 0.05 * ew, py - 2 * up_h), outer_c)
        lower = _curve(outer_c, (px + s * 0.05 * ew, py + 2 * lo_h), inner_c)
        shape = _pts(np.concatenate([upper, lower]))
        mask = Image.new("L", (size, size), 0)
        ImageDraw.Draw(mask).polygon(shape, fill=255)
        eye_layer = Image.new("RGB", (size, size), sclera)
        ed = ImageDraw.Draw(eye_layer)
        ir = 0.23 * ew
        ed.ellipse([px - ir, py - ir, px + ir, py + ir], fill=ident.iris)
        ed.ellipse([px - 0.45 * ir, py - 0.45 * ir, px + 0.45 * ir, py + 0.45 * ir], fill=(12, 10, 10))
        ed.ellipse([px + 0.2 * ir, py - 0.55 * ir, px + 0.5 * ir, py - 0.25 * ir], fill=(250, 250, 250))
        img.paste(eye_layer, (0, 0), mask)
        draw.line(_pts(upper), fill=(25, 18, 15), width=max(2, int(0.07 * d)))  # lashes
        draw.line(_pts(lower), fill=tuple(int(c * 0.6) for c in skin), width=max(1, int(0.025 * d)))

    # nostrils
    for s in (-1, 1):
        nx = cx + s * 0.3 * nw
        draw.ellipse([nx - 0.09 * d, nose_y - 0.05 * d, nx + 0.09 * d, nose_y + 0.04 * d], fill=tuple(int(c * 0.4) for c in skin))

    # lips: the mouth line is a quadratic curve through the corners; smiles open to show teeth
    mline = _curve(lc, (cx, my + 2 * centre_dy - corner_dy * 0.3), rc, n=24)
    open_h = 0.1 * d * max(0.0, au.AU12 - 0.55) / 0.45
    ul = _curve(lc, (cx, my - 0.2 * d + corner_dy * 0.5), rc, n=24)
    ll = _curve(rc, (cx, my + 0.34 * d + open_h + corner_dy * 0.3), lc, n=24)
    draw.polygon(_pts(np.concatenate([ul, ll])), fill=ident.lip_colour)
    if open_h > 0.5:
        teeth_top = mline - [0, 0.02 * d]
        teeth_bot = _curve(lc, (cx, my + 2 * centre_dy + 2 * open_h), rc, n=24)
        draw.polygon(_pts(np.concatenate([teeth_top, teeth_bot[::-1]])), fill=(236, 232, 222))
    draw.line(_pts(mline), fill=tuple(int(c * 0.35) for c in ident.lip_colour), width=max(1, int(0.03 * d)))

    img = img.filter(ImageFilter.BoxBlur(max(0.5, 0.012 * d)))  # soften the drawn edges

    # ---- similarity transform (rotation about the canvas centre, scale, shift) ----
    c0 = size / 2.0
    th = math.radians(angle_deg)
    cos_t, sin_t = math.cos(th), math.sin(th)

    def fwd(p):
        # PIL's rotate(angle) turns the picture counter-clockwise as seen (y down).
        x, y = p[0] - c0, p[1] - c0
        xr = cos_t * x + sin_t * y
        yr = -sin_t * x + cos_t * y
        return (c0 + scale * xr + offset[0], c0 + scale * yr + offset[1])

    if angle_deg or scale != 1.0 or offset != (0.0, 0.0):
        # output pixel q → source p = R^-1 (q - c0 - off) / scale + c0
        a11, a12 = cos_t / scale, -sin_t / scale
        a21, a22 = sin_t / scale, cos_t / scale
        ox, oy = c0 + offset[0], c0 + offset[1]
        coeffs = (a11, a12, c0 - a11 * ox - a12 * oy, a21, a22, c0 - a21 * ox - a22 * oy)
        img = img.transform((size, size), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=ident.background)
    out = np.asarray(img, dtype=np.float32)
    if noise > 0:
        out += noise * rng.standard_normal(out.shape, dtype=np.float32)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return Rendered(image=out, left_eye=fwd(eyes[0]), right_eye=fwd(eyes[1]))
