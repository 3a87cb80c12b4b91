"""The "Jobs" tab: build a bulk job (from the other tabs or a spec file), see its size, queue it,
watch it run, and cancel, pause, resume or retry it.

Every handler is a small function over plain values so tests can call it without a browser; the
real work is ``random_people.jobs`` (spec validation, planning, estimates, the queue and its log,
the local worker pool). This module only turns the tab's controls into a spec dict and the log's
rows into tables.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import gradio as gr

from random_people.errors import RandomPeopleError
from random_people.jobs.local_executor import WorkerSupervisor
from random_people.render.backgrounds import DEFAULT_BACKGROUND
from random_people.settings import Settings
from random_people.wording import for_people

logger = logging.getLogger(__name__)

POLL_S = 2.0  # how often the tab reads progress from the log
PLAIN = "plain colour"
DEFAULT_LONG_SIDE = 512
DEFAULT_MAX_SECONDS = 4.0
JOBS_HEADERS = ["Job", "Name", "State", "Progress", "Clips", "Clips/min", "ETA", "Failed"]
TASK_HEADERS = ["Task", "Kind", "State", "What", "Worker", "Tries", "Time (s)", "Error"]
TASK_FILTERS = ("all", "running", "queued", "failed", "done", "cancelled")
MAX_TASK_ROWS = 500  # a big job's table shows its first tasks; the state filter finds the others
NO_JOBS = "No jobs yet. Build one on the left and press **Queue**."
HOW_TO = ("**How it works.** A job re-renders the clip from **Clip & pose** (its trim and action name) with "
          "the people, backgrounds and cameras chosen here: every person × background × camera is one clip. "
          "Press **Estimate** to see its size, **Queue** to run it on this machine. Or upload a spec file "
          "(the same YAML/JSON as `random-people bulk`).")
ESTIMATE_ERROR = "**Cannot queue this job:**"


# --------------------------------------------------------------------------------------------
# Building a spec from the tab's controls


@dataclass(frozen=True)
class JobForm:
    """The tab's controls, as plain values (what the Clip & pose tab holds, and this tab's own)."""

    clip: str | None
    start: float | None = None
    end: float | None = None
    label: str = ""
    name: str = ""
    people: Sequence[str] = ()
    sample_n: float | None = 0
    sample_mode: str = "balanced"
    backgrounds: Sequence[str] = (DEFAULT_BACKGROUND,)
    colour: str | None = "#808080"
    source_camera: bool = True
    sampled_cameras: float | None = 0
    long_side: float | None = DEFAULT_LONG_SIDE
    max_seconds: float | None = DEFAULT_MAX_SECONDS
    seed: float | None = 0
    auto_accept: bool = False


def persist_clip(clip_path: str | Path, settings: Settings) -> Path:
    """Copy the clip into ``data_dir/sources/<content hash>/`` and return the copy.

    The Clip & pose tab's clip lives in Gradio's upload cache, which is emptied after a day; a
    job (or a retry of it next week) must still find its source, and the same clip uploaded twice
    lands on the same file, so the log's hash cache and task keys see one clip.
    """
    from random_people.files import sha256_file

    source = Path(clip_path)
    if not source.is_file():
        raise RandomPeopleError(f"The clip {source.name} is no longer on the server; upload it again.")
    # The hash folder keeps the clip's own name, which the log's task descriptions show.
    target = settings.data_dir / "sources" / sha256_file(source)[:16] / source.name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(source, partial)
        partial.replace(target)
    return target


def _whole(value: float | None, default: int = 0) -> int:
    return default if value is None else int(round(float(value)))


def form_spec(form: JobForm, settings: Settings) -> dict[str, Any]:
    """The spec dict a job built from the tabs stands for (validated later by ``parse_spec``).

    Only what the form cannot express as a spec problem is refused here (no clip at all); an
    empty action name, no people or no backgrounds are left to the spec validation, which lists
    every problem at once.
    """
    from random_people.ui.clip_tab import trim_range

    if not form.clip:
        raise RandomPeopleError("No clip: upload one (or click the example) in the Clip & pose tab first.")
    start, end = trim_range(form.start, form.end)
    source: dict[str, Any] = {"path": str(persist_clip(form.clip, settings)), "labels": "fixed"}
    if (form.label or "").strip():
        source["label"] = form.label.strip()
    if start is not None:
        source["start"] = start
    if end is not None:
        source["end"] = end
    identities: dict[str, Any] = {"saved": list(form.people or [])}
    sample_n = _whole(form.sample_n)
    if sample_n:
        identities["sample"] = {"n": sample_n, "seed": _whole(form.seed), "mode": form.sample_mode or "random"}
    names = [name for name in (form.backgrounds or []) if name != PLAIN]
    if PLAIN in (form.backgrounds or []):
        names.append((form.colour or "#808080").lower())
    output: dict[str, Any] = {"long_side": _whole(form.long_side, DEFAULT_LONG_SIDE)}
    if form.max_seconds:  # 0 or empty: the whole motion
        output["max_seconds"] = float(form.max_seconds)
    return {
        "name": (form.name or "").strip() or f"{(form.label or '').strip() or 'clip'}-job",
        "seed": _whole(form.seed),
        "auto_accept": bool(form.auto_accept),
        "sources": [source],
        "identities": identities,
        "backgrounds": {"names": names},
        "cameras": {"source": bool(form.source_camera), "sampled": _whole(form.sampled_cameras)},
        "output": output,
    }


def spec_from_file(path: str | Path, settings: Settings):
    """Validate an uploaded YAML/JSON spec. Relative paths in it are taken from the data folder:
    the upload's own folder is a temporary cache, meaningless to the person who wrote the spec.
    Every path must stay inside the data folder or the shipped assets (the app may be public)."""
    from random_people.jobs.service import app_path_policy
    from random_people.jobs.spec import load_spec

    return load_spec(path, app_path_policy(settings), base_dir=settings.data_dir, shown_name=Path(path).name)


def build_spec(spec_file: str | None, form: JobForm, settings: Settings):
    """The job to estimate or queue: an uploaded spec file wins over the form (as on the Render tab)."""
    from random_people.jobs.service import app_path_policy
    from random_people.jobs.spec import parse_spec

    if spec_file:
        return spec_from_file(spec_file, settings)
    return parse_spec(form_spec(form, settings), base_dir=settings.data_dir, policy=app_path_policy(settings))


def spec_yaml(spec) -> str:
    """The validated spec as YAML, so a job built in the browser can be re-run with the CLI."""
    import yaml

    return yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True)


# Spec problems of a job built from the form, said with the form's own controls (a visitor never
# wrote a spec): whole problems first, then field paths anywhere in a line.
FORM_PROBLEMS = {
    "identities": "**People**: nobody chosen: pick **Saved people** and/or set **Also sample new people** above 0.",
    "sources[0].label": "**Action name**: empty: name the action in the **Clip & pose** tab (e.g. walking).",
    "backgrounds.names": "**Backgrounds**: none ticked: tick at least one.",
    "cameras": "**Cameras**: none: tick **Source camera** and/or set **New cameras per clip** above 0.",
}
FORM_FIELDS = (
    ("identities.sample.n", "Also sample new people"), ("identities.sample.mode", "Sampling"),
    ("identities.sample", "Also sample new people"), ("identities.saved", "Saved people"),
    ("sources[0].start", "Start (s)"), ("sources[0].end", "End (s)"), ("sources[0].path", "Clip"),
    ("sources[0]", "Clip"), ("output.long_side", "Long side (px)"), ("output.max_seconds", "Max seconds"),
    ("backgrounds.names", "Backgrounds"), ("cameras.sampled", "New cameras per clip"), ("seed", "Seed"),
    ("name", "Job name"),
)


def in_form_words(message: str) -> str:
    """``message`` (a spec validation error) with every spec field path replaced by the control's label."""
    import re

    lines = []
    for line in message.splitlines():
        match = re.match(r"^(\s*- )([\w.\[\]]+): ", line)
        if match and match.group(2) in FORM_PROBLEMS:
            lines.append(match.group(1) + FORM_PROBLEMS[match.group(2)])
            continue
        for path, label in FORM_FIELDS:
            if path.isalpha():  # "name", "seed": plain words, replaced only as a problem's field
                if match and match.group(2) == path:
                    line = f"{match.group(1)}**{label}**: {line[match.end():]}"
                continue
            line = re.sub(rf"(?<![\w.\[]){re.escape(path)}(?![\w\[])", f"**{label}**", line)
        lines.append(line)
    return "\n".join(lines)


