"""Finger joint rotations from hand landmarks, fitted in the wrist's frame.

Why analytic and per bone, not another gradient fit: a hand is a rigid palm plus five short
chains, and MediaPipe's hand world landmarks give every joint's direction directly. So per frame
and hand:

1. **Hand orientation**: the rotation taking the body model's rest palm (wrist and the four
   finger-base knuckles) onto the detected palm (Kabsch). That is the wrist bone's world
   rotation; its local rotation follows from the fitted forearm, so the hand turns with the
   detection, not with MediaPipe Pose's two knuckle points.
2. **Each finger bone**, root to tip: the detected bone direction, seen from the parent bone's
   posed frame, is split into a flexion angle (towards the palm) and an abduction angle (sideways
   in the palm's plane), both clamped to joint limits: fingers bend one way, middle and end
   joints are hinges. A bone's rotation then carries its children, so curl accumulates.

The bone lengths stay the body model's; only directions are taken from the detection, so the
same fit drives any body shape. Landmarks are smoothed over time first (the body's
Savitzky-Golay window, after the same outlier rejection), so fingers move as smoothly as limbs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from random_people.pose.filtering import fill_gaps, reject_outliers, smooth
from random_people.pose.hands import HANDS, HandTrack

logger = logging.getLogger(__name__)

# MediaPipe hand landmark indices of each finger, base to tip.
FINGER_LANDMARKS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
                    "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}
PALM_LANDMARKS = (0, 5, 9, 13, 17)  # wrist and the four finger-base knuckles
FINGERS = tuple(FINGER_LANDMARKS)

# Joint limits in degrees, (flexion min, flexion max, abduction limit), per joint of a chain.
# Flexion is positive towards the palm. The thumb's joints keep two axes: its flexion does not
# happen about the palm's normal, so a hinge would clamp real thumb motion away.
_FINGER_LIMITS = ((-30.0, 95.0, 25.0), (0.0, 115.0, 0.0), (0.0, 90.0, 0.0))
_THUMB_LIMITS = ((-60.0, 60.0, 60.0), (-30.0, 80.0, 30.0), (-30.0, 90.0, 20.0))
# A hand bent further than this off the forearm's axis is a wrong detection. Turning about the
# forearm's axis is not limited: that is pronation, which the body fit cannot see, so the fitted
# twist is shared between the forearm and the wrist (as real forearm bones share it).
WRIST_SWING_LIMIT_DEGREES = 100.0
MAX_GAP_SECONDS = 0.3  # a hand missing at most this long is interpolated across


def hand_bone_names(bone_names: list[str], side: str) -> dict[str, object]:
    """The body model's bones for one hand: ``{"wrist": name, "palm": [5 names whose heads are the
    wrist and the finger-base knuckles], finger: [3 bone names base to tip]}``.

    Knows Anny's rig (``wrist.L``, ``finger2-1.L``: finger 1 is the thumb) and SMPL-X's
    (``left_wrist``, ``left_index1``). Raises ValueError for a rig without finger bones.
    """
    names = set(bone_names)
    suffix = ".L" if side == "left" else ".R"
    if f"wrist{suffix}" in names and f"finger2-1{suffix}" in names:
        chains = {finger: [f"finger{k}-{j}{suffix}" for j in (1, 2, 3)] for k, finger in enumerate(FINGERS, start=1)}
        wrist = f"wrist{suffix}"
    elif f"{side}_wrist" in names and f"{side}_index1" in names:
        chains = {finger: [f"{side}_{finger}{j}" for j in (1, 2, 3)] for finger in FINGERS}
        wrist = f"{side}_wrist"
    else:
        raise ValueError("This body model has no finger bones that --hands knows (Anny's or SMPL-X's).")
    palm = [wrist] + [chains[finger][0] for finger in ("index", "middle", "ring", "pinky")]
    return {"wrist": wrist, "palm": palm, **chains}


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """[..., 3, 3] rotation by ``angle`` (radians, [...]) about unit ``axis`` ([3] or [..., 3])."""
    axis = np.broadcast_to(axis, np.shape(angle) + (3,))
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle), np.sin(angle)
    C = 1.0 - c
    return np.stack([
        np.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s], -1),
        np.stack([y * x * C + z * s, c + y * y * C, y * z * C - x * s], -1),
        np.stack([z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1),
    ], -2)


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[T, 3, 3] rotations R minimising |R (source - mean) - (target - mean)|, scale-free.

    source: [P, 3] (shared by all frames); target: [T, P, 3].
    """
    a = source - source.mean(0)
    b = target - target.mean(1, keepdims=True)
    covariance = np.einsum("pi,tpj->tji", a, b)  # [T, 3, 3] = sum b a^T
    u, _, vt = np.linalg.svd(covariance)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((len(target), 3))
    fix[:, 2] = d
    return (u * fix[:, None, :]) @ vt


