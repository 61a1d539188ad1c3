"""Measurements of carotid B-mode label maps (0 background, 1 lumen, 2 wall) in 2D.

**Longitudinal cut** (the bifurcation plane; the CCA runs along the image columns, the usual
probe orientation): the vessel (lumen ∪ wall) is split by columns into the CCA part (one run
of vessel pixels per column) and the ICA/ECA part (two runs). Because the outer wall is a
tube around the centreline, the mid-point of a column run lies on the CCA axis. A daughter
crosses the columns obliquely, so where its radius changes along it (the bulb) the two ends
of a column chord belong to different axis stations and the mid-point is off the axis; the
daughter mid-points are corrected for the radius gradient (:func:`_chord_axis_points`).
Straight axes are fitted to the mid-points and the daughters jointly through one
bifurcation point on the CCA axis (:func:`_fit_daughters`). Along each axis, every
0.25 mm, a profile perpendicular to the axis is sampled (``scipy.ndimage.map_coordinates``,
nearest label) and the run of vessel pixels and the run of lumen pixels that contain (or
are nearest to) the axis give the signed edge distances :math:`t_w^\\pm` (outer wall)
and :math:`t_l^\\pm` (lumen); gaps of up to one pixel in a profile's labels (staircase aliasing of a
boundary crossed at a shallow angle) are bridged (:func:`_bridge`). An edge is *hidden*
when the profile leaves the image or crosses into the other branch (beyond the ICA/ECA bisector);
hidden edges are filled later from the other side (circular wall) and the wall thickness.
Branch roles: the daughter with the larger outer half-width on its outer side (away from
the other daughter, always visible) over its first 3–12 mm (the carotid bulb) is the ICA.

**Transversal cuts**: CCA — largest vessel component; lumen and outer areas give
area-equivalent diameters :math:`D = 2\\sqrt{A/\\pi}`, second moments an ellipticity. ICA —
the cut may also show the ECA (touching or not), so the ICA vessel is the largest inscribed
disc of the vessel mask (Euclidean distance transform), refined by a robust circle fit
(``scipy.optimize.least_squares``, soft-L1 loss) of the outer boundary near it; the lumen
components inside that circle give the residual lumen area and its eccentric offset; an ECA
lumen merging with an eccentric ICA lumen is cut off at a robust circle fit of the lumen
boundary (:func:`_split_touching_lumen`).

Hand-written parts: the run/profile logic is a few lines of NumPy on label arrays; no library
offers "edges of a labelled tube along a normal". Everything else is scipy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage, optimize

from twinflow.errors import InputError

LUMEN, WALL = 1, 2
#: Station step along the branch axes in the longitudinal cut (m).
STATION_STEP_M = 0.25e-3
#: Largest shift of a daughter chord mid-point by the radius-gradient correction
#: (:func:`_chord_axis_points`), fraction of the mean half-width; larger ones come from noisy
#: edges, not from a bulb (synthetic bulbs: <= 0.08; noisy ONNX masks: up to 0.5). Assumed.
MAX_CHORD_CORRECTION = 0.15


@dataclass(slots=True)
class LabelImage:
    """A 2D label map with isotropic-or-not pixel spacing (m), rows = depth."""

    labels: np.ndarray
    spacing_m: tuple[float, float]  # (row, col)
    path: Path

    @classmethod
    def read(cls, path: Path) -> LabelImage:
        try:
            img = sitk.ReadImage(str(path))
        except RuntimeError as err:
            raise InputError(f"{path}: cannot read label map ({str(err).splitlines()[0]})") \
                from None
        arr = sitk.GetArrayFromImage(img)
        if arr.ndim == 3 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 2:
            raise InputError(f"{path}: expected a 2D label map, got shape {arr.shape}")
        sx, sy = img.GetSpacing()[:2]  # ITK: x = columns, y = rows; mm
        labels = np.rint(arr).astype(np.int16)
        bad = set(np.unique(labels)) - {0, LUMEN, WALL}
        if bad:
            raise InputError(f"{path}: label values {sorted(bad)} are not 0, 1 (lumen), "
                             "2 (wall)")
        if not (labels == LUMEN).any():
            raise InputError(f"{path}: the label map has no lumen pixels")
        return cls(labels, (sy * 1e-3, sx * 1e-3), Path(path))


# ----------------------------------------------------------------------- transversal


@dataclass(slots=True)
class TransversalSection:
    """Cross-section measured in a transversal cut (SI)."""

    lumen_area_m2: float
    outer_area_m2: float
    outer_radius_m: float
    lumen_offset_m: float         # distance lumen centroid - outer centre
    lumen_ellipticity: float      # 1 - minor/major axis of the lumen
    min_wall_thickness_m: float

    @property
    def lumen_diameter_m(self) -> float:
        return 2.0 * float(np.sqrt(self.lumen_area_m2 / np.pi))

    @property
    def outer_diameter_m(self) -> float:
        return 2.0 * self.outer_radius_m


def _ellipticity(mask: np.ndarray) -> float:
    r, c = np.nonzero(mask)
    if len(r) < 5:
        return 0.0
    ev = np.linalg.eigvalsh(np.cov(np.stack([r, c])))
    return float(1.0 - np.sqrt(max(ev[0], 0.0) / ev[1])) if ev[1] > 0 else 0.0


def _largest(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n <= 1:
        return mask.copy()
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    return lab == (int(np.argmax(sizes)) + 1)


def measure_transversal_cca(img: LabelImage) -> TransversalSection:
    """CCA: one round vessel; area-equivalent diameters of lumen and outer wall."""
    if abs(img.spacing_m[0] - img.spacing_m[1]) > 1e-3 * img.spacing_m[0]:
        raise InputError(f"{img.path}: transversal cuts need square pixels")
    sp = img.spacing_m[0]
    vessel = ndimage.binary_fill_holes(_largest(img.labels > 0))
    lumen = _largest((img.labels == LUMEN) & vessel)
    a_out, a_lum = vessel.sum() * sp * sp, lumen.sum() * sp * sp
    co = np.array(ndimage.center_of_mass(vessel))
    cl = np.array(ndimage.center_of_mass(lumen))
    r_out = float(np.sqrt(a_out / np.pi))
    off = float(np.linalg.norm(co - cl) * sp)
    return TransversalSection(float(a_lum), float(a_out), r_out, off, _ellipticity(lumen),
                              r_out - off - float(np.sqrt(a_lum / np.pi)))


def _boundary(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def _split_touching_lumen(lumen: np.ndarray, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """The ICA lumen without an ECA lumen that touches it inside the ICA outer circle.

    When the ICA lumen is eccentric towards the ECA, the two lumens can merge in the cut;
    planimetry would then count part of the ECA. A circle is fitted robustly to the lumen
    boundary (``least_squares``, soft-L1 loss, started at the deepest lumen pixel), so the
    other vessel's boundary pixels are outliers; the lumen is cut to that circle plus one
    pixel (the area stays planimetric, only the foreign lobe is removed).
    """
    edt = ndimage.distance_transform_edt(lumen)
    c0 = np.array(np.unravel_index(int(np.argmax(edt)), edt.shape), float)
    r0 = float(edt.max()) + 0.5
    br, bc = np.nonzero(_boundary(lumen))
    pts = np.stack([br, bc], 1).astype(float)
    if len(pts) < 8:
        return lumen

    def resid(p: np.ndarray) -> np.ndarray:
        return np.linalg.norm(pts - p[:2], axis=1) - p[2]

    cr, ccen, r_fit = optimize.least_squares(resid, [*c0, r0], loss="soft_l1",
                                             f_scale=1.0).x
    r_fit += 0.5
    if not 0.8 * r0 <= r_fit <= 2.0 * r0:
        return lumen  # not a round lumen: keep it as segmented
    return _largest(lumen & ((rr - cr) ** 2 + (cc - ccen) ** 2 <= (r_fit + 1.0) ** 2))


def measure_transversal_ica(img: LabelImage) -> TransversalSection:
    """ICA at the stenosis (or bulb): outer circle by EDT + robust circle fit, then lumen."""
    if abs(img.spacing_m[0] - img.spacing_m[1]) > 1e-3 * img.spacing_m[0]:
        raise InputError(f"{img.path}: transversal cuts need square pixels")
    sp = img.spacing_m[0]
    vessel = ndimage.binary_fill_holes(img.labels > 0)
    edt = ndimage.distance_transform_edt(vessel)
    centre0 = np.array(np.unravel_index(int(np.argmax(edt)), edt.shape), float)
    r0 = float(edt.max()) + 0.5
    comp_lab, _ = ndimage.label(vessel)
    comp = comp_lab == comp_lab[tuple(centre0.astype(int))]
    br, bc = np.nonzero(_boundary(comp))
    pts = np.stack([br, bc], 1).astype(float)
    near = np.linalg.norm(pts - centre0, axis=1) <= 1.3 * r0
    pts = pts[near]

    def resid(p: np.ndarray) -> np.ndarray:
        return np.linalg.norm(pts - p[:2], axis=1) - p[2]

    fit = optimize.least_squares(resid, [*centre0, r0], loss="soft_l1", f_scale=1.0)
    cr, cc, r_fit = fit.x
    r_fit += 0.5  # boundary pixel centres lie half a pixel inside the edge
    rr, ccg = np.mgrid[0:vessel.shape[0], 0:vessel.shape[1]]
    disc = (rr - cr) ** 2 + (ccg - cc) ** 2 <= r_fit ** 2
    # lumen pixels inside the ICA outer circle (an ECA lumen touching it is cut away)
    lumen = (img.labels == LUMEN) & disc
    if lumen.any():
        lumen = _split_touching_lumen(_largest(lumen), rr, ccg)
    if not lumen.any():
        raise InputError(f"{img.path}: no lumen inside the ICA vessel of this transversal cut")
    cl = np.array(ndimage.center_of_mass(lumen))
    a_lum = float(lumen.sum() * sp * sp)
    r_out = float(r_fit * sp)
    off = float(np.linalg.norm(cl - [cr, cc]) * sp)
    return TransversalSection(a_lum, float(np.pi * r_out ** 2), r_out, off,
                              _ellipticity(lumen),
                              r_out - off - float(np.sqrt(a_lum / np.pi)))


# ----------------------------------------------------------------------- longitudinal


class NoBifurcation(InputError):
    """The longitudinal cut does not show three separable branches (template fallback)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


