"""File helpers shared by every writer: outputs appear whole or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    A crash, an exception or a kill mid-write leaves no partial file under the final name,
    which is what lets jobs be retried and users trust any file they see.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".part{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the result the permissions any new file would get.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Content hash used to address everything derived from a source file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_npz(path: str | os.PathLike[str], error: type[Exception], what: str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` (no pickles), with a missing or unreadable file raised as ``error``.

    ``what`` names the kind of file in the message ("Motion", "labels", ...), so users learn
    which input was wrong rather than seeing a zipfile traceback.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except Exception as exc:  # zipfile / numpy errors: not an npz at all
        raise error(f"{path} is not a readable {what} .npz file ({exc}).") from exc


def read_versioned_npz(
    path: str | os.PathLike[str], error: type[Exception], what: str, version: int, remedy: str
) -> dict[str, np.ndarray]:
    """:func:`read_npz`, then refuse a file whose ``version`` array is not ``version``.

    Every versioned file we write (motions, labels, avatar sidecars) is read through this, so an
    old or foreign file always fails the same way, saying which version was found and ``remedy``.
    """
    stored = read_npz(path, error, what)
    found = int(stored["version"]) if "version" in stored else -1
    if found != version:
        raise error(
            f"{path} has {what} format version {found}; this RANDOM People reads version {version}. {remedy}"
        )
    return stored
