"""The local executor: a pool of worker *processes* on this machine.

Workers are fresh interpreters (``python -m random_people.jobs.worker``), never forks: a process
that has rendered holds Numba and torch thread pools that do not survive ``fork``. Being separate
processes also means killing the app (even with SIGKILL) leaves the workers to finish or be
reclaimed, and killing one worker loses at most the task it held, which is reclaimed after its
heartbeat expires.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from random_people.jobs.db import open_database
from random_people.jobs.progress import JobProgress, job_progress
from random_people.jobs.queue import has_pending_work
from random_people.settings import Settings

logger = logging.getLogger(__name__)


def pool_size(settings: Settings) -> int:
    """Worker processes to start: the setting, or one per core."""
    return settings.job_workers if settings.job_workers > 0 else max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


@dataclass
class WorkerPool:
    """Handles of running worker processes (the app keeps one; the CLI waits on it)."""

    database_url: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    log_dir: Path | None = None

    @property
    def alive(self) -> int:
        return sum(1 for p in self.processes if p.poll() is None)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every worker to exit; True if they all did within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for process in self.processes:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                process.wait(remaining)
            except subprocess.TimeoutExpired:
                return False
        return True

    def terminate(self) -> None:
        """Ask workers to stop (SIGTERM); their tasks are reclaimed once heartbeats expire."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()


def start_workers(database_url: str, settings: Settings, *, workers: int | None = None,
                  job_ids: list[str] | None = None, forever: bool = False,
                  log_dir: Path | None = None) -> WorkerPool:
    """Start ``workers`` worker processes (default from settings) and return at once."""
    count = workers or pool_size(settings)
    threads = threads_per_worker(count)
    log_dir = log_dir or settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    pool = WorkerPool(database_url=database_url, log_dir=log_dir)
    env = {**os.environ, "RP_DATA_DIR": str(settings.data_dir), "PYTHONUNBUFFERED": "1"}
    for i in range(count):
        command = [sys.executable, "-m", "random_people.jobs.worker", "--database", database_url,
                   "--threads", str(threads)]
        for job_id in job_ids or []:
            command += ["--job", job_id]
        if forever:
            command.append("--forever")
        log_path = log_dir / f"worker-{time.strftime('%Y%m%d-%H%M%S')}-{i}.log"
        with open(log_path, "ab") as log:
            pool.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                   start_new_session=True))
        logger.info("Started worker %d (pid %d), log %s", i, pool.processes[-1].pid, log_path)
    return pool


def run_local(database_url: str, settings: Settings, job_ids: list[str], *, workers: int | None = None,
              on_progress: Callable[[JobProgress], None] | None = None, poll_s: float = 1.0) -> list[JobProgress]:
    """Run the jobs with a local pool until every worker exits; returns each job's final progress."""
    db = open_database(database_url)
    pool = start_workers(database_url, settings, workers=workers, job_ids=job_ids)
    try:
        while pool.alive:
            if on_progress is not None:
                for job_id in job_ids:
                    on_progress(job_progress(db, job_id))
            time.sleep(poll_s)
    except KeyboardInterrupt:
        logger.warning("Interrupted: stopping workers; their tasks return to the queue when heartbeats expire")
        pool.terminate()
        pool.wait(timeout=30)
        raise
    return [job_progress(db, job_id) for job_id in job_ids]


RESTART_AFTER_S = 10.0  # do not restart a worker pool that died more recently than this


@dataclass
class WorkerSupervisor:
    """The local worker pools a long-running process (the app) keeps, one per job log.

    Workers are started without job filters, so a live pool also takes jobs queued after it
    started; they exit on their own once no queued work is left. A job queued in the instant a
    pool decides to exit would be stranded, so :meth:`supervise` (called on every progress poll)
    starts a new pool when work is pending and this app's pool is gone.
    """

    pools: dict[str, Any] = field(default_factory=dict)  # database URL -> WorkerPool
    started_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alive(self, settings: Settings) -> int:
        pool = self.pools.get(settings.resolved_database_url)
        return pool.alive if pool is not None else 0

    def ensure(self, settings: Settings) -> str:
        """Start a pool unless one is alive; returns a sentence for the status line."""
        url = settings.resolved_database_url
        with self.lock:
            alive = self.alive(settings)
            if alive:
                return f"{alive} worker(s) already running will pick it up."
            pool = start_workers(url, settings)
            self.pools[url], self.started_at[url] = pool, time.monotonic()
            logger.info("Started %d local worker(s) for %s", len(pool.processes), url)
            return f"started {len(pool.processes)} local worker(s)."

    def supervise(self, settings: Settings, db) -> None:
        """Restart this app's pool if it has exited while work is still pending."""
        url = settings.resolved_database_url
        if url not in self.pools or self.alive(settings):
            return
        if time.monotonic() - self.started_at.get(url, 0.0) < RESTART_AFTER_S:
            return
        if has_pending_work(db):
            logger.info("Local workers have exited but work is pending; starting them again")
            self.ensure(settings)

    def status(self, settings: Settings) -> str:
        alive = self.alive(settings)
        if alive:
            return f"{alive} local worker(s) running"
        return "no local workers running (they start when you queue a job and stop when the queue is empty)"

    def stop(self) -> None:
        """Terminate every pool (tests; the app leaves its workers to finish on their own)."""
        with self.lock:
            for pool in self.pools.values():
                pool.terminate()
            for pool in self.pools.values():
                pool.wait(timeout=30)
