"""How much of the body surface the clip showed: overall and by side (front, back, left, right).

A walk past the camera shows one side; a turn on the spot shows all. Each share is the seen
part of the surface area whose rest-pose normal points that way (Anny faces -Y with Z up, so the
person's left is +X), interior surfaces (mouth, eye sockets) left out.
"""

from __future__ import annotations

import numpy as np
import torch

from random_people.avatar.binding import triangle_areas, vertex_normals

SIDES = {"front": (0.0, -1.0, 0.0), "back": (0.0, 1.0, 0.0), "left": (1.0, 0.0, 0.0), "right": (-1.0, 0.0, 0.0)}
WARN_BELOW = 0.5  # a side less than half seen is mostly guessed


def vertex_areas(vertices: np.ndarray, faces: np.ndarray, include: np.ndarray | None = None) -> np.ndarray:
    """[V] a third of the area of every (included) triangle around each vertex."""
    areas = triangle_areas(vertices, faces)
    if include is not None:
        areas = areas * include
    result = np.zeros(len(vertices))
    for k in range(3):
        np.add.at(result, faces[:, k], areas / 3.0)
    return result


def coverage_report(seen: np.ndarray, rest_vertices: np.ndarray, faces: np.ndarray,
                    surface: np.ndarray | None = None) -> dict:
    """Shares of the surface seen: ``{"overall": x, "front": x, ..., "warnings": [...]}``."""
    areas = vertex_areas(np.asarray(rest_vertices, np.float64), faces, surface)
    normals = vertex_normals(torch.as_tensor(rest_vertices, dtype=torch.float32), torch.as_tensor(faces)).numpy()
    report: dict = {"overall": float(areas[seen].sum() / max(areas.sum(), 1e-12))}
    for name, direction in SIDES.items():
        facing = (normals @ np.array(direction)) > 0.5
        report[name] = float(areas[seen & facing].sum() / max(areas[facing].sum(), 1e-12))
    warnings = [f"only {100 * report[name]:.0f}% of the {name} was seen; the rest is filled in from the seen side "
                "and neighbouring colours (film the person turning once to capture every side)"
                for name in SIDES if report[name] < WARN_BELOW]
    report["warnings"] = warnings
    return report


def describe_coverage(report: dict) -> str:
    """The shares seen as one line ("overall 62%, front 90%, back 12%, ..."), as the CLI and the
    People tab show them."""
    return ", ".join(f"{name} {100 * report[name]:.0f}%" for name in ("overall", *SIDES))