def error_markdown(exc: BaseException, prefix: str = ESTIMATE_ERROR, form: bool = False) -> str:
    """A library error as Markdown: its first line after ``prefix``, listed problems as bullets.

    ``form``: the job came from the tab's controls, so spec field paths are said as control names.
    """
    from random_people.wording import for_people

    text = for_people(exc)
    first, *rest = (in_form_words(text) if form else text).splitlines()
    bullets = [f"- {line.strip()[2:]}" if line.strip().startswith("- ") else line for line in rest]
    return "\n".join([f"{prefix} {first}", "", *bullets]) if bullets else f"{prefix} {first}"


def estimate(spec, settings: Settings) -> str:
    """Markdown: how many clips, frames, how long and how much disk the job will take."""
    from random_people.jobs.local_executor import pool_size
    from random_people.jobs.service import estimate_job, plan_job

    plan = plan_job(spec, settings)
    result = estimate_job(plan, settings, workers=pool_size(settings))
    lines = [f"**Estimate:** {result.summary()}"]
    for source in plan.sources:
        if source.problem:
            lines.append(f"- {source.path.name}: {source.problem}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The app's worker pool


WORKERS = WorkerSupervisor()  # this app process's pools, one per job log


def queue(spec, settings: Settings, workers: WorkerSupervisor | None = WORKERS) -> tuple[str, str]:
    """Queue the job and make sure workers run it; returns (job id, status Markdown).

    ``workers=None`` queues without starting any (the tests' way to look at a queued job).
    """
    from random_people.jobs.service import queue_job

    job_id, plan = queue_job(spec, settings)
    started = workers.ensure(settings) if workers is not None else "no workers started."
    return job_id, (f"**Queued job {job_id}** ({spec.name}): {len(plan.render_tasks)} clips, "
                    f"{len(plan.tasks)} tasks; {started}")


# --------------------------------------------------------------------------------------------
# Progress: the log's rows as tables


def _db(settings: Settings):
    from random_people.jobs.db import open_database

    return open_database(settings.resolved_database_url)


def jobs_rows(db) -> list[list[Any]]:
    """One row per job, newest first (what ``random-people jobs list`` prints)."""
    from random_people.jobs.expand import RENDER
    from random_people.jobs.models import DONE, FAILED, QUEUED, RUNNING
    from random_people.jobs.progress import format_duration, list_jobs

    rows = []
    for p in list_jobs(db):
        active = p.state in (QUEUED, RUNNING)  # rate and ETA mean nothing once a job has stopped
        eta = format_duration(p.eta_s) if p.eta_s is not None and active else ""
        rate = f"{p.clips_per_minute:.1f}" if p.clips_per_minute and active else ""
        rows.append([p.id, p.name, p.state, f"{p.finished}/{p.total} ({100 * p.fraction:.0f} %)",
                     p.count(DONE, RENDER), rate, eta, p.count(FAILED)])
    return rows


def job_choices(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str]]:
    return [(f"{row[1]} · {row[0]} · {row[2]}", str(row[0])) for row in rows]


