"""Synthetic left ventricle: truncated ellipsoids at end-diastole and end-systole.

**Geometry** (LV frame: base plane :math:`z = 0`, apex towards :math:`-z`, metres). The
endocardium is the half ellipsoid :math:`x^2/a_x^2 + y^2/a_y^2 + z^2/c^2 \\le 1,\\ z \\le 0`, the
epicardium the same with :math:`(a_x + h, a_y + h, c + h)`; the cavity volume is
:math:`V = \\tfrac{2}{3}\\pi a_x a_y c` (half ellipsoid, truncated at its equator — a
simplification of the basal truncation above the equator used by Land et al. 2015).

Per patient (uniform draws): end-diastolic short-axis radius :math:`a_x` 21–29 mm (LV
end-diastolic diameter 42–58 mm, Lang et al. 2015, J Am Soc Echocardiogr 28:1), ellipticity
:math:`a_y/a_x` 0.88–1.12, long semi-axis :math:`c` 70–92 mm, wall thickness
:math:`h` 7–14 mm (normal ≤ 10–11 mm, the upper part hypertrophy as in the valsartan study of
Thürmann et al. 1998), ejection fraction 0.40–0.70 (normal 55–70 %, reference-data.md).
End-systole: the long axis shortens by 8–15 % (Lang 2015 reports ~10–20 % longitudinal
strain), the short axes scale by :math:`k` so that :math:`ESV = EDV (1 - EF)`, and the wall
thickens so that the myocardial volume is conserved (incompressible myocardium), solving
:math:`V_{epi}(h_{ES}) - ESV = V_{epi,ED} - EDV` for :math:`h_{ES}` with ``scipy.optimize.brentq``.

**Images**: apical 4- and 2-chamber echo views are cuts through the long axis at angles
:math:`\\psi` and :math:`\\psi + 60°` about it (Lang 2015), rendered in a sector (apex at the
top) with :mod:`twinflow.imaging.synth.ultrasound`; the 4-chamber view also shows the right
ventricle and both atria, the 2-chamber view the left atrium (dark, not in the masks), and
mitral leaflets. A CT-like volume (contrast blood pool 350 HU, myocardium 110 HU, soft
tissue 40 HU, Gaussian noise 20 HU, slight blur) shows the LV with its long axis tilted from
the scanner axes. Masks: cavity = 1, myocardium = 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.optimize import brentq
from scipy.spatial.transform import Rotation

from twinflow.imaging.synth.ultrasound import Appearance, bmode, smooth_noise

PHASES: tuple[str, ...] = ("end-diastole", "end-systole")
ECHO_VIEWS: tuple[str, ...] = ("apical-4ch", "apical-2ch")
#: Angle between the apical 4- and 2-chamber planes about the long axis (Lang et al. 2015).
TWO_CHAMBER_ANGLE_RAD = np.deg2rad(60.0)


def half_ellipsoid_volume(ax: float, ay: float, c: float) -> float:
    """:math:`\\tfrac{2}{3}\\pi a_x a_y c` (m^3)."""
    return 2.0 / 3.0 * np.pi * ax * ay * c


@dataclass(frozen=True, slots=True)
class LVShape:
    """Endocardial semi-axes and wall thickness of one phase (m)."""

    ax: float
    ay: float
    c: float
    h: float

    @property
    def cavity_volume(self) -> float:
        return half_ellipsoid_volume(self.ax, self.ay, self.c)

    @property
    def epi_volume(self) -> float:
        return half_ellipsoid_volume(self.ax + self.h, self.ay + self.h, self.c + self.h)

    def classify(self, local: np.ndarray) -> np.ndarray:
        """0 outside, 1 cavity, 2 myocardium for points in the LV frame ``(N, 3)``."""
        x, y, z = local[:, 0], local[:, 1], local[:, 2]
        below = z <= 0.0
        endo = (x / self.ax) ** 2 + (y / self.ay) ** 2 + (z / self.c) ** 2 <= 1.0
        epi = (x / (self.ax + self.h)) ** 2 + (y / (self.ay + self.h)) ** 2 \
            + (z / (self.c + self.h)) ** 2 <= 1.0
        out = np.zeros(len(local), np.uint8)
        out[below & epi] = 2
        out[below & endo] = 1
        return out

    def in_plane_radius(self, psi: float) -> float:
        """Endocardial radius in direction ``psi`` of the short-axis plane."""
        return 1.0 / np.sqrt(np.cos(psi) ** 2 / self.ax ** 2 + np.sin(psi) ** 2 / self.ay ** 2)


@dataclass(slots=True)
class LVPatient:
    patient: str
    ed: LVShape
    es: LVShape
    psi_4ch: float
    params: dict[str, float]

    def shape(self, phase: str) -> LVShape:
        return self.ed if phase == "end-diastole" else self.es

    def truth(self) -> dict[str, Any]:
        def shape_dict(s: LVShape) -> dict[str, float]:
            return {"endo_semi_axis_x_m": s.ax, "endo_semi_axis_y_m": s.ay,
                    "endo_long_semi_axis_m": s.c, "wall_thickness_m": s.h,
                    "cavity_volume_m3": s.cavity_volume,
                    "myocardial_volume_m3": s.epi_volume - s.cavity_volume,
                    "long_axis_length_m": s.c, "short_axis_diameter_m": s.ax + s.ay}
        edv, esv = self.ed.cavity_volume, self.es.cavity_volume
        return {"anatomy": "left-ventricle", "patient": self.patient,
                "frame": "LV frame: base plane z = 0, apex towards -z; endo half ellipsoid "
                         "x^2/ax^2 + y^2/ay^2 + z^2/c^2 <= 1, epi with (ax+h, ay+h, c+h)",
                "edv_m3": edv, "esv_m3": esv, "ejection_fraction": 1.0 - esv / edv,
                "wall_thickness_ed_m": self.ed.h, "wall_thickness_es_m": self.es.h,
                "end_diastole": shape_dict(self.ed), "end_systole": shape_dict(self.es),
                "apical_4ch_angle_rad": self.psi_4ch,
                "apical_2ch_angle_rad": self.psi_4ch + TWO_CHAMBER_ANGLE_RAD,
                "parameters": dict(sorted(self.params.items()))}


@dataclass(frozen=True, slots=True)
class LVTargets:
    """Given values of a patient (a virtual-cohort member, :mod:`twinflow.cohort`) instead
    of the uniform draws: end-diastolic volume (m^3), ejection fraction, ED wall thickness (m)."""

    edv_m3: float
    ejection_fraction: float
    wall_thickness_m: float


def sample_lv(patient: str, rng: np.random.Generator,
              targets: LVTargets | None = None) -> LVPatient:
    """Draw one patient's LV (ranges and sources in the module docstring). With ``targets``
    the volume, EF and wall thickness are those given; the shape is still drawn (ellipticity
    as above, long-to-short semi-axis ratio :math:`c/a_x` 2.8-3.6, the middle of the ranges
    above) and scaled to the volume."""
    ax = rng.uniform(21e-3, 29e-3)
    ay = ax * rng.uniform(0.88, 1.12)
    c = rng.uniform(70e-3, 92e-3)
    h = rng.uniform(7e-3, 14e-3)
    ef = rng.uniform(0.40, 0.70)
    shortening = rng.uniform(0.08, 0.15)
    if targets is not None:
        ratio, elongation = ay / ax, rng.uniform(2.8, 3.6)
        ax = (targets.edv_m3 / (2.0 / 3.0 * np.pi * ratio * elongation)) ** (1.0 / 3.0)
        ay, c = ratio * ax, elongation * ax
        h, ef = targets.wall_thickness_m, targets.ejection_fraction
    ed = LVShape(ax, ay, c, h)
    esv = ed.cavity_volume * (1.0 - ef)
    c_es = c * (1.0 - shortening)
    k = np.sqrt(esv / half_ellipsoid_volume(ax, ay, c_es))
    v_myo = ed.epi_volume - ed.cavity_volume

    def residual(h_es: float) -> float:
        return LVShape(k * ax, k * ay, c_es, h_es).epi_volume - esv - v_myo

    h_es = brentq(residual, 1e-4, 60e-3, xtol=1e-9)
    es = LVShape(k * ax, k * ay, c_es, h_es)
    params = {"ejection_fraction_target": ef, "long_axis_shortening": shortening,
              "radial_scale_es": k}
    return LVPatient(patient, ed, es, float(rng.uniform(0, np.pi)), params)


@dataclass(slots=True)
class Sector:
    """Apical echo geometry: transducer at the top centre, long axis tilted by ``tilt``."""

    view: str
    phase: str
    psi: float
    spacing_m: float
    shape: tuple[int, int]
    half_angle: float
    depth_m: float
    apex_depth_m: float
    tilt: float

    def plane_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel: lateral (along the view direction) and LV z coordinate (m)."""
        rows, cols = self.shape
        d = (np.arange(rows) + 0.5)[:, None] * self.spacing_m * np.ones((1, cols))
        lat = (np.arange(cols) - (cols - 1) / 2)[None, :] * self.spacing_m * np.ones((rows, 1))
        ct, st = np.cos(self.tilt), np.sin(self.tilt)
        lat_r, d_r = ct * lat - st * d, st * lat + ct * d
        return lat_r, d_r

    def support(self) -> np.ndarray:
        rows, cols = self.shape
        d = (np.arange(rows) + 0.5)[:, None] * self.spacing_m
        lat = (np.arange(cols) - (cols - 1) / 2)[None, :] * self.spacing_m
        radius = np.hypot(d, lat)
        return (np.abs(np.arctan2(lat, d)) <= self.half_angle) & (radius <= self.depth_m)

    def truth(self) -> dict[str, Any]:
        return {"view": self.view, "phase": self.phase, "angle_about_long_axis_rad": self.psi,
                "spacing_m": self.spacing_m, "shape": list(self.shape),
                "sector_half_angle_rad": self.half_angle, "sector_depth_m": self.depth_m,
                "apex_depth_m": self.apex_depth_m, "long_axis_tilt_rad": self.tilt,
                "pixel_to_lv": "lat = (col - (cols-1)/2)*s, d = (row+0.5)*s; rotate (lat, d) "
                               "by tilt; x,y = lat*(cos psi, sin psi); z = d - apex_depth - "
                               "(c_ed + h_ed)"}


