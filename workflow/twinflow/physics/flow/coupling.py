r"""Implicit coupling of the 0D outlet models (resistance, Windkessel) to the flow.

The pressure is split as :math:`p = \tilde p + \sum_j P_j\varphi_j` over the 0D-coupled
outlets :math:`j`: :math:`\varphi_j` is discrete-harmonic (the step-2 operator), 1 on outlet
:math:`j` and 0 on the other pressure outlets; :math:`\tilde p` (the pressure of the projection
step) vanishes there. Step 1 uses :math:`\tilde p^n + \sum_j P_j^{n+1}\varphi_j`, i.e. the *new*
outlet pressures, step 2 solves for the increment of :math:`\tilde p`, step 3 projects. A step
is linear in :math:`P^{n+1}`:

.. math:: (u, \tilde p) = (u^0, \tilde p^0) + \sum_j P_j\,(w_j, d_j),

where :math:`(u^0, \tilde p^0)` is the step with :math:`P = 0` and :math:`(w_j, d_j)` the
response to :math:`P_j = 1` (step 1 with the traction of :math:`\varphi_j`, then steps 2--3
with zero data; :meth:`twinflow.physics.flow.forms.IPCSForms.response_forms`): one extra solve
of each step per coupled outlet, skipped when there is a single pressure outlet, where
:math:`\varphi = 1` and the response vanishes. The outlet flows are
:math:`Q = Q^0 + G P`, :math:`G_{ij} = \mathrm{flux}_i(w_j)`, and with the affine 0D laws
:math:`P = aQ + b` of :mod:`twinflow.physics.flow.outlets`

.. math:: (I - \mathrm{diag}(a)\,G)\,P = \mathrm{diag}(a)\,Q^0 + b

closes the 3D--0D system exactly each step (no lag; Vignon-Clementel et al. 2006, Comput
Methods Appl Mech Eng 195:3776; Esmaily Moghadam et al. 2013, J Comput Phys 244:63).
Constant-pressure outlets keep their value in the step-2 Dirichlet data.
"""

from __future__ import annotations

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import ufl
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from petsc4py import PETSc

from twinflow.physics.flow.assembly import assemble_rhs, global_scalar
from twinflow.physics.flow.boundary import FlowBoundary
from twinflow.physics.flow.forms import IPCSForms
from twinflow.physics.flow.outlets import PressureOutlet
from twinflow.physics.flow.solver import StepSolvers


