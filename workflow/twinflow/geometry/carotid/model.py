"""Patient-adapted carotid bifurcation model: three straight branches with measured profiles.

Following Geroski et al. (2023, J Big Data 10:72, "3D reconstruction of carotid artery"): a
generic bifurcation template is adapted to the patient wherever the images show a quantity.

* Frame: bifurcation point at the origin, CCA along +z ending at the origin, bifurcation
  plane x–z, ICA towards +x (the longitudinal cut is taken as the bifurcation plane).
* Each branch ``b`` is an axis :math:`\\mathbf{a}_b(s) = s\\,\\mathbf{e}_b` (CCA: s ≤ 0) with
  an outer-wall radius :math:`R_b(s)` about the axis and a circular lumen of radius
  :math:`r_b(s)` whose centre is shifted in the bifurcation plane by :math:`o_b(s)` along
  the in-plane normal (an eccentric plaque). A point belongs to branch b when it lies in the
  circle of the nearest axis point (s clamped to the branch range, which rounds the ends
  at the bifurcation); the vessel is the union of the branches. The lumen is the zero level
  of :math:`\\phi(\\mathbf{x}) = \\min_b (|\\mathbf{x} - \\mathbf{a}_b(s^*) -
  o_b\\mathbf{n}_b| - r_b(s^*))`.
* Profiles come from the longitudinal cut (:mod:`.images`); hidden edges are filled from the
  other side assuming a circular wall about the axis and a wall thickness equal to the
  intima–media thickness (IMT) measured on the CCA. The CCA lumen diameter is the mean of
  the longitudinal (profile median) and transversal (area-equivalent) values; the lumen at
  the ICA transversal cut (placed at the narrowest ICA lumen, or at the bulb maximum without
  narrowing) is scaled to the measured area.
* Beyond the image, CCA and ECA keep their last measured radii; the ICA relaxes from its
  last measured radius to the template distal ICA (``ica_ratio`` × CCA diameter) as
  :math:`r = r_t + (r_{last} - r_t)\\exp(-((s - s_{last})/D_{CCA})^2)` (assumed shape).
  Branch lengths are the template lengths, or the visible length when longer.
* Without a longitudinal cut the whole model is the template (Bharadvaj et al. 1982, J
  Biomech 15:349: ICA 0.7 D, ECA 0.58 D, sinus 1.1 D, ICA–ECA angle 50°; the sinus is placed
  one CCA diameter downstream with a Gaussian width of one diameter, an assumption) scaled by
  the transversal CCA diameter, ICA and ECA symmetric about the CCA axis.
* Grid (:meth:`BifurcationModel.on_grid`): the reconstruction rounds the model onto a fixed
  grid before anything is built from it — lengths to :data:`LENGTH_GRID_M` (0.1 µm, 1/900 of
  a demo pixel), unit-vector components to :data:`DIRECTION_GRID` (about 1 µrad). The last
  bits of the fitted model depend on the CPU (numpy's AVX-512 vs AVX2 ``exp``/``arctan2``,
  OpenBLAS's kernel for the CPU in ``least_squares``: up to 7e-10 in the branch directions),
  and gmsh's remeshing turns such differences into different meshes (demo: 22 780 cells
  here, 23 032 / 23 386 / 23 310 with numpy's / OpenBLAS's / both AVX2 paths); see
  docs/reproducibility.md. A difference survives the rounding only when a
  value lies within that distance of a grid midpoint (about 1e-3 per differing value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from twinflow.geometry.carotid.images import (
    STATION_STEP_M,
    LongitudinalCut,
    NoBifurcation,
    TransversalSection,
)

BRANCHES: tuple[str, ...] = ("cca", "ica", "eca")
#: Grid of the model's lengths (m) and of its unit-vector components (module docstring).
LENGTH_GRID_DECIMALS = 7
LENGTH_GRID_M = 10.0 ** -LENGTH_GRID_DECIMALS
DIRECTION_GRID_DECIMALS = 6
DIRECTION_GRID = 10.0 ** -DIRECTION_GRID_DECIMALS


def _on_grid(values: np.ndarray, decimals: int) -> np.ndarray:
    """``values`` rounded to ``decimals`` decimals; ``+ 0.0`` turns -0.0 into 0.0, so a tiny
    value of either sign gives the same JSON."""
    return np.round(np.asarray(values, dtype=float), decimals) + 0.0


#: Threshold of local lumen narrowing 1 - r/r0 that defines the plaque length (assumed).
PLAQUE_NARROWING_THRESHOLD = 0.10


@dataclass(slots=True)
class Template:
    """Generic bifurcation (SI), from ``geometry.template`` of the canonical case."""

    cca_diameter: float = 6.8e-3       # CTA of 92 subjects (reference-data.md)
    ica_ratio: float = 0.7             # Bharadvaj et al. 1982
    eca_ratio: float = 0.58            # Bharadvaj et al. 1982
    bulb_ratio: float = 1.1            # Bharadvaj et al. 1982
    bifurcation_angle: float = np.deg2rad(50.0)  # Bharadvaj et al. 1982
    cca_length: float = 30e-3
    ica_length: float = 40e-3
    eca_length: float = 30e-3
    #: Intima-media thickness when no image shows it: 0.7 mm, mid-range of adults
    #: (Stein et al. 2008, J Am Soc Echocardiogr 21:93).
    imt: float = 0.7e-3

    @classmethod
    def from_case(cls, case: dict[str, Any]) -> Template:
        t = ((case.get("geometry") or {}).get("template")) or {}
        keys = ("cca_diameter", "ica_ratio", "eca_ratio", "bulb_ratio", "bifurcation_angle",
                "cca_length", "ica_length", "eca_length")
        return cls(**{k: float(t[k]) for k in keys if k in t})

    def length(self, branch: str) -> float:
        return {"cca": self.cca_length, "ica": self.ica_length, "eca": self.eca_length}[branch]


@dataclass(slots=True)
class BranchModel:
    """One branch: axis direction and profiles sampled at ``s`` (SI)."""

    name: str
    direction: np.ndarray      # 3D unit vector, downstream (CCA: towards the bifurcation)
    normal: np.ndarray         # 3D unit vector in the bifurcation plane, normal to the axis
    s: np.ndarray              # increasing arclength samples (CCA: [-L, 0])
    outer_radius: np.ndarray
    lumen_radius: np.ndarray
    lumen_offset: np.ndarray   # along ``normal``
    measured: np.ndarray       # bool: sample inside the image

    @property
    def s_min(self) -> float:
        return float(self.s[0])

    @property
    def s_max(self) -> float:
        return float(self.s[-1])

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.interp(s, self.s, self.outer_radius), np.interp(s, self.s, self.lumen_radius),
                np.interp(s, self.s, self.lumen_offset))

    def end(self) -> tuple[np.ndarray, np.ndarray]:
        """Centre of the open end (inlet of the CCA, outlet of ICA/ECA) and outward normal."""
        if self.name == "cca":
            return self.s_min * self.direction, -self.direction
        return self.s_max * self.direction, self.direction

    def on_grid(self) -> BranchModel:
        """This branch with lengths and unit vectors rounded onto the grid (module doc)."""
        return BranchModel(self.name, _on_grid(self.direction, DIRECTION_GRID_DECIMALS),
                           _on_grid(self.normal, DIRECTION_GRID_DECIMALS),
                           *(_on_grid(v, LENGTH_GRID_DECIMALS) for v in
                             (self.s, self.outer_radius, self.lumen_radius,
                              self.lumen_offset)),
                           self.measured.copy())

    def to_json(self) -> dict[str, Any]:
        return {"direction": self.direction.tolist(), "normal": self.normal.tolist(),
                "s_m": self.s.tolist(), "outer_radius_m": self.outer_radius.tolist(),
                "lumen_radius_m": self.lumen_radius.tolist(),
                "lumen_offset_m": self.lumen_offset.tolist(),
                "measured": self.measured.astype(int).tolist()}

    @classmethod
    def from_json(cls, name: str, d: dict[str, Any]) -> BranchModel:
        return cls(name, np.array(d["direction"]), np.array(d["normal"]), np.array(d["s_m"]),
                   np.array(d["outer_radius_m"]), np.array(d["lumen_radius_m"]),
                   np.array(d["lumen_offset_m"]), np.array(d["measured"], bool))


@dataclass(slots=True)
class BifurcationModel:
    branches: dict[str, BranchModel]
    imt: float
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ implicit
    def level_set(self, x: np.ndarray, outer: bool, extend: dict[str, float] | None = None
                  ) -> np.ndarray:
        """:math:`\\phi` (module docstring) at points ``x`` (n, 3); negative inside.

        ``extend`` lengthens the open ends (m) with constant end profiles.
        """
        return self.branch_level_sets(x, outer, extend).min(axis=0)

    def branch_level_sets(self, x: np.ndarray, outer: bool,
                          extend: dict[str, float] | None = None) -> np.ndarray:
        """Per-branch level sets, shape (n_branches, n) in ``self.branches`` order."""
        extend = extend or {}
        out = []
        for name, b in self.branches.items():
            lo, hi = b.s_min, b.s_max
            if name == "cca":
                lo -= extend.get(name, 0.0)
            else:
                hi += extend.get(name, 0.0)
            s = np.clip(x @ b.direction, lo, hi)
            big_r, r_l, off = b.at(s)
            rel = x - s[:, None] * b.direction[None, :]
            if outer:
                val = np.linalg.norm(rel, axis=1) - big_r
            else:
                val = np.linalg.norm(rel - off[:, None] * b.normal[None, :], axis=1) - r_l
            out.append(val)
        return np.stack(out)

    def on_grid(self) -> BifurcationModel:
        """The model rounded onto the grid of the module docstring (a new model)."""
        return BifurcationModel({k: b.on_grid() for k, b in self.branches.items()},
                                float(_on_grid(self.imt, LENGTH_GRID_DECIMALS)),
                                dict(self.sources), list(self.notes))

    def to_json(self) -> dict[str, Any]:
        return {"frame": "bifurcation at origin; CCA along +z ending at origin; bifurcation "
                "plane x-z; ICA towards +x", "imt_m": self.imt, "sources": self.sources,
                "notes": self.notes,
                "branches": {k: b.to_json() for k, b in self.branches.items()}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BifurcationModel:
        return cls({k: BranchModel.from_json(k, v) for k, v in d["branches"].items()},
                   float(d["imt_m"]), dict(d.get("sources", {})), list(d.get("notes", [])))


# ---------------------------------------------------------------------- from images


def _fill(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    ok = np.isfinite(v)
    if not ok.any():
        return v
    return np.interp(s, s[ok], v[ok])


def _smooth(v: np.ndarray, n: int = 5) -> np.ndarray:
    return ndimage.uniform_filter1d(ndimage.median_filter(v, size=n, mode="nearest"), 3,
                                    mode="nearest")


def _plane_map(cut: LongitudinalCut) -> tuple[np.ndarray, np.ndarray]:
    """2D (row, col) basis → 3D: CCA direction → +z, in-plane normal → +x (ICA side)."""
    ez2 = cut.branches["cca"].direction
    ex2 = np.array([-ez2[1], ez2[0]])
    if cut.branches["ica"].direction @ ex2 < 0:
        ex2 = -ex2
    return ex2, ez2


def _to3d(v2: np.ndarray, ex2: np.ndarray, ez2: np.ndarray) -> np.ndarray:
    return np.array([v2 @ ex2, 0.0, v2 @ ez2])


def _edges(bp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return bp.wall_plus.copy(), bp.wall_minus.copy(), bp.lumen_plus.copy(), \
        bp.lumen_minus.copy()


def measure_imt(cut: LongitudinalCut, d_cca: float) -> float:
    """Median wall thickness of both CCA walls away from the bifurcation."""
    b = cut.branches["cca"]
    sel = b.s < -1.0 * d_cca
    thick = np.concatenate([(b.wall_plus - b.lumen_plus)[sel],
                            (b.lumen_minus - b.wall_minus)[sel]])
    thick = thick[np.isfinite(thick) & (thick > 0)]
    return float(np.median(thick)) if len(thick) else float("nan")


def model_from_images(cut: LongitudinalCut | None, cca_t: TransversalSection | None,
                      ica_t: TransversalSection | None, template: Template) -> BifurcationModel:
    """Adapt the template to what the cuts show (module docstring)."""
    if cut is None:
        return template_model(template, cca_t, ica_t)
    sources: dict[str, str] = {}
    notes: list[str] = list(cut.notes)
    bp_c = cut.branches["cca"]
    wp, wm, lp, lm = _edges(bp_c)
    both = (wp - wm)[bp_c.s < -4e-3]
    if not np.isfinite(both).any():
        # no CCA station with both walls beyond 4 mm: no CCA to adapt the template to
        raise NoBifurcation(Path("longitudinal cut"), "no CCA station shows both walls "
                            "more than 4 mm upstream of the bifurcation")
    d_cca_long = float(np.nanmedian(both))
    imt = measure_imt(cut, d_cca_long)
    if not np.isfinite(imt):
        imt = template.imt
        sources["imt"] = "template"
    else:
        sources["imt"] = "longitudinal cut (CCA walls)"
    ex2, ez2 = _plane_map(cut)
    branches: dict[str, BranchModel] = {}
    for name in BRANCHES:
        bp = cut.branches[name]
        wp, wm, lp, lm = _edges(bp)
        s = bp.s.copy()
        valid = np.isfinite(wp) | np.isfinite(wm)
        if name == "cca":
            valid &= s < -0.8 * d_cca_long
        # daughters: a lumen seen on one side only is unreliable when the axis is off the
        # vessel centre (a curved ICA, or a segmentation that bends the fitted axis): the
        # mirrored lumen edge then collapses the radius. Such stations take the lumen radius
        # of their two-sided neighbours (interpolation below) and a concentric lumen, or,
        # without any two-sided station, the one-sided estimate.
        one_sided = np.isfinite(lp) != np.isfinite(lm)
        drop_lumen = one_sided if name != "cca" and (~one_sided & valid &
                                                     np.isfinite(lp)).sum() >= 3 \
            else np.zeros(len(s), bool)
        # hidden wall edge: circular wall about the axis
        wp = np.where(np.isfinite(wp), wp, -wm)
        wm = np.where(np.isfinite(wm), wm, -wp)
        # hidden lumen edge: concentric with the wall on that side
        lp = np.where(np.isfinite(lp), lp, wp - imt)
        lm = np.where(np.isfinite(lm), lm, wm + imt)
        big_r = 0.5 * (wp - wm)
        r_l = np.maximum(0.5 * (lp - lm), 0.0)
        off = 0.5 * (lp + lm) - 0.5 * (wp + wm)
        for arr in (big_r, r_l, off):
            arr[~valid] = np.nan
        r_l[drop_lumen] = np.nan
        off[drop_lumen] = 0.0  # no eccentricity without both lumen edges
        if drop_lumen.any():
            notes.append(f"{name}: lumen seen on one side only at {int(drop_lumen.sum())} "
                         "stations; radius interpolated from the two-sided stations, "
                         "lumen concentric there")
        big_r, r_l, off = (_smooth(_fill(s, a)) for a in (big_r, r_l, off))
        measured = valid.copy()
        if name == "cca":
            # hold the last clean CCA value up to the bifurcation
            k_last = int(np.nonzero(valid)[0].max())
            big_r[k_last:] = big_r[k_last]
            r_l[k_last:] = r_l[k_last]
            off[k_last:] = off[k_last]
        direction = _to3d(bp.direction, ex2, ez2)
        direction /= np.linalg.norm(direction)
        normal = np.cross(np.array([0.0, 1.0, 0.0]), direction)  # in the x-z plane
        normal /= np.linalg.norm(normal)
        n3 = _to3d(bp.normal, ex2, ez2)
        if n3 @ normal < 0:
            off = -off
        branches[name] = BranchModel(name, direction, normal, s, big_r, r_l, off, measured)
        sources[f"{name}_profile"] = "longitudinal cut"
    # CCA lumen: average the longitudinal profile with the transversal area diameter
    cca = branches["cca"]
    if cca_t is not None:
        r_long = float(np.median(cca.lumen_radius[cca.measured]))
        r_tr = 0.5 * cca_t.lumen_diameter_m
        scale = 0.5 * (1.0 + r_tr / r_long)
        cca.lumen_radius *= scale
        sources["cca_diameter"] = "longitudinal + transversal cut (mean)"
        if cca_t.lumen_ellipticity > 0.1:
            notes.append(f"CCA lumen ellipticity {cca_t.lumen_ellipticity:.2f} in the "
                         "transversal cut; modelled as a circle of equal area")
    else:
        sources["cca_diameter"] = "longitudinal cut"
    d_cca = 2.0 * float(np.median(cca.lumen_radius[cca.measured]))
    # ICA: place the transversal cut at the narrowest lumen (or the bulb), match its area
    ica = branches["ica"]
    if ica_t is not None:
        k = _ica_cut_station(ica, imt)
        r_meas = 0.5 * ica_t.lumen_diameter_m
        r_model = float(ica.lumen_radius[k])
        if r_model > 0:
            w = np.exp(-((ica.s - ica.s[k]) / (0.5 * d_cca)) ** 2)
            ica.lumen_radius *= 1.0 + w * (r_meas / r_model - 1.0)
        sources["ica_cross_section"] = (f"transversal cut, placed at s = {ica.s[k] * 1e3:.1f} "
                                        "mm (narrowest lumen / bulb of the longitudinal cut)")
    # lengths and extrapolation beyond the image
    for name, b in branches.items():
        length = template.length(name)
        visible = float(np.abs(b.s[b.measured]).max()) if b.measured.any() else 0.0
        if visible >= length:
            length = visible
            sources[f"{name}_length"] = "image (branch end visible)"
        else:
            sources[f"{name}_length"] = "template"
        _extend(b, length, d_cca, template, imt)
    return BifurcationModel(branches, imt, sources, notes)


def _ica_cut_station(ica: BranchModel, imt: float) -> int:
    meas = np.nonzero(ica.measured)[0]
    r0 = ica.outer_radius - imt
    narrowing = 1.0 - ica.lumen_radius / np.maximum(r0, 1e-9)
    k = meas[int(np.argmax(narrowing[meas]))]
    if narrowing[k] < PLAQUE_NARROWING_THRESHOLD:
        k = meas[int(np.argmax(ica.outer_radius[meas]))]
    return int(k)


def _extend(b: BranchModel, length: float, d_cca: float, template: Template,
            imt: float) -> None:
    """Extend the profiles of ``b`` to ``length`` beyond the measured range."""
    meas = np.nonzero(b.measured)[0]
    if b.name == "cca":
        k_first = int(meas.min())
        s_new = np.arange(-length, b.s[k_first] - 1e-12, STATION_STEP_M)
        keep = slice(k_first, None)
        s = np.concatenate([s_new, b.s[keep]])
        pad = len(s_new)
        b.outer_radius = np.concatenate([np.full(pad, b.outer_radius[k_first]),
                                         b.outer_radius[keep]])
        b.lumen_radius = np.concatenate([np.full(pad, b.lumen_radius[k_first]),
                                         b.lumen_radius[keep]])
        b.lumen_offset = np.concatenate([np.full(pad, b.lumen_offset[k_first]),
                                         b.lumen_offset[keep]])
        b.measured = np.concatenate([np.zeros(pad, bool), b.measured[keep]])
        b.s = s
        return
    k_last = int(meas.max())
    s_last = float(b.s[k_last])
    s_new = np.arange(s_last + STATION_STEP_M, length + 0.5 * STATION_STEP_M, STATION_STEP_M)
    if b.name == "ica":
        r_t = 0.5 * template.ica_ratio * d_cca
        decay = np.exp(-((s_new - s_last) / d_cca) ** 2)
        r_l = r_t + (b.lumen_radius[k_last] - r_t) * decay
        big_r = r_t + imt + (b.outer_radius[k_last] - r_t - imt) * decay
        off = b.lumen_offset[k_last] * decay
    else:
        r_l = np.full(len(s_new), b.lumen_radius[k_last])
        big_r = np.full(len(s_new), b.outer_radius[k_last])
        off = np.full(len(s_new), b.lumen_offset[k_last])
    keep = slice(0, k_last + 1)
    b.s = np.concatenate([b.s[keep], s_new])
    b.outer_radius = np.concatenate([b.outer_radius[keep], big_r])
    b.lumen_radius = np.concatenate([b.lumen_radius[keep], r_l])
    b.lumen_offset = np.concatenate([b.lumen_offset[keep], off])
    b.measured = np.concatenate([b.measured[keep], np.zeros(len(s_new), bool)])


def template_model(template: Template, cca_t: TransversalSection | None,
                   ica_t: TransversalSection | None = None) -> BifurcationModel:
    """The generic bifurcation (module docstring), scaled by the transversal CCA diameter.

    With a transversal ICA cut the bulb and the stenosis it shows are put into the template
    ICA at the sinus station :math:`s_b` (one CCA diameter downstream): the unobstructed
    radius :math:`r_0(s_b)` is the measured outer radius less the IMT, the lumen is narrowed
    to the measured area-equivalent radius :math:`r_m` with a Gaussian of width
    :math:`D/2` (assumed), :math:`r(s) = r_0(s)\\,(1 - p\\,e^{-((s - s_b)/(D/2))^2})`,
    :math:`p = 1 - r_m/r_0(s_b)`, and the lumen centre is shifted by :math:`r_0 - r` towards
    the flow divider: plaques grow on the outer wall of the sinus, opposite the divider
    (Zarins et al. 1983, Circ Res 53:502). NASCET then compares :math:`r_m` with the
    template distal ICA.
    """
    d = cca_t.lumen_diameter_m if cca_t is not None else template.cca_diameter
    imt = template.imt
    half = 0.5 * template.bifurcation_angle
    branches = {}
    notes = ["no longitudinal cut: generic template geometry"]
    for name, sign in (("cca", 0.0), ("ica", 1.0), ("eca", -1.0)):
        length = template.length(name)
        off = None
        if name == "cca":
            s = np.arange(-length, 1e-12, STATION_STEP_M)
            direction = np.array([0.0, 0.0, 1.0])
            r_l = np.full(len(s), 0.5 * d)
            r0 = r_l
        else:
            s = np.arange(0.0, length + 1e-12, STATION_STEP_M)
            direction = np.array([sign * np.sin(half), 0.0, np.cos(half)])
            if name == "ica":
                r_t = 0.5 * template.ica_ratio * d
                r_b = 0.5 * template.bulb_ratio * d
                if ica_t is not None:
                    r_b = max(ica_t.outer_radius_m - imt, r_t)
                r0 = r_t + (r_b - r_t) * np.exp(-((s - d) / d) ** 2)
                r_l = r0
                if ica_t is not None:
                    k = int(np.argmin(np.abs(s - d)))
                    p = max(0.0, 1.0 - 0.5 * ica_t.lumen_diameter_m / float(r0[k]))
                    r_l = r0 * (1.0 - p * np.exp(-((s - s[k]) / (0.5 * d)) ** 2))
                    off = -(r0 - r_l)  # along the normal = away from the divider
                    notes.append(f"transversal ICA cut placed at the template sinus (s = "
                                 f"{s[k] * 1e3:.1f} mm); stenosis from its lumen area")
            else:
                r_l = np.full(len(s), 0.5 * template.eca_ratio * d)
                r0 = r_l
        normal = np.cross(np.array([0.0, 1.0, 0.0]), direction)
        branches[name] = BranchModel(name, direction, normal, s, r0 + imt, r_l,
                                     np.zeros(len(s)) if off is None else off,
                                     np.zeros(len(s), bool))
    sources = {"all": "template (no usable longitudinal cut)",
               "cca_diameter": "transversal cut" if cca_t is not None else "template"}
    if ica_t is not None:
        sources["ica_cross_section"] = "transversal cut, placed at the template sinus"
    return BifurcationModel(branches, imt, sources, notes)


# ---------------------------------------------------------------------- measurements


def measurements(model: BifurcationModel, ica_t: TransversalSection | None,
                 cca_t: TransversalSection | None) -> dict[str, Any]:
    """Diameters, bulb, stenosis (NASCET, ECST, area), plaque length, angle (SI)."""
    cca, ica, eca = (model.branches[k] for k in BRANCHES)
    d_cca = 2.0 * float(np.median(cca.lumen_radius[cca.measured] if cca.measured.any()
                                  else cca.lumen_radius))
    meas = ica.measured if ica.measured.any() else np.ones(len(ica.s), bool)
    r0 = np.maximum(ica.outer_radius - model.imt, 1e-9)
    k_min = int(np.nonzero(meas)[0][np.argmin(ica.lumen_radius[meas])])
    d_min = 2.0 * float(ica.lumen_radius[k_min])
    d_distal = 2.0 * float(r0[-1])
    narrowing = 1.0 - ica.lumen_radius / r0
    plaque = narrowing >= PLAQUE_NARROWING_THRESHOLD
    plaque_len = float(plaque.sum() * STATION_STEP_M)
    angle = float(np.arccos(np.clip(ica.direction @ eca.direction, -1, 1)))
    out: dict[str, Any] = {
        "cca_lumen_diameter_m": d_cca,
        "cca_outer_diameter_m": 2.0 * float(np.median(cca.outer_radius)),
        "ica_bulb_max_diameter_m": 2.0 * float(r0[meas].max()),
        "ica_distal_diameter_m": d_distal,
        "ica_min_lumen_diameter_m": d_min,
        "ica_min_lumen_position_m": float(ica.s[k_min]),
        "eca_diameter_m": 2.0 * float(np.median(eca.lumen_radius[eca.measured] if
                                                eca.measured.any() else eca.lumen_radius)),
        "bulb_ratio": float(r0[meas].max() * 2.0 / d_cca),
        "intima_media_thickness_m": model.imt,
        "bifurcation_angle_rad": angle,
        "ica_angle_rad": float(np.arccos(np.clip(ica.direction[2], -1, 1))),
        "eca_angle_rad": float(np.arccos(np.clip(eca.direction[2], -1, 1))),
        "stenosis_nascet": max(0.0, 1.0 - d_min / d_distal),
        "stenosis_ecst": max(0.0, float(narrowing[k_min])),
        "stenosis_area_model": max(0.0, 1.0 - float((ica.lumen_radius[k_min] / r0[k_min]) ** 2)),
        "plaque_length_m": plaque_len,
        "plaque_definition": f"ICA length where the lumen radius is narrowed by >= "
                             f"{PLAQUE_NARROWING_THRESHOLD:.0%} of the unobstructed radius "
                             "(outer radius - IMT)",
        "branch_length_m": {k: float(b.s[-1] - b.s[0]) for k, b in model.branches.items()},
    }
    out["stenosis_nascet_source"] = (
        "narrowest reconstructed ICA lumen vs the distal ICA "
        + ("(longitudinal cut" if ica.measured.any() else "(template ICA")
        + (", lumen area matched to the transversal ICA cut)" if ica_t is not None else ")"))
    if ica_t is not None:
        r0_t = max(ica_t.outer_radius_m - model.imt, 1e-9)
        out["stenosis_area_transversal"] = max(0.0, 1.0 - ica_t.lumen_area_m2 /
                                               (np.pi * r0_t ** 2))
        out["ica_transversal_lumen_diameter_m"] = ica_t.lumen_diameter_m
        out["ica_transversal_outer_diameter_m"] = ica_t.outer_diameter_m
        out["stenosis_area"] = out["stenosis_area_transversal"]
        out["stenosis_area_source"] = "transversal ICA cut (planimetry)"
    else:
        out["stenosis_area"] = out["stenosis_area_model"]
        out["stenosis_area_source"] = "reconstructed ICA profile (circular lumen)"
    if cca_t is not None:
        out["cca_transversal_lumen_diameter_m"] = cca_t.lumen_diameter_m
        out["cca_transversal_lumen_ellipticity"] = cca_t.lumen_ellipticity
    return out
