"""The Jobs and Review tabs without a browser: their event handlers on a real job log.

The tabs are built in a Blocks with stand-ins for the Clip & pose tab's inputs (a Video, two
Numbers and a Textbox, which is all the Jobs tab reads), and each event's function is called the
way Gradio calls it, with the values of its inputs. One module-scoped job really runs: queued by
the tab's Queue handler, rendered by the local worker processes it starts, then reviewed.
"""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import pytest
import yaml

from random_people.jobs.db import open_database
from random_people.jobs.errors import JobSpecError
from random_people.jobs.models import ACCEPTED, CANCELLED, DONE, FAILED, PENDING, QUEUED, REJECTED
from random_people.jobs.progress import job_progress, job_tasks
from random_people.jobs.review import ClipFilter, list_clips, review_counts
from random_people.jobs.worker import run_worker
from random_people.settings import load_settings
from random_people.ui import jobs_tab, review_tab
from random_people.ui.app import examples_dir

EXAMPLE = examples_dir() / "walking.mp4"
RUN_TIMEOUT_S = 240


class Tabs:
    """The two tabs in one Blocks, their components and their event functions by name."""

    def __init__(self, settings, workers: jobs_tab.WorkerSupervisor) -> None:
        with gr.Blocks() as self.demo:
            self.clip = {"clip": gr.Video(), "start": gr.Number(), "end": gr.Number(), "label": gr.Textbox()}
            with gr.Tabs() as tabs:
                with gr.Tab("Jobs") as jobs:
                    self.jobs = jobs_tab.build_jobs_tab(settings, self.clip, jobs, workers=workers, tabs=tabs)
                with gr.Tab("Review") as review:
                    self.review = review_tab.build_review_tab(settings, review)
        self.fns = {}
        for block_fn in self.demo.fns.values():
            self.fns.setdefault(block_fn.fn.__name__, block_fn)

    def call(self, name: str, *args, **kwargs):
        return self.fns[name].fn(*args, **kwargs)

    def inputs(self, name: str) -> list:
        return self.fns[name].inputs


def form_values(clip=EXAMPLE, label="walk", **changes) -> list:
    """Values of the Queue/Estimate inputs after the spec file: the clip tab's four, then the form's."""
    values = dict(clip=str(clip) if clip else None, start=0.3, end=1.3, label=label, name="tiny", people=[],
                  sample_n=2, sample_mode="random", backgrounds=["park"], colour="#808080", source_camera=True,
                  sampled_cameras=1, long_side=128, max_seconds=0.2, seed=1, auto_accept=False)
    values.update(changes)
    return list(values.values())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Settings, tabs and a tiny job queued through the tab and run by the app's own workers."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("jobs_ui") / "data", job_workers=1)
    workers = jobs_tab.WorkerSupervisor()
    tabs = Tabs(settings, workers)
    status, spec_text, *board = tabs.call("on_queue", None, "all", *form_values())
    assert status.startswith("**Queued job") and "started 1 local worker" in status, status
    selected = board[1]
    job_id = selected["value"] if isinstance(selected, dict) else selected.value
    # The new job is selected and its board drawn in the same response (no poll in between).
    assert job_id in status and f"`{job_id}`" in board[2] and [t[1] for t in board[3]][0] == "extract"
    # A second Queue (or anything else) while the pool is alive does not start a second pool.
    assert "already running" in workers.ensure(settings)
    db = open_database(settings.resolved_database_url)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while job_progress(db, job_id).state not in (DONE, FAILED) and time.monotonic() < deadline:
        time.sleep(1.0)
    try:
        yield settings, tabs, workers, job_id, spec_text
    finally:
        workers.stop()


def _value(update):
    return update["value"] if isinstance(update, dict) else getattr(update, "value", update)


# --------------------------------------------------------------------------------------------
# Building and estimating


def test_inputs_are_wired_in_form_order(run):
    _, tabs, *_ = run
    ids = [getattr(block, "elem_id", None) for block in tabs.inputs("on_estimate")]
    assert ids[0] == "jobs-spec-file" and ids[5] == "jobs-name" and ids[-1] == "jobs-auto-accept"
    estimate, queue = tabs.inputs("on_estimate"), tabs.inputs("on_queue")
    assert estimate[1] is tabs.clip["clip"] and queue[0] is estimate[0] and queue[2:] == estimate[1:]
    assert queue[1].elem_id == "jobs-task-state"  # Queue draws the new job's board with the table's filter


