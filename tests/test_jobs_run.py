"""Bulk jobs end to end with real worker processes, real extraction and real renders.

The centrepiece kills the CLI and every worker with SIGKILL in the middle of a job, starts workers
again, and checks that the job finishes with every task done exactly once, no half-written or
staging files, and nothing lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs_helpers import cli, job_env, tiny_spec, wait_for, worker_pids, write_spec
from random_people.files import sha256_file
from random_people.jobs.db import close_all, open_database
from random_people.jobs.export_source import clips_for_export, job_summaries, real_clips_for_export
from random_people.jobs.models import Event, Output, Task
from random_people.jobs.progress import job_progress
from random_people.jobs.review import ClipFilter, list_clips, set_review

pytestmark = pytest.mark.slow


def _database(data_dir: Path):
    return open_database(f"sqlite:///{data_dir / 'random_people.sqlite'}")


def _task_counts(db, job_id: str) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(select(Task.state, func.count()).where(Task.job_id == job_id).group_by(Task.state))
        return {state: n for state, n in rows}


def test_sigkill_mid_job_then_resume_finishes_every_task_exactly_once(tmp_path, demo_clip):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    env = job_env(data_dir)
    spec = write_spec(tmp_path / "job.yaml", tiny_spec(demo_clip, out, people=3, sampled_cameras=1))
    driver = subprocess.Popen([sys.executable, "-m", "random_people.cli", "bulk", str(spec), "--workers", "2", "-q"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    db = _database(data_dir)
    try:
        job_id = wait_for(lambda: _first_job(db), 120, "the job to be queued")
        # Kill everything once some renders are done and others are running.
        wait_for(lambda: _task_counts(db, job_id).get("done", 0) >= 2 and _task_counts(db, job_id).get("running"),
                 240, "renders to be under way")
    finally:
        driver.send_signal(signal.SIGKILL)
        for pid in worker_pids(data_dir):
            os.kill(pid, signal.SIGKILL)
        driver.wait(timeout=30)
    before = _task_counts(db, job_id)
    assert before.get("running", 0) >= 1 and before.get("queued", 0) + before.get("running", 0) >= 1

    # Start again: the stale running tasks are reclaimed once their heartbeat expires.
    result = cli(["worker", "--workers", "2"], env, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    progress = job_progress(db, job_id)
    assert progress.state == "done", progress.summary()
    assert progress.counts == {"extract": {"done": 1}, "render": {"done": 6}}

    with db.session() as session:
        tasks = session.scalars(select(Task).where(Task.job_id == job_id)).all()
        for task in tasks:
            done_events = session.scalar(select(func.count()).where(Event.task_id == task.id, Event.kind == "done"))
            assert done_events == 1, f"task {task.id} was finished {done_events} times"
        reclaimed = session.scalar(select(func.count()).where(Event.job_id == job_id, Event.kind == "queued",
                                                               Event.message.like("reclaimed:%")))
        assert reclaimed >= 1
        outputs = session.scalars(select(Output)).all()
        assert len(outputs) == 6
        for output in outputs:
            for name, checksum in json.loads(output.checksums_json).items():
                assert sha256_file(Path(output.video_path).with_name(name)) == checksum
    finals = sorted(p.name for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert len([n for n in finals if n.endswith("_mask.mp4")]) == 6
    assert len([n for n in finals if n.endswith("_labels.npz")]) == 6
    assert len([n for n in finals if n.endswith(".mp4") and not n.endswith("_mask.mp4")]) == 6
    assert [p for p in out.rglob(".*")] == []  # no staging folders or temporary files left behind
    close_all()


def _first_job(db):
    from random_people.jobs.progress import list_jobs

    jobs = list_jobs(db)
    return jobs[0].id if jobs else None


def test_missing_source_fails_alone_rerun_reuses_everything_and_export_respects_review(tmp_path, demo_clip):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    env = job_env(data_dir)
    missing = tmp_path / "moved_away.mp4"
    spec = write_spec(tmp_path / "job.yaml", tiny_spec(demo_clip, out, people=2,
                                                        extra_sources=[{"path": str(missing), "label": "wave"}]))
    result = cli(["bulk", str(spec), "--workers", "1", "-q"], env)
    assert result.returncode == 1, result.stdout + result.stderr  # finished, but with a failed task
    assert "Source clip not found" in result.stderr  # warned before queueing
    db = _database(data_dir)
    job_id = _first_job(db)
    progress = job_progress(db, job_id)
    assert progress.state == "failed"
    assert progress.counts["extract"] == {"done": 1, "failed": 1}
    assert progress.counts["render"] == {"done": 2, "failed": 2}
    shown = cli(["jobs", "show", job_id, "--state", "failed"], env)
    assert "Source clip not found" in shown.stdout and "skipped: the source clip's extraction" in shown.stdout

    # The same spec again makes nothing twice: the clip that worked is reused, files untouched.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    again = cli(["bulk", str(spec), "--workers", "1", "-q"], env)
    assert again.returncode == 1
    rerun = _first_job(db)
    assert rerun != job_id and job_progress(db, rerun).reused == 3
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")} == stamps

    # Review decides what is exported; an auto-accept job would export everything not rejected.
    clips = list_clips(db, ClipFilter(job_id=job_id))
    assert len(clips) == 2 and all(c.review == "pending" for c in clips)
    assert clips_for_export(db.url, [job_id]) == []
    assert set_review(db, [clips[0].key], "accepted") == 1
    reviewed = cli(["jobs", "review", clips[1].key[:10], "--decision", "rejected"], env)
    assert reviewed.returncode == 0 and "1 clip(s) marked rejected" in reviewed.stdout
    exported = clips_for_export(db.url, [job_id])
    assert [c.clip_id for c in exported] == [clips[0].key]
    clip = exported[0]
    assert clip.action_label == "walk" and clip.video_path.is_file() and clip.labels_path.is_file()
    assert clip.background_kind == "plain" and clip.camera["mode"] == "source" and len(clip.camera["K"]) == 3
    assert clip.source_clip_id == sha256_file(demo_clip) and clip.identity["body"]["sex"] in ("female", "male")
    assert [r.video_path for r in real_clips_for_export(db.url, [job_id])] == [demo_clip.resolve()]
    summary = {s["id"]: s for s in job_summaries(db.url)}[job_id]
    assert summary["clips"] == 2 and summary["exportable"] == 1

    # The exporter reads the same decision from the log: only the accepted clip is published.
    exported_dir = tmp_path / "dataset"
    result = cli(["export", str(exported_dir), "--job", job_id, "-q"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    metadata = [line for path in exported_dir.glob("synthetic/*/metadata.jsonl")
                for line in path.read_text().splitlines()]
    assert [(r["label"], r["source_clip_id"]) for r in map(json.loads, metadata)] == [("walk", clip.source_clip_id)]
    import datasets

    loaded = datasets.load_dataset("videofolder", data_dir=str(exported_dir / "synthetic"))
    (split,) = loaded.values()
    split = split.cast_column("video", datasets.Video(decode=False))
    assert split.num_rows == 1 and split[0]["source_clip_id"] == clip.source_clip_id
    close_all()


def test_malformed_spec_exits_16_and_queues_nothing(tmp_path):
    data_dir = tmp_path / "data"
    env = job_env(data_dir)
    spec = write_spec(tmp_path / "bad.yaml", {"sources": [], "identities": {"sample": {"n": -2}},
                                              "output": {"labels": ["depth"]}})
    result = cli(["bulk", str(spec)], env)
    assert result.returncode == 16
    assert "sources: missing or empty" in result.stderr and "identities.sample.n" in result.stderr
    assert "output.labels[0]" in result.stderr and "nothing was queued" in result.stderr
    listed = cli(["jobs", "list"], env)
    assert "no jobs yet" in listed.stdout
