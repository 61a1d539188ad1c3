"""Files of a heart run: ``series.csv``, ``fields.xdmf``, ``pv_loop.png`` and ``summary.json``.

``series.csv`` has one row per time step (or load step) with the unit in every column name
(the 0D model's mmHg and mL, as the clinical P-V loop is read); ``summary.json`` is the typed
:mod:`twinflow.artifacts.cycle` model in SI units. Rank 0 writes the tables and the plot;
every rank takes part in the XDMF output.
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import dolfinx

from twinflow.artifacts import Artifact
from twinflow.io import atomic_path, write_text_atomic
from twinflow.physics.heart.circulation import ML, MMHG

#: Columns of the cycle's ``series.csv``.
SERIES_COLUMNS = ("t_s", "beat", "p_LV_mmHg", "V_LV_mL", "V_LV_0D_mL", "p_AR_SYS_mmHg",
                  "p_LA_mmHg", "Q_MV_mL_per_s", "Q_AV_mL_per_s", "calcium_uM", "Ta_kPa",
                  "newton_iterations")
#: Columns of the inflation study's ``series.csv``.
LOAD_STEP_COLUMNS = ("phase", "p_LV_mmHg", "V_LV_mL", "Ta_kPa", "newton_iterations")


@dataclass
class StepRecord:
    """One row of the cycle's ``series.csv`` (units as :data:`SERIES_COLUMNS`)."""

    t: float
    beat: int
    p_lv: float  # mmHg
    v_lv: float  # mL (3D)
    v_lv_0d: float  # mL
    p_ar_sys: float  # mmHg
    p_la: float  # mmHg
    q_mv: float  # mL/s
    q_av: float  # mL/s
    calcium_um: float
    ta_kpa: float
    newton_iterations: int

    def cells(self) -> list[str | int]:
        """The formatted row of ``series.csv``."""
        r = self
        return [f"{r.t:.6f}", r.beat, f"{r.p_lv:.8g}", f"{r.v_lv:.8g}", f"{r.v_lv_0d:.8g}",
                f"{r.p_ar_sys:.8g}", f"{r.p_la:.8g}", f"{r.q_mv:.8g}", f"{r.q_av:.8g}",
                f"{r.calcium_um:.6g}", f"{r.ta_kpa:.6g}", r.newton_iterations]


@dataclass
class LoadStepRecord:
    """One row of the inflation study's ``series.csv`` (SI; written as
    :data:`LOAD_STEP_COLUMNS`)."""

    phase: str
    p_lv: float  # Pa
    v_lv: float  # m^3
    ta: float  # Pa
    newton_iterations: int

    def cells(self) -> list[str | int]:
        """The formatted row of ``series.csv``."""
        return [self.phase, f"{self.p_lv / MMHG:.8g}", f"{self.v_lv / ML:.8g}",
                f"{self.ta / 1e3:.6g}", self.newton_iterations]


def table_text(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    """CSV text (``\\n`` line ends) of a header and rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


class FieldWriter:
    """Displacement (P1) and fibre Cauchy stress (DG0, Pa) to XDMF every ``every`` steps."""

    def __init__(self, model: Any, path: Path, every: int) -> None:
        self.model, self.every = model, max(int(every), 0)
        mesh = model.mesh
        self.V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (3,)))
        self.u1 = dolfinx.fem.Function(self.V1, name="displacement")
        expr, V0 = model.stress_expr
        self.expr = expr
        self.sff = dolfinx.fem.Function(V0, name="fibre_stress")
        self.xdmf = None
        if self.every:
            self.xdmf = dolfinx.io.XDMFFile(mesh.comm, str(path), "w")
            self.xdmf.write_mesh(mesh)
            # the LDRB fibres at the nodes (P1, unit there), for ParaView's glyphs
            self.xdmf.write_function(model.fibres.f0, 0.0)

    def write(self, step: int, t: float) -> None:
        if not self.xdmf or step % self.every:
            return
        self.u1.interpolate(self.model.problem.displacement())
        self.sff.interpolate(self.expr)
        self.xdmf.write_function(self.u1, t)
        self.xdmf.write_function(self.sff, t)

    def close(self) -> None:
        if self.xdmf:
            self.xdmf.close()


def plot_pv(path: Path, rows: list[StepRecord], scenario: str) -> None:
    """P-V loops of every beat, the last one bold (mL, mmHg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    beats = sorted({r.beat for r in rows})
    for b in beats:
        sel = [r for r in rows if r.beat == b]
        ax.plot([r.v_lv for r in sel], [r.p_lv for r in sel],
                lw=2 if b == beats[-1] else 0.8, alpha=1 if b == beats[-1] else 0.4,
                label=f"beat {b + 1}")
    ax.set_xlabel("LV volume (mL)")
    ax.set_ylabel("LV pressure (mmHg)")
    ax.set_title(f"P-V loop, scenario {scenario}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def write_results(out_dir: Path, series: str, summary: Artifact, comm: Any,
                  rows: list[StepRecord] | None = None, scenario: str = "") -> Path:
    """``series.csv`` (text), the P-V plot of ``rows`` (when given) and ``summary.json``,
    written by rank 0; returns the summary's path on every rank."""
    path = out_dir / "summary.json"
    if comm.rank == 0:
        write_text_atomic(out_dir / "series.csv", series)
        if rows is not None:
            plot_pv(out_dir / "pv_loop.png", rows, scenario)
        summary.write(path)
    comm.barrier()
    return path

