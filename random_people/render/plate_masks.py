"""Where the extracted person is in each frame: the mask a clean plate removes.

Only the person whose motion was extracted is removed; anyone else in the clip is part of the
scene and stays. So the mask is *selected by that person's own 2D landmarks* (from the Motion,
or any :class:`PersonTrack`): MediaPipe Pose (the model bundled in the 0.10.21 wheel, with
``enable_segmentation=True``) runs on a crop around the person's landmark box, and its
segmentation is kept only when the landmarks it finds there agree with the track's, the torso
above all (:func:`same_torso`: somebody right in front of our person agrees on limbs and head).
When it found someone else there (a neighbour standing close), it looks once more with that
neighbour painted out (and never masks where they were painted); when it still finds nobody who agrees, the frame keeps the landmark silhouette (and
what the neighbouring keyframes carry over). The result is the union of that segmentation and a
silhouette drawn from the track's landmarks (thick limbs, torso polygon, head disc), so a body
part the segmenter misses is still covered, then dilated: a ghost of an arm is worse than a few
extra background pixels taken from the plate. Limbs that neither the landmarks nor the segmenter
find (arms stretched out behind somebody who stays) are added from how the static scene looked
before (:mod:`random_people.render.plate_limbs`).

Segmenting costs ~25 ms of CPU a frame, so only *keyframes* (about every 0.1 s) are segmented;
the frames between get both neighbouring keyframes' masks carried along the skeleton
(:mod:`random_people.render.plate_propagation`) -- on the Sports2D demo and Pose2Sim this
misses 0.2-0.8% of the every-frame mask on average (``benchmarks/scene.py`` measures it).

Why pose segmentation rather than the bundled selfie segmenter: measured on the Sports2D demo,
the selfie model (made for people near a webcam) gives a faint, broken mask for a full-body
person a few metres away, while the pose model's mask follows the silhouette.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol, TypeVar, Union

import cv2
import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS, SKELETON_EDGES
from random_people.render.plate_limbs import LimbFinder, borrow_still_pose_graph

logger = logging.getLogger(__name__)

_INDEX = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}
_TORSO = [_INDEX[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
_HEAD = [_INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
# Each landmark's left/right counterpart (itself for the nose).
_MIRROR = np.array([_INDEX[n.replace("left_", "#").replace("right_", "left_").replace("#", "right_")]
                    for n in MEDIAPIPE_LANDMARKS])
_EDGES = [(_INDEX[a], _INDEX[b]) for a, b in SKELETON_EDGES if a in _INDEX and b in _INDEX]
# Pose landmarks at least this visible count when comparing the segmenter's person with ours.
_VISIBLE = 0.3
# The segmenter's person is ours when its landmarks lie within this many torso lengths of the
# track's (median over landmarks both see).
_SAME_PERSON_TORSOS = 0.5
# ... and, for the masker, its torso corners (shoulders, hips) within this many torso lengths of
# the track's: two people overlapping in the picture (Pose2Sim cam03: the woman right in front of
# the man) can agree on the limbs and head to within half a torso, never on the torso itself.
_SAME_TORSO_TORSOS = 0.25
# ... unless every other landmark agrees to within this many torso lengths: then a torso corner
# a little off is the track's filtering (hips lag most), not somebody else (Pose2Sim cam02's
# first frame: landmarks 0.06 torsos apart, torso corners 0.27; the woman in front of the man on
# cam03: 0.2 and 0.29).
_CLOSE_LANDMARKS_TORSOS = 0.1
_CLOSE_TORSO_TORSOS = 0.35
# What the plate's cache key calls this way of masking (v5: limbs found from the scene's changes,
# :mod:`random_people.render.plate_limbs`; v6: one video-mode graph for plain and painted-out
# crops, reset by a blank picture between the two -- Pose2Sim cam03's masks changed); bumped
# whenever the masks change.
MASK_METHOD = "mediapipe-pose-segmentation-v7"


@dataclass(frozen=True)
class PersonTrack:
    """The extracted person's 2D landmarks over time (what selects their mask in each frame).

    ``landmarks`` are in pixels of ``image_size`` (the source clip's (width, height)); NaN where
    unknown. Made from a Motion by :meth:`from_motion`.
    """

    frame_times: np.ndarray  # [T] seconds in the source clip
    landmarks: np.ndarray  # [T, 33, 2] pixels (MediaPipe's landmark order)
    image_size: tuple[int, int]

    @classmethod
    def from_motion(cls, motion) -> "PersonTrack":
        names = list(motion.landmark_names)
        order = [names.index(n) for n in MEDIAPIPE_LANDMARKS]
        return cls(np.asarray(motion.frame_times, np.float64),
                   np.asarray(motion.landmarks_2d, np.float64)[:, order], tuple(motion.image_size))

    def nearest(self, time: float) -> int:
        """The track row closest in time to ``time``."""
        return int(np.argmin(np.abs(self.frame_times - time)))

    def fingerprint(self) -> bytes:
        """Bytes that identify this track, for cache keys (rounded to 0.1 px and 1 ms)."""
        rounded = np.nan_to_num(np.round(self.landmarks * 10), nan=-1).astype(np.int32)
        return np.round(self.frame_times * 1000).astype(np.int64).tobytes() + rounded.tobytes()


Payload = TypeVar("Payload")


class Masker(Protocol):
    """Gives the removed person's mask for one frame (``[H, W]`` bool at the frame's size)."""

    def __call__(self, rgb: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray: ...


class SequenceMasker(Protocol):
    """Gives the masks of a whole clip, in order, possibly looking a few frames ahead."""

    def masks(self, frames: Iterable[tuple[Payload, np.ndarray, np.ndarray | None]]
              ) -> Iterator[tuple[Payload, np.ndarray]]: ...


AnyMasker = Union[Masker, SequenceMasker]


def frame_masks(masker: AnyMasker, frames: Iterable[tuple[Payload, np.ndarray, np.ndarray | None]]
                ) -> Iterator[tuple[Payload, np.ndarray]]:
    """``(payload, mask)`` for every ``(payload, rgb, landmarks)`` of ``frames``, in order, from a
    per-frame :class:`Masker` or a :class:`SequenceMasker`."""
    if hasattr(masker, "masks"):
        yield from masker.masks(frames)  # type: ignore[union-attr]
        return
    for payload, rgb, landmarks in frames:
        yield payload, np.asarray(masker(rgb, landmarks), bool)  # type: ignore[operator]


def torso_length(points: np.ndarray) -> float:
    """Shoulder-centre to hip-centre distance of ``points`` [33, 2], or NaN."""
    shoulders = np.nanmean(points[_TORSO[:2]], axis=0)
    hips = np.nanmean(points[_TORSO[2:]], axis=0)
    return float(np.linalg.norm(shoulders - hips))


def landmark_distance(found: np.ndarray, points: np.ndarray) -> float:
    """Median distance (pixels) between a detection ``found`` ([33, 3]: x, y, visibility) and
    landmarks ``points`` ([33, 2]) over the landmarks both see, in the same or the mirrored
    left/right order, whichever is nearer (a person seen from behind is often labelled
    mirror-wise by one detection and not the other); inf when they share fewer than 4."""
    both = (found[:, 2] > _VISIBLE) & np.isfinite(points).all(axis=1)
    best = np.inf
    for order in (np.arange(len(_MIRROR)), _MIRROR):
        pairs = both & both[order]
        if pairs.sum() >= 4:
            best = min(best, float(np.median(np.linalg.norm(found[order][pairs, :2] - points[pairs], axis=1))))
    return best


def same_person(found: np.ndarray, points: np.ndarray) -> bool:
    """Whether a detection ``found`` ([33, 3]: x, y, visibility) is the person at ``points`` ([33, 2]):
    their :func:`landmark_distance` is at most half the torso length of ``points``."""
    torso = torso_length(points)
    if not np.isfinite(torso):
        return False
    return landmark_distance(found, points) <= _SAME_PERSON_TORSOS * max(torso, 4.0)


def torso_distance(found: np.ndarray, points: np.ndarray) -> float:
    """Median distance (pixels) between the torso corners (shoulders, hips) of a detection ``found``
    ([33, 3] or [33, 2]) and of ``points`` ([33, 2]), in the same or the mirrored left/right order,
    whichever is nearer; inf when either lacks a corner."""
    corners = np.array(_TORSO)
    ours = points[corners]
    if not np.isfinite(ours).all():
        return np.inf
    best = np.inf
    for order in (corners, _MIRROR[corners]):
        theirs = found[order, :2]
        if np.isfinite(theirs).all():
            best = min(best, float(np.median(np.linalg.norm(theirs - ours, axis=1))))
    return best


def same_torso(found: np.ndarray, points: np.ndarray) -> bool:
    """The masker's test that a detection is the track's person: :func:`same_person`, and the
    torso corners within a quarter torso (:func:`torso_distance`; a third of one when the other
    landmarks agree to a tenth). Looser alone, a person
    overlapping ours in the picture passed for them and their segmentation was taken for ours,
    leaving our person's stretched-out arms behind them in the scene."""
    torso = max(torso_length(points), 4.0)
    if not same_person(found, points):
        return False
    corners = torso_distance(found, points)
    if corners <= _SAME_TORSO_TORSOS * torso:
        return True
    return corners <= _CLOSE_TORSO_TORSOS * torso and landmark_distance(found, points) <= _CLOSE_LANDMARKS_TORSOS * torso


