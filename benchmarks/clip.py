"""Benchmark: one synthetic clip end to end (issue 4).

Extracts 4 s of Sports2D's demo clip once (not timed), then times a 4-second, 30 fps, 512x512
clip of a sampled person re-performing it: building the avatar, posing, rendering, compositing,
labelling and encoding. Target: under 12 s on 2 cores. Also prints the time to build one
identity's avatar from its spec once the body model is loaded (target: under 1 s), and peak RSS.

Each person is rendered twice, lit (the default: environment + key light + ambient occlusion,
``render.lighting``) and unlit (flat colours, as before lighting), on the default photographic
background; the ratio of render ms/frame lit / unlit is printed (target: at most 1.3).

    python benchmarks/clip.py [--repeat N] [--camera source|random]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="timed clips (different people)")
    parser.add_argument("--camera", default="source", choices=["source", "random"])
    args = parser.parse_args()

    from conftest import fetch_demo_clip

    from random_people.avatar.pipeline import build_identity_avatar, render_motion_clip
    from random_people.avatar.sampler import IdentityDistribution, sample_identities
    from random_people.body import load_body_model
    from random_people.pose.extract import extract_clip
    from random_people.render.cpu_backend import warm_up

    with tempfile.TemporaryDirectory() as work:
        motion = extract_clip(fetch_demo_clip(), work, start=0.2, end=4.2, make_preview=False).motion
        load_body_model(kind="anny")
        warm_up()
        people = sample_identities(args.repeat + 3, 1, IdentityDistribution())
        builds = []
        for spec in people[args.repeat:]:
            started = time.perf_counter()
            build_identity_avatar(spec)
            builds.append(time.perf_counter() - started)
        print(f"build one identity's avatar (20k Gaussians): median {statistics.median(builds):.3f} s "
              f"(runs: {', '.join(f'{b:.3f}' for b in builds)}); target < 1 s")
        seconds: dict[bool, list[float]] = {True: [], False: []}
        per_frame: dict[bool, list[float]] = {True: [], False: []}
        for spec in people[: args.repeat]:
            for lit in (False, True):
                started = time.perf_counter()
                result = render_motion_clip(motion, spec, work, camera=args.camera, size=(512, 512), lit=lit)
                seconds[lit].append(time.perf_counter() - started)
                stages = result.timings or {}
                per_frame[lit].append(1000 * (stages.get("rasterize", 0) + stages.get("lighting", 0)) / result.frames)
                timings = ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
                print(f"  {result.frames} frames of {spec.id} {'lit' if lit else 'unlit'}: {seconds[lit][-1]:.2f} s "
                      f"({timings})")
        for lit in (False, True):
            print(f"4 s clip, {motion.num_frames} frames at {motion.fps:g} fps, 512x512, {args.camera} camera, "
                  f"{'lit' if lit else 'unlit'}, end to end: median {statistics.median(seconds[lit]):.2f} s; target < 12 s; "
                  f"shading + rasterizing {statistics.median(per_frame[lit]):.1f} ms/frame")
        ratio = statistics.median(seconds[True]) / statistics.median(seconds[False])
        print(f"lit / unlit end to end: {ratio:.2f}x; shading + rasterizing: "
              f"{statistics.median(per_frame[True]) / statistics.median(per_frame[False]):.2f}x (target <= 1.3x)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
