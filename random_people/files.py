"""File helpers shared by every writer: outputs appear whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Collection, Iterator, Mapping

import numpy as np

from random_people.errors import DiskFullError

logger = logging.getLogger(__name__)

# The largest array an .npz we read may hold once decompressed. Our biggest (a labels file's masks
# of a 10-minute 1080p clip) is far below; a "zip bomb" (a few MB that inflate to GBs) is refused
# from the zip header before a byte of it is inflated.
MAX_NPZ_MEMBER_BYTES = 2 * 2**30
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException) -> bool:
    """True for the kernel's "no space left" / "quota exceeded" errors, wherever they were raised."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


@contextlib.contextmanager
def disk_full_errors(target: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a full disk met while writing ``target`` into :class:`DiskFullError` (exit 21).

    Writers clean up their own temporary files (``atomic_output``, staging folders) as the error
    passes through them; this only gives the user the one message that says what to do.
    """
    try:
        yield
    except DiskFullError:
        raise
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError(
            f"The disk is full: could not write {target} ({exc.strerror}). Nothing was left half-written; "
            "free some space (or choose an output folder on another disk) and run again."
        ) from exc


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    A crash, an exception or a kill mid-write leaves no partial file under the final name,
    which is what lets jobs be retried and users trust any file they see.
    """
    final = Path(path)
    with disk_full_errors(final):
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


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], *, compressed: bool = True) -> Path:
    """Write ``arrays`` as an ``.npz`` at ``path``, whole or not at all.

    The archive is built in memory first: numpy's own zip writer, interrupted by a full disk,
    leaves a half-closed zip whose clean-up fails again ("seek of closed file") and hides the real
    error. Our ``.npz`` files (motions, sidecars) are a few MB, so memory is not a concern.
    """
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    with atomic_output(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return Path(path)


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


def _member_key(name: str) -> str:
    return name[:-4] if name.endswith(".npy") else name


def _checked_members(archive: zipfile.ZipFile, path: Path, error: type[Exception], what: str,
                     keys: Collection[str] | None, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """The members to load, each checked from the zip header and its ``.npy`` header, inflating nothing.

    A member larger than ``max_bytes`` once decompressed, or whose ``.npy`` header claims more data
    than the member holds, is refused: numpy would allocate what the header claims before reading.
    """
    members: dict[str, zipfile.ZipInfo] = {}
    unknown = []
    for info in archive.infolist():
        key = _member_key(info.filename)
        if keys is not None and key not in keys:
            unknown.append(key)
            continue
        if info.file_size > max_bytes:
            raise error(
                f"{path} is not a usable {what} file: its array {key!r} inflates to {info.file_size:,} bytes "
                f"(limit {max_bytes:,}) from {info.compress_size:,} bytes on disk. It is damaged or hostile; "
                "nothing was loaded."
            )
        with archive.open(info) as member:
            try:
                major, _ = np.lib.format.read_magic(member)
                reader = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}
                shape, _, dtype = reader.get(major, np.lib.format.read_array_header_2_0)(member)
            except Exception as exc:  # not an .npy member, or a garbled header
                raise error(f"{path} is not a readable {what} .npz file: member {key!r} is not an array ({exc}).") \
                    from exc
        if dtype.hasobject:
            raise error(f"{path}: array {key!r} holds Python objects; {what} files hold plain numbers and text only.")
        claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if claimed > info.file_size:
            raise error(
                f"{path} is not a usable {what} file: array {key!r} claims shape {shape} ({claimed:,} bytes) but "
                f"holds only {info.file_size:,} bytes. The file is damaged; nothing was loaded."
            )
        members[key] = info
    if unknown:
        logger.warning("%s: ignoring unknown arrays %s (not loaded)", path.name, sorted(unknown))
    return members


def read_npz(path: str | os.PathLike[str], error: type[Exception], what: str, *,
             keys: Collection[str] | None = None, max_bytes: int = MAX_NPZ_MEMBER_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (no pickles), with a missing or unreadable file raised as ``error``.

    ``what`` names the kind of file in the message ("Motion", "labels", ...), so users learn
    which input was wrong rather than seeing a zipfile traceback. With ``keys``, arrays of other
    names are skipped without being inflated. Every loaded array's size is checked against
    ``max_bytes`` from the zip header first (see :func:`_checked_members`).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _checked_members(archive, path, error, what, keys, max_bytes)
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in members}
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except error:
        raise
    except Exception as exc:  # zipfile / numpy errors: not an npz at all
        raise error(f"{path} is not a readable {what} .npz file ({exc}).") from exc


def stored_version(stored: Mapping[str, np.ndarray], path: Path, error: type[Exception], what: str) -> int:
    """The file's ``version`` as an int (-1 when absent); a version that is not a whole number is an error."""
    if "version" not in stored:
        return -1
    value = np.asarray(stored["version"])
    if value.shape != () or value.dtype.kind not in "iu":
        raise error(
            f"{path}: its 'version' entry is {value.dtype.name} {value.shape} ({str(value)[:40]!r}), not a whole "
            f"number, so this is not a {what} file written by RANDOM People."
        )
    return int(value)


def read_versioned_npz(
    path: str | os.PathLike[str], error: type[Exception], what: str, version: int, remedy: str, *,
    keys: Collection[str] | None = None, max_bytes: int = MAX_NPZ_MEMBER_BYTES,
) -> dict[str, np.ndarray]:
    """:func:`read_npz`, then refuse a file whose ``version`` array is not ``version``.

    Every versioned file we write (motions, labels, avatar sidecars) is read through this, so an
    old or foreign file always fails the same way, saying which version was found and ``remedy``.
    """
    path = Path(path)
    stored = read_npz(path, error, what, keys=None if keys is None else {*keys, "version"}, max_bytes=max_bytes)
    found = stored_version(stored, path, error, what)
    if found != version:
        raise error(
            f"{path} has {what} format version {found}; this RANDOM People reads version {version}. {remedy}"
        )
    return stored
