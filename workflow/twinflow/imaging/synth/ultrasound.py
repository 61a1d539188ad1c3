"""B-mode-like rendering and scanner screen composition for synthetic patients.

**Image formation** (a simplification of a linear/phased-array scanner, stated in the truth
files as such): a map of echogenicity :math:`e(\\mathbf{x}) \\ge 0` (tissue type per pixel)
modulates a field of random scatterers, a circular complex Gaussian
:math:`s = \\sqrt{e}\\,(n_1 + i n_2)`; the point-spread function is a separable Gaussian,
narrow axially and wider laterally (``scipy.ndimage.gaussian_filter`` on both parts), and the
envelope :math:`|s * h|` is fully developed Rayleigh speckle (Burckhardt 1978, IEEE Trans Sonics
Ultrason 25:1). Depth attenuation left after time-gain compensation is
:math:`\\exp(-\\alpha z)`; soft tissue attenuates ≈ 0.5 dB cm⁻¹ MHz⁻¹ (Szabo 2004, Diagnostic
Ultrasound Imaging, ch. 4) and TGC removes most of it, so the residual α is drawn from
0–1.5 dB/cm. The envelope is log-compressed to a dynamic range of 40–60 dB with a gain offset
(−16 to −4 dB) and a contrast exponent (0.9–1.5) (the brightness/contrast spread of
Geroski et al. 2023, Fig. 4).

**Screen composition**: the B-mode picture is placed on a dark screen with a header (site,
patient name and ID — *burned-in identifiers* whose boxes are returned so that ingest can
blank them), an optional parameter table at the side, a grey-scale bar, depth marks, frame
lines, a colour tint of the grey map (grey, sepia, blue) and coloured text/calipers, i.e.
the variations in colours, frames and tables of the paper's Fig. 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

#: Colour tints of the grey map: per-channel exponents applied to v in [0, 1].
TINTS: dict[str, tuple[float, float, float]] = {
    "grey": (1.0, 1.0, 1.0), "sepia": (0.85, 1.0, 1.3), "blue": (1.25, 1.08, 0.9),
    "bronze": (0.8, 0.95, 1.5)}

#: Fake identifiers burned into synthetic screens (never real people).
_FIRST = ("ALEX", "SAM", "JO", "KIM", "LEE", "MAX", "ROBIN", "TAYLOR")
_LAST = ("SYNTHETIC", "PHANTOM", "EXAMPLE", "TESTCASE", "MODEL")


@dataclass(slots=True)
class Appearance:
    """Scanner settings drawn per image."""

    gain_db: float
    dynamic_range_db: float
    gamma: float
    attenuation_db_per_m: float
    tint: str
    table: bool
    frame_lines: bool
    calipers: bool
    colour_text: bool
    seed: int
    extras: dict[str, float] = field(default_factory=dict)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Appearance:
        return cls(gain_db=float(rng.uniform(-16.0, -4.0)),
                   dynamic_range_db=float(rng.uniform(40.0, 60.0)),
                   gamma=float(rng.uniform(0.9, 1.5)),
                   attenuation_db_per_m=float(rng.uniform(0.0, 150.0)),
                   tint=str(rng.choice(list(TINTS), p=[0.5, 0.2, 0.2, 0.1])),
                   table=bool(rng.random() < 0.6), frame_lines=bool(rng.random() < 0.5),
                   calipers=bool(rng.random() < 0.4), colour_text=bool(rng.random() < 0.5),
                   seed=int(rng.integers(2**31)))


def smooth_noise(shape: tuple[int, ...], sigma_px: tuple[float, ...] | float,
                 rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field (white noise, Gaussian filtered)."""
    field_ = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="wrap")
    std = float(field_.std())
    return field_ / std if std > 0 else field_


def bmode(echo: np.ndarray, spacing_m: float, look: Appearance,
          psf_axial_m: float = 0.15e-3, psf_lateral_m: float = 0.25e-3,
          support: np.ndarray | None = None) -> np.ndarray:
    """Render a B-mode-like image in [0, 1] from an echogenicity map (module docstring).

    ``echo`` is ``(rows, cols)`` with rows = depth, spacing ``spacing_m`` in both directions;
    ``support`` (bool) marks the imaged area (e.g. a sector), outside it the result is 0.
    """
    rng = np.random.default_rng(look.seed)
    sig = (max(psf_axial_m / spacing_m, 0.5), max(psf_lateral_m / spacing_m, 0.5))
    amp = np.sqrt(np.clip(echo, 0.0, None))
    re = ndimage.gaussian_filter(amp * rng.standard_normal(echo.shape), sig)
    im = ndimage.gaussian_filter(amp * rng.standard_normal(echo.shape), sig)
    env = np.hypot(re, im)
    depth = (np.arange(echo.shape[0]) + 0.5)[:, None] * spacing_m
    env *= 10.0 ** (-look.attenuation_db_per_m * depth / 20.0)
    inside = support if support is not None else np.ones(echo.shape, bool)
    ref = float(np.percentile(env[inside], 99.5)) if inside.any() else 1.0
    db = 20.0 * np.log10(np.maximum(env, 1e-12) / max(ref, 1e-12)) + look.gain_db
    v = np.clip((db + look.dynamic_range_db) / look.dynamic_range_db, 0.0, 1.0) ** look.gamma
    v[~inside] = 0.0
    return v.astype(np.float32)


