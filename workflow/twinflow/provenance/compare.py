"""Compare a replayed output with the recorded one, per artifact type, with stated tolerances.

Each comparator returns a :class:`Check` (what was compared, the largest difference found, the
tolerance, and whether it holds). The tolerances (docs/provenance.md) separate what a re-run
on the same environment must reproduce exactly from what floating-point summation order may
move (MPI reductions, BLAS threads):

=================================  ==========================================================
artifact                           check
=================================  ==========================================================
JSON (``*.json``)                  same keys, strings, booleans and integers; floats within
                                   ``|a - b| <= 1e-6 max(|a|, |b|) + 1e-15``; wall-clock
                                   fields (``timing``, ``wall_time_s``, ``seconds_per_*``)
                                   are not compared
CSV series (``*.csv``)             same header and row count; each numeric column within
                                   ``1e-6 * max |column|`` (+1e-15)
HDF5 (``*.h5``)                    same datasets, shapes and dtypes; integer data exact; float
                                   data within ``1e-6 * max |data|`` (+1e-15)
XDMF (``*.xdmf``)                  the XML text, exactly
NIfTI / MHA (``*.nii.gz`` ...)     same size; spacing, origin and direction within 1e-9;
                                   integer voxels (label maps) exact; float voxels within
                                   ``1e-5 * max(1, max |a|)``
PNG (``*.png``)                    same size; share of pixels differing by more than 2 grey
                                   levels <= 0.1 %
VTP / STL surfaces                 same point and cell counts; points within ``1e-6`` of the
                                   bounding-box diagonal
HTML report (``*.html``)           the text with every number and embedded image removed,
                                   exactly (its numbers come from the compared summaries and
                                   include wall-clock timings)
other text (``.msh`` ...)          the text with numbers masked exactly; numbers within
                                   ``1e-6 max(|a|, |b|) + 1e-12``
anything else                      SHA-256, exactly
=================================  ==========================================================

Hand-written where a library call would hide the one number an auditor needs (the largest
difference); the readers are the libraries the stages write with (h5py, SimpleITK, pyvista).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinflow.io import sha256_path

RTOL = 1e-6
ATOL = 1e-15
TIMING_KEYS = frozenset({"timing", "timings", "wall_time_s", "seconds_per_step",
                         "seconds_per_solve", "meshing_time_s", "extrusion_time_s"})
"""Wall-clock fields of the artifacts (FlowSummary.timing, CycleSummary.timings,
*.wall_time_s, MeshQuality.meshing_time_s, wall mesh extrusion_time_s): never compared."""
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(slots=True)
class Check:
    """One comparison: ``name`` (what), ``max_diff`` and ``tolerance`` (text), ``ok``."""

    name: str
    max_diff: str
    tolerance: str
    ok: bool
    note: str = ""


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.3g}"


# --------------------------------------------------------------------------- JSON


def _walk(a: Any, b: Any, where: str, worst: list[Any]) -> str | None:
    """Compare JSON values; returns the first structural difference, tracks the worst float
    excess ``(ratio, where, diff)`` in ``worst``."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{where or '/'}: keys differ ({sorted(set(a) ^ set(b))[:3]})"
        for key in sorted(a):
            if key in TIMING_KEYS:
                continue
            found = _walk(a[key], b[key], f"{where}.{key}" if where else key, worst)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _walk(x, y, f"{where}[{i}]", worst)
            if found:
                return found
        return None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) \
                or not isinstance(b, int | float):
            return f"{where}: {a!r} vs {b!r}"
        diff = abs(a - b)
        ratio = diff / (RTOL * max(abs(a), abs(b)) + ATOL)
        if ratio > worst[0][0]:
            worst[0] = (ratio, where, diff)
        return None
    if a != b or type(a) is not type(b):
        return f"{where}: {a!r} vs {b!r}"
    return None


