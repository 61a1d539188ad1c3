r"""Kinematics of finite deformation.

.. math::
    \mathbf F = \mathbf I + \nabla \mathbf u,\quad J = \det \mathbf F,\quad
    \mathbf C = \mathbf F^T\mathbf F,\quad \mathbf E = \tfrac12(\mathbf C - \mathbf I),\quad
    \bar{\mathbf F} = J^{-1/3}\mathbf F .
"""

from __future__ import annotations

import ufl


def DeformationGradient(u) -> ufl.core.expr.Expr:
    """:math:`F = I + \\nabla u` (gradient w.r.t. the reference configuration)."""
    return ufl.variable(ufl.Identity(len(u)) + ufl.grad(u))


def Jacobian(F) -> ufl.core.expr.Expr:
    """Volume ratio :math:`J = \\det F`."""
    return ufl.det(F)


def RightCauchyGreen(F) -> ufl.core.expr.Expr:
    """:math:`C = F^T F`."""
    return F.T * F


def LeftCauchyGreen(F) -> ufl.core.expr.Expr:
    """:math:`B = F F^T`."""
    return F * F.T


def GreenLagrangeStrain(F) -> ufl.core.expr.Expr:
    """:math:`E = (C - I)/2`."""
    return 0.5 * (RightCauchyGreen(F) - ufl.Identity(ufl.shape(F)[0]))


def IsochoricDeformationGradient(F) -> ufl.core.expr.Expr:
    """Volume-preserving part :math:`\\bar F = J^{-1/3} F` (Flory split)."""
    return pow(Jacobian(F), -1.0 / 3.0) * F


def FibreStretch(F, a0) -> ufl.core.expr.Expr:
    """Stretch along the reference direction ``a0``: :math:`\\lambda = |F a_0|`."""
    return ufl.sqrt(ufl.inner(F * a0, F * a0))
