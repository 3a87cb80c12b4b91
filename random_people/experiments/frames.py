"""Frames a video model sees: which ones (sampling), how they are read (PyAV), how they are scaled.

Each model takes a fixed number of frames spread over the whole clip (16 for VideoMAE and
TimeSformer, 32 for ViViT by default). Training draws one frame at random from each of the equal
segments of the clip (temporal jitter); evaluation takes each segment's middle frame, so test
inputs are deterministic. Only the chosen frames are converted to RGB, already scaled to about
the processor's size, so a long clip costs little more than its decode.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from torch.utils.data import Dataset

from random_people.experiments.errors import ExperimentDataError
from random_people.experiments.sources import Clip
from random_people.experiments.splits import seeded_rng

logger = logging.getLogger(__name__)


def sample_indices(total: int, count: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """``count`` frame indices spread over a clip of ``total`` frames, in order.

    The clip is cut into ``count`` equal segments; with ``rng`` one random frame per segment is
    taken, without it the middle one. Clips shorter than ``count`` repeat frames.
    """
    if total < 1 or count < 1:
        raise ValueError(f"need total >= 1 and count >= 1, got total={total}, count={count}")
    edges = np.linspace(0.0, total, count + 1)
    if rng is None:
        points = (edges[:-1] + edges[1:]) / 2.0
    else:
        points = edges[:-1] + rng.random(count) * (edges[1:] - edges[:-1])
    return np.clip(np.floor(points).astype(np.int64), 0, total - 1)


def count_frames(path: Path) -> int:
    """Frames in the clip's video stream: the container's count, else by reading packets (no decoding)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)


def read_clip_frames(path: Path, indices: np.ndarray, short_side: int | None = None) -> np.ndarray:
    """The frames at ``indices`` as ``[T, H, W, 3]`` uint8 RGB, scaled so the short side is ``short_side``.

    A clip that ends earlier than its header said repeats its last frame.
    """
    wanted = np.asarray(indices, dtype=np.int64)
    needed = set(int(i) for i in wanted)
    last = int(wanted.max())
    got: dict[int, np.ndarray] = {}
    previous = None
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        size = None
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index in needed:
                    if size is None:
                        size = _scaled(frame.width, frame.height, short_side)
                    got[index] = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                if got:
                    previous = got[max(got)]
                if index >= last:
                    break
        except av.error.FFmpegError as exc:
            raise ExperimentDataError(f"{path} fails to decode ({exc}); re-encode or remove it.") from None
    if previous is None:
        raise ExperimentDataError(f"{path} has no decodable frame.")
    return np.stack([got.get(int(i), previous) for i in wanted])


def _scaled(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if not short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def _open(path: Path) -> Any:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise ExperimentDataError(f"Cannot read video {path}: {exc}") from None
    if not container.streams.video:
        container.close()
        raise ExperimentDataError(f"{path} has no video stream.")
    return container


def processor_short_side(processor: Any) -> int | None:
    """The short side the processor resizes to (decoding straight to it saves a full-size RGB frame)."""
    size = getattr(processor, "size", None) or {}
    if "shortest_edge" in size:
        return int(size["shortest_edge"])
    if "height" in size and "width" in size:
        return int(min(size["height"], size["width"]))
    return None


class ClipDataset(Dataset):
    """``(pixel_values [T, C, H, W] float32, label id)`` for each clip, decoded on demand.

    ``train=True`` draws jittered frame positions and random horizontal flips from a generator
    seeded by (seed, epoch, clip index): the same run sees the same inputs whatever the number
    of loader workers, and a resumed run sees what an uninterrupted one would have.
    """

    def __init__(self, clips: list[Clip], label_to_id: dict[str, int], processor: Any, num_frames: int,
                 train: bool, seed: int = 0, flip: bool = True) -> None:
        self.clips = clips
        self.label_to_id = label_to_id
        self.processor = processor
        self.num_frames = num_frames
        self.train = train
        self.seed = seed
        self.flip = flip and train
        self.epoch = 0
        self.short_side = processor_short_side(processor)
        self._totals: dict[int, int] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        clip = self.clips[index]
        if index not in self._totals:
            self._totals[index] = count_frames(clip.path)
        rng = seeded_rng(self.seed, f"frames:{self.epoch}:{index}") if self.train else None
        indices = sample_indices(self._totals[index], self.num_frames, rng)
        frames = read_clip_frames(clip.path, indices, self.short_side)
        if self.flip and rng is not None and rng.random() < 0.5:
            frames = frames[:, :, ::-1]
        pixels = self.processor(list(np.ascontiguousarray(frames)), return_tensors="pt")["pixel_values"][0]
        return pixels.float(), self.label_to_id[clip.label]
