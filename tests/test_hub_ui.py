"""The "Dataset & Hub" tab built in a real ``gr.Blocks``; its handlers export fixture clips and push them
with the real client to the Hub on 127.0.0.1 (``hub_server.FakeHub``).

The job log's clip source is replaced by fixture clips (the job log's own tests cover it); the
job picker is checked against the real, empty job log of a fresh data folder.
"""

from __future__ import annotations

import gradio as gr
import pytest

from hub_fixtures import make_clips
from hub_server import serve_fake_hub

TOKEN = "hf_ui_token"


@pytest.fixture()
def hub(monkeypatch, tmp_path):
    yield from serve_fake_hub(monkeypatch, tmp_path, TOKEN)


def _quiet(*args, **kwargs):
    return None


def test_hub_tab_exports_previews_and_pushes(hub, settings, tmp_path, monkeypatch):
    import random_people.hub.sources as sources
    from random_people.ui.hub_tab import build_hub_tab

    clips = make_clips(tmp_path / "clips", n_sources=4, per_source=2)
    monkeypatch.setattr(sources, "load_export_clips", lambda url, jobs=None: [c for c in clips if not jobs or c.job_id in jobs])
    with gr.Blocks() as demo:
        c = build_hub_tab(settings, endpoint=hub.url)
    assert isinstance(demo, gr.Blocks) and c["token"].type == "password"

    choices_update, message, shown = c["on_refresh"]()
    assert choices_update.choices == [] and "No jobs yet" in message and shown == []  # the real (empty) job log

    status, summary, card = c["on_export"](["job-1"], "ui-set", "UI test set", "cc-by-4.0", "Sports2D demo",
                                           "BSD-3-Clause", False, progress=_quiet)
    assert status.startswith("Exported: 8 synthetic clips") and "**8 synthetic clips**" in summary
    assert card.startswith("---\n") and "Sports2D demo" in card and "license: cc-by-4.0" in card

    assert (settings.data_dir / "datasets" / "ui-set" / "README.md").read_text() == card  # inside data_dir only
    pushed = c["on_push"]("ui-set", "tester/ui-set", TOKEN, True, progress=_quiet)
    assert f"[tester/ui-set]({hub.url}/datasets/tester/ui-set)" in pushed
    assert len(hub.repos["tester/ui-set"].files) == int(summary.split(" files")[0].split("— ")[-1])
    assert "Nothing to push" in c["on_push"]("ui-set", "tester/ui-set", TOKEN, True, progress=_quiet)
    assert c["on_dataset"]("ui-set") == (summary, card)
    # A visitor names a dataset, never a path: "../x" stays inside data_dir/datasets.
    assert c["on_export"](["job-1"], "../../etc", "", "", "", "", False, progress=_quiet)[0].startswith("Exported")
    assert (settings.data_dir / "datasets" / "etc" / "README.md").exists()
    # Card fields left as the tab shows them keep what the dataset recorded (not the defaults).
    untouched = [c[key].value for key in ("name", "license", "source_dataset", "source_license")]
    c["on_export"](["job-1"], "ui-set", *untouched, False, progress=_quiet)
    kept = (settings.data_dir / "datasets" / "ui-set" / "README.md").read_text()
    assert "license: cc-by-4.0" in kept and "pretty_name: UI test set" in kept and "Sports2D demo" in kept


def test_hub_tab_shows_clear_errors(hub, settings, tmp_path, monkeypatch):
    import random_people.hub.sources as sources
    from random_people.ui.hub_tab import build_hub_tab

    monkeypatch.setattr(sources, "load_export_clips", lambda url, jobs=None: [])
    with gr.Blocks():
        c = build_hub_tab(settings, endpoint=hub.url)
    status, summary, _ = c["on_export"]([], "ds", "", "", "", "", False, progress=_quiet)
    assert status.startswith("**Cannot export:** there are no clips") and "Nothing exported" in summary
    assert c["on_push"]("ds", "tester/x", TOKEN, False, progress=_quiet).startswith("**Cannot push:**")
    assert c["on_export"]([], "..", "", "", "", "", False, progress=_quiet)[0].startswith("**Cannot export:**")
    clips = make_clips(tmp_path / "clips", n_sources=1, per_source=1)
    monkeypatch.setattr(sources, "load_export_clips", lambda url, jobs=None: clips)
    c["on_export"]([], "ds", "", "", "", "", False, progress=_quiet)
    refused = c["on_push"]("ds", "tester/x", "hf_wrong", False, progress=_quiet)
    assert "refused the token" in refused and "hf_wrong" not in refused
    assert "must be 'user/name'" in c["on_push"]("ds", "x", TOKEN, False, progress=_quiet)
    manifest = settings.data_dir / "datasets" / "ds" / "random_people_export.json"
    manifest.write_text(manifest.read_text().replace('"version": 1', '"version": 99'))
    assert "manifest version 99" in c["on_dataset"]("ds")[0]  # not "nothing exported"


def test_job_list_follows_the_log_on_tab_open_and_while_shown(settings, monkeypatch):
    """The picker is not frozen at page load: it is re-read when the tab opens and while it is shown."""
    import random_people.hub.sources as sources
    from random_people.ui.hub_tab import build_hub_tab

    jobs: list[dict] = []
    monkeypatch.setattr(sources, "load_job_summaries", lambda url: list(jobs))
    with gr.Blocks() as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("Jobs"):
                gr.Markdown("other tab")
            with gr.Tab("Dataset & Hub") as tab:
                c = build_hub_tab(settings, tab=tab, tabs=tabs)
    events = {(fn.fn.__name__, target, event) for fn in demo.fns.values() for target, event in fn.targets}
    assert ("on_refresh", tab._id, "select") in events and ("on_jobs_tick", c["timer"]._id, "tick") in events
    handlers = {fn.fn.__name__: fn.fn for fn in demo.fns.values()}
    assert c["timer"].active is False  # polls only while the tab is shown
    assert handlers["on_hub_tabs"](gr.SelectData(None, {"index": 1, "value": "Dataset & Hub"})).active is True
    assert handlers["on_hub_tabs"](gr.SelectData(None, {"index": 0, "value": "Jobs"})).active is False

    picker, message, shown = c["on_refresh"]([])
    assert shown == [] and "No jobs yet" in message
    jobs.append({"id": "job-1", "name": "walk", "clips": 3, "exportable": 0})  # a job finished meanwhile
    picker, message, shown = c["on_jobs_tick"](["gone"], shown)
    assert [tuple(choice) for choice in picker.choices] == [("walk · 0 to export of 3 clips", "job-1")]
    assert picker.value == []  # a selected job no longer in the log is dropped
    assert all(update == {"__type__": "update"} for update in c["on_jobs_tick"](["job-1"], shown))  # unchanged
    jobs[0]["exportable"] = 3  # clips accepted: the label changes, the selection stays
    picker, _, shown = c["on_jobs_tick"](["job-1"], shown)
    assert picker.value == ["job-1"] and "3 to export of 3 clips" in picker.choices[0][0]
