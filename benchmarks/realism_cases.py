"""Before/after on chosen cases of ``benchmarks/realism.py`` (same identities, motions, seeds, sizes).

*before* is an earlier ``realism.py`` run's render of the case (its ``--work-dir``), re-judged with
the current judge (which adds the crop mask IoU); *after* is the same case rendered now. One JSON
line per case, written as it goes, so a run cut short still leaves every finished case. Used when
the full 48-clip benchmark cannot finish on a shared machine; say so wherever its figures appear.

    python benchmarks/realism_cases.py --before-work-dir OLD_WORK --out cases.jsonl --cases 7:demo:a,0:pose2sim:b
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realism import covering_identities, describe  # noqa: E402

from random_people.avatar.pipeline import render_motion_clip  # noqa: E402
from random_people.judge import Judge  # noqa: E402
from random_people.judge.reference import scaled_size  # noqa: E402
from random_people.pose.motion import load_motion  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-work-dir", type=Path, required=True, help="the earlier realism.py --work-dir")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, appended")
    parser.add_argument("--cases", required=True, help="comma list of IDENTITY_INDEX:CLIP:VIEW, e.g. 7:demo:a")
    parser.add_argument("--render-dir", type=Path, default=Path("/tmp/realism_cases"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trim", default="0p3_1p3", help="the motion files' trim tag in the work dir")
    args = parser.parse_args()
    specs = covering_identities(12, args.seed)
    motions = {c: load_motion(args.before_work_dir / "motions" / f"{c}_{args.trim}.npz") for c in ("demo", "pose2sim")}
    with args.out.open("a") as out, Judge(mode="video") as judge:
        for case in args.cases.split(","):
            index, clip, view = case.split(":")
            spec, motion = specs[int(index)], motions[clip]
            size = scaled_size(*motion.image_size, 512) if view == "a" else (512, 512)
            old = glob.glob(str(args.before_work_dir / "renders" / f"{int(index):02d}_{spec.id[:10]}_{clip}_{view}.mp4"))[0][:-4]
            before = judge.score_clip(old + ".mp4", old + "_labels.npz", old + "_mask.mp4").summary()
            started = time.perf_counter()
            result = render_motion_clip(motion, spec, args.render_dir, name=f"{int(index):02d}_{clip}_{view}",
                                        camera="source" if view == "a" else "random", seed=args.seed + int(index),
                                        size=size, fps=30.0, n_gaussians=20000)
            render_s = time.perf_counter() - started
            after = judge.score_clip(result.video_path, result.labels_path, result.mask_path).summary()
            row = {"idx": int(index), "who": describe(spec), "skin": spec.appearance.skin_tone_group,
                   "age": spec.body.age_group, "clip": clip, "view": view, "before": before, "after": after,
                   "render_s": render_s}
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"{describe(spec):30s} {clip}/{view} pck {before['pck']:.2f}->{after['pck']:.2f} "
                  f"iou {before['mask_iou']:.2f}->{after['mask_iou']:.2f} "
                  f"crop {before['mask_iou_crop']:.2f}->{after['mask_iou_crop']:.2f}", flush=True)


if __name__ == "__main__":
    main()
