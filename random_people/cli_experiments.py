"""CLI commands for action-recognition experiments (`train`, `ablation`, `fewshot`): parse, call the library, report; no business logic."""

from __future__ import annotations

import argparse
from pathlib import Path

_CONFIG_HELP = "experiment YAML (fields: random_people/experiments/config.py)"


def _load(args: argparse.Namespace):
    from random_people.experiments.config import load_config

    cfg = load_config(args.config)
    changes = {}
    if getattr(args, "epochs", None) is not None:
        changes["train.epochs"] = args.epochs
    if getattr(args, "output_dir", None):
        changes["output_dir"] = str(Path(args.output_dir).resolve())  # relative to where the command runs
    if getattr(args, "k", None):
        changes["fewshot.k"] = args.k
    if getattr(args, "synthetic", None):
        changes["fewshot.synthetic_per_class"] = args.synthetic
    if getattr(args, "seeds", None):
        changes["fewshot.seeds"] = args.seeds
    return cfg.replace(**changes) if changes else cfg


def _cmd_train(args: argparse.Namespace) -> int:
    from random_people.experiments.runner import run_experiment

    cfg = _load(args)
    result = run_experiment(cfg, resume=args.resume, fresh=args.fresh)  # logs the per-class table
    m = result.metrics
    print(f"test clips {m.num_samples}: top-1 {m.top1:.4f}  top-{m.top_k} {m.top5:.4f}  "
          f"mean per-class accuracy {m.mean_class_accuracy:.4f}")
    print(f"results: {result.run_dir / 'results.json'}  (table: {cfg.results_table_path})")
    return 0


def _print_cells(summary: dict, keys: list[str]) -> None:
    metric = summary["metric"]
    for cell in summary["cells"]:
        print("  ".join(f"{k}={cell[k]}" for k in keys) + f"  top1={cell['top1']:.4f}  {metric}={cell[metric]:.4f}")


def _cmd_ablation(args: argparse.Namespace) -> int:
    from random_people.experiments.sweeps import run_ablation

    cfg = _load(args)
    summary = run_ablation(cfg, fresh=args.fresh)
    _print_cells(summary, ["use", "train_real", "train_synthetic"])
    print(f"plot: {cfg.output_path / 'ablation' / 'ablation.png'}")
    return 0


def _cmd_fewshot(args: argparse.Namespace) -> int:
    from random_people.experiments.sweeps import run_fewshot

    cfg = _load(args)
    summary = run_fewshot(cfg, fresh=args.fresh)
    _print_cells(summary, ["k", "synthetic_per_class", "seed"])
    print(f"plot: {cfg.output_path / 'fewshot' / 'fewshot.png'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``random-people`` parser."""
    train = sub.add_parser("train", help="train and test a video classifier (VideoMAE, TimeSformer, ViViT)")
    train.add_argument("config", help=_CONFIG_HELP)
    again = train.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue from <output_dir>/checkpoints/last.pt")
    again.add_argument("--fresh", action="store_true", help="discard an existing checkpoint and start over")
    train.add_argument("--epochs", type=int, default=None, help="override train.epochs (e.g. to train a finished run longer)")
    train.add_argument("--output-dir", default=None, help="override output_dir")
    train.set_defaults(handler=_cmd_train)

    ablation = sub.add_parser("ablation", help="train every combination of real / plain / background synthetic clips")
    ablation.add_argument("config", help=_CONFIG_HELP)
    ablation.add_argument("--fresh", action="store_true", help="rerun cells that already finished")
    ablation.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    ablation.add_argument("--output-dir", default=None, help="override output_dir")
    ablation.set_defaults(handler=_cmd_ablation)

    fewshot = sub.add_parser("fewshot", help="k real clips per class x synthetic clips per class sweep")
    fewshot.add_argument("config", help=_CONFIG_HELP)
    fewshot.add_argument("--k", type=int, nargs="+", default=None, help="real clips per class (default fewshot.k: 1..10)")
    fewshot.add_argument("--synthetic", type=int, nargs="+", default=None,
                         help="synthetic clips per class (default fewshot.synthetic_per_class: 0 50 100 150 200)")
    fewshot.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds to repeat each cell with")
    fewshot.add_argument("--fresh", action="store_true", help="rerun cells that already finished")
    fewshot.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    fewshot.add_argument("--output-dir", default=None, help="override output_dir")
    fewshot.set_defaults(handler=_cmd_fewshot)
