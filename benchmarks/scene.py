"""Benchmark: the clip's own scene as background (clean plates, ``--background source``).

On real clips from PyPI wheels -- the Sports2D demo (a man doing jumping jacks on a roof, a woman
walking past; the man is removed, she stays) and the four static cameras of Pose2Sim's
``Demo_MultiPerson`` (three people; the one MediaPipe tracks longest is removed) -- it measures:

* **Build cost**: plate build time per second of video (wall and CPU), peak RSS of a process that
  only builds the plate (a fresh data dir, so nothing is cached), the memory the median holds,
  and the machine's load average before and after each build (the machine is shared).
* **Ghost check**: MediaPipe Pose (static image mode, the bundled model) on every cleaned frame
  -- real pixels outside the removed person, plate inside -- cropped around where the person was
  (twice their size, so a small distant person is not simply too small to find), up to three
  people per crop (each painted out before looking again); a frame has a ghost when someone
  found there is the *removed* person: within half a torso of the track's landmarks and nearer
  to them than to anyone else found in the original crop (the people who stay) -- with
  ``--person``, also than to the other people the follower tracks (where two people overlap, the
  search of the original crop often finds only one). The same detector on the same crops of the
  original frames is the baseline. Reported per clip.
* **Masks**: the plate's masks (keyframes segmented, carried in between) against segmenting
  every frame: the share of the every-frame mask they miss.
* **Stayer erased** (clips with people who stay): the share of them the plate's masks take, so
  the plate replaces them: each other person of the first frame, followed through the clip, is
  segmented by MediaPipe Pose (still-picture mode, the bundled model) in a crop around them with
  the removed person's every-frame mask painted out, kept near their own skeleton and outside
  that mask (where the removed person is in front of them, masking them is right). It includes
  the removed person's body-mask margin where the two touch; the ghost check cannot see it.
* **Inpainting PSNR where it can be known**: a person-shaped hole (a frame's mask) moved to where
  the person never goes is inpainted the same way (Telea; Navier-Stokes for comparison) and
  compared with the real plate pixels there.
* **Actor swap, judged**: new people rendered into the Sports2D demo's own scene
  (``render_motion_clip(background="source")``), scored by the judge
  (:mod:`random_people.judge`: MediaPipe Pose PCK@0.1 on limb joints against our labels).
* **Before / after**: one frame of the same person over the shipped cartoon park and over the
  clip's own scene, beside the original frame: ``benchmarks/results/scene_before_after.png``.

    python benchmarks/scene.py [--identities 3] [--render-seconds 2.0] [--fps 30] [--skip-render]

Build speed against a baseline, alternated build by build (make the baseline a worktree first,
e.g. ``git worktree add ../base main``; the tracks of an earlier run in ``--work`` are reused)::

    python benchmarks/scene.py --alternate ../base --rounds 3 --cameras cam01,cam04 --work DIR

Figures go to stdout and ``benchmarks/results/scene.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import fetch_demo_clip, fetch_pose2sim_clip  # noqa: E402  (real clips from PyPI wheels)

from random_people.media import probe_video, read_frames  # noqa: E402
from random_people.render.plate import DEFAULT_MAX_SIDE, INPAINT_RADIUS, clean_frame, load_plate  # noqa: E402
from random_people.render.plate_masks import PersonTrack, landmark_distance, same_person  # noqa: E402

WORK = Path.home() / ".cache" / "random-people-bench" / "scene"
RESULTS = REPO / "benchmarks" / "results"
MULTI_CAMERAS = ("cam01", "cam02", "cam03", "cam04")


# --------------------------------------------------------------------------------------------
# The removed person's track
# --------------------------------------------------------------------------------------------


def demo_motion(work: Path):
    """The Sports2D demo's motion (whole clip; extraction follows the largest person of the first frame, the man)."""
    from random_people.pose.extract import extract_clip
    from random_people.pose.motion import load_motion
    from random_people.settings import load_settings

    path = work / "motions" / "demo.npz"
    if not path.exists():
        extract_clip(fetch_demo_clip(), path.parent, label="jumping_jacks", name="demo",
                     settings=load_settings(data_dir=work / "extract-data"), make_preview=False)
    return load_motion(path)


