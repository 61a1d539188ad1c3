"""The coupled time step divides the beat: a heart rate of 71 bpm (a cohort member's) with a
10 ms step gives 85 steps of 9.94 ms; 75 bpm and 5 ms stay as written."""

from __future__ import annotations

import pytest

from twinflow.physics.heart.settings import CycleSettings, beat_time_step


def test_time_step_divides_the_beat() -> None:
    assert beat_time_step(0.8, 0.005) == pytest.approx(0.005, rel=1e-15)
    beat = 60.0 / 71.0
    step = beat_time_step(beat, 0.01)
    assert round(beat / step) == 85 and 85 * step == pytest.approx(beat, rel=1e-14)
    case = {"simulation": {"time_step": 0.01, "cycles": 6},
            "physics": {"circulation": {"heart_rate": 71 / 60}}}
    st = CycleSettings.from_case(case)
    assert st.time_step == pytest.approx(beat / 85, rel=1e-14) and st.max_beats == 6
    assert CycleSettings.from_case({"simulation": {"time_step": 0.004}}).time_step == 0.004
