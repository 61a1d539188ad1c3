"""Vessel-wall solid mesh: prism layers extruded from the fluid mesh's WALL triangles.

The wall of the carotid model (:class:`~.model.BifurcationModel`) lies between the lumen and
the outer (adventitial) surface, the union of the branch tubes of radius :math:`R_b(s)`. It
is meshed by extruding the WALL triangles of the fluid (lumen) mesh outward, so the solid
and the fluid share the same vertices on the fluid–solid interface (a conforming interface
for a future FSI stage).

Why hand-written and not gmsh. Boolean OCC solids (outer lofts minus the lumen lofts) failed
in gmsh ("Impossible to mesh periodic surface") or gave 0.3° slivers
(docs/verification-carotid.md). gmsh's ``geo.extrudeBoundaryLayer`` does extrude a discrete
surface, along its own averaged normals scaled by a scalar view or along the vectors of a
vector view (gmsh ``BoundaryLayers.cpp``), but the thickness field, the collision limits at
the flow divider and the end-ring directions below must be computed here anyway, and its
prism → tetrahedron split is not quality-aware: fed with the extrusion vectors of this
module (demo, 2 layers) it gave the same 46 830 cells in 0.4 s, none inverted, but a
smallest dihedral angle of 0.008° (1st percentile 13.0°), against 8.7° here, where the
diagonals of the split are chosen and flipped per prism side (steps 5-6). gmsh's
optimisers (default, Relocate3D, Netgen) moved the worst cell of an early layer mesh only
from 0.73° to 1.07°. The extruder is vectorised numpy and takes about two seconds on the
demo.

Algorithm (SI units; :func:`extrude_wall`):

1. Orientation. Each WALL triangle is oriented with its normal pointing out of the fluid
   (away from the fourth vertex of its fluid tetrahedron).
2. Directions. Vertex normals :math:`\\mathbf n_v` are area-weighted sums of the facet
   normals. On the end rings (WALL vertices on an INLET/OUTLET cap) they are projected into
   the cap plane, so the end faces of the solid stay planar. Where the area-weighted normal
   is not visible from every facet of the vertex (:math:`\\mathbf n_v\\cdot\\mathbf n_f <`
   ``MIN_VISIBILITY``; the sharp flow-divider crest) it is replaced by the direction that
   maximises the smallest :math:`\\mathbf n_v\\cdot\\mathbf n_f`. The normals get
   ``NORMAL_SMOOTHING_STEPS`` Jacobi steps (average with the edge neighbours), and
   ``FAN_SMOOTHING_STEPS`` more within ``FAN_BAND_IMT`` × IMT (along the surface) of a sharp
   edge (facet normals more than ``SHARP_EDGE_DEG`` apart: the divider crest, the
   CCA/daughter creases of the fused lofts), so neighbouring columns differ by a few degrees
   instead of the full crease angle; a step that would make a normal less visible than
   ``MIN_VISIBILITY`` (and than before) is not taken at that vertex.
3. Thickness. Along the ray :math:`\\mathbf x_v + t\\mathbf n_v` the first zero of the
   effective outer level set

   .. math:: \\psi(\\mathbf x) = \\min_b\\big(\\phi^{outer}_b(\\mathbf x),\\;
             \\phi^{lumen}_b(\\mathbf x) - t_{min}\\big),\\qquad
             t_{min} = \\text{MIN\\_THICKNESS\\_IMT}\\times\\text{IMT},

   is found by marching (step ``RAY_STEP_M``) and bisection: the model's outer surface
   (:meth:`~.model.BifurcationModel.branch_level_sets`, with the fluid mesh's flow
   extensions), but at least :math:`t_{min}` from the model lumen. The floor is a
   simplification: where a segmentation puts the outer edge inside the lumen (the demo ICA
   at s ≈ 7–9.5 mm: outer radius 1.4 mm, lumen 2.6 mm) the model has no wall at all. The
   ray lengths get ``THICKNESS_SMOOTHING_STEPS`` Jacobi steps (neighbouring rays can exit
   on different branch tubes at the creases of the outer union), then limits, all as upper
   bounds:

   * collision: at most ``DIVIDER_FRACTION`` of the distance to the first WALL triangle
     (not incident to the vertex) the ray meets (Möller & Trumbore 1997), i.e. where it
     crosses the divider wedge into the other daughter;
   * converging columns (edge :math:`e_{ij}`): :math:`h\\,(-\\mathbf e_{ij}\\cdot
     (\\mathbf n_j - \\mathbf n_i)) \\le` ``CONVERGENCE_FRACTION`` :math:`|e_{ij}|^2`;
   * twisted columns: :math:`h\\,|\\mathbf n_j - \\mathbf n_i| \\le`
     ``SHEAR_FRACTION`` :math:`|e_{ij}|`;

   and the result is made Lipschitz from above (change at most ``THICKNESS_SLOPE`` × edge
   length), so limits taper instead of stepping. Facing walls: where the column of a
   vertex meets the outer surface of another part of the wall from its front side (the two
   halves of the divider wedge, whose fanned rays no longer cross the other lumen) before
   (1 + ``TOP_GAP``) × its length, it is shortened to leave that gap (up to 5 passes). The
   two halves of the divider wedge are therefore not joined: a thin gap stays unmeshed and
   its faces are OUTER.
4. Layers. ``WALL_LAYERS`` uniform layers: vertex :math:`v` of layer :math:`k` sits at
   :math:`\\mathbf x_v + (k/N)h_v\\mathbf n_v`; layer 0 is the fluid vertex itself.
5. Prisms → tetrahedra (Dompierre, Labbé, Vallet & Camarero 1999, "How to subdivide
   pyramids, prisms and hexahedra into tetrahedra", 8th International Meshing Roundtable).
   Each quadrilateral side of a prism is split by one diagonal, stored per side (edge and
   layer), so the two prisms sharing it agree; a prism then splits into three tetrahedra
   for each of the 6 non-cyclic diagonal choices (:func:`_prism_table`: the tetrahedron of
   the vertex with two diagonals and the opposite triangle, plus the pyramid on the third
   side cut by its diagonal), positively ordered for an outward base normal. Initial
   diagonals: from the lower-ranked bottom vertex of each side, which is never cyclic. The
   rank is the decreasing surface distance from the nearest sharp edge: in the columns
   that lean over the divider crest the diagonals then run with the lean (measured on one
   demo mesh with 3 layers, before the repair of step 6: smallest dihedral angle 2.07°
   instead of 0.73° with the fluid mesh's vertex order). A tetrahedron with non-positive
   volume means a folded prism: its three vertices get 0.7 × the thickness (Lipschitz
   limit again) and the layers are rebuilt, at most ``MAX_UNFOLD_PASSES`` times.
6. Repair of tetrahedra below ``OPTIMISE_BELOW_DEG``: (a) greedy diagonal flips next to
   them, kept when both prisms sharing the side stay non-cyclic and their smallest
   dihedral angle grows (:func:`_flip_diagonals`); (b) a greedy local search on the
   vertices of layers 1 … N−1 (free), of layer N (tangentially: the outer surface moves
   only to second order) and of the end rings (layers 1 … N−1, within the end plane),
   never the interface
   (:func:`_improve_worst`); a move that puts a cell centroid inside another cell (across
   the divider gap) is undone and that vertex frozen (up to 4 rounds). The counts and the
   largest shift are reported.
7. Tags (:mod:`twinflow.geometry.tags`): cells SOLID; facets INTERFACE (layer 0 = the fluid
   WALL triangles), OUTER (last layer), WALL_END_CCA / WALL_END_ICA / WALL_END_ECA (the
   rings on the inlet and outlet planes, split like the prism sides).

The wall covers the whole fluid WALL, flow extensions included (not anatomical: a straight
tube with the constant end section and the end wall thickness), so every fluid WALL vertex
is an interface vertex. Linear (4-node) tetrahedra.

Quality (:func:`wall_quality`): dihedral angles and inverted cells
(:mod:`twinflow.geometry.quality`, whose measures also score the repairs of step 6), the
solid volume against
the model wall volume (outer union minus lumen union, clipped at the end planes;
:func:`model_volumes`, midpoint quadrature on a ``VOLUME_GRID_M`` grid in each branch's
frame, each point counted by the branch whose outer level set is lowest), with and without
the thickness floor, and the number of solid cells whose centroid lies in another solid
cell or in the fluid mesh (overlaps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from twinflow.geometry import tags
from twinflow.geometry.carotid.model import BifurcationModel
from twinflow.geometry.quality import cell_quality, min_dihedral_angles, signed_volumes

#: Layers of prisms (each split into 3 tetrahedra) through the wall thickness. Two rather
#: than three: where collisions keep the wall thin (divider, converging creases) the
#: layers stay thicker relative to the surface edges (worst dihedral angle over 5 test
#: meshes and vertex orders 4.8° with 2 layers, 2.8° with 3; 1st percentile 13-15° vs
#: 9-11°).
WALL_LAYERS = 2
#: Jacobi smoothing steps of all vertex normals.
NORMAL_SMOOTHING_STEPS = 3
#: Smallest cosine between a vertex normal and the normals of its facets.
MIN_VISIBILITY = 0.2
#: Sharp edges of the lumen surface: facet normals more than this apart (deg).
SHARP_EDGE_DEG = 20.0
#: Band around sharp edges (× IMT, along the surface) whose normals are fanned out, and
#: the Jacobi steps there.
FAN_BAND_IMT = 5.0
FAN_SMOOTHING_STEPS = 500
#: Minimum wall thickness, fraction of the model IMT (simplification, module docstring).
MIN_THICKNESS_IMT = 0.5
#: Step of the ray march to the outer surface (m); bisection refines it to < 1e-9 m.
RAY_STEP_M = 0.05e-3
#: Jacobi smoothing steps of the ray lengths.
THICKNESS_SMOOTHING_STEPS = 5
#: Fraction of the distance to the opposite lumen that one side of the divider may fill.
DIVIDER_FRACTION = 0.45
#: Facing walls: a column stops this fraction of its length before another part's outer
#: surface (module docstring 3).
TOP_GAP = 0.2
#: Converging columns: an extruded edge keeps at least 1 - this fraction of its length.
CONVERGENCE_FRACTION = 0.5
#: Twisted columns: h |n_j - n_i| at most this fraction of the edge length.
SHEAR_FRACTION = 1.0
#: Largest thickness change per unit length along the surface.
THICKNESS_SLOPE = 0.5
#: Folded prisms: thinning passes before giving up (inverted cells are then reported).
MAX_UNFOLD_PASSES = 10
#: Tetrahedra below this dihedral angle (deg) are repaired (module docstring, step 6).
OPTIMISE_BELOW_DEG = 10.0
#: Grid step of the model volume quadrature (m); 0.1 mm changes the demo wall by 0.06 %.
VOLUME_GRID_M = 0.2e-3

SIMPLIFICATIONS = [
    "wall = prism layers extruded from the fluid mesh's WALL triangles along smoothed "
    "vertex normals to the model's outer surface (straight rays, flat outer facets, "
    "smoothed ray lengths); the inner surface is the fluid lumen, junction simplification "
    "included",
    f"wall thickness at least {MIN_THICKNESS_IMT:g} x IMT (where the model's outer edge "
    "lies inside or too close to the lumen)",
    "flow divider: the two halves of the divider wedge are not joined (a column stops "
    f"{TOP_GAP:g} of its length before the facing half, or at {DIVIDER_FRACTION:g} of the "
    "distance to the opposite lumen); the thin gap is not meshed and tagged OUTER",
    "thickness reduced where neighbouring columns converge or twist (creases, divider)",
    "the wall also covers the flow extensions (straight, constant end section)",
]


@dataclass(slots=True)
class WallMesh:
    """Solid mesh: vertices (m), tetrahedra, tagged boundary triangles and build data."""

    points: np.ndarray           # (n, 3)
    tets: np.ndarray             # (m, 4), positively oriented
    facets: np.ndarray           # (k, 3) boundary triangles
    facet_values: np.ndarray     # (k,) facet tags
    interface_vertices: np.ndarray  # fluid vertex index of each layer-0 solid vertex
    thickness: np.ndarray        # per interface vertex (m)
    info: dict[str, Any] = field(default_factory=dict)


def _oriented_wall(points: np.ndarray, tets: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """``tris`` reordered so that their normals point out of the fluid tetrahedra."""
    n = len(points)
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]], tets[:, [0, 1, 3]],
                            tets[:, [0, 1, 2]]])
    opposite = np.concatenate([tets[:, 0], tets[:, 1], tets[:, 2], tets[:, 3]])
    fs = np.sort(faces, axis=1).astype(np.int64)
    keys = (fs[:, 0] * n + fs[:, 1]) * n + fs[:, 2]
    order = np.argsort(keys)
    ts = np.sort(tris, axis=1).astype(np.int64)
    tkeys = (ts[:, 0] * n + ts[:, 1]) * n + ts[:, 2]
    pos = np.searchsorted(keys[order], tkeys)
    if np.any(pos >= len(keys)) or np.any(keys[order][np.minimum(pos, len(keys) - 1)]
                                          != tkeys):
        raise ValueError("a WALL triangle is not a face of the fluid mesh")
    opp = opposite[order[pos]]
    p = points[tris]
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    flip = np.einsum("ij,ij->i", normal, points[opp] - p[:, 0]) > 0
    out = tris.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out


def _visibility(nrm: np.ndarray, base: np.ndarray, fu: np.ndarray) -> np.ndarray:
    """Per vertex, the smallest cosine between its normal and its facets' unit normals."""
    vis = np.full(len(nrm), np.inf)
    for j in range(3):
        np.minimum.at(vis, base[:, j], np.einsum("ij,ij->i", nrm[base[:, j]], fu))
    return vis


