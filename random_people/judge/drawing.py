"""Pictures of the judge's verdicts: skeletons over frames, and contact sheets of many frames.

Figures alone hide *why* a detector fails (a flipped left/right, a missed child, a limb cut off
by the frame), so every benchmark run also writes a sheet to look at.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from random_people.judge.keypoints import COCO17_EDGES

PathLike = str | os.PathLike[str]

DETECTION_COLOR = (255, 40, 40)  # red: what the detector saw
LABEL_COLOR = (40, 220, 40)  # green: our labels


def draw_skeleton(
    rgb: np.ndarray,  # [H, W, 3] uint8
    keypoints: np.ndarray | None,  # [17, 2] COCO-17 pixels
    color: tuple[int, int, int] = DETECTION_COLOR,
    *,
    shown: np.ndarray | None = None,  # [17] bool: which keypoints to draw (default: all finite)
    thickness: int = 2,
) -> np.ndarray:
    """A copy of ``rgb`` with the COCO-17 skeleton drawn over it (nothing drawn when ``keypoints`` is None)."""
    out = np.ascontiguousarray(rgb.copy())
    if keypoints is None:
        return out
    points = np.asarray(keypoints, dtype=np.float64)
    ok = np.isfinite(points).all(axis=1)
    if shown is not None:
        ok &= np.asarray(shown, dtype=bool)
    for a, b in COCO17_EDGES:
        if ok[a] and ok[b]:
            cv2.line(out, tuple(int(round(v)) for v in points[a]), tuple(int(round(v)) for v in points[b]),
                     color, thickness, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        cv2.circle(out, tuple(int(round(v)) for v in points[i]), thickness + 1, color, -1, cv2.LINE_AA)
    return out


def _fit(tile: np.ndarray, height: int) -> np.ndarray:
    scale = height / tile.shape[0]
    return cv2.resize(tile, (max(1, round(tile.shape[1] * scale)), height), interpolation=cv2.INTER_AREA
                      if scale < 1 else cv2.INTER_LINEAR)


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    for line_no, line in enumerate(text.split("\n")):
        y = 14 + 14 * line_no
        cv2.putText(out, line, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, line, (4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def contact_sheet(
    rows: Sequence[Sequence[tuple[np.ndarray | None, str]]],  # rows of (image or None, caption)
    path: PathLike,
    *,
    tile_height: int = 200,
    gap: int = 4,
) -> Path:
    """A PNG grid: each row's tiles scaled to ``tile_height``, captioned, left-aligned; None leaves a blank."""
    from PIL import Image

    from random_people.files import atomic_output

    rendered_rows = []
    for row in rows:
        tiles = []
        for image, caption in row:
            if image is None:
                tile = np.full((tile_height, tile_height, 3), 40, dtype=np.uint8)
            else:
                tile = _fit(np.asarray(image, dtype=np.uint8), tile_height)
            tiles.append(_caption(tile, caption))
        rendered_rows.append(tiles)
    width = max(sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1) for tiles in rendered_rows)
    sheet = np.full((len(rendered_rows) * (tile_height + gap) - gap, width, 3), 255, dtype=np.uint8)
    for r, tiles in enumerate(rendered_rows):
        x = 0
        for tile in tiles:
            y = r * (tile_height + gap)
            sheet[y:y + tile_height, x:x + tile.shape[1]] = tile
            x += tile.shape[1] + gap
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    return path
