r"""Inflow waveforms: a periodic flow rate as a Fourier series.

A waveform is :math:`Q(t) = a_0 + \sum_{k=1}^{N} [a_k\cos(k\omega t) + b_k\sin(k\omega t)]`,
:math:`\omega = 2\pi/T`, stored as complex harmonics :math:`\hat Q_0 = a_0`,
:math:`\hat Q_k = a_k - i b_k` so that :math:`Q(t) = \mathrm{Re}\sum_k \hat Q_k e^{ik\omega t}`
(the form :class:`twinflow.physics.flow.womersley.WomersleyFlow` and the inlet profile use).

Sources of a waveform (``settings["inflow"]``, SI units):

- ``{"type": "holdsworth1999"}`` (default): the common carotid artery waveform of normal
  subjects of Holdsworth et al. 1999 (Physiol Meas 20:219, doi:10.1088/0967-3334/20/3/301):
  period 0.917 s, mean flow 6.0 ml/s, peak systolic flow 23.5 ml/s (their reported mean
  waveform: mean 6.0 ml/s, peak 23.5 ml/s; reference-data.md: mean ≈ 6 ml/s, peak
  ≈ 23–25 ml/s, T ≈ 0.92 s). **Simplification**: the shape is a periodic cubic spline through
  the timings of the waveform's landmark features (end diastole, early-systolic acceleration,
  systolic peak, late-systolic shoulder, dicrotic notch) of Holdsworth 1999, rescaled linearly to
  the published mean and peak flow, then truncated to :data:`HOLDSWORTH_HARMONICS` harmonics;
  it is not the paper's full tabulated waveform (pass that as a table when available).
- ``{"type": "fourier", "period": T, "mean": a0, "cos": [a1..aN], "sin": [b1..bN]}``.
- ``{"type": "table", "time": [...], "flow": [...], "harmonics": N}``: samples over one
  period (the first time is the start of the period, the period is ``settings["period"]`` or
  the table span); the periodic cubic spline through them is sampled and transformed (FFT).
- ``{"type": "steady", "flow": Q}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline

from twinflow.errors import InputError

#: Holdsworth et al. 1999: mean period (interbeat interval) of the normal CCA waveform (s).
HOLDSWORTH_PERIOD_S: float = 0.917
#: Holdsworth et al. 1999: cycle-averaged CCA flow (ml/s), as m^3/s.
HOLDSWORTH_MEAN_FLOW: float = 6.0e-6
#: Holdsworth et al. 1999: peak systolic CCA flow (ml/s), as m^3/s.
HOLDSWORTH_PEAK_FLOW: float = 23.5e-6
#: Landmark times (s) of the mean CCA waveform in Holdsworth et al. 1999 (their feature table)
#: and the relative height of the waveform there (end-diastolic value = 25.9, systolic peak
#: = 108.2, in the units of their mean-velocity waveform; only ratios are used here).
HOLDSWORTH_FEATURES: tuple[tuple[float, float], ...] = (
    (0.000, 25.9), (0.055, 20.9), (0.110, 47.7), (0.116, 64.6), (0.153, 108.2),
    (0.219, 64.6), (0.398, 19.4),
)
#: Harmonics kept for the default waveform (the 12th harmonic is ~4 % of the mean flow; a
#: case that needs more passes a table or its own coefficients).
HOLDSWORTH_HARMONICS: int = 12


@dataclass(slots=True)
class FlowWaveform:
    """A periodic flow rate Q(t) (m^3/s) as complex Fourier harmonics (see module docstring)."""

    period: float
    harmonics: npt.NDArray[np.complex128]
    source: str

    @property
    def omega(self) -> float:
        return 2.0 * math.pi / self.period

    def __call__(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        k = np.arange(len(self.harmonics))
        phase = np.exp(1j * self.omega * np.multiply.outer(np.asarray(t, float), k))
        return np.real(phase @ self.harmonics)

    @property
    def mean(self) -> float:
        return float(self.harmonics[0].real)

    def coefficients(self) -> dict[str, Any]:
        """The waveform as ``{"type": "fourier", ...}`` settings (round trip)."""
        return {"type": "fourier", "period": self.period, "mean": self.mean,
                "cos": [float(q.real) for q in self.harmonics[1:]],
                "sin": [float(-q.imag) for q in self.harmonics[1:]]}

    def scaled(self, factor: float) -> FlowWaveform:
        return FlowWaveform(self.period, self.harmonics * factor, f"{factor:g} x {self.source}")


def _from_samples(times: npt.NDArray[np.float64], values: npt.NDArray[np.float64],
                  period: float, n_harmonics: int, source: str) -> FlowWaveform:
    """Periodic cubic spline through samples, sampled on 1024 points, FFT, truncated."""
    t = np.append(times - times[0], period)
    q = np.append(values, values[0])
    spline = CubicSpline(t, q, bc_type="periodic")
    n = 1024
    samples = spline(np.arange(n) * period / n)
    spectrum = np.fft.rfft(samples) / n
    harmonics = np.zeros(n_harmonics + 1, dtype=np.complex128)
    harmonics[0] = spectrum[0].real
    harmonics[1:] = 2.0 * spectrum[1:n_harmonics + 1]
    return FlowWaveform(period, harmonics, source)


def holdsworth_cca(mean_flow: float = HOLDSWORTH_MEAN_FLOW,
                   peak_flow: float = HOLDSWORTH_PEAK_FLOW,
                   period: float = HOLDSWORTH_PERIOD_S,
                   n_harmonics: int = HOLDSWORTH_HARMONICS) -> FlowWaveform:
    """Default CCA waveform after Holdsworth et al. 1999 (see module docstring)."""
    times = np.array([f[0] for f in HOLDSWORTH_FEATURES]) * period / HOLDSWORTH_PERIOD_S
    shape = _from_samples(times, np.array([f[1] for f in HOLDSWORTH_FEATURES]), period,
                          n_harmonics, "shape")
    fine = shape(np.linspace(0.0, period, 2048, endpoint=False))
    scale = (peak_flow - mean_flow) / (fine.max() - shape.mean)
    harmonics = shape.harmonics * scale
    harmonics[0] = mean_flow
    return FlowWaveform(period, harmonics,
                        "Holdsworth et al. 1999 CCA waveform (landmark spline, scaled)")


def waveform_from_settings(spec: dict[str, Any] | None, period: float | None,
                           where: str = "settings") -> FlowWaveform:
    """Build the inflow waveform from ``settings["inflow"]`` (see module docstring)."""
    spec = {"type": "holdsworth1999"} if spec is None else spec
    kind = spec.get("type", "fourier")
    try:
        if kind == "holdsworth1999":
            return holdsworth_cca(period=period or HOLDSWORTH_PERIOD_S,
                                  mean_flow=float(spec.get("mean", HOLDSWORTH_MEAN_FLOW)),
                                  peak_flow=float(spec.get("peak", HOLDSWORTH_PEAK_FLOW)))
        if kind == "steady":
            return FlowWaveform(float(period or 1.0),
                                np.array([float(spec["flow"])], dtype=np.complex128), "steady")
        if kind == "fourier":
            cos = np.asarray(spec.get("cos", []), float)
            sin = np.asarray(spec.get("sin", []), float)
            if cos.shape != sin.shape:
                raise InputError(f"{where}: inflow.cos and inflow.sin differ in length")
            harmonics = np.concatenate([[float(spec["mean"])], cos - 1j * sin])
            return FlowWaveform(float(spec.get("period", period)), harmonics.astype(complex),
                                "Fourier coefficients from the case")
        if kind == "table":
            t = np.asarray(spec["time"], float)
            q = np.asarray(spec["flow"], float)
            if t.ndim != 1 or t.shape != q.shape or len(t) < 4 or np.any(np.diff(t) <= 0):
                raise InputError(f"{where}: inflow table needs >= 4 increasing times "
                                 "and as many flows")
            tper = float(period) if period else float(t[-1] - t[0])
            if t[-1] - t[0] >= tper:  # the last sample closes the period
                t, q = t[:-1], q[:-1]
            return _from_samples(t, q, tper, int(spec.get("harmonics", 20)),
                                 "table from the case")
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{where}: inflow of type {kind!r}: {err!r}") from None
    raise InputError(f"{where}: unknown inflow type {kind!r} "
                     "(holdsworth1999, fourier, table, steady)")
