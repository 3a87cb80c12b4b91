"""Lighting: SH environment light, key light, ambient occlusion, normals that follow the pose, assets."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from random_people.avatar.binding import pose_binding
from random_people.render.backgrounds import ColorBackground, list_backgrounds, load_background
from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera
from random_people.render.environments import (
    assets_dir,
    environment_light,
    equirect_directions,
    equirect_solid_angles,
    estimate_light,
    lighting_for_background,
    list_environments,
    load_environment,
    photo_backgrounds,
    studio_light,
)
from random_people.render.lighting import (
    EnvironmentLight,
    environment_to_world,
    light_gaussians,
    project_sh,
    shade_colors,
    sh_irradiance,
)
from random_people.render.lighting_reference import reference_capsule_occlusion, reference_shade
from random_people.render.occlusion import bake_ambient_occlusion, capsule_occlusion, fibonacci_directions
from random_people.render.rasterize import rasterize
from random_people.render.types import Gaussians

HDRI_DIR = Path("/usr/share/blender/datafiles/studiolights/world")
ROOT = Path(__file__).resolve().parents[1]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _sh_of(function, height: int = 256, width: int = 512) -> np.ndarray:
    dirs = equirect_directions(height, width)
    values = function(dirs)
    return project_sh(values.reshape(-1, 3), dirs.reshape(-1, 3), equirect_solid_angles(height, width).reshape(-1))


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


# ------------------------------------------------------------------------------------------ SH


def test_constant_environment_gives_the_same_irradiance_everywhere():
    radiance = np.array([0.2, 0.5, 1.3])
    sh = _sh_of(lambda d: np.broadcast_to(radiance, d.shape))
    normals = _unit(np.random.default_rng(0), 500)
    irradiance = sh_irradiance(normals, sh)
    # A constant radiance L gives E = pi * L on every surface, whatever its orientation.
    np.testing.assert_allclose(irradiance, np.broadcast_to(math.pi * radiance, irradiance.shape), rtol=2e-3)


def test_sh_irradiance_equals_the_cosine_integral_of_a_low_order_environment():
    def radiance(d):
        x, y, z = d[..., 0], d[..., 1], d[..., 2]
        grey = 1.0 + 0.6 * z + 0.3 * x * x - 0.2 * x * y
        return np.stack([grey, 0.5 * grey, 1.0 + 0.4 * y], axis=-1)

    sh = _sh_of(radiance)
    dirs = equirect_directions(256, 512).reshape(-1, 3)
    omega = equirect_solid_angles(256, 512).reshape(-1)
    values = radiance(dirs)
    for n in _unit(np.random.default_rng(1), 12):
        brute = (values * (np.maximum(dirs @ n, 0.0) * omega)[:, None]).sum(axis=0)
        np.testing.assert_allclose(sh_irradiance(n[None], sh)[0], brute, rtol=5e-3)


def _some_light(rng: np.random.Generator) -> EnvironmentLight:
    return EnvironmentLight(name="test", sh=rng.uniform(-0.3, 1.0, (9, 3)) + np.array([[1.5, 1.5, 1.5]] + [[0, 0, 0]] * 8),
                            key_direction=rng.standard_normal(3), key_irradiance=rng.uniform(0.5, 3.0, 3),
                            key_wrap=0.3, exposure=0.7, yaw_deg=float(rng.uniform(-180, 180)))


def test_fast_shading_equals_the_reference():
    rng = np.random.default_rng(2)
    n = 300
    albedo = rng.uniform(0.0, 1.0, (n, 3))
    normals, view = _unit(rng, n), _unit(rng, n)
    occlusion, specular = rng.uniform(0.05, 1.0, n), rng.uniform(0.0, 0.4, n)
    light = _some_light(rng)
    R = _random_rotation(rng)
    fast = shade_colors(albedo, normals, light, R, occlusion, view, specular)
    slow = reference_shade(albedo, normals, light, R, occlusion, view, specular)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)
    assert fast.max() < 1.0 and fast.min() >= 0.0 and fast.std() > 0.02


def test_capsule_occlusion_equals_the_reference():
    rng = np.random.default_rng(3)
    points, normals = rng.uniform(-0.5, 0.5, (200, 3)), _unit(rng, 200)
    starts, ends, radii = rng.uniform(-0.5, 0.5, (6, 3)), rng.uniform(-0.5, 0.5, (6, 3)), rng.uniform(0.03, 0.1, 6)
    fast = capsule_occlusion(*(torch.from_numpy(a) for a in (points, normals, starts, ends, radii)), limit=0.85)
    slow = [reference_capsule_occlusion(p, nn, starts, ends, radii, 0.85) for p, nn in zip(points, normals)]
    np.testing.assert_allclose(fast.numpy(), slow, rtol=1e-9, atol=1e-12)


def test_a_surface_facing_the_key_light_is_brighter_than_one_facing_away():
    light = EnvironmentLight(name="t", sh=_sh_of(lambda d: np.full(d.shape, 0.1)), key_direction=[0, 0, 1],
                             key_irradiance=[2.0, 2.0, 2.0], key_wrap=0.3)
    normals = np.array([[0, 0, 1.0], [1.0, 0, 0], [0, 0, -1.0]])
    out = shade_colors(np.full((3, 3), 0.5), normals, light, np.eye(3))
    assert out[0, 0] > out[1, 0] > out[2, 0]
    np.testing.assert_allclose(out[2], 0.5 * 0.1, rtol=2e-2)  # only the environment lights the far side


def test_environment_turns_with_the_camera():
    forward = np.array([0.3, -0.9, 0.2])
    up = np.array([0.1, 0.2, 1.0]) / np.linalg.norm([0.1, 0.2, 1.0])
    R = environment_to_world(40.0, forward, up)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(R @ [0, 0, 1.0], up, atol=1e-12)
    yaw = math.radians(40.0)
    ahead = R @ [math.cos(yaw), math.sin(yaw), 0.0]
    flat = forward - (forward @ up) * up
    np.testing.assert_allclose(ahead, flat / np.linalg.norm(flat), atol=1e-12)


# ------------------------------------------------------------------------ occlusion and normals


def _icosphere(radius: float, centre, subdivisions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    t = (1 + math.sqrt(5)) / 2
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
         (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
         (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
         (8, 6, 7), (9, 8, 1)]
    verts = [np.array(p, float) / np.linalg.norm(p) for p in v]
    faces = list(f)
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]

        faces = [tri for a, b, c in faces for tri in
                 ((a, mid(a, b), mid(a, c)), (b, mid(b, c), mid(a, b)), (c, mid(a, c), mid(b, c)), (mid(a, b), mid(b, c), mid(a, c)))]
    return np.array(verts) * radius + np.asarray(centre, float), np.array(faces)


def test_baked_occlusion_is_open_on_a_lone_sphere_and_dark_where_two_spheres_meet():
    v1, f1 = _icosphere(0.2, (0, 0, 0))
    v2, f2 = _icosphere(0.2, (0.45, 0, 0))
    points, normals = v1, v1 / np.linalg.norm(v1, axis=1, keepdims=True)
    alone = bake_ambient_occlusion(v1, f1, points, normals)
    assert alone.min() > 0.97  # a convex body does not occlude itself
    both = bake_ambient_occlusion(np.concatenate([v1, v2]), np.concatenate([f1, f2 + len(v1)]), points, normals)
    facing = normals[:, 0] > 0.95  # the cap looking at the other sphere
    away = normals[:, 0] < -0.5
    assert both[facing].mean() < 0.75 and both[away].min() > 0.97


def test_normals_follow_a_rigid_motion_of_the_mesh():
    from random_people.avatar.binding import SurfaceBinding

    vertices, faces = _icosphere(0.3, (0, 0, 0), subdivisions=2)
    rng = np.random.default_rng(5)
    n = 400
    tri = rng.integers(0, len(faces), n)
    bary = rng.dirichlet(np.ones(3), n).astype(np.float32)
    binding = SurfaceBinding(
        faces=torch.from_numpy(faces), triangle=torch.from_numpy(tri), barycentric=torch.from_numpy(bary),
        offset=torch.zeros(n), local_quat=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), local_scale=torch.full((n, 3), 0.1),
        colors=torch.full((n, 3), 0.5), opacities=torch.full((n,), 0.9), part=torch.zeros(n, dtype=torch.int64),
    )
    rest = pose_binding(binding, torch.from_numpy(vertices).float())
    # outward on a sphere: the normal is (close to) the direction from the centre
    cos = (rest.normals * torch.nn.functional.normalize(rest.means, dim=1)).sum(1)
    assert cos.min() > 0.97
    R = torch.from_numpy(_random_rotation(rng)).float()
    moved = pose_binding(binding, torch.from_numpy(vertices).float() @ R.T + torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(moved.normals, rest.normals @ R.T, atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def small_avatar():
    from random_people.avatar.build import build_avatar
    from random_people.avatar.pipeline import appearance_params
    from random_people.avatar.sampler import sample_identities
    from random_people.body import load_body_model

    model = load_body_model(kind="anny")
    spec = sample_identities(1, 3)[0]
    from random_people.avatar.identity import anny_phenotype

    shape = model.shape_from_phenotype(**anny_phenotype(spec))
    return model, build_avatar(model, shape, appearance_params(spec), seed=spec.seed, n_gaussians=6000)


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising |R (a - mean a) - (b - mean b)|."""
    a0, b0 = a - a.mean(0), b - b.mean(0)
    U, _, Vt = np.linalg.svd(b0.T @ a0)
    d = np.sign(np.linalg.det(U @ Vt))
    return U @ np.diag([1, 1, d]) @ Vt


