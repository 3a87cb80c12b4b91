"""The Ray executor on a local Ray instance: same tasks, same outputs, the driver alone writes the log."""

from __future__ import annotations

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
    spec = parse_spec(tiny_spec(demo_clip, tmp_path / "out", people=2))
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
    assert len(outputs) == 2 and all(o.frames == 4 and o.width == 96 for o in outputs)
    close_all()
