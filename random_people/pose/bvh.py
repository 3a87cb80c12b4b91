"""BVH export of a fitted :class:`~random_people.pose.motion.Motion`, and a small BVH reader.

BVH's rotation convention is ours: a joint's channels rotate it relative to its parent, in
axes aligned with the world at the zero pose (all BVH rest rotations are identity). What
differs is the frame the numbers are written in:

* the motion's rest skeleton and local rotations live in the body model's own frame (Anny is
  Z-up facing -Y, SMPL-X is Y-up facing +Z);
* its root placement lives in the source camera's frame (x right, y down, z forward);
* a BVH file should open upright: Y-up, the body facing +Z (or Z-up facing -Y with ``up="z"``).

With ``Q`` the rotation model frame -> BVH world (rest pose) and ``A`` the rotation camera
frame -> BVH world, a joint's world transform ``A G Q^T`` reproduces ``A x`` for every joint
``x`` the motion's own forward kinematics gives, provided the offsets are ``Q (r_c - r_p)``,
the local rotations ``Q L Q^T`` and the root rotation ``A R Q^T`` (root position ``A t``).
So the animation is exact whatever ``Q`` is; ``Q`` only decides how the rest pose stands.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from random_people.errors import InvalidInputError, MotionFileError
from random_people.files import atomic_output
from random_people.pose.motion import Motion

logger = logging.getLogger(__name__)

# Each body model's frame as (up, forward) unit vectors. Kept here, not loaded from the body
# model, because building Anny just to read two constants would take a minute on first use.
MODEL_AXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "anny": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),
    "smplx": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}

# OpenCV camera (x right, y down, z forward) -> Y-up world seen from the camera: (x, -y, -z).
CAMERA_TO_Y_UP = np.diag([1.0, -1.0, -1.0])
# Y-up world -> Z-up world (+90 degrees about x): up stays up, "facing +Z" becomes "facing -Y".
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
JOINT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
EULER_ORDER = "ZXY"  # scipy intrinsic order matching the channel order above: R = Rz Rx Ry
METRES_TO_CM = 100.0
END_SITE_FRACTION = 0.5  # end-site length as a fraction of the leaf bone's own length
END_SITE_MIN_CM = 2.0

_ILLEGAL_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:\-]")


def bvh_joint_names(names: list[str]) -> list[str]:
    """Legal, unique BVH joint names: whitespace and braces would break the file's grammar.

    Dots and colons survive (Blender's ``.L``/``.R`` mirroring and Mixamo-style prefixes rely on
    them); anything else outside ``[A-Za-z0-9_.:-]`` becomes ``_``. Clashes get ``_2``, ``_3``...
    """
    legal: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(names):
        base = _ILLEGAL_NAME_CHARS.sub("_", str(name).strip()) or f"bone{index}"
        candidate, n = base, 2
        while candidate in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate)
        legal.append(candidate)
    return legal


def model_to_world_rotation(body_model: str, up: str = "y") -> np.ndarray:
    """[3, 3] rotation taking the body model's frame to an upright BVH world frame.

    Y-up: model up -> +Y, model forward -> +Z. Z-up: model up -> +Z, forward -> -Y.
    """
    if body_model not in MODEL_AXES:
        raise MotionFileError(
            f"Don't know the axes of body model {body_model!r} (known: {', '.join(MODEL_AXES)}); "
            "pass model_to_world explicitly."
        )
    model_up, model_forward = (np.asarray(v, dtype=np.float64) for v in MODEL_AXES[body_model])
    # Rows are the model directions that should become world x (up x forward), y (up) and z
    # (forward); for a Y-up +Z-facing body, world +x is the body's own left.
    q = np.stack([np.cross(model_up, model_forward), model_up, model_forward])
    return _y_up_to(up) @ q


def _y_up_to(up: str) -> np.ndarray:
    up = up.lower()
    if up == "y":
        return np.eye(3)
    if up == "z":
        return Y_UP_TO_Z_UP
    raise ValueError(f"BVH up axis must be 'y' or 'z', got {up!r}")


def camera_to_world_rotation(up: str = "y") -> np.ndarray:
    """[3, 3] rotation taking the Motion's camera frame (x right, y down, z forward) to the BVH world."""
    return _y_up_to(up) @ CAMERA_TO_Y_UP


def _check_rotation(matrix: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-6) or np.linalg.det(matrix) < 0:
        raise ValueError(f"{name} must be a 3x3 rotation matrix (orthonormal, determinant +1).")
    return matrix


