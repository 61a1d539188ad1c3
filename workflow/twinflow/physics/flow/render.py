"""PNG renders of wall fields (TAWSS, OSI) with pyvista, off screen.

The wall is the set of boundary faces whose nodes all lie on the wall (inlet and outlet discs
dropped); the colour range runs from 0 to the 98th percentile of the field, values above are
white. pyvista is imported only on rank 0, when rendering.
"""

from __future__ import annotations

from pathlib import Path

import dolfinx_solver  # noqa: F401  (must precede dolfinx / petsc4py)
import numpy as np
import numpy.typing as npt
from dolfinx import fem


def render_wall_fields(W1: fem.FunctionSpace, fields: tuple[fem.Function, ...],
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
