"""Artifacts of a virtual cohort: ``cohort.json`` (the generated members, written by
``twinflow cohort generate``) and ``results/<cohort>/summary.json`` (stage
``collect_cohort``). Values in display units where the key says so (``_ml``, ``_mmhg`` ...),
as the cohort table is read by people and statistics packages."""

from __future__ import annotations

from twinflow.artifacts import Artifact


class Member(Artifact):
    """One generated patient."""

    id: str
    """Case id (the case file's name): ``<cohort>-<k>``."""
    index: int
    case: str
    """Its case file, relative to the cohort folder."""
    images: str
    """Its synthetic images' folder, relative to the cohort folder."""
    variables: dict[str, float]
    """Sampled patient variables in display units (VARIABLES of twinflow.cohort.spec)."""
    units: dict[str, str]
    sex: str | None
    draws: int
    """Draws of the copula until the pressures were ordered (1: the first)."""
    truth: dict[str, float]
    """The synthetic LV's true values: edv_ml, esv_ml, ejection_fraction, wall_thickness_mm."""


class CohortManifest(Artifact):
    """``<cohort folder>/cohort.json``: what ``twinflow cohort generate`` made."""

    cohort: str
    description: str
    spec: str
    """The spec file as given to generate."""
    spec_sha256: str
    template: str
    seed: int
    n: int
    arms: list[str]
    baseline: str
    """The arm without a drug and duration."""
    members: list[Member]


class Statistic(Artifact):
    """Mean, SD and the 95 % confidence interval of the mean (Student t) of one output."""

    n: int
    mean: float | None
    sd: float | None
    ci95_low: float | None
    ci95_high: float | None


class PairedDifference(Statistic):
    """Arm minus baseline of the same members (paired), with the trial's direction."""

    trial_direction: str | None
    agrees: bool | None
    """Whether the mean difference has the trial's direction (None without one)."""
    significant: bool | None
    """Whether the 95 % CI excludes 0."""


class ArmSummary(Artifact):
    arm: str
    drug: str | None
    completed: int
    """Members whose arm ran (the statistics' n)."""
    outputs: dict[str, Statistic]
    differences: dict[str, PairedDifference]
    """Against the baseline arm (empty for the baseline itself)."""


class Failure(Artifact):
    member: str
    arm: str
    step: str
    """The first step of the arm's chain that did not finish (or ``personalise_lv`` for an
    uncalibrated baseline)."""
    reason: str
    log: str | None


class CohortSummary(Artifact):
    """``results/<cohort>/summary.json``."""

    cohort: str
    members: int
    arms: list[ArmSummary]
    units: dict[str, str]
    """Display unit of each output."""
    failures: list[Failure]
    """Every member x arm without results, with why; never dropped silently."""
    notes: list[str]