def landmark_track(clip: Path, person: str | None = None) -> PersonTrack:
    """The tracked person's filtered 2D landmarks (detector + person selection, no body fit).

    ``person`` (as ``extract --person``: largest, leftmost, N, x,y) follows that person of the first
    frame with everybody else tracked and painted out, as the product does; None does what
    extraction does without ``--person`` (the largest person of the first frame, followed the same
    way; before EXTRACTION_FORMAT 2 it kept the single detector's longest stretch, which on
    Pose2Sim's cam03 drifted from the man to the woman passing behind him)."""
    from random_people.pose.filtering import filter_track
    from random_people.pose.landmarks import detect_landmarks
    from random_people.pose.tracking import keep_longest_person

    info = probe_video(clip)
    follow, others = None, []
    chosen, rest = _whom(clip, person)
    if chosen is not None:
        follow, others = chosen.landmarks_xy, [p.landmarks_xy for p in rest]
    frames = read_frames(clip, max_side=640)
    track = keep_longest_person(detect_landmarks(frames, info.fps, (info.width, info.height), max_side=640,
                                                 follow=follow, others=others)).track
    filtered = filter_track(track)
    return PersonTrack(track.frame_times.astype(np.float64), np.asarray(filtered.image_xy, np.float64),
                       (info.width, info.height))


def _whom(clip: Path, person: str | None):
    """(chosen PersonBox or None, the others) as extraction picks them: ``person`` of the first
    frame, or without it the product's default (the largest; None when the first frame is empty)."""
    from random_people.pose.extract import default_person_of_clip, pick_person

    return pick_person(clip, person) if person is not None else default_person_of_clip(clip)


