r"""The closed-loop 0D circulation (Regazzoni et al. 2020) with the LV supplied from outside.

Uses :class:`circulation.regazzoni2020.Regazzoni2020` (package ``circulation``; units mmHg,
mL, s) for the equations: four chambers, valves as smooth diodes
(:math:`R(\Delta p)` between ``Rmin`` and ``Rmax``), systemic and pulmonary arterial/venous
RLC compartments. Here its LV pressure law is replaced by a pressure prescribed per time step
(the 3D LV's cavity pressure): :meth:`Circulation0D.advance` integrates all 12 states over one
step with :math:`p_{LV}` held at the end-of-step value, by ``substeps`` forward-Euler
sub-steps (the package's own ``forward_euler`` update, :math:`y \leftarrow y + h\,f(t, y)`).
The end-of-step LV volume :math:`V_{LV}^{n+1}(p_{LV})` is the target of the 3D volume
constraint, which makes the 3D--0D coupling implicit in :math:`p_{LV}`.

Parameters: the package defaults (Regazzoni et al. 2020, arXiv:2011.15040), then the case's
overrides (``physics.circulation.parameters``, flat names as in
:func:`circulation.regazzoni2020.flat_ode_parameters`, e.g. ``R_AR_SYS: "0.8 mmHg*s/mL"``),
then the drug factors of the scenario (by flat name,
:attr:`twinflow.artifacts.drugs.DrugEffects.circulation`), then the heart rate of the case.

Blood volume: the loop is closed, so its total volume
:math:`V_{tot} = \sum_{chambers} V + \sum_{vessels} C\,p` (mL; Regazzoni compartments have no
unstressed volume outside the chambers) is set by the initial state alone. The package's
initial state holds :data:`DEFAULT_TOTAL_VOLUME_ML` with the default compliances. The extra
override name ``V_TOT`` (e.g. ``V_TOT: "1450 mL"``) sets it; :func:`initial_state` realises it
by shifting the initial systemic venous pressure, :math:`\Delta p_{VEN,SYS} =
(V_{tot} - V_{tot}^{IC})/C_{VEN,SYS}`. Without the override the default total is kept, also
when a drug factor changes a compliance (venodilation redistributes, it does not add blood).

Outputs give the parameters in SI by their flat names (:func:`si_parameters`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinflow.errors import InputError

MMHG = 133.322387415  # Pa per mmHg (conventional millimetre of mercury)
ML = 1.0e-6  # m^3 per mL

_CHAMBERS = ("LA", "LV", "RA", "RV")
_CHAMBER_KEYS = ("EA", "EB", "TC", "TR", "tC", "V0")
_VALVES = ("MV", "AV", "TV", "PV")
_VESSEL_KEYS = ("R_AR", "C_AR", "R_VEN", "C_VEN", "L_AR", "L_VEN")
#: Extra override name: total volume of the closed loop (mL), see the module docstring.
TOTAL_VOLUME = "V_TOT"


def parameter_path(name: str) -> tuple[str, ...]:
    """Nested location of a flat Regazzoni parameter name (``R_AR_SYS`` -> circulation/SYS/R_AR)."""
    if name == "HR":
        return ("HR",)
    head, _, tail = name.rpartition("_")
    if tail in _CHAMBERS and head in _CHAMBER_KEYS:
        return ("chambers", tail, head)
    if tail in _VALVES and head in ("Rmin", "Rmax"):
        return ("valves", tail, head)
    if tail in ("SYS", "PUL") and head in _VESSEL_KEYS:
        return ("circulation", tail, head)
    raise KeyError(name)


def _get(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for k in path[:-1]:
        tree = tree[k]
    return tree[path[-1]]


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for k in path[:-1]:
        tree = tree[k]
    tree[path[-1]] = value


def regazzoni_parameters(heart_rate_hz: float, overrides: dict[str, str],
                         factors: dict[str, float], where: str = "case") -> dict[str, Any]:
    """Nested parameters without units (mmHg, mL, s) for :class:`Regazzoni2020`.

    ``factors``: multiplicative drug factors by flat parameter name (``R_AR_SYS``).
    """
    from circulation import units
    from circulation.base import remove_units
    from circulation.regazzoni2020 import Regazzoni2020

    params = Regazzoni2020.default_parameters()
    params["HR"] = heart_rate_hz * units.ureg("Hz")
    total = DEFAULT_TOTAL_VOLUME_ML
    for name, text in overrides.items():
        if name == TOTAL_VOLUME:
            try:
                total = float(units.ureg.Quantity(str(text)).to("mL").magnitude)
            except Exception as err:  # pint errors: bad unit or dimension
                raise InputError(f"{where}: circulation parameter {name}: {err}") from None
            if not total > 0:
                raise InputError(f"{where}: circulation parameter {name} must be positive")
            continue
        try:
            path = parameter_path(name)
        except KeyError:
            raise InputError(f"{where}: unknown circulation parameter '{name}'") from None
        default = _get(params, path)
        try:
            q = units.ureg.Quantity(str(text))
            _set(params, path, q.to(default.units))
        except Exception as err:  # pint errors: bad unit or dimension
            raise InputError(f"{where}: circulation parameter {name}: {err}") from None
    for name, f in factors.items():
        if name == TOTAL_VOLUME:  # a drug's change of the circulating volume
            total *= f
            continue
        try:
            path = parameter_path(name)
        except KeyError:
            raise InputError(f"{where}: drug factor for unknown parameter '{name}'") from None
        _set(params, path, _get(params, path) * f)
    out = remove_units(params)
    out["initial"] = {TOTAL_VOLUME: total}
    return out


#: SI suffix and factor from the package's units (mmHg, mL, s) per parameter kind.
_SI_UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("EA", "EB"), ("pa_per_m3", MMHG / ML)),
    **dict.fromkeys(("Rmin", "Rmax", "R_AR", "R_VEN"), ("pa_s_per_m3", MMHG / ML)),
    **dict.fromkeys(("C_AR", "C_VEN"), ("m3_per_pa", ML / MMHG)),
    **dict.fromkeys(("L_AR", "L_VEN"), ("pa_s2_per_m3", MMHG / ML)),
    **dict.fromkeys(("V0", TOTAL_VOLUME), ("m3", ML)),
    **dict.fromkeys(("tC", "TC", "TR", "start_infusion", "end_infusion", "start_withdrawal",
                     "end_withdrawal"), ("s", 1.0)),
    **dict.fromkeys(("flow_infusion", "flow_withdrawal"), ("m3_per_s", ML)),
    "HR": ("hz", 1.0),
}


def si_parameters(parameters: dict[str, Any]) -> dict[str, float]:
    """The nested parameters (package units) flat and in SI: ``R_AR_SYS`` in mmHg s/mL
    becomes ``R_AR_SYS_pa_s_per_m3`` in Pa s/m^3, ``V0_LV`` ``V0_LV_m3``, ``HR`` ``HR_hz``."""
    out: dict[str, float] = {}

    def add(name: str, kind: str, value: float) -> None:
        suffix, factor = _SI_UNITS[kind]
        out[f"{name}_{suffix}"] = float(value) * factor

    add("HR", "HR", parameters["HR"])
    add(TOTAL_VOLUME, TOTAL_VOLUME, parameters["initial"][TOTAL_VOLUME])
    for group in ("chambers", "valves", "circulation"):
        for where, values in parameters[group].items():
            for key, value in values.items():
                add(key if where == "external" else f"{key}_{where}", key, value)
    return out


def total_volume(parameters: dict[str, Any], y: np.ndarray) -> float:
    """Total volume of the loop in state ``y`` (mL): chambers plus C p of the vessels."""
    c = parameters["circulation"]
    return float(y[0] + y[1] + y[2] + y[3] + c["SYS"]["C_AR"] * y[4] + c["SYS"]["C_VEN"] * y[5]
                 + c["PUL"]["C_AR"] * y[6] + c["PUL"]["C_VEN"] * y[7])


def _default_state() -> np.ndarray:
    from circulation.base import remove_units
    from circulation.regazzoni2020 import Regazzoni2020

    return np.array(list(remove_units(Regazzoni2020.default_initial_conditions()).values()),
                    dtype=float)


def _default_total() -> float:
    from circulation.base import remove_units
    from circulation.regazzoni2020 import Regazzoni2020

    return total_volume(remove_units(Regazzoni2020.default_parameters()), _default_state())


#: Total loop volume of the package's initial state with its default parameters (mL).
DEFAULT_TOTAL_VOLUME_ML = _default_total()


def initial_state(parameters: dict[str, Any]) -> np.ndarray:
    """Package initial state with the loop volume set to ``parameters['initial']['V_TOT']``."""
    y = _default_state()
    target = float(parameters.get("initial", {}).get(TOTAL_VOLUME, DEFAULT_TOTAL_VOLUME_ML))
    y[5] += (target - total_volume(parameters, y)) / parameters["circulation"]["SYS"]["C_VEN"]
    return y


@dataclass
class Circulation0D:
    """Regazzoni 2020 closed loop whose LV pressure is set from outside (mmHg, mL, s)."""

    parameters: dict[str, Any]
    substeps: int = 4
    state: np.ndarray = field(init=False)
    p_lv_mmhg: float = 0.0

    def __post_init__(self) -> None:
        from circulation.regazzoni2020 import Regazzoni2020

        self.model = _quiet_model(Regazzoni2020, self.parameters,
                                  p_LV=lambda V, t: self.p_lv_mmhg)
        self.state = initial_state(self.parameters)
        self.names = Regazzoni2020.state_names()

    @property
    def rr(self) -> float:
        return 1.0 / float(self.parameters["HR"])

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        return np.array(self.model.rhs(t, y), dtype=float)

    def advance(self, t: float, dt: float, p_lv_mmhg: float,
                y: np.ndarray | None = None) -> np.ndarray:
        """State after one step ``t -> t + dt`` with the LV pressure held at ``p_lv_mmhg``."""
        self.p_lv_mmhg = p_lv_mmhg
        yk = np.array(self.state if y is None else y, dtype=float)
        h = dt / self.substeps
        for k in range(self.substeps):
            yk = yk + h * self.rhs(t + k * h, yk)
        return yk

    def variables(self, t: float, y: np.ndarray, p_lv_mmhg: float) -> dict[str, float]:
        """Pressures and valve flows of a state (mmHg, mL/s)."""
        self.p_lv_mmhg = p_lv_mmhg
        var = np.array(self.model.update_static_variables(t, y), dtype=float)
        names = self.model.var_names()
        out = {n: float(v) for n, v in zip(names, var, strict=True)}
        out.update({n: float(v) for n, v in zip(self.names, y, strict=True)})
        return out


def _quiet_model(cls: Any, parameters: dict[str, Any], **kwargs: Any) -> Any:
    """Instantiate a ``circulation`` model without its file dumps and rich logging."""
    import logging
    import tempfile
    from pathlib import Path

    logging.getLogger("circulation").setLevel(logging.WARNING)
    params = {k: copy.deepcopy(v) for k, v in parameters.items() if k != "initial"}
    with tempfile.TemporaryDirectory() as tmp:
        model = cls(parameters=params, outdir=Path(tmp), **kwargs)
    logging.getLogger("circulation").setLevel(logging.WARNING)
    return model


def periodic_0d_state(parameters: dict[str, Any], dt: float = 5e-4, max_beats: int = 60,
                      tol: float = 1e-4, y_start: np.ndarray | None = None,
                      p_lv: Any = None) -> tuple[np.ndarray, int, float]:
    """Run the full 0D model (LV by its time-varying elastance) to a periodic state.

    Returns (state at the start of the last beat, beats run, relative change of the state
    over the last beat, max-norm scaled per component). Forward Euler with ``dt`` as in the
    package's ``solve(method="forward_euler")``. ``y_start``: state at the start of a beat to
    begin from (default :func:`initial_state`; its total volume is kept either way).
    ``p_lv(V, t)``: LV pressure law (mmHg) replacing the elastance of ``parameters``.
    """
    from circulation.regazzoni2020 import Regazzoni2020

    model = (_quiet_model(Regazzoni2020, parameters) if p_lv is None
             else _quiet_model(Regazzoni2020, parameters, p_LV=p_lv))
    y = initial_state(parameters) if y_start is None else np.array(y_start, dtype=float)
    rr = 1.0 / float(parameters["HR"])
    n = int(round(rr / dt))
    err = np.inf
    for beat in range(1, max_beats + 1):
        y0 = y.copy()
        for i in range(n):
            y = y + dt * np.array(model.rhs(i * dt, y), dtype=float)
        err = float(np.max(np.abs(y - y0) / np.maximum(np.abs(y0), 1.0)))
        if err < tol:
            return y, beat, err
    return y, max_beats, err
