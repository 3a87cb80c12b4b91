"""CLI commands for bulk jobs (`bulk`, `jobs`, `worker`): parse, call the library, report; no business logic."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from tqdm import tqdm

from random_people.errors import RandomPeopleError
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(database_url=getattr(args, "database", None))


def _db(settings: Settings):
    from random_people.jobs.db import open_database

    return open_database(settings.resolved_database_url)


def _terminal_safe(text: object) -> str:
    """``text`` with control characters escaped: a job log written by an older version (or a file
    name) must not send ESC sequences to the curator's terminal."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in str(text))


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


class _ProgressBars:
    """One tqdm bar per job, fed by the executors' progress callbacks."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bars: dict[str, tqdm] = {}
        self.as_lines = not sys.stderr.isatty()  # a pipe or log: one line per finished task, no redraws
        self.reported: dict[str, int] = {}

    def __call__(self, progress) -> None:
        if self.as_lines:
            if not self.quiet and self.reported.get(progress.id) != progress.finished:
                self.reported[progress.id] = progress.finished
                print(f"job {progress.id}: {progress.finished}/{progress.total} tasks; {progress.summary()[:90]}",
                      file=sys.stderr, flush=True)
            return
        bar = self.bars.get(progress.id)
        if bar is None:
            bar = tqdm(total=progress.total, desc=f"job {progress.id}", unit="task", disable=self.quiet)
            self.bars[progress.id] = bar
        bar.total = progress.total
        bar.n = progress.finished
        bar.set_postfix_str(progress.summary()[:90], refresh=False)
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _cmd_bulk(args: argparse.Namespace) -> int:
    from random_people.jobs.spec import EXAMPLE_SPEC, PathPolicy, load_spec

    if args.example:
        print(EXAMPLE_SPEC, end="")
        return 0
    if not args.spec:
        raise RandomPeopleError("Give a job spec file (`random-people bulk --example > job.yaml` prints one).")
    settings = _settings(args)
    if args.workers:
        settings = load_settings(database_url=args.database, job_workers=args.workers)
    spec = load_spec(args.spec, PathPolicy(allow_output_outside=args.allow_output_outside))
    from random_people.jobs.local_executor import pool_size  # torch, SQLAlchemy: only for a valid spec
    from random_people.jobs.service import estimate_job, plan_job, run_jobs

    plan = plan_job(spec, settings)  # opens the log only if the spec passes every check
    db = _db(settings)
    workers = args.workers or (pool_size(settings) if args.executor == "local" else 1)
    estimate = estimate_job(plan, settings, db, workers=workers)
    print(estimate.summary())
    for source in plan.sources:
        if source.problem:
            print(f"warning: {source.problem}", file=sys.stderr)
    if args.dry_run:
        return 0
    from random_people.jobs.queue import submit_job

    job_id = submit_job(db, plan)
    print(f"queued job {job_id} ({spec.name}): {len(plan.tasks)} tasks; log {settings.resolved_database_url}")
    if args.no_wait:
        print("run `random-people worker` (or start the app) to work on it")
        return 0
    bars = _ProgressBars(args.quiet)
    try:
        final = run_jobs([job_id], settings, executor=args.executor, workers=args.workers, address=args.address,
                         on_progress=bars)
    finally:
        bars.close()
    for progress in final:
        print(f"job {progress.id}: {progress.state}: {progress.summary()}")
    return 0 if all(p.state == "done" for p in final) else 1


def _print_job(progress) -> None:
    print(_terminal_safe(f"{progress.id}  {progress.state:<9} {progress.name:<24} {progress.summary()}"))


def _cmd_jobs_list(args: argparse.Namespace) -> int:
    from random_people.jobs.progress import list_jobs

    jobs = list_jobs(_db(_settings(args)), limit=args.limit)
    if not jobs:
        print("no jobs yet (queue one with `random-people bulk spec.yaml`)")
    for progress in jobs:
        _print_job(progress)
    return 0


def _cmd_jobs_show(args: argparse.Namespace) -> int:
    from random_people.jobs.progress import job_progress, job_tasks, task_events
    from random_people.jobs.review import review_counts

    db = _db(_settings(args))
    progress = job_progress(db, args.job)
    if args.json:
        print(json.dumps({"id": progress.id, "name": progress.name, "state": progress.state,
                          "counts": progress.counts, "clips_per_minute": progress.clips_per_minute,
                          "eta_s": progress.eta_s, "output_dir": progress.output_dir,
                          "review": review_counts(db, progress.id)}, indent=2))
        return 0
    print(_terminal_safe(f"job {progress.id} ({progress.name}): {progress.state}"))
    print(f"  created {_when(progress.created_at)}, finished {_when(progress.finished_at)}")
    print(_terminal_safe(f"  {progress.summary()}"))
    print(_terminal_safe(f"  outputs in {progress.output_dir}; review: {review_counts(db, progress.id)}"))
    for task in job_tasks(db, progress.id, state=args.state):
        seconds = f"{task.seconds:.1f}s" if task.seconds else "-"
        print(_terminal_safe(f"  task {task.id:>5} {task.state:<9} {seconds:>7}  {task.what}"))
        if task.error:
            print(_terminal_safe(f"        error: {task.error}"))
        if args.events:
            for at, kind, worker, message in task_events(db, task.id):
                print(_terminal_safe(f"        {_when(at)} {kind:<9} {worker or '':<28} {message}"))
    return 0


def _job_action(args: argparse.Namespace) -> int:
    from random_people.jobs import queue

    db = _db(_settings(args))
    job_id = queue.resolve_job_id(db, args.job)
    if args.jobs_command == "cancel":
        print(f"job {job_id}: {queue.cancel_job(db, job_id)} task(s) cancelled")
    elif args.jobs_command == "retry":
        print(f"job {job_id}: {queue.retry_job(db, job_id, include_cancelled=args.cancelled)} task(s) queued again")
    elif args.jobs_command == "pause":
        queue.pause_job(db, job_id)
        print(f"job {job_id}: paused (running tasks finish; `random-people jobs resume {job_id}` continues)")
    elif args.jobs_command == "resume":
        queue.resume_job(db, job_id)
        print(f"job {job_id}: resumed (run `random-people worker` if no worker is running)")
    return 0


def _cmd_jobs_review(args: argparse.Namespace) -> int:
    from random_people.jobs.review import ClipFilter, list_clips, set_review

    db = _db(_settings(args))
    if args.keys:
        changed = set_review(db, args.keys, args.decision, note=args.note)
        print(f"{changed} clip(s) marked {args.decision}")
        return 0
    rows = list_clips(db, ClipFilter(job_id=args.job, review=args.state))
    for row in rows:
        print(f"{row.key[:16]}  {row.review:<8} {row.caption}  {row.video_path}")
    if not rows:
        print("no clips match")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from random_people.jobs.local_executor import pool_size, start_workers
    from random_people.jobs.worker import run_worker

    settings = _settings(args)
    url = settings.resolved_database_url
    workers = args.workers or pool_size(settings)
    if workers == 1:
        stats = run_worker(url, settings, job_ids=args.job, stop_when_idle=not args.forever)
        print(f"worker finished: {stats.done} done, {stats.failed} failed")
        return 0
    pool = start_workers(url, settings, workers=workers, job_ids=args.job, forever=args.forever)
    print(f"started {workers} worker processes (logs in {pool.log_dir}); waiting for them to finish")
    try:
        pool.wait()
    except KeyboardInterrupt:
        pool.terminate()
        pool.wait(timeout=30)
        raise
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``random-people`` parser."""
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--database", default=None, help="SQLAlchemy URL of the job log (default: settings)")

    bulk = sub.add_parser("bulk", parents=[database], help="queue a bulk job from a spec and run it",
                          description="Expand a YAML/JSON job spec into tasks, log them and run them. "
                                      "`--example` prints a commented spec.")
    bulk.add_argument("spec", nargs="?", help="job spec (.yaml or .json)")
    bulk.add_argument("--example", action="store_true", help="print an example spec and exit")
    bulk.add_argument("--executor", choices=["local", "ray"], default="local",
                      help="local worker processes (default) or a Ray cluster")
    bulk.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    bulk.add_argument("--workers", type=int, default=None, help="worker processes / Ray tasks in flight")
    bulk.add_argument("--allow-output-outside", action="store_true",
                      help="let a relative output.dir climb out of the spec's folder (../x)")
    bulk.add_argument("--dry-run", action="store_true", help="validate and estimate only; queue nothing")
    bulk.add_argument("--no-wait", action="store_true", help="queue only; workers started elsewhere run it")
    bulk.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    bulk.set_defaults(handler=_cmd_bulk)

    jobs = sub.add_parser("jobs", help="list, inspect, cancel, retry, pause and resume jobs; review clips")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    listing = jobs_sub.add_parser("list", parents=[database], help="the newest jobs with their progress")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=_cmd_jobs_list)
    show = jobs_sub.add_parser("show", parents=[database], help="a job's progress and tasks (with errors)")
    show.add_argument("job", help="job id (or a unique prefix)")
    show.add_argument("--state", choices=["queued", "running", "done", "failed", "cancelled"], default=None,
                      help="only tasks in this state")
    show.add_argument("--events", action="store_true", help="each task's history")
    show.add_argument("--json", action="store_true", help="machine-readable summary")
    show.set_defaults(handler=_cmd_jobs_show)
    for name, text in (("cancel", "cancel queued and running tasks"), ("retry", "queue failed tasks again"),
                       ("pause", "stop handing out the job's tasks"), ("resume", "continue a paused job")):
        action = jobs_sub.add_parser(name, parents=[database], help=text)
        action.add_argument("job", help="job id (or a unique prefix)")
        if name == "retry":
            action.add_argument("--cancelled", action="store_true", help="also queue cancelled tasks again")
        action.set_defaults(handler=_job_action)
    review = jobs_sub.add_parser("review", parents=[database], help="list clips, or accept/reject them")
    review.add_argument("keys", nargs="*", help="clip keys (or unique prefixes) to mark")
    review.add_argument("--decision", choices=["accepted", "rejected", "pending"], default="accepted")
    review.add_argument("--note", default=None)
    review.add_argument("--job", default=None, help="list only this job's clips")
    review.add_argument("--state", choices=["pending", "accepted", "rejected"], default=None)
    review.set_defaults(handler=_cmd_jobs_review)

    worker = sub.add_parser("worker", parents=[database], help="run queued tasks on this machine",
                            description="Start worker processes that claim and run tasks until none remain.")
    worker.add_argument("--workers", type=int, default=None, help="processes (default: settings, one per core)")
    worker.add_argument("--job", action="append", default=None, help="only this job (repeatable)")
    worker.add_argument("--forever", action="store_true", help="keep waiting for new jobs")
    worker.set_defaults(handler=_cmd_worker)
