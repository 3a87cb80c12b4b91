"""The app builds without launching, has the Clip & pose tab, and its handlers give clear messages."""

from __future__ import annotations

import gradio as gr
import pytest

from random_people.errors import RandomPeopleError
from random_people.pose.motion import save_motion
from random_people.ui import app as ui_app
from random_people.ui import clip_tab
from test_mesh_export import anny, zero_pose_motion  # noqa: F401  (fixtures: a Motion of the real Anny)


class _ReadyWarmup(ui_app.BodyModelWarmup):
    """A warm-up that loads nothing: the tests that pose a body load it themselves."""

    def start(self):
        self._done.set()
        return self


@pytest.fixture()
def built(settings):
    demo = ui_app.build_app(settings, warmup=_ReadyWarmup(settings))
    return demo


def _components(demo: gr.Blocks) -> dict[str, gr.blocks.Block]:
    return {block.elem_id: block for block in demo.blocks.values() if getattr(block, "elem_id", None)}


def test_app_has_clip_tab_and_components(built):
    tabs = [block for block in built.blocks.values() if isinstance(block, gr.Tab)]
    assert [tab.label for tab in tabs][0] == "Clip & pose"
    found = _components(built)
    expected = {
        "clip-input": gr.Video, "extract-button": gr.Button, "preview-video": gr.Video, "summary": gr.Markdown,
        "frame-slider": gr.Slider, "body-mesh": gr.Model3D, "quality-plot": gr.Plot,
        "download-npz": gr.DownloadButton, "download-bvh": gr.DownloadButton, "model-status": gr.Markdown,
        "clip-status": gr.Markdown,
    }
    for elem_id, kind in expected.items():
        assert isinstance(found.get(elem_id), kind), elem_id
    numbers = [b.label for b in built.blocks.values() if isinstance(b, gr.Number)]
    assert numbers[:2] == ["Start (s)", "End (s)"]  # the clip tab's; later tabs add their own
    assert any(isinstance(b, gr.Textbox) and b.label == "Action name" for b in built.blocks.values())


def test_example_clip_is_shipped_and_offered(built):
    assert (ui_app.examples_dir() / clip_tab.EXAMPLE_CLIP).stat().st_size > 100_000
    datasets = [b for b in built.blocks.values() if isinstance(b, gr.Dataset)]
    assert len(datasets) == 1 and len(datasets[0].samples) == 1