def tint(grey: np.ndarray, name: str) -> np.ndarray:
    """RGB uint8 of a grey image in [0, 1] through tint ``name`` (:data:`TINTS`)."""
    exps = TINTS[name]
    rgb = np.stack([np.clip(grey, 0, 1) ** e for e in exps], axis=-1)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@dataclass(slots=True)
class Screen:
    """A composed scanner screen."""

    rgb: np.ndarray                       # (H, W, 3) uint8
    offset: tuple[int, int]               # (row, col) of the B-mode picture's top-left
    burned_in_boxes: list[list[int]]      # [x0, y0, x1, y1] of identifying text
    spacing_m: float                      # pixel size (square pixels)
    #: [x0, y0, x1, y1] of the other text drawn (parameter table): ground truth for text
    #: detection (:mod:`twinflow.imaging.textdetect`), not identifying
    table_boxes: list[list[int]] = field(default_factory=list)
    #: (H, W) bool, the imaged area (picture, or its sector) on the screen: the content that
    #: text detection must leave alone
    content: np.ndarray | None = None


def compose_screen(picture: np.ndarray, spacing_m: float, look: Appearance,
                   rng: np.random.Generator, title: str, params: dict[str, str],
                   support: np.ndarray | None = None) -> Screen:
    """Place ``picture`` ([0, 1] grey) on a scanner screen (module docstring)."""
    h, w = picture.shape
    top = int(rng.integers(46, 70))
    left = int(rng.integers(24, 60))
    right = int(rng.integers(130, 170)) if look.table else int(rng.integers(30, 50))
    bottom = int(rng.integers(16, 36))
    height, width = top + h + bottom, left + w + right
    base = int(rng.integers(0, 18))
    canvas = np.full((height, width, 3), base, np.uint8)
    canvas[top:top + h, left:left + w] = tint(picture, look.tint)
    if support is not None:
        canvas[top:top + h, left:left + w][~support] = base
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    small, big = _font(12), _font(14)
    text_colour = (230, 230, 230)
    accent = (240, 220, 60) if look.colour_text else (200, 200, 200)
    # header with burned-in identifiers (fake names)
    name = f"{rng.choice(_LAST)}^{rng.choice(_FIRST)}"
    pid = f"{int(rng.integers(10**6, 10**7))}"
    date = f"{int(rng.integers(2015, 2025))}-{int(rng.integers(1, 13)):02d}-" \
           f"{int(rng.integers(1, 29)):02d}"
    x0, y0 = left, 6
    lines = [f"SYNTH VASCULAR LAB   {name}", f"ID {pid}   {date}   {title}"]
    boxes = []
    y = y0
    for line in lines:
        bbox = draw.textbbox((x0, y), line, font=big)
        draw.text((x0, y), line, fill=text_colour, font=big)
        boxes.append([bbox[0] - 2, bbox[1] - 2, bbox[2] + 2, bbox[3] + 2])
        y = bbox[3] + 4
    # the identifying header as one box (union), as a user would mark it
    union = [min(b[0] for b in boxes), min(b[1] for b in boxes),
             max(b[2] for b in boxes), max(b[3] for b in boxes)]
    # parameter table at the side
    table_boxes = []
    if look.table:
        tx, ty = left + w + 12, top + 8
        for key, value in params.items():
            for x, text, colour in ((tx, key, accent), (tx + 52, value, text_colour)):
                if text:
                    table_boxes.append(list(draw.textbbox((x, ty), text, font=small)))
                    draw.text((x, ty), text, fill=colour, font=small)
            ty += 17
    # grey-scale bar (in the tint) at the left
    bar_h = min(int(h * 0.4), 160)
    bar = tint(np.linspace(1, 0, bar_h)[:, None] * np.ones((1, 10)), look.tint)
    by, bx = top + 4, max(4, left - 18)
    canvas_bar = np.asarray(img)
    canvas_bar = canvas_bar.copy()
    canvas_bar[by:by + bar_h, bx:bx + 10] = bar
    img = Image.fromarray(canvas_bar)
    draw = ImageDraw.Draw(img)
    # depth marks every 5 mm, right of the picture
    step = max(int(round(5e-3 / spacing_m)), 4)
    for k, r in enumerate(range(0, h, step)):
        size = 6 if k % 2 == 0 else 3
        draw.line([(left + w + 2, top + r), (left + w + 2 + size, top + r)], fill=text_colour)
    if look.frame_lines:
        draw.rectangle([left - 2, top - 2, left + w + 1, top + h + 1], outline=(120, 120, 120))
    if look.calipers:
        for _ in range(2):
            cy, cx = int(rng.integers(top + 10, top + h - 10)), int(rng.integers(left + 10,
                                                                              left + w - 10))
            draw.line([(cx - 5, cy), (cx + 5, cy)], fill=(250, 230, 40), width=1)
            draw.line([(cx, cy - 5), (cx, cy + 5)], fill=(250, 230, 40), width=1)
    content = np.zeros((height, width), bool)
    content[top:top + h, left:left + w] = True if support is None else support
    return Screen(np.asarray(img).copy(), (top, left), [union], spacing_m, table_boxes,
                  content)
