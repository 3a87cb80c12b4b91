"""Tests for random_people.render.ply: exact round trip, standard 3DGS layout, corrupt inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from random_people.render.ply import SH_C0, PlyError, load_gaussians_ply, ply_property_names, save_gaussians_ply
from random_people.render.types import Gaussians

STANDARD_3DGS_ORDER = [
    "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
    "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
]


def random_gaussians(n: int = 500, seed: int = 0, labels: int = 0) -> Gaussians:
    gen = torch.Generator().manual_seed(seed)
    opacities = torch.rand(n, generator=gen)
    opacities[:2] = torch.tensor([0.0, 1.0])  # the logit's edge cases
    return Gaussians(
        means=torch.randn(n, 3, generator=gen) * 2,
        quats=torch.randn(n, 4, generator=gen),
        scales=torch.exp(torch.randn(n, 3, generator=gen) - 3),
        opacities=opacities,
        colors=torch.rand(n, 3, generator=gen),
        labels=torch.rand(n, labels, generator=gen) if labels else None,
    )


def read_header(path: Path) -> list[str]:
    lines = []
    with open(path, "rb") as handle:
        while (line := handle.readline().decode("ascii").strip()) != "end_header":
            lines.append(line)
    return lines


def assert_same(a: Gaussians, b: Gaussians) -> None:
    torch.testing.assert_close(b.means, a.means, rtol=0, atol=0)
    torch.testing.assert_close(b.quats, a.quats, rtol=0, atol=0)
    torch.testing.assert_close(b.scales, a.scales, rtol=1e-6, atol=0)
    torch.testing.assert_close(b.opacities, a.opacities, rtol=0, atol=1e-6)
    torch.testing.assert_close(b.colors, a.colors, rtol=0, atol=1e-6)


def test_round_trip_is_exact_within_float32(tmp_path):
    g = random_gaussians()
    path = save_gaussians_ply(g, tmp_path / "scene.ply")
    back = load_gaussians_ply(path)
    assert len(back) == len(g)
    assert back.means.dtype == torch.float32 and back.labels is None
    assert_same(g, back)


def test_labels_round_trip_as_extra_properties(tmp_path):
    g = random_gaussians(labels=4)
    back = load_gaussians_ply(save_gaussians_ply(g, tmp_path / "labelled.ply"))
    assert_same(g, back)
    torch.testing.assert_close(back.labels, g.labels, rtol=0, atol=0)
    names = [line.split()[-1] for line in read_header(tmp_path / "labelled.ply") if line.startswith("property")]
    assert names == STANDARD_3DGS_ORDER + ["label_0", "label_1", "label_2", "label_3"]


def test_file_is_standard_3dgs(tmp_path):
    """Header, property order and stored parameterisation match the reference 3DGS writer."""
    g = random_gaussians(n=7)
    path = save_gaussians_ply(g, tmp_path / "scene.ply")
    header = read_header(path)
    assert header[:3] == ["ply", "format binary_little_endian 1.0", "element vertex 7"]
    props = [line.split() for line in header[3:]]
    assert all(p[:2] == ["property", "float"] for p in props)
    assert [p[2] for p in props] == STANDARD_3DGS_ORDER == ply_property_names()
    body = path.read_bytes()[path.read_bytes().index(b"end_header\n") + len("end_header\n"):]
    assert len(body) == 7 * len(STANDARD_3DGS_ORDER) * 4
    raw = np.frombuffer(body, dtype="<f4").reshape(7, -1)
    col = {name: raw[:, i] for i, name in enumerate(STANDARD_3DGS_ORDER)}
    np.testing.assert_allclose(col["x"], g.means[:, 0].numpy())
    np.testing.assert_allclose(col["nx"], 0)
    np.testing.assert_allclose(0.5 + SH_C0 * col["f_dc_1"], g.colors[:, 1].numpy(), atol=1e-6)
    np.testing.assert_allclose(np.exp(col["scale_2"]), g.scales[:, 2].numpy(), rtol=1e-6)
    np.testing.assert_allclose(1 / (1 + np.exp(-col["opacity"][2:])), g.opacities[2:].numpy(), atol=1e-6)
    np.testing.assert_allclose(col["rot_0"], g.quats[:, 0].numpy())  # w first, as in 3DGS
    assert math.isfinite(col["opacity"][0]) and math.isfinite(col["opacity"][1])


def test_degree3_padding_and_foreign_files_load(tmp_path):
    """sh_degree=3 writes 45 f_rest; a file with f_rest, extra properties, big endian loads."""
    g = random_gaussians(n=20)
    path = save_gaussians_ply(g, tmp_path / "sh3.ply", sh_degree=3)
    names = [line.split()[-1] for line in read_header(path) if line.startswith("property")]
    assert names[9:54] == [f"f_rest_{i}" for i in range(45)] and names[54] == "opacity"
    assert_same(g, load_gaussians_ply(path))

    # Reorder properties, add a double and an unknown uchar, big endian, a comment, a trailing element.
    order = ["opacity", "rot_0", "rot_1", "rot_2", "rot_3", "x", "y", "z", "scale_0", "scale_1", "scale_2",
             "f_dc_0", "f_dc_1", "f_dc_2", "extra"]
    src = np.frombuffer(path.read_bytes().split(b"end_header\n", 1)[1], dtype=[(n, "<f4") for n in names])
    dtype = np.dtype([(n, ">f8" if n == "x" else (">u1" if n == "extra" else ">f4")) for n in order])
    out = np.zeros(20, dtype=dtype)
    for n in order[:-1]:
        out[n] = src[n]
    types = {">f8": "double", "|u1": "uchar", ">f4": "float"}
    header = ["ply", "format binary_big_endian 1.0", "comment made by a test", "element vertex 20"]
    header += [f"property {types[dtype[n].str]} {n}" for n in order]
    header += ["element face 1", "property list uchar int vertex_indices", "end_header"]
    foreign = tmp_path / "foreign.ply"
    foreign.write_bytes(("\n".join(header) + "\n").encode() + out.tobytes() + b"\x03\0\0\0\0\0\0\0\1\0\0\0\2")
    assert_same(g, load_gaussians_ply(foreign))


def write_ply(path: Path, names: list[str], values: np.ndarray, n: int | None = None) -> Path:
    n = len(values) if n is None else n
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {n}"]
    header += [f"property float {name}" for name in names] + ["end_header"]
    path.write_bytes(("\n".join(header) + "\n").encode() + values.astype("<f4").tobytes())
    return path


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "not found"),
        ("text", "not a PLY"),
        ("no_end_header", "end_header"),
        ("ascii", "ASCII PLY"),
        ("point_cloud", "lacks the properties"),
        ("truncated", "truncated"),
        ("nan", "NaN"),
        ("inf_scale", "NaN or infinite scale"),
        ("zero_quat", "all-zero rotation"),
    ],
)
def test_corrupt_inputs_raise_ply_error(tmp_path, case, message):
    names = ply_property_names()
    values = np.ones((10, len(names)), dtype=np.float32)
    path = tmp_path / f"{case}.ply"
    if case == "text":
        path.write_text("hello, I am not a ply\n")
    elif case == "no_end_header":
        path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 3\n")
    elif case == "ascii":
        path.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n")
    elif case == "point_cloud":
        write_ply(path, ["x", "y", "z", "red", "green", "blue"], values[:, :6])
    elif case == "truncated":
        full = save_gaussians_ply(random_gaussians(n=10), path).read_bytes()
        path.write_bytes(full[:-30])
    elif case == "nan":
        values[3, names.index("y")] = np.nan
        write_ply(path, names, values)
    elif case == "inf_scale":
        values[5, names.index("scale_1")] = np.inf
        write_ply(path, names, values)
    elif case == "zero_quat":
        values[2, names.index("rot_0"):names.index("rot_3") + 1] = 0
        write_ply(path, names, values)
    with pytest.raises(PlyError, match=message) as info:
        load_gaussians_ply(path)
    assert info.value.exit_code == 12


def test_save_refuses_invalid_gaussians_and_leaves_nothing(tmp_path):
    g = random_gaussians(n=10)
    g.means[4, 1] = float("nan")
    with pytest.raises(PlyError, match="NaN"):
        save_gaussians_ply(g, tmp_path / "bad.ply")
    g = random_gaussians(n=10)
    g.scales[0, 0] = 0.0
    with pytest.raises(PlyError, match="non-positive scale"):
        save_gaussians_ply(g, tmp_path / "bad.ply")
    assert list(tmp_path.iterdir()) == []
