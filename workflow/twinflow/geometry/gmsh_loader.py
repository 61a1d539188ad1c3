"""Load gmsh so that its meshes do not depend on the machine's core count.

The gmsh wheel (4.15) links PETSc and OpenBLAS statically into ``libgmsh``. That OpenBLAS reads
``OPENBLAS_NUM_THREADS`` (else ``OMP_NUM_THREADS``, else the number of cores) once, when the
library is loaded, and a threaded BLAS changes gmsh's 3D mesh of a reparametrised discrete
surface at round-off level: the demo carotid lumen (stage 2 of
:func:`twinflow.geometry.carotid.mesh._generate`) has 22 790 cells when gmsh is loaded with
2, 3, 4, 8 or 16 BLAS threads and 22 780 with 1 (measured 2026-12-06; the same OCC solid,
stage-1 surface and smoothed wall to the last bit, the difference appears in
``generate(3)``). Snakemake sets ``OPENBLAS_NUM_THREADS`` to a job's threads, so without this
module the pipeline (1 thread) and a direct ``python -m twinflow.geometry.carotid mesh`` (all
cores) gave different meshes of the same case.

:func:`load_gmsh` imports gmsh with ``OPENBLAS_NUM_THREADS=1`` and puts the environment back
afterwards, so the rest of the process is unaffected (numpy's OpenBLAS is a separate
library). Every twinflow mesher loads gmsh through it. The setting cannot be changed once
``libgmsh`` is loaded (the statically linked OpenBLAS exports no thread control), so a process
that imported gmsh itself before any twinflow mesher keeps whatever it was loaded with.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

#: BLAS threads of the OpenBLAS inside libgmsh (see the module docstring).
GMSH_BLAS_THREADS = "1"


def load_gmsh() -> ModuleType:
    """The ``gmsh`` module, loaded (on first use) with one OpenBLAS thread."""
    if "gmsh" in sys.modules:
        return sys.modules["gmsh"]
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = GMSH_BLAS_THREADS
    try:
        import gmsh
    finally:
        if saved is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved
    return gmsh
