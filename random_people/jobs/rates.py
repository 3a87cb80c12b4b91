"""Throughput rates for job estimates, calibrated on this log's own finished tasks.

An estimate of "about 2 s" for a job that took 28 s is worse than none. What a job costs on this
machine is, in order: starting the worker processes and loading their models (seconds before the
first task runs), extracting each source clip (seconds per source frame), and rendering each
clip (a fixed cost per clip for building the avatar and opening files, plus seconds per
megapixel-frame, plus the fidelity check). All of these are measured here from past tasks; the
defaults below (measured on the 2-core development machine) are used until the log has history.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass

from sqlalchemy import select

from random_people.jobs.db import Database
from random_people.jobs.expand import EXTRACT
from random_people.jobs.models import DONE, Event, Job, Output, Task

# Defaults (2 cores, no history): worker start-up incl. torch, Anny and MediaPipe imports; extraction
# of the shipped 1768x994 example measured at ~15 s for 230 frames unloaded; a 512 px clip's fixed
# cost (avatar build, encoders) and per-megapixel-frame cost.
DEFAULT_STARTUP_S = 12.0
DEFAULT_EXTRACT_FPS = 12.0
DEFAULT_RENDER_CLIP_S = 3.0
DEFAULT_RENDER_S_PER_MEGAPIXEL_FRAME = 0.6
HISTORY = 200  # most recent tasks used for calibration


@dataclass(frozen=True)
class Rates:
    startup_s: float
    extract_fps: float
    render_clip_s: float
    render_s_per_megapixel_frame: float
    from_history: bool

    def render_seconds(self, frames: int, width: float, height: float) -> float:
        return self.render_clip_s + frames * width * height / 1e6 * self.render_s_per_megapixel_frame


def _fit_render(samples: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares ``seconds = a + b * megapixel_frames`` over past clips; a, b >= 0."""
    if not samples:
        return None
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    if len(samples) >= 3 and max(xs) > 1.5 * min(xs):
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        var = sum((x - mean_x) ** 2 for x in xs)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / var
        intercept = mean_y - slope * mean_x
        if slope > 0 and intercept >= 0:
            return intercept, slope
    # One size only: keep the default split between fixed and per-pixel cost, scaled to the measurement.
    predicted = sum(DEFAULT_RENDER_CLIP_S + x * DEFAULT_RENDER_S_PER_MEGAPIXEL_FRAME for x in xs)
    scale = sum(ys) / predicted if predicted > 0 else 1.0
    return DEFAULT_RENDER_CLIP_S * scale, DEFAULT_RENDER_S_PER_MEGAPIXEL_FRAME * scale


def measured_rates(db: Database) -> Rates:
    """This log's rates (each from its own history, else the default)."""
    with db.session() as session:
        outputs = session.execute(
            select(Output.seconds, Output.frames, Output.width, Output.height)
            .where(Output.seconds > 0).order_by(Output.created_at.desc()).limit(HISTORY)
        ).all()
        extracts = session.execute(
            select(Task.seconds, Task.result_json).where(Task.kind == EXTRACT, Task.state == DONE, Task.seconds > 0)
            .order_by(Task.finished_at.desc()).limit(HISTORY)
        ).all()
        jobs = session.execute(select(Job.id, Job.created_at).order_by(Job.created_at.desc()).limit(20)).all()
        first_claims = {}
        for job_id, created in jobs:
            first = session.scalars(select(Event.at).where(Event.job_id == job_id, Event.kind == "running")
                                    .order_by(Event.at).limit(1)).first()
            if first is not None:
                first_claims[job_id] = first - created
    render = _fit_render([(f * w * h / 1e6, s) for s, f, w, h in outputs])
    extract_frames = extract_seconds = 0.0
    for seconds, result_json in extracts:
        result = json.loads(result_json or "{}")
        if result.get("reused"):
            continue
        frames = (result.get("quality") or {}).get("frames_processed") or result.get("frames")
        if frames:
            extract_frames += float(frames)
            extract_seconds += float(seconds)
    # Start-up: from queueing to the first task starting, over recent jobs (clamped: a job queued
    # while no worker ran, and started by hand later, says nothing about start-up).
    startups = [s for s in first_claims.values() if 0 <= s <= 300]
    return Rates(
        startup_s=statistics.median(startups) if startups else DEFAULT_STARTUP_S,
        extract_fps=extract_frames / extract_seconds if extract_seconds > 0 else DEFAULT_EXTRACT_FPS,
        render_clip_s=render[0] if render else DEFAULT_RENDER_CLIP_S,
        render_s_per_megapixel_frame=render[1] if render else DEFAULT_RENDER_S_PER_MEGAPIXEL_FRAME,
        from_history=bool(outputs or extract_seconds or startups),
    )
