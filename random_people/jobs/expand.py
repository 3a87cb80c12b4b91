"""Expand a job spec into content-addressed tasks: one extraction per source clip, one render per
(motion, identity, background, camera).

Every task's key is the SHA-256 of everything that determines its output (source clip bytes,
trim, extraction settings, identity, background, camera, output settings, seed, generator
version), and its output path is derived from that key. So the expansion is deterministic, two
jobs that need the same motion share its file, and re-running a job finds its outputs already
made instead of making them twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import random_people
from random_people.avatar.identity import IdentitySpec
from random_people.errors import RandomPeopleError
from random_people.files import sha256_file
from random_people.jobs.errors import JobSpecError
from random_people.jobs.sources import SourceClip, resolve_sources
from random_people.jobs.spec import MAX_TASKS, JobSpec
from random_people.settings import Settings

# The clip's own scene as background (random_people.render.scene_background.SOURCE_BACKGROUND;
# not imported here to keep job planning free of the video and vision libraries).
SOURCE_BACKGROUND = "source"

logger = logging.getLogger(__name__)

EXTRACT = "extract"
RENDER = "render"
# Bump when extraction or rendering changes what a task writes: old outputs are then not reused.
# 2: the fit turns the world landmarks onto the ray to the person (issue 16)
# 3: the default extraction follows the largest person of the first frame (pose/extract.py)
# 4: the fit takes only the limbs' depth from the world landmarks, stretched; world window 0.8 s (issue 16)
# 5: the flip repair charges facing turns faster than a body spins and may turn the upper part apart from the legs (issue 16)
# 6: knees and elbows may straighten fully (the hinge limit charged from the straight limb, not the rest pose; issue 16)
# 7: who is in front where two people overlap is told by colour when painting others out (pose/tracking.py)
EXTRACTION_FORMAT = 7
# 2: the look of every identity with hair changed (hair sheen per strand; issue 13)
# 3: lit eyes: a small catchlight at the cornea's apex instead of gloss over the whole eyeball (issue 13)
RENDER_FORMAT = 3
GENERATOR_VERSION = f"random-people {random_people.__version__} lit"  # "lit": people shaded by their environment

HashFile = Callable[[Path], str]


@dataclass(frozen=True)
class PlannedTask:
    """One unit of work: ``payload`` is all an executor needs; ``depends_on`` is an extraction key."""

    key: str
    kind: str
    label: str
    payload: dict[str, Any]
    depends_on: str | None = None


@dataclass
class JobPlan:
    """A job's tasks in a fixed order (extractions first), plus what the log records about it."""

    spec: JobSpec
    sources: list[SourceClip]
    identities: list[IdentitySpec]
    output_dir: Path
    tasks: list[PlannedTask] = field(default_factory=list)

    @property
    def extract_tasks(self) -> list[PlannedTask]:
        return [t for t in self.tasks if t.kind == EXTRACT]

    @property
    def render_tasks(self) -> list[PlannedTask]:
        return [t for t in self.tasks if t.kind == RENDER]


def content_key(data: dict[str, Any]) -> str:
    """SHA-256 of canonical JSON: the address of whatever ``data`` fully determines."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def label_folder(label: str) -> str:
    """A label as a safe folder name (``Cook.Cleandishes`` stays readable; ``a/b`` does not escape)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "unlabelled"
    return slug[:80]


def resolve_identities(spec: JobSpec, identities_dir: Path) -> list[IdentitySpec]:
    """Saved people then sampled ones, each person once (ids are content hashes)."""
    from random_people.avatar.sampler import IdentityDistribution, sample_identities
    from random_people.avatar.store import load_identity

    people: list[IdentitySpec] = []
    problems: list[str] = []
    for i, ref in enumerate(spec.identities.saved):
        try:
            people.append(load_identity(ref, identities_dir))
        except RandomPeopleError as exc:
            problems.append(f"identities.saved[{i}]: {exc}")
    sample = spec.identities.sample
    if sample is not None:
        try:
            dist = IdentityDistribution.from_yaml(sample.config) if sample.config else \
                IdentityDistribution.from_dict(sample.distribution)
            people.extend(sample_identities(sample.n, sample.seed, dist.replace(mode=sample.mode)))
        except RandomPeopleError as exc:
            problems.append(f"identities.sample: {exc}")
    if problems:
        raise JobSpecError("The job's people cannot be resolved; nothing was queued:\n  - " + "\n  - ".join(problems))
    unique: dict[str, IdentitySpec] = {}
    for person in people:
        unique.setdefault(person.id, person)
    return list(unique.values())


