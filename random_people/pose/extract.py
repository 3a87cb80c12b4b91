"""Clip to motion, end to end: validate, decode, detect, filter, fit, save, preview.

This is the one function the CLI, the app and bulk jobs call. It never leaves a partial
output behind: every file is written atomically, and if any step fails the files this call
already wrote are removed before the error propagates.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

import random_people
from random_people.body import load_body_model
from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
from random_people.action_labels import label_problem
from random_people.errors import EmptyVideoError, InvalidInputError, NoPersonError
from random_people.files import disk_full_errors, sha256_file
from random_people.media import VideoInfo, prefetch as _prefetch, probe_video, read_frames
from random_people.pose.filtering import filter_track
from random_people.pose.flips import repair_flips
from random_people.pose.fitting import FitConfig, FitResult, fit_motion
from random_people.pose.landmarks import LandmarkTrack, detect_landmarks
from random_people.pose.metrics import motion_quality
from random_people.pose.people import PersonBox, choose_person, list_people
from random_people.pose.tracking import keep_longest_person
from random_people.pose.motion import (
    FLAG_FLIP_REPAIRED,
    FLAG_HIGH_FIT_ERROR,
    FLAG_LOW_CONFIDENCE,
    FLAG_NO_DETECTION,
    Motion,
    save_motion,
)
from random_people.settings import Settings, load_settings
from random_people.source_index import remember_source

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
HIGH_FIT_ERROR = 0.08  # 2D error above this fraction of the person's height flags a frame
# Whom extraction follows when no person is chosen (see default_person), and the name of that
# way of choosing and following, recorded in every motion's meta (jobs key their cached
# extractions by jobs.expand.EXTRACTION_FORMAT, bumped with it).
DEFAULT_PERSON = "largest"
PERSON_FOLLOWING = "first-frame choice followed, others tracked, in front by colour (v3)"


@dataclass
class ExtractionResult:
    motion: Motion
    motion_path: Path
    bvh_path: Path
    preview_path: Path | None
    summary: dict[str, Any]
    track: LandmarkTrack | None = None  # the detector's raw output for the kept frames, before flip repair


def _quality_flags(track: LandmarkTrack, fit: FitResult, keypoint_names: list[str]) -> np.ndarray:
    index = [MEDIAPIPE_LANDMARKS.index(n) for n in keypoint_names]
    flags = np.zeros(track.num_frames, dtype=np.uint8)
    flags[~track.detected] |= FLAG_NO_DETECTION
    visible_fraction = (track.visibility[:, index] > 0.5).mean(axis=1)
    flags[track.detected & (visible_fraction < 0.5)] |= FLAG_LOW_CONFIDENCE
    with np.errstate(invalid="ignore"):
        flags[np.nan_to_num(fit.error_2d_relative, nan=0.0) > HIGH_FIT_ERROR] |= FLAG_HIGH_FIT_ERROR
    return flags


def build_motion(
    track: LandmarkTrack, fit: FitResult, model, filtered, *, source_sha256: str, source_name: str, label: str, meta: dict
) -> Motion:
    """Assemble the Motion record from the detector track and the fit."""
    return Motion(
        fps=track.fps,
        body_model=model.name,
        bone_names=list(model.bone_names),
        bone_parents=np.asarray(model.bone_parents, dtype=np.int32),
        rest_joints=fit.body.rest_joints.detach().cpu().numpy().astype(np.float32),
        shape_names=list(model.shape_names),
        shape=fit.shape.detach().cpu().numpy().astype(np.float32),
        local_rotations=fit.local_rotvecs,
        root_rotation=fit.root_rotvec,
        root_translation=fit.root_translation,
        joints_3d=fit.joints_3d,
        keypoint_names=list(model.keypoint_names),
        keypoints_3d=fit.keypoints_3d,
        keypoints_2d=fit.keypoints_2d,
        landmark_names=list(MEDIAPIPE_LANDMARKS),
        landmarks_2d=filtered.image_xy,
        landmarks_3d=filtered.world,
        landmark_confidence=filtered.visibility,
        image_size=track.image_size,
        camera_intrinsics=fit.intrinsics.astype(np.float32),
        frame_times=track.frame_times.astype(np.float64),
        fit_error_2d=fit.error_2d_px.astype(np.float32),  # NaN where nothing was visible
        fit_error_3d=fit.error_3d.astype(np.float32),
        quality_flags=_quality_flags(track, fit, list(model.keypoint_names)),
        person_height_px=fit.person_height_px,
        source_sha256=source_sha256,
        source_name=source_name,
        action_label=label,
        meta=meta,
    )


def _detect_hands(clip_path: Path, track: LandmarkTrack, filtered, start: float | None, end: float | None,
                  settings: Settings, progress: Progress):
    """The hand pass of ``--hands``: decode the range again, larger, and find the hands near the
    filtered body wrists of every kept frame."""
    from random_people.pose.hands import HAND_FRAME_MAX_SIDE, detect_hands

    total = track.num_frames
    frames = _prefetch(read_frames(clip_path, start=start, end=end, settings=settings, max_side=HAND_FRAME_MAX_SIDE))
    return detect_hands(frames, track.frame_times, filtered.image_xy, filtered.visibility, track.image_size,
                        lambda done: done % 10 == 0 and progress(done / total, f"Finding the hands: frame {done} of {total}"))


def _warn_missing_hands(motion: Motion, clip_name: str) -> None:
    """Say clearly when --hands found a hand rarely or never (the motion is still written, flagged)."""
    shares = motion.meta["hands"]["fitted_share"]
    never = [side for side, share in shares.items() if share == 0.0]
    if never:
        logger.warning(
            "--hands: the %s hand%s never found in %s (%d frames): %s fingers hold the rest pose and every "
            "frame is flagged %s. Hands must be visible, not too blurred and at least ~24 px in the source "
            "frame; a closer or sharper clip helps.", " and ".join(never), "s were" if len(never) == 2 else " was",
            clip_name, motion.num_frames, "their" if len(never) == 2 else "its",
            " and ".join(f"{side}_hand_missing" for side in never))
    agreement = motion.meta["hands"]["mediapipe_handedness_agrees"]
    detected = np.asarray(motion.hand_detected)
    if all(agreement[side] is not None and agreement[side] < 0.2 and detected[:, h].sum() >= 10
           for h, side in enumerate(("left", "right"))):
        logger.warning(
            "--hands: MediaPipe Hands sees each hand as the other one in most frames of %s (agreement %.0f %% left, "
            "%.0f %% right): the fitted body probably faces the other way (left and right swapped). Check the "
            "preview; the fingers follow the body's wrists.", clip_name, 100 * agreement["left"],
            100 * agreement["right"])
    for side, share in shares.items():
        if 0.0 < share < 0.5:
            logger.warning("--hands: the %s hand was found in only %.0f %% of the frames of %s; the others are flagged "
                           "%s_hand_missing.", side, 100 * share, clip_name, side)


def first_frame_people(clip_path: str | Path, *, start: float | None = None, end: float | None = None,
                       settings: Settings | None = None) -> tuple[np.ndarray, list[PersonBox], tuple[int, int]]:
    """(first frame of ``[start, end)`` as RGB, the people in it, source (width, height))."""
    settings = settings or load_settings()
    info = probe_video(clip_path, settings)
    first = next(iter(read_frames(clip_path, start=start, end=end, settings=settings,
                                  max_side=2 * settings.detector_max_side)))
    return first.rgb, list_people(first.rgb, image_size=(info.width, info.height)), (info.width, info.height)


def pick_person(clip_path: str | Path, choice: str, *, start: float | None = None, end: float | None = None,
                settings: Settings | None = None) -> tuple[PersonBox, list[PersonBox]]:
    """The person ``choice`` names among those in the first frame of ``[start, end)``, and the others."""
    _, people, _ = first_frame_people(clip_path, start=start, end=end, settings=settings)
    index = choose_person(people, choice)
    logger.info("Following person %d of %d (box %s) chosen by %r", index + 1, len(people), people[index].as_list(), choice)
    return people[index], [p for i, p in enumerate(people) if i != index]


def default_person(first_rgb: np.ndarray, image_size: tuple[int, int], clip_name: str = "the clip"
                   ) -> tuple[PersonBox | None, list[PersonBox]]:
    """Whom extraction follows without ``person``: the :data:`DEFAULT_PERSON` of ``first_rgb`` (the
    first frame of the range as the detector sees it; ``image_size`` the source (width, height))
    and the others, or ``(None, [])`` when it shows nobody.

    Why not the single whole-frame detector any more: it follows whoever it finds first and, when
    it loses them, whoever it finds next (Pose2Sim's cam03: from the man onto the woman passing
    behind him), so the motion and the person a clean plate removes could be somebody else's for
    part of the clip. Following one identity with everybody else tracked cannot drift. The people
    are listed on the detector's own frame (not the larger one ``--person`` lists on), so the
    listing costs no second decoding and overlaps the decoding of the next frames."""
    people = list_people(first_rgb, image_size=image_size)
    if not people:
        logger.warning("Nobody was found in the first frame of %s: following whoever the detector finds (the "
                       "longest stretch of one person is kept). Trim the clip (start) to where the person is "
                       "visible to follow one person throughout.", clip_name)
        return None, []
    index = choose_person(people, DEFAULT_PERSON)
    logger.info("Following person %d of %d (box %s), the %s in the first frame", index + 1, len(people),
                people[index].as_list(), DEFAULT_PERSON)
    return people[index], [p for i, p in enumerate(people) if i != index]


def default_person_of_clip(clip_path: str | Path, *, start: float | None = None, end: float | None = None,
                           settings: Settings | None = None) -> tuple[PersonBox | None, list[PersonBox]]:
    """:func:`default_person` of the first frame of ``[start, end)``, decoded as extraction decodes it."""
    settings = settings or load_settings()
    info = probe_video(clip_path, settings)
    first = next(iter(read_frames(clip_path, start=start, end=end, settings=settings,
                                  max_side=settings.detector_max_side)), None)
    if first is None:
        return None, []
    return default_person(first.rgb, (info.width, info.height), Path(clip_path).name)


def detect_person(
    clip_path: Path,
    person: str | None,
    info: VideoInfo,  # of clip_path
    settings: Settings,
    *,
    start: float | None = None,
    end: float | None = None,
    expected: int | None = None,
    on_frame: Callable[[int], None] | None = None,
    landmark_model: str | Path | None = None,
) -> tuple[LandmarkTrack, PersonBox | None, list[PersonBox]]:
    """Choose whom to follow (``person`` as :func:`extract_clip` takes it; None: the largest person
    of the first frame) and detect their landmarks through ``[start, end)``, everybody else of the
    first frame tracked beside them. Returns the track, the chosen person (None when the first
    frame shows nobody: the single whole-frame detector) and the others.

    Extraction's first step, shared with the accuracy benchmark, whose reference runs another
    landmark model (``landmark_model``) over the same person followed the same way."""
    chosen, others = None, []
    if person is not None:
        chosen, others = pick_person(clip_path, person, start=start, end=end, settings=settings)
    # A deep queue: the frames after the first are decoded while the default person is looked for.
    frames = _prefetch(read_frames(clip_path, start=start, end=end, settings=settings,
                                   max_side=settings.detector_max_side), depth=32)
    if person is None:
        first_frame = next(frames, None)
        if first_frame is not None:
            chosen, others = default_person(first_frame.rgb, (info.width, info.height), clip_path.name)
            frames = itertools.chain([first_frame], frames)
    track = detect_landmarks(frames, info.fps, (info.width, info.height), expected, settings.detector_max_side, on_frame,
                             follow=None if chosen is None else chosen.landmarks_xy,
                             others=[p.landmarks_xy for p in others], landmark_model=landmark_model)
    return track, chosen, others


def extract_clip(
    clip_path: str | Path,
    output_dir: str | Path,
    *,
    label: str = "",
    start: float | None = None,
    end: float | None = None,
    name: str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    make_preview: bool = True,
    person: str | None = None,
    hands: bool = False,
) -> ExtractionResult:
    """Extract the motion of the person in ``clip_path``; write ``<name>.npz``, ``.bvh`` and
    ``<name>_preview.mp4`` into ``output_dir``.

    ``person`` chooses whom to follow when several people are in the first frame of the range
    (``largest``, ``leftmost``, ``rightmost``, ``N`` counting from the left, or ``x,y`` pixels);
    without it the largest person of the first frame is followed (:func:`default_person`; the
    single whole-frame detector only when the first frame shows nobody).

    ``hands`` also finds both hands (MediaPipe Hands on crops around the wrists, a second decoding
    pass at up to 1920 px) and fits the wrist and finger rotations (see ``pose/fingers.py``).

    Raises a :class:`random_people.errors.RandomPeopleError` subclass for bad input (unreadable,
    too large, no frames, no person, a ``person`` matching nobody); nothing is left in
    ``output_dir`` in that case.
    """
    settings = settings or load_settings()
    report = progress or (lambda fraction, message: None)
    clip_path = Path(clip_path)
    if label and (problem := label_problem(label)):
        raise InvalidInputError(f"The action label {label[:60]!r} for {clip_path.name} {problem}.")
    started = time.perf_counter()
    report(0.0, "Checking the clip")
    info = probe_video(clip_path, settings)
    first = max(0.0, start or 0.0)
    last = min(info.duration, end) if end is not None else info.duration
    expected = max(1, int(round((last - first) * info.fps)))

    report(0.02, "Loading the body model")
    model = load_body_model(settings, progress=lambda fraction, message: report(0.02 + 0.03 * fraction, message))

    body_share = 0.4 if hands else 0.6  # of the progress bar; the hand pass takes the rest up to 0.65

    def on_frame(done: int) -> None:
        if done % 10 == 0:
            report(0.05 + body_share * min(1.0, done / expected), f"Detecting the person: frame {done} of ~{expected}")

    timings: dict[str, float] = {"load_and_probe": time.perf_counter() - started}
    stage = time.perf_counter()
    report(0.05, "Finding the people in the first frame")
    track, chosen, others = detect_person(clip_path, person, info, settings, start=start, end=end,
                                          expected=expected, on_frame=on_frame)
    if track.num_frames == 0:
        raise EmptyVideoError(f"No frames were decoded from {clip_path.name} in the requested range; check --start/--end.")
    detected = int(track.detected.sum())
    if detected < max(3, settings.min_detection_ratio * track.num_frames):
        raise NoPersonError(
            f"No person found in {clip_path.name}: a person was detected in {detected} of {track.num_frames} frames "
            f"(need at least {settings.min_detection_ratio:.0%}). Use a clip where one person is visible, "
            "full body if possible, and not too small in the frame."
        )
    frames_processed = track.num_frames
    selection = keep_longest_person(track)
    lost_at = None
    if chosen is not None:
        seen = np.flatnonzero(track.detected)
        if track.num_frames - 1 - seen[-1] > 0.5 * track.fps or selection.switch_times:
            lost_at = float(selection.track.frame_times[-1])
            logger.warning("The chosen person was lost at %.2f s (they left the frame or were hidden); the motion "
                           "ends there. Trim the clip (end) to where they are visible to silence this.", lost_at)
    flips = repair_flips(selection.track)
    track = flips.track
    filtered = filter_track(track)
    timings["decode_and_detect"] = time.perf_counter() - stage
    hand_track = None
    if hands:
        stage = time.perf_counter()
        hand_track = _detect_hands(clip_path, track, filtered, start, end, settings,
                                   lambda f, message: report(0.05 + body_share + (0.6 - body_share) * f, message))
        timings["hands_detect"] = time.perf_counter() - stage
    stage = time.perf_counter()

    report(0.66, "Fitting the body to the landmarks")
    config = FitConfig(iterations=settings.fit_iterations)
    fit = fit_motion(model, filtered, track.image_size, config,
                     lambda f: report(0.66 + 0.2 * f, "Fitting the body to the landmarks"))
    meta = {
        "generator": f"random-people {random_people.__version__}",
        "detector": "mediapipe 0.10.21 pose (full, video mode)",
        "fit_config": config.__dict__,
        "source_duration": info.duration,
        "trim": [start, end],
        "person_switch_times": selection.switch_times,
        "flip_repair": flips.counts(),
        "person": person,
        "person_followed": None if chosen is None else (person or DEFAULT_PERSON),
        "person_following": PERSON_FOLLOWING if chosen is not None else "single detector, longest stretch (v1)",
        "person_box": None if chosen is None else chosen.as_list(),
        "person_lost_at": lost_at,
        "kept_time_range": [float(track.frame_times[0]), float(track.frame_times[-1])],
    }
    source_sha256 = sha256_file(clip_path)
    motion = build_motion(track, fit, model, filtered, source_sha256=source_sha256,
                          source_name=clip_path.name, label=label, meta=meta)
    motion.quality_flags[flips.choice != 0] |= FLAG_FLIP_REPAIRED
    if hand_track is not None:
        from random_people.pose.fingers import add_fingers

        report(0.86, "Fitting the fingers")
        motion = add_fingers(motion, model, hand_track)
        _warn_missing_hands(motion, clip_path.name)
    timings["fit"] = time.perf_counter() - stage
    stage = time.perf_counter()

    output_dir = Path(output_dir)
    stem = name or clip_path.stem
    motion_path = output_dir / f"{stem}.npz"
    bvh_path = output_dir / f"{stem}.bvh"
    preview_path = output_dir / f"{stem}_preview.mp4"
    written: list[Path] = []
    try:
        # A full disk at any of the three files is DiskFullError (exit 21); what was written is removed.
        with disk_full_errors(motion_path):
            report(0.87, "Saving the motion")
            written.append(save_motion(motion, motion_path))
            from random_people.pose.bvh import export_bvh

            written.append(export_bvh(motion, bvh_path))
            timings["save"] = time.perf_counter() - stage
            stage = time.perf_counter()
            if make_preview:
                from random_people.pose.preview import render_overlay_preview

                report(0.9, "Rendering the preview")
                written.append(render_overlay_preview(
                    clip_path, motion, preview_path,
                    progress=lambda f, message: report(0.9 + 0.1 * f, message)))
                timings["preview"] = time.perf_counter() - stage
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    # Only a motion that was written points back at its clip (local only: motions carry no paths).
    remember_source(settings, source_sha256, clip_path)
    raw = selection.track  # the detector's own output (before flip repair), for jitter and evaluation
    summary = motion_quality(motion, raw_world=raw.world, raw_image=raw.image_xy)
    summary["person_switches"] = len(selection.switch_times)
    summary["flip_repaired_frames"] = flips.repaired_frames
    if chosen is not None:
        summary["person_lost_at"] = lost_at
    summary["kept_time_range"] = meta["kept_time_range"]
    if hand_track is not None:
        summary["hands"] = motion.meta["hands"]
    summary["seconds"] = time.perf_counter() - started
    summary["timings"] = {key: round(value, 3) for key, value in timings.items()}
    summary["frames_processed"] = frames_processed
    summary["frames_per_second"] = frames_processed / summary["seconds"]  # decoded + detected source frames
    report(1.0, "Done")
    logger.info("Extracted %d frames from %s in %.1f s", motion.num_frames, clip_path.name, summary["seconds"])
    return ExtractionResult(motion, motion_path, bvh_path, preview_path if make_preview else None, summary, raw)
