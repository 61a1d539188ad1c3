r"""What the flow solver records each step: series, probes, cell Courant/Peclet numbers.

- :class:`SeriesMonitor`: the rows of ``series.csv``: time, inlet flow (computed and
  prescribed), outlet flows (m^3/s, positive out of the domain), area-averaged pressures of the
  openings (Pa), and the area-averaged WSS magnitude and vector over the wall (Pa);
- :class:`ProbeSet`: velocity and pressure at fixed points (``probes.csv``);
- :class:`CellNumbers`: the cell Courant number :math:`|u|\Delta t/h` and cell Peclet number
  :math:`|u|h/(2\nu)` at the cell midpoints (:math:`h` the cell diameter), their maxima
  over the run, and where the fastest cell is (for the diagnostic log lines).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import numpy.typing as npt
import ufl
from dolfinx import fem, geometry
from dolfinx import mesh as dmesh
from mpi4py import MPI
from petsc4py import PETSc

from twinflow.errors import InputError
from twinflow.physics.flow.assembly import global_scalar, integrate
from twinflow.physics.flow.boundary import Opening
from twinflow.physics.flow.forms import IPCSForms
from twinflow.physics.flow.hemodynamics import WallShearStressProjector


@dataclass(slots=True)
class Series:
    """A table of floats by column, written as CSV with 12 significant digits."""

    header: list[str]
    rows: list[list[float]] = field(default_factory=list)

    def text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows([[f"{v:.12e}" for v in row] for row in self.rows])
        return buffer.getvalue()


class ProbeSet:
    """Point evaluation of functions at fixed points, in parallel (value from one owner)."""

    def __init__(self, mesh: dmesh.Mesh, points: list[list[float]]) -> None:
        self.comm = mesh.comm
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        tree = geometry.bb_tree(mesh, mesh.topology.dim)
        cand = geometry.compute_collisions_points(tree, self.points)
        colliding = geometry.compute_colliding_cells(mesh, cand, self.points)
        self.local_index: list[int] = []
        self.cells: list[int] = []
        n_owned = mesh.topology.index_map(mesh.topology.dim).size_local
        for i in range(len(self.points)):
            links = colliding.links(i)
            owned = links[links < n_owned]
            if len(owned):
                self.local_index.append(i)
                self.cells.append(int(owned[0]))
        found = np.zeros(len(self.points), dtype=np.int32)
        found[self.local_index] = 1
        total = np.empty_like(found)
        self.comm.Allreduce(found, total, op=MPI.SUM)
        if len(self.points) and np.any(total == 0):
            missing = self.points[total == 0][0]
            raise InputError(f"settings: probe point {missing.tolist()} lies outside the mesh")
        self.series = Series(["t"] + [f"{name}_{i}" for i in range(len(self.points))
                                      for name in ("ux", "uy", "uz", "p")])
        """Probe values per step: velocity components and pressure at each point."""

    def evaluate(self, functions: list[fem.Function]) -> npt.NDArray[np.float64] | None:
        """Values (n_points, sum of value sizes) on rank 0, None elsewhere."""
        width = sum(f.function_space.value_size for f in functions)
        local = np.zeros((len(self.points), width))
        rank_of = np.full(len(self.points), self.comm.size, dtype=np.int64)
        if self.local_index:
            pts = self.points[self.local_index]
            cells = np.asarray(self.cells, dtype=np.int32)
            local[self.local_index] = np.hstack([np.asarray(f.eval(pts, cells)).reshape(
                len(pts), -1) for f in functions])
            rank_of[self.local_index] = self.comm.rank
        owner = np.empty_like(rank_of)
        self.comm.Allreduce(rank_of, owner, op=MPI.MIN)
        local[owner != self.comm.rank] = 0.0
        total = np.zeros_like(local)
        self.comm.Reduce(local, total, op=MPI.SUM, root=0)
        return total if self.comm.rank == 0 else None

    def record(self, t: float, u: fem.Function, p: fem.Function) -> None:
        """Append the velocity and pressure at the points at time ``t`` (rank 0)."""
        values = self.evaluate([u, p])
        if values is not None:
            self.series.rows.append([t] + values.ravel().tolist())


class SeriesMonitor:
    """Flows and mean pressures of the openings and the mean wall shear stress (module
    docstring), one row of :attr:`series` per step."""

    def __init__(self, u: fem.Function, p: fem.Function, wss: WallShearStressProjector,
                 ds: ufl.Measure, openings: dict[int, Opening], inlet_tag: int,
                 wall_tag: int) -> None:
        mesh = u.function_space.mesh
        n = ufl.FacetNormal(mesh)
        self.openings = openings
        self.inlet_tag = inlet_tag
        self.outlet_tags = sorted(tag for tag in openings if tag != inlet_tag)
        self.wss = wss
        self._flux = {tag: fem.form(ufl.dot(u, n) * ds(tag)) for tag in openings}
        self._pressure = {tag: fem.form(p * ds(tag)) for tag in openings}
        self.wall_area = integrate(fem.Constant(mesh, PETSc.ScalarType(1.0)) * ds(wall_tag))
        self._wss_mean = [fem.form(wss.tau[i] * ds(wall_tag))
                          for i in range(mesh.geometry.dim)]
        self._wss_magnitude = fem.form(ufl.sqrt(ufl.dot(wss.tau, wss.tau)) * ds(wall_tag))
        outlets = self.outlet_tags
        self.series = Series(["t", "q_inlet", "q_inlet_prescribed"]
                             + [f"q_outlet_{t}" for t in outlets]
                             + ["p_inlet"] + [f"p_outlet_{t}" for t in outlets]
                             + ["wss_mean_magnitude", "wss_mean_x", "wss_mean_y",
                                "wss_mean_z"])

    def flows(self) -> dict[int, float]:
        """Flow out of the domain through each opening (m^3/s)."""
        return {tag: global_scalar(form) for tag, form in self._flux.items()}

    def record(self, t: float, q_in: float, flows: dict[int, float]) -> None:
        """Project the WSS and append the row of time ``t`` (``q_in`` the prescribed inflow,
        ``flows`` of :meth:`flows`)."""
        pressures = {tag: global_scalar(form) / self.openings[tag].area
                     for tag, form in self._pressure.items()}
        self.wss.compute()
        wss_mean = [global_scalar(form) / self.wall_area for form in self._wss_mean]
        outlets = self.outlet_tags
        self.series.rows.append([t, -flows[self.inlet_tag], q_in]
                                + [flows[tag] for tag in outlets]
                                + [pressures[self.inlet_tag]] + [pressures[tag] for tag in outlets]
                                + [global_scalar(self._wss_magnitude) / self.wall_area]
                                + wss_mean)


class CellNumbers:
    """Cell Courant and Peclet numbers of the velocity ``u`` (module docstring)."""

    def __init__(self, u: fem.Function, forms: IPCSForms) -> None:
        h, k, rho, mu = forms.h, forms.k, forms.rho, forms.mu
        W0 = h.function_space
        mesh = W0.mesh
        tdim = mesh.topology.dim
        speed = ufl.sqrt(ufl.dot(u, u))
        self.h = h
        self.dt = float(k.value)
        self._cells = {name: (fem.Function(W0), fem.Expression(expr,
                                                               W0.element.interpolation_points))
                       for name, expr in (("courant", speed * k / h),
                                          ("peclet", speed * h * rho / (2.0 * mu)))}
        self.n_owned = mesh.topology.index_map(tdim).size_local
        self.midpoints = dmesh.compute_midpoints(mesh, tdim,
                                                 np.arange(self.n_owned, dtype=np.int32))
        self.maxima = {"courant": 0.0, "peclet": 0.0}
        """Maxima over the cells and the steps so far."""

    def update(self) -> dict[str, float]:
        """The numbers of the current velocity; returns their maxima over the cells."""
        current = {}
        for name, (fn, expr) in self._cells.items():
            fn.interpolate(expr)
            current[name] = self.h.function_space.mesh.comm.allreduce(
                float(fn.x.array[:self.n_owned].max(initial=0.0)), op=MPI.MAX)
            self.maxima[name] = max(self.maxima[name], current[name])
        return current

    def fastest_cell(self) -> tuple[float, list[float] | None]:
        """Largest cell speed (m/s) and the midpoint (m) of the cell of largest Courant
        number, from the last :meth:`update`."""
        comm = self.h.function_space.mesh.comm
        local = self._cells["courant"][0].x.array[:self.n_owned]
        i_max = int(np.argmax(local)) if local.size else -1
        where = comm.allgather((float(local[i_max]) if local.size else -1.0,
                                self.midpoints[i_max].tolist() if local.size else None))
        at = max(where, key=lambda w: w[0])[1]
        speed_max = comm.allreduce(float((local * self.h.x.array[:self.n_owned]).max(
            initial=0.0)) / self.dt, op=MPI.MAX)
        return speed_max, at
