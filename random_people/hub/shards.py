"""Parquet shards for large exports: many clips per file, still loaded natively by ``datasets``.

The Hub limits files per folder and per repository; a clip is three or four files, so past about
10,000 clips a folder of loose files stops being pushable. A shard holds ``clips_per_shard``
clips: the metadata columns plus the video and mask as ``datasets`` ``Video`` values
(``{"bytes", "path"}``) and the labels and motion ``.npz`` files as bytes. The ``datasets``
feature types are stored in the Parquet schema, so ``load_dataset("parquet", ...)`` (or the repo id
on the Hub) gives the same columns as the loose layout. Shards are append-only: a new export
packs only clips not yet in a shard, into new shards, so earlier shards never change (and are
not uploaded again).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from random_people.files import atomic_output
from random_people.hub import layout
from random_people.hub.rows import FIDELITY_COLUMNS, MATRIX_COLUMNS

logger = logging.getLogger(__name__)

ROWS_PER_GROUP = 8  # clips per Parquet row group: bounds memory while writing and reading
PATH_COLUMNS = ("file_name", "mask_path", "labels_path", "motion_path")


def _features(sample_row: dict[str, Any], synthetic: bool):
    """``datasets`` features of a shard: metadata columns as inferred, files as Video / bytes."""
    import datasets

    metadata = {k: v for k, v in sample_row.items() if k not in PATH_COLUMNS}
    # Camera matrices some clips lack (None) are typed as matrices anyway: every shard of a config then has one
    # schema, and a chunk mixing clips with and without them packs (their rows hold nulls there).
    metadata.update({name: [[0.0]] for name in MATRIX_COLUMNS if name in metadata})
    # Fidelity columns typed even when the chunk's first clip was exported before they existed.
    if synthetic:
        metadata.update({name: 0.0 for name in FIDELITY_COLUMNS}, fidelity_figures="")
    inferred = datasets.Features.from_arrow_schema(pa.Table.from_pylist([metadata]).schema)
    columns: dict[str, Any] = {"video": datasets.Video(), **inferred}
    if synthetic:
        columns.update(mask=datasets.Video(), labels_npz=datasets.Value("binary"),
                       motion_npz=datasets.Value("binary"))
    return datasets.Features(columns)


def _read(split_folder: Path, name: str, source: Path | None) -> bytes:
    """A clip file's bytes: the loose copy in the export folder if there is one, else the source."""
    if not name:
        return b""
    loose = split_folder / name
    return (loose if loose.exists() else Path(source or loose)).read_bytes()


def _shard_record(split_folder: Path, entry: dict[str, Any], files: dict[str, Path], synthetic: bool) -> dict[str, Any]:
    row = entry["row"]
    record = {k: v for k, v in row.items() if k not in PATH_COLUMNS}
    record["video"] = {"bytes": _read(split_folder, row["file_name"], files.get(row["file_name"])),
                       "path": row["file_name"]}
    if synthetic:
        mask = row["mask_path"]
        record["mask"] = ({"bytes": _read(split_folder, mask, files.get(mask)), "path": mask}
                          if mask else None)
        record["labels_npz"] = _read(split_folder, row["labels_path"], files.get(row["labels_path"]))
        record["motion_npz"] = _read(split_folder, row["motion_path"], files.get(row["motion_path"]))
    return record


def write_shards(folder: Path, config: str, entries: dict[str, dict[str, Any]], sources: dict[str, dict[str, Path]],
                 shard_index: dict[str, list[str]], clips_per_shard: int,
                 progress: Callable[[float, str], None]) -> int:
    """Pack every entry not yet in a shard into new shards. Returns bytes written.

    ``entries`` and ``shard_index`` (the manifest's) are updated in place: each packed entry gets
    its shard's path, each split its new shard names. ``sources`` gives the files of clips new in
    this export; clips exported earlier are read from their loose copies in the folder, which stay
    until the manifest recording the shards is saved (then :func:`remove_loose`): an export killed
    before that is re-run from them.
    """
    synthetic = config == layout.SYNTHETIC_CONFIG
    pending = [key for key in sorted(entries) if not entries[key]["shard"]]
    written, done = 0, 0
    for split in layout.SPLITS:
        keys = [key for key in pending if entries[key]["row"]["split"] == split]
        split_rel = layout.split_dir(config, split)
        split_folder = folder / split_rel
        names = shard_index.setdefault(split_rel, [])
        for stale in split_folder.glob(layout.SHARD_PATTERN.replace("{index:05d}", "*")):
            if stale.name not in names:  # packed by an export killed before its manifest was saved
                stale.unlink()
        for start in range(0, len(keys), clips_per_shard):
            chunk = keys[start:start + clips_per_shard]
            name = layout.SHARD_PATTERN.format(index=len(names))
            progress(done / max(len(pending), 1), f"Packing {config}/{split} {name} ({len(chunk)} clips)…")
            features = _features(entries[chunk[0]]["row"], synthetic)
            schema = features.arrow_schema
            target = split_folder / name
            with atomic_output(target) as tmp:
                with pq.ParquetWriter(tmp, schema) as writer:
                    for group in range(0, len(chunk), ROWS_PER_GROUP):
                        records = [_shard_record(split_folder, entries[k], sources.get(k, {}), synthetic)
                                   for k in chunk[group:group + ROWS_PER_GROUP]]
                        writer.write_table(pa.Table.from_pylist(records, schema=schema))
            names.append(name)
            written += target.stat().st_size
            for key in chunk:
                entries[key]["shard"] = f"{split_rel}/{name}"
            done += len(chunk)
            logger.info("Wrote %s (%d clips)", target, len(chunk))
    return written


def remove_loose(folder: Path, config: str, entries: dict[str, dict[str, Any]], keys: list[str]) -> None:
    """Delete the loose files of the packed clips ``keys`` (their bytes are in shards the manifest records)."""
    split_folders = set()
    for key in keys:
        row = entries[key]["row"]
        split_folder = folder / layout.split_dir(config, row["split"])
        for column in PATH_COLUMNS:
            if row.get(column):
                (split_folder / row[column]).unlink(missing_ok=True)
        split_folders.add(split_folder)
    for split_folder in sorted(split_folders):
        _remove_empty_dirs(split_folder)


def _remove_empty_dirs(split_folder: Path) -> None:
    for directory in sorted((p for p in split_folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
