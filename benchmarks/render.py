"""Benchmark: the CPU rasterizer at 512x512 on a human-sized cloud of 20k, 100k and 300k Gaussians.

The cloud (seeded) is what an avatar looks like to the rasterizer: Gaussians on the surfaces of
six ellipsoids (head, torso, arms, legs) of a 1.7 m tall, ~0.5 m wide body, scales 5-15 mm,
opacities 0.5-1, seen from 3 m by a 50 degree camera. Prints, per size: ms/frame of our CPU
backend (median of the timed runs; RGB + alpha + depth, and with 6 one-hot label channels),
the stage breakdown, and the ratio against a straightforward vectorised PyTorch tile
rasterizer (``reference.rasterize_tiles_torch``) in the same process; then the Numba compile
time (cold cache, and loading from a warm cache) and peak RSS.
Target: 100k Gaussians at 512x512 in under 100 ms on 2 cores.

    python benchmarks/render.py [--repeat N] [--sizes 20000,100000,300000] [--no-baseline]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from random_people.render.types import Camera, Gaussians

# Six body parts: (centre x, y, z), (semi-axes x, y, z) in metres, world y up, feet at y = 0.
PARTS = (
    ((0.0, 1.60, 0.0), (0.10, 0.12, 0.11)),  # head
    ((0.0, 1.20, 0.0), (0.19, 0.30, 0.12)),  # torso
    ((-0.10, 0.45, 0.0), (0.08, 0.45, 0.08)),  # legs
    ((0.10, 0.45, 0.0), (0.08, 0.45, 0.08)),
    ((-0.25, 1.15, 0.0), (0.05, 0.33, 0.05)),  # arms
    ((0.25, 1.15, 0.0), (0.05, 0.33, 0.05)),
)


def human_cloud(n: int, seed: int = 0) -> Gaussians:
    """``n`` Gaussians on a body-sized set of ellipsoid surfaces, labels one-hot by part."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([p[0] for p in PARTS])
    axes = torch.tensor([p[1] for p in PARTS])
    area = axes[:, 0] * axes[:, 1] + axes[:, 1] * axes[:, 2] + axes[:, 0] * axes[:, 2]  # ~ surface area
    part = torch.multinomial(area, n, replacement=True, generator=g)
    direction = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1)
    return Gaussians(
        means=centres[part] + axes[part] * direction,
        quats=torch.randn(n, 4, generator=g),
        scales=0.005 + 0.010 * torch.rand(n, 3, generator=g),
        opacities=0.5 + 0.5 * torch.rand(n, generator=g),
        colors=torch.rand(n, 3, generator=g),
        labels=torch.nn.functional.one_hot(part, len(PARTS)).float(),
    )


def front_camera(size: int = 512, fov_deg: float = 50.0, distance: float = 3.0) -> Camera:
    """Looking at the body's middle (y = 0.9 m) from ``distance`` metres, OpenCV axes."""
    f = 0.5 * size / math.tan(math.radians(fov_deg) / 2)
    K = torch.tensor([[f, 0.0, size / 2], [0.0, f, size / 2], [0.0, 0.0, 1.0]])
    R = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # world y up -> image y down
    eye = torch.tensor([0.0, 0.9, distance])
    view = torch.eye(4)
    view[:3, :3] = R
    view[:3, 3] = -R @ eye
    return Camera(K=K, world_to_camera=view, width=size, height=size)


def _time(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _compile_times() -> tuple[float, float]:
    """Seconds for the first render in a fresh process: with an empty Numba cache, then reusing it."""
    code = "from random_people.render.cpu_backend import warm_up; print(warm_up())"
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cold, warm = (
            float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                 check=True).stdout.split()[-1])
            for _ in range(2)
        )
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per size (after one warm-up)")
    parser.add_argument("--sizes", default="20000,100000,300000", help="comma-separated Gaussian counts")
    parser.add_argument("--no-baseline", action="store_true", help="skip the PyTorch tile baseline")
    args = parser.parse_args()

    from random_people.render.cpu_backend import render_cpu, warm_up
    from random_people.render.reference import rasterize_tiles_torch

    warm_up()
    camera = front_camera()
    print(f"CPU rasterizer, {camera.width}x{camera.height}, torch threads {torch.get_num_threads()}, "
          f"cores {os.cpu_count()}")
    sizes = [int(s) for s in args.sizes.split(",")]
    ours: dict[int, float] = {}
    for n in sizes:
        gaussians = human_cloud(n)
        render_cpu(gaussians, camera, with_extras=False)
        stages: dict[str, float] = {}
        plain = _time(lambda: render_cpu(gaussians, camera, with_extras=False, stage_times=stages), args.repeat)
        labelled = _time(lambda: render_cpu(gaussians, camera, with_extras=True), args.repeat)
        coverage = float(render_cpu(gaussians, camera).alpha.gt(0.5).float().mean())
        ours[n] = statistics.median(plain) * 1e3
        print(f"{n:>7} Gaussians: {ours[n]:6.1f} ms/frame (RGB+alpha+depth), "
              f"{statistics.median(labelled) * 1e3:6.1f} ms with 6 label channels "
              f"(median of {args.repeat}; min {min(plain) * 1e3:.1f}); {coverage * 100:.0f}% of pixels covered")
        print("         stages (mean ms): "
              + ", ".join(f"{k} {v / args.repeat * 1e3:.1f}" for k, v in stages.items()))
    print(f"peak RSS (CPU backend, all sizes): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not args.no_baseline:
        for n in sizes:
            gaussians = human_cloud(n)
            rasterize_tiles_torch(gaussians, camera, with_extras=False)  # warm-up
            base = statistics.median(_time(lambda: rasterize_tiles_torch(gaussians, camera, with_extras=False), 2))
            print(f"{n:>7} Gaussians: PyTorch tile baseline {base * 1e3:.0f} ms/frame; "
                  f"ours is {base * 1e3 / ours[n]:.1f}x faster")
        print(f"peak RSS (with the baseline): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    cold, warm = _compile_times()
    print(f"Numba first render in a new process: {cold:.1f} s with an empty cache (compile), "
          f"{warm:.2f} s loading the cache")


if __name__ == "__main__":
    main()