def _most_visible(n: np.ndarray, facets: np.ndarray, plane: np.ndarray) -> np.ndarray:
    """Direction maximising the smallest cosine to the unit normals ``facets`` (a few
    hundred subgradient steps from ``n``; kept in the plane normal to ``plane``, zero for
    none): the vertex normal of a sharp crest where the area-weighted one is not visible
    from every facet."""
    best, best_val = n, float((facets @ n).min())
    for k in range(400):
        worst = facets[int(np.argmin(facets @ n))]
        n = n + worst * 0.2 / (1.0 + 0.05 * k)
        n = n - (n @ plane) * plane
        n = n / np.linalg.norm(n)
        val = float((facets @ n).min())
        if val > best_val:
            best, best_val = n, val
    return best


def _lipschitz(h: np.ndarray, edges: np.ndarray, length: np.ndarray, slope: float
               ) -> np.ndarray:
    r"""The largest field ≤ ``h`` whose change along every edge is at most ``slope`` times
    its length (label-correcting passes of :math:`h_i = \min(h_i, h_j + s\,l_{ij})`)."""
    h = h.copy()
    for _ in range(len(h)):
        via = np.full(len(h), np.inf)
        np.minimum.at(via, edges[:, 0], h[edges[:, 1]] + slope * length)
        np.minimum.at(via, edges[:, 1], h[edges[:, 0]] + slope * length)
        new = np.minimum(h, via)
        if np.array_equal(new, h):
            break
        h = new
    return h