def test_upload_validation_rejects_a_non_video(settings, tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is a text file, not a video\n" * 10)
    message = clip_tab.describe_upload(str(bogus), settings)
    assert message.startswith(clip_tab.CLIP_ERROR)
    assert "notes.mp4" in message or "video" in message.lower()
    assert "Traceback" not in message


def test_upload_validation_describes_a_real_clip(settings, demo_clip):
    message = clip_tab.describe_upload(str(demo_clip), settings)
    assert message.startswith("**") and "1768×994" in message and "7.7 s" in message


def test_upload_validation_enforces_duration_limit(tmp_path, demo_clip):
    from random_people.settings import load_settings

    strict = load_settings(data_dir=tmp_path, max_duration_s=2.0)
    message = clip_tab.describe_upload(str(demo_clip), strict)
    assert message.startswith(clip_tab.CLIP_ERROR) and "2 s limit" in message


def test_upload_validation_empty_is_silent(settings):
    assert clip_tab.describe_upload(None, settings) == ""


def test_extract_without_clip_says_what_to_do(settings):
    with pytest.raises(RandomPeopleError, match="Upload a video"):
        clip_tab.extract(None, None, None, "", settings, _ReadyWarmup(settings).start(), lambda *a, **k: None)


def test_summary_is_formatted_with_units_and_tolerates_unknown_keys():
    text = clip_tab.format_summary({
        "frames": 230, "fps": 30.0, "detected_ratio": 0.98, "median_error_2d_rel": 0.031,
        "median_error_2d_px": 12.34, "pa_mpjpe_mm": 52.4, "jitter_fitted_mm": 1.5, "jitter_raw_mm": 4.25,
        "frames_no_detection": 3, "frames_low_confidence": 0, "frames_high_fit_error": 2, "seconds": 41.2,
        "something_new": 1.23456, "timings": {"decode_and_detect": 7.71, "fit": 3.44},
    })
    assert "| Frames | 230 at 30 fps (7.7 s) |" in text
    assert "| Person detected in | 225 of 230 frames (97.8 %) |" in text and "3.1 % of the person's height (12.3 px)" in text and "52 mm" in text
    assert "1.5 mm vs 4.2 mm" in text
    assert "| Flagged frames | 3 no person, 2 high fit error |" in text
    assert "| something new | 1.23 |" in text
    assert "| Time by step | decode and detect 7.7 s · fit 3.4 s |" in text
    assert text.count("| Frames |") == 1
    # 220 of 230 is not "100 %"; all or none are said as such.
    assert clip_tab.detected_text(220 / 230, 230) == "220 of 230 frames (95.7 %)"
    assert clip_tab.detected_text(229 / 230, 230) == "229 of 230 frames (99.6 %)"
    assert clip_tab.detected_text(1.0, 230) == "230 of 230 frames (100 %)"


def test_summary_with_missing_keys_still_renders():
    text = clip_tab.format_summary({"frames": 10, "pa_mpjpe_mm": "n/a"})
    # Unknown shapes fall back to plain rows instead of breaking the tab.
    assert "| frames | 10 |" in text and "| 3D distance from MediaPipe 3D (PA-MPJPE) | n/a |" in text


def test_summary_reports_the_kept_person():
    text = clip_tab.format_summary({"person_switches": 2, "kept_time_range": [0.2, 5.6]})
    assert "jumped between people 2×" in text and "0.20–5.60 s" in text
    assert "one person throughout" in clip_tab.format_summary({"person_switches": 0, "kept_time_range": [0, 7.6]})


def test_run_id_depends_on_clip_and_request(demo_clip, tmp_path):
    other = tmp_path / "copy.mp4"
    other.write_bytes(demo_clip.read_bytes()[:-1])
    assert clip_tab.run_id(demo_clip, None, None, "walk") == clip_tab.run_id(demo_clip, None, None, "walk")
    assert clip_tab.run_id(demo_clip, 1.0, None, "walk") != clip_tab.run_id(demo_clip, None, None, "walk")
    assert clip_tab.run_id(other, None, None, "walk") != clip_tab.run_id(demo_clip, None, None, "walk")


def test_server_address_in_a_space(monkeypatch, settings):
    monkeypatch.setenv("SPACE_ID", "someone/random-people")
    assert ui_app.server_address(settings) == ("0.0.0.0", 7860)
    monkeypatch.delenv("SPACE_ID")
    assert ui_app.server_address(settings) == (settings.server_name, settings.server_port)


def test_server_address_from_environment(monkeypatch, tmp_path):
    from random_people.settings import load_settings

    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.setenv("RP_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("RP_SERVER_PORT", "9000")
    assert ui_app.server_address(load_settings(data_dir=tmp_path)) == ("0.0.0.0", 9000)


def test_warmup_status_line(settings):
    warmup = ui_app.BodyModelWarmup(settings)
    assert "Preparing the body model" in warmup.status_markdown()
    warmup.error = "no files"
    warmup._done.set()
    assert "could not be loaded:** no files" in warmup.status_markdown()



def test_frame_handlers_write_mesh_and_marked_plot(zero_pose_motion, tmp_path):
    motion_path = str(save_motion(zero_pose_motion, tmp_path / "run" / "clip.npz"))
    mesh = clip_tab.frame_mesh(motion_path, 99.0)  # clamped to the last frame
    assert mesh.endswith("frame_00005.glb") and (tmp_path / "run" / "mesh" / "frame_00005.glb").exists()
    figure = clip_tab.quality_plot(motion_path, 2)
    assert [s.x0 for s in figure.layout.shapes if s.type == "line" and s.x0 == s.x1] == [2, 2, 2]
    assert clip_tab.frame_mesh(None, 3) is None and clip_tab.quality_plot(None) is None
