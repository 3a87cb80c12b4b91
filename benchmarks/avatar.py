"""Benchmark: building an avatar and posing its Gaussians.

Prints seconds to build one identity once the Anny model is loaded (median of several shapes and
appearances), milliseconds to pose 20k bound Gaussians on a posed mesh (``pose_binding`` only:
the triangle-frame gather and quaternion product), milliseconds per frame to skin the Anny mesh
in chunks of 16 frames (what ``avatar_frames`` adds on top), milliseconds to rasterize one frame
of the built avatars with the CPU backend (full body at 512x512, and small at 512x288 as in the
Sports2D demo's source camera: appearance detail changes the Gaussian count and sizes, so this
is the figure to compare before/after an appearance change), and peak RSS.
Targets: build < 1 s, pose 20k Gaussians < 20 ms, on 2 cores.

    python benchmarks/avatar.py [--repeat N] [--gaussians 20000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

import torch

from random_people.avatar.appearance import AppearanceParams
from random_people.avatar.binding import pose_binding
from random_people.avatar.build import build_avatar
from random_people.body import load_body_model


def _render_times(avatars: list, repeat: int) -> None:
    """Median ms to rasterize each avatar's rest pose: full body 512x512 and ~70 px tall at 512x288."""
    import math

    from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera
    from random_people.render.rasterize import rasterize

    for label, (width, height), person_px in (("512x512 full body", (512, 512), 440),
                                              ("512x288 small (~70 px)", (512, 288), 70)):
        times, cpu, work = [], [], []
        for avatar in avatars:
            vertices = avatar.rest_vertices.numpy()
            centre = (vertices.min(0) + vertices.max(0)) / 2
            body_h = float(vertices[:, 2].max() - vertices[:, 2].min())
            fov = 40.0
            focal = 0.5 * width / math.tan(math.radians(fov) / 2)
            distance = focal * body_h / person_px
            camera = make_camera(intrinsics_from_fov(width, height, fov),
                                 look_at(centre + [0.3 * distance, -distance, 0.0], centre, (0, 0, 1)), width, height)
            gaussians = avatar.canonical()
            work.append(_raster_work(gaussians, camera))
            rasterize(gaussians, camera, backend="cpu")  # compile / warm up
            for _ in range(max(3, repeat // 2)):
                t, c = time.perf_counter(), time.process_time()
                rasterize(gaussians, camera, backend="cpu")
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
        print(f"rasterize one frame, {label}: median {statistics.median(times):.1f} ms "
              f"(CPU time {statistics.median(cpu):.1f} ms; rgb+alpha+depth+part labels, {len(avatars)} avatars)")
        pairs, pixels = (statistics.mean(w[i] for w in work) for i in (0, 1))
        print(f"  rasterizer work, {label}: {pairs:.0f} Gaussian-tile pairs, {pixels / 1e6:.2f} M box pixels "
              "per frame (deterministic: compare these when timings are noisy)")


def _raster_work(gaussians, camera) -> tuple[float, float]:
    """Gaussian-tile pairs (16x16 tiles) and summed 3-sigma box pixels: what rasterizing costs."""
    import numpy as np

    from random_people.render.cpu_backend import project_gaussians

    radii, means2d, _, _ = project_gaussians(gaussians.means, gaussians.quats, gaussians.scales,
                                             gaussians.opacities, camera.world_to_camera, camera.K,
                                             camera.width, camera.height)
    r, m = radii.numpy().astype(np.int64), means2d.numpy()
    seen = (r > 0).all(axis=1)
    r, m = r[seen], m[seen]
    tiles_x = np.floor((m[:, 0] + r[:, 0]) / 16) - np.floor((m[:, 0] - r[:, 0]) / 16) + 1
    tiles_y = np.floor((m[:, 1] + r[:, 1]) / 16) - np.floor((m[:, 1] - r[:, 1]) / 16) + 1
    return float((tiles_x * tiles_y).sum()), float(((2 * r[:, 0] + 1) * (2 * r[:, 1] + 1)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--gaussians", type=int, default=20000)
    args = parser.parse_args()

    start = time.perf_counter()
    model = load_body_model(kind="anny")
    print(f"load Anny: {time.perf_counter() - start:.2f} s")

    looks = [
        AppearanceParams(hair_style="long", top_type="hoodie", bottom_type="skirt", top_pattern="stripes"),
        AppearanceParams(hair_style="short", top_type="tshirt", bottom_type="trousers", bottom_pattern="checks"),
        AppearanceParams(hair_style="bald", top_type="tank", bottom_type="shorts", shoes_type="barefoot"),
    ]
    shapes = [
        model.shape_from_phenotype(age=a, weight=w, height=h)
        for a, w, h in ((0.1, 0.5, 0.5), (0.6, 0.8, 0.7), (0.9, 0.3, 0.4))
    ]
    build_avatar(model, shapes[0], looks[0], seed=0, n_gaussians=args.gaussians)  # first call caches mesh labels
    builds, build_cpu = [], []
    avatars = []
    for i in range(max(3, args.repeat // 4)):
        t, c = time.perf_counter(), time.process_time()
        avatar = build_avatar(model, shapes[i % 3], looks[i % 3], seed=i, n_gaussians=args.gaussians)
        builds.append(time.perf_counter() - t)
        build_cpu.append(time.process_time() - c)
        avatars.append(avatar)
    print(f"build one identity ({args.gaussians} Gaussians requested, {len(avatar)} built): "
          f"median {statistics.median(builds):.3f} s, max {max(builds):.3f} s "
          f"(CPU time median {statistics.median(build_cpu):.3f} s; load average {os.getloadavg()[0]:.1f})")
    _render_times(avatars[:3], args.repeat)

    body = model.prepare(avatar.shape)
    local, root, translation = model.identity_pose(16)
    local[:, model.bone_index("upperleg01.L"), :, :] = torch.tensor(
        [[1.0, 0.0, 0.0], [0.0, 0.8, -0.6], [0.0, 0.6, 0.8]])
    t = time.perf_counter()
    vertices = model.vertices(body, local, root, translation)
    skin_ms = (time.perf_counter() - t) * 1000 / 16
    poses = []
    for i in range(args.repeat):
        t = time.perf_counter()
        pose_binding(avatar.binding, vertices[i % 16])
        poses.append((time.perf_counter() - t) * 1000)
    print(f"pose {len(avatar)} Gaussians: median {statistics.median(poses):.1f} ms, min {min(poses):.1f} ms")
    print(f"skin the Anny mesh (chunks of 16 frames): {skin_ms:.1f} ms/frame")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {peak / (1024 if sys.platform != 'darwin' else 1024 * 1024):.0f} MB")


if __name__ == "__main__":
    main()
