"""Repair front/back flips and left/right swaps in a landmark track before it is filtered and fitted.

A single camera sees a body and its depth-mirrored twin almost identically, and MediaPipe
sometimes answers with the twin for a stretch of frames (or swaps the left and right labels).
Gradient descent in the fit cannot jump between such mirror solutions, and temporal filtering
spreads a flip into its neighbours, so the choice is made here, discretely, for every frame:

* hypotheses per frame: as detected; depth-mirrored body (z -> -z about the hips); left/right
  labels swapped (2D, 3D and visibility); both; and split ones, where the upper part (face, arms,
  torso with the hips) and the legs (knees down) are under hypotheses that are each other's twin
  (turned round), at an extra cost per frame and a cost for knees whose left/right order
  disagrees with the hips' (thighs crossing, which a hip cannot do).
* a per-frame anatomy cost: the direction the torso faces by its handedness (left shoulder and
  hip vs right) must agree with where the nose, the feet and the bent knees point;
* a transition cost for continuity: the facing direction turns smoothly, and each labelled
  joint moves little between frames, in the image and in 3D; and a steep cost for a facing that
  turns faster than a body can spin (``FlipCosts.max_spin_deg_per_s``). Why: seen from the side,
  MediaPipe "spins" a man who does not turn (Pose2Sim Demo_MultiPerson cam03, frames 61-74): its
  torso turns round over two frames (~3000 deg/s), stays turned, then snaps back in one frame. The
  turn-in looked as smooth as a real turn, so only the snap-back frame was mended and the stretch
  stayed flipped (10 % of cam03's frames against the 4-view reference; 0 % now).
* a small cost for leaving the detector's answer, so nothing changes without evidence.

A Viterbi pass over the detected frames picks the cheapest sequence of hypotheses.

The chain may step over up to ``FlipCosts.max_bridge`` frames (at ``FlipCosts.bridge`` each),
comparing the frames on either side directly. Why: MediaPipe rarely flips in one clean step; it
turns through a frame or two where the left and right joints collapse onto each other or only
the arms are swapped. Such a frame costs about the same under every hypothesis on both sides, so
a chain through it carries no evidence across, and the per-frame cost of leaving the detector's
answer decided the frames after it: a flip at the end of a clip (one edge, no return) stayed
flipped (the rendered round trip's back view, jumping jacks with the arms going overhead,
frames 55-59 of 60), and with one such frame on each side even a flip in the middle did. The
bridged frames then take the hypothesis that agrees best with the kept frames on either side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
from random_people.pose.landmarks import LandmarkTrack

logger = logging.getLogger(__name__)

WHOLE_BODY = ("as_detected", "depth_mirrored", "labels_swapped", "mirrored_and_swapped")
_I = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}
# The legs below the hips (knees, ankles, heels, toes) and everything else (face, arms, torso with
# the hips): MediaPipe can turn the upper part round while it keeps the legs (a spin seen from the
# side, Pose2Sim cam03), and the reverse.
LEGS = np.array([i for i, n in enumerate(MEDIAPIPE_LANDMARKS) if any(k in n for k in ("knee", "ankle", "heel", "foot"))])
# Split hypotheses: the upper part under one whole-body hypothesis, the legs under its twin
# (depth-mirrored AND swapped against it: turned round), (upper, legs) in WHOLE_BODY's indices.
SPLITS = ((3, 0), (0, 3), (2, 1), (1, 2))
HYPOTHESES = WHOLE_BODY + tuple(f"upper_{WHOLE_BODY[u]}_legs_{WHOLE_BODY[l]}" for u, l in SPLITS)


def _swap_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


SWAP = np.array([_I[_swap_name(n)] for n in MEDIAPIPE_LANDMARKS])
_TRACKED = [_I[n] for n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")]


@dataclass
class FlipCosts:
    """Weights of the terms (unitless; each term is O(1) for a clear case)."""

    anatomy: float = 1.0  # per unit of agreement between handedness-facing and the anatomical cues
    facing_turn: float = 2.0  # per (1 - cos) of the facing change between consecutive frames
    image_jump: float = 3.0  # per torso length of mean labelled-joint motion in the image
    world_jump: float = 2.0  # per torso length of mean labelled-joint motion in 3D (hip-centred)
    change: float = 0.3  # per frame not as detected
    bridge: float = 0.5  # per frame the chain steps over (its own best unary cost is added too)
    split: float = 0.6  # per frame with the upper part and the legs under different hypotheses (on top of change)
    legs_apart: float = 1.0  # per unit of the knees' left/right order disagreeing with the hips' (3D)
    spin: float = 3.0  # per max_spin's worth of facing turn beyond what a body can spin in the time
    # A fast pirouette peaks near 1000-1400 deg/s; MediaPipe's false spins turn ~3000. Pose2Sim's
    # 8 views score the same from 600 to 1500 on cam03 (the false spin), 1500 a little better on
    # the cam02s, and the higher bound leaves more room for real fast turns.
    max_spin_deg_per_s: float = 1500.0
    max_bridge: int = 3  # most consecutive frames the chain may step over


@dataclass
class FlipRepair:
    track: LandmarkTrack  # the repaired track
    choice: np.ndarray  # [T] index into HYPOTHESES (0 on undetected frames)

    @property
    def repaired_frames(self) -> int:
        return int(np.count_nonzero(self.choice))

    def counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.choice == i)) for i, name in enumerate(HYPOTHESES) if i}


def apply_hypothesis(world: np.ndarray, image_xy: np.ndarray, visibility: np.ndarray, hypothesis: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One frame's (or a stack's, landmarks on axis -2/-1) landmarks under ``hypothesis`` (an index
    into HYPOTHESES: a whole-body one, or a split: the upper part and the legs each under their own)."""
    if hypothesis >= len(WHOLE_BODY):
        upper, legs = SPLITS[hypothesis - len(WHOLE_BODY)]
        world_u, image_u, visibility_u = (a.copy() for a in apply_hypothesis(world, image_xy, visibility, upper))
        world_l, image_l, visibility_l = apply_hypothesis(world, image_xy, visibility, legs)
        world_u[..., LEGS, :], image_u[..., LEGS, :] = world_l[..., LEGS, :], image_l[..., LEGS, :]
        visibility_u[..., LEGS] = visibility_l[..., LEGS]
        return world_u, image_u, visibility_u
    if hypothesis in (1, 3):
        hips = world[..., [_I["left_hip"], _I["right_hip"]], :].mean(-2, keepdims=True)
        world = world.copy()
        world[..., 2] = 2 * hips[..., 2] - world[..., 2]
    if hypothesis in (2, 3):
        world, image_xy, visibility = world[..., SWAP, :], image_xy[..., SWAP, :], visibility[..., SWAP]
    return world, image_xy, visibility


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-9)