@dataclass
class JointFrame:
    """A finger joint's rest axes in the model's zero pose: the bone direction, the sideways
    direction in the palm's plane and the palm normal (towards the palm, where fingers curl)."""

    along: np.ndarray  # [3] e1
    sideways: np.ndarray  # [3] e2 = e3 x e1
    palm: np.ndarray  # [3] e3
    limits: tuple[float, float, float]  # flexion min, max, abduction limit (degrees)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def palm_normal(palm_points: np.ndarray, side: str) -> np.ndarray:
    """[..., 3] unit normal pointing out of the palm (the side fingers curl to).

    palm_points: [..., 5, 3] wrist, index, middle, ring, pinky knuckles. In a right-handed frame
    the cross product index x pinky (from the wrist) points out of the palm of a right hand (hold
    it up, palm to your face: the index is on your right, the pinky on your left, fingers up) and
    out of the back of a left hand. Anny's rest pose agrees: its palms face down and inwards.
    """
    wrist, index, pinky = palm_points[..., 0, :], palm_points[..., 1, :], palm_points[..., 4, :]
    normal = np.cross(index - wrist, pinky - wrist)
    return _unit(normal if side == "right" else -normal)


class HandRig:
    """One hand of one body: rest palm, rest bone directions and joint axes, from rest joints."""

    def __init__(self, bone_names: list[str], rest_joints: np.ndarray, side: str,
                 bone_parents: np.ndarray | None = None) -> None:
        self.side = side
        bones = hand_bone_names(bone_names, side)
        index = {name: i for i, name in enumerate(bone_names)}
        self.wrist = index[bones["wrist"]]
        self.forearm = int(bone_parents[self.wrist]) if bone_parents is not None else -1
        if self.forearm >= 0:  # the forearm's axis, the wrist's parent's head to the wrist
            self.forearm_axis = _unit(rest_joints[self.wrist] - rest_joints[self.forearm])
        self.palm_rest = rest_joints[[index[name] for name in bones["palm"]]]  # [5, 3]
        normal = palm_normal(self.palm_rest, side)
        self.chains: dict[str, list[int]] = {finger: [index[name] for name in bones[finger]] for finger in FINGERS}
        self.frames: dict[str, list[JointFrame]] = {}
        for finger, chain in self.chains.items():
            heads = rest_joints[chain]
            directions = [heads[1] - heads[0], heads[2] - heads[1], heads[2] - heads[1]]  # no tip joint: last = middle
            limits = _THUMB_LIMITS if finger == "thumb" else _FINGER_LIMITS
            joint_frames = []
            for direction, limit in zip(directions, limits):
                along = _unit(direction)
                palm = _unit(normal - (normal @ along) * along)
                joint_frames.append(JointFrame(along, np.cross(palm, along), palm, limit))
            self.frames[finger] = joint_frames

    def limit_violation(self, world: np.ndarray) -> np.ndarray:
        """[T] degrees, summed over the finger joints, by which hand landmarks [T, 21, 3] bend
        their joints beyond the limits (the four fingers; the thumb's limits are too loose to tell)."""
        hand = kabsch(self.palm_rest - self.palm_rest[0], world[:, PALM_LANDMARKS])
        total = np.zeros(len(world))
        for finger, chain in self.chains.items():
            if finger == "thumb":
                continue
            marks = FINGER_LANDMARKS[finger]
            observed = np.einsum("tji,tbj->tbi", hand, _unit(world[:, list(marks[1:])] - world[:, list(marks[:-1])]))
            parent = np.broadcast_to(np.eye(3), (len(world), 3, 3))
            for j, frame in enumerate(self.frames[finger]):
                u = np.einsum("tji,tj->ti", parent, observed[:, j])
                total += limit_excess(u, frame)
                parent = parent @ joint_rotation(u, frame, clamp=False)
        return total

    def fit(self, world: np.ndarray) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Hand orientation [T, 3, 3] (model rest -> camera) and local rotations {bone: [T, 3, 3]}
        of the finger bones, from wrist-relative hand world landmarks ``world`` [T, 21, 3]."""
        hand = kabsch(self.palm_rest - self.palm_rest[0], world[:, PALM_LANDMARKS])  # [T, 3, 3]
        local: dict[int, np.ndarray] = {}
        for finger, chain in self.chains.items():
            marks = FINGER_LANDMARKS[finger]
            observed = _unit(world[:, list(marks[1:])] - world[:, list(marks[:-1])])  # [T, 3, 3] base->tip
            observed = np.einsum("tji,tbj->tbi", hand, observed)  # in the hand's rest frame: R^T o
            parent = np.broadcast_to(np.eye(3), (len(world), 3, 3))
            for j, (bone, frame) in enumerate(zip(chain, self.frames[finger])):
                u = np.einsum("tji,tj->ti", parent, observed[:, j])  # parent^T o
                rotation = joint_rotation(u, frame)
                local[bone] = rotation
                parent = parent @ rotation
        return hand, local


def joint_angles(u: np.ndarray, frame: JointFrame, clamp: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(flexion, abduction) in radians, clamped to the joint's limits unless ``clamp`` is False,
    that turn the rest bone direction towards unit directions ``u`` [T, 3] (given in the parent's
    rest frame)."""
    a, s, p = u @ frame.along, u @ frame.sideways, u @ frame.palm
    flexion = np.arctan2(p, a)
    abduction = np.arctan2(s, np.hypot(a, p))
    if not clamp:
        return flexion, abduction
    low, high, spread = (np.radians(v) for v in frame.limits)
    return np.clip(flexion, low, high), np.clip(abduction, -spread, spread)


