"""SMPL-X behind the ``BodyModel`` interface, built on the ``smplx`` package.

SMPL-X's own pose parameters already follow our convention (each joint's rotation relative to
its parent, in the world-aligned axes of the zero pose), so local rotations pass through
unchanged. Two things do need converting:

* **Root placement.** SMPL-X rotates ``global_orient`` about the *shaped* pelvis joint ``J0``
  (which is not at the origin and moves with the betas) and then adds ``transl``, so the
  posed pelvis lands at ``J0 + transl``. Our ``root_translation`` is the pelvis position
  itself, so we pass ``transl = root_translation - J0``; our model frame is SMPL-X's template
  frame shifted so that the rest pelvis is at the origin.
* **Speed.** The fitter calls :meth:`SMPLXBodyModel.pose` hundreds of times per clip, and a full
  10,475-vertex skinning pass per frame would dominate. ``pose`` therefore runs forward
  kinematics on the 55 joints and skins only the handful of vertices that carry keypoints
  (with their pose-corrective blend shapes). :meth:`SMPLXBodyModel.vertices` runs ``smplx``'s
  own full skinning; the tests check both paths agree.

We use ``smplx.SMPLXLayer`` (the ``smplx.SMPLX`` subclass that takes rotation matrices and
keeps no per-batch state): plain ``smplx.SMPLX`` bakes its batch size in at construction and
adds a mean hand pose to every input.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from random_people.body.base import BodyModel, KinematicTree, PosedBody, PreparedBody
from random_people.body.keypoints import FIT_KEYPOINTS
from random_people.errors import BodyModelError

logger = logging.getLogger(__name__)

SMPLX_URL = "https://smpl-x.is.tue.mpg.de"
NUM_JOINTS = 55  # pelvis + 21 body + jaw + 2 eyes + 2 x 15 hand joints
GENDERS = ("neutral", "male", "female")
_FILE_HELP = (
    f"RANDOM People needs an SMPL-X model file: SMPLX_NEUTRAL.npz (or SMPLX_MALE.npz / "
    f"SMPLX_FEMALE.npz, .pkl also accepted), or a folder holding it. Download it from {SMPLX_URL} "
    "(free registration, licence required) and set RP_SMPLX_MODEL_PATH to the file or folder."
)

# Keypoint name -> ("joint", SMPL-X joint name) or ("vertex", key in smplx.vertex_ids['smplx']).
# MediaPipe's index/pinky landmarks sit on the first knuckles, which are the SMPL-X joints
# *_index1 / *_pinky1; smplx's vertex ids for "lindex"/"lpinky" are fingertips, a hand-length
# further out, so the joints are the better match.
KEYPOINT_SOURCES: dict[str, tuple[str, str]] = {
    "nose": ("vertex", "nose"),
    "left_eye": ("vertex", "leye"),
    "right_eye": ("vertex", "reye"),
    "left_ear": ("vertex", "lear"),
    "right_ear": ("vertex", "rear"),
    "left_shoulder": ("joint", "left_shoulder"),
    "right_shoulder": ("joint", "right_shoulder"),
    "left_elbow": ("joint", "left_elbow"),
    "right_elbow": ("joint", "right_elbow"),
    "left_wrist": ("joint", "left_wrist"),
    "right_wrist": ("joint", "right_wrist"),
    "left_hip": ("joint", "left_hip"),
    "right_hip": ("joint", "right_hip"),
    "left_knee": ("joint", "left_knee"),
    "right_knee": ("joint", "right_knee"),
    "left_ankle": ("joint", "left_ankle"),
    "right_ankle": ("joint", "right_ankle"),
    "left_heel": ("vertex", "LHeel"),
    "right_heel": ("vertex", "RHeel"),
    "left_foot_index": ("vertex", "LBigToe"),
    "right_foot_index": ("vertex", "RBigToe"),
    "left_index": ("joint", "left_index1"),
    "right_index": ("joint", "right_index1"),
    "left_pinky": ("joint", "left_pinky1"),
    "right_pinky": ("joint", "right_pinky1"),
}

FIT_BONES: dict[str, str] = {
    "pelvis": "pelvis",
    "spine_lower": "spine1",
    "spine_mid": "spine2",
    "spine_upper": "spine3",
    "neck": "neck",
    "head": "head",
    **{
        f"{side}_{role}": f"{side}_{bone}"
        for side in ("left", "right")
        for role, bone in (
            ("clavicle", "collar"),
            ("upperarm", "shoulder"),
            ("lowerarm", "elbow"),
            ("wrist", "wrist"),
            ("upperleg", "hip"),
            ("lowerleg", "knee"),
            ("foot", "ankle"),
        )
    },
}

# full_pose slices of smplx.SMPLXLayer.forward, by bone index.
_POSE_SLICES = {
    "body_pose": slice(1, 22),
    "jaw_pose": slice(22, 23),
    "leye_pose": slice(23, 24),
    "reye_pose": slice(24, 25),
    "left_hand_pose": slice(25, 40),
    "right_hand_pose": slice(40, 55),
}


def resolve_model_file(model_path: str | Path, gender: str | None = None) -> Path:
    """The SMPL-X file ``model_path`` names: the file itself, or the right one inside a folder.

    A folder may hold the files directly or in a ``smplx/`` subfolder (the layout
    ``smplx.create`` expects). Without ``gender`` the neutral model is preferred.
    """
    if gender is not None and gender.lower() not in GENDERS:
        raise BodyModelError(f"Unknown SMPL-X gender {gender!r}; choose one of {', '.join(GENDERS)}.")
    path = Path(model_path).expanduser()
    if not path.exists():
        raise BodyModelError(f"SMPL-X model path {str(path)!r} does not exist. {_FILE_HELP}")
    if path.is_file():
        if path.suffix.lower() not in (".npz", ".pkl"):
            raise BodyModelError(f"{path} is not an SMPL-X model file (expected .npz or .pkl). {_FILE_HELP}")
        return path
    genders = [gender.lower()] if gender else list(GENDERS)
    tried = []
    for g in genders:
        for folder in (path, path / "smplx"):
            for ext in ("npz", "pkl"):
                candidate = folder / f"SMPLX_{g.upper()}.{ext}"
                tried.append(candidate.name if folder == path else f"smplx/{candidate.name}")
                if candidate.is_file():
                    return candidate
    raise BodyModelError(
        f"No SMPL-X model file in folder {str(path)!r} (looked for {', '.join(dict.fromkeys(tried))}). {_FILE_HELP}"
    )


class SMPLXBodyModel(BodyModel):
    """SMPL-X with 55 joints; shape = the first ``num_betas`` betas, expression held neutral."""

    name = "smplx"
    up_axis = np.array([0.0, 1.0, 0.0])
    forward_axis = np.array([0.0, 0.0, 1.0])

    def __init__(
        self,
        model_path: str | Path,
        gender: str | None = None,
        *,
        num_betas: int = 10,
        dtype: torch.dtype = torch.float32,
        frames_per_chunk: int = 64,
    ) -> None:
        self.model_file = resolve_model_file(model_path, gender)
        self.dtype = dtype
        self.frames_per_chunk = frames_per_chunk
        self.layer = self._load_layer(self.model_file, gender, num_betas, dtype)
        self._check_layer()

        import smplx.joint_names
        import smplx.vertex_ids

        self.bone_names = list(smplx.joint_names.JOINT_NAMES[:NUM_JOINTS])
        self.bone_parents = [int(p) for p in self.layer.parents.tolist()]
        self.bone_parents[0] = -1
        self.shape_names = [f"beta{i}" for i in range(int(self.layer.num_betas))]
        self.keypoint_names = [k for k in FIT_KEYPOINTS if k in KEYPOINT_SOURCES]
        self._tree = KinematicTree(self.bone_parents)

        # Keypoints come from two sources; remember where each lands in the output order.
        ids = smplx.vertex_ids.vertex_ids["smplx"]
        joint_bones, joint_slots, vertex_ids, vertex_slots = [], [], [], []
        for slot, keypoint in enumerate(self.keypoint_names):
            kind, source = KEYPOINT_SOURCES[keypoint]
            if kind == "joint":
                joint_bones.append(self.bone_names.index(source))
                joint_slots.append(slot)
            else:
                vertex_ids.append(int(ids[source]))
                vertex_slots.append(slot)
        self._kp_joint_bones = torch.tensor(joint_bones, dtype=torch.long)
        self._kp_vertex_ids = torch.tensor(vertex_ids, dtype=torch.long)
        # Output = cat(joint keypoints, vertex keypoints)[:, _kp_order]
        self._kp_order = torch.argsort(torch.tensor(joint_slots + vertex_slots))
        num_vertices = int(self.layer.v_template.shape[0])
        if vertex_ids and max(vertex_ids) >= num_vertices:
            raise BodyModelError(
                f"{self.model_file} has {num_vertices} vertices, fewer than SMPL-X's 10475; it is not an "
                f"SMPL-X model. {_FILE_HELP}"
            )
        logger.info(
            "Loaded SMPL-X model %s (%d vertices, %d betas)", self.model_file, num_vertices, len(self.shape_names)
        )

    # ---------------------------------------------------------------- loading

    @staticmethod
    def _load_layer(model_file: Path, gender: str | None, num_betas: int, dtype: torch.dtype):
        try:
            import smplx
        except ImportError as exc:  # pragma: no cover - smplx is a dependency
            raise BodyModelError("The SMPL-X body model needs the 'smplx' package: pip install smplx") from exc
        if gender is None:
            stem = model_file.stem.lower()
            gender = next((g for g in ("female", "male", "neutral") if stem.endswith(g)), "neutral")
        # smplx reports a short shape space with print(); route it into the log instead.
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                layer = smplx.SMPLXLayer(
                    model_path=str(model_file),
                    gender=gender,
                    ext=model_file.suffix.lstrip(".").lower(),
                    num_betas=num_betas,
                    use_pca=False,
                    flat_hand_mean=True,
                    dtype=dtype,
                )
        except Exception as exc:  # missing keys, wrong shapes, not a zip/pickle at all
            if isinstance(exc, AttributeError) and getattr(exc, "name", None):
                detail = f"it has no {exc.name!r} entry"  # smplx reads entries as Struct attributes
            else:
                detail = f"{type(exc).__name__}: {exc}"
            raise BodyModelError(f"{model_file} is not a valid SMPL-X model file ({detail}). {_FILE_HELP}") from exc
        for line in captured.getvalue().splitlines():
            if line.strip():
                logger.info("smplx: %s", line.strip())
        layer.requires_grad_(False)
        return layer

    def _check_layer(self) -> None:
        """Fail at load time, with the file named, rather than deep inside a fit."""
        layer, where = self.layer, self.model_file
        V = int(layer.v_template.shape[0])
        problems = []
        if tuple(layer.v_template.shape) != (V, 3):
            problems.append(f"v_template has shape {tuple(layer.v_template.shape)}, expected [V, 3]")
        if tuple(layer.J_regressor.shape) != (NUM_JOINTS, V):
            problems.append(f"J_regressor has shape {tuple(layer.J_regressor.shape)}, expected [{NUM_JOINTS}, {V}]")
        if tuple(layer.lbs_weights.shape) != (V, NUM_JOINTS):
            problems.append(f"weights has shape {tuple(layer.lbs_weights.shape)}, expected [{V}, {NUM_JOINTS}]")
        if tuple(layer.posedirs.shape) != ((NUM_JOINTS - 1) * 9, V * 3):
            problems.append(f"posedirs does not hold {(NUM_JOINTS - 1) * 9} pose blend shapes for {V} vertices")
        if tuple(layer.shapedirs.shape[:2]) != (V, 3):
            problems.append(f"shapedirs has shape {tuple(layer.shapedirs.shape)}, expected [{V}, 3, betas]")
        parents = layer.parents.tolist()
        if len(parents) != NUM_JOINTS or any(not 0 <= parents[i] < i for i in range(1, len(parents))):
            problems.append("kintree_table is not a 55-joint tree with parents before children")
        faces = np.asarray(layer.faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.size == 0 or faces.max() >= V or faces.min() < 0:
            problems.append("f is not a [F, 3] array of vertex indices")
        if problems:
            raise BodyModelError(f"{where} is not a valid SMPL-X model file: {'; '.join(problems)}. {_FILE_HELP}")

    # ------------------------------------------------------------- interface

    @property
    def faces(self) -> np.ndarray:
        return np.asarray(self.layer.faces, dtype=np.int64)

    def default_shape(self) -> torch.Tensor:
        return torch.zeros(len(self.shape_names), dtype=self.dtype)

    def fit_bones(self) -> dict[str, str]:
        return dict(FIT_BONES)

    def prepare(self, shape: torch.Tensor, free_bones: Sequence[int] | None = None) -> PreparedBody:
        """Shaped rest skeleton (pelvis at the origin) and the keypoint vertices' skinning data.

        ``free_bones`` (a speed hint some callers give) is ignored: SMPL-X posing is already
        cheap, so ``pose`` always takes all 55 local rotations.
        """
        shape = torch.as_tensor(shape, dtype=self.dtype)
        if shape.shape != (len(self.shape_names),):
            raise ValueError(f"SMPL-X shape must be [{len(self.shape_names)}] betas, got {tuple(shape.shape)}")
        layer = self.layer
        v_shaped = layer.v_template + torch.einsum("l,vkl->vk", shape, layer.shapedirs)  # [V, 3]
        joints = layer.J_regressor @ v_shaped  # [55, 3]
        pelvis = joints[0]
        cols = (self._kp_vertex_ids[:, None] * 3 + torch.arange(3)).reshape(-1)
        return PreparedBody(
            shape=shape,
            rest_joints=joints - pelvis,
            extras={
                "pelvis": pelvis,  # [3] shaped pelvis in SMPL-X's template frame
                "kp_rest": v_shaped[self._kp_vertex_ids] - pelvis,  # [Kv, 3], model frame
                "kp_weights": layer.lbs_weights[self._kp_vertex_ids],  # [Kv, 55]
                "kp_posedirs": layer.posedirs[:, cols],  # [486, Kv*3]
            },
        )

    def pose(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,  # [T, 55, 3, 3]
        root_rotation: torch.Tensor,  # [T, 3, 3]
        root_translation: torch.Tensor,  # [T, 3]
    ) -> PosedBody:
        """Joints by forward kinematics, vertex keypoints by skinning just those vertices."""
        self._check_pose_inputs(local_rotations, root_rotation, root_translation)
        rest = body.rest_joints
        world_rot, joints = self._tree(rest, local_rotations, root_rotation, root_translation)
        T = local_rotations.shape[0]
        extras = body.extras
        # Pose-corrective blend shapes, as smplx.lbs: features are (R - I) of every non-root joint.
        eye = torch.eye(3, dtype=local_rotations.dtype, device=local_rotations.device)
        pose_feature = (local_rotations[:, 1:] - eye).reshape(T, -1)
        verts = extras["kp_rest"] + (pose_feature @ extras["kp_posedirs"]).reshape(T, -1, 3)  # [T, Kv, 3]
        # Linear blend skinning: sum_j w_j (G_j (v - r_j) + x_j).
        per_joint = torch.einsum("tjab,tkjb->tkja", world_rot, verts[:, :, None, :] - rest) + joints[:, None]
        skinned = torch.einsum("kj,tkja->tka", extras["kp_weights"], per_joint)
        keypoints = torch.cat([joints[:, self._kp_joint_bones], skinned], dim=1)[:, self._kp_order]
        return PosedBody(joints=joints, keypoints=keypoints)

    def vertices(
        self,
        body: PreparedBody,
        local_rotations: torch.Tensor,  # [T, 55, 3, 3]
        root_rotation: torch.Tensor,  # [T, 3, 3]
        root_translation: torch.Tensor,  # [T, 3]
    ) -> torch.Tensor:
        """[T, V, 3] via smplx's own skinning, in chunks of frames to bound memory."""
        self._check_pose_inputs(local_rotations, root_rotation, root_translation)
        transl = root_translation - body.extras["pelvis"]  # smplx puts the pelvis at J0 + transl
        chunks = []
        for start in range(0, local_rotations.shape[0], self.frames_per_chunk):
            part = slice(start, start + self.frames_per_chunk)
            rotations = local_rotations[part]
            n = rotations.shape[0]
            kwargs = {key: rotations[:, bones] for key, bones in _POSE_SLICES.items()}
            out = self.layer(
                betas=body.shape.expand(n, -1),
                global_orient=root_rotation[part],
                transl=transl[part],
                # expr_dirs, not num_expression_coeffs: smplx claims 10 even when a file has none.
                expression=torch.zeros(n, self.layer.expr_dirs.shape[-1], dtype=rotations.dtype),
                return_verts=True,
                **kwargs,
            )
            chunks.append(out.vertices)
        return torch.cat(chunks, dim=0)

    def _check_pose_inputs(self, local_rotations, root_rotation, root_translation) -> None:
        T = local_rotations.shape[0]
        if tuple(local_rotations.shape) != (T, NUM_JOINTS, 3, 3):
            raise ValueError(f"local_rotations must be [T, {NUM_JOINTS}, 3, 3], got {tuple(local_rotations.shape)}")
        if tuple(root_rotation.shape) != (T, 3, 3) or tuple(root_translation.shape) != (T, 3):
            raise ValueError(
                f"root_rotation/root_translation must be [{T}, 3, 3]/[{T}, 3], got "
                f"{tuple(root_rotation.shape)}/{tuple(root_translation.shape)}"
            )
