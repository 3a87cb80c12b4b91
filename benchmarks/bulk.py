"""Clips per minute of a small bulk job: the local executor vs the same tasks one by one in one process.

The job: two 2 s stretches of Sports2D's demo clip (a real person walking) -> 2 extractions, then
2 clips x N people x 1 background x 2 cameras (source + one sampled) renders of 2 s at 256 px on
the long side. Besides the whole job, the render phase alone is timed (first render claimed to
last render finished), which is the steady state of a long job.
Both runs start from empty output folders and empty logs, so nothing is reused.

    python benchmarks/bulk.py [--people 4] [--workers 2] [--long-side 256] [--seconds 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import fetch_demo_clip  # noqa: E402  (the real clip from the sports2d wheel)

from random_people.jobs.db import open_database  # noqa: E402
from random_people.jobs.local_executor import run_local  # noqa: E402
from random_people.jobs.models import Task  # noqa: E402
from random_people.jobs.progress import job_tasks  # noqa: E402
from random_people.jobs.queue import submit_job  # noqa: E402
from random_people.jobs.service import plan_job  # noqa: E402
from random_people.jobs.spec import parse_spec  # noqa: E402
from random_people.jobs.tasks import run_task  # noqa: E402
from random_people.settings import load_settings  # noqa: E402


def _spec(clip: Path, out: Path, people: int, long_side: int, seconds: float) -> dict:
    return {
        "name": "bench", "seed": 11,
        # Two stretches of the demo clip are two source clips (their trims differ, so do their keys).
        "sources": [{"path": str(clip), "label": "walk", "start": 0.3, "end": 0.3 + seconds},
                    {"path": str(clip), "label": "walk", "start": 2.5, "end": 2.5 + seconds}],
        "identities": {"sample": {"n": people, "seed": 5}},
        "backgrounds": {"names": ["park"]},
        "cameras": {"source": True, "sampled": 1},
        "output": {"dir": str(out), "long_side": long_side},
    }


def _sequential(root: Path, clip: Path, args: argparse.Namespace) -> tuple[float, int]:
    """The baseline: every task of the plan run in order in this one process."""
    settings = load_settings(data_dir=root / "data")
    plan = plan_job(parse_spec(_spec(clip, root / "out", args.people, args.long_side, args.seconds)), settings)
    start = time.perf_counter()
    per_kind: dict[str, list[float]] = {"extract": [], "render": []}
    for task in plan.tasks:
        t0 = time.perf_counter()
        run_task(task.kind, task.payload, settings)
        per_kind[task.kind].append(time.perf_counter() - t0)
    seconds = time.perf_counter() - start
    for kind, times in per_kind.items():
        print(f"  one process, {kind}: {len(times)} task(s), mean {sum(times) / len(times):.2f} s per task")
    print(f"  one process, render phase: {60 * len(per_kind['render']) / sum(per_kind['render']):.1f} clips/min")
    return seconds, len(plan.render_tasks)


def _local(root: Path, clip: Path, args: argparse.Namespace) -> tuple[float, int]:
    settings = load_settings(data_dir=root / "data", job_poll_s=0.2)
    db = open_database(settings.resolved_database_url)
    plan = plan_job(parse_spec(_spec(clip, root / "out", args.people, args.long_side, args.seconds)), settings, db)
    start = time.perf_counter()
    job_id = submit_job(db, plan)
    final = run_local(settings.resolved_database_url, settings, [job_id], workers=args.workers, poll_s=0.2)
    seconds = time.perf_counter() - start
    if final[0].state != "done":
        raise SystemExit(f"the job did not finish: {final[0].summary()}")
    rows = job_tasks(db, job_id)
    for kind in ("extract", "render"):
        times = [row.seconds for row in rows if row.kind == kind and row.seconds]
        print(f"  local executor, {kind}: {len(times)} task(s), mean {sum(times) / len(times):.2f} s per task")
    with db.session() as session:
        first, last = session.execute(
            select(func.min(Task.claimed_at), func.max(Task.finished_at)).where(Task.job_id == job_id,
                                                                               Task.kind == "render")).one()
    print(f"  local executor, render phase: {60 * len(plan.render_tasks) / (last - first):.1f} clips/min")
    return seconds, len(plan.render_tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--long-side", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    clip = fetch_demo_clip()
    print(f"machine: {os.cpu_count()} cores; job: 2 extractions + {args.people * 4} renders of {args.seconds:g} s "
          f"at {args.long_side} px long side")
    with tempfile.TemporaryDirectory() as tmp:
        one_seconds, clips = _sequential(Path(tmp) / "sequential", clip, args)
        pool_seconds, _ = _local(Path(tmp) / "local", clip, args)
    one_rate, pool_rate = 60 * clips / one_seconds, 60 * clips / pool_seconds
    print(f"one process, tasks one by one : {one_seconds:6.1f} s  {one_rate:5.1f} clips/min")
    print(f"local executor, {args.workers} workers     : {pool_seconds:6.1f} s  {pool_rate:5.1f} clips/min")
    print(f"speed-up: x{pool_rate / one_rate:.2f} (includes starting the worker processes)")
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {parent:.0f} MB, largest worker {child:.0f} MB")


if __name__ == "__main__":
    main()
