"""Which detector landmarks are compared with which labels, and which joints PCK counts.

MediaPipe Pose names its 33 landmarks after the person's own left and right, as our COCO-17
labels do (:data:`random_people.body.keypoints.COCO17`), so the mapping is by name. PCK is
computed over the *limb* joints only: face points (nose, eyes, ears) are tiny next to a 10% box
threshold and say little about whether the body was understood.
"""

from __future__ import annotations

import numpy as np

from random_people.body.keypoints import COCO17, MEDIAPIPE_LANDMARKS, SKELETON_EDGES

# For each COCO-17 slot, the index of the MediaPipe landmark with the same name.
MEDIAPIPE_TO_COCO17: np.ndarray = np.array([MEDIAPIPE_LANDMARKS.index(name) for name in COCO17], dtype=np.int64)

LIMB_JOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
LIMB_INDICES: np.ndarray = np.array([COCO17.index(name) for name in LIMB_JOINTS], dtype=np.int64)

# COCO-17 slot of each keypoint's mirror image (left <-> right), for the left/right-swap diagnosis.
MIRROR_COCO17: np.ndarray = np.array(
    [COCO17.index(name.replace("left_", "\0").replace("right_", "left_").replace("\0", "right_")) for name in COCO17],
    dtype=np.int64,
)

# Bones between COCO-17 slots, for drawing detections over frames.
COCO17_EDGES: tuple[tuple[int, int], ...] = tuple(
    (COCO17.index(a), COCO17.index(b)) for a, b in SKELETON_EDGES if a in COCO17 and b in COCO17
)


def mediapipe_to_coco17(landmarks: np.ndarray) -> np.ndarray:
    """[33, C] MediaPipe landmarks (any per-landmark channels) -> [17, C] in COCO-17 order."""
    landmarks = np.asarray(landmarks)
    if landmarks.shape[0] != len(MEDIAPIPE_LANDMARKS):
        raise ValueError(f"expected {len(MEDIAPIPE_LANDMARKS)} MediaPipe landmarks, got {landmarks.shape[0]}")
    return landmarks[MEDIAPIPE_TO_COCO17]
