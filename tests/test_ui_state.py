"""Handler-level tests of the app's state across events (issue 17's defects), without a browser.

Each event's function is taken from the built Blocks by name and called the way Gradio calls it.
"""

from __future__ import annotations

import gradio as gr
import pytest

from random_people.pose.motion import save_motion
from random_people.ui import app as ui_app
from random_people.ui import clip_tab
from test_mesh_export import anny, zero_pose_motion  # noqa: F401  (fixtures: a Motion of the real Anny)
from test_ui_app import _ReadyWarmup


@pytest.fixture()
def fns(settings):
    demo = ui_app.build_app(settings, warmup=_ReadyWarmup(settings))
    found: dict[str, object] = {}
    for block_fn in demo.fns.values():
        if block_fn.fn is not None:  # None: a browser-only (js) step
            found.setdefault(block_fn.fn.__name__, block_fn.fn)
    return found


def _skipped(update) -> bool:
    return isinstance(update, dict) and update == {"__type__": "update"}


def _classes(update) -> list:
    classes = update.get("elem_classes") if isinstance(update, dict) else update.elem_classes
    return [classes] if isinstance(classes, str) else list(classes or [])


def test_result_panels_start_collapsed(settings):
    demo = ui_app.build_app(settings, warmup=_ReadyWarmup(settings))
    panels = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None) in ("results", "render-results")}
    assert set(panels) == {"results", "render-results"}
    for panel in panels.values():  # mounted (the 3D view needs it) but collapsed by CSS
        assert panel.visible is True and clip_tab.EMPTY in _classes(panel)
    assert f".{clip_tab.EMPTY}" in ui_app.CSS


def test_refused_trim_keeps_the_last_good_motion(fns, demo_clip):
    outputs = fns["on_extract"](str(demo_clip), 5.0, 2.0, "walk", "", progress=lambda *a, **k: None)
    assert len(outputs) == len(clip_tab._EXTRACT_OUTPUTS)
    assert outputs[0].startswith(clip_tab.EXTRACT_ERROR)
    # Nothing else changes: preview, summary, panels, downloads and the motion the Render tab reads.
    assert all(_skipped(update) for update in outputs[1:]), outputs[1:]


def test_new_upload_hides_the_previous_results_but_keeps_its_motion(fns, demo_clip, zero_pose_motion, tmp_path):
    motion_path = str(save_motion(zero_pose_motion, tmp_path / "run" / "clip.npz"))
    status, preview, summary, results = fns["on_upload"](str(demo_clip), motion_path)
    assert "1768×994" in status and preview is None
    assert summary.startswith("**New clip:**") and "keeps using its motion" in summary
    assert clip_tab.EMPTY in _classes(results)
    # Removing the clip changes nothing but the status line.
    status, *rest = fns["on_upload"](None, motion_path)
    assert status == "" and all(_skipped(update) for update in rest)


def test_identity_import_reports_every_problem_at_once(tmp_path):
    import json

    from random_people.avatar.sampler import sample_identity
    from random_people.errors import RandomPeopleError
    from random_people.ui import people_tab

    data = sample_identity(3, 1).to_dict()
    data["body"]["age_years"] = 200
    data["body"]["hieght"] = 0.2
    data["appearance"]["skin_tone"] = 11
    data["appearance"]["top"]["color"] = 5
    del data["appearance"]["hair_style"]
    bad = tmp_path / "person.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(RandomPeopleError) as info:
        people_tab.import_identity(str(bad))
    text = str(info.value)
    assert text.startswith("person.json has 5 problem(s):")
    for field in ("body.age_years", "body.hieght: unknown key", "appearance.skin_tone", "appearance.top.color",
                  "appearance.hair_style: missing required key"):
        assert f"- {field}" in text, (field, text)
    # Each value fine alone but not together: the cross-field rule speaks.
    data = sample_identity(3, 1).to_dict()
    data["body"].update(african=0.5, asian=0.5, caucasian=0.5)
    bad.write_text(json.dumps(data))
    with pytest.raises(RandomPeopleError, match=r"1 problem\(s\):\n- body.african/asian/caucasian: .*sum to 1"):
        people_tab.import_identity(str(bad))


