r"""Cavity pressure as an unknown: Newton on the bordered (saddle-point) system.

The mechanics residual :math:`R(\mathbf u; p_c)` of
:class:`~twinflow.physics.heart.mechanics.solver.CardiacMechanicsProblem` is linear in the
endocardial pressure :math:`p_c` (a ``Constant``): :math:`\partial R/\partial p_c = \mathbf g`,
:math:`\mathbf g = \int_{\Gamma_{endo}} J\mathbf F^{-T}\mathbf N\cdot\delta\mathbf u\,dA`.
A scalar constraint closes the system,

.. math::
    c(\mathbf u, p_c) = V_{3D}(\mathbf u) - V_{target}(p_c) = 0,

with :math:`V_{3D}` the cavity-volume form of the solver module (base-plane corrected) and
:math:`V_{target}(p_c)` either a prescribed volume (volume-controlled loading,
:math:`\partial V_{target}/\partial p_c = 0`) or the LV volume that the 0D circulation reaches
at the end of the time step when the LV pressure is :math:`p_c` (implicit 3D--0D coupling,
:mod:`twinflow.physics.heart.coupling`). Newton on :math:`(\mathbf u, p_c)`:

.. math::
    \begin{bmatrix} \mathbf K & \mathbf g \\ \mathbf d^T & -s \end{bmatrix}
    \begin{bmatrix} \delta\mathbf u \\ \delta p_c \end{bmatrix}
    = -\begin{bmatrix} \mathbf R \\ c \end{bmatrix},\quad
    \mathbf d = \partial V_{3D}/\partial\mathbf u,\ s = \partial V_{target}/\partial p_c,

solved by a Schur complement on the scalar: with one LU factorisation of :math:`\mathbf K`
(MUMPS), :math:`\mathbf x_1 = -\mathbf K^{-1}\mathbf R`,
:math:`\mathbf x_2 = \mathbf K^{-1}\mathbf g`,
:math:`\delta p_c = (c + \mathbf d\cdot\mathbf x_1)/(\mathbf d\cdot\mathbf x_2 + s)` and
:math:`\delta\mathbf u = \mathbf x_1 - \delta p_c\,\mathbf x_2` (the "bordered" or
Lagrange-multiplier cavity formulation, e.g. Gurev et al. 2015, Biomech Model Mechanobiol
14:1; the same structure as the volume-constrained LV of fenicsx-pulse). Dirichlet rows are
identity rows with zero right-hand side (homogeneous increments).
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import logging
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

from twinflow.physics.heart.mechanics.solver import CardiacMechanicsProblem, ConvergenceError

log = logging.getLogger(__name__)
if os.environ.get("TWINFLOW_CAVITY_DEBUG"):  # every Newton iteration, logged at DEBUG
    log.setLevel(logging.DEBUG)

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
    #: keep the factorised Jacobian while it converges (see :meth:`solve`)
    reuse_jacobian: bool = True
    #: refresh the lagged Jacobian when an iteration reduces |R| by less than this factor
    reuse_rate: float = 0.25
    #: most consecutive iterations with one lagged matrix (and extra iterations allowed)
    max_lagged: int = 10
    #: with a lagged matrix, also lag the border: :math:`\mathbf K^{-1}\mathbf g` and
    #: :math:`\mathbf d` from the factorisation's state (one back substitution and two
    #: vector assemblies less per lagged iteration; the convergence test is unchanged)
    lag_border: bool = True
    iterations: list[int] = field(default_factory=list)
    factorisations: int = 0
    #: seconds spent per part: residual (incl. volume forms), target_0d, jacobian (assembly),
    #: factorisation, back_substitution
    timings: dict[str, float] = field(default_factory=dict)
    _factorised: bool = False
    _border_valid: bool = False

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
    def _tick(self, key: str, tic: float) -> float:
        """Add the time since ``tic`` to :attr:`timings` [key]; return now."""
        now = time.perf_counter()
        self.timings[key] = self.timings.get(key, 0.0) + now - tic
        return now

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
    def residual_norm(self) -> float:
        """|R| of the mechanics residual at the current state and loads."""
        self._assemble_vec(self.b, self._R)
        return float(self.b.norm())

    def solve(self, target: VolumeTarget | None = None, r_ref: float | None = None) -> int:
        r"""Newton to convergence; ``target=None``: pressure fixed (plain Newton).

        Returns the number of Newton iterations (linear solves with the factorised
        :math:`\mathbf K`; the factorisations are counted in :attr:`factorisations`). Raises
        :class:`ConvergenceError` on divergence; the caller restores the state.
        ``r_ref``: the residual norm that ``rtol`` is relative to (default: the initial one);
        with an extrapolated initial guess pass |R| at the previous solution under the new
        loads, so a better guess does not tighten the test.

        With :attr:`reuse_jacobian` the last factorisation of :math:`\mathbf K` is kept
        across iterations *and* calls (modified / Shamanskii Newton, Kelley 2003, "Solving
        Nonlinear Equations with Newton's Method", SIAM, ch. 2.4 and 5.4): an iteration with a
        lagged matrix is accepted while it reduces the residual by :attr:`reuse_rate` or
        better; a slower one refreshes the matrix at the next iteration, and one that raises
        the residual is undone and redone with a fresh matrix; if that still fails, exact
        Newton restarts from the initial state (so it is as robust as exact Newton). Only the
        path to the solution changes: the convergence test (residual and volume) is the same,
        so the solution agrees with exact Newton's to the solver tolerance. The Jacobian
        assembly and LU factorisation (~95 % of an exact-Newton iteration on the demo mesh)
        then happen ~0.4-1.4 times per step instead of ~2.6-3 times.
        """
        if not self.reuse_jacobian:
            return self._solve(target, reuse=False, r_ref=r_ref)
        x0 = self.problem.state.x.array.copy()
        p0 = float(self.pressure.value)
        try:
            return self._solve(target, reuse=True, r_ref=r_ref)
        except ConvergenceError:
            # as robust as exact Newton: start again from the same state with it
            self.problem.state.x.array[:] = x0
            self.problem.state.x.scatter_forward()
            self.pressure.value = p0
            return self._solve(target, reuse=False, r_ref=r_ref)

    def _solve(self, target: VolumeTarget | None, reuse: bool,
               r_ref: float | None = None) -> int:
        try:
            return self._newton(target, reuse, r_ref)
        except PETSc.Error as err:
            # MUMPS refused a factorisation or solve (a singular Jacobian, e.g. a cell turned
            # inside out by too large a step; seen as INFOG(1)=-3 in a cohort member's
            # calibration): a failed step like a diverged Newton, which the callers' step
            # halving retries, not a traceback
            self._factorised = False
            raise ConvergenceError(f"cavity Newton: the linear solve failed (PETSc error "
                                   f"{err.ierr})") from None

    def _newton(self, target: VolumeTarget | None, reuse: bool,
                r_ref: float | None = None) -> int:
        t0 = time.perf_counter()
        r0 = r_ref
        fresh = not (reuse and self._factorised)
        prev: tuple[float, Any, float, bool] | None = None  # |R|, state, p, fresh K
        lagged_run = 0
        max_it = self.max_it if not reuse else self.max_it + self.max_lagged
        for it in range(max_it + 1):
            tic = time.perf_counter()
            self._assemble_vec(self.b, self._R)
            rnorm = self.b.norm()
            c = 0.0
            s = 0.0
            tic = self._tick("residual", tic)
            if target is not None:
                vt, s = target(float(self.pressure.value))
                tic = self._tick("target_0d", tic)
                c = self.volume() - vt
                tic = self._tick("residual", tic)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("it %d |R| %.3e c %.3e p %.4g fresh %s", it, rnorm, c,
                          float(self.pressure.value), fresh)
            finite = math.isfinite(rnorm) and math.isfinite(c)
            if prev is not None and not prev[3] and (not finite or rnorm > prev[0]):
                # a lagged matrix made things worse: undo and refresh it
                self.problem.state.x.array[:] = prev[1]
                self.problem.state.x.scatter_forward()
                self.pressure.value = prev[2]
                fresh, prev = True, None
                continue
            if not finite:
                raise ConvergenceError("non-finite residual")
            if r0 is None:
                r0 = max(rnorm, 1e-300)
            if (rnorm <= max(self.atol, self.rtol * r0) or rnorm <= self.atol) \
                    and abs(c) <= self.volume_tol and it > 0:
                self.iterations.append(it)
                self.problem.history.append(_record(it, time.perf_counter() - t0))
                return it
            if it == max_it:
                break
            if prev is not None and not prev[3] and rnorm > self.reuse_rate * prev[0]:
                fresh = True      # the lagged matrix converges too slowly
            if lagged_run >= self.max_lagged:
                fresh = True
            if fresh or not reuse:
                self.A.zeroEntries()
                dolfinx.fem.petsc.assemble_matrix(self.A, self._J, bcs=self.problem.bcs)
                self.A.assemble()
                tic = self._tick("jacobian", tic)
                self.ksp.setOperators(self.A)
                self.ksp.setUp()                  # LU factorisation (MUMPS)
                tic = self._tick("factorisation", tic)
                self.factorisations += 1
                self._factorised = True
                self._border_valid = False
                lagged_run = 0
            else:
                lagged_run += 1
            prev = (rnorm, self.problem.state.x.array.copy(), float(self.pressure.value), fresh)
            fresh = False
            self.b.scale(-1.0)
            self.ksp.solve(self.b, self.x1)
            tic = self._tick("back_substitution", tic)
            if target is None:
                self._update(self.x1, 1.0)
                continue
            if not (reuse and self.lag_border and self._border_valid and lagged_run > 0):
                self._assemble_vec(self.gv, self._g)
                self._assemble_vec(self.dv, self._dvolume)
                tic = self._tick("residual", tic)
                self.ksp.solve(self.gv, self.x2)
                tic = self._tick("back_substitution", tic)
                self._border_valid = True
            d1 = self.dv.dot(self.x1)
            d2 = self.dv.dot(self.x2)
            denom = d2 + s
            if denom == 0.0 or not math.isfinite(denom):
                raise ConvergenceError("singular cavity Schur complement")
            dp = (c + d1) / denom
            self.x1.axpy(-dp, self.x2)
            self._update(self.x1, 1.0)
            self.pressure.value = float(self.pressure.value) + dp
        raise ConvergenceError(f"cavity Newton did not converge in {max_it} iterations")


def _record(its: int, seconds: float):
    from twinflow.physics.heart.mechanics.solver import SolveRecord

    return SolveRecord(float("nan"), its, seconds)
