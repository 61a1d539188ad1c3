"""Synthetic carotid bifurcation: 3D ground truth and B-mode-like cuts.

**Geometry** (frame: bifurcation at the origin, CCA along +z towards it, bifurcation plane
x–z, metres). Three straight branches with centerlines

* CCA: from :math:`(0, 0, -L_{CCA})` to the origin,
* ICA: :math:`s\\,(\\sin\\theta_I, 0, \\cos\\theta_I)`,
  ECA: :math:`s\\,(-\\sin\\theta_E, 0, \\cos\\theta_E)`,
  with :math:`\\theta_I + \\theta_E` = the bifurcation angle.

The unobstructed lumen radius :math:`r_0(s)` is constant in CCA and ECA; the ICA has the
carotid bulb :math:`r_0(s) = r_{ICA} + (r_{bulb} - r_{ICA})\\,\\exp(-((s - s_b)/w_b)^2)`.
The outer wall is a circle of radius :math:`r_0 + h` (h = intima–media thickness) about the
centerline. A plaque in the bulb narrows the lumen to
:math:`r_l(s) = r_0(s)\\,(1 - p(s))`, :math:`p(s) = p_{max}\\exp(-((s - s_p)/w_p)^2)`, and
shifts its centre by :math:`r_0 - r_l` away from the plaque side (the outer wall of the
bulb, opposite the flow divider), so the plaque is eccentric. Stenosis is reported as
NASCET (:math:`1 - d_{min}/d_{ICA,distal}`), ECST (:math:`1 - d_{min}/d_0` at the site) and
area reduction. A point belongs to the lumen (wall) of a branch when it lies within the
lumen (outer) circle of its nearest centerline sample; the vessel is the union of branches
(a simplification near the flow divider, where real bifurcations blend smoothly).

Parameter ranges (drawn uniformly): CCA diameter 6.0–7.6 mm around the CTA means of
6.82/6.85 mm; bulb 1.05–1.25 × CCA (7.57/8.55 mm); distal ICA 0.66–0.78 × CCA (4.90/5.12 mm);
ECA 0.55–0.66 × CCA (4.32/4.10 mm); bifurcation angle 36–50° (36/49°) — the CTA study of 92
subjects quoted in reference-data.md, and Bharadvaj et al. (1982, J Biomech 15:349: ICA ≈
0.7 D, ECA ≈ 0.58 D, sinus ≈ 1.1 D, angle ≈ 50°). Intima–media thickness 0.5–1.0 mm
(Stein et al. 2008, J Am Soc Echocardiogr 21:93). NASCET stenosis 0–70 % in 65 % of
patients (plaque present).

**Images**: transversal cuts perpendicular to the CCA (20 mm below the bifurcation) and to
the ICA (at the plaque or bulb), and a longitudinal cut through the bifurcation plane
(tilted by up to 10°), rendered with :mod:`twinflow.imaging.synth.ultrasound`. Tissue types:
lumen (anechoic), intima–media and a 0.6 mm adventitia (bright), plaque (heterogeneous), a jugular
vein in the transversal views (dark, not part of the masks), layered neck muscle.
Masks: lumen = 1, wall (intima–media ring incl. plaque) = 2, of all carotid branches in the cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from twinflow.imaging.synth.ultrasound import Appearance, bmode, smooth_noise

#: Sampling step of the centerlines (m).
CENTERLINE_STEP_M = 0.1e-3
VIEWS: tuple[str, ...] = ("transversal-cca", "transversal-ica", "longitudinal")


@dataclass(slots=True)
class Branch:
    """One branch: centerline samples and the cross-section model at each sample."""

    name: str
    points: np.ndarray      # (n, 3) m
    arclength: np.ndarray   # (n,) m from the bifurcation (CCA: negative)
    tangent: np.ndarray     # (3,)
    r0: np.ndarray          # unobstructed lumen radius (n,) m
    r_lumen: np.ndarray     # (n,) m
    lumen_offset: np.ndarray  # (n, 3) m: lumen centre - centerline point
    r_outer: np.ndarray     # (n,) m


@dataclass(slots=True)
class CarotidPatient:
    """Ground truth of one synthetic carotid bifurcation (SI units)."""

    patient: str
    params: dict[str, float]
    branches: dict[str, Branch]
    plaque_normal: np.ndarray
    measures: dict[str, float] = field(default_factory=dict)
    _trees: dict[str, cKDTree] = field(default_factory=dict)

    def tree(self, name: str) -> cKDTree:
        if name not in self._trees:
            self._trees[name] = cKDTree(self.branches[name].points)
        return self._trees[name]

    def classify(self, points: np.ndarray) -> np.ndarray:
        """Tissue type per point: 0 outside, 1 lumen, 2 intima–media wall, 3 plaque."""
        lumen = np.zeros(len(points), bool)
        outer = np.zeros(len(points), bool)
        unobstructed = np.zeros(len(points), bool)
        for name, b in self.branches.items():
            dist, k = self.tree(name).query(points, distance_upper_bound=b.r_outer.max() * 2)
            near = np.isfinite(dist)
            if not near.any():
                continue
            kk = k[near]
            p = points[near]
            rel = p - b.points[kk]
            outer[near] |= np.linalg.norm(rel, axis=1) <= b.r_outer[kk]
            unobstructed[near] |= np.linalg.norm(rel, axis=1) <= b.r0[kk]
            lumen[near] |= np.linalg.norm(rel - b.lumen_offset[kk], axis=1) <= b.r_lumen[kk]
        out = np.zeros(len(points), np.uint8)
        out[outer] = 2
        out[unobstructed & ~lumen] = 3
        out[lumen] = 1
        return out

    def truth(self) -> dict[str, Any]:
        """JSON-ready ground truth (SI units, key names carry them)."""
        branches = {}
        for name, b in self.branches.items():
            every = max(1, int(round(0.5e-3 / CENTERLINE_STEP_M)))  # every 0.5 mm
            branches[name] = {
                "centerline_m": b.points[::every].tolist(),
                "arclength_m": b.arclength[::every].tolist(),
                "tangent": b.tangent.tolist(),
                "lumen_radius_m": b.r_lumen[::every].tolist(),
                "unobstructed_lumen_radius_m": b.r0[::every].tolist(),
                "lumen_centre_offset_m": b.lumen_offset[::every].tolist(),
                "outer_wall_radius_m": b.r_outer[::every].tolist(),
            }
        return {"anatomy": "carotid", "patient": self.patient, "frame":
                "bifurcation at origin; CCA along +z ending at origin; bifurcation plane x-z; "
                "ICA towards +x", "parameters": dict(sorted(self.params.items())),
                "measures": dict(sorted(self.measures.items())), "branches": branches,
                "plaque_normal": self.plaque_normal.tolist()}


def _branch(name: str, direction: np.ndarray, length: float, r0_of_s, h: float,
            plaque, plaque_normal: np.ndarray, start: np.ndarray | None = None) -> Branch:
    n = int(round(length / CENTERLINE_STEP_M)) + 1
    s = np.linspace(0.0, length, n)
    origin = np.zeros(3) if start is None else start
    points = origin[None, :] + s[:, None] * direction[None, :]
    arclength = s if start is None else s - length
    r0 = r0_of_s(arclength)
    p = plaque(arclength)
    r_l = r0 * (1.0 - p)
    offset = -(r0 - r_l)[:, None] * plaque_normal[None, :]
    return Branch(name, points, arclength, direction, r0, r_l, offset, r0 + h)


def sample_carotid(patient: str, rng: np.random.Generator) -> CarotidPatient:
    """Draw one patient's bifurcation (ranges and sources in the module docstring)."""
    d_cca = rng.uniform(6.0e-3, 7.6e-3)
    d_bulb = d_cca * rng.uniform(1.05, 1.25)
    d_ica = d_cca * rng.uniform(0.66, 0.78)
    d_eca = d_cca * rng.uniform(0.55, 0.66)
    angle = np.deg2rad(rng.uniform(36.0, 50.0))
    ica_share = rng.uniform(0.35, 0.5)
    th_i, th_e = ica_share * angle, (1 - ica_share) * angle
    imt = rng.uniform(0.5e-3, 1.0e-3)
    s_bulb = rng.uniform(6e-3, 11e-3)
    w_bulb = rng.uniform(5e-3, 8e-3)
    has_plaque = bool(rng.random() < 0.65)
    target_nascet = rng.uniform(0.0, 0.7) if has_plaque else 0.0
    s_plaque = s_bulb + rng.uniform(-2e-3, 3e-3)
    w_plaque = rng.uniform(3e-3, 6e-3)
    r_cca, r_bulb, r_ica, r_eca = d_cca / 2, d_bulb / 2, d_ica / 2, d_eca / 2

    def r_ica_of_s(s: np.ndarray) -> np.ndarray:
        return r_ica + (r_bulb - r_ica) * np.exp(-((s - s_bulb) / w_bulb) ** 2)

    r0_site = float(r_ica_of_s(np.array([s_plaque]))[0])
    if has_plaque:
        # p_max so that the narrowest lumen is (1 - NASCET) of the distal ICA diameter;
        # a mild plaque (10-30 % local narrowing) where that would not narrow the bulb
        p_max = max(1.0 - (1.0 - target_nascet) * r_ica / r0_site, rng.uniform(0.1, 0.3))
    else:
        p_max = 0.0

    def plaque(s: np.ndarray) -> np.ndarray:
        return p_max * np.exp(-((s - s_plaque) / w_plaque) ** 2)

    e_i = np.array([np.sin(th_i), 0.0, np.cos(th_i)])
    e_e = np.array([-np.sin(th_e), 0.0, np.cos(th_e)])
    e_z = np.array([0.0, 0.0, 1.0])
    plaque_normal = np.array([np.cos(th_i), 0.0, -np.sin(th_i)])  # outer wall of the bulb
    no_plaque = lambda s: np.zeros_like(s)  # noqa: E731
    l_cca, l_ica, l_eca = 45e-3, 40e-3, 30e-3
    branches = {
        "cca": _branch("cca", e_z, l_cca, lambda s: np.full_like(s, r_cca), imt, no_plaque,
                       plaque_normal, start=np.array([0.0, 0.0, -l_cca])),
        "ica": _branch("ica", e_i, l_ica, r_ica_of_s, imt, plaque, plaque_normal),
        "eca": _branch("eca", e_e, l_eca, lambda s: np.full_like(s, r_eca), imt, no_plaque,
                       plaque_normal),
    }
    params = {
        "cca_diameter_m": d_cca, "bulb_diameter_m": d_bulb, "ica_distal_diameter_m": d_ica,
        "eca_diameter_m": d_eca, "bifurcation_angle_rad": angle, "ica_angle_rad": th_i,
        "eca_angle_rad": th_e, "intima_media_thickness_m": imt, "bulb_position_m": s_bulb,
        "bulb_width_m": w_bulb, "plaque_present": float(has_plaque),
        "plaque_position_m": s_plaque if has_plaque else 0.0,
        "plaque_width_m": w_plaque if has_plaque else 0.0,
        "plaque_peak_narrowing": p_max, "cca_length_m": l_cca, "ica_length_m": l_ica,
        "eca_length_m": l_eca,
    }
    ica = branches["ica"]
    k_min = int(np.argmin(ica.r_lumen))
    d_min = 2 * float(ica.r_lumen[k_min])
    measures = {
        "ica_min_lumen_diameter_m": d_min,
        "ica_min_lumen_position_m": float(ica.arclength[k_min]),
        "stenosis_nascet": max(0.0, 1.0 - d_min / d_ica),
        "stenosis_ecst": 1.0 - d_min / (2 * float(ica.r0[k_min])),
        "stenosis_area": 1.0 - (d_min / (2 * float(ica.r0[k_min]))) ** 2,
    }
    return CarotidPatient(patient, params, branches, plaque_normal, measures)


