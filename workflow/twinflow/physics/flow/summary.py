r"""The summary of a flow solve (``summary.json``, :class:`twinflow.artifacts.flow.FlowSummary`).

Over the last simulated period (the analysed cycle):

- wall statistics of TAWSS, OSI and RRT (:mod:`twinflow.physics.flow.hemodynamics`): the
  area-weighted mean, and min, max and percentiles :data:`PERCENTILES` of the P1 wall-node
  values (not area weighted: the nodes of a quasi-uniform wall mesh sample the area nearly
  evenly);
- the mean TAWSS of the CCA segment, the wall within :data:`CCA_SEGMENT_DIAMETERS` inlet
  diameters downstream of the inlet plane;
- the fraction of the wall area with TAWSS below :data:`LOW_TAWSS_PA`;
- inlet Reynolds numbers :math:`Re = \rho U D/\mu = 4\rho Q/(\pi\mu D)` of the mean and peak
  flow, and the Womersley number :math:`\alpha = R\sqrt{\omega\rho/\mu}` (Womersley 1955) of
  the inlet;
- mean and maximum pressure drops inlet -> outlet, mean outlet flows, the flow split
  (mean outlet flow / mean inflow) and the mass balance
  :math:`\max|Q_{in} - \sum Q_{out}| / \max|Q_{in}|`;
- the scheme and its :data:`SIMPLIFICATIONS`, the settings, the mesh, timings, the largest
  cell Courant and Peclet numbers, and the output files.
"""

from __future__ import annotations

import json
import math

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import numpy.typing as npt
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from twinflow.artifacts.flow import (
    CellNumbersMax,
    FlowSummary,
    Outputs,
    Timing,
    WallStatistics,
)
from twinflow.geometry import tags
from twinflow.io import canonical_json
from twinflow.physics.flow import womersley
from twinflow.physics.flow.assembly import integrate
from twinflow.physics.flow.forms import FlowFields
from twinflow.physics.flow.hemodynamics import WallShearStressProjector
from twinflow.physics.flow.monitors import SeriesMonitor
from twinflow.physics.flow.settings import FlowSettings

#: Atherogenic low-shear threshold (Malek et al. 1999, JAMA 282:2035), Pa.
LOW_TAWSS_PA: float = 0.4
#: Percentiles of the wall fields in the summary (of the P1 wall-node values, not area
#: weighted: the nodes of a quasi-uniform wall mesh sample the area nearly evenly).
PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
#: Length of the "CCA segment" downstream of the INLET, in inlet diameters (default; settings
#: ``cca_segment_diameters``). The carotid template's CCA is 30 mm ~ 4.4 D long before the
#: bifurcation (Bharadvaj et al. 1982 ratios, case.schema BifurcationTemplate), so 2 D stays
#: inside the straight CCA also without flow extensions.
CCA_SEGMENT_DIAMETERS: float = 2.0

SIMPLIFICATIONS: tuple[str, ...] = (
    "Newtonian blood (constant viscosity)",
    "rigid wall (no fluid-structure interaction)",
    "no turbulence model (laminar flow assumed); convection stabilised by SUPG (consistent, "
    "residual-based) unless settings.stabilisation is none; the demo mesh (~1 mm cells) and "
    "time step (4 ms) do not resolve transitional flow after peak systole: BDF2 damps the "
    "unresolved scales (numerical dissipation)",
    "outlets as lumped 0D models (pressure, resistance, 3-element Windkessel) or a prescribed "
    "flow split with a fully developed velocity profile",
    "inlet velocity profile of fully developed (Womersley) flow in a circle of the inlet's area",
)


def scheme_description(cfg: FlowSettings) -> str:
    """The numerical scheme of ``cfg`` in words."""
    return ("IPCS (incremental pressure correction), Taylor-Hood P2/P1, "
            + ("BDF2, extrapolated convecting velocity" if cfg.time_scheme == "bdf2" else
               "Crank-Nicolson, Adams-Bashforth linearised convection")
            + (", skew-symmetric convection" if cfg.convection == "skew-symmetric" else "")
            + (", residual-based SUPG on the tentative velocity (Brooks & Hughes 1982; "
               "tau of Shakib et al. 1991)"
               if cfg.stabilisation == "supg" else
               ", no convective stabilisation"))


