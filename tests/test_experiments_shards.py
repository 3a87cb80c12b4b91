"""The experiments read sharded exports: Parquet shards written by the real exporter, videos cached once."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from experiments_fixture import tiny_model
from hub_fixtures import make_clips
from random_people.experiments import shards as shard_module
from random_people.experiments.config import config_from_dict
from random_people.experiments.errors import ExperimentDataError
from random_people.experiments.runner import run_experiment
from random_people.experiments.sources import Clip, load_exported

RATIOS = (0.5, 0.17, 0.33)
HUB_TOKEN = "hf_test_write_token"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The same clips exported three ways: loose, synthetic sharded + real loose, everything sharded."""
    clips = make_clips(tmp_path_factory.mktemp("clips"), n_sources=12, per_source=2, subjects=6, with_source_files=True)
    from random_people.hub.export import export_dataset, real_clips_from

    root = tmp_path_factory.mktemp("exports")
    folders = {}
    # 24 synthetic and 12 real clips: threshold 12 shards the synthetic config only; 10 clips per
    # shard gives several shards, each of two row groups (the exporter writes 8 rows per group).
    for name, threshold in (("loose", 10_000), ("mixed", 12), ("sharded", 1)):
        result = export_dataset(clips, root / name, real_clips=real_clips_from(clips), ratios=RATIOS,
                                shard_threshold=threshold, clips_per_shard=10, check_space=False)
        folders[name] = result.folder
    return folders, clips


def _described(clips: list[Clip]) -> Counter:
    """What the experiments know about each clip, without where its file is."""
    return Counter((c.label, c.synthetic, c.kind, c.source_clip_id, c.split, c.subject) for c in clips)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_mixed_and_sharded_exports_load_like_the_loose_one(exports, tmp_path):
    folders, clips = exports
    mixed = folders["mixed"]
    assert not list((mixed / "synthetic").rglob("metadata.jsonl")) and list((mixed / "synthetic").rglob("*.parquet"))
    assert list((mixed / "real").rglob("metadata.jsonl")) and not list((mixed / "real").rglob("*.parquet"))
    assert not list(folders["sharded"].rglob("metadata.jsonl"))

    loose = load_exported(str(folders["loose"]))
    loose_hashes = {hashlib.sha256(c.path.read_bytes()).hexdigest() for c in loose}
    for name in ("mixed", "sharded"):
        cache = tmp_path / f"cache-{name}"
        loaded = load_exported(str(folders[name]), video_cache=cache)
        assert _described(loaded) == _described(loose)
        assert sum(c.synthetic for c in loaded) == len(clips)
        assert {c.split for c in loaded} == {"train", "validation", "test"}
        # Every clip is a whole file named by its content, holding the bytes the loose export has.
        assert {hashlib.sha256(c.path.read_bytes()).hexdigest() for c in loaded} == loose_hashes
        assert all(c.path.name == hashlib.sha256(c.path.read_bytes()).hexdigest() + ".mp4"
                   for c in loaded if c.path.parent == cache)
    # A real clip's id is the SHA-256 of its file, so a cached real clip is named by its id.
    sharded_real = [c for c in load_exported(str(folders["sharded"]), video_cache=tmp_path / "cache-sharded")
                    if not c.synthetic]
    assert all(c.path.stem == c.source_clip_id for c in sharded_real)


def test_cache_is_reused_and_repaired(exports, tmp_path, monkeypatch):
    folder = exports[0]["sharded"]
    cache = tmp_path / "cache"
    first = load_exported(str(folder), video_cache=cache)
    before = _snapshot(cache)
    assert len([p for p in cache.glob("*.mp4")]) == len(first)

    def no_writes(path):
        raise AssertionError(f"the second load wrote {path}")

    with monkeypatch.context() as patch:
        patch.setattr(shard_module, "atomic_output", no_writes)
        second = load_exported(str(folder), video_cache=cache)
    assert second == first and _snapshot(cache) == before

    # A cache file deleted by hand is written again, and only that one.
    gone = next(c.path for c in first if c.synthetic)
    gone.unlink()
    third = load_exported(str(folder), video_cache=cache)
    assert third == first and gone.is_file()
    after = _snapshot(cache)
    changed = {p for p in after if after[p] != before.get(p)}
    assert str(gone) in changed and all("/index/" in p or p == str(gone) for p in changed)


def test_unfinished_and_foreign_shards(exports, tmp_path):
    folder = tmp_path / "ds"
    split = folder / "synthetic" / "train"
    split.mkdir(parents=True)
    source = next((exports[0]["sharded"] / "synthetic").rglob("shard-*.parquet"))
    (split / "shard-00000.parquet").write_bytes(source.read_bytes())
    (split / ".shard-00001.part.parquet").write_bytes(b"half a shard")  # an export that was killed
    clips = load_exported(str(folder), video_cache=tmp_path / "cache")
    assert len(clips) == pq.ParquetFile(source).metadata.num_rows

    pq.write_table(pa.table({"label": ["walk"], "frames": [b"x"]}), split / "shard-00001.parquet")
    with pytest.raises(ExperimentDataError, match="shard-00001.parquet has no video column"):
        load_exported(str(folder), video_cache=tmp_path / "cache")
    (split / "shard-00001.parquet").write_bytes(b"not parquet")
    with pytest.raises(ExperimentDataError, match="not a readable Parquet shard"):
        load_exported(str(folder), video_cache=tmp_path / "cache")


def test_trains_on_a_sharded_export(exports, tmp_path, monkeypatch):
    monkeypatch.setenv("RP_DATA_DIR", str(tmp_path / "data"))  # the default cache lives under the data dir
    folder = exports[0]["mixed"]
    raw = {"name": "sharded", "output_dir": str(tmp_path / "run"), "model": {**tiny_model("videomae"), "num_frames": 4},
           "data": {"sources": [{"kind": "exported", "path": str(folder)}]},
           "train": {"epochs": 1, "batch_size": 4, "threads": 1}}
    result = run_experiment(config_from_dict(raw))
    plan = json.loads((tmp_path / "run" / "data_plan.json").read_text())
    cache = tmp_path / "data" / "experiments" / "shard_videos"
    synthetic = [row for row in plan["train"] if row["kind"] != "real"]
    assert synthetic and all(Path(row["path"]).parent == cache for row in synthetic)
    assert all(Path(row["path"]).is_relative_to(folder) for row in plan["test"])  # real clips stay loose
    assert result.metrics.num_samples == len(plan["test"]) > 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["epochs"] == 1


@pytest.fixture()
def hub(monkeypatch, tmp_path):
    """The Hub on 127.0.0.1 (tests/hub_server.py), for uploads and downloads alike."""
    import huggingface_hub.constants
    from hub_server import serve_fake_hub

    server = serve_fake_hub(monkeypatch, tmp_path, HUB_TOKEN)
    fake = next(server)
    # Download URLs come from a template the client builds at import; point it at the server too.
    monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        fake.url + "/{repo_id}/resolve/{revision}/{filename}")
    yield fake
    server.close()


def test_loads_a_pushed_sharded_export_by_repo_id(exports, hub, tmp_path):
    from random_people.hub.push import push_dataset

    push_dataset(exports[0]["mixed"], "tester/sharded", token=HUB_TOKEN, endpoint=hub.url)
    loaded = load_exported("tester/sharded", base_dir=tmp_path, video_cache=tmp_path / "cache")
    assert _described(loaded) == _described(load_exported(str(exports[0]["loose"])))
    assert all(c.path.parent == tmp_path / "cache" for c in loaded if c.synthetic)