def test_estimate_of_a_tiny_job(run):
    settings, tabs, *_ = run
    text, spec_text = tabs.call("on_estimate", None, *form_values())
    assert text.startswith("**Estimate:** 4 clips from 1 source clip x 2 people; 24 frames"), text
    spec = yaml.safe_load(spec_text)
    assert spec["output"]["long_side"] == 128 and spec["output"]["max_seconds"] == 0.2
    assert spec["cameras"] == {"source": True, "sampled": 1, "sampler": {}}
    source = Path(spec["sources"][0]["path"])
    # The clip was copied out of Gradio's upload cache into the data folder, under its hash.
    assert source.parent.parent == settings.data_dir / "sources" and source.name == EXAMPLE.name
    assert source.read_bytes() == EXAMPLE.read_bytes()
    assert spec["sources"][0]["start"] == 0.3 and spec["sources"][0]["label"] == "walk"


def test_estimate_lists_every_problem(run):
    _, tabs, *_ = run
    text, spec_text = tabs.call("on_estimate", None, *form_values(label="", sample_n=0, backgrounds=[],
                                                                  source_camera=False, sampled_cameras=0))
    assert text.startswith(jobs_tab.ESTIMATE_ERROR) and spec_text == ""
    # Said with the form's controls, not the spec's field paths.
    for control in ("**Action name**", "**People**", "**Saved people**", "**Also sample new people**",
                    "**Backgrounds**", "**Cameras**", "**Source camera**"):
        assert control in text, (control, text)
    assert "identities." not in text and "sources[0]" not in text and "backgrounds.names" not in text


def test_spec_paths_in_form_words():
    message = ("The job spec has 2 problem(s); nothing was queued:\n  - identities.sample.n: -1 is outside [0, inf].\n"
               "  - sources[0].end: must be after start (1 <= 2).")
    text = jobs_tab.in_form_words(message)
    assert "- **Also sample new people**: -1 is outside" in text and "- **End (s)**: must be after start" in text
    assert jobs_tab.in_form_words("  - name: too long") == "  - **Job name**: too long"
    assert jobs_tab.in_form_words("  - output.dir: the name is bad") == "  - output.dir: the name is bad"


def test_estimate_without_a_clip_says_where_to_get_one(run):
    _, tabs, *_ = run
    text, _ = tabs.call("on_estimate", None, *form_values(clip=None))
    assert "Clip & pose" in text and text.startswith(jobs_tab.ESTIMATE_ERROR)


def test_plain_colour_and_sampling_reach_the_spec(settings):
    form = jobs_tab.JobForm(str(EXAMPLE), 0, 0, "walk", "", ["abc"], 3, "balanced", ["studio", jobs_tab.PLAIN],
                            "#12AB34", False, 2, 256, 0, 5, True)
    spec = jobs_tab.form_spec(form, settings)
    assert spec["backgrounds"]["names"] == ["studio", "#12ab34"]
    assert spec["identities"] == {"saved": ["abc"], "sample": {"n": 3, "seed": 5, "mode": "balanced"}}
    assert "start" not in spec["sources"][0] and "max_seconds" not in spec["output"]  # 0 = no trim, whole clip
    assert spec["cameras"] == {"source": False, "sampled": 2} and spec["auto_accept"] is True


def test_uploaded_spec_wins_and_is_validated(run, tmp_path):
    settings, tabs, *_ = run
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources: []\ncameras: {source: maybe}\n")
    text, _ = tabs.call("on_estimate", str(bad), *form_values())
    assert "- sources:" in text and "- cameras.source:" in text and "- identities:" in text, text
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources: [\n")
    assert "not valid YAML/JSON" in tabs.call("on_estimate", str(broken), *form_values())[0]
    # Relative paths in an uploaded spec are taken from the data folder, not the upload cache.
    clips = settings.data_dir / "spec_clips"
    clips.mkdir(exist_ok=True)
    (clips / "walk.mp4").write_bytes(EXAMPLE.read_bytes())
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({
        "name": "from-file", "sources": [{"path": "spec_clips/walk.mp4", "label": "walk", "start": 0.3, "end": 1.3}],
        "identities": {"sample": {"n": 1, "seed": 2}}, "backgrounds": {"names": ["studio", "kitchen"]},
        "output": {"long_side": 64, "max_frames": 3}}))
    text, spec_text = tabs.call("on_estimate", str(good), *form_values())
    assert text.startswith("**Estimate:** 2 clips from 1 source clip x 1 person; 6 frames"), text
    assert yaml.safe_load(spec_text)["sources"][0]["path"] == str(clips / "walk.mp4")