def make_sectors(patient: LVPatient, rng: np.random.Generator) -> list[Sector]:
    """Apical 4ch/2ch sectors at ED and ES (same probe position within a view)."""
    out = []
    for view in ECHO_VIEWS:
        psi = patient.psi_4ch + (0.0 if view == "apical-4ch" else TWO_CHAMBER_ANGLE_RAD)
        depth = rng.uniform(150e-3, 175e-3)
        rows = int(rng.integers(420, 500))
        spacing = depth / rows
        half = np.deg2rad(rng.uniform(36, 44))
        cols = int(2 * depth * np.sin(half) / spacing) + 4
        apex = rng.uniform(8e-3, 18e-3)
        tilt = np.deg2rad(rng.uniform(-7, 7))
        for phase in PHASES:
            out.append(Sector(view, phase, psi, spacing, (rows, cols), half, depth, apex, tilt))
    return out


def _sector_labels(patient: LVPatient, sector: Sector) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    lat, d = sector.plane_coords()
    ed = patient.ed
    z = d - sector.apex_depth_m - (ed.c + ed.h)
    local = np.stack([lat.ravel() * np.cos(sector.psi), lat.ravel() * np.sin(sector.psi),
                      z.ravel()], axis=1)
    labels = patient.shape(sector.phase).classify(local).reshape(sector.shape)
    return labels, lat, z


