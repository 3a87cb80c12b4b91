"""Benchmark: how real do our rendered people look to models trained on real people?

For N identities from balanced sampling (every skin-tone group x age group, both sexes), on real
motions (the Sports2D demo clip and Pose2Sim's single-person demo, camera 4), renders each person
with the library's own pipeline (``avatar.pipeline.render_motion_clip``: the product's default
background, lighting, shadow and harmonisation) from (a) the source camera at the source aspect
with a 512-pixel long side (512x288 for the demo) and (b) a sampled camera at 512x512, then
judges every clip (``random_people.judge``): MediaPipe Pose detection rate and PCK@0.1 on visible
limb joints against our labels, selfie-segmentation IoU against our mask. The same detector on
the real person of each source clip at size (a), against its own full-resolution result, is the
reference. Prints the figures overall, per clip and view, by skin-tone group and by age group;
render ms/frame, identity build time, the judge's cost against rendering, and peak RSS. Writes a
JSON of all figures and a contact sheet PNG (identities x views, a mid-clip frame each, the
detector's skeleton in red over our labels in green) and prints their paths.

    python benchmarks/realism.py [--identities 12] [--seconds 2.5] [--fps 10] [--background NAME] [--unlit]
    python benchmarks/realism.py --extra-young-children 2   # + two more children under 5, reported apart
    python benchmarks/realism.py --json new.json --compare benchmarks/results/realism_before.json
    python benchmarks/realism.py --compare-only OLD.json NEW.json

Defaults keep a run around 30-40 minutes on 2 busy shared cores: 1 s of each clip (from 0.3 s),
rendered and judged at 30 fps. Video-mode figures need the clip's real frame rate: subsampled
frames break MediaPipe's tracking (the real demo man scores PCK 0.86 on every frame at 512x288,
0.01 on every 3rd), so subsample with ``--every`` only in static mode or for quick looks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import fetch_demo_clip, fetch_pose2sim_clip  # noqa: E402  (real clips from PyPI wheels)

from random_people.avatar.identity import AGE_GROUPS, SEXES, SKIN_TONE_GROUPS, IdentitySpec  # noqa: E402
from random_people.avatar.sampler import IdentityDistribution, sample_identities  # noqa: E402
from random_people.judge import ClipScore, Judge, pool  # noqa: E402
from random_people.judge.detectors import PoseJudge, SegmentationJudge  # noqa: E402
from random_people.judge.drawing import DETECTION_COLOR, LABEL_COLOR, contact_sheet, draw_skeleton  # noqa: E402
from random_people.judge.inputs import frame_subset, read_label_arrays, read_video_frames  # noqa: E402
from random_people.judge.keypoints import LIMB_INDICES  # noqa: E402
from random_people.judge.reference import scaled_size, score_real_reference  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORK = Path.home() / ".cache" / "random-people-bench" / "realism"
VIEWS = {"a": "source camera, source aspect, 512 long side", "b": "sampled camera, 512x512"}
HEADLINE = ("detection_rate", "pck", "pck_detected", "pck_either_side", "swap_rate", "mask_iou", "mask_iou_crop",
            "cut_off_rate")


@dataclass
class SourceClip:
    """A real clip, the trim used, and the motion extracted from it."""

    key: str
    path: Path
    start: float | None
    end: float | None
    motion: Any = None
    size_a: tuple[int, int] = (0, 0)


@dataclass
class RenderRecord:
    identity: IdentitySpec
    clip: str
    view: str
    video: Path
    labels: Path
    mask: Path
    frames: int
    render_s: float
    judge_s: float
    stages: dict[str, float]  # seconds per render stage (render.clip.ClipResult.timings)
    scores: dict[str, ClipScore] = field(default_factory=dict)  # by detector mode, the headline mode first

    @property
    def score(self) -> ClipScore:
        return next(iter(self.scores.values()))


def covering_identities(n: int, seed: int) -> list[IdentitySpec]:
    """``n`` identities from the balanced sampler, covering every (age group, skin-tone group) first.

    The balanced sampler cycles through sex x age x skin x ancestry (72 cells) in a seeded order,
    so its first 12 draws need not cover every age and skin group. This takes the sampler's own
    draws, in order, and picks for each (age group, skin-tone group) cell the first identity of
    the wanted sex (alternating), then fills any remaining places in sampler order.
    """
    draws = sample_identities(max(8 * n, 144), seed, IdentityDistribution(mode="balanced"))
    chosen: list[IdentitySpec] = []
    cells = [(age, skin) for skin in SKIN_TONE_GROUPS for age in AGE_GROUPS]
    for k, (age, skin) in enumerate(cells):
        if len(chosen) >= n:
            break
        sex = SEXES[k % len(SEXES)]
        fits = [s for s in draws if s not in chosen and s.body.age_group == age
                and s.appearance.skin_tone_group == skin]
        pick = next((s for s in fits if s.body.sex == sex), fits[0] if fits else None)
        if pick is not None:
            chosen.append(pick)
    chosen += [s for s in draws if s not in chosen][: n - len(chosen)]
    return chosen


def extra_young_children(n: int, seed: int, headline: list[IdentitySpec], under_years: float = 5.0) -> list[IdentitySpec]:
    """``n`` more children under ``under_years`` from the same sampler draws, none of the headline set.

    Reported apart from the headline (which stays :func:`covering_identities`): with one young
    child in the balanced 12, the "children" group's figure is that one child's; a second one
    tells "children" from "this child". Taken in the sampler's own order, so the choice is seeded
    and not picked by result.
    """
    if n <= 0:
        return []
    draws = sample_identities(max(8 * len(headline), 144) * 4, seed, IdentityDistribution(mode="balanced"))
    young = [s for s in draws if s not in headline and s.body.age_years < under_years]
    return young[:n]


def describe(spec: IdentitySpec) -> str:
    return (f"{spec.body.sex[0].upper()} {spec.body.age_years:.0f}y {spec.body.age_group} "
            f"MST{spec.appearance.skin_tone} {spec.appearance.skin_tone_group}")


def prepare_clips(args: argparse.Namespace, work: Path) -> list[SourceClip]:
    """The real clips and their motions (extracted once per trim, cached in the work folder)."""
    from random_people.pose.extract import extract_clip
    from random_people.pose.motion import load_motion

    clips = []
    if "demo" in args.clips:
        clips.append(SourceClip("demo", fetch_demo_clip(), args.start, args.start + args.seconds))
    if "pose2sim" in args.clips:
        clips.append(SourceClip("pose2sim", fetch_pose2sim_clip(), args.start, args.start + args.seconds))
    for clip in clips:
        tag = f"{clip.key}_{clip.start}_{clip.end}".replace(".", "p")
        motion_path = work / "motions" / f"{tag}.npz"
        if not motion_path.exists():
            started = time.perf_counter()
            extract_clip(clip.path, motion_path.parent, label=clip.key, start=clip.start, end=clip.end, name=tag,
                         make_preview=False)
            print(f"extracted motion of {clip.key} in {time.perf_counter() - started:.1f} s -> {motion_path}")
        clip.motion = load_motion(motion_path)
        width, height = clip.motion.image_size
        clip.size_a = scaled_size(width, height, args.long_side)
    return clips


def render_and_judge(args: argparse.Namespace, specs: list[IdentitySpec], clips: list[SourceClip], work: Path,
                     judges: dict[str, Judge], first_index: int = 0) -> tuple[list[RenderRecord], dict[str, float]]:
    from random_people.avatar.pipeline import build_identity_avatar

    builds: dict[str, float] = {}
    build_times = []
    records: list[RenderRecord] = []
    out = work / "renders"
    for i, spec in enumerate(specs, start=first_index):
        t = time.perf_counter()
        build_identity_avatar(spec, args.gaussians)
        build_times.append(time.perf_counter() - t)
        for clip in clips:
            for view in args.views:
                records.append(render_one(args, spec, i, clip, view, out, judges))
                r = records[-1]
                print(f"  [{i + 1}/{first_index + len(specs)}] {describe(spec):32s} {clip.key:8s} ({view}) "
                      f"{r.frames} frames {1000 * r.render_s / r.frames:6.0f} ms/frame  "
                      f"det {fmt(r.score.detection_rate)} pck {fmt(r.score.pck)} iou {fmt(r.score.mask_iou)}/{fmt(r.score.mask_iou_crop)}  "
                      + "  ".join(f"{m}: det {fmt(s.detection_rate)} pck {fmt(s.pck)}" for m, s in list(r.scores.items())[1:]),
                      flush=True)
    builds["identity_build_s_first"] = build_times[0]
    builds["identity_build_s_median"] = statistics.median(build_times)
    builds["identity_build_s_max"] = max(build_times)
    return records, builds


def render_one(args: argparse.Namespace, spec: IdentitySpec, index: int, clip: SourceClip, view: str, out: Path,
               judges: dict[str, Judge]) -> RenderRecord:
    from random_people.avatar.pipeline import render_motion_clip

    size = clip.size_a if view == "a" else (args.size_b, args.size_b)
    name = f"{index:02d}_{spec.id[:10]}_{clip.key}_{view}"
    t = time.perf_counter()
    result = render_motion_clip(
        clip.motion, spec, out, name=name, background=args.background, camera="source" if view == "a" else "random",
        seed=args.seed + index, size=size, fps=args.fps, n_gaussians=args.gaussians, backend=args.backend,
        lit=not args.unlit,
    )
    render_s = time.perf_counter() - t
    frames = frame_subset(result.frames, args.every)
    mid = result.frames // 2
    scores = {}
    judge_s = 0.0
    for mode, judge in judges.items():
        t = time.perf_counter()
        scores[mode] = judge.score_clip(result.video_path, result.labels_path, result.mask_path,
                                        frames=sorted(set(frames) | {mid}))
        if mode == args.modes[0]:
            judge_s = time.perf_counter() - t  # the cost a bulk job would pay: one mode, with segmentation
    return RenderRecord(spec, clip.key, view, result.video_path, result.labels_path, result.mask_path,
                        result.frames, render_s, judge_s, dict(result.timings), scores)


def reference_scores(args: argparse.Namespace, clips: list[SourceClip], mode: str,
                     segment: bool = False) -> dict[str, tuple[ClipScore, np.ndarray | None]]:
    """The detector on each clip's real person at size (a), against itself at full resolution.

    With ``segment`` the selfie segmenter (whole frame and crop around the small detection) is
    also scored against MediaPipe Pose's own full-resolution mask of the real person.
    """
    out: dict[str, tuple[ClipScore, np.ndarray | None]] = {}
    with PoseJudge(mode=mode) as small, PoseJudge(mode=mode, segmentation=True) as full, \
            SegmentationJudge() as segmenter:
        for clip in clips:
            every = max(1, int(round(clip.motion.fps / args.fps)))
            from random_people.media import probe_video

            info = probe_video(clip.path)
            first = clip.start or 0.0
            last = min(info.duration, clip.end) if clip.end is not None else info.duration
            mid = int(round((last - first) * info.fps)) // 2 // every * every
            score, kept = score_real_reference(clip.path, clip.size_a, start=clip.start, end=clip.end, every=every,
                                               small_judge=small, full_judge=full, keep_frames={mid},
                                               segmenter=segmenter if segment else None)
            out[clip.key] = (score, kept.get(mid))
            score.meta["mid_frame"] = mid
    return out


# -- figures ----------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 2) -> str:
    return "  -  " if value is None else f"{value:.{digits}f}"


def group_figures(records: list[RenderRecord], key) -> dict[str, dict[str, dict[str, Any]]]:
    """{group: {view: summary}} pooling the clips of each group."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for group in sorted({key(r) for r in records}):
        groups[group] = {}
        for view in sorted({r.view for r in records}):
            chosen = [r.score for r in records if key(r) == group and r.view == view]
            if chosen:
                groups[group][view] = pool(chosen).summary()
    return groups


