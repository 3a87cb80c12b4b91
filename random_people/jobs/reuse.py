"""Reusing what the log says was made: only files that are there, with the checksum it recorded.

The job log must never say done for a file that is not there. So every reuse, whether decided
when a job is queued (:func:`random_people.jobs.queue.submit_job`) or by a worker taking a task
(:mod:`random_people.jobs.tasks`), compares each file with the SHA-256 the log recorded when the
file was made; a file that is gone or has changed means the task runs again.

A motion made by a job with another output folder is linked (or copied) into this job's folder,
because this job's renders read their motion from there. A clip stays where it was made: the log
(and the export) point at it.

Records are plain dicts, as the queue hands them to a task (JSON-able for Ray):

* motion: ``{"path": str, "sha256": str}``
* clip: ``{"video_path": str, "mask_path": str | None, "labels_path": str | None,
  "checksums": {file name: sha256}}``
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

from random_people.files import atomic_output, sha256_file

logger = logging.getLogger(__name__)


def file_matches(path: str | os.PathLike[str], sha256: str) -> bool:
    """True if ``path`` is a file whose bytes hash to ``sha256``."""
    path = Path(path)
    try:
        return path.is_file() and sha256_file(path) == sha256
    except OSError:  # vanished or unreadable between the check and the read
        return False


def clip_matches(record: Mapping[str, Any]) -> bool:
    """True if every file of a clip record is there with its recorded checksum."""
    checksums = record.get("checksums") or {}
    if not checksums or not record.get("video_path"):
        return False
    folder = Path(record["video_path"]).parent
    return all(file_matches(folder / name, sha256) for name, sha256 in checksums.items())


def place_copy(source: Path, target: Path) -> None:
    """Put ``source``'s bytes at ``target``: a hard link (no extra disk), else a copy; appears whole."""
    with atomic_output(target) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem, or links not allowed there
            shutil.copyfile(source, tmp)


def reuse_file(target: Path, source: Path, sha256: str) -> bool:
    """Make ``target`` hold the recorded file (``source``, ``sha256``); False if that is impossible.

    True when ``target`` already has the recorded bytes, or when ``source`` still has them and was
    linked or copied to ``target`` (and the copy checked). False when neither has them: the file
    is gone or changed, and whatever made it must run again.
    """
    if file_matches(target, sha256):
        return True
    if Path(source) == Path(target) or not file_matches(source, sha256):
        return False
    try:
        place_copy(Path(source), Path(target))
    except OSError as exc:
        logger.warning("Could not place %s at %s (%s); making it again", source, target, exc)
        return False
    if not file_matches(target, sha256):  # the source changed while it was being copied
        Path(target).unlink(missing_ok=True)
        return False
    logger.info("Reused %s as %s", source, target)
    return True