def render_echo(patient: LVPatient, sector: Sector, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, Appearance]:
    """B-mode-like apical view ([0, 1]) and its LV mask (cavity 1, myocardium 2)."""
    labels, lat, z = _sector_labels(patient, sector)
    shape = patient.shape(sector.phase)
    sp = sector.spacing_m
    support = sector.support()
    echo = 0.025 * np.exp(0.7 * smooth_noise(sector.shape, (3e-3 / sp, 6e-3 / sp), rng))
    r_plane = shape.in_plane_radius(sector.psi)
    blood = 4e-5
    # other chambers (not in the masks): atria below the base, RV beside the LV in 4ch
    wall = 3e-3
    la_h, la_w = rng.uniform(30e-3, 45e-3), r_plane * rng.uniform(0.9, 1.2)
    la = ((lat / la_w) ** 2 + ((z - la_h) / la_h) ** 2) <= 1.0
    la_wall = ((lat / (la_w + wall)) ** 2 + ((z - la_h) / (la_h + wall)) ** 2) <= 1.0
    chambers, walls = la, la_wall & (z > 0)
    if sector.view == "apical-4ch":
        side = -1.0
        rv_w = r_plane * rng.uniform(0.6, 0.9)
        rv_c = side * (r_plane + shape.h + rv_w)
        rv_len = shape.c * rng.uniform(0.7, 0.85)
        rv = (((lat - rv_c) / rv_w) ** 2 + (z / rv_len) ** 2 <= 1.0) & (z <= 0)
        rv_wall = (((lat - rv_c) / (rv_w + 4e-3)) ** 2 + (z / (rv_len + 4e-3)) ** 2 <= 1.0) \
            & (z <= 0)
        ra_c = rv_c
        ra = (((lat - ra_c) / (rv_w * 1.1)) ** 2 + ((z - 0.8 * la_h) / (0.8 * la_h)) ** 2) <= 1
        ra_wall = (((lat - ra_c) / (rv_w * 1.1 + wall)) ** 2
                   + ((z - 0.8 * la_h) / (0.8 * la_h + wall)) ** 2) <= 1
        chambers = chambers | rv | ra
        walls = walls | rv_wall | (ra_wall & (z > 0))
    echo[walls & (labels == 0)] = 0.5
    echo[chambers & (labels == 0)] = blood
    pericardium = ndimage.binary_dilation(labels > 0, iterations=max(1, int(2e-3 / sp))) \
        & (labels == 0) & ~chambers
    echo[pericardium] = 1.0
    myo_texture = 0.25 * np.exp(0.5 * smooth_noise(sector.shape, 1.5e-3 / sp, rng))
    echo[labels == 2] = myo_texture[labels == 2]
    echo[labels == 1] = blood
    # mitral leaflets: open (ED) hanging into the LV, closed (ES) across the base
    leaflet = np.zeros(sector.shape, bool)
    thick = 1.2e-3
    if sector.phase == "end-systole":
        leaflet = (np.abs(z + 4e-3 - 4e-3 * (np.abs(lat) / r_plane) ** 2) < thick) & \
            (np.abs(lat) < r_plane)
    else:
        for sgn in (-1, 1):
            x0 = sgn * r_plane * 0.9
            leaflet |= (np.abs(lat - x0 + sgn * 0.25 * (z + 0)) < thick) & (z > -18e-3) & (z < 0)
    echo[leaflet & (labels == 1)] = 0.4
    look = Appearance.draw(rng)
    look.attenuation_db_per_m = float(rng.uniform(0.0, 60.0))
    picture = bmode(echo, sp, look, psf_axial_m=0.4e-3, psf_lateral_m=1.2e-3, support=support)
    mask = np.where(support, labels, 0).astype(np.uint8)
    return picture, mask, look


