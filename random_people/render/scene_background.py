"""``--background source``: the clip's own scene, its extracted person replaced by the new one.

:class:`SourceSceneBackground` is a :class:`~random_people.render.backgrounds.Background` whose
frame ``t`` is the source frame the motion's frame ``t`` came from, cleaned of the original
person (:func:`random_people.render.plate.clean_frame`): real pixels wherever the original person
was not, the cached clean plate where they were. Seen through the source camera
(:func:`random_people.render.cameras.source_camera`, the same cover-crop rule), the new person
stands where the original stood, feet on the same ground contact.

It also tells the compositor which pixels to match the new person's exposure and white balance
to (:meth:`SourceSceneBackground.harmonize_weights`): a ring around where the original person
stood in that frame -- the light *at that spot*, frame by frame -- rather than the whole picture
(a bright sky or a dark corner says little about the light on the person). The original
person's own pixels are not used: their clothes' colours are not the light's.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from random_people.errors import RandomPeopleError
from random_people.files import sha256_file
from random_people.media import Frame, probe_video, read_frames
from random_people.render.backgrounds import Background, BackgroundError, cover_crop
from random_people.render.plate import Plate, build_plate, clean_frame, decode_side, person_ring
from random_people.render.plate_masks import PersonTrack
from random_people.settings import Settings, load_settings
from random_people.source_index import recall_source

logger = logging.getLogger(__name__)

SOURCE_BACKGROUND = "source"


def is_source_background(spec: object) -> bool:
    """Whether a background choice means the clip's own scene."""
    return isinstance(spec, str) and spec.strip().lower() == SOURCE_BACKGROUND


