"""Experiment data: loaders, Smarthome protocols, leak-free splits and mixing, frame sampling, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest

from experiments_fixture import CLASSES, make_class_folders, make_exported, make_smarthome
from random_people.datasets.smarthome_protocols import PROTOCOLS
from random_people.experiments.config import DataConfig, SourceConfig, config_from_dict, load_config
from random_people.experiments.errors import ExperimentConfigError, ExperimentDataError
from random_people.experiments.frames import count_frames, read_clip_frames, sample_indices
from random_people.experiments.sources import load_class_folders, load_exported, load_smarthome, load_source
from random_people.experiments.splits import plan_data, stratified_split


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    return root, make_exported(root)


@pytest.fixture(scope="module")
def smarthome(tmp_path_factory):
    return make_smarthome(tmp_path_factory.mktemp("smarthome"))


def test_class_folders_label_by_folder(tmp_path):
    root = make_class_folders(tmp_path / "clips", per_class=2)
    (root / "Walk" / "notes.txt").write_text("x")
    clips = load_class_folders(root)
    assert Counter(c.label for c in clips) == {label: 2 for label in CLASSES}
    assert all(c.path.parent.name == c.label and not c.synthetic for c in clips)


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "Walk").mkdir()
    with pytest.raises(ExperimentDataError, match="no videos"):
        load_class_folders(tmp_path)
    with pytest.raises(ExperimentDataError, match="does not exist"):
        load_source(SourceConfig(kind="folder", path="missing"), tmp_path)


def test_smarthome_protocols_split_by_subject_and_camera(smarthome):
    cs = load_smarthome(smarthome, "CS")
    assert {c.subject for c in cs if c.split == "train"} == {"p03", "p04"}
    assert {c.subject for c in cs if c.split == "test"} == {"p02", "p10"}
    assert len(cs) == 32 and {c.label for c in cs} == {"Walk", "Drink"}  # the foreign file is skipped
    cv1 = load_smarthome(smarthome, "CV1")
    assert {(c.camera, c.split) for c in cv1} == {(1, "train"), (5, "validation"), (2, "test")}
    cv2 = load_smarthome(smarthome, "cv2")
    assert {c.camera for c in cv2 if c.split == "train"} == {1, 7}  # 3, 4, 6 are absent from this folder
    assert len(cv2) == 32 and len(cv1) == 24


def test_protocol_tables_match_the_dataset_paper():
    cs = PROTOCOLS["CS"]
    assert cs.train == {3, 4, 6, 7, 9, 12, 13, 15, 17, 19, 25} and cs.test == {2, 10, 11, 14, 16, 18, 20}
    assert PROTOCOLS["CV2"].train == {1, 3, 4, 6, 7} and PROTOCOLS["CV1"].train == {1}
    assert PROTOCOLS["CV1"].split_of("Walk_p03_r00_v01_c05.mp4") == "validation"
    assert PROTOCOLS["CV1"].split_of("Walk_p03_r00_v01_c04.mp4") is None


def test_exported_dataset_reads_every_metadata_file(exported):
    root, written = exported
    clips = load_exported(str(root))
    assert sum(c.synthetic for c in clips) == len(written["synthetic"])
    assert sum(not c.synthetic for c in clips) == len(written["real"])
    assert {c.kind for c in clips} == {"real", "plain", "background"}
    assert all(c.path.exists() for c in clips)
    assert {c.split for c in clips if not c.synthetic} == {"train", "test"}


def test_bad_metadata_row_names_file_and_line(tmp_path):
    folder = tmp_path / "ds" / "synthetic" / "train"
    folder.mkdir(parents=True)
    (folder / "metadata.jsonl").write_text(json.dumps({"file_name": "a.mp4", "label": "Walk"}) + "\n" +
                                           json.dumps({"file_name": "b.mp4", "label": "Walk", "synthetic": True,
                                                       "background_kind": "sky"}) + "\n")
    with pytest.raises(ExperimentDataError, match=r"metadata.jsonl:2.*background_kind='sky'"):
        load_exported(str(tmp_path / "ds"))


def test_hub_dataset_offline_is_a_clear_error(tmp_path):
    code = ("from random_people.experiments.sources import load_exported\n"
            "from random_people.experiments.errors import ExperimentDataError\n"
            "try:\n    load_exported('someone/smarthome-synthetic')\n"
            "except ExperimentDataError as e:\n    print('ERR', e)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    assert out.startswith("ERR Could not get the Hub dataset someone/smarthome-synthetic")
    assert "huggingface-cli download someone/smarthome-synthetic --repo-type dataset" in out


def test_stratified_split_is_seeded_and_per_class(tmp_path):
    clips = load_class_folders(make_class_folders(tmp_path / "clips", per_class=5))
    a = stratified_split(clips, test_fraction=0.4, validation_fraction=0.2, seed=3)
    b = stratified_split(list(reversed(clips)), test_fraction=0.4, validation_fraction=0.2, seed=3)
    c = stratified_split(clips, test_fraction=0.4, validation_fraction=0.2, seed=4)
    as_map = lambda cs: {str(x.path): x.split for x in cs}  # noqa: E731
    assert as_map(a) == as_map(b)          # order of listing does not matter
    assert as_map(a) != as_map(c)          # the seed does
    for label in CLASSES:
        counts = Counter(x.split for x in a if x.label == label)
        assert counts == {"test": 2, "validation": 1, "train": 2}


def test_synthetic_copies_of_test_clips_never_train(exported):
    root, written = exported
    clips = load_exported(str(root))
    plan = plan_data(clips, DataConfig(sources=[]), seed=0)
    test_ids = {c.source_clip_id for c in plan.test}
    assert test_ids == {r["id"] for r in written["real"] if r["split"] == "test"}
    synthetic = [c for c in plan.train if c.synthetic]
    assert synthetic and not {c.source_clip_id for c in synthetic} & test_ids
    assert plan.summary["synthetic_dropped"]["source_in_test_or_validation"] == 2 * len(test_ids)
    assert all(not c.synthetic for c in plan.test)


def test_synthetic_of_test_only_subjects_is_excluded(exported):
    root, _ = exported
    clips = load_exported(str(root))
    extra = [replace(clips[0], path=root / f"x{i}.mp4", synthetic=True, background_kind="plain", label="Walk",
                     source_clip_id="f" * 63 + str(i), subject=subject, split="train")
             for i, subject in enumerate(["p00", "p03"])]  # p00 is filmed only in test clips, p03 trains
    plan = plan_data(clips + extra, DataConfig(sources=[]), seed=0)
    assert {c.subject for c in plan.test} == {"p00", "p01"}
    names = {c.path.name for c in plan.train}
    assert "x1.mp4" in names and "x0.mp4" not in names
    assert plan.summary["synthetic_dropped"]["test_subject"] == 1
    allowed = plan_data(clips + extra, DataConfig(sources=[], exclude_test_subjects=False), seed=0)
    assert "x0.mp4" in {c.path.name for c in allowed.train}


def test_caps_ratio_kinds_and_fewshot(exported):
    root, _ = exported
    clips = load_exported(str(root))
    capped = plan_data(clips, DataConfig(sources=[], synthetic_per_class=3), seed=0)
    assert Counter(c.label for c in capped.train if c.synthetic) == {label: 3 for label in CLASSES}
    ratio = plan_data(clips, DataConfig(sources=[], synthetic_ratio=0.5, real_per_class=2), seed=0)
    assert Counter(c.label for c in ratio.train if c.synthetic) == {label: 1 for label in CLASSES}
    assert Counter(c.label for c in ratio.train if not c.synthetic) == {label: 2 for label in CLASSES}
    plain_only = plan_data(clips, DataConfig(sources=[], use=["plain"]), seed=0)
    assert {c.kind for c in plain_only.train} == {"plain"} and plain_only.summary["train_real"] == 0
    small = plan_data(clips, DataConfig(sources=[], synthetic_per_class=2, real_per_class=1), seed=0)
    large = plan_data(clips, DataConfig(sources=[], synthetic_per_class=4, real_per_class=1), seed=0)
    assert {c.path for c in small.train if c.synthetic} < {c.path for c in large.train if c.synthetic}  # nested
    own = plan_data(clips, DataConfig(sources=[], real_per_class=1, synthetic_from="train"), seed=0)
    assert {c.source_clip_id for c in own.train if c.synthetic} == {c.source_clip_id for c in own.train if not c.synthetic}


def test_classes_and_label_map(exported):
    root, _ = exported
    clips = load_exported(str(root))
    plan = plan_data(clips, DataConfig(sources=[], classes=["Sit", "Moving"], label_map={"Walk": "Moving"}), seed=0)
    assert plan.labels == ["Sit", "Moving"]
    assert {c.label for c in plan.train + plan.test} == {"Sit", "Moving"}
    with pytest.raises(ExperimentDataError, match="Jump"):
        plan_data(clips, DataConfig(sources=[], classes=["Jump"]), seed=0)


def test_frame_sampling_spreads_over_the_clip():
    assert sample_indices(32, 4).tolist() == [4, 12, 20, 28]
    assert sample_indices(3, 6).tolist() == [0, 0, 1, 1, 2, 2]
    rng = np.random.default_rng(0)
    jittered = sample_indices(160, 16, rng)
    assert np.all(jittered // 10 == np.arange(16))          # one frame from each segment
    assert not np.array_equal(jittered, sample_indices(160, 16))


def test_read_frames_picks_the_right_frames(tmp_path):
    frames = [np.full((24, 40, 3), 20 * i, dtype=np.uint8) for i in range(10)]
    from random_people.media import write_video

    path = write_video(frames, tmp_path / "ramp.mp4", fps=10)
    assert count_frames(path) == 10
    got = read_clip_frames(path, np.array([1, 5, 9, 9]), short_side=12)
    assert got.shape == (4, 12, 20, 3)
    assert np.allclose(got.reshape(4, -1).mean(axis=1), [20, 100, 180, 180], atol=4)


def test_config_errors_name_the_field(tmp_path):
    good = {"model": {"arch": "videomae"}, "data": {"sources": [{"kind": "folder", "path": "x"}]}}
    assert config_from_dict(good).train.epochs == 10
    cases = [
        ({"train": {"batch_size": 0}}, "train.batch_size"),
        ({"model": {"arch": "resnet"}}, "model.arch"),
        ({"train": {"learning_rate": "fast"}}, "train.learning_rate"),
        ({"data": {"sources": [{"kind": "folder", "path": "x"}], "use": ["real", "cartoon"]}}, "data.use"),
        ({"data": {"sources": [{"kind": "folder", "path": "x", "protocol": "CS"}]}}, r"data.sources\[0\].protocol"),
        ({"train": {"epoch": 3}}, "Unknown field train.epoch"),
        ({"model": {"arch": "vivit", "pretrained": "a/b", "scratch": {"hidden_size": 8}}}, "not both"),
    ]
    for change, message in cases:
        with pytest.raises(ExperimentConfigError, match=message):
            config_from_dict({**good, **change})
    (tmp_path / "c.yaml").write_text("model: {arch: vivit}\ndata: {sources: [{kind: folder, path: clips}]}\n"
                                     "train: {learning_rate: 5e-5}\n")
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.train.learning_rate == 5e-5  # YAML reads 5e-5 as a string; accepted as a number
    assert cfg.output_path == tmp_path / "runs" / "experiment"  # relative to the YAML file
    with pytest.raises(ExperimentConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def _synthetic_from(smarthome_dir, names, root):
    """An exported synthetic set made from the named Smarthome clips (ids are their SHA-256)."""
    from random_people.files import sha256_file
    from random_people.datasets.smarthome import parse_smarthome_name
    from experiments_fixture import make_clip

    rows = []
    for i, name in enumerate(names):
        parsed = parse_smarthome_name(name)
        make_clip(root / "synthetic" / "train" / f"s{i}.mp4", parsed.action, 300 + i, background="plain")
        rows.append({"file_name": f"s{i}.mp4", "label": parsed.action, "synthetic": True, "background_kind": "plain",
                     "source_clip_id": sha256_file(smarthome_dir / name), "split": "train",
                     "source_subject": parsed.subject_id})
    (root / "synthetic" / "train" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_smarthome_with_synthetic_is_leak_free_under_cs_and_cv(smarthome, tmp_path, monkeypatch):
    monkeypatch.setenv("RP_DATA_DIR", str(tmp_path / "data"))
    from random_people.experiments.runner import make_plan

    names = ["Walk_p03_r00_v04_c01.mp4",   # CS train; CV1 train
             "Walk_p02_r00_v00_c01.mp4",   # CS test subject; CV1 train (camera 1)
             "Drink_p04_r00_v04_c02.mp4"]  # CS train; CV1 test (camera 2)
    assert all((smarthome / n).exists() for n in names)
    _synthetic_from(smarthome, names, tmp_path / "syn")
    base = {"model": {"arch": "videomae"}, "data": {"sources": [
        {"kind": "smarthome", "path": str(smarthome), "protocol": "CS"}, {"kind": "exported", "path": str(tmp_path / "syn")}]}}
    cs = make_plan(config_from_dict(base))
    kept = {c.path.name for c in cs.train if c.synthetic}
    assert kept == {"s0.mp4", "s2.mp4"}                   # the p02 copy is a test subject's clip
    assert cs.summary["synthetic_dropped"]["source_in_test_or_validation"] == 1
    assert (tmp_path / "data" / "experiments" / "source_hashes.json").exists()  # hashes are cached
    base["data"]["sources"][0]["protocol"] = "CV1"
    cv1 = make_plan(config_from_dict(base))
    assert {c.path.name for c in cv1.train if c.synthetic} == {"s0.mp4", "s1.mp4"}  # camera-2 source is test
    assert {c.camera for c in cv1.test} == {2} and {c.camera for c in cv1.validation} == {5}


def test_shipped_example_config_is_valid():
    from random_people.experiments import __file__ as package

    cfg = load_config(Path(package).parent / "examples" / "smarthome_cs_videomae.yaml")
    assert cfg.model.pretrained == "MCG-NJU/videomae-base-finetuned-kinetics"
    assert [s.kind for s in cfg.data.sources] == ["smarthome", "exported"]
    assert cfg.fewshot.synthetic_per_class == [0, 50, 100, 150, 200] and cfg.train.learning_rate == 5e-5


def test_unreadable_clip_is_a_data_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    with pytest.raises(ExperimentDataError, match="broken.mp4"):
        count_frames(bad)
