"""The ``random-people`` command. Parses arguments, calls the library, reports; no business logic."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable

import random_people
from random_people.cli_progress import progress_reporter
from random_people.errors import InvalidInputError, RandomPeopleError
from random_people.settings import load_settings

logger = logging.getLogger("random_people")


def _progress_bar(desc: str, quiet: bool):
    """The progress display for one command (a bar on a terminal, one line per stage elsewhere)."""
    return progress_reporter(desc, quiet)


def _cmd_extract(args: argparse.Namespace) -> int:
    from random_people.action_labels import label_problem

    if args.label and (problem := label_problem(args.label)):  # before the slow imports below
        raise InvalidInputError(f"--label {args.label[:60]!r} for {Path(args.clip).name} {problem}.")
    from random_people.pose.extract import extract_clip

    output = Path(args.output)
    if output.suffix != ".npz":
        raise RandomPeopleError(f"--output must end in .npz (got {output.name}); the .bvh and preview are written beside it.")
    settings = load_settings(body_model=args.body_model)
    with _progress_bar("extract", args.quiet) as progress:
        result = extract_clip(
            args.clip, output.parent, label=args.label, start=args.start, end=args.end, name=output.stem,
            settings=settings, progress=progress, make_preview=not args.no_preview, person=args.person,
            hands=args.hands,
        )
    print(f"motion:  {result.motion_path}")
    print(f"bvh:     {result.bvh_path}")
    if result.preview_path:
        print(f"preview: {result.preview_path}")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.summary.items()}, indent=2))
    return 0


def _print_clip(result) -> int:
    print(f"video:  {result.video_path}")
    print(f"mask:   {result.mask_path}")
    print(f"labels: {result.labels_path}")
    print(f"{result.frames} frames in {result.seconds:.1f} s ({result.seconds / result.frames:.2f} s/frame)")
    return 0


def _identities_dir(args: argparse.Namespace) -> Path:
    return Path(args.identities_dir) if args.identities_dir else load_settings().data_dir / "identities"


def _crf(text: str) -> int:
    """``--crf``: refused at parse time, before any model loads, when it is not 0..51."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 (lossless) to 51, got {text!r}") from None
    if not 0 <= value <= 51:
        raise argparse.ArgumentTypeError(f"{value} is outside 0 (lossless) to 51")
    return value


def _cmd_render(args: argparse.Namespace) -> int:
    from random_people.render.scene_file import DEFAULT_BACKGROUND, parse_size, render_scene_file

    if args.motion:
        return _render_motion(args)
    if args.identity:
        raise RandomPeopleError("--identity goes with --motion (re-perform a motion with that person).")
    with _progress_bar("render", args.quiet) as progress:
        result = render_scene_file(
            args.gaussians, args.output, transforms_path=args.transforms, camera=args.camera, seed=args.seed,
            background=args.background or DEFAULT_BACKGROUND, size=parse_size(args.size) if args.size else None,
            fps=args.fps,
            frames=args.frames, backend=args.backend, shadow=args.shadow, harmonize=args.harmonize,
            degrade=args.degrade, crf=args.crf, progress=progress,
        )
    return _print_clip(result)


def _render_motion(args: argparse.Namespace) -> int:
    from random_people.avatar.store import load_identity
    from random_people.pose.motion import load_motion

    if not args.identity:
        raise RandomPeopleError("--motion needs --identity ID (a saved identity id or a .json path).")
    camera = "source" if args.camera == "auto" else args.camera
    output = Path(args.output)
    spec = load_identity(args.identity, _identities_dir(args))
    motion = load_motion(args.motion)  # both checked before the renderer (torch) is even imported
    from random_people.avatar.pipeline import render_motion_clip

    with _progress_bar("render", args.quiet) as progress:
        result = render_motion_clip(
            motion, spec, output.parent, name=output.stem, background=args.background,
            camera=camera, seed=args.seed, size=args.size, max_frames=args.frames, backend=args.backend,
            progress=progress, lit=not args.unlit, source_clip=args.source_clip, crf=args.crf,
        )
    return _print_clip(result)