def limit_excess(u: np.ndarray, frame: JointFrame) -> np.ndarray:
    """[T] degrees by which directions ``u`` [T, 3] lie beyond the joint's limits."""
    flexion, abduction = (np.degrees(v) for v in joint_angles(u, frame, clamp=False))
    low, high, spread = frame.limits
    return np.maximum(low - flexion, 0) + np.maximum(flexion - high, 0) + np.maximum(np.abs(abduction) - spread, 0)


def joint_rotation(u: np.ndarray, frame: JointFrame, clamp: bool = True) -> np.ndarray:
    """[T, 3, 3] local rotation: abduct about the palm normal, then flex about the sideways axis."""
    flexion, abduction = joint_angles(u, frame, clamp)
    return axis_angle_matrix(-frame.sideways, flexion) @ axis_angle_matrix(frame.palm, abduction)


def finger_pose_matrices(rig: HandRig, angles: dict[str, list[tuple[float, float]]]) -> dict[int, np.ndarray]:
    """Local rotations {bone: [3, 3]} for given (flexion, abduction) degrees per joint, the inverse
    of :meth:`HandRig.fit` (used to pose avatars' fingers to known angles in tests and benchmarks)."""
    out: dict[int, np.ndarray] = {}
    for finger, joints in angles.items():
        for bone, frame, (flexion, abduction) in zip(rig.chains[finger], rig.frames[finger], joints):
            out[bone] = axis_angle_matrix(-frame.sideways, np.radians(flexion)) @ axis_angle_matrix(
                frame.palm, np.radians(abduction))
    return out


