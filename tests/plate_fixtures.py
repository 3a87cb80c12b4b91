"""Synthetic clips with a known background for clean-plate tests (lossless FFV1, so exact)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from random_people.render.backgrounds import cover_crop, load_background
from random_people.render.plate_masks import PersonTrack

WIDTH, HEIGHT, FPS = 192, 128, 30.0
BOX_W, BOX_H = 28, 70


def scene(width: int = WIDTH + 80, height: int = HEIGHT) -> np.ndarray:
    """A textured still scene (the shipped park picture), wide enough to pan across."""
    return cover_crop(load_background("park").frame(0, 640, 426), width, height)


def box_at(i: int, frames: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the moving "person" in frame ``i``: left to right across the view."""
    x0 = int(round(10 + (WIDTH - BOX_W - 20) * i / max(1, frames - 1)))
    y0 = 40
    return x0, y0, x0 + BOX_W, y0 + BOX_H


def write_clip(path: Path, frames: int = 40, pan_px_per_frame: float = 0.0) -> tuple[np.ndarray, list[tuple]]:
    """A lossless clip of the scene with a red rectangle walking across it; returns the visible
    background (unpanned view) and the rectangle of every frame. ``pan_px_per_frame`` > 0 moves
    the camera sideways instead of holding it still."""
    full = scene()
    boxes = []
    container = av.open(str(path), "w")
    stream = container.add_stream("ffv1", rate=int(FPS))
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "bgr0"
    for i in range(frames):
        x = int(round(pan_px_per_frame * i))
        image = full[:, x:x + WIDTH].copy()
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
    return full[:, :WIDTH].copy(), boxes


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