def _cmd_identity_show(args: argparse.Namespace) -> int:
    from random_people.avatar.identity import describe
    from random_people.avatar.store import load_identity

    spec = load_identity(args.identity, _identities_dir(args))
    from random_people.avatar.pipeline import identity_thumbnail, identity_turntable

    output = Path(args.output)
    if output.suffix == ".mp4":
        identity_turntable(spec, output, size=args.size)
    elif output.suffix == ".png":
        identity_thumbnail(spec, output, size=args.size)
    else:
        raise RandomPeopleError(f"-o must end in .png (a thumbnail) or .mp4 (a turntable), got {output.name}.")
    print(f"{spec.id}: {describe(spec)}")
    print(f"wrote {output}")
    return 0


def _cmd_identity_capture(args: argparse.Namespace) -> int:
    from random_people.avatar.capture import read_consent

    consent = read_consent(args.consent, recorded_by=args.recorded_by, date=args.consent_date)  # refuse before work
    from random_people.avatar.capture.capture import capture_person
    from random_people.avatar.capture.coverage import describe_coverage
    from random_people.avatar.capture.offsets import describe_offsets
    from random_people.avatar.identity import describe

    with _progress_bar("capture", args.quiet) as progress:
        result = capture_person(args.video, args.output, consent=consent, start=args.start, end=args.end,
                                person=args.person, settings=load_settings(), progress=progress)
    print(f"identity: {result.identity_path}")
    print(f"avatar:   {result.ply_path} + {result.sidecar_path.name}")
    print(f"report:   {result.report_path}")
    if result.preview_path:
        print(f"preview:  {result.preview_path}")
    print(f"{result.spec.id}: {describe(result.spec)}")
    print("seen: " + describe_coverage(result.report["coverage"]))
    print(describe_offsets(result.report.get("offsets")))
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    return 0


def _cmd_identity_sample(args: argparse.Namespace) -> int:
    from random_people.avatar.sampler import IdentityDistribution, attribute_histogram, format_histogram, sample_identities
    from random_people.avatar.store import save_identities

    dist = IdentityDistribution.from_yaml(args.config) if args.config else IdentityDistribution()
    age_range = None
    if args.age_min is not None or args.age_max is not None:
        age_range = (dist.age_range[0] if args.age_min is None else args.age_min,
                     dist.age_range[1] if args.age_max is None else args.age_max)
    dist = dist.replace(mode=args.mode, female_ratio=args.female_ratio, age_range=age_range)
    specs = sample_identities(args.n, args.seed, dist)
    paths = save_identities(specs, args.output)
    print(format_histogram(attribute_histogram(specs)))
    print(f"{len(set(paths))} identity files in {args.output} (distribution {dist.id}, {dist.mode} mode, seed {args.seed})")
    return 0


def _cmd_setup(args: argparse.Namespace) -> int:
    from random_people.first_run import prepare

    with _progress_bar("setup", args.quiet) as progress:
        report = prepare(load_settings(), progress=progress)
    print("\n".join(report.lines()))
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from random_people.doctor import diagnose, format_report, report_dict

    sections = diagnose(load_settings())
    print(json.dumps(report_dict(sections), indent=2) if args.json else format_report(sections))
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from random_people.ui.app import launch

    launch(load_settings(server_name=args.host, server_port=args.port))
    return 0


