"""Identity files: one ``<id>.json`` per identity, written atomically, named by its content id.

Naming files by :func:`identity_id` makes saving idempotent (the same person sampled twice is one
file) and lets jobs refer to a person by 12 characters.
"""

from __future__ import annotations

import contextlib
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
MAX_IDENTITY_FILE_BYTES = 1 << 20  # a real identity file is ~2 kB


def read_identity_file(path: str | os.PathLike[str], shown_name: str | None = None) -> IdentitySpec:
    """Parse and validate one identity ``.json``; every failure is an :class:`IdentityError` naming the file.

    ``shown_name`` is what the message calls the file (the app shows an upload's own name, not the
    server's cache path). Oversized files are refused before reading, and JSON nested too deep
    for Python's parser is refused instead of crashing it.
    """
    path = Path(path)
    name = shown_name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_IDENTITY_FILE_BYTES:
            raise IdentityError(f"{name} is {size:,} bytes; an identity file is a few kB "
                                f"(limit {MAX_IDENTITY_FILE_BYTES:,}). Is it the right file?")
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IdentityError(f"{name} is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    except UnicodeDecodeError:
        raise IdentityError(f"{name} is not a JSON identity file (not UTF-8 text).") from None
    except RecursionError:
        raise IdentityError(f"{name} is nested too deeply to be an identity file (JSON objects inside objects "
                            "thousands of levels deep).") from None
    except OSError as exc:
        raise IdentityError(f"{name} cannot be read ({exc.strerror or exc}).") from None
    from random_people.avatar.identity_check import identity_problems

    try:
        problems = identity_problems(data)
        if problems:  # every problem at once, as job specs do
            raise IdentityError(f"{name} has {len(problems)} problem(s):\n" + "\n".join(f"- {p}" for p in problems))
        return IdentitySpec.from_dict(data)
    except IdentityError as exc:
        if str(exc).startswith(name):
            raise
        raise IdentityError(f"{name}: {exc}") from None
    except RecursionError:
        raise IdentityError(f"{name}: a value is nested too deeply to be part of an identity.") from None


def save_identity(spec: IdentitySpec, directory: str | os.PathLike[str]) -> Path:
    """Write ``directory/<id>.json`` (whole or not at all) and return its path."""
    path = Path(directory) / f"{identity_id(spec)}.json"
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def save_identities(specs: Iterable[IdentitySpec], directory: str | os.PathLike[str]) -> list[Path]:
    """Save every spec (see :func:`save_identity`); returns the paths in input order.

    All or nothing: should one fail (a full disk), the files this call created are removed again,
    so a half-saved sample is never mistaken for a whole one.
    """
    paths: list[Path] = []
    created: list[Path] = []
    folder_existed = Path(directory).exists()
    try:
        for spec in specs:
            target = Path(directory) / f"{identity_id(spec)}.json"
            existed = target.exists()
            paths.append(save_identity(spec, directory))
            if not existed:
                created.append(target)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        if not folder_existed:
            with contextlib.suppress(OSError):
                Path(directory).rmdir()  # only if empty
        raise
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
    spec = read_identity_file(path)
    if _ID.match(path.stem) and path.stem != identity_id(spec):
        logger.warning(
            "%s holds identity %s (edited after saving?); its name no longer matches", path, identity_id(spec)
        )
    return spec


def list_identities(directory: str | os.PathLike[str]) -> list[IdentitySpec]:
    """Every ``*.json`` identity in ``directory``, sorted by file name."""
    return [load_identity(path) for path in sorted(Path(directory).glob("*.json"))]
