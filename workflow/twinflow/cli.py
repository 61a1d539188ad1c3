"""The ``twinflow`` command line: the one parser of the project.

Two kinds of sub-commands:

* for people: ``validate``, ``schema``, ``canonical``, ``run``, ``status``, ``synth``, ``train``,
  ``quantize``, ``segment-image`` (``train`` and ``quantize`` print their result as JSON on
  stdout; everything else goes to the log on stderr);
* one per workflow stage, named like its Snakemake rule and its function
  (:mod:`twinflow.stages`): ``ingest``, ``segment``, ``reconstruct-carotid``,
  ``mesh-carotid``, ``mesh-tube``, ``simulate-flow``, ``reconstruct-lv``, ``drug-effects``,
  ``mesh-lv``, ``personalise-lv``, ``simulate-heart``, ``land2015``, ``report``. Each takes
  its settings file
  (``results/<id>/settings/...``), its input artifacts and its output files explicitly.

Handlers import their stage module lazily, so ``twinflow validate`` never pays for
TensorFlow or DOLFINx. Every command logs through :func:`twinflow.logs.setup_logging`; a
:class:`~twinflow.errors.TwinflowError` (a user's mistake) becomes one line per message on
stderr and exit status 2; anything else is a bug and keeps its traceback. The MPI solves run
as ``mpiexec -n N python -m twinflow simulate-flow ...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twinflow import __version__
from twinflow.errors import InputError, TwinflowError
from twinflow.logs import mpi_rank, setup_logging

log = logging.getLogger("twinflow")

Handler = Callable[[argparse.Namespace], Any]


# --------------------------------------------------------------------------- case files


def _validate(args: argparse.Namespace) -> int:
    from twinflow.case.load import load_case
    from twinflow.errors import CaseError

    failed = 0
    for path in args.files:
        try:
            load_case(path)
        except CaseError as err:
            failed += 1
            for line in err.lines:
                print(line, file=sys.stderr)
        else:
            if not args.quiet:
                print(f"{path}: ok")
    return 2 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    from twinflow.case.schema import stale_schemas, write_schemas

    folder = Path(args.out)
    if args.check:
        stale = stale_schemas(folder)
        if stale:
            raise TwinflowError(*(f"{folder / n}: stale or missing; run 'twinflow schema'"
                                  for n in stale))
        print(f"{folder}: up to date")
        return 0
    for path in write_schemas(folder):
        print(path)
    return 0


def _canonical(args: argparse.Namespace) -> None:
    from twinflow.case.load import write_canonical

    write_canonical(args.case, args.output)


# --------------------------------------------------------------------------- workflow


def _run(args: argparse.Namespace) -> int:
    from twinflow.workflow import run_workflow, unlock

    if args.unlock:
        return unlock(args.cases)
    return run_workflow(args.cases, cores=args.cores, dry_run=args.dry_run,
                        profile=args.profile, keep_going=args.keep_going,
                        snakemake_args=args.snakemake_args)


def _cohort_generate(args: argparse.Namespace) -> None:
    from twinflow.cohort.generate import generate

    path = generate(args.spec, args.n, args.seed, args.out)
    log.info("written %s; run it with: twinflow run %s", path, path.parent)


def _collect_cohort(args: argparse.Namespace) -> None:
    from twinflow.cohort.collect import collect_cohort

    collect_cohort(args.manifest, args.results, args.out)


def _status(args: argparse.Namespace) -> int:
    from twinflow.status import status

    return status(args.cases, as_json=args.json)


# --------------------------------------------------------------------------- imaging


def _synth(args: argparse.Namespace) -> None:
    from twinflow.imaging.synth.dataset import write_case, write_dataset

    if args.patients < 1:
        raise InputError(f"synth: --patients must be >= 1 (got {args.patients})")
    layout = args.layout or ("case" if args.patients == 1 else "dataset")
    out = args.out or Path("results") / "synth" / args.anatomy
    if layout == "case":
        if args.patients != 1:
            raise InputError("synth: --layout case writes one patient; use --patients 1")
        path = write_case(args.anatomy, args.seed, out)
    else:
        path = write_dataset(args.anatomy, args.patients, args.seed, out,
                             window=tuple(args.window), volumes=not args.no_volumes,
                             figure=args.figure)
    log.info("written %s", path)


def _ingest(args: argparse.Namespace) -> None:
    from twinflow.imaging.ingest import ingest

    ingest(args.settings, args.out, images=args.images)


# --------------------------------------------------------------------------- segmentation


def _thresholds(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise InputError(f"--thresholds: expected comma-separated numbers, got {text!r}") \
            from None


def _train(args: argparse.Namespace) -> None:
    from twinflow.segmentation.augment import Augmentation
    from twinflow.segmentation.train import TrainSettings, train

    settings = TrainSettings(
        preset=args.preset, input_size=args.input_size, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, patience=args.patience,
        seed=args.seed, steps_per_epoch=args.steps_per_epoch,
        augmentation=Augmentation(vertical_flip=args.vertical_flip))
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    result = train(args.data, args.out, settings, save_keras=args.save_keras)
    print(json.dumps({"model": str(result.model_path), "epochs_run": result.epochs_run,
                      "seconds": round(result.seconds, 1),
                      "parity_max_abs_diff": result.parity_max_abs_diff,
                      "test_f1_dice": {c: round(m["f1_dice"], 4)
                                       for c, m in result.test_metrics.items()}}, indent=1))


def _quantize(args: argparse.Namespace) -> None:
    from twinflow.segmentation.quantize import QuantizeSettings, quantize_model

    settings = QuantizeSettings(calibration_images=args.calibration_images,
                                per_channel=not args.per_tensor,
                                reduce_range=not args.full_range,
                                evaluate=not args.no_evaluate)
    result = quantize_model(args.model, args.data, args.out, settings)

    def dice(metrics: dict[str, dict[str, float]] | None) -> dict[str, float] | None:
        return None if metrics is None else {c: round(m["f1_dice"], 4)
                                             for c, m in metrics.items()}

    print(json.dumps({"model": str(result.model_path),
                      "calibration_images": result.quantization["calibration_images"],
                      "dataset_is_training_data":
                          result.quantization["dataset_is_training_data"],
                      "test_f1_dice_int8": dice(result.test_metrics),
                      "test_f1_dice_fp32": dice(result.fp32_test_metrics)}, indent=1))


def _segment(args: argparse.Namespace) -> None:
    from twinflow.segmentation.infer import segment

    segment(args.settings, args.images, args.model, args.out, _thresholds(args.thresholds),
            args.batch_size, args.threads)


def _segment_image(args: argparse.Namespace) -> None:
    from twinflow.segmentation.infer import segment_image

    log.info("written %s", segment_image(args.model, args.image, args.mask,
                                         _thresholds(args.thresholds)))


# --------------------------------------------------------------------------- geometry


def _reconstruct_carotid(args: argparse.Namespace) -> None:
    from twinflow.geometry.carotid.reconstruct import reconstruct_carotid

    reconstruct_carotid(args.settings, args.images, args.masks, args.measurements, args.model,
                        args.lumen, args.wall)


def _mesh_carotid(args: argparse.Namespace) -> None:
    from twinflow.geometry.carotid.mesh import mesh_carotid

    mesh_carotid(args.settings, args.model, args.mesh, args.wall_mesh, args.quality,
                 radius_factor=args.radius_factor)


def _mesh_tube(args: argparse.Namespace) -> None:
    from twinflow.geometry.tube import mesh_tube

    mesh_tube(args.settings, args.mesh, args.quality)


def _reconstruct_lv(args: argparse.Namespace) -> None:
    from twinflow.geometry.lv.reconstruct import reconstruct_lv

    reconstruct_lv(args.settings, args.images, args.masks, args.measurements)


def _drug_effects(args: argparse.Namespace) -> None:
    from twinflow.drugs.effects import drug_effects

    drug_effects(args.settings, args.out, drug=args.drug)


def _mesh_lv(args: argparse.Namespace) -> None:
    from twinflow.geometry.lv.mesh import mesh_lv

    mesh_lv(args.settings, args.measurements, args.drug_effects, args.mesh, args.info,
            cell_size=args.cell_size)


# --------------------------------------------------------------------------- physics


def _simulate_flow(args: argparse.Namespace) -> None:
    from twinflow.physics.flow.simulate import simulate_flow

    simulate_flow(args.settings, args.mesh, args.summary, mesh_quality=args.mesh_quality,
                  solver_settings=args.solver_settings)


def _personalise_lv(args: argparse.Namespace) -> None:
    from twinflow.physics.heart.personalise import personalise_lv

    personalise_lv(args.settings, args.mesh, args.measurements, args.personalisation)


def _simulate_heart(args: argparse.Namespace) -> None:
    from twinflow.physics.heart.cycle import simulate_heart

    simulate_heart(args.settings, args.mesh, args.drug_effects, args.summary,
                   personalisation=args.personalisation,
                   time_step=args.time_step,
                   beats=args.beats, max_steps=args.max_steps, output_every=args.output_every,
                   exact_newton=args.exact_newton, extrapolate=args.extrapolate,
                   lag_border=not args.no_lag_border)


def _land2015(args: argparse.Namespace) -> None:
    from twinflow.verification.land2015 import land2015

    land2015(args.settings, args.out, problem=args.problem, refinement=args.refinement,
             apex_grading=args.apex_grading, steps=args.steps)


# --------------------------------------------------------------------------- report


def _compare_arms(args: argparse.Namespace) -> None:
    from twinflow.report.compare import compare_arms

    compare_arms(args.settings, args.summaries, args.drug_effects, args.meshes, args.out)


def _report(args: argparse.Namespace) -> None:
    from twinflow.report.case_report import report

    report(args.settings, args.out, measurements=args.measurements,
           mesh_quality=args.mesh_quality, summaries=args.summaries,
           comparison=args.comparison)


# --------------------------------------------------------------------------- provenance


def _provenance(args: argparse.Namespace) -> None:
    from twinflow.provenance.crate import provenance

    provenance(args.case_dir, args.out, args.workflow, records=args.records)


def _replay(args: argparse.Namespace) -> int:
    from twinflow.provenance.replay import replay

    return replay(args.case_dir, only=args.only, scratch=args.scratch, sources=args.sources,
                  keep=args.keep)


# --------------------------------------------------------------------------- parser


def _stage(sub: argparse._SubParsersAction, name: str, handler: Handler, help: str,
           settings: bool = True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help)
    if settings:
        p.add_argument("--settings", type=Path, required=True,
                       help=f"results/<case>/settings/[<scenario>/]{name.replace('-', '_')}"
                            ".json (written by the workflow from the case)")
    p.set_defaults(func=handler)
    return p


def _files(p: argparse.ArgumentParser, required: bool = True, **files: str) -> None:
    """File options of a stage (``mesh_quality="..."`` -> ``--mesh-quality PATH``)."""
    for name, help in files.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=Path, required=required,
                       default=None, help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinflow",
        description="Patient-specific cardiovascular simulation from one YAML case file.")
    parser.add_argument("--version", action="version", version=f"twinflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--record", type=Path, default=None, metavar="PATH",
                        help="write the step record of this stage run (provenance; the "
                             "workflow's rules pass it)")
    parser.add_argument("--record-io", default=None, metavar="JSON",
                        help="the files the rule declares, for --record")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("validate", help="validate case files (FILE:LINE:COL: key: message)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=_validate)

    p = sub.add_parser("schema", help="write schemas/*.schema.json from the pydantic models")
    p.add_argument("--out", default="schemas", help="folder (default: schemas)")
    p.add_argument("--check", action="store_true", help="fail if the files are stale")
    p.set_defaults(func=_schema)

    p = _stage(sub, "canonical", _canonical, "validate a case and write its canonical SI JSON "
               "(the first step of every case)", settings=False)
    p.add_argument("case")
    p.add_argument("-o", "--output", required=True)

    p = sub.add_parser("run", help="run the workflow for cases (default: the demo cases)")
    p.add_argument("cases", nargs="*", metavar="CASE",
                   help="case files or glob patterns (default: config/config.default.yaml)")
    p.add_argument("--cores", "-c", type=int, default=os.cpu_count() or 1)
    p.add_argument("--dry-run", "-n", action="store_true", help="print the job graph only")
    p.add_argument("--profile", default=None,
                   help="workflow profile: a name under profiles/ (default, slurm) or a "
                        "folder (default: profiles/default)")
    p.add_argument("--keep-going", "-k", action="store_true",
                   help="go on with independent jobs when one fails")
    p.add_argument("--unlock", action="store_true",
                   help="only remove the lock a killed run left (snakemake --unlock); "
                        "refused while a run is live in the project")
    p.add_argument("--snakemake-args", default="",
                   help="more snakemake options or target files, one string "
                        "(e.g. 'results/lv-demo/case.json --forceall')")
    p.set_defaults(func=_run)

    p = sub.add_parser("cohort", help="virtual cohorts (docs/cohorts.md)")
    cohort = p.add_subparsers(dest="cohort_command", metavar="ACTION", required=True)
    p = cohort.add_parser(
        "generate", help="sample a cohort spec into N member cases with synthetic images",
        description="Sample N patients from a cohort spec (schemas/cohort.schema.json) into "
                    "case files and synthetic images in the cohort folder; run them with "
                    "'twinflow run <cohort folder>'.")
    p.add_argument("spec", type=Path, metavar="SPEC.yaml")
    p.add_argument("--n", type=int, required=True, help="number of members")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", type=Path, default=None,
                   help="cohort folder (default: cohorts/<cohort id>)")
    p.set_defaults(func=_cohort_generate)
    p = sub.add_parser("collect-cohort", help="the cohort table and summary (workflow step)")
    p.add_argument("--manifest", type=Path, required=True, help="<cohort folder>/cohort.json")
    p.add_argument("--results", type=Path, required=True, help="the results folder")
    p.add_argument("--out", type=Path, required=True, help="results/<cohort>/cohort.parquet")
    p.set_defaults(func=_collect_cohort)

    p = sub.add_parser("status", help="state of every step of some cases: done, outdated (why), "
                       "running, failed (log), missing")
    p.add_argument("cases", nargs="*", metavar="CASE",
                   help="case files or glob patterns (default: config/config.default.yaml)")
    p.add_argument("--json", action="store_true", help="one JSON list of steps instead")
    p.set_defaults(func=_status)

    p = sub.add_parser(
        "synth", help="synthetic patients with ground truth (data set or demo case)",
        description="Write synthetic carotid or left-ventricle patients: a segmentation data "
                    "set (manifest.json, images, masks, truth, surfaces; split 8:1:1) or, "
                    "with --layout case (default for one patient), a demo case input folder.")
    p.add_argument("anatomy", choices=("carotid", "lv"))
    p.add_argument("--patients", type=int, default=40, help="number of patients (40)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", type=Path, default=None, help="output folder (results/synth/<anatomy>)")
    p.add_argument("--layout", choices=("dataset", "case"), default=None,
                   help="dataset (default for > 1 patient) or case (default for 1)")
    p.add_argument("--window", type=int, nargs=2, default=(512, 512), metavar=("ROWS", "COLS"),
                   help="static window in pixels (512 512)")
    p.add_argument("--figure", type=Path, default=None,
                   help="also draw a figure of sample images (PNG)")
    p.add_argument("--no-volumes", action="store_true", help="LV: skip the CT-like 3D volumes")
    p.set_defaults(func=_synth)

    from twinflow.segmentation.presets import PRESETS

    p = sub.add_parser(
        "train", help="train a U-Net on a twinflow synth data set and export it to ONNX",
        description="Train, evaluate (test split) and export a segmentation U-Net.")
    p.add_argument("data", type=Path, help="data set folder with manifest.json")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--input-size", type=int, default=None,
                   help="square input side in pixels (default: the preset's)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--steps-per-epoch", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=8, help="early-stopping patience (epochs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vertical-flip", action="store_true",
                   help="also flip vertically (off: the transducer is at the top)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: TensorFlow's)")
    p.add_argument("--save-keras", action="store_true", help="also write model.keras")
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "quantize", help="optional int8 (QDQ) copy of an ONNX model for faster CPU inference",
        description="Static int8 quantization (ONNX Runtime, QDQ) calibrated on training "
                    "images; the float32 model stays the reference. Evaluates both on the "
                    "test split unless --no-evaluate.")
    p.add_argument("model", type=Path, help="float32 model.onnx from twinflow train")
    p.add_argument("--data", type=Path, required=True,
                   help="the model's training data set folder (manifest.json)")
    p.add_argument("--out", type=Path, required=True, help="output .onnx file")
    p.add_argument("--calibration-images", type=int, default=32,
                   help="training images used for calibration (default 32)")
    p.add_argument("--per-tensor", action="store_true",
                   help="one weight scale per tensor (default: per output channel)")
    p.add_argument("--full-range", action="store_true",
                   help="8-bit weights (default 7-bit: no saturation on CPUs without VNNI)")
    p.add_argument("--no-evaluate", action="store_true",
                   help="skip the fp32/int8 test-split evaluation")
    p.set_defaults(func=_quantize)

    p = sub.add_parser("segment-image", help="segment one image file with an ONNX model")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("image", type=Path)
    p.add_argument("mask", type=Path)
    p.add_argument("--thresholds", help="comma-separated, one per class (default: model's)")
    p.set_defaults(func=_segment_image)

    # ------------------------------------------------------------------ workflow stages
    p = _stage(sub, "ingest", _ingest, "read, de-identify and pre-process a case's images")
    _files(p, out="images/manifest.json (NIfTI + sidecars are written beside it)")
    p.add_argument("--images", type=Path, nargs="+", default=None,
                   help="the case's image files, in its order (each checked against the "
                        "SHA-256 the settings record); default: the settings' own paths")

    p = _stage(sub, "segment", _segment, "segment every ingested image (ONNX Runtime)")
    _files(p, images="images/manifest.json", model="ONNX model",
           out="masks/manifest.json (label maps are written beside it)")
    p.add_argument("--thresholds", help="comma-separated, one per class")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--threads", type=int, default=0)

    p = _stage(sub, "reconstruct-carotid", _reconstruct_carotid,
               "carotid bifurcation (lumen and wall) from masks")
    _files(p, images="images/manifest.json", masks="masks/manifest.json",
           measurements="geometry/measurements.json", model="parametric model (model.json)",
           lumen="lumen .vtp (+ .stl beside it)", wall="wall .vtp (+ .stl beside it)")

    p = _stage(sub, "mesh-carotid", _mesh_carotid, "lumen and vessel-wall meshes (gmsh)")
    _files(p, model="geometry/model.json", mesh="lumen mesh .xdmf (+ .h5)",
           wall_mesh="wall mesh .xdmf (+ .h5)", quality="mesh_quality.json")
    p.add_argument("--radius-factor", type=float, default=None,
                   help="cells per local radius (default 6)")

    p = _stage(sub, "mesh-tube", _mesh_tube, "straight tube mesh (verification cases)")
    _files(p, mesh="mesh .xdmf (+ .h5)", quality="mesh_quality.json")

    p = sub.add_parser("simulate-flow", help="pulsatile Navier-Stokes in the lumen mesh (run "
                       "under mpiexec)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--settings", type=Path,
                     help="results/<case>/settings/<scenario>/simulate_flow.json")
    src.add_argument("--solver-settings", type=Path,
                     help="solver settings JSON instead of a case (tests, studies)")
    _files(p, mesh="mesh .xdmf",
           summary="summary.json (series.csv, settings.json, fields, renders beside it)")
    _files(p, required=False,
           mesh_quality="the mesher's mesh_quality.json (facet tags of a carotid mesh)")
    p.set_defaults(func=_simulate_flow)

    p = _stage(sub, "reconstruct-lv", _reconstruct_lv,
               "left ventricle from apical views, a volume mask or measurements")
    _files(p, measurements="measurements.json (endo/epi surfaces beside it)")
    _files(p, required=False, images="images/manifest.json", masks="masks/manifest.json")

    p = _stage(sub, "drug-effects", _drug_effects,
               "a scenario's drug regimen as factors on model parameters")
    _files(p, out="<scenario>/drug_effects.json")
    _files(p, required=False, drug="the drug arm's library entry (<id>.yaml)")

    p = _stage(sub, "mesh-lv", _mesh_lv, "LV mesh of one scenario (drug-arm wall remodelling)")
    _files(p, measurements="geometry/measurements.json",
           drug_effects="<scenario>/drug_effects.json", mesh="mesh .xdmf (+ .h5)",
           info="mesh.json: mesh information and quality")
    p.add_argument("--cell-size", type=float, default=None, help="m (default: the case's)")

    p = _stage(sub, "personalise-lv", _personalise_lv,
               "calibrate the LV baseline to the case's measurements (run under mpiexec)")
    _files(p, mesh="baseline mesh .xdmf (end-diastolic geometry)",
           measurements="geometry/measurements.json (reconstruct_lv)",
           personalisation="personalisation.json to write")

    p = _stage(sub, "simulate-heart", _simulate_heart,
               "LV cardiac cycle coupled to the 0D circulation (run under mpiexec)")
    _files(p, mesh="mesh .xdmf (mesh.json beside it)",
           drug_effects="<scenario>/drug_effects.json",
           summary="summary.json (series.csv, fields and P-V plot beside it)")
    _files(p, required=False,
           personalisation="personalisation.json of the case (personalise_lv): the "
                           "calibrated baseline")
    p.add_argument("--time-step", type=float, help="override simulation.time_step (s)")
    p.add_argument("--beats", type=int, help="override simulation.cycles (max beats)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (tests)")
    p.add_argument("--output-every", type=int, default=10, help="field output every N steps")
    p.add_argument("--exact-newton", action="store_true",
                   help="full Newton (no reused factorisation)")
    p.add_argument("--extrapolate", action="store_true",
                   help="initial guess by linear extrapolation")
    p.add_argument("--no-lag-border", action="store_true",
                   help="recompute K^-1 g every iteration")

    p = sub.add_parser("land2015", help="Land et al. 2015 benchmark problem (run under mpiexec)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--settings", type=Path, help="settings/land2015.json of a benchmark case")
    src.add_argument("--problem", type=int, choices=(1, 2, 3))
    p.add_argument("--refinement", type=int, default=1)
    p.add_argument("--apex-grading", type=float, default=None)
    p.add_argument("--steps", type=int, default=None, help="initial number of load steps")
    _files(p, out="result JSON")
    p.set_defaults(func=_land2015)

    p = _stage(sub, "compare-arms", _compare_arms,
               "baseline vs each drug arm of an LV case, next to the trials' directions")
    _files(p, out="comparison/comparison.json (comparison.md, pv_loops.png beside it)")
    for name, what in (("summaries", "summary.json"), ("drug-effects", "drug_effects.json"),
                       ("meshes", "mesh/mesh.json")):
        p.add_argument(f"--{name}", type=Path, nargs="+", required=True,
                       help=f"<scenario>/{what} of every scenario, in the case's order")

    p = _stage(sub, "report", _report, "the HTML report of one case")
    _files(p, out="report.html")
    _files(p, required=False, measurements="geometry/measurements.json",
           mesh_quality="mesh/mesh_quality.json",
           comparison="comparison/comparison.json (LV cases with drug arms)")
    p.add_argument("--summaries", type=Path, nargs="*", default=[],
                   help="<scenario>/summary.json of every scenario")

    p = sub.add_parser("provenance", help="the case's Workflow Run RO-Crate (Provenance Run "
                       "Crate) from its step records")
    p.add_argument("--case-dir", type=Path, required=True, help="results/<case>")
    p.add_argument("--records", type=Path, nargs="+", default=None,
                   help="the step records of the case's current graph (default: every "
                        "record in <case>/provenance/steps/)")
    p.add_argument("--workflow", type=Path, nargs="+", required=True,
                   help="the workflow's files (Snakefile, rules/*.smk, config), copied in")
    _files(p, out="results/<case>/ro-crate-metadata.json")
    p.set_defaults(func=_provenance)

    p = sub.add_parser(
        "replay", help="re-run a finished case from its RO-Crate and compare every output",
        description="Re-execute the steps a case's crate records, in a scratch folder, and "
                    "compare every recorded output with stated tolerances (docs/provenance.md)."
                    " Exit 0: all match; 1: a mismatch; 2: a bad crate.")
    p.add_argument("case_dir", type=Path, metavar="results/<case>")
    p.add_argument("--only", default=None, metavar="STAGE",
                   help="re-run only this stage from its recorded inputs")
    p.add_argument("--scratch", type=Path, default=None,
                   help="scratch folder (default: a temporary folder, removed afterwards)")
    p.add_argument("--sources", type=Path, default=None,
                   help="folder searched for the source files by SHA-256 (default: the "
                        "project's cases/ folder)")
    p.add_argument("--keep", action="store_true", help="keep the temporary scratch folder")
    p.set_defaults(func=_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        if args.record is not None:
            from twinflow.provenance.record import recorded

            if args.record_io is None:
                raise InputError("--record needs --record-io (the files the rule declares)")
            return int(recorded(args.command.replace("-", "_"), args.record, args.record_io,
                                argv, lambda: args.func(args)) or 0)
        return int(args.func(args) or 0)
    except TwinflowError as err:
        if mpi_rank() == 0:
            for line in err.lines:
                print(line, file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("twinflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
