"""Who is in the clip, and which of them to extract.

MediaPipe Pose (the legacy solution in the 0.10.21 wheel) follows one person and picks whoever
it finds first, which on a clip with several people is often not the person the clip is about
(the Sports2D demo labelled "walking" holds a man doing jumping jacks and a walking woman; it
took the man). So before extraction we list the people in the first frame and let the user
choose; extraction then follows that person with crops around them (:mod:`landmarks`).

Listing uses only the bundled pose model: find a person (single image mode, with its
segmentation mask), paint that person out of the image, and look again, up to ``max_people``
times. No extra model or download is needed; people hidden mostly behind another are missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from random_people.errors import InvalidInputError

logger = logging.getLogger(__name__)

PERSON_CHOICES_HELP = "largest, leftmost, rightmost, a number N (1 = leftmost), or a pixel x,y on the person"


class PersonChoiceError(InvalidInputError):
    """The requested person does not match anybody in the first frame."""


@dataclass(frozen=True)
class PersonBox:
    """One person found in a frame, in the frame's pixel coordinates (source resolution)."""

    x0: float
    y0: float
    x1: float
    y1: float
    landmarks_xy: np.ndarray  # [33, 2] pixels
    visibility: np.ndarray  # [33]

    @property
    def centre(self) -> tuple[float, float]:
        return (0.5 * (self.x0 + self.x1), 0.5 * (self.y0 + self.y1))

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def as_list(self) -> list[float]:
        return [round(float(v), 1) for v in (self.x0, self.y0, self.x1, self.y1)]


def box_from_landmarks(xy: np.ndarray, visibility: np.ndarray, min_visibility: float = 0.3) -> tuple[float, float, float, float]:
    """Bounding box of the confidently seen landmarks (all of them when too few are seen)."""
    seen = (visibility >= min_visibility) & np.isfinite(xy).all(-1)
    points = xy[seen] if seen.sum() >= 4 else xy[np.isfinite(xy).all(-1)]
    return (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max()))


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area (1 when one box holds the other)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / max(smaller, 1e-9)


def _search(pose, rgb: np.ndarray, max_people: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(landmarks [33, 2] pixels of ``rgb``, visibility [33]) of up to ``max_people`` people,
    painting each one found out of the image before looking again."""
    import cv2

    height, width = rgb.shape[:2]
    image = np.ascontiguousarray(rgb.copy())
    found = []
    for _ in range(max_people):
        result = pose.process(image)
        if result.pose_landmarks is None:
            break
        raw = np.array([(p.x * width, p.y * height, p.visibility) for p in result.pose_landmarks.landmark])
        xy, visibility = raw[:, :2], np.clip(raw[:, 2], 0.0, 1.0)
        x0, y0, x1, y1 = box_from_landmarks(xy, visibility)
        if (x1 - x0) * (y1 - y0) < 1e-4 * width * height:
            break
        found.append((xy, visibility))
        mask = result.segmentation_mask > 0.3 if result.segmentation_mask is not None else None
        if mask is None or mask.sum() < 0.2 * (x1 - x0) * (y1 - y0):
            mask = np.zeros((height, width), dtype=bool)
            mask[int(max(0, y0)):int(min(height, y1 + 1)), int(max(0, x0)):int(min(width, x1 + 1))] = True
        mask = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        image[mask] = 127
    return found


def _tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The whole frame, then square tiles overlapping by half along the long side (small people
    are easier to find when the detector's fixed-size input holds less of the scene)."""
    side = min(width, height)
    tiles = [(0, 0, width, height)]
    long_side = max(width, height)
    if long_side > 1.2 * side:
        steps = int(np.ceil((long_side - side) / (side / 2))) + 1
        for offset in np.linspace(0, long_side - side, steps).astype(int):
            tiles.append((offset, 0, offset + side, side) if width >= height else (0, offset, side, offset + side))
    return tiles


def list_people(rgb: np.ndarray, max_people: int = 4, image_size: tuple[int, int] | None = None) -> list[PersonBox]:
    """People in one RGB frame, sorted left to right.

    ``image_size`` (width, height) is the source resolution when ``rgb`` was decoded smaller; boxes
    are returned in source pixels. The frame is searched whole and in overlapping square tiles.
    """
    import mediapipe as mp

    height, width = rgb.shape[:2]
    out_width, out_height = image_size or (width, height)
    scale = np.array([out_width / width, out_height / height])
    people: list[PersonBox] = []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                                min_detection_confidence=0.5) as pose:
        for x0, y0, x1, y1 in _tiles(width, height):
            for xy, visibility in _search(pose, rgb[y0:y1, x0:x1], max_people):
                xy = (xy + np.array([x0, y0])) * scale
                box = box_from_landmarks(xy, visibility)
                if not any(_overlap(box, (q.x0, q.y0, q.x1, q.y1)) > 0.6 for q in people):  # seen already
                    people.append(PersonBox(*box, xy.astype(np.float32), visibility.astype(np.float32)))
    people.sort(key=lambda p: p.centre[0])
    logger.info("Found %d people in the first frame: %s", len(people), [p.as_list() for p in people])
    return people


