r"""The 3D LV of a case: mesh, LDRB fibres, passive law, active stress, boundary conditions.

Quasi-static finite-strain mechanics (:mod:`twinflow.physics.heart.mechanics`) on the case's
mesh: the passive law of ``physics.material`` (Holzapfel--Ogden for the demo), exactly
incompressible Taylor--Hood P2--P1 (or the penalty form of ``physics.compressibility``), LDRB
fibres (Bayer et al. 2012) evaluated at the quadrature points of the forms (unit vectors
there; the P1 nodal field is output only), the base sliding in its plane with in-plane springs
(or fixed), epicardial normal springs (pericardium). Active stress
:math:`T_a\,(1 + \beta_0(\lambda - 1))(1 + c_0\dot\lambda)\,\mathbf f_0\otimes\mathbf f_0`,
:math:`\lambda` the fibre stretch against the mesh, :math:`\dot\lambda` its backward
difference over the time step (``physics.activation.length_dependence`` = :math:`\beta_0`,
``velocity_dependence`` = :math:`c_0`, Hunter et al. 1998;
:mod:`~twinflow.physics.heart.mechanics.active_stress`), plus ``transverse_fraction`` of
:math:`T_a` along the sheet and sheet-normal directions. The cavity pressure is an unknown of
the Newton solve
(:class:`~twinflow.physics.heart.mechanics.cavity.CavityNewton`).
"""

# ruff: noqa: I001  (dolfinx_solver must be imported before dolfinx)
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import basix.ufl
import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from twinflow.artifacts.mesh import LVMeshInfo
from twinflow.errors import CaseError
from twinflow.geometry import tags
from twinflow.geometry.mesh_io import read_tagged_mesh
from twinflow.physics.heart.mechanics.active_stress import (ActiveStress, Velocity,
                                                              length_dependence,
                                                              velocity_dependence)
from twinflow.physics.heart.mechanics.boundary_conditions import (Fixed, Pressure, RobinSpring,
                                                                  Sliding)
from twinflow.physics.heart.mechanics.cavity import CavityNewton
from twinflow.physics.heart.mechanics.compressibility import Compressible, Incompressible
from twinflow.physics.heart.mechanics.fibres import ldrb_fibres
from twinflow.physics.heart.mechanics.materials import Guccione, HolzapfelOgden, NeoHookean
from twinflow.physics.heart.mechanics.solver import CardiacMechanicsProblem

#: Quadrature degree of the mechanics forms; the fibres are evaluated at these points.
QUADRATURE_DEGREE = 4


@dataclass(slots=True)
class ActiveTension:
    """Fibre tension ``Ta`` (at reference stretch and at rest) times the HMT 1998 length factor
    ``1 + beta0 (lambda - 1)`` and, with ``velocity``, the force-velocity factor
    ``1 + c0 dlambda/dt`` of the fibre stretch (:class:`ActiveStress`), plus an optional
    share ``transverse * Ta`` across the fibres (sheet and normal; neither factor)."""

    f0: Any
    s0: Any
    n0: Any
    Ta: Any
    transverse: float
    beta0: float = 0.0
    velocity: Velocity | None = None

    def strain_energy(self, F):
        psi = ActiveStress(self.f0, self.Ta, self.beta0, self.velocity).strain_energy(F)
        if self.transverse > 0:
            psi += ActiveStress(self.s0, self.transverse * self.Ta).strain_energy(F)
            psi += ActiveStress(self.n0, self.transverse * self.Ta).strain_energy(F)
        return psi