def landmark_box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """The landmarks' bounding box grown by ``margin`` of its larger side, clipped: (x0, y0, x1, y1)."""
    ok = np.isfinite(points).all(axis=1)
    if ok.sum() < 3:
        return None
    low, high = points[ok].min(axis=0), points[ok].max(axis=0)
    pad = margin * float(max(high - low))
    h, w = shape
    x0, y0 = int(max(0, np.floor(low[0] - pad))), int(max(0, np.floor(low[1] - pad)))
    x1, y1 = int(min(w, np.ceil(high[0] + pad))), int(min(h, np.ceil(high[1] + pad)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return x0, y0, x1, y1


def landmark_silhouette(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A rough body silhouette from landmarks [33, 2] (pixels): thick limbs, torso, head disc.

    Widths scale with the torso length, so it fits near and far people alike; it is a floor
    under the segmenter's mask, not a replacement for it.
    """
    mask = np.zeros(shape, np.uint8)
    torso = torso_length(points)
    if not np.isfinite(torso) or torso < 2:
        return mask.astype(bool)
    limb = max(2, int(round(0.22 * torso)))
    known = np.isfinite(points).all(axis=1)
    pixel = np.round(np.nan_to_num(points)).astype(int).tolist()
    for a, b in _EDGES:
        if known[a] and known[b]:
            cv2.line(mask, pixel[a], pixel[b], 1, limb, cv2.LINE_8)
    corners = points[_TORSO]
    if np.isfinite(corners).all():
        cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 1)
    head = points[_HEAD]
    head = head[np.isfinite(head).all(axis=1)]
    if len(head):
        centre = head.mean(axis=0)
        cv2.circle(mask, tuple(int(v) for v in np.round(centre)), max(2, int(round(0.45 * torso))), 1, -1)
    return mask.astype(bool)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a bool mask by ``radius`` pixels (a disc: every pixel within ``radius + 0.5`` of it, by a
    5x5-mask distance transform, within 2% of the exact Euclidean distance).

    A Euclidean distance transform of the person's box: its cost does not grow with the radius
    (a morphological dilation by a 39-pixel ellipse took 3 ms a frame at 640 px)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if radius <= 0 or rows.size == 0:
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    y0, y1 = max(0, rows[0] - radius), min(h, rows[-1] + radius + 1)
    x0, x1 = max(0, cols[0] - radius), min(w, cols[-1] + radius + 1)
    outside = np.where(mask[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    out = np.zeros_like(mask, dtype=bool)
    out[y0:y1, x0:x1] = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_5) <= radius + 0.5
    return out


_BLANK = np.zeros((64, 64, 3), np.uint8)  # a picture with nobody in it


def _pose_graph():
    """MediaPipe Pose in video mode with its segmentation mask, no smoothing (the frames it sees
    are keyframes ~0.1 s apart). model_complexity=1 is the model shipped inside the 0.10.21
    wheel (no download)."""
    import mediapipe as mp

    graph = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                   enable_segmentation=True, smooth_segmentation=False,
                                   min_detection_confidence=0.4, min_tracking_confidence=0.4)
    graph.process(_BLANK)  # its models load on the first picture (~0.1 s)
    return graph


@dataclass
class _Pending:
    """A frame waiting for the next keyframe before its mask is made."""

    index: int
    payload: object
    landmarks: np.ndarray | None
    box: tuple[int, int, int, int] | None


@dataclass
class _Key:
    """A keyframe whose segmentation is the track's person."""

    index: int
    mask: np.ndarray  # [H, W] bool, the segmenter's mask alone
    landmarks: np.ndarray  # [33, 2]


class PoseSegmentationMasker:
    """MediaPipe Pose segmentation on a crop around the tracked person, checked against the
    track, on keyframes; carried along the skeleton in between (a :class:`SequenceMasker`).

    Every ``keyframe_every``-th frame (with landmarks) is a keyframe: the segmenter runs on a crop
    around the track's landmarks, and its mask is kept when its person is the track's (else,
    when it found a neighbour, once more with that neighbour painted out). A frame between two
    keyframes gets both keyframes' masks, as they were and carried to its own landmarks
    (:func:`~random_people.render.plate_propagation.carry_mask`) -- each only if at most
    ``max_carry`` frames away. Every mask is the union with the frame's landmark silhouette,
    dilated by ``dilation`` of the person's landmark-box height (plus 2 px). Looks ahead at most
    ``max_carry`` frames. ``stats`` counts keyframes (``segmented`` + ``missed``, of which
    ``segmented_on_retry`` needed the neighbour painted out) and how the other frames were made
    (``carried``; ``landmarks_only``: no keyframe near enough, the silhouette alone).
    """

    def __init__(self, dilation: float = 0.04, crop_margin: float = 0.25, threshold: float = 0.5,
                 keyframe_every: int = 1, max_carry: int | None = None, retry_neighbours: bool = True,
                 find_limbs: bool = True) -> None:
        if keyframe_every < 1:
            raise ValueError(f"keyframe_every must be at least 1, got {keyframe_every}")
        self.dilation = dilation
        self.crop_margin = crop_margin
        self.threshold = threshold
        self.keyframe_every = int(keyframe_every)
        self.max_carry = 2 * self.keyframe_every if max_carry is None else int(max_carry)
        self.retry_neighbours = retry_neighbours
        # Loading MediaPipe and its graph takes ~0.5 s of one core: it happens in a thread of its
        # own, so the clip's first frames are decoded meanwhile (a plate of a 2 s clip takes ~2 s).
        loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pose-load")
        self._pose_loading: Future = loader.submit(_pose_graph)
        # Then, in the same thread (after the graph the first keyframe needs), the still-picture
        # graph the limb finder looks for the people who stay with (every Pose2Sim camera needs it).
        still_loading = loader.submit(borrow_still_pose_graph) if find_limbs else None
        loader.shutdown(wait=False)
        # What the video-mode graph looked at last: "plain" crops or crops with a neighbour
        # "painted" out (None: nothing yet). One graph serves both: switching, it is shown a blank
        # picture first, which drops the person it was tracking, so the next look starts with the
        # person detector as a graph of its own would (a second graph cost ~0.1 CPU-s to load).
        self._pose_looks: str | None = None
        # Where the last keyframe's neighbour was ([H, W] bool): the next keyframe paints them out
        # first and asks the second detector alone (one model run instead of two).
        self._neighbour: np.ndarray | None = None
        self.stats = {"keyframes": 0, "segmented": 0, "segmented_on_retry": 0, "missed": 0, "carried": 0,
                      "landmarks_only": 0, "no_person": 0}
        # Limbs beyond the landmarks and the segmentation (arms stretched out behind somebody who stays).
        # Looked at every half keyframe period at most, and only on frames whose pixels are at hand
        # (the plate build converts just its reference frames, one a keyframe period; what is found
        # is added a whole period either way), the people who stay looked for every two periods.
        self._limbs = LimbFinder(threshold, self.stats, settle_frames=10 * self.keyframe_every,
                                 look_every=2 * self.keyframe_every, pose_loading=still_loading) if find_limbs else None
        self._limb_every = max(1, self.keyframe_every // 2)

    @property
    def _pose(self):
        """The video-mode pose graph (waits for it to be loaded)."""
        return self._pose_loading.result()

    def close(self) -> None:
        self._pose.close()
        if self._limbs is not None:
            self._limbs.close()

    def __enter__(self) -> "PoseSegmentationMasker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- segmenting one frame ---------------------------------------------------------------

    @staticmethod
    def _found(result, box: tuple[int, int, int, int]) -> np.ndarray | None:
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return None
        x0, y0, x1, y1 = box
        return np.array([(p.x * (x1 - x0) + x0, p.y * (y1 - y0) + y0, p.visibility)
                         for p in result.pose_landmarks.landmark])

    def segment(self, rgb: np.ndarray, points: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
        """The segmenter's mask ([H, W] bool) of the person at ``points`` inside ``box``, or None
        when it finds nobody there, or only someone else."""
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        segmentation = None
        if self._neighbour is not None:  # the last keyframe found a neighbour: paint out where they were
            again = self._without_neighbour(crop, self._neighbour[y0:y1, x0:x1], points, box, grow=0.05)
            if again is None:
                self._neighbour = None
            else:
                segmentation = again[0]
        if segmentation is None:
            result = self._look(crop, "plain")
            found = self._found(result, box)
            if found is None:
                return None
            segmentation = result.segmentation_mask > self.threshold
            if not same_torso(found, points):
                # Someone else, or ours with the torso placed a little differently: look again with
                # the person found painted out. Somebody else found then, in our place, means the
                # first was a neighbour in front of or beside ours; the same person again means the
                # first was ours after all (its unpainted mask is kept); nobody, that this keyframe
                # has no mask of ours (the keyframes around it carry theirs).
                again = self._without_neighbour(crop, segmentation, points, box) if self.retry_neighbours else None
                if again is None:
                    return None
                if not same_torso(found, again[1][:, :2]):
                    neighbour, segmentation = segmentation, again[0]
                    self._neighbour = np.zeros(rgb.shape[:2], bool)
                    self._neighbour[y0:y1, x0:x1] = neighbour
        if self._neighbour is not None:
            self.stats["segmented_on_retry"] += 1
        full = np.zeros(rgb.shape[:2], bool)
        full[y0:y1, x0:x1] = segmentation
        return full

    def _look(self, crop: np.ndarray, kind: str):
        """The video-mode graph's result on ``crop``, a "plain" crop or one with a neighbour
        "painted" out. The graph tracks the person of its last look; when the last look was of
        the other kind it is shown a blank picture first, so it looks for the person afresh
        (its detector) -- what a separate graph for each kind, as before, did on its first look."""
        if self._pose_looks is not None and self._pose_looks != kind:
            self._pose.process(_BLANK)
        self._pose_looks = kind
        return self._pose.process(crop)

    def _without_neighbour(self, crop: np.ndarray, neighbour: np.ndarray, points: np.ndarray,
                           box: tuple[int, int, int, int], grow: float = 0.0
                           ) -> tuple[np.ndarray, np.ndarray] | None:
        """Look again (a second detector) with the person the segmenter found -- someone
        else -- painted out of the crop (grown by ``grow`` of the crop's height: they may have
        moved since), except where our person's silhouette is: ``(mask, landmarks [33, 3])`` of the
        person found then when they are ours (the mask never over what was painted out), else None."""
        x0, y0 = box[:2]
        ours = landmark_silhouette(points - np.array([x0, y0]), crop.shape[:2])
        if grow > 0:
            neighbour = dilate(neighbour, int(round(grow * crop.shape[0])))
        hide = neighbour & ~dilate(ours, 2)
        if hide.mean() < 0.01:
            return None  # they overlap ours almost entirely: nothing to paint out
        painted = crop.copy()
        painted[hide] = np.median(crop[~neighbour], axis=0).astype(np.uint8) if (~neighbour).any() else 127
        # Video mode too: the painted-out crops of consecutive keyframes show the same person in
        # the same place, so it tracks them instead of running the person detector each time.
        result = self._look(painted, "painted")
        found = self._found(result, box)
        if found is None or not same_torso(found, points):
            return None
        # What was painted out is the neighbour, whatever the segmenter says there now (it spreads
        # our person's mask over the flat grey patch beside them).
        return (result.segmentation_mask > self.threshold) & ~hide, found

    # -- the clip ---------------------------------------------------------------------------

    def _finish(self, shape: tuple[int, int], landmarks: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
        mask = landmark_silhouette(landmarks, shape)
        if extra is not None:
            mask |= extra
        ok = np.isfinite(landmarks).all(axis=1)
        height = float(np.ptp(landmarks[ok, 1])) if ok.any() else 0.0
        return dilate(mask, 2 + int(round(self.dilation * height)))

    def _between(self, frame: _Pending, shape: tuple[int, int], keys: tuple[_Key | None, ...]) -> np.ndarray:
        """The mask of a frame that is not a (successful) keyframe, from the keyframes around it."""
        from random_people.render.plate_propagation import carry_masks

        if frame.landmarks is None:
            self.stats["no_person"] += 1
            return np.zeros(shape, bool)
        near = [key for key in keys
                if key is not None and frame.box is not None and abs(frame.index - key.index) <= self.max_carry]
        extra = None
        if near:
            extra = carry_masks([(key.mask, key.landmarks) for key in near], frame.landmarks, frame.box)
            for key in near:  # as it was, too: where the landmarks miss a movement, the shape stays covered
                extra |= key.mask
        self.stats["carried" if extra is not None else "landmarks_only"] += 1
        return self._finish(shape, frame.landmarks, extra)

    def masks(self, frames: Iterable[tuple[Payload, np.ndarray, np.ndarray | None]]
              ) -> Iterator[tuple[Payload, np.ndarray]]:
        """``(payload, mask)`` for every ``(payload, rgb, landmarks)``, in order (see the class),
        with the limbs :class:`~random_people.render.plate_limbs.LimbFinder` finds beyond it."""
        if self._limbs is None:
            yield from self._body_masks(frames)
            return
        with_pixels = (((payload, rgb, landmarks), rgb, landmarks) for payload, rgb, landmarks in frames)
        # The limbs found in a frame are added to the frames around it too (up to a keyframe period
        # either way): an arm held out is found where it passes over scene that was seen before,
        # and missed in the frames where it lies over scene nobody uncovered yet.
        window: deque[list] = deque()  # [payload, mask, limbs or None]
        last_looked = -(10**9)
        for index, ((payload, rgb, landmarks), mask) in enumerate(self._body_masks(with_pixels)):
            extended = mask
            if isinstance(rgb, np.ndarray) and index - last_looked >= self._limb_every:
                last_looked = index
                extended = self._limbs.extend(rgb, landmarks, mask, index)
            limbs = None if extended is mask else extended & ~mask
            for earlier in window:
                if limbs is not None:
                    earlier[1] = earlier[1] | limbs
                if earlier[2] is not None:
                    extended = extended | earlier[2]
            window.append([payload, extended, limbs])
            if len(window) > self.keyframe_every:
                done = window.popleft()
                yield done[0], done[1]
        for payload, mask, _ in window:
            yield payload, mask

    def _body_masks(self, frames: Iterable[tuple[Payload, np.ndarray, np.ndarray | None]]
                    ) -> Iterator[tuple[Payload, np.ndarray]]:
        """The masks from the landmarks, the keyframes' segmentation and their carrying."""
        pending: list[_Pending] = []  # frames since the last keyframe
        previous: _Key | None = None
        last_attempt = -(10**9)
        shape: tuple[int, int] = (0, 0)
        for index, (payload, rgb, landmarks) in enumerate(frames):
            shape = rgb.shape[:2]
            if landmarks is None or np.isfinite(landmarks).all(axis=1).sum() < 3:
                pending.append(_Pending(index, payload, None, None))
            else:
                box = landmark_box(landmarks, self.crop_margin, shape)
                frame = _Pending(index, payload, landmarks, box)
                segmented = None
                # A frame whose pixels the decoder skipped (``has_pixels`` False) is never a keyframe.
                if box is not None and index - last_attempt >= self.keyframe_every and getattr(rgb, "has_pixels", True):
                    last_attempt = index
                    self.stats["keyframes"] += 1
                    segmented = self.segment(rgb, landmarks, box)
                    self.stats["segmented" if segmented is not None else "missed"] += 1
                if segmented is None:
                    pending.append(frame)
                else:
                    key = _Key(index, segmented, landmarks)
                    for waiting in pending:
                        yield waiting.payload, self._between(waiting, shape, (previous, key))
                    pending = []
                    yield payload, self._finish(shape, landmarks, segmented)
                    previous = key
            while pending and index - pending[0].index >= self.max_carry:  # no later keyframe can reach it
                waiting = pending.pop(0)
                yield waiting.payload, self._between(waiting, shape, (previous,))
        for waiting in pending:
            yield waiting.payload, self._between(waiting, shape, (previous,))


__all__ = ["MASK_METHOD", "AnyMasker", "Masker", "PersonTrack", "PoseSegmentationMasker", "SequenceMasker", "dilate", "frame_masks",
           "landmark_box", "landmark_distance", "landmark_silhouette", "same_person", "same_torso", "torso_distance",
           "torso_length"]
