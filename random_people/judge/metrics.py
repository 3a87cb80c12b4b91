"""The judge's arithmetic: PCK, mask IoU and cut-off, on plain arrays (no detector, no files).

Kept apart from the detector so the maths can be tested on constructed inputs and reused for any
detector. Conventions follow :mod:`random_people.render.labels`: pixel coordinates with (0, 0) at
the image's top-left corner, boxes ``(x_min, y_min, x_max, y_max)`` on pixel edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PCK_ALPHA = 0.1  # a joint is correct within 10% of the person's box height (PCK@0.1)
MASK_THRESHOLD = 128  # our uint8 masks: a pixel is the person at alpha >= 0.5
PROBABILITY_THRESHOLD = 0.5  # segmentation models' per-pixel person probability


@dataclass(frozen=True)
class PckCounts:
    """Correct / counted joints; pooled over frames and clips by adding counts."""

    correct: int = 0
    total: int = 0

    def __add__(self, other: PckCounts) -> PckCounts:
        return PckCounts(self.correct + other.correct, self.total + other.total)

    @property
    def value(self) -> float | None:
        """The share of correct joints, or None when no joint was counted."""
        return self.correct / self.total if self.total else None


def joint_errors(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Euclidean pixel distance per joint, ``[..., K, 2]`` x 2 -> ``[..., K]``; NaN where either is unknown."""
    return np.linalg.norm(np.asarray(predicted, np.float64) - np.asarray(truth, np.float64), axis=-1)


def pck_counts(
    predicted: np.ndarray | None,  # [K, 2] pixels, or None when the detector found nobody
    truth: np.ndarray,  # [K, 2] pixels
    counted: np.ndarray,  # [K] bool: joints that count (visible limb joints)
    box_height: float,
    alpha: float = PCK_ALPHA,
) -> PckCounts:
    """PCK counts of one frame: counted joints within ``alpha * box_height`` pixels of the truth.

    A frame where the detector found nobody (``predicted is None``) counts all its joints as
    wrong, as does a joint the detector left undefined (NaN): the figure is end-to-end, so a
    person the detector misses lowers it. A frame without a usable box (NaN or <= 0 height)
    counts nothing.
    """
    counted = np.asarray(counted, dtype=bool)
    truth = np.asarray(truth, dtype=np.float64)
    counted = counted & np.isfinite(truth).all(axis=-1)
    total = int(counted.sum())
    if total == 0 or not (np.isfinite(box_height) and box_height > 0):
        return PckCounts()
    if predicted is None:
        return PckCounts(0, total)
    errors = joint_errors(predicted, truth)[counted]
    correct = int(np.sum(np.isfinite(errors) & (errors <= alpha * box_height)))
    return PckCounts(correct, total)


def swapped_sides(keypoints: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """The keypoints with every left and right exchanged (``mirror[k]`` is the slot of k's mirror)."""
    return np.asarray(keypoints)[np.asarray(mirror)]


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> float | None:
    """Intersection over union of two boolean ``[H, W]`` masks; None when both are empty."""
    predicted = np.asarray(predicted, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    if predicted.shape != truth.shape:
        raise ValueError(f"masks differ in size: {predicted.shape} vs {truth.shape}")
    union = int(np.count_nonzero(predicted | truth))
    if union == 0:
        return None
    return int(np.count_nonzero(predicted & truth)) / union


def is_cut_off(bbox: np.ndarray, width: int, height: int, margin: float = 0.0) -> bool:
    """True when the person's box touches the frame's edge (within ``margin`` pixels).

    A box that touches the edge means part of the person is probably outside the picture (a
    foot, a raised hand), which both hurts detectors and makes the labels' box height too small.
    An empty box (NaN) is not "cut off": the person is not in the picture at all.
    """
    x0, y0, x1, y1 = (float(v) for v in np.asarray(bbox, dtype=np.float64))
    if not all(np.isfinite([x0, y0, x1, y1])):
        return False
    return x0 <= margin or y0 <= margin or x1 >= width - margin or y1 >= height - margin


def bbox_of(mask: np.ndarray) -> np.ndarray:
    """(x_min, y_min, x_max, y_max) on pixel edges of a boolean mask; NaNs when it is empty."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.full(4, np.nan)
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)
