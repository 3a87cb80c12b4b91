"""What an avatar looks like: albedo skin, faces with eyes, age-scaled features, prints, strand hair.

Mechanisms, not timings: each test would fail if its feature broke (e.g. eyes coloured by a
wrong axis, stripes turned to noise, speckle back on the skin, old identity files refused).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from random_people.avatar.appearance import EYES, HAIR, SKIN, TOP, AppearanceParams
from random_people.avatar.build import build_avatar
from random_people.avatar.face import face_features
from random_people.avatar.fabric import STRIPE_PERIOD_M
from random_people.avatar.identity import IdentityError, IdentitySpec
from random_people.avatar.pipeline import appearance_params
from random_people.avatar.skin import luminance, monk_albedo
from random_people.body import load_body_model

LUMA = np.array([0.2126, 0.7152, 0.0722])


@pytest.fixture(scope="module")
def anny():
    return load_body_model(kind="anny")


def _spec(**appearance) -> IdentitySpec:
    data = {
        "seed": 5, "body": {"sex": "male", "gender": 0.05, "age_years": 72.0},
        "appearance": {"skin_tone": 9, "hair_style": "short", "hair_color": "grey",
                       "top": {"type": "tshirt", "color": "navy"}, "bottom": {"type": "trousers", "color": "denim"},
                       "shoes": {"type": "sneakers", "color": "white"}, **appearance},
    }
    return IdentitySpec.from_dict(data)


def _build(anny, spec: IdentitySpec, n: int = 12000):
    from random_people.avatar.identity import anny_phenotype

    return build_avatar(anny, anny.shape_from_phenotype(**anny_phenotype(spec)), appearance_params(spec),
                        seed=spec.seed, n_gaussians=n)


def test_monk_albedo_is_skin_not_paint_and_ordered_by_lightness():
    tones = [np.array(monk_albedo(t)) for t in range(1, 11)]
    assert max(tones[0]) < 0.7  # MST 1's swatch is 92 % in linear light; skin reflects far less
    assert tones[0][0] > tones[0][1] > tones[0][2]  # warm, not white
    lightness = [float(luminance(t)) for t in tones]
    assert all(a > b for a, b in zip(lightness, lightness[1:])), lightness
    assert lightness[-1] > 0.01  # the darkest tone is still a colour, not black


def test_identity_look_is_deterministic(anny):
    spec = _spec()
    a, b = _build(anny, spec, 6000), _build(anny, spec, 6000)
    assert torch.equal(a.binding.colors, b.binding.colors)
    assert torch.equal(a.binding.specular, b.binding.specular)


def test_eyes_have_pupil_iris_and_sclera_where_the_eyes_are(anny):
    blue = _build(anny, _spec(iris_color="blue"), 20000)
    brown = _build(anny, _spec(iris_color="dark_brown"), 20000)
    for avatar, iris_is_blue in ((blue, True), (brown, False)):
        g, part = avatar.canonical(), avatar.binding.part
        eyes = (part == EYES).numpy()
        assert eyes.sum() > 60
        means = g.means.numpy()[eyes]
        colors = g.colors.numpy()[eyes]
        joints = avatar.rest_joints.numpy()
        # Angle of each eye Gaussian from straight ahead (-y), seen from the rig's eye joints
        # (the eyeballs' centres), independently of how the builder finds the eyes.
        angles = np.zeros(len(means))
        for sign, name in ((1.0, "eye.L"), (-1.0, "eye.R")):
            mine = np.sign(means[:, 0]) == sign
            front = means[mine]
            centre = joints[anny.bone_index(name)]
            direction = (front - centre) / np.linalg.norm(front - centre, axis=1, keepdims=True)
            axis = np.array([0.0, -1.0, 0.0])
            angles[mine] = np.degrees(np.arccos(np.clip(direction @ axis, -1, 1)))
        lum = colors @ LUMA
        centre_lum = np.median(lum[angles < np.percentile(angles, 8)])
        outer_lum = np.median(lum[angles > np.percentile(angles, 75)])
        assert centre_lum < 0.1 and outer_lum > 0.3, (centre_lum, outer_lum)  # dark iris/pupil, white sclera
        ring = (angles > np.percentile(angles, 10)) & (angles < np.percentile(angles, 30)) & (lum < 0.25)
        assert ring.sum() > 3
        mean_ring = colors[ring].mean(0)
        assert (mean_ring[2] > mean_ring[0]) == iris_is_blue, mean_ring


def test_a_childs_features_are_scaled_differently_from_an_adults():
    child, adult = face_features(3.0, "female"), face_features(30.0, "female")
    assert child.iris_fraction > adult.iris_fraction
    assert child.brow_thickness < adult.brow_thickness
    assert child.brow_strength < adult.brow_strength and child.lip_strength < adult.lip_strength
    man = face_features(30.0, "male")
    assert man.brow_thickness > adult.brow_thickness


def test_stripes_have_a_dominant_frequency_and_solid_has_none(anny):
    shape = anny.shape_from_phenotype()
    spectra = {}
    for pattern in ("stripes", "solid"):
        avatar = build_avatar(anny, shape, AppearanceParams(top_type="longsleeve", top_pattern=pattern,
                                                            top_rgb=(0.6, 0.1, 0.1), top_pattern_rgb=(0.9, 0.9, 0.9)),
                              seed=1, n_gaussians=20000)
        g, part = avatar.canonical(), avatar.binding.part.numpy()
        means = g.means.numpy()
        chest = (part == TOP) & (np.abs(means[:, 0]) < 0.08) & (means[:, 1] < 0)
        z, lum = means[chest, 2], g.colors.numpy()[chest] @ LUMA
        bins = np.arange(z.min(), z.max(), 0.005)
        index = np.digitize(z, bins)
        profile = np.array([lum[index == i].mean() if (index == i).any() else np.nan for i in range(1, len(bins))])
        profile = np.nan_to_num(profile - np.nanmean(profile))
        power = np.abs(np.fft.rfft(profile)) ** 2
        freqs = np.fft.rfftfreq(len(profile), d=0.005)
        spectra[pattern] = (freqs, power)
    freqs, power = spectra["stripes"]
    peak = freqs[1:][np.argmax(power[1:])]
    assert abs(peak - 1.0 / STRIPE_PERIOD_M) < 3.0, peak  # cycles per metre
    assert power[1:].max() > 20 * spectra["solid"][1][1:].max()


def test_no_speckle_on_an_elders_dark_face(anny):
    from scipy.spatial import cKDTree

    avatar = _build(anny, _spec(skin_tone=10), 20000)
    g, part = avatar.canonical(), avatar.binding.part.numpy()
    means, colors = g.means.numpy(), g.colors.numpy()
    head_z = float(avatar.rest_joints.numpy()[:, 2].max())
    face = (part == SKIN) & (means[:, 2] > head_z - 0.12) & (means[:, 1] < -0.03)
    pts, rgb = means[face], colors[face]
    _, nearest = cKDTree(pts).query(pts, k=7)
    local = rgb[nearest[:, 1:]].mean(axis=1)
    lum, local_lum = rgb @ LUMA, local @ LUMA
    relative = np.abs(lum - local_lum) / np.maximum(local_lum, 1e-4)
    assert np.median(relative) < 0.06, np.median(relative)
    # No coloured speckle: chromaticity barely changes between neighbours.
    chroma = rgb / np.maximum(rgb.sum(1, keepdims=True), 1e-6)
    local_chroma = local / np.maximum(local.sum(1, keepdims=True), 1e-6)
    assert np.median(np.abs(chroma - local_chroma).max(1)) < 0.02


def test_hair_is_made_of_elongated_strands(anny):
    avatar = _build(anny, _spec(hair_style="long", hair_color="brown"), 12000)
    scales = avatar.binding.local_scale[avatar.binding.part == HAIR]
    ratio = (scales[:, 0] / scales[:, 1]).numpy()
    assert np.median(ratio) > 1.5
    spec = avatar.binding.specular
    assert float(spec[avatar.binding.part == HAIR].mean()) > float(spec[avatar.binding.part == SKIN].mean())


def test_facial_hair_adds_strands_and_needs_age(anny):
    bare, bearded = _build(anny, _spec(hair_style="bald"), 8000), _build(anny, _spec(hair_style="bald", facial_hair="beard"), 8000)
    assert int((bare.binding.part == HAIR).sum()) == 0 and int((bearded.binding.part == HAIR).sum()) > 100
    data = _spec().to_dict()
    data["body"].update(age_years=8.0)
    data["appearance"]["facial_hair"] = "beard"
    with pytest.raises(IdentityError, match="facial_hair"):
        IdentitySpec.from_dict(data)


def test_identity_files_from_before_iris_and_facial_hair_load_with_the_same_id():
    spec = _spec()
    old = spec.to_dict()
    del old["appearance"]["iris_color"], old["appearance"]["facial_hair"]
    # The id as the first release computed it: sha256 of the canonical seed/body/appearance JSON.
    canonical = json.dumps({k: old[k] for k in ("seed", "body", "appearance")}, sort_keys=True, separators=(",", ":"))
    old_id = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    loaded = IdentitySpec.from_dict(json.loads(json.dumps(old)))
    assert loaded.appearance.iris_color == "brown" and loaded.appearance.facial_hair == "none"
    assert loaded.id == old_id
    assert _spec(iris_color="blue").id != old_id


def test_lighting_uses_the_appearances_own_specular(anny):
    """The lips and eyes the appearance marks as glossy reach the renderer's highlight weights, and
    the eyes' gloss is a catchlight at the cornea's apex, not spread over the eyeball."""
    from random_people.avatar.appearance import EYE_CATCHLIGHT_SPECULAR, EYE_SCLERA_SPECULAR
    from random_people.avatar.shading import specular_weights

    avatar = _build(anny, _spec())
    weights = specular_weights(avatar.binding)
    assert torch.equal(weights, avatar.binding.specular.to(weights.dtype))
    eyes = (avatar.binding.part == avatar.binding.part_names.index("eyes")).numpy()
    eye_weights = weights.double().numpy()[eyes]
    assert eye_weights.max() > 0.5 * EYE_CATCHLIGHT_SPECULAR  # a catchlight exists
    assert eye_weights.min() == pytest.approx(EYE_SCLERA_SPECULAR, abs=1e-3)
    assert (eye_weights > 0.5 * EYE_CATCHLIGHT_SPECULAR).mean() < 0.1, np.sort(eye_weights)  # and is small


def _eye_close_up(avatar, size: int = 1024):
    """Studio-lit front close-up of the eyes (uint8) and masks of the iris/pupil and sclera pixels."""
    from dataclasses import replace

    from random_people.avatar.sheets import render_view, view_camera
    from random_people.render.rasterize import rasterize

    lit = render_view(avatar, "eyes", size, studio_light=True)
    g = avatar.canonical()
    eyes = avatar.binding.part == EYES
    dark = (g.colors @ torch.tensor(LUMA, dtype=g.colors.dtype)) < 0.25
    labels = torch.zeros_like(g.colors)
    labels[eyes & dark, 0] = 1.0  # iris and pupil
    labels[eyes & ~dark, 1] = 1.0  # sclera
    label = rasterize(replace(g, colors=labels), view_camera(avatar, "eyes", size), with_extras=False,
                      backend="cpu").rgb.numpy()
    iris, sclera = label[..., 0], label[..., 1]
    return lit, (iris > 0.3) & (iris > sclera), (sclera > 0.3) & (sclera > iris)


def test_lit_eyes_show_a_dark_iris_and_only_a_small_catchlight(anny):
    """Issue 13: with 0.9 gloss over the whole eyeball the renderer's broad highlight lit most of the
    eye in a studio close-up and hid the iris (then: iris pixels brighter than the sclera's, 43-59 %
    of the eye within 80 % of its brightest pixel). Now the iris reads darker than the sclera and the
    brightest pixels are a small spot (the catchlight): 8-22 %."""
    for skin_tone, iris, age in ((9, "brown", 25.0), (3, "blue", 4.0)):
        spec = _spec(skin_tone=skin_tone, iris_color=iris).to_dict()
        spec["body"]["age_years"] = age
        avatar = _build(anny, IdentitySpec.from_dict(spec), 20000)
        lit, iris_px, sclera_px = _eye_close_up(avatar)
        assert iris_px.sum() > 200 and sclera_px.sum() > 20, (iris_px.sum(), sclera_px.sum())
        luma = lit.astype(float) @ LUMA
        eye = luma[iris_px | sclera_px]
        assert np.median(luma[iris_px]) < np.median(luma[sclera_px]) - 10, (np.median(luma[iris_px]),
                                                                            np.median(luma[sclera_px]))
        bright_share = float((eye > 0.8 * eye.max()).mean())
        assert bright_share < 0.3, bright_share
        assert eye.max() > 110  # the catchlight still gives the eye a light spot
