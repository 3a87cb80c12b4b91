"""Job estimates calibrated on the log's own finished tasks (random_people/jobs/rates.py)."""

from __future__ import annotations

import json

import pytest

from random_people.jobs.db import open_database
from random_people.jobs.models import DONE, Event, Job, Output, Task
from random_people.jobs.rates import DEFAULT_EXTRACT_FPS, DEFAULT_STARTUP_S, measured_rates
from random_people.jobs.service import JobEstimate


def _output(key: str, seconds: float, frames: int) -> Output:
    return Output(key=key, job_id="j1", video_path=f"/x/{key}.mp4", motion_key="m", identity_id="p",
                  background="park", camera_json="{}", label="walk", source_sha256="s", source_path="/x/s.mp4",
                  seed=0, generator_version="g", frames=frames, fps=30.0, width=500, height=500,
                  checksums_json="{}", size_bytes=1, seconds=seconds, created_at=100.0)


def test_rates_come_from_the_logs_own_tasks(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'log.sqlite'}")
    empty = measured_rates(db)
    assert not empty.from_history and empty.startup_s == DEFAULT_STARTUP_S and empty.extract_fps == DEFAULT_EXTRACT_FPS
    with db.session() as session:
        session.add(Job(id="j1", name="a", spec_json="{}", output_dir="/x", created_at=0.0, updated_at=0.0))
        session.add(Event(at=14.0, job_id="j1", task_id=1, kind="running"))  # workers took 14 s to start
        session.add(Task(job_id="j1", key="e", kind="extract", state=DONE, payload_json="{}", seconds=20.0,
                         finished_at=40.0, result_json=json.dumps({"frames": 150, "quality": {"frames_processed": 200}})))
        session.add(Task(job_id="j1", key="r", kind="extract", state=DONE, payload_json="{}", seconds=0.1,
                         finished_at=41.0, result_json=json.dumps({"frames": 150, "reused": True})))
        # 0.25 Mpx frames: 10, 30, 50 frames took 5, 9, 13 s -> 3 s per clip + 0.8 s per megapixel-frame.
        for key, seconds, frames in (("a", 5.0, 10), ("b", 9.0, 30), ("c", 13.0, 50)):
            session.add(_output(key, seconds, frames))
    rates = measured_rates(db)
    assert rates.from_history and rates.startup_s == pytest.approx(14.0)
    assert rates.extract_fps == pytest.approx(10.0)  # 200 source frames in 20 s; the reused one is not counted
    assert rates.render_clip_s == pytest.approx(3.0) and rates.render_s_per_megapixel_frame == pytest.approx(0.8)
    assert rates.render_seconds(40, 500, 500) == pytest.approx(11.0)


def test_wall_time_adds_start_up_and_waits_for_extraction():
    estimate = JobEstimate(source_clips=1, unusable_sources=0, people=2, extract_tasks=1, render_tasks=4,
                           output_frames=40, seconds_one_worker=60.0, workers=2, disk_bytes=0, from_history=True,
                           probed=1, startup_seconds=12.0, extract_seconds=20.0, render_seconds=40.0)
    # One extraction cannot be split over two workers; the renders can.
    assert estimate.seconds == pytest.approx(12.0 + 20.0 + 20.0)
    assert "about 52s with 2 workers (start-up 12s, extraction 20s, rendering 20s)" in estimate.summary()
