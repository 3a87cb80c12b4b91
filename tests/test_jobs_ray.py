"""The Ray executor on a local Ray instance: same tasks, same outputs, the driver alone writes the log."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from jobs_helpers import cli, free_port, job_env, tiny_spec, write_spec
from random_people.jobs.db import close_all
from random_people.jobs.models import Event, Output
from random_people.jobs.service import queue_job, run_jobs
from random_people.jobs.spec import parse_spec

# Ray's services listen on the loopback interface only (set before Ray is imported: it reads it once).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


def test_ray_runs_a_job_and_only_the_driver_writes_the_log(tmp_path, demo_clip, settings):
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


def test_cli_bulk_on_a_running_ray_cluster(tmp_path, demo_clip):
    """`ray start --head` as a cluster would run it, then `random-people bulk --executor ray --address`."""
    ray_cli = shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the ray command is not on PATH")
    env = job_env(tmp_path / "data", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled")
    port = free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="rp-ray-", dir="/tmp"))  # Ray's socket paths must stay short
    head = subprocess.run([ray_cli, "start", "--head", "--num-cpus", "2", "--port", str(port),
                           "--node-ip-address", "127.0.0.1", "--include-dashboard", "false",
                           "--disable-usage-stats", "--temp-dir", str(temp_dir)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert head.returncode == 0, head.stdout + head.stderr
    try:
        spec = write_spec(tmp_path / "job.yaml", tiny_spec(demo_clip, tmp_path / "out", people=1))
        result = cli(["bulk", str(spec), "--executor", "ray", "--address", f"127.0.0.1:{port}", "-q"], env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "done: 2/2 tasks done, 1 clips" in result.stdout
        assert "Connected to Ray cluster" in result.stderr  # it joined the running cluster, not a new one
    finally:
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)
    close_all()