def _background_ref(name: str, hash_file: HashFile) -> dict[str, Any]:
    """How a background enters a key: a file by its bytes (renaming it changes nothing)."""
    path = Path(name)
    if path.is_absolute():
        if not path.is_file():
            raise JobSpecError(f"backgrounds.names: background file not found: {path}.")
        return {"file": str(path), "sha256": hash_file(path)}
    return {"name": name}


def _check_backgrounds(names: tuple[str, ...]) -> None:
    from random_people.render.backgrounds import load_background

    problems = []
    for name in names:
        if name == SOURCE_BACKGROUND:
            continue  # the clip's own scene: checked per clip when its plate is built
        try:
            load_background(name)
        except RandomPeopleError as exc:
            problems.append(f"backgrounds.names: {exc}")
    if problems:
        raise JobSpecError("The job's backgrounds cannot be used; nothing was queued:\n  - " + "\n  - ".join(problems))


def _clip_backgrounds(spec: JobSpec, source_key: str) -> list[str]:
    """All backgrounds, or a seeded random ``per_clip`` of them for this clip."""
    names = list(spec.backgrounds.names)
    k = spec.backgrounds.per_clip
    if k is None or k >= len(names):
        return names
    rng = np.random.default_rng([spec.seed, int(source_key[:12], 16)])
    chosen = sorted(rng.choice(len(names), size=k, replace=False).tolist())
    return [names[i] for i in chosen]


def _cameras(spec: JobSpec, source_key: str) -> list[dict[str, Any]]:
    cams: list[dict[str, Any]] = [{"mode": "source"}] if spec.cameras.source else []
    camera_seed = int(content_key({"seed": spec.seed, "source": source_key})[:12], 16)
    cams += [{"mode": "sampled", "seed": camera_seed, "index": i, "sampler": spec.cameras.sampler}
             for i in range(spec.cameras.sampled)]
    return cams


def _extraction_settings(settings: Settings) -> dict[str, Any]:
    return {"body_model": settings.body_model, "fit_iterations": settings.fit_iterations,
            "detector_max_side": settings.detector_max_side, "min_detection_ratio": settings.min_detection_ratio,
            "format": EXTRACTION_FORMAT}


def _extract_task(clip: SourceClip, source_hash: str | None, settings: Settings, output_dir: Path) -> PlannedTask:
    identity = {"kind": EXTRACT, "source": source_hash or f"unreadable:{clip.path}", "start": clip.start,
                "end": clip.end, "settings": _extraction_settings(settings)}
    if clip.hands:  # only when asked, so the keys (and reuse) of extractions without hands stay as they were
        identity["hands"] = True
    key = content_key(identity)
    payload = {
        "clip": str(clip.path), "source_sha256": source_hash, "label": clip.label, "start": clip.start,
        "end": clip.end, "subject": clip.subject, "problem": clip.problem, "hands": clip.hands,
        "motion_path": str(output_dir / "motions" / f"{key[:16]}.npz"),
    }
    return PlannedTask(key=key, kind=EXTRACT, label=clip.label, payload=payload)


def _output_settings(spec: JobSpec) -> dict[str, Any]:
    out = spec.output
    return {"size": list(out.size) if out.size else None, "long_side": out.long_side, "fps": out.fps,
            "max_seconds": out.max_seconds, "max_frames": out.max_frames, "shadow": out.shadow,
            "harmonize": out.harmonize, "degrade": out.degrade, "labels": sorted(out.labels),
            **({"crf": out.crf} if out.crf is not None else {}),
            "format": RENDER_FORMAT}


