"""Benchmark: clip to motion on Sports2D's demo clip (1768x994, 30 fps, 230 frames, a person walking).

Prints end-to-end frames per second of extraction (decode + detect + fit + save; the overlay
preview is timed separately), frames per CPU-second (all the process's threads; robust when the
machine is shared), the stage breakdown, the quality figures, and peak RSS.
Target (issue 2): at least 30 frames per second on 2 CPU cores.

    python benchmarks/extract.py [--clip PATH] [--repeat N] [--preview] [--person CHOICE --start S] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=None, help="clip to extract (default: the Sports2D demo)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (after one warm-up)")
    parser.add_argument("--preview", action="store_true", help="also time the overlay preview")
    parser.add_argument("--person", default=None, help="follow this person (as `extract --person`), e.g. rightmost")
    parser.add_argument("--start", type=float, default=None, help="start time in seconds")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    from conftest import fetch_demo_clip

    from random_people.body import load_body_model
    from random_people.pose.extract import extract_clip

    clip = args.clip or fetch_demo_clip()
    started = time.perf_counter()
    load_body_model()
    print(f"body model load: {time.perf_counter() - started:.2f} s (not counted below)")
    runs, cpu_seconds = [], []
    with tempfile.TemporaryDirectory() as out:
        for run in range(args.repeat + 1):
            cpu = time.process_time()  # all threads of this process (decode, MediaPipe, fit)
            result = extract_clip(clip, out, make_preview=args.preview, person=args.person, start=args.start)
            if run:
                runs.append(result.summary)
                cpu_seconds.append(time.process_time() - cpu)
    fps = [r["frames_per_second"] for r in runs]
    per_cpu = [r["frames_processed"] / c for r, c in zip(runs, cpu_seconds)]
    last = runs[-1]
    print(f"clip: {clip.name}, {last['frames_processed']} frames decoded and detected, "
          f"{last['frames']} fitted (longest stretch of one person)")
    print(f"end-to-end extraction: median {statistics.median(fps):.1f} frames/s "
          f"(runs: {', '.join(f'{v:.1f}' for v in fps)}); target >= 30 frames/s")
    print(f"frames per CPU-second: median {statistics.median(per_cpu):.1f} (runs: {', '.join(f'{v:.1f}' for v in per_cpu)}; "
          "robust to other load on the machine, unlike frames/s)")
    print("stage seconds (last run): " + ", ".join(f"{k} {v:.2f}" for k, v in last["timings"].items()))
    print(f"real-time factor: {statistics.median(fps) / last['fps']:.2f}x")
    print(f"quality: median 2D error {last['median_error_2d_rel'] * 100:.2f}% of person height "
          f"({last['median_error_2d_px']:.1f} px), PA-MPJPE {last['pa_mpjpe_mm']:.1f} mm, "
          f"jitter fitted/raw {last['jitter_fitted_mm']:.1f}/{last['jitter_raw_mm']:.1f} mm/frame^2")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    if args.json:
        load = os.getloadavg()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "clip": clip.name, "frames_processed": last["frames_processed"], "frames_fitted": last["frames"],
            "frames_per_second": fps, "frames_per_cpu_second": per_cpu, "median_fps": statistics.median(fps),
            "median_frames_per_cpu_second": statistics.median(per_cpu), "timings_last_run": last["timings"],
            "median_error_2d_rel": last["median_error_2d_rel"], "jitter_fitted_mm": last["jitter_fitted_mm"],
            "jitter_raw_mm": last["jitter_raw_mm"], "pa_mpjpe_vs_mediapipe_mm": last["pa_mpjpe_mm"],
            "load_average_at_end": load, "peak_rss_mb": peak}, indent=2))


if __name__ == "__main__":
    main()
