"""The job log's state machine: submit, claim, heartbeat, finish, reclaim, cancel, pause, retry.

Correctness rests on two rules:

* **Compare-and-set transitions.** A task changes state only through ``UPDATE ... WHERE
  state = <expected> [AND worker = me AND attempts = my attempt]``; the row count says whether
  this caller won. Two workers can race for a task and exactly one gets it, a worker whose task
  was reclaimed cannot later mark it done, and the same holds on SQLite and PostgreSQL.
* **One running holder per key.** Jobs can share keys (the same spec queued twice, two specs
  needing the same clip); a key running in one job is not claimed in another until it ends (the
  claim query skips it, and a partial unique index refuses a racing second holder), and the next
  holder is handed the log's record of what was made so it reuses it instead of making it again.
  So two tasks never write one output, and clearing a task's staging files never hits a live one.
* **Every change is an event.** Each transition writes an :class:`Event` in the same transaction
  (time, reason, worker), so the log explains every task's history and progress/ETA are queries.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from random_people.jobs.db import Database
from random_people.jobs.errors import JobNotFoundError, JobStateError
from random_people.jobs import reuse
from random_people.jobs.expand import EXTRACT, RENDER, JobPlan
from random_people.jobs.models import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    PENDING,
    QUEUED,
    REJECTED,
    RUNNING,
    BackgroundRecord,
    Event,
    IdentityRecord,
    Job,
    MotionRecord,
    Output,
    SourceFile,
    Task,
)

logger = logging.getLogger(__name__)

FINISHED_JOB_STATES = (DONE, FAILED, CANCELLED)


def now() -> float:
    return time.time()


def worker_name(prefix: str = "worker") -> str:
    """``<prefix>@<host>:<pid>``: enough to find the process that holds a task."""
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ClaimedTask:
    """What a worker needs to run a task and to report back (``attempt`` fences stale reports).

    ``known`` is the log's record of this key's output when another task (of any job) made it:
    the task reuses it if the files still match their checksums (see :mod:`random_people.jobs.reuse`).
    """

    id: int
    job_id: str
    key: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    worker: str
    known: dict[str, Any] | None = None


def _event(session: Session, kind: str, message: str = "", *, job_id: str | None = None,
           task_id: int | None = None, worker: str | None = None) -> None:
    session.add(Event(at=now(), job_id=job_id, task_id=task_id, kind=kind, worker=worker, message=message))


def find_job(session: Session, job_id: str) -> Job:
    """The job with this id or unique id prefix; :class:`JobNotFoundError` says how to list jobs."""
    job = session.get(Job, job_id)
    if job is None:
        matches = session.scalars(select(Job).where(Job.id.startswith(job_id))).all() if len(job_id) >= 4 else []
        if len(matches) == 1:
            return matches[0]
        raise JobNotFoundError(f"No job {job_id!r} in the log; `random-people jobs list` shows the jobs.")
    return job


def resolve_job_id(db: Database, job_id: str) -> str:
    """A full job id from a unique prefix (as printed by ``jobs list``)."""
    with db.session() as session:
        return find_job(session, job_id).id


# --------------------------------------------------------------------------------------------
# Submitting
# --------------------------------------------------------------------------------------------


def cached_hasher(db: Database):
    """A ``hash_file`` for :func:`expand_job` that reuses SHA-256s of unchanged files (size + mtime)."""
    from random_people.files import sha256_file

    def hash_file(path: Path) -> str:
        stat = path.stat()
        key = str(path.resolve())
        with db.session() as session:
            row = session.get(SourceFile, key)
            if row is not None and row.size == stat.st_size and row.mtime_ns == stat.st_mtime_ns:
                return row.sha256
        digest = sha256_file(path)
        with db.session() as session:
            session.merge(SourceFile(path=key, size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest,
                                     seen_at=now()))
        return digest

    return hash_file


def _background_kind(name: str) -> str:
    from random_people.render.backgrounds import IMAGE_SUFFIXES

    if name.startswith("#"):
        return "plain"
    if name == "source":
        return "source"  # the source clip's own scene, its person removed
    if Path(name).is_absolute():
        return "image" if Path(name).suffix.lower() in IMAGE_SUFFIXES else "video"
    return "image"  # shipped backgrounds are images


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def known_output(session: Session, kind: str, key: str) -> dict[str, Any] | None:
    """The log's record of what the task ``key`` made (any job), as :mod:`~random_people.jobs.reuse` reads it."""
    if kind == EXTRACT:
        motion = session.get(MotionRecord, key)
        return None if motion is None else {"path": motion.path, "sha256": motion.sha256}
    if kind == RENDER:
        output = session.get(Output, key)
        return None if output is None else _clip_record(output)
    return None


