"""What does not follow the body (random_people.avatar.capture.offsets).

A synthetic person (a sphere turning in front of a camera) whose real silhouette sticks out on one
side of its body must get outward offsets there and none on the other side, and the offset surface
must cover the silhouette better. The offsets must ride on the avatar's triangles: posed with the
body, along the posed normals.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from random_people.avatar.appearance import TOP
from random_people.avatar.capture.backproject import vertex_normals_np
from random_people.avatar.capture.offsets import (apply_vertex_offsets, decode_offsets, encode_offsets,
                                                  frame_excess, solve_offsets)
from random_people.avatar.capture.shape_fit import iou, mesh_silhouette, project
from random_people.avatar.identity import IdentityError

BUMP_M = 0.06
SIZE = (400, 400)
K = np.array([[600.0, 0, 200], [0, 600.0, 200], [0, 0, 1]])


def _sphere(radius: float = 0.3, rings: int = 40, segments: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """A UV sphere (vertices [V, 3], outward-facing faces [F, 3])."""
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    body = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
    vertices = radius * np.concatenate([[[0, 1, 0]], body, [[0, -1, 0]]])
    faces = []
    ring = lambda i, j: 1 + i * segments + j % segments  # noqa: E731
    for j in range(segments):
        faces.append([0, ring(0, j + 1), ring(0, j)])
        faces.append([len(vertices) - 1, ring(rings - 2, j), ring(rings - 2, j + 1)])
    for i in range(rings - 2):
        for j in range(segments):
            faces.append([ring(i, j), ring(i, j + 1), ring(i + 1, j)])
            faces.append([ring(i, j + 1), ring(i + 1, j + 1), ring(i + 1, j)])
    faces = np.array(faces)
    normals = vertex_normals_np(vertices, faces)
    if (normals * vertices).sum() < 0:  # make the winding outward
        faces = faces[:, ::-1].copy()
    return vertices, faces


def _turned(vertices: np.ndarray, angle: float) -> np.ndarray:
    """Rest vertices turned about the vertical axis and placed 3 m in front of the camera."""
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return vertices @ rotation.T + np.array([0.0, 0.0, 3.0])


@pytest.fixture(scope="module")
def turning_sphere():
    """Per-frame excess of a sphere whose real outline sticks out by BUMP_M on its rest +x half."""
    rest, faces = _sphere()
    normals = vertex_normals_np(rest, faces)
    bumped = rest + BUMP_M * normals * (rest[:, 0] > 0)[:, None]
    excess, valid, masks = [], [], []
    for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        posed = _turned(rest, angle)
        drawn = mesh_silhouette(project(posed, K), faces, SIZE)
        mask = mesh_silhouette(project(_turned(bumped, angle), K), faces, SIZE)
        e, v = frame_excess(posed, vertex_normals_np(posed, faces), K, mask, drawn, max_offset=0.2)
        excess.append(e)
        valid.append(v)
        masks.append(mask)
    return rest, faces, normals, np.stack(excess), np.stack(valid), masks


def test_the_outline_that_sticks_out_is_measured_in_each_frame(turning_sphere):
    rest, _, _, excess, valid, _ = turning_sphere
    assert valid.sum() > 200
    bumped_side = valid & (rest[:, 0] > 0.1)[None]
    plain_side = valid & (rest[:, 0] < -0.1)[None]
    assert bumped_side.sum() > 30 and plain_side.sum() > 30
    assert abs(np.median(excess[bumped_side]) - BUMP_M) < 0.015
    assert abs(np.median(excess[plain_side])) < 0.011


def test_offsets_cover_what_sticks_out_and_only_there(turning_sphere):
    rest, faces, normals, excess, valid, masks = turning_sphere
    region = np.full(len(rest), TOP)
    fit = solve_offsets(excess, valid, faces, region)
    bumped, plain = rest[:, 0] > 0.15, rest[:, 0] < -0.15
    assert abs(np.median(fit.offsets[bumped]) - BUMP_M) < 0.015
    assert np.abs(fit.offsets[plain]).max() < 0.015
    # The offset surface's silhouette matches the real one better in every frame.
    moved = rest + fit.offsets[:, None] * normals
    for angle, mask in zip(np.linspace(0, 2 * np.pi, 12, endpoint=False), masks):
        before = iou(mesh_silhouette(project(_turned(rest, angle), K), faces, SIZE), mask)
        after = iou(mesh_silhouette(project(_turned(moved, angle), K), faces, SIZE), mask)
        assert after > before + 0.02 or before > 0.97, (angle, before, after)


def test_skin_gets_no_more_than_its_ceiling(turning_sphere):
    from random_people.avatar.appearance import SKIN
    from random_people.avatar.capture.offsets import CEILING_M

    rest, faces, _, excess, valid, _ = turning_sphere
    fit = solve_offsets(excess, valid, faces, np.full(len(rest), SKIN))
    assert fit.offsets.max() <= CEILING_M[SKIN] + 1e-6  # a misfit bare limb must not get fat


def test_a_walk_into_another_drawn_part_is_no_observation():
    """An arm in front of the torso: walking out of the torso's outline runs into the arm, not the background."""
    vertices = np.array([[0.3, 0.0, 3.0]])
    normals = np.array([[1.0, 0.0, 0.0]])
    drawn = np.zeros((400, 400), bool)
    drawn[:, :260] = True  # the torso, ending at the vertex's pixel (x = 260)
    drawn[:, 266:272] = True  # another drawn part 3 cm further out (200 px per metre at 3 m)
    mask = np.zeros((400, 400), bool)
    mask[:, :280] = True  # the person covers both, out to 10 cm beyond the torso
    excess, valid = frame_excess(vertices, normals, K, mask, drawn, max_offset=0.2)
    assert not valid[0]
    drawn[:, 266:272] = False
    excess, valid = frame_excess(vertices, normals, K, mask, drawn, max_offset=0.2)
    assert valid[0] and abs(excess[0] - 0.10) < 0.011