@dataclass
class FibreStretchRate:
    """The state of the force-velocity factor: ``c0`` (s), the Constant ``rate`` = c0/dt of
    the forms (0: quasi-static loading) and the fibre stretch of the last converged state,
    ``previous`` (at the quadrature points of the forms, and at the cell midpoints of the
    fibre-stress output), refreshed by :meth:`begin_step` from ``stretch`` expressions."""

    c0: float
    rate: Any
    previous: list[Any]
    stretch: list[Any]

    def begin_step(self, dt: float) -> None:
        """Before solving a step of ``dt`` (s) from the current (converged) state."""
        for fn, expr in zip(self.previous, self.stretch, strict=True):
            fn.interpolate(expr)
        self.rate.value = self.c0 / dt

    def quasi_static(self) -> None:
        """No rate dependence (load ramps, probes)."""
        self.rate.value = 0.0


@dataclass
class LVModel:
    """The assembled 3D LV; ``pressure`` (cavity, Pa) and ``Ta`` (Pa) are its loads."""

    mesh: Any
    facet_tags: Any
    problem: CardiacMechanicsProblem
    newton: CavityNewton
    pressure: Any
    Ta: Any
    fibres: Any
    z_base: float
    reference_volume: float
    """Cavity volume of the unloaded (mesh) configuration (m^3)."""
    stress_expr: Any = None
    passive_scale: Any = None
    """Factor on the passive strain energy (a ``Constant``, 1.0 as built; see
    :class:`ScaledPassive`): a calibration sets it without rebuilding the forms."""
    stretch_rate: FibreStretchRate | None = None
    """Force-velocity state (None without velocity dependence)."""

    def begin_step(self, dt: float) -> None:
        """Before a time step of ``dt`` (s) from the current state (velocity dependence)."""
        if self.stretch_rate is not None:
            self.stretch_rate.begin_step(dt)

    def quasi_static(self) -> None:
        """Loads ramped from here on are quasi-static (no velocity dependence)."""
        if self.stretch_rate is not None:
            self.stretch_rate.quasi_static()

    def snapshot(self) -> tuple[np.ndarray, float]:
        """A copy of the state (displacement/pressure fields) and the cavity pressure."""
        return self.problem.state.x.array.copy(), float(self.pressure.value)

    def restore(self, snapshot: tuple[np.ndarray, float]) -> None:
        """Set the state and the cavity pressure back to a :meth:`snapshot`."""
        self.problem.state.x.array[:] = snapshot[0]
        self.problem.state.x.scatter_forward()
        self.pressure.value = snapshot[1]

    def reset(self) -> None:
        """Back to the unloaded configuration: zero state, cavity pressure and tension."""
        self.problem.state.x.array[:] = 0.0
        self.problem.state.x.scatter_forward()
        self.pressure.value = 0.0
        self.Ta.value = 0.0
        self.quasi_static()

    @property
    def cells(self) -> int:
        return int(self.mesh.topology.index_map(3).size_global)

    @property
    def dofs(self) -> int:
        index_map = self.problem.W.dofmap.index_map
        return int(index_map.size_global * self.problem.W.dofmap.index_map_bs)


def read_lv_xdmf(mesh_xdmf: Path, comm: Any) -> tuple[Any, Any, float]:
    """Mesh, facet tags and base height of an LV mesh of the ``mesh_lv`` stage (the base
    plane from its ``mesh.json`` beside it, :class:`~twinflow.artifacts.mesh.LVMeshInfo`;
    else the top plane of the mesh)."""
    mesh_xdmf = Path(mesh_xdmf)
    tagged = read_tagged_mesh(mesh_xdmf, comm)
    info = mesh_xdmf.with_name("mesh.json")
    if info.is_file():
        z_base = LVMeshInfo.read(info).z_base_m
    else:  # the base is the top plane of the mesh
        z_base = float(comm.allreduce(tagged.mesh.geometry.x[:, 2].max(), op=MPI.MAX))
    return tagged.mesh, tagged.facet_tags, z_base


