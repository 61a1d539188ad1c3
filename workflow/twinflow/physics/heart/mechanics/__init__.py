"""Cardiac solid mechanics in DOLFINx: kinematics, materials, active stress, boundary
conditions and a Newton (PETSc SNES) solver with load stepping.

Layout after fenicsx-pulse (Finsberg et al.): one small module per concept. The forms are
unit-agnostic (any consistent set: twinflow uses m/Pa; the Land et al. 2015 benchmark in
:mod:`twinflow.verification.land2015` uses mm/kPa as the paper states it).
"""

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py in every submodule)
