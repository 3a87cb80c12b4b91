"""The removed person's limbs that neither their landmarks nor the segmenter find.

Pose2Sim's cam03: from ~1.4 s the man stands right behind the woman with both arms stretched out
sideways, one of them passing behind her head. The pose model, confused by her in front, puts his
arms down by his sides, and its segmentation stops at his shoulders (the selfie segmenter, tried
too, misses his bare skin altogether). The plate's mask, built from those two, left both arms in
the scene, and where the arm lay over the window rail in the only frames that showed the rail, it
was baked into the plate itself.

What does see them is the scene: the camera is static, so anything that differs from how the scene
last looked, within an arm's reach of the removed person's shoulders, is that person -- unless it
belongs to somebody who stays. So:

* :class:`SceneMemory` keeps every pixel's latest value from a frame where no mask covered it
  (a full-frame image; one masked copy per frame, ~1 ms at 640 px);
* within :func:`reach_region` (discs of :data:`REACH_TORSOS` torso lengths around the shoulders),
  pixels that differ from that memory by more than :data:`DIFFERENCE` (after matching the frame's
  exposure to the memory's) and are not already masked are candidates;
* when there are any, the people who stay are looked for in the same crop with the removed
  person painted out (MediaPipe Pose with its segmentation, the bundled model, on the single
  picture; at most once a keyframe period); their masks are taken off the candidates. With nobody there, nothing is added: alone, a person's landmarks and segmentation
  hold their limbs, and what changes around them is light (the Sports2D demo's sun flaring
  through the leaves behind the man's arms);
* what remains, in blobs of at least :data:`MIN_AREA_TORSOS2` square torso lengths that touch the
  removed person's mask (:func:`_attached`: a limb is attached to its body), is added to the mask. More than :data:`MAX_SHARE` of the reach region at once is a change of light, not a
  limb, and is ignored.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

import cv2
import numpy as np

logger = logging.getLogger(__name__)

REACH_TORSOS = 1.6  # shoulder to fingertips is ~1.3 torso lengths; a little more for the hand's width
DIFFERENCE = 40  # largest channel difference (0-255) from the remembered scene that counts as a change
MIN_AREA_TORSOS2 = 0.015  # smaller blobs are noise (compression, the edge of a moving stayer)
MAX_SHARE = 0.5  # more of the reach region changed at once: light, not a limb
STAYER_MARGIN = 0.01  # a stayer's segmentation is grown by this share of the crop's height (hair, motion)
STAYER_REACH_TORSOS = 0.1  # ... and kept within this many of their torso lengths of their own skeleton
NOT_REMEMBERED_TORSOS = 0.3  # the scene is not remembered this close to the removed person's mask
# Somebody who stays counts as beside the removed person for this many settle periods (~1 s each)
# after they were last found there: the look misses a stayer half hidden behind or in front of them.
BESIDE_SETTLES = 3
# A blob of change counts as the removed person's limb only where it touches their mask grown by
# this many pixels plus this share of their torso (the candidates start 2 px out, and the opening
# that cleans them shaves a pixel more).
ATTACH_PIXELS = 4
ATTACH_TORSOS = 0.05

_SHOULDERS = (11, 12)  # MediaPipe's left and right shoulder


def reach_region(points: np.ndarray, shape: tuple[int, int], reach_torsos: float = REACH_TORSOS
                 ) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """``(mask, box)``: the pixels within ``reach_torsos`` torso lengths of either shoulder of the
    person at ``points`` ([33, 2] pixels), as a bool mask of ``box`` (x0, y0, x1, y1, clipped to
    ``shape``); None when the torso is unknown or tiny.

    Not the legs: around the hips the people who stay move their own legs, and the look for them
    (the removed person painted out) rarely finds somebody standing in front of them there, so on
    cam03 the woman's jeans were taken for the man's legs and smeared."""
    from random_people.render.plate_masks import torso_length  # plate_masks imports this module

    torso = torso_length(points)
    shoulders = points[list(_SHOULDERS)]
    if not np.isfinite(torso) or torso < 4 or not np.isfinite(shoulders).all():
        return None
    radius = reach_torsos * torso
    h, w = shape
    x0, y0 = int(max(0, shoulders[:, 0].min() - radius)), int(max(0, shoulders[:, 1].min() - radius))
    x1, y1 = int(min(w, shoulders[:, 0].max() + radius + 1)), int(min(h, shoulders[:, 1].max() + radius + 1))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    region = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for x, y in shoulders:
        cv2.circle(region, (int(round(x - x0)), int(round(y - y0))), int(round(radius)), 1, -1)
    return region.astype(bool), (x0, y0, x1, y1)


class SceneMemory:
    """Every pixel's latest value from a frame where no mask covered it (what the static scene
    looks like there, as far as the clip has shown it so far).

    A pixel that changed but then held still for ``settle_frames`` frames is remembered even
    under a mask: where a person who stays stood and left, the scene they uncover is not the
    removed person, and a limb held that long in one place is rare."""

    def __init__(self, settle_frames: int = 30) -> None:
        self.settle_frames = settle_frames
        self.image: np.ndarray | None = None
        self.seen: np.ndarray | None = None
        self._previous: np.ndarray | None = None
        self._still: np.ndarray | None = None  # frames each pixel has held still (int16, capped)

    def remember(self, rgb: np.ndarray, covered: np.ndarray, box: tuple[int, int, int, int] | None = None,
                 frames: int = 1) -> None:
        """Take ``rgb`` where ``covered`` is False, and inside ``box`` wherever it has settled
        (``frames``: how many frames on from the last picture remembered)."""
        if self.image is None or self.image.shape != rgb.shape:
            self.image = rgb.copy()
            self.seen = ~covered
            self._previous = rgb.copy()
            self._still = np.zeros(rgb.shape[:2], np.int16)
            return
        take = ~covered
        if box is not None:
            x0, y0, x1, y1 = box
            now, before = rgb[y0:y1, x0:x1], self._previous[y0:y1, x0:x1]
            steady = _channel_max(cv2.absdiff(now, before)) < 12
            still = self._still[y0:y1, x0:x1]
            np.copyto(still, np.where(steady, np.minimum(still + frames, 10_000), 0).astype(np.int16))
            take = take.copy()
            take[y0:y1, x0:x1] |= still >= self.settle_frames
            self._previous[y0:y1, x0:x1] = now
        cv2.copyTo(rgb, take.view(np.uint8), self.image)
        self.seen |= take

    def changed(self, rgb: np.ndarray, box: tuple[int, int, int, int], ignore: np.ndarray,
                threshold: int = DIFFERENCE) -> np.ndarray:
        """[box] bool: where ``rgb`` differs from the remembered scene by more than ``threshold``
        (largest channel), after scaling the frame to the memory's exposure over the box's pixels
        outside ``ignore`` ([box] bool); False where the scene was never seen."""
        x0, y0, x1, y1 = box
        if self.image is None:
            return np.zeros((y1 - y0, x1 - x0), bool)
        now = rgb[y0:y1, x0:x1]
        before = self.image[y0:y1, x0:x1]
        seen = self.seen[y0:y1, x0:x1]
        reference = (seen & ~ignore)[::4, ::4]  # every 16th pixel is plenty for the exposure
        if reference.sum() > 50:
            gain = ((np.median(before[::4, ::4][reference], axis=0) + 1.0) /
                    (np.median(now[::4, ::4][reference], axis=0) + 1.0))
            if np.abs(gain - 1.0).max() > 0.03:
                now = cv2.convertScaleAbs(now.astype(np.float32) * np.clip(gain, 0.7, 1.4).astype(np.float32))
        return (_channel_max(cv2.absdiff(now, before)) > threshold) & seen


class LimbFinder:
    """Adds to each frame's mask what :mod:`this module <random_people.render.plate_limbs>`
    finds of the removed person beyond it. Frames must come in order (the scene memory follows
    the clip). ``stats`` counts the frames extended and the looks for people who stay."""

    def __init__(self, threshold: float = 0.5, stats: dict | None = None, settle_frames: int = 30,
                 look_every: int = 1, find_stayers=None, pose_loading: Future | None = None) -> None:
        """``find_stayers(rgb, landmarks, ours, box) -> [box] bool`` finds the people who stay in
        ``box`` with the removed person's mask ``ours`` painted out; default: MediaPipe Pose.
        ``settle_frames`` and ``look_every`` count the clip's frames (the caller may hand in only
        some of them, with their indices). ``pose_loading``: the still-picture pose graph being
        loaded (:func:`borrow_still_pose_graph` in the caller's loading thread), else it is
        taken on the first look."""
        self.find_stayers = find_stayers
        self.threshold = threshold
        self.memory = SceneMemory(settle_frames)
        self.look_every = max(1, int(look_every))
        self._pose = None  # taken from the loading below on the first look
        # The still-picture pose graph, or the caller's loading of it (loading costs ~0.25 s of one
        # core, which held up the masks on the first look); handed back by close() for the
        # process's next build (it keeps no state between pictures).
        self._pose_loading: Future | None = pose_loading if find_stayers is None else None
        if find_stayers is not None and pose_loading is not None:
            pose_loading.add_done_callback(_give_back)  # not needed: kept for the next build
        # The people who stay, from the last look ([H, W] bool), and frames since: they are looked
        # for at most every ``look_every`` frames (one pose model run, ~20-40 ms), grown in between.
        self._stayers_seen: np.ndarray | None = None
        self._last_look = -(10**9)
        self._frame = -1  # the index of the last frame handed in
        self._stayer_last_seen = -(10**9)  # the frame a person who stays was last found near ours
        self.stats = {} if stats is None else stats  # the masker's own, so the plate's stats show these
        for key in ("limb_frames", "limb_pixels", "stayer_looks", "stayers_found", "light_changes"):
            self.stats.setdefault(key, 0)

    def close(self) -> None:
        """Hands the still-picture pose graph back for the process's next build."""
        if self._pose_loading is not None:
            self._pose_loading.add_done_callback(_give_back)
            self._pose_loading = None
        self._pose = None

    def extend(self, rgb: np.ndarray, landmarks: np.ndarray | None, mask: np.ndarray,
               index: int | None = None) -> np.ndarray:
        """``mask`` ([H, W] bool, the removed person's) plus their limbs found beyond it.
        ``index``: the frame's place in the clip (default: one after the last frame handed in)."""
        from random_people.render.plate_masks import dilate, same_torso, torso_length

        index = self._frame + 1 if index is None else int(index)
        gap, self._frame = max(1, index - self._frame), index
        out = mask
        reach = None if landmarks is None else reach_region(landmarks, mask.shape)
        torso = 0.0 if reach is None else torso_length(landmarks)
        changed_box = None  # [box] where the frame differs from the remembered scene
        if reach is not None and self.memory.image is not None:
            region, box = reach
            x0, y0, x1, y1 = box
            ours = dilate(mask[y0:y1, x0:x1], 2)
            changed_box = self.memory.changed(rgb, box, ours | region)
            changed = changed_box & region & ~ours
            changed = cv2.morphologyEx(changed.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
            min_area = MIN_AREA_TORSOS2 * torso * torso
            count = cv2.countNonZero(changed.view(np.uint8))
            if count > MAX_SHARE * cv2.countNonZero(region.view(np.uint8)):
                self.stats["light_changes"] += 1
            elif count >= min_area:
                stayers = self._stayers_near(rgb, landmarks, ours, box, torso, same_torso)
                # Only beside somebody who stays (found now or within the last BESIDE_SETTLES
                # settle periods: the look misses a stayer half hidden behind ours): alone, the person's landmarks
                # and segmentation hold their limbs, and what changes around them is light (the
                # Sports2D demo's sun flaring through the leaves behind the man's arms).
                if stayers.any():
                    self._stayer_last_seen = self._frame
                beside = self._frame - self._stayer_last_seen <= BESIDE_SETTLES * self.memory.settle_frames
                limbs = _blobs(changed & ~stayers, min_area) if beside else None
                if limbs is not None and limbs.any():
                    grow = ATTACH_PIXELS + int(round(ATTACH_TORSOS * torso))
                    limbs = _attached(limbs, dilate(mask[y0:y1, x0:x1], grow))
                if limbs is not None and limbs.any():
                    out = mask.copy()
                    out[y0:y1, x0:x1] |= dilate(limbs, 2 + int(round(0.05 * torso)))
                    self.stats["limb_frames"] += 1
                    self.stats["limb_pixels"] += int(limbs.sum())
        # Close to the removed person, only what agrees with the remembered scene (or was never
        # seen) is taken: a limb the masks missed for a frame would be remembered as scene, and
        # found nowhere after.
        covered = dilate(out, 3)
        near = dilate(out, 3 + int(round(NOT_REMEMBERED_TORSOS * torso))) & ~covered
        if changed_box is not None:
            x0, y0, x1, y1 = reach[1]
            near[y0:y1, x0:x1] &= changed_box
        self.memory.remember(rgb, covered | near, None if reach is None else reach[1], gap)
        return out

    def _stayers_near(self, rgb: np.ndarray, landmarks: np.ndarray, ours: np.ndarray, box: tuple[int, int, int, int],
                      torso: float, same_torso) -> np.ndarray:
        """[box] bool: the people who stay, looked for afresh at most every ``look_every`` frames;
        in between, and when a look finds nobody within the time they count as beside
        (:data:`BESIDE_SETTLES`: the look misses a stayer half hidden by ours), the last found,
        grown by a tenth of a torso for how far they may have moved."""
        from random_people.render.plate_masks import dilate

        x0, y0, x1, y1 = box
        fresh = self._stayers_seen is None or self._stayers_seen.shape != rgb.shape[:2]
        if fresh or self._frame - self._last_look >= self.look_every:
            found = (self.find_stayers(rgb, landmarks, ours, box) if self.find_stayers is not None
                     else self._stayers(rgb, landmarks, ours, box, same_torso))
            self._last_look = self._frame
            recent = self._frame - self._stayer_last_seen <= BESIDE_SETTLES * self.memory.settle_frames
            if found.any() or fresh or not recent:
                self._stayers_seen = np.zeros(rgb.shape[:2], bool)
                self._stayers_seen[y0:y1, x0:x1] = found
                return found
        return dilate(self._stayers_seen, 1 + int(round(0.1 * torso)))[y0:y1, x0:x1]

    def _stayers(self, rgb: np.ndarray, landmarks: np.ndarray, ours: np.ndarray, box: tuple[int, int, int, int],
                 same_torso) -> np.ndarray:
        """[box] bool: the people who stay, found in the crop ``box`` with the removed person's
        mask ``ours`` painted out (one look; the graph tracks them between frames)."""
        from random_people.render.plate_masks import dilate, landmark_silhouette, torso_length

        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1]).copy()
        if (~ours).any():
            crop[ours] = np.median(crop[~ours], axis=0).astype(np.uint8)
        if self._pose is None:
            self._pose = (self._pose_loading.result() if self._pose_loading is not None
                          else borrow_still_pose_graph())
            if self._pose_loading is None:  # closed before: hand it back on the next close
                self._pose_loading = Future()
                self._pose_loading.set_result(self._pose)
        self.stats["stayer_looks"] += 1
        result = self._pose.process(crop)
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return np.zeros(ours.shape, bool)
        found = np.array([(p.x * (x1 - x0) + x0, p.y * (y1 - y0) + y0, p.visibility)
                          for p in result.pose_landmarks.landmark])
        if same_torso(found, landmarks):
            return np.zeros(ours.shape, bool)  # the removed person again (what was painted out missed them)
        self.stats["stayers_found"] += 1
        # Only near their own skeleton: the segmenter spreads a stayer's mask over the removed
        # person's arm beside them, which is exactly what is looked for here.
        theirs = landmark_silhouette(found[:, :2] - np.array([x0, y0]), ours.shape)
        theirs = dilate(theirs, 2 + int(round(STAYER_REACH_TORSOS * max(torso_length(found[:, :2]), 1.0))))
        stayer = (result.segmentation_mask > self.threshold) & ~ours & theirs
        return dilate(stayer, 2 + int(round(STAYER_MARGIN * (y1 - y0))))