def _clip_record(output: Output) -> dict[str, Any]:
    return {"video_path": output.video_path, "mask_path": output.mask_path, "labels_path": output.labels_path,
            "checksums": json.loads(output.checksums_json)}


def _reusable(db: Database, plan: JobPlan) -> dict[str, dict[str, Any]]:
    """Results of planned tasks whose outputs are on disk exactly as the log recorded them.

    A motion counts only at the path this job's renders read (a copy elsewhere is placed there by
    the worker that takes the extraction); a clip counts where it was made. Every file is checked
    against its recorded SHA-256, outside any write transaction (hashing takes a while).
    """
    motions: dict[str, MotionRecord] = {}
    clips: dict[str, dict[str, Any]] = {}
    with db.session() as session:
        for chunk in _chunks([t.key for t in plan.tasks if t.kind == EXTRACT]):
            motions.update((m.key, m) for m in session.scalars(select(MotionRecord).where(MotionRecord.key.in_(chunk))))
        for chunk in _chunks([t.key for t in plan.tasks if t.kind == RENDER]):
            clips.update((o.key, _clip_record(o)) for o in session.scalars(select(Output).where(Output.key.in_(chunk))))

    def check(task) -> dict[str, Any] | None:
        if task.kind == EXTRACT and task.key in motions:
            motion, target = motions[task.key], task.payload["motion_path"]
            if reuse.file_matches(target, motion.sha256):
                return {"motion_path": target, "frames": motion.frames, "fps": motion.fps,
                        "sha256": motion.sha256, "reused": True}
        elif task.kind == RENDER and task.key in clips and reuse.clip_matches(clips[task.key]):
            return {**clips[task.key], "reused": True}
        return None

    found = ((task.key, check(task)) for task in plan.tasks if task.key in motions or task.key in clips)
    return {key: result for key, result in found if result is not None}


def submit_job(db: Database, plan: JobPlan) -> str:
    """Record a planned job and queue its tasks; returns the job id.

    Tasks whose output already exists (made by this or any earlier job, files still on disk with
    their recorded checksums) are recorded as done at once with the reason "reused" and where the
    files are, so re-running a job makes nothing twice.
    """
    made = _reusable(db, plan)
    job_id = uuid.uuid4().hex[:12]
    stamp = now()
    spec = plan.spec
    with db.session() as session:
        session.add(Job(id=job_id, name=spec.name, state=QUEUED, spec_json=json.dumps(spec.to_dict()),
                        output_dir=str(plan.output_dir), seed=spec.seed, auto_accept=spec.auto_accept,
                        created_at=stamp, updated_at=stamp))
        for person in plan.identities:
            if session.get(IdentityRecord, person.id) is None:
                session.add(IdentityRecord(id=person.id, spec_json=json.dumps(person.to_dict()), created_at=stamp))
        for name in spec.backgrounds.names:
            session.merge(BackgroundRecord(name=name, kind=_background_kind(name)))
        rows = []
        for planned in plan.tasks:
            row = dict(job_id=job_id, key=planned.key, kind=planned.kind, label=planned.label, state=QUEUED,
                       depends_on=planned.depends_on, payload_json=json.dumps(planned.payload), attempts=0,
                       result_json=None, finished_at=None, seconds=None)
            if planned.key in made:
                row.update(state=DONE, finished_at=stamp, seconds=0.0, result_json=json.dumps(made[planned.key]))
            rows.append(row)
        if rows:
            session.execute(insert(Task), rows)  # one executemany, not 10,000 ORM flushes
        reused = len(made)
        _event(session, "job_queued", f"{len(plan.tasks)} tasks ({len(plan.extract_tasks)} extraction, "
               f"{len(plan.render_tasks)} render); {reused} already made by earlier jobs", job_id=job_id)
        session.flush()
        _refresh_job_state(session, job_id)
    logger.info("Queued job %s (%s): %d tasks, %d reused", job_id, spec.name, len(plan.tasks), reused)
    return job_id


