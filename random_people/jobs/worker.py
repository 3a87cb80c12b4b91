"""A worker: claim a task, run it with a heartbeat, report, repeat.

A worker is one process. It owns nothing but the task it holds: if it dies (SIGKILL, OOM, a node
going away) its heartbeat stops, and after ``job_stale_after_s`` any other worker reclaims the
task. Cancelling a job reaches a running task through the heartbeat: the next beat finds the task
no longer ours and the task's progress callback raises :class:`TaskCancelled`.

Run it as ``random-people worker`` or ``python -m random_people.jobs.worker``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

from random_people.errors import RandomPeopleError
from random_people.jobs.db import Database, open_database
from random_people.jobs.queue import (
    ClaimedTask,
    claim_task,
    complete_task,
    fail_task,
    has_pending_work,
    heartbeat,
    reclaim_stale,
    release_task,
    worker_name,
)
from random_people.jobs.tasks import TaskCancelled, describe_payload, run_task
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    lost: int = 0  # finished, but the task had been reclaimed or cancelled meanwhile
    task_ids: list[int] = field(default_factory=list)


class _Heartbeat:
    """Beats for one task in a thread; sets ``lost`` when the log says the task is not ours any more."""

    def __init__(self, db: Database, task: ClaimedTask, interval: float) -> None:
        self.db, self.task, self.interval = db, task, interval
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{task.id}", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.task.id in heartbeat(self.db, [self.task]):
                    self.lost.set()
                    return
            except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next may succeed
                logger.exception("Heartbeat for task %s failed", self.task.id)


def _limit_threads(threads: int | None) -> None:
    """Share the cores between worker processes instead of every process using all of them."""
    if not threads:
        return
    import torch

    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except Exception:  # noqa: BLE001 - numba's thread layer may refuse; its default is still correct
        logger.debug("numba thread count left unchanged", exc_info=True)


def execute_claimed(db: Database, task: ClaimedTask, settings: Settings,
                    stop: threading.Event | None = None) -> str:
    """Run one claimed task to its end state: ``done``, ``failed``, ``released`` or ``lost``.

    ``stop`` (set by SIGTERM) interrupts the task at its next progress report and gives it back
    to the queue at once, instead of leaving it for the heartbeat timeout.
    """
    logger.info("Task %s: %s", task.id, describe_payload(task.kind, task.payload))
    start = time.perf_counter()
    stop = stop or threading.Event()
    with _Heartbeat(db, task, settings.job_heartbeat_s) as beat:
        def progress(fraction: float, message: str) -> None:
            if beat.lost.is_set() or stop.is_set():
                raise TaskCancelled(f"task {task.id} was cancelled or reclaimed, or the worker is stopping")

        try:
            result = run_task(task.kind, task.payload, settings, progress, known=task.known)
        except TaskCancelled:
            if stop.is_set() and not beat.lost.is_set():
                release_task(db, task, "the worker was asked to stop")
                return "released"
            logger.info("Task %s stopped: cancelled or reclaimed", task.id)
            return "lost"
        except RandomPeopleError as exc:
            return "failed" if fail_task(db, task, str(exc), time.perf_counter() - start) else "lost"
        except Exception as exc:  # noqa: BLE001 - a bug in one task must not kill the worker
            logger.error("Task %s crashed:\n%s", task.id, traceback.format_exc())
            message = f"internal error ({type(exc).__name__}: {exc}); see the worker's log"
            return "failed" if fail_task(db, task, message, time.perf_counter() - start) else "lost"
    seconds = time.perf_counter() - start
    return "done" if complete_task(db, task, result, seconds) else "lost"


def run_worker(
    database_url: str,
    settings: Settings | None = None,
    *,
    name: str | None = None,
    job_ids: list[str] | None = None,
    stop_when_idle: bool = True,
    max_tasks: int | None = None,
    threads: int | None = None,
    stop: threading.Event | None = None,
) -> WorkerStats:
    """Claim and run tasks until none are left (or forever, with ``stop_when_idle=False``).

    While other workers still hold tasks this one needs (a render waiting for an extraction), it
    waits instead of exiting, and it reclaims tasks of dead workers as their heartbeats expire.
    """
    settings = settings or load_settings()
    db = open_database(database_url)
    name = name or worker_name()
    _limit_threads(threads)
    stats = WorkerStats()
    stop = stop or threading.Event()
    logger.info("Worker %s started on %s", name, database_url)
    while not stop.is_set() and (max_tasks is None or stats.done + stats.failed < max_tasks):
        reclaim_stale(db, settings.job_stale_after_s, settings.job_max_attempts)
        task = claim_task(db, name, job_ids=job_ids)
        if task is None:
            if stop_when_idle and not has_pending_work(db, job_ids):
                break
            stop.wait(settings.job_poll_s)
            continue
        if stop.is_set():
            release_task(db, task, "worker stopping")
            break
        outcome = execute_claimed(db, task, settings, stop)
        stats.task_ids.append(task.id)
        if outcome == "done":
            stats.done += 1
        elif outcome == "failed":
            stats.failed += 1
        elif outcome == "lost":
            stats.lost += 1
    logger.info("Worker %s finished: %d done, %d failed, %d lost", name, stats.done, stats.failed, stats.lost)
    return stats


def main(argv: list[str] | None = None) -> int:
    """Entry point of worker processes started by the local executor."""
    parser = argparse.ArgumentParser(prog="python -m random_people.jobs.worker")
    parser.add_argument("--database", required=True)
    parser.add_argument("--job", action="append", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--forever", action="store_true")
    parser.add_argument("--name", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        run_worker(args.database, name=args.name, job_ids=args.job, stop_when_idle=not args.forever,
                   threads=args.threads, stop=stop)
    except RandomPeopleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
