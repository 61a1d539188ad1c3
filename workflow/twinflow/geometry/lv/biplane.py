r"""LV from two apical views: biplane method of discs (Simpson) and biplane 3D surfaces.

**Per view** (a 2D label map: 0 background, 1 cavity, 2 myocardium; spacing in m):

1. cavity = largest connected component of label 1 with holes filled; epicardial region =
   the same for labels 1 | 2;
2. the long axis (Lang et al. 2015, J Am Soc Echocardiogr 28:1: "from the midpoint of the
   mitral annulus line to the apex"): a first axis from the principal component of the
   cavity pixels; the apical end is the one the myocardium wraps around. The annulus hinge
   points are, on each side of that axis, the outermost cavity pixels within 1.5 pixels of the
   most basal cavity pixel of that side; the base point is their midpoint and the apex the
   cavity point farthest from it. The epicardial apex is where the axis leaves the
   epicardial region;
3. at a fraction :math:`f` of the long axis from the base, the cavity (epicardial) width is
   measured on the line perpendicular to the axis: the 0.5-crossings of the bilinearly
   interpolated mask on either side of the axis (sub-pixel).

**Volume** (biplane method of discs, modified Simpson's rule; Lang et al. 2015):

.. math::
    V = \frac{\pi}{4} \sum_{i=1}^{N} a_i\, b_i\, \frac{L}{N},\qquad N = 20,

with :math:`a_i, b_i` the 4- and 2-chamber diameters of disc :math:`i` (taken at the disc
mid-levels :math:`f_i = (i - \tfrac12)/N` of each view's own length) and :math:`L` the longer
of the two lengths.

**3D surfaces**: the 4-chamber plane is the LV-frame direction :math:`\varphi = 0`, the
2-chamber plane :math:`\varphi = \theta` (default 60°, the angle of the synthetic views and
the typical apical 4ch/2ch angle; Simpson's formula assumes 90°). At each level the section
is the *most circular* ellipse through the four measured points: centre :math:`P` with
:math:`P\cdot e_j` = chord midpoint of view ``j``, and
:math:`1/\rho^2(\varphi) = m + p\cos(2\varphi - \gamma)` with the smallest :math:`p` that fits
both semi-diameters (for orthogonal views this is the ellipse with axes along the views,
:math:`\pi a b / 4` — Simpson's disc), at equally spaced levels :math:`f = k/n`, closed by
the apex point (equal spacing: denser levels near the apex turn pixel noise into creases).

**Robust profiles** (segmented masks, e.g. from a CNN, have pixel-scale notches at the
annulus line and cracks of background between cavity and myocardium that open to the
outside, so that the epicardial chord collapses onto the endocardial one): per view and side,

* a Hampel filter along the levels (window 5, mirrored ends) replaces a boundary position
  that deviates from the running median by more than :math:`3 \cdot 1.4826\,\mathrm{MAD}`
  + 2 pixels by that median (Hampel 1974, J Am Stat Assoc 69:383; Pearson 2002);
* the wall thickness (epicardial minus endocardial position, endocardial profile
  interpolated to the epicardial level heights) must be at least
  ``MIN_WALL_FRACTION`` x the median thickness of that side (and 2 pixels); levels below it
  (myocardium missing in the mask) take the thickness interpolated from the valid levels.
  Otherwise the two surfaces touch or cross and cannot be meshed. The number of repaired
  levels is stored in the epicardial surface's field data ``wall_repaired_levels``.

Simplifications (also reported in measurements.json): two views cannot determine an
elliptical section (three unknowns, two diameters), so for an elliptical LV whose views are
not along its axes the section area is off by up to ~±6 % for short-axis ellipticity 0.88–1.12
(both for Simpson's and for the surface); no foreshortening correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from twinflow.errors import InputError
from twinflow.geometry.lv.surfaces import LVSurfaces, rings_to_surface

#: Number of discs of the biplane method of discs (Lang et al. 2015).
N_DISCS = 20
#: Level (fraction of the long axis below the base) whose widths the basal ring takes.
BASE_RING_FRACTION = 0.02
#: Angle between the apical 4- and 2-chamber planes about the long axis (synthetic views;
#: ~60° in practice, whereas Simpson's biplane formula assumes orthogonal planes).
DEFAULT_VIEW_ANGLE_RAD = float(np.deg2rad(60.0))
#: Minimum wall thickness of a level, as a fraction of the median thickness of that view side
#: (heuristic: thinner levels are taken as myocardium missing from the mask; infarct thinning
#: to ~1/2 of the remote wall, e.g. < 5.5 mm vs ~10 mm, stays above it).
MIN_WALL_FRACTION = 0.25
#: Hampel filter: window (levels) and threshold in robust standard deviations (Hampel 1974).
HAMPEL_WINDOW = 5
HAMPEL_NSIGMA = 3.0
#: Basal band (fraction of the long axis) in which the wall's tilt from the long axis is
#: limited to ``MAX_BASAL_TILT_RAD``: segmented masks round the cavity/myocardium corners at
#: the annulus line, which would make the wall meet the base plane at a grazing angle (and
#: fold the endo- and epicardium onto each other there; the mesh's radial shell repairs what
#: is left, twinflow.geometry.lv.mesh.radial_shell).
BASAL_BAND_FRACTION = 0.10
MAX_BASAL_TILT_RAD = float(np.deg2rad(20.0))


def _largest_filled(mask: np.ndarray) -> np.ndarray:
    lab, n = ndimage.label(mask)
    if n == 0:
        return np.zeros_like(mask, bool)
    sizes = ndimage.sum_labels(np.ones_like(lab), lab, index=np.arange(1, n + 1))
    return ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))


@dataclass(slots=True)
class ViewAxis:
    """Long axis of one view in image pixel coordinates (row, col) and its lengths (m)."""

    base: np.ndarray          # base point (mitral annulus midpoint), physical (m)
    apex: np.ndarray          # endocardial apex, physical (m)
    u: np.ndarray             # unit, apex -> base
    v: np.ndarray             # unit, lateral
    length: float             # endocardial long axis (m)
    epi_length: float         # base point to the epicardial apex (m)


@dataclass(slots=True)
class ApicalView:
    """One segmented apical view.

    ``labels`` is (rows, cols); ``spacing`` (x = column, y = row) and ``origin`` in m;
    ``direction`` the 2x2 ITK direction matrix. Physical point of pixel (r, c):
    ``origin + direction @ ([c, r] * spacing)``.
    """

    name: str
    labels: np.ndarray
    spacing: tuple[float, float]
    origin: tuple[float, float] = (0.0, 0.0)
    direction: np.ndarray | None = None
    cavity: np.ndarray = field(init=False, repr=False)
    epi_region: np.ndarray = field(init=False, repr=False)
    _m: np.ndarray = field(init=False, repr=False)
    _minv: np.ndarray = field(init=False, repr=False)
    _o: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.cavity = _largest_filled(self.labels == 1)
        self.epi_region = _largest_filled(self.labels >= 1)
        if self.cavity.sum() < 50:
            raise InputError(f"{self.name}: the mask has (almost) no LV cavity (label 1)")
        if (self.epi_region & ~self.cavity).sum() < 50:
            raise InputError(f"{self.name}: the mask has (almost) no myocardium (label 2)")
        d = np.eye(2) if self.direction is None else np.asarray(self.direction, float)
        self._m = d @ np.diag(self.spacing)            # (col, row) index -> physical
        self._minv = np.linalg.inv(self._m)
        self._o = np.asarray(self.origin, float)

    # -- coordinates ------------------------------------------------------------------
    def to_physical(self, rc: np.ndarray) -> np.ndarray:
        return self._o + rc[:, ::-1] @ self._m.T

    def to_index(self, xy: np.ndarray) -> np.ndarray:
        """Physical (m) -> (row, col) fractional indices."""
        return ((xy - self._o) @ self._minv.T)[:, ::-1]

    def _sample(self, region: np.ndarray, xy: np.ndarray) -> np.ndarray:
        rc = self.to_index(xy)
        return ndimage.map_coordinates(region.astype(np.float32), rc.T, order=1, cval=0.0)

    # -- long axis --------------------------------------------------------------------
    def axis(self) -> ViewAxis:
        rc = np.argwhere(self.cavity).astype(float)
        pts = self.to_physical(rc)
        centre = pts.mean(axis=0)
        _, _, vt = np.linalg.svd(pts - centre, full_matrices=False)
        u = vt[0]
        s = (pts - centre) @ u
        # apex end: the myocardium wraps around it (epicardial pixels beyond the cavity end)
        epi = self.to_physical(np.argwhere(self.epi_region & ~self.cavity).astype(float))
        se = (epi - centre) @ u
        te = np.abs((epi - centre) @ np.array([-u[1], u[0]]))
        narrow = te < 0.5 * np.ptp((pts - centre) @ np.array([-u[1], u[0]])) / 2
        beyond_max = np.sum(narrow & (se > s.max()))
        beyond_min = np.sum(narrow & (se < s.min()))
        if beyond_max > beyond_min:      # apex at +u: make u point apex -> base
            u = -u
            s = -s
        v = np.array([-u[1], u[0]])
        t = (pts - centre) @ v
        px = float(np.min(self.spacing))
        hinges = []
        for side in (t < 0, t >= 0):
            ss, tt = s[side], t[side]
            if len(ss) == 0:
                raise InputError(f"{self.name}: cannot find the mitral annulus in the mask")
            near = ss >= ss.max() - 1.5 * px
            k = np.flatnonzero(near)[np.argmax(np.abs(tt[near]))]
            hinges.append(pts[side][k])
        base = 0.5 * (hinges[0] + hinges[1])
        dist = np.linalg.norm(pts - base, axis=1)
        apex = pts[dist >= dist.max() - px].mean(axis=0)   # flat apex: average the tip
        u = (base - apex) / np.linalg.norm(base - apex)
        v = np.array([-u[1], u[0]])
        base = base + 0.5 * px * u        # pixel centre -> pixel edge (the annulus line)
        length = self._extent(self.cavity, base, u, 0.8 * np.linalg.norm(base - apex))
        epi_length = self._extent(self.epi_region, base, u, length)
        return ViewAxis(base, base - length * u, u, v, length, epi_length)

    def _extent(self, region: np.ndarray, base: np.ndarray, u: np.ndarray,
                beyond: float) -> float:
        """Distance from ``base`` along ``-u`` to where ``region`` ends (0.5 crossing) past
        ``beyond`` (the apex of the cavity or of the epicardium)."""
        step = 0.25 * float(np.min(self.spacing))
        dist = np.arange(0.0, 3.0 * beyond + 10 * step, step)
        vals = self._sample(region, base[None, :] - dist[:, None] * u[None, :])
        past = np.flatnonzero((vals < 0.5) & (dist > beyond))
        if len(past) == 0:
            raise InputError(f"{self.name}: cannot find the apex along the long axis")
        k = past[0]
        return float(_crossing(dist, vals, k - 1, +1))

    def widths(self, ax: ViewAxis, fractions: np.ndarray, epicardial: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """Signed lateral positions (left < 0 < right, m) of the boundary at the levels."""
        region = self.epi_region if epicardial else self.cavity
        length = ax.epi_length if epicardial else ax.length
        px = float(np.min(self.spacing))
        t = np.arange(-80e-3, 80e-3 + 0.1 * px, 0.25 * px)
        left, right = np.zeros(len(fractions)), np.zeros(len(fractions))
        for i, f in enumerate(fractions):
            centre = ax.base - f * length * ax.u
            vals = self._sample(region, centre[None, :] + t[:, None] * ax.v[None, :])
            i0 = int(np.argmin(np.abs(t)))
            inside = vals >= 0.5
            if not inside[i0]:  # the axis misses the region at this level (apex tip)
                near = np.flatnonzero(inside)
                if len(near) == 0:
                    continue
                i0 = near[np.argmin(np.abs(near - i0))]
            r = i0
            while r + 1 < len(t) and inside[r + 1]:
                r += 1
            l_ = i0
            while l_ - 1 >= 0 and inside[l_ - 1]:
                l_ -= 1
            right[i] = _crossing(t, vals, r, +1)
            left[i] = _crossing(t, vals, l_, -1)
        return left, right


def _crossing(t: np.ndarray, vals: np.ndarray, k: int, direction: int) -> float:
    """Sub-sample position of the 0.5 crossing between sample k (inside) and k+direction."""
    j = k + direction
    if j < 0 or j >= len(t):
        return float(t[k])
    a, b = vals[k], vals[j]
    w = (a - 0.5) / (a - b) if a != b else 0.5
    return float(t[k] + w * (t[j] - t[k]))


def simpson_biplane(view_a: ApicalView, view_b: ApicalView, n_discs: int = N_DISCS,
                    epicardial: bool = False) -> dict[str, Any]:
    """Biplane method of discs (module docstring). Returns volume (m^3) and the inputs."""
    ax_a, ax_b = view_a.axis(), view_b.axis()
    f = (np.arange(n_discs) + 0.5) / n_discs
    la, ra = view_a.widths(ax_a, f, epicardial)
    lb, rb = view_b.widths(ax_b, f, epicardial)
    a, b = ra - la, rb - lb
    la_, lb_ = (ax_a.epi_length, ax_b.epi_length) if epicardial else (ax_a.length, ax_b.length)
    length = max(la_, lb_)
    volume = float(np.pi / 4.0 * np.sum(a * b) * length / n_discs)
    return {"volume_m3": volume, "length_m": length, "lengths_m": [la_, lb_],
            "diameters_a_m": a.tolist(), "diameters_b_m": b.tolist(), "n_discs": n_discs}


def _section(ca: float, ra: float, cb: float, rb: float, theta: float,
             phi: np.ndarray) -> np.ndarray:
    """Points (K, 2) of the most circular ellipse through the 4 view points (module doc)."""
    e1, e2 = np.array([1.0, 0.0]), np.array([np.cos(theta), np.sin(theta)])
    centre = np.linalg.solve(np.stack([e1, e2]), np.array([ca, cb]))
    ra, rb = max(ra, 1e-6), max(rb, 1e-6)
    q1, q2 = 1.0 / ra**2, 1.0 / rb**2
    # q(phi) = m + p cos(2 phi - g): q1 - q2 = 2 p sin(theta) sin(theta - g)
    p = abs(q1 - q2) / (2.0 * np.sin(theta))
    g = theta - np.sign(q1 - q2) * np.pi / 2.0
    m = q1 - p * np.cos(g)
    # guard: keep the section an ellipse (inconsistent widths would give a hyperbola)
    p = min(p, 0.8 * m)
    rho = 1.0 / np.sqrt(np.maximum(m + p * np.cos(2.0 * phi - g), 1e-30))
    return centre[None, :] + rho[:, None] * np.stack([np.cos(phi), np.sin(phi)], 1)


def _hampel(x: np.ndarray, tol: float) -> tuple[np.ndarray, int]:
    """Replace outliers of a profile by the running median (module docstring)."""
    n, h = len(x), HAMPEL_WINDOW // 2
    if n < HAMPEL_WINDOW:
        return x, 0
    idx = np.arange(n)[:, None] + np.arange(-h, h + 1)[None, :]
    idx = np.abs(idx)                                   # mirrored ends
    idx = np.where(idx > n - 1, 2 * (n - 1) - idx, idx)
    win = x[idx]
    med = np.median(win, axis=1)
    mad = np.median(np.abs(win - med[:, None]), axis=1)
    out = np.abs(x - med) > HAMPEL_NSIGMA * 1.4826 * mad + tol
    return np.where(out, med, x), int(out.sum())


def _limit_basal_tilt(x: np.ndarray, depth: np.ndarray, band: float) -> np.ndarray:
    """Limit ``|dx/ddepth|`` to ``tan(MAX_BASAL_TILT_RAD)`` above ``depth = band``,
    propagating from the band's lowest level up to the base (module docstring)."""
    x = x.copy()
    k = int(np.searchsorted(depth, band, side="right")) - 1
    slope = np.tan(MAX_BASAL_TILT_RAD)
    for i in range(min(k, len(x) - 1) - 1, -1, -1):
        lim = slope * (depth[i + 1] - depth[i])
        x[i] = x[i + 1] + np.clip(x[i] - x[i + 1], -lim, lim)
    return x