def _preorder(parents: np.ndarray) -> list[int]:
    """Depth-first order of the bones: the order BVH nests joints and lists their channels."""
    children: dict[int, list[int]] = {i: [] for i in range(len(parents))}
    for bone in range(1, len(parents)):
        children[int(parents[bone])].append(bone)
    order, stack = [], [0]
    while stack:
        bone = stack.pop()
        order.append(bone)
        stack.extend(reversed(children[bone]))
    return order


def _euler_degrees(matrices: np.ndarray) -> np.ndarray:
    """[..., 3, 3] -> [..., 3] BVH angles (Z, X, Y), unwrapped over the first axis (frames).

    Unwrapping keeps every rotation identical but stops 179 -> -179 jumps, which otherwise
    make interpolating players (and Blender's curves) spin the long way round.
    """
    lead = matrices.shape[:-2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gimbal lock: still a valid decomposition
        angles = Rotation.from_matrix(matrices.reshape(-1, 3, 3)).as_euler(EULER_ORDER, degrees=True)
    return np.unwrap(angles.reshape(*lead, 3), period=360.0, axis=0)


def export_bvh(
    motion: Motion,
    path: str | Path,
    *,
    up: str = "y",
    model_to_world: np.ndarray | None = None,
) -> Path:
    """Write ``motion`` as a BVH file (centimetres, ZXY Euler degrees); returns the path.

    ``up`` picks the file's up axis ("y", the BVH norm, or "z"). ``model_to_world`` overrides
    the rotation from the body model's frame to the file's frame used for the rest pose
    (default: upright and facing +Z for Y-up, from ``MODEL_AXES[motion.body_model]``). The
    written animation reproduces the motion's camera-frame joints, mapped to the file's world
    by :func:`camera_to_world_rotation`, whatever rest orientation is chosen.
    """
    motion.validate()
    path = Path(path)
    parents = np.asarray(motion.bone_parents, dtype=np.int64)
    B, T = len(parents), motion.num_frames
    if parents[0] != -1 or any(not 0 <= parents[b] < b for b in range(1, B)):
        raise MotionFileError("BVH needs one root (bone 0) and every parent listed before its children.")
    q = (
        model_to_world_rotation(motion.body_model, up)
        if model_to_world is None
        else _check_rotation(model_to_world, "model_to_world")
    )
    a = camera_to_world_rotation(up)
    world_up = _y_up_to(up) @ np.array([0.0, 1.0, 0.0])

    rest = np.asarray(motion.rest_joints, dtype=np.float64)
    offsets = (rest - rest[np.maximum(parents, 0)]) @ q.T * METRES_TO_CM  # [B, 3], root row 0
    offsets[0] = 0.0  # root position channels carry the absolute position

    local = Rotation.from_rotvec(np.asarray(motion.local_rotations, dtype=np.float64).reshape(-1, 3))
    local = local.as_matrix().reshape(T, B, 3, 3)
    local_world = q @ local @ q.T  # conjugate into the BVH frame
    root = Rotation.from_rotvec(np.asarray(motion.root_rotation, dtype=np.float64)).as_matrix()
    local_world[:, 0] = a @ root @ q.T
    angles = _euler_degrees(local_world)  # [T, B, 3]
    root_position = np.asarray(motion.root_translation, dtype=np.float64) @ a.T * METRES_TO_CM

    names = bvh_joint_names(list(motion.bone_names))
    order = _preorder(parents)
    children = {b: [c for c in range(1, B) if parents[c] == b] for b in range(B)}

    lines = ["HIERARCHY"]

    def write_joint(bone: int, depth: int) -> None:
        pad = "\t" * depth
        keyword = "ROOT" if bone == 0 else "JOINT"
        channels = ROOT_CHANNELS if bone == 0 else JOINT_CHANNELS
        lines.append(f"{pad}{keyword} {names[bone]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET {_fmt(offsets[bone])}")
        lines.append(f"{pad}\tCHANNELS {len(channels)} {' '.join(channels)}")
        for child in children[bone]:
            write_joint(child, depth + 1)
        if not children[bone]:
            lines.append(f"{pad}\tEnd Site")
            lines.append(f"{pad}\t{{")
            lines.append(f"{pad}\t\tOFFSET {_fmt(_end_site(offsets[bone], world_up))}")
            lines.append(f"{pad}\t}}")
        lines.append(f"{pad}}}")

    write_joint(0, 0)
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    frames = np.concatenate([root_position, angles[:, order].reshape(T, -1)], axis=1)
    buffer = io.StringIO()
    np.savetxt(buffer, frames, fmt="%.6f", delimiter=" ")

    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n" + buffer.getvalue(), encoding="utf-8")
    logger.info("Wrote BVH %s (%d bones, %d frames at %.3g fps, %s-up)", path, B, T, motion.fps, up)
    return path


def _end_site(offset: np.ndarray, world_up: np.ndarray) -> np.ndarray:
    """A leaf's end site continues its bone (half its length), so importers draw a real bone.

    A leaf with no length of its own (or a lone root) points up instead.
    """
    length = float(np.linalg.norm(offset))
    if length < 1e-9:
        return world_up * END_SITE_MIN_CM
    return offset / length * max(length * END_SITE_FRACTION, END_SITE_MIN_CM)


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in np.asarray(values, dtype=np.float64))


