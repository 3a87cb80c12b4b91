"""Running one task: a pure function of its payload (and settings) that writes files and returns
what it made. No database here, so the same code runs in a local worker process and as a Ray task.

Outputs are written to temporary names and renamed into place (``extract_clip`` and
``render_clip`` both do this), so a worker killed at any instant leaves no half-written file under
a final name. If a task's output is already on disk and intact, it is reused, not made again:
when the log recorded it (``known``, handed over with the claim), only files that still have the
recorded checksums count (:mod:`random_people.jobs.reuse`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from random_people.errors import InvalidInputError, RandomPeopleError
from random_people.files import sha256_file
from random_people.jobs import reuse
from random_people.jobs.expand import EXTRACT, RENDER
from random_people.jobs.spec import camera_sampler, frame_limit
from random_people.settings import Settings

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


class TaskCancelled(Exception):
    """Raised inside a running task (from its progress callback) when the log says stop."""


def run_task(kind: str, payload: dict[str, Any], settings: Settings, progress: Progress | None = None,
             known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute one task and return its JSON-able result (paths, checksums, sizes).

    ``known``: the log's record of this key's output, made by another task (``ClaimedTask.known``).
    """
    report = progress or (lambda fraction, message: None)
    if kind == EXTRACT:
        return run_extract(payload, settings, report, known)
    if kind == RENDER:
        return run_render(payload, settings, report, known)
    raise ValueError(f"Unknown task kind {kind!r}")


def _motion_summary(path: Path) -> dict[str, Any]:
    from random_people.pose.motion import load_motion

    motion = load_motion(path)
    return {"motion_path": str(path), "frames": motion.num_frames, "fps": float(motion.fps),
            "sha256": sha256_file(path)}