def mode_figures(args: argparse.Namespace, records: list[RenderRecord], references: dict[str, tuple[ClipScore, Any]],
                 clips: list[SourceClip], mode: str) -> dict[str, Any]:
    """Renders per view and per clip/view, and the real-person reference, for one detector mode."""
    by_view = {view: pool(r.scores[mode] for r in records if r.view == view).summary() for view in args.views}
    by_clip_view = {f"{c.key}/{v}": pool(r.scores[mode] for r in records if r.clip == c.key and r.view == v).summary()
                    for c in clips for v in args.views}
    reference = {key: score.summary() for key, (score, _) in references.items()}
    reference["all"] = pool(score for score, _ in references.values()).summary()
    return {"renders": by_view, "renders_by_clip": by_clip_view, "real_reference_a": reference}


def figures(args: argparse.Namespace, records: list[RenderRecord],
            references: dict[str, dict[str, tuple[ClipScore, Any]]], builds: dict[str, float],
            clips: list[SourceClip]) -> dict[str, Any]:
    render_frames = sum(r.frames for r in records)
    judged_frames = sum(r.score.num_frames + r.score.frames_out_of_view for r in records)
    headline = mode_figures(args, records, references[args.modes[0]], clips, args.modes[0])
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except Exception:  # not a git checkout
        commit = None
    return {
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "sheet", "compare", "compare_only")},
        "commit": commit, "machine": platform.platform(), "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_average_at_end": list(os.getloadavg()),  # the cores are shared: timings scale with this
        "clips": {c.key: {"path": c.path.name, "trim": [c.start, c.end], "size_a": list(c.size_a),
                          "fps": c.motion.fps} for c in clips},
        "views": {v: VIEWS[v] for v in args.views},
        "detector_mode": args.modes[0],
        **headline,
        "other_modes": {mode: mode_figures(args, records, references[mode], clips, mode) for mode in args.modes[1:]},
        "by_skin_tone_group": group_figures(records, lambda r: r.identity.appearance.skin_tone_group),
        "by_age_group": group_figures(records, lambda r: r.identity.body.age_group),
        "by_sex": group_figures(records, lambda r: r.identity.body.sex),
        "identities": [
            {"id": r.identity.id, "who": describe(r.identity), "clip": r.clip, "view": r.view,
             **r.score.summary(), "render_ms_per_frame": 1000 * r.render_s / r.frames}
            for r in records
        ],
        "timing": {
            **builds,
            "render_ms_per_frame": {v: 1000 * sum(r.render_s for r in records if r.view == v)
                                    / max(1, sum(r.frames for r in records if r.view == v)) for v in args.views},
            "render_stage_ms_per_frame": {
                stage: 1000 * sum(r.stages.get(stage, 0.0) for r in records) / max(1, render_frames)
                for stage in sorted({k for r in records for k in r.stages})},
            "judge_ms_per_judged_frame": 1000 * sum(r.judge_s for r in records) / max(1, judged_frames),
            "judge_share_of_render_time": sum(r.judge_s for r in records) / max(1e-9, sum(r.render_s for r in records)),
            "rendered_frames": render_frames,
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def extra_figures(records: list[RenderRecord], under_years: float) -> dict[str, Any]:
    """The extra identities' figures: each one per clip/view and all of them pooled per view."""
    return {
        "definition": f"the first children under {under_years:g} years in the balanced sampler's draws (same seed) "
                      "that are not in the headline set; reported apart, never pooled into the headline or groups",
        "identities": [{"id": r.identity.id, "who": describe(r.identity), "clip": r.clip, "view": r.view,
                        **r.score.summary()} for r in records],
        "pooled": {view: pool(r.score for r in records if r.view == view).summary()
                   for view in sorted({r.view for r in records})},
    }


def print_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'':26s} {'frames':>6s} {'detect':>7s} {'PCK@0.1':>8s} {'PCK|det':>8s} {'PCK L/R':>8s} {'swapped':>8s} "
          f"{'IoU all':>8s} {'IoU crop':>8s} {'cut off':>8s}")
    for name, s in rows.items():
        print(f"  {name:26s} {s['frames']:6d} {fmt(s['detection_rate']):>7s} {fmt(s['pck']):>8s} "
              f"{fmt(s['pck_detected']):>8s} {fmt(s.get('pck_either_side')):>8s} {fmt(s.get('swap_rate')):>8s} "
              f"{fmt(s['mask_iou']):>8s} {fmt(s.get('mask_iou_crop')):>8s} {fmt(s['cut_off_rate']):>8s}")
    print("  (PCK L/R: forgiving a left/right exchange; swapped: detected frames that fit better exchanged;\n"
          "   IoU all / crop: selfie segmentation on the whole frame / on a crop around the person the pose\n"
          "   detector found, against our mask -- for the real person against MediaPipe Pose's own mask)")