def _command_groups() -> list[Callable[[argparse._SubParsersAction], None]]:
    """The commands of bulk jobs, the Hub and experiments, each group in its own thin module."""
    from random_people import cli_experiments, cli_hub, cli_jobs

    return [cli_jobs.register, cli_hub.register, cli_experiments.register]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="random-people", description="Synthetic human-action videos from real ones.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"random-people {random_people.__version__}",
                        help="print the version (`random-people doctor` prints everything a bug report needs)")
    sub = parser.add_subparsers(dest="command", required=True)

    extract = sub.add_parser("extract", help="extract the motion of the person in a clip")
    extract.add_argument("clip", help="video file (mp4, mov, webm, avi, mkv)")
    extract.add_argument("-o", "--output", required=True, help="motion file to write (.npz); .bvh and _preview.mp4 go beside it")
    extract.add_argument("--label", default="", help="action label stored in the motion (e.g. walk)")
    extract.add_argument("--start", type=float, default=None, help="start time in seconds")
    extract.add_argument("--end", type=float, default=None, help="end time in seconds")
    extract.add_argument("--body-model", choices=["anny", "smplx"], default=None, help="body model (default: settings)")
    extract.add_argument("--person", default=None,
                         help="whom to follow when several people are in the first frame (of --start): largest, "
                              "leftmost, rightmost, N (1 = leftmost) or x,y (a pixel on them); default: the largest, "
                              "followed with the others tracked")
    extract.add_argument("--hands", action="store_true",
                         help="also find both hands (MediaPipe Hands on crops around the wrists) and fit the finger "
                              "and wrist rotations; about 2x slower")
    extract.add_argument("--no-preview", action="store_true", help="skip the overlay preview video")
    extract.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    extract.set_defaults(handler=_cmd_extract)

    render = sub.add_parser(
        "render", help="render a 3DGS .ply (optionally animated) to an mp4 with mask and labels",
        description="Render Gaussians to <out>.mp4, <out>_mask.mp4 and <out>_labels.npz. The --transforms "
                    ".npz format and the camera specs are documented in random_people/render/scene_file.py.",
    )
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--gaussians", help="3D Gaussian Splatting .ply file")
    source.add_argument("--motion", help="a Motion .npz (from `extract`) to re-perform with --identity")
    render.add_argument("--identity", default=None, help="with --motion: a saved identity id or an identity .json")
    render.add_argument("--identities-dir", default=None, help="where saved identities live (default: data dir/identities)")
    render.add_argument("--transforms", default=None,
                        help="per-frame motion .npz (bone_transforms+bone_indices+bone_weights, or object_to_world; "
                             "optional keypoints_world/keypoint_names, camera_K/world_to_camera/image_size, fps, up)")
    render.add_argument("--camera", default="auto",
                        help="auto | source | front | random | orbit:AZ,EL,DIST[,FOV] | look-at:EX,EY,EZ[:TX,TY,TZ[:FOV]] "
                             "(default auto: the source camera if the transforms file has one, else front); "
                             "with --motion: source (default) or random")
    render.add_argument("--seed", type=int, default=0, help="seed for the random camera and the compositor")
    render.add_argument("--background", default=None,
                        help="shipped background name (photographs <env>_<k>, cartoon_<scene>), image/video path, "
                             "#rrggbb, or 'source': the motion's own clip with its person removed (a cached clean "
                             "plate; source camera only) (default: a shipped photograph with --motion, #808080 with "
                             "--gaussians)")
    render.add_argument("--source-clip", default=None,
                        help="with --background source: the clip the motion was extracted from (default: where "
                             "this data dir's extraction found it; its SHA-256 must match)")
    render.add_argument("--unlit", action="store_true",
                        help="with --motion: no lighting (flat colours, as before lighting existed)")
    render.add_argument("--size", default=None, help="WIDTHxHEIGHT (default: the source camera's size, else 512x512)")
    render.add_argument("--fps", type=float, default=None, help="frame rate (default: the transforms file's, else 30)")
    render.add_argument("--frames", type=int, default=None,
                        help="number of frames (static cloud: default 1; with --transforms: the first N)")
    render.add_argument("--backend", default="auto", help="rasterizer backend (auto, cpu, gsplat)")
    render.add_argument("--shadow", action="store_true", help="contact shadow under the feet keypoints")
    render.add_argument("--harmonize", type=float, default=0.0, help="0..1: match the person's colours to the background")
    render.add_argument("--degrade", action="store_true", help="camera-like edge blur, noise and JPEG artefacts")
    render.add_argument("--crf", type=_crf, default=None,
                        help="H.264 quality, 0 (lossless) to 51 (default 12: a small person's hands survive; "
                             "larger values give smaller files)")
    render.add_argument("-o", "--output", required=True, help="video to write (.mp4); mask and labels go beside it")
    render.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    render.set_defaults(handler=_cmd_render)

    identity = sub.add_parser("identity", help="identity specs of synthetic people")
    identity_sub = identity.add_subparsers(dest="identity_command", required=True)
    identity_sample = identity_sub.add_parser(
        "sample", help="sample N identities to DIR/<id>.json and print their attribute histogram",
        description="Distribution fields (YAML): see IdentityDistribution in random_people/avatar/sampler.py.",
    )
    identity_sample.add_argument("--n", type=int, required=True, help="number of identities")
    identity_sample.add_argument("--seed", type=int, default=0, help="seed (identity i depends only on seed and i)")
    identity_sample.add_argument("--config", default=None, help="distribution YAML file")
    identity_sample.add_argument("--mode", choices=["random", "balanced"], default=None,
                                 help="random draws, or an even cycle over sex x age group x skin-tone group x ancestry")
    identity_sample.add_argument("--female-ratio", type=float, default=None, help="share of females, 0..1")
    identity_sample.add_argument("--age-min", type=float, default=None, help="youngest age in years (>= 1)")
    identity_sample.add_argument("--age-max", type=float, default=None, help="oldest age in years (<= 90)")
    identity_sample.add_argument("-o", "--output", required=True, help="directory for the identity JSON files")
    identity_sample.set_defaults(handler=_cmd_identity_sample)
    identity_show = identity_sub.add_parser("show", help="render an identity: a thumbnail (.png) or a turntable (.mp4)")
    identity_show.add_argument("identity", help="a saved identity id or an identity .json")
    identity_show.add_argument("--identities-dir", default=None, help="where saved identities live (default: data dir/identities)")
    identity_show.add_argument("--size", type=int, default=256, help="image size in pixels (square)")
    identity_show.add_argument("-o", "--output", required=True, help="thumb.png or turntable.mp4")
    identity_show.set_defaults(handler=_cmd_identity_show)
    identity_capture = identity_sub.add_parser(
        "capture", help="capture a consenting person from a video as an identity (their shape and colours)",
        description="Fits the body shape to the person's silhouette and back-projects the video's colours onto "
                    "the avatar's surface. Refused without --consent.",
    )
    identity_capture.add_argument("video", help="a video of the person (fixed camera; turning once shows every side)")
    identity_capture.add_argument("--start", type=float, default=None, help="start time in seconds")
    identity_capture.add_argument("--end", type=float, default=None, help="end time in seconds")
    identity_capture.add_argument("--person", default=None,
                                  help="whom to capture when several people are in view: largest, leftmost, "
                                       "rightmost, N (1 = leftmost) or x,y")
    identity_capture.add_argument("--consent", default=None,
                                  help="the person's consent: the statement as text, or a .txt/.json file "
                                       "(JSON: statement, recorded_by, date)")
    identity_capture.add_argument("--recorded-by", default="", help="who recorded the consent")
    identity_capture.add_argument("--consent-date", default=None, help="date of the consent, YYYY-MM-DD (default today)")
    identity_capture.add_argument("-o", "--output", required=True, help="directory for <id>.json, .ply and sidecar")
    identity_capture.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    identity_capture.set_defaults(handler=_cmd_identity_capture)

    for register in _command_groups():
        register(sub)

    setup = sub.add_parser(
        "setup", help="build the one-time caches now (Anny's body model, the renderer's kernels)",
        description="A fresh install builds Anny's body-model cache (1-5 min, ~0.9 GB in ~/.cache/anny) and "
                    "compiles the CPU rasterizer on first use. This does both now, with progress; it is quick "
                    "once done.",
    )
    setup.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    setup.set_defaults(handler=_cmd_setup)

    doctor = sub.add_parser("doctor", help="versions, backends, caches and paths, for a bug report")
    doctor.add_argument("--json", action="store_true", help="print JSON instead of text")
    doctor.set_defaults(handler=_cmd_doctor)

    app = sub.add_parser("app", help="start the web app")
    app.add_argument("--host", default=None)
    app.add_argument("--port", type=int, default=None)
    app.set_defaults(handler=_cmd_app)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except RandomPeopleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a writer the library does not wrap yet: still the documented exit code
        from random_people.files import is_disk_full

        if not is_disk_full(exc):
            raise
        print(f"error: the disk is full ({exc}); free some space and run again.", file=sys.stderr)
        return 21
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
