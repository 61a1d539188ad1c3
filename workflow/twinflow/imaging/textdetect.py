"""Burned-in text outside the imaged area: found from the pixels alone, then blanked.

Scanner screens carry text (patient name and ID, dates, parameter tables) around the imaged
area. The case may declare boxes to blank (:func:`twinflow.imaging.deid.blank_boxes`); this
module finds the text nobody declared, so that it does not reach the ingested image.

**Why a heuristic and not OCR.** Only the *location* of text matters here, never what it
says. An OCR engine (Tesseract through ``pytesseract``) is not a wheel: it needs the Debian
``tesseract-ocr`` binary and its language data on every machine that ingests (a ``make
test`` set-up installs wheels only), and it is built to read document text, not to say where
a 14 px overlay on a scanner screen ends. OpenCV and scikit-image are not installed either.
Screen text is easy to find geometrically: a uniform dark screen background, bright thin
strokes in horizontal lines. So this module uses ``scipy.ndimage`` (and PIL to fill a
polygon) only, deterministically (the same pixels give the same boxes, so a re-ingest stays
byte-identical), ~0.1 s for a 600 × 800 screen; its recall and precision on synthetic
screens are measured by ``tests/imaging/test_textdetect.py`` and stated in
docs/conventions.md.

**Method** (one 2D frame; a cine uses the per-pixel maximum over its frames, so text shown in
any frame is found; a colour frame its per-pixel maximum over the channels, so coloured text
is bright too):

1. *Field of view* (:func:`field_of_view`): the imaged area is dense, text is sparse. The
   screen background is the median of the frame's outer border (:func:`screen_background`;
   scanners draw on a dark grey, not always on 0); a frame whose border is not uniform
   (:data:`BORDER_UNIFORM_FRACTION`) is image to its edges, not a screen, and no text is
   looked for in it. As in
   :func:`twinflow.imaging.preprocess.content_box`, a pixel is occupied above 4 % of the way
   from the background to the 99.5th percentile, and the occupancy averaged over 31 × 31
   pixels above 0.5 marks the content. Its connected pieces of at least
   :data:`MIN_FOV_FRACTION` of the frame, grown through the pixels dense in a
   :data:`FINE_WINDOW_PX` window (the 31 px average rounds the corners off), are replaced by
   the convex hull of their union, grown by :data:`FOV_MARGIN_PX`. Scanner fields of view
   (linear rectangles, phased- and curved-array sectors) are convex, so a dark lumen or
   cavity at the sector edge, which can cut a sector into pieces, is kept. Nothing inside
   the field of view is ever blanked: text written *over* the image stays there and must be
   declared in the case.
2. *Strokes*: outside the field of view, pixels brighter than the screen background by
   :data:`STROKE_CONTRAST` of the range from the background to the frame maximum. Connected
   pieces (8-connected) taller than :data:`MAX_TEXT_HEIGHT_PX` or wider than
   :data:`MAX_GLYPH_WIDTH_PX` are lines, frames and scales, not glyphs, and are dropped.
3. *Lines of text*: the glyphs are smeared horizontally over gaps up to
   :data:`WORD_GAP_PX` (run-length smoothing: Wong, Casey & Wahl 1982, IBM J Res Dev
   26:647), so the letters of a word or of a spaced line join. A smeared piece is text when
   it holds at least :data:`MIN_GLYPHS` glyphs, is :data:`MIN_TEXT_HEIGHT_PX` to
   :data:`MAX_TEXT_HEIGHT_PX` tall, at least as wide as half its height, and its strokes fill
   :data:`FILL_RANGE` of its box (speckle debris is single blobs; scales are full), and
   the rest of its box is bare screen background (:data:`MIN_CLEAN_FRACTION`; speckle in a
   dark image corner is not).
4. *Blanking* (:func:`blank_text`): each box grown by :data:`BOX_MARGIN_PX` is set to the
   screen background (:func:`background_fill`), but only outside the field of view. The
   background, not 0: where the content box of :mod:`twinflow.imaging.preprocess` spans the
   whole screen, pixels darker than the background would move the normalisation
   percentiles and so every output value.

Simplifications, stated: dark text on a bright background and text inside the field of
view are not detected; a lone character (one glyph) is not text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

log = logging.getLogger(__name__)

#: Width (px) of the screen border whose median is the background level.
BORDER_PX = 2
#: A screen has a background: this fraction of its border lies within BORDER_TOLERANCE of
#: the frame's range from the median. Otherwise the image runs to the edges (a CT slice, a
#: cropped picture) and no text is looked for.
BORDER_UNIFORM_FRACTION = 0.8
BORDER_TOLERANCE = 0.05
#: Occupancy threshold (fraction of the way from the background to the 99.5th percentile),
#: window and density of the field of view (as :func:`twinflow.imaging.preprocess.content_box`).
OCCUPIED_FRACTION = 0.04
DENSITY_WINDOW_PX = 31
DENSITY_THRESHOLD = 0.5
#: Window (px) of the fine occupancy that restores the corners the 31 px average rounds off.
FINE_WINDOW_PX = 7
#: A dense piece smaller than this fraction of the frame is not a field of view (0.5 %,
#: ~55 × 55 px of a 800 × 600 screen: no text line is that dense at 31 px; a sector cut in
#: two by a dark cavity leaves pieces of 0.8-6 % on the synthetic echo screens).
MIN_FOV_FRACTION = 0.005
#: Growth of the field of view (px): anti-aliased edges and frame lines beside it.
FOV_MARGIN_PX = 1
#: A stroke pixel is brighter than the background by this fraction of the range from the
#: background to the frame maximum.
STROKE_CONTRAST = 0.2
#: Text line height limits (px): 5 px, a 5 × 7 dot-matrix capital; 48 px, over three times the
#: 12-14 px screen fonts of the synthetic screens.
MIN_TEXT_HEIGHT_PX = 5
MAX_TEXT_HEIGHT_PX = 48
#: Widest connected glyph group (px): letters touching in a bold font, not a frame line.
MAX_GLYPH_WIDTH_PX = 120
#: Largest horizontal gap (px) bridged between glyphs of one line (three spaces of 14 px text).
WORD_GAP_PX = 16
#: Least glyphs in a line of text.
MIN_GLYPHS = 2
#: Fraction of a text box covered by strokes.
FILL_RANGE = (0.08, 0.8)
#: Text is written on the bare screen: at least MIN_CLEAN_FRACTION of a line's box (with
#: its margin BOX_MARGIN_PX) lies within CLEAN_TOLERANCE of the frame's range from the
#: background. Measured on 80 synthetic screens (seeds 11, 2024): >= 0.67 (median 0.74) for
#: the 935 text lines, 0.16-0.18 for speckle in a dark image corner the field of view missed.
CLEAN_TOLERANCE = 0.02
MIN_CLEAN_FRACTION = 0.5
#: Margin (px) added around each detected box before blanking.
BOX_MARGIN_PX = 3


@dataclass(frozen=True, slots=True)
class TextDetection:
    """Text found in one frame: boxes ``[x0, y0, x1, y1]`` (half-open, x = column, margin
    included) and the field of view (bool, rows × cols) that blanking leaves alone."""

    boxes: list[list[int]]
    field_of_view: np.ndarray


def _hull_mask(piece: np.ndarray) -> np.ndarray:
    """The convex hull of a bool mask, rasterised with its outline (PIL's polygon fill)."""
    edge = piece & ~ndimage.binary_erosion(piece)
    rows, cols = np.nonzero(edge)
    pts = np.column_stack([cols, rows]).astype(np.float64)
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):  # fewer than 3 points, or all on one line
        return piece.copy()
    canvas = Image.new("1", (piece.shape[1], piece.shape[0]), 0)
    ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in pts[hull.vertices]],
                                   fill=1, outline=1)
    return np.asarray(canvas, dtype=bool) | piece


