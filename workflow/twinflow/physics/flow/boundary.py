r"""Boundary conditions of the flow: the openings, their velocity profiles, the outlets.

- INLET: the velocity of fully developed flow carrying the waveform :math:`Q(t)`
  (:mod:`twinflow.physics.flow.inflow`), each harmonic with the Womersley profile of a circle
  of the inlet's area (:mod:`twinflow.physics.flow.womersley`; ``inflow_profile`` parabolic or
  plug for simpler shapes), normalised so the discrete flux is exactly :math:`Q(t)`
  (:class:`OpeningProfile`);
- WALL: no slip, :math:`u = 0` (rigid wall);
- flow-split outlets: the same profile carrying :math:`f\,Q(t)` out of the domain;
- pressure-type outlets (pressure, resistance, Windkessel; :mod:`twinflow.physics.flow.outlets`):
  a Dirichlet value of the pressure of the projection step (a :class:`dolfinx.fem.Constant`
  set each step by the outlet coupling, :mod:`twinflow.physics.flow.coupling`) and the natural
  "do-nothing" condition for the velocity (:mod:`twinflow.physics.flow.forms`).

The geometry of each opening (area, centroid, outward normal) is measured on the mesh
(:func:`measure_opening`); an opening is treated as the circle of the same area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import numpy.typing as npt
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from petsc4py import PETSc

from twinflow.errors import InputError
from twinflow.physics.flow import womersley
from twinflow.physics.flow.assembly import global_scalar, integrate
from twinflow.physics.flow.inflow import FlowWaveform
from twinflow.physics.flow.outlets import FlowSplitOutlet, PressureModel
from twinflow.physics.flow.settings import FlowSettings


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
    x = ufl.SpatialCoordinate(mesh)
    n = ufl.FacetNormal(mesh)

    def integral(expr: ufl.core.expr.Expr) -> float:
        return integrate(expr * ds(tag))

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
                value = global_scalar(flux_form)
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


@dataclass(slots=True)
class FlowBoundary:
    """The Dirichlet conditions of a flow problem (module docstring) and its openings."""

    openings: dict[int, Opening]
    """Inlet and outlets by facet tag (the inlet first, then the outlets in tag order)."""
    inflow: OpeningProfile
    split_outlets: dict[int, tuple[OpeningProfile, float]]
    """Flow-split outlets: their profile and fraction of the inflow."""
    pressure_outlets: dict[int, tuple[PressureModel, fem.Constant]]
    """Pressure-type outlets: their 0D model and the Dirichlet value of the pressure."""
    bcs_u: list[fem.DirichletBC]
    bcs_p: list[fem.DirichletBC]

    def update(self, t: float) -> float:
        """Set the inlet and flow-split profiles for time ``t``; returns the inflow Q(t)."""
        q_in = self.inflow.update(t)
        for profile, fraction in self.split_outlets.values():
            profile.update(t, fraction)
        return q_in


def flow_boundary(V: fem.FunctionSpace, Q: fem.FunctionSpace, ds: ufl.Measure,
                  facet_tags: dmesh.MeshTags, cfg: FlowSettings) -> FlowBoundary:
    """Velocity conditions on ``V`` and pressure conditions on ``Q`` for the settings ``cfg``."""
    mesh = V.mesh
    fdim = mesh.topology.dim - 1
    inlet = measure_opening(mesh, ds, cfg.inlet_tag)
    wall_nodes = fem.locate_dofs_topological(V, fdim, facet_tags.find(cfg.wall_tag))
    assert cfg.waveform is not None

    def profile(opening: Opening, inflow: bool) -> OpeningProfile:
        return OpeningProfile(V, ds, facet_tags, opening, cfg.waveform, cfg.inflow_profile,
                              cfg.density, cfg.viscosity, inflow=inflow, wall_nodes=wall_nodes)

    inlet_profile = profile(inlet, inflow=True)
    boundary = FlowBoundary(openings={cfg.inlet_tag: inlet}, inflow=inlet_profile,
                            split_outlets={}, pressure_outlets={}, bcs_p=[],
                            bcs_u=[fem.dirichletbc(inlet_profile.function, inlet_profile.nodes)])
    for tag, model in sorted(cfg.outlets.items()):
        opening = measure_opening(mesh, ds, tag)
        boundary.openings[tag] = opening
        if isinstance(model, FlowSplitOutlet):
            outflow = profile(opening, inflow=False)
            boundary.split_outlets[tag] = (outflow, model.fraction)
            boundary.bcs_u.append(fem.dirichletbc(outflow.function, outflow.nodes))
        else:
            value = fem.Constant(mesh, PETSc.ScalarType(0.0))
            boundary.pressure_outlets[tag] = (model, value)
            dofs = fem.locate_dofs_topological(Q, fdim, facet_tags.find(tag))
            boundary.bcs_p.append(fem.dirichletbc(value, dofs, Q))
    no_slip = np.zeros(mesh.geometry.dim, dtype=PETSc.ScalarType)
    boundary.bcs_u.append(fem.dirichletbc(no_slip, wall_nodes, V))
    return boundary
