r"""Holzapfel & Ogden 2009 (Phil Trans R Soc A 367:3445) orthotropic myocardium.

.. math::
    \Psi = \frac{a}{2b}\left(e^{b(I_1-3)} - 1\right)
    + \sum_{i\in\{f,s\}} \frac{a_i}{2b_i}\left(e^{b_i (I_{4i}-1)_+^2} - 1\right)
    + \frac{a_{fs}}{2b_{fs}}\left(e^{b_{fs} I_{8fs}^2} - 1\right),

where :math:`(x)_+ = \max(x, 0)`: the fibre and sheet families carry load only in tension
(Holzapfel & Ogden 2009). Parameter sets (kPa for ``a*``; ``b*`` dimensionless), as used in
fenicsx-pulse (Finsberg et al.):

* :meth:`HolzapfelOgden.transversely_isotropic`: a=2.280, b=9.726, a_f=1.685, b_f=15.779
  (the fenicsx-pulse transversely isotropic default set, reference-data.md);
* :meth:`HolzapfelOgden.orthotropic`: a=0.059, b=8.023, a_f=18.472, b_f=16.026, a_s=2.481,
  b_s=11.120, a_fs=0.216, b_fs=11.436 (Holzapfel & Ogden 2009, Table 1).

Values are given in kPa; multiply by :data:`KPA` for SI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ufl

from twinflow.physics.heart.mechanics.invariants import I1, I4, I8

KPA = 1.0e3


def _subplus(x):
    return ufl.conditional(ufl.gt(x, 0.0), x, 0.0)


def _exp_term(a, b, x):
    """a/(2b) (exp(b x) - 1), with the b -> 0 limit a x / 2 when b == 0 (a float)."""
    if isinstance(b, (int, float)) and b == 0:
        return 0.5 * a * x
    return a / (2.0 * b) * (ufl.exp(b * x) - 1.0)


@dataclass(slots=True)
class HolzapfelOgden:
    a: Any = 0.0
    b: Any = 0.0
    a_f: Any = 0.0
    b_f: Any = 0.0
    a_s: Any = 0.0
    b_s: Any = 0.0
    a_fs: Any = 0.0
    b_fs: Any = 0.0
    f0: Any = None
    s0: Any = None

    @classmethod
    def transversely_isotropic(cls, f0, scale: float = 1.0) -> HolzapfelOgden:
        """pulse / Holzapfel & Ogden 2009 transversely isotropic set (kPa * ``scale``)."""
        return cls(a=2.280 * scale, b=9.726, a_f=1.685 * scale, b_f=15.779, f0=f0)

    @classmethod
    def orthotropic(cls, f0, s0, scale: float = 1.0) -> HolzapfelOgden:
        """Holzapfel & Ogden 2009 Table 1 orthotropic set (kPa * ``scale``)."""
        return cls(a=0.059 * scale, b=8.023, a_f=18.472 * scale, b_f=16.026,
                   a_s=2.481 * scale, b_s=11.120, a_fs=0.216 * scale, b_fs=11.436,
                   f0=f0, s0=s0)

    def strain_energy(self, F, isochoric: bool = False):
        psi = _exp_term(self.a, self.b, I1(F, isochoric) - 3)
        if self.f0 is not None and not _is_zero(self.a_f):
            psi += _exp_term(self.a_f, self.b_f, _subplus(I4(F, self.f0, isochoric) - 1) ** 2)
        if self.s0 is not None and not _is_zero(self.a_s):
            psi += _exp_term(self.a_s, self.b_s, _subplus(I4(F, self.s0, isochoric) - 1) ** 2)
        if self.f0 is not None and self.s0 is not None and not _is_zero(self.a_fs):
            psi += _exp_term(self.a_fs, self.b_fs, I8(F, self.f0, self.s0, isochoric) ** 2)
        return psi


def _is_zero(v) -> bool:
    return isinstance(v, (int, float)) and v == 0
