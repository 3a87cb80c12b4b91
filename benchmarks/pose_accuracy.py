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
only where at least 3 cameras agree within 40 px). ``--reference`` says how: ``combined`` (the
default) pools the detections of the shipped full MediaPipe model and of its heavy model (from
the ``@mediapipe/pose`` npm package, fetched and integrity-checked like the test clips; used for
the reference only, extraction stays on the full model), 8 observations per joint, each model's
left/right labels chosen so the views agree, then a 6 Hz zero-phase low-pass; ``consistent`` the
same from the full model alone; ``heavy`` from the heavy model alone; ``relabelled`` consistent
without the low-pass; ``legacy`` as first built (raw labels, no filter); ``smoothed`` legacy with
the low-pass. Every reference is judged without any fit (bone length variation, left/right bone
difference, leave-one-view-out reprojection against each model's detections), each one's
reprojection error per view is printed, a contact sheet of the main one reprojected on every view
is written to ``benchmarks/results/pose_reference_<capture>.png`` and one of the frames where it
differs most from ``consistent`` (else ``legacy``) to ``pose_reference_change_<capture>.png``. With
both captures (the same performance filmed twice) the references are also compared with each
other. Each single-view result is scored against every reference, per capture and view, with the
95 % interval of each view's median over the clip's frames (``accuracy.median_interval``) and the
score's uncertainty due to the reference: its median against each credible reference (combined,
consistent, heavy) and against the main one triangulated without the scored view.

Both parts also print, per view, how deep the fit's and MediaPipe's 8 limb bones are against the
truth and how often they point the right way (``accuracy.limb_depth_agreement``; per bone in the
JSON): where single-view depth goes wrong, which PA-MPJPE alone does not say.

Ablations (this script only, not library options): ``--fit-override KEY=VALUE`` sets a
``FitConfig`` field for every extraction, ``--world-window SECONDS`` the world landmarks'
smoothing window.

    python benchmarks/pose_accuracy.py [--identities 2] [--round-trip-views front,side,back,high]
                                       [--captures multiperson,singleperson] [--views 1,2,3,4]
                                       [--reference combined,consistent,heavy,relabelled,smoothed,legacy]
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
        # A camera counts as used when either model's observation was; the error is measured
        # against the full model's detection, so only where it detected the joint.
        used_detected = used & detected
        out[f"cam0{v + 1}"] = {"reprojection_px_used": float(np.median(error[used_detected]))
                               if used_detected.any() else float("nan"),
                               "used_share": float(used.sum() / max(kept.sum(), 1)),
                               "reprojection_px_all": float(np.median(error[detected])) if detected.any() else float("nan")}
    return out


def _draw_limbs(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int], width: int) -> None:
    """Draw the 12 limb joints' skeleton (:data:`LIMB_EDGES`) of ``points`` [12, 2] onto ``image`` in place."""
    import cv2

    from random_people.pose.accuracy import LIMB_JOINTS

    for a, b in LIMB_EDGES:
        pa, pb = points[LIMB_JOINTS.index(a)], points[LIMB_JOINTS.index(b)]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(image, tuple(int(x) for x in pa), tuple(int(x) for x in pb), colour, width)