@dataclass(slots=True)
class Cut:
    """A planar image: pixel (row, col) → point ``centre + (row_mm...)`` (see ``points``)."""

    view: str
    origin: np.ndarray   # 3D point of pixel (0, 0) centre, m
    e_row: np.ndarray    # unit vector along rows (depth)
    e_col: np.ndarray    # unit vector along columns (lateral)
    spacing_m: float
    shape: tuple[int, int]

    def points(self) -> np.ndarray:
        r, c = np.mgrid[0:self.shape[0], 0:self.shape[1]]
        return (self.origin[None, :] + (r.ravel() * self.spacing_m)[:, None] * self.e_row
                + (c.ravel() * self.spacing_m)[:, None] * self.e_col)

    def truth(self) -> dict[str, Any]:
        return {"origin_m": self.origin.tolist(), "row_direction": self.e_row.tolist(),
                "col_direction": self.e_col.tolist(), "spacing_m": self.spacing_m,
                "shape": list(self.shape)}


def _plane_cut(view: str, centre: np.ndarray, e_depth: np.ndarray, e_lat: np.ndarray,
               depth_of_centre: float, lateral_of_centre: float, spacing: float,
               shape: tuple[int, int]) -> Cut:
    origin = centre - depth_of_centre * e_depth - lateral_of_centre * e_lat
    return Cut(view, origin, e_depth, e_lat, spacing, shape)


