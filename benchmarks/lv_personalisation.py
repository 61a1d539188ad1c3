"""Personalisation of synthetic LV patients: does the calibrated baseline reproduce them?

For each seed, ``twinflow synth lv`` draws a patient (apical 4/2-chamber images at end-diastole
and end-systole, and ``truth.json`` with its EDV and ESV). A case file is written from
cases/lv-demo.yaml with that patient's images, a cuff pressure chosen per patient
(:data:`PRESSURES`) and, as a clinic's measured volumes, the truth EDV and ESV; only the
baseline scenario. ``twinflow run`` takes each case from the images to the periodic baseline
beat (``personalise_lv`` then ``simulate_heart``), in a throw-away project built from this
checkout. Recorded per patient (results/lv_personalisation.{json,md}):

* targets vs the baseline's analysed beat (summary.json ``personalisation``), with residuals;
* the calibration's 3D beats and wall time (its step record), peak memory of the
  ``personalise_lv`` job (the resident set of its process tree, sampled every 0.5 s with
  psutil: both MPI ranks and mpiexec).

    .venv/bin/python benchmarks/lv_personalisation.py --seeds 11 12 13 14 15 --ranks 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

from twinflow.workflow import copy_project

ROOT = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
MMHG, ML = 133.322387415, 1e-6
#: cuff pressures (systolic, diastolic mmHg) by seed, from seed 11 on (11 -> 118/76, 14 ->
#: 124/70): normal to stage-2 hypertension; a patient keeps its pressure when run alone
PRESSURES = [(118, 76), (132, 84), (146, 92), (124, 70), (154, 96), (140, 88)]


def make_project(folder: Path) -> Path:
    project = copy_project(ROOT, folder / "project")
    (project / ".venv").symlink_to(ROOT / ".venv")
    return project


def write_case(project: Path, seed: int, ranks: int) -> tuple[str, dict]:
    cid = f"lv-s{seed}"
    data = project / "cases" / "data" / cid
    subprocess.run([str(PY), "-m", "twinflow", "synth", "lv", "--patients", "1", "--seed",
                    str(seed), "--layout", "case", "--out", str(data)], check=True,
                   cwd=project, capture_output=True)
    truth = json.loads((data / "truth.json").read_text())
    images = json.loads((data / "images.json").read_text())["images"]
    case = yaml.safe_load((ROOT / "cases" / "lv-demo.yaml").read_text())
    case["description"] = f"synthetic patient (seed {seed}) for the personalisation benchmark"
    case["images"] = [{
        "path": f"data/{cid}/{Path(im['path']).name}", "modality": im["modality"],
        "view": im["view"], "phase": im["phase"],
        "pixel_spacing": [f"{x * 1e3!r} mm" for x in im["pixel_spacing"]],
        "burned_in_text": im["burned_in_text"]} for im in images]
    sbp, dbp = PRESSURES[(seed - 11) % len(PRESSURES)]
    case["measurements"] = {
        "blood_pressure": {"systolic": f"{sbp} mmHg", "diastolic": f"{dbp} mmHg"},
        "heart_rate": "75 bpm",
        "end_diastolic_volume": f"{truth['edv_m3'] / ML!r} mL",
        "end_systolic_volume": f"{truth['esv_m3'] / ML!r} mL"}
    case["scenarios"] = [{"id": "baseline"}]
    case["simulation"]["mpi_ranks"] = ranks
    (project / "cases" / f"{cid}.yaml").write_text(yaml.safe_dump(case, sort_keys=False))
    return cid, {"seed": seed, "truth_edv_ml": truth["edv_m3"] / ML,
                 "truth_esv_ml": truth["esv_m3"] / ML, "systolic_mmhg": sbp,
                 "diastolic_mmhg": dbp}


class PeakMemory:
    """Largest summed RSS (bytes) of the processes whose command line holds ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker, self.peak, self._stop = marker, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            total = 0
            for p in psutil.process_iter(["cmdline", "memory_info"]):
                try:
                    if any(self.marker in c for c in (p.info["cmdline"] or [])):
                        total += p.info["memory_info"].rss
                except (psutil.Error, TypeError):
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def run_patient(project: Path, cid: str, cores: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(project / "workflow")}
    tic = time.perf_counter()
    with PeakMemory("personalise-lv") as mem:
        r = subprocess.run([str(PY), "-m", "twinflow", "run", f"cases/{cid}.yaml", "--cores",
                            str(cores)], cwd=project, env=env, capture_output=True, text=True)
    out: dict = {"returncode": r.returncode, "run_wall_s": time.perf_counter() - tic,
                 "personalise_peak_rss_mb": mem.peak / 2**20}
    if r.returncode:
        out["error"] = r.stderr.strip().splitlines()[-1:] if r.stderr else []
        return out
    res = project / "results" / cid
    pers = json.loads((res / "personalisation" / "personalisation.json").read_text())
    rec = json.loads((res / "provenance" / "steps" / "personalise_lv.json").read_text())
    summ = json.loads((res / "baseline" / "summary.json").read_text())
    out.update(
        beats_3d=pers["beats_3d"], personalise_wall_s=rec["wall_time_s"],
        passive_scale=pers["passive"]["scale"], cells=pers["cells"],
        unloading_volume_error=pers["unloading"]["volume_error"],
        parameters={p["name"]: p["value"] for p in pers["parameters"]},
        baseline_periodic=summ["periodic"], baseline_beats=summ["beats_run"],
        targets=summ["personalisation"]["targets"],
        peak_lv_aortic_gradient_mmhg=(summ.get("peak_lv_aortic_gradient_pa") or 0) / MMHG)
    return out


