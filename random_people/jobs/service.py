"""The bulk-job operations the CLI and the app share: plan, estimate, queue, run.

Both front ends call these and only format the results, so a job queued from the browser and one
queued from a terminal are the same job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from random_people.jobs.db import Database, open_database
from random_people.jobs.expand import JobPlan, expand_job
from random_people.jobs.progress import JobProgress, estimate_bytes_per_pixel_frame
from random_people.jobs.queue import cached_hasher, submit_job
from random_people.jobs.spec import JobSpec, PathPolicy, frame_limit, load_spec, parse_spec
from random_people.settings import Settings
from random_people.wording import count

logger = logging.getLogger(__name__)

# Used until this log has its own history: H.264 clip + lossless mask + labels take ~0.12 bytes
# per pixel per frame. Time rates live in jobs/rates.py (calibrated on this log's finished tasks).
DEFAULT_BYTES_PER_PIXEL_FRAME = 0.12


@dataclass(frozen=True)
class JobEstimate:
    """What a job will cost before it is queued."""

    source_clips: int
    unusable_sources: int
    people: int
    extract_tasks: int
    render_tasks: int
    output_frames: int
    seconds_one_worker: float  # extraction + rendering, one worker, no start-up
    workers: int
    disk_bytes: int
    from_history: bool  # True when the rates come from this log's finished clips
    probed: int = 0  # source clips actually opened for the estimate (the rest are extrapolated)
    unreadable_probed: int = 0  # of those, clips that cannot be decoded: their tasks will fail
    startup_seconds: float = 0.0  # workers starting and loading their models before the first task
    extract_seconds: float = 0.0
    render_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Wall time: start-up, then extractions (one per source clip, in parallel up to the workers),
        then the renders shared by the workers (a render waits for its clip's extraction)."""
        workers = max(1, self.workers)
        if not self.extract_seconds and not self.render_seconds:
            return self.startup_seconds + self.seconds_one_worker / workers
        extract_parallel = max(1, min(workers, self.extract_tasks))
        return self.startup_seconds + self.extract_seconds / extract_parallel + self.render_seconds / workers

    def _breakdown(self) -> str:
        from random_people.jobs.progress import format_duration

        if not self.extract_seconds and not self.render_seconds:
            return ""
        extract = self.extract_seconds / max(1, min(self.workers, self.extract_tasks))
        return (f" (start-up {format_duration(self.startup_seconds)}, extraction {format_duration(extract)}, "
                f"rendering {format_duration(self.render_seconds / max(1, self.workers))})")

    def summary(self) -> str:
        from random_people.jobs.progress import format_duration

        gib = self.disk_bytes / 2**30
        size = f"{gib:.2f} GiB" if gib >= 0.1 else f"{self.disk_bytes / 2**20:.1f} MiB"
        basis = "measured on this log" if self.from_history else "typical 2-core rates"
        unusable = f" ({self.unusable_sources} unusable)" if self.unusable_sources else ""
        text = (f"{count(self.render_tasks, 'clip')} from {count(self.source_clips, 'source clip')}{unusable} x "
                f"{count(self.people, 'person', 'people')}; {count(self.output_frames, 'frame')}; "
                f"about {format_duration(self.seconds)} with {count(self.workers, 'worker')}{self._breakdown()} and "
                f"{size} of disk ({basis}")
        usable = self.source_clips - self.unusable_sources
        if self.probed < usable:
            text += f"; clip lengths from {self.probed} of {usable} clips"
        text += ")."
        if self.unreadable_probed:
            text += (f" Warning: {self.unreadable_probed} of {self.probed} probed clips cannot be decoded; "
                     "their tasks will fail.")
        return text


def app_path_policy(settings: Settings) -> PathPolicy:
    """Where a spec given to the app (uploaded, or built in its tabs) may point: the data folder
    (uploads, saved people, outputs) and the shipped assets, nothing else on the server."""
    from random_people.render.backgrounds import backgrounds_dir

    return PathPolicy.confined(settings.data_dir, backgrounds_dir().parent)


def plan_job(spec: JobSpec, settings: Settings, db: Database | None = None) -> JobPlan:
    """Expand ``spec`` with the log's hash cache. The log is opened at the first file hashed, i.e.
    only once the spec passed every check, so a refused spec leaves no new file behind."""
    hasher = None

    def hash_file(path: Path) -> str:
        nonlocal hasher
        if hasher is None:
            hasher = cached_hasher(db or open_database(settings.resolved_database_url))
        return hasher(path)

    return expand_job(spec, settings, hash_file=hash_file)


MAX_PROBED_CLIPS = 48  # probing decodes a frame (~0.1 s); past this, the rest are extrapolated