def run_extract(payload: dict[str, Any], settings: Settings, progress: Progress,
                known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Extract the source clip's motion to ``payload['motion_path']`` (reused if already made)."""
    from random_people.pose.extract import extract_clip

    if payload.get("problem"):
        raise InvalidInputError(payload["problem"])
    motion_path = Path(payload["motion_path"])
    reused = _reuse_motion(motion_path, known)
    if reused is not None:
        return reused
    remove_leftovers(motion_path.parent, motion_path.stem)
    clip = Path(payload["clip"])
    if not clip.is_file():
        raise InvalidInputError(f"Source clip not found: {clip} (moved or deleted since the job was queued).")
    result = extract_clip(clip, motion_path.parent, label=payload.get("label") or "", start=payload.get("start"),
                          end=payload.get("end"), name=motion_path.stem, settings=settings, progress=progress,
                          make_preview=False, hands=bool(payload.get("hands")))
    summary = _motion_summary(result.motion_path)
    summary["quality"] = {k: v for k, v in result.summary.items() if isinstance(v, (int, float, str, bool))}
    return summary


def _reuse_motion(target: Path, known: dict[str, Any] | None) -> dict[str, Any] | None:
    """The motion already made for this key, at ``target``; None if it must be extracted.

    With a record in the log, only the recorded bytes count: ``target`` itself, or the recorded
    file (another job's output folder) linked or copied to ``target``, where this job's renders
    read it. Without one, a readable file at ``target`` is an earlier attempt's output (renamed
    into place whole, then killed before it reported).
    """
    if known is not None:
        if not reuse.reuse_file(target, Path(known["path"]), known["sha256"]):
            logger.warning("The motion the log recorded for %s (%s) is gone or has changed; extracting again",
                           target.name, known["path"])
            return None
    elif not target.is_file():
        return None
    try:
        return {**_motion_summary(target), "reused": True}
    except RandomPeopleError:
        logger.warning("Existing motion %s is unreadable; extracting again", target)
        return None


def remove_leftovers(folder: Path, name: str) -> int:
    """Delete staging files an interrupted attempt left for this task (``.<name>.*`` beside the outputs).

    Called only by the holder of the task's claim, before it writes anything. The log lets one
    task per key run at a time, across all jobs (``ux_tasks_running_key``), so while we hold it no
    other live claim can own staging files of this key: whatever is here belongs to an attempt
    whose claim has ended (killed, reclaimed after its heartbeat expired, or cancelled).
    """
    import shutil

    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.glob(f".{name}.*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.info("Removed %d leftover staging file(s) of %s from an interrupted attempt", removed, name)
    return removed


def _kept(payload: dict[str, Any], paths: tuple[Path, Path, Path]) -> dict[str, Path | None]:
    """The clip's files the spec asked for (the video always; mask and labels by ``output.labels``)."""
    video, mask, labels = paths
    wanted = set(payload["output"]["labels"])
    return {"video_path": video, "mask_path": mask if "mask" in wanted else None,
            "labels_path": labels if "keypoints" in wanted else None}


def _describe_outputs(payload: dict[str, Any], paths: tuple[Path, Path, Path]) -> dict[str, Any]:
    """Checksums, sizes and the clip's geometry, read back from the files themselves."""
    from random_people.media import probe_video

    video, _, labels = paths
    kept = _kept(payload, paths)
    for path in set(paths[1:]) - set(kept.values()):
        path.unlink(missing_ok=True)  # the spec did not ask for it
    files = [p for p in kept.values() if p is not None]
    wanted = set(payload["output"]["labels"])
    info = probe_video(video)
    return {
        **{k: (str(v) if v is not None else None) for k, v in kept.items()},
        "motion_path": payload["motion_path"] if "motion" in wanted else None,
        "frames": info.num_frames, "fps": info.fps, "width": info.width, "height": info.height,
        "checksums": {p.name: sha256_file(p) for p in files},
        "size_bytes": sum(p.stat().st_size for p in files),
        "camera": _camera_record(payload, labels if labels.exists() else None),
    }


def _camera_record(payload: dict[str, Any], labels_path: Path | None) -> dict[str, Any]:
    """The camera spec plus the intrinsics/extrinsics actually used (from the labels file)."""
    record = dict(payload["camera"])
    if labels_path is not None:
        from random_people.files import read_npz

        stored = read_npz(labels_path, RandomPeopleError, "labels", keys=("K", "world_to_camera"))  # not the masks
        for key in ("K", "world_to_camera"):
            if key in stored:
                record[key] = stored[key].reshape(-1, *stored[key].shape[-2:])[0].tolist()
    return record


def _intact(paths: tuple[Path, Path, Path], payload: dict[str, Any]) -> bool:
    return all(p.is_file() and p.stat().st_size > 0 for p in _kept(payload, paths).values() if p is not None)


def _reuse_clip(payload: dict[str, Any], known: dict[str, Any] | None) -> dict[str, Any] | None:
    """The clip already made for this key, where it is; None if it must be rendered.

    With a record in the log, the recorded files (wherever they were made) count only if their
    checksums still match. Without one, intact files at this task's own paths are an earlier
    attempt's output (moved into place whole, then killed before it reported).
    """
    from random_people.render.clip import clip_paths

    folder = Path(known["video_path"]).parent if known is not None else Path(payload["output_dir"])
    paths = clip_paths(folder, payload["name"])
    if not _intact(paths, payload):
        if known is not None:
            logger.warning("The clip the log recorded (%s) is gone; rendering again", known["video_path"])
        return None
    try:
        described = _describe_outputs(payload, paths)
    except RandomPeopleError:
        logger.warning("Existing clip %s is unreadable; rendering again", paths[0])
        return None
    if known is not None and described["checksums"] != known["checksums"]:
        logger.warning("The clip the log recorded (%s) has changed since; rendering again", known["video_path"])
        return None
    return {**described, "reused": True}


def run_render(payload: dict[str, Any], settings: Settings, progress: Progress,
               known: dict[str, Any] | None = None) -> dict[str, Any]:
    """Re-perform the extracted motion with the task's person, background and camera."""
    from random_people.avatar.identity import IdentitySpec
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.render.clip import clip_paths
    from random_people.pose.motion import load_motion

    folder, name = Path(payload["output_dir"]), payload["name"]
    paths = clip_paths(folder, name)
    reused = _reuse_clip(payload, known)
    if reused is not None:
        return reused
    remove_leftovers(folder, name)
    motion = load_motion(payload["motion_path"])
    spec = IdentitySpec.from_dict(payload["identity"])
    out = payload["output"]
    fps = float(out["fps"] or motion.fps)
    camera = payload["camera"]
    sampler = camera_sampler(camera["sampler"]) if camera["mode"] == "sampled" and camera.get("sampler") else None
    render_motion_clip(
        motion, spec, folder, name=name, background=payload["background"],
        camera="source" if camera["mode"] == "source" else "random", seed=int(camera.get("seed", payload["seed"])),
        camera_index=int(camera.get("index", 0)), camera_sampler=sampler,
        size=tuple(out["size"]) if out.get("size") else None, long_side=int(out["long_side"]),
        max_frames=frame_limit(out, fps), fps=fps, backend=settings_backend(settings), shadow=bool(out["shadow"]),
        harmonize=None if out.get("harmonize") is None else float(out["harmonize"]), degrade=bool(out["degrade"]), progress=progress,
        crf=None if out.get("crf") is None else int(out["crf"]),
        source_clip=payload.get("source_clip"), settings=settings,
    )
    progress(1.0, "checking the clip with the judge")
    # Before _describe_outputs, which deletes a labels file the spec did not ask for.
    fidelity = _fidelity(paths, settings)
    return {**_describe_outputs(payload, paths), "fidelity": fidelity}


def _fidelity(paths: tuple[Path, Path, Path], settings: Settings) -> dict[str, Any] | None:
    """The judge's figures on the clip just made (see :mod:`random_people.jobs.fidelity`)."""
    if settings.fidelity_frames <= 0:
        return None
    from random_people.jobs.fidelity import score_task_output

    video, _, labels = paths
    return score_task_output(video, labels, sample_frames=settings.fidelity_frames)


def settings_backend(settings: Settings) -> str:
    """The rasterizer backend the settings ask for (``auto`` picks gsplat when CUDA is there)."""
    return {"cpu": "cpu", "cuda": "gsplat"}.get(settings.device, "auto")


def wants_gpu(settings: Settings) -> bool:
    """Whether a render should ask a cluster scheduler for a GPU (the gsplat backend)."""
    if settings.device == "cuda":
        return True
    if settings.device == "cpu":
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no torch CUDA runtime means no GPU
        return False


def describe_payload(kind: str, payload: dict[str, Any]) -> str:
    """One line for logs and the app: what this task makes."""
    if kind == EXTRACT:
        return f"extract {Path(payload['clip']).name} [{payload.get('label')}]"
    camera = payload["camera"]
    view = "source camera" if camera["mode"] == "source" else f"camera {camera.get('index', 0)}"
    return (f"render {payload.get('label')} / {payload['identity_id']} / {payload['background']} / {view}"
            f" -> {payload['name']}.mp4")

