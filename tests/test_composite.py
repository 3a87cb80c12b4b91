"""Compositing: premultiplied alpha, contact shadow, harmonisation, degradation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from random_people.render.cameras import look_at, make_camera, intrinsics_from_fov
from random_people.render.composite import (
    DegradeSpec,
    ShadowSpec,
    composite,
    contact_shadow,
    linear_to_srgb,
    shadow_for,
    soften_edge,
    srgb_to_linear,
)

H, W = 96, 128


@pytest.fixture()
def background() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _person(value=(0.2, 0.4, 0.8)) -> tuple[np.ndarray, np.ndarray]:
    """A rectangle 'person' with soft vertical edges: premultiplied linear rgb and alpha."""
    alpha = np.zeros((H, W), np.float32)
    alpha[20:80, 50:78] = 1.0
    alpha[20:80, 49] = alpha[20:80, 78] = 0.5
    rgb = alpha[..., None] * np.array(value, np.float32)
    return rgb, alpha


def test_srgb_tables_round_trip_every_8_bit_value():
    levels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(linear_to_srgb(srgb_to_linear(levels)), levels)


def test_alpha_zero_returns_the_background_exactly(background):
    out = composite(np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.float32), background)
    assert out.dtype == np.uint8 and np.array_equal(out, background)
    out = composite(np.zeros((H, W, 3)), np.zeros((H, W)), background, color_space="srgb")
    assert np.array_equal(out, background)


def test_alpha_one_returns_the_foreground(background):
    fg = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    ones = np.ones((H, W), np.float32)
    assert np.array_equal(composite(srgb_to_linear(fg), ones, background), fg)
    assert np.array_equal(composite(fg / 255.0, ones, background, color_space="srgb"), fg)


def test_partial_alpha_mixes_in_linear_light():
    black = np.zeros((4, 4, 3), np.uint8)
    half = np.full((4, 4), 0.5, np.float32)
    # White at 50% over black: 0.5 linear is 188 in sRGB (an sRGB-space mix would give 128).
    assert np.all(composite(half[..., None] * np.ones(3, np.float32), half, black) == 188)
    assert np.all(composite(half[..., None] * np.ones(3, np.float32), half, black, color_space="srgb") == 128)


def test_accepts_torch_tensors(background):
    rgb, alpha = _person()
    a = composite(torch.from_numpy(rgb), torch.from_numpy(alpha), background)
    assert np.array_equal(a, composite(rgb, alpha, background))


def test_shape_mismatches_are_refused(background):
    rgb, alpha = _person()
    with pytest.raises(ValueError, match="alpha must be"):
        composite(rgb, alpha[:-1], background)
    with pytest.raises(ValueError, match="background must be uint8"):
        composite(rgb, alpha, background.astype(np.float32))


# ----------------------------------------------------------------------------------- shadow


def test_shadow_darkens_only_below_the_feet():
    grey = np.full((H, W, 3), 160, np.uint8)
    empty_rgb, empty_alpha = np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.float32)
    feet_y = 60.0
    spec = ShadowSpec(np.array([[56.0, feet_y], [72.0, feet_y]]), strength=0.6, radius_px=20.0, squash=0.25)
    out = composite(empty_rgb, empty_alpha, grey, shadow=spec).astype(int)
    darker = out.sum(-1) < grey.astype(int).sum(-1)
    ys, xs = np.nonzero(darker)
    assert ys.size > 0
    assert ys.min() > feet_y - 10  # nothing above the feet (beyond the ellipse's upper rim)
    assert np.all(out[: int(feet_y) - 10] == 160)
    assert np.all(out[:, :20] == 160) and np.all(out[:, 110:] == 160)  # nor far to the sides
    assert out[int(feet_y) + 2, 64].max() < 160 - 25  # clearly darker just below the feet
    assert np.all(out <= 160)  # a shadow never brightens


def test_shadow_is_behind_the_person(background):
    rgb, alpha = _person()
    spec = ShadowSpec(np.array([[64.0, 79.0]]), strength=1.0, radius_px=30.0, squash=0.5)
    with_shadow = composite(rgb, alpha, background, shadow=spec)
    without = composite(rgb, alpha, background)
    solid = alpha == 1.0
    assert np.array_equal(with_shadow[solid], without[solid])  # the person is not darkened
    assert (with_shadow[~solid].astype(int) < without[~solid]).any()


def test_lifted_foot_casts_a_fainter_shadow_and_zero_strength_none():
    spec = ShadowSpec(np.array([[30.0, 50.0], [90.0, 50.0]]), weights=np.array([1.0, 0.2]), radius_px=8.0, squash=0.3)
    shadow = contact_shadow((H, W), spec)
    assert shadow[51, 30] > 2 * shadow[51, 90] > 0
    assert not contact_shadow((H, W), ShadowSpec(spec.contacts_2d, strength=0.0)).any()
    with pytest.raises(ValueError, match="weights"):
        ShadowSpec(np.zeros((2, 2)), weights=np.ones(3))


def test_shadow_for_projects_the_feet_onto_the_ground():
    # Camera 1.5 m up (world y down, OpenCV style) looking at a point on the floor 4 m ahead.
    up = np.array([0.0, -1.0, 0.0])
    ground_point = np.array([0.0, 1.5, 4.0])
    camera = make_camera(intrinsics_from_fov(W, H, 60.0), look_at([0, 0, 0], ground_point, up), W, H)
    feet = np.array([[-0.1, 1.5, 4.0], [0.1, 1.2, 4.0]])  # right foot lifted 30 cm
    spec = shadow_for(camera, feet, ground_point, up)
    assert np.allclose(spec.contacts_2d[0], [W / 2 - spec.contacts_2d[1, 0] + W / 2, H / 2], atol=1e-3)
    assert np.isclose(spec.contacts_2d[1, 1], H / 2, atol=1e-3)  # dropped to the floor, not at 1.2
    assert spec.weights[0] == pytest.approx(1.0) and spec.weights[1] < 0.5
    assert spec.squash == pytest.approx(1.5 / np.hypot(1.5, 4.0), rel=1e-6)


# ------------------------------------------------------------------------------ harmonize


def test_harmonize_moves_the_person_toward_the_background_colour():
    orange = np.zeros((H, W, 3), np.uint8)
    orange[:] = (230, 120, 30)
    orange[::2] = (200, 100, 20)
    rgb, alpha = _person((0.05, 0.1, 0.7))  # a blue person
    solid = alpha == 1.0
    bg_mean = orange[~solid].astype(float).mean(axis=0)

    def distance(amount: float) -> float:
        out = composite(rgb, alpha, orange, harmonize=amount)
        return float(np.linalg.norm(out[solid].astype(float).mean(axis=0) - bg_mean))

    d0, d3, d8 = distance(0.0), distance(0.3), distance(0.8)
    assert d0 > d3 > d8
    assert np.array_equal(composite(rgb, alpha, orange, harmonize=0.0), composite(rgb, alpha, orange))
    # The background itself is untouched.
    far = np.zeros((H, W), bool)
    far[:, :10] = True
    assert np.array_equal(composite(rgb, alpha, orange, harmonize=0.8)[far], orange[far])


# -------------------------------------------------------------------------------- degrade


def test_degrade_is_deterministic_per_seed():
    # A smooth picture (JPEG turns per-pixel random noise into a different picture, rightly).
    yy, xx = np.mgrid[0:H, 0:W]
    background = np.stack([xx * 2, yy * 2, (xx + yy)], axis=-1).astype(np.uint8)
    rgb, alpha = _person()
    spec = DegradeSpec(edge_blur_sigma=0.8, noise_sigma=3.0, jpeg_quality=80)
    a = composite(rgb, alpha, background, degrade=spec, rng=np.random.default_rng(5))
    b = composite(rgb, alpha, background, degrade=spec, rng=np.random.default_rng(5))
    c = composite(rgb, alpha, background, degrade=spec, rng=np.random.default_rng(6))
    clean = composite(rgb, alpha, background)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, clean)
    assert np.abs(a.astype(int) - clean).mean() < 4  # mild, not a different picture
    assert np.array_equal(composite(rgb, alpha, background, degrade=spec, rng=9),
                          composite(rgb, alpha, background, degrade=spec, rng=9))


def test_soften_edge_blurs_the_silhouette_but_not_the_interior():
    rgb, alpha = _person()
    rgb[40, 60] = (1.0, 0.0, 0.0)  # a sharp detail inside the person
    new_rgb, new_alpha = soften_edge(rgb, alpha, 1.0)
    assert np.array_equal(new_rgb[40, 60], rgb[40, 60])
    assert np.allclose(new_alpha[30:70, 55:72], 1.0)
    assert 0.0 < new_alpha[50, 48] < 0.5  # a soft halo just outside the old edge
    assert new_alpha[50, 50] < 1.0
    assert np.array_equal(soften_edge(rgb, alpha, 0.0)[1], alpha)


def test_degrade_spec_validates():
    with pytest.raises(ValueError, match="jpeg_quality"):
        DegradeSpec(jpeg_quality=0)
    with pytest.raises(ValueError, match="noise_sigma"):
        DegradeSpec(noise_sigma=-1)
