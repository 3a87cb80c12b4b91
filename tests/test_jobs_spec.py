"""Job specs: validation that lists every problem, label sources, and deterministic expansion."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from random_people.jobs.errors import JobSpecError
from random_people.jobs.expand import EXTRACT, RENDER, expand_job
from random_people.jobs.sources import resolve_sources
from random_people.jobs.spec import EXAMPLE_SPEC, load_spec, parse_spec
from jobs_helpers import tiny_spec


def test_example_spec_is_valid(tmp_path):
    spec = parse_spec(yaml.safe_load(EXAMPLE_SPEC), base_dir=tmp_path)
    assert spec.name == "walking-demo" and spec.backgrounds.per_clip == 2
    assert spec.sources[0].path == (tmp_path / "clips").resolve()
    assert spec.identities.sample.n == 4 and spec.identities.sample.mode == "balanced"
    assert spec.output.max_seconds == 4 and spec.cameras.sampled == 1


def test_a_stored_spec_reads_back_to_the_same_spec(tmp_path):
    """The job log stores ``spec.to_dict()``; unset optional fields (a source's csv, a label) were
    written as null and refused on reading back."""
    from random_people.jobs.spec import spec_from_dict

    spec = parse_spec(yaml.safe_load(EXAMPLE_SPEC), base_dir=tmp_path)
    assert spec_from_dict(spec.to_dict()) == spec


def test_malformed_spec_lists_every_problem_with_its_field():
    bad = {
        "seed": -1,
        "sources": [{"labels": "folder"}, {"path": "a.mp4", "labels": "guess"}],
        "identities": {"sample": {"n": 0, "mode": "fancy"}},
        "backgrounds": {"names": []},
        "cameras": {"source": False, "sampled": 0},
        "output": {"size": "big", "labels": ["mask", "depth"], "fps": 0},
        "colour": "blue",
    }
    with pytest.raises(JobSpecError) as info:
        parse_spec(bad)
    message = str(info.value)
    for field in ("seed:", "sources[0].path", "sources[1].labels", "identities.sample.n", "identities.sample.mode",
                  "backgrounds.names", "cameras:", "output.size", "output.labels[1]", "output.fps", "spec.colour"):
        assert field in message, field
    assert "nothing was queued" in message


@pytest.mark.parametrize("text, expected", [
    ("", "empty"),
    ("just a string", "expected a mapping"),
    ("sources: [\n", "not valid YAML"),
])
def test_unreadable_specs(tmp_path, text, expected):
    path = tmp_path / "job.yaml"
    path.write_text(text)
    with pytest.raises(JobSpecError, match=expected):
        load_spec(path)


def test_missing_spec_file_says_how_to_start(tmp_path):
    with pytest.raises(JobSpecError, match="--example"):
        load_spec(tmp_path / "nope.yaml")


def _touch_videos(root: Path, names: list[str], demo_clip: Path) -> None:
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(demo_clip, target)


def test_labels_from_folders_csv_and_smarthome_names(tmp_path, demo_clip):
    _touch_videos(tmp_path / "byfolder", ["walk/a.mp4", "wave/b.mp4", "wave/sub/c.mp4"], demo_clip)
    _touch_videos(tmp_path / "smart", ["Cook.Cleandishes_p02_r00_v02_c03.mp4", "Drink.Fromcup_p15_r01_v05_c01.mp4",
                                       "holiday.mp4"], demo_clip)
    _touch_videos(tmp_path / "listed", ["x.mp4", "y.mp4"], demo_clip)
    (tmp_path / "labels.csv").write_text("file,label,start,end\nx.mp4,sit,0.5,1.5\ny.mp4,stand,,\nz.mp4,jump,,\n")
    spec = parse_spec({
        "sources": [{"path": "byfolder", "labels": "folder"}, {"path": "smart", "labels": "smarthome"},
                    {"path": "listed", "labels": "csv", "csv": "labels.csv"}],
        "identities": {"sample": {"n": 1}},
    }, base_dir=tmp_path)
    clips = {clip.path.name: clip for clip in resolve_sources(spec)}
    assert (clips["a.mp4"].label, clips["b.mp4"].label, clips["c.mp4"].label) == ("walk", "wave", "sub")
    cook = clips["Cook.Cleandishes_p02_r00_v02_c03.mp4"]
    assert (cook.label, cook.subject, cook.problem) == ("Cook.Cleandishes", "p02", None)
    assert clips["Drink.Fromcup_p15_r01_v05_c01.mp4"].subject == "p15"
    assert "not a Toyota Smarthome clip name" in clips["holiday.mp4"].problem
    assert (clips["x.mp4"].label, clips["x.mp4"].start, clips["x.mp4"].end) == ("sit", 0.5, 1.5)
    assert clips["y.mp4"].label == "stand" and clips["y.mp4"].problem is None
    assert "not found" in clips["z.mp4"].problem


def test_csv_without_label_column_is_a_spec_error(tmp_path):
    (tmp_path / "labels.csv").write_text("name,action\nx.mp4,sit\n")
    spec = parse_spec({"sources": [{"path": ".", "labels": "csv", "csv": "labels.csv"}],
                       "identities": {"sample": {"n": 1}}}, base_dir=tmp_path)
    with pytest.raises(JobSpecError, match="missing column"):
        resolve_sources(spec)


def test_expansion_is_deterministic_and_content_addressed(tmp_path, demo_clip, settings):
    data = tiny_spec(demo_clip, tmp_path / "out", people=2, sampled_cameras=2,
                     backgrounds=["#808080", "park", "kitchen"])
    data["backgrounds"]["per_clip"] = 2
    first = expand_job(parse_spec(data), settings)
    second = expand_job(parse_spec(data), settings)
    assert [t.key for t in first.tasks] == [t.key for t in second.tasks]
    assert [t.payload for t in first.tasks] == [t.payload for t in second.tasks]
    kinds = [t.kind for t in first.tasks]
    assert kinds.count(EXTRACT) == 1 and kinds.count(RENDER) == 2 * 2 * 3  # people x backgrounds x cameras
    assert kinds.index(RENDER) > kinds.index(EXTRACT)
    keys = [t.key for t in first.tasks]
    assert len(set(keys)) == len(keys)
    names = {t.payload["name"] for t in first.render_tasks}
    assert len(names) == len(first.render_tasks)  # one output path per task, derived from its key
    assert all(t.payload["output_dir"].endswith("/walk") for t in first.render_tasks)
    assert all(t.depends_on == first.extract_tasks[0].key for t in first.render_tasks)

    # A copy of the clip under another name is the same content: same extraction key.
    copy = tmp_path / "renamed.mp4"
    shutil.copyfile(demo_clip, copy)
    moved = expand_job(parse_spec({**data, "sources": [{**data["sources"][0], "path": str(copy)}]}), settings)
    assert moved.extract_tasks[0].key == first.extract_tasks[0].key

    # More people keeps every existing task (and its output path); another seed changes the renders.
    more = expand_job(parse_spec({**data, "identities": {"sample": {"n": 3, "seed": 1}}}), settings)
    assert set(keys) < {t.key for t in more.tasks}
    reseeded = expand_job(parse_spec({**data, "seed": 4}), settings)
    assert reseeded.extract_tasks[0].key == first.extract_tasks[0].key
    assert not {t.key for t in reseeded.render_tasks} & {t.key for t in first.render_tasks}


def test_output_crf_is_checked_and_changes_the_render_tasks_only_when_set(tmp_path, demo_clip, settings):
    """``output.crf`` is the rendered clips' H.264 quality: unset leaves the renderer's default
    (and the task keys it had), a value reaches the render payload and gives new keys."""
    data = tiny_spec(demo_clip, tmp_path / "out", people=1, sampled_cameras=0, backgrounds=["#808080"])
    assert parse_spec(data).output.crf is None
    default = expand_job(parse_spec(data), settings)
    data["output"]["crf"] = 18
    chosen = expand_job(parse_spec(data), settings)
    assert chosen.render_tasks[0].payload["output"]["crf"] == 18
    assert chosen.render_tasks[0].key != default.render_tasks[0].key
    assert "crf" not in default.render_tasks[0].payload["output"]
    for bad, message in ((52, "52 is outside [0, 51]"), (12.5, "expected a whole number")):
        data["output"]["crf"] = bad
        with pytest.raises(JobSpecError, match=r"output\.crf") as caught:
            parse_spec(data)
        assert message in str(caught.value)


def test_unknown_saved_identity_and_background_stop_the_job_before_queueing(tmp_path, demo_clip, settings):
    data = tiny_spec(demo_clip, tmp_path / "out")
    data["identities"] = {"saved": ["0123456789ab"]}
    with pytest.raises(JobSpecError, match=r"identities.saved\[0\]"):
        expand_job(parse_spec(data), settings)
    data = tiny_spec(demo_clip, tmp_path / "out", backgrounds=["mars_base"])
    with pytest.raises(JobSpecError, match="Unknown background 'mars_base'"):
        expand_job(parse_spec(data), settings)


def test_missing_source_becomes_a_failing_task_not_a_failed_job(tmp_path, demo_clip, settings):
    data = tiny_spec(demo_clip, tmp_path / "out", extra_sources=[{"path": str(tmp_path / "gone.mp4"), "label": "x"}])
    plan = expand_job(parse_spec(data), settings)
    assert len(plan.extract_tasks) == 2
    missing = plan.extract_tasks[1]
    assert "Source clip not found" in missing.payload["problem"] and missing.payload["source_sha256"] is None


def test_identical_files_under_two_names_are_extracted_and_rendered_once(tmp_path, demo_clip, settings):
    twin = tmp_path / "twin.mp4"
    shutil.copyfile(demo_clip, twin)
    data = tiny_spec(demo_clip, tmp_path / "out", people=2,
                     extra_sources=[{"path": str(twin), "label": "walk", "start": 0.3, "end": 1.3}])
    plan = expand_job(parse_spec(data), settings)
    assert len(plan.extract_tasks) == 1 and len(plan.render_tasks) == 2
    assert len({t.key for t in plan.tasks}) == len(plan.tasks)


def test_output_frames_are_resampled_to_the_output_rate():
    from random_people.avatar.pipeline import resample_frames

    assert resample_frames(10, 30, 30) == list(range(10))
    assert resample_frames(10, 30, 15) == [0, 2, 4, 6, 8]
    assert resample_frames(6, 30, 60) == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5]  # nearest source frame
    assert resample_frames(10, 30, 15, max_frames=2) == [0, 2]
    assert resample_frames(0, 30, 30) == []
