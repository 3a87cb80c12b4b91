"""CLI commands for dataset export and Hub push (`export`, `push`): parse, call the library, report; no business logic."""

from __future__ import annotations

import argparse
import json


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _ratios(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three shares like 0.8,0.1,0.1, got {text!r}") from None


def _cmd_export(args: argparse.Namespace) -> int:
    from random_people.cli import _progress_bar
    from random_people.hub.export import export_dataset
    from random_people.hub.sources import load_export_clips, load_real_clips
    from random_people.settings import load_settings

    database_url = args.database or load_settings().resolved_database_url
    clips = load_export_clips(database_url, args.job or None)
    info = {"pretty_name": args.name, "license": args.license, "source_dataset": args.source_dataset,
            "source_license": args.source_license, "source_url": args.source_url}  # unset: keep what the folder has
    with _progress_bar("export", args.quiet) as progress:
        result = export_dataset(
            clips, args.dataset_dir, real_clips=load_real_clips(database_url, args.job) if args.include_real else (), info=info,
            ratios=args.ratios, split_seed=args.split_seed, shard_threshold=args.shard_threshold,
            clips_per_shard=args.clips_per_shard, progress=progress,
        )
    print(f"dataset: {result.folder}")
    print(f"synthetic clips: {result.synthetic_clips} (+{result.added_synthetic} new); "
          f"real clips: {result.real_clips} (+{result.added_real} new)")
    print("splits: " + json.dumps(result.split_counts))
    if any(result.sharded.values()):
        print("layout: Parquet shards (" + ", ".join(k for k, v in result.sharded.items() if v) + ")")
    return 0


def _cmd_push(args: argparse.Namespace) -> int:
    from random_people.cli import _progress_bar
    from random_people.hub.push import push_dataset

    with _progress_bar("push", args.quiet) as progress:
        result = push_dataset(args.dataset_dir, args.repo, token=args.token, private=args.private,
                              endpoint=args.endpoint, files_per_commit=args.files_per_commit, progress=progress)
    if result.no_op:
        print(f"nothing to push: {result.repo_id} already holds these {result.unchanged} files")
    else:
        print(f"pushed {len(result.uploaded)} files ({result.unchanged} unchanged, {len(result.deleted)} removed) "
              f"in {len(result.commits)} commit(s)")
    print(f"dataset: {result.url}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``random-people`` parser."""
    from random_people.hub import layout
    from random_people.hub.push import DEFAULT_FILES_PER_COMMIT
    from random_people.hub.splits import DEFAULT_RATIOS

    export = sub.add_parser(
        "export", help="export accepted clips as a dataset folder `datasets` loads (videofolder + metadata.jsonl)",
        description="Adds the accepted clips (all finished clips of auto-accept jobs) to DATASET_DIR: split "
                    "folders with leak-free splits, metadata.jsonl, a dataset card, Parquet shards past the "
                    "shard threshold. Running it again adds only new clips.",
    )
    export.add_argument("dataset_dir", help="folder to export into (new, or one an earlier export wrote)")
    export.add_argument("--job", action="append", default=[], help="export only this job id (repeatable)")
    export.add_argument("--database", default=None, help="job log SQLAlchemy URL (default: settings)")
    export.add_argument("--include-real", action="store_true", help="also export the real source clips (config 'real')")
    card = "(recorded in the folder: give it once, later exports keep it)"
    export.add_argument("--name", default=None, help=f"dataset name on the card {card}")
    export.add_argument("--license", default=None, help=f"Hub licence id of the data, e.g. cc-by-4.0 (default other) {card}")
    export.add_argument("--source-dataset", default=None, help=f"where the real clips come from {card}")
    export.add_argument("--source-license", default=None, help=f"the source dataset's licence {card}")
    export.add_argument("--source-url", default=None, help=f"the source dataset's home page {card}")
    export.add_argument("--ratios", type=_ratios, default=DEFAULT_RATIOS, help="train,validation,test shares")
    export.add_argument("--split-seed", type=int, default=0, help="seed of the split assignment")
    export.add_argument("--shard-threshold", type=int, default=layout.DEFAULT_SHARD_THRESHOLD,
                        help="above this many clips, write Parquet shards")
    export.add_argument("--clips-per-shard", type=int, default=layout.DEFAULT_CLIPS_PER_SHARD)
    export.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    export.set_defaults(handler=_cmd_export)

    push = sub.add_parser(
        "push", help="push an exported dataset folder to the Hugging Face Hub (resumable; re-push adds only new files)",
        description="Token: --token, else HF_TOKEN, else your `hf auth login`. Prefer the last two: a --token "
                    "value is visible to other users of this machine in the process list.",
    )
    push.add_argument("dataset_dir", help="a folder written by `random-people export`")
    push.add_argument("--repo", required=True, help="dataset repo id, user/name or organization/name")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--token", default=None, help="Hugging Face write token (see above)")
    push.add_argument("--endpoint", default=None, help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    push.add_argument("--files-per-commit", type=_positive, default=DEFAULT_FILES_PER_COMMIT, help="files per commit")
    push.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    push.set_defaults(handler=_cmd_push)