def shown_folder(folder: str | Path, settings: Settings | None) -> str:
    """A job's output folder as the page shows it: relative to the data folder, else its name only."""
    if settings is not None:
        try:
            return str(Path(folder).resolve().relative_to(settings.data_dir.resolve()))
        except ValueError:
            pass
    return Path(folder).name


def job_detail(db, job_id: str | None, settings: Settings | None = None) -> str:
    """Markdown for the selected job: its progress line, where its clips go, review counts."""
    if not job_id:
        return ""
    from random_people.jobs.progress import format_duration, job_progress
    from random_people.jobs.review import review_counts

    p = job_progress(db, job_id)
    reviews = review_counts(db, p.id)
    review = " · ".join(f"{n} {state}" for state, n in reviews.items())
    auto = " (auto-accepted)" if p.auto_accept else ""
    took = "running for" if p.finished_at is None else "took"
    return (f"**{p.name}** `{p.id}` — **{p.state}** · {p.summary()} · {took} {format_duration(p.elapsed_s)}\n\n"
            f"Clips: {review}{auto} · written to `{shown_folder(p.output_dir, settings)}`")


def task_rows(db, job_id: str | None, state: str | None = None) -> list[list[Any]]:
    """The job's tasks (``state``: only those; None or "all": every one), first line of errors."""
    if not job_id:
        return []
    from random_people.jobs.progress import job_tasks

    state = None if state in (None, "", "all") else state
    return [[t.id, t.kind, t.state, t.what, t.worker or "", t.attempts,
             "" if t.seconds is None else f"{t.seconds:.1f}", (t.error or "").splitlines()[0][:120] if t.error else ""]
            for t in job_tasks(db, job_id, state=state, limit=MAX_TASK_ROWS)]