def _border(array: np.ndarray, colour: bool) -> np.ndarray:
    """The outermost :data:`BORDER_PX` rows and columns of every frame, ``(n[, channels])``."""
    b = BORDER_PX
    a = np.asarray(array)
    if colour:
        a = np.moveaxis(a, -1, 0)  # channels first: the frame axes are the last two
    parts = [a[..., :b, :], a[..., -b:, :], a[..., :, :b], a[..., :, -b:]]
    flat = [x.reshape(x.shape[0], -1) if colour else x.ravel() for x in parts]
    ring = np.concatenate(flat, axis=-1)
    return ring.T if colour else ring


def screen_background(frame: np.ndarray) -> float:
    """The screen's background level: the median of the outermost :data:`BORDER_PX` rows
    and columns (a screen's edge is background on every scanner layout seen)."""
    return float(np.median(_border(frame, colour=False)))


def field_of_view(frame: np.ndarray, background: float | None = None) -> np.ndarray:
    """The imaged area of a (rows, cols) frame, bool (module docstring, step 1)."""
    frame = np.asarray(frame, dtype=np.float32)
    bg = screen_background(frame) if background is None else background
    top = float(np.percentile(frame, 99.5))
    if top <= bg:
        return np.zeros(frame.shape, bool)
    occupied = (frame > bg + OCCUPIED_FRACTION * (top - bg)).astype(np.float32)
    density = ndimage.uniform_filter(occupied, size=DENSITY_WINDOW_PX, mode="constant")
    labels, n = ndimage.label(density > DENSITY_THRESHOLD)
    fov = np.zeros(frame.shape, bool)
    if n == 0:
        return fov
    sizes = ndimage.sum_labels(np.ones(frame.shape), labels, index=np.arange(1, n + 1))
    large = np.flatnonzero(sizes >= MIN_FOV_FRACTION * frame.size) + 1
    if large.size == 0:
        return fov
    core = np.isin(labels, large)
    # the 31 px average rounds the corners off: grow the core through the pixels that are
    # dense at a fine scale (a gap of a few background pixels, e.g. to text, stops it)
    fine = ndimage.uniform_filter(occupied, size=FINE_WINDOW_PX, mode="constant")
    core = ndimage.binary_propagation(core, mask=core | (fine > DENSITY_THRESHOLD))
    fov = _hull_mask(core)
    return ndimage.binary_dilation(fov, iterations=FOV_MARGIN_PX)


