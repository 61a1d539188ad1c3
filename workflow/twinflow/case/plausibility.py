"""Plausibility of case values: physiological and numerical ranges, each with its source.

A quantity in :data:`RANGES` has a *hard* range (outside it the value is physically impossible
or numerically meaningless: a validation error, exit 2) and a *typical* range (outside it the
value is possible but unusual: a warning that names the key and the range; the run goes on).
Hard ranges catch unit slips and typos (``1000 Pa*s`` for ``3.5 mPa*s``, 400 bpm, a 10 s time
step); typical ranges ask the author to look again. Ranks above this machine's cores are a
warning only: a case may be written for a cluster.

:func:`check` reads a validated case (SI floats) and returns :class:`Finding` s naming the key
paths they are about; :func:`twinflow.case.load.validate_document` reports them as
``FILE:LINE:COL: key: message`` lines. Ratios (time step / period, cell size / vessel radius)
are dimensionless rows of the same table. docs/conventions.md ("Plausibility") lists it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twinflow import units as u

if TYPE_CHECKING:
    from twinflow.case.models import BenchmarkCase, CarotidCase, LeftVentricleCase

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """A value outside its hard (``error``) or typical range; ``paths`` are the keys it is
    about, the first one written in the case file is reported."""

    paths: tuple[Loc, ...]
    message: str
    error: bool


@dataclass(frozen=True, slots=True)
class Range:
    """Hard and typical bounds (inclusive) of a quantity in ``unit`` ("" for a ratio), each
    with why: the reason a value outside ``hard`` is impossible, the source of ``typical``."""

    what: str
    unit: str
    hard: tuple[float, float]
    hard_why: str
    typical: tuple[float, float]
    typical_why: str

    def check(self, value_si: float, *paths: Loc, of: str = "") -> list[Finding]:
        """Findings for ``value_si`` at ``paths``; ``of`` tells what a ratio is made of."""
        x = value_si / u.to_si(1.0, self.unit) if self.unit else value_si
        shown = f"{x:.4g} {self.unit}".rstrip() + (f" ({of})" if of else "")
        for (lo, hi), why, kind in ((self.hard, self.hard_why, "possible"),
                                    (self.typical, self.typical_why, "typical")):
            if not _inside(x, lo, hi):
                span = f"{lo:g}-{hi:g} {self.unit}".rstrip()
                return [Finding(paths, f"{self.what} {shown} is outside the {kind} range "
                                       f"{span}: {why}", error=kind == "possible")]
        return []


def _inside(x: float, lo: float, hi: float) -> bool:
    """``lo <= x <= hi`` up to rounding (a step of T/50 gives 50 steps, not 49.999...)."""
    return lo <= x <= hi or any(math.isclose(x, b, rel_tol=1e-9) for b in (lo, hi))


BP_SOURCE = "ESC/ESH 2018 guideline (hypotension < 90, grade 3 hypertension >= 180/110 mmHg)"
BP_HARD = "beyond measured human pressures; check the unit"

#: The table: hard ranges say what is impossible, typical ranges describe adults at rest.
RANGES: dict[str, Range] = {r.what: r for r in (
    Range("blood density", "kg/m**3",
          (900, 1300), "not a water-based liquid (phantom water-glycerol mixes included)",
          (1035, 1070), "whole blood 1050 (reference-data.md): plasma 1025 and red cells "
                        "1100 kg/m**3 mixed at haematocrit 0.2-0.6"),
    Range("blood viscosity", "mPa*s",
          (0.5, 50), "below water at 37 C (0.7 mPa*s), above even low-shear blood",
          (2.5, 6), "Newtonian high-shear whole blood 3.5 mPa*s (reference-data.md), "
                    "2.5-6 at haematocrit 0.25-0.6"),
    Range("heart rate", "bpm",
          (30, 210), "above the maximal heart rate (Tanaka 2001: 208 - 0.7 x age), below "
                     "escape rhythms",
          (50, 100), "resting adult 60-100 bpm (AHA), athletes down to 40-50"),
    Range("systolic pressure", "mmHg", (60, 260), BP_HARD, (90, 180), BP_SOURCE),
    Range("diastolic pressure", "mmHg", (30, 150), BP_HARD, (50, 110), BP_SOURCE),
    Range("end-diastolic pressure", "mmHg",
          (1, 40), "an unfilled LV below, beyond pulmonary oedema above",
          (3, 25), "normal 5-12 mmHg (reference-data.md), to ~25 in decompensated failure"),
    Range("end-diastolic volume", "mL",
          (10, 800), "from a neonate's LV to beyond the largest dilated LV; check the unit",
          (60, 300), "normal 100-160 mL (reference-data.md), dilated LVs to ~300 (PROVE-HF: "
                     "LVEDVI 87 mL/m2)"),
    Range("end-systolic volume", "mL",
          (2, 700), "from a neonate's LV to beyond the largest dilated LV; check the unit",
          (15, 250), "normal 35-65 mL (reference-data.md), HFrEF to ~250 (PROVE-HF: LVESVI "
                     "62 mL/m2)"),
    Range("ejection fraction", "",
          (0.05, 0.95), "an LV that does not eject, or one that empties",
          (0.15, 0.80), "normal 0.55-0.70 (reference-data.md), HFrEF down to 0.15"),
    Range("mean inflow", "mL/s",
          (0, 50), "negative is backflow; one carotid carries < 10 % of the ~100 mL/s "
                   "cardiac output",
          (2, 12), "CCA: 415 +/- 87 mL/min = 6.9 +/- 1.5 mL/s in 174 adults (reference-data.md)"),
    Range("time step / period", "",
          (0, 1), "a step longer than the beat resolves no waveform",
          (0, 0.02), "fewer than 50 steps a beat under-resolve the systolic peak (VaMPy "
                     "uses ~10 000)"),
    Range("cell size / vessel radius", "",
          (0, 1), "fewer than 2 cells span the lumen (mesh_tube refuses it)",
          (0, 0.5), "fewer than 2 cells a radius do not resolve the near-wall velocity "
                    "gradient (WSS); default radius/6"),
    Range("cell size / wall thickness", "",
          (0, 2.5), "every cell would span the wall (gmsh meshes down to half the cell "
                    "size only, lv/mesh.py) and, in a normal LV, the cavity radius",
          (0, 1.5), "one to two P2 cells across the wall converge (docs/lv-cycle.md)"),
)}


def available_cores() -> int:
    """CPU cores this process may use (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check(case: CarotidCase | LeftVentricleCase | BenchmarkCase) -> list[Finding]:
    """Every value of ``case`` outside its hard or typical range."""
    found: list[Finding] = []
    if case.anatomy == "carotid":
        found += _carotid(case)  # type: ignore[arg-type]
    elif case.anatomy == "left-ventricle":
        found += _left_ventricle(case)  # type: ignore[arg-type]
    ranks, cores = case.simulation.mpi_ranks, available_cores()
    if ranks > cores:
        found.append(Finding((("simulation", "mpi_ranks"),),
                             f"{ranks} MPI ranks is outside the typical range 1-{cores}: more "
                             f"ranks than this machine's {cores} cores (fine for a cluster)",
                             error=False))
    return found


def _carotid(case: CarotidCase) -> list[Finding]:
    phys, r = case.physics, RANGES
    found = r["blood density"].check(phys.blood.density, ("physics", "blood", "density"))
    found += r["blood viscosity"].check(phys.blood.viscosity, ("physics", "blood", "viscosity"))
    inflow = phys.inflow
    period = ("physics", "inflow", "period")
    # a beat: not a steady flow's analysis window, nor a verification tube's chosen period
    if inflow.waveform != "steady" and case.geometry.kind == "bifurcation":
        found += r["heart rate"].check(1 / inflow.period, period)
    if inflow.waveform != "table":  # a table carries its own flow values
        found += r["mean inflow"].check(inflow.mean_flow, ("physics", "inflow", "mean_flow"))
    step = case.simulation.time_step
    found += r["time step / period"].check(step / inflow.period, ("simulation", "time_step"),
                                           period, of=f"{step:g} s / {inflow.period:g} s")
    if case.mesh.cell_size is not None:
        geometry = case.geometry
        radius = (geometry.tube.radius if geometry.kind == "tube"
                  else geometry.template.cca_diameter / 2)
        cell = case.mesh.cell_size
        found += r["cell size / vessel radius"].check(
            cell / radius, ("mesh", "cell_size"), of=f"{cell * 1e3:g} mm / {radius * 1e3:g} mm")
    return found


def _left_ventricle(case: LeftVentricleCase) -> list[Finding]:
    r, meas = RANGES, case.measurements
    heart_rate = (("measurements", "heart_rate"), ("physics", "circulation", "heart_rate"))
    found = r["heart rate"].check(case.physics.circulation.heart_rate, *heart_rate)
    bp = meas.blood_pressure
    measured = [("end-diastolic pressure", "end_diastolic_pressure", meas.end_diastolic_pressure),
                ("end-diastolic volume", "end_diastolic_volume", meas.end_diastolic_volume),
                ("end-systolic volume", "end_systolic_volume", meas.end_systolic_volume),
                ("ejection fraction", "ejection_fraction", meas.ejection_fraction),
                ("systolic pressure", "blood_pressure.systolic", bp and bp.systolic),
                ("diastolic pressure", "blood_pressure.diastolic", bp and bp.diastolic)]
    for what, key, value in measured:
        if value is not None:
            found += r[what].check(value, ("measurements", *key.split(".")))
    step, period = case.simulation.time_step, 1 / case.physics.circulation.heart_rate
    found += r["time step / period"].check(step / period, ("simulation", "time_step"),
                                           *heart_rate, of=f"{step:g} s / {period:.4g} s")
    m = case.geometry.measurements
    if case.mesh.cell_size is not None and case.geometry.source == "measurements":
        cell, wall = case.mesh.cell_size, m.epi_short_radius - m.endo_short_radius
        found += r["cell size / wall thickness"].check(
            cell / wall, ("mesh", "cell_size"), of=f"{cell * 1e3:g} mm / {wall * 1e3:g} mm")
    return found
