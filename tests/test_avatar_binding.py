"""Avatars: Gaussians bound to the Anny surface -- binding maths, dressing, hair, determinism, files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from random_people.avatar.appearance import BOTTOM, EYES, HAIR, PART_NAMES, SKIN, TOP, AppearanceParams
from random_people.avatar.binding import pose_binding, sample_surface, triangle_frames
from random_people.avatar.build import build_avatar
from random_people.avatar.files import export_posed_ply, load_avatar, save_avatar, sidecar_path
from random_people.body import load_body_model
from random_people.render.ply import load_gaussians_ply


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


@pytest.fixture(scope="module")
def avatar(anny):
    appearance = AppearanceParams(hair_style="long", top_type="tshirt", top_pattern="stripes", bottom_type="trousers")
    return build_avatar(anny, anny.shape_from_phenotype(height=0.6), appearance, seed=3, n_gaussians=8000)


def _quat_to_rotmat(q: torch.Tensor) -> torch.Tensor:
    q = torch.nn.functional.normalize(q.double(), dim=-1)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(*q.shape[:-1], 3, 3)


def _covariances(g) -> torch.Tensor:
    r = _quat_to_rotmat(g.quats)
    return r @ torch.diag_embed(g.scales.double() ** 2) @ r.transpose(-1, -2)


def test_sample_surface_is_area_weighted_and_respects_zero_density():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 1], [0, 3, 1]], dtype=np.float64)
    faces = np.array([[0, 1, 2], [3, 4, 5]])  # areas 0.5 and 4.5
    triangle, bary = sample_surface(vertices, faces, 20000, np.random.default_rng(0))
    assert abs((triangle == 1).mean() - 0.9) < 0.01
    assert np.allclose(bary.sum(1), 1.0, atol=1e-6) and (bary >= 0).all()
    triangle, _ = sample_surface(vertices, faces, 100, np.random.default_rng(0), density_weights=np.array([1.0, 0.0]))
    assert (triangle == 0).all()


def test_triangle_frames_are_orthonormal_right_handed(anny, avatar):
    _, rotation, size = triangle_frames(avatar.rest_vertices, torch.as_tensor(anny.faces))
    eye = torch.eye(3).expand_as(rotation)
    assert torch.allclose(rotation.transpose(-1, -2) @ rotation, eye, atol=1e-4)
    assert torch.allclose(torch.linalg.det(rotation), torch.ones(len(rotation)), atol=1e-4)
    assert (size > 0).all()


def test_posing_rest_vertices_reproduces_canonical_exactly(avatar):
    canonical = avatar.canonical()
    again = pose_binding(avatar.binding, avatar.rest_vertices.clone())
    for name in ("means", "quats", "scales", "opacities", "colors", "labels"):
        assert torch.equal(getattr(canonical, name), getattr(again, name)), name
    assert canonical.labels.shape == (len(avatar), len(PART_NAMES))


def test_rigid_motion_moves_gaussians_rigidly(avatar):
    angle = torch.tensor([0.3, -1.1, 2.0])
    rotation = torch.linalg.matrix_exp(torch.tensor([
        [0.0, -angle[2], angle[1]], [angle[2], 0.0, -angle[0]], [-angle[1], angle[0], 0.0]]))
    translation = torch.tensor([0.5, -2.0, 1.25])
    rest = avatar.canonical()
    moved = pose_binding(avatar.binding, avatar.rest_vertices @ rotation.T + translation)
    assert torch.allclose(moved.means, rest.means @ rotation.T + translation, atol=2e-5)
    # float32: the face's smallest triangles (eyelids, ~1 mm) lose a few 1e-4 of their size
    # when moved 2.5 m from the origin.
    assert torch.allclose(moved.scales, rest.scales, rtol=5e-4)
    expected = rotation.double() @ _covariances(rest) @ rotation.double().T
    error = torch.linalg.matrix_norm(_covariances(moved) - expected) / torch.linalg.matrix_norm(expected)
    assert float(error.max()) < 2e-3


def test_uniform_stretch_scales_gaussians_isotropically(avatar):
    rest = avatar.canonical()
    grown = pose_binding(avatar.binding, avatar.rest_vertices * 1.5)
    assert torch.allclose(grown.scales, rest.scales * 1.5, rtol=1e-4)
    assert torch.allclose(_quat_to_rotmat(grown.quats), _quat_to_rotmat(rest.quats), atol=1e-4)


def test_regions_and_garment_layer(anny, avatar):
    part = avatar.binding.part
    counts = {name: int((part == i).sum()) for i, name in enumerate(PART_NAMES)}
    assert all(counts[n] > 100 for n in ("skin", "hair", "top", "bottom", "shoes")), counts
    assert 20 < counts["eyes"] < 600  # the visible part of both eyes, sampled densely
    g = avatar.canonical()
    garment = (part == TOP) | (part == BOTTOM)
    offsets = avatar.binding.offset[garment]
    assert ((offsets >= 0.01) & (offsets <= 0.03)).all()
    # Measured against the mesh itself: garment centres sit 1-3 cm off the nearest skin vertex.
    means = g.means[garment][::4]
    nearest = torch.cat([torch.cdist(chunk, avatar.rest_vertices).min(dim=1).values for chunk in means.split(500)])
    assert 0.008 < float(nearest.median()) < 0.03
    assert float((nearest < 0.005).float().mean()) < 0.05
    # Skin stays on the skin.
    assert (avatar.binding.offset[part == SKIN] == 0).all()
    # The torso is covered by the top: Gaussians at mid-chest height on the trunk are mostly top.
    chest_z = float(avatar.rest_joints[anny.bone_index("spine02"), 2])
    trunk = (g.means[:, 2] - chest_z).abs() < 0.03
    trunk &= g.means[:, 0].abs() < 0.1
    assert float((part[trunk] == TOP).float().mean()) > 0.7


def test_hair_styles_change_the_silhouette(anny):
    shape = anny.shape_from_phenotype()
    neck_z = float(anny.prepare(shape).rest_joints[anny.bone_index("neck01"), 2])
    built = {style: build_avatar(anny, shape, AppearanceParams(hair_style=style), seed=0, n_gaussians=6000)
             for style in ("bald", "short", "long")}
    assert int((built["bald"].binding.part == HAIR).sum()) == 0
    hair_z = {style: a.canonical().means[a.binding.part == HAIR, 2] for style, a in built.items() if style != "bald"}
    assert float(hair_z["short"].min()) > neck_z
    assert float(hair_z["long"].min()) < neck_z - 0.05
    # Volumetric: strands lie close to the scalp at their roots and hang well off the body further down.
    offsets = built["long"].binding.offset[built["long"].binding.part == HAIR]
    assert float(offsets.max()) > 0.025 and float(offsets.min()) < 0.015


def test_build_is_deterministic(anny):
    """(Build time is a benchmark figure, benchmarks/avatar.py, not a pass/fail test on shared cores.)"""
    shape = anny.shape_from_phenotype(age=0.2, weight=0.7)
    appearance = AppearanceParams(bottom_type="skirt", bottom_pattern="checks", top_type="hoodie")
    a = build_avatar(anny, shape, appearance, seed=11)
    b = build_avatar(anny, shape, appearance, seed=11)
    c = build_avatar(anny, shape, appearance, seed=12)
    assert len(a) == 20000
    for name, tensor in a.binding.tensors().items():
        assert torch.equal(tensor, getattr(b.binding, name)), name
    assert not torch.equal(a.binding.triangle, c.binding.triangle)


def test_every_option_builds(anny):
    """The whole vocabulary (shared with avatar/identity.py) dresses a body without error."""
    from random_people.avatar.appearance import (
        BOTTOM_TYPES, FACIAL_HAIR_STYLES, HAIR_STYLES, IRIS_COLORS, PATTERNS, SHOE_TYPES, TOP_TYPES,
    )

    shape = anny.shape_from_phenotype(age=0.3)
    options = [("hair_style", HAIR_STYLES), ("top_type", TOP_TYPES), ("bottom_type", BOTTOM_TYPES),
               ("shoes_type", SHOE_TYPES), ("top_pattern", PATTERNS), ("facial_hair", FACIAL_HAIR_STYLES),
               ("iris", IRIS_COLORS)]
    for field, values in options:
        for value in values:
            avatar = build_avatar(anny, shape, AppearanceParams(**{field: value}), seed=0, n_gaussians=1500)
            g = avatar.canonical()
            assert len(g) == 1500 and torch.isfinite(g.means).all() and (g.scales > 0).all(), (field, value)


def test_dress_covers_the_thighs_and_sandals_show_the_feet(anny):
    from random_people.avatar.appearance import SHOES

    shape = anny.shape_from_phenotype()
    dress = build_avatar(anny, shape, AppearanceParams(top_type="dress", bottom_type="none", shoes_type="sandals"),
                         seed=0, n_gaussians=8000)
    body = anny.prepare(shape).rest_joints
    hip_z, knee_z = float(body[anny.bone_index("upperleg01.L"), 2]), float(body[anny.bone_index("lowerleg01.L"), 2])
    g, part = dress.canonical(), dress.binding.part
    thigh = (g.means[:, 2] < hip_z - 0.1) & (g.means[:, 2] > 0.5 * (hip_z + knee_z))
    assert float((part[thigh] == TOP).float().mean()) > 0.8
    assert int((part == BOTTOM).sum()) == 0
    feet = g.means[:, 2] < float(g.means[:, 2].min()) + 0.08
    assert 0.2 < float((part[feet] == SHOES).float().mean()) < 0.9  # a sole, with bare skin above


def test_appearance_rejects_unknown_options():
    with pytest.raises(ValueError, match="hair_style"):
        AppearanceParams(hair_style="mohawk")
    with pytest.raises(ValueError, match="top_rgb"):
        AppearanceParams(top_rgb=(1.2, 0.0, 0.0))
    params = AppearanceParams(top_pattern="dots")
    assert AppearanceParams.from_dict(params.to_dict()) == params


def test_file_round_trip_is_exact(tmp_path, avatar):
    ply, sidecar = save_avatar(avatar, tmp_path / "person.ply")
    assert sidecar == sidecar_path(ply) and sidecar.name == "person.binding.npz"
    loaded = load_avatar(ply)
    assert loaded.appearance == avatar.appearance and loaded.seed == avatar.seed
    assert torch.equal(loaded.shape, avatar.shape)
    original, again = avatar.canonical(), loaded.canonical()
    for name in ("means", "quats", "scales", "opacities", "colors", "labels"):
        assert torch.equal(getattr(original, name), getattr(again, name)), name
    from_ply = load_gaussians_ply(ply)
    assert torch.allclose(from_ply.means, original.means)
    assert torch.allclose(from_ply.scales, original.scales, rtol=1e-5)
    assert torch.allclose(from_ply.colors, original.colors, atol=1e-6)
    posed = export_posed_ply(avatar, avatar.rest_vertices + torch.tensor([0.0, 0.0, 1.0]), tmp_path / "posed.ply")
    assert torch.allclose(load_gaussians_ply(posed).means, original.means + torch.tensor([0.0, 0.0, 1.0]), atol=1e-5)


def test_corrupt_sidecar_is_a_clear_error(tmp_path, avatar):
    from random_people.avatar.files import AvatarFileError

    save_avatar(avatar, tmp_path / "a.ply")
    sidecar_path(tmp_path / "a.ply").write_bytes(b"not an npz")
    with pytest.raises(AvatarFileError):
        load_avatar(tmp_path / "a.ply")
    with pytest.raises(AvatarFileError, match="not found"):
        load_avatar(tmp_path / "missing.ply")
    assert math.isfinite(float(avatar.meta["spacing_m"]))
    assert int((avatar.binding.part == EYES).sum()) >= 0


def test_hanging_offset_keeps_a_tube_below_where_it_hangs_from():
    """A synthetic cone of a limb: 6 cm round at the knee, 3 cm at the ankle. Below the knee a
    trouser leg keeps ``hang`` x (knee radius + offset), capped at ``hang_max``; above it, and with
    no hang (leggings), it follows the skin at its offset."""
    from random_people.avatar.appearance import hanging_offset

    rng = np.random.default_rng(0)
    joints = tuple(np.array([[0.1, 0.0, z], [-0.1, 0.0, z]]) for z in (0.9, 0.5, 0.1))  # hip, knee, ankle
    t = rng.uniform(0.0, 1.0, 4000)
    z = 0.9 - 0.8 * t
    radius = np.where(t < 0.5, 0.06, 0.06 - 0.03 * (t - 0.5) / 0.5)
    angle = rng.uniform(0, 2 * np.pi, t.size)
    side = np.where(np.arange(t.size) % 2 == 0, 1, -1)
    points = np.stack([0.1 * side + radius * np.cos(angle), radius * np.sin(angle), z], axis=1)
    covered = np.ones(t.size, bool)
    garment = {"offset": 0.013, "hang_from": 0.5, "hang": 0.9, "hang_max": 0.05}
    offset = hanging_offset(points, side, t, covered, joints, garment)
    assert np.allclose(offset[t < 0.5], 0.013)
    below = t > 0.5
    expected = np.clip(0.9 * (0.06 + 0.013) - radius[below], 0.013, 0.05)
    assert np.allclose(offset[below], expected, atol=2e-3)
    assert offset[t > 0.95].mean() > 0.03  # the hem stands ~3.5 cm off a 3 cm ankle
    capped = hanging_offset(points, side, t, covered, joints, {**garment, "hang_max": 0.02}, scale=1.0)
    assert capped.max() <= 0.02 + 1e-12 and capped[t > 0.95].min() > 0.019
    child = hanging_offset(points, side, t, covered, joints, {**garment, "hang_max": 0.02}, scale=0.5)
    assert np.allclose(child, 0.013)  # a child's cap (1 cm) is below the base offset
    tight = hanging_offset(points, side, t, covered, joints, {"offset": 0.004})
    assert np.allclose(tight, 0.004)
    assert (hanging_offset(points, side, t, ~covered, joints, garment) == 0).all()


def test_trouser_legs_hang_loose_where_leggings_cling(anny):
    """Built avatars: at the ankle a trouser leg stands clearly further off the skin than at the
    thigh (it falls straight from the knee); leggings stay at their skin-tight offset everywhere."""
    shape = anny.shape_from_phenotype()
    body = anny.prepare(shape).rest_joints
    knee_z = float(body[anny.bone_index("lowerleg01.L"), 2])
    ankle_z = float(body[anny.bone_index("foot.L"), 2])
    built = {kind: build_avatar(anny, shape, AppearanceParams(bottom_type=kind), seed=0, n_gaussians=8000)
             for kind in ("trousers", "leggings")}
    trousers = built["trousers"]
    bottom = trousers.binding.part == BOTTOM
    rest = trousers.binding.offset
    z = trousers.canonical().means[:, 2]
    thigh = bottom & (z > knee_z + 0.1)
    ankle = bottom & (z < ankle_z + 0.12) & (z > ankle_z)
    assert int(ankle.sum()) > 20
    assert float(rest[thigh].median()) == pytest.approx(0.013, abs=1e-6)
    assert float(rest[ankle].median()) > 0.02
    assert float(rest[bottom].max()) <= 0.028 * 1.2  # within the measured hem ease (adult, scaled)
    leggings = built["leggings"]
    assert torch.allclose(leggings.binding.offset[leggings.binding.part == BOTTOM], torch.tensor(0.004, dtype=rest.dtype))
