"""Depth of the nearest surface per pixel: a plain triangle z-buffer (Numba), for visibility tests.

Why not the Gaussian rasterizer: its depth is an alpha-blended expectation, soft at silhouettes;
a surface point is seen exactly when nothing nearer covers its pixel, which a z-buffer answers.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _rasterize_depth(pixels: np.ndarray, depth: np.ndarray, faces: np.ndarray, width: int, height: int) -> np.ndarray:
    zbuf = np.full((height, width), np.inf, dtype=np.float32)
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        za, zb, zc = depth[a], depth[b], depth[c]
        if not (za > 0 and zb > 0 and zc > 0):
            continue
        xa, ya = pixels[a, 0], pixels[a, 1]
        xb, yb = pixels[b, 0], pixels[b, 1]
        xc, yc = pixels[c, 0], pixels[c, 1]
        area = (xb - xa) * (yc - ya) - (xc - xa) * (yb - ya)
        if abs(area) < 1e-12:
            continue
        x0 = max(int(np.floor(min(xa, min(xb, xc)))), 0)
        x1 = min(int(np.ceil(max(xa, max(xb, xc)))), width - 1)
        y0 = max(int(np.floor(min(ya, min(yb, yc)))), 0)
        y1 = min(int(np.ceil(max(ya, max(yb, yc)))), height - 1)
        for y in range(y0, y1 + 1):
            py = y + 0.5
            for x in range(x0, x1 + 1):
                px = x + 0.5
                w0 = ((xb - px) * (yc - py) - (xc - px) * (yb - py)) / area
                w1 = ((xc - px) * (ya - py) - (xa - px) * (yc - py)) / area
                w2 = 1.0 - w0 - w1
                if w0 < 0 or w1 < 0 or w2 < 0:
                    continue
                z = w0 * za + w1 * zb + w2 * zc
                if z < zbuf[y, x]:
                    zbuf[y, x] = z
    return zbuf


def depth_buffer(pixels: np.ndarray, depth: np.ndarray, faces: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[H, W] float32 depth of the nearest triangle (inf where none) for vertices at ``pixels`` [V, 2]
    (pixel centres at +0.5) with camera depth ``depth`` [V]."""
    width, height = size
    return _rasterize_depth(np.nan_to_num(np.asarray(pixels, np.float64), nan=-1e9),
                            np.nan_to_num(np.asarray(depth, np.float64), nan=-1.0),
                            np.ascontiguousarray(faces, dtype=np.int64), int(width), int(height))
