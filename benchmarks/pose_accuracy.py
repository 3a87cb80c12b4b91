"""Benchmark: how accurate is single-view 3D motion, measured against truth the extraction never saw.

(a) Round trip with exact truth: motions fitted from real clips (the Sports2D man's jumping jacks,
facing the camera, and the woman walking past, in profile) are taken as truth, re-performed by
sampled adults with the project's own renderer from four angles relative to where the body
faces (front, side, back, high: 50 degrees up), extracted again from the rendered video, and
scored against the rendered body's own 3D keypoints (the labels): PA-MPJPE over the 12 limb
joints (median and mean over frames, mm) and the share of frames whose torso faces the wrong
way, for the fitted motion and for MediaPipe's world landmarks on the same frames. Writes a
contact sheet (truth green, fit red) to ``benchmarks/results/pose_round_trip.png``.

(b) Real multi-view, two captures from the pose2sim wheel, each filmed by the same 4 calibrated
static cameras (Qualisys calibration, 60 fps, 100 frames): ``multiperson`` (Demo_MultiPerson, two
people; every view follows the man, ``--person x,y`` on him in the first frame) and
``singleperson`` (Demo_SinglePerson, the same man alone turning into a lunge, arms out; the
default pick, the largest person). Every view is extracted on its own. The reference is the
detector's 2D landmarks of all four views triangulated with the calibration (a joint is kept
only where at least 3 views agree within 40 px); its reprojection error per view is printed and
a contact sheet of it reprojected on every view is written to
``benchmarks/results/pose_reference_<capture>.png``. Each single-view result is scored against
it the same way, per capture and view, with the 95 % interval of each view's median over the
clip's frames (``accuracy.median_interval``).

Both parts also print, per view, how deep the fit's and MediaPipe's 8 limb bones are against the
truth and how often they point the right way (``accuracy.limb_depth_agreement``; per bone in the
JSON): where single-view depth goes wrong, which PA-MPJPE alone does not say.

Ablations (this script only, not library options): ``--fit-override KEY=VALUE`` sets a
``FitConfig`` field for every extraction, ``--world-window SECONDS`` the world landmarks'
smoothing window.

    python benchmarks/pose_accuracy.py [--identities 2] [--round-trip-views front,side,back,high]
                                       [--captures multiperson,singleperson] [--views 1,2,3,4]
                                       [--skip-real | --skip-round-trip] [--fit-override KEY=VALUE ...]
                                       [--world-window SECONDS] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

# A pixel on the man (blue cap) in the first frame of each view, source resolution 1088x1920.
MAN_IN_FIRST_FRAME = {1: "400,700", 2: "520,800", 3: "600,800", 4: "420,900"}


@dataclass(frozen=True)
class RealCapture:
    """One of Pose2Sim's calibrated 4-camera demos, and whom to follow in each view."""

    name: str  # as given to --captures and written to the JSON
    demo: str  # folder in the pose2sim wheel (tests/conftest.py: fetch_pose2sim_demo)
    person: dict[int, str | None]  # ``extract_clip(person=...)`` per view; None: the default (largest)
    about: str


# Both were filmed in the same room by the same 4 cameras with the same calibration file (byte for
# byte); the second is the one the fit settings were NOT chosen on.
REAL_CAPTURES = {
    "multiperson": RealCapture("multiperson", "Demo_MultiPerson", MAN_IN_FIRST_FRAME,
                               "two people, following the man in the blue cap"),
    "singleperson": RealCapture("singleperson", "Demo_SinglePerson", {1: None, 2: None, 3: None, 4: None},
                                "the same man alone (a bystander far behind in cam01/cam02), turning into a lunge"),
}

