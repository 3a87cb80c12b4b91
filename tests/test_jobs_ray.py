"""The Ray executor on a local Ray instance: same tasks, same outputs, the driver alone writes the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from jobs_helpers import tiny_spec
from random_people.jobs.db import close_all
from random_people.jobs.models import Event, Output
from random_people.jobs.service import queue_job, run_jobs
from random_people.jobs.spec import parse_spec

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_runs_a_job_and_only_the_driver_writes_the_log(tmp_path, demo_clip, settings, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    data = tiny_spec(demo_clip, tmp_path / "out", people=2)
    # Output policy on the way: 15 fps from a 30 fps source, 0.2 s long, labels but no mask video.
    data["output"].update({"fps": 15, "max_seconds": 0.2, "labels": ["keypoints"]})
    data["output"].pop("max_frames")
    spec = parse_spec(data)
    job_id, plan = queue_job(spec, settings)
    seen = []
    final = run_jobs([job_id], settings, executor="ray", workers=2, on_progress=seen.append)
    assert not ray.is_initialized()  # the executor shut down the Ray it started
    assert final[0].state == "done", final[0].summary()
    assert final[0].counts == {"extract": {"done": 1}, "render": {"done": 2}}
    assert seen and seen[-1].finished == 3
    from random_people.jobs.db import open_database

    db = open_database(settings.resolved_database_url)
    with db.session() as session:
        workers = set(session.scalars(select(Event.worker).where(Event.job_id == job_id,
                                                                 Event.worker.is_not(None))).all())
        outputs = session.scalars(select(Output)).all()
    assert workers and all(name.startswith("ray-driver@") for name in workers)
    assert len(outputs) == 2 and all(o.frames == 3 and o.fps == 15 and o.width == 96 for o in outputs)
    for output in outputs:
        assert output.mask_path is None and Path(output.labels_path).is_file()
        assert not Path(output.video_path.replace(".mp4", "_mask.mp4")).exists()
    close_all()