def _view_profiles(view: ApicalView, ax: ViewAxis, n_levels: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Robust endo/epi boundary positions (left, right) at ``f = k/n`` of each length.

    Returns ``(endo_l, endo_r, epi_l, epi_r, n_repaired)`` (module docstring)."""
    f = np.arange(n_levels) / n_levels
    # the base ring takes the widths a little below the base: on the annulus line itself
    # the sampled mask is partly off the boundary (a slightly tilted axis misses it)
    f_meas = f.copy()
    f_meas[0] = BASE_RING_FRACTION
    px = float(np.min(view.spacing))
    el, er = view.widths(ax, f_meas, False)
    ol, or_ = view.widths(ax, f_meas, True)
    el, er, ol, or_ = (_hampel(x, 2.0 * px)[0] for x in (el, er, ol, or_))
    depth_endo = f_meas * ax.length
    depth_epi = f_meas * ax.epi_length
    band = BASAL_BAND_FRACTION * ax.length
    el, er = (_limit_basal_tilt(x, depth_endo, band) for x in (el, er))
    repaired = 0
    new = []
    for endo_pos, epi_pos, sign in ((el, ol, -1.0), (er, or_, +1.0)):
        # endocardial position at the heights of the epicardial levels (apex on the axis)
        inner = np.interp(depth_epi, np.append(depth_endo, ax.length),
                          np.append(endo_pos, 0.0))
        thick = sign * (epi_pos - inner)
        ref = depth_epi < ax.length           # levels beside the cavity
        median = float(np.median(thick[ref])) if ref.any() else float(np.median(thick))
        t_min = max(MIN_WALL_FRACTION * median, 2.0 * px)
        ok = thick >= t_min
        if not ok.any():
            raise InputError(f"{view.name}: no myocardium of plausible thickness along the "
                             f"{'left' if sign < 0 else 'right'} wall")
        if not ok.all():
            k = np.arange(len(thick))
            thick = np.where(ok, thick, np.interp(k, k[ok], thick[ok]))
            repaired += int((~ok).sum())
        outer = _limit_basal_tilt(inner + sign * thick, depth_epi, band)
        new.append(inner + sign * np.maximum(sign * (outer - inner), t_min))
    return el, er, new[0], new[1], repaired


def _rings(view_a: ApicalView, view_b: ApicalView, theta: float, n_levels: int,
           n_around: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray],
                                   int]:
    """Endo and epi rings ``(levels, K, 3)`` and apex points; and the repaired levels."""
    ax_a, ax_b = view_a.axis(), view_b.axis()
    pa, pb = _view_profiles(view_a, ax_a, n_levels), _view_profiles(view_b, ax_b, n_levels)
    phi = np.linspace(0.0, 2.0 * np.pi, n_around, endpoint=False)
    f = np.arange(n_levels) / n_levels
    out = []
    for epicardial in (False, True):
        length = max(ax_a.epi_length, ax_b.epi_length) if epicardial \
            else max(ax_a.length, ax_b.length)
        la, ra = (pa[2], pa[3]) if epicardial else (pa[0], pa[1])
        lb, rb = (pb[2], pb[3]) if epicardial else (pb[0], pb[1])
        rings = np.zeros((n_levels, n_around, 3))
        for i in range(n_levels):
            xy = _section(0.5 * (la[i] + ra[i]), 0.5 * (ra[i] - la[i]),
                          0.5 * (lb[i] + rb[i]), 0.5 * (rb[i] - lb[i]), theta, phi)
            rings[i, :, :2] = xy
            rings[i, :, 2] = -f[i] * length
        out.append((rings, np.array([0.0, 0.0, -length])))
    return out[0], out[1], pa[4] + pb[4]


def biplane_surfaces(view_4ch: ApicalView, view_2ch: ApicalView,
                     view_angle: float = DEFAULT_VIEW_ANGLE_RAD, n_levels: int = 40,
                     n_around: int = 72) -> LVSurfaces:
    """Endo- and epicardial surfaces in the LV frame (base z = 0) from the two views."""
    if not (0.1 < view_angle < np.pi - 0.1):
        raise InputError(f"biplane: angle between the views must be in (0, 180) deg, "
                         f"got {np.rad2deg(view_angle):.1f}")
    endo_rings, epi_rings, repaired = _rings(view_4ch, view_2ch, view_angle, n_levels,
                                             n_around)
    endo, epi = rings_to_surface(*endo_rings), rings_to_surface(*epi_rings)
    epi.field_data["wall_repaired_levels"] = np.array([repaired])
    return LVSurfaces(endo, epi, 0.0)