# Limb skeleton drawn on the reference contact sheet (pairs of LIMB_JOINTS names).
LIMB_EDGES = (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
              ("right_shoulder", "right_hip"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
              ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_hip", "left_knee"),
              ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"))


def score_view(result, reference_world: np.ndarray, camera, fps: float) -> dict:
    """PA-MPJPE (mm: median, its 95 % interval over the clip's frames, mean), flipped share and
    per-bone limb depth of the fit and of MediaPipe's world landmarks for one view."""
    from random_people.pose.accuracy import (
        LIMB_INDEX, LIMB_JOINTS, flipped_frames, limb_depth_agreement, median_interval, pa_mpjpe)

    motion = result.motion
    frames = np.rint(motion.frame_times * fps).astype(int)
    truth = camera.to_camera(reference_world[frames])  # [T, 12, 3], camera frame
    names = list(motion.keypoint_names)
    fitted = motion.keypoints_3d[:, [names.index(n) for n in LIMB_JOINTS]]
    mediapipe = result.track.world[:, LIMB_INDEX]
    scored = np.isfinite(truth).all(-1).sum(-1) >= 8
    out = {"frames": int(scored.sum())}
    for label, predicted in (("fit", fitted), ("mediapipe", mediapipe)):
        errors = pa_mpjpe(predicted[scored], truth[scored]) * 1000
        out[f"{label}_median_mm"] = float(np.nanmedian(errors))
        out[f"{label}_mean_mm"] = float(np.nanmean(errors))
        out[f"{label}_flipped"] = float(flipped_frames(predicted[scored], truth[scored]).mean())
        out[f"{label}_median_interval_mm"] = list(median_interval(errors))
    # Where the depth goes wrong, bone by bone, for the fit and for MediaPipe as the fit sees it.
    out["limb_depth"] = {"fit": limb_depth_agreement(fitted, truth),
                         "mediapipe": limb_depth_agreement(mediapipe_as_fitted(result), truth)}
    return out


def mediapipe_as_fitted(result) -> np.ndarray:
    """[T, 12, 3] MediaPipe's world limb landmarks of an extraction turned onto the ray through the
    hips, in the camera's axes with the fit's assumed intrinsics: the depth the fit is given."""
    from random_people.pose.accuracy import LIMB_INDEX, LIMB_JOINTS
    from random_people.pose.fitting import world_along_ray

    hips = (LIMB_JOINTS.index("left_hip"), LIMB_JOINTS.index("right_hip"))
    return world_along_ray(result.track.world[:, LIMB_INDEX], result.track.image_xy[:, LIMB_INDEX],
                           result.motion.camera_intrinsics.astype(np.float64), hips)


def limb_depth_line(figures: dict) -> str:
    """One line per view from :func:`score_view`'s ``limb_depth``: the median over the 8 limb bones of
    the depth ratio (1 = as deep as the reference, below = flatter), the sign agreement pooled over
    the bones' clear frames, and the flattest bone of the fit."""
    parts = []
    for label in ("fit", "mediapipe"):
        bones = figures["limb_depth"][label]
        ratio = np.nanmedian([b["depth_ratio"] for b in bones.values()])
        clear = sum(b["clear_frames"] for b in bones.values())
        agree = sum(b["sign_agreement"] * b["clear_frames"] for b in bones.values() if b["clear_frames"]) / max(clear, 1)
        parts.append(f"{'fit' if label == 'fit' else 'MediaPipe'} depth ratio {ratio:.2f}, sign {agree:.0%}")
    fit = figures["limb_depth"]["fit"]
    flattest = min(fit, key=lambda name: np.nan_to_num(fit[name]["depth_ratio"], nan=np.inf))
    parts.append(f"flattest: {flattest} fit {fit[flattest]['depth_ratio']:.2f} / MediaPipe "
                 f"{figures['limb_depth']['mediapipe'][flattest]['depth_ratio']:.2f}")
    return "; ".join(parts)


def reference_per_view(cameras, pixels: np.ndarray, reference) -> dict[str, dict[str, float]]:
    """How well the triangulated reference explains each view's own detections: median
    reprojection error (px) where the view was used, the share of kept joints it was used for,
    and the median error over all kept joints it detected (voted out or not)."""
    kept = np.isfinite(reference.points).all(-1)
    out = {}
    for v, camera in enumerate(cameras):
        projected = camera.project(np.where(kept[..., None], reference.points, 0.0))
        error = np.linalg.norm(projected - pixels[v], axis=-1)
        used = reference.views_used[..., v] & kept
        detected = kept & np.isfinite(pixels[v]).all(-1)
        out[f"cam0{v + 1}"] = {"reprojection_px_used": float(np.median(error[used])) if used.any() else float("nan"),
                               "used_share": float(used.sum() / max(kept.sum(), 1)),
                               "reprojection_px_all": float(np.median(error[detected])) if detected.any() else float("nan")}
    return out


def reference_sheet(capture: RealCapture, videos: list[Path], cameras, pixels: np.ndarray, reference,
                    path: Path, rows: int = 3, shrink: int = 4) -> None:
    """Contact sheet: the reference reprojected into every view (green) over the view's own
    detection (red), at ``rows`` moments of the clip; one column per view."""
    import cv2

    from random_people.media import read_frames
    from random_people.pose.accuracy import LIMB_JOINTS

    frames = reference.points.shape[0]
    moments = [int(round(f)) for f in np.linspace(0.1, 0.9, rows) * (frames - 1)]
    tiles: dict[tuple[int, int], np.ndarray] = {}
    for v, (video, camera) in enumerate(zip(videos, cameras)):
        projected = camera.project(reference.points)
        for frame in read_frames(video):
            if frame.index not in moments:
                continue
            image = frame.rgb.copy()
            for points, colour in ((pixels[v, frame.index], (230, 0, 0)), (projected[frame.index], (0, 220, 0))):
                for a, b in LIMB_EDGES:
                    pa, pb = points[LIMB_JOINTS.index(a)], points[LIMB_JOINTS.index(b)]
                    if np.isfinite(pa).all() and np.isfinite(pb).all():
                        cv2.line(image, tuple(int(x) for x in pa), tuple(int(x) for x in pb), colour, 6)
            image = cv2.resize(image, (image.shape[1] // shrink, image.shape[0] // shrink), interpolation=cv2.INTER_AREA)
            cv2.putText(image, f"{capture.name} cam0{v + 1} frame {frame.index}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, (255, 255, 255), 1)
            tiles[(moments.index(frame.index), v)] = image
    ordered = [tiles.get((r, v), np.zeros((1, 1, 3), np.uint8)) for r in range(rows) for v in range(len(videos))]
    _write_sheet(ordered, len(videos), path)


def real_multiview(capture: RealCapture, views: list[int], settings) -> dict:
    """Extract every view of ``capture`` on its own, triangulate the reference from all four
    views' detections, score the requested views against it."""
    from conftest import fetch_pose2sim_demo

    from random_people.pose.accuracy import LIMB_INDEX
    from random_people.pose.extract import extract_clip
    from random_people.pose.multiview import read_qualisys_calibration, triangulate

    demo = fetch_pose2sim_demo(capture.demo)
    calibrated = read_qualisys_calibration(demo / "calibration" / "Calib.qca.txt")
    videos = [demo / "videos" / f"cam0{view}.mp4" for view in range(1, 5)]
    results = {}
    with tempfile.TemporaryDirectory() as out:
        for view in range(1, 5):
            started = time.perf_counter()
            results[view] = extract_clip(videos[view - 1], out, name=f"{capture.name}_cam{view}",
                                         person=capture.person[view], settings=settings, make_preview=False)
            print(f"  extracted {capture.name} cam0{view}: {results[view].motion.num_frames} frames in "
                  f"{time.perf_counter() - started:.1f} s (person {capture.person[view] or 'default: largest'})")
    # A video shipped at another size than it was calibrated at is a letterboxed copy (see letterboxed).
    cameras = [camera.letterboxed(results[v + 1].track.image_size) for v, camera in enumerate(calibrated)]
    for camera, original in zip(cameras, calibrated):
        if camera is not original:
            print(f"  {original.name}: video {camera.size[0]}x{camera.size[1]}, calibrated at "
                  f"{original.size[0]}x{original.size[1]}: letterboxed intrinsics")
    fps = results[1].motion.fps
    frames = max(int(np.rint(r.motion.frame_times[-1] * fps)) + 1 for r in results.values())
    pixels = np.full((4, frames, len(LIMB_INDEX), 2), np.nan)
    confidence = np.zeros((4, frames, len(LIMB_INDEX)))
    for view, result in results.items():
        index = np.rint(result.motion.frame_times * fps).astype(int)
        detected = result.track.detected
        pixels[view - 1, index[detected]] = result.track.image_xy[detected][:, LIMB_INDEX]
        confidence[view - 1, index[detected]] = result.track.visibility[detected][:, LIMB_INDEX]
    reference = triangulate(cameras, pixels, confidence, min_views=3, max_error_px=40.0)
    kept = np.isfinite(reference.points).all(-1)
    frames_scored = kept.sum(-1) >= 8
    per_view = reference_per_view(cameras, pixels, reference)
    print(f"reference ({capture.name}): {kept.mean():.0%} of limb joints triangulated from >= 3 agreeing views "
          f"({frames_scored.sum()} of {frames} frames keep >= 8 of 12), median reprojection "
          f"{np.nanmedian(reference.reprojection_px):.1f} px; views used per joint {reference.views_used.sum(-1)[kept].mean():.2f}")
    for name, figures in per_view.items():
        print(f"  {name}: reprojection {figures['reprojection_px_used']:.1f} px where used ({figures['used_share']:.0%} of "
              f"kept joints), {figures['reprojection_px_all']:.1f} px over all it detected")
    sheet = SHEET.parent / f"pose_reference_{capture.name}.png"
    reference_sheet(capture, videos, cameras, pixels, reference, sheet)
    print(f"contact sheet (reference reprojected green, each view's detection red): {sheet}")
    print(f"{'capture':12} {'view':6} {'frames':>6} {'fit median':>11} {'mean':>7} {'flipped':>8} | "
          f"{'MediaPipe median':>16} {'mean':>7} {'flipped':>8}")
    out = {"demo": capture.demo, "about": capture.about, "reference_kept": float(kept.mean()),
           "reference_frames": int(frames_scored.sum()), "reference_views": per_view,
           "person": {f"cam0{v}": capture.person[v] for v in range(1, 5)}, "views": {}}
    for view in views:
        s = score_view(results[view], reference.points, cameras[view - 1], fps)
        out["views"][f"cam0{view}"] = s
        print(f"{capture.name:12} cam0{view:<2} {s['frames']:>6} {s['fit_median_mm']:>8.1f} mm {s['fit_mean_mm']:>7.1f} "
              f"{s['fit_flipped']:>8.0%} | {s['mediapipe_median_mm']:>13.1f} mm {s['mediapipe_mean_mm']:>7.1f} "
              f"{s['mediapipe_flipped']:>8.0%}")
        low, high = s["fit_median_interval_mm"]
        print(f"{'':12} fit median's 95 % interval over the clip's frames (blocks of 10): {low:.1f}-{high:.1f} mm")
        print(f"{'':12} limb depth vs reference: {limb_depth_line(s)}")
    return out


# Truth motions of the round trip: fitted from real clips, then taken as exact.
# (name, clip, start, end, person): the Sports2D man doing jumping jacks (facing the camera) and
# the woman walking past (in profile).
TRUTH_MOTIONS = (("jumping jacks", "sports2d", 0.0, 2.0, "largest"), ("walk", "sports2d", 2.0, 4.0, "rightmost"))


SHEET = Path(__file__).resolve().parent / "results" / "pose_round_trip.png"


def _sheet_tile(video: Path, labels, motion, caption: str) -> np.ndarray:
    """The clip's middle frame with the rendered body's 2D keypoints (green, truth) and the
    extracted fit's (red), for looking at what the numbers mean."""
    import cv2

    from random_people.body.keypoints import SKELETON_EDGES
    from random_people.media import read_frames

    middle = motion.num_frames // 2
    index = int(np.rint(motion.frame_times[middle] * labels.fps))
    frame = next(f for f in read_frames(video) if f.index == index).rgb.copy()
    for points, names, colour in ((labels.frames[index].keypoints_2d, labels.frames[index].keypoint_names, (0, 200, 0)),
                                  (motion.keypoints_2d[middle], motion.keypoint_names, (230, 0, 0))):
        names = list(names)
        for a, b in SKELETON_EDGES:
            if a in names and b in names:
                pa, pb = points[names.index(a)], points[names.index(b)]
                if np.isfinite(pa).all() and np.isfinite(pb).all():
                    cv2.line(frame, tuple(int(v) for v in pa), tuple(int(v) for v in pb), colour, 2)
    cv2.putText(frame, caption, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return frame


def _write_sheet(tiles: list[np.ndarray], columns: int, path: Path) -> None:
    import cv2

    if not tiles:
        return
    height = max(t.shape[0] for t in tiles)
    width = max(t.shape[1] for t in tiles)
    padded = [np.pad(t, ((0, height - t.shape[0]), (0, width - t.shape[1]), (0, 0))) for t in tiles]
    padded += [np.zeros_like(padded[0])] * (-len(padded) % columns)
    rows = [np.hstack(padded[i:i + columns]) for i in range(0, len(padded), columns)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def round_trip(settings, identities: int, views: list[str], size: tuple[int, int], work: Path) -> dict:
    """Render known motions with sampled people from several angles, extract, score against the
    rendered body's own 3D keypoints (exact truth), next to MediaPipe's world landmarks."""
    from conftest import fetch_demo_clip

    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import IdentityDistribution, sample_identities
    from random_people.pose.accuracy import (
        LIMB_INDEX, ROUND_TRIP_VIEWS, facing_azimuth, limb_depth_agreement, limb_points, score_against_truth, view_sampler)
    from random_people.pose.extract import extract_clip
    from random_people.render.labels import load_labels

    people = sample_identities(identities, 16, IdentityDistribution(mode="balanced", age_range=(18.0, 70.0)))
    pooled: dict[str, dict[str, list[np.ndarray]]] = {}
    tiles: list[np.ndarray] = []
    for motion_name, _, start, end, person in TRUTH_MOTIONS:
        truth_motion = extract_clip(fetch_demo_clip(), work, name=f"truth_{motion_name.replace(' ', '_')}", start=start,
                                    end=end, person=person, settings=settings, make_preview=False).motion
        facing = facing_azimuth(truth_motion)
        for spec in people:
            for view in views:
                azimuth, elevation = ROUND_TRIP_VIEWS[view]
                started = time.perf_counter()
                clip = render_motion_clip(truth_motion, spec, work, name=f"rt_{spec.id}_{view}", camera="random",
                                          camera_sampler=view_sampler(facing + azimuth, elevation), size=size,
                                          seed=0)
                rendered = time.perf_counter() - started
                labels = load_labels(clip.labels_path)
                truth = limb_points(labels.stacked("keypoints_3d"), labels.frames[0].keypoint_names)
                result = extract_clip(clip.video_path, work, name=f"rt_{spec.id}_{view}_x", settings=settings,
                                      make_preview=False)
                index = np.rint(result.motion.frame_times * labels.fps).astype(int)
                row = pooled.setdefault(view, {"truth": [], "fit": [], "mediapipe": [], "mediapipe_as_fitted": []})
                row["truth"].append(truth[index])
                row["fit"].append(limb_points(result.motion.keypoints_3d, result.motion.keypoint_names))
                row["mediapipe"].append(result.track.world[:, LIMB_INDEX])
                row["mediapipe_as_fitted"].append(mediapipe_as_fitted(result))
                fit = score_against_truth(row["fit"][-1], row["truth"][-1])
                tiles.append(_sheet_tile(clip.video_path, labels, result.motion, f"{motion_name}, {view}"))
                print(f"  {motion_name:13} {spec.id[:10]:10} {view:5}: fit {fit['median_mm']:5.1f} mm, "
                      f"flipped {fit['flipped']:4.0%} (render {rendered:.0f} s, extract "
                      f"{result.summary['seconds']:.0f} s, detected {result.summary['detected_ratio']:.0%})")
    _write_sheet(tiles, len(views), SHEET)
    print(f"contact sheet (truth green, extracted fit red, middle frame of each clip): {SHEET}")
    print(f"{'view':6} {'frames':>6} {'fit median':>11} {'mean':>7} {'flipped':>8} | {'MediaPipe median':>16} {'mean':>7} {'flipped':>8}")
    out = {"identities": identities, "views": {}}
    for view in views:
        row = pooled[view]
        truth = np.concatenate(row["truth"])
        fit = score_against_truth(np.concatenate(row["fit"]), truth)
        mp = score_against_truth(np.concatenate(row["mediapipe"]), truth)
        out["views"][view] = {"fit": fit, "mediapipe": mp, "limb_depth": {
            "fit": limb_depth_agreement(np.concatenate(row["fit"]), truth),
            "mediapipe": limb_depth_agreement(np.concatenate(row["mediapipe_as_fitted"]), truth)}}
        print(f"{view:6} {fit['frames']:>6} {fit['median_mm']:>8.1f} mm {fit['mean_mm']:>7.1f} {fit['flipped']:>8.1%} | "
              f"{mp['median_mm']:>13.1f} mm {mp['mean_mm']:>7.1f} {mp['flipped']:>8.1%}")
        print(f"{'':6} limb depth vs truth: {limb_depth_line(out['views'][view])}")
    return out


def parse_fit_overrides(pairs: list[str]) -> dict:
    """``key=value`` strings -> FitConfig keyword arguments, values typed like the field's default
    (``None`` allowed); an unknown key or a bad value is a clear error."""
    import dataclasses

    from random_people.pose.fitting import FitConfig

    defaults = {f.name: getattr(FitConfig(), f.name) for f in dataclasses.fields(FitConfig)}
    overrides = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        key = key.strip()
        if not separator or key not in defaults:
            raise SystemExit(f"--fit-override {pair!r}: expected key=value with key one of {', '.join(defaults)}")
        default, text = defaults[key], text.strip()
        try:
            if text.lower() == "none":
                value = None
            elif isinstance(default, bool):
                value = {"true": True, "1": True, "false": False, "0": False}[text.lower()]
            elif isinstance(default, int):
                value = int(text)
            else:
                value = float(text)
        except (KeyError, ValueError):
            raise SystemExit(f"--fit-override {pair!r}: {text!r} is not a valid {type(default).__name__}") from None
        overrides[key] = value
    return overrides


def apply_fit_overrides(overrides: dict, world_window_seconds: float | None) -> dict:
    """Make every extraction in this process use FitConfig(..., **overrides) and, when given, the
    world landmarks' smoothing window, by rebinding the names ``pose/extract.py`` calls (an
    ablation switch for this benchmark only, not a library option). Returns the settings in effect."""
    import functools
    import inspect

    from random_people.pose import extract
    from random_people.pose.filtering import filter_track
    from random_people.pose.fitting import FitConfig

    if overrides:
        extract.FitConfig = lambda **kwargs: FitConfig(**{**kwargs, **overrides})
    if world_window_seconds is not None:
        extract.filter_track = functools.partial(filter_track, world_window_seconds=world_window_seconds)
    parameter = inspect.signature(extract.filter_track).parameters.get("world_window_seconds")
    window = None if parameter is None else parameter.default
    return {"fit_config": FitConfig(**overrides).__dict__, "world_window_seconds": window}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", default=",".join(REAL_CAPTURES),
                        help=f"real 4-view captures to score ({', '.join(REAL_CAPTURES)})")
    parser.add_argument("--views", default="1,2,3,4", help="views of each real capture to score")
    parser.add_argument("--round-trip-views", default="front,side,back,high", help="camera angles of the round trip")
    parser.add_argument("--identities", type=int, default=2, help="sampled people per motion in the round trip")
    parser.add_argument("--skip-real", action="store_true", help="only the rendered round trip")
    parser.add_argument("--skip-round-trip", action="store_true", help="only the real multi-view captures")
    parser.add_argument("--fit-override", action="append", default=[], metavar="KEY=VALUE",
                        help="ablation: a FitConfig field for every extraction (repeatable), e.g. world_depth_scale=1.0")
    parser.add_argument("--world-window", type=float, default=None, metavar="SECONDS",
                        help="ablation: the world landmarks' smoothing window (filter_track's world_window_seconds)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    captures = [c.strip() for c in args.captures.split(",") if c.strip()]
    if unknown := [c for c in captures if c not in REAL_CAPTURES]:
        raise SystemExit(f"--captures: unknown {', '.join(unknown)}; choose from {', '.join(REAL_CAPTURES)}")

    from random_people.settings import load_settings

    figures: dict = apply_fit_overrides(parse_fit_overrides(args.fit_override), args.world_window)
    figures["fit_overrides"] = args.fit_override
    if args.fit_override or args.world_window is not None:
        print(f"ablation: {' '.join(args.fit_override)}"
              f"{f' world window {args.world_window} s' if args.world_window is not None else ''}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data))
        if not args.skip_round_trip:
            print("(a) Round trip with exact truth: known motions rendered with sampled people, extracted again")
            figures["round_trip"] = round_trip(settings, args.identities, args.round_trip_views.split(","), (384, 512),
                                               Path(data))
        if not args.skip_real:
            figures["real_multiview"] = {}
            for name in captures:
                capture = REAL_CAPTURES[name]
                print(f"(b) Real multi-view: Pose2Sim {capture.demo} ({capture.about}), "
                      "single-view extraction vs 4-view triangulation")
                figures["real_multiview"][name] = real_multiview(capture, [int(v) for v in args.views.split(",")],
                                                                 settings)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["seconds"] = time.perf_counter() - started
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
