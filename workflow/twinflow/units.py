"""Physical quantities in case files: pint at the boundary, SI floats inside.

A case file writes every physical quantity as a string with its unit (``"120 mmHg"``,
``"3.5 mPa*s"``, ``"80 mg/day"``, ``"8 month"``). :func:`quantity_type` builds an annotated
``float`` field type that parses such a string with pint, checks its dimension and stores the
value in SI base units. Canonical files (``case.json``) hold those SI floats; they are read back
with the validation context ``{"canonical": True}``, where a bare number means "already SI".

Why pint: it knows the clinical units (mmHg, mL, bpm is added here) and the dimension algebra;
hand-written unit tables would drift. The registry is created once (it is slow to build).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Annotated, Any

import pint
from pydantic import BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError


@functools.cache
def registry() -> pint.UnitRegistry:
    """The one unit registry of twinflow (pint defaults plus a few clinical aliases)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    if "bpm" not in ureg:  # recent pint releases define it already
        ureg.define("beats_per_minute = 1 / minute = bpm")
    return ureg


_NAME = r"[A-Za-z_%\u00b0\u00b5\u03bc\u03a9][A-Za-z0-9_\u00b0\u00b5\u03bc\u03a9]*"
_FACTOR = rf"{_NAME}(?:\s*(?:\*\*|\^)\s*[+-]?[1-4])?"
_TERM = (rf"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{{1,3}})?"
         rf"(?:\s*/?\s*{_FACTOR}(?:\s*[*/]\s*{_FACTOR}|\s+{_FACTOR})*)?\s*")
#: What a quantity may look like: a decimal number (optional exponent of at most 3 digits),
#: then optionally a unit expression of names joined by ``*``, ``/`` or spaces, each with an
#: optional small integer power (``kg/m**3``, ``mmHg*s/mL``, ``/day``); up to four such terms
#: may be added (a combination drug's dose, ``97 mg + 103 mg``). Nothing else reaches pint,
#: whose parser would evaluate arithmetic (``10**10**10 Pa`` hung the tool).
QUANTITY = re.compile(rf"{_TERM}(?:\+{_TERM}){{0,3}}")
#: Longest quantity text read.
MAX_QUANTITY_CHARS = 80


def parse_quantity(text: str) -> pint.Quantity:
    """Parse ``text`` (e.g. ``"120 mmHg"``) into a pint quantity; raise ``ValueError``. Only
    text of the :data:`QUANTITY` grammar is given to pint."""
    ureg = registry()
    if len(text) > MAX_QUANTITY_CHARS or not QUANTITY.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"cannot read {shown!r} as a quantity: write a number and a unit, "
                         "e.g. '120 mmHg' or '1050 kg/m**3'")
    try:
        q = ureg.Quantity(text)
    except pint.UndefinedUnitError as err:
        names = ", ".join(f"'{n}'" for n in err.unit_names)
        raise ValueError(f"unknown unit {names} in {text!r}"[:200]) from None
    except Exception:  # pint raises many parser errors (tokenize, syntax, DefinitionSyntax)
        raise ValueError(f"cannot read {text!r} as a quantity (write e.g. '120 mmHg')") from None
    if not isinstance(q, pint.Quantity):  # a pure number such as "3"
        q = ureg.Quantity(float(q), "")
    return q


