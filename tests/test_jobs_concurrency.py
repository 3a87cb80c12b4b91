"""Jobs sharing keys, end to end, with real worker processes, real extraction and real renders.

Two ``bulk`` runs of one spec at once; two jobs with different output folders (and two trims of
one video in the second) killed with SIGKILL mid-way, resumed, and the second exported.
In every case each output exists exactly once with the checksum the log recorded, every key is
made by exactly one task (the others reuse it), and nothing is marked done without its file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs_helpers import cli, job_env, tiny_spec, wait_for, worker_pids, write_spec
from random_people.files import sha256_file
from random_people.jobs.db import close_all, open_database
from random_people.jobs.models import Event, MotionRecord, Output, Task

pytestmark = pytest.mark.slow


def _database(data_dir: Path):
    return open_database(f"sqlite:///{data_dir / 'random_people.sqlite'}")


def _bulk(spec: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "random_people.cli", "bulk", str(spec), "--workers", "1", "-q"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _tasks(db) -> list[Task]:
    with db.session() as session:
        return session.scalars(select(Task).order_by(Task.id)).all()


def _check_integrity(db, folders: list[Path], jobs: int, clips: int) -> None:
    """Every job done; every key made once; every recorded file there once with its checksum."""
    tasks = _tasks(db)
    assert len({t.job_id for t in tasks}) == jobs
    assert Counter(t.state for t in tasks) == {"done": len(tasks)}, [(t.id, t.state, t.error) for t in tasks]
    made = Counter(t.key for t in tasks if not json.loads(t.result_json).get("reused"))
    assert set(made) == {t.key for t in tasks} and set(made.values()) == {1}, "a key was made twice (or never)"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "failed")) == 0
        outputs = session.scalars(select(Output)).all()
        motions = session.scalars(select(MotionRecord)).all()
    assert len(outputs) == clips
    for output in outputs:
        for name, checksum in json.loads(output.checksums_json).items():
            assert sha256_file(Path(output.video_path).with_name(name)) == checksum
    for motion in motions:
        assert sha256_file(motion.path) == motion.sha256
    for task in tasks:  # a done task's files are where its result says, with the checksums it recorded
        result = json.loads(task.result_json)
        if task.kind == "extract":
            assert sha256_file(json.loads(task.payload_json)["motion_path"]) == result["sha256"]
        else:
            for name, checksum in result["checksums"].items():
                assert sha256_file(Path(result["video_path"]).with_name(name)) == checksum
    videos = [p for folder in folders for p in folder.rglob("*.mp4") if not p.name.endswith("_mask.mp4")]
    assert sorted(p.name for p in videos) == sorted(Path(o.video_path).name for o in outputs)  # once each
    for folder in folders:
        assert [p for p in folder.rglob(".*")] == []  # no staging folders or temporary files left behind


def test_two_bulk_runs_of_one_spec_at_once_make_every_clip_once(tmp_path, demo_clip):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    env = job_env(data_dir)
    spec = write_spec(tmp_path / "job.yaml", tiny_spec(demo_clip, out, sampled_cameras=1))
    runs = [_bulk(spec, env), _bulk(spec, env)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    _check_integrity(_database(data_dir), [out], jobs=2, clips=2)
    close_all()


def test_sigkill_of_two_jobs_sharing_keys_then_resume_and_export(tmp_path, demo_clip):
    """Job A and job B (another output folder, plus a second trim of the same video) share the
    first trim's extraction and renders. Both run at once, are killed mid-way, and resume."""
    data_dir = tmp_path / "data"
    env = job_env(data_dir)
    folders = [tmp_path / "outA", tmp_path / "outB"]
    second_trim = {"path": str(demo_clip), "label": "walk", "start": 1.3, "end": 2.3}
    specs = [write_spec(tmp_path / "a.yaml", tiny_spec(demo_clip, folders[0], sampled_cameras=1)),
             write_spec(tmp_path / "b.yaml", tiny_spec(demo_clip, folders[1], sampled_cameras=1, name="b",
                                                      extra_sources=[second_trim], auto_accept=True))]
    runs = [_bulk(spec, env) for spec in specs]
    db = _database(data_dir)
    try:
        def under_way():
            tasks = _tasks(db)
            states = Counter(t.state for t in tasks)
            return len({t.job_id for t in tasks}) == 2 and states["done"] >= 1 and states["running"] >= 1

        wait_for(under_way, 300, "both jobs to be queued and under way")
    finally:
        for run in runs:
            run.send_signal(signal.SIGKILL)
        for pid in worker_pids(data_dir):
            os.kill(pid, signal.SIGKILL)
        for run in runs:
            run.wait(timeout=30)
    assert Counter(t.state for t in _tasks(db))["running"] >= 1  # killed with work in hand

    result = cli(["worker", "--workers", "2"], env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    _check_integrity(db, folders, jobs=2, clips=4)
    # Each job's renders read the motion from its own folder: it is there, the log's motion exactly.
    with db.session() as session:
        job_b = session.scalar(select(Task.job_id).where(Task.payload_json.like("%outB%")).limit(1))
        motion_of = {o.key: o.motion_path for o in session.scalars(select(Output)).all()}
    a_motions = list((folders[0] / "motions").glob("*.npz"))
    b_motions = {p.name: p for p in (folders[1] / "motions").glob("*.npz")}
    assert len(a_motions) == 1 and len(b_motions) == 2
    assert a_motions[0].read_bytes() == b_motions[a_motions[0].name].read_bytes()

    # Export job B: its two trims of one video each bring their own motion (not the first trim's twice).
    from random_people.hub.export import export_dataset
    from random_people.jobs.export_source import clips_for_export

    clips = clips_for_export(db.url, [job_b])
    exported = export_dataset(clips, tmp_path / "dataset")
    rows = [json.loads(line) for path in exported.folder.glob("synthetic/*/metadata.jsonl")
            for line in path.read_text().splitlines()]
    assert len(rows) == 4 and len({row["motion_path"] for row in rows}) == 2
    for row in rows:
        exported_motion = exported.folder / "synthetic" / row["split"] / row["motion_path"]
        assert exported_motion.read_bytes() == Path(motion_of[row["clip_id"]]).read_bytes()
    close_all()
