"""Where every exported file goes: one place, so the exporter, the card and the push agree.

Folder layout (``datasets``' VideoFolder convention, one folder per config)::

    DATASET_DIR/
      README.md                        dataset card with the Hub's YAML header (configs, licence)
      random_people_export.json        export manifest: what was exported where (incremental runs)
      synthetic/                       config "synthetic" (default)
        train/ validation/ test/       split folders; a source clip or real subject lives in one only
          metadata.jsonl               one row per clip (file_name relative to this folder)
          <label>/<clip_id>.mp4        the clip, H.264
          <label>/<clip_id>_mask.mp4   lossless alpha mask
          <label>/<clip_id>_labels.npz keypoints, boxes, camera per frame (render.labels)
          motions/<motion_sha256>.npz  body parameters (Motion) the clips re-perform (one per trim)
      identities/<identity_id>.json    a captured person's full identity (their colours and offsets,
                                       tens of kB: once per person, not in every row)
      real/                            config "real" (optional): the real source clips
        train/ validation/ test/
          metadata.jsonl
          <label>/<source_clip_id>.<ext>

Past the shard threshold a config's split folders hold Parquet shards instead
(``shard-00000.parquet``, videos and label files embedded), which ``datasets`` loads natively and
keeps the repository within the Hub's file-count limits.
"""

from __future__ import annotations

import re
from pathlib import Path

SPLITS = ("train", "validation", "test")
SYNTHETIC_CONFIG = "synthetic"
REAL_CONFIG = "real"
MANIFEST_NAME = "random_people_export.json"
STARTED_NAME = ".random_people_export.started"  # a first export is under way (hidden: never pushed)
CARD_NAME = "README.md"
METADATA_NAME = "metadata.jsonl"
MOTIONS_DIR = "motions"
IDENTITIES_DIR = "identities"
SHARD_PATTERN = "shard-{index:05d}.parquet"
# The Hub advises < 10k files per folder and ~100k per repository; a clip is 3 files.
DEFAULT_SHARD_THRESHOLD = 10_000
DEFAULT_CLIPS_PER_SHARD = 1_000

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(value: str, what: str) -> str:
    """``value`` as one path component: unsafe characters become ``_``; empty or dot names refused.

    Labels and ids come from users and job logs; a label like ``"../x"`` or ``"a/b"`` must not
    escape its folder, make two folders or become a hidden name.
    """
    from random_people.hub.errors import ExportError

    cleaned = _UNSAFE.sub("_", str(value).strip()).strip("._")  # no leading dot: hidden files are not pushed
    if not cleaned:
        raise ExportError(f"{what} {value!r} cannot be used as a file name; give it letters or digits.")
    return cleaned


VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".mpeg")  # what datasets' VideoFolder picks up


def video_suffix(path: str | Path) -> str:
    """The file's video extension, if ``datasets``' VideoFolder loads it (else a clear error)."""
    from random_people.hub.errors import ExportError

    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ExportError(f"{path}: datasets' videofolder loads {', '.join(VIDEO_SUFFIXES)} files only; "
                          "convert the clip to mp4 (H.264) first.")
    return suffix


def clip_file(label: str, clip_id: str, suffix: str = ".mp4") -> str:
    """Path of a clip file relative to its split folder (``<label>/<clip_id><suffix>``)."""
    return f"{safe_name(label, 'action label')}/{safe_name(clip_id, 'clip id')}{suffix}"


def motion_file(motion_id: str) -> str:
    """Path of a Motion relative to its split folder, named by the motion file's SHA-256.

    Shared by every clip that re-performs it. Not named by the source clip: two trims of one
    source video are one source clip with two different motions.
    """
    return f"{MOTIONS_DIR}/{safe_name(motion_id, 'motion id')}.npz"


def identity_file(identity_id: str) -> str:
    """Path of a captured person's identity file relative to the dataset folder (``identities/<id>.json``)."""
    return f"{IDENTITIES_DIR}/{safe_name(identity_id, 'identity id')}.json"


def split_dir(config: str, split: str) -> str:
    """Path of a split folder relative to the dataset folder."""
    return f"{config}/{split}"


def dataset_files(folder: Path) -> list[str]:
    """Every file of the dataset in ``folder`` (what a push sends): relative POSIX paths, sorted.

    Hidden files (lock files, ``atomic_output``'s temporaries) are not part of the dataset.
    """
    files = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files.append(relative.as_posix())
    return sorted(files)