def test_rotating_a_limb_rotates_its_gaussians_normals(small_avatar):
    model, avatar = small_avatar
    body = model.prepare(avatar.shape)
    local, root, trans = model.identity_pose(1)
    bent = local.clone()
    bent[0, model.bone_index(model.fit_bones()["left_lowerarm"])] = torch.tensor(
        [[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]], dtype=bent.dtype)  # 90 degrees about the bone's x
    rest_v = model.vertices(body, local, root, trans)[0].float()
    bent_v = model.vertices(body, bent, root, trans)[0].float()
    rest_g, bent_g = pose_binding(avatar.binding, rest_v), pose_binding(avatar.binding, bent_v)
    moved = (bent_g.means - rest_g.means).norm(dim=1) > 0.1  # the forearm and hand, far from the elbow
    moved_vertices = rest_v[(bent_v - rest_v).norm(dim=1) > 1e-6]
    still = torch.cdist(rest_g.means, moved_vertices).min(dim=1).values > 0.05  # away from anything that moved
    assert 50 < int(moved.sum()) and int(still.sum()) > len(rest_g) // 2
    R = _kabsch(rest_g.means[moved].double().numpy(), bent_g.means[moved].double().numpy())
    assert math.degrees(math.acos((np.trace(R) - 1) / 2)) > 60  # the limb really turned
    expected = rest_g.normals[moved].double().numpy() @ R.T
    angles = np.degrees(np.arccos(np.clip((expected * bent_g.normals[moved].double().numpy()).sum(1), -1, 1)))
    assert np.median(angles) < 8.0
    # elsewhere nothing moved, so nothing turned
    torch.testing.assert_close(bent_g.normals[still], rest_g.normals[still], atol=1e-5, rtol=0)


