"""Capture a consenting person from a video: the whole run, written all or nothing.

consent -> motion (the project's extraction, with the person choice) -> checks (enough frames,
fixed camera, one person or the chosen one) -> frames and masks -> body shape fitted to the
silhouette -> colours back-projected per frame -> the clip's light divided out -> garment types
and summary colours -> avatar regions -> unseen surface filled -> offsets for what sticks out of
the body (hair volume, loose clothes) -> identity with provenance ``captured``. Files are written into a temporary folder beside the output and moved into place
at the end, so a failure leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import random_people
from random_people.avatar.capture.consent import ConsentRecord, consent_record
from random_people.errors import RandomPeopleError

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

MIN_FRAMES = 10  # fewer detected frames than this cannot show a body's shape and colours
COLOUR_FRAMES = 48  # frames back-projected (evenly spread over the usable ones)
SHAPE_FRAMES = 12  # frames the silhouette fit scores
MIN_SEGMENTED = 5
CAPTURES_FOLDER = "captures"  # beside the identities: <id>_capture.json (the report) and <id>_preview.png
HAIR_FRAMES = 4  # frames the hair style's silhouette is scored on
OFFSET_FRAMES = 16  # frames whose silhouettes give the offsets of what sticks out of the body
MIN_WEIGHT = 0.05  # total back-projection weight for a surface point to count as seen


class CaptureError(RandomPeopleError):
    """The clip cannot give a captured avatar (no person, too few frames, moving camera, ...)."""

    exit_code = 32


@dataclass
class CaptureResult:
    spec: Any  # IdentitySpec
    identity_path: Path
    ply_path: Path
    sidecar_path: Path
    report_path: Path
    preview_path: Path | None
    report: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class CaptureState:
    """What a capture computed, for benchmarks and tests that look inside (kept in memory only)."""

    motion: Any
    shape: torch.Tensor
    body: Any
    albedo: np.ndarray  # [V, 3] final vertex albedo
    seen: np.ndarray  # [V] bool
    shading: Any  # ShadingFit
    regions: np.ndarray  # [V] part index
    size: tuple[int, int]
    offsets: np.ndarray | None = None  # [V] metres beyond the body (see .offsets)


def _spread(items: list[int], count: int) -> list[int]:
    if len(items) <= count:
        return list(items)
    return [items[int(round(i))] for i in np.linspace(0, len(items) - 1, count)]


def _check_camera(observations, clip_name: str) -> None:
    from random_people.render.registration import CameraMotionError, FrameRegistrar

    registrar = FrameRegistrar(clip_name=clip_name)
    for frame in observations.frames:
        try:
            registrar.register(frame.rgb, exclude=frame.mask, time=frame.time)
        except CameraMotionError:
            raise CaptureError(
                f"The camera moves in {clip_name}: by {frame.time:.2f} s its view has shifted "
                f"{registrar.largest_shift:.0f} px from the first frame. Capture needs a fixed camera (the body fit and "
                "the light estimate assume one); film the person with the camera on a stand, or trim to a still part."
            ) from None


def vertex_regions(avatar, count: int) -> np.ndarray:
    """[V] the avatar region (index into its part names) most of the Gaussians around each vertex have."""
    binding = avatar.binding
    votes = np.zeros((count, len(binding.part_names)), np.float64)
    corners = binding.faces[binding.triangle].numpy()
    weights = binding.barycentric.numpy()
    part = binding.part.numpy()
    for k in range(3):
        np.add.at(votes, (corners[:, k], part), weights[:, k])
    return votes.argmax(axis=1)


def _fit_hair(model, fit, look, motion, frames, posed: dict, size: tuple[int, int]) -> tuple[str, dict]:
    """The hair style whose silhouette matches (see :mod:`.hair_fit`), scored at a 640-pixel long side."""
    import cv2

    from random_people.avatar.capture.hair_fit import fit_hair_style
    from random_people.render.cameras import source_camera
    from random_people.render.plate_masks import PersonTrack

    width, height = size
    scale = min(1.0, 640 / max(width, height))
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    camera = source_camera(motion, *small)
    track = PersonTrack.from_motion(motion)
    to_small = np.array([small[0] / motion.image_size[0], small[1] / motion.image_size[1]])
    chosen = sorted(posed)
    masks = [cv2.resize(frames[i].mask.astype(np.uint8), small, interpolation=cv2.INTER_AREA) > 0 for i in chosen]
    landmarks = [track.landmarks[frames[i].motion_index] * to_small for i in chosen]
    return fit_hair_style(model, fit.body, look, fit.shape, np.stack([posed[i] for i in chosen]), masks, landmarks,
                          camera)


def _fit_offsets(avatar, regions: np.ndarray, motion, frames, posed: dict, size: tuple[int, int]):
    """The offsets of what sticks out of the body (see :mod:`.offsets`), from silhouettes at a 640-pixel long side."""
    import cv2

    from random_people.avatar.capture.offsets import fit_offsets
    from random_people.render.cameras import source_camera

    width, height = size
    scale = min(1.0, 640 / max(width, height))
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    camera = source_camera(motion, *small)
    chosen = sorted(posed)
    masks = [cv2.resize(frames[i].mask.astype(np.uint8), small, interpolation=cv2.INTER_AREA) > 0 for i in chosen]
    return fit_offsets(avatar, np.stack([posed[i] for i in chosen]), masks, camera, regions)


def _seed(source_sha256: str, trim: tuple, person: str | None, albedo_sha: str) -> int:
    text = json.dumps([source_sha256, list(trim), person, albedo_sha])
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def capture_person(
    video: str | Path,
    output_dir: str | Path,
    *,
    consent: ConsentRecord | None,
    start: float | None = None,
    end: float | None = None,
    person: str | None = None,
    settings=None,
    progress: Progress | None = None,
    motion=None,
    use_frames: list[int] | None = None,
    preview: bool = True,
    keep_state: bool = False,
) -> CaptureResult | tuple[CaptureResult, CaptureState]:
    """Capture the person in ``video`` (``[start, end)`` seconds) as an identity in ``output_dir``.

    ``consent`` is required (a :class:`ConsentRecord`; ``None`` is refused before anything is
    read). ``person`` picks whom to capture when several are in view (as ``extract --person``).
    ``motion`` reuses an extraction of the same clip and range; ``use_frames`` restricts the
    Motion frames the capture may look at (the benchmark holds the others out).
    Writes ``<id>.json`` (the identity), ``<id>.ply`` + ``<id>.binding.npz`` (the avatar), and
    ``captures/<id>_capture.json`` (coverage, fits, warnings, timings) and ``captures/<id>_preview.png``.
    """
    from random_people.avatar.build import build_avatar
    from random_people.avatar.capture.albedo import apply_captured_colors, encode_vertex_albedo
    from random_people.avatar.capture.backproject import sample_frame
    from random_people.avatar.capture.coverage import coverage_report
    from random_people.avatar.capture.fill import fill_unseen
    from random_people.avatar.capture.looks import summarise_looks, vertex_groups
    from random_people.avatar.capture.observe import observe
    from random_people.avatar.capture.shading import remove_shading
    from random_people.avatar.capture.shape_fit import fit_shape
    from random_people.avatar.appearance import mesh_labels
    from random_people.avatar.binding import vertex_normals
    from random_people.avatar.identity import IdentitySpec
    from random_people.avatar.pipeline import appearance_params
    from random_people.avatar.posing import retarget_motion
    from random_people.body import load_body_model
    from random_people.files import sha256_file
    from random_people.media import probe_video
    from random_people.pose.motion import FLAG_NO_DETECTION
    from random_people.render.cameras import source_camera
    from random_people.settings import load_settings

    if consent is None:
        consent = consent_record("")  # raises ConsentError with what to give
    if not isinstance(consent, ConsentRecord):
        raise TypeError("consent must be a ConsentRecord (see avatar.capture.consent.read_consent).")
    report_progress = progress or (lambda fraction, message: None)
    settings = settings or load_settings()
    video = Path(video)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    warnings: list[str] = []

    def stage(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    clock = time.perf_counter()
    probe_video(video, settings)  # unreadable or oversized input is refused before any work
    if person is None:
        from random_people.pose.extract import first_frame_people

        _, people, _ = first_frame_people(video, start=start, end=end, settings=settings)
        if len(people) > 1:
            warnings.append(f"{len(people)} people are in the first frame; captured the one the detector followed "
                            "(the longest one-person stretch). Choose with --person (largest, leftmost, rightmost, "
                            "N or x,y) to capture another.")
    if motion is None:
        from random_people.pose.extract import extract_clip

        report_progress(0.0, "Extracting the motion")
        with tempfile.TemporaryDirectory(prefix="rp-capture-motion-") as scratch:
            result = extract_clip(video, scratch, start=start, end=end, settings=settings, person=person,
                                  make_preview=False, name="capture",
                                  progress=lambda f, message: report_progress(0.35 * f, message))
            motion = result.motion
    clock = stage("motion", clock)
    if motion.meta.get("person_switch_times"):
        warnings.append("The detector switched between people at "
                        + ", ".join(f"{t:.2f} s" for t in motion.meta["person_switch_times"])
                        + "; only the longest one-person stretch was captured.")
    if motion.meta.get("person_lost_at") is not None:
        warnings.append(f"The chosen person was lost at {motion.meta['person_lost_at']:.2f} s; the capture uses the "
                        "frames before.")
    detected = [i for i in range(motion.num_frames) if not motion.quality_flags[i] & FLAG_NO_DETECTION]
    if use_frames is not None:
        allowed = set(int(i) for i in use_frames)
        detected = [i for i in detected if i in allowed]
    if len(detected) < MIN_FRAMES:
        raise CaptureError(
            f"Too few frames to capture from: the person is detected in {len(detected)} frame(s) of "
            f"{video.name} in the chosen range (need at least {MIN_FRAMES}). Use a longer range (a few seconds of "
            "the person moving or turning)."
        )

    report_progress(0.36, "Segmenting the person")
    indices = _spread(detected, COLOUR_FRAMES)
    observations = observe(video, motion, indices, settings=settings,
                           progress=lambda f, message: report_progress(0.36 + 0.14 * f, message))
    frames = [f for f in observations.frames if f.segmented]
    if len(frames) < MIN_SEGMENTED:
        raise CaptureError(
            f"The person could not be segmented in {video.name} ({len(frames)} of {len(observations.frames)} frames): "
            "they may be too small, too dark or hidden. Use a clip where the person is clearly visible, full body."
        )
    share_out = len(observations.partly_out) / max(len(observations.frames), 1)
    if share_out > 0.25:
        warnings.append(f"The person is partly out of view in {100 * share_out:.0f}% of the frames used; parts never "
                        "in view are filled in (see the coverage).")
    _check_camera(observations, video.name)
    clock = stage("observe", clock)

    report_progress(0.5, "Fitting the body shape to the silhouette")
    model = load_body_model(kind="anny")
    width, height = observations.size
    K = source_camera(motion, width, height).K.numpy().astype(np.float64)
    chosen = _spread(list(range(len(frames))), SHAPE_FRAMES)
    from random_people.render.plate_masks import PersonTrack

    to_work = np.array([width / motion.image_size[0], height / motion.image_size[1]])
    track = PersonTrack.from_motion(motion)
    fit = fit_shape(model, motion, [frames[i].mask for i in chosen], [frames[i].motion_index for i in chosen],
                    K, (width, height), landmarks=[track.landmarks[frames[i].motion_index] * to_work for i in chosen])
    clock = stage("shape_fit", clock)

    report_progress(0.65, "Back-projecting the frames' colours")
    faces = np.asarray(model.faces, dtype=np.int64)
    retargeted = retarget_motion(model, motion, fit.shape)
    order = torch.tensor([f.motion_index for f in frames])
    with torch.no_grad():
        posed = torch.cat([
            model.vertices(retargeted.body, retargeted.local_rotations[chunk], retargeted.root_rotation[chunk],
                           retargeted.root_translation[chunk]).float().cpu()
            for chunk in torch.split(order, 16)
        ]).numpy()
    samples = [sample_frame(v, faces, K, f.rgb, f.mask) for v, f in zip(posed, frames)]
    colors = np.stack([s.colors for s in samples])
    weights = np.stack([s.weights for s in samples])
    normals = np.stack([s.normals for s in samples])
    posed_for_hair = {i: posed[i] for i in _spread(list(range(len(frames))), HAIR_FRAMES)}
    posed_for_offsets = {i: posed[i] for i in _spread(list(range(len(frames))), OFFSET_FRAMES)}
    del samples, posed
    shading = remove_shading(colors, weights, normals)
    seen = weights.sum(axis=0) > MIN_WEIGHT
    clock = stage("backproject", clock)

    report_progress(0.8, "Filling what was not seen")
    from random_people.avatar.build import rest_body

    rest_vertices, _ = rest_body(model, fit.shape)
    rest_np = rest_vertices.numpy().astype(np.float64)
    rest_normals = vertex_normals(rest_vertices, torch.as_tensor(faces)).numpy()
    labels = mesh_labels(model)
    groups = vertex_groups(faces, labels.group, len(rest_np))
    look = summarise_looks(shading.albedo, seen, groups, rest_np, rest_normals)
    report_progress(0.75, "Choosing the hair by its silhouette")
    hair_style, hair_scores = _fit_hair(model, fit, look, motion, frames, posed_for_hair, (width, height))
    look = dataclasses.replace(look, hair_style=hair_style)
    clock = stage("hair_fit", clock)
    provisional = IdentitySpec(seed=0, body=fit.body, appearance=look)
    avatar = build_avatar(model, fit.shape, appearance_params(provisional), seed=0, n_gaussians=6000)
    regions = vertex_regions(avatar, len(rest_np))
    albedo, fill_counts = fill_unseen(shading.albedo, seen, rest_np, faces, regions)
    clock = stage("fill", clock)
    report_progress(0.84, "Fitting what sticks out of the body (hair volume, loose clothes)")
    offset_fit = _fit_offsets(avatar, regions, motion, frames, posed_for_offsets, (width, height))
    clock = stage("offsets", clock)
    surface = (~labels.interior).astype(np.float64)
    coverage = coverage_report(seen, rest_np, faces, surface)
    warnings.extend(coverage["warnings"])

    report_progress(0.88, "Writing the identity")
    record = encode_vertex_albedo(albedo)
    if offset_fit.offsets.any():
        from random_people.avatar.capture.offsets import encode_offsets

        record["vertex_offset"] = encode_offsets(offset_fit.offsets)
    source_sha256 = motion.source_sha256 or sha256_file(video)
    trim = (start, end)
    provenance = {
        "kind": "captured",
        "source_sha256": source_sha256,
        "source_name": video.name,
        "trim": [start, end],
        "kept_time_range": motion.meta.get("kept_time_range"),
        "person": person,
        "frames_used": len(frames),
        "consent": consent.to_dict(),
        "captured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "generator": f"random-people {random_people.__version__}",
        "coverage": {k: round(v, 3) for k, v in coverage.items() if k != "warnings"},
    }
    spec = IdentitySpec(seed=_seed(source_sha256, trim, person, record["sha256"]), body=fit.body, appearance=look,
                        provenance=provenance, capture=record)
    report = {
        "identity_id": spec.id,
        "source_sha256": source_sha256,
        "trim": [start, end],
        "frames_used": len(frames),
        "frame_size": [width, height],
        "shape_fit": {"iou_motion_body": round(fit.iou_start, 4), "iou_fitted": round(fit.iou, 4),
                      "evaluations": fit.evaluations, "stature_m": round(fit.stature_m, 3),
                      "body": {"sex": fit.body.sex, "age_years": fit.body.age_years, "height_z": fit.body.height,
                               "weight": fit.body.weight, "muscle": fit.body.muscle,
                               "proportions": fit.body.proportions}},
        "hair": {"style": hair_style, "head_band_iou": {k: round(v, 4) for k, v in hair_scores.items()}},
        "light": {"coefficients": [round(float(c), 4) for c in shading.coefficients],
                  "directional_strength": round(shading.strength, 3)},
        "coverage": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in coverage.items()},
        "fill": fill_counts,
        "offsets": offset_fit.summary(),
        "not_modelled": ["cast shadows and ambient occlusion in the clip's light"],
        "warnings": warnings,
        "timings": timings,
    }
    result = _write_outputs(spec, Path(output_dir), report, preview, model)
    timings["write"] = round(time.perf_counter() - clock, 2)
    report["seconds"] = round(time.perf_counter() - started, 2)
    result.report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for message in warnings:
        logger.warning("Capture: %s", message)
    report_progress(1.0, "Done")
    logger.info("Captured identity %s from %s in %.1f s", spec.id, video.name, report["seconds"])
    if keep_state:
        state = CaptureState(motion, fit.shape, fit.body, albedo, seen, shading, regions, (width, height),
                             offset_fit.offsets)
        return result, state
    return result


def _write_outputs(spec, output_dir: Path, report: dict, preview: bool, model) -> CaptureResult:
    """Write every file into a temporary folder beside ``output_dir``, then move them in (all or nothing)."""
    from random_people.avatar.files import save_avatar
    from random_people.avatar.pipeline import build_identity_avatar, identity_thumbnail
    from random_people.avatar.store import save_identity

    output_dir.mkdir(parents=True, exist_ok=True)
    extras = output_dir / CAPTURES_FOLDER
    staging = Path(tempfile.mkdtemp(prefix=".capture-", dir=output_dir))
    moved: list[Path] = []
    try:
        identity_path = save_identity(spec, staging)
        avatar = build_identity_avatar(spec)
        ply, sidecar = save_avatar(avatar, staging / f"{spec.id}.ply")
        report_path = staging / f"{spec.id}_capture.json"
        report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        preview_path = None
        if preview:
            preview_path = capture_preview(spec, staging / f"{spec.id}_preview.png")
        # The report and preview go into a subfolder: an identity folder's *.json files are identities.
        staged = [(identity_path, output_dir), (ply, output_dir), (sidecar, output_dir), (report_path, extras)]
        staged += [(preview_path, extras)] if preview_path else []
        for path, folder in staged:
            folder.mkdir(exist_ok=True)
            target = folder / path.name
            path.replace(target)
            moved.append(target)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    final = {path.name: path for path in moved}
    return CaptureResult(spec, final[identity_path.name], final[ply.name], final[sidecar.name],
                         final[report_path.name], final.get(f"{spec.id}_preview.png"), report,
                         list(report["warnings"]))


def capture_preview(spec, path: Path, size: int = 256) -> Path:
    """Front, side and back of the captured person in a neutral light, side by side (PNG)."""
    from PIL import Image

    from random_people.avatar.pipeline import _render_rgb, _turn_camera, build_identity_avatar, THUMBNAIL_BACKDROP

    avatar = build_identity_avatar(spec)
    front = _turn_camera(avatar, size, 0.0)
    views = [_render_rgb(avatar, _turn_camera(avatar, size, angle), THUMBNAIL_BACKDROP, front=front)
             for angle in (0.0, 90.0, 180.0)]
    Image.fromarray(np.concatenate(views, axis=1)).save(path, format="PNG")
    return path