def compare_json(ref: Path, new: Path) -> Check:
    try:
        a, b = json.loads(ref.read_text()), json.loads(new.read_text())
    except ValueError as err:
        return Check("JSON", "-", "parses", False, f"not JSON: {err}")
    worst: list[Any] = [(0.0, "", 0.0)]
    structural = _walk(a, b, "", worst)
    tol = f"rel {RTOL:g} (+{ATOL:g})"
    if structural:
        return Check("JSON values", "-", "exact except floats", False, structural)
    ratio, where, diff = worst[0]
    return Check("JSON values", _fmt(diff) + (f" ({where})" if where else ""), tol, ratio <= 1)


# --------------------------------------------------------------------------- CSV


def compare_csv(ref: Path, new: Path) -> Check:
    ra, rb = ref.read_text().splitlines(), new.read_text().splitlines()
    if not ra or not rb or ra[0] != rb[0] or len(ra) != len(rb):
        return Check("CSV columns", "-", "same header and rows", False,
                     f"header or row count differs ({len(ra)} vs {len(rb)} lines)")
    header = ra[0].split(",")
    cells_a = [r.split(",") for r in ra[1:]]
    cells_b = [r.split(",") for r in rb[1:]]
    worst, where = 0.0, ""
    for j, name in enumerate(header):
        try:
            col_a = np.array([float(r[j]) for r in cells_a])
            col_b = np.array([float(r[j]) for r in cells_b])
        except (ValueError, IndexError):
            if [r[j:j + 1] for r in cells_a] != [r[j:j + 1] for r in cells_b]:
                return Check("CSV columns", "-", "text cells exact", False, f"column {name}")
            continue
        if col_a.size == 0:
            continue
        allowed = RTOL * float(np.abs(col_a).max()) + ATOL
        diff = float(np.abs(col_a - col_b).max())
        if diff / allowed > worst:
            worst, where = diff / allowed, f"{name}: {_fmt(diff)}"
    return Check("CSV columns", where or "0", f"rel {RTOL:g} of column max", worst <= 1)


# --------------------------------------------------------------------------- HDF5


def compare_h5(ref: Path, new: Path) -> Check:
    import h5py

    def datasets(path: Path) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                         if isinstance(obj, h5py.Dataset) else None)
        return out

    a, b = datasets(ref), datasets(new)
    if set(a) != set(b):
        return Check("HDF5 datasets", "-", "same datasets", False,
                     f"datasets differ: {sorted(set(a) ^ set(b))[:3]}")
    worst, where = 0.0, ""
    for name in sorted(a):
        x, y = np.asarray(a[name]), np.asarray(b[name])
        if x.shape != y.shape or x.dtype != y.dtype:
            return Check("HDF5 datasets", "-", "same shapes", False, f"{name}: shape/dtype")
        if x.dtype.kind in "iub":
            if not np.array_equal(x, y):
                return Check("HDF5 datasets", "-", "integers exact", False, f"{name} differs")
            continue
        if x.dtype.kind != "f" or x.size == 0:
            continue
        allowed = RTOL * float(np.abs(x).max()) + ATOL
        diff = float(np.abs(x - y).max())
        if diff / allowed > worst:
            worst, where = diff / allowed, f"{name}: {_fmt(diff)}"
    return Check("HDF5 datasets", where or "0", f"rel {RTOL:g} of data max; ints exact",
                 worst <= 1)


# --------------------------------------------------------------------------- images


def compare_image(ref: Path, new: Path) -> Check:
    import SimpleITK as sitk

    a, b = sitk.ReadImage(str(ref)), sitk.ReadImage(str(new))
    if a.GetSize() != b.GetSize():
        return Check("image voxels", "-", "same size", False, f"{a.GetSize()} vs {b.GetSize()}")
    geo = max(max(abs(x - y) for x, y in zip(f(a), f(b), strict=True))
              for f in (lambda i: i.GetSpacing(), lambda i: i.GetOrigin(),
                        lambda i: i.GetDirection()))
    if geo > 1e-9:
        return Check("image geometry", _fmt(geo), "1e-09", False, "spacing/origin/direction")
    x, y = sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b)
    if x.dtype.kind in "iub":
        diff = int((x != y).sum())
        return Check("label voxels", f"{diff} voxels", "exact", diff == 0)
    allowed = 1e-5 * max(1.0, float(np.abs(x).max()))
    diff = float(np.abs(x.astype(float) - y).max())
    return Check("image voxels", _fmt(diff), _fmt(allowed), diff <= allowed)


