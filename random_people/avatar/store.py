"""Identity files: one ``<id>.json`` per identity, written atomically, named by its content id.

Naming files by :func:`identity_id` makes saving idempotent (the same person sampled twice is one
file) and lets jobs refer to a person by 12 characters.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Iterable

from random_people.avatar.identity import IdentityError, IdentitySpec, identity_id
from random_people.files import atomic_output

logger = logging.getLogger(__name__)

_ID = re.compile(r"^[0-9a-f]{12}$")


def save_identity(spec: IdentitySpec, directory: str | os.PathLike[str]) -> Path:
    """Write ``directory/<id>.json`` (whole or not at all) and return its path."""
    path = Path(directory) / f"{identity_id(spec)}.json"
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def save_identities(specs: Iterable[IdentitySpec], directory: str | os.PathLike[str]) -> list[Path]:
    """Save every spec (see :func:`save_identity`); returns the paths in input order."""
    paths = [save_identity(spec, directory) for spec in specs]
    logger.info("Saved %d identities to %s", len(paths), directory)
    return paths


def load_identity(path_or_id: str | os.PathLike[str], directory: str | os.PathLike[str] | None = None) -> IdentitySpec:
    """Load a spec from a JSON path, or from ``directory/<id>.json`` given a 12-character id."""
    text = str(path_or_id)
    path = Path(text)
    if not path.is_file() and directory is not None and _ID.match(text):
        path = Path(directory) / f"{text}.json"
    if not path.is_file():
        where = f" in {directory}" if directory is not None and _ID.match(text) else ""
        raise IdentityError(f"identity not found: {text}{where} (give a .json path or an id with its directory).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IdentityError(f"{path} is not a JSON identity file ({exc}).") from exc
    spec = IdentitySpec.from_dict(data)
    if _ID.match(path.stem) and path.stem != identity_id(spec):
        logger.warning(
            "%s holds identity %s (edited after saving?); its name no longer matches", path, identity_id(spec)
        )
    return spec


def list_identities(directory: str | os.PathLike[str]) -> list[IdentitySpec]:
    """Every ``*.json`` identity in ``directory``, sorted by file name."""
    return [load_identity(path) for path in sorted(Path(directory).glob("*.json"))]