def test_messages_never_show_server_paths(fns, tmp_path):
    import numpy as np

    from random_people.ui import render_tab

    upload = tmp_path / "gradio" / "3f2a9b0c" / "bad_motion.npz"
    upload.parent.mkdir(parents=True)
    np.savez(upload, motion=np.array([{"a": 1}], dtype=object))  # pickled objects: never loaded
    text = render_tab.describe_motion(str(upload), None)
    assert text.startswith("**Cannot use this motion file:**") and "bad_motion.npz" in text
    assert str(upload.parent) not in text and "/tmp" not in text and "allow_pickle" not in text


def test_people_delete_asks_first_and_the_panel_opens_in_view(settings):
    from random_people.avatar.sampler import sample_identity
    from random_people.avatar.store import save_identity
    from random_people.ui import people_tab

    demo = ui_app.build_app(settings, warmup=_ReadyWarmup(settings))
    handlers = {fn.fn.__name__: fn for fn in demo.fns.values()
                if fn.fn is not None and fn.fn.__module__ == people_tab.__name__}
    spec = sample_identity(1, 2)
    save_identity(spec, people_tab.identities_dir(settings))
    saved = people_tab.identities_dir(settings) / f"{spec.id}.json"
    row, question, status = handlers["on_ask_delete"].fn(spec)
    assert row.visible is True and question.startswith("**Delete ") and spec.id in question
    assert saved.exists()  # asking deleted nothing
    assert handlers["on_keep"].fn()[1] == "Kept." and saved.exists()
    result = handlers["on_delete"].fn([spec], spec, progress=lambda *a, **k: None)
    assert result[3] == f"Deleted {spec.id}." and not saved.exists() and result[-1].visible is False
    assert handlers["on_ask_delete"].fn(spec)[2].endswith("nothing to delete.")  # not saved: nothing to ask
    # Clicking a person opens the panel at once (no turntable wait), then scrolls it into view.
    selected, details, turntable, *_ = handlers["on_select"].fn([spec], gr.SelectData(None, {"index": 0, "value": None}))
    assert selected is spec and details.visible is True and turntable is None
    scrolls = [fn for fn in demo.fns.values() if fn.fn is None and fn.js and "person-details" in fn.js]
    assert len(scrolls) == 1 and "scrollIntoView" in scrolls[0].js


def test_render_summary_warns_when_the_person_leaves_the_frame():
    from random_people.render.framing import Framing
    from random_people.ui import render_tab

    assert Framing(88, 0, 0).warning() == ""
    warning = Framing(88, 4, 6).warning()
    assert warning == "The person is cut off by the frame edge in 4 of 88 frames and out of view in 6 of 88 frames."
    clip = render_tab.RenderedClip("abc", "v.mp4", "m.mp4", "l.npz", 88, 10.0, (512, 512), warning)
    text = render_tab.summary([clip])
    assert "**Framing:**" in text and "abc: The person is cut off" in text and "Leave width and height at 0" in text
    assert "Framing" not in render_tab.summary([render_tab.RenderedClip("abc", "v", "m", "l", 88, 10.0, (512, 288))])


def test_start_up_warms_the_render_path_with_progress(settings):
    from random_people.first_run import warm_render

    seen: list[tuple[float, str]] = []
    seconds = warm_render(settings, progress=lambda fraction, message: seen.append((fraction, message)))
    assert seconds > 0 and seen[0][1].startswith("Compiling") and seen[-1] == (1.0, "Renderer ready")
    assert any("Building the avatar" in message for _, message in seen)  # the real pipeline ran
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    warmup = ui_app.BodyModelWarmup(settings)
    warmup._report(0.42, "rendered frame 1/2")
    assert warmup.status_markdown() == "Getting the renderer ready (42 %): rendered frame 1/2…"


def test_quality_plot_draws_every_flag_the_motion_format_has():
    """Every quality flag (flip_repaired came with flip repair) has a colour and a label in the plot."""
    from random_people.pose import quality
    from random_people.pose.motion import FLAG_NAMES

    assert set(FLAG_NAMES.values()) <= set(quality._FLAG_RGB) and set(FLAG_NAMES.values()) <= set(quality.FLAG_LABELS)
