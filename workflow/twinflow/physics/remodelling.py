"""Scenario remodelling of the LV geometry: wall thickness scaled at a fixed cavity.

The drug stage gives a factor for ``geometry.wall_thickness`` (Thürmann et al. 1998,
Circulation 98:2037: LV mass index -17 % after 8 months of valsartan; see
:mod:`twinflow.drugs.effects`). For the truncated-ellipsoid LV the endocardial radii (the
cavity) are kept and the epicardial radii move so that each wall thickness
``epi - endo`` is multiplied by the factor. Pure geometry, no dolfinx.
"""

from __future__ import annotations

from typing import Any

from twinflow.errors import InputError

#: (endo, epi) key pairs: case ``geometry.measurements`` names and ``measurements.json``
#: ``ellipsoid`` names.
_PAIRS = (("endo_short_radius", "epi_short_radius"), ("endo_long_radius", "epi_long_radius"),
          ("r_short_endo_m", "r_short_epi_m"), ("r_long_endo_m", "r_long_epi_m"))


def remodelled_measurements(measurements: dict[str, Any], factor: float) -> dict[str, Any]:
    """A copy of ``measurements`` with every wall thickness multiplied by ``factor``.

    ``epi' = endo + factor * (epi - endo)`` for the short and long radii; other keys
    (base height, volumes) are copied unchanged, except that a ``wall_thickness*`` entry is
    scaled too. Raises InputError for a non-positive factor or no radius pair.
    """
    if not factor > 0:
        raise InputError(f"remodelling: wall-thickness factor must be > 0 (got {factor})")
    out = dict(measurements)
    found = False
    for endo, epi in _PAIRS:
        if endo in measurements and epi in measurements:
            found = True
            e, o = float(measurements[endo]), float(measurements[epi])
            out[epi] = e + factor * (o - e)
    if not found:
        raise InputError("remodelling: measurements lack endo/epi radii")
    for key, value in measurements.items():
        if key.startswith("wall_thickness") and isinstance(value, (int, float)):
            out[key] = float(value) * factor
    return out
