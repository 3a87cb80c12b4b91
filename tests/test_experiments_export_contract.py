"""The experiments read what the real exporter (random_people.hub) writes, and train on it leak-free."""

from __future__ import annotations

import json

import pytest

from experiments_fixture import tiny_model
from hub_fixtures import make_clips
from random_people.experiments.config import DataConfig, config_from_dict
from random_people.experiments.runner import run_experiment
from random_people.experiments.sources import load_exported
from random_people.experiments.splits import plan_data
from random_people.hub.export import export_dataset, real_clips_from


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    clips = make_clips(tmp_path_factory.mktemp("clips"), n_sources=12, per_source=2, subjects=6, with_source_files=True)
    folder = tmp_path_factory.mktemp("export") / "ds"
    export_dataset(clips, folder, real_clips=real_clips_from(clips), ratios=(0.5, 0.17, 0.33))
    return folder, clips


def test_loader_reads_the_exporters_folder(exported):
    folder, clips = exported
    loaded = load_exported(str(folder))
    synthetic = [c for c in loaded if c.synthetic]
    assert len(synthetic) == len(clips) and all(c.path.is_file() for c in loaded)
    assert {c.kind for c in synthetic} == {"plain", "background"}
    assert {c.source_clip_id for c in loaded if not c.synthetic} == {c.source_clip_id for c in clips}
    assert {c.split for c in loaded if not c.synthetic} == {"train", "validation", "test"}


def test_export_trains_leak_free(exported, tmp_path):
    folder, _ = exported
    loaded = load_exported(str(folder))
    plan = plan_data(loaded, DataConfig(sources=[]), seed=0)
    held_out = {c.source_clip_id for c in plan.test + plan.validation}
    assert plan.test and not {c.source_clip_id for c in plan.train if c.synthetic} & held_out
    raw = {"name": "export", "output_dir": str(tmp_path / "run"), "model": {**tiny_model("videomae"), "num_frames": 4},
           "data": {"sources": [{"kind": "exported", "path": str(folder)}]},
           "train": {"epochs": 1, "batch_size": 4, "threads": 1}}
    result = run_experiment(config_from_dict(raw))
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["data"]["test"] == len(plan.test) == result.metrics.num_samples
    assert saved["data"]["train_plain"] + saved["data"]["train_background"] == sum(c.synthetic for c in plan.train)
