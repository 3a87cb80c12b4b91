"""Keep one person: split a landmark track where the detector jumped to someone else.

MediaPipe Pose follows a single person, but when it loses them it re-detects and may lock onto
another person in the scene (the Sports2D demo has two walkers and it switches between them).
Fitting one body through such a jump would invent a teleporting motion, so we cut the track at
every jump and keep the longest stretch of one person, and say so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
from random_people.pose.landmarks import LandmarkTrack

logger = logging.getLogger(__name__)

_HIPS = [MEDIAPIPE_LANDMARKS.index("left_hip"), MEDIAPIPE_LANDMARKS.index("right_hip")]
_SHOULDERS = [MEDIAPIPE_LANDMARKS.index("left_shoulder"), MEDIAPIPE_LANDMARKS.index("right_shoulder")]
# Largest plausible move of the hips between consecutive frames, in torso lengths (a sprinter
# at 30 fps moves ~0.25 torso lengths a frame), and the largest plausible change of size.
MAX_STEP_TORSOS = 0.8
MAX_SIZE_RATIO = 1.5


@dataclass
class PersonSegment:
    first: int  # frame position in the track (inclusive)
    last: int  # inclusive
    detected_frames: int


@dataclass
class PersonSelection:
    track: LandmarkTrack  # the kept stretch
    segments: list[PersonSegment]
    kept: int  # index into segments
    switch_times: list[float]  # seconds at which the detector jumped to another person


def _torso_centre_and_size(track: LandmarkTrack) -> tuple[np.ndarray, np.ndarray]:
    hips = track.image_xy[:, _HIPS].mean(1)
    shoulders = track.image_xy[:, _SHOULDERS].mean(1)
    return hips, np.linalg.norm(shoulders - hips, axis=-1)


def find_person_switches(track: LandmarkTrack) -> list[int]:
    """Track positions where a detection is not the same person as the previous detection."""
    centre, size = _torso_centre_and_size(track)
    switches = []
    previous = None
    for t in np.flatnonzero(track.detected):
        if previous is not None:
            gap = t - previous
            scale = max(size[t], size[previous], 1.0)
            step = np.linalg.norm(centre[t] - centre[previous]) / scale
            ratio = max(size[t], size[previous]) / max(min(size[t], size[previous]), 1e-6)
            if step > MAX_STEP_TORSOS * min(gap, 5) or ratio > MAX_SIZE_RATIO:
                switches.append(int(t))
        previous = t
    return switches


def keep_longest_person(track: LandmarkTrack) -> PersonSelection:
    """Cut ``track`` at person switches and keep the stretch with the most detections.

    Undetected frames before the first and after the last detection of the kept stretch are
    dropped with it; undetected frames inside it stay (filled and flagged later).
    """
    detected = np.flatnonzero(track.detected)
    if len(detected) == 0:
        return PersonSelection(track, [], 0, [])
    switches = find_person_switches(track)
    bounds = [int(detected[0]), *switches]
    segments = []
    for i, first in enumerate(bounds):
        end = switches[i] if i < len(switches) else int(detected[-1]) + 1
        inside = detected[(detected >= first) & (detected < end)]
        segments.append(PersonSegment(first=int(inside[0]), last=int(inside[-1]), detected_frames=len(inside)))
    kept = int(np.argmax([s.detected_frames for s in segments]))
    switch_times = [float(track.frame_times[s]) for s in switches]
    if len(segments) == 1:
        # Keep leading/trailing undetected frames too: the clip stays whole when there is one person.
        return PersonSelection(track, segments, 0, [])
    segment = segments[kept]
    window = slice(segment.first, segment.last + 1)
    logger.warning(
        "The detector switched between people at %s s; keeping %.2f-%.2f s (%d frames), the longest stretch of one person.",
        ", ".join(f"{t:.2f}" for t in switch_times), track.frame_times[segment.first], track.frame_times[segment.last],
        segment.last - segment.first + 1,
    )
    kept_track = LandmarkTrack(
        fps=track.fps,
        image_size=track.image_size,
        frame_indices=track.frame_indices[window],
        frame_times=track.frame_times[window],
        image_xy=track.image_xy[window],
        visibility=track.visibility[window],
        world=track.world[window],
        detected=track.detected[window],
    )
    return PersonSelection(kept_track, segments, kept, switch_times)


# ---------------------------------------------------------------------------------------------
# Following one chosen person while keeping track of everybody else
# ---------------------------------------------------------------------------------------------

_INDEX = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARKS)}
_MIRROR = np.array([_INDEX[n.replace("left_", "#").replace("right_", "left_").replace("#", "right_")]
                    for n in MEDIAPIPE_LANDMARKS])
_BODY_EDGES = [(_INDEX[a], _INDEX[b]) for a, b in (
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_foot_index"), ("left_wrist", "left_index"), ("right_wrist", "right_index"))]
_TORSO_CORNERS = [_INDEX[n] for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
_HEAD = [_INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
SEEN = 0.3  # landmarks at least this visible count when comparing two detections
SAME_PERSON_TORSOS = 0.5  # two listings this close (median landmark distance) are one person
OTHERS_KEPT_SECONDS = 1.0  # another person lost this long is no longer searched for (they left)
# Another person far from the chosen one (their boxes, grown by half their heights, apart) is
# searched only every this many frames: they cannot reach the chosen person's crop in between,
# and every search is a pose model run (the default extraction follows everybody of the first frame).
FAR_OTHERS_EVERY = 3
# Who is in front where two people overlap is told by colour: each person's colours are learnt
# (a histogram of COLOUR_LEVELS^3 RGB bins) from the middle of their own body where nobody else
# is, and where another person's silhouette covers the searched person's torso or head, the
# pixels there decide whose they are (see _in_front).
COLOUR_LEVELS = 16
COLOUR_LEARNING_RATE = 0.1  # share of a person's colour histogram renewed by each frame they are seen alone
COLOUR_MIN_PIXELS = 50  # fewer pixels than this (learnt, or in an overlap) tell nothing
COLOUR_LEARN_EVERY = 3  # frames between two lessons (clothes do not change colour; ~0.7 ms a lesson for two people)
# A pixel is clearly one person's when it is this much likelier (log ratio: e times) under their
# colours than under the other's; skin, shadows and background leaking into a silhouette are about
# as likely under both and abstain. Told by a vote of the clear pixels, not by the mean ratio, which
# those diluted: on cam03 the mean hovered about its threshold from frame 62 on and the decision
# flickered (median 53.6 mm at a threshold of 0, 55.4 at 0.5; the vote scores 52.9-54.3 for margins 0.5-2).
CLEAR_LOG_RATIO = 1.0


def torso_length(xy: np.ndarray) -> float:
    """Shoulder-centre to hip-centre distance of one person's landmarks [33, 2]."""
    return float(np.linalg.norm(xy[_SHOULDERS].mean(0) - xy[_HIPS].mean(0)))


