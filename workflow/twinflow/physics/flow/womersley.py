r"""Analytical pulsatile flow in a straight rigid tube (Womersley 1955).

For a pressure gradient :math:`-\partial p/\partial z = \mathrm{Re}[G e^{i\omega t}]` in a tube
of radius :math:`R` filled with a Newtonian fluid (density :math:`\rho`, viscosity :math:`\mu`),
with the Womersley number :math:`\alpha = R\sqrt{\omega\rho/\mu}` and
:math:`\Lambda = i^{3/2}\alpha`, the axial velocity is (Womersley 1955, J Physiol 127:553)

.. math::
    u(r,t) = \mathrm{Re}\Big\{ \frac{G}{i\omega\rho}
             \Big[1 - \frac{J_0(\Lambda r/R)}{J_0(\Lambda)}\Big] e^{i\omega t} \Big\}.

Integrating over the cross-section gives the flow rate
:math:`\hat Q = \pi R^2 \frac{G}{i\omega\rho}\,[1 - F(\Lambda)]` with
:math:`F(\Lambda) = 2 J_1(\Lambda) / (\Lambda J_0(\Lambda))`, so a harmonic of the *flow* with
complex amplitude :math:`\hat Q_k` at :math:`k\omega` has the velocity profile

.. math::
    \hat u_k(r) = \frac{\hat Q_k}{\pi R^2}\,
                  \frac{1 - J_0(\Lambda_k r/R)/J_0(\Lambda_k)}{1 - F(\Lambda_k)},

and, with :math:`J_0' = -J_1`, the wall shear stress exerted by the fluid on the wall (positive
along the flow) :math:`\hat\tau_k = -\mu\,\partial_r \hat u_k(R)`:

.. math::
    \hat\tau_k = -\frac{\mu \hat Q_k}{\pi R^2}\,\frac{\Lambda_k}{R}\,
                 \frac{J_1(\Lambda_k)/J_0(\Lambda_k)}{1 - F(\Lambda_k)} .

The mean (k = 0) term is Poiseuille flow: :math:`u = 2\bar u (1 - r^2/R^2)`,
:math:`\tau_w = 4\mu\bar u/R`, :math:`-\partial p/\partial z = 8\mu\bar u/R^2`
(the limits of the formulas above as :math:`\alpha\to 0`).
Bessel functions of complex argument: :func:`scipy.special.jv`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import jv

#: i^{3/2} = e^{3 i pi / 4}
I_3_2: complex = complex(math.cos(3 * math.pi / 4), math.sin(3 * math.pi / 4))


def womersley_number(radius: float, angular_frequency: float, density: float,
                     viscosity: float) -> float:
    r""":math:`\alpha = R\sqrt{\omega\rho/\mu}` (Womersley 1955)."""
    return radius * math.sqrt(angular_frequency * density / viscosity)


def _shape_factor(lam: complex) -> complex:
    r""":math:`1 - F(\Lambda) = 1 - 2J_1(\Lambda)/(\Lambda J_0(\Lambda))`."""
    return 1.0 - 2.0 * jv(1, lam) / (lam * jv(0, lam))


def profile_per_unit_flow(r_over_r0: npt.ArrayLike, alpha: float) -> npt.NDArray[np.complex128]:
    r"""Velocity profile :math:`\hat u(r)\,\pi R^2/\hat Q` of one harmonic (dimensionless).

    ``alpha`` is the Womersley number of that harmonic (0 gives Poiseuille, 2(1 - r^2/R^2)).
    """
    s = np.asarray(r_over_r0, dtype=float)
    if alpha == 0.0:
        return (2.0 * (1.0 - s**2)).astype(np.complex128)
    lam = I_3_2 * alpha
    return (1.0 - jv(0, lam * s) / jv(0, lam)) / _shape_factor(lam)


def wall_shear_per_unit_flow(alpha: float) -> complex:
    r"""Dimensionless WSS of one harmonic: :math:`\hat\tau\,\pi R^3/(\mu\hat Q)` (4 if steady)."""
    if alpha == 0.0:
        return complex(4.0)
    lam = I_3_2 * alpha
    return complex(-lam * (jv(1, lam) / jv(0, lam)) / _shape_factor(lam))


def pressure_gradient_per_unit_flow(alpha: float) -> complex:
    r"""Dimensionless :math:`\hat G\,\pi R^4/(\mu \hat Q)` of one harmonic (8 if steady).

    From :math:`\hat Q = \pi R^2 \hat G/(i\omega\rho)\,[1-F]` and
    :math:`\omega\rho = \mu\alpha^2/R^2`.
    """
    if alpha == 0.0:
        return complex(8.0)
    lam = I_3_2 * alpha
    return complex(1j * alpha**2 / _shape_factor(lam))


@dataclass(slots=True)
class WomersleyFlow:
    r"""Fully developed pulsatile flow driven by a periodic flow rate.

    :math:`Q(t) = \mathrm{Re}\sum_{k\ge 0} \hat Q_k e^{i k\omega t}` with
    ``flow_harmonics[k]`` = :math:`\hat Q_k` (m^3/s; :math:`\hat Q_0` is the mean flow).
    """

    radius: float
    density: float
    viscosity: float
    period: float
    flow_harmonics: npt.NDArray[np.complex128]

    @property
    def omega(self) -> float:
        return 2.0 * math.pi / self.period

    def alpha(self, k: int = 1) -> float:
        """Womersley number of harmonic ``k``."""
        return womersley_number(self.radius, k * self.omega, self.density, self.viscosity)

    def _phasors(self, t: npt.ArrayLike) -> npt.NDArray[np.complex128]:
        k = np.arange(len(self.flow_harmonics))
        return np.exp(1j * self.omega * np.multiply.outer(np.asarray(t, float), k))

    def flow(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Q(t) (m^3/s)."""
        return np.real(self._phasors(t) @ self.flow_harmonics)

    def velocity(self, r: npt.ArrayLike, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Axial velocity u(r, t) (m/s); result shape ``t.shape + r.shape``."""
        s = np.asarray(r, float) / self.radius
        area = math.pi * self.radius**2
        shapes = np.stack([profile_per_unit_flow(s, self.alpha(k)) * q / area
                           for k, q in enumerate(self.flow_harmonics)], axis=-1)
        return np.real(np.tensordot(self._phasors(t), shapes, axes=([-1], [-1])))

    def wall_shear_stress(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Axial WSS exerted by the fluid on the wall, positive along +z (Pa)."""
        c = self.viscosity / (math.pi * self.radius**3)
        amp = np.array([wall_shear_per_unit_flow(self.alpha(k)) * c * q
                        for k, q in enumerate(self.flow_harmonics)])
        return np.real(self._phasors(t) @ amp)

    def pressure_gradient(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        r""":math:`-\partial p/\partial z` (Pa/m)."""
        c = self.viscosity / (math.pi * self.radius**4)
        amp = np.array([pressure_gradient_per_unit_flow(self.alpha(k)) * c * q
                        for k, q in enumerate(self.flow_harmonics)])
        return np.real(self._phasors(t) @ amp)