def echo_params(sector: Sector, look: Appearance) -> dict[str, str]:
    """Parameter-table text of a phased-array probe (plausible values, not physics)."""
    return {"P4-2": "", "MI": f"{1.0 + look.seed % 4 / 10:.1f}", "TIS": "0.8",
            "Gn": f"{50 + look.gain_db:.0f}", "DR": f"{look.dynamic_range_db:.0f}",
            "Frq": "2.5 MHz", "D": f"{sector.depth_m * 100:.0f} cm",
            "FR": f"{45 + look.seed % 20} Hz", "HR": f"{60 + look.seed % 30} bpm"}


@dataclass(slots=True)
class Volume:
    """CT-like volume: HU image (slices, rows, cols), labels, geometry."""

    hu: np.ndarray
    labels: np.ndarray
    spacing_m: tuple[float, float, float]
    origin_m: tuple[float, float, float]
    rotation: np.ndarray
    base_centre_m: np.ndarray

    def truth(self) -> dict[str, Any]:
        return {"spacing_m": list(self.spacing_m), "origin_m": list(self.origin_m),
                "lv_to_world_rotation": self.rotation.tolist(),
                "base_centre_m": self.base_centre_m.tolist(),
                "long_axis": self.rotation[:, 2].tolist(),
                "world_from_lv": "x_world = base_centre + R @ x_lv"}


def render_volume(patient: LVPatient, phase: str, rng: np.random.Generator,
                  spacing_m: float = 1.5e-3) -> Volume:
    """CT-like volume of the LV at ``phase`` (module docstring)."""
    shape = patient.shape(phase)
    tilt = np.deg2rad(rng.uniform(30, 50))
    rotation = Rotation.from_euler("xz", [tilt, rng.uniform(0, 2 * np.pi)]).as_matrix()
    ed = patient.ed
    half = max(ed.ax, ed.ay) + ed.h + 25e-3
    extent = np.array([2 * half, 2 * half, ed.c + ed.h + 60e-3])
    n = np.maximum(np.ceil(extent / spacing_m).astype(int), 8)
    n[:2] = max(n[:2])
    n[2] = n[0] = n[1] = max(n)  # cube: the LV axis is tilted
    size = n * spacing_m
    origin = -size / 2
    zz, yy, xx = np.meshgrid(*(origin[i] + (np.arange(n[i]) + 0.5) * spacing_m
                               for i in (2, 1, 0)), indexing="ij")
    world = np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)
    base_centre = rotation @ np.array([0.0, 0.0, (ed.c + ed.h) / 2])
    local = (world - base_centre) @ rotation
    labels = shape.classify(local).reshape(n[2], n[1], n[0])
    hu = 40.0 + 15.0 * smooth_noise(labels.shape, 4.0, rng)
    atrium = (local[:, 2] > 0) & (np.hypot(local[:, 0], local[:, 1]) < 0.8 * ed.ax) & \
        (local[:, 2] < 40e-3)
    hu.ravel()[atrium] = 350.0
    hu[labels == 2] = 110.0
    hu[labels == 1] = 350.0
    hu = ndimage.gaussian_filter(hu, 0.7) + rng.normal(0.0, 20.0, hu.shape)
    origin_voxel = tuple(float(o + spacing_m / 2) for o in origin)
    return Volume(np.round(hu).astype(np.int16), labels, (spacing_m,) * 3, origin_voxel,
                  rotation, base_centre)
