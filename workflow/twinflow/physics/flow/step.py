r"""One time step of the incremental pressure-correction scheme (IPCS).

From :math:`(u^n, \tilde p^n)` to :math:`(u^{n+1}, \tilde p^{n+1})` with the forms of
:mod:`twinflow.physics.flow.forms`: (1) the tentative velocity :math:`u^*` (matrix reassembled,
convection linearised about the extrapolated velocity), (2) the pressure, (3) the velocity
correction; then the 0D outlet pressures are solved for and their responses added
(:mod:`twinflow.physics.flow.coupling`), and the time levels shift.
"""

from __future__ import annotations

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import ufl
from dolfinx.fem import petsc as fem_petsc

from twinflow.physics.flow.assembly import assemble_operator, assemble_rhs
from twinflow.physics.flow.boundary import FlowBoundary
from twinflow.physics.flow.coupling import OutletCoupling
from twinflow.physics.flow.forms import IPCSForms
from twinflow.physics.flow.settings import FlowSettings
from twinflow.physics.flow.solver import StepSolvers


class IPCSStep:
    """The matrices, vectors and solvers of the scheme, and :meth:`advance` by one step."""

    def __init__(self, forms: IPCSForms, boundary: FlowBoundary, cfg: FlowSettings,
                 ds: ufl.Measure) -> None:
        fields = forms.fields
        self.forms = forms
        self.boundary = boundary
        self.dt = cfg.time_step
        self.A1 = fem_petsc.create_matrix(forms.a1)  # reassembled each step
        self.A2 = assemble_operator(fem_petsc.create_matrix(forms.a2), forms.a2, boundary.bcs_p)
        self.A3 = assemble_operator(fem_petsc.create_matrix(forms.a3), forms.a3, boundary.bcs_u)
        self.b1, self.b2, self.b3 = (fem_petsc.create_vector(fields.V),
                                     fem_petsc.create_vector(fields.Q),
                                     fem_petsc.create_vector(fields.V))
        self.solvers = StepSolvers(fields.V.mesh.comm, self.A1, self.A2, self.A3,
                                   cfg.linear_solver, cfg.krylov_rtol)
        self.coupling = OutletCoupling(forms, boundary, self.solvers, ds)

    def advance(self, t: float) -> None:
        """One step to time ``t`` (the boundary data already set for ``t``)."""
        f, fields = self.forms, self.forms.fields
        bcs_u, bcs_p = self.boundary.bcs_u, self.boundary.bcs_p
        # step 1: tentative velocity
        assemble_operator(self.A1, f.a1, bcs_u)
        assemble_rhs(self.b1, f.L1, bcs_u, lifting=f.a1)
        self.solvers.solve_tentative(self.b1, fields.u_star, fields.u_n, t)
        # step 2: pressure
        assemble_rhs(self.b2, f.L2, bcs_p, lifting=f.a2)
        self.solvers.solve("step2", self.b2, fields.p_tilde, t, "pressure")
        # step 3: velocity correction, from u* as the initial guess
        assemble_rhs(self.b3, f.L3, bcs_u, lifting=f.a3)
        fields.u.x.array[:] = fields.u_star.x.array
        self.solvers.solve("step3", self.b3, fields.u, t, "velocity correction")
        # 0D outlets, then the next time level
        self.coupling.close_step(t, self.dt)
        fields.shift()
        self.coupling.add_outlet_pressures(fields.p)

    def destroy(self) -> None:
        self.solvers.destroy()
        self.coupling.destroy()
        for obj in (self.A1, self.A2, self.A3, self.b1, self.b2, self.b3):
            obj.destroy()