# --------------------------------------------------------------------------------------------
# Claiming and reporting
# --------------------------------------------------------------------------------------------


def _claimable(job_ids: Sequence[str] | None = None, kinds: Sequence[str] | None = None):
    """Queued tasks of active jobs whose extraction (if any) is done, oldest first.

    A task whose key is running in another job waits for it (and then reuses what it made).
    """
    dependency = aliased(Task)
    ready = exists().where(and_(dependency.job_id == Task.job_id, dependency.key == Task.depends_on,
                                dependency.state == DONE))
    holder = aliased(Task)
    held_elsewhere = exists().where(and_(holder.key == Task.key, holder.state == RUNNING))
    query = (select(Task.id).join(Job, Job.id == Task.job_id)
             .where(Task.state == QUEUED, Job.state.in_((QUEUED, RUNNING)),
                    (Task.depends_on.is_(None)) | ready, ~held_elsewhere)
             .order_by(Task.id))
    if job_ids:
        query = query.where(Task.job_id.in_(list(job_ids)))
    if kinds:
        query = query.where(Task.kind.in_(list(kinds)))
    return query


def claim_task(db: Database, worker: str, *, job_ids: Sequence[str] | None = None,
               kinds: Sequence[str] | None = None, candidates: int = 8) -> ClaimedTask | None:
    """Atomically take the next runnable task for ``worker``, or None if there is none right now."""
    with db.session() as session:
        ids = session.scalars(_claimable(job_ids, kinds).limit(candidates)).all()
        for task_id in ids:
            stamp = now()
            try:
                with session.begin_nested():
                    won = session.execute(
                        update(Task).where(Task.id == task_id, Task.state == QUEUED)
                        .values(state=RUNNING, worker=worker, attempts=Task.attempts + 1, claimed_at=stamp,
                                heartbeat_at=stamp, error=None)
                    ).rowcount == 1
            except IntegrityError:  # its key started running in another job meanwhile: wait for that one
                continue
            if not won:
                continue
            task = session.get(Task, task_id)
            session.refresh(task)
            _event(session, RUNNING, f"attempt {task.attempts}", job_id=task.job_id, task_id=task.id, worker=worker)
            job = session.get(Job, task.job_id)
            if job.state == QUEUED:
                job.state, job.updated_at = RUNNING, stamp
                _event(session, "job_running", "", job_id=job.id)
            return ClaimedTask(id=task.id, job_id=task.job_id, key=task.key, kind=task.kind,
                               payload=json.loads(task.payload_json), attempt=task.attempts, worker=worker,
                               known=known_output(session, task.kind, task.key))
    return None


def _mine(task: ClaimedTask):
    return and_(Task.id == task.id, Task.state == RUNNING, Task.worker == task.worker, Task.attempts == task.attempt)


def heartbeat(db: Database, tasks: Iterable[ClaimedTask]) -> set[int]:
    """Refresh the heartbeat of tasks still held; returns the ids no longer ours (cancelled/reclaimed)."""
    lost: set[int] = set()
    with db.session() as session:
        stamp = now()
        for task in tasks:
            if session.execute(update(Task).where(_mine(task)).values(heartbeat_at=stamp)).rowcount != 1:
                lost.add(task.id)
    return lost


