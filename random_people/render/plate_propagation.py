"""Carry a person's segmentation mask from one frame to another along their 2D skeleton.

Segmenting every frame with MediaPipe Pose costs ~25 ms of CPU a frame: more than a 60 fps clip
allows for building its clean plate in real time on two cores. A person's shape changes little
between two frames a few hundredths of a second apart *once each body part is moved with its
bone*, so the plate's masker segments only some frames ("keyframes") and carries the last
keyframe's mask to the frames in between with the landmarks both frames have (the Motion's).

How: every pixel near the person in the new frame is given to its nearest bone (a limb segment,
the torso's edges, neck to head) through one distance transform; each bone's two endpoints in
the two frames define a similarity (rotation, scale, shift), and the pixel looks up the keyframe
mask where that similarity takes it back (one ``cv2.remap``). Rigid parts move exactly; what
bends within a bone (clothes, a hand) is left to the landmark silhouette and the dilation the
masker adds on top.

:func:`carry_mask_reference` is the plain per-pixel version the tests compare against.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS, SKELETON_EDGES

_INDEX = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}
_HEAD_POINTS = [_INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
_SHOULDERS = [_INDEX["left_shoulder"], _INDEX["right_shoulder"]]
# Face edges are a few pixels long: a similarity from them turns landmark noise into large
# rotations. The head moves as one bone from the neck (shoulder centre) to the head centre.
_LIMBS = [(_INDEX[a], _INDEX[b]) for a, b in SKELETON_EDGES
          if not {a, b} & {"nose", "left_eye", "right_eye", "left_ear", "right_ear"}]
NECK, HEAD = len(MEDIAPIPE_LANDMARKS), len(MEDIAPIPE_LANDMARKS) + 1  # virtual points appended
BONES: tuple[tuple[int, int], ...] = tuple(_LIMBS) + ((NECK, HEAD),)
_SCALE_RANGE = (0.67, 1.5)  # a bone's length changes this much at most between two frames
_MIN_BONE_PX = 3.0  # shorter (foreshortened) bones move by their shift only


def with_virtual_points(points: np.ndarray) -> np.ndarray:
    """``points`` [33, 2] plus the neck (shoulder centre) and the head centre: [35, 2] (NaN if unknown)."""
    extra = np.full((2, 2), np.nan)
    shoulders = points[_SHOULDERS]
    if np.isfinite(shoulders).all():
        extra[0] = shoulders.mean(axis=0)
    head = points[_HEAD_POINTS]
    head = head[np.isfinite(head).all(axis=1)]
    if len(head):
        extra[1] = head.mean(axis=0)
    return np.concatenate([np.asarray(points, np.float64), extra])


_FROM = np.array([i for i, _ in BONES])
_TO = np.array([j for _, j in BONES])


def bone_similarities(points_to: np.ndarray, points_from: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every bone of :data:`BONES`, the 2x3 similarity taking its pose in ``points_to`` to its
    pose in ``points_from`` ([35, 2] each, see :func:`with_virtual_points`).

    Returns ``(transforms [B, 2, 3], known [B] bool)``; a bone missing an endpoint in either frame
    is not known (its transform is zero). The scale is clamped (a landmark jumping along a limb
    must not blow it up); a bone shorter than a few pixels in either frame moves by its shift only.
    """
    a0, a1, b0, b1 = points_to[_FROM], points_to[_TO], points_from[_FROM], points_from[_TO]
    known = np.isfinite(np.concatenate([a0, a1, b0, b1], axis=1)).all(axis=1)
    da, db = a1 - a0, b1 - b0
    la, lb = np.hypot(da[:, 0], da[:, 1]), np.hypot(db[:, 0], db[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.clip(lb / la, *_SCALE_RANGE)
    angle = np.arctan2(db[:, 1], db[:, 0]) - np.arctan2(da[:, 1], da[:, 0])
    short = (la < _MIN_BONE_PX) | (lb < _MIN_BONE_PX)
    scale, angle = np.where(short, 1.0, scale), np.where(short, 0.0, angle)
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    rotation = np.stack([np.stack([c, -s], axis=1), np.stack([s, c], axis=1)], axis=1)  # [B, 2, 2]
    shift = (b0 + b1) / 2 - np.einsum("bij,bj->bi", rotation, (a0 + a1) / 2)
    transforms = np.concatenate([rotation, shift[:, :, None]], axis=2)
    transforms[~known] = 0.0
    return transforms, known


def _segment_distance(pixels: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((pixels - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(pixels - (a + t[:, None] * ab), axis=1)


def _known_bones(points: np.ndarray) -> np.ndarray:
    """[B] bool: bones whose two endpoints ``points`` [35, 2] know."""
    return np.isfinite(points[_FROM]).all(axis=1) & np.isfinite(points[_TO]).all(axis=1)


def carry_masks(sources: Sequence[tuple[np.ndarray, np.ndarray]], points_to: np.ndarray,
                box: tuple[int, int, int, int], step: int | None = None) -> np.ndarray:
    """The union of the person's masks ``sources`` -- ``(mask [H, W] bool, landmarks [33, 2])``
    pairs: where the person was and how they stood -- each moved bone by bone to where they are
    at ``points_to`` [33, 2]. Only pixels inside ``box`` (x0, y0, x1, y1 of the new frame) are
    filled. Returns [H, W] bool.

    Every pixel goes with the bone nearest to it in the new frame; a bone a source does not know
    carries nothing from it. ``step`` > 1 works the bones out on a grid of that many pixels
    (each block takes the value at its centre); by default 2 for boxes over 20,000 pixels (a
    person over ~200 px tall, whose mask the plate dilates by more than a block anyway), else 1.
    The nearest-bone map is made once for all sources.
    """
    shape = sources[0][0].shape if sources else (0, 0)
    out = np.zeros(shape, bool)
    to = with_virtual_points(points_to)
    drawn = _known_bones(to)
    x0, y0, x1, y1 = box
    if not sources or not drawn.any() or x1 <= x0 or y1 <= y0:
        return out
    if step is None:
        step = 2 if (x1 - x0) * (y1 - y0) > 20_000 else 1
    grid_w, grid_h = -(-(x1 - x0) // step), -(-(y1 - y0) // step)
    # Each bone drawn one pixel wide with its id; the rest (-1) is what the distance transform fills.
    ids = np.full((grid_h, grid_w), -1, np.int32)
    grid = np.round(np.nan_to_num((to - np.array([x0, y0], np.float64)) / step)).astype(int).tolist()
    for b in np.flatnonzero(drawn):
        i, j = BONES[b]
        cv2.line(ids, grid[i], grid[j], int(b), 1, cv2.LINE_8)
    seeds = np.where(ids < 0, np.uint8(255), np.uint8(0))
    seed_rows, seed_cols = np.nonzero(ids >= 0)
    if seed_rows.size == 0:  # every bone lies outside the box
        return out
    # Labels number the seed pixels in row-major order, the order np.nonzero lists them in.
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, cv2.DIST_MASK_5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    bone = ids[seed_rows, seed_cols][labels - 1]  # [grid_h, grid_w] nearest bone of every block
    centre = (step - 1) / 2.0
    xs = (x0 + centre + step * np.arange(grid_w, dtype=np.float32))[None, :]
    ys = (y0 + centre + step * np.arange(grid_h, dtype=np.float32))[:, None]
    moved = np.zeros((grid_h, grid_w), np.uint8)
    for mask_from, points_from in sources:
        transforms, known = bone_similarities(to, with_virtual_points(points_from))
        transforms[~known] = [[0.0, 0.0, -10.0], [0.0, 0.0, -10.0]]  # off the image: carries nothing
        coefficients = transforms.reshape(len(BONES), 6).astype(np.float32)[bone]  # [grid_h, grid_w, 6]
        map_x = coefficients[..., 0] * xs + coefficients[..., 1] * ys + coefficients[..., 2]
        map_y = coefficients[..., 3] * xs + coefficients[..., 4] * ys + coefficients[..., 5]
        moved |= cv2.remap(mask_from.view(np.uint8), map_x, map_y, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if step > 1:
        moved = cv2.resize(moved, None, fx=step, fy=step, interpolation=cv2.INTER_NEAREST)
    out[y0:y1, x0:x1] = moved[: y1 - y0, : x1 - x0] > 0
    return out


def carry_mask(mask_from: np.ndarray, points_from: np.ndarray, points_to: np.ndarray,
               box: tuple[int, int, int, int], step: int | None = None) -> np.ndarray:
    """One mask ``mask_from`` ([H, W] bool, the person at ``points_from`` [33, 2]) carried to
    ``points_to`` inside ``box``: :func:`carry_masks` with one source."""
    return carry_masks([(mask_from, points_from)], points_to, box, step)


def carry_mask_reference(mask_from: np.ndarray, points_from: np.ndarray, points_to: np.ndarray,
                         box: tuple[int, int, int, int]) -> np.ndarray:
    """:func:`carry_mask` written plainly, pixel by pixel (exact nearest bone; for tests, slow)."""
    out = np.zeros(mask_from.shape, bool)
    to = with_virtual_points(points_to)
    transforms, known = bone_similarities(to, with_virtual_points(points_from))
    bones = np.flatnonzero(_known_bones(to))
    if not bones.size:
        return out
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1]
    pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    distances = np.stack([_segment_distance(pixels, to[BONES[b][0]], to[BONES[b][1]]) for b in bones])
    nearest = bones[np.argmin(distances, axis=0)]
    source = np.einsum("nij,nj->ni", transforms[nearest], np.concatenate([pixels, np.ones((len(pixels), 1))], 1))
    sx, sy = np.round(source[:, 0]).astype(int), np.round(source[:, 1]).astype(int)
    h, w = mask_from.shape
    inside = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h) & known[nearest]
    values = np.zeros(len(pixels), bool)
    values[inside] = mask_from[sy[inside], sx[inside]]
    out[y0:y1, x0:x1] = values.reshape(ys.shape)
    return out


__all__ = ["BONES", "bone_similarities", "carry_mask", "carry_mask_reference", "carry_masks", "with_virtual_points"]