def landmark_distance(found: np.ndarray, visibility: np.ndarray, known: np.ndarray) -> float:
    """How far a detection ``found`` ([33, 2]) is from a known person ``known`` ([33, 2]), in the
    known person's torso lengths: median distance of the landmarks the detection sees, in the same
    or the mirrored left/right labelling (the detector may label a person seen from behind either way)."""
    seen = (visibility >= SEEN) & np.isfinite(found).all(-1) & np.isfinite(known).all(-1)
    if seen.sum() < 4:
        seen = np.isfinite(found).all(-1) & np.isfinite(known).all(-1)
    scale = max(torso_length(known), 1.0)
    best = np.inf
    for order in (np.arange(len(found)), _MIRROR):
        pairs = seen & seen[order]
        if pairs.sum() >= 4:
            best = min(best, float(np.median(np.linalg.norm(found[order][pairs] - known[pairs], axis=1))))
    return best / scale


def body_silhouette(xy: np.ndarray, shape: tuple[int, int], limbs: bool = True) -> np.ndarray:
    """[H, W] bool rough silhouette of a person from landmarks ``xy`` [33, 2] in pixels of an
    image of ``shape`` (height, width): thick limbs, the torso polygon, a head disc. Used to paint
    other people out of the picture a person is searched in; widths scale with the torso.
    ``limbs=False`` gives only the torso and head (the part of a person whose place is sure)."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    torso = torso_length(xy)
    if not np.isfinite(xy).all() or torso < 2:
        return mask.astype(bool)
    limb = max(3, int(round(0.3 * torso)))
    for a, b in _BODY_EDGES if limbs else ():
        cv2.line(mask, tuple(int(v) for v in xy[a]), tuple(int(v) for v in xy[b]), 1, limb)
    cv2.fillConvexPoly(mask, np.round(xy[_TORSO_CORNERS]).astype(np.int32), 1)
    cv2.line(mask, tuple(int(v) for v in xy[_SHOULDERS].mean(0)), tuple(int(v) for v in xy[_HIPS].mean(0)), 1,
             max(3, int(round(0.6 * torso))))
    cv2.circle(mask, tuple(int(v) for v in xy[_HEAD].mean(0)), max(3, int(round(0.4 * torso))), 1, -1)
    return mask.astype(bool)


@dataclass
class FollowedPerson:
    """One person followed through the clip: where they were last seen and their own detector."""

    xy: np.ndarray  # [33, 2] source pixels, last detection
    visibility: np.ndarray  # [33]
    detector: object  # a PoseDetector in video mode, reset when it latched onto someone else
    missed: int = 0  # frames since the last accepted detection
    refused: int = 0  # detections refused because they were somebody else
    trail: list = field(default_factory=list)  # per frame: [33, 2] source pixels (last place if not searched) or None
    colours: "ColourModel" = field(default_factory=lambda: ColourModel())


class ColourModel:
    """A person's colours: a normalised RGB histogram learnt from pixels that are surely theirs
    (their torso and head in frames where they stand clear of everybody), renewed a little each time.

    Why: where two people overlap in the image, their landmarks cannot say who is in front, and
    the two ways to paint the other person out are both wrong half the time: sparing the searched
    person's own torso and head leaves the other's face there when the other is in front
    (Pose2Sim Demo_MultiPerson cam03: the woman passes in front of the man's head, the detector took
    her face, facing the camera, for his and turned him round over frames 61-74), and painting
    everything erases the searched person when the other is behind. The pixels there say whose they are."""

    def __init__(self) -> None:
        self.histogram = np.zeros(COLOUR_LEVELS ** 3, np.float64)
        self.learnt = 0  # pixels seen so far (capped count, only to know whether the model says anything)

    @staticmethod
    def bins(pixels: np.ndarray) -> np.ndarray:
        """[N] histogram bin of each RGB pixel [N, 3] (uint8)."""
        q = pixels.astype(np.int32) * COLOUR_LEVELS // 256
        return (q[:, 0] * COLOUR_LEVELS + q[:, 1]) * COLOUR_LEVELS + q[:, 2]

    def learn(self, pixels: np.ndarray) -> None:
        """Blend the histogram of ``pixels`` [N, 3] in (at COLOUR_LEARNING_RATE once trained)."""
        if len(pixels) < COLOUR_MIN_PIXELS:
            return
        counts = np.bincount(self.bins(pixels), minlength=len(self.histogram)).astype(np.float64)
        counts /= counts.sum()
        rate = 1.0 if self.learnt == 0 else COLOUR_LEARNING_RATE
        self.histogram = (1.0 - rate) * self.histogram + rate * counts
        self.learnt = min(self.learnt + len(pixels), 10 ** 9)

    @property
    def trained(self) -> bool:
        return self.learnt >= COLOUR_MIN_PIXELS

    def log_likelihood(self, pixels: np.ndarray) -> np.ndarray:
        """[N] log probability of each pixel's bin (smoothed, so unseen colours are unlikely, not impossible)."""
        return np.log(self.histogram[self.bins(pixels)] + 1e-4)


