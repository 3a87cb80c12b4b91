"""The training loop: AdamW, a warmup + decay schedule, gradient accumulation, AMP on CUDA, checkpoints.

A checkpoint (``last.pt``) is written atomically after every epoch with everything the next
epoch depends on: weights, optimizer, schedule, gradient scaler, torch's RNG state and the
history. The data order and frame jitter of epoch ``e`` depend only on (seed, e), so a run
resumed after epoch ``e`` produces the same weights as one that was never interrupted.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler
from tqdm import tqdm

from random_people.experiments.config import ExperimentConfig, TrainConfig
from random_people.experiments.errors import CheckpointError, TrainingError
from random_people.experiments.frames import ClipDataset
from random_people.experiments.metrics import compute_metrics
from random_people.files import atomic_output

logger = logging.getLogger(__name__)

LAST = "last.pt"
BEST = "best.pt"


@dataclass
class TrainState:
    """Where training stands; saved in every checkpoint."""

    epoch: int = 0                 # epochs completed
    global_step: int = 0           # optimizer steps taken
    best_metric: float = -math.inf  # validation mean per-class accuracy of best.pt
    best_epoch: int = 0
    history: list[dict] = field(default_factory=list)


EpochCallback = Callable[[TrainState], None]


def resolve_device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise TrainingError("train.device is cuda but no CUDA device is available; use auto or cpu.")
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg.device)


def _amp(cfg: TrainConfig, device: torch.device) -> tuple[bool, torch.dtype]:
    """Mixed precision only on CUDA (CPU autocast is slow and changes numerics); bf16 where supported."""
    if not (cfg.mixed_precision and device.type == "cuda"):
        return False, torch.float32
    return True, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW without weight decay on biases and norm weights (the usual ViT recipe)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.learning_rate,
    )


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    from transformers import get_scheduler

    name = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}[cfg.schedule]
    return get_scheduler(name, optimizer, num_warmup_steps=int(cfg.warmup_ratio * total_steps),
                         num_training_steps=max(1, total_steps))


def _loader(dataset: ClipDataset, batch_size: int, cfg: TrainConfig, seed: int | None) -> DataLoader:
    sampler = None
    if seed is not None:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=cfg.num_workers,
                      pin_memory=torch.cuda.is_available())


@torch.no_grad()
def predict(model: torch.nn.Module, dataset: ClipDataset, cfg: TrainConfig, device: torch.device,
            desc: str = "eval") -> tuple[np.ndarray, np.ndarray]:
    """``(logits [N, C], targets [N])`` over ``dataset`` in order."""
    model.eval()
    use_amp, dtype = _amp(cfg, device)
    logits, targets = [], []
    for pixels, labels in tqdm(_loader(dataset, cfg.eval_batch_size or cfg.batch_size, cfg, None),
                               desc=desc, leave=False, disable=None):
        with torch.autocast(device_type=device.type, dtype=dtype, enabled=use_amp):
            out = model(pixel_values=pixels.to(device)).logits
        logits.append(out.float().cpu().numpy())
        targets.append(labels.numpy())
    return np.concatenate(logits), np.concatenate(targets)


def fit(
    model: torch.nn.Module,
    train_set: ClipDataset,
    validation_set: ClipDataset | None,
    cfg: ExperimentConfig,
    checkpoint_dir: Path,
    resume: bool = False,
    on_epoch_end: EpochCallback | None = None,
) -> TrainState:
    """Train ``model`` for ``cfg.train.epochs`` epochs in total, resuming from ``checkpoint_dir/last.pt`` if asked.

    After each epoch: validation (when there is a validation set), ``last.pt``, ``best.pt`` when
    the validation mean per-class accuracy improved (every epoch without validation), then
    ``on_epoch_end(state)``.
    """
    t = cfg.train
    device = resolve_device(t)
    model.to(device)
    use_amp, dtype = _amp(t, device)
    optimizer = make_optimizer(model, t)
    batches = math.ceil(len(train_set) / t.batch_size)
    steps_per_epoch = math.ceil(batches / t.grad_accum_steps)
    scheduler = make_scheduler(optimizer, t, steps_per_epoch * t.epochs)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and dtype == torch.float16)
    state = TrainState()
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if resume and (checkpoint_dir / LAST).exists():
        state = _load_checkpoint(checkpoint_dir / LAST, cfg, model, optimizer, scheduler, scaler, device)
        logger.info("Resumed after epoch %d (step %d)", state.epoch, state.global_step)
    elif (checkpoint_dir / LAST).exists():
        raise CheckpointError(f"{checkpoint_dir / LAST} exists; resume it (--resume) or start over (--fresh).")

    for epoch in tqdm(range(state.epoch, t.epochs), desc="epochs", initial=state.epoch, total=t.epochs, disable=None):
        started = time.perf_counter()
        train_set.set_epoch(epoch)
        model.train()
        total_loss, seen, micro = 0.0, 0, 0
        optimizer.zero_grad(set_to_none=True)
        loader = _loader(train_set, t.batch_size, t, seed=cfg.seed * 100_003 + epoch)
        for pixels, labels in tqdm(loader, desc=f"epoch {epoch + 1}", leave=False, disable=None):
            pixels, labels = pixels.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=dtype, enabled=use_amp):
                loss = model(pixel_values=pixels, labels=labels).loss
            if not torch.isfinite(loss):
                raise TrainingError(f"Loss became {loss.item()} at epoch {epoch + 1}; lower train.learning_rate.")
            scaler.scale(loss / t.grad_accum_steps).backward()
            total_loss += loss.item() * len(labels)
            seen += len(labels)
            micro += 1
            if micro % t.grad_accum_steps == 0 or micro == batches:
                _step(model, optimizer, scheduler, scaler, t)
                state.global_step += 1
        record = {"epoch": epoch + 1, "train_loss": total_loss / max(seen, 1), "lr": scheduler.get_last_lr()[0],
                  "clips": seen}
        if validation_set is not None and len(validation_set):
            logits, targets = predict(model, validation_set, t, device, desc="validation")
            val = compute_metrics(logits, targets, list(train_set.label_to_id))
            record.update(val_top1=val.top1, val_mean_class_accuracy=val.mean_class_accuracy)
        record["seconds"] = time.perf_counter() - started
        state.epoch = epoch + 1
        state.history.append(record)
        metric = record.get("val_mean_class_accuracy")
        improved = metric is None or metric > state.best_metric
        if improved:
            state.best_metric = -math.inf if metric is None else metric
            state.best_epoch = state.epoch
        _save_checkpoint(checkpoint_dir / LAST, cfg, model, optimizer, scheduler, scaler, state)
        if improved:
            _save_weights(checkpoint_dir / BEST, model, state)
        logger.info("epoch %d: %s", state.epoch, {k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()})
        if on_epoch_end:
            on_epoch_end(state)
    return state


def _step(model, optimizer, scheduler, scaler, t: TrainConfig) -> None:
    scaler.unscale_(optimizer)
    if t.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.max_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def _save_checkpoint(path: Path, cfg: ExperimentConfig, model, optimizer, scheduler, scaler, state: TrainState) -> None:
    payload = {
        "fingerprint": cfg.fingerprint(), "state": asdict(state), "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "labels": model.config.id2label,
    }
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def _save_weights(path: Path, model, state: TrainState) -> None:
    with atomic_output(path) as tmp:
        torch.save({"model": model.state_dict(), "epoch": state.epoch, "metric": state.best_metric}, tmp)


def _load_checkpoint(path: Path, cfg: ExperimentConfig, model, optimizer, scheduler, scaler, device) -> TrainState:
    try:
        payload = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"Cannot read checkpoint {path}: {exc}; delete it or start over with --fresh.") from None
    if payload.get("fingerprint") != cfg.fingerprint():
        raise CheckpointError(
            f"{path} was written by a different experiment config (only train.epochs may change between a run "
            "and its resume); use another output_dir or start over with --fresh."
        )
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    scaler.load_state_dict(payload["scaler"])
    torch.set_rng_state(payload["torch_rng"])
    if payload.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    return TrainState(**payload["state"])


def load_weights(path: Path, model: torch.nn.Module) -> int:
    """Load ``best.pt``/``last.pt`` weights into ``model``; returns the epoch they are from."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"Cannot read checkpoint {path}: {exc}") from None
    model.load_state_dict(payload["model"])
    return int(payload.get("epoch") or payload.get("state", {}).get("epoch", 0))
