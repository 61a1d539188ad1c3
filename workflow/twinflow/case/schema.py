"""JSON Schemas generated from the pydantic models (the one source of truth).

``schemas/case.schema.json`` lets editors complete and check case files (each case starts
with ``# yaml-language-server: $schema=...``); ``schemas/config.schema.json`` covers the
workflow configuration, ``schemas/drug.schema.json`` the drug-library entries
(:mod:`twinflow.drugs.model`), ``schemas/cohort.schema.json`` virtual-cohort specs
(:mod:`twinflow.cohort.spec`); one schema per typed stage artifact (:mod:`twinflow.artifacts`)
documents the files that cross stage boundaries. ``twinflow schema --check`` fails when the
files are stale.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from twinflow.artifacts.cohort import CohortManifest, CohortSummary
from twinflow.artifacts.comparison import ArmComparison
from twinflow.artifacts.cycle import CycleSummary, InflationSummary
from twinflow.artifacts.drugs import DrugEffects
from twinflow.artifacts.flow import FlowSummary
from twinflow.artifacts.geometry import CarotidMeasurements, LVMeasurements
from twinflow.artifacts.images import ImagesManifest, MasksManifest
from twinflow.artifacts.mesh import CarotidMeshQuality, LVMeshInfo, MeshQuality
from twinflow.artifacts.personalisation import Personalisation
from twinflow.artifacts.provenance import StepRecord
from twinflow.artifacts.verification import Land2015Result
from twinflow.case.models import Case
from twinflow.cohort.spec import CohortSpec
from twinflow.config import WorkflowConfig
from twinflow.drugs.model import DrugEntry
from twinflow.io import canonical_json, write_text_atomic

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"

#: (file stem, model, what the file is) of every typed stage artifact.
ARTIFACTS: list[tuple[str, type[BaseModel], str]] = [
    ("images-manifest", ImagesManifest, "images/manifest.json (ingest)"),
    ("masks-manifest", MasksManifest, "masks/manifest.json (segment)"),
    ("carotid-measurements", CarotidMeasurements,
     "geometry/measurements.json (reconstruct_carotid)"),
    ("lv-measurements", LVMeasurements, "geometry/measurements.json (reconstruct_lv)"),
    ("drug-effects", DrugEffects, "<scenario>/drug_effects.json (drug_effects)"),
    ("arm-comparison", ArmComparison, "comparison/comparison.json (compare_arms)"),
    ("mesh-quality", MeshQuality, "mesh/mesh_quality.json (mesh_tube)"),
    ("carotid-mesh-quality", CarotidMeshQuality, "mesh/mesh_quality.json (mesh_carotid)"),
    ("lv-mesh-info", LVMeshInfo, "<scenario>/mesh/mesh.json (mesh_lv)"),
    ("flow-summary", FlowSummary, "<scenario>/summary.json (simulate_flow)"),
    ("personalisation", Personalisation,
     "personalisation/personalisation.json (personalise_lv)"),
    ("cycle-summary", CycleSummary, "<scenario>/summary.json (simulate_heart, cycle)"),
    ("inflation-summary", InflationSummary,
     "<scenario>/summary.json (simulate_heart, inflation)"),
    ("land2015-result", Land2015Result, "verification/land2015.json (land2015)"),
    ("step-record", StepRecord, "provenance/steps/<step>.json (any recorded step)"),
    ("cohort-manifest", CohortManifest, "<cohort folder>/cohort.json (twinflow cohort generate)"),
    ("cohort-summary", CohortSummary, "results/<cohort>/summary.json (collect_cohort)"),
]


def schemas() -> dict[str, str]:
    """File name -> canonical JSON text of every generated schema."""
    out = {}
    models: list[tuple[str, type[BaseModel], str]] = [
        ("case.schema.json", Case, "twinflow case"),
        ("config.schema.json", WorkflowConfig, "twinflow workflow configuration"),
        ("drug.schema.json", DrugEntry, "twinflow drug-library entry"),
        ("cohort.schema.json", CohortSpec, "twinflow virtual-cohort spec"),
    ]
    models += [(f"artifacts/{name}.schema.json", model, f"twinflow artifact: {title}")
               for name, model, title in ARTIFACTS]
    for name, model, title in models:
        schema = model.model_json_schema(mode="validation")
        schema = {"$schema": SCHEMA_URI, **schema, "title": title}
        out[name] = canonical_json(schema)
    return out


def write_schemas(folder: Path) -> list[Path]:
    return [write_text_atomic(folder / name, text) for name, text in schemas().items()]


def stale_schemas(folder: Path) -> list[str]:
    """Names of schema files in ``folder`` that are missing or differ from the models."""
    stale = []
    for name, text in schemas().items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
