"""Keep one person: split a landmark track where the detector jumped to someone else.

MediaPipe Pose follows a single person, but when it loses them it re-detects and may lock onto
another person in the scene (the Sports2D demo has two walkers and it switches between them).
Fitting one body through such a jump would invent a teleporting motion, so we cut the track at
every jump and keep the longest stretch of one person, and say so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