def facing_direction(world: np.ndarray) -> np.ndarray:
    """[..., 3] direction the torso faces by its handedness: (left - right) x (shoulders - hips)."""
    left = world[..., _I["left_shoulder"], :] + world[..., _I["left_hip"], :]
    right = world[..., _I["right_shoulder"], :] + world[..., _I["right_hip"], :]
    up = (world[..., _I["left_shoulder"], :] + world[..., _I["right_shoulder"], :]
          - world[..., _I["left_hip"], :] - world[..., _I["right_hip"], :])
    return _unit(np.cross(left - right, up))


def anatomy_agreement(world: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """[T] weighted agreement (positive = consistent) between the handedness-facing and where
    the nose, the feet and the bent knees point. Mirroring or swapping a body flips its sign."""
    facing = facing_direction(world)
    up = _unit(world[:, [_I["left_shoulder"], _I["right_shoulder"]]].mean(1) - world[:, [_I["left_hip"], _I["right_hip"]]].mean(1))

    def horizontal(v: np.ndarray) -> np.ndarray:
        return v - (v * up).sum(-1, keepdims=True) * up

    def seen(*names: str) -> np.ndarray:
        return np.min([visibility[:, _I[n]] for n in names], axis=0)

    total = np.zeros(len(world))
    nose = horizontal(world[:, _I["nose"]] - world[:, [_I["left_ear"], _I["right_ear"]]].mean(1))
    total += seen("nose", "left_ear", "right_ear") * (_unit(nose) * facing).sum(-1)
    for side in ("left", "right"):
        foot = horizontal(world[:, _I[f"{side}_foot_index"]] - world[:, _I[f"{side}_heel"]])
        total += 0.5 * seen(f"{side}_foot_index", f"{side}_heel") * (_unit(foot) * facing).sum(-1)
        hip, knee, ankle = (world[:, _I[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        axis = _unit(ankle - hip)
        bend = (knee - hip) - ((knee - hip) * axis).sum(-1, keepdims=True) * axis  # knee apex points forward
        thigh = np.linalg.norm(knee - hip, axis=-1).clip(1e-6)
        strength = np.clip(np.linalg.norm(bend, axis=-1) / thigh / 0.3, 0.0, 1.0)  # ~35 degrees of flexion: full weight
        total += strength * seen(f"{side}_hip", f"{side}_knee", f"{side}_ankle") * (_unit(bend) * facing).sum(-1)
    return total


def legs_crossed(world: np.ndarray) -> np.ndarray:
    """[T] how far the knees' left/right order disagrees with the hips' in 3D: 0 when the left knee
    is on the left hip's side, up to 1 when the thighs cross fully (a hip adducts ~30 degrees at
    most, so a real body keeps its knees on their own hips' sides). Turning the whole body
    leaves it unchanged; turning only the legs or only the upper part flips its sign."""
    knees = _unit(world[:, _I["left_knee"]] - world[:, _I["right_knee"]])
    hips = _unit(world[:, _I["left_hip"]] - world[:, _I["right_hip"]])
    return np.clip(-(knees * hips).sum(-1), 0.0, 1.0)


def _transition_costs(variants: list[tuple[np.ndarray, np.ndarray, np.ndarray]], facing: np.ndarray, torso_image: np.ndarray, torso_world: np.ndarray, lag: int,
                      costs: FlipCosts, max_turn: np.ndarray | None = None) -> np.ndarray:
    """[n, k, k] cost of hypothesis a at detected frame t-lag then b at frame t (zero for t < lag).
    ``max_turn`` [n]: the most a body's facing can turn (radians) from frame t-lag to t; each
    further ``max_turn`` of turn costs ``costs.spin``."""
    n, k = len(facing), len(variants)
    out = np.zeros((n, k, k))
    if n <= lag:
        return out
    for a in range(k):
        wa, xa, _ = variants[a]
        for b in range(k):
            wb, xb, _ = variants[b]
            turn = 1.0 - (facing[:-lag, a] * facing[lag:, b]).sum(-1)
            jump_image = np.linalg.norm(xb[lag:, _TRACKED] - xa[:-lag, _TRACKED], axis=-1).mean(-1) / torso_image[lag:]
            jump_world = np.linalg.norm(wb[lag:, _TRACKED] - wa[:-lag, _TRACKED], axis=-1).mean(-1) / torso_world[lag:]
            out[lag:, a, b] = (costs.facing_turn * turn + costs.image_jump * jump_image
                               + costs.world_jump * jump_world)
            if max_turn is not None:
                angle = np.arccos(np.clip(1.0 - turn, -1.0, 1.0))
                out[lag:, a, b] += costs.spin * np.clip(angle - max_turn[lag:], 0.0, None) / max_turn[lag:]
    return out


def _bridged_chain(unary: np.ndarray, pairwise: list[np.ndarray], bridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi over frames where the chain may step over up to ``len(pairwise) - 1`` frames.

    unary [n, k]; pairwise[lag - 1] [n, k, k]: hypothesis a at frame t - lag then b at t. A
    bridged frame costs ``bridge`` plus its cheapest unary (its own evidence is kept, only its
    links to its neighbours are dropped); frames before the first and after the last kept one
    may be bridged too. Returns (path [n] on the kept frames, kept [n] bool).
    """
    n, k = unary.shape
    most = len(pairwise)
    skip = bridge + unary.min(1)  # [n] cost of bridging each frame
    skipped_before = np.concatenate([[0.0], np.cumsum(skip)])  # skipped_before[t] = sum(skip[:t])
    total = np.full((n, k), np.inf)
    back_frame = np.full((n, k), -1, dtype=np.int64)
    back_hypothesis = np.zeros((n, k), dtype=np.int64)
    for t in range(n):
        if t < most:  # the chain starts here, every earlier frame bridged
            total[t] = skipped_before[t]
        for lag in range(1, min(most, t) + 1):
            bridged = skipped_before[t] - skipped_before[t - lag + 1]  # the lag - 1 frames stepped over
            candidates = total[t - lag][:, None] + pairwise[lag - 1][t] + bridged
            best = candidates.min(0)
            better = best < total[t]
            total[t] = np.where(better, best, total[t])
            back_frame[t] = np.where(better, t - lag, back_frame[t])
            back_hypothesis[t] = np.where(better, candidates.argmin(0), back_hypothesis[t])
        total[t] += unary[t]
    ends = range(max(0, n - most), n)
    end = min(ends, key=lambda t: total[t].min() + skipped_before[n] - skipped_before[t + 1])
    path = np.zeros(n, dtype=np.int64)
    kept = np.zeros(n, dtype=bool)
    t, h = end, int(total[end].argmin())
    while t >= 0:
        path[t], kept[t] = h, True
        t, h = back_frame[t, h], back_hypothesis[t, h]
    return path, kept


def _fill_bridged(path: np.ndarray, kept: np.ndarray, unary: np.ndarray, pairwise: list[np.ndarray]) -> np.ndarray:
    """Choose the hypothesis of each bridged frame against the kept frames on either side of its
    run (compared directly, over the lag between them), not through its bridged neighbours:
    those are the frames the chain found unreliable."""
    path = path.copy()
    kept_frames = np.flatnonzero(kept)
    for s in np.flatnonzero(~kept):
        cost = unary[s].copy()
        before, after = kept_frames[kept_frames < s], kept_frames[kept_frames > s]
        if len(before):
            p = before[-1]
            cost += pairwise[s - p - 1][s, path[p], :]
        if len(after):
            q = after[0]
            cost += pairwise[q - s - 1][q, :, path[q]]
        path[s] = int(cost.argmin())
    return path


def hypothesis_costs(track: LandmarkTrack, detected: np.ndarray, costs: FlipCosts
                     ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray, list[np.ndarray]]:
    """The detected frames under every hypothesis, their per-frame costs [n, k] and the transition
    costs per lag (``pairwise[lag - 1]`` [n, k, k])."""
    world, image, visibility = track.world[detected], track.image_xy[detected], track.visibility[detected]
    variants = [apply_hypothesis(world, image, visibility, h) for h in range(len(HYPOTHESES))]
    torso_world = np.linalg.norm(world[:, [_I["left_shoulder"], _I["right_shoulder"]]].mean(1)
                                 - world[:, [_I["left_hip"], _I["right_hip"]]].mean(1), axis=-1).clip(0.05)
    torso_image = np.linalg.norm(image[:, [_I["left_shoulder"], _I["right_shoulder"]]].mean(1)
                                 - image[:, [_I["left_hip"], _I["right_hip"]]].mean(1), axis=-1).clip(1.0)
    n, k = len(detected), len(HYPOTHESES)
    unary = np.zeros((n, k))
    facing = np.zeros((n, k, 3))
    for h, (w, xy, vis) in enumerate(variants):
        unary[:, h] = (-costs.anatomy * anatomy_agreement(w, vis) + costs.legs_apart * legs_crossed(w)
                       + (costs.change if h else 0.0) + (costs.split if h >= len(WHOLE_BODY) else 0.0))
        facing[:, h] = facing_direction(w)
    times = track.frame_times[detected]
    pairwise = []
    for lag in range(1, costs.max_bridge + 2):
        max_turn = None
        if costs.spin > 0 and len(times) > lag:
            elapsed = np.concatenate([np.full(lag, np.inf), times[lag:] - times[:-lag]])
            max_turn = np.radians(costs.max_spin_deg_per_s) * elapsed.clip(1e-3)
        pairwise.append(_transition_costs(variants, facing, torso_image, torso_world, lag, costs, max_turn))
    return variants, unary, pairwise


def repair_flips(track: LandmarkTrack, costs: FlipCosts | None = None) -> FlipRepair:
    """Choose per frame which mirror of the detection is the body (Viterbi, stepping over up to
    ``costs.max_bridge`` unreliable frames at a time); return the repaired track."""
    costs = costs or FlipCosts()
    detected = np.flatnonzero(track.detected)
    choice = np.zeros(track.num_frames, dtype=np.int64)
    if len(detected) == 0:
        return FlipRepair(track, choice)
    variants, unary, pairwise = hypothesis_costs(track, detected, costs)
    k = len(HYPOTHESES)
    path, kept = _bridged_chain(unary, pairwise, costs.bridge)
    path = _fill_bridged(path, kept, unary, pairwise)
    choice[detected] = path
    new_world, new_image, new_visibility = track.world.copy(), track.image_xy.copy(), track.visibility.copy()
    for h in range(1, k):
        rows = detected[path == h]
        if len(rows):
            w, xy, vis = variants[h]
            new_world[rows], new_image[rows], new_visibility[rows] = w[path == h], xy[path == h], vis[path == h]
    repaired = FlipRepair(replace(track, world=new_world, image_xy=new_image, visibility=new_visibility), choice)
    if repaired.repaired_frames:
        logger.info("Flip repair changed %d of %d frames: %s", repaired.repaired_frames, track.num_frames, repaired.counts())
    return repaired