@dataclass(slots=True)
class BranchProfile:
    """Edges along one branch axis in the longitudinal cut (SI; NaN where hidden)."""

    name: str
    direction: np.ndarray          # 2D unit vector (row, col) in m-coordinates, downstream
    normal: np.ndarray             # 2D unit normal (row, col)
    s: np.ndarray                  # arclength from the bifurcation (CCA negative), m
    wall_plus: np.ndarray          # t_w^+ (m), NaN hidden
    wall_minus: np.ndarray         # t_w^- (m, negative), NaN hidden
    lumen_plus: np.ndarray
    lumen_minus: np.ndarray


@dataclass(slots=True)
class LongitudinalCut:
    """Axes, bifurcation point and edge profiles of the three branches (2D, m)."""

    origin: np.ndarray             # bifurcation point (row, col), m
    branches: dict[str, BranchProfile]
    notes: list[str] = field(default_factory=list)


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index runs where ``line`` is True."""
    d = np.diff(np.concatenate([[0], line.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0].tolist(), np.nonzero(d == -1)[0].tolist(),
                    strict=True))


def _fit_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total-least-squares line through 2D points: (centroid, unit direction)."""
    c = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - c, full_matrices=False)
    return c, vt[0]


def _intersect(lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Least-squares point closest to a set of 2D lines (point, direction)."""
    a = np.zeros((2, 2))
    b = np.zeros(2)
    for p, d in lines:
        proj = np.eye(2) - np.outer(d, d)
        a += proj
        b += proj @ p
    return np.linalg.solve(a, b)


def _bridge(good: np.ndarray, n: int) -> np.ndarray:
    """``good`` with interior gaps of at most ``n`` samples filled.

    A profile sampled at a quarter pixel (nearest label) that crosses a label boundary at a
    shallow angle to its staircase can see lumen–wall–lumen within one pixel; such a gap
    would cut a run into a sliver (seen: a 0.04 mm "lumen" at an ICA plaque edge).
    """
    out = good.copy()
    idx = np.nonzero(good)[0]
    if len(idx) < 2:
        return out
    gaps = np.nonzero((np.diff(idx) > 1) & (np.diff(idx) <= n + 1))[0]
    for g in gaps:
        out[idx[g]:idx[g + 1]] = True
    return out


def _septum(vals: np.ndarray, k: int, step: int, imt_samples: float) -> bool:
    """True when ``vals[k:]`` (in direction ``step``) is a wall run no thicker than four wall
    thicknesses followed by lumen: the flow-divider septum between two touching daughters."""
    n = 0
    while 0 <= k < len(vals) and vals[k] == WALL:
        k += step
        n += 1
    return 0 < n <= 4.0 * imt_samples + 2 and 0 <= k < len(vals) and vals[k] == LUMEN


def _chord_axis_points(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Axis points of a tube from the ends ``a``, ``b`` (n, 2; m) of oblique chords.

    A column chord crosses a daughter obliquely: in the frame of the axis estimate ``d``
    (arclength :math:`s`, normal coordinate :math:`\\nu`) its ends lie at different stations
    :math:`s_a \\ne s_b`, so where the radius changes along the tube (the bulb) its
    mid-point is off the axis by :math:`(R(s_a) - R(s_b))/2`. With a radius linear over the
    chords, :math:`R(s) = r_0 + k s` (least squares on the half-chords
    :math:`|\\nu_a - \\nu_b|/2` at :math:`(s_a + s_b)/2`), the axis at each chord is
    :math:`\\tfrac12(\\nu_a + \\nu_b) - \\tfrac12\\sigma (R(s_a) - R(s_b))`,
    :math:`\\sigma = \\mathrm{sign}(\\nu_a - \\nu_b)`.
    """
    n = np.array([-d[1], d[0]])
    sa, sb, na, nb = a @ d, b @ d, a @ n, b @ n
    s_mid = 0.5 * (sa + sb)
    half = 0.5 * np.abs(na - nb)
    coef = np.array([half.mean()])
    if np.ptp(s_mid) > 0:
        coef = np.polyfit(s_mid, half, 1)
        if len(s_mid) >= 16:  # curved radius (bulb): quadratic where it halves the misfit
            coef2 = np.polyfit(s_mid, half, 2)
            rss1 = float(np.sum((np.polyval(coef, s_mid) - half) ** 2))
            rss2 = float(np.sum((np.polyval(coef2, s_mid) - half) ** 2))
            if rss2 < 0.5 * rss1:
                coef = coef2
    sigma = np.sign(na - nb)
    nu = 0.5 * (na + nb) - 0.5 * sigma * (np.polyval(coef, sa) - np.polyval(coef, sb))
    return s_mid[:, None] * d[None, :] + nu[:, None] * n[None, :]


def _fit_daughters(origin_line: tuple[np.ndarray, np.ndarray],
                   pts: dict[str, np.ndarray], init: dict[str, tuple[np.ndarray, np.ndarray]]
                   ) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Joint fit of both daughter axes through one point on the CCA axis.

    Unknowns: the bifurcation point :math:`O = c + t\\,d` on the CCA axis and the angle
    :math:`\\varphi_k` of each daughter axis; residuals: perpendicular distances of the
    daughter mid-points to the line through O with direction
    :math:`(\\sin\\varphi_k, \\cos\\varphi_k)` (``scipy.optimize.least_squares``, soft-L1
    loss). Sharing O makes the angles stable when only a few millimetres of ICA and ECA are
    visible (a separate line fit through a 2 mm chord is not).
    """
    c, d = origin_line
    o0 = _intersect([origin_line, *init.values()])
    t0 = float((o0 - c) @ d)
    keys = list(pts)
    phi0 = [float(np.arctan2(init[k][1][0], init[k][1][1])) for k in keys]

    def resid(x: np.ndarray) -> np.ndarray:
        o = c + x[0] * d
        out = []
        for k, phi in zip(keys, x[1:], strict=True):
            u = np.array([np.sin(phi), np.cos(phi)])
            rel = pts[k] - o
            out.append(rel[:, 0] * u[1] - rel[:, 1] * u[0])
        return np.concatenate(out)

    scale = float(np.median(np.abs(resid(np.array([t0, *phi0]))))) + 1e-5
    fit = optimize.least_squares(resid, [t0, *phi0], loss="soft_l1", f_scale=scale)
    o = c + fit.x[0] * d
    lines = {}
    for k, phi in zip(keys, fit.x[1:], strict=True):
        u = np.array([np.sin(phi), np.cos(phi)])
        lines[k] = (o, u if u[1] > 0 else -u)
    return o, lines


def measure_longitudinal(img: LabelImage) -> LongitudinalCut:
    """Axes and edge profiles of CCA, ICA and ECA (module docstring)."""
    lab = img.labels
    vessel = ndimage.binary_fill_holes(_largest(lab > 0))
    lab = np.where(vessel, lab, 0)
    lab = np.where(vessel & (lab == 0), WALL, lab)
    sr, sc = img.spacing_m
    rows, cols = lab.shape
    lumen = lab == LUMEN
    n_runs = np.array([len(_runs(vessel[:, j])) for j in range(cols)])
    n_lum = np.array([len(_runs(lumen[:, j])) for j in range(cols)])
    # a column shows both daughters when the vessel has two runs, or when the walls touch
    # but the lumen has two runs (the flow divider is visible as a wall septum)
    two_mask = (n_runs == 2) | ((n_runs == 1) & (n_lum == 2))
    one_mask = (n_runs == 1) & (n_lum <= 1)
    one, two = np.nonzero(one_mask)[0], np.nonzero(two_mask)[0]
    if len(one) < 20 or len(two) < 12:
        raise NoBifurcation(img.path, "ICA and ECA are not separated in the longitudinal "
                            "cut (no clear bifurcation)")
    flip = one.mean() > two.mean()
    if flip:  # CCA on the right: mirror the columns, measure, mirror back at the end
        lab, vessel, lumen = lab[:, ::-1], vessel[:, ::-1], lumen[:, ::-1]
        n_runs, n_lum = n_runs[::-1], n_lum[::-1]
        two_mask, one_mask = two_mask[::-1], one_mask[::-1]
        one, two = np.nonzero(one_mask)[0], np.nonzero(two_mask)[0]
    present = np.nonzero(n_runs > 0)[0]
    c_first, c_last = present.min(), present.max()
    # split column: first column of the last long stretch of two-daughter columns
    runs2 = _runs(two_mask)
    c_split = max(runs2, key=lambda r: r[1] - r[0])[0]
    cca_cols = [j for j in one if c_first + 2 <= j < c_split]
    mids, widths, thick = [], [], []
    for j in cca_cols:
        (a, b), = _runs(vessel[:, j])
        if a == 0 or b == rows:
            continue
        mids.append(((a + b - 1) / 2 * sr, j * sc))
        widths.append((b - a) * sr)
        lr = _runs(lumen[:, j])
        if len(lr) == 1:
            thick += [(lr[0][0] - a) * sr, (b - lr[0][1]) * sr]
    d_cca = float(np.median(widths)) if widths else 0.0
    mids_a = np.array(mids).reshape(-1, 2)
    mids_a = mids_a[mids_a[:, 1] < c_split * sc - 1.0 * d_cca]
    if len(mids_a) < 10:
        raise NoBifurcation(img.path, "too little CCA is visible in the longitudinal cut")
    #: wall thickness of the CCA (both walls, median): the flow-divider wall of a daughter
    #: whose wall touches the other daughter is its lumen edge + this thickness
    imt = float(np.median(thick)) if thick else 0.1 * d_cca
    cca_c, cca_d = _fit_line(mids_a)
    if cca_d[1] < 0:
        cca_d = -cca_d
    # daughters: per column, upper/lower outer wall edges (vessel boundary, hidden at the
    # picture border) and inner (flow-divider) edges (wall gap, or lumen septum + IMT)
    up, down = [], []
    # skip the crotch (0.3 CCA diameters past the split) unless that leaves too few columns
    c_skip = c_split + 0.3 * d_cca / sc
    if two_mask[int(np.ceil(c_skip)):c_last].sum() < 16:
        c_skip = c_split
    for j in range(c_split, c_last):
        if not two_mask[j] or j < c_skip:
            continue
        rs = _runs(vessel[:, j])
        if rs[0][0] == 0 or rs[-1][1] == rows:
            continue
        if len(rs) == 2:
            inner_up, inner_down = rs[0][1], rs[1][0]
        else:
            lr = _runs(lumen[:, j])
            inner_up = lr[0][1] + imt / sr
            inner_down = lr[1][0] - imt / sr
        # chord ends (pixel centres of the first and last vessel rows of each daughter)
        up.append(((rs[0][0] * sr, j * sc), ((inner_up - 1) * sr, j * sc)))
        down.append(((inner_down * sr, j * sc), ((rs[-1][1] - 1) * sr, j * sc)))
    if len(up) < 8:
        raise NoBifurcation(img.path, "too little of the ICA/ECA is visible in the "
                            "longitudinal cut")
    lines = {"cca": (cca_c, cca_d)}
    daughter_pts = {}
    for key, ends in (("up", np.array(up)), ("down", np.array(down))):
        plain = 0.5 * (ends[:, 0] + ends[:, 1])
        c0, d0 = _fit_line(plain)
        c, d = c0, d0
        for _ in range(3):  # correct the column-chord mid-points for the radius gradient
            daughter_pts[key] = _chord_axis_points(ends[:, 0], ends[:, 1], d)
            c, d = _fit_line(daughter_pts[key])
        n = np.array([-d[1], d[0]])
        half = 0.5 * float(np.mean(np.abs((ends[:, 0] - ends[:, 1]) @ n)))
        if np.abs((daughter_pts[key] - plain) @ n).max() > MAX_CHORD_CORRECTION * half:
            # noisy edges (a radius fit far steeper than a bulb's): keep the plain chords
            daughter_pts[key], c, d = plain, c0, d0
        lines[key] = (c, d if d[1] > 0 else -d)
    origin, fitted = _fit_daughters(lines["cca"], daughter_pts,
                                    {"up": lines["up"], "down": lines["down"]})
    lines.update(fitted)
    c_lo, c_hi = c_first + 0.5, c_last - 0.5  # picture columns (the window may be wider)

    def profile(origin: np.ndarray, bis: np.ndarray, name: str, d: np.ndarray,
                s_values: np.ndarray, other_side: float | None) -> BranchProfile:
        n = np.array([-d[1], d[0]])
        t = np.arange(-3.0 * d_cca, 3.0 * d_cca, 0.25 * min(sr, sc))
        out = {k: np.full(len(s_values), np.nan) for k in ("wp", "wm", "lp", "lm")}
        bridge = 4  # samples = one pixel: sub-pixel gaps are staircase aliasing
        for i, s in enumerate(s_values):
            p = origin + s * d
            pts = p[None, :] + t[:, None] * n[None, :]
            rc = np.stack([pts[:, 0] / sr, pts[:, 1] / sc])
            inside = ((rc[0] >= -0.5) & (rc[0] <= rows - 0.5) & (rc[1] >= c_lo)
                      & (rc[1] <= c_hi))
            vals = ndimage.map_coordinates(lab, rc, order=0, mode="constant", cval=-1)
            vals = np.where(inside, vals, -1)
            k0 = int(np.argmin(np.abs(t)))
            # side of the bisector (daughters): positive = this branch's side
            side = None
            if other_side is not None:
                rel = pts - origin
                side = other_side * (rel[:, 0] * bis[1] - rel[:, 1] * bis[0])
            for key_p, key_m, good in (("wp", "wm", _bridge(vals > 0, bridge)),
                                       ("lp", "lm", _bridge(vals == LUMEN, bridge))):
                if not good[k0]:
                    if key_p == "wp":
                        break  # axis point outside the vessel: station unusable
                    cand = np.nonzero(good & (np.abs(t) < 0.6 * d_cca))[0]
                    if len(cand) == 0:
                        out["lp"][i] = out["lm"][i] = 0.0  # occluded lumen
                        continue
                    k_start = int(cand[np.argmin(np.abs(t[cand]))])
                else:
                    k_start = k0
                hi = k_start
                while hi + 1 < len(t) and good[hi + 1]:
                    hi += 1
                lo = k_start
                while lo - 1 >= 0 and good[lo - 1]:
                    lo -= 1
                for key, k_edge, k_next in ((key_p, hi, hi + 1), (key_m, lo, lo - 1)):
                    if k_next < 0 or k_next >= len(t) or vals[k_next] < 0:
                        continue  # leaves the picture: hidden
                    if side is not None and side[k_edge] < 0:
                        continue  # crossed into the other daughter: hidden
                    out[key][i] = 0.5 * (t[k_edge] + t[k_next])
            if side is not None and np.isfinite(out["wp"][i]) != np.isfinite(out["wm"][i]):
                # the flow-divider wall touches the other daughter: its outer edge is the
                # lumen edge on that side + the wall thickness (no plaque on the divider)
                for key_w, key_l, sgn in (("wp", "lp", 1.0), ("wm", "lm", -1.0)):
                    if not np.isfinite(out[key_w][i]) and np.isfinite(out[key_l][i]):
                        k_l = int(np.argmin(np.abs(t - out[key_l][i])))
                        k_n = min(max(k_l + int(sgn), 0), len(t) - 1)
                        if _septum(vals, k_n, int(sgn), imt / (0.25 * min(sr, sc))):
                            out[key_w][i] = out[key_l][i] + sgn * imt
        return BranchProfile(name, d, n, s_values, out["wp"], out["wm"], out["lp"],
                             out["lm"])

    def s_range(origin: np.ndarray, d: np.ndarray, sign: float) -> np.ndarray:
        # visible arclength: the axis stays in the picture, less half a CCA diameter
        s_max = 0.0
        while s_max < 0.2:
            p = origin + sign * (s_max + STATION_STEP_M) * d
            if not (0 <= p[0] < shape_m[0] and c_lo * sc <= p[1] <= c_hi * sc):
                break
            s_max += STATION_STEP_M
        return np.arange(0.0, max(s_max - 0.5 * d_cca, 0.0) + 1e-12, STATION_STEP_M)

    shape_m = (rows * sr, cols * sc)
    for it in range(2):  # second pass: axes refitted to the wall mid-points of the profiles
        bis = lines["up"][1] + lines["down"][1]
        bis /= np.linalg.norm(bis)
        cca_d = lines["cca"][1]
        branches = {"cca": profile(origin, bis, "cca", cca_d,
                                   -s_range(origin, cca_d, -1.0)[::-1], None)}
        for key in ("up", "down"):
            d = lines[key][1]
            sgn = 1.0 if (d[0] * bis[1] - d[1] * bis[0]) > 0 else -1.0
            branches[key] = profile(origin, bis, key, d, s_range(origin, d, 1.0), sgn)
        if it == 1:
            break
        mids_2d: dict[str, np.ndarray] = {}
        for key, bp in branches.items():
            ok = np.isfinite(bp.wall_plus) & np.isfinite(bp.wall_minus)
            ok &= (bp.s < -d_cca) if key == "cca" else (bp.s > 0.3 * d_cca)
            c = 0.5 * (bp.wall_plus[ok] + bp.wall_minus[ok])
            mids_2d[key] = origin[None, :] + bp.s[ok, None] * bp.direction \
                + c[:, None] * bp.normal
        if len(mids_2d["cca"]) >= 10:
            cen, dd = _fit_line(mids_2d["cca"])
            lines["cca"] = (cen, dd if dd[1] > 0 else -dd)
        if min(len(mids_2d["up"]), len(mids_2d["down"])) >= 8:
            origin, fitted = _fit_daughters(lines["cca"], {k: mids_2d[k] for k in ("up", "down")},
                                            {"up": lines["up"], "down": lines["down"]})
            lines.update(fitted)
    # roles: the larger outer diameter over 3-12 mm (the bulb) is the ICA
    def mean_outer(bp: BranchProfile, other: BranchProfile) -> float:
        # outer-wall half-width on the side away from the other daughter (always visible;
        # the bulb bulges there), over 3-12 mm, or all of the daughter when that is hidden
        away = float(bp.normal @ (bp.direction - other.direction))
        edge = bp.wall_plus if away > 0 else -bp.wall_minus
        sel = (bp.s > 3e-3) & (bp.s < 12e-3) & np.isfinite(edge)
        if sel.sum() < 3:
            sel = (bp.s > 0.3 * d_cca) & np.isfinite(edge)
        return 2.0 * float(np.mean(edge[sel])) if sel.any() else 0.0

    ica_key = "up" if (mean_outer(branches["up"], branches["down"])
                       >= mean_outer(branches["down"], branches["up"])) else "down"
    eca_key = "down" if ica_key == "up" else "up"
    result = {"cca": branches["cca"], "ica": branches[ica_key], "eca": branches[eca_key]}
    for k, bp in result.items():
        bp.name = k
    notes = []
    if flip:
        notes.append("CCA on the right of the longitudinal image: columns mirrored")
        # mirroring columns is a reflection of the plane; 3D placement only uses lengths,
        # angles and radii, which a reflection keeps.
    return LongitudinalCut(origin, result, notes)
