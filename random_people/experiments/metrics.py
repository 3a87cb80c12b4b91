"""Classification metrics on the real test set.

Mean per-class accuracy is Toyota Smarthome's usual metric: the dataset is heavily unbalanced
(walking dwarfs most actions), so plain top-1 mostly measures the big classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Metrics:
    top1: float
    top5: float
    mean_class_accuracy: float
    confusion: np.ndarray          # [true, predicted] counts
    per_class: list[dict]          # label, support, correct, accuracy, precision
    num_samples: int
    top_k: int                     # k of "top5" (fewer when there are fewer classes)

    def to_dict(self) -> dict:
        return {
            "top1": self.top1, "top5": self.top5, "top_k": self.top_k,
            "mean_class_accuracy": self.mean_class_accuracy, "num_samples": self.num_samples,
            "confusion": self.confusion.tolist(), "per_class": self.per_class,
        }


def compute_metrics(logits: np.ndarray, targets: np.ndarray, labels: list[str]) -> Metrics:
    """Metrics from ``logits [N, C]`` and integer ``targets [N]``.

    Classes with no test sample are left out of the mean per-class accuracy (their accuracy is
    undefined) and reported with ``accuracy: null``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    n, c = logits.shape
    if n == 0:
        raise ValueError("No samples to evaluate.")
    if c != len(labels):
        raise ValueError(f"{c} logits per sample but {len(labels)} labels")
    predicted = logits.argmax(axis=1)
    k = min(5, c)
    top_k = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (targets, predicted), 1)
    support = confusion.sum(axis=1)
    correct = np.diag(confusion)
    predicted_count = confusion.sum(axis=0)
    per_class, accuracies = [], []
    for i, label in enumerate(labels):
        acc = float(correct[i] / support[i]) if support[i] else None
        if acc is not None:
            accuracies.append(acc)
        per_class.append({
            "label": label, "support": int(support[i]), "correct": int(correct[i]), "accuracy": acc,
            "precision": float(correct[i] / predicted_count[i]) if predicted_count[i] else None,
        })
    return Metrics(
        top1=float((predicted == targets).mean()),
        top5=float((top_k == targets[:, None]).any(axis=1).mean()),
        mean_class_accuracy=float(np.mean(accuracies)),
        confusion=confusion, per_class=per_class, num_samples=n, top_k=k,
    )


def format_per_class(metrics: Metrics) -> str:
    """The per-class table as aligned text for the terminal and the log."""
    width = max(len(row["label"]) for row in metrics.per_class)
    lines = [f"{'class':<{width}}  support  correct  accuracy"]
    for row in metrics.per_class:
        acc = "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        lines.append(f"{row['label']:<{width}}  {row['support']:>7}  {row['correct']:>7}  {acc:>8}")
    return "\n".join(lines)
