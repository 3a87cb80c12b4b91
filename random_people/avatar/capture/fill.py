"""Colour what the camera never saw: the mirror point first, then diffusion within the region.

People are nearly left/right symmetric in colour (a sleeve like the other sleeve), so a point
never seen takes the colour of its mirror image on the rest body when that was seen. What is
left is filled by diffusion over the mesh (each unknown vertex takes the mean of its known
neighbours, ring after ring), never across a region border (a shirt does not bleed into skin);
a region never seen at all is finally filled from its neighbours across borders.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

logger = logging.getLogger(__name__)

MIRROR_TOLERANCE_M = 0.015
MAX_RINGS = 400


def mirror_vertices(rest_vertices: np.ndarray, lateral_axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For each rest vertex, its nearest vertex after mirroring across the body's midplane, and the distance."""
    mirrored = np.array(rest_vertices, dtype=np.float64)
    mirrored[:, lateral_axis] *= -1.0
    distance, index = cKDTree(rest_vertices).query(mirrored, k=1)
    return index, distance


def adjacency(faces: np.ndarray, count: int) -> sp.csr_matrix:
    """Vertex adjacency [V, V] (1 between vertices sharing an edge)."""
    i = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 1], faces[:, 2], faces[:, 0]])
    j = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], faces[:, 0], faces[:, 1], faces[:, 2]])
    matrix = sp.csr_matrix((np.ones(len(i), np.float32), (i, j)), shape=(count, count))
    matrix.data[:] = 1.0
    return matrix


def _diffuse(colors: np.ndarray, known: np.ndarray, graph: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    colors, known = colors.copy(), known.copy()
    for _ in range(MAX_RINGS):
        total = graph @ (colors * known[:, None])
        count = graph @ known.astype(np.float32)
        grow = ~known & (count > 0)
        if not grow.any():
            break
        colors[grow] = total[grow] / count[grow, None]
        known |= grow
    return colors, known


def fill_unseen(colors: np.ndarray, seen: np.ndarray, rest_vertices: np.ndarray, faces: np.ndarray,
                region: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """``colors`` [V, 3] with unseen vertices filled; counts of how each was filled."""
    colors = np.array(colors, dtype=np.float32)
    known = np.array(seen, dtype=bool)
    mirror, distance = mirror_vertices(rest_vertices)
    from_mirror = ~known & known[mirror] & (distance < MIRROR_TOLERANCE_M) & (region == region[mirror])
    colors[from_mirror] = colors[mirror[from_mirror]]
    known |= from_mirror
    graph = adjacency(np.asarray(faces), len(colors))
    coo = graph.tocoo()
    same = region[coo.row] == region[coo.col]
    within = sp.csr_matrix((coo.data[same], (coo.row[same], coo.col[same])), shape=graph.shape)
    before = int(known.sum())
    colors, known = _diffuse(colors, known, within)
    within_region = int(known.sum()) - before
    before = int(known.sum())
    colors, known = _diffuse(colors, known, graph)
    counts = {"seen": int(np.count_nonzero(seen)), "mirrored": int(from_mirror.sum()), "diffused": within_region,
              "across_regions": int(known.sum()) - before, "unfilled": int((~known).sum())}
    if not known.all():  # an island of the mesh with no path to any seen vertex
        colors[~known] = colors[known].mean(axis=0) if known.any() else 0.5
    logger.info("Filled unseen surface: %s", counts)
    return colors, counts