@dataclass
class BVHData:
    """A parsed BVH file. Joints in file (depth-first) order; ``frames`` [F, C] as written."""

    names: list[str]
    parents: list[int]  # -1 for the root
    offsets: np.ndarray  # [J, 3]
    channels: list[tuple[str, ...]]
    frames: np.ndarray  # [F, sum of channel counts]
    frame_time: float
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)  # joint index -> [3] offset

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time if self.frame_time > 0 else 0.0

    def channel_start(self, joint: int) -> int:
        """Column in ``frames`` of ``joint``'s first channel."""
        return sum(len(c) for c in self.channels[:joint])

    def joint_channels(self, joint: int) -> np.ndarray:
        """[F, n] the values of ``joint``'s channels, in ``channels[joint]`` order."""
        start = self.channel_start(joint)
        return self.frames[:, start : start + len(self.channels[joint])]


def read_bvh(path: str | Path) -> BVHData:
    """Parse a BVH file; raises InvalidInputError with the reason if it is not valid BVH."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidInputError(f"Cannot read BVH file {path}: {exc}") from exc
    try:
        return _parse(text)
    except (ValueError, IndexError) as exc:
        raise InvalidInputError(f"{path} is not a valid BVH file: {exc}") from exc


def _parse(text: str) -> BVHData:
    parts = re.split(r"^\s*MOTION\s*$", text, maxsplit=1, flags=re.MULTILINE)
    if len(parts) != 2:
        raise ValueError("no MOTION section")
    head, tail = parts
    tokens = head.replace("{", " { ").replace("}", " } ").split()
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"unexpected end of HIERARCHY (expected {expected or 'more'})")
        token = tokens[pos]
        pos += 1
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, found {token!r}")
        return token

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, np.ndarray] = {}

    def joint(parent: int) -> None:
        index = len(names)
        names.append(take())
        parents.append(parent)
        take("{")
        take("OFFSET")
        offsets.append([float(take()) for _ in range(3)])
        take("CHANNELS")
        count = int(take())
        channels.append(tuple(take() for _ in range(count)))
        while True:
            token = take()
            if token == "}":
                return
            if token == "JOINT":
                joint(index)
            elif token == "End":
                take("Site")
                take("{")
                take("OFFSET")
                end_sites[index] = np.array([float(take()) for _ in range(3)])
                take("}")
            else:
                raise ValueError(f"unexpected {token!r} inside joint {names[index]!r}")

    take("HIERARCHY")
    take("ROOT")
    joint(-1)
    if pos != len(tokens):
        raise ValueError("only one ROOT hierarchy is supported")

    motion_lines = tail.strip().splitlines()
    if len(motion_lines) < 2:
        raise ValueError("MOTION section lacks Frames / Frame Time")
    frames_label, frames_count = motion_lines[0].split(":", 1)
    time_label, time_value = motion_lines[1].split(":", 1)
    if frames_label.strip() != "Frames" or time_label.strip() != "Frame Time":
        raise ValueError("MOTION section must start with 'Frames:' and 'Frame Time:'")
    num_frames, frame_time = int(frames_count), float(time_value)
    width = sum(len(c) for c in channels)
    values = " ".join(motion_lines[2:]).split()
    if len(values) != num_frames * width:
        raise ValueError(f"expected {num_frames} frames of {width} values, found {len(values)} values")
    frames = np.array(values, dtype=np.float64).reshape(num_frames, width)
    return BVHData(
        names=names,
        parents=parents,
        offsets=np.array(offsets, dtype=np.float64).reshape(-1, 3),
        channels=channels,
        frames=frames,
        frame_time=frame_time,
        end_sites=end_sites,
    )
