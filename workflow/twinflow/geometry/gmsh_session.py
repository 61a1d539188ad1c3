"""One gmsh session for every twinflow mesher: deterministic options, one BLAS thread.

**Loading.** The gmsh wheel (4.15) links PETSc and OpenBLAS statically into ``libgmsh``. That
OpenBLAS reads ``OPENBLAS_NUM_THREADS`` (else ``OMP_NUM_THREADS``, else the number of cores)
once, when the library is loaded, and a threaded BLAS changes gmsh's 3D mesh of a
reparametrised discrete surface at round-off level: the demo carotid lumen (stage 2 of
:func:`twinflow.geometry.carotid.mesh._generate`) has 22 790 cells when gmsh is loaded with
2, 3, 4, 8 or 16 BLAS threads and 22 780 with 1 (measured 2026-12-06; the same OCC solid,
stage-1 surface and smoothed wall to the last bit, the difference appears in
``generate(3)``). Snakemake sets ``OPENBLAS_NUM_THREADS`` to a job's threads, so without this
module the pipeline (1 thread) and a direct call of the mesher (all
cores) gave different meshes of the same case.

:func:`load_gmsh` imports gmsh with ``OPENBLAS_NUM_THREADS=1`` and puts the environment back
afterwards, so the rest of the process is unaffected (numpy's OpenBLAS is a separate
library). The setting cannot be changed once ``libgmsh`` is loaded (the statically linked
OpenBLAS exports no thread control), so a process that imported gmsh itself before any
twinflow mesher keeps whatever it was loaded with.

**Session.** :func:`gmsh_session` initialises gmsh (unless the caller already did) without
reading the user's gmsh configuration files or ``GMSH_*`` environment variables
(``-noenv``, ``readConfigFiles=False``) and without installing gmsh's signal handler, sets
:data:`SESSION_OPTIONS` (terminal output off, one mesher thread, a fixed random seed — the
last two are gmsh's defaults, set explicitly so a configuration file cannot change a mesh),
optionally adds a named model, and on exit removes the current model and finalises gmsh if
it initialised it. Every mesher runs inside one; options a mesher sets itself
(sizes, algorithms) stay in force until the session ends.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Final

#: BLAS threads of the OpenBLAS inside libgmsh (see the module docstring).
GMSH_BLAS_THREADS: Final[str] = "1"

#: Options set at the start of every session (module docstring).
SESSION_OPTIONS: Final[dict[str, float]] = {
    "General.Terminal": 0,
    "General.NumThreads": 1,
    "Mesh.RandomSeed": 1,
}


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


@contextmanager
def gmsh_session(model: str | None = None) -> Iterator[ModuleType]:
    """Yield the initialised ``gmsh`` module with :data:`SESSION_OPTIONS` (module docstring).

    ``model``: name of a model added at the start. Nested use is allowed: only the session
    that initialised gmsh finalises it.
    """
    gmsh = load_gmsh()
    initialised_here = not gmsh.isInitialized()
    if initialised_here:
        gmsh.initialize(["-noenv"], readConfigFiles=False, interruptible=False)
    try:
        for name, value in SESSION_OPTIONS.items():
            gmsh.option.setNumber(name, value)
        if model is not None:
            gmsh.model.add(model)
        yield gmsh
    finally:
        if gmsh.model.list():
            gmsh.model.remove()
        if initialised_here:
            gmsh.finalize()
