"""Benchmark: training throughput of the action-recognition experiments on this machine's CPU.

1. Tiny from-scratch VideoMAE, TimeSformer and ViViT (the test configs: width 32-64, one layer,
   8 frames of 32x32) on a generated dataset of 36 training clips: seconds per epoch, training
   clips per second, and the whole train/test cycle.
2. With ``--base``: the paper-size models from scratch (transformers' default ViT-B configs,
   224x224, 16 / 16 / 32 frames): seconds per training clip (forward,
   backward, AdamW step, batch 1), seconds to decode and preprocess one 640x480, 300-frame clip,
   and peak RSS. These figures say what hardware the paper-scale runs need.

    python benchmarks/train.py [--threads N] [--base] [--archs videomae,timesformer,vivit]

The tiny dataset comes from the tests' generator (tests/experiments_fixture.py).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from experiments_fixture import experiment_config, make_exported  # noqa: E402
from random_people.experiments.config import ModelConfig, TrainConfig, config_from_dict  # noqa: E402
from random_people.experiments.frames import ClipDataset  # noqa: E402
from random_people.experiments.models import build_model  # noqa: E402
from random_people.experiments.runner import run_experiment  # noqa: E402
from random_people.experiments.training import make_optimizer  # noqa: E402
from random_people.media import VideoWriter  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tiny(archs: list[str], threads: int | None, work: Path) -> None:
    data = work / "data"
    make_exported(data)
    print(f"tiny models, 3 epochs, threads={threads or torch.get_num_threads()}")
    print(f"{'arch':<12} {'s/epoch':>8} {'clips/s':>8} {'cycle s':>8} {'test mca':>9}")
    for arch in archs:
        raw = experiment_config(data, work / f"run-{arch}", arch)
        raw["train"].update(epochs=3, threads=threads)
        started = time.perf_counter()
        result = run_experiment(config_from_dict(raw), fresh=True)
        cycle = time.perf_counter() - started
        per_epoch = float(np.mean([h["seconds"] for h in result.state.history]))
        clips = result.state.history[0]["clips"]
        print(f"{arch:<12} {per_epoch:8.2f} {clips / per_epoch:8.1f} {cycle:8.1f} {result.metrics.mean_class_accuracy:9.3f}")


def write_long_clip(path: Path, frames: int = 300) -> Path:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
    with VideoWriter(path, fps=20) as writer:
        for t in range(frames):
            writer.write(np.roll(base, 4 * t, axis=1))
    return path


def base(archs: list[str], threads: int | None, work: Path) -> None:
    clip = write_long_clip(work / "long.mp4")
    from random_people.experiments.sources import Clip

    print("\npaper-size models from scratch (ViT-B configs), 224x224, batch 1")
    print(f"{'arch':<12} {'frames':>6} {'params M':>9} {'s/train clip':>13} {'s/data clip':>12} {'peak RSS MB':>12}")
    if threads:
        torch.set_num_threads(threads)
    for arch in archs:
        model_cfg = ModelConfig(arch=arch, image_size=224)
        video = build_model(model_cfg, ["a", "b", "c"])
        dataset = ClipDataset([Clip(path=clip, label="a")], {"a": 0}, video.processor, video.num_frames, train=True)
        started = time.perf_counter()
        pixels, label = dataset[0]
        data_s = time.perf_counter() - started
        optimizer = make_optimizer(video.model, TrainConfig())
        video.model.train()
        times = []
        for _ in range(2):
            started = time.perf_counter()
            loss = video.model(pixel_values=pixels[None], labels=torch.tensor([label])).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            times.append(time.perf_counter() - started)
        params = sum(p.numel() for p in video.model.parameters()) / 1e6
        print(f"{arch:<12} {video.num_frames:>6} {params:9.1f} {min(times):13.2f} {data_s:12.2f} {peak_rss_mb():12.0f}")
        del video, optimizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--base", action="store_true", help="also time paper-size models (slow, several GB of RAM)")
    parser.add_argument("--archs", default="videomae,timesformer,vivit")
    args = parser.parse_args()
    archs = args.archs.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        tiny(archs, args.threads, Path(tmp))
        if args.base:
            base(archs, args.threads, Path(tmp))


if __name__ == "__main__":
    main()
