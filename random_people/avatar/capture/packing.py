"""A captured person's per-vertex arrays as compact, checked text for the identity file.

Why one place: the colours and the offsets travel in the identity file the same way (zlib,
base64, SHA-256 of the raw bytes), and a damaged or edited file must be refused the same way:
decompression bounded to the expected size (a crafted payload cannot blow up in memory), then
the size, then the checksum, each naming the field at fault.
"""

from __future__ import annotations

import base64
import hashlib
import zlib

from random_people.avatar.identity import IdentityError


def pack(raw: bytes) -> tuple[str, str]:
    """(base64 text of ``raw`` compressed, SHA-256 of ``raw`` itself)."""
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii"), hashlib.sha256(raw).hexdigest()


def unpack(payload: str, size: int, checksum: object, *, field: str, what: str, unit: str,
           checksum_field: str | None = None) -> bytes:
    """The ``size`` bytes packed in ``payload``, checked against ``checksum``.

    ``field`` names the payload's entry in errors, ``what`` the data ("colours"), ``unit`` how
    the size follows from the vertex count ("2 per vertex"); ``checksum_field`` names the
    checksum's entry when it is not ``field`` itself."""
    try:
        raw = zlib.decompressobj().decompress(base64.b64decode(payload, validate=True), size + 1)
    except (ValueError, zlib.error) as exc:
        raise IdentityError(f"{field}: not valid compressed {what} ({exc}).") from None
    if len(raw) != size:
        raise IdentityError(f"{field}: holds {len(raw)} bytes, expected {size} ({unit}).")
    if hashlib.sha256(raw).hexdigest() != checksum:
        raise IdentityError(f"{checksum_field or field}: the {what} do not match their checksum "
                            "(file damaged or edited).")
    return raw


__all__ = ["pack", "unpack"]
