"""Keeping the rendered person inside the picture by moving the image window, not the camera.

The source camera puts the new person where the real one stood. A taller new person (an adult
re-performing a child's clip, or a tall man replacing the demo's man on the roof, whose raised
hands already reach the top of the source frame) then pokes out of the picture: in the Sports2D
demo at 512x288 a raised hand left the top edge in 29% of frames. A dataset renderer should frame
the whole person, so :func:`frame_person` slides the image window (the principal point, as a
crop of a larger sensor would) by the least amount that brings every keypoint of the clip, with
room for the head top and the hands beyond the wrists, inside the frame. The camera's position,
orientation and focal length stay the source's: the person keeps their size and viewpoint, only
where they sit in the picture moves. When the person's extent is larger than the frame along an
axis the window is centred on them along it (nothing fits; both ends are cut equally).

Only for backgrounds that do not depend on the source view (photographs, colours): over the
clip's own scene the window must stay the source's, or the person would float off their spot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from random_people.render.cameras import make_camera, project_points
from random_people.render.types import Camera

# Keypoints stop at the eyes, wrists, heels and toes: the head top, the hair and the fingertips lie
# beyond them by up to about a tenth of the body's height (a raised hand: ~0.11 of stature).
EXTENT_ALLOWANCE = 0.12


@dataclass(frozen=True)
class WindowShift:
    """How far the image window moved (pixels, +x right, +y down) and whether the person now fits."""

    shift_px: tuple[float, float]
    fits: bool

    def to_dict(self) -> dict[str, object]:
        return {"shift_px": [round(float(v), 2) for v in self.shift_px], "fits": bool(self.fits)}


def _axis_shift(low: float, high: float, size: float) -> tuple[float, bool]:
    """Shift s so that [low - s, high - s] lies inside [0, size] with the least |s| (centred if too big)."""
    if high - low > size:
        return (low + high) / 2.0 - size / 2.0, False
    if low < 0.0:
        return low, True
    if high > size:
        return high - size, True
    return 0.0, True


def person_extent(camera: Camera, keypoints_world: np.ndarray,
                  allowance: float = EXTENT_ALLOWANCE) -> np.ndarray | None:
    """(x0, y0, x1, y1) pixels holding every keypoint of every frame, widened for head top and hands.

    ``keypoints_world`` is [T, K, 3] (or [K, 3]); keypoints behind the camera or not finite are
    ignored. The box is widened by ``allowance`` times its per-frame person height (the largest
    over frames) on every side. None when no keypoint projects.
    """
    points = np.asarray(keypoints_world, dtype=np.float64)
    if points.ndim == 2:
        points = points[None]
    uv, depth = project_points(camera, points)
    valid = np.isfinite(uv).all(axis=-1) & (depth > 0)
    if not valid.any():
        return None
    heights = [float(np.ptp(frame_uv[ok, 1])) for frame_uv, ok in zip(uv, valid) if ok.sum() >= 2]
    pad = allowance * (max(heights) if heights else 0.0)
    kept = uv[valid]
    low, high = kept.min(axis=0) - pad, kept.max(axis=0) + pad
    return np.array([low[0], low[1], high[0], high[1]])


def frame_person(camera: Camera, keypoints_world: np.ndarray,
                 allowance: float = EXTENT_ALLOWANCE) -> tuple[Camera, WindowShift]:
    """``camera`` with its image window slid so the person's whole clip extent is in the picture.

    See the module docstring. Returns the (possibly unchanged) camera and the :class:`WindowShift`
    applied, for the clip's metadata.
    """
    box = person_extent(camera, keypoints_world, allowance)
    if box is None:
        return camera, WindowShift((0.0, 0.0), False)
    dx, fits_x = _axis_shift(box[0], box[2], camera.width)
    dy, fits_y = _axis_shift(box[1], box[3], camera.height)
    if dx == 0.0 and dy == 0.0:
        return camera, WindowShift((0.0, 0.0), fits_x and fits_y)
    K = camera.K.detach().cpu().double().numpy().copy()
    K[0, 2] -= dx
    K[1, 2] -= dy
    w2c = camera.world_to_camera.detach().cpu().double().numpy()
    return make_camera(K, w2c, camera.width, camera.height), WindowShift((float(dx), float(dy)), fits_x and fits_y)


__all__ = ["EXTENT_ALLOWANCE", "WindowShift", "frame_person", "person_extent"]
