"""The time loop of the flow solver: :func:`solve_flow`.

Set-up (mesh, boundary conditions, forms, solvers, monitors), then ``cycles`` periods of
time steps of the IPCS scheme (:mod:`twinflow.physics.flow.step`); after each step the
monitors record the series and probes, the wall shear stress of the last period is
accumulated into the hemodynamic indices, and the fields are written at the output steps.
Last the indices, the renders and the summary.

Outputs (in ``out_dir``): ``fields/{velocity,pressure,wss,indices}.bp`` (VTX/ADIOS2, open in
ParaView), ``series.csv`` (t, inlet/outlet flows and mean pressures, area-averaged WSS),
``probes.csv`` (velocity and pressure at the probe points), ``summary.json``
(:class:`twinflow.artifacts.flow.FlowSummary`), ``tawss.png`` / ``osi.png`` (pyvista, off
screen).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import ufl
from mpi4py import MPI

from twinflow.artifacts.flow import Outputs
from twinflow.errors import TwinflowError
from twinflow.io import write_text_atomic
from twinflow.logs import Progress
from twinflow.physics.flow.boundary import flow_boundary
from twinflow.physics.flow.forms import FlowFields, ipcs_forms
from twinflow.physics.flow.hemodynamics import (
    IndexAccumulator,
    WallShearStressProjector,
    index_fields,
)
from twinflow.physics.flow.mesh import check_vessel_mesh, read_mesh
from twinflow.physics.flow.monitors import CellNumbers, ProbeSet, SeriesMonitor
from twinflow.physics.flow.output import FieldFiles
from twinflow.physics.flow.render import render_wall_fields
from twinflow.physics.flow.settings import FlowSettings
from twinflow.physics.flow.step import IPCSStep
from twinflow.physics.flow.summary import cell_numbers_max, flow_summary, timing

log = logging.getLogger(__name__)


def solve_flow(mesh_path: Path, settings: dict[str, Any], out_dir: Path,
               comm: MPI.Comm | None = None) -> Path:
    """Solve the pulsatile flow of ``settings`` (:mod:`twinflow.physics.flow.settings`) on
    ``mesh_path``; writes the outputs (module docstring) and returns ``summary.json``."""
    comm = MPI.COMM_WORLD if comm is None else comm
    wall_start = time.perf_counter()
    cfg = FlowSettings.from_dict(settings)
    out_dir = Path(out_dir)
    mesh, facet_tags = read_mesh(Path(mesh_path), comm)
    check_vessel_mesh(mesh, facet_tags, [(cfg.inlet_tag, "inlet"), (cfg.wall_tag, "wall")]
                      + [(tag, "outlet") for tag in cfg.outlets], mesh_path)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    fields = FlowFields.taylor_hood(mesh)
    boundary = flow_boundary(fields.V, fields.Q, ds, facet_tags, cfg)
    forms = ipcs_forms(fields, cfg, ds, list(boundary.pressure_outlets))
    stepper = IPCSStep(forms, boundary, cfg, ds)
    wss = WallShearStressProjector(fields.u, forms.mu, facet_tags, cfg.wall_tag)
    monitor = SeriesMonitor(fields.u, fields.p, wss, ds, boundary.openings, cfg.inlet_tag,
                            cfg.wall_tag)
    cell_numbers = CellNumbers(fields.u, forms)
    probes = ProbeSet(mesh, cfg.probes) if cfg.probes else None
    files = FieldFiles(out_dir, comm, {"velocity": [fields.u], "pressure": [fields.p],
                                       "wss": [wss.tau]})
    gdim, dt, n_steps = mesh.geometry.dim, cfg.time_step, cfg.n_steps
    indices = IndexAccumulator(wss.tau.x.array.size // gdim, gdim)
    analysis_start = n_steps - cfg.steps_per_cycle  # the last period is analysed
    log.info("%s: %d cells, %d velocity and %d pressure dofs; %d steps of %.4g s on %d "
             "rank(s)", mesh_path, mesh.topology.index_map(3).size_global,
             fields.V.dofmap.index_map.size_global * fields.V.dofmap.index_map_bs,
             fields.Q.dofmap.index_map.size_global,
             n_steps, dt, comm.size)

    setup_s = time.perf_counter() - wall_start
    loop_start = time.perf_counter()
    with Progress(total=n_steps, desc="time steps", unit="step", logger=log) as bar:
        for step in range(1, n_steps + 1):
            t = step * dt
            q_in = boundary.update(t)
            stepper.advance(t)
            flows = monitor.flows()
            if not all(math.isfinite(f) for f in flows.values()):
                raise TwinflowError(f"{mesh_path}: the flow solution diverged at t = {t:.4g} s "
                                    "(reduce time_step or refine the mesh)")
            numbers = cell_numbers.update()
            if cfg.log_every > 0 and step % cfg.log_every == 0:
                _log_step(step, t, q_in, numbers, cell_numbers, stepper, loop_start)
            monitor.record(t, q_in, flows)
            if probes is not None:
                probes.record(t, fields.u, fields.p)
            if step > analysis_start:
                indices.add(wss.tau.x.array.reshape(-1, gdim), dt)
            if cfg.writes_fields_at(step):
                files.write(t)
            bar.update(postfix=f"t={t:.3f} s CFL={numbers['courant']:.2g}")
    loop_s = time.perf_counter() - loop_start
    files.close()

    wall_indices = index_fields(indices, wss)
    files.write_once("indices", list(wall_indices), n_steps * dt)
    renders = (render_wall_fields(wss.scalar_space, wall_indices[:2], wss.on_wall, out_dir)
               if cfg.render else [])
    summary = flow_summary(
        cfg, fields, ds, monitor, wss, wall_indices, n_steps,
        run_timing=timing(comm.size, setup_s, loop_s, n_steps, stepper.solvers.iterations,
                          stepper.solvers.step1_preconditioner),
        cell_numbers=cell_numbers_max(cell_numbers.maxima),
        outputs=Outputs(series="series.csv", probes="probes.csv" if probes else None,
                        fields=files.paths, renders=renders))
    stepper.destroy()
    wss.destroy()
    summary_path = out_dir / "summary.json"
    if comm.rank == 0:
        write_text_atomic(out_dir / "series.csv", monitor.series.text())
        if probes is not None:
            write_text_atomic(out_dir / "probes.csv", probes.series.text())
        summary.write(summary_path)
    comm.barrier()
    log.info("%d steps in %.1f s; summary: %s", n_steps, loop_s, summary_path)
    return summary_path


def _log_step(step: int, t: float, q_in: float, numbers: dict[str, float],
              cell_numbers: CellNumbers, stepper: IPCSStep, loop_start: float) -> None:
    """The diagnostic line of ``log_every`` (collective: every rank calls it)."""
    speed_max, at = cell_numbers.fastest_cell()
    log.info("step %d t=%.4f q_in=%.4e courant_max=%.3f peclet_max=%.1f speed_max=%.3f "
             "at_mm=%s it1=%d it3=%d wall_s=%.1f", step, t, q_in, numbers["courant"],
             numbers["peclet"], speed_max, np.round(np.array(at) * 1e3, 1),
             stepper.solvers.last_iterations("step1"), stepper.solvers.last_iterations("step3"),
             time.perf_counter() - loop_start)
