"""What a run leaves behind: ``results.json``, a per-class CSV, the confusion matrix image, a table row.

The results table (CSV) gets one row per finished run and is only ever appended to, so the
runs of a sweep, or of several days, line up in one file a spreadsheet can open.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from random_people.experiments.metrics import Metrics
from random_people.files import atomic_output

logger = logging.getLogger(__name__)

TABLE_COLUMNS = [
    "finished", "name", "arch", "model_source", "seed", "use", "real_per_class", "synthetic_per_class",
    "synthetic_ratio", "train_real", "train_plain", "train_background", "test", "epochs", "top1", "top5",
    "mean_class_accuracy", "run_dir",
]


def write_json(path: Path, data: Any) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_per_class_csv(path: Path, metrics: Metrics) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["label", "support", "correct", "accuracy", "precision"])
        writer.writeheader()
        writer.writerows(metrics.per_class)


def append_table_row(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to the CSV results table, writing the header first if the file is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in TABLE_COLUMNS})


def read_table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def plot_confusion(path: Path, confusion: np.ndarray, labels: list[str], title: str) -> None:
    """Row-normalised confusion matrix (each true class sums to 1), counts written in the cells when few classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    rows = confusion.sum(axis=1, keepdims=True)
    normalised = np.divide(confusion, rows, out=np.zeros_like(confusion, dtype=float), where=rows > 0)
    size = max(4.0, 0.45 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if confusion[i, j]:
                    ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if normalised[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    _save_figure(fig, path)


def plot_accuracy_vs_synthetic(path: Path, series: dict[str, list[tuple[float, float, float]]], title: str,
                               xlabel: str = "synthetic training clips per class",
                               ylabel: str = "test mean per-class accuracy") -> None:
    """One line per series of ``(x, mean, std)`` points: accuracy against the amount of synthetic data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, points in series.items():
        points = sorted(points)
        xs = [p[0] for p in points]
        means = np.array([p[1] for p in points])
        stds = np.array([p[2] for p in points])
        ax.errorbar(xs, means, yerr=stds if stds.any() else None, marker="o", capsize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save_figure(fig, path)


def plot_ablation(path: Path, cells: list[dict], metric: str, title: str) -> None:
    """One bar per combination of clip kinds, ordered by synthetic clips per class (written under each bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = sorted(cells, key=lambda c: (c["synthetic_per_class"], c["use"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(cells)), 4.2))
    colours = ["tab:blue" if "real" in c["use"].split("+") else "tab:orange" for c in cells]
    bars = ax.bar(range(len(cells)), [c[metric] for c in cells], color=colours)
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xticks(range(len(cells)), [c["use"].replace("+", "+\n") + f"\n{c['synthetic_per_class']:.0f} syn/class" for c in cells],
                  fontsize=7)
    ax.set_ylabel(f"test {metric.replace('_', ' ')}")
    ax.set_ylim(0, 1.05)
    ax.set_title(title + " (blue: with real clips)", fontsize=9)
    fig.tight_layout()
    _save_figure(fig, path)


def _save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    logger.info("Wrote %s", path)
