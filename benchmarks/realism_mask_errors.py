"""Where does selfie segmentation disagree with our mask? Error anatomy of the crop mask IoU.

For the rendered clips of a ``benchmarks/realism.py`` work folder (or any clips with labels and
masks), runs the judge's own steps -- MediaPipe Pose in video mode, selfie segmentation on the
square crop around the person Pose found -- and splits every frame's disagreement by where it
lies:

* ``fn_edge`` / ``fp_edge``: missed / extra pixels within ``--band`` px of our mask's outline
  (a silhouette drawn 1 px fatter or thinner; at 70 px person height this alone costs a lot);
* ``fn_deep`` / ``fp_deep``: missed pixels further inside our mask (a dropped limb, shoe,
  head) and extra pixels further outside it (background taken for the person);
* ``iou_tolerant``: the IoU with the outline band left out of both masks -- what the IoU would
  be if the two models only disagreed about where exactly the edge runs;
* ``iou_at_best_threshold``: the segmenter's probability thresholded at the value that suits
  this frame best (an upper bound of what moving 0.5 could do; diagnostic only).

Prints one line per clip and the pooled shares; ``--overlays DIR`` writes, for the worst frames,
a PNG with the crop, our mask and the segmenter's mask (green: both, red: missed, blue: extra),
magnified, to look at.

    python benchmarks/realism_mask_errors.py /tmp/realism_final/work/renders --view a --overlays /tmp/mask_errors
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from random_people.judge.detectors import PoseJudge, SegmentationJudge, person_crop_box
from random_people.judge.inputs import read_label_arrays, read_mask_frames, read_video_frames
from random_people.judge.metrics import MASK_THRESHOLD, PROBABILITY_THRESHOLD, mask_iou


def distance_maps(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance inside the mask to its outside, distance outside it to the mask), pixels."""
    inside = cv2.distanceTransform(truth.astype(np.uint8), cv2.DIST_L2, 3)
    outside = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 3)
    return inside, outside


# Body regions as segments between our label keypoints (COCO-17 indices); a hand and a foot are the
# forearm's and shin's continuation past the wrist and ankle.
REGIONS = {
    "head": [(0, 1), (0, 2), (1, 3), (2, 4), (0, -1)],  # -1: the shoulders' midpoint (the neck)
    "torso": [(5, 6), (11, 12), (5, 11), (6, 12), (5, 12), (6, 11)],
    "arms": [(5, 7), (7, 9), (6, 8), (8, 10), (9, -9), (10, -10)],  # -9/-10: a hand past the wrist
    "legs": [(11, 13), (13, 15), (12, 14), (14, 16), (15, -15), (16, -16)],  # -15/-16: a foot past the ankle
}


def _point(keypoints: np.ndarray, index: int) -> np.ndarray:
    if index == -1:
        return 0.5 * (keypoints[5] + keypoints[6])
    if index < 0:  # past the end joint, by 40 % of the limb segment before it (hand, foot)
        end = -index
        before = {9: 7, 10: 8, 15: 13, 16: 14}[end]
        return keypoints[end] + 0.4 * (keypoints[end] - keypoints[before])
    return keypoints[index]


