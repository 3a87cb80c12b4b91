"""Re-queuing a job whose clips all exist: what checking every file against its checksum costs.

Queueing a job reuses every clip the log recorded, and reuse reads each file back to compare its
SHA-256 with the recorded one (a file that is gone or changed is made again). This times
``submit_job`` for N finished clips (video + mask files of realistic sizes, random bytes so the
disk cache is the only help) against the baseline of the previous rule, which only checked that
the files existed, and prints peak RSS.

    python benchmarks/job_reuse.py [--clips 2000] [--video-kb 300] [--mask-kb 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from random_people.files import sha256_file
from random_people.jobs.db import open_database
from random_people.jobs.expand import RENDER, JobPlan, PlannedTask
from random_people.jobs.models import Job, Output
from random_people.jobs.queue import submit_job
from random_people.jobs.spec import parse_spec


def _make_clips(folder: Path, count: int, video_kb: int, mask_kb: int) -> list[dict]:
    rows = []
    for i in range(count):
        video, mask = folder / f"{i:06d}.mp4", folder / f"{i:06d}_mask.mp4"
        video.write_bytes(os.urandom(video_kb * 1024))
        mask.write_bytes(os.urandom(mask_kb * 1024))
        rows.append(dict(
            key=f"{i:064d}", job_id="bench", video_path=str(video), mask_path=str(mask), labels_path=None,
            motion_key="m" * 64, motion_path=None, identity_id="p", background="#808080", camera_json="{}",
            label="walk", source_sha256="s" * 64, source_path="", subject=None, seed=0, generator_version="bench",
            frames=48, fps=24.0, width=512, height=288, size_bytes=(video_kb + mask_kb) * 1024, seconds=1.0,
            created_at=0.0, checksums_json=json.dumps({video.name: sha256_file(video), mask.name: sha256_file(mask)}),
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--video-kb", type=int, default=300)
    parser.add_argument("--mask-kb", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rp-reuse-bench-") as tmp:
        root = Path(tmp)
        db = open_database(f"sqlite:///{root / 'log.sqlite'}")
        rows = _make_clips(root, args.clips, args.video_kb, args.mask_kb)
        with db.session() as session:
            session.add(Job(id="bench", name="bench", state="done", spec_json="{}", output_dir=str(root), seed=0,
                            auto_accept=False, created_at=0.0, updated_at=0.0))
            session.flush()
            session.execute(insert(Output), rows)
        spec = parse_spec({"name": "bench", "sources": [str(root / "clip.mp4")], "identities": {"sample": {"n": 1}}})
        tasks = [PlannedTask(key=row["key"], kind=RENDER, label="walk", payload={"name": row["key"][:16]})
                 for row in rows]
        plan = JobPlan(spec=spec, sources=[], identities=[], output_dir=root, tasks=tasks)
        megabytes = args.clips * (args.video_kb + args.mask_kb) / 1024

        start = time.perf_counter()
        exist = sum(all(Path(p).is_file() for p in (row["video_path"], row["mask_path"])) for row in rows)
        baseline = time.perf_counter() - start

        start = time.perf_counter()
        job_id = submit_job(db, plan)
        seconds = time.perf_counter() - start
        from random_people.jobs.progress import job_progress

        progress = job_progress(db, job_id)
        assert progress.reused == args.clips == exist, (progress.reused, exist)
        print(f"re-queue {args.clips} finished clips ({megabytes:.0f} MB): {seconds:.2f} s "
              f"({args.clips / seconds:.0f} clips/s, {megabytes / seconds:.0f} MB/s checked)")
        print(f"baseline (existence only, the old rule): {baseline:.3f} s; ratio {seconds / max(baseline, 1e-9):.0f}x")
        print(f"per 16,000-clip job at this size: about {16000 * seconds / args.clips:.0f} s to re-queue")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
