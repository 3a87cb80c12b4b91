"""Dataset export: the folder `datasets` loads (labels, metadata, splits), leak-free splits, the card,
incremental and reproducible exports, bad input, a full disk, and Parquet shards past a threshold."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from disk_fixtures import small_tmpfs
from hub_fixtures import make_clips
from random_people.hub.card import CardInfo
from random_people.hub.errors import DiskFullError, ExportError
from random_people.hub.export import export_dataset, real_clips_from
from random_people.hub.splits import SplitMember, assign_splits

EXPERIMENT_FIELDS = {"file_name", "label", "synthetic", "background_kind", "source_clip_id", "split"}


def _load(*args, cache: Path, **kwargs):
    from datasets import load_dataset

    return load_dataset(*args, cache_dir=str(cache), **kwargs)


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob("metadata.jsonl")) for line in path.read_text().splitlines()]


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("clips"), n_sources=10, per_source=2, subjects=6, with_source_files=True)


@pytest.fixture(scope="module")
def exported(clips, tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "ds"
    info = CardInfo(pretty_name="Test actions", license="cc-by-nc-4.0", source_dataset="Toyota Smarthome",
                    source_license="non-commercial research only")
    result = export_dataset(clips, folder, real_clips=real_clips_from(clips), info=info)
    return folder, result


def test_datasets_loads_the_export_with_labels_and_metadata(clips, exported, tmp_path):
    from datasets import Video

    folder, result = exported
    by_id = {c.clip_id: c for c in clips}
    loaded = _load("videofolder", data_dir=str(folder / "synthetic"), cache=tmp_path / "c1")
    assert sum(len(split) for split in loaded.values()) == len(clips) == result.synthetic_clips
    assert set(loaded) == {s for s, n in result.split_counts.items() if n}
    for split_name, split in loaded.items():
        split = split.cast_column("video", Video(decode=False))
        for row in split:
            clip = by_id[row["clip_id"]]
            assert row["label"] == clip.action_label and row["split"] == split_name and row["synthetic"] is True
            # The video column points at a copy of exactly the clip's bytes.
            assert Path(row["video"]["path"]).read_bytes() == clip.video_path.read_bytes()
            assert row["source_clip_id"] == clip.source_clip_id and row["source_subject"] == clip.source_subject
            assert row["identity_id"] == clip.identity_id
            assert row["sex"] == clip.identity["body"]["sex"]
            assert row["skin_tone"] == clip.identity["appearance"]["skin_tone"]
            assert row["ancestry_asian"] == pytest.approx(clip.identity["body"]["asian"])
            assert row["height_z"] == pytest.approx(clip.identity["body"]["height"])
            assert row["top"] == clip.identity["appearance"]["top"]["type"]
            assert json.loads(row["identity"])["body"] == clip.identity["body"]
            assert row["background"] == clip.background and row["background_kind"] == clip.background_kind
            assert row["camera_K"] == clip.camera["K"] and row["camera_mode"] == clip.camera["mode"]
            assert row["seed"] == clip.seed and row["generator_version"] == clip.generator_version
            assert (row["fps"], row["num_frames"], row["width"], row["height"]) == (10.0, 4, 32, 32)
            base = Path(row["video"]["path"]).parents[1]
            assert (base / row["mask_path"]).read_bytes() == clip.mask_path.read_bytes()
            assert (base / row["labels_path"]).read_bytes() == clip.labels_path.read_bytes()
            assert (base / row["motion_path"]).read_bytes() == clip.motion_path.read_bytes()

    # The card's configs: the folder loads by path like a Hub repo id, synthetic by default, real on request.
    default = _load(str(folder), cache=tmp_path / "c2")
    assert sorted(default["train"]["clip_id"]) == sorted(loaded["train"]["clip_id"])
    real = _load(str(folder), "real", cache=tmp_path / "c3")
    real_rows = [row for split in real.values() for row in split.cast_column("video", Video(decode=False))]
    assert len(real_rows) == 10 and not any(row["synthetic"] for row in real_rows)
    sources = {c.source_clip_id: c for c in clips}
    for row in real_rows:
        assert Path(row["video"]["path"]).read_bytes() == sources[row["source_clip_id"]].source_path.read_bytes()
        assert row["label"] == sources[row["source_clip_id"]].action_label


def test_rows_carry_the_fields_the_experiments_loader_reads(exported):
    folder, _ = exported
    for path in folder.rglob("metadata.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            assert EXPERIMENT_FIELDS <= set(row)
            assert (path.parent / row["file_name"]).is_file()
            assert row["split"] == path.parent.name
            assert (row["background_kind"] is None) == (not row["synthetic"])
    # Nothing pushed names a local path (the manifest and rows are published with the data).
    for path in [*folder.rglob("*.jsonl"), folder / "random_people_export.json", folder / "README.md"]:
        assert "/tmp/" not in path.read_text() and str(Path.home()) not in path.read_text()


def test_splits_never_share_a_source_clip_or_subject(exported):
    folder, result = exported
    rows = _rows(folder)
    for key in ("source_clip_id", "source_subject"):
        splits_of: dict[str, set[str]] = {}
        for row in rows:
            splits_of.setdefault(row[key], set()).add(row["split"])
        assert all(len(s) == 1 for s in splits_of.values()), key
    # Real clips sit in the same split as the synthetic clips made from them.
    synthetic = {r["source_clip_id"]: r["split"] for r in rows if r["synthetic"]}
    assert all(synthetic[r["source_clip_id"]] == r["split"] for r in rows if not r["synthetic"])
    assert sum(1 for n in result.split_counts.values() if n) >= 2


def test_split_assignment_refuses_to_join_groups_already_in_two_splits():
    first = assign_splits([SplitMember(f"s{i}", f"p{i}") for i in range(12)])
    a, b = next((x, y) for x in range(12) for y in range(12) if first[f"source:s{x}"] != first[f"source:s{y}"])
    with pytest.raises(ExportError, match="different splits"):
        assign_splits([SplitMember(f"s{a}", f"p{b}")], previous=first)
    again = assign_splits([SplitMember("s0", "p0"), SplitMember("new", "p3")], previous=first)
    assert again["source:new"] == first["source:s3"]  # a new clip of a known subject joins that subject's split


def test_card_has_the_hub_header_histograms_source_and_limitations(exported):
    folder, _ = exported
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    assert header["license"] == "cc-by-nc-4.0" and header["task_categories"] == ["video-classification"]
    assert "synthetic" in header["tags"]
    configs = {c["config_name"]: c for c in header["configs"]}
    assert configs["synthetic"]["default"] is True and "real" in configs
    body = text.split("---\n", 2)[2]
    for needle in ("Toyota Smarthome", "non-commercial research only", "skin_tone_group (n=20)", "age_group",
                   "pasted behind the person", "people are synthetic", "random-people 0.1.0", "arXiv:2506.09411"):
        assert needle in body, needle


def test_export_is_incremental_and_reproducible(clips, tmp_path):
    first, second = clips[:12], clips[12:]
    folder = tmp_path / "ds"
    export_dataset(first, folder)
    before = _digest(folder)
    again = export_dataset(list(reversed(first)), folder)
    assert again.added_synthetic == 0 and _digest(folder) == before  # a second export changes nothing

    grown = export_dataset(clips, folder)
    assert grown.added_synthetic == len(second) and grown.synthetic_clips == len(clips)
    after = _digest(folder)
    old_files = {k: v for k, v in before.items() if k.endswith((".mp4", ".npz"))}
    assert all(after[k] == v for k, v in old_files.items())  # earlier files untouched, same place (same split)

    # Same clips in another order into a fresh folder: byte-identical metadata, card and manifest.
    other = tmp_path / "other"
    export_dataset(list(reversed(clips)), other)
    one_shot = tmp_path / "one_shot"
    export_dataset(clips, one_shot)
    assert _digest(other) == _digest(one_shot)


def test_clips_without_camera_matrices_drop_those_columns_in_every_split(clips, tmp_path):
    import dataclasses

    without = [dataclasses.replace(c, camera={"mode": c.camera["mode"], "azimuth": 5.0}) if i % 2 else c
               for i, c in enumerate(clips)]
    folder = tmp_path / "ds"
    export_dataset(without, folder)
    rows = _rows(folder)
    assert rows and not any("camera_K" in row for row in rows)
    assert all(json.loads(row["camera"])["mode"] in ("source", "sampled") for row in rows)
    loaded = _load("videofolder", data_dir=str(folder / "synthetic"), cache=tmp_path / "cache")
    assert sum(len(s) for s in loaded.values()) == len(clips)


def test_bad_input_is_refused_with_a_clear_message(clips, tmp_path):
    import dataclasses

    missing = dataclasses.replace(clips[0], video_path=tmp_path / "gone.mp4")
    with pytest.raises(ExportError, match="gone.mp4 does not exist"):
        export_dataset([missing], tmp_path / "a")
    bad_identity = dataclasses.replace(clips[0], identity={**clips[0].identity, "seed": -1})
    with pytest.raises(ExportError, match="identity spec is invalid"):
        export_dataset([bad_identity], tmp_path / "b")
    bad_camera = dataclasses.replace(clips[0], camera={"mode": "source", "K": [[1, 0], [0, 1]]})
    with pytest.raises(ExportError, match="camera K must be a finite 3x3 matrix"):
        export_dataset([bad_camera], tmp_path / "c")
    bad_kind = dataclasses.replace(clips[0], background_kind="hologram")
    with pytest.raises(ExportError, match="background_kind 'hologram'"):
        export_dataset([bad_kind], tmp_path / "c")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written on refusal

    webm = dataclasses.replace(clips[0], video_path=clips[0].video_path.with_suffix(".webm"))
    webm.video_path.write_bytes(clips[0].video_path.read_bytes())
    with pytest.raises(ExportError, match="convert the clip to mp4"):
        export_dataset([webm], tmp_path / "c")

    export_dataset(clips[:2], tmp_path / "d")
    with pytest.raises(ExportError, match="same options"):
        export_dataset(clips[2:4], tmp_path / "d", ratios=(0.5, 0.25, 0.25))
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "thesis.pdf").write_bytes(b"x")
    with pytest.raises(ExportError, match="not a RANDOM People export"):
        export_dataset(clips[:2], tmp_path / "e")


def test_a_second_export_into_the_same_folder_waits_its_turn(clips, tmp_path):
    import fcntl

    folder = tmp_path / "ds"
    with open(tmp_path / ".ds.export-lock", "w") as held:  # another export holds the folder
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ExportError, match="another export into"):
            export_dataset(clips[:2], folder)
    assert not folder.exists()
    assert export_dataset(clips[:2], folder).synthetic_clips == 2
    assert not (tmp_path / ".ds.export-lock").exists()


@pytest.fixture()
def small_disk(tmp_path):
    """A real 1 MB tmpfs."""
    yield from small_tmpfs(tmp_path, "1m")


def test_full_disk_is_refused_up_front_and_reported_mid_write(tmp_path, small_disk):
    big = make_clips(tmp_path / "big", n_sources=30, per_source=3)  # ~1.3 MB of files for a 1 MB disk
    with pytest.raises(DiskFullError, match="free") as refused:
        export_dataset(big, small_disk / "ds")
    assert refused.value.exit_code == 21
    assert not (small_disk / "ds").exists()  # refused before writing anything

    with pytest.raises(DiskFullError, match="filled up during the export"):
        export_dataset(big, small_disk / "ds", check_space=False)  # the kernel's ENOSPC, mid-copy
    leftovers = [p for p in (small_disk / "ds").rglob("*") if p.is_file()]
    assert not any(".part" in p.name for p in leftovers)  # no partial file under any name
    assert not any(p.name in ("metadata.jsonl", "README.md", "random_people_export.json") for p in leftovers)


def test_past_the_threshold_the_export_switches_to_parquet_shards_that_datasets_loads(tmp_path):
    from datasets import Video

    clips = make_clips(tmp_path / "clips", n_sources=10, per_source=2)
    folder = tmp_path / "ds"
    small = export_dataset(clips[:4], folder, shard_threshold=6, clips_per_shard=4)
    assert not small.sharded["synthetic"]
    grown = export_dataset(clips[:14], folder, shard_threshold=6, clips_per_shard=4)
    assert grown.sharded["synthetic"]
    assert all(f.endswith(".parquet") for f in grown.files if f.startswith("synthetic/"))  # loose files packed
    shards_before = {f: (folder / f).read_bytes() for f in grown.files if f.endswith(".parquet")}
    full = export_dataset(clips, folder, shard_threshold=6, clips_per_shard=4)
    assert all((folder / f).read_bytes() == data for f, data in shards_before.items())  # append-only
    assert len(full.files) > len(grown.files)

    loaded = _load(str(folder), cache=tmp_path / "cache")
    by_id = {c.clip_id: c for c in clips}
    seen = []
    for split_name, split in loaded.items():
        split = split.cast_column("video", Video(decode=False)).cast_column("mask", Video(decode=False))
        for row in split:
            clip = by_id[row["clip_id"]]
            seen.append(row["clip_id"])
            assert row["label"] == clip.action_label and row["split"] == split_name
            assert row["video"]["bytes"] == clip.video_path.read_bytes()
            assert row["mask"]["bytes"] == clip.mask_path.read_bytes()
            assert row["labels_npz"] == clip.labels_path.read_bytes()
            assert row["motion_npz"] == clip.motion_path.read_bytes()
    assert sorted(seen) == sorted(by_id)


def test_shards_hold_clips_with_and_without_camera_matrices(clips, tmp_path):
    """Shards are append-only, so a sharded config keeps the camera columns: a clip without matrices has nulls."""
    import dataclasses

    mixed = [dataclasses.replace(c, camera={"mode": c.camera["mode"]}) if i % 2 == 0 else c
             for i, c in enumerate(clips[:8])]
    folder = tmp_path / "ds"
    export_dataset(mixed, folder, shard_threshold=2, clips_per_shard=4)
    loaded = _load(str(folder), cache=tmp_path / "cache")
    rows = {row["clip_id"]: row for split in loaded.values()
            for row in split.select_columns(["clip_id", "camera_K", "camera_world_to_camera"])}
    assert sorted(rows) == sorted(c.clip_id for c in mixed)
    for clip in mixed:
        assert rows[clip.clip_id]["camera_K"] == clip.camera.get("K")
        assert rows[clip.clip_id]["camera_world_to_camera"] == clip.camera.get("world_to_camera")


def test_an_export_killed_while_packing_shards_resumes(clips, tmp_path, monkeypatch):
    """Loose files go only once the manifest records their shards, so a kill before that loses nothing."""
    import random_people.hub.export as export

    folder = tmp_path / "ds"
    export_dataset(clips[:4], folder, shard_threshold=6, clips_per_shard=4)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "save_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        export_dataset(clips[:10], folder, shard_threshold=6, clips_per_shard=4)
    monkeypatch.undo()
    result = export_dataset(clips[:10], folder, shard_threshold=6, clips_per_shard=4)
    assert result.synthetic_clips == 10 and result.sharded["synthetic"]
    assert all(f.endswith(".parquet") for f in result.files if f.startswith("synthetic/"))
    loaded = _load(str(folder), cache=tmp_path / "cache")
    assert sorted(i for split in loaded.values() for i in split["clip_id"]) == sorted(c.clip_id for c in clips[:10])


def test_a_first_export_stopped_part_way_resumes(clips, tmp_path, monkeypatch):
    """The folder a first export left without a manifest is still known as an export: re-running finishes it."""
    import random_people.hub.export as export

    folder = tmp_path / "ds"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "write_card", killed)  # clips copied, no card or manifest yet
    with pytest.raises(KeyboardInterrupt):
        export_dataset(clips[:6], folder)
    monkeypatch.undo()
    assert any(folder.rglob("*.mp4")) and not (folder / "random_people_export.json").exists()
    result = export_dataset(clips[:6], folder)
    assert result.synthetic_clips == 6 and result.added_synthetic == 6
    assert not [p for p in folder.rglob(".*")]  # the start marker goes once the manifest is written


def test_clips_of_one_source_with_different_trims_each_get_their_own_motion(clips, tmp_path):
    import dataclasses

    import numpy as np

    # Two trims of one source video: one source_clip_id, two different motions.
    first, second = clips[0], clips[1]
    assert first.source_clip_id == second.source_clip_id
    other_motion = tmp_path / "second_trim.npz"
    np.savez(other_motion, version=np.array(1), data=np.arange(12.0))
    second = dataclasses.replace(second, motion_path=other_motion)
    folder = tmp_path / "ds"
    export_dataset([first, second], folder)
    rows = {row["clip_id"]: row for row in _rows(folder)}
    motions = {}
    for clip in (first, second):
        row = rows[clip.clip_id]
        exported = folder / "synthetic" / row["split"] / row["motion_path"]
        assert exported.read_bytes() == clip.motion_path.read_bytes(), clip.clip_id
        motions[clip.clip_id] = row["motion_path"]
    assert len(set(motions.values())) == 2

    # Clips that share one motion (same trim) still share one motion file.
    shared = export_dataset(clips[2:4], tmp_path / "shared")
    names = {row["motion_path"] for row in _rows(shared.folder)}
    assert len(names) == 1 and clips[2].motion_path == clips[3].motion_path