def others_trails(clip: Path, person: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(frame_times [T], landmarks [K, T, 33, 2])``: where each *other* person of the first frame
    is in every frame (source pixels, NaN where lost), as the follower that extracts ``person``
    tracks them (each with their own detector, everybody else painted out of their crop).

    The ghost check counts these people as staying in the scene: where they overlap the removed
    person (Pose2Sim cam03: the woman right in front of the man) the detector searching the
    original crop often finds only one of the two, and a stayer it never found there would
    otherwise pass for the removed person's ghost when she alone is found in the cleaned frame."""
    from random_people.pose.landmarks import PoseDetector
    from random_people.pose.tracking import follow_people

    info = probe_video(clip)
    chosen, rest = _whom(clip, person)
    if chosen is None:
        return None
    times: list[float] = []
    people = follow_people(read_frames(clip, max_side=640), (info.width, info.height), chosen.landmarks_xy,
                           [p.landmarks_xy for p in rest], lambda: PoseDetector(max_side=640), info.fps,
                           lambda frame, detection: times.append(frame.time))
    nan = np.full((33, 2), np.nan)
    trails = [[nan if xy is None else np.asarray(xy, np.float64) for xy in p.trail] for p in people[1:]]
    return np.asarray(times), np.asarray(trails, np.float64).reshape(len(trails), len(times), 33, 2)


def save_track(track: PersonTrack, path: Path, others: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    extra = {} if others is None else {"others_times": others[0], "others": others[1]}
    np.savez(path, frame_times=track.frame_times, landmarks=track.landmarks, image_size=np.array(track.image_size),
             **extra)


def read_track(path: Path) -> PersonTrack:
    with np.load(path) as data:
        return PersonTrack(data["frame_times"], data["landmarks"], tuple(int(v) for v in data["image_size"]))


def read_others(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    with np.load(path) as data:
        return (data["others_times"], data["others"]) if "others" in data else None


# --------------------------------------------------------------------------------------------
# Build (in a child process, so its peak RSS is the plate's alone)
# --------------------------------------------------------------------------------------------


def _proc_status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process from /proc, in MB. Unlike
    ``ru_maxrss``, the peak starts afresh at exec, so the parent's memory does not leak into it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_child(clip: str, track_path: str, data_dir: str) -> None:
    """``--build``: build one plate from scratch and print its figures as JSON."""
    from random_people.render.plate import build_plate
    from random_people.settings import load_settings

    import mediapipe  # noqa: F401 - counted in the baseline: any process that builds plates has it loaded

    track = read_track(Path(track_path))
    baseline_mb = _proc_status_mb("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    plate = build_plate(clip, track, settings=load_settings(data_dir=data_dir))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    duration = len(plate.frame_times) / probe_video(clip).fps
    print(json.dumps({"folder": str(plate.folder), "frames": len(plate.frame_times), "video_s": duration,
                      "build_s": wall, "cpu_s": cpu, "build_s_per_video_s": wall / duration,
                      "cpu_s_per_video_s": cpu / duration,
                      "peak_rss_mb": _proc_status_mb("VmHWM"),
                      "rss_before_build_mb": baseline_mb, **plate.stats}))


def build(clip: Path, track: PersonTrack, work: Path, name: str, code: Path = REPO) -> dict[str, Any]:
    """One plate built from scratch in a child process running the code in ``code`` (a checkout
    of this repository: this one, or a baseline's worktree)."""
    track_path = work / "tracks" / f"{name}.npz"
    track_path.parent.mkdir(parents=True, exist_ok=True)
    save_track(track, track_path)
    data_dir = work / "data" / name
    subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    load_before = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run([sys.executable, str(code / "benchmarks" / "scene.py"), "--build", str(clip), str(track_path),
                          str(data_dir)], check=True, capture_output=True, text=True, cwd=str(code), env=env)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load_1min_before": round(load_before, 2),
            "load_1min_after": round(os.getloadavg()[0], 2)}


def alternate(clips: dict[str, tuple[Path, PersonTrack]], base: Path, rounds: int, work: Path, out: Path) -> None:
    """Builds only: the baseline checkout ``base`` and this one, alternated build by build for
    ``rounds`` rounds (the shared machine's speed changes by the minute; only builds timed in the
    same minutes compare). Every build is a JSON line in ``out``; the medians and new/base ratios
    are printed with the load and peak RSS."""
    records: list[dict[str, Any]] = []
    with out.open("a") as lines:
        for round_ in range(rounds):
            for name, (clip, track) in clips.items():
                for label, code in (("base", base), ("new", REPO)):
                    built = build(clip, track, work, name, code)
                    record = {"round": round_, "clip": name, "code": label, "checkout": str(code),
                              **{k: built[k] for k in ("build_s_per_video_s", "cpu_s_per_video_s", "peak_rss_mb",
                                                       "load_1min_before", "load_1min_after")},
                              "stage_cpu_s_per_video_s": built.get("stage_cpu_s_per_video_s")}
                    records.append(record)
                    lines.write(json.dumps(record) + "\n")
                    lines.flush()
                    print(f"round {round_} {name:24s} {label:4s} wall {record['build_s_per_video_s']:.2f} "
                          f"cpu {record['cpu_s_per_video_s']:.2f} s per video-s  rss {record['peak_rss_mb']:.0f} MB  "
                          f"load {record['load_1min_before']:.1f}", flush=True)
    print("\n== alternated builds: median over rounds (new/base)")
    for name in clips:
        figures = {}
        for label in ("base", "new"):
            mine = [r for r in records if r["clip"] == name and r["code"] == label]
            figures[label] = {key: float(np.median([r[key] for r in mine]))
                              for key in ("build_s_per_video_s", "cpu_s_per_video_s", "peak_rss_mb")}
        loads = [r["load_1min_before"] for r in records if r["clip"] == name]
        b, n = figures["base"], figures["new"]
        print(f"{name:24s} wall {b['build_s_per_video_s']:.2f} -> {n['build_s_per_video_s']:.2f} "
              f"({n['build_s_per_video_s'] / b['build_s_per_video_s']:.2f}x)  cpu {b['cpu_s_per_video_s']:.2f} -> "
              f"{n['cpu_s_per_video_s']:.2f} ({n['cpu_s_per_video_s'] / b['cpu_s_per_video_s']:.2f}x) s per video-s  "
              f"peak rss {b['peak_rss_mb']:.0f} -> {n['peak_rss_mb']:.0f} MB  load {min(loads):.1f}-{max(loads):.1f}")


# --------------------------------------------------------------------------------------------
# Ghost check and inpainting
# --------------------------------------------------------------------------------------------


def _crop_box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A square around the person, twice their landmark box's larger side (clipped to the frame)."""
    ok = np.isfinite(points).all(axis=1)
    if ok.sum() < 4:
        return None
    low, high = points[ok].min(axis=0), points[ok].max(axis=0)
    centre, side = (low + high) / 2, 2.0 * float(max(high - low)) + 16
    h, w = shape
    x0, y0 = int(max(0, centre[0] - side / 2)), int(max(0, centre[1] - side / 2))
    x1, y1 = int(min(w, centre[0] + side / 2)), int(min(h, centre[1] + side / 2))
    return (x0, y0, x1, y1) if x1 - x0 > 8 and y1 - y0 > 8 else None


def _people(pose, image: np.ndarray, box: tuple[int, int, int, int], most: int = 3) -> list[np.ndarray]:
    """Up to ``most`` people ([33, 3]: x, y in frame pixels, visibility) in ``image`` cropped to
    ``box``: find one, paint them out with their segmentation, look again (as pose/people.py does)."""
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(image[y0:y1, x0:x1]).copy()
    found = []
    for _ in range(most):
        result = pose.process(crop)
        if result.pose_landmarks is None:
            break
        found.append(np.array([(p.x * (x1 - x0) + x0, p.y * (y1 - y0) + y0, p.visibility)
                               for p in result.pose_landmarks.landmark]))
        if result.segmentation_mask is None:
            break
        painted = cv2.dilate((result.segmentation_mask > 0.3).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        if painted.mean() < 0.005:
            break
        crop[painted] = 127
    return found


def ghost_check(plate, track: PersonTrack, clip: Path,
                others: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """How often MediaPipe finds the removed person in the original and in the cleaned frames.

    The detector looks at a square crop around where the person is (twice their size): on a
    whole 640-pixel frame it misses a small, distant person even when they are there, which
    would make any plate pass. Both the original and the cleaned frame get the same crop, and in
    both up to three people are found (each painted out before looking again), so a neighbour
    found first cannot hide a ghost behind them.

    A person found in the cleaned crop is a **ghost** when they are the removed person: their
    landmarks lie within half a torso of the track's (``same_person``) *and* nearer to the
    track's than to every other person found in the original crop -- the people who stay in the
    scene (a woman standing next to the removed man is not his ghost, even when the track's
    landmarks stray onto her). ``found_in_cleaned_any_match`` keeps the looser count (anyone
    within half a torso of the track's landmarks) for comparison.

    With ``others`` (:func:`others_trails`: the other people of the first frame, followed through
    the clip), those people at that frame count among the people who stay, too: where two people
    overlap, the search of the original crop often finds only one of them.
    ``found_in_cleaned_crop_stayers_only`` is the count without them.
    """
    import mediapipe as mp

    counts = {"original": 0, "cleaned": 0, "cleaned_any_match": 0, "cleaned_crop_stayers_only": 0}
    frames = 0
    ghost_frames: list[float] = []
    crop_only_frames: list[float] = []  # the frames the count without the followed people calls ghosts
    stayer_frames = 0
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        reader = read_frames(clip, plate.start, plate.end, max_side=DEFAULT_MAX_SIDE)
        for index, (frame, mask) in enumerate(zip(reader, plate.masks())):
            h, w = frame.rgb.shape[:2]
            row = track.nearest(frame.time)
            points = track.landmarks[row] * np.array([w / track.image_size[0], h / track.image_size[1]])
            box = _crop_box(points, (h, w))
            if box is None:
                continue
            frames += 1
            original = _people(pose, frame.rgb, box)
            removed = [p for p in original if same_person(p, points)]
            if removed:
                counts["original"] += 1
            target = min(removed, key=lambda p: landmark_distance(p, points)) if removed else None
            stayers = [p[:, :2] for p in original if p is not target]
            crop_stayers = list(stayers)
            if others is not None:
                at = int(np.argmin(np.abs(others[0] - frame.time)))
                scale = np.array([w / track.image_size[0], h / track.image_size[1]])
                stayers += [person[at] * scale for person in others[1] if np.isfinite(person[at]).all()]
            stayer_frames += bool(stayers)
            cleaned = clean_frame(frame.rgb, mask, plate.transforms[index], plate)
            matches = [p for p in _people(pose, cleaned, box) if same_person(p, points)]
            counts["cleaned_any_match"] += bool(matches)

            def nearest_the_track(p: np.ndarray, people: list[np.ndarray]) -> bool:
                return all(landmark_distance(p, points) < landmark_distance(p, s) for s in people)

            if any(nearest_the_track(p, crop_stayers) for p in matches):
                counts["cleaned_crop_stayers_only"] += 1
                crop_only_frames.append(round(frame.time, 2))
            ghosts = [p for p in matches if nearest_the_track(p, stayers)]
            if ghosts:
                counts["cleaned"] += 1
                ghost_frames.append(round(frame.time, 2))
    n = max(1, frames)
    return {"frames": frames, "found_in_original": counts["original"] / n, "found_in_cleaned": counts["cleaned"] / n,
            "found_in_cleaned_any_match": counts["cleaned_any_match"] / n,
            "found_in_cleaned_crop_stayers_only": counts["cleaned_crop_stayers_only"] / n,
            "others_followed": 0 if others is None else int(len(others[1])), "frames_with_others_nearby": stayer_frames,
            "ghost_frame_times": ghost_frames[:40], "crop_stayers_only_frame_times": crop_only_frames[:40]}


def mask_check(plate, track: PersonTrack, clip: Path,
               others: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """The plate's masks (segmented on keyframes, carried in between) against segmenting every
    frame (the same masker with ``keyframe_every=1``): the share of the every-frame mask each
    plate mask misses (what could show as a ghost) and adds (plate where real pixels were).

    With ``others`` (:func:`others_trails`), also how much of **the people who stay** the plate's
    mask takes (``stayer_erased``, see :func:`_stayer_pixels`): the plate replaces those pixels,
    so parts of somebody who stays vanish -- which the ghost check, looking for the removed
    person, cannot see (issue 14: the removed woman's limb masks on cam01's man who stays)."""
    import mediapipe as mp

    from random_people.render.plate import _landmarks_for
    from random_people.render.plate_masks import PoseSegmentationMasker, frame_masks

    fps = probe_video(clip).fps

    def items():
        for frame in read_frames(clip, plate.start, plate.end, max_side=DEFAULT_MAX_SIDE):
            h, w = frame.rgb.shape[:2]
            yield (frame.time, frame.rgb), frame.rgb, _landmarks_for(track, frame.time, fps, (w / track.image_size[0],
                                                                                             h / track.image_size[1]))

    missed, added = [], []
    stayer_px = erased_px = 0
    erased_frames: list[tuple[float, float]] = []  # (time, share) where > 2% of a stayer is taken
    with PoseSegmentationMasker(keyframe_every=1) as every, \
            mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        for ((time_, rgb), full), ours in zip(frame_masks(every, items()), plate.masks()):
            if full.any():
                missed.append(float((full & ~ours).sum() / full.sum()))
                added.append(float((ours & ~full).sum() / full.sum()))
            if others is None:
                continue
            h, w = rgb.shape[:2]
            at = int(np.argmin(np.abs(others[0] - time_)))
            scale = np.array([w / track.image_size[0], h / track.image_size[1]])
            for person in others[1]:
                theirs = _stayer_pixels(pose, rgb, person[at] * scale, full)
                if theirs is None:
                    continue
                taken = int((theirs & ours).sum())
                stayer_px += int(theirs.sum())
                erased_px += taken
                if taken > 0.02 * theirs.sum():
                    erased_frames.append((round(float(time_), 2), round(taken / float(theirs.sum()), 3)))
    if not missed:
        return {"frames": 0}
    result = {"frames": len(missed), "missed_mean": float(np.mean(missed)),
              "missed_p95": float(np.percentile(missed, 95)), "missed_max": float(np.max(missed)),
              "added_mean": float(np.mean(added))}
    if others is not None:
        result.update({"stayer_erased": erased_px / max(1, stayer_px), "stayer_px": stayer_px,
                       "stayer_erased_frames": len(erased_frames),
                       "stayer_erased_worst": sorted(erased_frames, key=lambda f: -f[1])[:10]})
    return result


def _stayer_pixels(pose, rgb: np.ndarray, points: np.ndarray, removed: np.ndarray) -> np.ndarray | None:
    """[H, W] bool: a person who stays, at landmarks ``points`` ([33, 2], from the follower), as
    MediaPipe Pose's segmentation sees them in a crop around them (still-picture mode, the bundled
    model) -- only when the person it finds there is them (:func:`same_person`), only near their
    own skeleton (the segmenter spreads onto a person beside them), and not where the removed
    person's every-frame mask ``removed`` is (where the removed person is in front, masking them
    is right). None when they are not in the frame or not found."""
    from random_people.render.plate_masks import dilate, landmark_silhouette, torso_length

    if np.isfinite(points).all(axis=1).sum() < 8:  # too few landmarks to find them by
        return None
    box = _crop_box(points, rgb.shape[:2])
    if box is None:
        return None
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1]).copy()
    painted = dilate(removed, 2)[y0:y1, x0:x1]  # the removed person out, so the look finds the stayer
    if painted.any() and (~painted).any():
        crop[painted] = np.median(crop[~painted], axis=0).astype(np.uint8)
    for _ in range(3):  # somebody else found first (the removed person's remains, a third person): out, again
        result = pose.process(crop)
        if result.pose_landmarks is None or result.segmentation_mask is None:
            return None
        found = np.array([(p.x * (x1 - x0) + x0, p.y * (y1 - y0) + y0, p.visibility)
                          for p in result.pose_landmarks.landmark])
        if same_person(found, points):
            break
        other = dilate(result.segmentation_mask > 0.3, 4)
        if other.mean() < 0.005 or other.all():
            return None
        crop[other] = np.median(crop[~other], axis=0).astype(np.uint8)
    else:
        return None
    near = dilate(landmark_silhouette(points, rgb.shape[:2]), 2 + int(round(0.15 * torso_length(points))))
    theirs = np.zeros(rgb.shape[:2], bool)
    theirs[y0:y1, x0:x1] = result.segmentation_mask > 0.5
    return theirs & near & ~dilate(removed, 2)


def inpainting_psnr(plate, placements: int = 6) -> dict[str, Any]:
    """PSNR of the inpainting on person-shaped holes where the scene is known (never covered)."""
    masks = list(plate.masks())
    ever = np.any(masks, axis=0)
    sizes = [m.sum() for m in masks]
    shape = masks[int(np.argsort(sizes)[len(sizes) // 2])]  # a median-sized person
    ys, xs = np.nonzero(shape)
    hole_h, hole_w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    local = shape[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = shape.shape
    candidates = []
    for y0 in range(0, h - hole_h + 1, max(4, hole_h // 4)):
        for x0 in range(0, w - hole_w + 1, max(4, hole_w // 4)):
            region = ever[y0:y0 + hole_h, x0:x0 + hole_w]
            margin = ever[max(0, y0 - 8):y0 + hole_h + 8, max(0, x0 - 8):x0 + hole_w + 8]
            if not (region & local).any() and not margin.any():
                candidates.append((y0, x0))
    if not candidates:
        return {"placements": 0, "note": "the person covers too much of the frame to hide a person-sized region"}
    picks = [candidates[i] for i in np.linspace(0, len(candidates) - 1, min(placements, len(candidates))).astype(int)]
    result: dict[str, Any] = {"placements": len(picks), "hole_px": int(local.sum())}
    for name, method in (("telea", cv2.INPAINT_TELEA), ("navier_stokes", cv2.INPAINT_NS)):
        values = []
        for y0, x0 in picks:
            hole = np.zeros((h, w), np.uint8)
            hole[y0:y0 + hole_h, x0:x0 + hole_w] = local
            filled = cv2.inpaint(np.ascontiguousarray(plate.image), hole, INPAINT_RADIUS, method)
            error = (filled[hole > 0].astype(np.float64) - plate.image[hole > 0]) ** 2
            values.append(10 * np.log10(255.0 ** 2 / max(error.mean(), 1e-9)))
        result[f"psnr_{name}_db"] = float(np.mean(values))
    return result


# --------------------------------------------------------------------------------------------
# Actor swap: render into the scene, judge, before/after picture
# --------------------------------------------------------------------------------------------


def actor_swap(motion, work: Path, identities: int, seconds: float, fps: float) -> dict[str, Any]:
    """The same people rendered into the clip's own scene and over the cartoon park, judged
    (PCK@0.1, detection rate, mask IoU), beside the detector on the real person at that size."""
    from random_people.avatar.pipeline import parse_size, render_motion_clip
    from random_people.avatar.sampler import sample_identities
    from random_people.judge import Judge, pool
    from random_people.judge.reference import score_real_reference
    from random_people.settings import load_settings

    settings = load_settings(data_dir=work / "data" / "render")
    people = sample_identities(identities, 11)
    out = work / "renders"
    frames = int(seconds * fps)
    records: list[dict[str, Any]] = []
    scores: dict[str, list] = {"source": [], "park": []}
    with Judge(mode="video") as judge:
        for person in people:
            for background in ("source", "park"):
                started = time.perf_counter()
                clip = render_motion_clip(motion, person, out, name=f"{person.id}_{background}", background=background,
                                          fps=fps, max_frames=frames, settings=settings, source_clip=fetch_demo_clip())
                score = judge.score_clip(clip.video_path, clip.labels_path, clip.mask_path)
                scores[background].append(score)
                records.append({"identity": person.id, "background": background, "frames": clip.frames,
                                "render_s": time.perf_counter() - started, **score.summary()})
    size = parse_size(None, motion, 512)
    start = float(motion.frame_times[0])
    real, _ = score_real_reference(fetch_demo_clip(), size, start=start, end=start + seconds,
                                   every=max(1, round(motion.fps / fps)))
    return {"size": list(size), "clips": records, "pooled_source": pool(scores["source"]).summary(),
            "pooled_park": pool(scores["park"]).summary(), "real_person_reference": real.summary()}


def before_after(motion, work: Path, path: Path) -> Path:
    """Original frame | new person over the cartoon park | new person in the clip's own scene."""
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import sample_identities
    from random_people.media import read_frames as read
    from random_people.render.backgrounds import cover_crop
    from random_people.settings import load_settings

    settings = load_settings(data_dir=work / "data" / "render")
    person = sample_identities(1, 23)[0]
    frames = 31  # ~1 s in: arms up
    images = {}
    for background in ("park", "source"):
        clip = render_motion_clip(motion, person, work / "before_after", name=f"ba_{background}",
                                  background=background, max_frames=frames, long_side=640, settings=settings,
                                  source_clip=fetch_demo_clip())
        images[background] = list(read(clip.video_path))[-1].rgb
    h, w = images["source"].shape[:2]
    source_time = float(motion.frame_times[frames - 1])
    original = next(f.rgb for f in read(fetch_demo_clip(), source_time - 0.01, source_time + 0.05))
    original = cover_crop(original, w, h)
    panels = []
    for title, image in (("original clip", original), ("before: cartoon park", images["park"]),
                         ("after: the clip's own scene", images["source"])):
        panel = image.copy()
        cv2.rectangle(panel, (0, 0), (w, 30), (0, 0, 0), -1)
        cv2.putText(panel, title, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
        panels.append(panel)
    sheet = np.concatenate(panels, axis=1)
    # Below: the same three, zoomed on where the person stands (3x), so the seams can be judged.
    points = motion.landmarks_2d[frames - 1] * np.array([w / motion.image_size[0], h / motion.image_size[1]])
    points = points[np.isfinite(points).all(axis=1)]
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    side = int(min(h, max(np.ptp(points, axis=0)) * 1.6 + 20))
    x0 = int(np.clip(centre[0] - side / 2, 0, w - side))
    y0 = int(np.clip(centre[1] - side / 2, 0, h - side))
    zoom_w = w * 3 // 3
    zooms = [cv2.resize(image[y0:y0 + side, x0:x0 + side], (zoom_w, zoom_w), interpolation=cv2.INTER_CUBIC)
             for image in (original, images["park"], images["source"])]
    sheet = np.concatenate([sheet, np.concatenate(zooms, axis=1)], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet[..., ::-1])
    return path


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", nargs=3, metavar=("CLIP", "TRACK", "DATA_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--identities", type=int, default=3)
    parser.add_argument("--render-seconds", type=float, default=2.0)
    parser.add_argument("--fps", type=float, default=30.0, help="render and judge the actor swap at this rate")
    parser.add_argument("--skip-render", action="store_true", help="no actor-swap renders or before/after image")
    parser.add_argument("--skip-plates", action="store_true",
                        help="keep the plate figures of the last results JSON; only render, judge and draw")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--person", default=None,
                        help="Pose2Sim clips: follow this person of the first frame (as extract --person) with the "
                             "others tracked; default: what extraction follows without --person (the largest)")
    parser.add_argument("--cameras", default=",".join(MULTI_CAMERAS), help="Pose2Sim cameras to build plates for")
    parser.add_argument("--no-demo", action="store_true", help="skip the Sports2D demo's plate")
    parser.add_argument("--json", type=Path, default=RESULTS / "scene.json", help="where the results go")
    parser.add_argument("--alternate", type=Path, default=None, metavar="BASE_CHECKOUT",
                        help="builds only: alternate plate builds of this checkout and BASE_CHECKOUT (a worktree of "
                             "the baseline), --rounds times; JSON lines to --jsonl, medians and ratios printed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jsonl", type=Path, default=RESULTS / "scene_build_alternated.jsonl")
    args = parser.parse_args()
    if args.build:
        logging.basicConfig(level=logging.WARNING)
        build_child(*args.build)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine_load_1min": round(os.getloadavg()[0], 2), "cores": os.cpu_count(), "clips": {}}
    motion = demo_motion(args.work)
    clips = {} if args.no_demo else {"sports2d_demo": (fetch_demo_clip(), PersonTrack.from_motion(motion),
                                                        None if args.alternate else others_trails(fetch_demo_clip(), None))}
    if args.skip_plates:
        previous = json.loads((RESULTS / "scene.json").read_text())
        results["clips"], clips = previous["clips"], {}
    for camera in args.cameras.split(",") if not args.skip_plates else ():
        path = fetch_pose2sim_clip("Demo_MultiPerson", camera)
        if args.alternate:  # builds only: the tracks of an earlier run in --work are reused
            saved = args.work / "tracks" / f"pose2sim_multi_{camera}.npz"
            track = read_track(saved) if saved.exists() else landmark_track(path, args.person)
            clips[f"pose2sim_multi_{camera}"] = (path, track, None)
            continue
        others = others_trails(path, args.person)
        clips[f"pose2sim_multi_{camera}"] = (path, landmark_track(path, args.person), others)
    if args.alternate:
        alternate({name: (clip, track) for name, (clip, track, _) in clips.items()}, args.alternate.resolve(),
                   args.rounds, args.work, args.jsonl)
        return
    for name, (clip, track, others) in clips.items():
        print(f"== {name}: {clip.name}", flush=True)
        built = build(clip, track, args.work, name)
        plate = load_plate(Path(built["folder"]))
        figures = {"build": built, "ghost": ghost_check(plate, track, clip, others), "masks": mask_check(plate, track, clip, others),
                   "inpainting": inpainting_psnr(plate)}
        results["clips"][name] = figures
        cv2.imwrite(str(args.work / f"plate_{name}.png"), plate.image[..., ::-1])
        print(json.dumps(figures, indent=1, default=float), flush=True)
    ghosts = [c["ghost"] for c in results["clips"].values()]
    results["ghost_rate"] = {n: round(c["ghost"]["found_in_cleaned"], 4) for n, c in results["clips"].items()}
    results["ghost_rate_all"] = float(sum(g["found_in_cleaned"] * g["frames"] for g in ghosts) /
                                      max(1, sum(g["frames"] for g in ghosts)))
    results["cpu_s_per_video_s"] = {n: round(c["build"]["cpu_s_per_video_s"], 3) for n, c in results["clips"].items()}
    builds = [c["build"] for c in results["clips"].values()]
    results["build_s_per_video_s"] = {n: round(c["build"]["build_s_per_video_s"], 3) for n, c in results["clips"].items()}
    results["peak_rss_mb_max"] = max(b["peak_rss_mb"] for b in builds)
    if args.skip_render and (RESULTS / "scene.json").exists():
        # Not re-run: say where the render figures come from rather than pass them off as this run's.
        previous = json.loads((RESULTS / "scene.json").read_text())
        if "actor_swap" in previous:
            results["actor_swap"] = previous["actor_swap"]
            results["actor_swap_carried_from"] = "benchmarks/results/scene.json (--skip-render: not re-run)"
        if (RESULTS / "scene_before_after.png").exists():
            results["before_after_png"] = str((RESULTS / "scene_before_after.png").relative_to(REPO))
    if not args.skip_render:
        results["actor_swap"] = actor_swap(motion, args.work, args.identities, args.render_seconds, args.fps)
        picture = before_after(motion, args.work, RESULTS / "scene_before_after.png")
        results["before_after_png"] = str(picture.resolve().relative_to(REPO))
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, default=float))
    print("\n== summary")
    for name, c in results["clips"].items():
        b, g, i, m = c["build"], c["ghost"], c["inpainting"], c.get("masks", {})
        print(f"{name:26s} {b['frames']:4d} frames  build {b['build_s_per_video_s']:.2f} s/video-s "
              f"(cpu {b['cpu_s_per_video_s']:.2f}, load {b.get('load_1min_before', float('nan')):.1f})  "
              f"rss {b['peak_rss_mb']:.0f} MB (imports {b.get('rss_before_build_mb', float('nan')):.0f})  "
              f"inpainted {b['inpainted_fraction']:.3f}  "
              f"removed person found: original {g['found_in_original']:.2f} -> cleaned {g['found_in_cleaned']:.3f} "
              f"(anyone matching the track {g.get('found_in_cleaned_any_match', float('nan')):.3f})  "
              f"mask vs every-frame segmentation: missed {m.get('missed_mean', float('nan')):.4f} "
              f"(p95 {m.get('missed_p95', float('nan')):.3f})  "
              f"stayer erased {m.get('stayer_erased', float('nan')):.4f} "
              f"({m.get('stayer_erased_frames', 0)} frames > 2%)  "
              f"inpaint PSNR telea {i.get('psnr_telea_db', float('nan')):.1f} dB")
    for name, c in results["clips"].items():  # where a build's CPU goes (builds that report it)
        if c["build"].get("stage_cpu_s_per_video_s"):
            print(f"{name:26s} CPU-s per video-s by stage: " + ", ".join(
                f"{stage} {value:.3f}" for stage, value in c["build"]["stage_cpu_s_per_video_s"].items()) +
                f"; frames skipped by the decoder {c['build'].get('frames_skipped_by_decoder', 0)}")
    print("ghost rate per clip: " + ", ".join(f"{n} {r:.3f}" for n, r in results["ghost_rate"].items()))
    print(f"ghost rate over all frames: {results['ghost_rate_all']:.4f} (target <= 0.01)")
    if results.get("actor_swap"):
        if results.get("actor_swap_carried_from"):
            print(f"actor swap figures carried from {results['actor_swap_carried_from']}")
        swap = results["actor_swap"]
        for key in ("pooled_source", "pooled_park", "real_person_reference"):
            figures = swap[key]
            print(f"actor swap {key:22s} PCK@0.1 {figures['pck']:.3f}  detected {figures['detection_rate']:.2f}  "
                  f"PCK when detected {figures['pck_detected'] or 0:.3f}  cut off {figures['cut_off_rate']:.2f}")
    print(f"machine load (1 min) at start: {results['machine_load_1min']}; results: {args.json}")
    if results.get("before_after_png"):
        print(f"before/after: {results['before_after_png']}")


if __name__ == "__main__":
    main()
