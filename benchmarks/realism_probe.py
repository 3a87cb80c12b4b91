"""Which part of a rendered person decides the detector's verdict? Edit one region, re-judge each frame.

A look change aimed at a front/back swap or a missed person only helps if the detector uses that
region. This probe runs MediaPipe Pose in static mode (every frame on its own, so one frame's
verdict does not carry into the next as video-mode tracking does) on the frames of a rendered
clip, as rendered and with one region edited around our own labels: the head flattened (its
highlight clipped to its median brightness), darkened, blanked with the background above it, a
face drawn on it (two eyes and a mouth), or the hands or feet blanked. One line per edit, one
character per frame: ``.`` right side, ``S`` left/right swapped (the mirrored detection fits the
labels clearly better), ``M`` missed.

    python benchmarks/realism_probe.py RENDER_BASE [--every 2] [--edits none,flat,dark,blank,face,hands,feet]

``RENDER_BASE`` is a clip path without ``.mp4`` (beside it ``_labels.npz``), e.g. one of
``benchmarks/realism.py``'s renders. Only a diagnostic: the judge's figures come from
``benchmarks/realism.py``.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from random_people.judge.detectors import PoseJudge
from random_people.judge.inputs import read_label_arrays, read_video_frames
from random_people.judge.keypoints import LIMB_INDICES, MIRROR_COCO17, mediapipe_to_coco17

EDITS = ("none", "flat", "dark", "blank", "face", "hands", "feet")


def verdict(judge: PoseJudge, rgb: np.ndarray, truth: np.ndarray) -> str:
    """'.' right side, 'S' sides swapped, 'M' missed (see the module docstring)."""
    detection = judge.detect(rgb)
    if detection is None:
        return "M"
    points = mediapipe_to_coco17(detection.landmarks)
    as_is = np.linalg.norm(points[LIMB_INDICES] - truth[LIMB_INDICES], axis=1).mean()
    mirrored = np.linalg.norm(points[MIRROR_COCO17][LIMB_INDICES] - truth[LIMB_INDICES], axis=1).mean()
    return "S" if mirrored < 0.6 * as_is else "."


def edited(rgb: np.ndarray, truth: np.ndarray, edit: str) -> np.ndarray:
    """``rgb`` with one region changed around the labelled keypoints ``truth`` [17, 2] (COCO-17)."""
    out = rgb.astype(np.float32)
    if edit == "none":
        return rgb
    centre = np.nanmean(truth[:5], axis=0)
    radius = int(0.5 * np.linalg.norm(truth[5] - truth[6]) + 6)  # about half the shoulder width
    y0, x0 = max(int(centre[1]) - radius, 0), max(int(centre[0]) - radius, 0)
    head = out[y0:int(centre[1]) + radius, x0:int(centre[0]) + radius]
    if edit == "flat":
        luma = head.mean(axis=2, keepdims=True)
        median = np.median(luma)
        head[:] = np.where(luma > median, head * (median / np.maximum(luma, 1.0)), head)
    elif edit == "dark":
        head *= 0.6
    elif edit == "blank":
        head[:] = np.median(out[max(y0 - 2 * radius, 0):max(y0, 1), x0:x0 + 2 * radius].reshape(-1, 3), axis=0)
    elif edit == "face":
        cx, cy = int(centre[0]), int(centre[1])
        for dx in (-radius // 3, radius // 3):
            cv2.circle(out, (cx + dx, cy), max(radius // 6, 1), (30, 20, 20), -1)
        cv2.line(out, (cx - radius // 4, cy + radius // 2), (cx + radius // 4, cy + radius // 2), (120, 40, 40),
                 max(radius // 8, 1))
    elif edit in ("hands", "feet"):
        size = max(int(0.35 * radius), 3)
        for k in ((9, 10) if edit == "hands" else (15, 16)):
            x, y = int(truth[k, 0]), int(truth[k, 1])
            above = out[max(y - 3 * size, 0):max(y - 2 * size, 1), max(x - size, 0):x + size].reshape(-1, 3)
            colour = tuple(float(v) for v in np.median(above, axis=0))
            cv2.circle(out, (x, y + (size if edit == "feet" else 0)), size, colour, -1)
    else:
        raise ValueError(f"unknown edit {edit!r}; known: {', '.join(EDITS)}")
    return np.clip(out, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("render_base", help="clip path without .mp4 (with _labels.npz beside it)")
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--edits", default=",".join(EDITS))
    args = parser.parse_args()
    labels = read_label_arrays(args.render_base + "_labels.npz")
    frames = list(range(0, labels.num_frames, args.every))
    images = read_video_frames(args.render_base + ".mp4", frames)
    judge = PoseJudge(mode="static")
    try:
        print(f"frames {frames[0]}..{frames[-1]} every {args.every}")
        for edit in args.edits.split(","):
            line = "".join(verdict(judge, edited(images[k], labels.keypoints_2d[k][:17], edit),
                                   labels.keypoints_2d[k][:17]) for k in frames)
            print(f"{edit:6s} {line}")
    finally:
        judge.close()


if __name__ == "__main__":
    main()