def _sharp_vertices(base: np.ndarray, fu: np.ndarray, n: int) -> np.ndarray:
    """Vertices on an edge whose two facets' normals differ by more than SHARP_EDGE_DEG."""
    e = np.concatenate([base[:, [0, 1]], base[:, [1, 2]], base[:, [2, 0]]])
    face = np.tile(np.arange(len(base)), 3)
    e = np.sort(e, axis=1)
    key = e[:, 0].astype(np.int64) * n + e[:, 1]
    order = np.argsort(key, kind="stable")
    key, e, face = key[order], e[order], face[order]
    pair = np.nonzero(key[1:] == key[:-1])[0]
    cos = np.einsum("ij,ij->i", fu[face[pair]], fu[face[pair + 1]])
    sharp = pair[cos < np.cos(np.deg2rad(SHARP_EDGE_DEG))]
    out = np.zeros(n, bool)
    out[e[sharp].ravel()] = True
    return out


def _edges(tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges (i < j) and how many triangles use each."""
    e = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    edges, counts = np.unique(e, axis=0, return_counts=True)
    return edges, counts


def _ray_march(model: BifurcationModel, extend: dict[str, float], x: np.ndarray,
               d: np.ndarray, t_min: float, t_max: float) -> tuple[np.ndarray, np.ndarray]:
    """First zero of ψ (docstring 3) along ``x + t d`` in (0, t_max]; found flag."""

    def psi(p: np.ndarray) -> np.ndarray:
        outer = model.level_set(p, outer=True, extend=extend)
        lumen = model.level_set(p, outer=False, extend=extend)
        return np.minimum(outer, lumen - t_min)

    n_steps = int(np.ceil(t_max / RAY_STEP_M))
    ts = np.linspace(0.0, t_max, n_steps + 1)
    lo = np.zeros(len(x))
    hi = np.full(len(x), t_max)
    found = np.zeros(len(x), bool)
    prev = psi(x)
    for k in range(1, len(ts)):
        cur = psi(x + ts[k] * d)
        new = ~found & (cur > 0.0) & (prev <= 0.0)
        lo[new], hi[new] = ts[k - 1], ts[k]
        found |= new
        prev = cur
        if found.all():
            break
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        out = psi(x + mid[:, None] * d) > 0.0
        hi = np.where(out, mid, hi)
        lo = np.where(out, lo, mid)
    return np.where(found, 0.5 * (lo + hi), t_max), found


def _first_hits(points: np.ndarray, tris: np.ndarray, verts: np.ndarray, d: np.ndarray,
                t_max: np.ndarray, origins: np.ndarray | None = None,
                front_only: bool = False) -> np.ndarray:
    """Distance along ``origins + t d`` (default ``points[verts]``) to the first triangle
    ``points[tris]`` not incident to ``verts`` (Möller & Trumbore 1997), ``inf`` if none
    within ``t_max``; ``front_only``: only triangles whose normal faces the ray."""
    p = points[tris]
    centres = p.mean(axis=1)
    reach = float(np.linalg.norm(p - centres[:, None], axis=2).max())
    x = points[verts] if origins is None else origins
    tree = cKDTree(centres)
    lists = tree.query_ball_point(x + 0.5 * t_max[:, None] * d, 0.5 * t_max + reach)
    counts = np.fromiter((len(c) for c in lists), np.int64, len(lists))
    ray = np.repeat(np.arange(len(verts)), counts)
    tri = np.fromiter((i for c in lists for i in c), np.int64, int(counts.sum()))
    keep = np.all(tris[tri] != verts[ray][:, None], axis=1)
    ray, tri = ray[keep], tri[keep]
    a, b, c = p[tri, 0], p[tri, 1], p[tri, 2]
    e1, e2 = b - a, c - a
    dr = d[ray]
    pv = np.cross(dr, e2)
    det = np.einsum("ij,ij->i", e1, pv)   # = -d . (e1 x e2): > 0 when facing the ray
    ok = det > 1e-30 if front_only else np.abs(det) > 1e-30
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tv = x[ray] - a
    u = np.einsum("ij,ij->i", tv, pv) * inv
    qv = np.cross(tv, e1)
    v = np.einsum("ij,ij->i", dr, qv) * inv
    t = np.einsum("ij,ij->i", e2, qv) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-12)
    out = np.full(len(verts), np.inf)
    np.minimum.at(out, ray[hit], t[hit])
    return out


#: Reference right prism: bottom triangle 0 1 2 (counter-clockwise seen from the top),
#: vertex i + 3 above vertex i.
_PRISM = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1]], float)


def _prism_table() -> dict[int, np.ndarray | None]:
    """Tetrahedra (local prism vertices, positively oriented) for each choice of the three
    side diagonals (Dompierre et al. 1999). Bit s of the code: side (s, s+1 mod 3) is split
    by the diagonal from bottom vertex s to top vertex s+1 (else bottom s+1 to top s).
    The two cyclic choices (codes 0 and 7) have no split without an extra vertex: None."""
    table: dict[int, np.ndarray | None] = {}
    for code in range(8):
        diags = []
        for side in range(3):
            i, j = side, (side + 1) % 3
            diags.append((i, j + 3) if (code >> side) & 1 else (j, i + 3))
        both = [v for v in range(6) if sum(v in d for d in diags) == 2]
        if not both:
            table[code] = None
            continue
        v = both[0]  # the vertex with two diagonals: tetrahedron with the opposite triangle
        far = (3, 4, 5) if v < 3 else (0, 1, 2)
        side = ((v % 3) + 1) % 3   # the side quad without v, split by its own diagonal
        i, j = side, (side + 1) % 3
        d = diags[side]
        rest = [w for w in (i, j, j + 3, i + 3) if w not in d]
        tets = [(v, *far), (v, d[0], d[1], rest[0]), (v, d[0], d[1], rest[1])]
        out = []
        for t in tets:
            q = _PRISM[list(t)]
            if np.dot(np.cross(q[1] - q[0], q[2] - q[0]), q[3] - q[0]) < 0:
                t = (t[1], t[0], t[2], t[3])
            out.append(t)
        table[code] = np.array(out)
    return table


_TABLE = _prism_table()


@dataclass(slots=True)
class _Layers:
    """Prism layers over the oriented base triangles and their side diagonals."""

    base: np.ndarray        # (f, 3) local vertex numbers, outward orientation
    edges: np.ndarray       # (e, 2) unique edges, i < j
    side_edge: np.ndarray   # (f, 3) edge of side s = (base[s], base[s+1])
    side_fwd: np.ndarray    # (f, 3) True where base[s] == edges[side_edge, 0]
    n_wall: int
    layers: int
    diag: np.ndarray        # (layers, e) True: diagonal bottom edges[e,0] -> top edges[e,1]

    def codes(self, k: int, faces: np.ndarray) -> np.ndarray:
        bits = self.diag[k][self.side_edge[faces]] == self.side_fwd[faces]
        return bits[:, 0] + 2 * bits[:, 1] + 4 * bits[:, 2]

    def prism_tets(self, k: int, faces: np.ndarray) -> np.ndarray:
        """(len(faces), 3, 4) tetrahedra of the prisms over ``faces`` in layer ``k``."""
        verts = np.concatenate([self.base[faces] + k * self.n_wall,
                                self.base[faces] + (k + 1) * self.n_wall], axis=1)
        code = self.codes(k, faces)
        out = np.empty((len(faces), 3, 4), np.int64)
        for c in np.unique(code):
            sel = code == c
            out[sel] = verts[sel][:, _TABLE[int(c)]]
        return out

    def all_tets(self) -> np.ndarray:
        faces = np.arange(len(self.base))
        return np.concatenate([self.prism_tets(k, faces).reshape(-1, 4)
                               for k in range(self.layers)])


def _layers(base: np.ndarray, edges: np.ndarray, n_wall: int, layers: int,
            order: np.ndarray) -> _Layers:
    """Layers with the Dompierre diagonals: each side split from its lower-ranked bottom
    vertex (``order``: rank of each local vertex), never cyclic."""
    n = n_wall
    key = edges[:, 0].astype(np.int64) * n + edges[:, 1]
    a, b = base, np.roll(base, -1, axis=1)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    side_edge = np.searchsorted(key, lo.astype(np.int64) * n + hi)
    diag = np.repeat((order[edges[:, 0]] < order[edges[:, 1]])[None], layers, axis=0)
    return _Layers(base, edges, side_edge, a == lo, n, layers, diag)


def _flip_diagonals(lay: _Layers, pts: np.ndarray, below_deg: float, passes: int = 3
                    ) -> int:
    """Greedy flips of side diagonals next to tetrahedra below ``below_deg``: a flip is
    kept when neither prism sharing the side becomes cyclic and the smallest dihedral
    angle of their tetrahedra increases. Returns the number of flips kept."""
    nf = len(lay.base)
    owners: dict[int, list[int]] = {}
    for f, e in zip(np.repeat(np.arange(nf), 3), lay.side_edge.ravel(), strict=True):
        owners.setdefault(int(e), []).append(int(f))
    kept = 0
    for _ in range(passes):
        q = np.rad2deg(min_dihedral_angles(pts, lay.all_tets())).reshape(lay.layers, nf, 3)
        worst = q.min(axis=2)
        changed = False
        for k, f in zip(*np.nonzero(worst < below_deg), strict=True):
            for e in lay.side_edge[f]:
                faces = np.array(owners[int(e)])
                old = min_dihedral_angles(pts, lay.prism_tets(k, faces).reshape(-1, 4)).min()
                lay.diag[k, e] = ~lay.diag[k, e]
                if np.isin(lay.codes(k, faces), (0, 7)).any():
                    lay.diag[k, e] = ~lay.diag[k, e]
                    continue
                new = min_dihedral_angles(pts, lay.prism_tets(k, faces).reshape(-1, 4)).min()
                if new > old:
                    kept += 1
                    changed = True
                else:
                    lay.diag[k, e] = ~lay.diag[k, e]
        if not changed:
            break
    return kept


def extrude_wall(points: np.ndarray, tets: np.ndarray, wall_tris: np.ndarray,
                 cap_tris: dict[int, np.ndarray], model: BifurcationModel,
                 extend: dict[str, float], layers: int = WALL_LAYERS) -> WallMesh:
    """Extrude the fluid WALL (``wall_tris`` into ``points``) to the model's outer wall.

    ``cap_tris``: triangles of the fluid INLET / OUTLET_ICA / OUTLET_ECA facet tags (their
    planes fix the end-ring normals); ``extend``: flow extensions per branch (m), as for the
    fluid mesh. See the module docstring for the steps.
    """
    t0 = time.perf_counter()
    wall = _oriented_wall(points, tets, np.asarray(wall_tris, np.int64))
    verts, base = np.unique(wall, return_inverse=True)
    base = base.reshape(-1, 3)
    nw = len(verts)
    x = points[verts]
    # 2. vertex normals (area-weighted), smoothed, end rings in their cap planes
    pt = x[base]
    fn = np.cross(pt[:, 1] - pt[:, 0], pt[:, 2] - pt[:, 0])  # 2 x area x unit normal
    fu = fn / np.linalg.norm(fn, axis=1, keepdims=True)
    n0 = np.zeros((nw, 3))
    for j in range(3):
        np.add.at(n0, base[:, j], fn)
    n0 /= np.linalg.norm(n0, axis=1, keepdims=True)
    edges, counts = _edges(base)
    adj = sparse.coo_matrix((np.ones(2 * len(edges)),
                             (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]])),
                            shape=(nw, nw)).tocsr()
    ring_plane = np.zeros((nw, 3))
    ring_tag = np.zeros(nw, int)
    local = np.full(len(points), -1)
    local[verts] = np.arange(nw)
    for tag, tris in cap_tris.items():
        q = points[np.asarray(tris, np.int64)]
        cn = np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0])
        cn = cn * np.sign(cn @ cn[0])[:, None]
        plane = cn.sum(axis=0) / np.linalg.norm(cn.sum(axis=0))
        on = local[np.unique(tris)]
        on = on[on >= 0]
        ring_plane[on] = plane
        ring_tag[on] = tag
    on_ring = ring_tag > 0

    def project(n: np.ndarray) -> np.ndarray:
        n = n - np.einsum("ij,ij->i", n, ring_plane)[:, None] * ring_plane
        return n / np.linalg.norm(n, axis=1, keepdims=True)

    n0 = project(n0)
    vis0 = _visibility(n0, base, fu)
    for v in np.nonzero(vis0 < MIN_VISIBILITY)[0]:
        n0[v] = _most_visible(n0[v], fu[(base == v).any(axis=1)], ring_plane[v])

    def smooth(nrm: np.ndarray, mask: np.ndarray, steps: int) -> np.ndarray:
        """Jacobi steps on the ``mask`` vertices; a normal that would not be visible
        from all its facets keeps its previous value."""
        for _ in range(steps):
            new = project(0.5 * nrm + 0.5 * (adj @ nrm) / deg[:, None])
            vis = _visibility(new, base, fu)
            take = mask & (vis >= np.minimum(MIN_VISIBILITY, _visibility(nrm, base, fu)))
            nrm = np.where(take[:, None], new, nrm)
        return nrm

    deg = np.asarray(adj.sum(axis=1)).ravel()
    nrm = smooth(n0, np.ones(nw, bool), NORMAL_SMOOTHING_STEPS)
    # fan the normals out over a band around sharp edges (divider crest, junction creases)
    e_len = np.linalg.norm(x[edges[:, 1]] - x[edges[:, 0]], axis=1)
    sharp = _sharp_vertices(base, fu, nw)
    band = np.zeros(nw, bool)
    if sharp.any():
        from scipy.sparse.csgraph import dijkstra

        graph = sparse.coo_matrix((e_len, (edges[:, 0], edges[:, 1])), shape=(nw, nw))
        dist = dijkstra(graph.tocsr(), directed=False, indices=np.nonzero(sharp)[0],
                        min_only=True, limit=FAN_BAND_IMT * model.imt)
        band = np.isfinite(dist)
        nrm = smooth(nrm, band, FAN_SMOOTHING_STEPS)
    # 3. thickness: ray to the effective outer surface, collision limit at the divider
    t_min = MIN_THICKNESS_IMT * model.imt
    wall_max = max(float((b.outer_radius - b.lumen_radius + np.abs(b.lumen_offset)).max())
                   for b in model.branches.values())
    t_search = 2.0 * max(wall_max, t_min) + 1e-3
    t_out, found = _ray_march(model, extend, x, nrm, t_min, t_search)
    floor_active = model.level_set(x + t_out[:, None] * nrm, outer=True, extend=extend) > 1e-7
    hits = _first_hits(x, base, np.arange(nw), nrm, t_out)
    h = t_out.copy()
    for _ in range(THICKNESS_SMOOTHING_STEPS):
        h = 0.5 * h + 0.5 * (adj @ h) / deg
    cap = np.where(np.isfinite(hits), DIVIDER_FRACTION * hits, np.inf)
    # converging normals (concave creases): the extruded edge e + h (n_j - n_i) must keep
    # at least 1 - CONVERGENCE_FRACTION of its length along e
    e_vec = x[edges[:, 1]] - x[edges[:, 0]]
    conv = -np.einsum("ij,ij->i", e_vec, nrm[edges[:, 1]] - nrm[edges[:, 0]])
    limit = np.where(conv > 0, CONVERGENCE_FRACTION * e_len ** 2 / np.where(conv > 0, conv,
                                                                            1.0), np.inf)
    spread = np.linalg.norm(nrm[edges[:, 1]] - nrm[edges[:, 0]], axis=1)
    limit = np.minimum(limit, SHEAR_FRACTION * e_len / np.maximum(spread, 1e-12))
    np.minimum.at(cap, edges[:, 0], limit)
    np.minimum.at(cap, edges[:, 1], limit)
    limited = cap < h
    h = _lipschitz(np.minimum(h, cap), edges, e_len, THICKNESS_SLOPE)
    # facing walls (the two halves of the divider): a column must end TOP_GAP of its
    # length before it meets the outer surface of another part of the wall, front side
    ids = np.arange(nw)
    for _ in range(5):
        top = np.concatenate([x, x + h[:, None] * nrm])
        meet = _first_hits(top, base + nw, ids + nw, nrm, (1.0 + TOP_GAP) * h, origins=x,
                           front_only=True)
        close = meet < (1.0 + TOP_GAP) * h
        if not close.any():
            break
        h = _lipschitz(np.where(close, meet / (1.0 + TOP_GAP) ** 2, h), edges, e_len,
                       THICKNESS_SLOPE)
        limited |= close
    # 4.-5. layers and tetrahedra (ranks: decreasing distance from the nearest sharp edge),
    # thinner where a prism folds
    order = np.arange(nw)
    if sharp.any():
        dist_all = dijkstra(graph.tocsr(), directed=False, indices=np.nonzero(sharp)[0],
                            min_only=True)
        order = np.argsort(np.argsort(-dist_all, kind="stable"), kind="stable")
    lay = _layers(base, edges, nw, layers, order)
    tet = lay.all_tets()
    unfold = 0
    for unfold in range(MAX_UNFOLD_PASSES + 1):
        pts = np.concatenate([x + (k / layers) * h[:, None] * nrm for k in range(layers + 1)])
        vol = signed_volumes(pts, tet)
        if not (vol <= 0.0).any() or unfold == MAX_UNFOLD_PASSES:
            break
        prism = np.unique((np.nonzero(vol <= 0.0)[0] // 3) % len(base))
        h[np.unique(base[prism])] *= 0.7
        h = _lipschitz(h, edges, e_len, THICKNESS_SLOPE)
    # 6. repair: diagonal flips; inner layers free, outer surface tangentially, end rings
    # in their planes
    flips = _flip_diagonals(lay, pts, OPTIMISE_BELOW_DEG)
    tet = lay.all_tets()
    plane = np.zeros((len(pts), 3))
    plane[:nw] = np.nan
    plane[layers * nw:] = nrm
    ring = np.nonzero(on_ring)[0]
    for k in range(1, layers):
        plane[ring + k * nw] = ring_plane[ring]
    plane[ring + layers * nw] = np.nan
    before = pts.copy()
    reverted = 0
    for _ in range(4):
        _improve_worst(pts, tet, plane, OPTIMISE_BELOW_DEG)
        # a move must not push a cell into another (the divider gap): undo, freeze, redo
        changed = np.nonzero(np.any(pts != before, axis=1))[0]
        near = np.nonzero(np.isin(tet, changed).any(axis=1))[0]
        if len(near) == 0:
            break
        cen = pts[tet].mean(axis=1)
        qa, ta = _overlap_pairs(pts, tet, cen[near], near)
        local = np.full(len(cen), -1)
        local[near] = np.arange(len(near))
        qb, tb = _overlap_pairs(pts, tet[near], cen, local)
        bad = np.unique(np.concatenate([near[qa], ta, qb, near[tb]]))
        undo = np.intersect1d(np.unique(tet[bad]), changed)
        if len(undo) == 0:
            break
        pts[undo] = before[undo]
        plane[undo] = np.nan
        reverted += len(undo)
    shifts = np.linalg.norm(pts - before, axis=1)
    # 7. boundary facets
    top = base + layers * nw
    facets = [base, top[:, [0, 2, 1]]]
    values = [np.full(len(base), tags.INTERFACE), np.full(len(base), tags.OUTER)]
    bnd = edges[counts == 1]
    if len(bnd):
        if not (on_ring[bnd[:, 0]] & on_ring[bnd[:, 1]]).all():
            raise ValueError("an open edge of the WALL surface is not on an end cap")
        ring_vals = np.array([tags.WALL_END_RING_TAGS[t] for t in ring_tag[bnd[:, 0]]])
        bnd_id = np.nonzero(counts == 1)[0]
        for k in range(layers):
            # each side quad split by its diagonal, from the bottom of its first vertex
            pair = np.where(lay.diag[k, bnd_id][:, None], bnd, bnd[:, ::-1])
            lo, hi = pair + k * nw, pair + (k + 1) * nw
            facets += [np.stack([lo[:, 0], lo[:, 1], hi[:, 1]], axis=1),
                       np.stack([lo[:, 0], hi[:, 1], hi[:, 0]], axis=1)]
            values += [ring_vals, ring_vals]
    info = {"wall_layers": layers, "sharp_edge_vertices": int(sharp.sum()),
            "fan_band_vertices": int(band.sum()),
            "min_thickness_m": float(h.min()), "max_thickness_m": float(h.max()),
            "median_thickness_m": float(np.median(h)),
            "thickness_floor_m": t_min,
            "vertices_at_thickness_floor": int(floor_active.sum()),
            "vertices_collision_limited": int(limited.sum()),
            "rays_without_outer_surface": int((~found).sum()),
            "unfold_passes": int(unfold), "diagonal_flips": flips,
            "optimised_vertices": int((shifts > 0).sum()),
            "optimisation_max_shift_m": float(shifts.max()),
            "optimisation_moves_undone_for_overlap": reverted,
            "extrusion_time_s": time.perf_counter() - t0}
    return WallMesh(pts, tet, np.concatenate(facets), np.concatenate(values), verts, h, info)


def _improve_worst(pts: np.ndarray, tets: np.ndarray, plane: np.ndarray, below_deg: float,
                   sweeps: int = 6) -> tuple[int, float]:
    """Greedy local search (in place) on the movable vertices of the tetrahedra whose
    smallest dihedral angle is below ``below_deg``.

    ``plane``: per vertex, NaN = fixed, a unit vector = moves restricted to the plane normal
    to it, zero = free. Each sweep, each vertex tries the 14 directions ±x, ±y, ±z and the
    cube diagonals (projected into its plane) with a step of a quarter of its distance to
    the nearest vertex of its tetrahedra (× 0.6 per sweep), and the centroid of those
    vertices; it keeps the position with the largest smallest dihedral angle of its
    tetrahedra if that is larger than before and no tetrahedron inverts. Returns the number
    of vertices moved and the largest displacement (m).
    """
    if below_deg <= 0:
        return 0, 0.0
    worst = np.rad2deg(min_dihedral_angles(pts, tets))
    cand = np.unique(tets[worst < below_deg])
    cand = cand[~np.isnan(plane[cand, 0])]
    if len(cand) == 0:
        return 0, 0.0
    flat = tets.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], cand)
    ends = np.searchsorted(flat[order], cand, side="right")
    cube = np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]) / np.sqrt(3.0)
    dirs = np.concatenate([np.eye(3), -np.eye(3), cube, -cube])
    start = pts[cand].copy()
    for sweep in range(sweeps):
        for k, v in enumerate(cand):
            t = tets[order[starts[k]:ends[k]] // 4]
            nbr = np.unique(t[t != v])
            dmin = float(np.linalg.norm(pts[nbr] - pts[v], axis=1).min())
            n = plane[v]
            d = dirs - np.outer(dirs @ n, n)
            moves = np.concatenate([0.25 * 0.6 ** sweep * dmin * d,
                                    [pts[nbr].mean(axis=0) - pts[v]]])
            moves[-1] -= (moves[-1] @ n) * n
            moves = np.concatenate([np.zeros((1, 3)), moves])
            corners = np.repeat(pts[t][None], len(moves), axis=0)   # (K, m, 4, 3)
            corners[:, t == v] = pts[v] + moves[:, None]
            flat_pts = corners.reshape(-1, 3)
            cells = np.arange(len(flat_pts)).reshape(-1, 4)
            q = min_dihedral_angles(flat_pts, cells).reshape(len(moves), -1)
            ok = (signed_volumes(flat_pts, cells).reshape(len(moves), -1) > 0).all(axis=1)
            score = np.where(ok, q.min(axis=1), -1.0)
            best = int(np.argmax(score))
            if best > 0 and score[best] > score[0]:
                pts[v] = pts[v] + moves[best]
    disp = np.linalg.norm(pts[cand] - start, axis=1)
    return int((disp > 0).sum()), float(disp.max())


def model_volumes(model: BifurcationModel, extend: dict[str, float], t_min: float = 0.0,
                  step: float = VOLUME_GRID_M) -> dict[str, float]:
    """Volumes (m³) of the model's outer union, lumen union and wall (outer minus lumen)
    between the end planes (module docstring).

    ``t_min`` > 0 measures the outer union with the thickness floor of docstring 3 (level
    set :math:`\\min(\\phi_{outer}, \\phi_{lumen} - t_{min})`).
    """
    out = {"outer": 0.0, "lumen": 0.0, "wall": 0.0}
    for bi, (name, b) in enumerate(model.branches.items()):
        e = b.direction
        u = b.normal
        w = np.cross(e, u)
        r_max = float(max(b.outer_radius.max(),
                          (b.lumen_radius + np.abs(b.lumen_offset)).max() + t_min))
        lo, hi = b.s_min, b.s_max
        if name == "cca":
            lo -= extend.get(name, 0.0)
            hi += r_max
        else:
            hi += extend.get(name, 0.0)
            lo -= r_max
        ss = np.arange(lo + 0.5 * step, hi, step)
        cs = np.arange(-r_max + 0.5 * step, r_max, step)
        gu, gw = np.meshgrid(cs, cs, indexing="ij")
        disc = (gu ** 2 + gw ** 2) <= (r_max + step) ** 2
        cross = gu[disc][:, None] * u + gw[disc][:, None] * w
        for chunk in np.array_split(ss, max(1, len(ss) // 40)):
            p = (chunk[:, None, None] * e + cross[None]).reshape(-1, 3)
            outer = _clipped(model, p, True, extend)
            lumen_b = _clipped(model, p, False, extend)
            if t_min > 0:
                outer = np.minimum(outer, lumen_b - t_min)
            lumen = lumen_b.min(axis=0)
            mine = np.argmin(outer, axis=0) == bi   # each point counted by one branch
            inside = (outer.min(axis=0) < 0) & mine
            out["outer"] += float(inside.sum()) * step ** 3
            out["lumen"] += float((inside & (lumen < 0)).sum()) * step ** 3
            out["wall"] += float((inside & (lumen >= 0)).sum()) * step ** 3
    return out


def _clipped(model: BifurcationModel, p: np.ndarray, outer: bool,
             extend: dict[str, float]) -> np.ndarray:
    """Per-branch level sets, +inf beyond each branch's open end plane."""
    vals = model.branch_level_sets(p, outer, extend)
    for i, (name, b) in enumerate(model.branches.items()):
        s = p @ b.direction
        if name == "cca":
            beyond = s < b.s_min - extend.get(name, 0.0)
        else:
            beyond = s > b.s_max + extend.get(name, 0.0)
        vals[i, beyond] = np.inf
    return vals


def _overlap_pairs(points: np.ndarray, tets: np.ndarray, query: np.ndarray,
                   query_tet: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (query point, tetrahedron) with the point strictly inside the tetrahedron;
    ``query_tet[i]``: the tetrahedron query ``i`` is the centroid of (skipped), or None."""
    p = points[tets]
    centres = p.mean(axis=1)
    reach = np.linalg.norm(p - centres[:, None], axis=2).max(axis=1)
    lists = cKDTree(query).query_ball_point(centres, reach)
    counts = np.fromiter((len(c) for c in lists), np.int64, len(lists))
    ti = np.repeat(np.arange(len(tets)), counts)
    qi = np.fromiter((i for c in lists for i in c), np.int64, int(counts.sum()))
    if query_tet is not None:
        keep = query_tet[qi] != ti
        qi, ti = qi[keep], ti[keep]
    a = p[ti, 0]
    e1, e2, e3, r = p[ti, 1] - a, p[ti, 2] - a, p[ti, 3] - a, query[qi] - a
    det = np.einsum("ij,ij->i", np.cross(e1, e2), e3)
    ok = np.abs(det) > 0.0
    det = np.where(ok, det, 1.0)
    lam = np.stack([np.einsum("ij,ij->i", np.cross(r, e2), e3),
                    np.einsum("ij,ij->i", np.cross(e1, r), e3),
                    np.einsum("ij,ij->i", np.cross(e1, e2), r)], axis=1) / det[:, None]
    tol = 1e-9
    inside = ok & (lam > tol).all(axis=1) & (lam.sum(axis=1) < 1.0 - tol)
    return qi[inside], ti[inside]


def count_overlaps(points: np.ndarray, tets: np.ndarray, query: np.ndarray,
                   exclude_self: bool) -> int:
    """How many ``query`` points lie strictly inside a tetrahedron of ``tets`` (with
    ``exclude_self``, query ``i`` is the centroid of tet ``i`` and that tet is skipped)."""
    qi, _ = _overlap_pairs(points, tets, query,
                           np.arange(len(query)) if exclude_self else None)
    return int(np.unique(qi).size)


def wall_quality(wm: WallMesh, fluid_points: np.ndarray, fluid_tets: np.ndarray,
                 fluid_wall_tris: np.ndarray, model: BifurcationModel,
                 extend: dict[str, float]) -> dict[str, Any]:
    """The ``wall_mesh`` section of ``mesh_quality.json`` (module docstring, Quality)."""
    quality = cell_quality(wm.points, wm.tets)
    mesh_volume = quality["mesh_volume_m3"]
    inter = np.unique(wm.facets[wm.facet_values == tags.INTERFACE])
    fluid_wall = np.unique(fluid_wall_tris)
    dist, _ = cKDTree(fluid_points[fluid_wall]).query(wm.points[inter])
    raw = model_volumes(model, extend)
    floored = model_volumes(model, extend, MIN_THICKNESS_IMT * model.imt)
    fluid_volume = float(signed_volumes(fluid_points, fluid_tets).sum())
    centroids = wm.points[wm.tets].mean(axis=1)
    bounded = floored["outer"] - fluid_volume
    return {
        **quality,
        "model_wall_volume_m3": raw["wall"],
        "volume_relative_difference": (mesh_volume - raw["wall"]) / raw["wall"],
        "model_wall_volume_with_thickness_floor_m3": floored["wall"],
        "volume_relative_difference_with_thickness_floor":
            (mesh_volume - floored["wall"]) / floored["wall"],
        "outer_minus_fluid_mesh_volume_m3": bounded,
        "volume_relative_difference_outer_minus_fluid_mesh":
            (mesh_volume - bounded) / bounded,
        "interface_vertices": int(len(inter)),
        "fluid_wall_vertices": int(len(fluid_wall)),
        "interface_vertices_on_fluid_wall": int((dist <= 1e-9).sum()),
        "cells_overlapping_solid": count_overlaps(wm.points, wm.tets, centroids, True),
        "cells_overlapping_fluid": count_overlaps(fluid_points, fluid_tets, centroids, False),
        **wm.info,
    }