def mode_rows(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {f"renders ({v})": s for v, s in section["renders"].items()}
    rows.update({f"  {k}": s for k, s in section["renders_by_clip"].items()})
    rows.update({f"real person ({k}, a)": s for k, s in section["real_reference_a"].items()})
    return rows


def print_report(result: dict[str, Any]) -> None:
    print_table(f"Judge: MediaPipe Pose (full, {result['detector_mode']} mode) + selfie segmentation vs our labels",
                mode_rows(result))
    for mode, section in result.get("other_modes", {}).items():
        print_table(f"The same in {mode} mode (pose only; mask IoU as above)", mode_rows(section))
    for name in ("by_skin_tone_group", "by_age_group", "by_sex"):
        group_rows = {f"{g} ({v})": s for g, views in result[name].items() for v, s in views.items()}
        print_table(name.replace("_", " "), group_rows)
    extra = result.get("extra_identities")
    if extra and extra["identities"]:
        rows = {f"all extra ({v})": s for v, s in extra["pooled"].items()}
        rows.update({f"  {e['who'].rsplit(' ', 1)[0]} {e['clip'][:4]}/{e['view']}": e for e in extra["identities"]})
        print_table(f"Extra identities, NOT in the headline or the groups above ({extra['definition']})", rows)
    t = result["timing"]
    print("\nTiming")
    print(f"  load body model          {t['load_body_model_s']:.2f} s")
    print(f"  identity build           first {t['identity_build_s_first']:.2f} s, median "
          f"{t['identity_build_s_median']:.2f} s, max {t['identity_build_s_max']:.2f} s")
    for v, ms in t["render_ms_per_frame"].items():
        print(f"  render ({v})               {ms:.0f} ms/frame (pipeline: pose, rasterize, composite, labels, encode)")
    print("  render stages            " + ", ".join(f"{k} {v:.0f}" for k, v in t["render_stage_ms_per_frame"].items())
          + " ms/frame (the rest: avatar posing)")
    print(f"  judge                    {t['judge_ms_per_judged_frame']:.0f} ms/judged frame; "
          f"{100 * t['judge_share_of_render_time']:.1f}% of render time at this subsample")
    print(f"  peak RSS                 {result['peak_rss_mb']:.0f} MB")
    print(f"  load average at the end  {', '.join(f'{v:.1f}' for v in result['load_average_at_end'])} "
          f"on {os.cpu_count()} cores (timings are inflated when the machine is shared)")


def flatten(result: dict[str, Any]) -> dict[str, float | None]:
    """Comparable scalar figures: ``section/name/view/metric``."""
    flat: dict[str, float | None] = {}
    sections = [("", result)] + [(f"{mode}:", sub) for mode, sub in result.get("other_modes", {}).items()]
    for prefix, source in sections:
        for section in ("renders", "renders_by_clip", "real_reference_a"):
            for name, s in source.get(section, {}).items():
                for metric in HEADLINE:
                    if prefix and metric in ("mask_iou", "mask_iou_crop"):
                        continue
                    flat[f"{prefix}{section}/{name}/{metric}"] = s.get(metric)
    for section in ("by_skin_tone_group", "by_age_group", "by_sex"):
        for group, views in result.get(section, {}).items():
            for view, s in views.items():
                for metric in ("detection_rate", "pck", "swap_rate", "mask_iou", "mask_iou_crop"):
                    flat[f"{section}/{group}/{view}/{metric}"] = s.get(metric)
    timing = result.get("timing", {})
    for view, ms in timing.get("render_ms_per_frame", {}).items():
        flat[f"timing/render_ms_per_frame/{view}"] = ms
    for key in ("identity_build_s_median", "judge_ms_per_judged_frame"):
        flat[f"timing/{key}"] = timing.get(key)
    flat["peak_rss_mb"] = result.get("peak_rss_mb")
    return flat


def print_compare(old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str) -> None:
    a, b = flatten(old), flatten(new)
    print(f"\nBefore/after: {old_name} (commit {old.get('commit')}) -> {new_name} (commit {new.get('commit')})")
    print(f"  {'figure':58s} {'before':>8s} {'after':>8s} {'change':>8s}")
    for key in list(dict.fromkeys([*a, *b])):
        x, y = a.get(key), b.get(key)
        change = "" if x is None or y is None else f"{y - x:+.3f}" if abs(y) < 10 else f"{y / x:.2f}x" if x else ""
        print(f"  {key:58s} {fmt(x, 3) if x is None or abs(x) < 10 else f'{x:.0f}':>8s} "
              f"{fmt(y, 3) if y is None or abs(y) < 10 else f'{y:.0f}':>8s} {change:>8s}")


# -- contact sheet ------------------------------------------------------------------------------


def sheet_tile(record: RenderRecord) -> tuple[np.ndarray | None, str]:
    """The mid-clip frame with our visible limb labels (green) and the detector's skeleton (red)."""
    mid = record.frames // 2
    frame = read_video_frames(record.video, [mid]).get(mid)
    labels = read_label_arrays(record.labels)
    verdict = record.score.frame(mid)
    if frame is None:
        return None, "missing frame"
    shown = np.zeros(17, dtype=bool)
    shown[LIMB_INDICES] = True
    image = draw_skeleton(frame, labels.keypoints_2d[mid, :17], LABEL_COLOR, shown=shown, thickness=1)
    image = draw_skeleton(image, None if verdict is None else verdict.keypoints, DETECTION_COLOR, thickness=1)
    found = "no person" if verdict is None or not verdict.detected else f"pck {fmt(verdict.pck.value)}"
    return image, f"{record.clip} ({record.view}) {found}\nclip pck {fmt(record.score.pck)} iou {fmt(record.score.mask_iou)}/{fmt(record.score.mask_iou_crop)}"


def write_sheet(path: Path, records: list[RenderRecord], references: dict[str, tuple[ClipScore, Any]],
                specs: list[IdentitySpec], extras: list[IdentitySpec] = ()) -> Path:
    """Row 1: the real people at size (a) with the detector's skeleton; then one row per identity."""
    rows = []
    real_row = []
    for key, (score, image) in references.items():
        verdict = score.frame(score.meta.get("mid_frame", -1))
        tile = None
        if image is not None:
            if verdict is not None:  # green: the detector at full resolution (the reference), scaled down
                image = draw_skeleton(image, verdict.truth, LABEL_COLOR, shown=verdict.counted, thickness=1)
            tile = draw_skeleton(image, None if verdict is None else verdict.keypoints, thickness=1)
        real_row.append((tile, f"REAL {key} (a)\nclip pck {fmt(score.pck)}"))
    rows.append(real_row)
    for spec in [*specs, *extras]:
        row = []
        for record in (r for r in records if r.identity is spec):
            image, caption = sheet_tile(record)
            if not row:
                caption = f"{'EXTRA ' if spec in extras else ''}{describe(spec)}\n{caption}"
            row.append((image, caption))
        rows.append(row)
    return contact_sheet(rows, path, tile_height=240)


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1, help="identity sampling and camera seed")
    parser.add_argument("--clips", default="demo,pose2sim", help="comma list of: demo, pose2sim")
    parser.add_argument("--start", type=float, default=0.3, help="trim start (s) of both clips")
    parser.add_argument("--seconds", type=float, default=1.0, help="trim length (s) of both clips")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="rendered frames per second (video-mode tracking needs ~30: at 15 fps the detector "
                             "already loses the real man of the demo clip)")
    parser.add_argument("--every", type=int, default=1, help="judge every n-th rendered frame")
    parser.add_argument("--views", default="a,b", help="a: source camera at the source aspect; b: sampled 512x512")
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--size-b", type=int, default=512)
    parser.add_argument("--modes", default="video,static",
                        help="pose detector modes, the first is the headline (video, static)")
    parser.add_argument("--background", default=None,
                        help="background of every render (default: the pipeline's default, a shipped photograph)")
    parser.add_argument("--unlit", action="store_true", help="flat colours: the renderer without lighting")
    parser.add_argument("--extra-young-children", type=int, default=0,
                        help="also render this many more children under --young-under years (the sampler's next "
                             "ones), reported apart from the headline")
    parser.add_argument("--young-under", type=float, default=5.0)
    parser.add_argument("--gaussians", type=int, default=20000)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "realism_latest.json")
    parser.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG (default: beside the JSON)")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier JSON to print side by side")
    parser.add_argument("--compare-only", nargs=2, type=Path, metavar=("OLD", "NEW"),
                        help="print two earlier JSONs side by side and exit")
    args = parser.parse_args()
    if args.compare_only:
        old, new = (json.loads(p.read_text()) for p in args.compare_only)
        print_compare(old, new, args.compare_only[0].name, args.compare_only[1].name)
        return
    args.clips = [c.strip() for c in args.clips.split(",") if c.strip()]
    args.views = [v.strip() for v in args.views.split(",") if v.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [v for v in args.views if v not in VIEWS] + [c for c in args.clips if c not in ("demo", "pose2sim")]
    unknown += [m for m in args.modes if m not in ("video", "static")]
    if unknown:
        parser.error(f"unknown view(s)/clip(s): {unknown}")
    logging.basicConfig(level=logging.WARNING)
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    specs = covering_identities(args.identities, args.seed)
    print(f"{len(specs)} identities (balanced sampler, seed {args.seed}):")
    for spec in specs:
        print(f"  {spec.id[:12]}  {describe(spec)}")
    extras = extra_young_children(args.extra_young_children, args.seed, specs, args.young_under)
    for spec in extras:
        print(f"  {spec.id[:12]}  {describe(spec)}  (extra, not in the headline)")
    from random_people.body import load_body_model

    loading = time.perf_counter()
    load_body_model(kind="anny")
    load_s = time.perf_counter() - loading
    clips = prepare_clips(args, work)
    judges = {mode: Judge(mode=mode, segmentation=k == 0) for k, mode in enumerate(args.modes)}
    try:
        records, builds = render_and_judge(args, specs, clips, work, judges)
        extra_records = render_and_judge(args, extras, clips, work, judges, first_index=len(specs))[0] if extras else []
    finally:
        for judge in judges.values():
            judge.close()
    references = {mode: reference_scores(args, clips, mode, segment=k == 0) for k, mode in enumerate(args.modes)}
    result = figures(args, records, references, {"load_body_model_s": load_s, **builds}, clips)
    result["timing"]["total_s"] = time.perf_counter() - started
    if extras:
        result["extra_identities"] = extra_figures(extra_records, args.young_under)

    print_report(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str))
    sheet = write_sheet(args.sheet or args.json.with_suffix(".png"), records + extra_records, references[args.modes[0]],
                        specs, extras)
    print(f"\nJSON: {args.json}\ncontact sheet: {sheet}")
    if args.compare:
        print_compare(json.loads(args.compare.read_text()), result, args.compare.name, args.json.name)


if __name__ == "__main__":
    main()