def task_choices(db, job_id: str | None, state: str | None = None) -> list[tuple[str, int]]:
    """(label, id) of the job's tasks (those the table lists), for the task picker."""
    if not job_id:
        return []
    from random_people.jobs.progress import job_tasks

    state = None if state in (None, "", "all") else state
    return [(f"#{t.id} {t.state} · {t.what}", t.id) for t in job_tasks(db, job_id, state=state, limit=MAX_TASK_ROWS)]


def _clock(at: float | None) -> str:
    return "" if at is None else time.strftime("%H:%M:%S", time.localtime(at))


def _outputs_markdown(result: dict[str, Any]) -> list[str]:
    """What a done task made, in words: files (by name), size, frames, the fidelity figures."""
    from random_people.jobs.fidelity import describe

    lines = []
    files = [Path(result[key]).name for key in ("video_path", "mask_path", "labels_path", "motion_path")
             if result.get(key)]
    if files:
        lines.append("Files: " + ", ".join(f"`{name}`" for name in files))
    facts = []
    if result.get("frames"):
        facts.append(f"{result['frames']} frames at {float(result.get('fps') or 0):.3g} fps")
    if result.get("width"):
        facts.append(f"{result['width']}×{result['height']}")
    if result.get("size_bytes"):
        facts.append(f"{result['size_bytes'] / 1e6:.1f} MB")
    if result.get("reused"):
        facts.append("reused from an earlier run")
    if facts:
        lines.append(" · ".join(facts))
    if "fidelity" in result or result.get("video_path"):
        lines.append(describe(result.get("fidelity")))
    quality = result.get("quality") or {}
    if quality.get("detected_ratio") is not None:
        lines.append(f"Person detected in {_frames_text(quality)}")
    return lines


def _frames_text(quality: dict[str, Any]) -> str:
    """``220 of 230 frames (95.7 %)``: counts, not a rounded percentage that can say 100 % for 220/230."""
    from random_people.ui.clip_tab import detected_text

    total = int(quality.get("frames") or quality.get("frames_processed") or 0)
    return detected_text(quality["detected_ratio"], total) if total else f"{100 * float(quality['detected_ratio']):.1f} % of frames"


