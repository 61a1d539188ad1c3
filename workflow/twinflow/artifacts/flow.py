"""``<scenario>/summary.json`` of the carotid flow solve (:mod:`twinflow.physics.flow`).

Written by :func:`twinflow.physics.flow.loop.solve_flow` through :class:`FlowSummary`; read
by the report and by anyone comparing runs. Statistics are over the last simulated period
(the analysed cycle); ``dict`` keys that are numbers are facet tags of the openings
(:mod:`twinflow.geometry.tags`: inlet 1, ICA/tube outlet 2, ECA outlet 3). SI units; the
suffix of a field names the unit (``_pa``, ``_m``, ``_m2``, ``_m3_s``, ``_s``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from twinflow.artifacts import Artifact


class _Part(BaseModel):
    """A nested part of the summary: unknown fields are errors, as in :class:`Artifact`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class InflowWaveform(_Part):
    """The inflow waveform used, as Fourier coefficients (round trip of the settings)."""

    source: str
    """Where the waveform came from (e.g. the Holdsworth 1999 spline, a table, the case)."""
    type: Literal["fourier"]
    period: float
    """Period T (s)."""
    mean: float
    """Mean flow a_0 (m^3/s)."""
    cos: list[float]
    """a_k of Q(t) = a_0 + sum_k a_k cos(k w t) + b_k sin(k w t) (m^3/s)."""
    sin: list[float]
    """b_k (m^3/s)."""


class Opening(_Part):
    """Geometry of a planar opening (inlet or outlet) as measured on the mesh."""

    area_m2: float
    centroid_m: list[float]
    normal: list[float]
    """Unit normal, pointing out of the fluid."""
    radius_m: float
    """Radius of the circle of the same area."""


class MeshInfo(_Part):
    cells: int
    geometry_degree: int
    velocity_dofs: int
    pressure_dofs: int
    wall_area_m2: float
    openings: dict[str, Opening]
    """By facet tag."""


class TimeInfo(_Part):
    time_step_s: float
    period_s: float
    cycles: int
    steps: int
    """Steps run (fewer than cycles x steps per period with ``max_steps``)."""
    analysed_from_s: float
    """Start of the analysed (last) period."""
    analysed_to_s: float


class WallStatistics(_Part):
    """Statistics of a wall field: the area-weighted mean, and min, max and percentiles of
    the P1 wall-node values (not area weighted)."""

    mean: float
    min: float
    max: float
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float


class CcaSegment(_Part):
    """TAWSS over the wall of the CCA segment next to the inlet."""

    mean: float | None
    """Area-weighted mean TAWSS (Pa); none when the segment has no wall."""
    wall_area_m2: float
    diameters: float
    """Length of the segment in inlet diameters."""
    definition: str


class MeanPeak(_Part):
    mean: float
    peak: float


class MeanMax(_Part):
    mean: float
    max: float


class MeanMaxMin(_Part):
    mean: float
    max: float
    min: float


class Timing(_Part):
    ranks: int
    """MPI ranks."""
    setup_s: float
    time_loop_s: float
    steps: int
    seconds_per_step: float
    mean_iterations_step1: float
    """Krylov iterations of the tentative-velocity step per time step (with the outlet
    responses)."""
    mean_iterations_step3: float
    step1_preconditioner: str


class CellNumbersMax(_Part):
    courant: float
    """Max cell Courant number |u| dt / h."""
    peclet: float
    """Max cell Peclet number |u| h / (2 nu)."""
    definition: str


class Outputs(_Part):
    """Files of the run, relative to the summary's folder."""

    series: str
    probes: str | None
    fields: list[str]
    renders: list[str]


OutletModelName = Literal["PressureOutlet", "ResistanceOutlet", "WindkesselOutlet",
                          "FlowSplitOutlet"]


class FlowSummary(Artifact):
    """Summary of a carotid flow solve: hemodynamic indices, flows, pressures, run facts."""

    simplifications: list[str]
    """Modelling simplifications of the run."""
    scheme: str
    """Numerical scheme, in words."""
    settings: dict[str, JsonValue]
    """The solver settings as given (:mod:`twinflow.physics.flow.settings`)."""
    inflow_waveform: InflowWaveform
    mesh: MeshInfo
    time: TimeInfo
    tawss_pa: WallStatistics
    """Time-averaged wall shear stress (Pa)."""
    osi: WallStatistics
    """Oscillatory shear index (-)."""
    rrt_per_pa: WallStatistics
    """Relative residence time (1/Pa)."""
    tawss_cca_segment_pa: CcaSegment
    low_tawss_area_fraction: float
    """Fraction of the wall area with TAWSS below ``low_tawss_threshold_pa``."""
    reynolds_inlet: MeanPeak
    """Inlet Reynolds number 4 rho Q / (pi mu D) of the mean and peak flow."""
    womersley_inlet: float
    """Womersley number R sqrt(omega rho / mu) of the inlet."""
    pressure_drop_cca_ica_pa: MeanMax | None
    """Inlet minus ICA outlet pressure; none without an ICA outlet (tag 2)."""
    outlet_models: dict[str, OutletModelName]
    low_tawss_threshold_pa: float
    wss_mean_magnitude_pa: MeanMax
    """Area-averaged WSS magnitude over time."""
    inlet_flow_m3_s: MeanMaxMin
    outlet_flow_m3_s: dict[str, float]
    """Mean flow out of each outlet."""
    flow_split: dict[str, float | None]
    """Mean outlet flow / mean inflow; none when the mean inflow is zero."""
    pressure_drop_pa: dict[str, MeanMax]
    """Inlet minus outlet pressure, by outlet."""
    mass_balance_relative: float
    """max |Q_in - sum Q_out| / max |Q_in| over the analysed period."""
    timing: Timing
    cell_numbers_max: CellNumbersMax
    outputs: Outputs