def intensity(array: np.ndarray, colour: bool = False) -> np.ndarray:
    """One (rows, cols) float32 frame of ``array`` (module docstring): the maximum over the
    colour channels (``colour=True``: a last axis of 3 or 4) and over the frames."""
    a = np.asarray(array)
    if colour:
        a = a[..., :3].max(axis=-1)
    while a.ndim > 2:
        a = a.max(axis=0)
    return a.astype(np.float32, copy=False)


def detect_text(frame: np.ndarray) -> TextDetection:
    """Text boxes outside the field of view of a (rows, cols) frame (module docstring; a
    stack or colour image goes through :func:`intensity` first)."""
    frame = np.asarray(frame, dtype=np.float32)
    background = screen_background(frame)
    scale = float(frame.max()) - background
    ring = _border(frame, colour=False)
    uniform = np.mean(np.abs(ring - background) <= BORDER_TOLERANCE * scale)
    if scale <= 0 or uniform < BORDER_UNIFORM_FRACTION:
        # no screen around the image (it runs to the frame's edge): nothing to detect
        return TextDetection([], np.ones(frame.shape, bool))
    fov = field_of_view(frame, background)
    outside = ~fov
    if not outside.any():
        return TextDetection([], fov)
    strokes = outside & (frame > background + STROKE_CONTRAST * scale)
    glyph_labels, n = ndimage.label(strokes, structure=np.ones((3, 3), bool))
    if n == 0:
        return TextDetection([], fov)
    keep = np.zeros(n + 1, bool)
    for k, sl in enumerate(ndimage.find_objects(glyph_labels), start=1):
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        keep[k] = h <= MAX_TEXT_HEIGHT_PX and w <= MAX_GLYPH_WIDTH_PX
    glyphs = keep[glyph_labels]
    glyph_labels = np.where(glyphs, glyph_labels, 0)
    # run-length smoothing: bridge horizontal gaps up to WORD_GAP_PX (closing along rows)
    smeared = glyphs | ndimage.binary_closing(glyphs,
                                              structure=np.ones((1, WORD_GAP_PX + 1), bool))
    lines, _ = ndimage.label(smeared, structure=np.ones((3, 3), bool))
    rows, cols = frame.shape
    boxes: list[list[int]] = []
    for k, sl in enumerate(ndimage.find_objects(lines), start=1):
        if sl is None:
            continue
        member = (lines[sl] == k) & glyphs[sl]
        if not member.any():
            continue
        rr, cc = np.nonzero(member)
        y0, y1 = sl[0].start + int(rr.min()), sl[0].start + int(rr.max()) + 1
        x0, x1 = sl[1].start + int(cc.min()), sl[1].start + int(cc.max()) + 1
        h, w = y1 - y0, x1 - x0
        n_glyphs = len(np.unique(glyph_labels[sl][member]))
        fill = float(member.sum()) / (h * w)
        box = [max(0, x0 - BOX_MARGIN_PX), max(0, y0 - BOX_MARGIN_PX),
               min(cols, x1 + BOX_MARGIN_PX), min(rows, y1 + BOX_MARGIN_PX)]
        clean = float(np.mean(np.abs(frame[box[1]:box[3], box[0]:box[2]] - background)
                              <= CLEAN_TOLERANCE * scale))
        if not (MIN_TEXT_HEIGHT_PX <= h <= MAX_TEXT_HEIGHT_PX and w >= h / 2
                and n_glyphs >= MIN_GLYPHS and FILL_RANGE[0] <= fill <= FILL_RANGE[1]
                and clean >= MIN_CLEAN_FRACTION):
            continue
        boxes.append(box)
    log.debug("text detection: %d box(es), field of view %.0f %% of the frame", len(boxes),
              100.0 * fov.mean())
    return TextDetection(boxes, fov)


