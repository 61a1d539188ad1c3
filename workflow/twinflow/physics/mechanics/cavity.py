r"""Cavity pressure as an unknown: Newton on the bordered (saddle-point) system.

The mechanics residual :math:`R(\mathbf u; p_c)` of
:class:`~twinflow.physics.mechanics.solver.CardiacMechanicsProblem` is linear in the
endocardial pressure :math:`p_c` (a ``Constant``): :math:`\partial R/\partial p_c = \mathbf g`,
:math:`\mathbf g = \int_{\Gamma_{endo}} J\mathbf F^{-T}\mathbf N\cdot\delta\mathbf u\,dA`.
A scalar constraint closes the system,

.. math::
    c(\mathbf u, p_c) = V_{3D}(\mathbf u) - V_{target}(p_c) = 0,

with :math:`V_{3D}` the cavity-volume form of the solver module (base-plane corrected) and
:math:`V_{target}(p_c)` either a prescribed volume (volume-controlled loading,
:math:`\partial V_{target}/\partial p_c = 0`) or the LV volume that the 0D circulation reaches
at the end of the time step when the LV pressure is :math:`p_c` (implicit 3D--0D coupling,
:mod:`twinflow.physics.cardiac_cycle`). Newton on :math:`(\mathbf u, p_c)`:

.. math::
    \begin{bmatrix} \mathbf K & \mathbf g \\ \mathbf d^T & -s \end{bmatrix}
    \begin{bmatrix} \delta\mathbf u \\ \delta p_c \end{bmatrix}
    = -\begin{bmatrix} \mathbf R \\ c \end{bmatrix},\quad
    \mathbf d = \partial V_{3D}/\partial\mathbf u,\ s = \partial V_{target}/\partial p_c,

solved by a Schur complement on the scalar: with one LU factorisation of :math:`\mathbf K`
(MUMPS), :math:`\mathbf x_1 = -\mathbf K^{-1}\mathbf R`, :math:`\mathbf x_2 = \mathbf K^{-1}\mathbf g`,
:math:`\delta p_c = (c + \mathbf d\cdot\mathbf x_1)/(\mathbf d\cdot\mathbf x_2 + s)` and
:math:`\delta\mathbf u = \mathbf x_1 - \delta p_c\,\mathbf x_2` (the "bordered" or
Lagrange-multiplier cavity formulation, e.g. Gurev et al. 2015, Biomech Model Mechanobiol
14:1; the same structure as the volume-constrained LV of fenicsx-pulse). Dirichlet rows are
identity rows with zero right-hand side (homogeneous increments).
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from twinflow.physics.mechanics.solver import CardiacMechanicsProblem, ConvergenceError

_DEBUG = bool(os.environ.get("TWINFLOW_CAVITY_DEBUG"))

#: target(p) -> (V_target, dV_target/dp)
VolumeTarget = Callable[[float], tuple[float, float]]


@dataclass
class CavityNewton:
    """Newton solver for a mechanics problem whose cavity pressure may be an unknown."""

    problem: CardiacMechanicsProblem
    pressure: Any  # the dolfinx.fem.Constant of the endocardial Pressure condition
    endo_tag: int
    z_base: float
    rtol: float = 1e-8
    atol: float = 1e-10
    volume_tol: float = 1e-13  # m^3 (1e-7 mL)
    max_it: int = 20
    prefix: str = "twinflow_cavity_"
    iterations: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        pb = self.problem
        mesh = pb.mesh
        W = pb.W
        v = ufl.TestFunction(W)
        v_u = ufl.split(v)[0] if pb.mixed else v
        F = pb.F
        N = ufl.FacetNormal(mesh)
        n_da = ufl.det(F) * ufl.inv(F).T * N
        X = ufl.SpatialCoordinate(mesh)
        u = pb._u_ufl
        ds = pb.ds(self.endo_tag)
        volume = -(X[2] + u[2] - self.z_base) * n_da[2] * ds
        self._volume = dolfinx.fem.form(volume)
        self._dvolume = dolfinx.fem.form(ufl.derivative(volume, pb.state, v))
        self._g = dolfinx.fem.form(ufl.inner(n_da, v_u) * ds)
        self._R = dolfinx.fem.form(pb.residual)
        self._J = dolfinx.fem.form(pb.jacobian)
        self.A = dolfinx.fem.petsc.create_matrix(self._J)
        self.b, self.gv, self.dv, self.x1, self.x2 = (
            dolfinx.fem.petsc.create_vector(W) for _ in range(5))
        self.ksp = PETSc.KSP().create(mesh.comm)
        self.ksp.setOptionsPrefix(self.prefix)
        opts = PETSc.Options()
        for k, val in {"ksp_type": "preonly", "pc_type": "lu",
                       "pc_factor_mat_solver_type": "mumps"}.items():
            opts[f"{self.prefix}{k}"] = val
        self.ksp.setFromOptions()
        self.ksp.setOperators(self.A)

    # ------------------------------------------------------------------ helpers
    def volume(self) -> float:
        local = dolfinx.fem.assemble_scalar(self._volume)
        return float(self.problem.mesh.comm.allreduce(local, op=MPI.SUM))

    def _assemble_vec(self, vec: PETSc.Vec, form: Any) -> None:
        with vec.localForm() as loc:
            loc.set(0.0)
        dolfinx.fem.petsc.assemble_vector(vec, form)
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(vec, self.problem.bcs)  # zero on Dirichlet rows

    def _update(self, du: PETSc.Vec, scale: float) -> None:
        x = self.problem.state.x.petsc_vec
        x.axpy(scale, du)
        self.problem.state.x.scatter_forward()

    # ------------------------------------------------------------------ solve
    def solve(self, target: VolumeTarget | None = None) -> int:
        """Newton to convergence; ``target=None``: pressure fixed (plain Newton).

        Returns the number of Newton iterations (matrix factorisations). Raises
        :class:`ConvergenceError` on divergence; the caller restores the state.
        """
        t0 = time.perf_counter()
        r0 = None
        for it in range(self.max_it + 1):
            self._assemble_vec(self.b, self._R)
            rnorm = self.b.norm()
            c = 0.0
            s = 0.0
            if target is not None:
                vt, s = target(float(self.pressure.value))
                c = self.volume() - vt
            if _DEBUG:
                print(f"  it {it} |R| {rnorm:.3e} c {c:.3e} p {float(self.pressure.value):.4g}",
                      flush=True)
            if not math.isfinite(rnorm) or not math.isfinite(c):
                raise ConvergenceError("non-finite residual")
            if r0 is None:
                r0 = max(rnorm, 1e-300)
            if (rnorm <= max(self.atol, self.rtol * r0) or rnorm <= self.atol) \
                    and abs(c) <= self.volume_tol and it > 0:
                self.iterations.append(it)
                self.problem.history.append(_record(it, time.perf_counter() - t0))
                return it
            if it == self.max_it:
                break
            self.A.zeroEntries()
            dolfinx.fem.petsc.assemble_matrix(self.A, self._J, bcs=self.problem.bcs)
            self.A.assemble()
            self.ksp.setOperators(self.A)
            self.b.scale(-1.0)
            self.ksp.solve(self.b, self.x1)
            if target is None:
                self._update(self.x1, 1.0)
                continue
            self._assemble_vec(self.gv, self._g)
            self._assemble_vec(self.dv, self._dvolume)
            self.ksp.solve(self.gv, self.x2)
            d1 = self.dv.dot(self.x1)
            d2 = self.dv.dot(self.x2)
            denom = d2 + s
            if denom == 0.0 or not math.isfinite(denom):
                raise ConvergenceError("singular cavity Schur complement")
            dp = (c + d1) / denom
            self.x1.axpy(-dp, self.x2)
            self._update(self.x1, 1.0)
            self.pressure.value = float(self.pressure.value) + dp
        raise ConvergenceError(f"cavity Newton did not converge in {self.max_it} iterations")


def _record(its: int, seconds: float):
    from twinflow.physics.mechanics.solver import SolveRecord

    return SolveRecord(float("nan"), its, seconds)
