"""Benchmark: what lighting adds to each rendered frame (issue 13; target: render time <= 1.3x unlit).

Builds one sampled person (20k Gaussians), then times, interleaved so a busy machine hurts both
sides alike, per frame: the posing the renderer needed before lighting (``pose_binding``'s
positions and rotations), what lighting adds (smooth posed normals, the per-frame capsule
occlusion, shading every Gaussian), and the CPU rasterizer at 512x512 and 512x288. Prints
milliseconds, the ratio lit / unlit of (posing + shading + rasterizing), the one-off ambient
occlusion bake, and peak RSS.

    python benchmarks/lighting.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from random_people.avatar.binding import _frames_from_corners, pose_binding
    from random_people.avatar.pipeline import build_identity_avatar
    from random_people.avatar.sampler import sample_identities
    from random_people.avatar.shading import RestOcclusion, bake_binding_occlusion, with_shading
    from random_people.body import load_body_model
    from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera
    from random_people.render.cpu_backend import warm_up
    from random_people.render.environments import environment_light
    from random_people.render.lighting import light_gaussians
    from random_people.render.rasterize import rasterize
    from random_people.render.skinning import quat_multiply_wxyz, rotmat_to_quat_wxyz

    model = load_body_model(kind="anny")
    warm_up()
    spec = sample_identities(1, 1)[0]
    avatar = build_identity_avatar(spec)
    binding = avatar.binding
    started = time.perf_counter()
    bake_binding_occlusion(binding, avatar.rest_vertices)
    bake_s = time.perf_counter() - started
    body = model.prepare(avatar.shape)
    rest_kp = model.pose(body, *model.identity_pose(1)).keypoints[0].float()
    occlusion = RestOcclusion(binding, avatar.rest_vertices, avatar.occlusion(), rest_kp, model.keypoint_names)
    vertices = avatar.rest_vertices
    keypoints = rest_kp
    centre = vertices.mean(0).numpy()
    cameras = {
        size: make_camera(intrinsics_from_fov(*size, 40), look_at(centre + np.array([0.0, -4.5, 0.3]), centre, (0, 0, 1.0)), *size)
        for size in ((512, 512), (512, 288))
    }
    light = environment_light("city", 20.0)

    def old_pose():  # what pose_binding computed before lighting (no normals)
        corners = vertices[binding.faces[binding.triangle]]
        rotation, size = _frames_from_corners(corners[:, 0], corners[:, 1], corners[:, 2])
        means = (binding.barycentric[:, :, None] * corners).sum(dim=1) + binding.offset[:, None] * rotation[:, :, 2]
        quats = quat_multiply_wxyz(rotmat_to_quat_wxyz(rotation), binding.local_quat)
        scales = (binding.local_scale * size[:, None]).clamp_min(1e-7)
        labels = torch.nn.functional.one_hot(binding.part, len(binding.part_names)).to(means.dtype)
        return means, quats, scales, labels

    normals_in_frame = avatar.normals_in_frame()

    timings: dict[str, list[float]] = {k: [] for k in ("pose_before", "pose_now", "occlusion", "shade", "raster_512x512",
                                                       "raster_512x288")}
    with torch.no_grad():
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            old_pose()
            t1 = time.perf_counter()
            g = pose_binding(binding, vertices, normals_in_frame)
            t2 = time.perf_counter()
            g = with_shading(g, occlusion.frame(g, keypoints), occlusion.specular)
            t3 = time.perf_counter()
            lit = light_gaussians(g, light, cameras[(512, 512)], np.array([0, 0, 1.0]))
            t4 = time.perf_counter()
            rasterize(lit, cameras[(512, 512)], backend="cpu", with_extras=False)
            t5 = time.perf_counter()
            rasterize(lit, cameras[(512, 288)], backend="cpu", with_extras=False)
            t6 = time.perf_counter()
            for key, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
                timings[key].append(1000 * value)
    ms = {k: statistics.median(v) for k, v in timings.items()}
    print(f"{len(avatar)} Gaussians, median of {args.repeat} frames (ms):")
    for key, value in ms.items():
        print(f"  {key:16s} {value:8.2f}")
    added = ms["pose_now"] - ms["pose_before"] + ms["occlusion"] + ms["shade"]
    for size in ("512x512", "512x288"):
        before = ms["pose_before"] + ms[f"raster_{size}"]
        print(f"{size}: unlit {before:.1f} ms/frame, lit {before + added:.1f} ms/frame -> {(before + added) / before:.2f}x "
              f"(target <= 1.3x); lighting adds {added:.1f} ms")
    print(f"ambient occlusion bake (once per avatar): {bake_s:.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