def test_avatar_occlusion_is_baked_cached_and_saved(small_avatar, tmp_path):
    from random_people.avatar.files import load_avatar, save_avatar

    _, avatar = small_avatar
    ao = avatar.occlusion()
    assert avatar.occlusion() is ao and ao.shape == (len(avatar),) and 0.0 < float(ao.min()) and float(ao.max()) <= 1.0
    parts = dict(zip(avatar.binding.part_names, range(len(avatar.binding.part_names))))
    skin = avatar.binding.part == parts["skin"]
    assert float(ao[skin].std()) > 0.05  # armpits and the inside of the legs are darker than the chest
    canonical = avatar.canonical()
    assert canonical.ambient_occlusion is not None and canonical.specular is not None
    save_avatar(avatar, tmp_path / "a.ply")
    loaded = load_avatar(tmp_path / "a.ply")
    assert torch.equal(loaded.ambient_occlusion, ao)


def test_lighting_changes_the_image_and_lights_the_side_facing_the_key(small_avatar):
    _, avatar = small_avatar
    gaussians = avatar.canonical()
    centre = gaussians.means.mean(0).numpy()
    # Anny faces -Y: the camera stands in front looking along +Y; the key comes from the
    # environment's -Y, the camera's right, i.e. world +X.
    camera = make_camera(intrinsics_from_fov(256, 256, 40), look_at(centre + [0, -4.0, 0], centre, (0, 0, 1.0)), 256, 256)
    light = EnvironmentLight(name="t", sh=_sh_of(lambda d: np.full(d.shape, 0.05)), key_direction=[0.0, -1.0, 0.0],
                             key_irradiance=[3.0, 3.0, 3.0], key_wrap=0.0, yaw_deg=0.0)
    lit = light_gaussians(gaussians, light, camera, up_world=np.array([0, 0, 1.0]))
    unlit_image = rasterize(gaussians, camera, backend="cpu", with_extras=False)
    lit_image = rasterize(lit, camera, backend="cpu", with_extras=False)
    assert (lit_image.rgb - unlit_image.rgb).abs().max() > 0.1
    key_world = environment_to_world(0.0, np.array([0, 1.0, 0]), np.array([0, 0, 1.0])) @ light.key_direction
    np.testing.assert_allclose(key_world, [1.0, 0, 0], atol=1e-12)
    # in the picture: the person's half on the image's right (world +X) is the brighter one
    alpha, rgb = lit_image.alpha.numpy(), lit_image.rgb.numpy().mean(-1)
    cols = np.flatnonzero(alpha.max(0) > 0.5)
    mid = (cols.min() + cols.max()) // 2
    body = alpha > 0.5
    right = rgb[:, mid:][body[:, mid:]].mean() / alpha[:, mid:][body[:, mid:]].mean()
    left = rgb[:, :mid][body[:, :mid]].mean() / alpha[:, :mid][body[:, :mid]].mean()
    assert right > 1.3 * left
    normals = gaussians.normals.numpy()
    facing = lit.colors[torch.from_numpy(normals @ key_world > 0.7)].mean()
    away = lit.colors[torch.from_numpy(normals @ key_world < -0.7)].mean()
    assert facing > 2 * away


