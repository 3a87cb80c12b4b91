"""Progress, throughput and ETA: queries over the log, never counters kept somewhere else.

Because every figure is computed from task rows and their timestamps, the CLI, the app and any
SQL client see the same numbers, and they survive restarts of everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from random_people.jobs.db import Database
from random_people.jobs.expand import EXTRACT, RENDER
from random_people.jobs.models import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Event, Job, Output, Task
from random_people.jobs.queue import find_job, now

THROUGHPUT_WINDOW_S = 600.0  # clips/min is measured over the last ten minutes of work


@dataclass
class JobProgress:
    """One job at a glance (what `jobs show` prints and the Jobs tab draws)."""

    id: str
    name: str
    state: str
    created_at: float
    finished_at: float | None
    output_dir: str
    auto_accept: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> state -> n
    reused: int = 0
    clips_per_minute: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0

    def count(self, state: str, kind: str | None = None) -> int:
        kinds = [kind] if kind else list(self.counts)
        return sum(self.counts.get(k, {}).get(state, 0) for k in kinds)

    @property
    def total(self) -> int:
        return sum(sum(states.values()) for states in self.counts.values())

    @property
    def finished(self) -> int:
        return self.count(DONE) + self.count(FAILED) + self.count(CANCELLED)

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0

    def summary(self) -> str:
        renders = self.counts.get(RENDER, {})
        parts = [f"{self.count(DONE)}/{self.total} tasks done", f"{renders.get(DONE, 0)} clips"]
        if self.count(RUNNING):
            parts.append(f"{self.count(RUNNING)} running")
        if self.count(FAILED):
            parts.append(f"{self.count(FAILED)} failed")
        if self.count(CANCELLED):
            parts.append(f"{self.count(CANCELLED)} cancelled")
        if self.clips_per_minute and self.state in (QUEUED, RUNNING):  # a finished job's rate only decays
            parts.append(f"{self.clips_per_minute:.1f} clips/min")
        if self.eta_s is not None and self.state in (QUEUED, RUNNING):
            parts.append(f"ETA {format_duration(self.eta_s)}")
        return ", ".join(parts)


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")


def _throughput(session, job_id: str, stamp: float) -> tuple[float, float | None]:
    """(clips per minute over the recent window, mean seconds per finished task of each kind)."""
    since = stamp - THROUGHPUT_WINDOW_S
    recent = session.execute(
        select(func.count(), func.min(Task.claimed_at)).where(
            Task.job_id == job_id, Task.kind == RENDER, Task.state == DONE, Task.finished_at >= since,
            Task.seconds > 0)
    ).one()
    n, first = int(recent[0] or 0), recent[1]
    if n == 0 or first is None:
        return 0.0, None
    window = max(stamp - max(first, since), 1e-6)
    return 60.0 * n / window, window / n


def job_progress(db: Database, job_id: str) -> JobProgress:
    with db.session() as session:
        job = find_job(session, job_id)
        rows = session.execute(
            select(Task.kind, Task.state, func.count()).where(Task.job_id == job.id).group_by(Task.kind, Task.state)
        ).all()
        counts: dict[str, dict[str, int]] = {}
        for kind, state, n in rows:
            counts.setdefault(kind, {})[state] = int(n)
        reused = int(session.scalar(select(func.count()).where(  # at queueing or found on disk by a worker
            Task.job_id == job.id, Task.state == DONE, Task.result_json.like('%"reused": true%'))) or 0)
        stamp = now()
        per_minute, seconds_per_clip = _throughput(session, job.id, stamp)
        remaining = sum(counts.get(RENDER, {}).get(s, 0) for s in (QUEUED, RUNNING))
        eta = remaining * seconds_per_clip if seconds_per_clip and remaining else (0.0 if not remaining else None)
        end = job.finished_at or stamp
        return JobProgress(
            id=job.id, name=job.name, state=job.state, created_at=job.created_at, finished_at=job.finished_at,
            output_dir=job.output_dir, auto_accept=job.auto_accept, counts=counts, reused=reused,
            clips_per_minute=per_minute, eta_s=eta, elapsed_s=end - job.created_at,
        )


def list_jobs(db: Database, limit: int = 50) -> list[JobProgress]:
    """The newest jobs first."""
    with db.session() as session:
        ids = session.scalars(select(Job.id).order_by(Job.created_at.desc()).limit(limit)).all()
    return [job_progress(db, job_id) for job_id in ids]


@dataclass(frozen=True)
class TaskRow:
    id: int
    kind: str
    state: str
    label: str
    what: str
    worker: str | None
    attempts: int
    seconds: float | None
    error: str | None
    result: dict[str, Any] | None


def job_tasks(db: Database, job_id: str, state: str | None = None, limit: int = 500) -> list[TaskRow]:
    """Tasks of a job (optionally in one state), extractions first, for the CLI and the app."""
    from random_people.jobs.tasks import describe_payload

    with db.session() as session:
        job = find_job(session, job_id)
        query = select(Task).where(Task.job_id == job.id).order_by(Task.id).limit(limit)
        if state:
            query = query.where(Task.state == state)
        return [
            TaskRow(id=t.id, kind=t.kind, state=t.state, label=t.label,
                    what=describe_payload(t.kind, json.loads(t.payload_json)), worker=t.worker,
                    attempts=t.attempts, seconds=t.seconds, error=t.error,
                    result=json.loads(t.result_json) if t.result_json else None)
            for t in session.scalars(query).all()
        ]


def task_events(db: Database, task_id: int) -> list[tuple[float, str, str | None, str]]:
    """A task's history: (time, state, worker, reason)."""
    with db.session() as session:
        rows = session.scalars(select(Event).where(Event.task_id == task_id).order_by(Event.id)).all()
        return [(e.at, e.kind, e.worker, e.message) for e in rows]


def job_events(db: Database, job_id: str, limit: int = 200) -> list[tuple[float, str, int | None, str | None, str]]:
    with db.session() as session:
        job = find_job(session, job_id)
        rows = session.scalars(select(Event).where(Event.job_id == job.id).order_by(Event.id.desc()).limit(limit)).all()
        return [(e.at, e.kind, e.task_id, e.worker, e.message) for e in reversed(rows)]


def estimate_seconds_per_frame(db: Database) -> float | None:
    """Mean render seconds per output frame over past clips (for pre-queue estimates)."""
    with db.session() as session:
        row = session.execute(
            select(func.sum(Output.seconds), func.sum(Output.frames)).where(Output.seconds > 0)
        ).one()
    if not row[0] or not row[1]:
        return None
    return float(row[0]) / float(row[1])


def estimate_bytes_per_pixel_frame(db: Database) -> float | None:
    with db.session() as session:
        row = session.execute(
            select(func.sum(Output.size_bytes), func.sum(Output.frames * Output.width * Output.height))
        ).one()
    if not row[0] or not row[1]:
        return None
    return float(row[0]) / float(row[1])


__all__ = ["EXTRACT", "RENDER", "JobProgress", "TaskRow", "format_duration", "job_events", "job_progress",
           "job_tasks", "list_jobs", "task_events"]
