r"""Strain invariants used by the cardiac strain-energy functions.

.. math::
    I_1 = \operatorname{tr}\mathbf C,\quad
    I_2 = \tfrac12\big(I_1^2 - \operatorname{tr}(\mathbf C^2)\big),\quad
    I_{4a} = \mathbf a_0\cdot\mathbf C\mathbf a_0,\quad
    I_{8ab} = \mathbf a_0\cdot\mathbf C\mathbf b_0 .

With ``isochoric=True`` they are evaluated on :math:`\bar{\mathbf C} = J^{-2/3}\mathbf C`.
"""

from __future__ import annotations

import ufl

from twinflow.physics.heart.mechanics.kinematics import (
    IsochoricDeformationGradient,
    RightCauchyGreen,
)


def _C(F, isochoric: bool):
    return RightCauchyGreen(IsochoricDeformationGradient(F) if isochoric else F)


def I1(F, isochoric: bool = False):
    """First invariant :math:`\\operatorname{tr} C`."""
    return ufl.tr(_C(F, isochoric))


def I2(F, isochoric: bool = False):
    """Second invariant :math:`(I_1^2 - \\operatorname{tr} C^2)/2`."""
    C = _C(F, isochoric)
    return 0.5 * (ufl.tr(C) ** 2 - ufl.tr(C * C))


def I4(F, a0, isochoric: bool = False):
    """Squared stretch along ``a0``: :math:`a_0 \\cdot C a_0`."""
    return ufl.inner(a0, _C(F, isochoric) * a0)


def I8(F, a0, b0, isochoric: bool = False):
    """Coupling invariant :math:`a_0 \\cdot C b_0`."""
    return ufl.inner(a0, _C(F, isochoric) * b0)