def markdown(rows: list[dict]) -> str:
    head = ("| patient | SBP/DBP measured | achieved | EDV meas./achieved (mL) | "
            "ESV meas./achieved (mL) | all met | 3D beats | calibration wall (s) | "
            "peak RSS (MB) |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        if r.get("returncode"):
            lines.append(f"| seed {r['seed']} | {r['systolic_mmhg']}/{r['diastolic_mmhg']} | "
                         f"failed: {' '.join(r.get('error', []))} | | | | | | |")
            continue
        t = {x["name"]: x for x in r["targets"]}
        lines.append(
            f"| seed {r['seed']} | {r['systolic_mmhg']}/{r['diastolic_mmhg']} | "
            f"{t['systolic_pressure']['achieved'] / MMHG:.1f}/"
            f"{t['diastolic_pressure']['achieved'] / MMHG:.1f} | "
            f"{t['end_diastolic_volume']['measured'] / ML:.1f} / "
            f"{t['end_diastolic_volume']['achieved'] / ML:.1f} | "
            f"{t['end_systolic_volume']['measured'] / ML:.1f} / "
            f"{t['end_systolic_volume']['achieved'] / ML:.1f} | "
            f"{'yes' if all(x['met'] for x in r['targets']) else 'no'} | {r['beats_3d']} | "
            f"{r['personalise_wall_s']:.0f} | {r['personalise_peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13, 14, 15])
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--keep", type=Path, default=None, help="keep the project here")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="lv-personalisation-"))
    folder.mkdir(parents=True, exist_ok=True)
    project = make_project(folder)
    rows = []
    for seed in args.seeds:
        cid, row = write_case(project, seed, args.ranks)
        row.update(run_patient(project, cid, args.cores))
        row["measured"] = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           "load_average": [round(x, 1) for x in os.getloadavg()]}
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "targets"}), flush=True)
    meta = {"cpu": psutil.cpu_count(), "ranks": args.ranks, "command": " ".join(sys.argv)}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "lv_personalisation.json"
    # patients not run this time keep their earlier rows (each row says when it was measured)
    kept = [r for r in (json.loads(path.read_text())["patients"] if path.is_file() else [])
            if r["seed"] not in args.seeds]
    rows = sorted(kept + rows, key=lambda r: r["seed"])
    path.write_text(json.dumps({"meta": meta, "patients": rows}, indent=1))
    (args.out / "lv_personalisation.md").write_text(
        f"{meta['ranks']} MPI ranks on {meta['cpu']} cores; each row's date and load in "
        "lv_personalisation.json.\n\n" + markdown(rows))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