def follow_people(
    frames,  # iterable of random_people.media.Frame
    image_size: tuple[int, int],
    chosen: np.ndarray,
    others: list[np.ndarray],
    make_detector,  # () -> PoseDetector
    fps: float,
    on_frame=None,  # (frame, detection of the chosen person or None) -> None
) -> list[FollowedPerson]:
    """Follow the chosen person (landmarks ``chosen`` [33, 2] in the first frame, source pixels)
    and every other person of the first frame (``others``, same form) through ``frames``.

    Why everybody: a detector searching a crop around one person latches onto whoever else steps
    into it (Pose2Sim's cam03: the woman passes right behind the man and the man's track ended on
    her). So each person has their own detector and crop; before a person is searched, everybody
    else is painted out of their crop (rough silhouettes at their latest places, not over the
    searched person's own torso and head unless they are in front there: told by colour, see
    :class:`ColourModel`, learnt while people stand clear of each other), and a detection is
    refused when it lies nearer somebody else's latest landmarks than the searched person's, or
    jumped too far from them. Others are searched before the chosen person, so the chosen one is
    searched with everybody's current places painted out. A person lost for
    ``OTHERS_KEPT_SECONDS`` is dropped (they left); one far from the chosen person is searched
    every ``FAR_OTHERS_EVERY`` frames (their trail repeats their last place in between).
    """
    chosen = np.asarray(chosen, np.float32)
    seen = np.ones(len(chosen), np.float32)
    # A second listing of the chosen person (found again in another tile) is not somebody else.
    others = [np.asarray(xy, np.float32) for xy in others
              if landmark_distance(np.asarray(xy, np.float32), seen, chosen) > SAME_PERSON_TORSOS]
    people = [FollowedPerson(chosen, seen, make_detector())]
    people += [FollowedPerson(xy, np.ones(len(xy), np.float32), make_detector()) for xy in others]
    from random_people.pose.landmarks import follow_region

    keep_missed = max(5, int(OTHERS_KEPT_SECONDS * fps))
    try:
        for number, frame in enumerate(frames):
            rgb = frame.rgb
            height, width = rgb.shape[:2]
            to_frame = np.array([width / image_size[0], height / image_size[1]], dtype=np.float32)
            active = [k for k, p in enumerate(people) if k == 0 or p.missed <= keep_missed]
            for k, person in enumerate(people):
                if k not in active:
                    person.trail.append(None)
            chosen_detection = None
            for k in [*active[1:], 0]:
                person = people[k]
                if k != 0 and number % FAR_OTHERS_EVERY and person.missed == 0 and _apart(person, people[0]):
                    person.trail.append(person.xy)  # not searched: where they were last seen
                    continue
                region = follow_region(person.xy * to_frame, person.visibility, (width, height),
                                       margin=0.2 + 0.1 * min(person.missed, 8))
                picture = _paint_out(rgb, region, [people[j].xy * to_frame for j in active if j != k],
                                     person.xy * to_frame, person.colours, [people[j].colours for j in active if j != k])
                detection = person.detector.detect(picture, image_size, region)
                if detection is not None and not _is_them(detection, k, people, active):
                    logger.debug("Frame %d: person %d's detection was somebody else; refused", frame.index, k + 1)
                    detection = None
                    person.refused += 1
                    person.detector.close()  # forget the wrong person: the next frame starts a fresh search
                    person.detector = make_detector()
                if detection is None:
                    person.missed += 1
                else:
                    person.xy, person.visibility, person.missed = detection[0], detection[1], 0
                person.trail.append(None if detection is None else detection[0])
                if k == 0:
                    chosen_detection = detection
            if len(active) > 1 and number % COLOUR_LEARN_EVERY == 0:  # who is who by colour (see ColourModel)
                _learn_colours(rgb, [people[k] for k in active], [people[k].xy * to_frame for k in active])
            if on_frame is not None:
                on_frame(frame, chosen_detection)
    finally:
        for person in people:
            person.detector.close()
    if len(people) > 1:
        logger.info("Followed %d people; detections refused as somebody else's: %s", len(people),
                    [p.refused for p in people])
    return people