def rotation_angle_degrees(rotation: np.ndarray) -> np.ndarray:
    """[...] angle of rotation matrices [..., 3, 3] in degrees."""
    cosine = (np.trace(rotation, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def twist_angle(rotation: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[T] radians: the twist part of rotations [T, 3, 3] about unit ``axis`` (swing-twist split)."""
    from scipy.spatial.transform import Rotation

    quaternion = Rotation.from_matrix(rotation).as_quat()  # x, y, z, w
    return 2.0 * np.arctan2(quaternion[:, :3] @ axis, quaternion[:, 3])


def swing_degrees(rotation: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[T] how far rotations [T, 3, 3] turn ``axis`` away from itself, in degrees."""
    return np.degrees(np.arccos(np.clip((rotation @ axis) @ axis, -1.0, 1.0)))


def smooth_hand_world(world: np.ndarray, detected: np.ndarray, fps: float,
                      max_gap_seconds: float = MAX_GAP_SECONDS) -> tuple[np.ndarray, np.ndarray]:
    """Outlier-rejected, smoothed hand landmarks [T, 21, 3] and the frames they are valid in [T].

    Gaps up to ``max_gap_seconds`` are interpolated across (and stay flagged as not detected);
    longer gaps split the clip into runs that are filtered separately, so a hand that was away
    for a second is not dragged in from where it was.
    """
    valid = np.asarray(detected, dtype=bool).copy()
    out = np.full_like(world, np.nan)
    if not valid.any():
        return out, valid
    cleaned = reject_outliers(world, valid, floor=0.02)  # 2 cm: fast finger motion is not an outlier
    frames = np.flatnonzero(valid)
    max_gap = max(1, int(round(max_gap_seconds * fps)))
    breaks = np.flatnonzero(np.diff(frames) > max_gap + 1)
    starts = np.concatenate([[frames[0]], frames[breaks + 1]])
    ends = np.concatenate([frames[breaks], [frames[-1]]])
    usable = np.zeros_like(valid)
    for start, end in zip(starts, ends):
        segment = slice(start, end + 1)
        filled = fill_gaps(cleaned[segment], valid[segment])
        out[segment] = smooth(filled, fps)
        usable[segment] = True
    return out, usable


def resolve_depth_mirror(rig: HandRig, world: np.ndarray, detected: np.ndarray,
                         window: int = 5, margin_degrees: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """(hand landmarks [T, 21, 3] with depth mirrored where needed, mirrored [T] bool).

    A hand seen from one side and the other hand seen from the other side make the same picture:
    MediaPipe's 3D hand sometimes comes out depth-mirrored (the palm where the back of the hand
    is, curled fingers bending backwards). The picture cannot tell, anatomy can: fingers bend one
    way. Both readings (as detected, and depth ``z -> -z``) are scored by how far their joints
    go beyond the joint limits, and the mirrored one wins only when it is clearly (by
    ``margin_degrees``) more possible; a running majority over ``window`` frames keeps single
    frames from flickering. A flat hand gives no evidence and stays as detected.
    """
    world = np.asarray(world, dtype=np.float64).copy()
    mirrored = np.zeros(len(world), dtype=bool)
    rows = np.flatnonzero(detected)
    if not len(rows):
        return world, mirrored
    flip = np.array([1.0, 1.0, -1.0])
    vote = (rig.limit_violation(world[rows] * flip) < rig.limit_violation(world[rows]) - margin_degrees).astype(float)
    if len(vote) >= window:
        padded = np.pad(vote, window // 2, mode="edge")
        vote = np.convolve(padded, np.ones(window) / window, mode="valid")
    mirrored[rows] = vote > 0.5
    world[mirrored] *= flip
    return world, mirrored


@dataclass
class FingerFit:
    """Fitted hands of one motion. T frames, H = 2 hands (left, right)."""

    local_rotations: dict[int, np.ndarray]  # bone index -> [T, 3, 3] local rotation (wrist and finger bones)
    fitted: np.ndarray  # [T, H] bool: this hand's rotations come from landmarks here
    world: np.ndarray  # [T, H, 21, 3] smoothed wrist-relative landmarks, NaN where not fitted
    wrist_refused: np.ndarray  # [T, H] bool: the hand was found but turned beyond the wrist's limit
    depth_mirrored: np.ndarray  # [T, H] bool: the detection's depth was mirrored to match the body (see resolve_depth_mirror)


def fit_fingers(bone_names: list[str], bone_parents: np.ndarray, rest_joints: np.ndarray,
                parent_world_rotation: dict[str, np.ndarray], body_local: np.ndarray,
                track: HandTrack, fps: float) -> FingerFit:
    """Wrist and finger local rotations of both hands for every frame of ``track``.

    ``parent_world_rotation[side]`` is the forearm's (the wrist bone's parent's) posed world
    rotation [T, 3, 3] from the body fit, ``body_local`` the body fit's local rotations
    [T, B, 3, 3]: where a hand is missing, its wrist keeps the body fit's rotation and its
    fingers the rest pose.
    """
    T = track.num_frames
    local: dict[int, np.ndarray] = {}
    fitted = np.zeros((T, 2), dtype=bool)
    refused = np.zeros((T, 2), dtype=bool)
    smoothed_all = np.full((T, 2, 21, 3), np.nan, dtype=np.float32)
    mirrored = np.zeros((T, 2), dtype=bool)
    for h, side in enumerate(HANDS):
        rig = HandRig(bone_names, rest_joints, side, bone_parents)
        wrist = body_local[:, rig.wrist].copy()
        forearm = body_local[:, rig.forearm].copy()
        raw, mirrored[:, h] = resolve_depth_mirror(rig, track.world[:, h], track.detected[:, h])
        smoothed, usable = smooth_hand_world(raw, track.detected[:, h], fps)
        bones = {bone: np.broadcast_to(np.eye(3), (T, 3, 3)).copy() for chain in rig.chains.values() for bone in chain}
        if usable.any():
            rows = np.flatnonzero(usable)
            hand, finger_local = rig.fit(smoothed[rows].astype(np.float64))
            wrist_local = np.einsum("tji,tjk->tik", parent_world_rotation[side][rows], hand)  # G_parent^T R_hand
            ok = swing_degrees(wrist_local, rig.forearm_axis) <= WRIST_SWING_LIMIT_DEGREES
            refused[rows[~ok], h] = True
            # Half the twist goes to the forearm bone: the hand ends up exactly as fitted, the wrist's
            # skin does not wring, and the wrist stays where it was (the turn is about the forearm's
            # own axis through the wrist).
            half = axis_angle_matrix(rig.forearm_axis, 0.5 * twist_angle(wrist_local, rig.forearm_axis))
            forearm[rows[ok]] = forearm[rows[ok]] @ half[ok]
            wrist[rows[ok]] = np.swapaxes(half[ok], -1, -2) @ wrist_local[ok]
            for bone, rotation in finger_local.items():
                bones[bone][rows[ok]] = rotation[ok]
            fitted[rows[ok], h] = True
            smoothed_all[rows[ok], h] = smoothed[rows[ok]]
        local[rig.wrist] = wrist
        local[rig.forearm] = forearm
        local.update(bones)
        if refused[:, h].any():
            logger.info("%s hand: %d frames bent beyond %.0f degrees off the forearm were not used",
                        side, int(refused[:, h].sum()), WRIST_SWING_LIMIT_DEGREES)
    return FingerFit(local_rotations=local, fitted=fitted, world=smoothed_all, wrist_refused=refused,
                     depth_mirrored=mirrored)


def posed_world_rotation(bone: int, parents: np.ndarray, root: np.ndarray, local: np.ndarray) -> np.ndarray:
    """[T, 3, 3] posed world rotation of ``bone``: the root rotation times its ancestors' locals."""
    chain = []
    while bone > 0:
        chain.append(bone)
        bone = int(parents[bone])
    rotation = root
    for b in reversed(chain):
        rotation = rotation @ local[:, b]
    return rotation


def add_fingers(motion, model, track: HandTrack):
    """A copy of ``motion`` whose wrists and fingers follow ``track``, with the hand fields, the
    per-hand missing flags and a ``meta["hands"]`` summary set, and the fitted joints and
    keypoints recomputed through ``model`` (the wrist turn moves the knuckle keypoints).
    """
    import dataclasses

    import torch
    from scipy.spatial.transform import Rotation

    from random_people.pose.fitting import project
    from random_people.pose.motion import FLAG_LEFT_HAND_MISSING, FLAG_RIGHT_HAND_MISSING

    T, B = motion.local_rotations.shape[:2]
    if track.num_frames != T:
        raise ValueError(f"The hand track has {track.num_frames} frames, the motion {T}.")
    local = Rotation.from_rotvec(motion.local_rotations.reshape(-1, 3)).as_matrix().reshape(T, B, 3, 3)
    root = Rotation.from_rotvec(motion.root_rotation).as_matrix()
    parents = np.asarray(motion.bone_parents)
    forearms = {}
    for side in HANDS:
        wrist = list(motion.bone_names).index(hand_bone_names(list(motion.bone_names), side)["wrist"])
        forearms[side] = posed_world_rotation(int(parents[wrist]), parents, root, local)
    fit = fit_fingers(list(motion.bone_names), parents, np.asarray(motion.rest_joints, dtype=np.float64),
                      forearms, local, track, motion.fps)
    for bone, rotation in fit.local_rotations.items():
        local[:, bone] = rotation
    rotvecs = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_rotvec().reshape(T, B, 3).astype(np.float32)
    rotvecs[:, 0] = motion.local_rotations[:, 0]

    dtype = model.dtype
    with torch.no_grad():
        body = model.prepare(torch.as_tensor(motion.shape, dtype=dtype))
        posed = model.pose(body, torch.as_tensor(local, dtype=dtype), torch.as_tensor(root, dtype=dtype),
                           torch.as_tensor(motion.root_translation, dtype=dtype))
        keypoints_2d = project(posed.keypoints, torch.as_tensor(motion.camera_intrinsics, dtype=dtype))
    flags = motion.quality_flags.copy()
    flags[~fit.fitted[:, 0]] |= FLAG_LEFT_HAND_MISSING
    flags[~fit.fitted[:, 1]] |= FLAG_RIGHT_HAND_MISSING
    meta = dict(motion.meta)
    meta["hands"] = {
        "detector": "mediapipe 0.10.21 hands (full) on crops around the body's wrists",
        "detected_share": {side: round(float(track.detected[:, h].mean()), 4) for h, side in enumerate(HANDS)},
        "fitted_share": {side: round(float(fit.fitted[:, h].mean()), 4) for h, side in enumerate(HANDS)},
        "searched_share": {side: round(float(track.searched[:, h].mean()), 4) for h, side in enumerate(HANDS)},
        "mediapipe_handedness_agrees": {side: round(float(track.handedness_agrees[track.detected[:, h], h].mean()), 4)
                                        if track.detected[:, h].any() else None for h, side in enumerate(HANDS)},
        "wrist_refused_frames": {side: int(fit.wrist_refused[:, h].sum()) for h, side in enumerate(HANDS)},
        "depth_mirrored_frames": {side: int(fit.depth_mirrored[:, h].sum()) for h, side in enumerate(HANDS)},
    }
    return dataclasses.replace(
        motion,
        local_rotations=rotvecs,
        joints_3d=posed.joints.numpy().astype(np.float32),
        keypoints_3d=posed.keypoints.numpy().astype(np.float32),
        keypoints_2d=keypoints_2d.numpy().astype(np.float32),
        hand_landmarks_2d=track.image_xy.astype(np.float32),
        hand_landmarks_3d=fit.world.astype(np.float32),
        hand_detected=track.detected.copy(),
        quality_flags=flags,
        meta=meta,
    )


def hand_landmarks_from_pose(rig: HandRig, rest_joints: np.ndarray, local: dict[int, np.ndarray],
                             hand_rotation: np.ndarray) -> np.ndarray:
    """[21, 3] wrist-relative MediaPipe-layout landmarks of ``rig``'s hand posed by finger locals
    ``local`` ({bone: [3, 3]}, missing bones at rest) and turned by ``hand_rotation`` [3, 3].

    Forward kinematics of the hand alone (palm bones at rest); the fingertip lies one middle-bone
    length beyond the last joint, since the rigs have no tip joint. The exact inverse problem of
    :meth:`HandRig.fit`, used to check it.
    """
    points = np.zeros((21, 3))
    wrist_rest = rig.palm_rest[0]
    for finger, chain in rig.chains.items():
        marks = FINGER_LANDMARKS[finger]
        rotation = np.eye(3)
        position = rest_joints[chain[0]] - wrist_rest
        points[marks[0]] = position
        heads = [rest_joints[b] for b in chain]
        offsets = [heads[1] - heads[0], heads[2] - heads[1], heads[2] - heads[1]]
        for j, bone in enumerate(chain):
            rotation = rotation @ local.get(bone, np.eye(3))
            position = position + rotation @ offsets[j]
            points[marks[j + 1]] = position
    return points @ np.asarray(hand_rotation).T


def fitted_hand_segments(motion) -> np.ndarray:
    """[T, S, 2, 2] image segments (pixels) of the fitted hands' bones, wrist to fingertip joints,
    for drawing; NaN where a hand was not fitted (its missing flag is set). Empty without hands."""
    from random_people.pose.motion import FLAG_LEFT_HAND_MISSING, FLAG_RIGHT_HAND_MISSING

    if not motion.has_hands:
        return np.zeros((motion.num_frames, 0, 2, 2))
    names = list(motion.bone_names)
    joints = np.asarray(motion.joints_3d, dtype=np.float64)
    projected = joints @ np.asarray(motion.camera_intrinsics, dtype=np.float64).T
    pixels = projected[..., :2] / np.maximum(projected[..., 2:3], 1e-3)
    segments = []
    for side, bit in zip(HANDS, (FLAG_LEFT_HAND_MISSING, FLAG_RIGHT_HAND_MISSING)):
        bones = hand_bone_names(names, side)
        missing = (np.asarray(motion.quality_flags) & bit) != 0
        for finger in FINGERS:
            chain = [names.index(bones["wrist"])] + [names.index(n) for n in bones[finger]]
            for a, b in zip(chain[:-1], chain[1:]):
                segment = np.stack([pixels[:, a], pixels[:, b]], axis=1)  # [T, 2, 2]
                segment[missing] = np.nan
                segments.append(segment)
    return np.stack(segments, axis=1)