# --------------------------------------------------------------------------------------------
# Queue, progress, and controlling a job


def test_the_queued_job_ran_and_the_board_shows_it(run):
    settings, tabs, workers, job_id, spec_text = run
    assert job_progress(open_database(settings.resolved_database_url), job_id).state == DONE
    board = tabs.call("on_tick", job_id, "all", {})
    jobs_rows, job_update, detail, tasks, task_picker, task_detail, workers_line, shown = board
    row = next(r for r in jobs_rows if r[0] == job_id)
    assert row[1:5] == ["tiny", DONE, "5/5 (100 %)", 4] and row[7] == 0
    assert job_id in [value for _, value in _choices(job_update)]
    # The poll never sets the selection: its job id may be a stale read from before a Queue.
    assert "value" not in job_update._constructor_args[0]
    assert "**done**" in detail and "4 pending" in detail and "written to `renders`" in detail and str(settings.data_dir) not in detail
    assert [t[1] for t in tasks] == ["extract", "render", "render", "render", "render"]
    assert all(t[2] == DONE for t in tasks) and [c[1] for c in _choices(task_picker)] == [t[0] for t in tasks]
    # Any task opens, a done one too: its outputs (by file name), fidelity, timings and history.
    render_id = tasks[1][0]
    text = tabs.call("on_task", job_id, render_id)
    assert text.startswith(f"**Task {render_id}** (render, **done**, 1 attempt(s)): render walk /")
    assert "Files: `" in text and ".mp4`" in text and "fidelity" in text and "took " in text
    assert "| running | worker@" in text and "| done | worker@" in text and str(settings.data_dir) not in text
    extract = tabs.call("on_task", job_id, tasks[0][0])
    assert "Person detected in " in extract and " of " in extract and " frames (" in extract
    data = {"index": [1, 0], "value": render_id, "row_value": tasks[1]}
    assert tabs.call("on_task_row", gr.SelectData(None, data)) == render_id
    # Nothing changed since: the next poll sends no table again (the detail line has a live clock).
    again = tabs.call("on_tick", job_id, "all", shown)
    assert all(update == {"__type__": "update"} for i, update in enumerate(again[:7]) if i != 2), again[:7]


def _choices(update) -> list:
    choices = update["choices"] if isinstance(update, dict) else update.choices
    return [tuple(choice) for choice in choices]


def test_progress_is_polled_only_while_the_jobs_tab_is_shown(run):
    _, tabs, *_ = run
    assert tabs.jobs["timer"].active is False  # the page opens on another tab
    assert tabs.call("on_tabs", gr.SelectData(None, {"index": 0, "value": "Jobs"})).active is True
    assert tabs.call("on_tabs", gr.SelectData(None, {"index": 1, "value": "Review"})).active is False


def test_clicking_a_row_selects_its_job(run):
    _, tabs, _, job_id, _ = run
    data = {"index": [0, 2], "value": "done", "row_value": [job_id, "tiny", "done"]}
    assert tabs.call("on_row", gr.SelectData(None, data)) == job_id


def test_pause_resume_cancel_retry(run):
    settings, tabs, *_ = run
    spec = jobs_tab.build_spec(None, jobs_tab.JobForm(*form_values(backgrounds=["kitchen"], sampled_cameras=0)),
                               settings)
    job_id, status = jobs_tab.queue(spec, settings, workers=None)  # queued, nobody runs it
    db = open_database(settings.resolved_database_url)
    assert job_progress(db, job_id).state == QUEUED and "no workers started" in status

    def act(name: str, retry_cancelled: bool = False):
        message, *board = tabs.call(f"on_{name}", job_id, retry_cancelled, "all", {})
        return message, board

    message, board = act("pause")
    assert message.startswith("Paused") and job_progress(db, job_id).state == "paused"
    assert "**paused**" in board[2]
    message, _ = act("pause")  # a paused job cannot be paused again: said in words, no traceback
    assert "only queued or running jobs can be paused" in message
    # Two renders wait; the extraction is reused from the job above (same clip, trim and settings).
    assert [(t.kind, t.state) for t in job_tasks(db, job_id)] == [("extract", DONE), ("render", QUEUED),
                                                                  ("render", QUEUED)]
    message, _ = act("cancel")
    assert message == f"Cancelled job {job_id}: 2 task(s) stopped."
    assert [t.state for t in job_tasks(db, job_id)] == [DONE, CANCELLED, CANCELLED]
    message, _ = act("retry")
    assert "has no failed tasks to retry" in message
    message, board = act("retry", True)
    assert message.startswith(f"Queued 2 task(s) of job {job_id} again.")
    assert [t[2] for t in board[3]] == [DONE, QUEUED, QUEUED]
    jobs_tab.job_action("cancel", job_id, settings, workers=None)
    message, _ = tabs.call("on_cancel", None, False, "all", {})[:2]
    assert "Select a job first" in message