def test_offsets_round_trip_and_refuse_damage():
    offsets = np.array([0.0, 0.0123, -0.0087, 0.25])
    entry = encode_offsets(offsets)
    assert np.abs(decode_offsets(entry, 4) - offsets).max() < 1e-4
    with pytest.raises(IdentityError, match="2 per vertex"):
        decode_offsets(entry, 5)
    with pytest.raises(IdentityError, match="checksum"):
        decode_offsets({**entry, "sha256": "0" * 64}, 4)


def test_offsets_ride_on_the_posed_triangles():
    """Each Gaussian moves by its vertices' offsets along its triangle's normal, in every pose."""
    from random_people.avatar.binding import pose_binding
    from random_people.avatar.build import build_avatar
    from random_people.avatar.pipeline import appearance_params
    from random_people.avatar.sampler import sample_identity
    from random_people.body import load_body_model
    from random_people.avatar.identity import anny_phenotype

    spec = sample_identity(4, 0)
    model = load_body_model(kind="anny")
    shape = model.shape_from_phenotype(**anny_phenotype(spec))
    plain = build_avatar(model, shape, appearance_params(spec), seed=1, n_gaussians=1500)
    offset = build_avatar(model, shape, appearance_params(spec), seed=1, n_gaussians=1500)
    d = np.full(len(plain.rest_vertices), 0.04, np.float32)
    apply_vertex_offsets(offset, d)
    # A pose: the rest mesh turned 90 degrees about the vertical axis and an arm bent away (any
    # per-vertex motion: here a twist that grows with height).
    rest = plain.rest_vertices.double()
    angle = 0.6 * (rest[:, 2] - rest[:, 2].min())
    c, s = torch.cos(angle), torch.sin(angle)
    posed = torch.stack([c * rest[:, 0] - s * rest[:, 1], s * rest[:, 0] + c * rest[:, 1], rest[:, 2]], dim=1).float()
    before = pose_binding(plain.binding, posed)
    after = pose_binding(offset.binding, posed)
    shift = (after.means - before.means).double()
    corners = posed[plain.binding.faces[plain.binding.triangle]].double()
    normal = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normal = normal / normal.norm(dim=1, keepdim=True)
    along = (shift * normal).sum(dim=1)
    assert torch.allclose(along, torch.full_like(along, 0.04), atol=2e-3)
    assert (shift - along[:, None] * normal).norm(dim=1).max() < 2e-3  # nothing sideways
    # A body surface pushed out is larger (mostly convex): its Gaussians grow with it, within bounds.
    from random_people.avatar.capture.offsets import SCALE_GROWTH

    growth = (offset.binding.local_scale / plain.binding.local_scale)[:, 0]
    assert growth.median() > 1.02
    assert growth.min() >= SCALE_GROWTH[0] - 1e-5 and growth.max() <= SCALE_GROWTH[1] + 1e-5
