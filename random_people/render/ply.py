"""Read and write Gaussians as the standard 3D Gaussian Splatting ``.ply`` file.

Why this format: it is what the original 3DGS code writes and what every common splat viewer
(SuperSplat, the antimatter15/gsplat.js web viewers, Blender add-ons, the INRIA SIBR viewer)
opens, so an avatar or a scene we make can be inspected without our code, and scenes trained
elsewhere can be rendered by ours.

Layout (one ``vertex`` element, ``binary_little_endian``, every property a ``float``), in the
order the reference implementation writes it::

    x y z  nx ny nz  f_dc_0 f_dc_1 f_dc_2  [f_rest_0 ...]  opacity  scale_0 scale_1 scale_2
    rot_0 rot_1 rot_2 rot_3  [label_0 ...]

Stored values are the optimiser's parameters, not the renderer's: ``opacity`` is a logit,
``scale_*`` are natural logs of standard deviations, ``f_dc_*`` are degree-0 spherical-harmonic
coefficients (colour ``c = 0.5 + SH_C0 * f_dc``), ``rot_*`` is the quaternion (w, x, y, z), not
necessarily normalised. Normals are written as zeros (3DGS ignores them). ``f_rest_*`` (view
dependent colour) are written only when ``sh_degree > 0`` is asked for (as zeros, for viewers
that insist on degree 3) and are ignored when read, because our Gaussians carry one colour.
``label_*`` carry :attr:`Gaussians.labels` (e.g. body-part one-hots); viewers ignore unknown
properties, and we read them back so a round trip is exact.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import torch

from random_people.errors import RandomPeopleError
from random_people.files import atomic_output
from random_people.render.types import Gaussians

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

SH_C0 = 0.28209479177387814  # the degree-0 real spherical harmonic, 1 / (2 sqrt(pi))

# Opacities are clamped this far inside (0, 1) before the logit, so 0 and 1 stay finite.
_OPACITY_EPS = 1e-7
_MAX_HEADER_BYTES = 1 << 16

_POSITION = ("x", "y", "z")
_NORMAL = ("nx", "ny", "nz")
_DC = ("f_dc_0", "f_dc_1", "f_dc_2")
_SCALE = ("scale_0", "scale_1", "scale_2")
_ROT = ("rot_0", "rot_1", "rot_2", "rot_3")
REQUIRED_PROPERTIES: tuple[str, ...] = (*_POSITION, *_DC, "opacity", *_SCALE, *_ROT)

# PLY scalar type names (both spellings the spec allows) -> numpy type codes, without byte order.
_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


class PlyError(RandomPeopleError):
    """A ``.ply`` file is not a readable 3D Gaussian Splatting file (or Gaussians cannot be saved as one)."""

    exit_code = 12


def ply_property_names(sh_degree: int = 0, num_labels: int = 0) -> list[str]:
    """The vertex property names, in file order, that :func:`save_gaussians_ply` writes."""
    if not 0 <= sh_degree <= 3:
        raise ValueError(f"sh_degree must be 0..3, got {sh_degree}")
    num_rest = 3 * ((sh_degree + 1) ** 2 - 1)
    return [
        *_POSITION, *_NORMAL, *_DC,
        *(f"f_rest_{i}" for i in range(num_rest)),
        "opacity", *_SCALE, *_ROT,
        *(f"label_{i}" for i in range(num_labels)),
    ]


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _as_numpy(tensor: torch.Tensor, name: str, shape: tuple[int, ...]) -> np.ndarray:
    array = tensor.detach().to("cpu", torch.float64).numpy()
    if array.shape != shape:
        raise PlyError(f"Cannot save Gaussians: {name} has shape {tuple(array.shape)}, expected {shape}.")
    bad = ~np.isfinite(array)
    if bad.any():
        raise PlyError(
            f"Cannot save Gaussians: {name} holds {int(bad.any(axis=tuple(range(1, array.ndim))).sum())} "
            f"Gaussians with NaN or infinite values; fix the producer before saving."
        )
    return array


def save_gaussians_ply(g: Gaussians, path: PathLike, *, sh_degree: int = 0) -> Path:
    """Write ``g`` as a standard 3DGS ``.ply`` at ``path``, atomically; returns the path.

    ``sh_degree`` > 0 pads the file with zero ``f_rest_*`` coefficients for viewers that only read
    degree-3 files (the SIBR viewer); the default keeps files small and is read by web viewers.
    Raises :class:`PlyError` for non-finite values, non-positive scales or zero quaternions,
    which would otherwise write a file no viewer can display.
    """
    path = Path(path)
    n = len(g)
    means = _as_numpy(g.means, "means", (n, 3))
    quats = _as_numpy(g.quats, "quats", (n, 4))
    scales = _as_numpy(g.scales, "scales", (n, 3))
    opacities = _as_numpy(g.opacities, "opacities", (n,))
    colors = _as_numpy(g.colors, "colors", (n, 3))
    labels = None
    if g.labels is not None:
        labels = _as_numpy(g.labels, "labels", (n, int(g.labels.shape[-1]) if g.labels.ndim == 2 else -1))
    if (scales <= 0).any():
        raise PlyError(
            f"Cannot save Gaussians: {int((scales <= 0).any(axis=1).sum())} have a non-positive scale; "
            f"scales are standard deviations and must be > 0."
        )
    if (np.linalg.norm(quats, axis=1) == 0).any():
        raise PlyError("Cannot save Gaussians: some rotation quaternions are all zeros.")

    names = ply_property_names(sh_degree, 0 if labels is None else labels.shape[1])
    dtype = np.dtype([(name, "<f4") for name in names])
    vertices = np.zeros(n, dtype=dtype)
    for i, name in enumerate(_POSITION):
        vertices[name] = means[:, i]
    for i, name in enumerate(_DC):
        vertices[name] = (colors[:, i] - 0.5) / SH_C0
    clipped = np.clip(opacities, _OPACITY_EPS, 1.0 - _OPACITY_EPS)
    vertices["opacity"] = np.log(clipped) - np.log1p(-clipped)
    for i, name in enumerate(_SCALE):
        vertices[name] = np.log(scales[:, i])
    for i, name in enumerate(_ROT):
        vertices[name] = quats[:, i]
    if labels is not None:
        for i in range(labels.shape[1]):
            vertices[f"label_{i}"] = labels[:, i]

    header = "\n".join(
        ["ply", "format binary_little_endian 1.0", f"element vertex {n}"]
        + [f"property float {name}" for name in names]
        + ["end_header"]
    ) + "\n"
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(header.encode("ascii"))
            handle.write(vertices.tobytes())
    logger.info("Wrote %d Gaussians to %s", n, path)
    return path


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _read_header(handle, path: Path) -> tuple[list[str], int]:
    """Return the header lines (without ``end_header``) and the byte offset of the body."""
    magic = handle.read(4)
    if magic not in (b"ply\n", b"ply\r"):
        raise PlyError(
            f"{path.name} is not a PLY file (it does not start with 'ply'). Pass a 3D Gaussian "
            f"Splatting .ply, e.g. one written by random-people or by the 3DGS training code."
        )
    handle.seek(0)
    lines: list[str] = []
    consumed = 0
    while True:
        raw = handle.readline(_MAX_HEADER_BYTES)
        consumed += len(raw)
        if not raw or consumed > _MAX_HEADER_BYTES:
            raise PlyError(f"{path.name}: the PLY header has no 'end_header' line; the file is truncated or not a PLY.")
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise PlyError(f"{path.name}: the PLY header holds non-text bytes; the file is damaged.") from None
        if line == "end_header":
            return lines, consumed
        lines.append(line)


def _parse_header(lines: list[str], path: Path) -> tuple[str, list[tuple[str, int, np.dtype]]]:
    """Parse format and elements: returns (byte order, [(element name, count, dtype)])."""
    byte_order = ""
    elements: list[tuple[str, int, list[tuple[str, str]]]] = []
    for line in lines[1:]:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            kind = words[1] if len(words) > 1 else ""
            if kind == "binary_little_endian":
                byte_order = "<"
            elif kind == "binary_big_endian":
                byte_order = ">"
            elif kind == "ascii":
                raise PlyError(
                    f"{path.name} is an ASCII PLY; Gaussian splat files are binary. Re-export it as "
                    f"binary little endian (e.g. from Blender or the 3DGS code)."
                )
            else:
                raise PlyError(f"{path.name}: unknown PLY format line {line!r}.")
        elif words[0] == "element":
            if len(words) != 3 or not re.fullmatch(r"\d+", words[2]):
                raise PlyError(f"{path.name}: malformed PLY element line {line!r}.")
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            if not elements:
                raise PlyError(f"{path.name}: PLY property {line!r} appears before any element.")
            if len(words) >= 2 and words[1] == "list":
                elements[-1][2].append(("list", " ".join(words[2:])))
                continue
            if len(words) != 3 or words[1] not in _PLY_TYPES:
                raise PlyError(f"{path.name}: malformed or unsupported PLY property {line!r}.")
            elements[-1][2].append((words[2], _PLY_TYPES[words[1]]))
        else:
            raise PlyError(f"{path.name}: unexpected PLY header line {line!r}.")
    if not byte_order:
        raise PlyError(f"{path.name}: the PLY header has no 'format' line.")
    parsed: list[tuple[str, int, np.dtype]] = []
    for name, count, props in elements:
        if any(kind == "list" for kind, _ in props):
            parsed.append((name, count, None))  # sizes unknown without parsing; fine only after vertex
            continue
        names = [p for p, _ in props]
        if len(set(names)) != len(names):
            raise PlyError(f"{path.name}: element {name!r} declares a property twice.")
        parsed.append((name, count, np.dtype([(p, byte_order + t) for p, t in props])))
    return byte_order, parsed


def _check_no_trailing_data(path: Path, size: int, body_offset: int, elements: list, count: int,
                            stride: int) -> None:
    """Refuse a binary PLY that holds more bytes than its header declares.

    A header whose vertex count is lower than the data (an exporter that wrote the count before
    adding Gaussians) would otherwise render only the first ``count`` Gaussians, silently. Only
    checked when every element has fixed-size rows, so the expected size is known exactly.
    """
    if any(dtype is None for _, _, dtype in elements):
        return
    expected = body_offset + sum(n * dtype.itemsize for _, n, dtype in elements)
    extra = size - expected
    if extra > 0:
        hint = f" (room for {extra // stride} more Gaussians)" if extra % stride == 0 else ""
        raise PlyError(
            f"{path.name}: its header declares {count} Gaussians but the file holds {extra} bytes more than "
            f"the header accounts for{hint}. The header's vertex count is wrong; re-export the file."
        )


def load_gaussians_ply(path: PathLike) -> Gaussians:
    """Read a 3DGS ``.ply`` into :class:`Gaussians` (float32, CPU, renderer conventions).

    Accepts files from the reference 3DGS code and most exporters (binary, either byte order,
    extra properties and extra elements after the vertices ignored). Colours are clamped to
    [0, 1] as the rasterizer would. Raises :class:`PlyError` for files that are missing, not PLY,
    lack a Gaussian property (e.g. a plain point cloud), are truncated, or hold NaN/inf values.
    """
    path = Path(path)
    if not path.is_file():
        raise PlyError(f"Gaussian splat file not found: {path}.")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        lines, body_offset = _read_header(handle, path)
        _, elements = _parse_header(lines, path)
        offset = body_offset
        vertex: tuple[int, np.dtype] | None = None
        vertex_offset = offset
        for name, count, dtype in elements:
            if name == "vertex":
                if dtype is None:
                    raise PlyError(f"{path.name}: its vertex element has list properties; that is not a Gaussian splat file.")
                vertex = (count, dtype)
                vertex_offset = offset
                break
            if dtype is None:
                raise PlyError(
                    f"{path.name}: element {name!r} with list properties comes before the vertices; "
                    f"this is a mesh-style PLY, not a Gaussian splat file."
                )
            offset += count * dtype.itemsize
        if vertex is None:
            raise PlyError(f"{path.name} has no 'vertex' element, so it holds no Gaussians.")
        count, dtype = vertex
        missing = [p for p in REQUIRED_PROPERTIES if p not in dtype.names]
        if missing:
            raise PlyError(
                f"{path.name} is a PLY but not a 3D Gaussian Splatting file: it lacks the properties "
                f"{', '.join(missing)} (a splat needs x y z f_dc_0..2 opacity scale_0..2 rot_0..3). "
                f"Plain point clouds and meshes cannot be rendered as Gaussians."
            )
        offset = vertex_offset
        _check_no_trailing_data(path, size, body_offset, elements, count, dtype.itemsize)
        needed = count * dtype.itemsize
        available = size - offset
        if available < needed:
            raise PlyError(
                f"{path.name} is truncated: its header declares {count} Gaussians ({needed} bytes) but "
                f"only {max(available, 0)} bytes follow (about {max(available, 0) // dtype.itemsize} "
                f"Gaussians). Copy or download the complete file again."
            )
        handle.seek(offset)
        data = np.fromfile(handle, dtype=dtype, count=count)
    if data.shape[0] != count:  # pragma: no cover - guarded by the size check above
        raise PlyError(f"{path.name} is truncated: read {data.shape[0]} of {count} Gaussians.")

    def stack(names: tuple[str, ...] | list[str]) -> np.ndarray:
        return np.stack([data[p].astype(np.float64) for p in names], axis=1) if names else np.zeros((count, 0))

    label_names = sorted((p for p in dtype.names if re.fullmatch(r"label_\d+", p)), key=lambda p: int(p[6:]))
    raw = {
        "position": stack(_POSITION), "f_dc": stack(_DC), "opacity": data["opacity"].astype(np.float64),
        "scale": stack(_SCALE), "rot": stack(_ROT), "label": stack(label_names),
    }
    for name, values in raw.items():
        bad = ~np.isfinite(values)
        if bad.any():
            rows = int(bad.reshape(count, -1).any(axis=1).sum())
            raise PlyError(
                f"{path.name}: {rows} of {count} Gaussians have NaN or infinite {name} values; the file "
                f"is corrupt (or was saved from a diverged optimisation). Remove those Gaussians and save again."
            )
    if (np.linalg.norm(raw["rot"], axis=1) == 0).any():
        raise PlyError(f"{path.name}: some Gaussians have an all-zero rotation quaternion; the file is corrupt.")
    scales = np.exp(raw["scale"])
    if not np.isfinite(scales).all() or (scales <= 0).any():
        raise PlyError(f"{path.name}: some log-scales overflow or underflow float64; the file is corrupt.")
    if any(p.startswith("f_rest_") for p in dtype.names):
        logger.debug("%s: ignoring f_rest_* (view-dependent colour); Gaussians carry one colour", path.name)

    colors = 0.5 + SH_C0 * raw["f_dc"]
    out_of_range = int(((colors < 0) | (colors > 1)).any(axis=1).sum())
    if out_of_range:
        logger.debug("%s: clamped %d colours to [0, 1]", path.name, out_of_range)

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    gaussians = Gaussians(
        means=tensor(raw["position"]),
        quats=tensor(raw["rot"]),
        scales=tensor(scales),
        opacities=tensor(1.0 / (1.0 + np.exp(-raw["opacity"]))),
        colors=tensor(np.clip(colors, 0.0, 1.0)),
        labels=tensor(raw["label"]) if label_names else None,
    )
    logger.info("Read %d Gaussians from %s", count, path)
    return gaussians
