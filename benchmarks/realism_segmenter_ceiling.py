"""How well can selfie segmentation do on a person of our render size at all? Its ceiling at size (a).

``benchmarks/realism.py`` compares the selfie segmenter's crop mask with *our* exact mask of a
rendered person. Its real-people yardstick compares the segmenter on the real person, scaled down
to the render's size, with MediaPipe Pose's mask of them at full resolution -- another model,
which disagrees with the segmenter even on large people. This script asks the question that
yardstick leaves open, on the real people of both source clips:

* ``full``: the segmenter on a crop around the person at full resolution (the person is 3-4x
  larger than at (a)) against MediaPipe Pose's own full-resolution mask: how much the two
  real-trained models disagree when nothing is small;
* ``self``: the segmenter on the crop at size (a) against *its own* full-resolution crop mask,
  scaled down: how much of its answer it loses purely because the person is small. The
  full-resolution mask is the best reference there is offline (no human masks ship with these
  clips); where the two masks differ the small one is wrong about a real person, so this is an
  optimistic ceiling: against an exact mask the segmenter can only do worse at that size;
* ``pose``: the same small crop against Pose's mask (``realism.py``'s yardstick, for reference).

``--pair SMALL.mp4 BIG.mp4`` (repeatable) does the same for a rendered person: one benchmark
case at size (a) and the same case re-rendered larger (``realism_variants.py --long-side 1536``:
same identity, motion and camera, labels 3x), judged the same way, plus what real people cannot
give -- the segmenter against our exact mask at both sizes: whether our people lose more to
smallness than real people do, and what the segmenter scores on them when they are large.

    python benchmarks/realism_segmenter_ceiling.py [--frames 30] [--long-side 512]
    python benchmarks/realism_segmenter_ceiling.py --pair work/renders/02_x_demo_a.mp4 /tmp/big/2_demo_a_y.mp4
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import fetch_demo_clip, fetch_pose2sim_clip  # noqa: E402

from random_people.judge.detectors import PoseJudge, SegmentationJudge, person_crop_box  # noqa: E402
from random_people.judge.metrics import PROBABILITY_THRESHOLD, mask_iou  # noqa: E402
from random_people.judge.reference import scaled_size  # noqa: E402
from random_people.media import probe_video, read_frames  # noqa: E402


def encoded(frames: list[np.ndarray], fps: float, crf: int) -> list[np.ndarray]:
    """The frames after an H.264 round trip at ``crf`` (yuv420p, as rendered clips are written)."""
    import tempfile

    from random_people.judge.inputs import read_video_frames
    from random_people.media import VideoWriter

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scaled.mp4"
        with VideoWriter(path, fps, frames[0].shape[1], frames[0].shape[0], crf=crf) as writer:
            for frame in frames:
                writer.write(frame)
        decoded = read_video_frames(path, range(len(frames)))
    return [decoded[i][: frames[0].shape[0], : frames[0].shape[1]] for i in range(len(frames))]


def real_ceiling(clip: Path, long_side: int, start: float, end: float, frames: int,
                 crf: int | None = None) -> dict[str, float]:
    """Mean per-frame IoUs (``full``, ``self``, ``pose``; see the module docstring) on one real clip.

    With ``crf`` the scaled-down frames go through the H.264 round trip a rendered clip goes
    through (:class:`random_people.media.VideoWriter` at that CRF) before they are judged."""
    info = probe_video(clip)
    width, height = scaled_size(info.width, info.height, long_side)
    originals = [frame.rgb for number, frame in zip(range(frames), read_frames(clip, start=start, end=end))]
    smalls = [cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA) for rgb in originals]
    if crf is not None:
        smalls = encoded(smalls, info.fps, crf)
    rows = {"full": [], "self": [], "pose": []}
    heights = []
    with PoseJudge(mode="video", segmentation=True) as full_pose, PoseJudge(mode="video") as small_pose, \
            SegmentationJudge(0) as segmenter:
        for rgb, small in zip(originals, smalls):
            full_h, full_w = rgb.shape[:2]
            full = full_pose.detect(rgb)
            found = small_pose.detect(small)
            if full is None or full.segmentation is None or found is None:
                continue
            pose_full = full.segmentation >= PROBABILITY_THRESHOLD
            seg_full = segmenter.segment_crop(rgb, person_crop_box(full, full_w, full_h))
            rows["full"].append(mask_iou(seg_full >= PROBABILITY_THRESHOLD, pose_full) or 0.0)
            seg_small = segmenter.segment_crop(small, person_crop_box(found, width, height)) >= PROBABILITY_THRESHOLD
            reference = cv2.resize(seg_full, (width, height), interpolation=cv2.INTER_AREA) >= PROBABILITY_THRESHOLD
            pose_small = cv2.resize(full.segmentation, (width, height), interpolation=cv2.INTER_AREA) \
                >= PROBABILITY_THRESHOLD
            rows["self"].append(mask_iou(seg_small, reference) or 0.0)
            rows["pose"].append(mask_iou(seg_small, pose_small) or 0.0)
            found_rows = np.flatnonzero(reference.any(axis=1))
            heights.append(float(found_rows[-1] - found_rows[0] + 1) if found_rows.size else 0.0)
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in rows.items()}
    out.update(frames=len(rows["self"]), size=[width, height], height_px=float(np.median(heights)) if heights else 0.0,
               full_size=[info.width, info.height], crf=crf)
    return out


def rendered_ceiling(small_clip: Path, big_clip: Path) -> dict[str, float]:
    """Mean per-frame IoUs of one rendered case at two sizes (see the module docstring)."""
    from random_people.judge.inputs import read_label_arrays, read_mask_frames, read_video_frames
    from random_people.judge.metrics import MASK_THRESHOLD

    clips = {}
    for key, clip in (("small", small_clip), ("big", big_clip)):
        stem = clip.with_suffix("")
        labels = read_label_arrays(f"{stem}_labels.npz")
        frames = list(range(labels.num_frames))
        clips[key] = (labels, read_video_frames(clip, frames), read_mask_frames(f"{stem}_mask.mp4", frames))
    (small_labels, small_frames, small_masks), (big_labels, big_frames, big_masks) = clips["small"], clips["big"]
    width, height = small_labels.image_size
    big_w, big_h = big_labels.image_size
    rows = {"small_vs_label": [], "big_vs_label": [], "self": []}
    with PoseJudge(mode="video") as small_pose, PoseJudge(mode="video") as big_pose, SegmentationJudge(0) as segmenter:
        for index in range(min(small_labels.num_frames, big_labels.num_frames)):
            small, big = small_frames[index][:height, :width], big_frames[index][:big_h, :big_w]
            found_small, found_big = small_pose.detect(small), big_pose.detect(big)
            if found_small is None or found_big is None:
                continue
            label_small = small_masks[index][:height, :width] >= MASK_THRESHOLD
            label_big = big_masks[index][:big_h, :big_w] >= MASK_THRESHOLD
            seg_small = segmenter.segment_crop(small, person_crop_box(found_small, width, height)) >= PROBABILITY_THRESHOLD
            seg_big = segmenter.segment_crop(big, person_crop_box(found_big, big_w, big_h))
            reference = cv2.resize(seg_big, (width, height), interpolation=cv2.INTER_AREA) >= PROBABILITY_THRESHOLD
            rows["small_vs_label"].append(mask_iou(seg_small, label_small) or 0.0)
            rows["big_vs_label"].append(mask_iou(seg_big >= PROBABILITY_THRESHOLD, label_big) or 0.0)
            rows["self"].append(mask_iou(seg_small, reference) or 0.0)
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in rows.items()}
    out.update(frames=len(rows["self"]), size=[width, height], big_size=[big_w, big_h],
               height_px=float(np.nanmedian(small_labels.bbox[:, 3] - small_labels.bbox[:, 1])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--start", type=float, default=0.3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--pair", nargs=2, type=Path, action="append", default=[], metavar=("SMALL", "BIG"),
                        help="a rendered case at size (a) and the same case rendered larger")
    parser.add_argument("--no-real", action="store_true", help="only the --pair cases")
    parser.add_argument("--crf", type=int, action="append", default=[],
                        help="also judge the real clips after an H.264 round trip at this CRF (repeatable)")
    args = parser.parse_args()
    results = {}
    for small_clip, big_clip in args.pair:
        figures = rendered_ceiling(small_clip, big_clip)
        results[f"rendered:{small_clip.name}"] = figures
        print(f"rendered {small_clip.name} at {figures['size'][0]}x{figures['size'][1]} (person ~{figures['height_px']:.0f} px) "
              f"and {figures['big_size'][0]}x{figures['big_size'][1]}, {figures['frames']} frames: segmenter vs our mask "
              f"small {figures['small_vs_label']:.3f}, large {figures['big_vs_label']:.3f} | small crop vs its own "
              f"large crop {figures['self']:.3f}", flush=True)
    if args.no_real:
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return
    for (name, clip), crf in ((c, crf) for c in (("demo", fetch_demo_clip()), ("pose2sim", fetch_pose2sim_clip()))
                              for crf in (None, *args.crf)):
        figures = real_ceiling(clip, args.long_side, args.start, args.start + args.seconds, args.frames, crf)
        results[name if crf is None else f"{name}@crf{crf}"] = figures
        print(f"real {name:9s} {'unencoded' if crf is None else f'crf {crf}':9s} at {figures['size'][0]}x{figures['size'][1]} (person ~{figures['height_px']:.0f} px, "
              f"full {figures['full_size'][0]}x{figures['full_size'][1]}), {figures['frames']} frames: "
              f"segmenter vs Pose at full res {figures['full']:.3f} | small crop vs its own full-res crop "
              f"{figures['self']:.3f} | small crop vs Pose {figures['pose']:.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