def build_lv(mesh_xdmf: Path, case: dict[str, Any], comm: Any, degree: int = 2,
             quadrature_degree: int = QUADRATURE_DEGREE) -> LVModel:
    """The 3D LV of the case; fibres enter the forms exactly at their quadrature points.

    The LDRB rule is evaluated at the quadrature points of the forms (``FibreField.f0_q``...,
    unit vectors there) for the material and the active stress; the nodal P1 fibres are only
    written for ParaView, and the fibre-stress output evaluates the rule's UFL expression.
    """
    mesh, facet_tags, z_base = read_lv_xdmf(mesh_xdmf, comm)
    phys = case["physics"]
    fib = case["geometry"].get("fibres", {})
    fibres = ldrb_fibres(mesh, facet_tags, math.degrees(fib.get("helix_endo", math.pi / 3)),
                         math.degrees(fib.get("helix_epi", -math.pi / 3)),
                         quadrature_degree=quadrature_degree)
    f0, s0, n0 = fibres.f0_q, fibres.s0_q, fibres.n0_q
    m = phys["material"]
    passive_scale = dolfinx.fem.Constant(mesh, 1.0)
    material = ScaledPassive(passive_material(m, f0, s0), passive_scale)
    comp = phys.get("compressibility", {"kind": "incompressible"})
    compressibility = (Incompressible() if comp["kind"] == "incompressible"
                       else Compressible(kappa=float(comp["bulk_modulus"])))
    bnd = phys.get("boundary", {})
    dirichlet: list[Any] = []
    springs: list[RobinSpring] = []
    if bnd.get("base", "sliding") == "fixed":
        dirichlet.append(Fixed(tags.BASE))
    else:
        dirichlet.append(Sliding(tags.BASE, 2))
        springs.append(RobinSpring(tags.BASE, float(bnd.get("base_stiffness", 1e6))))
    if bnd.get("epicardium", "robin") == "robin":
        springs.append(RobinSpring(tags.EPI, float(bnd.get("pericardium_stiffness", 5e5)),
                                   normal_only=True))
    pressure = dolfinx.fem.Constant(mesh, 0.0)
    Ta = dolfinx.fem.Constant(mesh, 0.0)
    transverse = float(phys["activation"].get("transverse_fraction", 0.0))
    beta0 = length_dependence(phys["activation"])
    c0 = velocity_dependence(phys["activation"])
    rate = velocity = None
    if c0 > 0:
        rate = dolfinx.fem.Constant(mesh, 0.0)
        q_el = basix.ufl.quadrature_element(mesh.basix_cell(), value_shape=(),
                                            degree=quadrature_degree)
        velocity = Velocity(rate, dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, q_el),
                                                       name="fibre_stretch_previous"))
    act = ActiveTension(f0, s0, n0, Ta, transverse, beta0, velocity)
    problem = CardiacMechanicsProblem(
        mesh=mesh, facet_tags=facet_tags, material=material, compressibility=compressibility,
        active=act, dirichlet=dirichlet, pressures=[Pressure(tags.ENDO, pressure)],
        springs=springs, degree=degree, quadrature_degree=quadrature_degree)
    newton = CavityNewton(problem, pressure, tags.ENDO, z_base)
    model = LVModel(mesh, facet_tags, problem, newton, pressure, Ta, fibres, z_base,
                    newton.volume(), passive_scale=passive_scale)
    # output at cell midpoints (not quadrature points): the same model with the UFL rule
    f_r, s_r, n_r = fibres.rule
    V0 = dolfinx.fem.functionspace(mesh, ("DG", 0))
    velocity_out = (None if velocity is None
                    else Velocity(rate, dolfinx.fem.Function(V0, name="fibre_stretch_previous")))
    model.stress_expr = fibre_stress_expression(
        problem, ScaledPassive(passive_material(m, f_r, s_r), passive_scale),
        ActiveTension(f_r, s_r, n_r, Ta, transverse, beta0, velocity_out), compressibility, f_r)
    if velocity is not None and velocity_out is not None:
        stretch = [dolfinx.fem.Expression(fibre_stretch(problem.F, f),
                                          v.previous.function_space.element.interpolation_points)
                   for f, v in ((f0, velocity), (f_r, velocity_out))]
        model.stretch_rate = FibreStretchRate(c0, rate, [velocity.previous,
                                                         velocity_out.previous], stretch)
    return model


