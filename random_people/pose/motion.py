"""The ``Motion`` type: everything extracted from one clip, in one versioned ``.npz`` file.

Rotation convention (shared with BVH and SMPL-X): ``local_rotations[t, b]`` is bone ``b``'s
rotation relative to its parent, expressed in the world-aligned axes of the zero pose, so a
bone's world rotation is its parent's world rotation times its local one. The root's placement
is separate: ``root_rotation`` maps the body model's own frame into the camera frame and
``root_translation`` is the root joint's position in the camera frame (OpenCV axes: x right,
y down, z forward, metres).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from random_people.errors import MotionFileError
from random_people.files import read_versioned_npz, write_npz

MOTION_FORMAT_VERSION = 1

# Per-frame quality flags (bit field).
FLAG_NO_DETECTION = 1  # detector found nobody; the frame was filled by interpolation
FLAG_LOW_CONFIDENCE = 2  # fewer than half the body landmarks were confidently visible
FLAG_HIGH_FIT_ERROR = 4  # 2D fit error above 8% of the person's height
FLAG_FLIP_REPAIRED = 8  # the detector's body was mirrored front/back or left/right here; repaired (pose/flips.py)
# Set only when hands were extracted (--hands): this hand was not found (or not usable) here, so
# its fingers hold the rest pose and its wrist the body fit's rotation.
FLAG_LEFT_HAND_MISSING = 16
FLAG_RIGHT_HAND_MISSING = 32
FLAG_NAMES = {FLAG_NO_DETECTION: "no_detection", FLAG_LOW_CONFIDENCE: "low_confidence", FLAG_HIGH_FIT_ERROR: "high_fit_error",
              FLAG_FLIP_REPAIRED: "flip_repaired", FLAG_LEFT_HAND_MISSING: "left_hand_missing",
              FLAG_RIGHT_HAND_MISSING: "right_hand_missing"}

_STRING_LIST_FIELDS = ("bone_names", "shape_names", "keypoint_names", "landmark_names")
# Absent from motions written before they existed (or extracted without --hands): load as None.
_OPTIONAL_FIELDS = ("person_height_px", "hand_landmarks_2d", "hand_landmarks_3d", "hand_detected")
_STRING_FIELDS = ("body_model", "source_sha256", "source_name", "action_label")
# What drives a render must be finite: a NaN here would surface much later as "bad Gaussians".
_FINITE_FIELDS = ("rest_joints", "shape", "local_rotations", "root_rotation", "root_translation",
                  "camera_intrinsics", "frame_times")
# The largest array a motion file may hold: a 36,000-frame clip of a 200-bone body is ~170 MB.
MAX_MOTION_ARRAY_BYTES = 512 * 2**20


@dataclass
class Motion:
    """A fitted motion. Shapes: T frames, B bones, S shape parameters, K fitted keypoints, L landmarks."""

    fps: float
    body_model: str
    bone_names: list[str]
    bone_parents: np.ndarray  # [B] int, -1 for the root
    rest_joints: np.ndarray  # [B, 3] zero-pose joint positions in the model frame, root at origin
    shape_names: list[str]
    shape: np.ndarray  # [S] body-model shape parameters of the fitted body
    local_rotations: np.ndarray  # [T, B, 3] axis-angle, parent-relative (root row unused, zero)
    root_rotation: np.ndarray  # [T, 3] axis-angle, model frame -> camera frame
    root_translation: np.ndarray  # [T, 3] root joint in camera frame, metres
    joints_3d: np.ndarray  # [T, B, 3] fitted joints, camera frame, metres
    keypoint_names: list[str]
    keypoints_3d: np.ndarray  # [T, K, 3] fitted body keypoints, camera frame, metres
    keypoints_2d: np.ndarray  # [T, K, 2] fitted keypoints projected to the image, pixels
    landmark_names: list[str]
    landmarks_2d: np.ndarray  # [T, L, 2] filtered detector landmarks, pixels
    landmarks_3d: np.ndarray  # [T, L, 3] detector world landmarks, metres, hip-centred, camera axes
    landmark_confidence: np.ndarray  # [T, L] visibility in [0, 1]; 0 where nothing was detected
    image_size: tuple[int, int]  # (width, height) of the source frames
    camera_intrinsics: np.ndarray  # [3, 3] pinhole K of the source camera estimate
    frame_times: np.ndarray  # [T] seconds, in the source clip's timeline
    fit_error_2d: np.ndarray  # [T] median pixel distance, fitted vs visible landmarks
    fit_error_3d: np.ndarray  # [T] Procrustes-aligned mean joint error vs world landmarks, metres
    quality_flags: np.ndarray  # [T] uint8 bit field of FLAG_*
    person_height_px: np.ndarray | None = None  # [T] bounding-box height of the detected person
    # Hands (only with --hands; the finger and wrist rotations themselves live in local_rotations,
    # so a reader that ignores these fields still poses the fingers). H = 2: left, right.
    hand_landmarks_2d: np.ndarray | None = None  # [T, H, 21, 2] detected hand landmarks, pixels; NaN where not found
    hand_landmarks_3d: np.ndarray | None = None  # [T, H, 21, 3] smoothed wrist-relative landmarks the fingers were
    #                                              fitted to, metres, camera axes; NaN where not fitted
    hand_detected: np.ndarray | None = None  # [T, H] bool: MediaPipe Hands found this hand in this frame
    source_sha256: str = ""
    source_name: str = ""
    action_label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = MOTION_FORMAT_VERSION

    @property
    def num_frames(self) -> int:
        return int(self.local_rotations.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0

    def validate(self) -> None:
        """Check that every array agrees on T, B, K and L; raise MotionFileError otherwise."""
        if np.ndim(self.local_rotations) != 3:
            raise MotionFileError(f"Motion field 'local_rotations' has shape {np.shape(self.local_rotations)}, "
                                  "expected [frames, bones, 3].")
        T, B = self.local_rotations.shape[:2]
        K, L = len(self.keypoint_names), len(self.landmark_names)
        expected = {
            "bone_parents": (B,),
            "rest_joints": (B, 3),
            "shape": (len(self.shape_names),),
            "local_rotations": (T, B, 3),
            "root_rotation": (T, 3),
            "root_translation": (T, 3),
            "joints_3d": (T, B, 3),
            "keypoints_3d": (T, K, 3),
            "keypoints_2d": (T, K, 2),
            "landmarks_2d": (T, L, 2),
            "landmarks_3d": (T, L, 3),
            "landmark_confidence": (T, L),
            "camera_intrinsics": (3, 3),
            "frame_times": (T,),
            "fit_error_2d": (T,),
            "fit_error_3d": (T,),
            "quality_flags": (T,),
        }
        if len(self.bone_names) != B:
            raise MotionFileError(f"Motion has {len(self.bone_names)} bone names but {B} bones in local_rotations.")
        for name, shape in expected.items():
            actual = tuple(np.shape(getattr(self, name)))
            if actual != shape:
                raise MotionFileError(f"Motion field {name!r} has shape {actual}, expected {shape}.")
        if self.person_height_px is not None and np.shape(self.person_height_px) != (T,):
            raise MotionFileError(f"Motion field 'person_height_px' has shape {np.shape(self.person_height_px)}, expected {(T,)}.")
        optional = {"hand_landmarks_2d": (T, 2, 21, 2), "hand_landmarks_3d": (T, 2, 21, 3), "hand_detected": (T, 2)}
        for name, shape in optional.items():
            value = getattr(self, name)
            if value is not None and tuple(np.shape(value)) != shape:
                raise MotionFileError(f"Motion field {name!r} has shape {tuple(np.shape(value))}, expected {shape}.")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise MotionFileError(f"Motion fps must be a positive number, got {self.fps}.")
        for name in _FINITE_FIELDS:
            values = np.asarray(getattr(self, name))
            if values.dtype.kind not in "iuf":
                raise MotionFileError(f"Motion field {name!r} holds {values.dtype.name} values, not numbers.")
            bad = ~np.isfinite(values)
            if bad.any():
                where = ""
                if values.ndim and values.shape[0] == T and name not in ("rest_joints", "shape", "camera_intrinsics"):
                    frames = np.flatnonzero(bad.reshape(T, -1).any(axis=1))
                    where = f" in {frames.size} of {T} frames (first: frame {int(frames[0])})"
                raise MotionFileError(f"Motion field {name!r} holds NaN or infinite values{where}.")

    @property
    def has_hands(self) -> bool:
        """True when the motion was extracted with --hands (its fingers were fitted where found)."""
        return self.hand_detected is not None

    def flag_counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.quality_flags & bit)) for bit, name in FLAG_NAMES.items()}


def save_motion(motion: Motion, path: str | Path) -> Path:
    """Write ``motion`` atomically as a compressed ``.npz``; returns the final path."""
    motion.validate()
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    for f in fields(Motion):
        value = getattr(motion, f.name)
        if value is None:
            continue
        if f.name == "meta":
            arrays["meta_json"] = np.array(json.dumps(value, sort_keys=True, default=str))
        elif f.name in _STRING_LIST_FIELDS:
            arrays[f.name] = np.array(list(value), dtype=np.str_)
        elif f.name in _STRING_FIELDS:
            arrays[f.name] = np.array(str(value))
        elif f.name == "image_size":
            arrays[f.name] = np.asarray(value, dtype=np.int64)
        else:
            arrays[f.name] = np.asarray(value)
    return write_npz(path, arrays)


def load_motion(path: str | Path) -> Motion:
    """Read a Motion file written by :func:`save_motion`, checking its version and shapes."""
    path = Path(path)
    known = {"meta_json" if f.name == "meta" else f.name for f in fields(Motion)}
    stored = read_versioned_npz(path, MotionFileError, "Motion", MOTION_FORMAT_VERSION,
                                "Re-extract the clip with this version.", keys=known,
                                max_bytes=MAX_MOTION_ARRAY_BYTES)
    version = MOTION_FORMAT_VERSION
    kwargs: dict[str, Any] = {}
    try:
        for f in fields(Motion):
            if f.name in _OPTIONAL_FIELDS:
                kwargs[f.name] = stored.get(f.name)
            elif f.name == "meta":
                kwargs["meta"] = json.loads(str(stored["meta_json"]))
            elif f.name in _STRING_LIST_FIELDS:
                kwargs[f.name] = [str(s) for s in stored[f.name]]
            elif f.name in _STRING_FIELDS:
                kwargs[f.name] = str(stored[f.name])
            elif f.name == "image_size":
                w, h = (int(v) for v in stored[f.name])
                kwargs[f.name] = (w, h)
            elif f.name in ("fps",):
                kwargs[f.name] = float(stored[f.name])
            elif f.name == "version":
                kwargs[f.name] = version
            else:
                kwargs[f.name] = stored[f.name]
    except KeyError as exc:
        raise MotionFileError(f"{path} is missing the Motion field {exc.args[0]!r}.") from None
    except json.JSONDecodeError as exc:
        raise MotionFileError(f"{path}: its meta_json is not valid JSON ({exc}); the file is damaged.") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise MotionFileError(f"{path}: a Motion field has the wrong type or size ({exc}); the file is damaged.") \
            from None
    if not isinstance(kwargs["meta"], dict):
        raise MotionFileError(f"{path}: its meta_json holds {type(kwargs['meta']).__name__}, not a JSON object.")
    motion = Motion(**kwargs)
    try:
        motion.validate()
    except MotionFileError as exc:
        raise MotionFileError(f"{path}: {exc} Re-extract the clip, or fix the file that wrote it.") from None
    return motion