def expand_job(spec: JobSpec, settings: Settings, hash_file: HashFile = sha256_file) -> JobPlan:
    """The job's tasks, deterministic for a given spec, settings and source files.

    ``hash_file`` lets the job log reuse hashes of files it has seen (same size and mtime).
    Raises :class:`JobSpecError` for problems that make the job meaningless as a whole (people or
    backgrounds that cannot be loaded, too many tasks); a bad *source clip* becomes a failing task.
    """
    output_dir = spec.output.dir or settings.data_dir / "renders"
    sources = resolve_sources(spec)
    _check_task_count(spec, len(sources))  # before sampling 100,000 people or building any task
    identities = resolve_identities(spec, settings.data_dir / "identities")
    _check_backgrounds(spec.backgrounds.names)
    backgrounds = {name: _background_ref(name, hash_file) for name in spec.backgrounds.names}
    plan = JobPlan(spec=spec, sources=sources, identities=identities, output_dir=output_dir)
    renders: list[PlannedTask] = []
    output_settings = _output_settings(spec)
    planned: dict[str, PlannedTask] = {}
    people = [(person.id, person.to_dict()) for person in identities]  # ids hash the spec: compute once
    for clip in sources:
        source_hash = hash_file(clip.path) if clip.problem is None and clip.path.is_file() else None
        extract = _extract_task(clip, source_hash, settings, output_dir)
        if extract.key in planned:  # the same bytes under another name: one motion, one set of clips
            logger.warning("%s has the same content and trim as %s; it is used once (label %r)", clip.path,
                           planned[extract.key].payload["clip"], planned[extract.key].label)
            continue
        planned[extract.key] = extract
        plan.tasks.append(extract)
        for person_id, person_dict in people:
            for background in _clip_backgrounds(spec, extract.key):
                for camera in _cameras(spec, extract.key):
                    if background == SOURCE_BACKGROUND and camera["mode"] != "source":
                        continue  # the clip's own scene exists only from its own viewpoint
                    renders.append(_render_task(spec, extract, person_id, person_dict, background,
                                                backgrounds[background], camera, output_settings, output_dir))
        if len(plan.tasks) + len(renders) > MAX_TASKS:
            raise JobSpecError(
                f"This job expands to more than {MAX_TASKS:,} tasks; split it into smaller jobs "
                "(fewer sources, people, backgrounds or cameras per job)."
            )
    plan.tasks.extend(renders)
    logger.info("Job %r: %d source clips, %d people -> %d extraction and %d render tasks", spec.name,
                len(sources), len(identities), len(plan.extract_tasks), len(renders))
    return plan


def _check_task_count(spec: JobSpec, source_count: int) -> None:
    """Refuse a job whose task count (an upper bound: duplicates are dropped later) passes MAX_TASKS.

    Counted from the spec's numbers alone, so a job of 100,000 people x 1,001 cameras is refused
    in microseconds instead of after minutes of expansion and gigabytes of task dicts.
    """
    people = len(spec.identities.saved) + (spec.identities.sample.n if spec.identities.sample else 0)
    per_clip = min(spec.backgrounds.per_clip or len(spec.backgrounds.names), len(spec.backgrounds.names))
    views = int(spec.cameras.source) + spec.cameras.sampled
    tasks = source_count * (1 + people * per_clip * views)
    if tasks > MAX_TASKS:
        raise JobSpecError(
            f"This job expands to {tasks:,} tasks ({source_count:,} source clips x {people:,} people x {per_clip:,} "
            f"backgrounds x {views:,} cameras, plus one extraction per clip), more than {MAX_TASKS:,}; split it "
            "into smaller jobs (fewer sources, people, backgrounds or cameras per job). Nothing was queued."
        )


def _render_task(spec: JobSpec, extract: PlannedTask, person_id: str, person_dict: dict[str, Any],
                 background: str, background_ref: dict[str, Any], camera: dict[str, Any],
                 output_settings: dict[str, Any], output_dir: Path) -> PlannedTask:
    render_seed = int(content_key({"seed": spec.seed, "source": extract.key, "identity": person_id})[:12], 16)
    key = content_key({
        "kind": RENDER, "motion": extract.key, "identity": person_id, "background": background_ref,
        "camera": camera, "output": output_settings, "seed": render_seed, "generator": GENERATOR_VERSION,
    })
    folder = output_dir / label_folder(extract.label)
    payload = {
        "motion_path": extract.payload["motion_path"], "motion_key": extract.key, "identity": person_dict,
        "identity_id": person_id,
        "background": background, "camera": camera, "seed": render_seed, "output": output_settings,
        "output_dir": str(folder), "name": key[:16], "label": extract.label,
        "source_sha256": extract.payload["source_sha256"], "source_clip": extract.payload["clip"],
        "subject": extract.payload["subject"], "generator_version": GENERATOR_VERSION,
    }
    return PlannedTask(key=key, kind=RENDER, label=extract.label, payload=payload, depends_on=extract.key)