def fibre_stretch(F: Any, f0: Any) -> Any:
    r"""Fibre stretch :math:`\lambda = |\mathbf F\mathbf f_0|` (UFL)."""
    return ufl.sqrt(ufl.inner(F * f0, F * f0))


@dataclass
class ScaledPassive:
    r"""A passive law with its strain energy scaled: :math:`\Psi = s\,\Psi_{pas}(\mathbf F)`.

    :math:`s` (``scale``, a ``Constant``, dimensionless) multiplies every stiffness of the law
    together (for Holzapfel--Ogden :math:`a, a_f, a_s, a_{fs}`; Guccione :math:`C`; neo-Hookean
    :math:`\mu`), the exponents unchanged: a one-parameter passive calibration (Asner et al.
    2016, Biomech Model Mechanobiol 15:1121, scale the Holzapfel--Ogden stiffnesses with the
    exponents fixed in the same spirit; Finsberg et al. 2018, Int J Numer Meth Biomed Eng
    34:e2982, fit the linear stiffness). Only the passive stress scales: the volumetric term
    (the hydrostatic multiplier or the penalty) and the active stress are separate terms of
    the potential, and the fibre-stress output scales its passive part the same way.
    Attributes of the law (``f0``, ``a`` ...) read through.
    """

    law: Any
    scale: Any

    def strain_energy(self, F: Any) -> Any:
        return self.scale * self.law.strain_energy(F)

    def __getattr__(self, name: str) -> Any:
        if name == "law":  # not yet set (copy/pickle): no recursion
            raise AttributeError(name)
        return getattr(self.law, name)


def passive_material(m: dict[str, Any], f0: Any, s0: Any) -> Any:
    """Passive law of the case's ``physics.material`` with fibre/sheet fields f0, s0."""
    law = m["law"]
    if law == "holzapfel-ogden":
        return HolzapfelOgden(a=m["a"], b=m["b"], a_f=m["a_f"], b_f=m["b_f"], f0=f0)
    if law == "holzapfel-ogden-orthotropic":
        return HolzapfelOgden(a=m["a"], b=m["b"], a_f=m["a_f"], b_f=m["b_f"], a_s=m["a_s"],
                              b_s=m["b_s"], a_fs=m["a_fs"], b_fs=m["b_fs"], f0=f0, s0=s0)
    if law == "guccione":
        return Guccione(C=m["C"], bf=m["b_f"], bt=m["b_t"], bfs=m["b_fs"], f0=f0)
    if law == "neo-hookean":
        return NeoHookean(mu=m["mu"])
    raise CaseError(f"unknown material law {law}")  # pragma: no cover - the schema guards it


def fibre_stress_expression(pb: CardiacMechanicsProblem, material: Any, act: Any,
                            compressibility: Any, f0: Any) -> tuple[Any, Any]:
    r"""Fibre Cauchy stress at cell midpoints (DG0):
    :math:`\sigma_{ff} = \mathbf f\cdot\boldsymbol\sigma\mathbf f/|\mathbf f|^2`,
    :math:`\boldsymbol\sigma = J^{-1}\mathbf P\mathbf F^T`,
    :math:`\mathbf P = \partial\Psi/\partial\mathbf F`; returns (expression, DG0 space)."""
    F = ufl.variable(pb.F)
    p = ufl.split(pb.state)[1] if pb.mixed else None
    psi = material.strain_energy(F) + act.strain_energy(F) + compressibility.strain_energy(F, p)
    P = ufl.diff(psi, F)
    sigma = P * F.T / ufl.det(F)
    f = F * f0
    sff = ufl.inner(f, sigma * f) / ufl.inner(f, f)
    V0 = dolfinx.fem.functionspace(pb.mesh, ("DG", 0))
    return dolfinx.fem.Expression(sff, V0.element.interpolation_points), V0
