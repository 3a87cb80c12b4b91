"""Benchmark: one synthetic clip end to end (issue 4).

Extracts 4 s of Sports2D's demo clip once (not timed), then times a 4-second, 30 fps, 512x512
clip of a sampled person re-performing it: building the avatar, posing, rendering, compositing,
labelling and encoding. Target: under 12 s on 2 cores. Also prints the time to build one
identity's avatar from its spec once the body model is loaded (target: under 1 s), and peak RSS.

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
        seconds = []
        for spec in people[: args.repeat]:
            started = time.perf_counter()
            result = render_motion_clip(motion, spec, work, background="park", camera=args.camera, size=(512, 512))
            seconds.append(time.perf_counter() - started)
            timings = ", ".join(f"{k} {v:.2f}" for k, v in (result.timings or {}).items())
            print(f"  {result.frames} frames of {spec.id}: {seconds[-1]:.2f} s ({timings})")
        print(f"4 s clip, {motion.num_frames} frames at {motion.fps:g} fps, 512x512, {args.camera} camera, end to end: "
              f"median {statistics.median(seconds):.2f} s; target < 12 s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
