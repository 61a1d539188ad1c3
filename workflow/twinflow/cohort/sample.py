"""Population sampling: each member's patient variables from the spec's distributions.

A Gaussian copula: normal scores ``z ~ N(0, R)`` with the spec's correlation matrix ``R``
(Cholesky factor, numpy), mapped to each variable through its marginal's quantile function
(``scipy.stats.truncnorm`` for a normal truncated to [min, max], ``scipy.stats.uniform``),
so every marginal is exactly the one written and ``r`` is the correlation of the normal
scores (Nelsen 2006, An Introduction to Copulas, ch. 3). Written here because the copula is
a dozen lines over scipy.stats; chaospy's joint distributions would add a dependency for it.

Member ``k`` is drawn from ``numpy.random.default_rng([seed, k, 1])``: the first members
of a cohort do not change when ``--n`` grows. A draw with the diastolic pressure not at least
:data:`MIN_PULSE_PRESSURE` below the systolic is drawn again (the count is recorded).
Values are rounded to what a clinic writes (whole mmHg, bpm, years; 0.1 mL, 0.1 mm, 0.1 %
EF, 1 cm, 0.1 kg); the rounded value is the member's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from twinflow.cohort.spec import VARIABLES, CohortSpec, display
from twinflow.units import to_si

#: Smallest systolic - diastolic difference accepted in a draw (SI: 10 mmHg).
MIN_PULSE_PRESSURE = to_si(10.0, "mmHg")
MAX_DRAWS = 1000
#: Rounding of each variable in its display unit (decimals).
DECIMALS = {"end_diastolic_volume": 1, "ejection_fraction": 3, "wall_thickness": 1,
            "systolic_pressure": 0, "diastolic_pressure": 0, "heart_rate": 0, "age": 0,
            "height": 0, "weight": 1}


def marginal(dist: Any) -> Any:
    """The frozen scipy.stats distribution of a spec distribution (SI)."""
    if dist.distribution == "uniform":
        return stats.uniform(loc=dist.min, scale=dist.max - dist.min)
    a, b = (dist.min - dist.mean) / dist.sd, (dist.max - dist.mean) / dist.sd
    return stats.truncnorm(a, b, loc=dist.mean, scale=dist.sd)


def _rounded(variable: str, value_si: float) -> float:
    unit = VARIABLES[variable][1]
    shown = round(display(variable, value_si), DECIMALS[variable])
    return shown * to_si(1.0, unit) if unit else shown


def sample_member(spec: CohortSpec, seed: int, k: int) -> dict[str, Any]:
    """Member ``k``'s variables (SI, rounded as a clinic writes them), ``sex`` and the
    number of draws it took."""
    dists = spec.distributions()
    names, corr = spec.correlation_matrix()
    chol = np.linalg.cholesky(corr)
    margins = {v: marginal(d) for v, d in dists.items()}
    rng = np.random.default_rng([seed, k, 1])
    for draw in range(1, MAX_DRAWS + 1):  # noqa: B007 (the count is returned)
        z = chol @ rng.standard_normal(len(names))
        p = stats.norm.cdf(z)
        values = {v: _rounded(v, float(margins[v].ppf(p[i]))) for i, v in enumerate(names)}
        sex_u = rng.random()
        if values["systolic_pressure"] - values["diastolic_pressure"] >= MIN_PULSE_PRESSURE \
                - 1e-9:
            break
    else:  # pragma: no cover - the spec check excludes disjoint pressure ranges
        raise ValueError(f"member {k}: no draw with diastolic below systolic in {MAX_DRAWS}")
    sex = None
    if spec.population.sex is not None:
        sex = "female" if sex_u < spec.population.sex.female else "male"
    return {"values": values, "sex": sex, "draws": draw}