def wall_statistics(fn: fem.Function, on_wall: npt.NDArray[np.bool_], ds: ufl.Measure,
                    wall_tag: int, area: float) -> WallStatistics:
    """Area-weighted mean, min, max and :data:`PERCENTILES` of a P1 wall field."""
    comm = fn.function_space.mesh.comm
    owned = fn.function_space.dofmap.index_map.size_local
    values = fn.x.array[:owned][on_wall[:owned]]
    mean = integrate(fn * ds(wall_tag)) / area
    lowest = comm.allreduce(float(values.min(initial=np.inf)), op=MPI.MIN)
    highest = comm.allreduce(float(values.max(initial=-np.inf)), op=MPI.MAX)
    gathered = np.concatenate(comm.allgather(values))
    return WallStatistics(mean=mean, min=lowest, max=highest,
                          **{f"p{q}": float(np.percentile(gathered, q)) for q in PERCENTILES})


def timing(ranks: int, setup_s: float, loop_s: float, steps: int,
           iterations: dict[str, int], step1_preconditioner: str) -> Timing:
    """Wall-clock times and mean Krylov iterations per step of the run."""
    per_step = max(steps, 1)
    return Timing(ranks=ranks, setup_s=setup_s, time_loop_s=loop_s, steps=steps,
                  seconds_per_step=loop_s / per_step,
                  mean_iterations_step1=iterations["step1"] / per_step,
                  mean_iterations_step3=iterations["step3"] / per_step,
                  step1_preconditioner=step1_preconditioner)


def cell_numbers_max(maxima: dict[str, float]) -> CellNumbersMax:
    return CellNumbersMax(courant=maxima["courant"], peclet=maxima["peclet"],
                          definition="max over cells and steps of |u| dt / h and |u| h / "
                                     "(2 nu) at the cell midpoint, h = cell diameter")


