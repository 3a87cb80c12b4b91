"""The ``random-people`` command. Parses arguments, calls the library, reports; no business logic."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from random_people.errors import RandomPeopleError
from random_people.settings import load_settings

logger = logging.getLogger("random_people")


def _cmd_extract(args: argparse.Namespace) -> int:
    from random_people.pose.extract import extract_clip

    output = Path(args.output)
    if output.suffix != ".npz":
        raise RandomPeopleError(f"--output must end in .npz (got {output.name}); the .bvh and preview are written beside it.")
    settings = load_settings(body_model=args.body_model)
    with tqdm(total=100, desc="extract", unit="%", disable=args.quiet, bar_format="{l_bar}{bar}| {desc}") as bar:
        def progress(fraction: float, message: str) -> None:
            bar.n = int(fraction * 100)
            bar.set_description(message[:60])
            bar.refresh()

        result = extract_clip(
            args.clip, output.parent, label=args.label, start=args.start, end=args.end, name=output.stem,
            settings=settings, progress=progress, make_preview=not args.no_preview,
        )
    print(f"motion:  {result.motion_path}")
    print(f"bvh:     {result.bvh_path}")
    if result.preview_path:
        print(f"preview: {result.preview_path}")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.summary.items()}, indent=2))
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from random_people.ui.app import launch

    launch(load_settings(server_name=args.host, server_port=args.port))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="random-people", description="Synthetic human-action videos from real ones.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    extract = sub.add_parser("extract", help="extract the motion of the person in a clip")
    extract.add_argument("clip", help="video file (mp4, mov, webm, avi, mkv)")
    extract.add_argument("-o", "--output", required=True, help="motion file to write (.npz); .bvh and _preview.mp4 go beside it")
    extract.add_argument("--label", default="", help="action label stored in the motion (e.g. walk)")
    extract.add_argument("--start", type=float, default=None, help="start time in seconds")
    extract.add_argument("--end", type=float, default=None, help="end time in seconds")
    extract.add_argument("--body-model", choices=["anny", "smplx"], default=None, help="body model (default: settings)")
    extract.add_argument("--no-preview", action="store_true", help="skip the overlay preview video")
    extract.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    extract.set_defaults(handler=_cmd_extract)

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
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
