"""The rasterizer: projection equals gsplat's, images equal the dense reference, edge cases, bad input.

Small scenes only (the dense reference is every pixel x every Gaussian); timing lives in
``benchmarks/render.py``.
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from random_people.errors import RandomPeopleError
from random_people.render import cpu_backend
from random_people.render.cpu_backend import project_gaussians
from random_people.render.gsplat_backend import gsplat_arguments, render_gsplat
from random_people.render.rasterize import available_backends, rasterize, resolve_backend
from random_people.render.reference import project_reference, rasterize_reference, rasterize_tiles_torch
from random_people.render.types import Camera, Gaussians
from random_people.render.validation import RenderBackendUnavailableError, RenderInputError

BACKGROUND = torch.tensor([0.2, 0.3, 0.4])


def make_camera(width: int = 64, height: int = 48, fov_deg: float = 60.0, yaw: float = 0.2) -> Camera:
    """An off-centre pinhole (cx, cy not at the middle, fx != fy) with a rotated, translated pose."""
    f = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    K = torch.tensor([[f, 0.0, width / 2 + 1.3], [0.0, f * 1.05, height / 2 - 2.1], [0.0, 0.0, 1.0]])
    c, s = math.cos(yaw), math.sin(yaw)
    view = torch.eye(4)
    view[:3, :3] = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    view[:3, 3] = torch.tensor([0.1, -0.2, 0.3])
    return Camera(K=K, world_to_camera=view, width=width, height=height)


def world_from_camera(camera: Camera, points_cam: torch.Tensor) -> torch.Tensor:  # [N, 3] -> [N, 3]
    R, t = camera.world_to_camera[:3, :3], camera.world_to_camera[:3, 3]
    return (points_cam - t) @ R


def random_gaussians(n: int, seed: int, camera: Camera, depth: float = 3.0, spread: float = 0.6,
                     labels: int = 2) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    points_cam = torch.randn(n, 3, generator=g) * torch.tensor([spread, spread * 0.8, 0.5])
    points_cam[:, 2] += depth
    return Gaussians(
        means=world_from_camera(camera, points_cam),
        quats=torch.randn(n, 4, generator=g),
        scales=torch.rand(n, 3, generator=g) * 0.1 + 0.005,
        opacities=torch.rand(n, generator=g),
        colors=torch.rand(n, 3, generator=g),
        labels=torch.rand(n, labels, generator=g) if labels else None,
    )


def one_gaussian(camera: Camera, point_cam, scale: float, opacity: float = 1.0) -> Gaussians:
    return Gaussians(
        means=world_from_camera(camera, torch.tensor([point_cam], dtype=torch.float32)),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
        scales=torch.full((1, 3), scale),
        opacities=torch.tensor([opacity]),
        colors=torch.tensor([[0.9, 0.5, 0.1]]),
        labels=torch.tensor([[1.0, 0.0]]),
    )


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 1.0) -> float:
    mse = float(((a.double() - b.double()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def assert_matches_reference(gaussians: Gaussians, camera: Camera, background=BACKGROUND) -> None:
    out = rasterize(gaussians, camera, background, backend="cpu")
    ref = rasterize_reference(gaussians, camera, background)
    peak_depth = max(float(ref.depth.max()), 1e-6)
    scores = {
        "rgb": psnr(out.rgb, ref.rgb),
        "alpha": psnr(out.alpha, ref.alpha),
        "depth": psnr(out.depth, ref.depth, peak_depth),
    }
    if ref.extras is not None:
        scores["extras"] = psnr(out.extras, ref.extras)
    assert all(score > 40 for score in scores.values()), scores
    # Same rules, so the only differences are float32 rounding: no pixel may be off by more.
    assert float((out.rgb.double() - ref.rgb).abs().max()) < 1e-3
    assert float((out.alpha.double() - ref.alpha).abs().max()) < 1e-3


# ----------------------------------------------------------------------------------------------
# Projection
# ----------------------------------------------------------------------------------------------


def projection_scene(seed: int, camera: Camera) -> Gaussians:
    """Gaussians everywhere: in view, behind the camera, beyond far, off-screen but large enough
    to reach the image (where gsplat's clamped Jacobian matters)."""
    gaussians = random_gaussians(300, seed, camera, depth=2.0, spread=2.5, labels=0)
    g = torch.Generator().manual_seed(seed + 100)
    gaussians.scales[::7] = torch.rand(gaussians.scales[::7].shape, generator=g) * 1.5 + 0.2
    return gaussians


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_projection_equals_gsplat_torch_impl(seed):
    from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci

    camera = make_camera()
    gs = projection_scene(seed, camera)
    # gsplat's reference in float64 so the comparison measures our maths, not float32 noise.
    covars, _ = _quat_scale_to_covar_preci(gs.quats.double(), gs.scales.double(), True, False)
    radii_ref, means2d_ref, depths_ref, conics_ref, _ = _fully_fused_projection(
        gs.means.double(), covars, camera.world_to_camera.double()[None], camera.K.double()[None],
        camera.width, camera.height, 0.3, camera.near, camera.far,
    )
    radii, means2d, depths, conics = project_gaussians(
        gs.means, gs.quats, gs.scales, None, camera.world_to_camera, camera.K, camera.width, camera.height,
    )
    radii_ref, means2d_ref, depths_ref, conics_ref = radii_ref[0], means2d_ref[0], depths_ref[0], conics_ref[0]
    visible = (radii_ref > 0).all(dim=1)
    assert 20 < int(visible.sum()) < len(gs), "the scene should mix visible and culled Gaussians"
    assert torch.equal(radii, radii_ref)
    torch.testing.assert_close(depths.double(), depths_ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(means2d[visible].double(), means2d_ref[visible], rtol=1e-6, atol=1e-4)
    scale = conics_ref[visible].abs().amax(dim=1, keepdim=True)
    torch.testing.assert_close(conics[visible].double() / scale, conics_ref[visible] / scale, rtol=0, atol=1e-6)
    # The clamp of x/z, y/z is exercised: some visible Gaussians have their centre off the image.
    off = (means2d_ref[visible, 0] < 0) | (means2d_ref[visible, 0] > camera.width)
    assert bool(off.any())


def test_projection_opacity_aware_box_as_gsplat_cuda():
    """With opacities (what gsplat.rasterization passes), the box is ceil(sqrt(2 ln(255 o)) sigma)
    and Gaussians below 1/255 opacity are culled, as in ProjectionEWA3DGSFused.cu."""
    camera = make_camera()
    gs = projection_scene(3, camera)
    gs.opacities[::11] = 0.002  # below 1/255: culled
    radii, _, _, _ = project_gaussians(
        gs.means, gs.quats, gs.scales, gs.opacities, camera.world_to_camera, camera.K, camera.width, camera.height,
    )
    ref = project_reference(gs.means.double(), gs.quats, gs.scales, gs.opacities, camera.world_to_camera,
                            camera.K, camera.width, camera.height)
    assert torch.equal(radii, ref["radii"])
    assert bool((radii[::11] == 0).all())
    plain, _, _, _ = project_gaussians(
        gs.means, gs.quats, gs.scales, None, camera.world_to_camera, camera.K, camera.width, camera.height,
    )
    assert bool((radii <= plain).all()) and bool((radii < plain).any())


# ----------------------------------------------------------------------------------------------
# Images against the dense reference
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, seed", [(50, 0), (200, 1), (200, 2)])
def test_image_matches_reference(n, seed):
    camera = make_camera()
    assert_matches_reference(random_gaussians(n, seed, camera), camera)


def test_image_matches_reference_across_tile_borders_and_odd_size():
    """37x29: partial tiles on the right and bottom; a few large Gaussians span many tiles."""
    camera = make_camera(width=37, height=29)
    gs = random_gaussians(120, 7, camera)
    gs.scales[:5] *= 6
    assert_matches_reference(gs, camera, background=None)


def test_early_termination_matches_reference():
    """Many opaque layers: most pixels stop long before the last Gaussian, exactly where gsplat would."""
    camera = make_camera()
    g = torch.Generator().manual_seed(5)
    n = 150
    points_cam = torch.cat([torch.randn(n, 2, generator=g) * 0.4, 2 + torch.rand(n, 1, generator=g)], dim=1)
    gs = Gaussians(
        means=world_from_camera(camera, points_cam),
        quats=torch.randn(n, 4, generator=g),
        scales=torch.rand(n, 3, generator=g) * 0.3 + 0.3,
        opacities=0.9 + 0.1 * torch.rand(n, generator=g),
        colors=torch.rand(n, 3, generator=g),
        labels=torch.rand(n, 3, generator=g),
    )
    out = rasterize(gs, camera, backend="cpu")
    # Most pixels are covered by many layers and stop at T <= 1e-4 (alpha ~ 1 - 1e-4 there).
    assert float((out.alpha > 0.999).float().mean()) > 0.5
    assert_matches_reference(gs, camera)


def test_labels_are_composited_like_colour():
    camera = make_camera()
    gs = random_gaussians(80, 4, camera, labels=3)
    gs.labels = gs.colors.clone()  # the same values as the colours...
    out = rasterize(gs, camera, backend="cpu")  # ...over a black background: the same image
    torch.testing.assert_close(out.extras, out.rgb)
    assert rasterize(gs, camera, backend="cpu", with_extras=False).extras is None


def test_float64_input_renders_like_float32():
    camera = make_camera()
    gs = random_gaussians(60, 8, camera)
    gs64 = Gaussians(*(t.double() for t in (gs.means, gs.quats, gs.scales, gs.opacities, gs.colors, gs.labels)))
    a = rasterize(gs, camera, BACKGROUND, backend="cpu")
    b = rasterize(gs64, camera, BACKGROUND.double(), backend="cpu")
    assert b.rgb.dtype == torch.float32
    torch.testing.assert_close(a.rgb, b.rgb)


def test_tile_baseline_matches_reference():
    """The benchmark's PyTorch baseline is a fair comparison only if it is correct."""
    camera = make_camera()
    gs = random_gaussians(100, 9, camera)
    base = rasterize_tiles_torch(gs, camera, BACKGROUND)
    ref = rasterize_reference(gs, camera, BACKGROUND)
    assert psnr(base.rgb, ref.rgb) > 40 and psnr(base.alpha, ref.alpha) > 40


# ----------------------------------------------------------------------------------------------
# Edge cases
# ----------------------------------------------------------------------------------------------


def test_empty_cloud_renders_the_background():
    camera = make_camera()
    empty = Gaussians(torch.zeros(0, 3), torch.zeros(0, 4), torch.zeros(0, 3), torch.zeros(0),
                      torch.zeros(0, 3), torch.zeros(0, 4))
    out = rasterize(empty, camera, BACKGROUND)
    assert out.rgb.shape == (48, 64, 3) and out.extras.shape == (48, 64, 4)
    assert torch.equal(out.rgb, BACKGROUND.expand(48, 64, 3))
    assert not out.alpha.any() and not out.depth.any() and not out.extras.any()
    assert not rasterize(empty, camera).rgb.any()  # no background: black


def test_gaussians_behind_the_camera_are_culled():
    camera = make_camera()
    gs = random_gaussians(50, 3, camera, depth=-3.0, spread=0.5)
    out = rasterize(gs, camera, BACKGROUND, backend="cpu")
    assert torch.equal(out.rgb, BACKGROUND.expand_as(out.rgb))
    assert not out.alpha.any() and not out.depth.any()


def test_one_gaussian_covering_the_whole_image():
    camera = make_camera()
    gs = one_gaussian(camera, [0.0, 0.0, 2.0], scale=1.5, opacity=0.8)
    out = rasterize(gs, camera, BACKGROUND, backend="cpu")
    assert float(out.alpha.min()) > 0.4  # every pixel, corners included
    torch.testing.assert_close(out.depth, torch.full_like(out.depth, 2.0))
    assert_matches_reference(gs, camera)


def test_pixel_sized_gaussian_touches_only_its_pixel_and_the_low_pass_neighbours():
    """A point-like Gaussian is the eps2d = 0.3 px^2 low-pass alone: 0.999 at its pixel, exp(-0.5 d^2/0.3)
    around it, below 1/255 from two pixels away."""
    camera = Camera(K=torch.tensor([[50.0, 0.0, 16.0], [0.0, 50.0, 16.0], [0.0, 0.0, 1.0]]),
                    world_to_camera=torch.eye(4), width=32, height=32)
    z = 2.0
    px, py = 10, 7  # centre of pixel (10, 7) is (10.5, 7.5)
    point = [(px + 0.5 - 16.0) * z / 50.0, (py + 0.5 - 16.0) * z / 50.0, z]
    out = rasterize(one_gaussian(camera, point, scale=1e-5), camera, backend="cpu")
    expected = torch.zeros(32, 32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            expected[py + dy, px + dx] = min(0.999, math.exp(-0.5 * (dx * dx + dy * dy) / 0.3))
    expected[expected < 1 / 255] = 0
    torch.testing.assert_close(out.alpha, expected, atol=1e-5, rtol=1e-4)
    assert float(out.depth[py, px]) == pytest.approx(z, rel=1e-6)
    torch.testing.assert_close(out.rgb[py, px], 0.999 * torch.tensor([0.9, 0.5, 0.1]))


def test_zero_opacity_draws_nothing():
    camera = make_camera()
    gs = random_gaussians(40, 2, camera)
    gs.opacities = torch.zeros(40)
    out = rasterize(gs, camera, BACKGROUND, backend="cpu")
    assert torch.equal(out.rgb, BACKGROUND.expand_as(out.rgb))
    assert not out.alpha.any()


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


def _bad_inputs():
    """(case id, field named in the message, function (gaussians, camera) -> (gaussians, camera, background))."""

    def gs_field(name, value_fn):
        def apply(gs, cam):
            setattr(gs, name, value_fn(getattr(gs, name)))
            return gs, cam, None
        return apply

    def cam_field(name, value_fn):
        def apply(gs, cam):
            setattr(cam, name, value_fn(getattr(cam, name)))
            return gs, cam, None
        return apply

    def set_at(index, value):
        def fn(t):
            t = t.clone()
            t[index] = value
            return t
        return fn

    return [
        ("means shape", "gaussians.means", gs_field("means", lambda t: t[:, :2])),
        ("quats count", "gaussians.quats", gs_field("quats", lambda t: t[:-1])),
        ("colors integer", "gaussians.colors", gs_field("colors", lambda t: (t * 255).to(torch.uint8))),
        ("labels 1-D", "gaussians.labels", gs_field("labels", lambda t: t[:, 0])),
        ("means NaN", "gaussians.means", gs_field("means", set_at((3, 1), float("nan")))),
        ("colors inf", "gaussians.colors", gs_field("colors", set_at((0, 0), float("inf")))),
        ("scales zero", "gaussians.scales", gs_field("scales", set_at((2, 0), 0.0))),
        ("scales negative", "gaussians.scales", gs_field("scales", set_at((2, 1), -0.01))),
        ("opacity above 1", "gaussians.opacities", gs_field("opacities", set_at(1, 1.5))),
        ("opacity below 0", "gaussians.opacities", gs_field("opacities", set_at(1, -0.1))),
        ("zero quaternion", "gaussians.quats", gs_field("quats", set_at(4, 0.0))),
        ("width zero", "camera.width", cam_field("width", lambda v: 0)),
        ("height zero", "camera.height", cam_field("height", lambda v: 0)),
        ("width float", "camera.width", cam_field("width", lambda v: 64.0)),
        ("fx zero", "camera.K", cam_field("K", set_at((0, 0), 0.0))),
        ("fy negative", "camera.K", cam_field("K", set_at((1, 1), -50.0))),
        ("K skew", "camera.K", cam_field("K", set_at((0, 1), 3.0))),
        ("K NaN", "camera.K", cam_field("K", set_at((0, 2), float("nan")))),
        ("pose scaled", "camera.world_to_camera", cam_field("world_to_camera", lambda t: t * torch.tensor(
            [[2.0], [2.0], [2.0], [1.0]]))),
        ("pose mirrored", "camera.world_to_camera",  # first row negated: det -1
         cam_field("world_to_camera", set_at((0, slice(0, 3)), torch.tensor([-0.9801, 0.0, -0.1987])))),
        ("pose last row", "camera.world_to_camera", cam_field("world_to_camera", set_at((3, 0), 0.5))),
        ("pose inf", "camera.world_to_camera", cam_field("world_to_camera", set_at((0, 3), float("inf")))),
        ("near zero", "camera.near", cam_field("near", lambda v: 0.0)),
        ("background shape", "background", lambda gs, cam: (gs, cam, torch.tensor([0.1, 0.2]))),
        ("background NaN", "background", lambda gs, cam: (gs, cam, torch.tensor([0.1, float("nan"), 0.2]))),
    ]


@pytest.mark.parametrize("case, field, make", _bad_inputs(), ids=[c[0] for c in _bad_inputs()])
def test_bad_input_is_refused_naming_the_field(case, field, make):
    camera = make_camera()
    gs, camera, background = make(random_gaussians(10, 0, camera), camera)
    with pytest.raises(RenderInputError) as info:
        rasterize(gs, camera, background, backend="cpu")
    assert field in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RandomPeopleError)
    assert info.value.exit_code == 9


def test_unknown_backend_is_refused():
    camera = make_camera()
    with pytest.raises(RenderInputError, match="backend"):
        rasterize(random_gaussians(5, 0, camera), camera, backend="vulkan")


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------


def test_gsplat_backend_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    camera = make_camera()
    gs = random_gaussians(5, 0, camera)
    assert available_backends() == ["cpu"]
    assert resolve_backend("auto") == "cpu"
    with pytest.raises(RenderBackendUnavailableError, match="CUDA") as info:
        rasterize(gs, camera, backend="gsplat")
    assert "backend='cpu'" in str(info.value)
    with pytest.raises(RenderBackendUnavailableError, match="CUDA"):
        render_gsplat(gs, camera)
    # "auto" falls back to the CPU and renders.
    assert rasterize(gs, camera, backend="auto").rgb.shape == (48, 64, 3)


def test_gsplat_arguments_have_the_documented_shapes():
    import gsplat

    camera = make_camera()
    gs = random_gaussians(30, 0, camera, labels=5)
    args = gsplat_arguments(gs, camera, BACKGROUND, with_extras=True, device="cpu")
    inspect.signature(gsplat.rasterization).bind(**args)  # every keyword exists in gsplat 1.5.3
    shapes = {name: tuple(args[name].shape) for name in
              ("means", "quats", "scales", "opacities", "colors", "viewmats", "Ks", "backgrounds")}
    assert shapes == {"means": (30, 3), "quats": (30, 4), "scales": (30, 3), "opacities": (30,),
                      "colors": (30, 8), "viewmats": (1, 4, 4), "Ks": (1, 3, 3), "backgrounds": (1, 8)}
    for name in shapes:
        assert args[name].dtype == torch.float32 and args[name].is_contiguous()
    assert torch.equal(args["backgrounds"][0], torch.cat([BACKGROUND, torch.zeros(5)]))
    assert (args["width"], args["height"], args["near_plane"], args["far_plane"]) == (64, 48, 0.01, 1e10)
    assert (args["eps2d"], args["packed"], args["rasterize_mode"], args["render_mode"], args["tile_size"]) == (
        0.3, False, "classic", "RGB+ED", 16)
    plain = gsplat_arguments(gs, camera, None, with_extras=False, device="cpu")
    assert plain["colors"].shape == (30, 3) and plain["backgrounds"] is None

    # The tensors mean what gsplat expects: its own projection of them equals ours.
    from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci

    covars, _ = _quat_scale_to_covar_preci(args["quats"], args["scales"], True, False)
    radii, means2d, _, _, _ = _fully_fused_projection(
        args["means"], covars, args["viewmats"], args["Ks"], args["width"], args["height"], args["eps2d"],
        args["near_plane"], args["far_plane"],
    )
    ours, ours_means2d, _, _ = project_gaussians(gs.means, gs.quats, gs.scales, None, camera.world_to_camera,
                                                 camera.K, camera.width, camera.height)
    assert torch.equal(radii[0], ours)
    visible = (ours > 0).all(dim=1)
    torch.testing.assert_close(means2d[0][visible], ours_means2d[visible], rtol=1e-5, atol=1e-3)


def test_numba_kernels_fall_back_when_they_cannot_be_cached():
    """Code without a source file (or a read-only install) cannot be cached: compile in memory instead."""
    namespace: dict = {}
    exec("def double(x):\n    return 2 * x\n", namespace)  # no file: numba has no cache locator
    double = cpu_backend._jit()(namespace["double"])
    assert double(21) == 42


def test_huge_and_near_plane_gaussians_do_not_overflow():
    """Radii far beyond int32 range (a 100000 km Gaussian) and a Gaussian just past the near plane."""
    camera = make_camera()
    gs = random_gaussians(20, 6, camera)
    gs.scales[0] = 1e8  # radius ~6e9 px
    gs.means[1] = world_from_camera(camera, torch.tensor([[0.05, 0.0, 0.0101]]))[0]
    gs.scales[1] = 0.5
    out = rasterize(gs, camera, BACKGROUND, backend="cpu")
    assert bool(torch.isfinite(out.rgb).all()) and float(out.alpha.min()) > 0.5
    assert_matches_reference(gs, camera)


_FORK_CHECK = """
import multiprocessing
import sys

sys.path.insert(0, sys.argv[1])
from test_rasterize import make_camera, random_gaussians
from random_people.render.rasterize import rasterize


def render():
    camera = make_camera()
    return rasterize(random_gaussians(60, 11, camera), camera, backend="cpu").rgb.numpy()


def child(connection):
    connection.send(render())  # numpy, not torch ops: torch's own OpenMP is not fork-safe either
    connection.close()


if __name__ == "__main__":
    expected = render()  # the parent has rendered: its OpenMP thread pool exists
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(sender,))
    process.start()
    sender.close()
    if not receiver.poll(120):
        sys.exit("the forked child did not render")
    try:
        got = receiver.recv()
    except EOFError:
        sys.exit("the forked child died while rendering")
    process.join(30)
    if process.exitcode != 0:
        sys.exit(f"the forked child exited with {process.exitcode}")
    difference = abs(got - expected).max()
    if difference >= 1e-5:
        sys.exit(f"the forked child rendered a different image (max difference {difference})")
    print("ok")
"""


def test_renders_in_a_forked_child_after_rendering_in_the_parent(tmp_path):
    """GNU OpenMP does not survive fork(): the child must fall back to serial kernels, not die.

    The parent is a fresh interpreter that has rendered, not this pytest process: by this point
    pytest has loaded libraries whose background threads (HTTP clients, Ray, thread pools) make
    any fork() a gamble that has nothing to do with the rasterizer.
    """
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "fork_check.py"
    script.write_text(_FORK_CHECK)
    result = subprocess.run([sys.executable, str(script), str(Path(__file__).parent)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stdout + result.stderr


def test_rounding_noise_in_K_and_pose_is_accepted():
    camera = make_camera()
    camera.K = camera.K.double()
    camera.K[0, 1] = 1e-9
    camera.K[2, 2] = 1 + 1e-9
    camera.world_to_camera = camera.world_to_camera.double()
    camera.world_to_camera[3, 0] = 1e-9
    assert rasterize(random_gaussians(10, 0, camera), camera, backend="cpu").rgb.shape == (48, 64, 3)


def test_numpy_scalars_for_size_and_planes_are_accepted():
    import numpy as np

    camera = make_camera()
    camera.width, camera.height, camera.near = np.int64(64), np.int32(48), np.float32(0.05)
    out = rasterize(random_gaussians(10, 0, camera), camera, backend="cpu")
    assert out.rgb.shape == (48, 64, 3)
