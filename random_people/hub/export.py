"""Export accepted clips as a dataset ``datasets`` loads natively (see :mod:`random_people.hub.layout`).

:func:`export_dataset` is incremental (clips already in the folder are skipped and keep their
split), reproducible (same clips, same options -> byte-identical metadata and card; nothing
depends on time or input order) and safe (every file appears whole or not at all; a full disk is
refused up front, or reported clearly if it fills mid-way, and re-running resumes).

Which clips to export (accepted by the curator, or all for auto-accept jobs) is the job log's
decision (``random_people.jobs.export_source.clips_for_export``); this module exports whatever
:class:`~random_people.hub.records.ExportClip` records it is given.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from random_people.errors import DiskFullError as BaseDiskFullError
from random_people.files import atomic_output, is_disk_full, sha256_file
from random_people.hub import layout
from random_people.hub.card import CardInfo, write_card
from random_people.hub.errors import DiskFullError, ExportError
from random_people.hub.manifest import Manifest, load_manifest, save_manifest
from random_people.hub.records import ExportClip, RealClip
from random_people.hub.rows import OPTIONAL_COLUMNS, real_row, synthetic_row
from random_people.hub.shards import PATH_COLUMNS, remove_loose, write_shards
from random_people.hub.splits import DEFAULT_RATIOS, SplitMember, assign_splits, check_ratios, split_of

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Sources = dict[str, dict[str, Path]]  # entry key -> {dataset file name (relative to its split) -> file to copy}
SPACE_MARGIN_BYTES = 8 << 20  # metadata, card, manifest and filesystem overhead


@dataclass(frozen=True)
class ExportResult:
    """What an export did: where, how many clips are in the folder now, how many this run added."""

    folder: Path
    synthetic_clips: int
    real_clips: int
    added_synthetic: int
    added_real: int
    split_counts: dict[str, int]
    sharded: dict[str, bool]
    bytes_written: int
    files: list[str] = field(default_factory=list)  # every dataset file, relative, sorted


def _noop(fraction: float, message: str) -> None:
    pass


def real_clips_from(clips: Iterable[ExportClip]) -> list[RealClip]:
    """The real source clips behind ``clips`` (those whose record knows the source file)."""
    seen: dict[str, RealClip] = {}
    for clip in clips:
        if clip.source_path is not None and clip.source_clip_id not in seen:
            seen[clip.source_clip_id] = RealClip(
                source_clip_id=clip.source_clip_id, video_path=Path(clip.source_path),
                action_label=clip.action_label, source_subject=clip.source_subject,
            )
    return [seen[key] for key in sorted(seen)]


def export_dataset(
    clips: Sequence[ExportClip],
    output_dir: str | os.PathLike[str],
    *,
    real_clips: Sequence[RealClip] = (),
    info: CardInfo | Mapping[str, str | None] | None = None,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    split_seed: int = 0,
    shard_threshold: int = layout.DEFAULT_SHARD_THRESHOLD,
    clips_per_shard: int = layout.DEFAULT_CLIPS_PER_SHARD,
    check_space: bool = True,
    progress: Progress | None = None,
) -> ExportResult:
    """Add ``clips`` (and ``real_clips``) to the dataset folder ``output_dir`` and rewrite its card.

    ``info``: what the card says about the data (names, licences, source). A :class:`CardInfo`
    replaces what an earlier export recorded; a mapping updates only its non-empty fields, so an
    incremental export need not repeat them.
    ``shard_threshold``: a config with more clips than this is stored as Parquet shards of
    ``clips_per_shard`` clips. ``check_space=False`` skips the up-front free-space check (the
    kernel's "disk full" is still turned into :class:`DiskFullError`).
    """
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file; give a folder to export into.")
    if shard_threshold < 1 or clips_per_shard < 1:
        raise ExportError(f"shard_threshold and clips_per_shard must be at least 1 (got {shard_threshold} and "
                          f"{clips_per_shard}); the defaults are {layout.DEFAULT_SHARD_THRESHOLD} and "
                          f"{layout.DEFAULT_CLIPS_PER_SHARD}.")
    with _export_lock(folder):
        return _export_locked(clips, folder, real_clips, info, ratios, split_seed, shard_threshold, clips_per_shard,
                              check_space, progress or _noop)


@contextlib.contextmanager
def _export_lock(folder: Path) -> Iterator[None]:
    """One export per folder at a time (the CLI and the app may both try): a second one is refused.

    The lock file sits beside the folder, so a refused export leaves the folder itself untouched.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; exports there are not guarded
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.parent / f".{folder.name}.export-lock"
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError(f"another export into {folder} is running; wait for it to finish, then run "
                              "this one again (it adds only what is still missing).") from None
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_locked(clips: Sequence[ExportClip], folder: Path, real_clips: Sequence[RealClip],
                   info: CardInfo | Mapping[str, str | None] | None,
                   ratios: Sequence[float], split_seed: int, shard_threshold: int, clips_per_shard: int,
                   check_space: bool, progress: Progress) -> ExportResult:
    manifest = load_manifest(folder)
    if not clips and not manifest.synthetic:
        raise ExportError("there are no clips to export: nothing was accepted yet (accept clips in review, or "
                          "set the job to auto-accept), or the job filter matched no job.")
    options = {"ratios": list(check_ratios(ratios)), "split_seed": int(split_seed),
               "shard_threshold": int(shard_threshold), "clips_per_shard": int(clips_per_shard)}
    if manifest.options and manifest.options != options:
        raise ExportError(
            f"{folder} was exported with options {manifest.options}; this export asks for {options}. "
            "Use the same options to add clips, or export to a new folder."
        )
    manifest.options = options
    if isinstance(info, CardInfo):
        manifest.info = info.to_dict()
    else:
        updates = {k: str(v) for k, v in (info or {}).items() if v not in (None, "")}
        manifest.info = CardInfo.from_dict({**CardInfo().to_dict(), **manifest.info, **updates}).to_dict()

    new_clips = _new_records(clips, manifest.synthetic, lambda c: c.clip_id)
    new_real = _new_records(real_clips, manifest.real, lambda c: c.source_clip_id)
    progress(0.02, f"Checking {len(new_clips)} new clips…")
    motion_ids: dict[Path, str] = {}  # motion file -> its SHA-256 (clips of one trim share one file)
    staged = [_stage_clip(clip, motion_ids) for clip in new_clips]
    for real in new_real:
        _check_file(real.video_path, f"real clip {real.source_clip_id}")

    members = [SplitMember(c.source_clip_id, c.source_subject) for c in new_clips]
    members += [SplitMember(r.source_clip_id, r.source_subject) for r in new_real]
    manifest.assignments = assign_splits(members, manifest.assignments, options["ratios"], options["split_seed"])

    try:
        written = _write(folder, manifest, staged, new_real, check_space, progress)
    except (OSError, BaseDiskFullError) as exc:
        # The kernel's ENOSPC, raw or already named by a writer (atomic_output): the export's own message.
        cause = exc if isinstance(exc, OSError) else exc.__cause__
        if isinstance(exc, DiskFullError) or not (isinstance(exc, BaseDiskFullError) or is_disk_full(exc)):
            raise
        raise DiskFullError(
            f"the disk holding {folder} filled up during the export ({getattr(cause, 'strerror', None) or 'no space left'}). "
            "Nothing partial was left under a final name; free some space (or choose a folder on a larger disk) "
            "and run the same export again: it resumes."
        ) from exc
    counts = manifest.split_counts()
    result = ExportResult(
        folder=folder, synthetic_clips=len(manifest.synthetic), real_clips=len(manifest.real),
        added_synthetic=len(new_clips), added_real=len(new_real), split_counts=counts,
        sharded={config: manifest.is_sharded(config) for config in (layout.SYNTHETIC_CONFIG, layout.REAL_CONFIG)},
        bytes_written=written, files=layout.dataset_files(folder),
    )
    progress(1.0, f"Exported {result.synthetic_clips} synthetic clips ({len(new_clips)} new) to {folder}")
    logger.info("Export to %s: %d synthetic (+%d), %d real (+%d), splits %s", folder, result.synthetic_clips,
                len(new_clips), result.real_clips, len(new_real), counts)
    return result


def _new_records(records: Sequence[Any], done: dict[str, Any], key: Callable[[Any], str]) -> list[Any]:
    """Records not exported yet, once each, in key order (input order never matters)."""
    fresh: dict[str, Any] = {}
    for record in records:
        fresh.setdefault(key(record), record)
    return [fresh[k] for k in sorted(fresh) if k not in done]


def _check_file(path: Path | None, what: str) -> Path:
    if path is None or not Path(path).is_file():
        raise ExportError(f"{what}: file {path} does not exist; re-render it or drop it from the export.")
    return Path(path)


@dataclass(frozen=True)
class _Staged:
    """A new clip checked and described, ready to be written."""

    clip: ExportClip
    sources: dict[str, Path]  # role ("video", "mask", "labels", "motion") -> file to copy
    video: tuple[float, int, int, int]  # fps, frames, width, height
    motion_id: str = ""  # SHA-256 of the motion file: its name in the dataset


def _stage_clip(clip: ExportClip, motion_ids: dict[Path, str]) -> _Staged:
    """Check a clip's files exist and learn its timing (from the record, else by probing the video).

    The motion is named by its own content hash, not by the source clip: two trims of one video
    are one source clip but two motions (``motion_ids`` caches hashes of files already seen).
    """
    sources = {"video": _check_file(clip.video_path, f"clip {clip.clip_id} video")}
    for role, path in (("mask", clip.mask_path), ("labels", clip.labels_path), ("motion", clip.motion_path)):
        if path is not None:
            sources[role] = _check_file(path, f"clip {clip.clip_id} {role}")
    motion_id = ""
    if "motion" in sources:
        motion = sources["motion"]
        if motion not in motion_ids:
            motion_ids[motion] = sha256_file(motion)
        motion_id = motion_ids[motion]
    if None in (clip.fps, clip.num_frames, clip.width, clip.height):
        from random_people.errors import InvalidInputError
        from random_people.media import probe_video

        try:
            probed = probe_video(sources["video"])
        except InvalidInputError as exc:
            raise ExportError(f"clip {clip.clip_id}: its video is not readable ({exc}).") from exc
        video = (clip.fps or probed.fps, clip.num_frames or probed.num_frames,
                 clip.width or probed.width, clip.height or probed.height)
    else:
        video = (clip.fps, clip.num_frames, clip.width, clip.height)
    return _Staged(clip, sources, video, motion_id)  # type: ignore[arg-type]


def _synthetic_entry(staged: _Staged, split: str) -> tuple[dict[str, Any], dict[str, Path]]:
    """Manifest entry (the metadata row) and which dataset file comes from which source file.

    Source paths are not stored in the manifest: it is pushed, and local paths are nobody's business.
    """
    clip = staged.clip
    names = {
        "video": layout.clip_file(clip.action_label, clip.clip_id, layout.video_suffix(clip.video_path)),
        "mask": layout.clip_file(clip.action_label, clip.clip_id, "_mask.mp4") if "mask" in staged.sources else "",
        "labels": layout.clip_file(clip.action_label, clip.clip_id, "_labels.npz") if "labels" in staged.sources else "",
        "motion": layout.motion_file(staged.motion_id) if "motion" in staged.sources else "",
    }
    fps, frames, width, height = staged.video
    row = synthetic_row(
        clip, split=split, file_name=names["video"], mask_path=names["mask"], labels_path=names["labels"],
        motion_path=names["motion"], fps=fps, num_frames=frames, width=width, height=height,
    )
    return {"row": row, "shard": ""}, {names[role]: path for role, path in staged.sources.items()}


def _real_entry(real: RealClip, split: str) -> tuple[dict[str, Any], dict[str, Path]]:
    name = layout.clip_file(real.action_label, real.source_clip_id, layout.video_suffix(real.video_path))
    return {"row": real_row(real, split=split, file_name=name), "shard": ""}, {name: real.video_path}


def _write(folder: Path, manifest: Manifest, staged: Sequence[_Staged], new_real: Sequence[RealClip],
           check_space: bool, progress: Progress) -> int:
    """Copy or pack the new clips, then rewrite metadata, card and manifest; returns bytes copied."""
    sources: dict[str, Sources] = {layout.SYNTHETIC_CONFIG: {}, layout.REAL_CONFIG: {}}
    for item in staged:
        split = split_of(item.clip.source_clip_id, manifest.assignments)
        manifest.synthetic[item.clip.clip_id], sources[layout.SYNTHETIC_CONFIG][item.clip.clip_id] = \
            _synthetic_entry(item, split)
    for real in new_real:
        split = split_of(real.source_clip_id, manifest.assignments)
        manifest.real[real.source_clip_id], sources[layout.REAL_CONFIG][real.source_clip_id] = _real_entry(real, split)

    configs = {layout.SYNTHETIC_CONFIG: manifest.synthetic, layout.REAL_CONFIG: manifest.real}
    if check_space:
        _check_free_space(folder, manifest, configs, sources)
    folder.mkdir(parents=True, exist_ok=True)
    started = folder / layout.STARTED_NAME
    if not (folder / layout.MANIFEST_NAME).exists():
        started.touch()  # a first export: should it stop part-way, the folder is known as ours and re-running resumes
    written = 0
    packed: dict[str, list[str]] = {}  # config -> clips packed into shards by this export
    for position, (config, entries) in enumerate(configs.items()):
        span = (0.05 + 0.8 * position / 2, 0.05 + 0.8 * (position + 1) / 2)
        if manifest.is_sharded(config):
            packed[config] = [key for key, entry in entries.items() if not entry["shard"]]
            written += write_shards(folder, config, entries, sources[config], manifest.shards,
                                    manifest.options["clips_per_shard"], _sub(progress, span))
        else:
            written += _copy_loose(folder, config, entries, sources[config], _sub(progress, span))
        _write_metadata(folder, config, entries, sharded=manifest.is_sharded(config))
    _write_identity_files(folder, staged)
    progress(0.9, "Writing the dataset card…")
    write_card(folder, manifest)
    save_manifest(folder, manifest)
    started.unlink(missing_ok=True)
    for config, keys in packed.items():  # only now: until the manifest names their shards, they are the data
        remove_loose(folder, config, configs[config], keys)
    return written


def _write_identity_files(folder: Path, staged: Sequence[_Staged]) -> None:
    """Each captured person's full identity, once, at ``identities/<id>.json`` (the rows point there)."""
    from random_people.avatar.identity import IdentitySpec

    for item in staged:
        if item.clip.identity.get("capture") is None:
            continue
        spec = IdentitySpec.from_dict(item.clip.identity)
        path = folder / layout.identity_file(spec.id)
        if not path.exists():
            with atomic_output(path) as tmp:
                tmp.write_text(json.dumps(spec.to_dict(), sort_keys=True, indent=1) + "\n", encoding="utf-8")


def _sub(progress: Progress, span: tuple[float, float]) -> Progress:
    low, high = span
    return lambda fraction, message: progress(low + (high - low) * fraction, message)


def _pending_copies(folder: Path, config: str, entries: dict[str, dict[str, Any]],
                    sources: Sources) -> list[tuple[Path, Path]]:
    """(source, destination) of every new loose file not yet in the folder (shared motions once)."""
    pending: dict[Path, Path] = {}
    for key, files in sources.items():
        base = folder / layout.split_dir(config, entries[key]["row"]["split"])
        for name, source in files.items():
            if not (base / name).exists():
                pending.setdefault(base / name, Path(source))
    return [(source, target) for target, source in sorted(pending.items())]


def _copy_loose(folder: Path, config: str, entries: dict[str, dict[str, Any]], sources: Sources,
                progress: Progress) -> int:
    copies = _pending_copies(folder, config, entries, sources)
    written = 0
    for i, (source, target) in enumerate(copies):
        if i % 10 == 0:
            progress(i / max(len(copies), 1), f"Copying {config} files {i + 1}/{len(copies)}…")
        with atomic_output(target) as tmp:
            shutil.copyfile(source, tmp)
        written += target.stat().st_size
    return written


def _check_free_space(folder: Path, manifest: Manifest, configs: dict[str, dict[str, dict[str, Any]]],
                      sources: dict[str, Sources]) -> None:
    """Refuse before writing anything if the new files cannot fit (shards need about the same bytes)."""
    needed = SPACE_MARGIN_BYTES
    for config, entries in configs.items():
        if manifest.is_sharded(config):
            # Packing rewrites every clip not yet in a shard: the new ones and those loose in the folder.
            loose = {folder / layout.split_dir(config, e["row"]["split"]) / e["row"][column]
                     for k, e in entries.items() if not e["shard"] and k not in sources[config]
                     for column in PATH_COLUMNS if e["row"].get(column)}
            needed += sum(p.stat().st_size for p in loose if p.exists())
            needed += sum(Path(p).stat().st_size for files in sources[config].values() for p in files.values())
        else:
            needed += sum(src.stat().st_size for src, _ in _pending_copies(folder, config, entries, sources[config]))
    probe = folder if folder.exists() else next(p for p in folder.parents if p.exists())
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise DiskFullError(
            f"the export needs about {needed / 1e6:.1f} MB but the disk holding {folder} has {free / 1e6:.1f} MB "
            "free. Free some space or export to a folder on a larger disk; nothing was written."
        )


def _write_metadata(folder: Path, config: str, entries: dict[str, dict[str, Any]], sharded: bool) -> None:
    """One ``metadata.jsonl`` per split, rows sorted by file name (loose layout only)."""
    by_split: dict[str, list[dict[str, Any]]] = {}
    # Columns unknown for some clip are dropped from every split, so all splits have the same columns.
    dropped = tuple(name for name in OPTIONAL_COLUMNS if any(e["row"].get(name) is None for e in entries.values()))
    for entry in entries.values():
        by_split.setdefault(entry["row"]["split"], []).append(entry["row"])
    for split in layout.SPLITS:
        path = folder / layout.split_dir(config, split) / layout.METADATA_NAME
        rows = sorted(by_split.get(split, []), key=lambda row: row["file_name"])
        if config == layout.SYNTHETIC_CONFIG:
            rows = [{k: v for k, v in row.items() if k not in dropped} for row in rows]
        if sharded or not rows:
            if path.exists():
                path.unlink()
            continue
        with atomic_output(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")

