"""The clip's own scene as a background choice in job specs, expansion and exported metadata."""

from __future__ import annotations

import dataclasses
import json

import pytest

from jobs_helpers import tiny_spec
from random_people.jobs.errors import JobSpecError
from random_people.jobs.expand import RENDER, expand_job
from random_people.jobs.spec import parse_spec


def test_source_background_needs_the_source_camera(tmp_path, demo_clip):
    data = tiny_spec(demo_clip, tmp_path / "out", backgrounds=["source"], sampled_cameras=1)
    data["cameras"]["source"] = False
    with pytest.raises(JobSpecError, match="'source' \\(the clip's own scene\\) is only seen from the source camera"):
        parse_spec(data)


def test_source_background_pairs_only_with_the_source_camera(tmp_path, demo_clip, settings):
    data = tiny_spec(demo_clip, tmp_path / "out", backgrounds=["Source", "park"], sampled_cameras=2)
    plan = expand_job(parse_spec(data), settings)
    renders = [t for t in plan.tasks if t.kind == RENDER]
    own = [t for t in renders if t.payload["background"] == "source"]
    assert len(renders) == 3 + 1  # park x (source + 2 sampled) + source x source camera
    assert len(own) == 1 and own[0].payload["camera"] == {"mode": "source"}
    assert own[0].payload["source_clip"] == str(demo_clip)  # the task knows where the scene is


def test_export_records_the_source_background_kind(tmp_path):
    from hub_fixtures import make_clips
    from random_people.experiments.sources import load_source
    from random_people.experiments.config import SourceConfig
    from random_people.hub.export import export_dataset
    from random_people.jobs.queue import _background_kind

    assert _background_kind("source") == "source" and _background_kind("park") == "image"
    clips = make_clips(tmp_path / "clips", n_sources=3, per_source=1)
    clips = [dataclasses.replace(clips[0], background="source", background_kind="source"), *clips[1:]]
    export_dataset(clips, tmp_path / "dataset")
    rows = [json.loads(line) for path in (tmp_path / "dataset" / "synthetic").rglob("metadata.jsonl")
            for line in path.read_text().splitlines()]
    own = [row for row in rows if row["clip_id"] == clips[0].clip_id]
    assert own and own[0]["background_kind"] == "source" and own[0]["background"] == "source"
    loaded = load_source(SourceConfig(kind="exported", path=str(tmp_path / "dataset")))
    assert {clip.background_kind for clip in loaded} >= {"source"}  # the experiments loader accepts it


@pytest.mark.slow
def test_bulk_job_renders_into_the_clips_own_scene_and_exports_its_kind(tmp_path, demo_clip):
    from jobs_helpers import cli, job_env, write_spec
    from random_people.jobs.db import open_database
    from random_people.jobs.export_source import clips_for_export
    from random_people.render.labels import load_labels

    data_dir, out = tmp_path / "data", tmp_path / "out"
    spec = write_spec(tmp_path / "job.yaml", tiny_spec(demo_clip, out, backgrounds=["source"], auto_accept=True))
    result = cli(["bulk", str(spec), "--workers", "1", "-q"], job_env(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    db = open_database(f"sqlite:///{data_dir / 'random_people.sqlite'}")
    clips = clips_for_export(db.url)
    assert len(clips) == 1 and clips[0].background == "source" and clips[0].background_kind == "source"
    labels = load_labels(clips[0].labels_path)
    assert labels.meta["background"] == "source" and labels.meta["background_kind"] == "source"
    assert (data_dir / "plates" / labels.meta["plate"]["plate"] / "plate.png").is_file()  # cached per clip
    assert str(tmp_path) not in json.dumps(labels.meta)  # no local paths in what gets published
