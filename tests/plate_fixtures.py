"""Synthetic clips with a known background for clean-plate tests (lossless FFV1, so exact)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from random_people.render.backgrounds import cover_crop, load_background
from random_people.render.plate_masks import PersonTrack

WIDTH, HEIGHT, FPS = 192, 128, 30.0
BOX_W, BOX_H = 28, 70


MARGIN = 64  # scene pixels around the camera's first view, room for it to shake or pan


def scene(width: int = WIDTH + 2 * MARGIN, height: int = HEIGHT + 2 * MARGIN) -> np.ndarray:
    """A textured still scene (the shipped park picture), wider than the view so it can move."""
    return cover_crop(load_background("park").frame(0, 640, 426), width, height)


def box_at(i: int, frames: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the moving "person" in frame ``i``: left to right across the view."""
    x0 = int(round(10 + (WIDTH - BOX_W - 20) * i / max(1, frames - 1)))
    y0 = 40
    return x0, y0, x0 + BOX_W, y0 + BOX_H


def panning(frames: int, px_per_frame: float) -> list[tuple[int, int]]:
    """Camera offsets of a steady sideways pan."""
    return [(int(round(px_per_frame * i)), 0) for i in range(frames)]



def encode_walking_box(path: Path, frames: int, offsets: list[tuple[int, int]] | None, *, codec: str,
                       pix_fmt: str, rate: int, options: dict[str, str] | None = None) -> list[tuple]:
    """Encode the scene seen through a camera moved by ``offsets`` (still by default) with the red
    rectangle walking across the view, in ``codec``; returns the rectangle of every frame.

    One writer for every codec the plate tests need (lossless FFV1 for exact comparisons, H.264 and
    HEVC with B-frames for the decoder's frame skipping)."""
    full = scene()
    offsets = offsets or [(0, 0)] * frames
    if any(abs(dx) > MARGIN or abs(dy) > MARGIN for dx, dy in offsets):
        raise ValueError(f"offsets beyond the scene's {MARGIN}-pixel margin")
    boxes = []
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=rate, options=options or {})
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, pix_fmt
    for i in range(frames):
        dx, dy = offsets[i]
        image = full[MARGIN + dy:MARGIN + dy + HEIGHT, MARGIN + dx:MARGIN + dx + WIDTH].copy()
        box = box_at(i, frames)
        image[box[1]:box[3], box[0]:box[2]] = (200, 30, 30)
        boxes.append(box)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    return boxes


def write_clip(path: Path, frames: int = 40, offsets: list[tuple[int, int]] | None = None
               ) -> tuple[np.ndarray, list[tuple]]:
    """A lossless clip of the scene with a red rectangle walking across the view; returns the
    background of the camera's first view and the rectangle of every frame. ``offsets[i]`` =
    (dx, dy) moves the camera's view of frame ``i`` by that many pixels (a shake, or
    :func:`panning`); by default it holds still. The rectangle stays where it is in the view."""
    boxes = encode_walking_box(path, frames, offsets, codec="ffv1", pix_fmt="bgr0", rate=int(FPS))
    full = scene()
    return full[MARGIN:MARGIN + HEIGHT, MARGIN:MARGIN + WIDTH].copy(), boxes


def box_track(boxes: list[tuple], fps: float = FPS) -> PersonTrack:
    """A PersonTrack whose first four landmarks are the rectangle's corners (the rest NaN)."""
    landmarks = np.full((len(boxes), 33, 2), np.nan)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        landmarks[i, :4] = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
    return PersonTrack(np.arange(len(boxes)) / fps, landmarks, (WIDTH, HEIGHT))


def box_masker(rgb: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
    """The rectangle spanned by the first four landmarks (pixels of ``rgb``), grown by 1 px."""
    mask = np.zeros(rgb.shape[:2], bool)
    if landmarks is None:
        return mask
    corners = landmarks[:4]
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    mask[max(0, y0):y1, max(0, x0):x1] = True
    return mask