def _view_sheet(capture: RealCapture, videos: list[Path], moments: list[int], draw, path: Path,
                shrink: int = 4) -> None:
    """Contact sheet of every view (columns) at ``moments`` (rows): ``draw(view, frame_index, image)``
    draws onto each frame in place and returns its extra caption lines."""
    import cv2

    from random_people.media import read_frames

    tiles: dict[tuple[int, int], np.ndarray] = {}
    for v, video in enumerate(videos):
        for frame in read_frames(video):
            if frame.index not in moments:
                continue
            image = frame.rgb.copy()
            captions = [f"{capture.name} cam0{v + 1} frame {frame.index}", *draw(v, frame.index, image)]
            image = cv2.resize(image, (image.shape[1] // shrink, image.shape[0] // shrink), interpolation=cv2.INTER_AREA)
            for line, text in enumerate(captions):
                cv2.putText(image, text, (6, 20 + 20 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
            tiles[(moments.index(frame.index), v)] = image
    ordered = [tiles.get((r, v), np.zeros((1, 1, 3), np.uint8)) for r in range(len(moments)) for v in range(len(videos))]
    _write_sheet(ordered, len(videos), path)


def reference_sheet(capture: RealCapture, videos: list[Path], cameras, pixels: np.ndarray, reference,
                    path: Path, rows: int = 3, shrink: int = 4) -> None:
    """Contact sheet: the reference reprojected into every view (green) over the view's own
    detection (red), at ``rows`` moments of the clip; one column per view."""
    frames = reference.points.shape[0]
    moments = [int(round(f)) for f in np.linspace(0.1, 0.9, rows) * (frames - 1)]
    projected = [camera.project(reference.points) for camera in cameras]

    def draw(v: int, t: int, image: np.ndarray) -> list[str]:
        _draw_limbs(image, pixels[v, t], (230, 0, 0), 6)
        _draw_limbs(image, projected[v][t], (0, 220, 0), 6)
        return []

    _view_sheet(capture, videos, moments, draw, path, shrink)


@dataclass
class CaptureViews:
    """Every view of one real capture extracted on its own, and the detections the reference is
    triangulated from (the detector's raw 2D limb landmarks, before any repair)."""

    results: dict  # view number (1..4) -> ExtractResult
    videos: list[Path]
    cameras: list  # CalibratedCamera per view, letterboxed to the video's size where needed
    pixels: np.ndarray  # [4, frames, 12, 2] distorted pixels, NaN where not detected
    confidence: np.ndarray  # [4, frames, 12] MediaPipe visibility, 0 where not detected
    fps: float
    # The same views' limb detections by MediaPipe's heavy landmark model ([4, frames, 12, 2] pixels,
    # [4, frames, 12] visibility; detect_capture), for the references that use them; None until then.
    heavy: tuple[np.ndarray, np.ndarray] | None = None


def extract_capture(capture: RealCapture, settings) -> CaptureViews:
    """Extract every view of ``capture`` on its own and collect the detections of all four."""
    from conftest import fetch_pose2sim_demo

    from random_people.pose.accuracy import LIMB_INDEX
    from random_people.pose.extract import extract_clip
    from random_people.pose.multiview import read_qualisys_calibration

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
    return CaptureViews(results, videos, cameras, pixels, confidence, fps)


def detect_capture(capture: RealCapture, extracted: CaptureViews, settings, landmark_model: Path
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The limb detections ([4, frames, 12, 2] pixels, [4, frames, 12] visibility) of every view of
    ``capture`` by another MediaPipe landmark model (the heavy one), following the same person the
    same way as extraction does (its first-frame pick, its person following, the longest stretch
    of one person), with no fit: detections for the reference only."""
    from random_people.media import probe_video
    from random_people.pose.accuracy import LIMB_INDEX
    from random_people.pose.extract import detect_person
    from random_people.pose.tracking import keep_longest_person

    pixels = np.full_like(extracted.pixels, np.nan)
    confidence = np.zeros_like(extracted.confidence)
    for view, video in enumerate(extracted.videos, start=1):
        started = time.perf_counter()
        track, _, _ = detect_person(video, capture.person[view], probe_video(video, settings), settings,
                                    landmark_model=landmark_model)
        track = keep_longest_person(track).track
        index = np.rint(track.frame_times * extracted.fps).astype(int)
        keep = track.detected & (index < pixels.shape[1])
        pixels[view - 1, index[keep]] = track.image_xy[keep][:, LIMB_INDEX]
        confidence[view - 1, index[keep]] = track.visibility[keep][:, LIMB_INDEX]
        print(f"  detected {capture.name} cam0{view} with {landmark_model.name}: {int(keep.sum())} frames in "
              f"{time.perf_counter() - started:.1f} s")
    return pixels, confidence


# How the reference is triangulated (--reference). "legacy": the detections as labelled, a joint
# kept where >= 3 views agree within 40 px (views that swapped left and right are voted out);
# "relabelled": each view's left/right labels chosen so the views agree (Viterbi over the clip),
# same rule after; "consistent": relabelled, then a 6 Hz zero-phase low-pass; "smoothed": legacy
# with the same low-pass (to tell the two steps apart); "heavy": consistent, from the detections of
# MediaPipe's heavy landmark model instead of the shipped full one; "combined" (default): both
# models' detections at once (8 observations per joint; multiview.triangulate_pooled), relabelled
# per model, >= 3 cameras agreeing within 40 px, the same low-pass. Chosen by criteria that involve
# no fit (bone-length constancy, left/right symmetry, leave-one-view-out reprojection, the contact
# sheets; README). CREDIBLE_REFERENCES: the ones each view's score is also given against, as the
# score's uncertainty due to the reference.
REFERENCES = ("combined", "consistent", "heavy", "relabelled", "smoothed", "legacy")
CREDIBLE_REFERENCES = ("combined", "consistent", "heavy")
NEEDS_HEAVY = ("combined", "heavy")
REFERENCE_FRAME_RANGES = {"all": (0, None), "0-39": (0, 40), "40-79": (40, 80), "80-99": (80, None)}


@dataclass
class Reference:
    """A triangulated reference and the detections as it labelled them."""

    kind: str
    triangulation: object  # random_people.pose.multiview.Triangulation
    pixels: np.ndarray  # [4, frames, 12, 2] the detections with the reference's left/right labels


def build_reference(kind: str, extracted: CaptureViews, views: tuple[int, ...] = (0, 1, 2, 3)) -> Reference:
    """Triangulate the reference of one capture the way ``kind`` (one of REFERENCES) says, from the
    cameras ``views`` (0-based; fewer than 4: a joint is kept where 2 of them agree, not 3, for the
    score against a reference the scored view took no part in). ``pixels`` in the result are the
    full model's detections of those views with the reference's left/right labels."""
    from random_people.pose.accuracy import LIMB_JOINTS
    from random_people.pose.multiview import (
        Triangulation, apply_left_right, left_right_groups, smooth_points, triangulate, triangulate_pooled)

    views = list(views)
    cameras = [extracted.cameras[v] for v in views]
    pixels, confidence = extracted.pixels[views], extracted.confidence[views]
    min_views = 3 if len(views) >= 4 else 2
    if kind in ("legacy", "smoothed"):
        reference = triangulate(cameras, pixels, confidence, min_views=min_views, max_error_px=40.0)
        if kind == "smoothed":
            reference = Triangulation(smooth_points(reference.points, extracted.fps, cutoff_hz=6.0),
                                      reference.views_used, reference.reprojection_px)
        return Reference(kind, reference, pixels)
    if kind in NEEDS_HEAVY and extracted.heavy is None:
        raise ValueError(f"reference {kind!r} needs the heavy model's detections (detect_capture) first")
    heavy = None if extracted.heavy is None else (extracted.heavy[0][views], extracted.heavy[1][views])
    detections = {"combined": [(pixels, confidence), heavy], "heavy": [heavy]}.get(kind, [(pixels, confidence)])
    # The whole body's labels at once: per arm/leg groups or per joint measured no better (see README).
    body = [sum(left_right_groups(LIMB_JOINTS, {"arms": ("shoulder", "elbow", "wrist"),
                                                "legs": ("hip", "knee", "ankle")}), [])]
    reference = triangulate_pooled(cameras, detections, groups=body, min_views=min_views, max_error_px=40.0)
    labelled = apply_left_right(*((heavy[0],) if kind == "heavy" else (pixels,)), reference.swapped, body)
    if kind != "relabelled":
        reference = Triangulation(smooth_points(reference.points, extracted.fps, cutoff_hz=6.0),
                                  reference.views_used, reference.reprojection_px, reference.swapped)
    return Reference(kind, reference, labelled)


def references_agreement(first: np.ndarray, second: np.ndarray, offset: int = 1,
                         joints: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """How closely two references of the same performance agree: ``first``'s frame i against
    ``second``'s frame i - ``offset`` (Demo_MultiPerson's frame i is Demo_SinglePerson's i - 1),
    per range of ``second``'s frames: median PA-MPJPE and median MPJPE in the shared world frame
    (mm), over the joints both kept (and ``joints`` [frames - offset, 12] where given)."""
    from random_people.pose.accuracy import pa_mpjpe

    a, b = first[offset:], second[:len(second) - offset]
    count = min(len(a), len(b))
    a, b = a[:count].copy(), b[:count].copy()
    if joints is not None:
        a[~joints[:count]], b[~joints[:count]] = np.nan, np.nan
    both = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    aligned = pa_mpjpe(a, b) * 1000
    distance = np.where(both, np.linalg.norm(np.nan_to_num(a - b), axis=-1), 0.0)
    with np.errstate(invalid="ignore"):
        world = np.where(both.sum(-1) >= 8, distance.sum(-1) / both.sum(-1), np.nan) * 1000
    out = {}
    for name, (start, stop) in REFERENCE_FRAME_RANGES.items():
        rows = slice(start, stop)
        out[name] = {"pa_mpjpe_mm": float(np.nanmedian(aligned[rows])), "mpjpe_mm": float(np.nanmedian(world[rows])),
                     "frames": int(np.isfinite(aligned[rows]).sum())}
    return out


def print_agreement(references: dict[str, dict[str, Reference]]) -> dict:
    """The two captures' references against each other, per reference kind: on the joints each
    kept, and on the joints every kind kept in both (so a kind is not flattered by dropping hard
    joints, nor penalised for keeping them)."""
    kinds = list(references["multiperson"])
    points = {k: (references["multiperson"][k].triangulation.points, references["singleperson"][k].triangulation.points)
              for k in kinds}
    common = np.logical_and.reduce([np.isfinite(mp[1:]).all(-1) & np.isfinite(sp[:-1]).all(-1)
                                    for mp, sp in points.values()])
    print("references of the two captures against each other (MultiPerson frame i vs SinglePerson i-1; "
          "median PA-MPJPE / MPJPE in the world frame, mm, by SinglePerson frame range)")
    print(f"{'reference':12} {'joints':7} " + " ".join(f"{name:>13}" for name in REFERENCE_FRAME_RANGES))
    out = {}
    for kind, (mp, sp) in points.items():
        out[kind] = {"own_joints": references_agreement(mp, sp), "common_joints": references_agreement(mp, sp, joints=common)}
        for label, figures in out[kind].items():
            print(f"{kind:12} {label.split('_')[0]:7} " + " ".join(
                f"{f['pa_mpjpe_mm']:5.1f} / {f['mpjpe_mm']:5.1f}" for f in figures.values()))
    out["common_joint_share"] = float(common.mean())
    return out


def reference_change_sheet(capture: RealCapture, extracted: CaptureViews, new: Reference, old: Reference,
                           path: Path, rows: int = 3, shrink: int = 4) -> list[int]:
    """Contact sheet of the frames where two references differ most (mean joint distance over the
    joints both kept, frames at least 5 apart): each view's detection (white, as detected; the heavy
    model's yellow where the capture has it), the old reference reprojected (red) and the new one
    (green). Returns the frames shown."""
    import cv2

    from random_people.pose.accuracy import LIMB_JOINTS

    a, b = new.triangulation.points, old.triangulation.points
    distance = np.nanmean(np.where((np.isfinite(a) & np.isfinite(b)).all(-1), np.linalg.norm(a - b, axis=-1), np.nan), -1)
    only_one = (np.isfinite(a).all(-1) != np.isfinite(b).all(-1)).sum(-1)
    score = np.nan_to_num(distance) + 0.05 * only_one  # a joint only one of them kept counts as 5 cm
    moments: list[int] = []
    for t in np.argsort(-score):
        if all(abs(int(t) - m) >= 5 for m in moments):
            moments.append(int(t))
        if len(moments) == rows:
            break
    moments.sort()
    projected = {kind: [camera.project(ref.triangulation.points) for camera in extracted.cameras]
                 for kind, ref in (("old", old), ("new", new))}

    def draw(v: int, t: int, image: np.ndarray) -> list[str]:
        if extracted.heavy is not None:
            _draw_limbs(image, extracted.heavy[0][v, t], (255, 230, 0), 3)
        for points, colour, width in ((extracted.pixels[v, t], (255, 255, 255), 3),
                                      (projected["old"][v][t], (230, 0, 0), 6),
                                      (projected["new"][v][t], (0, 220, 0), 6)):
            _draw_limbs(image, points, colour, width)
            # The left wrist and ankle marked, so a left/right swap shows.
            for name in ("left_wrist", "left_ankle"):
                p = points[LIMB_JOINTS.index(name)]
                if np.isfinite(p).all():
                    cv2.circle(image, tuple(int(x) for x in p), 3 * width, colour, -1)
        return [f"{distance[t] * 1000:.0f} mm apart" if np.isfinite(distance[t]) else ""]

    _view_sheet(capture, extracted.videos, moments, draw, path, shrink)
    return moments


def real_multiview(capture: RealCapture, views: list[int], settings, kinds: list[str]) -> tuple[dict, dict]:
    """Extract every view of ``capture`` on its own, triangulate the references (``kinds``, the
    first is the main one) from all four views' detections, score the requested views against
    each. Returns the figures and the references (to compare captures)."""
    extracted = extract_capture(capture, settings)
    if any(kind in NEEDS_HEAVY for kind in kinds):
        from conftest import fetch_pose_landmark_heavy

        extracted.heavy = detect_capture(capture, extracted, settings, fetch_pose_landmark_heavy())
    results, videos, cameras, fps = extracted.results, extracted.videos, extracted.cameras, extracted.fps
    frames = extracted.pixels.shape[1]
    out = {"demo": capture.demo, "about": capture.about, "reference": kinds[0],
           "person": {f"cam0{v}": capture.person[v] for v in range(1, 5)}, "by_reference": {}}
    references = {}
    for kind in kinds:
        references[kind] = build_reference(kind, extracted)
    credible = [kind for kind in kinds if kind in CREDIBLE_REFERENCES]
    # The main reference from 3 of the 4 cameras, each left out in turn (the scores' uncertainty).
    three_cameras = {left_out: build_reference(kinds[0], extracted, tuple(v for v in range(4) if v != left_out))
                     .triangulation.points for left_out in range(4)}
    common = np.logical_and.reduce([np.isfinite(r.triangulation.points).all(-1) for r in references.values()])
    out["criteria"] = {kind: reference_criteria(kind, references[kind], extracted, common) for kind in kinds}
    out["criteria_common_joints"] = float(common.mean())
    print_criteria(capture, out["criteria"])
    for kind in kinds:
        built = references[kind]
        reference = built.triangulation
        kept = np.isfinite(reference.points).all(-1)
        frames_scored = kept.sum(-1) >= 8
        per_view = reference_per_view(cameras, built.pixels, reference)
        swapped = "" if reference.swapped is None else (
            "; left/right relabelled in " + ", ".join(f"cam0{v + 1} {int(reference.swapped[:, v].any(-1).sum())}"
                                                      for v in range(4)) + " frames")
        print(f"reference {kind} ({capture.name}): {kept.mean():.1%} of limb joints triangulated from >= 3 agreeing "
              f"views ({frames_scored.sum()} of {frames} frames keep >= 8 of 12), views used per joint "
              f"{reference.views_used.sum(-1)[kept].mean():.2f}{swapped}")
        for name, figures in per_view.items():
            print(f"  {name}: reprojection {figures['reprojection_px_used']:.1f} px where used ({figures['used_share']:.0%} "
                  f"of kept joints), {figures['reprojection_px_all']:.1f} px over all it detected")
        figures = {"kept": float(kept.mean()), "frames": int(frames_scored.sum()),
                   "views_per_joint": float(reference.views_used.sum(-1)[kept].mean()), "reference_views": per_view,
                   "relabelled_frames": None if reference.swapped is None else
                   {f"cam0{v + 1}": int(reference.swapped[:, v].any(-1).sum()) for v in range(4)}, "views": {}}
        if kind == kinds[0]:
            sheet = SHEET.parent / f"pose_reference_{capture.name}.png"
            reference_sheet(capture, videos, cameras, built.pixels, reference, sheet)
            print(f"contact sheet (reference reprojected green, each view's detection with the reference's labels red): {sheet}")
        print(f"{'capture':12} {'view':6} {'frames':>6} {'fit median':>11} {'mean':>7} {'flipped':>8} | "
              f"{'MediaPipe median':>16} {'mean':>7} {'flipped':>8}   (reference {kind})")
        for view in views:
            s = score_view(results[view], reference.points, cameras[view - 1], fps)
            figures["views"][f"cam0{view}"] = s
            print(f"{capture.name:12} cam0{view:<2} {s['frames']:>6} {s['fit_median_mm']:>8.1f} mm {s['fit_mean_mm']:>7.1f} "
                  f"{s['fit_flipped']:>8.0%} | {s['mediapipe_median_mm']:>13.1f} mm {s['mediapipe_mean_mm']:>7.1f} "
                  f"{s['mediapipe_flipped']:>8.0%}")
            low, high = s["fit_median_interval_mm"]
            print(f"{'':12} fit median's 95 % interval over the clip's frames (blocks of 10): {low:.1f}-{high:.1f} mm")
            if kind == kinds[0]:
                s["reference_uncertainty"] = uncertainty = reference_uncertainty(
                    extracted, view, s, {k: references[k] for k in credible}, kind, three_cameras)
                print(f"{'':12} {uncertainty_line(uncertainty, kind)}")
            print(f"{'':12} limb depth vs reference: {limb_depth_line(s)}")
        if kind != "legacy" and "legacy" in kinds:
            # The same fits on only the frames the legacy reference could score (>= 8 joints), so
            # a change of score is not just a change of which frames are scored.
            legacy = build_reference("legacy", extracted).triangulation.points
            scorable = (np.isfinite(legacy).all(-1).sum(-1) >= 8)[:, None, None]
            figures["views_on_legacy_frames"] = {}
            line = []
            for view in views:
                s = score_view(results[view], np.where(scorable, reference.points, np.nan), cameras[view - 1], fps)
                figures["views_on_legacy_frames"][f"cam0{view}"] = s
                line.append(f"cam0{view} fit {s['fit_median_mm']:.1f} / MediaPipe {s['mediapipe_median_mm']:.1f} mm")
            print(f"  on the {int(scorable.sum())} frames the legacy reference scores: " + ", ".join(line))
        out["by_reference"][kind] = figures
    # The main reference's figures also where earlier versions of this JSON had them.
    main = out["by_reference"][kinds[0]]
    out.update({"reference_kept": main["kept"], "reference_frames": main["frames"],
                "reference_views": main["reference_views"], "views": main["views"]})
    # Where the main reference differs most from the one before it (consistent, else legacy).
    if before := next((k for k in ("consistent", "legacy") if k in kinds and k != kinds[0]), None):
        sheet = SHEET.parent / f"pose_reference_change_{capture.name}.png"
        moments = reference_change_sheet(capture, extracted, references[kinds[0]], references[before], sheet)
        heavy = ", heavy model's detection yellow" if extracted.heavy is not None else ""
        print(f"contact sheet (frames {moments} where the references differ most; full model's detection white{heavy}, "
              f"{before} red, {kinds[0]} green, dots on the left wrist and ankle): {sheet}")
    return out, references


def reference_criteria(kind: str, reference: Reference, extracted: CaptureViews, common: np.ndarray) -> dict:
    """How true a reference is, judged without any fit (so a reference is never chosen for the
    score it gives): the share of limb joints kept; the coefficient of variation of the 8 limb
    bones' lengths (median over bones, %), over the clip and over frames 40-79 (the spin into the
    lunge, the hardest stretch); the left/right difference of the 4 limb bone pairs' lengths (mean,
    %); and leave-one-view-out reprojection: ``kind`` triangulated from 3 cameras, reprojected into
    the 4th and compared with that camera's detections by each model (median px, mean over the 4
    views; over the clip and over frames 40-79). The bone figures again on ``common`` [frames, 12]
    (the joints every reference compared keeps), so a reference that drops hard joints is not
    flattered by it."""
    from random_people.pose.accuracy import LIMB_BONES, LIMB_JOINTS
    from random_people.pose.multiview import bone_length_variation, held_out_error_px, left_right_asymmetry

    points = reference.triangulation.points
    shared = np.where(common[..., None], points, np.nan)
    bones = [(LIMB_JOINTS.index(a), LIMB_JOINTS.index(b)) for a, b in LIMB_BONES.values()]
    names = list(LIMB_BONES)
    pairs = [(bones[names.index(f"left_{bone}")], bones[names.index(f"right_{bone}")])
             for bone in ("upper_arm", "forearm", "thigh", "shin")]
    sides = [(LIMB_JOINTS.index(f"left_{part}"), LIMB_JOINTS.index(f"right_{part}"))
             for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
    detectors = {"full": (extracted.pixels, extracted.confidence)}
    if extracted.heavy is not None:
        detectors["heavy"] = extracted.heavy
    held_out: dict[str, dict[str, list[float]]] = {d: {"all": [], "40-79": []} for d in detectors}
    for view in range(4):
        without = build_reference(kind, extracted, tuple(v for v in range(4) if v != view)).triangulation.points
        for name, (pixels, confidence) in detectors.items():
            error = held_out_error_px(extracted.cameras[view], without, pixels[view], confidence[view], sides)
            held_out[name]["all"].append(float(np.nanmedian(error)))
            held_out[name]["40-79"].append(float(np.nanmedian(error[40:80])))
    return {"kept": float(np.isfinite(points).all(-1).mean()),
            "bone_cv_percent": float(np.nanmedian(bone_length_variation(points, bones)) * 100),
            "bone_cv_40_79_percent": float(np.nanmedian(bone_length_variation(points, bones, slice(40, 80))) * 100),
            "left_right_asymmetry_percent": float(np.mean(left_right_asymmetry(points, pairs)) * 100),
            "bone_cv_common_percent": float(np.nanmedian(bone_length_variation(shared, bones)) * 100),
            "bone_cv_common_40_79_percent": float(np.nanmedian(bone_length_variation(shared, bones, slice(40, 80))) * 100),
            "left_right_asymmetry_common_percent": float(np.mean(left_right_asymmetry(shared, pairs)) * 100),
            "held_out_px": {name: {rows: float(np.mean(values)) for rows, values in figures.items()}
                            for name, figures in held_out.items()},
            "held_out_px_per_view": {name: figures["all"] for name, figures in held_out.items()}}


def print_criteria(capture: RealCapture, criteria: dict[str, dict]) -> None:
    """The table of :func:`reference_criteria`, one row per reference."""
    print(f"references of {capture.name} judged without any fit: joints kept, bone length variation (CV, median over "
          "the 8 limb bones, %, clip / frames 40-79), left/right bone difference (%), leave-one-view-out "
          "reprojection against each model's detections (px, clip / 40-79); in brackets on the joints every one keeps")
    for kind, c in criteria.items():
        held = "; ".join(f"{name} {f['all']:.1f} / {f['40-79']:.1f}" for name, f in c["held_out_px"].items())
        print(f"  {kind:11} kept {c['kept']:6.1%}  bone CV {c['bone_cv_percent']:4.1f} / {c['bone_cv_40_79_percent']:4.1f} "
              f"(common joints {c['bone_cv_common_percent']:4.1f} / {c['bone_cv_common_40_79_percent']:4.1f})  "
              f"left/right {c['left_right_asymmetry_percent']:4.1f} ({c['left_right_asymmetry_common_percent']:4.1f})  "
              f"held-out {held}")


def reference_uncertainty(extracted: CaptureViews, view: int, scored: dict, credible: dict[str, Reference],
                          kind: str, three_cameras: dict[int, np.ndarray]) -> dict:
    """How much view ``view``'s fit median depends on the reference, beside its interval over frames:
    the median against each credible reference (``credible``, e.g. one model's detections or both)
    and their range; and against ``kind`` triangulated from 3 cameras only (``three_cameras``: the
    0-based camera left out -> points; a joint kept where 2 of them agree), once without the scored
    view (a reference its own detections took no part in, so the fit cannot be flattered by
    sharing that view's detector errors) and, as the yardstick of what one camera fewer costs by
    itself, the mean over leaving out each other camera. The difference of the two is how much the
    scored view's own detections in the 4-camera reference flatter its score."""
    by_reference = {name: score_view(extracted.results[view], ref.triangulation.points, extracted.cameras[view - 1],
                                     extracted.fps)["fit_median_mm"] for name, ref in credible.items()}
    by_reference.setdefault(kind, scored["fit_median_mm"])
    medians = {left_out: score_view(extracted.results[view], points, extracted.cameras[view - 1],
                                    extracted.fps)["fit_median_mm"] for left_out, points in three_cameras.items()}
    return {"by_reference_mm": by_reference, "range_mm": [min(by_reference.values()), max(by_reference.values())],
            "without_view_mm": medians[view - 1],
            "without_another_view_mm": float(np.mean([m for left_out, m in medians.items() if left_out != view - 1])),
            "three_cameras_mm": {f"without_cam0{left_out + 1}": m for left_out, m in medians.items()}}


def uncertainty_line(uncertainty: dict, kind: str) -> str:
    """One printed line of :func:`reference_uncertainty`."""
    low, high = uncertainty["range_mm"]
    each = ", ".join(f"{name} {value:.1f}" for name, value in uncertainty["by_reference_mm"].items())
    return (f"fit median over the references ({each}): {low:.1f}-{high:.1f} mm; against {kind} from 3 cameras: "
            f"{uncertainty['without_view_mm']:.1f} mm without this view, {uncertainty['without_another_view_mm']:.1f} "
            f"without another (mean)")


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

    from random_people.errors import NoPersonError

    people = sample_identities(identities, 16, IdentityDistribution(mode="balanced", age_range=(18.0, 70.0)))
    skipped: list[dict] = []
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
                try:
                    result = extract_clip(clip.video_path, work, name=f"rt_{spec.id}_{view}_x", settings=settings,
                                          make_preview=False)
                except NoPersonError as error:
                    # A small, far render the detector barely finds (~80 px tall from the high camera)
                    # can be lost after its first frame; score the others rather than lose the run.
                    skipped.append({"motion": motion_name, "person": spec.id, "view": view, "error": str(error)})
                    print(f"  {motion_name:13} {spec.id[:10]:10} {view:5}: SKIPPED, {error}")
                    continue
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
    out = {"identities": identities, "views": {}, "skipped": skipped}
    for view in views:
        if view not in pooled:
            continue
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
    parser.add_argument("--reference", default="combined,consistent,heavy,legacy",
                        help=f"how the real captures' references are triangulated, comma-separated, the first is the "
                             f"main one, every one is scored ({', '.join(REFERENCES)})")
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
    kinds = [k.strip() for k in args.reference.split(",") if k.strip()]
    if not kinds or (unknown := [k for k in kinds if k not in REFERENCES]):
        raise SystemExit(f"--reference: expected a comma-separated list of {', '.join(REFERENCES)}, got {args.reference!r}")

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
            references = {}
            for name in captures:
                capture = REAL_CAPTURES[name]
                print(f"(b) Real multi-view: Pose2Sim {capture.demo} ({capture.about}), "
                      "single-view extraction vs 4-view triangulation")
                figures["real_multiview"][name], references[name] = real_multiview(
                    capture, [int(v) for v in args.views.split(",")], settings, kinds)
            if {"multiperson", "singleperson"} <= set(references):
                figures["references_agreement"] = print_agreement(references)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["seconds"] = time.perf_counter() - started
    print(f"peak RSS: {figures['peak_rss_mb']:.0f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