def blank_mask(found: TextDetection) -> np.ndarray:
    """The pixels to blank: the detected boxes outside the field of view, bool."""
    mask = np.zeros(found.field_of_view.shape, bool)
    for x0, y0, x1, y1 in found.boxes:
        mask[y0:y1, x0:x1] = True
    return mask & ~found.field_of_view


def background_fill(array: np.ndarray, colour: bool = False) -> np.ndarray:
    """The value that blanks a pixel of ``array``: the median of its border (per channel),
    in its dtype. Blanking with the background, not with 0, leaves the image's intensity
    statistics (the normalisation percentiles) as they were without the text."""
    ring = _border(array, colour)
    fill = np.median(ring, axis=0)
    return np.asarray(fill).astype(np.asarray(array).dtype)


def blank_text(array: np.ndarray, colour: bool = False) -> tuple[np.ndarray, int]:
    """A copy of ``array`` (``(rows, cols)``, a frame stack, with a last colour axis when
    ``colour``) with the detected text set to the background (:func:`background_fill`) in
    every frame, outside the field of view, and the number of text boxes found (module
    docstring)."""
    found = detect_text(intensity(array, colour))
    out = np.array(array, copy=True)
    if found.boxes:
        mask = blank_mask(found)
        fill = background_fill(array, colour)
        if colour:
            out[..., mask, :] = fill
        else:
            out[..., mask] = fill
    return out, len(found.boxes)