class SourceSceneBackground(Background):
    """The source clip's frames with the extracted person removed; see the module docstring.

    ``source_times[t]`` is the source time (seconds) behind output frame ``t`` (the motion's
    frame times of the rendered frames). Frames are decoded sequentially with their masks, one
    in memory at a time; asking for an earlier frame restarts decoding.
    """

    kind = "source"

    def __init__(self, plate: Plate, source_times: Sequence[float], source_name: str,
                 settings: Settings | None = None) -> None:
        super().__init__(f"source:{source_name}")
        if len(source_times) == 0:
            raise BackgroundError("The clip's own scene needs at least one frame time.")
        self.plate = plate
        self.source_times = np.asarray(source_times, np.float64)
        self.settings = settings or load_settings()
        self.info = probe_video(plate.source_path, self.settings)
        self._stream: Iterator[tuple[int, Frame, np.ndarray]] | None = None
        self._stream_side: int | None = None
        self._current: tuple[int, Frame, np.ndarray] | None = None
        self._cleaned: tuple[tuple[int, int, int], np.ndarray, np.ndarray] | None = None

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, **self.plate.describe()}

    def _plate_frame(self, t_index: int) -> int:
        t = min(int(t_index), len(self.source_times) - 1)
        return self.plate.frame_index(float(self.source_times[t]))

    def _frames(self, side: int | None) -> Iterator[tuple[int, Frame, np.ndarray]]:
        frames = read_frames(self.plate.source_path, self.plate.start, self.plate.end, self.settings, max_side=side)
        for index, (frame, mask) in enumerate(zip(frames, self.plate.masks())):
            yield index, frame, mask

    def _decoded(self, index: int, side: int | None) -> tuple[int, Frame, np.ndarray]:
        if self._current is not None and self._current[0] == index and self._stream_side == side:
            return self._current
        if self._stream is None or self._stream_side != side or self._current is None or index < self._current[0]:
            self._stream, self._stream_side, self._current = self._frames(side), side, None
        for item in self._stream:
            self._current = item
            if item[0] == index:
                return item
        raise BackgroundError(
            f"The source clip {self.plate.source_path.name} ended before frame {index} of its clean plate; "
            "the file changed since the plate was built. Delete the plate's cache folder "
            f"({self.plate.folder}) and render again."
        )

    def _clean(self, t_index: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        index = self._plate_frame(t_index)
        key = (index, width, height)
        if self._cleaned is None or self._cleaned[0] != key:
            side = decode_side(self.plate.size, (self.info.width, self.info.height), (width, height))
            _, frame, mask = self._decoded(index, side)
            cleaned = clean_frame(frame.rgb, mask, self.plate.transforms[index], self.plate)
            ring = person_ring(mask).astype(np.float32)
            ring = cv2.resize(ring, (frame.rgb.shape[1], frame.rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
            self._cleaned = (key, cover_crop(cleaned, width, height),
                             cover_crop(np.repeat(ring[..., None], 3, axis=2), width, height)[..., 0])
        return self._cleaned[1], self._cleaned[2]

    def frame(self, t_index: int, width: int, height: int, output_fps: float | None = None) -> np.ndarray:
        if int(t_index) != t_index or t_index < 0:
            raise BackgroundError(f"Frame index must be a non-negative integer, got {t_index!r}.")
        return self._clean(int(t_index), int(width), int(height))[0].copy()

    def harmonize_weights(self, t_index: int, width: int, height: int) -> np.ndarray | None:
        """[H, W] weights of the pixels the new person's colours are matched to (None: whole frame)."""
        weights = self._clean(int(t_index), int(width), int(height))[1]
        return weights if weights.sum() >= 16 else None


def resolve_source_clip(motion, source_clip: str | os.PathLike[str] | None,
                        settings: Settings | None = None) -> Path:
    """The file the motion was extracted from: ``source_clip`` if given, else where this machine's
    extraction of it found it (:mod:`random_people.source_index`); its SHA-256 must match."""
    settings = settings or load_settings()
    path = Path(source_clip) if source_clip else (
        recall_source(settings, motion.source_sha256) if motion.source_sha256 else None)
    if path is None:
        raise BackgroundError(
            f"The clip's own scene as background needs the clip this motion was extracted from "
            f"({motion.source_name or 'unknown name'}), and it was not extracted on this machine (or in this "
            f"data dir). Pass it (--source-clip PATH on the command line)."
        )
    if not path.is_file():
        raise BackgroundError(
            f"The source clip {path.name} of this motion is not there any more; pass its current location "
            f"(--source-clip PATH), or choose another background."
        )
    if motion.source_sha256 and sha256_file(path) != motion.source_sha256:
        raise BackgroundError(
            f"{path.name} is not the clip this motion was extracted from (its SHA-256 differs from the motion's "
            f"{motion.source_sha256[:12]}...). Pass the original clip, or choose another background."
        )
    return path


def source_background(motion, frame_indices: Sequence[int], *, source_clip: str | os.PathLike[str] | None = None,
                      settings: Settings | None = None, progress=None) -> SourceSceneBackground:
    """The clip's own scene behind the motion's frames ``frame_indices`` (builds or reuses the plate).

    Raises :class:`BackgroundError` when the source clip cannot be found or does not match, and
    :class:`~random_people.render.registration.CameraMotionError` when its camera moves.
    """
    settings = settings or load_settings()
    path = resolve_source_clip(motion, source_clip, settings)
    track = PersonTrack.from_motion(motion)
    try:
        plate = build_plate(path, track, settings=settings, source_sha256=motion.source_sha256 or None,
                            progress=progress)
    except BackgroundError:
        raise
    except RandomPeopleError as exc:
        raise BackgroundError(f"The clean plate of {path.name} could not be built: {exc}") from exc
    times = np.asarray(motion.frame_times, np.float64)[list(frame_indices)]
    return SourceSceneBackground(plate, times, motion.source_name or path.name, settings)




def plate_preview(motion, *, source_clip: str | os.PathLike[str] | None = None, settings: Settings | None = None,
                  progress=None, height: int = 240) -> np.ndarray:
    """A mid-clip source frame beside the clean plate (builds or reuses it), ``[height, W, 3]`` RGB.

    What the app shows before rendering into the clip's own scene: the person who will be
    replaced, and the scene they leave behind (pixels they never uncovered are inpainted).
    """
    settings = settings or load_settings()
    path = resolve_source_clip(motion, source_clip, settings)
    plate = build_plate(path, PersonTrack.from_motion(motion), settings=settings,
                        source_sha256=motion.source_sha256 or None, progress=progress)
    middle = float(plate.frame_times[len(plate.frame_times) // 2])
    frame = next(iter(read_frames(path, max(0.0, middle - 0.01), middle + 0.2, settings,
                                  max_side=max(plate.size))))
    width = max(2, round(height * plate.size[0] / plate.size[1]))
    panels = [cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) for image in (frame.rgb, plate.image)]
    gap = np.full((height, 8, 3), 255, np.uint8)
    return np.concatenate([panels[0], gap, panels[1]], axis=1)


__all__ = ["SOURCE_BACKGROUND", "SourceSceneBackground", "is_source_background", "plate_preview", "resolve_source_clip",
           "source_background"]