def task_detail(db, job_id: str | None, task_id: int | None) -> str:
    """Markdown for any task: what it makes, its outputs or error, its timings and its history."""
    if not job_id or task_id is None:
        return ""
    from sqlalchemy import select

    from random_people.jobs.models import Task
    from random_people.jobs.progress import task_events

    with db.session() as session:
        task = session.scalars(select(Task).where(Task.id == int(task_id), Task.job_id == job_id)).first()
        if task is None:
            return f"Task {task_id} is not part of job {job_id}."
        import json

        from random_people.jobs.tasks import describe_payload

        what = describe_payload(task.kind, json.loads(task.payload_json))
        result = json.loads(task.result_json) if task.result_json else None
        record = (task.id, task.kind, task.state, task.attempts, task.worker, task.claimed_at, task.finished_at,
                  task.seconds, task.error)
    task_id, kind, state, attempts, worker, claimed, finished, seconds, error = record
    lines = [f"**Task {task_id}** ({kind}, **{state}**, {attempts} attempt(s)): {what}", ""]
    timing = [f"started {_clock(claimed)}" if claimed else "not started",
              *([f"finished {_clock(finished)}"] if finished else []),
              *([f"took {seconds:.1f} s"] if seconds is not None else []), *([f"by `{worker}`"] if worker else [])]
    lines += [" · ".join(timing), ""]
    if result:
        for line in _outputs_markdown(result):
            lines += [line, ""]
    if error:
        lines += ["```text", error, "```", ""]
    lines += ["| time | event | worker | reason |", "|---|---|---|---|"]
    for at, event, by, message in task_events(db, task_id):
        reason = (message or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {_clock(at)} | {event} | {by or ''} | {reason} |")
    return "\n".join(lines)


def task_error(db, job_id: str | None, task_id: int | None) -> str:
    """Kept for callers of the earlier name: :func:`task_detail` opens any task."""
    return task_detail(db, job_id, task_id)


def job_action(action: str, job_id: str | None, settings: Settings, include_cancelled: bool = False,
               workers: WorkerSupervisor | None = WORKERS) -> str:
    """Cancel, pause, resume or retry a job; returns a status sentence (errors raise)."""
    from random_people.jobs import queue as jobs_queue

    if not job_id:
        raise RandomPeopleError("Select a job first (click its row in the jobs table).")
    db = _db(settings)
    if action == "cancel":
        message = f"Cancelled job {job_id}: {jobs_queue.cancel_job(db, job_id)} task(s) stopped."
    elif action == "pause":
        jobs_queue.pause_job(db, job_id)
        message = f"Paused job {job_id}: running tasks finish, no new ones start."
    elif action == "resume":
        jobs_queue.resume_job(db, job_id)
        message = f"Resumed job {job_id}."
    elif action == "retry":
        count = jobs_queue.retry_job(db, job_id, include_cancelled=include_cancelled)
        message = f"Queued {count} task(s) of job {job_id} again."
    else:
        raise ValueError(f"unknown job action {action!r}")
    if action in ("resume", "retry") and workers is not None:
        message += " " + workers.ensure(settings)
    logger.info(message)
    return message


# --------------------------------------------------------------------------------------------
# Layout and wiring


def background_choices() -> list[str]:
    from random_people.render.backgrounds import list_backgrounds

    return [*list_backgrounds(), PLAIN]


def build_jobs_tab(settings: Settings, clip_components: dict[str, Any], tab: gr.Tab | None = None,
                   workers: WorkerSupervisor = WORKERS, tabs: gr.Tabs | None = None) -> dict[str, Any]:
    """Lay out the tab inside the current Blocks context and wire its events; components by name.

    ``clip_components`` are the Clip & pose tab's ``clip``, ``start``, ``end`` and ``label``: a job
    built here re-renders that clip. ``tab`` (when given) refreshes the saved people and the
    progress on opening. With ``tabs`` (the page's Tabs) and ``tab``, the progress poll runs only
    while this tab is shown, so a page left open on another tab does not keep reading the log.
    """
    from random_people.ui.people_tab import saved_choices

    c: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=340):
            c["source_status"] = gr.Markdown(_source_markdown(None, None, None, ""), elem_id="jobs-source")
            c["name"] = gr.Textbox(label="Job name", placeholder="e.g. walking-diverse", max_lines=1,
                                   elem_id="jobs-name")
            c["people"] = gr.Dropdown(choices=saved_choices(settings), value=[], multiselect=True,
                                      label="Saved people", info="saved in the People tab", elem_id="jobs-people")
            with gr.Row():
                c["sample_n"] = gr.Number(value=0, precision=0, minimum=0, label="Also sample new people",
                                          info="how many (0: none)", min_width=120, elem_id="jobs-sample-n")
                c["sample_mode"] = gr.Radio(["random", "balanced"], value="balanced", label="Sampling",
                                            min_width=160, elem_id="jobs-sample-mode")
            choices = background_choices()
            with gr.Row(equal_height=True):
                c["backgrounds"] = gr.CheckboxGroup(choices, value=[DEFAULT_BACKGROUND] if DEFAULT_BACKGROUND in choices
                                                    else choices[:1],
                                                    label="Backgrounds", scale=3, elem_id="jobs-backgrounds")
                c["colour"] = gr.ColorPicker(value="#808080", label="Plain colour", scale=1, min_width=90,
                                             elem_id="jobs-colour")
            with gr.Row():
                c["source_camera"] = gr.Checkbox(value=True, label="Source camera", min_width=120,
                                                 elem_id="jobs-source-camera")
                c["sampled_cameras"] = gr.Number(value=0, precision=0, minimum=0, label="New cameras per clip",
                                                 min_width=120, elem_id="jobs-sampled-cameras")
            with gr.Row():
                c["long_side"] = gr.Number(value=DEFAULT_LONG_SIDE, precision=0, minimum=16, label="Long side (px)",
                                           min_width=90, elem_id="jobs-long-side")
                c["max_seconds"] = gr.Number(value=DEFAULT_MAX_SECONDS, minimum=0, step=0.1, label="Max seconds",
                                             info="0: whole clip", min_width=90, elem_id="jobs-max-seconds")
                c["seed"] = gr.Number(value=0, precision=0, minimum=0, label="Seed", min_width=80, elem_id="jobs-seed")
            c["auto_accept"] = gr.Checkbox(value=False, elem_id="jobs-auto-accept",
                                           label="Auto-accept (skip review: every clip counts as accepted)")
            with gr.Accordion("Or upload a job spec (YAML/JSON)", open=False):
                c["spec_file"] = gr.File(label="Job spec", file_types=[".yaml", ".yml", ".json"], type="filepath",
                                         elem_id="jobs-spec-file")
                gr.Markdown("An uploaded spec replaces the form above; relative paths in it are taken from the "
                            "app's data folder. `random-people bulk --example` prints a complete one.")
            with gr.Row():
                c["estimate"] = gr.Button("Estimate", elem_id="jobs-estimate")
                c["queue"] = gr.Button("Queue", variant="primary", elem_id="jobs-queue")
            c["estimate_status"] = gr.Markdown(HOW_TO, elem_id="jobs-estimate-status")
            with gr.Accordion("Spec of this job (YAML, for `random-people bulk`)", open=False):
                c["spec_yaml"] = gr.Code(language="yaml", interactive=False, show_label=False, max_lines=30,
                                         elem_id="jobs-spec-yaml")
        with gr.Column(scale=3, min_width=420):
            c["workers_status"] = gr.Markdown(workers.status(settings), elem_id="jobs-workers")
            c["jobs_table"] = gr.Dataframe(headers=JOBS_HEADERS, value=[], interactive=False, label="Jobs",
                                           max_height=260, wrap=True, elem_id="jobs-table",
                                           column_widths=["120px", "150px", "80px", "130px", "64px", "100px", "80px",
                                                          "72px"])
            c["job"] = gr.Dropdown(choices=[], value=None, label="Selected job", info="or click a row above",
                                   elem_id="jobs-selected")
            c["detail"] = gr.Markdown("", elem_id="jobs-detail")
            with gr.Row():
                c["pause"] = gr.Button("Pause", size="sm", min_width=80, elem_id="jobs-pause")
                c["resume"] = gr.Button("Resume", size="sm", min_width=80, elem_id="jobs-resume")
                c["cancel"] = gr.Button("Cancel", size="sm", variant="stop", min_width=80, elem_id="jobs-cancel")
                c["retry"] = gr.Button("Retry failed", size="sm", min_width=80, elem_id="jobs-retry")
                c["retry_cancelled"] = gr.Checkbox(value=False, label="retry cancelled too", min_width=150,
                                                   elem_id="jobs-retry-cancelled")
            c["action_status"] = gr.Markdown("", elem_id="jobs-action-status")
            c["task_state"] = gr.Radio(list(TASK_FILTERS), value="all", label="Tasks to show",
                                       info=f"the table lists at most {MAX_TASK_ROWS}", elem_id="jobs-task-state")
            # Widths in pixels that fit each column's longest word ("extract", "cancelled", "Time (s)"):
            # percentages of a narrow column broke words mid-word ("Tas k", "extrac t").
            c["tasks_table"] = gr.Dataframe(headers=TASK_HEADERS, value=[], interactive=False, label="Tasks",
                                            max_height=300, wrap=True, elem_id="jobs-tasks",
                                            column_widths=["64px", "84px", "96px", "260px", "140px", "64px", "88px",
                                                           "160px"])
            c["task"] = gr.Dropdown(choices=[], value=None, label="Open a task", info="or click its row above",
                                    elem_id="jobs-task")
            c["task_detail"] = gr.Markdown("", elem_id="jobs-task-detail")
    c["timer"] = gr.Timer(POLL_S, active=tabs is None or tab is None)
    c["shown"] = gr.State({})  # what the timer last drew, so unchanged tables are not sent again
    _wire(c, settings, clip_components, tab, workers, tabs)
    return c