def _still_pose_graph():
    """MediaPipe Pose on single pictures, with its segmentation (the model bundled in the 0.10.21
    wheel). Not video mode: the crop the stayers are looked for in moves with the removed person
    and is looked at only every keyframe period, so tracking from the last look loses them
    (measured on cam03: found once, then never again)."""
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                                  min_detection_confidence=0.4)


# Still-picture pose graphs not in use, kept for the process's next build (bulk jobs build one plate
# after another): a graph in single-picture mode keeps nothing from one picture to the next, so
# which build used it before changes no result.
_IDLE_STILL_GRAPHS: list = []
_IDLE_LOCK = threading.Lock()
_KEEP_IDLE = 1  # more builds at once make their own (each holds ~30 MB)


def borrow_still_pose_graph():
    """A still-picture pose graph (:func:`_still_pose_graph`), from the idle ones when there is
    one, else made and warmed on a blank picture (its detector loads on the first picture)."""
    with _IDLE_LOCK:
        if _IDLE_STILL_GRAPHS:
            return _IDLE_STILL_GRAPHS.pop()
    graph = _still_pose_graph()
    graph.process(np.zeros((64, 64, 3), np.uint8))
    return graph


def _give_back(loading: Future) -> None:
    """Keeps the graph ``loading`` made for the next build (closes it when enough are kept)."""
    if loading.cancelled() or loading.exception() is not None:
        return
    graph = loading.result()
    with _IDLE_LOCK:
        if len(_IDLE_STILL_GRAPHS) < _KEEP_IDLE and all(g is not graph for g in _IDLE_STILL_GRAPHS):
            _IDLE_STILL_GRAPHS.append(graph)
            return
    graph.close()


