"""One experiment end to end: clips -> data plan -> model -> training -> test metrics -> files.

A run directory holds ``config.yaml`` (as run), ``data_plan.json`` (every clip used and why
synthetic clips were left out), ``checkpoints/``, ``results.json``, ``per_class.csv``,
``confusion.png`` and ``train.log``; a row goes to the results table.
"""

from __future__ import annotations

import contextlib
import logging
import random
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import yaml

from random_people.experiments.config import ExperimentConfig
from random_people.experiments.frames import ClipDataset
from random_people.experiments.metrics import Metrics, compute_metrics, format_per_class
from random_people.experiments.models import build_model
from random_people.experiments.results import (
    append_table_row, plot_confusion, write_json, write_per_class_csv,
)
from random_people.experiments.sources import Clip, load_source, with_source_ids
from random_people.experiments.splits import DataPlan, plan_data
from random_people.experiments.training import BEST, TrainState, fit, load_weights, predict, resolve_device
from random_people.settings import load_settings

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    metrics: Metrics
    state: TrainState
    plan: DataPlan
    results: dict


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def collect_clips(cfg: ExperimentConfig) -> list[Clip]:
    clips: list[Clip] = []
    for source in cfg.data.sources:
        clips += load_source(source, Path(cfg.base_dir))
    return clips


def make_plan(cfg: ExperimentConfig, clips: list[Clip] | None = None) -> DataPlan:
    """The data plan of ``cfg`` (pass ``clips`` to reuse a listing across the runs of a sweep)."""
    cache = load_settings().data_dir / "experiments" / "source_hashes.json"
    return plan_data(clips if clips is not None else collect_clips(cfg), cfg.data, cfg.seed,
                     hasher=lambda cs: with_source_ids(cs, cache))


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """Keep the experiments' INFO log (data plan, epochs, test table) in the run folder as ``train.log``."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    experiments = logging.getLogger("random_people.experiments")  # epoch lines also reach the console (stderr)
    previous = experiments.level
    experiments.addHandler(handler)
    if experiments.getEffectiveLevel() > logging.INFO:
        experiments.setLevel(logging.INFO)
    try:
        yield
    finally:
        experiments.removeHandler(handler)
        experiments.setLevel(previous)
        handler.close()


def run_experiment(cfg: ExperimentConfig, resume: bool = False, fresh: bool = False,
                   clips: list[Clip] | None = None, on_epoch_end=None) -> RunResult:
    """Train and test one configuration; see the module docstring for what it writes."""
    run_dir = cfg.output_path
    if fresh and run_dir.exists():
        for name in ("checkpoints", "results.json"):
            target = run_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    with _log_to(run_dir / "train.log"), _torch_threads(cfg.train.threads):
        return _run(cfg, run_dir, resume, clips, on_epoch_end)


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` CPU threads for this run only.

    On a busy 2-core machine torch's two OpenMP threads wait on each other; one thread was 100x
    faster there for the tiny test models.
    """
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _run(cfg: ExperimentConfig, run_dir: Path, resume: bool, clips: list[Clip] | None, on_epoch_end) -> RunResult:
    started = time.perf_counter()
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    plan = make_plan(cfg, clips)
    write_json(run_dir / "data_plan.json", {
        "labels": plan.labels, "summary": plan.summary,
        **{name: [_clip_row(c) for c in getattr(plan, name)] for name in ("train", "validation", "test")},
    })
    seed_everything(cfg.seed)
    video_model = build_model(cfg.model, plan.labels)
    label_to_id = plan.label_to_id

    def dataset(clips: list[Clip], train: bool) -> ClipDataset:
        return ClipDataset(clips, label_to_id, video_model.processor, video_model.num_frames, train=train,
                           seed=cfg.seed, flip=cfg.train.flip)

    checkpoints = run_dir / "checkpoints"
    state = fit(video_model.model, dataset(plan.train, True), dataset(plan.validation, False) if plan.validation else None,
                cfg, checkpoints, resume=resume, on_epoch_end=on_epoch_end)
    tested_epoch = load_weights(checkpoints / BEST, video_model.model)
    device = resolve_device(cfg.train)
    video_model.model.to(device)
    logits, targets = predict(video_model.model, dataset(plan.test, False), cfg.train, device, desc="test")
    metrics = compute_metrics(logits, targets, plan.labels)
    title = f"{cfg.name}: top-1 {metrics.top1:.3f}, mean class acc {metrics.mean_class_accuracy:.3f}"
    plot_confusion(run_dir / "confusion.png", metrics.confusion, plan.labels, title)
    write_per_class_csv(run_dir / "per_class.csv", metrics)
    results = {
        "name": cfg.name, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "arch": cfg.model.arch, "model_source": video_model.source, "num_frames": video_model.num_frames,
        "seed": cfg.seed, "use": cfg.data.use, "real_per_class": cfg.data.real_per_class,
        "synthetic_per_class": cfg.data.synthetic_per_class, "synthetic_ratio": cfg.data.synthetic_ratio,
        "epochs": state.epoch, "tested_epoch": tested_epoch, "labels": plan.labels, "data": plan.summary,
        "history": state.history, "test": metrics.to_dict(), "seconds": time.perf_counter() - started,
        "config_fingerprint": cfg.fingerprint(), "run_dir": str(run_dir),
    }
    write_json(run_dir / "results.json", results)
    append_table_row(cfg.results_table_path, {
        **results, **plan.summary, "use": "+".join(cfg.data.use), "top1": round(metrics.top1, 4),
        "top5": round(metrics.top5, 4), "mean_class_accuracy": round(metrics.mean_class_accuracy, 4),
    })
    logger.info("Test set (%d clips):\n%s", metrics.num_samples, format_per_class(metrics))
    return RunResult(run_dir=run_dir, metrics=metrics, state=state, plan=plan, results=results)


def _clip_row(clip: Clip) -> dict:
    return {"path": str(clip.path), "label": clip.label, "kind": clip.kind, "source_clip_id": clip.source_clip_id,
            "subject": clip.subject, "camera": clip.camera}
