"""Benchmark: the fidelity score of a real bulk job, and what it costs per clip.

Queues a real job (the shipped walking example, trimmed, N sampled people x backgrounds x
cameras), runs it with one in-process worker (so one judge serves every clip, as in a worker
process), then reads the log: the distribution of fidelity over the clips (mean, median, 10th
percentile, histogram, per identity and per camera), the judge's seconds per clip against the
render task's seconds (target: under 10 %), and peak RSS. Writes a contact sheet of the worst and
best clips' middle frames with the detector's skeleton (red) and our labels (green).

    python benchmarks/fidelity.py [--people 6] [--seconds 2] [--long-side 384] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--long-side", type=int, default=384)
    parser.add_argument("--sampled-cameras", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="data folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    from random_people.jobs.db import open_database
    from random_people.jobs.fidelity import fidelity_stats, motion_summary
    from random_people.jobs.models import Output
    from random_people.jobs.service import queue_job
    from random_people.jobs.spec import parse_spec
    from random_people.jobs.worker import run_worker
    from random_people.settings import load_settings

    root = args.out or Path(tempfile.mkdtemp(prefix="rp_fidelity_"))
    settings = load_settings(data_dir=root / "data")
    spec = parse_spec({
        "name": "fidelity-benchmark", "seed": 5,
        "sources": [{"path": str(REPO / "assets" / "examples" / "walking.mp4"), "label": "walking",
                     "start": 0.5, "end": 0.5 + args.seconds + 0.5}],
        "identities": {"sample": {"n": args.people, "seed": 11, "mode": "balanced"}},
        "backgrounds": {"names": ["park", "living_room"], "per_clip": 1},
        "cameras": {"source": True, "sampled": args.sampled_cameras},
        "output": {"dir": str(root / "renders"), "long_side": args.long_side, "max_seconds": args.seconds},
    }, base_dir=root)
    started = time.perf_counter()
    job_id, plan = queue_job(spec, settings)
    print(f"job {job_id}: {len(plan.render_tasks)} clips; data in {root}")
    run_worker(settings.resolved_database_url, settings, job_ids=[job_id])
    wall = time.perf_counter() - started

    db = open_database(settings.resolved_database_url)
    with db.session() as session:
        outputs = session.query(Output).all()
        rows = [(o.key, o.identity_id, json.loads(o.camera_json).get("mode"), o.seconds, o.fidelity,
                 json.loads(o.fidelity_json) if o.fidelity_json else None, o.video_path, o.labels_path, o.motion_key)
                for o in outputs]
    stats = fidelity_stats(r[4] for r in rows)
    costs = [r[5]["seconds"] / r[3] for r in rows if r[5] and r[3]]
    judge_s = [r[5]["seconds"] for r in rows if r[5]]
    render_s = [r[3] for r in rows]
    print(f"\nclips: {len(rows)}, scored: {stats.scored}, wall time {wall:.0f} s")
    print(f"fidelity: mean {stats.mean}, median {stats.median}, p10 {stats.p10}, min {stats.minimum}, below {stats.below}")
    for band, n in stats.histogram:
        print(f"  {band}: {'#' * n} {n}")
    for label, index in (("camera", 2), ("identity", 1)):
        groups: dict[str, list[float]] = {}
        for r in rows:
            if r[4] is not None:
                groups.setdefault(str(r[index]), []).append(r[4])
        print(f"by {label}: " + ", ".join(f"{k[:10]} {statistics.fmean(v):.2f} (n={len(v)})" for k, v in sorted(groups.items())))
    for key in ("detection_rate", "pck", "cut_off_share"):
        values = [r[5][key] for r in rows if r[5] and r[5].get(key) is not None]
        if values:
            print(f"{key}: mean {statistics.fmean(values):.3f}, min {min(values):.3f}, max {max(values):.3f}")
    print(f"poor motions (every clip < 0.5): {motion_summary((r[8], r[4]) for r in rows) or 'none'}")
    print(f"judge per clip: median {statistics.median(judge_s):.2f} s (first clip, loading MediaPipe: "
          f"{judge_s[0]:.2f} s); render task per clip: median {statistics.median(render_s):.1f} s")
    print(f"cost of the score / render task time: median {100 * statistics.median(costs):.1f} %, "
          f"max {100 * max(costs):.1f} % (target < 10 %)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")

    sheet = _contact_sheet(sorted((r for r in rows if r[4] is not None), key=lambda r: r[4]), root / "fidelity_sheet.png")
    print(f"contact sheet (worst first): {sheet}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "clips": len(rows), "stats": stats.__dict__, "judge_seconds": judge_s, "render_seconds": render_s,
            "cost_ratio_median": statistics.median(costs), "cost_ratio_max": max(costs), "peak_rss_mb": peak,
            "figures": [r[5] for r in rows],
        }, indent=1, default=str))


def _contact_sheet(rows, path: Path) -> Path | None:
    """Middle frame of each clip with the detector's skeleton (red) and our labels (green), worst first."""
    import numpy as np
    from PIL import Image, ImageDraw

    from random_people.jobs.fidelity import shared_judge
    from random_people.judge.drawing import draw_skeleton
    from random_people.judge.inputs import read_label_arrays, read_video_frames

    tiles = []
    for key, _, camera, _, value, figures, video, labels_path, _ in rows[:12]:
        labels = read_label_arrays(labels_path)
        middle = labels.num_frames // 2
        frame = read_video_frames(video, [middle])[middle][: labels.image_size[1], : labels.image_size[0]]
        detection = shared_judge().pose.detect(frame)
        image = draw_skeleton(frame, labels.keypoints_2d[middle, :17], color=(0, 200, 0))
        if detection is not None:
            image = draw_skeleton(image, detection.keypoints, color=(230, 30, 30))
        tile = Image.fromarray(np.asarray(image)).resize((256, int(256 * frame.shape[0] / frame.shape[1])))
        ImageDraw.Draw(tile).text((4, 4), f"{value:.2f} {camera} {key[:6]}", fill=(255, 255, 0))
        tiles.append(tile)
    if not tiles:
        return None
    columns = 4
    height = max(t.height for t in tiles)
    sheet = Image.new("RGB", (256 * columns, height * -(-len(tiles) // columns)), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % columns) * 256, (i // columns) * height))
    sheet.save(path)
    return path


if __name__ == "__main__":
    sys.exit(main())