def _channel_max(image: np.ndarray) -> np.ndarray:
    """[H, W]: the largest of each pixel's three channels (``image.max(axis=-1)``, 20x faster:
    numpy reduces a short last axis one pixel at a time)."""
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def _attached(limbs: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """The blobs of ``limbs`` that touch ``ours`` (both [box] bool; the removed person's mask grown
    by :data:`ATTACH_PIXELS` + :data:`ATTACH_TORSOS` torso lengths).

    A limb is attached to its body: a blob of change that floats free of the removed person is
    somebody else's movement. On Pose2Sim's cam01 the man who stays had his shin, thigh, hand and
    head taken for the removed woman's limbs ~1.5 torso lengths from her, where his own
    segmentation missed him or the scene memory had just taken him for scene."""
    count, labels = cv2.connectedComponents(limbs.view(np.uint8), connectivity=8)
    if count <= 1:
        return limbs
    keep = np.zeros(count, bool)
    keep[np.unique(labels[limbs & ours])] = True
    keep[0] = False
    return keep[labels]


def _blobs(mask: np.ndarray, min_area: float) -> np.ndarray:
    """``mask`` without its connected blobs smaller than ``min_area`` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[labels]


__all__ = ["DIFFERENCE", "LimbFinder", "REACH_TORSOS", "SceneMemory", "reach_region"]
