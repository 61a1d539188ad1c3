r"""Unloaded (stress-free) reference geometry of the 3D LV: backward-displacement fixed point.

The imaged end-diastolic (ED) geometry :math:`\mathbf x_{ED}` is loaded by the end-diastolic
pressure (EDP). The unloaded reference :math:`\mathbf X` is the geometry that, inflated to the
EDP, deforms into :math:`\mathbf x_{ED}`:

.. math::
    \mathbf X + \mathbf u(\mathbf X; p_{ED}) = \mathbf x_{ED},

with :math:`\mathbf u(\mathbf X; p)` the displacement of the LV model with reference
:math:`\mathbf X` under cavity pressure :math:`p` (quasi-static, passive). The backward-
displacement method (Bols et al. 2013, J Comput Appl Math 255:238; Sellier 2011) iterates

.. math::
    \mathbf r_k = \mathbf X_k + \mathbf u(\mathbf X_k; p_{ED}) - \mathbf x_{ED},\qquad
    \mathbf X_{k+1} = \mathbf X_k - \omega_k\,\mathbf r_k,\qquad \mathbf X_0 = \mathbf x_{ED},

which with :math:`\omega_k = 1` is :math:`\mathbf X_{k+1} = \mathbf x_{ED} - \mathbf u(\mathbf X_k)`
(the idea of fenicsx-pulse's ``FixedPointUnloader``; written here for this model, whose
geometry is moved in place). :math:`\omega_k` is Aitken's dynamic relaxation (Irons & Tuck
1969; Küttler & Wall 2008, Comput Mech 43:61),
:math:`\omega_k = -\omega_{k-1}\,\mathbf r_{k-1}\cdot(\mathbf r_k - \mathbf r_{k-1}) /
|\mathbf r_k - \mathbf r_{k-1}|^2`, clipped to [:data:`OMEGA_MIN`, :data:`OMEGA_MAX`].

Each iterate is inflated to the EDP: the first by a pressure ramp from zero, later ones by one
Newton solve at the EDP from the previous displacement (the references differ by
:math:`\omega\mathbf r`; a failed solve falls back to the ramp). Converged when the
nodal mismatch :math:`\max|\mathbf r_k|` is below ``mismatch_rtol`` (default 1 %) of the
smallest edge of the ED mesh *and* the cavity volume of the inflated iterate is the ED mesh's
cavity volume within ``volume_rtol`` (default 0.1 %) or has stopped changing (by less than a
tenth of that between iterates: the discretisation floor below, 0.01-0.1 % on the test mesh);
the returned reference has then been re-inflated to the EDP, and a volume error above
``volume_acceptance`` (default 1 %, the issue's acceptance) is an error. Its inflated state is
discarded: the model is left at zero load.

Geometry: the mesh is linear (P1 coordinate element, checked), the displacement P2; the
update needs the displacement at the geometry nodes. Interpolation (the vertex values) makes
the vertices match exactly, but then the P2 displacement bows the straight edges of the ED
mesh outward between them: on the 713-cell test mesh the re-inflated cavity is +1.0 % larger
than the ED mesh's at a fixed point whose nodal mismatch is 1e-14 mm. The update therefore
uses a Galerkin (L2) projection :math:`\Pi\mathbf u` onto vector P1 that weights the boundary
by a length :math:`\ell` far larger than the mesh (:data:`SURFACE_WEIGHT` times the smallest
edge),

.. math::
    \int_{\Omega_0}\Pi\mathbf u\cdot\mathbf q\,dX + \ell\int_{\partial\Omega_0}\Pi\mathbf u\cdot
    \mathbf q\,dA = \int_{\Omega_0}\mathbf u\cdot\mathbf q\,dX
    + \ell\int_{\partial\Omega_0}\mathbf u\cdot\mathbf q\,dA\quad\forall\mathbf q\in P1,
    \qquad (\Pi\mathbf u)_z = 0 \text{ on the base},

i.e. the surface nodes follow the surface L2 projection (the curved deformed surface lies on
the ED surface in the mean, which is what the cavity volume sees: +0.015 % instead of +1.0 %
on that mesh) and the interior nodes the volume projection; the fixed point is the discrete
weak form of :math:`\mathbf X + \mathbf u = \mathbf x_{ED}` tested with P1. The projection is
assembled on the current reference (one small LU solve per iteration); nodal values come from
its P1 dofs mapped onto the geometry nodes cell by cell (geometry dofmap vs P1 dofmap, same
local vertex order), so owned and ghost nodes agree on every rank (P1 ghosts scattered first).
The mismatch reported is :math:`\max|\mathbf X_k + \Pi\mathbf u_k - \mathbf x_{ED}|`.

The base is held in its plane (``Sliding(BASE, 2)``: :math:`u_z = 0` there, and so in the
projection), so the base nodes keep their :math:`z` and the model's ``z_base`` stays valid
(checked).

Fibres (a stated simplification): the LDRB fibre vectors at the quadrature points, computed
on the ED geometry, are kept as the fibres of the unloaded reference (they move with their
material points; the rotation by :math:`\mathbf F` between the unloaded and the ED state is
neglected, i.e. :math:`\mathbf f_0 = \mathbf f_{ED}` rather than
:math:`\mathbf F^{-1}\mathbf f_{ED}/|\cdot|`). Evaluating the rule again on every iterate was
tried and makes the fixed point oscillate (1.6 mm, 2-cycle, on the test mesh at scale 0.33):
the rule's apex vertex set is chosen by position and changes as the geometry moves.
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx
import numpy as np
from mpi4py import MPI

from twinflow.errors import TwinflowError
from twinflow.physics.heart.loading import ramp
from twinflow.physics.heart.mechanics.solver import ConvergenceError
from twinflow.physics.heart.model import LVModel

log = logging.getLogger(__name__)

MMHG = 133.322387415
#: bounds of the Aitken relaxation factor
OMEGA_MIN, OMEGA_MAX = 0.1, 1.5
#: boundary weight of the projection, in units of the smallest edge (see module docstring)
SURFACE_WEIGHT = 1.0e3
_LU = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


class UnloadingError(ConvergenceError, TwinflowError):
    """The unloaded reference was not found (one line; the CLI's exit status 2)."""

    def __init__(self, message: str) -> None:
        TwinflowError.__init__(self, message)


@dataclass(frozen=True, slots=True)
class UnloadingIteration:
    """One fixed-point iterate, inflated to the EDP."""

    volume_error: float
    """(V(X_k inflated to EDP) - V_ED) / V_ED."""
    mismatch_m: float
    """max over nodes of |X_k + u(X_k) - x_ED| (m)."""
    relaxation: float
    """the factor omega_k of the update that follows (1 without Aitken)."""
    newton_iterations: int


@dataclass
class UnloadingResult:
    """The unloaded reference of :func:`unload` (volumes in m^3, pressure in Pa)."""

    iterations: int
    history: list[UnloadingIteration]
    unloaded_volume_m3: float
    """cavity volume of the unloaded reference at zero load (``model.reference_volume``)."""
    reinflated_volume_m3: float
    """cavity volume of the unloaded reference inflated to the EDP."""
    loaded_volume_m3: float
    """cavity volume of the imaged (ED) geometry: the target."""
    end_diastolic_pressure_pa: float
    passive_scale: float
    mismatch_tolerance_m: float
    wall_time_s: float
    loaded_coordinates: np.ndarray = field(repr=False)
    """this rank's ED geometry nodes (``mesh.geometry.x`` layout), to go back to it."""

    @property
    def volume_error(self) -> float:
        """Relative error of the re-inflated cavity volume."""
        return self.reinflated_volume_m3 / self.loaded_volume_m3 - 1.0

    @property
    def mismatch_m(self) -> float:
        return self.history[-1].mismatch_m


def unload(model: LVModel, edp: float, *, loaded_coordinates: np.ndarray | None = None,
           volume_rtol: float = 1e-3, mismatch_rtol: float = 1e-2, max_iterations: int = 30,
           volume_acceptance: float = 1e-2,
           aitken: bool = True, load_steps: int = 4) -> UnloadingResult:
    """Move ``model``'s mesh to the unloaded reference of the loaded geometry at ``edp`` (Pa).

    ``loaded_coordinates``: the ED geometry (this rank's ``mesh.geometry.x``); default the
    mesh's current coordinates. When given, the current coordinates are the initial guess
    (a warm start, e.g. the reference of a neighbouring passive scale).

    On return the mesh holds the unloaded reference, the model is at zero load (state,
    pressure and tension zero) and ``model.reference_volume`` is the unloaded cavity volume.
    Raises :class:`UnloadingError` (mesh and model back at the ED geometry, zero load) when
    the iteration does not converge in ``max_iterations``, an iterate cannot be inflated to
    the EDP, the update inverts cells, or the fixed point re-inflates to a cavity volume
    more than ``volume_acceptance`` off the ED one.
    """
    t0 = time.perf_counter()
    mesh = model.mesh
    comm = mesh.comm
    if mesh.geometry.cmaps[0].degree != 1:
        raise ValueError("unloading moves vertices: needs a linear (P1) mesh geometry")
    x = mesh.geometry.x
    x_ed = (x if loaded_coordinates is None else loaded_coordinates).copy()
    guess = x.copy()
    move_reference(model, x_ed)
    model.reset()
    v_ed = model.newton.volume()
    cells = mesh.geometry.dofmaps[0]
    h_min = comm.allreduce(float(_min_edge(x_ed, cells)), op=MPI.MIN)
    tol_m = mismatch_rtol * h_min
    orientation = np.sign(_signed_volumes(x_ed, cells))
    if loaded_coordinates is not None:
        move_reference(model, guess)
    nodal = _NodalDisplacement(model, SURFACE_WEIGHT * h_min)
    owned = slice(0, mesh.geometry.index_map().size_local)
    base_z = _base_nodes(model)

    history: list[UnloadingIteration] = []
    r_prev: np.ndarray | None = None
    omega = 1.0
    warm = False
    try:
        for k in range(1, max_iterations + 1):
            its = _inflate(model, edp, warm, load_steps, k)
            warm = True
            X = x.copy()
            r = X + nodal() - x_ed
            v = model.newton.volume()
            err = v / v_ed - 1.0
            mismatch = math.sqrt(comm.allreduce(float(np.max(np.sum(r[owned] ** 2, axis=1),
                                                             initial=0.0)), op=MPI.MAX))
            if aitken and r_prev is not None:
                dr = r[owned] - r_prev[owned]
                num = comm.allreduce(float(np.sum(r_prev[owned] * dr)), op=MPI.SUM)
                den = comm.allreduce(float(np.sum(dr * dr)), op=MPI.SUM)
                if den > 0:
                    omega = min(max(-omega * num / den, OMEGA_MIN), OMEGA_MAX)
            history.append(UnloadingIteration(err, mismatch, omega, its))
            log.info("unloading %d: V %.2f mL (ED %.2f mL, %+.3f %%), mismatch %.3g mm, "
                     "omega %.2f", k, v * 1e6, v_ed * 1e6, 100 * err, mismatch * 1e3, omega)
            stalled = len(history) > 1 and abs(err - history[-2].volume_error) \
                <= 0.1 * volume_rtol
            if mismatch <= tol_m and (abs(err) <= volume_rtol or stalled):
                if abs(err) > volume_acceptance:
                    raise UnloadingError(
                        f"unloading to EDP {edp / MMHG:.1f} mmHg: the fixed point re-inflates "
                        f"to {100 * err:+.2f} % of the ED cavity volume (acceptance "
                        f"{100 * volume_acceptance:g} %; a finer mesh reduces this "
                        "discretisation error)")
                break
            if k == max_iterations:
                raise UnloadingError(
                    f"unloading to EDP {edp / MMHG:.1f} mmHg did not converge in {k} "
                    f"iterations: cavity volume error {100 * err:+.2f} % (tolerance "
                    f"{100 * volume_rtol:g} %), nodal mismatch {mismatch * 1e3:.3g} mm "
                    f"(tolerance {tol_m * 1e3:.3g} mm)")
            r_prev = r
            X_new = X - omega * r
            flipped = comm.allreduce(int(np.sum(np.sign(_signed_volumes(X_new, cells))
                                                != orientation)), op=MPI.SUM)
            if flipped:
                raise UnloadingError(
                    f"unloading to EDP {edp / MMHG:.1f} mmHg: iteration {k} inverts "
                    f"{flipped} cells (the wall is too soft for this pressure)")
            move_reference(model, X_new)
    except BaseException:
        move_reference(model, x_ed)
        model.reset()
        model.reference_volume = v_ed
        raise
    if not np.allclose(x[base_z, 2], x_ed[base_z, 2], rtol=0, atol=1e-12):
        raise AssertionError("unloading moved the base out of its plane")  # pragma: no cover
    model.reset()
    model.reference_volume = model.newton.volume()
    return UnloadingResult(
        iterations=len(history), history=history,
        unloaded_volume_m3=model.reference_volume, reinflated_volume_m3=v,
        loaded_volume_m3=v_ed, end_diastolic_pressure_pa=float(edp),
        passive_scale=float(model.passive_scale.value) if model.passive_scale is not None
        else 1.0, mismatch_tolerance_m=tol_m, wall_time_s=time.perf_counter() - t0,
        loaded_coordinates=x_ed)


def move_reference(model: LVModel, coordinates: np.ndarray) -> None:
    """Set the mesh nodes (this rank's ``mesh.geometry.x`` layout) in place. The model's
    forms see the new reference at their next assembly (fibre vectors at the quadrature
    points unchanged); the lagged Jacobian of the cavity Newton is dropped."""
    model.mesh.geometry.x[:] = coordinates
    model.newton._factorised = False
    model.newton._border_valid = False


def write_reference_mesh(model: LVModel, path: Path) -> Path:
    """Write the model's current reference (e.g. the unloaded one) with its facet tags as an
    LV mesh file of the ``mesh_lv`` stage's format (XDMF + HDF5, cells tagged MYOCARDIUM), so
    :func:`~twinflow.physics.heart.model.build_lv` can start from it. The base plane is
    unchanged by the unloading: without a ``mesh.json`` beside it, ``build_lv`` takes the top
    plane, which is the same ``z_base``."""
    from types import SimpleNamespace

    from twinflow.geometry import tags
    from twinflow.geometry.mesh_io import write_tagged_mesh

    mesh = model.mesh
    tdim = mesh.topology.dim
    n_cells = mesh.topology.index_map(tdim).size_local
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(n_cells, dtype=np.int32),
                                      np.full(n_cells, tags.MYOCARDIUM, dtype=np.int32))
    data = SimpleNamespace(mesh=mesh, cell_tags=cell_tags, facet_tags=model.facet_tags)
    return write_tagged_mesh(data, Path(path), mesh.comm)


