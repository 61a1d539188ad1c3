r"""Unsteady incompressible Navier--Stokes flow in a rigid vessel (DOLFINx, MPI-parallel).

Equations (Newtonian blood, density :math:`\rho`, viscosity :math:`\mu`):
:math:`\rho(\partial_t u + u\cdot\nabla u) = \nabla\cdot\sigma(u,p)`, :math:`\nabla\cdot u = 0`,
:math:`\sigma = -pI + 2\mu\varepsilon(u)`; no slip on the WALL, a Womersley velocity profile on
the INLET carrying the flow waveform :math:`Q(t)` (:mod:`twinflow.physics.flow.inflow`,
:mod:`twinflow.physics.flow.womersley`), and per outlet a pressure, resistance, three-element
Windkessel or prescribed flow split (:mod:`twinflow.physics.flow.outlets`).

Scheme: the incremental pressure-correction scheme (IPCS; Goda 1979, J Comput Phys 30:76;
analysis in Guermond, Minev & Shen 2006, Comput Methods Appl Mech Eng 195:6011) with
Taylor--Hood P2/P1 elements, as in the DOLFINx tutorial of Dokken (DFG 2D-3 benchmark) and
Langtangen & Logg 2016 (Solving PDEs in Python, sec. 3.4). One time step from
:math:`(u^n, p^n)` to :math:`(u^{n+1}, p^{n+1})` (default ``"time_scheme": "bdf2"``):

1. tentative velocity :math:`u^*` by the second-order backward difference (BDF2), everything
   implicit at :math:`t^{n+1}` except the convecting velocity, extrapolated as
   :math:`b = 2u^n - u^{n-1}`, and the pressure :math:`p^n`:

   .. math:: \rho\Big(\frac{3u^*-4u^n+u^{n-1}}{2\Delta t},v\Big)
             + \rho\big((b\cdot\nabla)u^*, v\big) + \tfrac12\rho\big((\nabla\cdot b)\,u^*, v\big)
             + \mu(\nabla u^*,\nabla v) + (\nabla p^n, v) = 0

   (the standard incremental pressure-correction scheme of Guermond, Minev & Shen 2006, sec.
   3.2; the convection in Temam's skew-symmetric form, whose
   :math:`\tfrac12(\nabla\cdot b)` term vanishes for the exact solution and makes the
   convective term energy-neutral although the projected :math:`u^n` is only weakly
   divergence-free). ``"time_scheme": "crank-nicolson"`` keeps the former scheme
   (:math:`\bar u = (u^*+u^n)/2` in the convected and viscous terms, Adams--Bashforth
   :math:`b = \tfrac32u^n - \tfrac12u^{n-1}`, as in Oasis). The pressure term is
   written as :math:`-(p^n,\nabla\cdot v) + (p^n, v\cdot n)_{\Gamma_{out}}`, so the natural
   condition on the pressure outlets is :math:`\mu\partial_n u = 0` with the outlet pressure
   acting as the traction :math:`-p_{out}n` (the "do-nothing" outlet; without the boundary
   term a nonzero outlet pressure would push fluid *out* through the natural boundary, which
   made the earlier explicit resistance/Windkessel coupling diverge), plus the backflow
   stabilisation :math:`-\tfrac12\rho(\min(b\cdot n,0)\,u^*, v)_{\Gamma_{out}}`
   that removes the energy inflow of reversed flow (Bazilevs et al. 2009, Comput Methods Appl
   Mech Eng 198:3534; Moghadam et al. 2011, Comput Mech 48:277), and (default
   ``"stabilisation": "supg"``) the residual-based SUPG term

   .. math:: \sum_K \rho\,\tau_K\big((b\cdot\nabla)v,\;D_tu^*
             + (b\cdot\nabla)u^* - \nu\Delta u^* + \tfrac1\rho\nabla p^n\big)_K,
             \qquad \tau_K = \Big(\big(\tfrac{2}{\Delta t}\big)^2
             + \big(\tfrac{2|b|}{h_K/2}\big)^2 + 144\big(\tfrac{\nu}{(h_K/2)^2}\big)^2
             \Big)^{-1/2}

   (:math:`D_t` the BDF2 difference; streamline-upwind/Petrov--Galerkin, Brooks & Hughes
   1982, Comput Methods Appl Mech Eng
   32:199; the time-dependent :math:`\tau` of Shakib, Hughes & Johan 1991, Comput Methods
   Appl Mech Eng 89:141 and Tezduyar 1992, Adv Appl Mech 28:1, as used for blood flow by
   Bazilevs et al. 2007, Comput Methods Appl Mech Eng 197:173; :math:`h_K` the cell diameter,
   divided by the degree 2 of the velocity, Harari & Hughes 1992), with the whole strong
   residual (:math:`\Delta u^*` of the P2 field evaluated cell by cell), so the term
   vanishes for the exact solution: the scheme stays consistent, and the tube verifications
   (Poiseuille, Womersley) stay within their tolerances (a grad-div/LSIC term, Tezduyar 1992,
   was tried and dropped: it moved the Poiseuille WSS on the verification tube to -1.23 %);
2. pressure: :math:`(\nabla p^{n+1},\nabla q) = (\nabla p^n,\nabla q) -
   \frac{\gamma\rho}{\Delta t}(\nabla\cdot u^*, q)`, :math:`p^{n+1} = p_{out}` on pressure
   outlets (:math:`\gamma = 3/2` for BDF2, 1 for Crank--Nicolson);
3. velocity correction:
   :math:`(u^{n+1},v) = (u^*,v) - \frac{\Delta t}{\gamma\rho}(\nabla(p^{n+1}-p^n),v)`,
   with the Dirichlet velocities imposed again so the inlet flux is exact.

Resistance and Windkessel outlets are coupled implicitly: the outlet pressures
:math:`P^{n+1}` enter steps 1--3 linearly, so one step is :math:`(u, p) = (u^0, p^0) +
\sum_j P_j (w_j, d_j)` with the response :math:`(w_j, d_j)` to a unit pressure on outlet j
(one extra solve of each step per coupled outlet, skipped when there is a single pressure
outlet, where the response vanishes); the affine 0D laws :math:`P = aQ + b`
(:mod:`twinflow.physics.flow.outlets`) and :math:`Q = Q^0 + GP` are solved together each step
(Vignon-Clementel et al. 2006; Esmaily Moghadam et al. 2013; details at the code).

Why BDF2 and not Crank--Nicolson (measured on the demo carotid, 23k cells, 2026-12-06):
Crank--Nicolson's amplification factor tends to :math:`-1` for stiff modes, so
under-resolved modes (cell Courant numbers of 10-50 in the small cells of the bifurcation at
the demo's time steps) are not damped; with it the demo's velocity at the bifurcation grew
to 4-10 m/s at peak systole (inflow peak 23 mL/s, cross-section mean ~1 m/s) and the run
diverged after peak systole at every time step tried (8, 4 and 2 ms; with and without SUPG,
with the skew-symmetric form, on meshes with and without small cells). BDF2 is A-stable
with an amplification factor tending to 0 (L-stable), damps those modes and keeps second
order: on the same mesh and settings the maximum speed follows the inflow (1.5 m/s at peak
systole, falling with the flow; ``docs/verification-carotid.md``).

Why this scheme: it is second order in time for the velocity, needs three linear solves per step
of which two have constant matrices (factorised or preconditioned once), treats the linearised
convection implicitly (no explicit CFL limit; accuracy still asks for Courant numbers of order
one), and is the standard, well-verified scheme
of the FEniCS community for cardiovascular flows at the Reynolds numbers of a carotid
bifurcation (a few hundred; e.g. Oasis, Mortensen & Valen-Sendstad 2015; VaMPy, Kjeldsberg et al.
2023); inf-sup stable P2/P1 needs no stabilisation parameter, and P2 velocity gives a linear
gradient for the wall shear stress.

Why SUPG: plain Galerkin convection is enough on meshes that resolve the flow; the demo
carotid mesh does not:
cells capped at radius/3 (ICA ~0.7 mm, CCA ~1.7 mm), ICA Reynolds number ~1000 at peak
systole, so the cell Peclet number :math:`|u|h/2\nu` reaches ~400 and the Courant number
:math:`|u|\Delta t/h` ~15-20 in the small cells of the crease where the daughters join the
CCA. Without stabilisation the unresolved convection made the step-1 GMRES iterations grow
from ~20 to 100-270 from t = 0.1 s on and break down at t = 0.17 s (dt 2, 4 and 8 ms);
with SUPG step 1 needs ~35 iterations through peak systole. No turbulence model is used
(a simplification listed in the summary).

Linear solvers (PETSc): step 1 GMRES + block Jacobi/ILU(0) (matrix reassembled each step;
if ILU(0) fails, as on a demo mesh with a 5.4 degree sliver at the bifurcation where the
preconditioned residual stagnated at step 2, the step is redone and the rest of the run uses
ILU(1) blocks, noted in the summary's timing),
step 2 LU with MUMPS (factorised once), step 3 CG + Jacobi; Krylov tolerances 1e-10
(relative) so that results
agree between rank counts to far below 1e-6. ``"linear_solver": "direct"`` uses MUMPS everywhere.

Outputs of :func:`solve_flow` (in ``out_dir``): ``fields/{velocity,pressure,wss,indices}.bp``
(VTX/ADIOS2, open in ParaView), ``series.csv`` (t, inlet/outlet flows and mean pressures,
area-averaged WSS), ``probes.csv`` (velocity and pressure at the probe points),
``summary.json`` (TAWSS/OSI/RRT statistics, pressure drop, flow split, simplifications),
``tawss.png`` / ``osi.png`` (pyvista, off screen).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import numpy.typing as npt
import ufl
from dolfinx import fem, geometry
from dolfinx import mesh as dmesh
from dolfinx.fem import petsc as fem_petsc
from dolfinx.io import VTXWriter, XDMFFile
from mpi4py import MPI
from petsc4py import PETSc

from twinflow.errors import InputError, TwinflowError
from twinflow.geometry import tags
from twinflow.io import canonical_json, write_json_atomic, write_text_atomic
from twinflow.physics.flow import womersley
from twinflow.physics.flow.hemodynamics import IndexAccumulator, WallShearStressProjector
from twinflow.physics.flow.inflow import FlowWaveform, waveform_from_settings
from twinflow.physics.flow.outlets import (
    FlowSplitOutlet,
    OutletModel,
    PressureOutlet,
    outlet_from_settings,
)

#: Blood, Newtonian approximation (reference-data.md): density (kg/m^3), viscosity (Pa s).
BLOOD_DENSITY: float = 1050.0
BLOOD_VISCOSITY: float = 3.5e-3
#: Atherogenic low-shear threshold (Malek et al. 1999, JAMA 282:2035), Pa.
LOW_TAWSS_PA: float = 0.4

SIMPLIFICATIONS: tuple[str, ...] = (
    "Newtonian blood (constant viscosity)",
    "rigid wall (no fluid-structure interaction)",
    "no turbulence model (laminar flow assumed); convection stabilised by SUPG (consistent, "
    "residual-based) unless settings.stabilisation is none; the demo mesh (~1 mm cells) and "
    "time step (4 ms) do not resolve transitional flow after peak systole: BDF2 damps the "
    "unresolved scales (numerical dissipation)",
    "outlets as lumped 0D models (pressure, resistance, 3-element Windkessel) or a prescribed "
    "flow split with a fully developed velocity profile",
    "inlet velocity profile of fully developed (Womersley) flow in a circle of the inlet's area",
)


@dataclass(slots=True)
class FlowSettings:
    """Solver settings (SI units). Built from a plain dict by :meth:`from_dict`."""

    density: float = BLOOD_DENSITY
    viscosity: float = BLOOD_VISCOSITY
    time_step: float = 1.0e-3
    cycles: int = 3
    waveform: FlowWaveform | None = None
    inflow_profile: str = "womersley"
    inlet_tag: int = tags.INLET
    wall_tag: int = tags.WALL
    outlets: dict[int, OutletModel] = field(default_factory=dict)
    linear_solver: str = "krylov"
    krylov_rtol: float = 1.0e-10
    stabilisation: str = "supg"
    convection: str = "skew-symmetric"
    time_scheme: str = "bdf2"
    log_every: int = 0
    output_every: int = 0
    probes: list[list[float]] = field(default_factory=list)
    render: bool = True
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> float:
        assert self.waveform is not None
        return self.waveform.period

    @property
    def steps_per_cycle(self) -> int:
        return int(round(self.period / self.time_step))

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "settings") -> FlowSettings:
        known = {"density", "viscosity", "time_step", "cycles", "period", "inflow",
                 "inflow_profile", "inlet_tag", "wall_tag", "outlets", "linear_solver",
                 "krylov_rtol", "output_every", "probes", "render", "max_steps",
                 "stabilisation", "convection", "time_scheme", "log_every",
                 "time_step_requested", "cca_segment_diameters"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{where}: unknown setting(s) {', '.join(unknown)}")
        s = cls(raw=dict(data))
        try:
            for key in ("density", "viscosity", "time_step", "krylov_rtol"):
                if key in data:
                    setattr(s, key, float(data[key]))
            for key in ("cycles", "inlet_tag", "wall_tag", "output_every", "log_every"):
                if key in data:
                    setattr(s, key, int(data[key]))
            s.render = bool(data.get("render", True))
            s.probes = [[float(c) for c in p] for p in data.get("probes", [])]
        except (TypeError, ValueError) as err:
            raise InputError(f"{where}: {err}") from None
        for key in ("density", "viscosity", "time_step"):
            if not getattr(s, key) > 0.0:
                raise InputError(f"{where}: {key} must be > 0")
        if s.cycles < 1:
            raise InputError(f"{where}: cycles must be >= 1")
        if any(len(p) != 3 for p in s.probes):
            raise InputError(f"{where}: probes must be [x, y, z] points")
        period = data.get("period")
        s.waveform = waveform_from_settings(data.get("inflow"),
                                            float(period) if period else None, where)
        if not s.waveform.period > 0.0:
            raise InputError(f"{where}: the period must be > 0")
        ratio = s.waveform.period / s.time_step
        if abs(ratio - round(ratio)) > 1e-6 * ratio:
            raise InputError(f"{where}: period {s.waveform.period} s is not a whole number "
                             f"of time steps {s.time_step} s")
        s.inflow_profile = str(data.get("inflow_profile", "womersley"))
        if s.inflow_profile not in ("womersley", "parabolic", "plug"):
            raise InputError(f"{where}: inflow_profile must be womersley, parabolic or plug")
        s.stabilisation = str(data.get("stabilisation", "supg"))
        if s.stabilisation not in ("supg", "none"):
            raise InputError(f"{where}: stabilisation must be supg or none")
        s.convection = str(data.get("convection", "skew-symmetric"))
        if s.convection not in ("skew-symmetric", "convective"):
            raise InputError(f"{where}: convection must be skew-symmetric or convective")
        s.time_scheme = str(data.get("time_scheme", "bdf2"))
        if s.time_scheme not in ("bdf2", "crank-nicolson"):
            raise InputError(f"{where}: time_scheme must be bdf2 or crank-nicolson")
        s.linear_solver = str(data.get("linear_solver", "krylov"))
        if s.linear_solver not in ("krylov", "direct"):
            raise InputError(f"{where}: linear_solver must be krylov or direct")
        outlets = data.get("outlets", {str(tags.OUTLET): {"model": "pressure", "value": 0.0}})
        try:
            s.outlets = {int(tag): outlet_from_settings(spec, f"{where}: outlets.{tag}")
                         for tag, spec in outlets.items()}
        except (TypeError, ValueError, AttributeError):
            raise InputError(f"{where}: outlets must map facet tags to outlet models") from None
        if not s.outlets:
            raise InputError(f"{where}: at least one outlet is needed")
        if all(isinstance(m, FlowSplitOutlet) for m in s.outlets.values()):
            raise InputError(f"{where}: at least one outlet needs a pressure-type model")
        split = sum(m.fraction for m in s.outlets.values() if isinstance(m, FlowSplitOutlet))
        if split >= 1.0:
            raise InputError(f"{where}: prescribed flow fractions sum to {split} >= 1")
        if s.inlet_tag in s.outlets or s.wall_tag in s.outlets:
            raise InputError(f"{where}: an outlet tag equals the inlet or wall tag")
        return s


@dataclass(slots=True)
class Opening:
    """Geometry of a planar opening (inlet or outlet), gathered over all ranks."""

    tag: int
    area: float
    centroid: npt.NDArray[np.float64]
    normal: npt.NDArray[np.float64]  # unit, pointing out of the fluid

    @property
    def radius(self) -> float:
        """Radius of the circle of the same area (m)."""
        return math.sqrt(self.area / math.pi)


def measure_opening(mesh: dmesh.Mesh, ds: ufl.Measure, tag: int) -> Opening:
    """Area, centroid and mean outward normal of the facets tagged ``tag``."""
    comm = mesh.comm
    x = ufl.SpatialCoordinate(mesh)
    n = ufl.FacetNormal(mesh)

    def integral(expr: ufl.core.expr.Expr) -> float:
        return comm.allreduce(fem.assemble_scalar(fem.form(expr * ds(tag))), op=MPI.SUM)

    area = integral(fem.Constant(mesh, PETSc.ScalarType(1.0)))
    if not area > 0.0:
        raise InputError(f"mesh: no facets tagged {tag} (or zero area)")
    centroid = np.array([integral(x[i]) for i in range(3)]) / area
    normal = np.array([integral(n[i]) for i in range(3)])
    normal /= np.linalg.norm(normal)
    return Opening(tag, area, centroid, normal)


class OpeningProfile:
    r"""Dirichlet velocity on an opening carrying a prescribed flow waveform.

    Each harmonic :math:`k` of the waveform gets the Womersley profile of a circle of the
    opening's area (:func:`twinflow.physics.flow.womersley.profile_per_unit_flow` with
    :math:`\alpha_k`), centred on the opening's centroid, along the opening's normal (inward for
    the inlet, outward for a flow-split outlet). The discrete flux of every harmonic's profile is
    normalised to exactly one, so the imposed flow rate equals :math:`Q(t)` to round-off also
    on non-circular or faceted openings.
    """

    def __init__(self, V: fem.FunctionSpace, ds: ufl.Measure, facet_tags: dmesh.MeshTags,
                 opening: Opening, waveform: FlowWaveform, profile: str, density: float,
                 viscosity: float, inflow: bool,
                 wall_nodes: npt.NDArray[np.int32] | None = None) -> None:
        mesh = V.mesh
        self.function = fem.Function(V, name=f"bc_{opening.tag}")
        self.waveform = waveform
        fdim = mesh.topology.dim - 1
        self.nodes = fem.locate_dofs_topological(V, fdim, facet_tags.find(opening.tag))
        self.direction = -opening.normal if inflow else opening.normal
        coords = V.tabulate_dof_coordinates()[self.nodes]
        rel = coords - opening.centroid
        radial = rel - np.outer(rel @ opening.normal, opening.normal)
        s = np.clip(np.linalg.norm(radial, axis=1) / opening.radius, 0.0, 1.0)
        n_harm = len(waveform.harmonics)
        shapes = np.zeros((len(self.nodes), n_harm), dtype=np.complex128)
        for k in range(n_harm):
            if profile == "plug":
                shapes[:, k] = 1.0
            else:
                alpha = 0.0 if (k == 0 or profile == "parabolic") else womersley.womersley_number(
                    opening.radius, k * waveform.omega, density, viscosity)
                shapes[:, k] = womersley.profile_per_unit_flow(s, alpha)
        if wall_nodes is not None:  # rim nodes get the no-slip value: leave them out of the
            shapes[np.isin(self.nodes, wall_nodes)] = 0.0  # profile so the flux stays exact
        # flux of each harmonic's real and imaginary part through the discrete opening
        flux_form = fem.form(ufl.dot(self.function, ufl.FacetNormal(mesh)) * ds(opening.tag))
        sign = -1.0 if inflow else 1.0  # positive flow = into the domain at the inlet
        for k in range(n_harm):
            flux = 0.0 + 0.0j
            for part, unit in ((shapes[:, k].real, 1.0), (shapes[:, k].imag, 1.0j)):
                self._set_nodes(part)
                value = mesh.comm.allreduce(fem.assemble_scalar(flux_form), op=MPI.SUM)
                flux += unit * sign * value
            if abs(flux) == 0.0:
                raise InputError(f"mesh: opening {opening.tag} carries no flux "
                                 "(degenerate facets?)")
            shapes[:, k] /= flux
        self.shapes = shapes
        self._set_nodes(np.zeros(len(self.nodes)))

    def _set_nodes(self, speed: npt.NDArray[np.float64]) -> None:
        values = self.function.x.array.reshape(-1, 3)
        values[self.nodes] = np.outer(speed, self.direction)

    def update(self, t: float, scale: float = 1.0) -> float:
        """Set the profile for time ``t`` (flow ``scale * Q(t)``); returns that flow."""
        k = np.arange(len(self.waveform.harmonics))
        phasor = self.waveform.harmonics * np.exp(1j * self.waveform.omega * k * t) * scale
        self._set_nodes(np.real(self.shapes @ phasor))
        return float(np.real(phasor.sum()))


#: Constant of the viscous part of tau (Shakib, Hughes & Johan 1991, Comput Methods Appl Mech
#: Eng 89:141, eq. 64: tau^-2 = (2/dt)^2 + (2|u|/h)^2 + 9 (4 nu/h^2)^2, i.e. C = 9 * 16).
SUPG_VISCOUS_CONSTANT: float = 144.0
#: The element length in tau is h / p for Lagrange degree p = 2 (P2 velocity; Harari & Hughes
#: 1992, Comput Methods Appl Mech Eng 98:411; Codina 2002, Comput Methods Appl Mech Eng
#: 191:4295): the nodal spacing, not the cell diameter, sets the resolved scale.
SUPG_ELEMENT_DEGREE: float = 2.0


def supg_tau(b: ufl.core.expr.Expr, k: fem.Constant, nu: ufl.core.expr.Expr,
             h: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    r"""SUPG parameter :math:`\tau = ((2/\Delta t)^2 + (2|b|/h)^2 + C_I(\nu/h^2)^2)^{-1/2}`."""
    return ((2.0 / k) ** 2 + 4.0 * ufl.dot(b, b) / h**2
            + SUPG_VISCOUS_CONSTANT * (nu / h**2) ** 2) ** -0.5


def cell_diameter(mesh: dmesh.Mesh) -> fem.Function:
    """Largest vertex distance of each cell (``Mesh.h``) as a DG0 function, for owned and ghost
    cells alike (``ufl.CellDiameter`` is not available on the curved tube meshes)."""
    W0 = fem.functionspace(mesh, ("DG", 0))
    h = fem.Function(W0, name="cell_diameter")
    cell_map = mesh.topology.index_map(mesh.topology.dim)
    cells = np.arange(cell_map.size_local + cell_map.num_ghosts, dtype=np.int32)
    h.x.array[W0.dofmap.list[cells, 0]] = mesh.h(mesh.topology.dim, cells)
    return h


def supg_term(v: ufl.Argument, dudt: ufl.core.expr.Expr, u_imp: ufl.core.expr.Expr,
              p_n: fem.Function, b: ufl.core.expr.Expr, k: fem.Constant, rho: fem.Constant,
              mu: fem.Constant, h: fem.Function, dx: ufl.Measure) -> ufl.Form:
    r"""Residual-based SUPG term of the tentative-velocity step (module docstring).

    :math:`\sum_K \rho\,\tau_K\big((b\cdot\nabla)v,\ r\big)_K` with the full strong
    momentum residual per unit mass :math:`r = D_t u + (b\cdot\nabla)u_\mathrm{imp}
    - \nu\Delta u_\mathrm{imp} + \nabla p^n/\rho` (``dudt`` the discrete time derivative
    and ``u_imp`` the implicit velocity of the time scheme; :math:`\Delta u` of the P2 field
    evaluated cellwise, exact on affine cells), so the term vanishes for the exact solution.
    """
    nu = mu / rho
    tau = supg_tau(b, k, nu, h / SUPG_ELEMENT_DEGREE)
    residual = (dudt + ufl.grad(u_imp) * b - nu * ufl.div(ufl.grad(u_imp))
                + ufl.grad(p_n) / rho)
    return rho * tau * ufl.dot(ufl.grad(v) * b, residual) * dx


def read_mesh(mesh_path: Path, comm: MPI.Comm) -> tuple[dmesh.Mesh, dmesh.MeshTags]:
    """Read the mesh ``mesh`` and facet tags ``facet_tags`` from an XDMF file."""
    if not Path(mesh_path).is_file():
        raise InputError(f"{mesh_path}: mesh file not found")
    try:
        with XDMFFile(comm, str(mesh_path), "r") as xdmf:
            mesh = xdmf.read_mesh(name=tags.MESH_NAME)
            mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
            facet_tags = xdmf.read_meshtags(mesh, name=tags.FACET_TAGS_NAME)
    except RuntimeError as err:
        raise InputError(f"{mesh_path}: cannot read mesh and facet tags ({err})") from None
    return mesh, facet_tags


def _ksp(comm: MPI.Comm, A: PETSc.Mat, prefix: str, kind: str, pc: str, rtol: float) -> PETSc.KSP:
    ksp = PETSc.KSP().create(comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(A)
    if kind == "direct":
        ksp.setType("preonly")
        ksp.getPC().setType("lu")
        ksp.getPC().setFactorSolverType("mumps")
    else:
        ksp.setType(kind)
        ksp.getPC().setType(pc)
        ksp.setTolerances(rtol=rtol, atol=1e-30, max_it=2000)
        ksp.setInitialGuessNonzero(True)
    ksp.setFromOptions()
    return ksp


def _robust_step1_ksp(comm: MPI.Comm, A: PETSc.Mat, rtol: float) -> PETSc.KSP:
    """Step-1 GMRES with ILU(1) blocks (fallback when ILU(0) fails)."""
    opts = PETSc.Options()
    name = "ns_step1_sub_pc_factor_levels"
    own = not opts.hasName(name)
    if own:
        opts.setValue(name, 1)
    ksp = _ksp(comm, A, "ns_step1_", "gmres", "bjacobi", rtol)
    ksp.setUp()  # the sub-solvers read the option here
    ksp.getPC().setUp()
    if own:
        opts.delValue(name)
    return ksp


class ProbeSet:
    """Point evaluation of functions at fixed points, in parallel (value from one owner)."""

    def __init__(self, mesh: dmesh.Mesh, points: list[list[float]]) -> None:
        self.comm = mesh.comm
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        tree = geometry.bb_tree(mesh, mesh.topology.dim)
        cand = geometry.compute_collisions_points(tree, self.points)
        colliding = geometry.compute_colliding_cells(mesh, cand, self.points)
        self.local_index: list[int] = []
        self.cells: list[int] = []
        n_owned = mesh.topology.index_map(mesh.topology.dim).size_local
        for i in range(len(self.points)):
            links = colliding.links(i)
            owned = links[links < n_owned]
            if len(owned):
                self.local_index.append(i)
                self.cells.append(int(owned[0]))
        found = np.zeros(len(self.points), dtype=np.int32)
        found[self.local_index] = 1
        total = np.empty_like(found)
        self.comm.Allreduce(found, total, op=MPI.SUM)
        if len(self.points) and np.any(total == 0):
            missing = self.points[total == 0][0]
            raise InputError(f"settings: probe point {missing.tolist()} lies outside the mesh")

    def evaluate(self, functions: list[fem.Function]) -> npt.NDArray[np.float64] | None:
        """Values (n_points, sum of value sizes) on rank 0, None elsewhere."""
        width = sum(f.function_space.value_size for f in functions)
        local = np.zeros((len(self.points), width))
        rank_of = np.full(len(self.points), self.comm.size, dtype=np.int64)
        if self.local_index:
            pts = self.points[self.local_index]
            cells = np.asarray(self.cells, dtype=np.int32)
            local[self.local_index] = np.hstack([np.asarray(f.eval(pts, cells)).reshape(
                len(pts), -1) for f in functions])
            rank_of[self.local_index] = self.comm.rank
        owner = np.empty_like(rank_of)
        self.comm.Allreduce(rank_of, owner, op=MPI.MIN)
        local[owner != self.comm.rank] = 0.0
        total = np.zeros_like(local)
        self.comm.Reduce(local, total, op=MPI.SUM, root=0)
        return total if self.comm.rank == 0 else None


@dataclass(slots=True)
class _Series:
    header: list[str]
    rows: list[list[float]] = field(default_factory=list)

    def text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows([[f"{v:.12e}" for v in row] for row in self.rows])
        return buffer.getvalue()


def solve_flow(mesh_path: Path, settings: dict[str, Any], out_dir: Path,
               comm: MPI.Comm | None = None) -> Path:
    """Solve the pulsatile flow of ``settings`` on ``mesh_path``; returns ``summary.json``.

    ``settings`` (SI floats): density, viscosity, time_step, cycles, period, inflow (see
    :mod:`twinflow.physics.flow.inflow`), inflow_profile, outlets {tag: model} (see
    :mod:`twinflow.physics.flow.outlets`), inlet_tag, wall_tag, linear_solver (krylov|direct),
    output_every (steps between field outputs, 0: only the end of each cycle), probes
    [[x,y,z], ...], render (PNG renders). Several cycles are run; the last one is analysed.
    """
    comm = MPI.COMM_WORLD if comm is None else comm
    wall_start = time.perf_counter()
    cfg = FlowSettings.from_dict(settings)
    out_dir = Path(out_dir)
    mesh, facet_tags = read_mesh(Path(mesh_path), comm)
    gdim, tdim = mesh.geometry.dim, mesh.topology.dim
    if gdim != 3 or tdim != 3:
        raise InputError(f"{mesh_path}: a 3D volume mesh is needed (got tdim {tdim})")
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    # Fixed quadrature: degree 5 integrates the P2 convective term exactly on affine cells; the
    # automatic estimate grows with the geometry degree and would make assembly several times
    # dearer on second-order meshes for no gain in accuracy.
    dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": 5})
    n = ufl.FacetNormal(mesh)

    present = set().union(*[set(v.tolist()) for v in comm.allgather(np.unique(facet_tags.values))])
    for tag, what in [(cfg.inlet_tag, "inlet"), (cfg.wall_tag, "wall")] + [
            (t, "outlet") for t in cfg.outlets]:
        if tag not in present:
            raise InputError(f"{mesh_path}: no facets with the {what} tag {tag} "
                             f"(tags present: {sorted(present)})")

    V = fem.functionspace(mesh, ("Lagrange", 2, (gdim,)))
    Q = fem.functionspace(mesh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    p, q = ufl.TrialFunction(Q), ufl.TestFunction(Q)
    u_ = fem.Function(V, name="velocity")  # u^{n+1} (after correction)
    u_s = fem.Function(V, name="tentative_velocity")
    u_n = fem.Function(V)
    u_n1 = fem.Function(V)
    p_ = fem.Function(Q, name="pressure_tilde")  # p~^{n+1} (see the 0D coupling below)
    p_full = fem.Function(Q, name="pressure")  # p~ + sum_j P_j phi_j: the pressure
    p_n = fem.Function(Q)
    dt = cfg.time_step
    k = fem.Constant(mesh, PETSc.ScalarType(dt))
    rho = fem.Constant(mesh, PETSc.ScalarType(cfg.density))
    mu = fem.Constant(mesh, PETSc.ScalarType(cfg.viscosity))

    # --- boundary conditions -----------------------------------------------------------
    fdim = tdim - 1
    inlet = measure_opening(mesh, ds, cfg.inlet_tag)
    wall_nodes = fem.locate_dofs_topological(V, fdim, facet_tags.find(cfg.wall_tag))
    inflow = OpeningProfile(V, ds, facet_tags, inlet, cfg.waveform, cfg.inflow_profile,
                            cfg.density, cfg.viscosity, inflow=True, wall_nodes=wall_nodes)
    bcs_u = [fem.dirichletbc(inflow.function, inflow.nodes)]
    split_profiles: dict[int, tuple[OpeningProfile, float]] = {}
    pressure_outlets: dict[int, tuple[OutletModel, fem.Constant]] = {}
    bcs_p = []
    openings = {cfg.inlet_tag: inlet}
    for tag, model in sorted(cfg.outlets.items()):
        opening = measure_opening(mesh, ds, tag)
        openings[tag] = opening
        if isinstance(model, FlowSplitOutlet):
            prof = OpeningProfile(V, ds, facet_tags, opening, cfg.waveform, cfg.inflow_profile,
                                  cfg.density, cfg.viscosity, inflow=False,
                                  wall_nodes=wall_nodes)
            split_profiles[tag] = (prof, model.fraction)
            bcs_u.append(fem.dirichletbc(prof.function, prof.nodes))
        else:
            value = fem.Constant(mesh, PETSc.ScalarType(0.0))
            pressure_outlets[tag] = (model, value)
            dofs = fem.locate_dofs_topological(Q, fdim, facet_tags.find(tag))
            bcs_p.append(fem.dirichletbc(value, dofs, Q))
    bcs_u.append(fem.dirichletbc(np.zeros(gdim, dtype=PETSc.ScalarType), wall_nodes, V))

    # --- IPCS forms (module docstring) ----------------------------------------------------
    if cfg.time_scheme == "bdf2":
        # BDF2: D_t u = (3u - 4u^n + u^{n-1}) / (2 dt), everything else at t^{n+1}, convecting
        # velocity extrapolated to t^{n+1}; projection factor 3/(2 dt) (Guermond et al. 2006)
        dudt = (1.5 * u - 2.0 * u_n + 0.5 * u_n1) / k
        u_bar = u
        b_ext = 2.0 * u_n - u_n1
        gamma = 1.5
    else:  # Crank--Nicolson about t^{n+1/2}, Adams--Bashforth convecting velocity
        dudt = (u - u_n) / k
        u_bar = 0.5 * (u + u_n)
        b_ext = 1.5 * u_n - 0.5 * u_n1
        gamma = 1.0
    h_cell = cell_diameter(mesh)
    F1 = (rho * ufl.dot(dudt, v) * dx
          + rho * ufl.dot(ufl.dot(b_ext, ufl.nabla_grad(u_bar)), v) * dx
          + mu * ufl.inner(ufl.grad(u_bar), ufl.grad(v)) * dx
          - p_n * ufl.div(v) * dx)
    if cfg.convection == "skew-symmetric":
        F1 += 0.5 * rho * ufl.div(b_ext) * ufl.dot(u_bar, v) * dx
    if pressure_outlets:
        ds_out = ds(tuple(sorted(pressure_outlets)))
        # together with -(p^n, div v) this is (grad p^n, v): the outlet traction is the
        # outlet pressure p^n n (zero-pressure outlets: the term vanishes)
        F1 += p_n * ufl.dot(v, n) * ds_out
        F1 -= 0.5 * rho * ufl.min_value(ufl.dot(b_ext, n), 0.0) * ufl.dot(u_bar, v) * ds_out
    if cfg.stabilisation == "supg":
        # degree 3: the stabilisation term needs no exact integration (it is consistent at
        # every quadrature point) and degree 5 would double the cost of assembling A1
        dx_supg = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": 3})
        F1 += supg_term(v, dudt, u_bar, p_n, b_ext, k, rho, mu, h_cell, dx_supg)
    a1 = fem.form(ufl.lhs(F1))
    L1 = fem.form(ufl.rhs(F1))
    a2 = fem.form(ufl.dot(ufl.grad(p), ufl.grad(q)) * dx)
    L2 = fem.form(ufl.dot(ufl.grad(p_n), ufl.grad(q)) * dx
                 - gamma * rho / k * ufl.div(u_s) * q * dx)
    a3 = fem.form(rho * ufl.dot(u, v) * dx)
    L3 = fem.form(rho * ufl.dot(u_s, v) * dx
                 - k / gamma * ufl.dot(ufl.grad(p_ - p_n), v) * dx)

    A1 = fem_petsc.create_matrix(a1)
    A2 = fem_petsc.assemble_matrix(a2, bcs=bcs_p)
    A2.assemble()
    A3 = fem_petsc.assemble_matrix(a3, bcs=bcs_u)
    A3.assemble()
    b1, b2, b3 = (fem_petsc.create_vector(V), fem_petsc.create_vector(Q),
                  fem_petsc.create_vector(V))
    direct = cfg.linear_solver == "direct"
    rtol = cfg.krylov_rtol
    ksp1 = _ksp(comm, A1, "ns_step1_", "direct" if direct else "gmres", "bjacobi", rtol)
    ksp2 = _ksp(comm, A2, "ns_step2_", "direct", "", rtol)
    ksp3 = _ksp(comm, A3, "ns_step3_", "direct" if direct else "cg", "jacobi", rtol)

    # --- monitors ---------------------------------------------------------------------
    def scalar(form: fem.Form) -> float:
        return comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)

    flux_forms = {tag: fem.form(ufl.dot(u_, n) * ds(tag)) for tag in openings}
    pressure_forms = {tag: fem.form(p_full * ds(tag)) for tag in openings}
    wss = WallShearStressProjector(u_, mu, facet_tags, cfg.wall_tag)
    wall_area = scalar(fem.form(fem.Constant(mesh, PETSc.ScalarType(1.0)) * ds(cfg.wall_tag)))
    wss_mean_forms = [fem.form(wss.tau[i] * ds(cfg.wall_tag)) for i in range(gdim)]
    wss_mag_form = fem.form(ufl.sqrt(ufl.dot(wss.tau, wss.tau)) * ds(cfg.wall_tag))
    # cell Courant |u| dt / h and cell Peclet |u| h / (2 nu) at the cell midpoints (DG0)
    W0 = h_cell.function_space
    speed = ufl.sqrt(ufl.dot(u_, u_))
    cell_numbers = [(fem.Function(W0), fem.Expression(expr, W0.element.interpolation_points))
                    for expr in (speed * k / h_cell, speed * h_cell * rho / (2.0 * mu))]
    n_owned_cells = mesh.topology.index_map(tdim).size_local
    cell_midpoints = dmesh.compute_midpoints(mesh, tdim, np.arange(n_owned_cells,
                                                                   dtype=np.int32))
    max_numbers = {"courant": 0.0, "peclet": 0.0}
    outlet_tags = sorted(cfg.outlets)
    header = (["t", "q_inlet", "q_inlet_prescribed"] + [f"q_outlet_{t}" for t in outlet_tags]
              + ["p_inlet"] + [f"p_outlet_{t}" for t in outlet_tags]
              + ["wss_mean_magnitude", "wss_mean_x", "wss_mean_y", "wss_mean_z"])
    series = _Series(header)
    probes = ProbeSet(mesh, cfg.probes) if cfg.probes else None
    probe_series = _Series(["t"] + [f"{name}_{i}" for i in range(len(cfg.probes))
                                    for name in ("ux", "uy", "uz", "p")])

    fields_dir = out_dir / "fields"
    if comm.rank == 0:
        fields_dir.mkdir(parents=True, exist_ok=True)
    comm.barrier()
    writers = [VTXWriter(comm, fields_dir / "velocity.bp", [u_], engine="BP4"),
               VTXWriter(comm, fields_dir / "pressure.bp", [p_full], engine="BP4"),
               VTXWriter(comm, fields_dir / "wss.bp", [wss.tau], engine="BP4")]

    steps_per_cycle = cfg.steps_per_cycle
    n_steps = steps_per_cycle * cfg.cycles
    max_steps = settings.get("max_steps")
    if max_steps is not None:  # benchmarks: time a few steps only
        n_steps = min(n_steps, int(max_steps))
    analysis_start = n_steps - steps_per_cycle
    n_wall_nodes = wss.tau.x.array.size // gdim
    indices = IndexAccumulator(n_wall_nodes, gdim)
    # --- implicit 0D coupling (outlets.py) -----------------------------------------------
    # The pressure is split as p = p~ + sum_j P_j phi_j over the 0D-coupled outlets j
    # (resistance, Windkessel): phi_j is discrete-harmonic, 1 on outlet j and 0 on the other
    # pressure outlets; p~ (stored in p_n) vanishes there. Step 1 uses p~^n + sum_j P_j^{n+1}
    # phi_j, i.e. the *new* outlet pressures, step 2 solves for the increment of p~, step 3
    # projects. A step is linear in P^{n+1}: (u, p~) = (u^0, p~^0) + sum_j P_j (w_j, d_j), where
    # (u^0, p~^0) is the step with P = 0 and (w_j, d_j) the response to P_j = 1 (step 1 with
    # the traction of phi_j, then steps 2-3 with zero data). The outlet flows are
    # Q = Q^0 + G P, G_ij = flux_i(w_j), and (I - diag(a) G) P = diag(a) Q^0 + b closes the
    # affine 0D laws P = a Q + b exactly each step (no lag; constant-pressure outlets keep
    # their value in the step-2 Dirichlet data as before).
    coupled = sorted(tag for tag, (model, _) in pressure_outlets.items()
                     if not isinstance(model, PressureOutlet))
    fixed_values = {tag: (model.value if isinstance(model, PressureOutlet) else 0.0)
                    for tag, (model, _) in pressure_outlets.items()}
    phis: list[fem.Function] = []
    chi_rhs: list[PETSc.Vec] = []
    responses: list[tuple[fem.Function, fem.Function, fem.Function]] = []
    for tag_j in coupled:
        for tag, (_, value) in pressure_outlets.items():
            value.value = 1.0 if tag == tag_j else 0.0
        phi = fem.Function(Q, name=f"phi_{tag_j}")
        with b2.localForm() as loc:
            loc.set(0.0)
        fem_petsc.apply_lifting(b2, [a2], [bcs_p])
        b2.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b2, bcs_p)
        ksp2.solve(b2, phi.x.petsc_vec)
        phi.x.scatter_forward()
        phis.append(phi)
        rhs = fem_petsc.create_vector(V)
        with rhs.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(rhs, fem.form(-ufl.dot(ufl.grad(phi), v) * dx))
        rhs.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(rhs, bcs_u, alpha=0.0)  # homogeneous velocity BCs
        chi_rhs.append(rhs)
        responses.append((fem.Function(V), fem.Function(Q), fem.Function(V)))
    for tag, (_, value) in pressure_outlets.items():
        value.value = fixed_values[tag]
    if coupled:
        chi_ = fem.Function(V)
        d_ = fem.Function(Q)
        L2r = fem.form(-gamma * rho / k * ufl.div(chi_) * q * dx)
        L3r = fem.form(rho * ufl.dot(chi_, v) * dx
                        - k / gamma * ufl.dot(ufl.grad(d_), v) * dx)
    out_flux_forms = {tag: fem.form(ufl.dot(u_, n) * ds(tag)) for tag in coupled}
    response_flux_forms = [[fem.form(ufl.dot(w, n) * ds(tag)) for tag in coupled]
                           for (_, _, w) in responses]

    def respond(j: int, t: float) -> None:
        """Response (chi_j, d_j, w_j) of one step to a unit pressure on coupled outlet j."""
        chi, d, w = responses[j]
        ksp1.solve(chi_rhs[j], chi.x.petsc_vec)  # A1 of this step; last chi as initial guess
        _check(ksp1, "outlet response (step 1)", t)
        iterations["step1"] += ksp1.getIterationNumber()
        chi.x.scatter_forward()
        chi_.x.array[:] = chi.x.array
        with b2.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b2, L2r)
        b2.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b2, bcs_p, alpha=0.0)
        ksp2.solve(b2, d.x.petsc_vec)
        d.x.scatter_forward()
        d_.x.array[:] = d.x.array
        with b3.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b3, L3r)
        b3.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b3, bcs_u, alpha=0.0)
        ksp3.solve(b3, w.x.petsc_vec)
        _check(ksp3, "outlet response (step 3)", t)
        iterations["step3"] += ksp3.getIterationNumber()
        w.x.scatter_forward()

    outlet_pressure = {tag: 0.0 for tag in coupled}
    fallback_at: float | None = None
    iterations = {"step1": 0, "step3": 0}
    setup_s = time.perf_counter() - wall_start
    loop_start = time.perf_counter()
    for step in range(1, n_steps + 1):
        t = step * dt
        q_in = inflow.update(t)
        for prof, fraction in split_profiles.values():
            prof.update(t, fraction)
        # step 1: tentative velocity
        A1.zeroEntries()
        fem_petsc.assemble_matrix(A1, a1, bcs=bcs_u)
        A1.assemble()
        with b1.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b1, L1)
        fem_petsc.apply_lifting(b1, [a1], [bcs_u])
        b1.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b1, bcs_u)
        ksp1.solve(b1, u_s.x.petsc_vec)
        if ksp1.getConvergedReason() < 0 and not direct and fallback_at is None:
            # ILU(0) blocks can be unstable on meshes with sliver cells (the Krylov residual
            # stagnates): from here on use ILU(1) blocks (see the module docstring)
            fallback_at = t
            ksp1.destroy()
            ksp1 = _robust_step1_ksp(comm, A1, rtol)
            u_s.x.array[:] = u_n.x.array
            ksp1.solve(b1, u_s.x.petsc_vec)
        _check(ksp1, "tentative velocity", t)
        iterations["step1"] += ksp1.getIterationNumber()
        u_s.x.scatter_forward()
        # step 2: pressure
        with b2.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b2, L2)
        fem_petsc.apply_lifting(b2, [a2], [bcs_p])
        b2.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b2, bcs_p)
        ksp2.solve(b2, p_.x.petsc_vec)
        _check(ksp2, "pressure", t)
        p_.x.scatter_forward()
        # step 3: velocity correction
        with b3.localForm() as loc:
            loc.set(0.0)
        fem_petsc.assemble_vector(b3, L3)
        fem_petsc.apply_lifting(b3, [a3], [bcs_u])
        b3.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b3, bcs_u)
        u_.x.array[:] = u_s.x.array
        ksp3.solve(b3, u_.x.petsc_vec)
        _check(ksp3, "velocity correction", t)
        iterations["step3"] += ksp3.getIterationNumber()
        u_.x.scatter_forward()
        if coupled:  # implicit 0D coupling (see above)
            if len(pressure_outlets) > 1:  # one pressure outlet: phi = 1, no response
                for j in range(len(coupled)):
                    respond(j, t)
            q0 = np.array([scalar(out_flux_forms[tag]) for tag in coupled])
            influence = np.array([[scalar(f) for f in response_flux_forms[j]]
                                  for j in range(len(coupled))]).T  # G_ij = flux_i(w_j)
            ab = np.array([pressure_outlets[tag][0].affine(dt) for tag in coupled])
            system = np.eye(len(coupled)) - ab[:, :1] * influence
            p_out = np.linalg.solve(system, ab[:, 0] * q0 + ab[:, 1])
            q_out = q0 + influence @ p_out
            for j, tag in enumerate(coupled):
                _, d, w = responses[j]
                p_.x.array[:] += p_out[j] * d.x.array
                u_.x.array[:] += p_out[j] * w.x.array
                outlet_pressure[tag] = pressure_outlets[tag][0].advance(float(q_out[j]), dt)
        # shift time levels
        u_n1.x.array[:] = u_n.x.array
        u_n.x.array[:] = u_.x.array
        p_n.x.array[:] = p_.x.array  # p~^{n+1}
        p_full.x.array[:] = p_.x.array
        for j, tag in enumerate(coupled):
            p_full.x.array[:] += outlet_pressure[tag] * phis[j].x.array

        flows = {tag: scalar(form) for tag, form in flux_forms.items()}
        if not all(math.isfinite(f) for f in flows.values()):
            raise TwinflowError(f"{mesh_path}: the flow solution diverged at t = {t:.4g} s "
                                "(reduce time_step or refine the mesh)")
        pressures = {tag: scalar(form) / openings[tag].area
                     for tag, form in pressure_forms.items()}
        numbers = []
        for (fn, expr), name in zip(cell_numbers, ("courant", "peclet"), strict=True):
            fn.interpolate(expr)
            numbers.append(comm.allreduce(float(fn.x.array[:n_owned_cells].max(initial=0.0)),
                                          op=MPI.MAX))
            max_numbers[name] = max(max_numbers[name], numbers[-1])
        if cfg.log_every > 0 and step % cfg.log_every == 0:
            local = cell_numbers[0][0].x.array[:n_owned_cells]
            i_max = int(np.argmax(local)) if local.size else -1
            where = comm.allgather((float(local[i_max]) if local.size else -1.0,
                                    cell_midpoints[i_max].tolist() if local.size else None))
            at = max(where, key=lambda w: w[0])[1]
            speed_max = comm.allreduce(float((local * h_cell.x.array[:n_owned_cells]).max(
                initial=0.0)) / dt, op=MPI.MAX)
            if comm.rank == 0:
                print(f"step {step} t={t:.4f} q_in={q_in:.4e} courant_max={numbers[0]:.3f} "
                      f"peclet_max={numbers[1]:.1f} speed_max={speed_max:.3f} "
                      f"at_mm={np.round(np.array(at) * 1e3, 1)} "
                      f"it1={ksp1.getIterationNumber()} it3={ksp3.getIterationNumber()} "
                      f"wall_s={time.perf_counter() - loop_start:.1f}", flush=True)
        wss.compute()
        wss_mean = [scalar(f) / wall_area for f in wss_mean_forms]
        series.rows.append([t, -flows[cfg.inlet_tag], q_in]
                           + [flows[tag] for tag in outlet_tags]
                           + [pressures[cfg.inlet_tag]] + [pressures[tag] for tag in outlet_tags]
                           + [scalar(wss_mag_form) / wall_area] + wss_mean)
        if probes is not None:
            values = probes.evaluate([u_, p_full])
            if values is not None:
                probe_series.rows.append([t] + values.ravel().tolist())
        if step > analysis_start:
            indices.add(wss.tau.x.array.reshape(-1, gdim), dt)
        at_output = (step % cfg.output_every == 0) if cfg.output_every > 0 else (
            step % steps_per_cycle == 0 or step == n_steps)
        if at_output:
            for writer in writers:
                writer.write(t)
    loop_s = time.perf_counter() - loop_start
    for writer in writers:
        writer.close()

    # --- hemodynamic indices and summary ---------------------------------------------
    W1 = wss.scalar_space
    tawss_f, osi_f, rrt_f = (fem.Function(W1, name=nm) for nm in ("tawss", "osi", "rrt"))
    if indices.duration > 0.0:
        tawss, osi, rrt = indices.indices()
        for fn, arr in ((tawss_f, tawss), (osi_f, osi), (rrt_f, rrt)):
            fn.x.array[:] = np.where(wss.on_wall, arr, 0.0)
    with VTXWriter(comm, fields_dir / "indices.bp", [tawss_f, osi_f, rrt_f],
                   engine="BP4") as writer:
        writer.write(n_steps * dt)

    summary = _summary(cfg, mesh, V, Q, comm, ds, series, openings, outlet_tags, wss,
                       (tawss_f, osi_f, rrt_f), steps_per_cycle, n_steps)
    summary["timing"] = {
        "ranks": comm.size, "setup_s": setup_s, "time_loop_s": loop_s,
        "steps": n_steps, "seconds_per_step": loop_s / max(n_steps, 1),
        "mean_iterations_step1": iterations["step1"] / max(n_steps, 1),
        "mean_iterations_step3": iterations["step3"] / max(n_steps, 1)}
    summary["timing"]["step1_preconditioner"] = (
        "block Jacobi / ILU(0)" if fallback_at is None else
        f"block Jacobi / ILU(0), ILU(1) from t = {fallback_at:.6g} s (ILU(0) failed)")
    summary["cell_numbers_max"] = {
        "courant": max_numbers["courant"], "peclet": max_numbers["peclet"],
        "definition": "max over cells and steps of |u| dt / h and |u| h / (2 nu) at the cell "
                      "midpoint, h = cell diameter"}
    renders: list[str] = []
    if cfg.render:
        renders = _render(W1, (tawss_f, osi_f), wss.on_wall, out_dir)
    summary["outputs"] = {"series": "series.csv", "probes": "probes.csv" if probes else None,
                          "fields": [f"fields/{nm}.bp" for nm in
                                     ("velocity", "pressure", "wss", "indices")],
                          "renders": renders}
    for ksp in (ksp1, ksp2, ksp3):
        ksp.destroy()
    for obj in (A1, A2, A3, b1, b2, b3):
        obj.destroy()
    wss.destroy()
    summary_path = out_dir / "summary.json"
    if comm.rank == 0:
        write_text_atomic(out_dir / "series.csv", series.text())
        if probes is not None:
            write_text_atomic(out_dir / "probes.csv", probe_series.text())
        write_json_atomic(summary_path, summary)
    comm.barrier()
    return summary_path


def _check(ksp: PETSc.KSP, what: str, t: float) -> None:
    if ksp.getConvergedReason() < 0:
        raise TwinflowError(f"the {what} solve failed at t = {t:.4g} s (PETSc reason "
                            f"{ksp.getConvergedReason()}); reduce time_step or refine the mesh")


def _wall_stats(fn: fem.Function, on_wall: npt.NDArray[np.bool_], ds: ufl.Measure,
                wall_tag: int, area: float, comm: MPI.Comm) -> dict[str, float]:
    owned = fn.function_space.dofmap.index_map.size_local
    values = fn.x.array[:owned][on_wall[:owned]]
    return {"mean": comm.allreduce(fem.assemble_scalar(fem.form(fn * ds(wall_tag))),
                                   op=MPI.SUM) / area,
            "min": comm.allreduce(float(values.min(initial=np.inf)), op=MPI.MIN),
            "max": comm.allreduce(float(values.max(initial=-np.inf)), op=MPI.MAX),
            **_percentiles(values, comm)}


#: Percentiles of the wall fields in the summary (of the P1 wall-node values, not area
#: weighted: the nodes of a quasi-uniform wall mesh sample the area nearly evenly).
PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
#: Length of the "CCA segment" downstream of the INLET, in inlet diameters (default; settings
#: ``cca_segment_diameters``). The carotid template's CCA is 30 mm ~ 4.4 D long before the
#: bifurcation (Bharadvaj et al. 1982 ratios, case.schema BifurcationTemplate), so 2 D stays
#: inside the straight CCA also without flow extensions.
CCA_SEGMENT_DIAMETERS: float = 2.0


def _percentiles(values: npt.NDArray[np.float64], comm: MPI.Comm) -> dict[str, float]:
    gathered = np.concatenate(comm.allgather(values))
    if gathered.size == 0:
        return {}
    return {f"p{q}": float(np.percentile(gathered, q)) for q in PERCENTILES}


def _summary(cfg: FlowSettings, mesh: dmesh.Mesh, V: fem.FunctionSpace, Q: fem.FunctionSpace,
             comm: MPI.Comm, ds: ufl.Measure, series: _Series, openings: dict[int, Opening],
             outlet_tags: list[int], wss: WallShearStressProjector,
             fields: tuple[fem.Function, ...], steps_per_cycle: int,
             n_steps: int) -> dict[str, Any]:
    data = np.asarray(series.rows)
    col = {name: i for i, name in enumerate(series.header)}
    last = data[-min(steps_per_cycle, len(data)):]
    tawss_f, osi_f, rrt_f = fields
    wall_area = comm.allreduce(fem.assemble_scalar(fem.form(
        fem.Constant(mesh, PETSc.ScalarType(1.0)) * ds(cfg.wall_tag))), op=MPI.SUM)
    low = comm.allreduce(fem.assemble_scalar(fem.form(ufl.conditional(
        ufl.lt(tawss_f, LOW_TAWSS_PA), 1.0, 0.0) * ds(cfg.wall_tag))), op=MPI.SUM)
    q_in = last[:, col["q_inlet"]]
    drop = {str(t): {"mean": float(np.mean(last[:, col["p_inlet"]]
                                           - last[:, col[f"p_outlet_{t}"]])),
                     "max": float(np.max(last[:, col["p_inlet"]]
                                         - last[:, col[f"p_outlet_{t}"]]))}
            for t in outlet_tags}
    flows = {str(t): float(np.mean(last[:, col[f"q_outlet_{t}"]])) for t in outlet_tags}
    num_cells = mesh.topology.index_map(3).size_global
    # CCA segment: wall within cca_segment_diameters inlet diameters downstream of the inlet
    inlet = openings[cfg.inlet_tag]
    n_d = float(cfg.raw.get("cca_segment_diameters", CCA_SEGMENT_DIAMETERS))
    axial = ufl.dot(ufl.SpatialCoordinate(mesh) - ufl.as_vector(inlet.centroid.tolist()),
                    ufl.as_vector((-inlet.normal).tolist()))
    in_cca = ufl.conditional(ufl.lt(axial, n_d * 2.0 * inlet.radius), 1.0, 0.0)
    cca_area = comm.allreduce(fem.assemble_scalar(fem.form(in_cca * ds(cfg.wall_tag))),
                              op=MPI.SUM)
    cca_tawss = comm.allreduce(fem.assemble_scalar(fem.form(
        in_cca * tawss_f * ds(cfg.wall_tag))), op=MPI.SUM)
    # dimensionless numbers at the inlet: Re = rho U D / mu = 4 rho Q / (pi mu D),
    # alpha = R sqrt(omega rho / mu) (Womersley 1955)
    diameter = 2.0 * inlet.radius
    reynolds = {name: 4.0 * cfg.density * float(value) / (math.pi * cfg.viscosity * diameter)
                for name, value in (("mean", np.mean(q_in)), ("peak", np.max(q_in)))}
    alpha = womersley.womersley_number(inlet.radius, cfg.waveform.omega, cfg.density,
                                       cfg.viscosity)
    ica = str(tags.OUTLET_ICA)
    return {
        "simplifications": list(SIMPLIFICATIONS),
        "scheme": "IPCS (incremental pressure correction), Taylor-Hood P2/P1, "
                  + ("BDF2, extrapolated convecting velocity" if cfg.time_scheme == "bdf2" else
                     "Crank-Nicolson, Adams-Bashforth linearised convection")
                  + (", skew-symmetric convection" if cfg.convection == "skew-symmetric"
                     else "")
                  + (", residual-based SUPG on the tentative velocity (Brooks & Hughes 1982; "
                     "tau of Shakib et al. 1991)"
                     if cfg.stabilisation == "supg" else
                     ", no convective stabilisation"),
        "settings": json.loads(canonical_json({k: v for k, v in cfg.raw.items()})),
        "inflow_waveform": {"source": cfg.waveform.source, **cfg.waveform.coefficients()},
        "mesh": {"cells": num_cells, "geometry_degree": mesh.geometry.cmaps[0].degree,
                 "velocity_dofs": V.dofmap.index_map.size_global * V.dofmap.index_map_bs,
                 "pressure_dofs": Q.dofmap.index_map.size_global,
                 "wall_area_m2": wall_area,
                 "openings": {str(t): {"area_m2": o.area, "centroid_m": o.centroid.tolist(),
                                       "normal": o.normal.tolist(), "radius_m": o.radius}
                              for t, o in openings.items()}},
        "time": {"time_step_s": cfg.time_step, "period_s": cfg.period, "cycles": cfg.cycles,
                 "steps": n_steps, "analysed_from_s": float(last[0, 0] - cfg.time_step),
                 "analysed_to_s": float(last[-1, 0])},
        "tawss_pa": _wall_stats(tawss_f, wss.on_wall, ds, cfg.wall_tag, wall_area, comm),
        "osi": _wall_stats(osi_f, wss.on_wall, ds, cfg.wall_tag, wall_area, comm),
        "rrt_per_pa": _wall_stats(rrt_f, wss.on_wall, ds, cfg.wall_tag, wall_area, comm),
        "tawss_cca_segment_pa": {"mean": cca_tawss / cca_area if cca_area > 0 else None,
                                 "wall_area_m2": cca_area, "diameters": n_d,
                                 "definition": "wall within diameters x inlet diameter "
                                               "downstream of the inlet plane"},
        "low_tawss_area_fraction": low / wall_area,
        "reynolds_inlet": reynolds,
        "womersley_inlet": alpha,
        "pressure_drop_cca_ica_pa": drop.get(ica),
        "outlet_models": {str(t): type(m).__name__ for t, m in sorted(cfg.outlets.items())},
        "low_tawss_threshold_pa": LOW_TAWSS_PA,
        "wss_mean_magnitude_pa": {"mean": float(np.mean(last[:, col["wss_mean_magnitude"]])),
                                  "max": float(np.max(last[:, col["wss_mean_magnitude"]]))},
        "inlet_flow_m3_s": {"mean": float(np.mean(q_in)), "max": float(np.max(q_in)),
                            "min": float(np.min(q_in))},
        "outlet_flow_m3_s": flows,
        "flow_split": {t: f / float(np.mean(q_in)) if np.mean(q_in) != 0 else None
                       for t, f in flows.items()},
        "pressure_drop_pa": drop,
        "mass_balance_relative": float(np.max(np.abs(last[:, col["q_inlet"]] - sum(
            last[:, col[f"q_outlet_{t}"]] for t in outlet_tags))) / max(np.max(np.abs(q_in)),
                                                                         1e-300)),
    }


def _render(W1: fem.FunctionSpace, fields: tuple[fem.Function, ...],
            on_wall: npt.NDArray[np.bool_], out_dir: Path) -> list[str]:
    """PNG renders of the wall fields (pyvista, off screen), gathered on rank 0."""
    import dolfinx.plot

    mesh = W1.mesh
    comm = mesh.comm
    owned_cells = np.arange(mesh.topology.index_map(3).size_local, dtype=np.int32)
    topology, cell_types, x = dolfinx.plot.vtk_mesh(W1, owned_cells)
    payload = (topology, cell_types, x, [f.x.array.copy() for f in fields], on_wall.copy())
    gathered = comm.gather(payload, root=0)
    names: list[str] = []
    if comm.rank == 0:
        import pyvista

        pyvista.OFF_SCREEN = True
        grids = []
        for topo, ctypes, pts, arrays, wall in gathered:
            grid = pyvista.UnstructuredGrid(topo, ctypes, pts)
            for f, arr in zip(fields, arrays, strict=True):
                grid.point_data[f.name] = arr
            grid.point_data["on_wall"] = wall.astype(float)
            grids.append(grid)
        merged = grids[0].merge(grids[1:], merge_points=True) if len(grids) > 1 else grids[0]
        surface = merged.extract_surface(algorithm="dataset_surface")
        # keep the faces whose nodes all lie on the wall (drops inlet and outlet discs)
        face_wall = surface.point_data_to_cell_data()["on_wall"] > 0.999
        wall_surface = surface.extract_cells(np.flatnonzero(face_wall))
        for f, label in zip(fields, ("TAWSS [Pa]", "OSI [-]"), strict=True):
            path = out_dir / f"{f.name}.png"
            plotter = pyvista.Plotter(off_screen=True, window_size=(1200, 800))
            # colour range up to the 98th percentile: the few cells of peak TAWSS at the
            # flow divider would otherwise leave the rest of the wall in one colour
            values = np.asarray(wall_surface.point_data[f.name])
            top = float(np.percentile(values, 98)) if values.size else 1.0
            plotter.add_mesh(wall_surface, scalars=f.name, cmap="viridis",
                             clim=(0.0, top if top > 0.0 else 1.0), above_color="white",
                             scalar_bar_args={"title": f"{label} (white: above)"})
            plotter.view_isometric()
            plotter.camera.zoom(1.2)
            tmp = path.with_name(f".{path.stem}.tmp.png")
            plotter.screenshot(str(tmp))
            plotter.close()
            tmp.replace(path)
            names.append(path.name)
    return comm.bcast(names, root=0)


def main(argv: list[str] | None = None) -> int:
    """``python -m twinflow.physics.navier_stokes --mesh M.xdmf (--settings S.json |
    --case CASE.json [--mesh-json mesh_quality.json]) --out DIR``.

    ``--case`` takes the canonical case JSON and maps it with
    :func:`twinflow.physics.flow.settings.carotid_flow_settings`; ``--mesh-json`` defaults
    to ``mesh_quality.json`` next to the mesh when that file exists. The settings used are
    written to ``DIR/settings.json``.
    """
    parser = argparse.ArgumentParser(description="Pulsatile Navier-Stokes flow (DOLFINx).")
    parser.add_argument("--mesh", type=Path, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--settings", type=Path, help="solver settings JSON")
    source.add_argument("--case", type=Path, help="canonical case JSON (SI)")
    parser.add_argument("--mesh-json", type=Path, default=None,
                        help="mesher metadata (facet_tags); default: mesh_quality.json "
                             "beside the mesh")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.settings is not None:
            settings = _read_json(args.settings, "settings")
        else:
            from twinflow.physics.flow.settings import carotid_flow_settings

            case = _read_json(args.case, "case")
            mesh_json_path = args.mesh_json or args.mesh.with_name("mesh_quality.json")
            mesh_json = (_read_json(mesh_json_path, "mesh metadata")
                         if args.mesh_json is not None or mesh_json_path.is_file() else None)
            settings = carotid_flow_settings(case, mesh_json)
            if MPI.COMM_WORLD.rank == 0:
                args.out.mkdir(parents=True, exist_ok=True)
                write_json_atomic(args.out / "settings.json", settings)
        solve_flow(args.mesh, settings, args.out)
    except TwinflowError as err:
        if MPI.COMM_WORLD.rank == 0:
            for line in err.lines:
                print(line, file=sys.stderr)
        return err.exit_code
    return 0


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read {what} JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: {what} must be a JSON object")
    return data


if __name__ == "__main__":
    sys.exit(main())