def complete_task(db: Database, task: ClaimedTask, result: dict[str, Any], seconds: float) -> bool:
    """Mark ``task`` done with its result and record what it made; False if it was no longer ours."""
    with db.session() as session:
        stamp = now()
        won = session.execute(
            update(Task).where(_mine(task)).values(state=DONE, finished_at=stamp, seconds=seconds,
                                                   result_json=json.dumps(result), error=None)
        ).rowcount == 1
        if not won:
            logger.warning("Task %s finished by %s but it was reclaimed or cancelled meanwhile; result dropped",
                           task.id, task.worker)
            return False
        if task.kind == EXTRACT:
            _record_motion(session, task, result, stamp)
        elif task.kind == RENDER:
            _record_output(session, task, result, seconds, stamp)
        verb = "reused an existing output" if result.get("reused") else f"in {seconds:.1f} s"
        _event(session, DONE, verb, job_id=task.job_id, task_id=task.id, worker=task.worker)
        _refresh_job_state(session, task.job_id)
    return True


def _record_motion(session: Session, task: ClaimedTask, result: dict[str, Any], stamp: float) -> None:
    payload = task.payload
    session.merge(MotionRecord(
        key=task.key, path=result["motion_path"], source_sha256=payload["source_sha256"] or "",
        source_path=payload["clip"], label=payload["label"], subject=payload.get("subject"),
        frames=int(result["frames"]), fps=float(result["fps"]), sha256=result["sha256"], created_at=stamp,
    ))


def _record_output(session: Session, task: ClaimedTask, result: dict[str, Any], seconds: float,
                   stamp: float) -> None:
    payload = task.payload
    existing = session.get(Output, task.key)
    fields = dict(
        video_path=result["video_path"], mask_path=result.get("mask_path"), labels_path=result.get("labels_path"),
        motion_key=task.payload.get("motion_key") or "", motion_path=payload["motion_path"],
        identity_id=payload["identity_id"], background=payload["background"],
        camera_json=json.dumps(result.get("camera", payload["camera"])), label=payload["label"],
        source_sha256=payload.get("source_sha256") or "", source_path=payload.get("source_clip") or "",
        subject=payload.get("subject"), seed=int(payload["seed"]), generator_version=payload["generator_version"],
        frames=int(result["frames"]), fps=float(result["fps"]), width=int(result["width"]),
        height=int(result["height"]), checksums_json=json.dumps(result["checksums"]),
        size_bytes=int(result["size_bytes"]), seconds=seconds,
    )
    figures = result.get("fidelity")
    if figures:  # a reused clip whose labels are gone keeps the figures stored before
        fields.update(fidelity=float(figures["fidelity"]), fidelity_json=json.dumps(figures))
    if existing is None:
        existing = Output(key=task.key, job_id=task.job_id, created_at=stamp, **fields)
        session.add(existing)
    else:  # re-made (its files had gone): keep the curator's decision
        for name, value in fields.items():
            setattr(existing, name, value)
    _auto_reject(session, task, existing)


def _auto_reject(session: Session, task: ClaimedTask, output: Output) -> None:
    """Reject a pending clip scoring below its job's ``review.min_fidelity`` (a curator's decision wins)."""
    job = session.get(Job, task.job_id)
    threshold = (json.loads(job.spec_json).get("review") or {}).get("min_fidelity") if job else None
    if threshold is None or output.fidelity is None or output.review != PENDING:
        return
    if output.fidelity < float(threshold):
        note = f"auto: fidelity {output.fidelity:.2f} below the job's min_fidelity {float(threshold):g}"
        output.review, output.reviewed_at, output.review_note = REJECTED, now(), note
        _event(session, f"review_{REJECTED}", f"clip {output.key[:16]}: {note}", job_id=task.job_id,
               task_id=task.id, worker=task.worker)


