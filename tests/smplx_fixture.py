"""A small, structurally valid SMPL-X model file, built from scratch for tests.

The real SMPL-X files need a licence, so tests cannot ship or download them. This builds an
``.npz`` with every entry ``smplx.SMPLX`` reads, the real vertex count (10,475, because smplx's
keypoint vertex ids go up to ~9,900) and the real 55-joint tree, on a crude humanoid in SMPL-X's
axes (Y up, facing +Z, the body's left on +X):

* each joint owns a cloud of vertices around it, and the J_regressor averages that cloud, so
  the regressed joints land exactly on the designed positions;
* the named keypoint vertices (nose, eyes, ears, heels, toes, fingertips) sit where they should
  on the head, feet and fingers, so keypoint positions are meaningful;
* skinning weights blend each vertex between its joint and that joint's parent, and the
  keypoint vertices get small pose-corrective blend shapes, so skinning code is really tested.

The pelvis is deliberately *not* at the origin, as in the real model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

NUM_VERTICES = 10475
PELVIS = np.array([0.01, -0.30, 0.02])
NUM_SHAPE = 10
NUM_EXPRESSION = 10

# (name, parent, offset from parent) for the left side and centre; right is mirrored in x.
_BODY = [
    ("pelvis", None, (0.0, 0.0, 0.0)),
    ("left_hip", "pelvis", (0.06, -0.09, 0.0)),
    ("spine1", "pelvis", (0.0, 0.11, -0.01)),
    ("left_knee", "left_hip", (0.04, -0.38, 0.0)),
    ("spine2", "spine1", (0.0, 0.13, 0.0)),
    ("left_ankle", "left_knee", (-0.01, -0.40, -0.04)),
    ("spine3", "spine2", (0.0, 0.06, 0.01)),
    ("left_foot", "left_ankle", (0.02, -0.06, 0.12)),
    ("neck", "spine3", (0.0, 0.21, -0.03)),
    ("left_collar", "spine3", (0.07, 0.12, -0.01)),
    ("head", "neck", (0.0, 0.09, 0.05)),
    ("left_shoulder", "left_collar", (0.11, 0.03, -0.01)),
    ("left_elbow", "left_shoulder", (0.26, 0.0, 0.0)),
    ("left_wrist", "left_elbow", (0.25, 0.0, 0.0)),
    ("jaw", "head", (0.0, -0.02, 0.03)),
    ("left_eye_smplhf", "head", (0.03, 0.06, 0.08)),
]
_FINGER_BASE = {
    "index": (0.09, 0.0, 0.03),
    "middle": (0.095, 0.0, 0.01),
    "pinky": (0.08, 0.0, -0.035),
    "ring": (0.088, 0.0, -0.012),
    "thumb": (0.03, -0.01, 0.03),
}
_FINGER_STEP = {"thumb": (0.02, 0.0, 0.02)}

# smplx.vertex_ids.vertex_ids['smplx'] name -> (owning joint, offset from it).
_KEYPOINT_VERTICES = {
    "nose": ("head", (0.0, -0.01, 0.10)),
    "leye": ("head", (0.03, 0.03, 0.09)),
    "reye": ("head", (-0.03, 0.03, 0.09)),
    "lear": ("head", (0.075, 0.0, 0.0)),
    "rear": ("head", (-0.075, 0.0, 0.0)),
    "LHeel": ("left_ankle", (0.0, -0.06, -0.06)),
    "RHeel": ("right_ankle", (0.0, -0.06, -0.06)),
    "LBigToe": ("left_foot", (-0.01, -0.02, 0.07)),
    "RBigToe": ("right_foot", (0.01, -0.02, 0.07)),
    "LSmallToe": ("left_foot", (0.04, -0.02, 0.05)),
    "RSmallToe": ("right_foot", (-0.04, -0.02, 0.05)),
    **{f"l{f}": (f"left_{f}3", (0.02, 0.0, 0.0)) for f in _FINGER_BASE},
    **{f"r{f}": (f"right_{f}3", (-0.02, 0.0, 0.0)) for f in _FINGER_BASE},
}


def _mirror(name: str) -> str:
    return name.replace("left_", "right_") if name.startswith("left_") else name


def humanoid_joints() -> tuple[list[str], list[int], np.ndarray]:
    """SMPL-X joint names (smplx's order), parents and rest positions of the test humanoid."""
    from smplx.joint_names import JOINT_NAMES

    names = list(JOINT_NAMES[:55])
    spec: dict[str, tuple[str | None, np.ndarray]] = {}
    for name, parent, offset in _BODY:
        spec[name] = (parent, np.array(offset))
        if name.startswith("left_"):
            spec[_mirror(name)] = (_mirror(parent), np.array(offset) * [-1, 1, 1])
    for finger, base in _FINGER_BASE.items():
        step = np.array(_FINGER_STEP.get(finger, (0.03, 0.0, 0.0)))
        for side, sign in (("left", 1.0), ("right", -1.0)):
            flip = np.array([sign, 1.0, 1.0])
            spec[f"{side}_{finger}1"] = (f"{side}_wrist", np.array(base) * flip)
            spec[f"{side}_{finger}2"] = (f"{side}_{finger}1", step * flip)
            spec[f"{side}_{finger}3"] = (f"{side}_{finger}2", step * flip)
    parents, positions = [], np.zeros((55, 3))
    for i, name in enumerate(names):
        parent, offset = spec[name]
        parents.append(-1 if parent is None else names.index(parent))
        positions[i] = PELVIS + offset if parent is None else positions[names.index(parent)] + offset
    assert all(0 <= p < i for i, p in enumerate(parents) if i > 0)
    return names, parents, positions


def build_smplx_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Every array smplx.SMPLX loads, for the test humanoid."""
    from smplx.vertex_ids import vertex_ids

    rng = np.random.default_rng(seed)
    names, parents, joints = humanoid_joints()
    J = len(names)
    V = NUM_VERTICES

    owner = np.arange(V) % J
    vertices = joints[owner] + rng.normal(scale=0.02, size=(V, 3))
    special = np.zeros(V, dtype=bool)
    for key, (joint, offset) in _KEYPOINT_VERTICES.items():
        vid = vertex_ids["smplx"][key]
        owner[vid] = names.index(joint)
        vertices[vid] = joints[names.index(joint)] + np.array(offset)
        special[vid] = True
    # Centre each joint's ordinary cloud on the joint so the regressor reproduces it exactly.
    J_regressor = np.zeros((J, V))
    for j in range(J):
        members = np.flatnonzero((owner == j) & ~special)
        vertices[members] += joints[j] - vertices[members].mean(axis=0)
        J_regressor[j, members] = 1.0 / len(members)

    weights = np.zeros((V, J))
    weights[np.arange(V), owner] = 0.75
    parent_of_owner = np.array([parents[o] if parents[o] >= 0 else o for o in owner])
    np.add.at(weights, (np.arange(V), parent_of_owner), 0.25)

    kintree = np.zeros((2, J), dtype=np.int64)
    kintree[0] = parents
    kintree[0, 0] = 4294967295  # as in the real files: uint32 -1 for the root
    kintree[1] = np.arange(J)

    # Shape directions: smooth per joint (bodies get bigger / longer), plus a little noise.
    shapedirs = rng.normal(scale=0.002, size=(V, 3, NUM_SHAPE + NUM_EXPRESSION))
    shapedirs[:, :, 0] += 0.05 * (vertices - PELVIS)
    # Pose correctives only on the keypoint vertices (so the sparse path is exercised cheaply),
    # driven by the rotations of the vertex's own joint and its parent: local, as in SMPL-X,
    # so bending a knee does not move the nose.
    posedirs = np.zeros((V, 3, (J - 1) * 9), dtype=np.float32)
    for vid in np.flatnonzero(special):
        for joint in (owner[vid], parents[owner[vid]]):
            if joint >= 1:
                features = slice((joint - 1) * 9, joint * 9)
                posedirs[vid, :, features] = rng.normal(scale=0.005, size=(3, 9))

    # A ribbon of triangles through consecutive vertices: valid indices, nothing more.
    f = np.stack([np.arange(V - 2), np.arange(1, V - 1), np.arange(2, V)], axis=1)
    num_landmarks = 51
    lmk_bary = rng.uniform(0.1, 1.0, size=(num_landmarks, 3))
    dyn_bary = rng.uniform(0.1, 1.0, size=(79, 17, 3))
    return {
        "v_template": vertices.astype(np.float64),
        "f": f.astype(np.uint32),
        "J_regressor": J_regressor,
        "weights": weights,
        "kintree_table": kintree,
        "shapedirs": shapedirs,
        "posedirs": posedirs,
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": rng.normal(scale=0.1, size=45),
        "hands_meanr": rng.normal(scale=0.1, size=45),
        "lmk_faces_idx": rng.integers(0, len(f), size=num_landmarks).astype(np.int64),
        "lmk_bary_coords": lmk_bary / lmk_bary.sum(axis=1, keepdims=True),
        "dynamic_lmk_faces_idx": rng.integers(0, len(f), size=(79, 17)).astype(np.int64),
        "dynamic_lmk_bary_coords": dyn_bary / dyn_bary.sum(axis=-1, keepdims=True),
    }


def write_smplx_model(path: str | Path, seed: int = 0, **overrides: np.ndarray | None) -> Path:
    """Write the test model to ``path``; ``overrides`` replace entries (``None`` drops one)."""
    arrays = build_smplx_arrays(seed)
    for key, value in overrides.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="session")
def smplx_model_file(tmp_path_factory) -> Path:
    """Path of a test SMPLX_NEUTRAL.npz, built once per test session."""
    return write_smplx_model(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL.npz")