def _source_markdown(clip: str | None, start: float | None, end: float | None, label: str | None) -> str:
    from random_people.ui.clip_tab import trim_range

    if not clip:
        return "**Source clip:** none yet. Upload one (or click the example) in the **Clip & pose** tab."
    start, end = trim_range(start, end)
    trim = "" if start is None and end is None else f" · {start or 0:g}–{'end' if end is None else f'{end:g}'} s"
    action = (f" · “{label.strip()}”" if (label or "").strip()
              else " · **no action name yet** (set it in Clip & pose)")
    return f"**Source clip (from Clip & pose):** {Path(clip).name}{trim}{action}"


def board(settings: Settings, job_id: str | None, shown: dict[str, Any], workers: WorkerSupervisor = WORKERS,
          task_state: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Everything the progress poll draws, and what changed since ``shown`` (the rest is skipped)."""
    db = _db(settings)
    rows = jobs_rows(db)
    ids = {row[0] for row in rows}
    job_id = job_id if job_id in ids else None
    now = {
        "jobs": rows, "choices": job_choices(rows), "detail": job_detail(db, job_id, settings),
        "tasks": task_rows(db, job_id, task_state), "task_choices": task_choices(db, job_id, task_state),
        "workers": workers.status(settings),
    }
    changed = {key: value for key, value in now.items() if shown.get(key) != value}
    return now, changed


def _wire(c: dict[str, Any], settings: Settings, clip_components: dict[str, Any], tab: gr.Tab | None,
          workers: WorkerSupervisor, tabs: gr.Tabs | None) -> None:
    from random_people.ui.people_tab import saved_choices

    clip_inputs = [clip_components[name] for name in ("clip", "start", "end", "label")]
    form_inputs = [*clip_inputs, c["name"], c["people"], c["sample_n"], c["sample_mode"], c["backgrounds"],
                   c["colour"], c["source_camera"], c["sampled_cameras"], c["long_side"], c["max_seconds"],
                   c["seed"], c["auto_accept"]]

    def on_source(clip, start, end, label):
        return _source_markdown(clip, start, end, label)

    for component in clip_inputs:
        # queue=False: a cheap line redrawn on every keystroke of the action name needs no queue slot.
        component.change(on_source, inputs=clip_inputs, outputs=c["source_status"], show_progress="hidden",
                         queue=False)

    def on_refresh_people(current):
        choices = saved_choices(settings)
        known = {value for _, value in choices}
        return gr.Dropdown(choices=choices, value=[v for v in (current or []) if v in known])

    if tab is not None:
        tab.select(on_refresh_people, inputs=c["people"], outputs=c["people"], show_progress="hidden")

    def spec_of(spec_file, values):
        return build_spec(spec_file, JobForm(*values), settings)

    def on_estimate(spec_file, *values):
        try:
            spec = spec_of(spec_file, values)
            return estimate(spec, settings), spec_yaml(spec)
        except RandomPeopleError as exc:
            logger.info("Job refused: %s", exc)
            return error_markdown(exc, form=not spec_file), ""

    def on_queue(spec_file, task_state, *values):
        try:
            spec = spec_of(spec_file, values)
            job_id, message = queue(spec, settings, workers)
        except RandomPeopleError as exc:
            logger.info("Job refused: %s", exc)
            gr.Warning(for_people(str(exc).splitlines()[0]))
            return error_markdown(exc, form=not spec_file), gr.skip(), *[gr.skip()] * len(board_outputs)
        # The new job is selected and its board drawn in this same response: no poll in between
        # can show the previous job's panels.
        return message, spec_yaml(spec), *draw(job_id, task_state, {}, force=True, select=True)

    c["estimate"].click(on_estimate, inputs=[c["spec_file"], *form_inputs],
                        outputs=[c["estimate_status"], c["spec_yaml"]], show_progress_on=c["estimate_status"])
    board_outputs = [c["jobs_table"], c["job"], c["detail"], c["tasks_table"], c["task"], c["task_detail"],
                     c["workers_status"], c["shown"]]
    # Queueing selects the new job and draws its board in the same response.
    c["queue"].click(on_queue, inputs=[c["spec_file"], c["task_state"], *form_inputs],
                     outputs=[c["estimate_status"], c["spec_yaml"], *board_outputs],
                     show_progress_on=c["estimate_status"])

    def draw(job_id, task_state, shown, force: bool = False, select: bool = False):
        """The board's updates. ``select``: the user (or Queue) chose ``job_id``, so the picker is set to
        it and the open task closed; the poll never sets the picker (its job id may be a stale read)."""
        workers.supervise(settings, _db(settings))
        now, changed = board(settings, job_id, shown or {}, workers, task_state)
        if force:
            changed = now
        skip = gr.skip()
        job_update = skip
        if select:
            job_update = gr.Dropdown(choices=now["choices"], value=job_id if job_id else None)
        elif "choices" in changed:
            job_update = gr.Dropdown(choices=now["choices"])
        task_update = detail_update = skip
        if select:
            task_update, detail_update = gr.Dropdown(choices=now["task_choices"], value=None), ""
        elif "task_choices" in changed:
            task_update = gr.Dropdown(choices=now["task_choices"])
        return (
            now["jobs"] if "jobs" in changed else skip,
            job_update,
            now["detail"] if "detail" in changed else skip,
            now["tasks"] if "tasks" in changed else skip,
            task_update,
            detail_update,
            now["workers"] if "workers" in changed else skip,
            now,
        )

    def on_tick(job_id, task_state, shown):
        try:
            return draw(job_id, task_state, shown)
        except RandomPeopleError as exc:  # the log cannot be opened: say so where the workers' line is
            logger.warning("Cannot read the job log: %s", exc)
            return (*[gr.skip()] * 6, f"**Cannot read the job log:** {exc}", gr.skip())

    def on_select_job(job_id, task_state, shown):
        kept = {k: v for k, v in (shown or {}).items() if k in ("jobs", "choices", "workers")}
        return draw(job_id, task_state, kept, select=True)

    def on_task_state(job_id, task_state, shown):
        kept = {k: v for k, v in (shown or {}).items() if k in ("jobs", "choices", "workers", "detail")}
        return draw(job_id, task_state, kept)

    def on_row(evt: gr.SelectData):
        row = evt.row_value or []
        return str(row[0]) if row else gr.skip()

    board_inputs = [c["job"], c["task_state"], c["shown"]]
    c["timer"].tick(on_tick, inputs=board_inputs, outputs=board_outputs, show_progress="hidden", queue=False)
    if tab is not None:
        tab.select(on_tick, inputs=board_inputs, outputs=board_outputs, show_progress="hidden")
        if tabs is not None:
            def on_tabs(evt: gr.SelectData):
                return gr.Timer(active=evt.value == tab.label)

            tabs.select(on_tabs, outputs=c["timer"], show_progress="hidden", queue=False)
    c["job"].change(on_select_job, inputs=board_inputs, outputs=board_outputs, show_progress="hidden")
    c["task_state"].change(on_task_state, inputs=board_inputs, outputs=board_outputs, show_progress="hidden")
    c["jobs_table"].select(on_row, outputs=c["job"], show_progress="hidden")

    def action(name: str) -> Callable[..., Any]:
        def handler(job_id, include_cancelled, task_state, shown):
            try:
                message = job_action(name, job_id, settings, include_cancelled=include_cancelled, workers=workers)
            except RandomPeopleError as exc:
                gr.Warning(str(exc))
                return (f"**{exc}**", *draw(job_id, task_state, shown))
            return (message, *draw(job_id, task_state, shown, force=True))

        handler.__name__ = f"on_{name}"
        return handler

    for name in ("pause", "resume", "cancel", "retry"):
        c[name].click(action(name), inputs=[c["job"], c["retry_cancelled"], c["task_state"], c["shown"]],
                      outputs=[c["action_status"], *board_outputs], show_progress="hidden")

    def on_task(job_id, task_id):
        return task_detail(_db(settings), job_id, task_id)

    def on_task_row(evt: gr.SelectData):
        row = evt.row_value or []
        return int(row[0]) if row else gr.skip()

    c["task"].change(on_task, inputs=[c["job"], c["task"]], outputs=c["task_detail"], show_progress="hidden")
    c["tasks_table"].select(on_task_row, outputs=c["task"], show_progress="hidden")
