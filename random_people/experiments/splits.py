"""From all listed clips to the train / validation / test sets of one experiment.

The rules that make results trustworthy live here, in one place:

* the test and validation sets are real clips only;
* splits are stratified per class with a fixed seed (or come from the source: Smarthome's
  protocols, an export's ``split`` column);
* a synthetic clip never trains when its real source clip is in validation or test, nor (by
  default) when its real source person appears only among the test subjects;
* the caps on synthetic data (per class, and per real clip) are actually applied;
* few-shot runs pick ``k`` real training clips per class with the seed.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import numpy as np

from random_people.experiments.config import DataConfig
from random_people.experiments.errors import ExperimentDataError
from random_people.experiments.sources import Clip

logger = logging.getLogger(__name__)

Hasher = Callable[[list[Clip]], list[Clip]]


@dataclass
class DataPlan:
    """The clips of one experiment and the numbers a reader needs to trust it."""

    labels: list[str]
    train: list[Clip]
    validation: list[Clip]
    test: list[Clip]
    summary: dict = field(default_factory=dict)

    @property
    def label_to_id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}


def seeded_rng(seed: int, purpose: str) -> np.random.Generator:
    """A generator that depends only on the seed and what it is for, so changing one choice leaves the others alone."""
    digest = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def apply_classes(clips: Iterable[Clip], classes: list[str] | None, label_map: dict[str, str]) -> tuple[list[Clip], list[str]]:
    """Rename labels with ``label_map``, keep only ``classes`` (all real labels, sorted, when None)."""
    mapped = [replace(c, label=label_map.get(c.label, c.label)) for c in clips]
    labels = list(classes) if classes else sorted({c.label for c in mapped if not c.synthetic})
    if not labels:
        raise ExperimentDataError("No real clips were found, so there are no classes to learn; check data.sources.")
    keep = set(labels)
    found = {c.label for c in mapped if not c.synthetic}
    missing = [label for label in labels if label not in found]
    if missing:
        raise ExperimentDataError(
            f"data.classes names {', '.join(missing)} but no real clip has that label; labels found: {', '.join(sorted(found)) or 'none'}."
        )
    return [c for c in mapped if c.label in keep], labels


def stratified_split(clips: list[Clip], test_fraction: float, validation_fraction: float, seed: int) -> list[Clip]:
    """Give each clip a split: per class, a seeded shuffle, then test, validation and train shares.

    A class with at least two clips always keeps one for training and, when ``test_fraction > 0``,
    gives at least one to test.
    """
    by_label: dict[str, list[Clip]] = defaultdict(list)
    for clip in sorted(clips, key=lambda c: str(c.path)):
        by_label[clip.label].append(clip)
    out = []
    for label, members in sorted(by_label.items()):
        order = seeded_rng(seed, f"split:{label}").permutation(len(members))
        n = len(members)
        n_test = int(round(n * test_fraction))
        n_val = int(round(n * validation_fraction))
        if test_fraction > 0 and n >= 2:
            n_test = max(n_test, 1)
        n_test = min(n_test, n - 1) if n >= 2 else 0
        n_val = max(0, min(n_val, n - 1 - n_test))
        for rank, index in enumerate(order):
            split = "test" if rank < n_test else "validation" if rank < n_test + n_val else "train"
            out.append(replace(members[index], split=split))
    return out


def assign_real_splits(real: list[Clip], cfg: DataConfig, seed: int) -> list[Clip]:
    """Real clips with their split, from the source (``split: source``) or stratified."""
    have_split = all(c.split for c in real)
    mode = cfg.split if cfg.split != "auto" else ("source" if have_split else "stratified")
    if mode == "source":
        if not have_split:
            example = next(c for c in real if not c.split)
            raise ExperimentDataError(
                f"data.split is 'source' but {example.path.name} has no split from its source; use split: stratified."
            )
        if not any(c.split == "test" for c in real):
            raise ExperimentDataError("The sources define no real test clip; use data.split: stratified.")
        return list(real)
    return stratified_split(real, cfg.test_fraction, cfg.validation_fraction, seed)


def pick_per_class(clips: list[Clip], k: int, seed: int, purpose: str) -> list[Clip]:
    """Up to ``k`` clips of each class, chosen with the seed (all of a class that has fewer)."""
    by_label: dict[str, list[Clip]] = defaultdict(list)
    for clip in sorted(clips, key=lambda c: str(c.path)):
        by_label[clip.label].append(clip)
    out = []
    for label, members in sorted(by_label.items()):
        if len(members) < k:
            logger.warning("Only %d clips of %s for %s (wanted %d); using all", len(members), label, purpose, k)
        order = seeded_rng(seed, f"{purpose}:{label}").permutation(len(members))[:k]
        out += [members[i] for i in sorted(order)]
    return out


def plan_data(clips: list[Clip], cfg: DataConfig, seed: int, hasher: Hasher | None = None) -> DataPlan:
    """Split, filter and mix ``clips`` into one experiment's train / validation / test sets.

    ``hasher`` fills in missing ``source_clip_id`` of real clips (see ``sources.with_source_ids``);
    it is called only on the real clips whose hashes the leak checks need.
    """
    clips, labels = apply_classes(clips, cfg.classes, cfg.label_map)
    real = assign_real_splits([c for c in clips if not c.synthetic], cfg, seed)
    real_train = [c for c in real if c.split == "train"]
    validation = [c for c in real if c.split == "validation"]
    test = [c for c in real if c.split == "test"]
    train_subjects = {c.subject for c in real_train if c.subject}
    if cfg.real_per_class is not None:
        real_train = pick_per_class(real_train, cfg.real_per_class, seed, "real")
    synthetic, dropped = _synthetic_for_training(
        [c for c in clips if c.synthetic], real_train, validation + test, train_subjects, cfg, seed, hasher)
    train = (real_train if "real" in cfg.use else []) + synthetic
    if not train:
        raise ExperimentDataError(f"No training clips: data.use={cfg.use} selects none of the {len(clips)} clips found.")
    if not test:
        raise ExperimentDataError("No real test clips; add real clips or raise data.test_fraction.")
    no_train = [label for label in labels if label not in {c.label for c in train}]
    if no_train:
        logger.warning("No training clip of class(es) %s", ", ".join(no_train))
    summary = {
        "classes": len(labels),
        "train_real": sum(not c.synthetic for c in train),
        "train_plain": sum(c.kind == "plain" for c in train),
        "train_background": sum(c.kind == "background" for c in train),
        "validation": len(validation),
        "test": len(test),
        "test_per_class": dict(sorted(Counter(c.label for c in test).items())),
        "train_per_class": dict(sorted(Counter(c.label for c in train).items())),
        "synthetic_dropped": dropped,
    }
    logger.info("Data plan: %s", {k: v for k, v in summary.items() if not k.endswith("per_class")})
    return DataPlan(labels=labels, train=train, validation=validation, test=test, summary=summary)


def _synthetic_for_training(
    synthetic: list[Clip], real_train: list[Clip], held_out: list[Clip], train_subjects: set[str], cfg: DataConfig,
    seed: int, hasher: Hasher | None,
) -> tuple[list[Clip], dict[str, int]]:
    """Synthetic clips allowed to train: the kinds in use, leak-free, capped per class.

    The subject rule drops clips made from people seen *only* in the test set (cross-subject
    protocols); under cross-view protocols every person is in both, and only the clip rule applies.
    """
    dropped = {"no_source_id": 0, "source_in_test_or_validation": 0, "test_subject": 0, "not_from_train": 0, "over_cap": 0}
    candidates = [c for c in synthetic if c.kind in cfg.use]
    if not candidates:
        return [], dropped
    if hasher is not None:
        held_out = hasher(held_out)
        if cfg.synthetic_from == "train":
            real_train = hasher(real_train)
    if any(c.source_clip_id is None for c in held_out):
        raise ExperimentDataError("Some real test/validation clips have no source_clip_id, so synthetic leaks cannot be checked.")
    held_ids = {c.source_clip_id for c in held_out}
    test_subjects = {c.subject for c in held_out if c.split == "test" and c.subject} - train_subjects
    train_ids = {c.source_clip_id for c in real_train}
    kept = []
    for clip in candidates:
        if not clip.source_clip_id:
            dropped["no_source_id"] += 1
        elif clip.source_clip_id in held_ids:
            dropped["source_in_test_or_validation"] += 1
        elif cfg.exclude_test_subjects and clip.subject and clip.subject in test_subjects:
            dropped["test_subject"] += 1
        elif cfg.synthetic_from == "train" and clip.source_clip_id not in train_ids:
            dropped["not_from_train"] += 1
        else:
            kept.append(replace(clip, split="train"))
    if dropped["source_in_test_or_validation"] or dropped["test_subject"] or dropped["no_source_id"]:
        logger.warning("Synthetic clips kept out of training to avoid leaks: %s", dropped)
    real_counts = Counter(c.label for c in real_train)
    by_label: dict[str, list[Clip]] = defaultdict(list)
    for clip in sorted(kept, key=lambda c: str(c.path)):
        by_label[clip.label].append(clip)
    out = []
    for label, members in sorted(by_label.items()):
        cap = len(members)
        if cfg.synthetic_per_class is not None:
            cap = min(cap, cfg.synthetic_per_class)
        if cfg.synthetic_ratio is not None:
            cap = min(cap, int(cfg.synthetic_ratio * real_counts.get(label, 0)))
        order = seeded_rng(seed, f"synthetic:{label}").permutation(len(members))[:cap]
        dropped["over_cap"] += len(members) - cap
        out += [members[i] for i in sorted(order)]
    return out, dropped
