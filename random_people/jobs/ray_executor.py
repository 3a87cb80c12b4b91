"""The Ray executor: the same tasks as Ray tasks on a cluster; the driver alone writes the log.

The driver claims tasks in the log under its own worker name, submits them to Ray with the
resources they need (one CPU; one GPU when rendering uses gsplat), beats for every task in flight,
and records each result as it arrives. Ray workers only run :func:`run_task` and touch files, so
the database never needs to be reachable from the cluster's nodes (the output folder does: use
shared storage). If the driver dies, its tasks' heartbeats stop and any later driver or local
worker reclaims them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from typing import Any, Callable

from random_people.errors import RandomPeopleError
from random_people.jobs.db import open_database
from random_people.jobs.expand import RENDER
from random_people.jobs.progress import JobProgress, job_progress
from random_people.jobs.queue import (
    ClaimedTask,
    claim_task,
    complete_task,
    fail_task,
    has_pending_work,
    heartbeat,
    reclaim_stale,
    worker_name,
)
from random_people.jobs.tasks import wants_gpu
from random_people.settings import Settings

logger = logging.getLogger(__name__)


class RayUnavailableError(RandomPeopleError):
    exit_code = 19


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError(
            "The Ray executor needs Ray: pip install 'random-people[cluster]' (or pip install ray)."
        ) from exc
    return ray


def _remote_run(kind: str, payload: dict[str, Any], known: dict[str, Any] | None,
                settings_fields: dict[str, Any]) -> dict[str, Any]:
    """What a Ray worker runs: the task, with a user error returned (not raised) as data."""
    import logging as _logging

    from random_people.jobs.tasks import run_task
    from random_people.settings import load_settings

    _logging.basicConfig(level=_logging.INFO)
    settings = load_settings(**settings_fields)
    start = time.perf_counter()
    try:
        result = run_task(kind, payload, settings, known=known)
    except RandomPeopleError as exc:
        return {"ok": False, "error": str(exc), "seconds": time.perf_counter() - start}
    return {"ok": True, "result": result, "seconds": time.perf_counter() - start}


def _settings_fields(settings: Settings) -> dict[str, Any]:
    return {f.name: (str(v) if hasattr(v, "__fspath__") else v)
            for f in dataclasses.fields(settings) for v in [getattr(settings, f.name)]}


def run_ray(database_url: str, settings: Settings, job_ids: list[str], *, address: str | None = None,
            max_in_flight: int | None = None, on_progress: Callable[[JobProgress], None] | None = None,
            init_kwargs: dict[str, Any] | None = None) -> list[JobProgress]:
    """Run the jobs' tasks on Ray until none remain; returns each job's final progress."""
    if address is None and "ray" not in sys.modules:
        # A Ray started here serves this machine only: keep its services on the loopback interface.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _ray()
    db = open_database(database_url)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, **(init_kwargs or {}))
    gpu = wants_gpu(settings)
    remote = ray.remote(_remote_run).options(num_cpus=1, num_gpus=0, max_retries=0)
    remote_gpu = ray.remote(_remote_run).options(num_cpus=1, num_gpus=1, max_retries=0)
    capacity = max_in_flight or max(1, int(ray.cluster_resources().get("CPU", 1)))
    name = worker_name("ray-driver")
    fields = _settings_fields(settings)
    in_flight: dict[Any, ClaimedTask] = {}
    last_beat = 0.0
    logger.info("Ray driver %s: up to %d tasks in flight (GPU for renders: %s)", name, capacity, gpu)
    try:
        while True:
            reclaim_stale(db, settings.job_stale_after_s, settings.job_max_attempts)
            while len(in_flight) < capacity:
                task = claim_task(db, name, job_ids=job_ids)
                if task is None:
                    break
                fn = remote_gpu if (gpu and task.kind == RENDER) else remote
                in_flight[fn.remote(task.kind, task.payload, task.known, fields)] = task
            if not in_flight:
                if not has_pending_work(db, job_ids):
                    break
                time.sleep(settings.job_poll_s)
                continue
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=min(settings.job_heartbeat_s, 5.0))
            for ref in ready:
                _record(db, ray, ref, in_flight.pop(ref))
            if time.monotonic() - last_beat >= settings.job_heartbeat_s:
                lost = heartbeat(db, in_flight.values())
                for ref, task in list(in_flight.items()):
                    if task.id in lost:  # cancelled in the log: stop the Ray task too
                        ray.cancel(ref, force=True)
                        in_flight.pop(ref)
                last_beat = time.monotonic()
            if on_progress is not None:
                for job_id in job_ids:
                    on_progress(job_progress(db, job_id))
    finally:
        if started_here:
            ray.shutdown()
    return [job_progress(db, job_id) for job_id in job_ids]


def _record(db, ray, ref, task: ClaimedTask) -> None:
    try:
        outcome = ray.get(ref)
    except Exception as exc:  # noqa: BLE001 - a crashed Ray worker is one failed task, not a dead driver
        fail_task(db, task, f"the Ray task crashed ({type(exc).__name__}: {exc})")
        return
    if outcome["ok"]:
        complete_task(db, task, outcome["result"], outcome["seconds"])
    else:
        fail_task(db, task, outcome["error"], outcome["seconds"])