def fail_task(db: Database, task: ClaimedTask, error: str, seconds: float | None = None) -> bool:
    """Mark ``task`` failed with ``error``; tasks that needed it fail too (skipped). False if not ours."""
    with db.session() as session:
        won = session.execute(
            update(Task).where(_mine(task)).values(state=FAILED, finished_at=now(), seconds=seconds, error=error)
        ).rowcount == 1
        if not won:
            return False
        _event(session, FAILED, error, job_id=task.job_id, task_id=task.id, worker=task.worker)
        if task.kind == EXTRACT:
            _skip_dependents(session, task.job_id, task.key, task.id)
        _refresh_job_state(session, task.job_id)
    return True


def _skip_dependents(session: Session, job_id: str, key: str, task_id: int) -> None:
    message = f"skipped: the source clip's extraction (task {task_id}) failed; fix it and retry the job"
    dependents = session.scalars(
        select(Task).where(Task.job_id == job_id, Task.depends_on == key, Task.state == QUEUED)
    ).all()
    stamp = now()
    for dependent in dependents:
        dependent.state, dependent.error, dependent.finished_at = FAILED, message, stamp
        _event(session, FAILED, message, job_id=job_id, task_id=dependent.id)


def release_task(db: Database, task: ClaimedTask, reason: str) -> bool:
    """Give a running task back to the queue (a worker stopping cleanly mid-task)."""
    with db.session() as session:
        won = session.execute(
            update(Task).where(_mine(task)).values(state=QUEUED, worker=None, heartbeat_at=None)
        ).rowcount == 1
        if won:
            _event(session, QUEUED, f"released: {reason}", job_id=task.job_id, task_id=task.id, worker=task.worker)
        return won


def reclaim_stale(db: Database, stale_after_s: float, max_attempts: int) -> int:
    """Requeue running tasks whose heartbeat is older than ``stale_after_s`` (their worker died).

    A task whose workers died ``max_attempts`` times fails instead, so one poison clip that kills
    workers cannot stall a job forever. Returns the number of tasks reclaimed or failed.
    """
    cutoff = now() - stale_after_s
    count = 0
    with db.session() as session:
        stale = session.scalars(
            select(Task).where(Task.state == RUNNING, Task.heartbeat_at < cutoff)
        ).all()
        for task in stale:
            silent = now() - (task.heartbeat_at or 0)
            worker, attempts = task.worker, task.attempts  # the UPDATE below refreshes the object
            if task.attempts >= max_attempts:
                message = (f"failed: its worker stopped responding {task.attempts} times "
                           f"(last {task.worker}, silent {silent:.0f} s); retry the job to try again")
                new_state = FAILED
            else:
                message = f"reclaimed: heartbeat expired ({task.worker} silent {silent:.0f} s, presumed dead)"
                new_state = QUEUED
            won = session.execute(
                update(Task).where(Task.id == task.id, Task.state == RUNNING, Task.worker == worker,
                                   Task.attempts == attempts)
                .values(state=new_state, worker=None, heartbeat_at=None,
                        error=message if new_state == FAILED else None,
                        finished_at=now() if new_state == FAILED else None)
            ).rowcount == 1
            if won:
                count += 1
                _event(session, new_state, message, job_id=task.job_id, task_id=task.id, worker=worker)
                if new_state == FAILED and task.kind == EXTRACT:
                    _skip_dependents(session, task.job_id, task.key, task.id)
                _refresh_job_state(session, task.job_id)
    if count:
        logger.warning("Reclaimed %d task(s) from workers that stopped sending heartbeats", count)
    return count


# --------------------------------------------------------------------------------------------
# Job-level operations
# --------------------------------------------------------------------------------------------


def _counts(session: Session, job_id: str) -> dict[str, int]:
    rows = session.execute(select(Task.state, func.count()).where(Task.job_id == job_id).group_by(Task.state)).all()
    return {state: int(n) for state, n in rows}


