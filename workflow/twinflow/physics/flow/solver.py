r"""Linear solvers (PETSc KSP) of the three steps of the scheme.

- step 1 (tentative velocity): GMRES + block Jacobi/ILU(0); the matrix is reassembled each
  step. If ILU(0) fails, as on a demo mesh with a 5.4 degree sliver at the bifurcation where
  the preconditioned residual stagnated at step 2, the step is redone and the rest of the run
  uses ILU(1) blocks, noted in the summary's timing;
- step 2 (pressure): LU with MUMPS, factorised once (constant matrix);
- step 3 (velocity correction): CG + Jacobi (constant mass matrix).

Krylov tolerances 1e-10 (relative, settings ``krylov_rtol``) so that results agree between
rank counts to far below 1e-6; ``"linear_solver": "direct"`` uses MUMPS everywhere. Each
solver has an options prefix (``ns_step1_``, ``ns_step2_``, ``ns_step3_``), so PETSc
command-line options can override it.
"""

from __future__ import annotations

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from twinflow.errors import TwinflowError

#: Options prefixes of the solvers of steps 1, 2 and 3.
PREFIXES: dict[str, str] = {"step1": "ns_step1_", "step2": "ns_step2_", "step3": "ns_step3_"}


def krylov_solver(comm: MPI.Comm, A: PETSc.Mat, prefix: str, kind: str, pc: str,
                  rtol: float) -> PETSc.KSP:
    """A KSP of type ``kind`` with preconditioner ``pc`` (nonzero initial guess), or MUMPS LU
    for ``kind="direct"``; PETSc options with ``prefix`` override the set-up."""
    ksp = PETSc.KSP().create(comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(A)
    if kind == "direct":
        ksp.setType("preonly")
        ksp.getPC().setType("lu")
        ksp.getPC().setFactorSolverType("mumps")
    else:
        ksp.setType(kind)
        ksp.getPC().setType(pc)
        ksp.setTolerances(rtol=rtol, atol=1e-30, max_it=2000)
        ksp.setInitialGuessNonzero(True)
    ksp.setFromOptions()
    return ksp


def robust_step1_solver(comm: MPI.Comm, A: PETSc.Mat, rtol: float) -> PETSc.KSP:
    """Step-1 GMRES with ILU(1) blocks (fallback when ILU(0) fails)."""
    opts = PETSc.Options()
    name = f"{PREFIXES['step1']}sub_pc_factor_levels"
    own = not opts.hasName(name)
    if own:
        opts.setValue(name, 1)
    ksp = krylov_solver(comm, A, PREFIXES["step1"], "gmres", "bjacobi", rtol)
    ksp.setUp()  # the sub-solvers read the option here
    ksp.getPC().setUp()
    if own:
        opts.delValue(name)
    return ksp


def check_converged(ksp: PETSc.KSP, what: str, t: float) -> None:
    """A :class:`TwinflowError` (one line) if the last solve of ``ksp`` diverged."""
    if ksp.getConvergedReason() < 0:
        raise TwinflowError(f"the {what} solve failed at t = {t:.4g} s (PETSc reason "
                            f"{ksp.getConvergedReason()}); reduce time_step or refine the mesh")


class StepSolvers:
    """The solvers of steps 1--3 (module docstring), with their iteration counts."""

    def __init__(self, comm: MPI.Comm, A1: PETSc.Mat, A2: PETSc.Mat, A3: PETSc.Mat,
                 linear_solver: str, rtol: float) -> None:
        self.comm = comm
        self.A1 = A1
        self.rtol = rtol
        self.direct = linear_solver == "direct"
        self.ksp = {
            "step1": krylov_solver(comm, A1, PREFIXES["step1"],
                                   "direct" if self.direct else "gmres", "bjacobi", rtol),
            "step2": krylov_solver(comm, A2, PREFIXES["step2"], "direct", "", rtol),
            "step3": krylov_solver(comm, A3, PREFIXES["step3"],
                                   "direct" if self.direct else "cg", "jacobi", rtol)}
        self.iterations = dict.fromkeys(self.ksp, 0)
        """Krylov iterations of each step, summed over the run."""
        self.fallback_at: float | None = None
        """Time of the step at which step 1 fell back to ILU(1) blocks."""

    def solve(self, step: str, b: PETSc.Vec, x: fem.Function, t: float, what: str) -> None:
        """Solve the system of ``step`` for ``x`` (its values are the initial guess)."""
        self.ksp[step].solve(b, x.x.petsc_vec)
        self._finish(step, x, t, what)

    def solve_tentative(self, b: PETSc.Vec, x: fem.Function, restart: fem.Function,
                        t: float) -> None:
        """Step 1; on an ILU(0) failure the solve is redone from ``restart`` with ILU(1)
        blocks, which stay for the rest of the run (module docstring)."""
        ksp = self.ksp["step1"]
        ksp.solve(b, x.x.petsc_vec)
        if ksp.getConvergedReason() < 0 and not self.direct and self.fallback_at is None:
            self.fallback_at = t
            ksp.destroy()
            ksp = self.ksp["step1"] = robust_step1_solver(self.comm, self.A1, self.rtol)
            x.x.array[:] = restart.x.array
            ksp.solve(b, x.x.petsc_vec)
        self._finish("step1", x, t, "tentative velocity")

    def _finish(self, step: str, x: fem.Function, t: float, what: str) -> None:
        check_converged(self.ksp[step], what, t)
        self.iterations[step] += self.ksp[step].getIterationNumber()
        x.x.scatter_forward()

    def last_iterations(self, step: str) -> int:
        return self.ksp[step].getIterationNumber()

    @property
    def step1_preconditioner(self) -> str:
        """The preconditioner of step 1, for the summary."""
        if self.fallback_at is None:
            return "block Jacobi / ILU(0)"
        return (f"block Jacobi / ILU(0), ILU(1) from t = {self.fallback_at:.6g} s "
                "(ILU(0) failed)")

    def destroy(self) -> None:
        for ksp in self.ksp.values():
            ksp.destroy()