def _inflate(model: LVModel, edp: float, warm: bool, steps: int, k: int) -> int:
    """The passive model inflated to ``edp``: one Newton solve from the current state when
    ``warm`` (falls back to the ramp), else a pressure ramp from zero; Newton iterations."""
    if warm:
        before = model.snapshot()
        model.pressure.value = edp
        try:
            return model.newton.solve(None)
        except ConvergenceError:
            model.restore(before)
    model.reset()
    try:
        return ramp(model, model.pressure, edp, None, steps=steps)
    except ConvergenceError as err:
        raise UnloadingError(
            f"unloading: the reference of iteration {k} cannot be inflated to EDP "
            f"{edp / MMHG:.1f} mmHg ({err})") from None


class _NodalDisplacement:
    """The P1 projection of the displacement at the geometry nodes (``geometry.x`` layout);
    see the module docstring (boundary-weighted L2 projection, base ``u_z = 0``)."""

    def __init__(self, model: LVModel, weight_m: float) -> None:
        import dolfinx.fem.petsc as fem_petsc
        import ufl

        from twinflow.geometry import tags

        mesh = model.mesh
        self.problem = model.problem
        V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (3,)))
        self.u1 = dolfinx.fem.Function(V1)
        self.u2 = dolfinx.fem.Function(self.problem.V)
        fdim = mesh.topology.dim - 1
        Vz, _ = V1.sub(2).collapse()
        dofs = dolfinx.fem.locate_dofs_topological((V1.sub(2), Vz), fdim,
                                                  model.facet_tags.find(tags.BASE))
        bcs = [dolfinx.fem.dirichletbc(dolfinx.fem.Function(Vz), dofs, V1.sub(2))]
        w, q = ufl.TrialFunction(V1), ufl.TestFunction(V1)
        ell = dolfinx.fem.Constant(mesh, float(weight_m))
        self.projection = fem_petsc.LinearProblem(
            ufl.inner(w, q) * ufl.dx + ell * ufl.inner(w, q) * ufl.ds,
            ufl.inner(self.u2, q) * ufl.dx + ell * ufl.inner(self.u2, q) * ufl.ds,
            u=self.u1, bcs=bcs, petsc_options=dict(_LU),
            petsc_options_prefix="twinflow_unload_proj_")
        geo = mesh.geometry.dofmaps[0]
        p1 = V1.dofmap.list
        if geo.shape != p1.shape:  # pragma: no cover - P1 geometry is checked by unload
            raise ValueError("geometry and P1 dofmaps differ")
        self.geo, self.p1 = geo.ravel(), p1.ravel()
        self.n_nodes = mesh.geometry.x.shape[0]

    def __call__(self) -> np.ndarray:
        self.u2.x.array[:] = self.problem.displacement().x.array
        self.u2.x.scatter_forward()
        self.projection.solve()
        self.u1.x.scatter_forward()
        out = np.zeros((self.n_nodes, 3))
        out[self.geo] = self.u1.x.array.reshape(-1, 3)[self.p1]
        return out


def _signed_volumes(x: np.ndarray, cells: np.ndarray) -> np.ndarray:
    a, b, c, d = (x[cells[:, i]] for i in range(4))
    return np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) / 6.0


def _min_edge(x: np.ndarray, cells: np.ndarray) -> float:
    edges = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    if cells.shape[0] == 0:
        return math.inf
    return float(min(np.linalg.norm(x[cells[:, i]] - x[cells[:, j]], axis=1).min()
                     for i, j in edges))


def _base_nodes(model: LVModel) -> np.ndarray:
    """Geometry nodes on the base facets (local indices)."""
    from twinflow.geometry import tags

    mesh = model.mesh
    fdim = mesh.topology.dim - 1
    facets = model.facet_tags.find(tags.BASE)
    if facets.size == 0:
        return np.zeros(0, dtype=np.int32)
    return np.unique(dolfinx.mesh.entities_to_geometry(mesh, fdim, facets).ravel())
