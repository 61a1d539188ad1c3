"""Result of a verification benchmark: ``verification/land2015.json`` (stage ``land2015``)."""

from __future__ import annotations

from typing import Literal

from twinflow.artifacts import Artifact


class Land2015Result(Artifact):
    """Land et al. 2015 problem 1, 2 or 3 solved by twinflow's mechanics solver.

    Positions are the deformed ``z`` of the beam tip (problem 1) or of the endo- and
    epicardial apex (problems 2, 3), in m; the reference values and their source are
    recorded beside them (twinflow.verification.land2015.REFERENCE).
    """

    problem: Literal[1, 2, 3]
    refinement: int
    cells: int
    dofs: int
    ranks: int
    load_steps: int
    newton_iterations: list[int]
    seconds_per_solve: list[float]
    setup_s: float
    solve_s: float
    formulation: str
    fibres: str | None
    apex_grading: float | None
    quadrature_degree: int
    simplifications: list[str]
    tip_z_m: float | None = None
    endo_apex_z_m: float | None = None
    epi_apex_z_m: float | None = None
    cavity_volume_m3: float | None = None
    reference_cavity_volume_m3: float | None = None
    reference_m: dict[str, float]
    """Reference position per output name (``tip_z_m``, ``endo_apex_z_m``, ...)."""
    reference_source: str
    relative_errors: dict[str, float]
    relative_error: float
    """Error of the headline position (tip, or endocardial apex)."""
    tolerance: float
    within_tolerance: bool
