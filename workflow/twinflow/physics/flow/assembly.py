r"""Assembly of the linear systems of the flow solver (DOLFINx + PETSc), in one place.

Every linear system :math:`A x = b` of the scheme, with Dirichlet conditions :math:`x = g` on
the constrained rows, is assembled the same way (the symmetric "lifting" of DOLFINx):

- :func:`assemble_operator`: :math:`A` with the constrained rows and columns replaced by the
  identity;
- :func:`assemble_rhs`: :math:`b = L - A_{\mathrm{lift}}\,g` (the lifting moves the known
  values to the right-hand side, so a symmetric :math:`A` stays symmetric), the ghost
  contributions summed onto their owners, and the constrained rows set to :math:`g` (or to 0
  for the homogeneous problems of the outlet responses, :mod:`twinflow.physics.flow.coupling`);
- :func:`integrate`: a scalar functional summed over the MPI ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import ufl
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc


def assemble_operator(A: PETSc.Mat, a: fem.Form, bcs: Sequence[fem.DirichletBC]) -> PETSc.Mat:
    """Assemble the bilinear form ``a`` into ``A`` (zeroed first; identity on the rows of
    ``bcs``); returns ``A``, assembled."""
    A.zeroEntries()
    fem_petsc.assemble_matrix(A, a, bcs=bcs)
    A.assemble()
    return A


def assemble_rhs(b: PETSc.Vec, L: fem.Form | None, bcs: Sequence[fem.DirichletBC],
                 lifting: fem.Form | None = None, homogeneous: bool = False) -> PETSc.Vec:
    """Assemble the right-hand side ``b`` of a system with the Dirichlet conditions ``bcs``.

    ``b`` is zeroed; ``L`` (none: a zero load) is assembled; the Dirichlet values are lifted
    with the bilinear form ``lifting`` (none: no lifting, for homogeneous conditions); ghost
    contributions are added to their owners; the constrained entries are set to the
    Dirichlet values, or to zero when ``homogeneous``. Returns ``b``.
    """
    with b.localForm() as local:
        local.set(0.0)
    if L is not None:
        fem_petsc.assemble_vector(b, L)
    if lifting is not None:
        fem_petsc.apply_lifting(b, [lifting], [bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    fem_petsc.set_bc(b, bcs, alpha=0.0 if homogeneous else 1.0)
    return b


def global_scalar(form: fem.Form) -> float:
    """Value of a compiled scalar form, summed over the ranks of its mesh."""
    return form.mesh.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)


def integrate(integrand: ufl.Form) -> float:
    """Value of a scalar UFL form (compiled here), summed over the ranks."""
    return global_scalar(fem.form(integrand))
