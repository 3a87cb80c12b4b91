"""The paper's two studies, rerunnable: the real/plain/background ablation grid and the few-shot sweep.

Each study lists the clips once, runs one experiment per cell in its own sub-folder (a finished
cell with the same config is reused, so an interrupted sweep picks up where it stopped),
appends every cell to the study's results table, and writes a summary JSON and a plot of test
accuracy against the amount of synthetic data.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import numpy as np

from random_people.experiments.config import CLIP_KINDS, ExperimentConfig
from random_people.experiments.results import plot_ablation, plot_accuracy_vs_synthetic, write_json
from random_people.experiments.runner import collect_clips, run_experiment

logger = logging.getLogger(__name__)


def ablation_grid() -> list[list[str]]:
    """Every non-empty combination of real, plain-background and background synthetic clips."""
    return [list(c) for r in range(1, len(CLIP_KINDS) + 1) for c in itertools.combinations(CLIP_KINDS, r)]


def run_cell(cfg: ExperimentConfig, clips: list, fresh: bool = False) -> dict:
    """Results of one cell: reused from its ``results.json`` when the same config already finished."""
    done = cfg.output_path / "results.json"
    if done.exists() and not fresh:
        previous = json.loads(done.read_text())
        if previous.get("config_fingerprint") == cfg.fingerprint() and previous.get("epochs") == cfg.train.epochs:
            logger.info("Reusing finished run %s", cfg.output_path)
            return previous
    return run_experiment(cfg, resume=not fresh, fresh=fresh, clips=clips).results


def _metric(results: dict, metric: str) -> float:
    return float(results["test"][metric])


def run_ablation(cfg: ExperimentConfig, fresh: bool = False, metric: str = "mean_class_accuracy") -> dict:
    """Train every combination of clip kinds under ``<output_dir>/ablation/``; returns the summary."""
    root = cfg.output_path / "ablation"
    clips = collect_clips(cfg)
    cells = []
    for use in ablation_grid():
        combo = "+".join(use)
        cell_cfg = cfg.replace(**{"data.use": use, "output_dir": str(root / combo), "name": f"{cfg.name}/{combo}",
                                  "results_table": str(root / "results.csv")})
        results = run_cell(cell_cfg, clips, fresh)
        data = results["data"]
        cells.append({"use": combo, "top1": _metric(results, "top1"), "top5": _metric(results, "top5"),
                      "mean_class_accuracy": _metric(results, "mean_class_accuracy"),
                      "train_real": data["train_real"], "train_synthetic": data["train_plain"] + data["train_background"],
                      "run_dir": results["run_dir"]})
    classes = max(1, len(results["labels"]))
    for cell in cells:
        cell["synthetic_per_class"] = cell["train_synthetic"] / classes
    plot_ablation(root / "ablation.png", cells, metric, f"{cfg.name}: real / plain / background synthetic")
    summary = {"study": "ablation", "metric": metric, "cells": cells}
    write_json(root / "ablation.json", summary)
    return summary


def run_fewshot(cfg: ExperimentConfig, fresh: bool = False, metric: str = "mean_class_accuracy") -> dict:
    """k real clips per class x synthetic clips per class x seeds under ``<output_dir>/fewshot/``."""
    root = cfg.output_path / "fewshot"
    clips = collect_clips(cfg)
    sweep = cfg.fewshot
    use = ["real"] + [kind for kind in cfg.data.use if kind != "real"]
    if use == ["real"]:
        use = list(CLIP_KINDS)  # a few-shot sweep adds synthetic clips by definition
    cells = []
    for k, n, seed in itertools.product(sweep.k, sweep.synthetic_per_class, sweep.seeds):
        cell = f"k{k}_syn{n}_seed{seed}"
        cell_cfg = cfg.replace(**{
            "seed": seed, "data.real_per_class": k, "data.synthetic_per_class": n,
            "data.use": use if n > 0 else ["real"], "output_dir": str(root / cell),
            "name": f"{cfg.name}/{cell}", "results_table": str(root / "results.csv"),
        })
        results = run_cell(cell_cfg, clips, fresh)
        data = results["data"]
        cells.append({"k": k, "synthetic_per_class": n, "seed": seed, "top1": _metric(results, "top1"),
                      "mean_class_accuracy": _metric(results, "mean_class_accuracy"),
                      "train_real": data["train_real"], "train_synthetic": data["train_plain"] + data["train_background"],
                      "run_dir": results["run_dir"]})
    series: dict[str, list[tuple[float, float, float]]] = {}
    for k in sweep.k:
        for n in sweep.synthetic_per_class:
            values = [c[metric] for c in cells if c["k"] == k and c["synthetic_per_class"] == n]
            series.setdefault(f"k = {k}", []).append((n, float(np.mean(values)), float(np.std(values))))
    plot_accuracy_vs_synthetic(
        root / "fewshot.png", series,
        f"{cfg.name}: few-shot, mean of {len(sweep.seeds)} seed(s)", ylabel=f"test {metric.replace('_', ' ')}",
    )
    summary = {"study": "fewshot", "metric": metric, "cells": cells,
               "series": {name: [list(p) for p in points] for name, points in series.items()}}
    write_json(root / "fewshot.json", summary)
    return summary