def make_cuts(patient: CarotidPatient, rng: np.random.Generator) -> list[Cut]:
    """The three standard cuts with drawn depth, field of view and probe rotation."""
    cuts = []
    p = patient.params
    for view in VIEWS:
        rows = int(rng.integers(400, 470))
        depth = rng.uniform(34e-3, 44e-3)
        spacing = depth / rows
        cols = int(round(rng.uniform(38e-3, 45e-3) / spacing))
        d_c = rng.uniform(14e-3, 21e-3)
        lat_c = cols * spacing / 2 + rng.uniform(-5e-3, 5e-3)
        if view == "transversal-cca":
            z = -rng.uniform(15e-3, 25e-3)
            rot = np.deg2rad(rng.uniform(-20, 20))
            e_depth = np.array([np.cos(rot), np.sin(rot), 0.0])
            e_lat = np.array([-np.sin(rot), np.cos(rot), 0.0])
            centre = np.array([0.0, 0.0, z])
        elif view == "transversal-ica":
            ica = patient.branches["ica"]
            s = p["plaque_position_m"] if p["plaque_present"] else p["bulb_position_m"]
            k = int(np.argmin(np.abs(ica.arclength - s)))
            centre = ica.points[k]
            t = ica.tangent
            x_perp = np.array([1.0, 0.0, 0.0]) - t[0] * t
            x_perp /= np.linalg.norm(x_perp)
            y_ax = np.cross(t, x_perp)
            rot = np.deg2rad(rng.uniform(-20, 20))
            e_depth = np.cos(rot) * x_perp + np.sin(rot) * y_ax
            e_lat = -np.sin(rot) * x_perp + np.cos(rot) * y_ax
        else:
            tilt = np.deg2rad(rng.uniform(-10, 10))
            e_depth = np.array([np.cos(tilt), np.sin(tilt), 0.0])
            if rng.random() < 0.5:
                e_depth = -e_depth  # ICA shallower instead of deeper
            e_lat = np.array([0.0, 0.0, 1.0])
            centre = np.array([0.0, 0.0, 0.0])
            lat_c = cols * spacing * rng.uniform(0.55, 0.7)
            d_c = rng.uniform(16e-3, 22e-3)
        cuts.append(_plane_cut(view, centre, e_depth, e_lat, d_c, lat_c, spacing,
                               (rows, cols)))
    return cuts


