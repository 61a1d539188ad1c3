r"""Unsteady incompressible Navier--Stokes flow in a rigid vessel (DOLFINx, MPI-parallel).

Newtonian blood, density :math:`\rho`, viscosity :math:`\mu`:
:math:`\rho(\partial_t u + u\cdot\nabla u) = \nabla\cdot\sigma(u,p)`, :math:`\nabla\cdot u = 0`,
:math:`\sigma = -pI + 2\mu\varepsilon(u)`; no slip on the WALL, a Womersley velocity profile
on the INLET carrying the flow waveform :math:`Q(t)`, and per outlet a pressure, resistance,
three-element Windkessel or prescribed flow split. Solved with the incremental
pressure-correction scheme (BDF2, Taylor--Hood P2/P1, SUPG); the wall shear stress gives the
hemodynamic indices TAWSS, OSI and RRT over the last period.

Run: the stage ``simulate_flow`` (``twinflow simulate-flow --settings S --mesh M.xdmf
--mesh-quality Q --summary OUT/summary.json``, :mod:`twinflow.physics.flow.simulate`), or
``--solver-settings`` instead of ``--settings`` for a solver settings file, or
:func:`twinflow.physics.flow.loop.solve_flow` from Python.

One module per concept:

===============  ==========================================================================
``settings``     :class:`~twinflow.physics.flow.settings.FlowSettings` and the mapping of a
                 carotid case to solver settings
``inflow``       inflow waveforms (Holdsworth 1999, Fourier, table, steady)
``womersley``    analytical pulsatile flow in a tube (Womersley 1955)
``outlets``      0D outlet models (pressure, resistance, Windkessel, flow split)
``mesh``         reading and checking the mesh, the cell diameter
``boundary``     openings, their velocity profiles, the Dirichlet conditions
``forms``        the IPCS / BDF2 / SUPG forms (the equations and their derivation)
``assembly``     assembly of the linear systems (matrix, right-hand side with lifting)
``solver``       the PETSc solvers of the three steps
``coupling``     implicit coupling of the 0D outlets
``step``         one time step
``hemodynamics`` wall shear stress and TAWSS / OSI / RRT
``monitors``     series, probes, cell Courant and Peclet numbers
``output``       the VTX field files
``render``       PNG renders of the wall fields
``summary``      ``summary.json`` (:class:`twinflow.artifacts.flow.FlowSummary`)
``loop``         the time loop, :func:`~twinflow.physics.flow.loop.solve_flow`
``simulate``     the stage ``simulate_flow``: case settings -> solver settings -> solve
===============  ==========================================================================

Importing this package (and ``settings``, ``inflow``, ``womersley``, ``outlets``) does not
import DOLFINx.
"""
