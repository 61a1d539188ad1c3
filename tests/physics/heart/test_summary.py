"""The typed summary.json: the report's LV rows are top-level fields, SI, strict."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel, ValidationError

from twinflow.artifacts.cycle import CycleSummary, InflationSummary, PressureVolumeMetrics


def test_the_report_reads_its_lv_rows_from_the_top_level():
    """Every headline row of the LV report reads a top-level field (the last beat's)."""
    from twinflow.report.case_report import LV_RESULT_ROWS

    fields = set(CycleSummary.model_fields)
    for label, get, _unit in LV_RESULT_ROWS:
        probe = type("Probe", (), {name: name for name in fields})()
        assert get(probe) in fields, label
    assert set(PressureVolumeMetrics.model_fields) <= fields


def _float_fields(model: type, prefix: str = "") -> list[str]:
    """Dotted names of the float fields (and float lists) of a model and of the models nested
    in it; dicts are left out (their keys carry the unit: ``circulation_parameters``), and so
    are the values of a model with a ``unit`` field (it states their unit: the targets and
    fitted parameters of ``personalisation``)."""
    out = []
    for name, f in model.model_fields.items():
        if "unit" in model.model_fields and name != "unit":
            continue
        kinds = [f.annotation, *typing.get_args(f.annotation)]
        nested = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        if nested:
            out += _float_fields(nested[0], f"{prefix}{name}.")
        elif f.annotation in (float, list[float]):
            out.append(prefix + name)
    return out


def test_every_dimensional_field_names_its_si_unit():
    """Units convention: a float field ends with its SI unit unless it is dimensionless."""
    dimensionless = {"ejection_fraction", "periodicity_error", "periodicity_tolerance",
                     "periodicity_0d", "mean_per_step", "newton_iterations_mean",
                     "jacobian_factorisations_per_step", "value_si", "length_dependence",
                     "passive_scale", "unloading_volume_error"}
    names = _float_fields(CycleSummary) + _float_fields(InflationSummary)
    assert "initialisation.refit_after_first_beat.restart_volume_m3" in names  # nested, optional
    assert "beats.stroke_work_j" in names  # in a list
    for name in names:
        if name.rpartition(".")[2] not in dimensionless:
            assert name.endswith(("_m3", "_pa", "_j", "_s", "_hz", "_pa_per_m3")), name


def test_unknown_or_old_keys_are_refused(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text('{"study": "inflation", "EDV_mL": 120}')
    from twinflow.errors import InputError

    with pytest.raises(InputError, match="not a valid InflationSummary"):
        InflationSummary.read(path)
    with pytest.raises(ValidationError):
        PressureVolumeMetrics(edv_m3=1, esv_m3=1, stroke_volume_m3=0, ejection_fraction=0,
                              peak_systolic_pressure_pa=1, end_diastolic_pressure_pa=1,
                              min_pressure_pa=1, peak_aortic_pressure_pa=1,
                              min_aortic_pressure_pa=1, stroke_work_j=0, EF=0.5)