def echogenicity(patient: CarotidPatient, cut: Cut, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Echogenicity map and label mask (lumen 1, wall 2) of one cut."""
    rows, cols = cut.shape
    tissue = patient.classify(cut.points()).reshape(rows, cols)
    sp = cut.spacing_m
    # neck tissue: layered muscle/fat texture, brighter fascia lines
    layers = smooth_noise((rows, cols), (1.2e-3 / sp, 4e-3 / sp), rng)
    fine = smooth_noise((rows, cols), (0.3e-3 / sp, 0.8e-3 / sp), rng)
    echo = 0.04 * np.exp(0.5 * layers + 0.2 * fine)
    depth = (np.arange(rows) * sp)[:, None] * np.ones((1, cols))
    for _ in range(int(rng.integers(2, 4))):
        d0 = rng.uniform(2e-3, 10e-3)
        echo += 0.5 * np.exp(-((depth - d0 - 1e-3 * smooth_noise((1, cols), 60, rng)) /
                               0.25e-3) ** 2)
    # jugular vein next to the artery in transversal views (dark, compressible ellipse)
    if cut.view.startswith("transversal"):
        r, c = np.mgrid[0:rows, 0:cols] * sp
        vessel = tissue > 0
        rr, cc = np.nonzero(vessel)
        if len(rr):
            vr, vc = rr.mean() * sp, cc.mean() * sp
            r_out = np.sqrt(vessel.sum() / np.pi) * sp
            a, b = rng.uniform(4e-3, 7e-3), rng.uniform(2e-3, 4e-3)
            side = rng.choice([-1, 1])
            jc = vc + side * (r_out + a + rng.uniform(1e-3, 3e-3))
            jr = vr - rng.uniform(1e-3, 4e-3)
            vein = ((c - jc) / a) ** 2 + ((r - jr) / b) ** 2 <= 1
            vein &= ~ndimage_dilate(vessel, int(round(0.5e-3 / sp)))
            echo[vein] = 2e-4
    plaque_texture = np.clip(0.4 + 0.35 * smooth_noise((rows, cols), 0.4e-3 / sp, rng),
                             0.05, 1.5)
    adventitia = ndimage_dilate(tissue > 0, int(round(0.6e-3 / sp))) & (tissue == 0)
    echo[adventitia] = 1.2
    echo[tissue == 1] = 1e-4
    echo[tissue == 2] = 1.0
    echo[tissue == 3] = plaque_texture[tissue == 3]
    mask = np.zeros((rows, cols), np.uint8)
    mask[tissue == 1] = 1
    mask[(tissue == 2) | (tissue == 3)] = 2
    return echo, mask


def ndimage_dilate(mask: np.ndarray, iterations: int) -> np.ndarray:
    """Binary dilation (``scipy.ndimage``), no-op for 0 iterations."""
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=iterations) if iterations > 0 else mask


def render(patient: CarotidPatient, cut: Cut, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray, Appearance]:
    """B-mode picture ([0, 1]) and mask of one cut."""
    echo, mask = echogenicity(patient, cut, rng)
    look = Appearance.draw(rng)
    return bmode(echo, cut.spacing_m, look), mask, look


def scanner_params(cut: Cut, look: Appearance) -> dict[str, str]:
    """Parameter-table text of a linear carotid probe (plausible values, not physics)."""
    depth_cm = cut.shape[0] * cut.spacing_m * 100
    return {"L12-5": "", "MI": f"{0.6 + look.seed % 5 / 10:.1f}", "TIs": "0.2",
            "Gn": f"{50 + look.gain_db:.0f}", "DR": f"{look.dynamic_range_db:.0f}",
            "Frq": "9.0 MHz", "D": f"{depth_cm:.1f} cm", "FR": f"{20 + look.seed % 15} Hz"}
