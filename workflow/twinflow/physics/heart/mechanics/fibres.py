r"""Rule-based myocardial fibres for the LV (Laplace--Dirichlet rule-based, LDRB).

Bayer, Blake, Plank & Trayanova 2012 (Ann Biomed Eng 40:2243), restricted to a single
ventricle. Two Laplace problems are solved with DOLFINx (P1):

* transmural :math:`\phi`: :math:`\Delta\phi = 0`, :math:`\phi = 0` on ENDO, 1 on EPI;
* apico-basal :math:`\psi`: :math:`\Delta\psi = 0`, :math:`\psi = 1` on BASE, 0 at the
  epicardial apex (the vertices closest to it).

Local basis (gradients L2-projected onto vector P``degree``, normalised pointwise):
:math:`\mathbf e_t = \nabla\phi/|\nabla\phi|` (transmural, endo to epi),
:math:`\mathbf e_l = (\nabla\psi - (\nabla\psi\cdot\mathbf e_t)\mathbf e_t)/|\cdot|` (apex to base),
:math:`\mathbf e_c = \mathbf e_l\times\mathbf e_t` (circumferential). The helix angle varies
linearly through the wall, :math:`\alpha = \alpha_{endo}(1-\phi) + \alpha_{epi}\phi`
(+60° to -60°, Bayer et al. 2012 / reference-data.md), and

.. math::
    \mathbf f_0 = \cos\alpha\,\mathbf e_c + \sin\alpha\,\mathbf e_l,\quad
    \mathbf s_0 = \mathbf e_t\ (\text{sheet angle } \beta = 0),\quad
    \mathbf n_0 = \mathbf f_0\times\mathbf s_0 .

Simplifications: single ventricle, so Bayer's bislerp between ventricles is not needed and
the linear angle rule is exact for it; sheet angle fixed at 0. On the Land et al. 2015
ellipsoid, :math:`\mathbf e_l` and :math:`\mathbf e_c` coincide with the paper's
:math:`\hat{\mathbf x}_u` and :math:`\hat{\mathbf x}_v`, so ``alpha = +90 -> -90`` gives its
problem 3 fibres up to the difference between :math:`\phi` and the ellipsoidal ``t``.

``fenicsx-ldrb`` (Finsberg) is the usual package for this, but it cannot be installed beside
``dolfinx-solver-real`` (it pins its own DOLFINx build), hence this implementation.
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import math
from dataclasses import dataclass

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl

from twinflow.geometry import tags

_LINEAR = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


@dataclass
class FibreField:
    """Fibre (f0), sheet (s0) and sheet-normal (n0) directions and the two Laplace fields.

    ``f0``/``s0``/``n0`` live in vector Lagrange P``degree`` (for output and ParaView).
    ``f0_q``/``s0_q``/``n0_q``, when requested, hold the same rule evaluated exactly at the
    quadrature points of the mechanics forms: use them in the forms. A Lagrange interpolant of
    a direction that turns by 120 degrees across a wall one or two cells thick is far from
    unit length between the nodes (P1 on a 12 mm LV mesh: mean |f0|^2 = 0.54 at the
    quadrature points, minimum |f0| = 0.04), which silently scales the active stress
    ``T_a f0 (x) f0`` and the anisotropic stiffness.
    """

    f0: dolfinx.fem.Function
    s0: dolfinx.fem.Function
    n0: dolfinx.fem.Function
    transmural: dolfinx.fem.Function
    apicobasal: dolfinx.fem.Function
    f0_q: dolfinx.fem.Function | None = None
    s0_q: dolfinx.fem.Function | None = None
    n0_q: dolfinx.fem.Function | None = None
    #: quadrature degree of ``f0_q``... (None: not evaluated there)
    quadrature_degree: int | None = None
    #: the rule as UFL expressions (f0, s0, n0) of the Laplace fields: exact wherever a form
    #: or an Expression evaluates it (e.g. fibre stress at cell midpoints for output)
    rule: tuple | None = None


def _laplace(V, bcs, prefix: str) -> dolfinx.fem.Function:
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    zero = dolfinx.fem.Constant(V.mesh, 0.0)
    prob = dolfinx.fem.petsc.LinearProblem(
        ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx, zero * v * ufl.dx, bcs=bcs,
        petsc_options=_LINEAR, petsc_options_prefix=prefix)
    return prob.solve()


def _project_grad(phi, Vv, prefix: str) -> dolfinx.fem.Function:
    w, q = ufl.TrialFunction(Vv), ufl.TestFunction(Vv)
    prob = dolfinx.fem.petsc.LinearProblem(
        ufl.inner(w, q) * ufl.dx, ufl.inner(ufl.grad(phi), q) * ufl.dx,
        petsc_options=_LINEAR, petsc_options_prefix=prefix)
    return prob.solve()


def ldrb_fibres(mesh, facet_tags, alpha_endo_deg: float = 60.0, alpha_epi_deg: float = -60.0,
                degree: int = 1, apex_z: float | None = None,
                quadrature_degree: int | None = None) -> FibreField:
    """Fibre, sheet and normal fields (vector P``degree``) for an LV mesh with the LV tags.

    ``alpha_endo_deg`` / ``alpha_epi_deg``: helix angles, +60°/-60° after Bayer et al. 2012.
    ``apex_z``: z of the epicardial apex (default: the lowest mesh point).
    ``quadrature_degree``: also evaluate the rule at the quadrature points of that degree
    (``FibreField.f0_q`` ...); it must equal the quadrature degree of the forms using them.
    """
    fdim = mesh.topology.dim - 1
    mesh.topology.create_connectivity(fdim, mesh.topology.dim)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))

    def bc(value: float, tag: int):
        dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facet_tags.find(tag))
        return dolfinx.fem.dirichletbc(dolfinx.default_scalar_type(value), dofs, V)

    phi = _laplace(V, [bc(0.0, tags.ENDO), bc(1.0, tags.EPI)], "ldrb_phi_")
    x = mesh.geometry.x
    zmin_local = x[:, 2].min() if len(x) else np.inf
    zmin = mesh.comm.allreduce(zmin_local, op=__import__("mpi4py").MPI.MIN) if apex_z is None \
        else apex_z
    span = mesh.comm.allreduce(np.ptp(x[:, 2]) if len(x) else 0.0,
                               op=__import__("mpi4py").MPI.MAX)
    tol = 1e-6 * span
    apex_dofs = dolfinx.fem.locate_dofs_geometrical(
        V, lambda p: (np.abs(p[2] - zmin) < max(tol, 1e-12)) & (np.hypot(p[0], p[1]) < 1e-3 * span))
    if mesh.comm.allreduce(len(apex_dofs)) == 0:  # no vertex exactly on the axis: nearest
        apex_dofs = dolfinx.fem.locate_dofs_geometrical(V, lambda p: p[2] < zmin + 0.02 * span)
    bc_apex = dolfinx.fem.dirichletbc(dolfinx.default_scalar_type(0.0), apex_dofs, V)
    psi = _laplace(V, [bc(1.0, tags.BASE), bc_apex], "ldrb_psi_")

    Vv = dolfinx.fem.functionspace(mesh, ("Lagrange", degree, (3,)))
    g_phi = _project_grad(phi, Vv, "ldrb_gphi_")
    g_psi = _project_grad(psi, Vv, "ldrb_gpsi_")
    rule = ldrb_rule(phi, g_phi, g_psi, alpha_endo_deg, alpha_epi_deg)
    # one rule (UFL), evaluated at the nodes of Vv (output, ParaView) and, when asked, at the
    # quadrature points of the forms
    names = ("f0", "s0", "n0")
    nodal = [_interpolate(expr, Vv, name) for name, expr in zip(names, rule, strict=True)]
    phi.name, psi.name = "transmural", "apicobasal"
    field = FibreField(nodal[0], nodal[1], nodal[2], phi, psi, rule=rule)
    if quadrature_degree is not None:
        import basix.ufl

        element = basix.ufl.quadrature_element(mesh.basix_cell(), value_shape=(3,),
                                               degree=quadrature_degree)
        Q = dolfinx.fem.functionspace(mesh, element)
        field.f0_q, field.s0_q, field.n0_q = (
            _interpolate(expr, Q, name) for name, expr in zip(names, rule, strict=True))
        field.quadrature_degree = quadrature_degree
    return field


def _unit(v):
    """v/|v|, zero where |v| < 1e-14 (a degenerate basis vector; as a guard only)."""
    return v / ufl.max_value(ufl.sqrt(ufl.inner(v, v)), 1e-14)


def ldrb_rule(phi, g_phi, g_psi, alpha_endo_deg: float, alpha_epi_deg: float) -> tuple:
    """The LDRB rule of the module docstring as UFL expressions (f0, s0, n0).

    The basis comes from the (smooth) projected gradients, normalised pointwise; the helix
    angle from the transmural field itself, so wherever it is evaluated (nodes or quadrature
    points) the result is unit length (unless the basis degenerates).
    """
    e_t = _unit(g_phi)
    e_l = _unit(g_psi - ufl.inner(g_psi, e_t) * e_t)
    e_c = _unit(ufl.cross(e_l, e_t))
    d = ufl.max_value(ufl.min_value(phi, 1.0), 0.0)
    alpha = math.radians(alpha_endo_deg) * (1 - d) + math.radians(alpha_epi_deg) * d
    f = _unit(ufl.cos(alpha) * e_c + ufl.sin(alpha) * e_l)
    return f, e_t, _unit(ufl.cross(f, e_t))


def _interpolate(expr, space, name: str) -> dolfinx.fem.Function:
    fn = dolfinx.fem.Function(space, name=name)
    fn.interpolate(dolfinx.fem.Expression(expr, space.element.interpolation_points))
    fn.x.scatter_forward()
    return fn


def helix_angle_deg(f0: np.ndarray, e_c: np.ndarray, e_l: np.ndarray) -> np.ndarray:
    """Helix angle of fibre vectors in a (circumferential, longitudinal) basis, degrees."""
    return np.rad2deg(np.arctan2(np.sum(f0 * e_l, axis=1), np.sum(f0 * e_c, axis=1)))
