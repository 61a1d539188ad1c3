"""The inflation study (``physics.study: inflation``): the 3D LV without the circulation.

A quasi-static ramp of the cavity pressure to the end-diastolic pressure in
:data:`LOAD_STEPS` steps (the passive P-V curve), then an isovolumic activation ramp to the
peak tension of the case's activation at that volume (the isovolumic peak pressure). Outputs
as the cycle's: ``series.csv`` (one row per load step), ``fields.xdmf`` (final state),
``summary.json`` (:class:`~twinflow.artifacts.cycle.InflationSummary`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from twinflow.artifacts.cycle import InflationSummary, NewtonTotals
from twinflow.artifacts.drugs import DrugEffects
from twinflow.logs import Progress
from twinflow.physics.heart.circulation import MMHG
from twinflow.physics.heart.loading import ramp, volume_target
from twinflow.physics.heart.model import build_lv
from twinflow.physics.heart.outputs import (
    LOAD_STEP_COLUMNS,
    FieldWriter,
    LoadStepRecord,
    table_text,
    write_results,
)
from twinflow.physics.heart.settings import (
    CycleSettings,
    activation_from_case,
    end_diastolic_pressure,
)
from twinflow.physics.heart.summary import simplifications

log = logging.getLogger(__name__)

#: Load steps of each ramp (passive, then active).
LOAD_STEPS = 8


def run_inflation(mesh_xdmf: Path, case: dict[str, Any], scenario_id: str,
                  effects: DrugEffects, out_dir: Path, st: CycleSettings,
                  comm: Any) -> Path:
    """Pressure ramp to the EDP, then an isovolumic activation ramp to peak tension;
    returns out_dir/summary.json."""
    t_start = time.perf_counter()
    activation = activation_from_case(case)
    model = build_lv(mesh_xdmf, case, comm, st.solver.degree)
    edp = end_diastolic_pressure(case)
    n = LOAD_STEPS
    rows = [LoadStepRecord("passive", 0.0, model.reference_volume, 0.0, 0)]
    with Progress(2 * n, "inflation", "load step", log) as bar:
        for k in range(1, n + 1):
            model.pressure.value = edp * k / n
            its = model.newton.solve(None)
            rows.append(LoadStepRecord("passive", float(model.pressure.value),
                                       model.newton.volume(), 0.0, its))
            bar.update(1, f"passive, p_LV {rows[-1].p_lv / MMHG:.1f} mmHg")
        v_ed = rows[-1].v_lv
        peak = activation.timing().peak_tension
        for k in range(1, n + 1):
            its = ramp(model, model.Ta, peak * k / n, volume_target(v_ed), steps=1)
            rows.append(LoadStepRecord("isovolumic-activation", float(model.pressure.value),
                                       v_ed, float(model.Ta.value), its))
            bar.update(1, f"isovolumic, p_LV {rows[-1].p_lv / MMHG:.1f} mmHg")
    writer = FieldWriter(model, out_dir / "fields.xdmf", 1)
    writer.write(0, 1.0)
    writer.close()
    result = InflationSummary(
        scenario=scenario_id, ranks=comm.size, cells=model.cells,
        unloaded_cavity_volume_m3=model.reference_volume, end_diastolic_pressure_pa=edp,
        edv_m3=v_ed, peak_tension_pa=peak, isovolumic_peak_pressure_pa=rows[-1].p_lv,
        newton_iterations=NewtonTotals(
            total=int(sum(r.newton_iterations for r in rows)),
            mean_per_step=float(np.mean([r.newton_iterations for r in rows[1:]]))),
        wall_time_s=time.perf_counter() - t_start, drug_factors=effects.factors,
        simplifications=simplifications(effects))
    return write_results(out_dir, table_text(LOAD_STEP_COLUMNS, [r.cells() for r in rows]),
                         result, comm)
