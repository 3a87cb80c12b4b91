"""The export manifest (``random_people_export.json``): what an export folder holds and why.

It makes export incremental (clips already exported are skipped, their split is kept) and
reproducible (options are recorded and a second export with different ones is refused rather
than silently producing a mixed folder). It is pushed with the data, so anyone can see how the
splits were made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from random_people.files import atomic_output
from random_people.hub.errors import ExportError
from random_people.hub.layout import DEFAULT_SHARD_THRESHOLD, MANIFEST_NAME, SPLITS, STARTED_NAME, SYNTHETIC_CONFIG

MANIFEST_VERSION = 1


@dataclass
class Manifest:
    """Everything exported so far, keyed by clip id (rows are the ``metadata.jsonl`` rows)."""

    options: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    assignments: dict[str, str] = field(default_factory=dict)  # "source:<id>" / "subject:<s>" -> split
    synthetic: dict[str, dict[str, Any]] = field(default_factory=dict)  # clip_id -> {"row", "shard"}
    real: dict[str, dict[str, Any]] = field(default_factory=dict)  # source_clip_id -> {"row", "shard"}
    shards: dict[str, list[str]] = field(default_factory=dict)  # "<config>/<split>" -> shard paths in order

    def entries(self, config: str) -> dict[str, dict[str, Any]]:
        """The entries of ``config`` (``synthetic`` or ``real``), keyed by id."""
        return self.synthetic if config == SYNTHETIC_CONFIG else self.real

    def is_sharded(self, config: str) -> bool:
        """Is ``config`` stored as Parquet shards? (it holds more clips than the shard threshold)"""
        return len(self.entries(config)) > self.options.get("shard_threshold", DEFAULT_SHARD_THRESHOLD)

    def split_counts(self) -> dict[str, int]:
        """Synthetic clips per split, every split listed (zero when empty)."""
        counts = {split: 0 for split in SPLITS}
        for entry in self.synthetic.values():
            counts[entry["row"]["split"]] += 1
        return counts

    def to_json(self) -> str:
        """Deterministic text: maps keyed by id are sorted, rows keep their column order (``rows.py``'s)."""
        data = {
            "version": MANIFEST_VERSION, "options": self.options, "info": self.info,
            "assignments": dict(sorted(self.assignments.items())),
            "synthetic": dict(sorted(self.synthetic.items())), "real": dict(sorted(self.real.items())),
            "shards": dict(sorted(self.shards.items())),
        }
        return json.dumps(data, indent=1) + "\n"


def load_manifest(folder: Path) -> Manifest:
    """The folder's manifest, or an empty one for a new folder; a foreign non-empty folder is refused.

    A folder a first export stopped in part-way (it holds the hidden start marker) is ours: re-running resumes it.
    """
    path = folder / MANIFEST_NAME
    if not path.exists():
        foreign = folder.exists() and not (folder / STARTED_NAME).exists()
        if foreign and any(p for p in folder.iterdir() if not p.name.startswith(".")):
            raise ExportError(
                f"{folder} is not empty and holds no {MANIFEST_NAME}, so it is not a RANDOM People export; "
                "choose an empty or new folder (or one an earlier export wrote)."
            )
        return Manifest()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path} is unreadable ({exc}); restore it or export to a new folder.") from exc
    if data.get("version") != MANIFEST_VERSION:
        raise ExportError(
            f"{path} has manifest version {data.get('version')!r}; this RANDOM People writes version "
            f"{MANIFEST_VERSION}. Export to a new folder."
        )
    return Manifest(
        options=data.get("options", {}), info=data.get("info", {}), assignments=data.get("assignments", {}),
        synthetic=data.get("synthetic", {}), real=data.get("real", {}), shards=data.get("shards", {}),
    )


def save_manifest(folder: Path, manifest: Manifest) -> Path:
    path = folder / MANIFEST_NAME
    with atomic_output(path) as tmp:
        tmp.write_text(manifest.to_json())
    return path
