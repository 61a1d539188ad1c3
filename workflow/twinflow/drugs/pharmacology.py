r"""Pharmacokinetics and concentration–response of a drug arm (SI units throughout).

Pharmacokinetics: a one-compartment model with first-order elimination, at steady state
under repeated oral dosing. Over one dosing interval :math:`\tau` the average concentration
does not depend on the absorption rate:

.. math::
    \bar C_{ss} = \frac{F\,D}{CL\,\tau},\qquad CL = \frac{\ln 2\; V_d}{t_{1/2}},

(Rowland & Tozer, *Clinical Pharmacokinetics and Pharmacodynamics*, 4th ed. 2011, ch. 11),
:math:`F` the oral bioavailability, :math:`D` the dose of one administration, :math:`V_d`
the volume of distribution and :math:`t_{1/2}` the elimination half-life. Peaks and troughs
within the interval are not modelled: the effects below act over weeks to months, so the
average is what drives them (a stated simplification).

Concentration–response: the sigmoid Emax (Hill) model on a fractional parameter change,

.. math::
    E(C) = E_{max}\,\frac{C^n}{EC_{50}^n + C^n},

and a first-order onset over the treatment duration :math:`t`,
:math:`E(C, t) = E(C)\,(1 - e^{-t/\tau_{on}})` (haemodynamic effects within weeks, remodelling
over months). A parameter :math:`\theta` becomes :math:`\theta\,(1 + E)`.

These are a few lines of arithmetic; a PK/PD library (e.g. a compartmental ODE package)
would add a dependency without changing the numbers of this steady-state model.
"""

from __future__ import annotations

import math


def clearance(volume_of_distribution_m3: float, half_life_s: float) -> float:
    """Elimination clearance :math:`CL = \\ln 2\\,V_d / t_{1/2}` (m³/s)."""
    return math.log(2.0) * volume_of_distribution_m3 / half_life_s


def average_steady_state_concentration(bioavailability: float, dose_kg: float,
                                       interval_s: float, volume_of_distribution_m3: float,
                                       half_life_s: float) -> float:
    """:math:`\\bar C_{ss} = F D / (CL\\,\\tau)` (kg/m³) of a dose given every
    ``interval_s``."""
    cl = clearance(volume_of_distribution_m3, half_life_s)
    return bioavailability * dose_kg / (cl * interval_s)


def emax_response(concentration: float, e_max: float, ec50: float, hill: float) -> float:
    """Sigmoid Emax: fractional change at ``concentration`` (same units as ``ec50``)."""
    if concentration <= 0.0:
        return 0.0
    r = (concentration / ec50) ** hill
    return e_max * r / (1.0 + r)


def onset(duration_s: float, time_constant_s: float) -> float:
    """Fraction of the steady effect reached after ``duration_s`` of treatment."""
    return 1.0 - math.exp(-duration_s / time_constant_s)


def e_max_for(observed: float, concentration: float, ec50: float, hill: float,
              duration_s: float, time_constant_s: float) -> float:
    """The :math:`E_{max}` that reproduces a trial's ``observed`` change at ``concentration``
    after ``duration_s`` (the inverse of :func:`emax_response` times :func:`onset`)."""
    r = (concentration / ec50) ** hill
    return observed * (1.0 + r) / r / onset(duration_s, time_constant_s)
