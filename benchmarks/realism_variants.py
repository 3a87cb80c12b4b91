"""Which part of an identity decides the judge's verdict? Re-render one case with one thing changed.

``benchmarks/realism_probe.py`` edits the pixels of a finished render; this re-renders a case of
``benchmarks/realism.py`` (same identity, motion, camera seed and size) with one part of the
*identity or render* changed, so a suspected cause can be confirmed or ruled out in the product's
own terms: the top, the bottoms, the shoes, the hair, the age, another benchmark identity's whole
look or body, the background, colour harmonisation, or the render size. Prints one line per
variant with MediaPipe Pose (video and static mode) and selfie-segmentation figures.

    python benchmarks/realism_variants.py --work-dir ~/.cache/random-people-bench/realism \\
        --case 0:demo:a --variants "asis,top=#1f2a44,age=5,look=2,bottom=2,shoes=2,asis@city_1,asis/h0.3"

A variant is ``+``-joined changes, then optionally ``@BACKGROUND`` and ``/hAMOUNT`` (harmonisation):
``asis``; ``top=#rrggbb`` (a solid top of that colour); ``topsolid`` (the top without its print);
``toptype=T``; ``age=Y``; ``hair=STYLE``; ``hairc=COLOUR``; ``look=I`` / ``body=I`` (identity I's
appearance / body); ``bottom=I`` / ``shoes=I`` (identity I's bottoms / shoes). ``--camera-of J``
renders with identity J's camera seed (the same viewpoint for different people). Only a
diagnostic: the figures that count come from ``benchmarks/realism.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realism import DEFAULT_WORK, covering_identities, describe, extra_young_children  # noqa: E402

from random_people.avatar.identity import Garment, IdentitySpec  # noqa: E402
from random_people.avatar.pipeline import render_motion_clip  # noqa: E402
from random_people.judge import Judge  # noqa: E402
from random_people.judge.reference import scaled_size  # noqa: E402
from random_people.pose.motion import load_motion  # noqa: E402


def changed(spec: IdentitySpec, change: str, others: list[IdentitySpec]) -> IdentitySpec:
    """``spec`` with one named change (see the module docstring)."""
    look, body = spec.appearance, spec.body
    key, _, value = change.partition("=")
    if key == "asis":
        return spec
    if key == "top":
        return dataclasses.replace(spec, appearance=dataclasses.replace(look, top=Garment(look.top.type, value)))
    if key == "topsolid":
        return dataclasses.replace(spec, appearance=dataclasses.replace(look, top=Garment(look.top.type, look.top.color)))
    if key == "toptype":
        return dataclasses.replace(spec, appearance=dataclasses.replace(look, top=dataclasses.replace(look.top, type=value)))
    if key == "age":
        return dataclasses.replace(spec, body=dataclasses.replace(body, age_years=float(value)))
    if key == "hair":
        return dataclasses.replace(spec, appearance=dataclasses.replace(look, hair_style=value))
    if key == "hairc":
        return dataclasses.replace(spec, appearance=dataclasses.replace(look, hair_color=value))
    if key in ("look", "body", "bottom", "shoes"):
        other = others[int(value)]
        if key == "body":
            return dataclasses.replace(spec, body=other.body)
        if key == "look":
            return dataclasses.replace(spec, appearance=dataclasses.replace(
                other.appearance, skin_tone=look.skin_tone, facial_hair="none"))
        return dataclasses.replace(spec, appearance=dataclasses.replace(look, **{key: getattr(other.appearance, key)}))
    raise ValueError(f"unknown change {change!r} (see the module docstring)")


def parse_variant(text: str) -> tuple[list[str], str | None, float | None]:
    """'a+b@bg/h0.3' -> (['a', 'b'], 'bg', 0.3)."""
    harmonize = None
    if "/h" in text:
        text, _, amount = text.rpartition("/h")
        harmonize = float(amount)
    text, _, background = text.partition("@")
    return text.split("+"), background or None, harmonize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="a realism.py --work-dir (its motions)")
    parser.add_argument("--case", required=True, help="IDENTITY_INDEX:CLIP:VIEW, e.g. 0:demo:a")
    parser.add_argument("--variants", default="asis")
    parser.add_argument("--camera-of", type=int, default=None, help="use this identity's camera seed")
    parser.add_argument("--extra-young-children", type=int, default=2,
                        help="realism.py's extra children, as identities 12, 13, ... (its --extra-young-children)")
    parser.add_argument("--long-side", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trim", default="0p3_1p3")
    parser.add_argument("--render-dir", type=Path, default=Path("/tmp/realism_variants"))
    args = parser.parse_args()
    index, clip, view = args.case.split(":")
    specs = covering_identities(12, args.seed)
    specs += extra_young_children(args.extra_young_children, args.seed, specs)  # indices 12, 13, ...
    base = specs[int(index)]
    camera_of = int(index) if args.camera_of is None else args.camera_of
    motion = load_motion(args.work_dir / "motions" / f"{clip}_{args.trim}.npz")
    size = scaled_size(*motion.image_size, args.long_side) if view == "a" else (args.long_side, args.long_side)
    with Judge(mode="video") as video, Judge(mode="static", segmentation=False) as static:
        for text in args.variants.split(","):
            changes, background, harmonize = parse_variant(text)
            spec = base
            for change in changes:
                spec = changed(spec, change, specs)
            started = time.perf_counter()
            result = render_motion_clip(
                motion, spec, args.render_dir, name=f"{index}_{clip}_{view}_{abs(hash(text)) % 10**8}",
                camera="source" if view == "a" else "random", seed=args.seed + camera_of, size=size, fps=30.0,
                background=background, harmonize=harmonize)
            judged = video.score_clip(result.video_path, result.labels_path, result.mask_path)
            v, s = judged.summary(), static.score_clip(result.video_path, result.labels_path).summary()
            box = float(np.median([f.box_height for f in judged.frames]))
            print(f"{describe(spec):28s} {clip}/{view} {text:22s} box {box:4.0f}px | video det {v['detection_rate']:.2f} "
                  f"pck {v['pck']:.3f} swap {v['swap_rate'] or 0:.2f} iou {v['mask_iou']:.2f}/{v['mask_iou_crop']:.2f} | "
                  f"static det {s['detection_rate']:.2f} pck {s['pck']:.3f} swap {s['swap_rate'] or 0:.2f}  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