def _paint_out(rgb: np.ndarray, region: tuple[int, int, int, int], others: list[np.ndarray],
               own: np.ndarray, own_colours: ColourModel | None = None,
               others_colours: list[ColourModel] | None = None) -> np.ndarray:
    """``rgb`` with the ``others`` (landmarks in ``rgb`` pixels) painted grey inside ``region``,
    except over ``own``'s torso and head (a person in front of the searched one must not erase
    them) unless the pixels there are the other person's by colour (:func:`_in_front`: they are
    in front). Their last limbs are not spared: a limb that was put on somebody else's body would
    otherwise keep itself there."""
    if not others:
        return rgb
    x0, y0, x1, y1 = region
    shape = (y1 - y0, x1 - x0)
    offset = np.array([x0, y0], dtype=np.float32)
    crop = rgb[y0:y1, x0:x1]
    own_body = None
    mask = np.zeros(shape, bool)
    for i, xy in enumerate(others):
        theirs = body_silhouette(xy - offset, shape)
        if not theirs.any():
            continue
        if own_body is None:
            own_body = body_silhouette(own - offset, shape, limbs=False)
        overlap = theirs & own_body
        if overlap.any() and not (own_colours is not None and others_colours is not None
                                  and _in_front(crop[overlap], others_colours[i], own_colours)):
            theirs &= ~own_body
        mask |= theirs
    if not mask.any():
        return rgb
    picture = rgb.copy()
    picture[y0:y1, x0:x1][mask] = 127
    return picture