def to_si(value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to SI base units (helper for defaults and literature data)."""
    return float(registry().Quantity(value, unit).to_base_units().magnitude)


def format_quantity(value_si: float, unit: str, digits: int = 4) -> str:
    """Format an SI value in a display unit, e.g. ``format_quantity(16000, "mmHg")``."""
    ureg = registry()
    base = ureg.Quantity(1, unit).to_base_units().units
    q = ureg.Quantity(value_si, base).to(unit)
    return f"{q.magnitude:.{digits}g} {unit}"


def _describe(dimension_name: str, example: str) -> str:
    return f"{dimension_name} with its unit, e.g. '{example}'"


def quantity_type(
    dimension: str,
    name: str,
    example: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    require_unit: bool = False,
) -> Any:
    """An annotated float type for a physical quantity.

    ``dimension`` is a pint dimensionality expression (``"[mass] / [length] / [time] ** 2"``),
    ``name`` is what the error message calls it ("a pressure"), ``example`` a valid value.
    Bounds are checked in SI units.
    """
    ureg = registry()
    target = ureg.get_dimensionality(dimension) if dimension else ureg.Quantity(1).dimensionality

    def _check_bounds(x: float, shown: str) -> float:
        if not math.isfinite(x):
            raise PydanticCustomError("quantity_finite", "{name} must be finite, got {got}",
                                      {"name": name, "got": shown})
        if gt is not None and not x > gt:
            raise PydanticCustomError("quantity_bound", "expected {name} > {b}, got {got}",
                                      {"name": name, "b": _bound(gt), "got": shown})
        if ge is not None and not x >= ge:
            raise PydanticCustomError("quantity_bound", "expected {name} >= {b}, got {got}",
                                      {"name": name, "b": _bound(ge), "got": shown})
        if le is not None and not x <= le:
            raise PydanticCustomError("quantity_bound", "expected {name} <= {b}, got {got}",
                                      {"name": name, "b": _bound(le), "got": shown})
        return x + 0.0  # -0.0 -> 0.0: "-0 Pa" and "0 Pa" give the same canonical bytes

    def _bound(b: float) -> str:
        base = ureg.Quantity(1, "").units if not dimension else None
        if base is not None:
            return f"{b:g}"
        # show the bound in SI base units
        q = ureg.Quantity(b, _si_units(target))
        return f"{q:~g}"

    def validate(value: Any, info: ValidationInfo) -> float:
        canonical = bool(info.context and info.context.get("canonical"))
        if isinstance(value, bool):
            raise PydanticCustomError("quantity_type", "expected {name}, got a boolean",
                                      {"name": name})
        if isinstance(value, int | float):
            if canonical or not (dimension or require_unit):
                return _check_bounds(float(value), f"{value}")
            raise PydanticCustomError(
                "quantity_unit",
                "expected {name} with a unit (e.g. '{example}'), got the bare number {got}",
                {"name": name, "example": example, "got": value},
            )
        if not isinstance(value, str):
            raise PydanticCustomError(
                "quantity_type", "expected {name} as a string like '{example}', got {kind}",
                {"name": name, "example": example, "kind": type(value).__name__},
            )
        try:
            q = parse_quantity(value)
        except ValueError as err:
            raise PydanticCustomError("quantity_parse", "{msg}", {"msg": str(err)}) from None
        if q.dimensionality != target:
            if q.dimensionless and dimension:  # "120" as a string
                raise PydanticCustomError(
                    "quantity_unit",
                    "expected {name} with a unit (e.g. '{example}'), got '{got}'",
                    {"name": name, "example": example, "got": value},
                )
            raise PydanticCustomError("quantity_dimension", "expected {name}, got {got}",
                                      {"name": name, "got": value})
        if require_unit and q.unitless:
            raise PydanticCustomError(
                "quantity_unit",
                "expected {name} with a unit (e.g. '{example}'), got '{got}'",
                {"name": name, "example": example, "got": value},
            )
        # 12 significant digits: equal quantities written differently ("1 umol/L",
        # "0.001 mmol/L") give the same SI float, so canonical files are byte-identical.
        magnitude = float(f"{float(q.to_base_units().magnitude):.12g}")
        return _check_bounds(magnitude, value)

    schema = {
        "description": _describe(name, example),
        "examples": [example],
    }
    if dimension or require_unit:
        schema |= {"type": "string", "pattern": r"^\s*[-+0-9.eE]+\s*\S.*$"}
    else:
        schema |= {"anyOf": [{"type": "number"}, {"type": "string"}]}
    return Annotated[
        float,
        BeforeValidator(validate),
        PlainSerializer(lambda x: float(x), return_type=float),
        WithJsonSchema(schema),
    ]


def _si_units(dimensionality: Any) -> pint.Unit:
    ureg = registry()
    base = {"[length]": "m", "[mass]": "kg", "[time]": "s", "[substance]": "mol",
            "[temperature]": "K", "[current]": "A", "[luminosity]": "cd"}
    unit = ureg.Unit("")
    for dim, power in dimensionality.items():
        unit = unit * ureg.Unit(base[dim]) ** power
    return unit


# The quantity types used by the case schema. Dimensions are pint dimensionalities.
Length = quantity_type("[length]", "a length", "5 mm", gt=0)
NonNegativeLength = quantity_type("[length]", "a length", "5 mm", ge=0)
TimePoint = quantity_type("[time]", "a time", "0.5 s", ge=0)
Area = quantity_type("[length] ** 2", "an area", "1.9 m**2", gt=0)
Volume = quantity_type("[length] ** 3", "a volume", "120 mL", gt=0)
Duration = quantity_type("[time]", "a duration", "0.9 s", gt=0)
NonNegativeDuration = quantity_type("[time]", "a duration", "0.4 s", ge=0)
Age = quantity_type("[time]", "an age", "63 year", ge=0, le=4.7e9)  # <= 150 years
Mass = quantity_type("[mass]", "a mass", "80 kg", gt=0)
Density = quantity_type("[mass] / [length] ** 3", "a density", "1050 kg/m**3", gt=0)
Viscosity = quantity_type("[mass] / [length] / [time]", "a dynamic viscosity", "3.5 mPa*s",
                          gt=0)
Pressure = quantity_type("[mass] / [length] / [time] ** 2", "a pressure", "120 mmHg")
PositivePressure = quantity_type("[mass] / [length] / [time] ** 2", "a pressure", "2 kPa",
                                 gt=0)
Stiffness = PositivePressure  # material moduli are pressures
FlowRate = quantity_type("[length] ** 3 / [time]", "a flow rate", "6 mL/s")
Frequency = quantity_type("1 / [time]", "a frequency", "75 bpm", gt=0)
DoseRate = quantity_type("[mass] / [time]", "a dose rate", "80 mg/day", gt=0)
Dose = quantity_type("[mass]", "a dose", "97 mg", gt=0)
Elastance = quantity_type("[mass] / [length] ** 4 / [time] ** 2", "an elastance",
                          "2.5 mmHg/mL", gt=0)
Resistance = quantity_type("[mass] / [length] ** 4 / [time]", "a hydraulic resistance",
                           "1.1 mmHg*s/mL", gt=0)
Compliance = quantity_type("[length] ** 4 * [time] ** 2 / [mass]", "a compliance",
                           "1.4 mL/mmHg", gt=0)
SpringStiffness = quantity_type("[mass] / [length] ** 2 / [time] ** 2",
                                "a spring stiffness per area", "0.5 kPa/mm", ge=0)
MassConcentration = quantity_type("[mass] / [length] ** 3", "a mass concentration",
                                  "1.2 mg/L", gt=0)
Concentration = quantity_type("[substance] / [length] ** 3", "a concentration", "1 umol/L",
                              ge=0)
AreaDensity = quantity_type("[mass] / [length] ** 2", "a mass per area", "115 g/m**2", gt=0)
Angle = quantity_type("", "an angle", "60 deg", require_unit=True)  # pint: rad is dimensionless
Fraction = quantity_type("", "a fraction", "0.5", ge=0, le=1)
Dimensionless = quantity_type("", "a number", "8")
PositiveNumber = quantity_type("", "a positive number", "8", gt=0)
