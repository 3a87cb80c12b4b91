"""The "Dataset & Hub" tab: pick jobs, export their accepted clips, see what will be pushed, push.

Every handler is a plain function over plain values so tests can call it without a browser; the
work is ``random_people.hub`` (export, card, push) and the job log (which clips are accepted).
The token is an event input only: it is never put in a ``gr.State``, a log line or a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import gradio as gr

from random_people.errors import RandomPeopleError
from random_people.settings import Settings

HOW_TO = (
    "**How it works.** Pick jobs (none = every job) and press **Export**: accepted clips (all finished clips of "
    "auto-accept jobs) are added to the dataset folder with leak-free splits and a dataset card. Check what will "
    "be pushed below, then enter a repo id and a write token and press **Push**. Pushing again sends only what "
    "changed, and resumes an interrupted push."
)
TOKEN_INFO = "Write token from huggingface.co/settings/tokens. Empty: HF_TOKEN or your `hf auth login`. Never stored."


# --------------------------------------------------------------------------------------------
# Handlers (plain functions; the Blocks wiring is at the bottom)


DEFAULT_DATASET = "default"


def dataset_dir(settings: Settings, name: str) -> Path:
    """The folder of the app's dataset ``name``: always inside ``data_dir/datasets``.

    The app may be public (a Space): a visitor names a dataset, never a server path, so an export
    or a push cannot reach any other folder.
    """
    from random_people.hub.layout import safe_name

    return settings.data_dir / "datasets" / safe_name((name or "").strip() or DEFAULT_DATASET, "dataset name")


def job_choices(settings: Settings) -> tuple[list[tuple[str, str]], str]:
    """(label, id) per job for the picker, and a status line (the job log may be missing or empty)."""
    from random_people.hub.sources import load_job_summaries

    try:
        jobs = load_job_summaries(settings.resolved_database_url)
    except RandomPeopleError as exc:
        return [], f"**No job log:** {exc}"
    choices = [(f"{j['name']} · {j.get('exportable', 0)} to export of {j.get('clips', 0)} clips"
                + (" · auto-accept" if j.get("auto_accept") else ""), str(j["id"])) for j in jobs]
    return choices, "" if choices else "No jobs yet: run a bulk job first (Jobs tab or `random-people bulk`)."


def describe_folder(folder: str | Path) -> tuple[str, str]:
    """What a push of ``folder`` would send (counts, size, splits) and its card, as Markdown."""
    from random_people.hub.layout import MANIFEST_NAME
    from random_people.hub.push import plan_push

    folder = Path(folder)
    try:
        plan = plan_push(folder)
    except RandomPeopleError as exc:
        if (folder / MANIFEST_NAME).exists():  # an export, but unreadable (e.g. another version's manifest)
            return f"**Cannot read this dataset:** {exc}", ""
        return f"Nothing exported in `datasets/{folder.name}` yet: press **Export**.", ""
    summary = (
        f"**{plan.synthetic_clips} synthetic clips**" + (f" and **{plan.real_clips} real clips**" if plan.real_clips else "")
        + f" — {len(plan.files)} files, {plan.total_bytes / 1e6:.1f} MB in `datasets/{folder.name}`. Splits: "
        + ", ".join(f"{name} {count}" for name, count in plan.split_counts.items())
    )
    return summary, plan.card


def export_jobs(settings: Settings, job_ids: Sequence[str] | None, folder: str | Path, name: str, license: str,
                source_dataset: str, source_license: str, include_real: bool,
                progress: Callable[[float, str], None] | None = None) -> str:
    """Export the accepted clips of ``job_ids`` (all jobs when empty) into ``folder``; a status line."""
    from random_people.hub.export import export_dataset
    from random_people.hub.sources import load_export_clips, load_real_clips

    url = settings.resolved_database_url
    jobs = list(job_ids or []) or None
    clips = load_export_clips(url, jobs)
    # Empty fields keep what the dataset's earlier exports recorded.
    info = {"pretty_name": name, "license": license, "source_dataset": source_dataset, "source_license": source_license}
    result = export_dataset(clips, folder, real_clips=load_real_clips(url, jobs) if include_real else (),
                            info=info, progress=progress)
    return (f"Exported: {result.synthetic_clips} synthetic clips in the folder ({result.added_synthetic} new), "
            f"{result.real_clips} real ({result.added_real} new).")


def push_folder(folder: str | Path, repo_id: str, token: str | None, private: bool,
                progress: Callable[[float, str], None] | None = None, endpoint: str | None = None) -> str:
    """Push ``folder`` to ``repo_id``; Markdown with the link (or that nothing had changed)."""
    from random_people.hub.push import push_dataset

    result = push_dataset(folder, repo_id, token=(token or None), private=bool(private), endpoint=endpoint,
                          progress=progress)
    if result.no_op:
        return f"Nothing to push: [{result.repo_id}]({result.url}) already holds these {result.unchanged} files."
    return (f"Pushed {len(result.uploaded)} files in {len(result.commits)} commit(s) "
            f"({result.unchanged} were already there): [{result.repo_id}]({result.url})")


# --------------------------------------------------------------------------------------------
# Layout and wiring


def _gradio_progress(progress: Any) -> Callable[[float, str], None]:
    return lambda fraction, message: progress(fraction, desc=message)


JOBS_POLL_S = 5.0  # how often the job list is re-read while this tab is shown (a job may finish meanwhile)


def build_hub_tab(settings: Settings, endpoint: str | None = None, tab: gr.Tab | None = None,
                  tabs: gr.Tabs | None = None) -> dict[str, Any]:
    """Lay out the tab inside the current Blocks context and wire its events; components by name.

    ``endpoint``: the Hub URL (default: ``HF_ENDPOINT`` or huggingface.co); tests point it at a local server.
    ``tab`` (and the page's ``tabs``): the job list is re-read when the tab opens and, while it is
    shown, every :data:`JOBS_POLL_S` seconds, so a job finished meanwhile appears without a reload.
    """
    from random_people.hub.card import CardInfo

    c: dict[str, Any] = {}
    defaults = CardInfo()
    choices, jobs_message = job_choices(settings)
    summary, card = describe_folder(dataset_dir(settings, DEFAULT_DATASET))
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            gr.Markdown("### 1. Export")
            with gr.Row():
                c["jobs"] = gr.Dropdown(choices, multiselect=True, label="Jobs (none = all)", elem_id="hub-jobs", scale=4)
                c["refresh"] = gr.Button("↻", elem_id="hub-refresh-jobs", scale=0, min_width=40)
            c["dataset"] = gr.Textbox(DEFAULT_DATASET, label="Dataset name",
                                      info="kept in the app's data folder (datasets/); exporting again adds new clips",
                                      elem_id="hub-dataset")
            with gr.Accordion("Dataset card", open=False):
                # Empty (the defaults as placeholders): a field left alone keeps what the dataset recorded.
                c["name"] = gr.Textbox("", label="Name", placeholder=defaults.pretty_name, elem_id="hub-name")
                c["license"] = gr.Textbox("", label="Licence (Hub id, e.g. cc-by-4.0)", placeholder=defaults.license,
                                          elem_id="hub-license")
                c["source_dataset"] = gr.Textbox("", label="Source dataset", placeholder="e.g. Toyota Smarthome",
                                                 elem_id="hub-source-dataset")
                c["source_license"] = gr.Textbox("", label="Source licence", elem_id="hub-source-license")
                c["include_real"] = gr.Checkbox(False, label="Also export the real source clips (config 'real')",
                                                elem_id="hub-include-real")
            c["export"] = gr.Button("Export", variant="primary", elem_id="hub-export")
            gr.Markdown("### 3. Push")
            c["repo"] = gr.Textbox("", label="Repo id", placeholder="user/name", elem_id="hub-repo")
            c["token"] = gr.Textbox("", label="Token", type="password", info=TOKEN_INFO, elem_id="hub-token")
            c["private"] = gr.Checkbox(True, label="Private repo", elem_id="hub-private")
            c["push"] = gr.Button("Push to the Hub", variant="primary", elem_id="hub-push")
        with gr.Column(scale=3, min_width=380):
            c["status"] = gr.Markdown(jobs_message or HOW_TO, elem_id="hub-status")
            gr.Markdown("### 2. What will be pushed")
            c["summary"] = gr.Markdown(summary, elem_id="hub-summary")
            c["card"] = gr.Code(card, language="markdown", label="Dataset card (README.md)", interactive=False,
                                max_lines=30, elem_id="hub-card")
    c["timer"] = gr.Timer(JOBS_POLL_S, active=tab is None or tabs is None)
    c["shown_jobs"] = gr.State(choices)
    _wire(c, settings, endpoint, tab, tabs)
    return c


def _wire(c: dict[str, Any], settings: Settings, endpoint: str | None, tab: gr.Tab | None,
          tabs: gr.Tabs | None) -> None:
    def folder_of(name: str) -> Path:
        return dataset_dir(settings, name)

    def picker(choices, current):
        known = {value for _, value in choices}
        return gr.Dropdown(choices=choices, value=[v for v in (current or []) if v in known], multiselect=True)

    def on_refresh(current=None):
        choices, message = job_choices(settings)
        return picker(choices, current), message or HOW_TO, choices

    def on_jobs_tick(current, shown):
        """Redraw the job list only when it changed (a job queued, finished, or clips reviewed)."""
        choices, message = job_choices(settings)
        if [list(choice) for choice in choices] == [list(choice) for choice in shown or []]:
            return gr.skip(), gr.skip(), gr.skip()
        return picker(choices, current), (message or gr.skip()), choices

    def on_dataset(name):
        try:
            return describe_folder(folder_of(name))
        except RandomPeopleError as exc:
            return f"**Bad dataset name:** {exc}", ""

    def on_export(jobs, name, title, license, source_dataset, source_license, include_real, progress=gr.Progress()):
        try:
            folder = folder_of(name)
            message = export_jobs(settings, jobs, folder, title, license, source_dataset, source_license,
                                  include_real, _gradio_progress(progress))
        except RandomPeopleError as exc:
            return f"**Cannot export:** {exc}", *on_dataset(name)
        return message, *describe_folder(folder)

    def on_push(name, repo, token, private, progress=gr.Progress()):
        try:
            return push_folder(folder_of(name), repo, token, private, _gradio_progress(progress), endpoint=endpoint)
        except RandomPeopleError as exc:
            return f"**Cannot push:** {exc}"

    refreshed = [c["jobs"], c["status"], c["shown_jobs"]]
    c["refresh"].click(on_refresh, inputs=c["jobs"], outputs=refreshed, show_progress="hidden")
    c["timer"].tick(on_jobs_tick, inputs=[c["jobs"], c["shown_jobs"]], outputs=refreshed, show_progress="hidden",
                    queue=False)
    if tab is not None:
        tab.select(on_refresh, inputs=c["jobs"], outputs=refreshed, show_progress="hidden")
        if tabs is not None:
            def on_hub_tabs(evt: gr.SelectData):
                return gr.Timer(active=evt.value == tab.label)

            tabs.select(on_hub_tabs, outputs=c["timer"], show_progress="hidden", queue=False)
    c["dataset"].blur(on_dataset, inputs=c["dataset"], outputs=[c["summary"], c["card"]], show_progress="hidden")
    c["export"].click(on_export, inputs=[c["jobs"], c["dataset"], c["name"], c["license"], c["source_dataset"],
                                        c["source_license"], c["include_real"]],
                      outputs=[c["status"], c["summary"], c["card"]], concurrency_id="hub", concurrency_limit=1)
    c["push"].click(on_push, inputs=[c["dataset"], c["repo"], c["token"], c["private"]], outputs=c["status"],
                    concurrency_id="hub", concurrency_limit=1)
    c["on_refresh"], c["on_export"], c["on_push"], c["on_dataset"] = on_refresh, on_export, on_push, on_dataset
    c["on_jobs_tick"] = on_jobs_tick
