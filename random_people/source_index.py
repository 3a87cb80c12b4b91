"""Where each source clip lives on this machine, by content hash: ``<data dir>/source_index/<sha256>``.

The clip's own scene as background (``--background source``) needs the clip a Motion was
extracted from. Motions and labels are published with datasets, so they must not carry local
paths (a path names the user's account and folders); this index stays in the local data dir
instead. Extraction records every clip it reads; a moved or edited clip is simply not found
(the hash is checked again before use).
"""

from __future__ import annotations

import os
from pathlib import Path

from random_people.files import atomic_output
from random_people.settings import Settings


def _entry(settings: Settings, sha256: str) -> Path:
    if not sha256 or not all(c in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return settings.data_dir / "source_index" / sha256


def remember_source(settings: Settings, sha256: str, path: str | os.PathLike[str]) -> None:
    """Record that the clip with content ``sha256`` is at ``path`` (absolute, local only)."""
    with atomic_output(_entry(settings, sha256)) as tmp:
        tmp.write_text(str(Path(path).resolve()), encoding="utf-8")


def recall_source(settings: Settings, sha256: str) -> Path | None:
    """The path last recorded for ``sha256``, if any (not checked: the caller verifies the hash)."""
    try:
        return Path(_entry(settings, sha256).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