# ----------------------------------------------------------------------------- environments


def test_shipped_environments_load_and_have_their_photographs():
    names = list_environments()
    assert names == ["city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset"]
    readme = (assets_dir() / "environments" / "README.md").read_text()
    assert "CC0" in readme and "Greg Zaal" in readme
    for name in names:
        data = load_environment(name)
        assert data["source"]["license"] == "CC0-1.0" and len(data["source"]["sha256"]) == 64
        light = environment_light(name)
        assert np.isfinite(light.sh).all() and light.sh[0].min() > 0  # some light from everywhere
        assert abs(np.linalg.norm(light.key_direction) - 1) < 1e-6 and light.key_irradiance.min() >= 0
        assert len(data["views"]) == 4
        for view in data["views"]:
            background = load_background(view["name"])
            assert background.size == tuple(view["size"]) == (768, 432)
    assert environment_light("city").describe() == environment_light("city").describe()


@pytest.mark.skipif(not (HDRI_DIR / "city.exr").is_file(), reason="blender-data is not installed (apt-get install blender-data)")
def test_hdri_assets_rebuild_to_the_same_files(tmp_path):
    from random_people.render.hdri_assets import build_all

    build_all(HDRI_DIR, tmp_path, names=["city"])
    rebuilt = json.loads((tmp_path / "environments" / "city.json").read_text())
    shipped = load_environment("city")
    assert rebuilt == shipped
    assert shipped["source"]["sha256"] == hashlib.sha256((HDRI_DIR / "city.exr").read_bytes()).hexdigest()
    for view in shipped["views"]:
        assert (tmp_path / view["file"]).read_bytes() == (assets_dir() / view["file"]).read_bytes()


