"""``twinflow synth`` and ``twinflow ingest`` sub-commands (imaging stage)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    synth = subparsers.add_parser(
        "synth", help="synthetic patients with ground truth (data set or demo case)",
        description="Write synthetic carotid or left-ventricle patients: a segmentation data "
                    "set (manifest.json, images, masks, truth, surfaces; split 8:1:1) or, "
                    "with --layout case (default for one patient), a demo case input folder.")
    synth.add_argument("anatomy", choices=("carotid", "lv"))
    synth.add_argument("--patients", type=int, default=40, help="number of patients (40)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (0)")
    synth.add_argument("--out", type=Path, default=None,
                       help="output folder (results/synth/<anatomy>)")
    synth.add_argument("--layout", choices=("dataset", "case"), default=None,
                       help="dataset (default for > 1 patient) or case (default for 1)")
    synth.add_argument("--window", type=int, nargs=2, default=(512, 512),
                       metavar=("ROWS", "COLS"), help="static window in pixels (512 512)")
    synth.add_argument("--figure", type=Path, default=None,
                       help="also draw a figure of sample images (PNG)")
    synth.add_argument("--no-volumes", action="store_true",
                       help="LV: skip the CT-like 3D volumes")
    synth.set_defaults(func=_synth)

    ingest = subparsers.add_parser(
        "ingest", help="read, de-identify and pre-process one case's images",
        description="Ingest the images of a canonical case.json into OUT_DIR "
                    "(NIfTI + JSON sidecars + manifest.json).")
    ingest.add_argument("case_json", type=Path)
    ingest.add_argument("out_dir", type=Path)
    ingest.set_defaults(func=_ingest)


def _synth(args: argparse.Namespace) -> int:
    from twinflow.errors import InputError
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
    print(path)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from twinflow.imaging.ingest import ingest_case

    written = ingest_case(args.case_json, args.out_dir)
    print(written[-1])
    return 0
