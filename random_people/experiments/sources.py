"""Where clips come from: a class-folder tree, Toyota Smarthome as distributed, or our exported datasets.

Every loader returns the same :class:`Clip` records, so splitting, mixing and training never care
which kind of source a clip came from. Loaders only list files and read metadata; no video is
decoded here (videos embedded in a sharded export are copied out to a cache, see ``shards``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from random_people.datasets.smarthome import parse_smarthome_name
from random_people.datasets.smarthome_protocols import get_protocol
from random_people.experiments.config import SourceConfig
from random_people.experiments.errors import ExperimentDataError
from random_people.experiments.shards import find_shards, read_shards
from random_people.files import sha256_file
from random_people.settings import load_settings

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
BACKGROUND_KINDS = ("plain", "image", "video", "source")


@dataclass(frozen=True)
class Clip:
    """One labelled video file and what is known about where it came from."""

    path: Path
    label: str
    synthetic: bool = False
    background_kind: str | None = None   # synthetic only: plain | image | video | source
    source_clip_id: str | None = None    # SHA-256 of the real clip (a real clip's own hash); None = not yet hashed
    split: str | None = None             # train | validation | test, when the source defines it
    subject: str | None = None           # the real person, e.g. "p02"
    camera: int | None = None
    origin: str = ""                     # which configured source listed it

    @property
    def kind(self) -> str:
        """``real``, ``plain`` (plain-background synthetic) or ``background`` (image/video background)."""
        if not self.synthetic:
            return "real"
        return "plain" if self.background_kind == "plain" else "background"


def load_source(source: SourceConfig, base_dir: Path = Path("."), video_cache: Path | None = None) -> list[Clip]:
    """All clips of one configured source, sorted by path (a stable order for seeded choices).

    ``video_cache``: where videos embedded in a sharded export are written (see :func:`load_exported`).
    """
    if source.kind == "exported":
        clips = load_exported(source.path, base_dir=base_dir, revision=source.revision, video_cache=video_cache)
    else:
        root = _local_dir(source.path, base_dir, source.kind)
        clips = load_smarthome(root, source.protocol or "CS") if source.kind == "smarthome" else load_class_folders(root)
    logger.info("%s source %s: %d clips", source.kind, source.path, len(clips))
    return sorted(clips, key=lambda c: str(c.path))


def _local_dir(path: str, base_dir: Path, kind: str) -> Path:
    root = Path(path).expanduser()
    root = root if root.is_absolute() else base_dir / root
    if not root.is_dir():
        raise ExperimentDataError(f"The {kind} source folder {root} does not exist (data.sources path: {path}).")
    return root


def _videos(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                  and not p.name.startswith("."))


def load_class_folders(root: Path) -> list[Clip]:
    """``root/<label>/*.mp4``: the label is the sub-folder name (videos deeper down count too)."""
    clips = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        clips += [Clip(path=v, label=sub.name, origin=str(root)) for v in _videos(sub)]
    if not clips:
        raise ExperimentDataError(f"{root} holds no videos in class sub-folders (expected {root}/<label>/*.mp4).")
    return clips


def load_smarthome(root: Path, protocol: str = "CS") -> list[Clip]:
    """Toyota Smarthome clips anywhere under ``root``, labelled and split by their file names.

    Clips the protocol does not use (e.g. cameras 3-7 under CV1) are left out; files whose names
    do not follow Smarthome's scheme are skipped with a warning naming one of them.
    """
    proto = get_protocol(protocol)
    clips, foreign, unused = [], [], 0
    for video in _videos(root):
        try:
            name = parse_smarthome_name(video)
        except ValueError:
            foreign.append(video.name)
            continue
        split = proto.split_of(video)
        if split is None:
            unused += 1
            continue
        clips.append(Clip(path=video, label=name.action, split=split, subject=name.subject_id,
                          camera=name.camera, origin=str(root)))
    if foreign:
        logger.warning("Skipped %d files under %s that are not Smarthome clip names (e.g. %s)", len(foreign), root, foreign[0])
    logger.info("Smarthome %s: %d clips used, %d outside the protocol", proto.name, len(clips), unused)
    if not clips:
        raise ExperimentDataError(
            f"No Toyota Smarthome clip under {root} is used by protocol {proto.name} "
            f"(expected names like Cook.Cleandishes_p02_r00_v02_c03.mp4)."
        )
    return clips


def default_video_cache() -> Path:
    """Where videos from sharded exports are materialised unless told otherwise.

    Under the settings' data dir (``RP_DATA_DIR``), beside the source-hash cache, rather than in a
    run's output folder or the export itself: the files are named by their content, so one copy
    serves every run, ablation and few-shot cell and every config reading the same export; the
    export folder may be a read-only Hub snapshot, and anything added to it would be pushed. The
    folder can be deleted at any time; the next load writes it again.
    """
    return load_settings().data_dir / "experiments" / "shard_videos"


def load_exported(path: str, base_dir: Path = Path("."), revision: str | None = None,
                  video_cache: Path | None = None) -> list[Clip]:
    """An exported RANDOM People dataset: a local folder, or a Hub dataset repo id downloaded once.

    Reads every ``metadata.jsonl`` below the folder (file names are relative to the folder holding
    that file) and every Parquet shard (what the exporter writes instead past its shard
    threshold); one folder may hold both, e.g. sharded synthetic and loose real clips. Videos
    embedded in shards are written once to ``video_cache`` (default :func:`default_video_cache`)
    so they can be decoded like loose files. The export's own split of a synthetic clip does not
    matter: synthetic clips only ever train, and whether one may is decided by where its real
    source clip is in *this* experiment's split (see ``splits``).
    """
    local = Path(path).expanduser()
    local = local if local.is_absolute() else base_dir / local
    if local.is_dir():
        root = local
    elif _looks_like_repo_id(path):
        root = _download_dataset(path, revision)
    else:
        raise ExperimentDataError(f"Exported dataset {path} is neither a folder ({local} does not exist) nor a Hub repo id (owner/name).")
    files = sorted(root.rglob("metadata.jsonl"))
    shards = find_shards(root)
    if not files and not shards:
        raise ExperimentDataError(
            f"{root} holds no metadata.jsonl and no Parquet shards; an exported dataset has "
            "<root>/<config>/<split>/metadata.jsonl or, past the exporter's shard threshold, "
            "<root>/<config>/<split>/shard-NNNNN.parquet."
        )
    clips = []
    for meta in files:
        clips += _read_metadata(meta, str(path))
    if shards:
        cache = video_cache if video_cache is not None else default_video_cache()
        rows, _ = read_shards(shards, cache)
        clips += [_clip_from_row(r.row, r.video, r.where, str(path)) for r in rows]
    return clips


def _looks_like_repo_id(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 2 and all(parts) and not path.startswith((".", "~"))


def _download_dataset(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision))
    except Exception as exc:  # offline, missing repo, no access: one actionable message
        raise ExperimentDataError(
            f"Could not get the Hub dataset {repo_id} ({type(exc).__name__}: {exc}). Without internet, download it on a "
            f"connected machine (`huggingface-cli download {repo_id} --repo-type dataset --local-dir DIR`) and "
            "point data.sources[].path at DIR."
        ) from None


def _read_metadata(meta: Path, origin: str) -> list[Clip]:
    clips = []
    for number, line in enumerate(meta.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{meta}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExperimentDataError(f"{where} is not a JSON line: {exc}") from None
        if not isinstance(row.get("file_name"), str) or not row["file_name"]:
            raise ExperimentDataError(f"{where} has no `file_name` string; every metadata.jsonl row needs file_name and label.")
        clips.append(_clip_from_row(row, meta.parent / row["file_name"], where, origin))
    return clips


def _clip_from_row(row: dict[str, Any], path: Path, where: str, origin: str) -> Clip:
    """A :class:`Clip` from one exported metadata row (a ``metadata.jsonl`` line or a shard row)."""
    if not isinstance(row.get("label"), str) or not row["label"]:
        raise ExperimentDataError(f"{where} has no `label` string; every exported row needs file_name and label.")
    synthetic = bool(row.get("synthetic", False))
    kind = row.get("background_kind")
    if synthetic and kind not in BACKGROUND_KINDS:
        raise ExperimentDataError(f"{where}: synthetic clip with background_kind={kind!r}; expected one of {BACKGROUND_KINDS}.")
    split = row.get("split")
    if split not in (None, "train", "validation", "test"):
        raise ExperimentDataError(f"{where}: split={split!r}; expected train, validation or test.")
    return Clip(
        path=path, label=row["label"], synthetic=synthetic,
        background_kind=kind if synthetic else None, source_clip_id=row.get("source_clip_id"),
        split=split, subject=row.get("source_subject") or None, origin=origin,  # the exporter writes "" when unknown
    )


def with_source_ids(clips: list[Clip], cache_file: Path | None = None) -> list[Clip]:
    """Fill in the SHA-256 of real clips that lack one (needed to keep their synthetic copies out of test).

    Hashes are cached in ``cache_file`` keyed by path, size and modification time, so a large
    dataset is read in full once.
    """
    cache: dict[str, str] = {}
    if cache_file and cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text())
        except json.JSONDecodeError:
            cache = {}
    out, changed = [], False
    for clip in clips:
        if clip.synthetic or clip.source_clip_id:
            out.append(clip)
            continue
        stat = os.stat(clip.path)
        key = f"{clip.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in cache:
            cache[key], changed = sha256_file(clip.path), True
        out.append(replace(clip, source_clip_id=cache[key]))
    if cache_file and changed:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache))
    return out