def test_failed_task_shows_its_error_and_history(run, tmp_path):
    settings, tabs, *_ = run
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is a text file, not a video\n" * 20)
    spec = jobs_tab.build_spec(None, jobs_tab.JobForm(*form_values(clip=bogus, sample_n=1, sampled_cameras=0)),
                               settings)
    job_id, _ = jobs_tab.queue(spec, settings, workers=None)
    run_worker(settings.resolved_database_url, settings, job_ids=[job_id])
    board = tabs.call("on_tick", job_id, "all", {})
    failed = [choice for choice in _choices(board[4]) if " failed · " in choice[0]]
    assert [label.split()[0] for label, _ in failed] == [f"#{t.id}" for t in
                                                         job_tasks(open_database(settings.resolved_database_url),
                                                                   job_id, state=FAILED)]
    extract_id = failed[0][1]
    text = tabs.call("on_task", job_id, extract_id)
    assert text.startswith(f"**Task {extract_id}** (extract, **failed**, 1 attempt(s)): extract notes.mp4 [walk]")
    assert "```text\nnotes.mp4 is not a video PyAV/FFmpeg can read" in text  # the library's own words
    assert "| running | worker@" in text and "| failed | worker@" in text  # its history, with who ran it
    skipped = tabs.call("on_task", job_id, failed[1][1])
    assert "skipped: the source clip's extraction" in skipped
    row = next(r for r in board[0] if r[0] == job_id)
    assert row[2] == FAILED and row[7] == len(failed)
    # The state filter lists only the failed tasks; the extraction is the first.
    only_failed = tabs.call("on_select_job", job_id, FAILED, {})[3]
    assert [r[0] for r in only_failed] == [task_id for _, task_id in failed] and only_failed[0][1] == "extract"
    assert tabs.call("on_select_job", job_id, DONE, {})[3] == []


def test_supervisor_restarts_workers_for_stranded_work(run):
    """A job queued just as the pool decided to exit still runs: the progress poll restarts it."""
    settings, tabs, workers, *_ = run
    spec = jobs_tab.build_spec(None, jobs_tab.JobForm(*form_values(backgrounds=["studio"], sampled_cameras=0,
                                                                   sample_n=1)), settings)
    assert workers.pools and workers.pools[settings.resolved_database_url].wait(timeout=60)  # idle pool exited
    job_id, _ = jobs_tab.queue(spec, settings, workers=None)
    workers.started_at[settings.resolved_database_url] = 0.0  # the last start was long ago
    tabs.call("on_tick", job_id, "all", {})
    db = open_database(settings.resolved_database_url)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while job_progress(db, job_id).state != DONE and time.monotonic() < deadline:
        time.sleep(1.0)
    assert job_progress(db, job_id).state == DONE


# --------------------------------------------------------------------------------------------
# Review


def _review_values(order="newest", below=0, **changes) -> list:
    values = dict.fromkeys(review_tab.FILTERS, review_tab.ANY)
    values.update(changes)
    return [*values.values(), order, below]