def _refresh_job_state(session: Session, job_id: str) -> None:
    """Derive a job's state from its tasks (paused and cancelled jobs keep theirs while work remains)."""
    job = session.get(Job, job_id)
    counts = _counts(session, job_id)
    remaining = counts.get(QUEUED, 0) + counts.get(RUNNING, 0)
    old = job.state
    if remaining == 0:
        if job.state != CANCELLED:
            job.state = FAILED if counts.get(FAILED, 0) else DONE
        if job.finished_at is None or old != job.state:
            job.finished_at = now()
    elif job.state in (DONE, FAILED):
        job.state, job.finished_at = QUEUED, None
    job.updated_at = now()
    if job.state != old:
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        _event(session, f"job_{job.state}", summary, job_id=job_id)


def cancel_job(db: Database, job_id: str, reason: str = "cancelled by the user") -> int:
    """Cancel every queued and running task of a job; running ones stop at their next heartbeat."""
    with db.session() as session:
        job = find_job(session, job_id)
        if job.state in (DONE, FAILED, CANCELLED) and not _counts(session, job.id).get(QUEUED):
            raise JobStateError(f"Job {job.id} has already finished ({job.state}); nothing to cancel.")
        result = session.execute(
            update(Task).where(Task.job_id == job.id, Task.state.in_((QUEUED, RUNNING)))
            .values(state=CANCELLED, finished_at=now(), error=reason)
        )
        job.state, job.updated_at = CANCELLED, now()
        _event(session, "job_cancelled", f"{result.rowcount} tasks cancelled: {reason}", job_id=job.id)
        _refresh_job_state(session, job.id)
        return int(result.rowcount)


def pause_job(db: Database, job_id: str) -> None:
    """Stop handing out the job's tasks; running ones finish."""
    with db.session() as session:
        job = find_job(session, job_id)
        if job.state not in (QUEUED, RUNNING):
            raise JobStateError(f"Job {job.id} is {job.state}; only queued or running jobs can be paused.")
        job.state, job.updated_at = PAUSED, now()
        _event(session, "job_paused", "paused by the user", job_id=job.id)


def resume_job(db: Database, job_id: str) -> None:
    with db.session() as session:
        job = find_job(session, job_id)
        if job.state != PAUSED:
            raise JobStateError(f"Job {job.id} is {job.state}, not paused; nothing to resume.")
        job.state, job.updated_at = QUEUED, now()
        _event(session, "job_resumed", "resumed by the user", job_id=job.id)
        _refresh_job_state(session, job.id)


def retry_job(db: Database, job_id: str, include_cancelled: bool = False) -> int:
    """Queue the job's failed (and optionally cancelled) tasks again; returns how many."""
    states = (FAILED, CANCELLED) if include_cancelled else (FAILED,)
    with db.session() as session:
        job = find_job(session, job_id)
        result = session.execute(
            update(Task).where(Task.job_id == job.id, Task.state.in_(states))
            .values(state=QUEUED, attempts=0, error=None, worker=None, finished_at=None, heartbeat_at=None)
        )
        if result.rowcount == 0:
            raise JobStateError(f"Job {job.id} has no {' or '.join(states)} tasks to retry.")
        if job.state in (CANCELLED, FAILED, DONE):
            job.state, job.finished_at = QUEUED, None
        job.updated_at = now()
        _event(session, "job_retry", f"{result.rowcount} task(s) queued again", job_id=job.id)
        _refresh_job_state(session, job.id)
        return int(result.rowcount)


def done_render_keys(job_id: str):
    """A subquery of the keys of a job's finished renders (its clips, including reused ones).

    A subquery, not a list: a job can have more clips than a database accepts bound parameters.
    """
    return select(Task.key).where(Task.job_id == job_id, Task.kind == RENDER, Task.state == DONE)


def has_pending_work(db: Database, job_ids: Sequence[str] | None = None) -> bool:
    """True while some active job still has queued or running tasks (idle workers keep waiting)."""
    with db.session() as session:
        query = (select(func.count()).select_from(Task).join(Job, Job.id == Task.job_id)
                 .where(Task.state.in_((QUEUED, RUNNING)), Job.state.in_((QUEUED, RUNNING))))
        if job_ids:
            query = query.where(Task.job_id.in_(list(job_ids)))
        return bool(session.scalar(query))