def compare_png(ref: Path, new: Path) -> Check:
    from PIL import Image

    x = np.asarray(Image.open(ref).convert("RGBA"), dtype=int)
    y = np.asarray(Image.open(new).convert("RGBA"), dtype=int)
    if x.shape != y.shape:
        return Check("PNG pixels", "-", "same size", False, f"{x.shape} vs {y.shape}")
    share = float((np.abs(x - y).max(axis=-1) > 2).mean())
    return Check("PNG pixels", f"{100 * share:.3g} % > 2 levels", "0.1 %", share <= 1e-3)


def compare_surface(ref: Path, new: Path) -> Check:
    import pyvista as pv

    a, b = pv.read(str(ref)), pv.read(str(new))
    if a.n_points != b.n_points or a.n_cells != b.n_cells:
        return Check("surface points", "-", "same counts", False,
                     f"{a.n_points}/{a.n_cells} vs {b.n_points}/{b.n_cells} points/cells")
    diag = float(np.linalg.norm(np.ptp(np.asarray(a.points), axis=0))) if a.n_points else 0.0
    diff = float(np.abs(np.asarray(a.points) - np.asarray(b.points)).max()) if a.n_points \
        else 0.0
    return Check("surface points", f"{_fmt(diff)} m", f"{_fmt(1e-6 * diag)} m",
                 diff <= 1e-6 * diag + ATOL)


# --------------------------------------------------------------------------- text


def compare_html(ref: Path, new: Path) -> Check:
    def skeleton(text: str) -> str:
        text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "data:IMAGE", text)
        return NUMBER.sub("#", text)

    same = skeleton(ref.read_text()) == skeleton(new.read_text())
    return Check("HTML text (numbers masked)", "0" if same else "text differs", "exact", same)


def compare_text(ref: Path, new: Path) -> Check:
    ta, tb = ref.read_text(errors="replace"), new.read_text(errors="replace")
    if ta == tb:
        return Check("text", "0", "exact", True)
    if NUMBER.sub("#", ta) != NUMBER.sub("#", tb):
        return Check("text (numbers masked)", "text differs", "exact", False)
    worst, diff_max = 0.0, 0.0
    for x, y in zip(NUMBER.findall(ta), NUMBER.findall(tb), strict=True):
        a, b = float(x), float(y)
        diff = abs(a - b)
        allowed = RTOL * max(abs(a), abs(b)) + 1e-12
        worst, diff_max = max(worst, diff / allowed), max(diff_max, diff)
    return Check("text numbers", _fmt(diff_max), f"rel {RTOL:g}", worst <= 1)


def compare_bytes(ref: Path, new: Path) -> Check:
    same = sha256_path(ref) == sha256_path(new)
    return Check("SHA-256", "0" if same else "bytes differ", "exact", same)


def compare(ref: Path, new: Path) -> Check:
    """Compare the replayed ``new`` with the reference ``ref`` by artifact type."""
    name = ref.name.lower()
    try:
        if name.endswith(".json"):
            return compare_json(ref, new)
        if name.endswith(".csv"):
            return compare_csv(ref, new)
        if name.endswith(".h5"):
            return compare_h5(ref, new)
        if name.endswith((".nii.gz", ".nii", ".mha", ".nrrd")):
            return compare_image(ref, new)
        if name.endswith(".png"):
            return compare_png(ref, new)
        if name.endswith((".vtp", ".stl", ".vtu")):
            return compare_surface(ref, new)
        if name.endswith(".html"):
            return compare_html(ref, new)
        if name.endswith((".xdmf", ".xml", ".yaml", ".yml", ".smk", ".txt")):
            same = ref.read_bytes() == new.read_bytes()
            return Check("text", "0" if same else "text differs", "exact", same)
        if name.endswith(".msh"):
            return compare_text(ref, new)
        return compare_bytes(ref, new)
    except Exception as err:  # noqa: BLE001 - an unreadable file is a finding, not a crash
        return Check("read", "-", "-", False, f"cannot compare: {type(err).__name__}: "
                                               f"{str(err)[:80]}")
