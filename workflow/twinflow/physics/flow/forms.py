r"""The IPCS forms of the flow solver: the equations, discretised in time and space.

Unsteady incompressible Navier--Stokes flow of a Newtonian fluid (blood; density
:math:`\rho`, viscosity :math:`\mu`, :math:`\nu = \mu/\rho`; SI units: m, s, kg, Pa):
:math:`\rho(\partial_t u + u\cdot\nabla u) = \nabla\cdot\sigma(u,p)`, :math:`\nabla\cdot u = 0`,
:math:`\sigma = -pI + 2\mu\varepsilon(u)`, with the boundary conditions of
:mod:`twinflow.physics.flow.boundary`.

Scheme: the incremental pressure-correction scheme (IPCS; Goda 1979, J Comput Phys 30:76;
analysis in Guermond, Minev & Shen 2006, Comput Methods Appl Mech Eng 195:6011) with
Taylor--Hood P2/P1 elements, as in the DOLFINx tutorial of Dokken (DFG 2D-3 benchmark) and
Langtangen & Logg 2016 (Solving PDEs in Python, sec. 3.4). One time step from
:math:`(u^n, p^n)` to :math:`(u^{n+1}, p^{n+1})` (default ``"time_scheme": "bdf2"``):

1. tentative velocity :math:`u^*` by the second-order backward difference (BDF2), everything
   implicit at :math:`t^{n+1}` except the convecting velocity, extrapolated as
   :math:`b = 2u^n - u^{n-1}`, and the pressure :math:`p^n`:

   .. math:: \rho\Big(\frac{3u^*-4u^n+u^{n-1}}{2\Delta t},v\Big)
             + \rho\big((b\cdot\nabla)u^*, v\big) + \tfrac12\rho\big((\nabla\cdot b)\,u^*, v\big)
             + \mu(\nabla u^*,\nabla v) + (\nabla p^n, v) = 0

   (the standard incremental pressure-correction scheme of Guermond, Minev & Shen 2006, sec.
   3.2; the convection in Temam's skew-symmetric form, whose
   :math:`\tfrac12(\nabla\cdot b)` term vanishes for the exact solution and makes the
   convective term energy-neutral although the projected :math:`u^n` is only weakly
   divergence-free). ``"time_scheme": "crank-nicolson"`` keeps the former scheme
   (:math:`\bar u = (u^*+u^n)/2` in the convected and viscous terms, Adams--Bashforth
   :math:`b = \tfrac32u^n - \tfrac12u^{n-1}`, as in Oasis). The pressure term is
   written as :math:`-(p^n,\nabla\cdot v) + (p^n, v\cdot n)_{\Gamma_{out}}`, so the natural
   condition on the pressure outlets is :math:`\mu\partial_n u = 0` with the outlet pressure
   acting as the traction :math:`-p_{out}n` (the "do-nothing" outlet; without the boundary
   term a nonzero outlet pressure would push fluid *out* through the natural boundary, which
   made the earlier explicit resistance/Windkessel coupling diverge), plus the backflow
   stabilisation :math:`-\tfrac12\rho(\min(b\cdot n,0)\,u^*, v)_{\Gamma_{out}}`
   that removes the energy inflow of reversed flow (Bazilevs et al. 2009, Comput Methods Appl
   Mech Eng 198:3534; Moghadam et al. 2011, Comput Mech 48:277), and (default
   ``"stabilisation": "supg"``) the residual-based SUPG term

   .. math:: \sum_K \rho\,\tau_K\big((b\cdot\nabla)v,\;D_tu^*
             + (b\cdot\nabla)u^* - \nu\Delta u^* + \tfrac1\rho\nabla p^n\big)_K,
             \qquad \tau_K = \Big(\big(\tfrac{2}{\Delta t}\big)^2
             + \big(\tfrac{2|b|}{h_K/2}\big)^2 + 144\big(\tfrac{\nu}{(h_K/2)^2}\big)^2
             \Big)^{-1/2}

   (:math:`D_t` the BDF2 difference; streamline-upwind/Petrov--Galerkin, Brooks & Hughes
   1982, Comput Methods Appl Mech Eng
   32:199; the time-dependent :math:`\tau` of Shakib, Hughes & Johan 1991, Comput Methods
   Appl Mech Eng 89:141 and Tezduyar 1992, Adv Appl Mech 28:1, as used for blood flow by
   Bazilevs et al. 2007, Comput Methods Appl Mech Eng 197:173; :math:`h_K` the cell diameter,
   divided by the degree 2 of the velocity, Harari & Hughes 1992), with the whole strong
   residual (:math:`\Delta u^*` of the P2 field evaluated cell by cell), so the term
   vanishes for the exact solution: the scheme stays consistent, and the tube verifications
   (Poiseuille, Womersley) stay within their tolerances (a grad-div/LSIC term, Tezduyar 1992,
   was tried and dropped: it moved the Poiseuille WSS on the verification tube to -1.23 %);
2. pressure: :math:`(\nabla p^{n+1},\nabla q) = (\nabla p^n,\nabla q) -
   \frac{\gamma\rho}{\Delta t}(\nabla\cdot u^*, q)`, :math:`p^{n+1} = p_{out}` on pressure
   outlets (:math:`\gamma = 3/2` for BDF2, 1 for Crank--Nicolson);
3. velocity correction:
   :math:`(u^{n+1},v) = (u^*,v) - \frac{\Delta t}{\gamma\rho}(\nabla(p^{n+1}-p^n),v)`,
   with the Dirichlet velocities imposed again so the inlet flux is exact.

Resistance and Windkessel outlets add the response of steps 1--3 to a unit outlet pressure
(:meth:`IPCSForms.response_forms`, :mod:`twinflow.physics.flow.coupling`).

Why BDF2 and not Crank--Nicolson (measured on the demo carotid, 23k cells, 2026-12-06):
Crank--Nicolson's amplification factor tends to :math:`-1` for stiff modes, so
under-resolved modes (cell Courant numbers of 10-50 in the small cells of the bifurcation at
the demo's time steps) are not damped; with it the demo's velocity at the bifurcation grew
to 4-10 m/s at peak systole (inflow peak 23 mL/s, cross-section mean ~1 m/s) and the run
diverged after peak systole at every time step tried (8, 4 and 2 ms; with and without SUPG,
with the skew-symmetric form, on meshes with and without small cells). BDF2 is A-stable
with an amplification factor tending to 0 (L-stable), damps those modes and keeps second
order: on the same mesh and settings the maximum speed follows the inflow (1.5 m/s at peak
systole, falling with the flow; ``docs/verification-carotid.md``).

Why this scheme: it is second order in time for the velocity, needs three linear solves per step
of which two have constant matrices (factorised or preconditioned once), treats the linearised
convection implicitly (no explicit CFL limit; accuracy still asks for Courant numbers of order
one), and is the standard, well-verified scheme
of the FEniCS community for cardiovascular flows at the Reynolds numbers of a carotid
bifurcation (a few hundred; e.g. Oasis, Mortensen & Valen-Sendstad 2015; VaMPy, Kjeldsberg et al.
2023); inf-sup stable P2/P1 needs no stabilisation parameter, and P2 velocity gives a linear
gradient for the wall shear stress.

Why SUPG: plain Galerkin convection is enough on meshes that resolve the flow; the demo
carotid mesh does not:
cells capped at radius/3 (ICA ~0.7 mm, CCA ~1.7 mm), ICA Reynolds number ~1000 at peak
systole, so the cell Peclet number :math:`|u|h/2\nu` reaches ~400 and the Courant number
:math:`|u|\Delta t/h` ~15-20 in the small cells of the crease where the daughters join the
CCA. Without stabilisation the unresolved convection made the step-1 GMRES iterations grow
from ~20 to 100-270 from t = 0.1 s on and break down at t = 0.17 s (dt 2, 4 and 8 ms);
with SUPG step 1 needs ~35 iterations through peak systole. No turbulence model is used
(a simplification listed in the summary).
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from petsc4py import PETSc

from twinflow.physics.flow.mesh import cell_diameter
from twinflow.physics.flow.settings import FlowSettings

#: Quadrature degree of the flow forms: degree 5 integrates the P2 convective term exactly on
#: affine cells; the automatic estimate grows with the geometry degree and would make assembly
#: several times dearer on second-order meshes for no gain in accuracy.
QUADRATURE_DEGREE: int = 5
#: Quadrature degree of the SUPG term: it needs no exact integration (it is consistent at every
#: quadrature point) and degree 5 would double the cost of assembling the step-1 matrix.
SUPG_QUADRATURE_DEGREE: int = 3
#: Constant of the viscous part of tau (Shakib, Hughes & Johan 1991, Comput Methods Appl Mech
#: Eng 89:141, eq. 64: tau^-2 = (2/dt)^2 + (2|u|/h)^2 + 9 (4 nu/h^2)^2, i.e. C = 9 * 16).
SUPG_VISCOUS_CONSTANT: float = 144.0
#: The element length in tau is h / p for Lagrange degree p = 2 (P2 velocity; Harari & Hughes
#: 1992, Comput Methods Appl Mech Eng 98:411; Codina 2002, Comput Methods Appl Mech Eng
#: 191:4295): the nodal spacing, not the cell diameter, sets the resolved scale.
SUPG_ELEMENT_DEGREE: float = 2.0


def supg_tau(b: ufl.core.expr.Expr, k: fem.Constant, nu: ufl.core.expr.Expr,
             h: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    r"""SUPG parameter :math:`\tau = ((2/\Delta t)^2 + (2|b|/h)^2 + C_I(\nu/h^2)^2)^{-1/2}`."""
    return ((2.0 / k) ** 2 + 4.0 * ufl.dot(b, b) / h**2
            + SUPG_VISCOUS_CONSTANT * (nu / h**2) ** 2) ** -0.5


def supg_term(v: ufl.Argument, dudt: ufl.core.expr.Expr, u_imp: ufl.core.expr.Expr,
              p_n: fem.Function, b: ufl.core.expr.Expr, k: fem.Constant, rho: fem.Constant,
              mu: fem.Constant, h: fem.Function, dx: ufl.Measure) -> ufl.Form:
    r"""Residual-based SUPG term of the tentative-velocity step (module docstring).

    :math:`\sum_K \rho\,\tau_K\big((b\cdot\nabla)v,\ r\big)_K` with the full strong
    momentum residual per unit mass :math:`r = D_t u + (b\cdot\nabla)u_\mathrm{imp}
    - \nu\Delta u_\mathrm{imp} + \nabla p^n/\rho` (``dudt`` the discrete time derivative
    and ``u_imp`` the implicit velocity of the time scheme; :math:`\Delta u` of the P2 field
    evaluated cellwise, exact on affine cells), so the term vanishes for the exact solution.
    """
    nu = mu / rho
    tau = supg_tau(b, k, nu, h / SUPG_ELEMENT_DEGREE)
    residual = (dudt + ufl.grad(u_imp) * b - nu * ufl.div(ufl.grad(u_imp))
                + ufl.grad(p_n) / rho)
    return rho * tau * ufl.dot(ufl.grad(v) * b, residual) * dx


@dataclass(slots=True)
class TimeScheme:
    r"""The time discretisation of the tentative-velocity step (module docstring)."""

    dudt: ufl.core.expr.Expr
    r"""Discrete time derivative :math:`D_t u^*`."""
    u_imp: ufl.core.expr.Expr
    """Velocity of the convected and viscous terms (implicit)."""
    b: ufl.core.expr.Expr
    """Convecting velocity, extrapolated from :math:`u^n, u^{n-1}`."""
    gamma: float
    r"""Projection factor :math:`\gamma` of steps 2 and 3."""


def bdf2(u: ufl.Argument, u_n: fem.Function, u_n1: fem.Function,
         k: fem.Constant) -> TimeScheme:
    r"""BDF2: :math:`D_t u = (3u - 4u^n + u^{n-1})/(2\Delta t)`, everything else at
    :math:`t^{n+1}`, :math:`b = 2u^n - u^{n-1}`, :math:`\gamma = 3/2` (Guermond et al. 2006)."""
    return TimeScheme(dudt=(1.5 * u - 2.0 * u_n + 0.5 * u_n1) / k, u_imp=u,
                      b=2.0 * u_n - u_n1, gamma=1.5)


def crank_nicolson(u: ufl.Argument, u_n: fem.Function, u_n1: fem.Function,
                   k: fem.Constant) -> TimeScheme:
    r"""Crank--Nicolson about :math:`t^{n+1/2}`: :math:`D_t u = (u - u^n)/\Delta t`,
    :math:`\bar u = (u + u^n)/2`, Adams--Bashforth :math:`b = \tfrac32u^n - \tfrac12u^{n-1}`,
    :math:`\gamma = 1`."""
    return TimeScheme(dudt=(u - u_n) / k, u_imp=0.5 * (u + u_n), b=1.5 * u_n - 0.5 * u_n1,
                      gamma=1.0)


@dataclass(slots=True)
class FlowFields:
    r"""The unknowns of the scheme: Taylor--Hood P2 velocity, P1 pressure.

    The pressure of the projection step is :math:`\tilde p`; the pressure is
    :math:`p = \tilde p + \sum_j P_j\varphi_j` with the 0D-coupled outlet pressures
    :math:`P_j` (:mod:`twinflow.physics.flow.coupling`; :math:`p = \tilde p` without them).
    """

    u: fem.Function
    r""":math:`u^{n+1}` (after the correction), ``velocity``."""
    u_star: fem.Function
    r"""Tentative velocity :math:`u^*`."""
    u_n: fem.Function
    u_n1: fem.Function
    p_tilde: fem.Function
    r""":math:`\tilde p^{n+1}`."""
    p: fem.Function
    """The pressure, ``pressure``."""
    p_n: fem.Function
    r""":math:`\tilde p^n`."""

    @classmethod
    def taylor_hood(cls, mesh: dmesh.Mesh) -> FlowFields:
        V = fem.functionspace(mesh, ("Lagrange", 2, (mesh.geometry.dim,)))
        Q = fem.functionspace(mesh, ("Lagrange", 1))
        return cls(u=fem.Function(V, name="velocity"),
                   u_star=fem.Function(V, name="tentative_velocity"),
                   u_n=fem.Function(V), u_n1=fem.Function(V),
                   p_tilde=fem.Function(Q, name="pressure_tilde"),
                   p=fem.Function(Q, name="pressure"), p_n=fem.Function(Q))

    @property
    def V(self) -> fem.FunctionSpace:
        return self.u.function_space

    @property
    def Q(self) -> fem.FunctionSpace:
        return self.p.function_space

    def shift(self) -> None:
        r"""Next time level: :math:`u^{n-1} \leftarrow u^n \leftarrow u^{n+1}`,
        :math:`\tilde p^n \leftarrow \tilde p^{n+1}`, :math:`p \leftarrow \tilde p^{n+1}`."""
        self.u_n1.x.array[:] = self.u_n.x.array
        self.u_n.x.array[:] = self.u.x.array
        self.p_n.x.array[:] = self.p_tilde.x.array
        self.p.x.array[:] = self.p_tilde.x.array


@dataclass(slots=True)
class IPCSForms:
    """Compiled forms of the three steps (module docstring) and their coefficients."""

    fields: FlowFields
    k: fem.Constant
    r""":math:`\Delta t` (s)."""
    rho: fem.Constant
    r""":math:`\rho` (kg/m^3)."""
    mu: fem.Constant
    r""":math:`\mu` (Pa s)."""
    h: fem.Function
    """Cell diameter (m, DG0)."""
    gamma: float
    dx: ufl.Measure
    a1: fem.Form
    L1: fem.Form
    a2: fem.Form
    L2: fem.Form
    a3: fem.Form
    L3: fem.Form

    def unit_traction(self, phi: fem.Function) -> fem.Form:
        r"""Step-1 load of a unit pressure on one outlet, spread by the discrete-harmonic
        :math:`\varphi`: :math:`-(\nabla\varphi, v)`."""
        v = ufl.TestFunction(self.fields.V)
        return fem.form(-ufl.dot(ufl.grad(phi), v) * self.dx)

    def response_forms(self, chi: fem.Function, d: fem.Function) -> tuple[fem.Form, fem.Form]:
        r"""Right-hand sides of steps 2 and 3 for the response to a unit outlet pressure: the
        forms of ``L2`` and ``L3`` with zero data, :math:`-\frac{\gamma\rho}{\Delta t}
        (\nabla\cdot\chi, q)` and :math:`(\chi, v) - \frac{\Delta t}{\gamma\rho}
        (\nabla d, v)` (times :math:`\rho`), for the current step-1 and step-2 responses
        ``chi`` and ``d``."""
        v = ufl.TestFunction(self.fields.V)
        q = ufl.TestFunction(self.fields.Q)
        gamma, rho, k, dx = self.gamma, self.rho, self.k, self.dx
        L2 = fem.form(-gamma * rho / k * ufl.div(chi) * q * dx)
        L3 = fem.form(rho * ufl.dot(chi, v) * dx - k / gamma * ufl.dot(ufl.grad(d), v) * dx)
        return L2, L3


def ipcs_forms(fields: FlowFields, cfg: FlowSettings, ds: ufl.Measure,
               pressure_outlets: list[int]) -> IPCSForms:
    """The forms of one IPCS step (module docstring) for the settings ``cfg``, with the
    do-nothing and backflow terms on the facets of ``pressure_outlets``."""
    mesh = fields.V.mesh
    dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": QUADRATURE_DEGREE})
    n = ufl.FacetNormal(mesh)
    u, v = ufl.TrialFunction(fields.V), ufl.TestFunction(fields.V)
    p, q = ufl.TrialFunction(fields.Q), ufl.TestFunction(fields.Q)
    u_n, u_n1, p_n = fields.u_n, fields.u_n1, fields.p_n
    k = fem.Constant(mesh, PETSc.ScalarType(cfg.time_step))
    rho = fem.Constant(mesh, PETSc.ScalarType(cfg.density))
    mu = fem.Constant(mesh, PETSc.ScalarType(cfg.viscosity))
    scheme = (bdf2 if cfg.time_scheme == "bdf2" else crank_nicolson)(u, u_n, u_n1, k)
    dudt, u_imp, b, gamma = scheme.dudt, scheme.u_imp, scheme.b, scheme.gamma
    h = cell_diameter(mesh)

    # step 1, tentative velocity: rho (D_t u, v) + rho ((b.grad) u, v) + mu (grad u, grad v)
    # - (p^n, div v) [+ rho/2 (div b u, v)] [+ (p^n, v.n) - rho/2 (min(b.n, 0) u, v) on the
    # pressure outlets] [+ SUPG] = 0
    F1 = (rho * ufl.dot(dudt, v) * dx
          + rho * ufl.dot(ufl.dot(b, ufl.nabla_grad(u_imp)), v) * dx
          + mu * ufl.inner(ufl.grad(u_imp), ufl.grad(v)) * dx
          - p_n * ufl.div(v) * dx)
    if cfg.convection == "skew-symmetric":
        F1 += 0.5 * rho * ufl.div(b) * ufl.dot(u_imp, v) * dx
    if pressure_outlets:
        ds_out = ds(tuple(sorted(pressure_outlets)))
        # together with -(p^n, div v) this is (grad p^n, v): the outlet traction is the
        # outlet pressure p^n n (zero-pressure outlets: the term vanishes)
        F1 += p_n * ufl.dot(v, n) * ds_out
        F1 -= 0.5 * rho * ufl.min_value(ufl.dot(b, n), 0.0) * ufl.dot(u_imp, v) * ds_out
    if cfg.stabilisation == "supg":
        dx_supg = ufl.Measure("dx", domain=mesh,
                              metadata={"quadrature_degree": SUPG_QUADRATURE_DEGREE})
        F1 += supg_term(v, dudt, u_imp, p_n, b, k, rho, mu, h, dx_supg)
    # step 2, pressure: (grad p, grad q) = (grad p^n, grad q) - gamma rho / dt (div u*, q)
    L2 = (ufl.dot(ufl.grad(p_n), ufl.grad(q)) * dx
          - gamma * rho / k * ufl.div(fields.u_star) * q * dx)
    # step 3, correction: rho (u, v) = rho (u*, v) - dt / gamma (grad (p~ - p~^n), v)
    L3 = (rho * ufl.dot(fields.u_star, v) * dx
          - k / gamma * ufl.dot(ufl.grad(fields.p_tilde - p_n), v) * dx)
    return IPCSForms(fields=fields, k=k, rho=rho, mu=mu, h=h, gamma=gamma, dx=dx,
                     a1=fem.form(ufl.lhs(F1)), L1=fem.form(ufl.rhs(F1)),
                     a2=fem.form(ufl.dot(ufl.grad(p), ufl.grad(q)) * dx), L2=fem.form(L2),
                     a3=fem.form(rho * ufl.dot(u, v) * dx), L3=fem.form(L3))