def _in_front(pixels: np.ndarray, other: ColourModel, own: ColourModel) -> bool:
    """Whether ``pixels`` [N, 3] (where another person's silhouette covers the searched person's
    torso or head) look like the other person's colours rather than the searched person's (more of
    them clearly the other's than clearly the searched person's): then the other person is in front
    there and is painted out over the searched person too."""
    if len(pixels) < COLOUR_MIN_PIXELS or not (other.trained and own.trained):
        return False
    ratio = other.log_likelihood(pixels) - own.log_likelihood(pixels)
    return int((ratio > CLEAR_LOG_RATIO).sum()) > int((ratio < -CLEAR_LOG_RATIO).sum())


def _learn_colours(rgb: np.ndarray, people: list[FollowedPerson], places: list[np.ndarray]) -> None:
    """Renew the colours of each of ``people`` seen this frame (``missed == 0``) and standing clear
    of everybody else (their silhouettes do not touch) from their torso and head in ``rgb``
    (``places``: everybody's landmarks in ``rgb`` pixels, in the order of ``people``).

    Why only when clear: while two people overlap, one's landmarks can slide onto the other (the
    very mistake the colours are there to catch), and learning then would teach each the other's
    colours (on cam03, learning also while overlapping, the man's head drifted back onto the woman's
    face from frame 57: median 61.2 mm instead of 51.3)."""
    height, width = rgb.shape[:2]
    for i, person in enumerate(people):
        xy = places[i]
        if person.missed or not np.isfinite(xy).all():
            continue
        pad = 0.6 * torso_length(xy)  # the silhouette's thick limbs and head disc reach past the landmarks
        x0, y0 = np.floor(np.maximum(xy.min(0) - pad, 0)).astype(int)
        x1, y1 = np.ceil(np.minimum(xy.max(0) + pad + 1, (width, height))).astype(int)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        offset = np.array([x0, y0], np.float32)
        shape = (y1 - y0, x1 - x0)
        near = [other for j, other in enumerate(places) if j != i and np.isfinite(other).all()
                and (other.min(0) - 0.6 * torso_length(other) < (x1, y1)).all()
                and (other.max(0) + 0.6 * torso_length(other) > (x0, y0)).all()]  # silhouettes may touch
        if near:
            whole = body_silhouette(xy - offset, shape)
            if any((body_silhouette(other - offset, shape) & whole).any() for other in near):
                continue  # overlapping somebody: their landmarks may have slid onto the other person
        person.colours.learn(rgb[y0:y1, x0:x1][body_silhouette(xy - offset, shape, limbs=False)])


def _apart(a: FollowedPerson, b: FollowedPerson) -> bool:
    """Whether two people's landmark boxes, each grown by half its height, do not touch."""
    from random_people.pose.people import box_from_landmarks

    boxes = []
    for person in (a, b):
        x0, y0, x1, y1 = box_from_landmarks(person.xy, person.visibility)
        pad = 0.5 * max(y1 - y0, x1 - x0)
        boxes.append((x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes
    return ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0


def _is_them(detection, k: int, people: list[FollowedPerson], active: list[int]) -> bool:
    """Whether a detection in person ``k``'s crop is person ``k``: near where they were (allowing
    for the frames they were missed) and not nearer anybody else's latest place."""
    xy, visibility = detection[0], detection[1]
    person = people[k]
    own = landmark_distance(xy, visibility, person.xy)
    if own > max(1.0, 0.5 * (person.missed + 1)):
        return False
    for j in active:
        if j != k and people[j].missed <= 2 and landmark_distance(xy, visibility, people[j].xy) < own:
            return False
    return True
