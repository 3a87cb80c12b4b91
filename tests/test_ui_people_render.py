"""The People and Render tabs: the page builds, and their handlers work on real people and motions."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from random_people.avatar.identity import IdentitySpec
from random_people.errors import RandomPeopleError
from random_people.media import probe_video
from random_people.render.backgrounds import DEFAULT_BACKGROUND
from random_people.pose.motion import save_motion
from random_people.ui import app as ui_app
from random_people.ui import people_tab, render_tab


class _ReadyWarmup(ui_app.BodyModelWarmup):
    def start(self):
        self._done.set()
        return self


def _components(demo: gr.Blocks) -> dict[str, gr.blocks.Block]:
    return {block.elem_id: block for block in demo.blocks.values() if getattr(block, "elem_id", None)}


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """Four sampled people with their thumbnails, drawn once for the module."""
    from random_people.settings import load_settings

    settings = load_settings(data_dir=tmp_path_factory.mktemp("people") / "data")
    distribution = people_tab.build_distribution("random", 0.5, 18, 70, list(range(1, 11)))
    specs = people_tab.sample(4, 3, distribution)
    return settings, specs, people_tab.gallery_items(specs, settings)


def test_app_has_people_and_render_tabs(settings):
    demo = ui_app.build_app(settings, warmup=_ReadyWarmup(settings))
    assert [b.label for b in demo.blocks.values() if isinstance(b, gr.Tab)][:3] == ["Clip & pose", "People", "Render"]
    found = _components(demo)
    expected = {
        "sample-button": gr.Button, "people-gallery": gr.Gallery, "people-histogram": gr.Code,
        "people-skin-tones": gr.CheckboxGroup, "person-turntable": gr.Video, "person-spec": gr.Code,
        "save-people": gr.Button, "delete-person": gr.Button, "export-ply": gr.Button, "import-file": gr.File,
        "render-people": gr.Dropdown, "render-background": gr.Dropdown, "render-camera": gr.Radio,
        "render-quick": gr.Checkbox, "render-button": gr.Button, "render-video-0": gr.Video,
        "render-source-video": gr.Video, "render-frame": gr.Slider, "render-frame-image": gr.Image,
        "render-downloads": gr.File,
    }
    for elem_id, kind in expected.items():
        assert isinstance(found.get(elem_id), kind), elem_id
    assert found["people-skin-tones"].value == list(range(1, 11))
    assert found["render-background"].value == DEFAULT_BACKGROUND  # a shipped photograph


def test_sample_four_gives_four_thumbnails_and_a_histogram(four):
    settings, specs, items = four
    assert len(specs) == 4 and len(items) == 4
    for (path, caption), spec in zip(items, specs):
        assert path.endswith(f"{spec.id}.png") and (settings.data_dir / "identities" / "thumbs").is_dir()
        assert np.asarray(Image.open(path)).shape[:2] == (256, 256)
        # Who it is first (the gallery cuts the end of long captions), the id last.
        assert caption.startswith(f"{spec.body.sex}, ") and caption.endswith(spec.id) and " y, MST " in caption
    text = people_tab.histogram_text(specs)
    assert "sex (n=4)" in text and "skin_tone (n=4)" in text
    assert people_tab.histogram_text([]) == ""


def test_distribution_follows_the_controls():
    dist = people_tab.build_distribution("balanced", 1.0, 30, 20, [9, 10], ["long"], ["dress"])
    assert dist.mode == "balanced" and dist.age_range == (20.0, 30.0)  # min/max put in order
    specs = people_tab.sample(3, 1, dist)
    assert all(s.body.sex == "female" and s.appearance.skin_tone in (9, 10) for s in specs)
    assert all(s.appearance.top.type == "dress" and 20 <= s.body.age_years <= 30 for s in specs)
    with pytest.raises(RandomPeopleError, match="skin tone"):
        people_tab.build_distribution("random", 0.5, 18, 70, [])
    with pytest.raises(RandomPeopleError, match="between 1 and"):
        people_tab.sample(0, 1, dist)


def test_save_list_delete(four):
    settings, specs, _ = four
    assert people_tab.save([], settings).startswith("Nothing to save")
    assert people_tab.save(specs[:2], settings) == "Saved 2 new people (2 saved in all)."
    assert people_tab.save(specs[:2], settings) == "Saved 0 new people (2 saved in all)."  # idempotent
    assert [value for _, value in people_tab.saved_choices(settings)] == sorted(s.id for s in specs[:2])
    assert people_tab.delete(specs[3], settings).endswith("nothing to delete.")
    assert people_tab.delete(specs[0], settings) == f"Deleted {specs[0].id}."
    assert [s.id for s in people_tab.saved_identities(settings)] == [specs[1].id]


def test_turntable_and_spec_json(four):
    settings, specs, _ = four
    path = people_tab.turntable(specs[0], settings)
    assert path.suffix == ".mp4" and probe_video(path).num_frames >= 30
    assert IdentitySpec.from_dict(json.loads(people_tab.spec_json(specs[0]))) == specs[0]


def test_export_ply_writes_avatar_and_sidecar(four):
    settings, specs, _ = four
    ply, sidecar = people_tab.export_ply(specs[1], settings)
    assert ply.endswith(".ply") and sidecar.endswith(".binding.npz")
    from random_people.avatar.files import load_avatar

    assert len(load_avatar(ply)) > 1000
    with pytest.raises(RandomPeopleError, match="click a person"):
        people_tab.export_ply(None, settings)


def test_import_rejects_bad_json_with_clear_text(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "seed": 1,\n  not json')
    with pytest.raises(RandomPeopleError, match="broken.json is not valid JSON at line 3, column 3"):
        people_tab.import_identity(str(broken))
    with pytest.raises(RandomPeopleError, match="choose a .json"):
        people_tab.import_identity(None)


def test_import_names_the_bad_field(four, tmp_path):
    _, specs, _ = four
    data = specs[0].to_dict()
    data["body"]["age_years"] = 200
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(RandomPeopleError, match=r"body\.age_years"):
        people_tab.import_identity(str(bad))
    del data["appearance"]
    bad.write_text(json.dumps(data))
    with pytest.raises(RandomPeopleError, match="appearance"):
        people_tab.import_identity(str(bad))


def test_import_accepts_a_valid_file(four, tmp_path):
    _, specs, _ = four
    good = tmp_path / "good.json"
    good.write_text(json.dumps(specs[2].to_dict()))
    spec = people_tab.import_identity(str(good))
    assert spec.id == specs[2].id and spec.provenance["kind"] == "sampled"


def test_render_inputs_are_checked():
    assert render_tab.render_size(None, None, True) == (None, 60)  # source aspect, 256 px long side
    assert render_tab.render_size(640, 361, False) == ((640, 360), None)
    assert render_tab.render_size(0, 0, False) == (None, None)  # the default: the source's aspect, 512 px
    with pytest.raises(RandomPeopleError, match="outside"):
        render_tab.render_size(10, 10, False)
    assert render_tab.background_spec("park", None) == "park"
    with pytest.raises(RandomPeopleError, match="Upload a background"):
        render_tab.background_spec(render_tab.UPLOADED_BACKGROUND, None)
    assert render_tab.UPLOADED_BACKGROUND in render_tab.background_choices()
    choices = render_tab.background_choices()
    assert DEFAULT_BACKGROUND in choices and "cartoon_studio" in choices
    assert choices.index(DEFAULT_BACKGROUND) < choices.index("cartoon_studio")  # photographs first
    assert render_tab.chosen_motion("up.npz", "x.npz") == "up.npz"
    assert render_tab.chosen_motion(None, "x.npz") == "x.npz"
    assert render_tab.describe_motion(None, None) == render_tab.NO_MOTION


def test_render_without_motion_or_people_says_what_to_do(settings):
    with pytest.raises(RandomPeopleError, match="No motion yet"):
        render_tab.render(None, ["abc"], "studio", "source", 0, (256, 256), 10, settings, lambda *a: None)
    with pytest.raises(RandomPeopleError, match="at least one saved person"):
        render_tab.render("m.npz", [], "studio", "source", 0, (256, 256), 10, settings, lambda *a: None)


def test_quick_render_of_a_saved_person(demo_motion, four, tmp_path):
    settings, specs, _ = four
    people_tab.save(specs[1:2], settings)
    motion_path = str(save_motion(demo_motion, tmp_path / "walk.npz"))
    assert "frames at 30 fps" in render_tab.describe_motion(None, motion_path)
    seen = []
    size, _ = render_tab.render_size(None, None, quick=True)  # the quick-preview path the button takes
    clips = render_tab.render(motion_path, [specs[1].id], "park", "source", 0, size, 12, settings,
                              lambda fraction, message: seen.append(fraction))
    assert len(clips) == 1 and clips[0].frames == 12
    info = probe_video(clips[0].video_path)
    assert (info.width, info.height) == (256, 144) and info.codec == "h264"  # the 1768x994 source's aspect
    assert seen and max(seen) <= 1.0
    image = render_tab.frame_image([clips[0].video_path, clips[0].video_path], 5)
    assert image.shape == (144, 256 * 2 + 8, 3)
    assert render_tab.frame_image([], 3) is None
    assert "Rendered 1 person · 12 frames at 256×144" in render_tab.summary(clips)
    assert render_tab.source_preview(motion_path) is None