def test_review_accept_and_reject_are_stored_in_the_log(run):
    settings, tabs, _, job_id, _ = run
    db = open_database(settings.resolved_database_url)
    opened = tabs.call("on_open", *_review_values(job=job_id))
    filters, (items, rows, counts, label, page) = opened[:8], opened[8:]
    assert job_id in [value for _, value in _choices(filters[0])] and _value(filters[0]) == job_id
    assert _choices(filters[1]) == [("any", "any"), ("walk", "walk")]
    assert len(items) == 4 and len(rows) == 4 and "clips 1–4 of 4 matching clips" in counts
    assert "**4** pending" in counts and page == 0 and label == "Page **1** of 1"
    for thumb, caption in items:
        assert Path(thumb).is_file() and Path(thumb).parent == settings.data_dir / "thumbs" / "clips"
        # Readable: the action, the person in words, the fidelity, the decision and the job.
        assert caption.startswith("· fidelity ") and " · walk · " in caption and " · pending · job tiny · " in caption
        assert any(group in caption for group in ("child", "teen", "adult", "older")) and "skin tone" in caption
    assert len({caption for _, caption in items}) == 4

    selected, video, text, _ = tabs.call("on_select", rows, gr.SelectData(None, {"index": 1, "value": None}))
    assert selected.key == rows[1].key and video == rows[1].video_path and "128×72" in text
    values = _review_values(job=job_id)
    status, now_selected, video, caption, gallery, rows_after, counts, *_ = tabs.call(
        "on_accepted", selected, rows, 0, *values)
    assert status == "Marked 1 clip accepted." and "**3** pending · **1** accepted" in counts
    # Review goes on with the next clip.
    assert now_selected.key == rows_after[2].key and _value(gallery) and gallery.selected_index == 2
    assert [c.review for c in list_clips(db, ClipFilter(job_id=job_id)) if c.key == selected.key] == [ACCEPTED]
    # Next / previous walk the page and stop at its ends.
    assert tabs.call("on_next", rows_after, rows_after[3])[0].key == rows_after[3].key
    assert tabs.call("on_previous", rows_after, rows_after[1])[0].key == rows_after[0].key

    # Only pending clips shown; reject them all; then none are pending.
    pending = tabs.call("listing", *_review_values(job=job_id, review=PENDING))
    assert len(pending[1]) == 3 and selected.key not in {r.key for r in pending[1]}
    result = tabs.call("on_all_rejected", None, pending[1], 0, *_review_values(job=job_id, review=PENDING))
    assert result[0] == "Marked 3 clips rejected." and result[5] == []
    assert review_counts(db, job_id) == {PENDING: 0, ACCEPTED: 1, REJECTED: 3}
    # Filters by person and camera narrow the same clips.
    sampled = tabs.call("listing", *_review_values(job=job_id, camera="sampled"))[1]
    assert len(sampled) == 2 and all(r.camera["mode"] == "sampled" for r in sampled)
    sex = rows[0].identity["body"]["sex"]
    assert all(r.identity["body"]["sex"] == sex for r in tabs.call("listing", *_review_values(sex=sex))[1])
    # Worst fidelity first, and below a threshold.
    worst = tabs.call("listing", *_review_values(job=job_id, order="worst"))[1]
    assert [r.fidelity for r in worst] == sorted(r.fidelity for r in worst)
    threshold = max(r.fidelity for r in worst) + 0.01  # 0 would mean "any fidelity"
    below = tabs.call("listing", *_review_values(job=job_id, below=threshold))[1]
    assert len(below) == sum(1 for r in worst if r.fidelity < threshold)
    assert tabs.call("listing", *_review_values(job=job_id, below=min(r.fidelity for r in worst) or 1e-6))[1] == [
        r for r in worst if r.fidelity < (min(r.fidelity for r in worst) or 1e-6)]
    # Undecided puts a clip back to pending; nothing selected is refused in words.
    status = tabs.call("on_pending", selected, rows, 0, *values)[0]
    assert status == "Marked 1 clip pending." and review_counts(db, job_id)[PENDING] == 1
    assert "click one in the gallery" in tabs.call("on_accepted", None, rows, 0, *values)[0]


def test_review_pages(run, monkeypatch):
    settings, tabs, _, job_id, _ = run
    monkeypatch.setattr(review_tab, "PAGE_SIZE", 3)
    first = tabs.call("listing", *_review_values(job=job_id))
    assert len(first[1]) == 3 and first[4] == 0 and "Page 1 of 2: clips 1–3 of 4 matching clips" in first[2]
    second = tabs.call("on_next_page", 0, *_review_values(job=job_id))
    assert len(second[1]) == 1 and second[4] == 1 and second[3] == "Page **2** of 2"
    assert {r.key for r in first[1]}.isdisjoint({r.key for r in second[1]})
    assert tabs.call("on_next_page", 1, *_review_values(job=job_id))[4] == 1  # past the end: the last page
    assert tabs.call("on_previous_page", 1, *_review_values(job=job_id))[4] == 0


def test_review_of_a_job_that_is_gone_is_a_warning_not_a_crash(run):
    _, tabs, *_ = run
    items, rows, counts, *_ = tabs.call("listing", *_review_values(job="feedfeedfeed"))
    assert items == [] and rows == [] and "No job 'feedfeedfeed'" in counts


def test_estimate_error_markdown_lists_problems():
    text = jobs_tab.error_markdown(JobSpecError("The job spec has 2 problem(s):\n  - a: bad\n  - b: worse"))
    assert text == f"{jobs_tab.ESTIMATE_ERROR} The job spec has 2 problem(s):\n\n- a: bad\n- b: worse"
