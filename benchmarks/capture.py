"""Benchmark: capture a real person from a video, then check the avatar on frames the capture never saw.

1. **Held-out frames** (the Sports2D demo's woman walking past, 2.0 s to the end, the rightmost
   person): the capture uses only the Motion's even frames; the avatar is rendered in the fitted
   pose of up to ``--eval-frames`` odd frames through the source camera, in the light the capture
   estimated, and compared with the real frames inside the person's MediaPipe mask: PSNR, SSIM
   (8-bit sRGB) and the mask IoU of the rendered silhouette. The baseline is the same avatar with
   each region's mean captured colour.
2. **Time and memory**: ``random-people identity capture`` run as a subprocess (motion extraction
   included) on a 10 s, 30 fps clip of the same real woman (her 4.6 s walk played forward,
   backward and forward, at the source's 1768x994), wall time and the child's peak RSS.
3. **Detector check**: the captured woman re-performs another motion (the demo's man, 0.3-2.3 s,
   jumping) through the library's own render pipeline (default background, lighting); MediaPipe
   Pose and selfie segmentation judge the clip (``random_people.judge``), next to a sampled
   identity rendered the same way.
4. **Contact sheet**: the captured people (the woman, and the man of Pose2Sim's single-person demo,
   camera 4) in new poses, beside a real frame and their capture previews.

    python benchmarks/capture.py [--eval-frames 24] [--skip-timing] [--work DIR]

Prints the figures and peak RSS; writes ``benchmarks/results/capture.json`` and the PNG sheets.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import fetch_demo_clip, fetch_pose2sim_clip  # noqa: E402  (real clips from PyPI wheels)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_WORK = Path.home() / ".cache" / "random-people-bench" / "capture"
CONSENT = ("Benchmark use only: the people in the Sports2D and Pose2Sim demo videos, published by their "
           "authors for research use; captured to measure the method, not published as avatars.")

logger = logging.getLogger("benchmarks.capture")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def extract(clip: Path, work: Path, name: str, start: float | None, end: float | None, person: str | None):
    """The Motion of ``clip`` over the range, extracted once and cached under ``work``."""
    from random_people.pose.extract import extract_clip
    from random_people.pose.motion import load_motion
    from random_people.settings import load_settings

    path = work / f"{name}.npz"
    if path.exists():
        return load_motion(path)
    result = extract_clip(clip, work, start=start, end=end, person=person, name=name, make_preview=False,
                          settings=load_settings(data_dir=work / "data"))
    return result.motion


def held_out(clip: Path, work: Path, eval_frames: int) -> dict:
    """Capture from the even frames, compare renders with the odd frames (see the module docstring)."""
    from random_people.avatar.capture import consent_record
    from random_people.avatar.capture.capture import capture_person
    from random_people.avatar.capture.evaluate import masked_metrics, region_mean_colors, render_in_clip_light
    from random_people.avatar.capture.observe import observe
    from random_people.avatar.pipeline import build_identity_avatar
    from random_people.avatar.posing import avatar_frames
    from random_people.body import load_body_model
    from random_people.judge.drawing import contact_sheet
    from random_people.render.cameras import source_camera

    motion = extract(clip, work, "woman", 2.0, None, "rightmost")
    even = list(range(0, motion.num_frames, 2))
    odd = list(range(1, motion.num_frames, 2))
    started = time.perf_counter()
    result, state = capture_person(clip, work / "held_out", consent=consent_record(CONSENT, "benchmark"),
                                   start=2.0, person="rightmost", motion=motion, use_frames=even, preview=True,
                                   keep_state=True)
    capture_seconds = time.perf_counter() - started
    chosen = odd[:: max(1, len(odd) // eval_frames)][:eval_frames]
    observed = {f.motion_index: f for f in observe(clip, motion, chosen).frames if f.segmented}
    avatar = build_identity_avatar(result.spec)
    plain = build_identity_avatar(without_offsets(result.spec))  # the same person, nothing offset off the body
    model = load_body_model(kind="anny")
    width, height = state.size
    camera = source_camera(motion, width, height)
    part = avatar.binding.part
    rows, captured, baseline, unoffset, outlines = [], [], [], [], []
    plain_frames = avatar_frames(plain, model, motion, frames=sorted(observed))
    for posed in avatar_frames(avatar, model, motion, frames=sorted(observed)):
        real = observed[posed.index]
        image, alpha = render_in_clip_light(posed.gaussians, camera, state.shading)
        plain_image, plain_alpha = render_in_clip_light(next(plain_frames).gaussians, camera, state.shading)
        unoffset.append(masked_metrics(real.rgb, plain_image, plain_alpha, real.mask))
        flat = region_mean_colors(posed.gaussians.colors, part)
        base_image, base_alpha = render_in_clip_light(posed.gaussians, camera, state.shading, colors=flat)
        captured.append(masked_metrics(real.rgb, image, alpha, real.mask))
        baseline.append(masked_metrics(real.rgb, base_image, base_alpha, real.mask))
        if len(rows) < 6:
            ys, xs = np.nonzero(real.mask)
            pad = 20
            y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + pad)
            x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + pad)
            rows.append([(real.rgb[y0:y1, x0:x1], f"real, frame {posed.index}"),
                         (image[y0:y1, x0:x1], f"captured {captured[-1].psnr:.1f} dB"),
                         (base_image[y0:y1, x0:x1], f"region means {baseline[-1].psnr:.1f} dB")])
            outlines.append([(silhouette_overlay(real.rgb, real.mask, plain_alpha)[y0:y1, x0:x1],
                              f"no offsets IoU {unoffset[-1].iou:.2f}"),
                             (silhouette_overlay(real.rgb, real.mask, alpha)[y0:y1, x0:x1],
                              f"offsets IoU {captured[-1].iou:.2f}")])
    sheet = contact_sheet([sum(rows[i:i + 2], []) for i in range(0, len(rows), 2)],
                          RESULTS / "capture_held_out.png", tile_height=240)
    contact_sheet([sum(outlines[i:i + 3], []) for i in range(0, len(outlines), 3)],
                  RESULTS / "capture_offsets.png", tile_height=240)

    def mean(items, name):
        return round(float(np.mean([getattr(m, name) for m in items])), 4)

    figures = {
        "clip": "Sports2D demo, 2.0 s to end, rightmost person (the woman walking past)",
        "identity": result.spec.id,
        "frames_captured_from": len(even), "frames_evaluated": len(captured),
        "captured": {name: mean(captured, name) for name in ("psnr", "ssim", "iou")},
        "captured_without_offsets": {name: mean(unoffset, name) for name in ("psnr", "ssim", "iou")},
        "offsets": result.report.get("offsets"), "body": __import__("dataclasses").asdict(result.spec.body),
        "baseline_region_means": {name: mean(baseline, name) for name in ("psnr", "ssim", "iou")},
        "capture_seconds_without_extraction": round(capture_seconds, 1),
        "coverage": result.report["coverage"], "shape_fit": result.report["shape_fit"],
        "light": result.report["light"], "sheet": str(sheet), "preview": str(result.preview_path),
        "identity_path": str(result.identity_path),
    }
    return figures


CROSS_SOURCE_VIEW = 1
CROSS_TARGET_VIEWS = (2, 3)
MAN_IN_FIRST_FRAME = {1: "400,700", 2: "520,800", 3: "600,800", 4: "420,900"}  # as benchmarks/pose_accuracy.py


def _hip_centres(motion, fps: float, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """[frames, 2, 2] detected left/right hip pixels by clip frame (NaN where missing) and [frames, 2] confidence."""
    names = list(motion.landmark_names)
    hips = [names.index("left_hip"), names.index("right_hip")]
    pixels = np.full((frames, 2, 2), np.nan)
    confidence = np.zeros((frames, 2))
    index = np.rint(np.asarray(motion.frame_times) * fps).astype(int)
    keep = (index >= 0) & (index < frames)
    pixels[index[keep]] = np.asarray(motion.landmarks_2d)[keep][:, hips]
    confidence[index[keep]] = np.asarray(motion.landmark_confidence)[keep][:, hips]
    return pixels, confidence


def cross_view(work: Path, eval_frames: int) -> dict:
    """Capture the man of Pose2Sim's Demo_MultiPerson from camera 1, render him into cameras 2 and 3.

    The avatar is posed by camera 1's Motion (its monocular fit, in camera 1's estimated frame);
    that frame is taken to calibrated camera 1 (same axes), to the world by camera 1's extrinsics,
    and shifted so the body's hip centre lands on the hip centre triangulated from the two views'
    detections (a single view cannot know the person's distance; the shift fixes that, nothing
    else). It is then rendered through the target camera's calibrated intrinsics (pinhole; the
    lens distortion is ignored) in camera 1's estimated light, and compared with the target view's
    real frames inside the man's mask there (PSNR, SSIM, IoU), beside the region-mean baseline.
    """
    from conftest import fetch_pose2sim_multiperson

    from random_people.avatar.capture import consent_record
    from random_people.avatar.capture.capture import capture_person
    from random_people.avatar.capture.evaluate import masked_metrics, region_mean_colors, render_in_clip_light
    from random_people.avatar.capture.observe import observe, working_size
    from random_people.avatar.pipeline import build_identity_avatar
    from random_people.avatar.posing import avatar_frames
    from random_people.body import load_body_model
    from random_people.judge.drawing import contact_sheet
    from random_people.pose.multiview import read_qualisys_calibration, triangulate
    from random_people.render.cameras import make_camera

    demo = fetch_pose2sim_multiperson()
    cameras = read_qualisys_calibration(demo / "calibration" / "Calib.qca.txt")
    clips = {v: demo / "videos" / f"cam0{v}.mp4" for v in (CROSS_SOURCE_VIEW, *CROSS_TARGET_VIEWS)}
    motions = {v: extract(clip, work, f"multi_cam{v}", None, None, MAN_IN_FIRST_FRAME[v]) for v, clip in clips.items()}
    source = motions[CROSS_SOURCE_VIEW]
    result, state = capture_person(clips[CROSS_SOURCE_VIEW], work / "cross_view", consent=consent_record(CONSENT, "benchmark"),
                                   person=MAN_IN_FIRST_FRAME[CROSS_SOURCE_VIEW], motion=source, preview=True,
                                   keep_state=True)
    avatar = build_identity_avatar(result.spec)
    model = load_body_model(kind="anny")
    hip_names = [model.keypoint_names.index(n) for n in ("left_hip", "right_hip")]
    part = avatar.binding.part
    fps = source.fps
    total = int(np.rint(max(m.frame_times[-1] for m in motions.values()) * fps)) + 1
    cam1 = cameras[CROSS_SOURCE_VIEW - 1]
    figures: dict = {"clip": "Pose2Sim Demo_MultiPerson, the man, captured from cam01",
                     "identity": result.spec.id, "frames_captured_from": result.report["frames_used"],
                     "shape_fit": result.report["shape_fit"], "offsets": result.report.get("offsets"), "views": {}}
    rows = []
    for target in CROSS_TARGET_VIEWS:
        other = motions[target]
        cam = cameras[target - 1]
        pixels, confidence = zip(*(_hip_centres(motions[v], fps, total) for v in (CROSS_SOURCE_VIEW, target)))
        hips = triangulate([cam1, cam], np.stack(pixels), np.stack(confidence), min_views=2, max_error_px=40.0,
                           min_confidence=0.5).points  # [frames, 2, 3] world
        source_index = {int(np.rint(t * fps)): i for i, t in enumerate(source.frame_times)}
        target_index = {int(np.rint(t * fps)): i for i, t in enumerate(other.frame_times)}
        common = [f for f in sorted(source_index) if f in target_index and np.isfinite(hips[f]).all()]
        chosen = common[:: max(1, len(common) // eval_frames)][:eval_frames]
        observed = {f.motion_index: f for f in observe(clips[target], other, [target_index[c] for c in chosen]).frames
                    if f.segmented}
        width, height = working_size(cam.size)
        K = cam.intrinsics.copy()
        K[:2] *= np.array([[width / cam.size[0]], [height / cam.size[1]]])
        captured, baseline, tiles = [], [], []
        by_source = {source_index[c]: c for c in chosen}
        for posed in avatar_frames(avatar, model, source, frames=sorted(by_source)):
            clip_frame = by_source[posed.index]
            real = observed.get(target_index[clip_frame])
            if real is None:
                continue
            body_hip = posed.keypoints[hip_names].mean(dim=0).double().numpy()  # camera 1's estimated frame
            to_world = cam1.rotation.T
            shift = hips[clip_frame].mean(axis=0) - to_world @ (body_hip - cam1.translation)
            transform = np.eye(4)
            transform[:3, :3] = cam.rotation @ to_world
            transform[:3, 3] = cam.rotation @ (shift - to_world @ cam1.translation) + cam.translation
            camera = make_camera(K, transform, width, height)
            image, alpha = render_in_clip_light(posed.gaussians, camera, state.shading)
            flat = region_mean_colors(posed.gaussians.colors, part)
            base_image, base_alpha = render_in_clip_light(posed.gaussians, camera, state.shading, colors=flat)
            captured.append(masked_metrics(real.rgb, image, alpha, real.mask))
            baseline.append(masked_metrics(real.rgb, base_image, base_alpha, real.mask))
            if len(tiles) < 3:
                ys, xs = np.nonzero(real.mask | (alpha > 0.5))
                y0, y1 = max(0, ys.min() - 20), min(height, ys.max() + 20)
                x0, x1 = max(0, xs.min() - 20), min(width, xs.max() + 20)
                tiles.append([(real.rgb[y0:y1, x0:x1], f"cam0{target} real, frame {clip_frame}"),
                              (image[y0:y1, x0:x1], f"captured {captured[-1].psnr:.1f} dB"),
                              (silhouette_overlay(real.rgb, real.mask, alpha)[y0:y1, x0:x1],
                               f"IoU {captured[-1].iou:.2f}")])
        if tiles:
            rows.append(sum(tiles, []))

        def mean(items, name):
            return round(float(np.mean([getattr(m, name) for m in items])), 4) if items else None

        figures["views"][f"cam0{target}"] = {
            "frames_evaluated": len(captured),
            "captured": {name: mean(captured, name) for name in ("psnr", "ssim", "iou")},
            "baseline_region_means": {name: mean(baseline, name) for name in ("psnr", "ssim", "iou")},
        }
    if rows:
        figures["sheet"] = str(contact_sheet(rows, RESULTS / "capture_cross_view.png", tile_height=240))
    return figures


def without_offsets(spec):
    """``spec`` with its captured offsets dropped (the avatar hugs the body): the 'before' of the offsets."""
    import dataclasses

    capture = {k: v for k, v in spec.capture.items() if k != "vertex_offset"}
    return dataclasses.replace(spec, capture=capture)


def silhouette_overlay(rgb: np.ndarray, mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The real frame dimmed, the person's mask outline in green and the avatar's silhouette in magenta;
    where only the person is: green tint, only the avatar: magenta tint."""
    import cv2

    drawn = alpha > 0.5
    out = (rgb.astype(np.float32) * 0.55).astype(np.uint8)
    out[mask & ~drawn] = (0.5 * out[mask & ~drawn] + np.array([0, 127, 0])).astype(np.uint8)
    out[drawn & ~mask] = (0.5 * out[drawn & ~mask] + np.array([127, 0, 127])).astype(np.uint8)
    for region, colour in ((mask, (0, 255, 0)), (drawn, (255, 0, 255))):
        contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, colour, 1)
    return out


