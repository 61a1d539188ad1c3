"""What decides the last bits of twinflow's numbers on a machine: the numerics fingerprint.

Package versions do not fix floating-point results. The same wheels pick CPU-specific code
when they load: numpy dispatches its ufuncs to the widest SIMD extension the CPU has (its
float64 ``exp``, ``log``, ``power``, ``arctan2``, ``cbrt`` differ in the last bit between the
AVX-512 and AVX2 paths), OpenBLAS (numpy's and scipy's copies) chooses a kernel for the CPU
(``SkylakeX``, ``Haswell``, ``Zen``, ...; different summation order in ``gemm``/LAPACK),
ONNX Runtime's MLAS chooses its convolution kernels and NCHWc block size the same way. On
the carotid demo these differences reach the reconstructed model at ~1e-10 and, before the
model was rounded onto a grid (:mod:`twinflow.geometry.carotid.model`), the mesh: 22 780
cells with this machine's AVX-512 paths, 23 310 when numpy and OpenBLAS take their AVX2
paths (docs/reproducibility.md). What can be pinned is pinned where it is used (gmsh: one
thread, one BLAS thread, fixed seed — :mod:`twinflow.geometry.gmsh_session`; ONNX Runtime:
threads from the rule, deterministic compute); what cannot — the CPU — is recorded here, so
that provenance can state it and a replay can say that an environment changed.

:func:`numerics_fingerprint` returns a JSON-ready dict; :func:`fingerprint_differences`
lists the dotted keys in which two fingerprints differ. Nothing here imports gmsh (loading
``libgmsh`` has side effects, see :mod:`twinflow.geometry.gmsh_session`) or TensorFlow.

The OpenBLAS core and thread count are read through ``ctypes`` from the OpenBLAS copies
bundled with numpy and scipy (``scipy_openblas*_get_corename``/``get_num_threads``), 20
lines; ``threadpoolctl`` would do the same but is not a dependency of twinflow. The CPU
flags come from ``/proc/cpuinfo`` (Linux; elsewhere only ``platform.processor()``).
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any, Final

from twinflow.io import flatten

#: CPU flags (``/proc/cpuinfo`` names) that select different floating-point kernels.
ISA_FLAGS: Final[tuple[str, ...]] = (
    "sse4_2", "avx", "fma", "avx2", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
    "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16",
    "amx_int8")

#: Environment variables that change thread counts or kernel choices of the libraries above.
NUMERIC_ENV: Final[tuple[str, ...]] = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
    "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "VTK_SMP_BACKEND_IN_USE",
    "VTK_SMP_MAX_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "ORT_INTRA_OP_NUM_THREADS")

#: Distributions whose versions belong to the fingerprint (read from their metadata only).
PACKAGES: Final[tuple[str, ...]] = ("numpy", "scipy", "onnxruntime", "onnxruntime-gpu", "gmsh",
                                    "vtk", "pyvista", "simpleitk")


def cpu_info() -> dict[str, Any]:
    """CPU model, logical cores and the :data:`ISA_FLAGS` it has."""
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    return {"model": model, "machine": platform.machine(), "logical_cores": os.cpu_count(),
            "isa": [f for f in ISA_FLAGS if f in flags]}


def numpy_simd() -> dict[str, list[str]]:
    """numpy's SIMD baseline and the dispatched extensions this process uses (after
    ``NPY_DISABLE_CPU_FEATURES``); the tables ``numpy.show_runtime()`` prints."""
    from numpy._core._multiarray_umath import (  # type: ignore[attr-defined]
        __cpu_baseline__,
        __cpu_dispatch__,
        __cpu_features__,
    )
    return {"baseline": list(__cpu_baseline__),
            "dispatched": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]}


def _openblas(folder: Path, pattern: str, suffix: str) -> dict[str, Any] | None:
    """Core name and threads of the OpenBLAS matching ``pattern`` in ``folder``."""
    for path in sorted(folder.glob(pattern)):
        lib = ctypes.CDLL(str(path))
        corename = getattr(lib, f"scipy_openblas_get_corename{suffix}", None)
        threads = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
        if corename is None or threads is None:
            continue
        corename.restype = ctypes.c_char_p
        return {"library": path.name, "core": corename().decode(), "threads": int(threads())}
    return None


def openblas_info() -> dict[str, Any]:
    """The OpenBLAS kernel (core) and threads of numpy's and scipy's bundled copies."""
    import numpy
    import scipy

    out: dict[str, Any] = {}
    for name, module, pattern, suffix in (("numpy", numpy, "libscipy_openblas64_*.so*", "64_"),
                                          ("scipy", scipy, "libscipy_openblas-*.so*", "")):
        folder = Path(module.__file__).parent.parent / f"{name}.libs"
        out[name] = _openblas(folder, pattern, suffix) if folder.is_dir() else None
    return out


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def onnxruntime_info(threads: int | None = None) -> dict[str, Any]:
    """ONNX Runtime's version, device and providers; ``threads``: the segment stage's
    ``intra_op_num_threads`` (0 = ONNX Runtime's choice) when known."""
    import onnxruntime as ort

    return {"version": ort.__version__, "device": ort.get_device(),
            "providers": list(ort.get_available_providers()), "intra_op_threads": threads}


def gmsh_settings() -> dict[str, Any]:
    """The gmsh session's pinned options (without loading gmsh)."""
    from twinflow.geometry.gmsh_session import GMSH_BLAS_THREADS, SESSION_OPTIONS

    return {"session_options": dict(SESSION_OPTIONS), "blas_threads": int(GMSH_BLAS_THREADS)}


def model_grid() -> dict[str, float]:
    """The grid the reconstructed carotid model is rounded onto."""
    from twinflow.geometry.carotid.model import DIRECTION_GRID, LENGTH_GRID_M

    return {"length_m": LENGTH_GRID_M, "direction": DIRECTION_GRID}


def numerics_fingerprint(ort_threads: int | None = None) -> dict[str, Any]:
    """Everything of this process and machine that decides the last bits of a result
    (module docstring): CPU and ISA flags, numpy SIMD paths, OpenBLAS kernels and threads,
    ONNX Runtime, the pinned gmsh options, the carotid model grid, package versions and the
    numeric environment variables (``None`` when unset). JSON-serialisable."""
    return {
        "cpu": cpu_info(),
        "numpy_simd": numpy_simd(),
        "openblas": openblas_info(),
        "onnxruntime": onnxruntime_info(ort_threads),
        "gmsh": gmsh_settings(),
        "carotid_model_grid": model_grid(),
        "packages": {p: _version(p) for p in PACKAGES},
        "env": {k: os.environ.get(k) for k in NUMERIC_ENV},
    }


def fingerprint_differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys (``"cpu.isa"``, ``"openblas.numpy.core"``) whose values differ between two
    fingerprints, including keys present in only one; sorted."""
    a, b = flatten(recorded), flatten(current)
    return sorted(k for k in a.keys() | b.keys() if a.get(k, ...) != b.get(k, ...))
