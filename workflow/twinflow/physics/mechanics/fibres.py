r"""Rule-based myocardial fibres for the LV (Laplace--Dirichlet rule-based, LDRB).

Bayer, Blake, Plank & Trayanova 2012 (Ann Biomed Eng 40:2243), restricted to a single
ventricle. Two Laplace problems are solved with DOLFINx (P1):

* transmural :math:`\phi`: :math:`\Delta\phi = 0`, :math:`\phi = 0` on ENDO, 1 on EPI;
* apico-basal :math:`\psi`: :math:`\Delta\psi = 0`, :math:`\psi = 1` on BASE, 0 at the
  epicardial apex (the vertices closest to it).

Local basis (at the dofs of the target space, gradients L2-projected):
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

from twinflow.geometry import lv_tags

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


def _normalise(a: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.maximum(n, 1e-14)


def ldrb_fibres(mesh, facet_tags, alpha_endo_deg: float = 60.0, alpha_epi_deg: float = -60.0,
                degree: int = 1, apex_z: float | None = None,
                quadrature_degree: int | None = None) -> FibreField:
    """Fibre, sheet and normal fields (vector P``degree``) for an LV mesh with lv_tags.

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

    phi = _laplace(V, [bc(0.0, lv_tags.ENDO), bc(1.0, lv_tags.EPI)], "ldrb_phi_")
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
    psi = _laplace(V, [bc(1.0, lv_tags.BASE), bc_apex], "ldrb_psi_")

    Vv = dolfinx.fem.functionspace(mesh, ("Lagrange", degree, (3,)))
    g_phi = _project_grad(phi, Vv, "ldrb_gphi_")
    g_psi = _project_grad(psi, Vv, "ldrb_gpsi_")
    phi_v = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("Lagrange", degree)))
    phi_v.interpolate(phi)

    nloc = Vv.dofmap.index_map.size_local + Vv.dofmap.index_map.num_ghosts
    e_t = _normalise(g_phi.x.array.reshape(nloc, 3))
    gl = g_psi.x.array.reshape(nloc, 3)
    e_l = _normalise(gl - np.sum(gl * e_t, axis=1, keepdims=True) * e_t)
    e_c = _normalise(np.cross(e_l, e_t))
    d = np.clip(phi_v.x.array[:nloc], 0.0, 1.0)[:, None]
    alpha = np.deg2rad(alpha_endo_deg * (1 - d) + alpha_epi_deg * d)
    f = _normalise(np.cos(alpha) * e_c + np.sin(alpha) * e_l)
    s = e_t
    n = _normalise(np.cross(f, s))
    out = []
    for name, arr in (("f0", f), ("s0", s), ("n0", n)):
        fn = dolfinx.fem.Function(Vv, name=name)
        fn.x.array[:] = arr.reshape(-1)
        fn.x.scatter_forward()
        out.append(fn)
    phi.name, psi.name = "transmural", "apicobasal"
    field = FibreField(out[0], out[1], out[2], phi, psi)
    if quadrature_degree is not None:
        field.f0_q, field.s0_q, field.n0_q = _at_quadrature_points(
            phi, g_phi, g_psi, alpha_endo_deg, alpha_epi_deg, quadrature_degree)
    return field


def _at_quadrature_points(phi, g_phi, g_psi, alpha_endo_deg: float, alpha_epi_deg: float,
                          degree: int) -> list[dolfinx.fem.Function]:
    """The same rule as above, evaluated at the quadrature points (UFL, then interpolated).

    The basis comes from the (smooth) projected gradients, normalised pointwise; the helix
    angle from the transmural field itself, so the result is unit length everywhere.
    """
    import basix.ufl

    mesh = phi.function_space.mesh
    element = basix.ufl.quadrature_element(mesh.basix_cell(), value_shape=(3,), degree=degree)
    Q = dolfinx.fem.functionspace(mesh, element)

    def unit(v):
        return v / ufl.sqrt(ufl.inner(v, v))

    e_t = unit(g_phi)
    e_l = unit(g_psi - ufl.inner(g_psi, e_t) * e_t)
    e_c = ufl.cross(e_l, e_t)
    d = ufl.max_value(ufl.min_value(phi, 1.0), 0.0)
    alpha = math.radians(alpha_endo_deg) * (1 - d) + math.radians(alpha_epi_deg) * d
    f = ufl.cos(alpha) * e_c + ufl.sin(alpha) * e_l
    out = []
    for name, expr in (("f0", f), ("s0", e_t), ("n0", ufl.cross(f, e_t))):
        fn = dolfinx.fem.Function(Q, name=name)
        fn.interpolate(dolfinx.fem.Expression(expr, Q.element.interpolation_points))
        fn.x.scatter_forward()
        out.append(fn)
    return out


def helix_angle_deg(f0: np.ndarray, e_c: np.ndarray, e_l: np.ndarray) -> np.ndarray:
    """Helix angle of fibre vectors in a (circumferential, longitudinal) basis, degrees."""
    return np.rad2deg(np.arctan2(np.sum(f0 * e_l, axis=1), np.sum(f0 * e_c, axis=1)))