def flow_summary(cfg: FlowSettings, fields: FlowFields, ds: ufl.Measure,
                 monitor: SeriesMonitor, wss: WallShearStressProjector,
                 indices: tuple[fem.Function, ...], n_steps: int, run_timing: Timing,
                 cell_numbers: CellNumbersMax, outputs: Outputs) -> FlowSummary:
    """The summary of a run (module docstring) from its series and index fields."""
    mesh = fields.V.mesh
    wall = ds(cfg.wall_tag)
    series, openings, outlet_tags = monitor.series, monitor.openings, monitor.outlet_tags
    data = np.asarray(series.rows)
    col = {name: i for i, name in enumerate(series.header)}
    last = data[-min(cfg.steps_per_cycle, len(data)):]
    tawss_f, osi_f, rrt_f = indices
    wall_area = integrate(fem.Constant(mesh, PETSc.ScalarType(1.0)) * wall)
    low = integrate(ufl.conditional(ufl.lt(tawss_f, LOW_TAWSS_PA), 1.0, 0.0) * wall)
    q_in = last[:, col["q_inlet"]]
    drop = {str(t): {"mean": float(np.mean(last[:, col["p_inlet"]]
                                           - last[:, col[f"p_outlet_{t}"]])),
                     "max": float(np.max(last[:, col["p_inlet"]]
                                         - last[:, col[f"p_outlet_{t}"]]))}
            for t in outlet_tags}
    flows = {str(t): float(np.mean(last[:, col[f"q_outlet_{t}"]])) for t in outlet_tags}
    # CCA segment: wall within cca_segment_diameters inlet diameters downstream of the inlet
    inlet = openings[cfg.inlet_tag]
    n_d = float(cfg.raw.get("cca_segment_diameters", CCA_SEGMENT_DIAMETERS))
    axial = ufl.dot(ufl.SpatialCoordinate(mesh) - ufl.as_vector(inlet.centroid.tolist()),
                    ufl.as_vector((-inlet.normal).tolist()))
    in_cca = ufl.conditional(ufl.lt(axial, n_d * 2.0 * inlet.radius), 1.0, 0.0)
    cca_area = integrate(in_cca * wall)
    cca_tawss = integrate(in_cca * tawss_f * wall)
    diameter = 2.0 * inlet.radius
    reynolds = {name: 4.0 * cfg.density * float(value) / (math.pi * cfg.viscosity * diameter)
                for name, value in (("mean", np.mean(q_in)), ("peak", np.max(q_in)))}
    assert cfg.waveform is not None
    alpha = womersley.womersley_number(inlet.radius, cfg.waveform.omega, cfg.density,
                                       cfg.viscosity)
    outflow = sum(last[:, col[f"q_outlet_{t}"]] for t in outlet_tags)
    return FlowSummary(
        simplifications=list(SIMPLIFICATIONS),
        scheme=scheme_description(cfg),
        settings=json.loads(canonical_json(cfg.raw)),
        inflow_waveform={"source": cfg.waveform.source, **cfg.waveform.coefficients()},
        mesh={"cells": mesh.topology.index_map(3).size_global,
              "geometry_degree": mesh.geometry.cmaps[0].degree,
              "velocity_dofs": fields.V.dofmap.index_map.size_global
                               * fields.V.dofmap.index_map_bs,
              "pressure_dofs": fields.Q.dofmap.index_map.size_global,
              "wall_area_m2": wall_area,
              "openings": {str(t): {"area_m2": o.area, "centroid_m": o.centroid.tolist(),
                                    "normal": o.normal.tolist(), "radius_m": o.radius}
                           for t, o in openings.items()}},
        time={"time_step_s": cfg.time_step, "period_s": cfg.period, "cycles": cfg.cycles,
              "steps": n_steps, "analysed_from_s": float(last[0, 0] - cfg.time_step),
              "analysed_to_s": float(last[-1, 0])},
        tawss_pa=wall_statistics(tawss_f, wss.on_wall, ds, cfg.wall_tag, wall_area),
        osi=wall_statistics(osi_f, wss.on_wall, ds, cfg.wall_tag, wall_area),
        rrt_per_pa=wall_statistics(rrt_f, wss.on_wall, ds, cfg.wall_tag, wall_area),
        tawss_cca_segment_pa={"mean": cca_tawss / cca_area if cca_area > 0 else None,
                              "wall_area_m2": cca_area, "diameters": n_d,
                              "definition": "wall within diameters x inlet diameter "
                                            "downstream of the inlet plane"},
        low_tawss_area_fraction=low / wall_area,
        reynolds_inlet=reynolds,
        womersley_inlet=alpha,
        pressure_drop_cca_ica_pa=drop.get(str(tags.OUTLET_ICA)),
        outlet_models={str(t): type(m).__name__ for t, m in sorted(cfg.outlets.items())},
        low_tawss_threshold_pa=LOW_TAWSS_PA,
        wss_mean_magnitude_pa={"mean": float(np.mean(last[:, col["wss_mean_magnitude"]])),
                               "max": float(np.max(last[:, col["wss_mean_magnitude"]]))},
        inlet_flow_m3_s={"mean": float(np.mean(q_in)), "max": float(np.max(q_in)),
                         "min": float(np.min(q_in))},
        outlet_flow_m3_s=flows,
        flow_split={t: f / float(np.mean(q_in)) if np.mean(q_in) != 0 else None
                    for t, f in flows.items()},
        pressure_drop_pa=drop,
        mass_balance_relative=float(np.max(np.abs(q_in - outflow))
                                    / max(np.max(np.abs(q_in)), 1e-300)),
        timing=run_timing,
        cell_numbers_max=cell_numbers,
        outputs=outputs,
    )
