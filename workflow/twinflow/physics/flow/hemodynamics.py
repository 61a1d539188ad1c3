r"""Wall shear stress and the time-averaged hemodynamic indices.

Wall shear stress (WSS) is the tangential part of the traction the fluid exerts on the wall.
With the Cauchy stress :math:`\sigma = -pI + 2\mu\varepsilon(u)` and the unit normal
:math:`n` pointing out of the fluid, the traction on the fluid is :math:`t = \sigma n`, and

.. math::
    \tau_w = -\big(t - (t\cdot n)\,n\big)
           = -2\mu\big(\varepsilon(u)n - (n\cdot\varepsilon(u)n)\,n\big),

(the pressure drops out of the tangential projection), so :math:`\tau_w` points along the
near-wall flow; for Poiseuille flow :math:`|\tau_w| = 4\mu\bar u/R`.

The gradient of a P2 velocity is discontinuous across cells, so :math:`\tau_w` is recovered as
a continuous P1 vector field on the wall by a *boundary* L2 projection: find
:math:`\tau_h \in W_h` with :math:`\int_{\Gamma_w}\tau_h\cdot v\,ds =
\int_{\Gamma_w}\tau_w(u_h)\cdot v\,ds` for all :math:`v`, the degrees of freedom off the wall
fixed to zero (an identity row; the same boundary projection as e.g. the WSS tools of Oasis,
Mortensen & Valen-Sendstad 2015, and VaMPy, Kjeldsberg et al. 2023). The (constant) boundary
mass matrix is factorised once with MUMPS.

Hemodynamic indices over one period T (reference-data.md; Ku et al. 1985 for OSI,
Himburg et al. 2004 for RRT):
:math:`\mathrm{TAWSS} = \frac1T\int_0^T|\tau_w|dt`,
:math:`\mathrm{OSI} = \frac12\big(1 - |\int_0^T\tau_w dt| / \int_0^T|\tau_w|dt\big)`,
:math:`\mathrm{RRT} = 1/((1-2\,\mathrm{OSI})\,\mathrm{TAWSS}) = T/|\int_0^T\tau_w dt|`.
The time integrals use the rectangle rule over the steps of one period, which for a periodic
signal equals the trapezoidal rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import numpy.typing as npt
import ufl
from dolfinx import fem, la
from dolfinx.fem import petsc as fem_petsc
from dolfinx.mesh import MeshTags
from petsc4py import PETSc

from twinflow.physics.flow.assembly import assemble_operator, assemble_rhs


def strain_rate(u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    r""":math:`\varepsilon(u) = \frac12(\nabla u + \nabla u^T)`."""
    return ufl.sym(ufl.grad(u))


def wall_shear_stress(u: ufl.core.expr.Expr, viscosity: float | fem.Constant,
                      n: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    r""":math:`\tau_w = -2\mu(\varepsilon(u)n - (n\cdot\varepsilon(u)n)n)` (module docstring)."""
    traction = 2.0 * viscosity * ufl.dot(strain_rate(u), n)
    return -(traction - ufl.dot(traction, n) * n)


class WallShearStressProjector:
    """Boundary L2 projection of :func:`wall_shear_stress` onto P1 vectors on the wall."""

    def __init__(self, u: fem.Function, viscosity: fem.Constant, facet_tags: MeshTags,
                 wall_tag: int, prefix: str = "wss_") -> None:
        mesh = u.function_space.mesh
        gdim = mesh.geometry.dim
        fdim = mesh.topology.dim - 1
        self.space = fem.functionspace(mesh, ("Lagrange", 1, (gdim,)))
        self.scalar_space = fem.functionspace(mesh, ("Lagrange", 1))
        self.tau = fem.Function(self.space, name="wss")
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
        w, v = ufl.TrialFunction(self.space), ufl.TestFunction(self.space)
        n = ufl.FacetNormal(mesh)
        # the zero-weighted volume term only puts every diagonal entry into the sparsity
        # pattern, so the identity rows off the wall can be inserted
        zero = fem.Constant(mesh, PETSc.ScalarType(0.0))
        a = fem.form(ufl.inner(w, v) * ds(wall_tag) + zero * ufl.inner(w, v) * ufl.dx)
        self._rhs = fem.form(ufl.inner(wall_shear_stress(u, viscosity, n), v) * ds(wall_tag))

        # Mark wall nodes consistently across ranks (a ghost node may lie on a wall facet that
        # only its owner sees): local marks, summed onto owners, then sent back to ghosts.
        marker = la.vector(self.scalar_space.dofmap.index_map, 1)
        wall_nodes = fem.locate_dofs_topological(self.scalar_space, fdim,
                                                 facet_tags.find(wall_tag))
        marker.array[wall_nodes] = 1.0
        marker.scatter_reverse(la.InsertMode.add)
        marker.scatter_forward()
        self.on_wall: npt.NDArray[np.bool_] = marker.array > 0.0
        off_wall = np.flatnonzero(~self.on_wall).astype(np.int32)
        self._bc = fem.dirichletbc(np.zeros(gdim, dtype=PETSc.ScalarType), off_wall, self.space)

        self._A = assemble_operator(fem_petsc.create_matrix(a), a, [self._bc])
        self._b = fem_petsc.create_vector(self.space)
        self._ksp = PETSc.KSP().create(mesh.comm)
        self._ksp.setOptionsPrefix(prefix)
        self._ksp.setOperators(self._A)
        self._ksp.setType("preonly")
        pc = self._ksp.getPC()
        pc.setType("lu")
        pc.setFactorSolverType("mumps")
        self._ksp.setFromOptions()

    def compute(self) -> fem.Function:
        """Project the current WSS; returns the P1 field (zero off the wall)."""
        assemble_rhs(self._b, self._rhs, [self._bc])
        self._ksp.solve(self._b, self.tau.x.petsc_vec)
        self.tau.x.scatter_forward()
        return self.tau

    def destroy(self) -> None:
        self._ksp.destroy()
        self._A.destroy()
        self._b.destroy()


@dataclass(slots=True)
class IndexAccumulator:
    """Running time integrals of |tau| and tau at the P1 wall nodes over one period."""

    num_nodes: int
    gdim: int = 3
    integral_magnitude: npt.NDArray[np.float64] = field(init=False)
    integral_vector: npt.NDArray[np.float64] = field(init=False)
    duration: float = 0.0

    def __post_init__(self) -> None:
        self.integral_magnitude = np.zeros(self.num_nodes)
        self.integral_vector = np.zeros((self.num_nodes, self.gdim))

    def add(self, tau_nodes: npt.NDArray[np.float64], dt: float) -> None:
        """Add one sample (nodal WSS, shape (num_nodes, gdim)) held for ``dt``."""
        self.integral_magnitude += np.linalg.norm(tau_nodes, axis=1) * dt
        self.integral_vector += tau_nodes * dt
        self.duration += dt

    def indices(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                               npt.NDArray[np.float64]]:
        """(TAWSS [Pa], OSI [-], RRT [1/Pa]) at the nodes; zero where no shear was seen."""
        if self.duration <= 0.0:
            raise RuntimeError("no WSS samples accumulated")
        tawss = self.integral_magnitude / self.duration
        mean_vector = np.linalg.norm(self.integral_vector, axis=1)
        sheared = self.integral_magnitude > 0.0
        osi = np.zeros_like(tawss)
        osi[sheared] = 0.5 * (1.0 - mean_vector[sheared] / self.integral_magnitude[sheared])
        osi = np.clip(osi, 0.0, 0.5)
        rrt = np.zeros_like(tawss)
        floor = 1e-12 * max(float(self.integral_magnitude.max(initial=0.0)), 1e-300)
        rrt[sheared] = self.duration / np.maximum(mean_vector[sheared], floor)
        return tawss, osi, rrt


def index_fields(accumulator: IndexAccumulator,
                 projector: WallShearStressProjector) -> tuple[fem.Function, ...]:
    """TAWSS (Pa), OSI (-) and RRT (1/Pa) as P1 functions ``tawss``, ``osi``, ``rrt`` on the
    wall (zero off the wall, and everywhere when no period was accumulated)."""
    fields = tuple(fem.Function(projector.scalar_space, name=name)
                   for name in ("tawss", "osi", "rrt"))
    if accumulator.duration > 0.0:
        for fn, values in zip(fields, accumulator.indices(), strict=True):
            fn.x.array[:] = np.where(projector.on_wall, values, 0.0)
    return fields