def _clip_frames(plan: JobPlan) -> tuple[dict[str, tuple[int, float, int, int]], int, int]:
    """Per extraction key: (source frames after trimming, fps, width, height).

    Up to :data:`MAX_PROBED_CLIPS` evenly spaced clips are probed; the others get the mean of
    those, so estimating a 16,000-clip job takes seconds. Returns the table, how many clips were
    probed and how many of those could not be read.
    """
    from random_people.errors import RandomPeopleError
    from random_people.media import probe_video

    usable = [t for t in plan.extract_tasks if not t.payload.get("problem") and Path(t.payload["clip"]).is_file()]
    step = max(1, -(-len(usable) // MAX_PROBED_CLIPS))
    sample = usable[::step]
    frames: dict[str, tuple[int, float, int, int]] = {}
    unreadable = 0
    for task in sample:
        payload = task.payload
        try:
            info = probe_video(payload["clip"])
        except RandomPeopleError:
            unreadable += 1
            continue
        start = payload.get("start") or 0.0
        end = min(payload.get("end") or info.duration, info.duration)
        frames[task.key] = (max(1, int(round((end - start) * info.fps))), info.fps, info.width, info.height)
    if frames and len(sample) < len(usable):
        columns = list(zip(*frames.values()))
        typical = tuple(type(c[0])(sum(c) / len(c)) for c in columns)
        for task in usable:
            frames.setdefault(task.key, typical)  # type: ignore[arg-type]
    return frames, len(sample), unreadable


def estimate_job(plan: JobPlan, settings: Settings, db: Database | None = None, workers: int = 1) -> JobEstimate:
    """Clips, frames, time and disk of a planned job, from the source files and past throughput."""
    from random_people.avatar.pipeline import resample_frames

    from random_people.jobs.rates import measured_rates

    db = db or open_database(settings.resolved_database_url)
    rates = measured_rates(db)
    per_pixel = estimate_bytes_per_pixel_frame(db)
    clips, probed, unreadable = _clip_frames(plan)
    extract_seconds = sum(n / rates.extract_fps for n, *_ in clips.values())
    render_seconds = 0.0
    frames_total = 0
    disk = 0.0
    for task in plan.render_tasks:
        known = clips.get(task.depends_on or "")
        if known is None:
            continue
        n, fps, width, height = known
        out = task.payload["output"]
        out_fps = out["fps"] or fps
        count = len(resample_frames(n, fps, out_fps, frame_limit(out, out_fps)))
        if out.get("size"):
            w, h = out["size"]
        else:
            scale = out["long_side"] / max(width, height)
            w, h = width * scale, height * scale
        pixels = w * h
        frames_total += count
        render_seconds += rates.render_seconds(count, w, h)
        disk += count * pixels * (per_pixel or DEFAULT_BYTES_PER_PIXEL_FRAME)
    return JobEstimate(
        source_clips=len(plan.sources), unusable_sources=sum(1 for s in plan.sources if s.problem),
        people=len(plan.identities), extract_tasks=len(plan.extract_tasks), render_tasks=len(plan.render_tasks),
        output_frames=frames_total, seconds_one_worker=extract_seconds + render_seconds, workers=workers,
        disk_bytes=int(disk), from_history=rates.from_history, probed=probed, unreadable_probed=unreadable,
        startup_seconds=rates.startup_s if plan.tasks else 0.0, extract_seconds=extract_seconds,
        render_seconds=render_seconds,
    )


def queue_job(spec: JobSpec | str | Path | dict, settings: Settings) -> tuple[str, JobPlan]:
    """Validate, expand and queue a job; returns its id and plan (nothing runs yet)."""
    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif isinstance(spec, dict):
        spec = parse_spec(spec)
    db = open_database(settings.resolved_database_url)
    plan = plan_job(spec, settings, db)
    return submit_job(db, plan), plan


def run_jobs(job_ids: list[str], settings: Settings, *, executor: str = "local", workers: int | None = None,
             address: str | None = None, on_progress: Callable[[JobProgress], None] | None = None) -> list[JobProgress]:
    """Run queued jobs to completion with the local pool or Ray."""
    url = settings.resolved_database_url
    from random_people.jobs.progress import job_progress
    from random_people.jobs.queue import has_pending_work

    if not has_pending_work(open_database(url), job_ids):  # e.g. everything reused: start nothing
        return [job_progress(open_database(url), job_id) for job_id in job_ids]
    if executor == "local":
        from random_people.jobs.local_executor import run_local

        return run_local(url, settings, job_ids, workers=workers, on_progress=on_progress)
    if executor == "ray":
        from random_people.jobs.ray_executor import run_ray

        return run_ray(url, settings, job_ids, address=address, max_in_flight=workers, on_progress=on_progress)
    raise ValueError(f"Unknown executor {executor!r}; use local or ray.")
