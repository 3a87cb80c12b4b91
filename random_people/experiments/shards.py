"""Sharded exports: read the Parquet shards the exporter writes past its shard threshold.

A large export (``random_people.hub.shards``) stores each config's clips as
``<config>/<split>/shard-NNNNN.parquet`` with the metadata columns of ``metadata.jsonl`` and the
video embedded as a ``datasets`` ``Video`` value (``{"bytes", "path"}``); there is no
``metadata.jsonl`` then. Training decodes clips from files with PyAV and may seek in them, so
each embedded video is written out once to a content-addressed cache, ``<cache>/<sha256><ext>``,
and the clip points there.

Why content-addressed: the same bytes get the same file whichever shard, export folder, Hub
snapshot or revision they come from, so every run, sweep and config shares one copy, and a file
that exists is known to be complete (it is written atomically under its hash).

Why an index: hashing needs the video bytes, which are nearly all of a shard. Shards never change
once written (the exporter only appends new ones), so after the first read the hash of each row
is remembered per shard (``<cache>/index/``, keyed by the shard's path, size and modification
time). A later load then reads only the small metadata columns, and writes nothing, as long as
every video it names is still in the cache; otherwise the shard is read again in full.

Memory stays bounded: shards are read one Parquet row group at a time (the exporter writes groups
of 8 clips) and only the columns needed here, never the masks, label or motion files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from random_people.experiments.errors import ExperimentDataError
from random_people.files import atomic_output

logger = logging.getLogger(__name__)

VIDEO_COLUMN = "video"
# The metadata a Clip needs (the columns the experiments rely on; see random_people.hub.rows).
METADATA_COLUMNS = ("label", "synthetic", "background_kind", "source_clip_id", "split", "source_subject")
REQUIRED_COLUMNS = (VIDEO_COLUMN, "label")
INDEX_DIR = "index"
INDEX_VERSION = 1


@dataclass
class CacheStats:
    """What materialising shards cost: for the log line and for tests."""

    shards: int = 0
    rows: int = 0
    written: int = 0          # videos newly written to the cache
    bytes_written: int = 0
    shards_read_in_full: int = 0   # shards whose video column had to be read (no valid index)
    seconds: float = 0.0


@dataclass(frozen=True)
class ShardRow:
    """One clip of a shard: its metadata row and the cached video file it was written to."""

    row: dict[str, Any]
    video: Path
    where: str   # "<shard>: row N", for error messages


def find_shards(root: Path) -> list[Path]:
    """Every Parquet file below ``root``, sorted; hidden ones skipped.

    Hidden files are the exporter's unfinished atomic writes (``.shard-00003.part.parquet``) and
    ``huggingface-cli download --local-dir`` bookkeeping; neither is part of the dataset.
    """
    return sorted(p for p in root.rglob("*.parquet")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def read_shards(shards: list[Path], cache_dir: Path) -> tuple[list[ShardRow], CacheStats]:
    """The rows of ``shards``, each with its video materialised in ``cache_dir`` (once, ever)."""
    stats = CacheStats()
    started = time.perf_counter()
    rows: list[ShardRow] = []
    for shard in shards:
        rows += _read_shard(shard, cache_dir, stats)
    stats.shards, stats.rows, stats.seconds = len(shards), len(rows), time.perf_counter() - started
    logger.info(
        "Read %d clips from %d Parquet shards in %.1f s: %d videos written to %s (%.1f MB), %d already cached; "
        "%d shards read in full (no index yet or cache files missing)",
        stats.rows, stats.shards, stats.seconds, stats.written, cache_dir, stats.bytes_written / 1e6,
        stats.rows - stats.written, stats.shards_read_in_full,
    )
    return rows, stats


def _read_shard(shard: Path, cache_dir: Path, stats: CacheStats) -> list[ShardRow]:
    try:
        parquet = pq.ParquetFile(shard)
    except (pa.ArrowException, OSError) as exc:
        raise ExperimentDataError(f"{shard} is not a readable Parquet shard ({exc}); re-download or re-export it.") from None
    names = parquet.schema_arrow.names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise ExperimentDataError(
            f"{shard} has no {' or '.join(missing)} column; an exported shard holds the clip as a `video` "
            "column ({bytes, path}) beside the metadata.jsonl columns (label, synthetic, split, ...).")
    columns = [c for c in METADATA_COLUMNS if c in names]
    index_file = cache_dir / INDEX_DIR / f"{_shard_key(shard)}.json"
    cached = _cached_videos(index_file, parquet.metadata.num_rows, cache_dir)
    if cached is not None:
        return [ShardRow(row, cache_dir / name, f"{shard}: row {i}")
                for i, (row, name) in enumerate(zip(_metadata_rows(parquet, columns), cached))]

    stats.shards_read_in_full += 1
    rows: list[ShardRow] = []
    # One row group at a time: iter_batches buffered about the whole shard (30 MB of Arrow memory for a
    # 25 MB shard), read_row_group at most one group's worth.
    for group in range(parquet.metadata.num_row_groups):
        try:
            table = parquet.read_row_group(group, columns=[*columns, VIDEO_COLUMN], use_threads=False)
        except (pa.ArrowException, OSError) as exc:
            raise ExperimentDataError(f"{shard}: row group {group} is unreadable ({exc}); re-download or re-export it.") from None
        videos = table.column(VIDEO_COLUMN).combine_chunks()
        data, paths = videos.field("bytes"), videos.field("path")
        for offset, row in enumerate(table.select(columns).to_pylist()):
            where = f"{shard}: row {len(rows)}"
            if not videos[offset].is_valid or not data[offset].is_valid:
                raise ExperimentDataError(f"{where} has no embedded video bytes; re-export the dataset.")
            suffix = Path(paths[offset].as_py() or "clip.mp4").suffix.lower() or ".mp4"
            rows.append(ShardRow(row, _materialise(data[offset].as_buffer(), suffix, cache_dir, stats), where))
        del table, videos, data, paths
    _save_index(index_file, shard, [r.video.name for r in rows])
    return rows


def _metadata_rows(parquet: pq.ParquetFile, columns: list[str]) -> Iterator[dict[str, Any]]:
    for batch in parquet.iter_batches(batch_size=1024, columns=columns):  # small columns only: cheap
        yield from batch.to_pylist()


def _materialise(data: pa.Buffer, suffix: str, cache_dir: Path, stats: CacheStats) -> Path:
    """Write ``data`` to ``<cache_dir>/<sha256><suffix>`` unless a complete copy is already there."""
    target = cache_dir / f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if target.is_file() and target.stat().st_size == data.size:
        return target
    # Two runs writing the same clip at once both end with a whole file under its name.
    with atomic_output(target) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    stats.written += 1
    stats.bytes_written += data.size
    return target


def _shard_key(shard: Path) -> str:
    """Identity of one version of a shard: resolved path (a Hub snapshot's blob), size, mtime."""
    stat = shard.stat()
    return hashlib.sha256(f"{shard.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:32]


def _cached_videos(index_file: Path, num_rows: int, cache_dir: Path) -> list[str] | None:
    """The cached video of each row per the shard's index, or None if any is missing (read in full)."""
    try:
        index = json.loads(index_file.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    videos = index.get("videos") if isinstance(index, dict) and index.get("version") == INDEX_VERSION else None
    if not isinstance(videos, list) or len(videos) != num_rows:
        return None
    if not all(isinstance(name, str) and Path(name).name == name and (cache_dir / name).is_file() for name in videos):
        logger.info("Some cached videos of %s were deleted; reading the shard again", index.get("shard"))
        return None
    return videos


def _save_index(index_file: Path, shard: Path, videos: list[str]) -> None:
    with atomic_output(index_file) as tmp:
        tmp.write_text(json.dumps({"version": INDEX_VERSION, "shard": str(shard.resolve()), "videos": videos}))