def choose_person(people: list[PersonBox], choice: str) -> int:
    """Index into ``people`` (sorted left to right) of the person ``choice`` names.

    ``choice``: ``largest``, ``leftmost``, ``rightmost``, ``N`` (1-based, counting from the left)
    or ``x,y`` (a pixel on the person, source resolution). Raises :class:`PersonChoiceError` with
    the list of people found when nobody matches.
    """
    found = "; ".join(f"{i + 1}: box {p.as_list()}" for i, p in enumerate(people)) or "nobody"
    if not people:
        raise PersonChoiceError("No person was found in the first frame of the clip, so --person cannot choose one. "
                                "Trim the clip (--start) to where the person is visible.")
    text = choice.strip().lower()
    if text == "largest":
        return int(np.argmax([p.area for p in people]))
    if text == "leftmost":
        return 0
    if text == "rightmost":
        return len(people) - 1
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(people):
            raise PersonChoiceError(f"--person {choice}: there are {len(people)} people in the first frame "
                                    f"(numbered from the left: {found}). Choose 1 to {len(people)}.")
        return number - 1
    parts = text.split(",")
    if len(parts) == 2:
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            x = y = None
        if x is not None:
            inside = [i for i, p in enumerate(people) if p.contains(x, y)]
            if not inside:
                raise PersonChoiceError(f"--person {choice}: no person in the first frame covers pixel ({x:g}, {y:g}). "
                                        f"People found: {found}. Click on the person, or use largest/leftmost/N.")
            # Several boxes overlap: the one whose centre is nearest the point.
            return min(inside, key=lambda i: np.hypot(people[i].centre[0] - x, people[i].centre[1] - y))
    raise PersonChoiceError(f"--person {choice!r} is not understood; use {PERSON_CHOICES_HELP}.")


def draw_people(rgb: np.ndarray, people: list[PersonBox], image_size: tuple[int, int] | None = None,
                chosen: int | None = None) -> np.ndarray:
    """A copy of ``rgb`` with each person's box and number (1 = leftmost) drawn, for choosing."""
    import cv2

    height, width = rgb.shape[:2]
    out_width, out_height = image_size or (width, height)
    sx, sy = width / out_width, height / out_height
    image = rgb.copy()
    thickness = max(2, round(max(width, height) / 300))
    for i, person in enumerate(people):
        colour = (255, 140, 0) if i == chosen else (0, 200, 255)
        top_left = (int(person.x0 * sx), int(person.y0 * sy))
        cv2.rectangle(image, top_left, (int(person.x1 * sx), int(person.y1 * sy)), colour, thickness)
        cv2.putText(image, str(i + 1), (top_left[0] + thickness, top_left[1] + 12 * thickness),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, colour, thickness)
    return image