class OutletCoupling:
    r"""The responses :math:`(\varphi_j, \chi_j, d_j, w_j)` of the coupled outlets and the
    0D solve of each step (module docstring)."""

    def __init__(self, forms: IPCSForms, boundary: FlowBoundary, solvers: StepSolvers,
                 ds: ufl.Measure) -> None:
        fields = forms.fields
        V, Q = fields.V, fields.Q
        n = ufl.FacetNormal(V.mesh)
        self.forms = forms
        self.boundary = boundary
        self.solvers = solvers
        self.models = {tag: model for tag, (model, _) in boundary.pressure_outlets.items()}
        self.coupled = sorted(tag for tag, model in self.models.items()
                              if not isinstance(model, PressureOutlet))
        """Tags of the 0D-coupled outlets (resistance, Windkessel)."""
        self.pressure = dict.fromkeys(self.coupled, 0.0)
        """Current pressure of each coupled outlet (Pa)."""
        self._b_p = fem_petsc.create_vector(Q)
        self._b_u = fem_petsc.create_vector(V)
        self.phis: list[fem.Function] = []
        self._traction: list[PETSc.Vec] = []
        self.responses: list[tuple[fem.Function, fem.Function, fem.Function]] = []
        for tag_j in self.coupled:
            phi = fem.Function(Q, name=f"phi_{tag_j}")
            self._set_outlet_pressures({tag: float(tag == tag_j) for tag in self.models})
            assemble_rhs(self._b_p, None, boundary.bcs_p, lifting=forms.a2)
            solvers.solve("step2", self._b_p, phi, 0.0, "outlet potential")
            self.phis.append(phi)
            traction = fem_petsc.create_vector(V)
            assemble_rhs(traction, forms.unit_traction(phi), boundary.bcs_u, homogeneous=True)
            self._traction.append(traction)
            self.responses.append((fem.Function(V), fem.Function(Q), fem.Function(V)))
        self._set_outlet_pressures({tag: model.value if isinstance(model, PressureOutlet)
                                    else 0.0 for tag, model in self.models.items()})
        self._chi, self._d = fem.Function(V), fem.Function(Q)
        if self.coupled:
            self._L2, self._L3 = forms.response_forms(self._chi, self._d)
        self._flux = {tag: fem.form(ufl.dot(fields.u, n) * ds(tag)) for tag in self.coupled}
        self._response_flux = [[fem.form(ufl.dot(w, n) * ds(tag)) for tag in self.coupled]
                               for (_, _, w) in self.responses]

    def _set_outlet_pressures(self, values: dict[int, float]) -> None:
        """Dirichlet values of the step-2 pressure on the pressure-type outlets."""
        for tag, (_, constant) in self.boundary.pressure_outlets.items():
            constant.value = values[tag]

    def _respond(self, j: int, t: float) -> None:
        """Response (chi_j, d_j, w_j) of this step to a unit pressure on coupled outlet j."""
        bcs_u, bcs_p = self.boundary.bcs_u, self.boundary.bcs_p
        chi, d, w = self.responses[j]
        # A1 of this step; the last chi is the initial guess
        self.solvers.solve("step1", self._traction[j], chi, t, "outlet response (step 1)")
        self._chi.x.array[:] = chi.x.array
        assemble_rhs(self._b_p, self._L2, bcs_p, homogeneous=True)
        self.solvers.solve("step2", self._b_p, d, t, "outlet response (step 2)")
        self._d.x.array[:] = d.x.array
        assemble_rhs(self._b_u, self._L3, bcs_u, homogeneous=True)
        self.solvers.solve("step3", self._b_u, w, t, "outlet response (step 3)")

    def close_step(self, t: float, dt: float) -> None:
        """Solve the 0D laws with the flow of this step and add the responses to the velocity
        and the pressure of the projection step (module docstring); advances the 0D states."""
        if not self.coupled:
            return
        fields = self.forms.fields
        if len(self.models) > 1:  # one pressure outlet: phi = 1, no response
            for j in range(len(self.coupled)):
                self._respond(j, t)
        q0 = np.array([global_scalar(self._flux[tag]) for tag in self.coupled])
        influence = np.array([[global_scalar(f) for f in self._response_flux[j]]
                              for j in range(len(self.coupled))]).T  # G_ij = flux_i(w_j)
        ab = np.array([self.models[tag].affine(dt) for tag in self.coupled])
        system = np.eye(len(self.coupled)) - ab[:, :1] * influence
        p_out = np.linalg.solve(system, ab[:, 0] * q0 + ab[:, 1])
        q_out = q0 + influence @ p_out
        for j, tag in enumerate(self.coupled):
            _, d, w = self.responses[j]
            fields.p_tilde.x.array[:] += p_out[j] * d.x.array
            fields.u.x.array[:] += p_out[j] * w.x.array
            self.pressure[tag] = self.models[tag].advance(float(q_out[j]), dt)

    def add_outlet_pressures(self, p: fem.Function) -> None:
        r""":math:`p \mathrel{+}= \sum_j P_j\varphi_j` (``p`` holds :math:`\tilde p`)."""
        for j, tag in enumerate(self.coupled):
            p.x.array[:] += self.pressure[tag] * self.phis[j].x.array

    def destroy(self) -> None:
        for vec in (self._b_p, self._b_u, *self._traction):
            vec.destroy()
