"""A captured person's colours as plain data: one albedo per body-mesh vertex, compact in JSON.

Why per vertex and not per Gaussian: an identity is rebuilt from its spec (``build_avatar`` is
deterministic), and the number of Gaussians is a render setting; colours on the body model's
vertices serve any Gaussian count (each Gaussian takes its triangle's colours mixed by its
barycentric weights, hair strands and garment layers included), and they fit in the identity
file itself (~14k vertices, sRGB-quantised to 8 bits, zlib, base64: tens of kB), so a captured
person travels through jobs, labels and exports exactly like a sampled one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from random_people.avatar.capture.packing import pack, unpack
from random_people.avatar.identity import IdentityError

CAPTURE_FORMAT = 1
ENCODING = "srgb8-zlib-base64"
MAX_ENCODED_CHARS = 600_000  # an identity file stays under its 1 MiB limit


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def _srgb_decode(encoded: np.ndarray) -> np.ndarray:
    return np.where(encoded <= 0.04045, encoded / 12.92, np.power((encoded + 0.055) / 1.055, 2.4))


def encode_vertex_albedo(albedo: np.ndarray) -> dict[str, Any]:
    """The ``capture`` record of an identity for linear albedo [V, 3] in [0, 1]."""
    albedo = np.asarray(albedo, dtype=np.float64)
    if albedo.ndim != 2 or albedo.shape[1] != 3 or not np.isfinite(albedo).all():
        raise ValueError(f"vertex albedo must be finite [V, 3], got {albedo.shape}.")
    quantised = np.round(_srgb_encode(albedo) * 255.0).astype(np.uint8)
    payload, checksum = pack(quantised.tobytes())
    return {
        "format": CAPTURE_FORMAT,
        "encoding": ENCODING,
        "n_vertices": int(len(albedo)),
        "vertex_albedo": payload,
        "sha256": checksum,
    }


def check_capture_record(record: dict[str, Any]) -> None:
    """Raise :class:`IdentityError` naming the field when ``record`` is not a valid capture record."""
    albedo = decode_vertex_albedo(record)
    if record.get("vertex_offset") is not None:
        from random_people.avatar.capture.offsets import decode_offsets

        decode_offsets(record["vertex_offset"], len(albedo))


def decode_vertex_albedo(record: dict[str, Any]) -> np.ndarray:
    """Linear albedo [V, 3] float32 from a ``capture`` record (checked: format, size, checksum)."""
    if not isinstance(record, dict):
        raise IdentityError(f"capture: expected a mapping, got {type(record).__name__}.")
    if record.get("format") != CAPTURE_FORMAT or record.get("encoding") != ENCODING:
        raise IdentityError(f"capture.format: expected format {CAPTURE_FORMAT} with encoding {ENCODING!r}, "
                            f"got {record.get('format')!r} / {record.get('encoding')!r}.")
    count = record.get("n_vertices")
    payload = record.get("vertex_albedo")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count < 1_000_000:
        raise IdentityError(f"capture.n_vertices: expected a positive vertex count, got {count!r}.")
    if not isinstance(payload, str) or len(payload) > MAX_ENCODED_CHARS:
        raise IdentityError("capture.vertex_albedo: expected the base64 text of the captured colours "
                            f"(at most {MAX_ENCODED_CHARS:,} characters).")
    raw = unpack(payload, 3 * count, record.get("sha256"), field="capture.vertex_albedo", what="captured colours",
                 unit=f"3 per vertex for {count} vertices", checksum_field="capture.sha256")
    quantised = np.frombuffer(raw, dtype=np.uint8).reshape(count, 3)
    return _srgb_decode(quantised.astype(np.float64) / 255.0).astype(np.float32)


def gaussian_colors(vertex_albedo: np.ndarray | torch.Tensor, faces: torch.Tensor, triangle: torch.Tensor,
                    barycentric: torch.Tensor) -> torch.Tensor:
    """Each Gaussian's colour [N, 3]: its triangle's vertex colours mixed by its barycentric weights."""
    colors = torch.as_tensor(np.asarray(vertex_albedo), dtype=barycentric.dtype)
    corners = colors[faces[triangle]]  # [N, 3 corners, 3]
    return (barycentric[:, :, None] * corners).sum(dim=1).clamp(0.0, 1.0)


def apply_captured_colors(avatar, record: dict[str, Any], keep_parts: tuple[str, ...] = ("eyes",)):
    """Recolour a built avatar with the captured colours (in place; returns it), and push its surface
    out by the captured offsets where the record has them (:mod:`.offsets`).

    The eyes keep their drawn sclera, iris and pupil: at video resolution an eye is a pixel or two,
    and what the camera saw there is mostly lid and shadow.
    """
    albedo = decode_vertex_albedo(record)
    if len(albedo) != len(avatar.rest_vertices):
        raise IdentityError(f"capture.n_vertices: the colours are for {len(albedo)} vertices, but this body model's "
                            f"mesh has {len(avatar.rest_vertices)}.")
    binding = avatar.binding
    colors = gaussian_colors(albedo, binding.faces, binding.triangle, binding.barycentric)
    keep = torch.zeros(len(binding), dtype=torch.bool)
    for name in keep_parts:
        if name in binding.part_names:
            keep |= binding.part == binding.part_names.index(name)
    binding.colors = torch.where(keep[:, None], binding.colors, colors.to(binding.colors.dtype))
    if record.get("vertex_offset") is not None:  # what sticks out of the body (hair volume, loose clothes)
        from random_people.avatar.capture.offsets import apply_vertex_offsets, decode_offsets

        apply_vertex_offsets(avatar, decode_offsets(record["vertex_offset"], len(albedo)))
    return avatar