def test_a_shipped_photograph_brings_its_environment_and_view():
    views = photo_backgrounds()
    assert set(views) == set(list_backgrounds("photo"))
    light = lighting_for_background(load_background("forest_3"), seed=1)
    assert light.source == "environment" and light.name == "forest"
    assert light.yaw_deg == pytest.approx(views["forest_3"][1])
    assert light.describe()["view"] == "forest_3"


def test_a_copy_of_a_shipped_photograph_elsewhere_gets_estimated_light(tmp_path):
    copy = tmp_path / "forest_3.jpg"
    shutil.copy(assets_dir() / "backgrounds" / "forest_3.jpg", copy)
    light = lighting_for_background(load_background(copy))
    assert light.source == "estimated"
    assert lighting_for_background(load_background("cartoon_park")).source == "estimated"


def test_plain_colours_get_a_seeded_neutral_studio_light():
    grey = ColorBackground((128, 128, 128))
    a, b, c = (lighting_for_background(grey, seed=s) for s in (1, 1, 2))
    assert a.source == "studio" and a.describe() == b.describe() and a.yaw_deg != c.yaw_deg
    assert np.allclose(a.sh[:, 0], a.sh[:, 1]) and np.allclose(a.key_irradiance, a.key_irradiance[0])  # neutral


def test_light_is_estimated_from_where_a_picture_is_bright():
    image = np.full((90, 160, 3), 40, np.uint8)
    image[:30, 110:] = (255, 230, 200)  # a bright warm window top right
    light = estimate_light(image)
    x, y, z = light.key_direction
    # environment frame: the camera looks along +X, its right is -Y; the key falls on the visible side
    assert y < -0.2 and z > 0.2 and x < 0
    assert light.key_irradiance[0] > light.key_irradiance[2]  # warm
    dark = estimate_light(np.full((90, 160, 3), 40, np.uint8))
    assert sh_irradiance(np.array([[0, 0, 1.0]]), light.sh).sum() > sh_irradiance(np.array([[0, 0, 1.0]]), dark.sh).sum()


def test_nothing_at_run_time_reads_usr_share(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        opened = []
        sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and args else None)
        import numpy as np, torch
        from random_people.render.backgrounds import list_backgrounds, load_background, ColorBackground
        from random_people.render.environments import lighting_for_background
        from random_people.render.clip import FrameInput, render_clip
        from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera
        from random_people.render.types import Gaussians
        for name in list_backgrounds():
            lighting_for_background(load_background(name), seed=1)
        light = lighting_for_background(ColorBackground((90, 90, 90)), seed=1)
        n = 200
        g = Gaussians(means=torch.randn(n, 3) * 0.2, quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                      scales=torch.full((n, 3), 0.05), opacities=torch.full((n,), 0.9), colors=torch.full((n, 3), 0.5))
        cam = make_camera(intrinsics_from_fov(64, 64, 40), look_at(np.array([0, -3.0, 0]), np.zeros(3), (0, 0, 1.0)), 64, 64)
        render_clip([FrameInput(g)], cam, load_background("city_1"), r"{tmp_path}", "c", width=64, height=64, fps=10,
                    backend="cpu", lighting=lighting_for_background(load_background("city_1")))
        bad = [p for p in opened if p.startswith("/usr/share")]
        print("OPENED", len(opened), "USR_SHARE", bad)
        assert not bad, bad
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "USR_SHARE []" in done.stdout