def ping_pong_clip(clip: Path, work: Path, seconds: float = 10.0) -> Path:
    """A ``seconds`` long clip of the real woman: her walk (2.0-6.6 s, where the detector follows her alone)
    forward, backward and forward again, cut at ``seconds`` (cached)."""
    from random_people.media import VideoWriter, probe_video, read_frames

    path = work / "woman_10s.mp4"
    if path.exists():
        return path
    info = probe_video(clip)
    frames = [f.rgb for f in read_frames(clip, start=2.0, end=6.6)]
    sequence = (frames + frames[::-1] + frames)[: int(round(seconds * info.fps))]
    height, width = frames[0].shape[:2]
    with VideoWriter(path, info.fps, width, height) as writer:
        for rgb in sequence:
            writer.write(rgb)
    return path


def timing(clip: Path, work: Path) -> dict:
    """``random-people identity capture`` on the 10 s clip in a subprocess: wall time and peak RSS."""
    long_clip = ping_pong_clip(clip, work)
    output = work / "timed"
    command = [sys.executable, "-m", "random_people.cli", "identity", "capture", str(long_clip), "--person",
               "rightmost", "--consent", CONSENT, "--recorded-by", "benchmark", "-o", str(output), "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"capture failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    reports = sorted(output.glob("captures/*_capture.json"), key=lambda p: p.stat().st_mtime)
    report = json.loads(reports[-1].read_text()) if reports else {}
    return {"clip": "10.0 s at 30 fps, 1768x994 (the woman's 4.6 s walk forward, backward, forward)",
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "load_average_at_start": round(load, 1), "load_average_at_end": round(os.getloadavg()[0], 1),
            "peak_rss_mb": round(peak), "stages": report.get("timings"),
            "target": "<= 120 s on 2 cores, < 4096 MB"}


def detector_check(clip: Path, work: Path, identity_path: Path) -> dict:
    """The captured woman and a sampled person re-perform the man's jump; MediaPipe judges both clips."""
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import sample_identity
    from random_people.avatar.store import load_identity
    from random_people.judge import Judge

    motion = extract(clip, work, "man_jump", 0.3, 2.3, None)
    captured = load_identity(identity_path)
    sampled = sample_identity(0, 0)
    figures = {}
    with Judge(mode="video") as judge:
        for name, spec in (("captured", captured), ("sampled", sampled)):
            result = render_motion_clip(motion, spec, work / "renders", name=f"{name}_{spec.id}", long_side=512)
            score = judge.score_clip(result.video_path, result.labels_path, result.mask_path)
            figures[name] = {key: (round(value, 3) if isinstance(value, float) else value)
                             for key, value in score.summary().items()}
            figures[name]["video"] = str(result.video_path)
    return figures


def new_poses_sheet(clip: Path, work: Path, woman_identity: Path) -> str:
    """Captured people (the woman; Pose2Sim's single-person demo man) in new poses, with a real frame each."""
    from random_people.avatar.capture import consent_record
    from random_people.avatar.capture.capture import capture_person
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.store import load_identity
    from random_people.judge.drawing import contact_sheet
    from random_people.judge.inputs import read_video_frames
    from random_people.media import read_frames
    from PIL import Image

    other_clip = fetch_pose2sim_clip("Demo_SinglePerson", "cam04")
    other_dir = work / "pose2sim_single"
    existing = sorted(other_dir.glob("captures/*_capture.json"))
    if existing:
        other_identity = other_dir / existing[-1].name.replace("_capture.json", ".json")
    else:
        other_identity = capture_person(other_clip, other_dir, consent=consent_record(CONSENT, "benchmark"),
                                        person="largest").identity_path
    jump = extract(clip, work, "man_jump", 0.3, 2.3, None)
    walk_other = extract(clip, work, "woman", 2.0, None, "rightmost")
    rows = []
    for name, identity_path, source, start in (("woman (Sports2D)", woman_identity, clip, 4.0),
                                               ("man (Pose2Sim cam04)", other_identity, other_clip, 0.8)):
        spec = load_identity(identity_path)
        real = next(iter(read_frames(source, start=start, max_side=640))).rgb
        preview = np.asarray(Image.open(identity_path.parent / "captures" / f"{spec.id}_preview.png").convert("RGB"))
        row = [(real, f"{name}: real frame"), (preview, "captured: front, side, back")]
        for motion, label, camera in ((jump, "jump", "random"), (walk_other if "Pose2Sim" in name else jump, "walk" if "Pose2Sim" in name else "jump", "source")):
            result = render_motion_clip(motion, spec, work / "renders", name=f"sheet_{spec.id}_{label}_{camera}",
                                        camera=camera, seed=3, long_side=384, max_frames=40)
            frames = read_video_frames(result.video_path, [10, 30])
            row.extend((frames[i], f"{label}, {camera} camera, frame {i}") for i in sorted(frames))
        rows.append(row)
    return str(contact_sheet(rows, RESULTS / "capture_new_poses.png", tile_height=220))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-frames", type=int, default=24)
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("numba", "PIL", "anny", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args.work.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    clip = fetch_demo_clip()
    figures: dict = {}
    if not args.skip_timing:
        figures["timing"] = timing(clip, args.work)
        print(json.dumps({"timing": figures["timing"]}, indent=2), flush=True)
    figures["held_out"] = held_out(clip, args.work, args.eval_frames)
    print(json.dumps({"held_out": figures["held_out"]}, indent=2), flush=True)
    figures["cross_view"] = cross_view(args.work, args.eval_frames)
    print(json.dumps({"cross_view": figures["cross_view"]}, indent=2), flush=True)
    figures["detector"] = detector_check(clip, args.work, Path(figures["held_out"]["identity_path"]))
    print(json.dumps({"detector": figures["detector"]}, indent=2), flush=True)
    figures["new_poses_sheet"] = new_poses_sheet(clip, args.work, Path(figures["held_out"]["identity_path"]))
    figures["benchmark_process_peak_rss_mb"] = round(rss_mb())
    out = RESULTS / "capture.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    held = figures["held_out"]
    print(f"held-out PSNR {held['captured']['psnr']:.2f} dB vs {held['baseline_region_means']['psnr']:.2f} dB "
          f"(region means); SSIM {held['captured']['ssim']:.3f} vs {held['baseline_region_means']['ssim']:.3f}; "
          f"IoU {held['captured']['iou']:.3f}")
    if "timing" in figures:
        print(f"capture of a 10 s clip: {figures['timing']['seconds']} s, peak RSS {figures['timing']['peak_rss_mb']} MB")
    print(f"wrote {out}, {held['sheet']}, {figures['new_poses_sheet']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
