"""Children seen from behind read as children with hair (issue 13: "a toddler's back of the head
is a shiny bald dome").

Two causes, one test each: young children were sampled with buzz cuts (1 cm strands flat on the
scalp, a bald-looking dome on a small head), and every hair Gaussian carried one strong specular
weight over the smooth scalp normals, so short dark hair showed one round white highlight.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from random_people.avatar.appearance import HAIR, SKIN, scalp_mask
from random_people.avatar.build import build_avatar
from random_people.avatar.identity import IdentitySpec, anny_phenotype
from random_people.avatar.pipeline import appearance_params
from random_people.avatar.sampler import YOUNG_CHILD_YEARS, IdentityDistribution, sample_identities
from random_people.body import load_body_model

STRAND_STYLES = ("short", "medium", "long", "bun", "curly")


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


def _toddler(hair_style: str = "short", hair_color: str = "black") -> IdentitySpec:
    return IdentitySpec.from_dict({
        "seed": 11, "body": {"sex": "male", "gender": 0.0, "age_years": 3.0},
        "appearance": {"skin_tone": 6, "hair_style": hair_style, "hair_color": hair_color,
                       "top": {"type": "tshirt", "color": "yellow"}, "bottom": {"type": "shorts", "color": "navy"},
                       "shoes": {"type": "sneakers", "color": "white"}},
    })


def _build(anny, spec: IdentitySpec, n: int = 12000):
    return build_avatar(anny, anny.shape_from_phenotype(**anny_phenotype(spec)), appearance_params(spec),
                        seed=spec.seed, n_gaussians=n)


def test_young_children_are_sampled_with_real_hair():
    people = sample_identities(240, 3, IdentityDistribution(age_range=(1.0, YOUNG_CHILD_YEARS - 0.01)))
    styles = {p.appearance.hair_style for p in people}
    assert styles <= set(STRAND_STYLES), styles  # no bald heads, no buzz cuts under 6
    assert len(styles) >= 4
    older = sample_identities(240, 3, IdentityDistribution(age_range=(25.0, 60.0), female_ratio=0.0))
    assert "buzz" in {p.appearance.hair_style for p in older}  # the rule is about young children only
    only_buzz = sample_identities(5, 3, IdentityDistribution(age_range=(1.0, 5.0), hair_styles={"buzz": 1.0}))
    assert {p.appearance.hair_style for p in only_buzz} == {"buzz"}  # an explicit choice is kept


def test_a_toddlers_crown_and_back_of_head_are_covered_by_hair(anny):
    avatar = _build(anny, _toddler())
    from random_people.avatar.appearance import body_geometry, mesh_labels

    vertices = avatar.rest_vertices.numpy().astype(np.float64)
    labels = mesh_labels(anny)
    geometry = body_geometry(anny, avatar.rest_joints.numpy(), vertices, labels)
    faces = np.asarray(anny.faces)
    centroids = vertices[faces].mean(axis=1)
    head_h = geometry.head_top_z - geometry.eye_z
    scalp = scalp_mask(centroids, labels.group, geometry, 0.35) & ~labels.interior
    back = scalp & (centroids[:, 1] > geometry.head_centre_y) & (centroids[:, 2] > geometry.eye_z - 0.2 * head_h)
    from scipy.spatial import cKDTree

    hair = avatar.canonical().means[avatar.binding.part == HAIR].numpy()
    distance, _ = cKDTree(hair).query(centroids[back], k=1)
    assert len(distance) > 50
    assert np.mean(distance < 0.012) > 0.97, np.percentile(distance, [50, 90, 99])


def _back_of_head(avatar, size: int = 160):
    """Lit render (studio light, key from the camera's side) of the back of the head: rgb, head mask."""
    from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera
    from random_people.render.environments import studio_light
    from random_people.render.lighting import camera_forward, light_gaussians
    from random_people.render.rasterize import rasterize

    vertices = avatar.rest_vertices.numpy()
    top, height = float(vertices[:, 2].max()), float(np.ptp(vertices[:, 2]))
    target = np.array([0.0, float(np.median(vertices[vertices[:, 2] > top - 0.1 * height][:, 1])), top - 0.08 * height])
    eye = target + 0.6 * height * np.array([0.0, 1.0, 0.35])
    camera = make_camera(intrinsics_from_fov(size, size, 30.0), look_at(eye, target, (0.0, 0.0, 1.0)), size, size)
    gaussians = avatar.canonical()
    rendered_head = (gaussians.means[:, 2] > top - 0.2 * height).numpy()
    lit = light_gaussians(gaussians, studio_light(0), camera, up_world=np.array([0.0, 0.0, 1.0]),
                          forward_world=camera_forward(camera))
    render = rasterize(lit, camera, with_extras=False)
    alpha = render.alpha.numpy().reshape(size, size)
    rgb = render.rgb.numpy().reshape(size, size, 3)
    return rgb, alpha > 0.9, rendered_head


def test_dark_hair_from_behind_has_no_round_white_highlight(anny):
    """The old look (one specular weight 0.35 on all hair: 7 % of the head's pixels) fails this; hair
    sheen broken into strands passes."""
    avatar = _build(anny, _toddler())
    rgb, covered, _ = _back_of_head(avatar)
    luminance = rgb @ np.array([0.2126, 0.7152, 0.0722])
    head = covered.copy()
    head[int(0.75 * head.shape[0]):] = False  # the head, not the shoulders below it
    bright = float(np.mean(luminance[head] > 0.25))  # black hair's albedo is ~0.01 in linear light
    assert bright < 0.02, bright
    hair = avatar.binding.part == HAIR
    skin_under_hair = (avatar.binding.part == SKIN).numpy() & (avatar.canonical().means[:, 2].numpy()
                                                                > float(avatar.rest_vertices[:, 2].max()) - 0.04)
    assert float(avatar.binding.specular[skin_under_hair].max()) < 0.1  # skin sheen, nothing glossy
    weights = avatar.binding.specular[hair].numpy()
    assert weights.std() > 0.5 * weights.mean()  # per-strand sheen, not one value


def test_same_toddler_same_hair():
    anny = load_body_model(kind="anny")
    a, b = _build(anny, _toddler(), 6000), _build(anny, _toddler(), 6000)
    assert np.array_equal(a.binding.specular.numpy(), b.binding.specular.numpy())
    assert np.array_equal(a.binding.colors.numpy(), b.binding.colors.numpy())
    assert math.isfinite(float(a.binding.specular.sum()))


def test_a_fringe_over_the_forehead_has_little_sheen(anny):
    """Locks lying on the forehead face the camera and a frontal key light at once; with the crown's
    sheen they drew a grey-blue smear across the face (a fringe keeps a quarter of it)."""
    from random_people.avatar.hair import HAIR_SPECULAR, STRAND_SPECULAR_MAX

    avatar = _build(anny, _toddler("medium", "dark_brown"))
    hair = (avatar.binding.part == HAIR).numpy()
    from random_people.render.reference import quat_to_rotmat

    gaussians = avatar.canonical()
    normals = quat_to_rotmat(gaussians.quats / gaussians.quats.norm(dim=1, keepdim=True))[:, :, 2].numpy()[hair]
    weights = avatar.binding.specular.numpy()[hair]
    front = normals[:, 1] < -0.8  # facing forwards (the body faces -y)
    assert front.sum() > 20
    assert weights[front].mean() < 0.45 * weights[~front].mean()
    assert weights.max() <= HAIR_SPECULAR * STRAND_SPECULAR_MAX + 1e-6
