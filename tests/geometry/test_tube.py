"""Tube mesher: geometry, tags and parallel-readable XDMF (real gmsh + DOLFINx)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twinflow.errors import InputError
from twinflow.geometry import tags
from twinflow.geometry.tube import tube_mesh


def test_tube_mesh_tags_and_measures(tmp_path: Path) -> None:
    import dolfinx_solver  # noqa: F401
    import ufl
    from dolfinx import fem
    from mpi4py import MPI

    from twinflow.physics.flow.mesh import read_mesh

    radius, length = 2.0e-3, 8.0e-3
    path = tube_mesh(radius, length, 1.0e-3, tmp_path / "tube.xdmf")
    assert path.is_file() and path.with_suffix(".h5").is_file()
    assert not list(tmp_path.glob(".*tmp*"))
    mesh, facet_tags = read_mesh(path, MPI.COMM_WORLD)
    assert mesh.geometry.cmaps[0].degree == 2
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    one = fem.Constant(mesh, 1.0)

    def measure(form: ufl.Form) -> float:
        return MPI.COMM_WORLD.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    # second-order geometry: areas and volume of the exact cylinder to well below 0.1 %
    assert measure(one * ufl.dx(domain=mesh)) == pytest.approx(math.pi * radius**2 * length,
                                                                rel=1e-3)
    assert measure(one * ds(tags.INLET)) == pytest.approx(math.pi * radius**2, rel=1e-3)
    assert measure(one * ds(tags.OUTLET)) == pytest.approx(math.pi * radius**2, rel=1e-3)
    assert measure(one * ds(tags.WALL)) == pytest.approx(2 * math.pi * radius * length, rel=1e-3)
    x = ufl.SpatialCoordinate(mesh)
    assert measure(x[2] * ds(tags.OUTLET)) == pytest.approx(length * math.pi * radius**2,
                                                            rel=1e-3)


def test_tube_first_order_polygon_loses_area(tmp_path: Path) -> None:
    import dolfinx_solver  # noqa: F401
    import ufl
    from dolfinx import fem
    from mpi4py import MPI

    from twinflow.physics.flow.mesh import read_mesh

    path = tube_mesh(2.0e-3, 4.0e-3, 1.0e-3, tmp_path / "tube1.xdmf", order=1)
    mesh, facet_tags = read_mesh(path, MPI.COMM_WORLD)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    area = fem.assemble_scalar(fem.form(fem.Constant(mesh, 1.0) * ds(tags.INLET)))
    assert mesh.geometry.cmaps[0].degree == 1
    assert area < math.pi * 2.0e-3**2 * (1 - 1e-3)  # inscribed polygon


@pytest.mark.parametrize("args", [(0.0, 1.0, 0.1), (1.0, 1.0, 2.0), (1.0, -1.0, 0.1)])
def test_tube_rejects_bad_sizes(tmp_path: Path, args: tuple[float, float, float]) -> None:
    with pytest.raises(InputError):
        tube_mesh(*args, tmp_path / "bad.xdmf")
