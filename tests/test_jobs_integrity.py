"""Job integrity across jobs: one running holder per key, reuse that never claims a missing file.

Fast tests on a real SQLite log with small real files. The end-to-end versions (concurrent
``bulk`` runs, SIGKILL of two jobs sharing keys) are in ``test_jobs_concurrency.py``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import IntegrityError

from random_people.errors import InvalidInputError
from random_people.files import sha256_file
from random_people.jobs.db import close_all, open_database
from random_people.jobs.expand import EXTRACT, RENDER, JobPlan, PlannedTask
from random_people.jobs.models import Task
from random_people.jobs.progress import job_progress
from random_people.jobs.queue import claim_task, complete_task, submit_job
from random_people.jobs.spec import parse_spec

MOTION_KEY = "m" * 64
RENDER_KEY = "r" * 64


def _plan(tmp_path: Path, out: Path) -> JobPlan:
    """One extraction and one render whose outputs live under ``out`` (keys do not depend on it)."""
    spec = parse_spec({"name": "integrity", "sources": [str(tmp_path / "clip.mp4")],
                       "identities": {"sample": {"n": 1}}, "output": {"dir": str(out)}})
    extract = PlannedTask(key=MOTION_KEY, kind=EXTRACT, label="walk", payload={
        "clip": str(tmp_path / "missing.mp4"), "source_sha256": "s" * 64, "label": "walk", "start": None,
        "end": None, "subject": None, "problem": None, "motion_path": str(out / "motions" / "mmmm.npz")})
    render = PlannedTask(key=RENDER_KEY, kind=RENDER, label="walk", depends_on=MOTION_KEY, payload={
        "motion_path": str(out / "motions" / "mmmm.npz"), "motion_key": MOTION_KEY, "identity_id": "person",
        "background": "#808080", "camera": {"mode": "source"}, "seed": 1, "label": "walk",
        "output": {"labels": ["mask"]}, "output_dir": str(out / "walk"), "name": "rrrr",
        "source_sha256": "s" * 64, "source_clip": str(tmp_path / "clip.mp4"), "subject": None,
        "generator_version": "test"})
    return JobPlan(spec=spec, sources=[], identities=[], output_dir=out, tasks=[extract, render])


@pytest.fixture()
def db(tmp_path):
    yield open_database(f"sqlite:///{tmp_path / 'log.sqlite'}")
    close_all()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _finish_job(db, job_id: str, out: Path) -> dict[str, Path]:
    """Run job ``job_id`` by hand: write its files under ``out`` and report them like a worker."""
    extract = claim_task(db, "w", job_ids=[job_id])
    motion = _write(Path(extract.payload["motion_path"]), b"motion bytes")
    assert complete_task(db, extract, {"motion_path": str(motion), "frames": 4, "fps": 30.0,
                                       "sha256": sha256_file(motion)}, 1.0)
    render = claim_task(db, "w", job_ids=[job_id])
    video = _write(out / "walk" / "rrrr.mp4", b"video bytes")
    mask = _write(out / "walk" / "rrrr_mask.mp4", b"mask bytes")
    assert complete_task(db, render, {
        "video_path": str(video), "mask_path": str(mask), "labels_path": None, "frames": 4, "fps": 30.0,
        "width": 96, "height": 54, "size_bytes": 21,
        "checksums": {video.name: sha256_file(video), mask.name: sha256_file(mask)}}, 1.0)
    assert job_progress(db, job_id).state == "done"
    return {"motion": motion, "video": video, "mask": mask}


def _states(db, job_id: str) -> dict[str, tuple[str, dict | None]]:
    with db.session() as session:
        rows = session.scalars(select(Task).where(Task.job_id == job_id)).all()
        return {row.kind: (row.state, json.loads(row.result_json) if row.result_json else None) for row in rows}


# ------------------------------------------------------------------------------------------------
# Item 1: a key running in one job is waited on by every other job, and the database enforces it
# ------------------------------------------------------------------------------------------------


def test_a_key_running_in_one_job_is_not_claimed_by_another_job_until_it_finishes(db, tmp_path):
    out = tmp_path / "out"
    first = submit_job(db, _plan(tmp_path, out))
    second = submit_job(db, _plan(tmp_path, out))  # the same spec queued twice: the same keys
    held = claim_task(db, "run-1", job_ids=[first])
    assert held.key == MOTION_KEY
    # The second run must wait: running the same key twice would share (and delete) one staging folder.
    assert claim_task(db, "run-2", job_ids=[second]) is None
    motion = _write(Path(held.payload["motion_path"]), b"motion bytes")
    assert complete_task(db, held, {"motion_path": str(motion), "frames": 4, "fps": 30.0,
                                    "sha256": sha256_file(motion)}, 1.0)
    waited = claim_task(db, "run-2", job_ids=[second])
    assert waited is not None and waited.key == MOTION_KEY
    # ...and it is handed what the first run made, so it can reuse it instead of extracting again.
    assert waited.known == {"path": str(motion), "sha256": sha256_file(motion)}


def test_the_database_refuses_a_second_running_task_of_one_key(db, tmp_path):
    out = tmp_path / "out"
    first = submit_job(db, _plan(tmp_path, out))
    second = submit_job(db, _plan(tmp_path, out))
    claim_task(db, "run-1", job_ids=[first])
    with pytest.raises(IntegrityError):  # even a claim that skipped the check (a race) cannot win
        with db.session() as session:
            session.execute(update(Task).where(Task.job_id == second, Task.key == MOTION_KEY)
                            .values(state="running", worker="racer"))


def test_upgrading_a_log_with_two_running_holders_of_one_key_requeues_all_but_one(tmp_path):
    from alembic import command

    from random_people.jobs.db import _alembic_config

    path = tmp_path / "old.sqlite"
    url = f"sqlite:///{path}"
    engine = create_engine(url)  # a log written by the previous release (schema 0001)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    engine.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO jobs (id, name, state, spec_json, output_dir, seed, auto_accept, created_at, "
                    "updated_at) VALUES ('j1', 'a', 'running', '{}', '/o', 0, 0, 0, 0), "
                    "('j2', 'b', 'running', '{}', '/o', 0, 0, 0, 0)")
        for task_id, job in ((1, "j1"), (2, "j2")):
            raw.execute("INSERT INTO tasks (id, job_id, key, kind, label, state, payload_json, worker, attempts) "
                        "VALUES (?, ?, 'k', 'render', '', 'running', '{}', 'w', 1)", (task_id, job))
    db = open_database(url)
    with db.session() as session:
        states = dict(session.execute(text("SELECT id, state FROM tasks ORDER BY id")).all())
    assert states == {1: "running", 2: "queued"}
    close_all()


# ------------------------------------------------------------------------------------------------
# Item 2 and the general rule: reuse never marks done a file that is not there or has changed
# ------------------------------------------------------------------------------------------------


def test_a_job_with_another_output_dir_does_not_mark_the_motion_done_without_its_file(db, tmp_path):
    made = _finish_job(db, submit_job(db, _plan(tmp_path, tmp_path / "outA")), tmp_path / "outA")
    job_b = submit_job(db, _plan(tmp_path, tmp_path / "outB"))
    states = _states(db, job_b)
    planned = tmp_path / "outB" / "motions" / "mmmm.npz"
    # Either the motion is already where job B's renders read it, or the extraction is still to run.
    assert states[EXTRACT][0] == "queued" or planned.is_file()
    # The clip exists (in outA) with the checksum the log recorded: reused, and the log says where.
    assert states[RENDER][0] == "done"
    assert states[RENDER][1]["video_path"] == str(made["video"])
    # A worker taking job B's extraction places the known motion where job B expects it.
    task = claim_task(db, "w", job_ids=[job_b])
    assert task.known == {"path": str(made["motion"]), "sha256": sha256_file(made["motion"])}


def test_reuse_at_queueing_checks_each_file_against_its_recorded_checksum(db, tmp_path):
    out = tmp_path / "out"
    made = _finish_job(db, submit_job(db, _plan(tmp_path, out)), out)
    again = submit_job(db, _plan(tmp_path, out))
    assert {kind: state for kind, (state, _) in _states(db, again).items()} == {EXTRACT: "done", RENDER: "done"}

    made["mask"].write_bytes(b"changed since")  # same name, other bytes: not what the log recorded
    made["motion"].write_bytes(b"changed too")
    changed = submit_job(db, _plan(tmp_path, out))
    assert {kind: state for kind, (state, _) in _states(db, changed).items()} == {EXTRACT: "queued",
                                                                                 RENDER: "queued"}

    made["video"].unlink()
    gone = submit_job(db, _plan(tmp_path, out))
    assert _states(db, gone)[RENDER][0] == "queued"


# ------------------------------------------------------------------------------------------------
# The same rules inside a worker (tasks.run_extract / run_render), with a real motion file
# ------------------------------------------------------------------------------------------------


def test_a_worker_reuses_the_logs_motion_by_placing_it_in_its_own_output_dir(tmp_path, demo_motion, settings):
    from random_people.jobs.tasks import run_task
    from random_people.pose.motion import save_motion

    original = save_motion(demo_motion, tmp_path / "outA" / "motions" / "mmmm.npz")
    payload = _plan(tmp_path, tmp_path / "outB").tasks[0].payload  # its clip does not exist: no extraction
    known = {"path": str(original), "sha256": sha256_file(original)}
    result = run_task(EXTRACT, payload, settings, known=known)
    placed = Path(payload["motion_path"])
    assert result["reused"] and result["motion_path"] == str(placed)
    assert placed.read_bytes() == original.read_bytes() and result["sha256"] == known["sha256"]

    # A motion that no longer matches the log is not reused: the task runs (here: its clip is gone).
    placed.unlink()
    original.write_bytes(original.read_bytes()[:-10])
    with pytest.raises(InvalidInputError, match="Source clip not found"):
        run_task(EXTRACT, payload, settings, known=known)
    assert not placed.exists()


def test_a_worker_reuses_the_logs_clip_where_it_was_made_only_while_its_checksums_match(tmp_path, settings):
    import numpy as np

    from random_people.errors import RandomPeopleError
    from random_people.jobs.tasks import run_task
    from random_people.media import VideoWriter

    made = tmp_path / "outA" / "walk"
    made.mkdir(parents=True)
    for name, shade in (("rrrr.mp4", 90), ("rrrr_mask.mp4", 255)):
        with VideoWriter(made / name, fps=10) as writer:
            for _ in range(3):
                writer.write(np.full((32, 48, 3), shade, dtype=np.uint8))
    known = {"video_path": str(made / "rrrr.mp4"), "mask_path": str(made / "rrrr_mask.mp4"), "labels_path": None,
             "checksums": {name: sha256_file(made / name) for name in ("rrrr.mp4", "rrrr_mask.mp4")}}
    payload = _plan(tmp_path, tmp_path / "outB").tasks[1].payload  # job B: another folder, no motion file
    result = run_task(RENDER, payload, settings, known=known)
    assert result["reused"] and result["video_path"] == known["video_path"]
    assert result["checksums"] == known["checksums"] and (result["width"], result["frames"]) == (48, 3)
    assert not (tmp_path / "outB" / "walk").exists()  # pointed at, not copied

    (made / "rrrr_mask.mp4").write_bytes(b"not the recorded mask")
    with pytest.raises(RandomPeopleError, match="Motion file not found"):  # so it renders again
        run_task(RENDER, payload, settings, known=known)
