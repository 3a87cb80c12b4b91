"""The job log's state machine on a real SQLite file: claims, races, heartbeats, reclaims, controls."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from random_people.jobs.db import open_database
from random_people.jobs.errors import JobNotFoundError, JobStateError
from random_people.jobs.expand import EXTRACT, RENDER, JobPlan, PlannedTask
from random_people.jobs.models import Event, Job, Task
from random_people.jobs.progress import job_progress, task_events
from random_people.jobs.queue import (
    cancel_job,
    claim_task,
    complete_task,
    fail_task,
    has_pending_work,
    heartbeat,
    pause_job,
    reclaim_stale,
    resume_job,
    retry_job,
    submit_job,
)
from random_people.jobs.spec import parse_spec


def _plan(tmp_path: Path, sources: int = 1, renders_per_source: int = 3) -> JobPlan:
    """A job of placeholder tasks: the queue never looks inside payloads, so none need real files."""
    spec = parse_spec({"name": "queue-test", "sources": [str(tmp_path / "clip.mp4")],
                       "identities": {"sample": {"n": 1}}})
    tasks = []
    for s in range(sources):
        extract_key = f"{s:02d}".ljust(64, "e")
        tasks.append(PlannedTask(key=extract_key, kind=EXTRACT, label="walk",
                                 payload={"clip": f"/clips/{s}.mp4", "label": "walk"}))
    for s in range(sources):
        for r in range(renders_per_source):
            tasks.append(PlannedTask(key=f"{s:02d}{r:02d}".ljust(64, "r"), kind=RENDER, label="walk",
                                     payload={"n": r}, depends_on=f"{s:02d}".ljust(64, "e")))
    return JobPlan(spec=spec, sources=[], identities=[], output_dir=tmp_path / "out", tasks=tasks)


@pytest.fixture()
def db(tmp_path):
    return open_database(f"sqlite:///{tmp_path / 'log.sqlite'}")


def _motion_result() -> dict:
    return {"motion_path": "/m.npz", "frames": 10, "fps": 30.0, "sha256": "0" * 64}


def _done(db, task) -> None:
    # Extraction results are recorded as motions; renders as outputs. Use a failing render path
    # only where the test needs it; here finish extractions properly.
    assert task.kind == EXTRACT
    task.payload.setdefault("source_sha256", "1" * 64)
    assert complete_task(db, task, _motion_result(), 1.0)


def test_renders_wait_for_their_extraction(db, tmp_path):
    job = submit_job(db, _plan(tmp_path))
    first = claim_task(db, "w1")
    assert first.kind == EXTRACT
    assert claim_task(db, "w2") is None  # every render depends on the running extraction
    assert has_pending_work(db)
    _done(db, first)
    second = claim_task(db, "w2")
    assert second.kind == RENDER and second.job_id == job
    assert job_progress(db, job).state == "running"


def _claim_all(url: str, name: str, queue) -> None:
    from random_people.jobs.db import open_database as open_db
    from random_people.jobs.queue import claim_task as claim

    db = open_db(url)
    got = []
    while (task := claim(db, name, kinds=["extract"])) is not None:
        got.append(task.id)
    queue.put((name, got))


def test_two_worker_processes_never_claim_the_same_task(db, tmp_path):
    job = submit_job(db, _plan(tmp_path, sources=60, renders_per_source=0))
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_claim_all, args=(db.url, f"w{i}", results)) for i in range(3)]
    for process in workers:
        process.start()
    claimed = dict(results.get(timeout=120) for _ in workers)
    for process in workers:
        process.join(timeout=30)
    all_ids = [task_id for ids in claimed.values() for task_id in ids]
    assert len(all_ids) == 60 and len(set(all_ids)) == 60  # every task claimed exactly once
    with db.session() as session:
        tasks = session.scalars(select(Task).where(Task.job_id == job)).all()
        assert all(t.state == "running" and t.attempts == 1 for t in tasks)
        owners = {t.id: t.worker for t in tasks}
    for name, ids in claimed.items():
        assert all(owners[i] == name for i in ids)


def test_reclaim_fences_the_old_worker_and_records_why(db, tmp_path):
    submit_job(db, _plan(tmp_path, renders_per_source=0))
    task = claim_task(db, "dead-worker")
    assert reclaim_stale(db, stale_after_s=60, max_attempts=3) == 0  # heartbeat is fresh
    time.sleep(0.3)
    assert reclaim_stale(db, stale_after_s=0.1, max_attempts=3) == 1
    assert heartbeat(db, [task]) == {task.id}  # the old worker learns it lost the task
    assert not complete_task(db, task, _motion_result(), 1.0)  # and cannot finish it
    again = claim_task(db, "new-worker")
    assert again.id == task.id and again.attempt == 2
    history = [(kind, worker) for _, kind, worker, _ in task_events(db, task.id)]
    assert history == [("running", "dead-worker"), ("queued", "dead-worker"), ("running", "new-worker")]
    assert "heartbeat expired" in task_events(db, task.id)[1][3]


def test_a_task_that_kills_its_workers_fails_after_max_attempts(db, tmp_path):
    job = submit_job(db, _plan(tmp_path, renders_per_source=2))
    for attempt in range(2):
        claim_task(db, f"w{attempt}")
        time.sleep(0.2)
        reclaim_stale(db, stale_after_s=0.1, max_attempts=2)
    progress = job_progress(db, job)
    assert progress.state == "failed"
    assert progress.counts[EXTRACT] == {"failed": 1} and progress.counts[RENDER] == {"failed": 2}
    with db.session() as session:
        errors = session.scalars(select(Task.error).where(Task.job_id == job).order_by(Task.id)).all()
    assert "stopped responding 2 times" in errors[0]
    assert all("skipped" in e for e in errors[1:])


def test_failed_extraction_skips_its_renders_and_retry_requeues_them(db, tmp_path):
    job = submit_job(db, _plan(tmp_path, sources=2, renders_per_source=2))
    bad = claim_task(db, "w")
    assert fail_task(db, bad, "Source clip not found: /clips/0.mp4")
    good = claim_task(db, "w")
    _done(db, good)
    progress = job_progress(db, job)
    assert progress.counts[RENDER] == {"failed": 2, "queued": 2}
    assert retry_job(db, job) == 3
    assert job_progress(db, job).counts[EXTRACT].get("queued") == 1
    with pytest.raises(JobStateError):
        retry_job(db, job)  # nothing failed any more


def test_pause_resume_cancel(db, tmp_path):
    job = submit_job(db, _plan(tmp_path, renders_per_source=2))
    running = claim_task(db, "w")
    pause_job(db, job)
    assert claim_task(db, "w2") is None and not has_pending_work(db)
    _done(db, running)  # a running task still finishes while paused
    resume_job(db, job)
    with pytest.raises(JobStateError):
        resume_job(db, job)
    render = claim_task(db, "w")
    assert cancel_job(db, job) == 2  # the running render and the queued one
    assert heartbeat(db, [render]) == {render.id}  # the running one stops at its next beat
    progress = job_progress(db, job)
    assert progress.state == "cancelled" and progress.counts[RENDER] == {"cancelled": 2}
    assert retry_job(db, job, include_cancelled=True) == 2
    assert job_progress(db, job).state == "queued"
    with db.session() as session:
        kinds = session.scalars(select(Event.kind).where(Event.job_id == job, Event.task_id.is_(None))).all()
    assert {"job_queued", "job_paused", "job_resumed", "job_cancelled", "job_retry"} <= set(kinds)


def test_unknown_job_ids_and_prefixes(db, tmp_path):
    job = submit_job(db, _plan(tmp_path))
    pause_job(db, job[:6])  # a unique prefix works like the id
    with db.session() as session:
        assert session.get(Job, job).state == "paused"
    with pytest.raises(JobNotFoundError, match="jobs list"):
        cancel_job(db, "ffffffffffff")


def test_payloads_and_results_round_trip_as_json(db, tmp_path):
    job = submit_job(db, _plan(tmp_path))
    task = claim_task(db, "w")
    _done(db, task)
    with db.session() as session:
        row = session.get(Task, task.id)
        assert json.loads(row.payload_json)["clip"] == "/clips/0.mp4"
        assert json.loads(row.result_json)["frames"] == 10 and row.seconds == 1.0
    assert job_progress(db, job).count("done") == 1