def region_of(pixels: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """[N] index into REGIONS of the nearest body segment of each (x, y) pixel centre."""
    best = np.full(len(pixels), np.inf)
    region = np.zeros(len(pixels), dtype=np.int64)
    for r, segments in enumerate(REGIONS.values()):
        for i, j in segments:
            a, b = _point(keypoints, i), _point(keypoints, j)
            if not (np.isfinite(a).all() and np.isfinite(b).all()):
                continue
            ab = b - a
            t = np.clip(((pixels - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
            d = np.linalg.norm(pixels - (a + t[:, None] * ab), axis=1)
            closer = d < best
            best[closer], region[closer] = d[closer], r
    return region


def anatomy(probability: np.ndarray, truth: np.ndarray, band: float,
            keypoints: np.ndarray | None = None) -> dict[str, float]:
    """One frame's error split (pixel counts and IoUs, see the module docstring)."""
    predicted = probability >= PROBABILITY_THRESHOLD
    inside, outside = distance_maps(truth)
    edge = (truth & (inside <= band)) | (~truth & (outside <= band))
    fn, fp = truth & ~predicted, predicted & ~truth
    keep = ~edge
    tolerant = mask_iou(predicted & keep, truth & keep)
    best = max((mask_iou(probability >= t, truth) or 0.0) for t in np.linspace(0.1, 0.9, 17))
    by_region = {}
    if keypoints is not None:
        deep_missed = np.argwhere(fn & ~edge)[:, ::-1] + 0.5
        regions = region_of(deep_missed, keypoints) if len(deep_missed) else np.zeros(0, int)
        by_region = {f"fn_deep_{name}": int((regions == r).sum()) for r, name in enumerate(REGIONS)}
    return {
        **by_region,
        "truth_px": int(truth.sum()), "predicted_px": int(predicted.sum()),
        "iou": mask_iou(predicted, truth) or 0.0, "iou_tolerant": tolerant or 0.0, "iou_at_best_threshold": best,
        "fn_edge": int((fn & edge).sum()), "fn_deep": int((fn & ~edge).sum()),
        "fp_edge": int((fp & edge).sum()), "fp_deep": int((fp & ~edge).sum()),
    }


def overlay(rgb: np.ndarray, truth: np.ndarray, predicted: np.ndarray, box: np.ndarray, scale: int = 4) -> np.ndarray:
    """Crop | agreement map (green both, red missed by the segmenter, blue extra), magnified."""
    x0, y0, x1, y1 = (int(v) for v in box)
    crop = rgb[y0:y1, x0:x1]
    t, p = truth[y0:y1, x0:x1], predicted[y0:y1, x0:x1]
    colours = np.zeros_like(crop)
    colours[t & p] = (0, 200, 0)
    colours[t & ~p] = (255, 0, 0)
    colours[~t & p] = (0, 80, 255)
    mixed = (0.45 * crop + 0.55 * colours).astype(np.uint8)
    pair = np.concatenate([crop, mixed], axis=1)
    return cv2.resize(pair, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)


def transformed(rgb: np.ndarray, transform: str) -> np.ndarray:
    """The frame as the segmenter sees it under a what-if ``transform`` (``none``, ``blur:SIGMA``)."""
    kind, _, value = transform.partition(":")
    if kind in ("none", "padsquare"):
        return rgb
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), float(value))
    if kind == "degrade":  # the compositor's camera degradation (noise + JPEG), seeded
        from random_people.render.composite import DegradeSpec, add_noise, jpeg_roundtrip

        spec = DegradeSpec()
        noisy = add_noise(rgb, spec.noise_sigma, np.random.default_rng(int(rgb.sum()) % 2**32))
        return jpeg_roundtrip(noisy, int(spec.jpeg_quality))
    raise ValueError(f"unknown transform {transform!r}")


def segment_box(segmenter: SegmentationJudge, rgb: np.ndarray, box: np.ndarray, pad_square: bool) -> np.ndarray:
    """The segmenter on ``box``; with ``pad_square`` a box clipped by the frame is padded back to a square
    (edge pixels repeated) before the model's square input, instead of being stretched to it."""
    if not pad_square:
        return segmenter.segment_crop(rgb, box)
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    side = max(x1 - x0, y1 - y0)
    out = np.zeros((height, width), dtype=np.float32)
    crop = rgb[y0:y1, x0:x1]
    pad_x, pad_y = side - (x1 - x0), side - (y1 - y0)
    left, top = pad_x // 2, pad_y // 2
    square = cv2.copyMakeBorder(crop, top, pad_y - top, left, pad_x - left, cv2.BORDER_REPLICATE)
    probability = segmenter.segment(np.ascontiguousarray(square))
    out[y0:y1, x0:x1] = probability[top:top + (y1 - y0), left:left + (x1 - x0)]
    return out


def clips_in(folder: Path, view: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"*_{view}.mp4"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("renders", type=Path, help="a folder of <name>.mp4, <name>_mask.mp4, <name>_labels.npz")
    parser.add_argument("--view", default="a", help="clip name suffix to take (realism.py: a or b)")
    parser.add_argument("--band", type=float, default=1.0, help="outline band, px")
    parser.add_argument("--overlays", type=Path, default=None)
    parser.add_argument("--worst", type=int, default=2, help="overlays per clip (its worst frames)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--match", default="", help="only clips whose name contains this")
    parser.add_argument("--transform", default="none",
                        help="what-if on the segmenter's input: none, blur:SIGMA (whole frame), degrade (noise + JPEG), padsquare "
                             "(a crop clipped by the frame padded to a square, not stretched)")
    parser.add_argument("--max-frames", type=int, default=None, help="first N frames of each clip")
    args = parser.parse_args()
    clips = [c for c in clips_in(args.renders, args.view) if args.match in c.name]
    if not clips:
        sys.exit(f"no *_{args.view}.mp4 clips in {args.renders}")
    if args.overlays:
        args.overlays.mkdir(parents=True, exist_ok=True)
    rows = []
    with PoseJudge(mode="video") as pose, SegmentationJudge(0) as segmenter:
        for clip in clips:
            stem = clip.with_suffix("")
            labels = read_label_arrays(f"{stem}_labels.npz")
            frames = list(range(labels.num_frames))[: args.max_frames]
            images = read_video_frames(clip, frames)
            masks = read_mask_frames(f"{stem}_mask.mp4", frames)
            width, height = labels.image_size
            pose.reset()
            per_frame = []
            for index in frames:
                rgb = images[index][:height, :width]
                truth = masks[index][:height, :width] >= MASK_THRESHOLD
                detection = pose.detect(rgb)
                if detection is None or not truth.any():
                    continue
                box = person_crop_box(detection, width, height)
                probability = segment_box(segmenter, transformed(rgb, args.transform), box,
                                          args.transform == "padsquare")
                figures = anatomy(probability, truth, args.band, labels.keypoints_2d[index, :17])
                figures.update(index=index, box=[int(v) for v in box],
                               height_px=float(labels.bbox[index][3] - labels.bbox[index][1]))
                per_frame.append((figures, rgb, truth, probability >= PROBABILITY_THRESHOLD, box))
            if not per_frame:
                continue
            stats = [f for f, *_ in per_frame]
            total = {k: float(np.sum([s[k] for s in stats])) for k in ("truth_px", "fn_edge", "fn_deep", "fp_edge", "fp_deep",
                                                                 *(f"fn_deep_{r}" for r in REGIONS))}
            row = {"clip": clip.name, "frames": len(stats),
                   "height_px": float(np.median([s["height_px"] for s in stats])),
                   "iou": float(np.mean([s["iou"] for s in stats])),
                   "iou_tolerant": float(np.mean([s["iou_tolerant"] for s in stats])),
                   "iou_at_best_threshold": float(np.mean([s["iou_at_best_threshold"] for s in stats])),
                   **{k: v / total["truth_px"] for k, v in total.items() if k != "truth_px"}}
            rows.append(row)
            print(f"{clip.name:40s} h {row['height_px']:4.0f}px iou {row['iou']:.3f} tolerant {row['iou_tolerant']:.3f} "
                  f"best-thr {row['iou_at_best_threshold']:.3f} | per mask px: missed edge {row['fn_edge']:.3f} "
                  f"deep {row['fn_deep']:.3f} (" + " ".join(f"{r} {row['fn_deep_' + r]:.3f}" for r in REGIONS) +
                  f"), extra edge {row['fp_edge']:.3f} deep {row['fp_deep']:.3f}", flush=True)
            if args.overlays:
                for figures, rgb, truth, predicted, box in sorted(per_frame, key=lambda x: x[0]["iou"])[: args.worst]:
                    image = overlay(rgb, truth, predicted, box)
                    name = f"{stem.name}_f{figures['index']:03d}_iou{figures['iou']:.2f}.png"
                    cv2.imwrite(str(args.overlays / name), image[..., ::-1])
    keys = ("iou", "iou_tolerant", "iou_at_best_threshold", "fn_edge", "fn_deep", "fp_edge", "fp_deep",
            *(f"fn_deep_{r}" for r in REGIONS))
    pooled = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    print("mean over clips: " + ", ".join(f"{k} {v:.3f}" for k, v in pooled.items()))
    if args.json:
        args.json.write_text(json.dumps({"clips": rows, "mean": pooled, "band": args.band}, indent=1))


if __name__ == "__main__":
    main()
