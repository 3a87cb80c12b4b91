"""Train/evaluate cycles of tiny from-scratch TimeSformer, ViViT and VideoMAE models on real mp4 clips."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from experiments_fixture import experiment_config, make_class_folders, make_exported, tiny_model
from random_people.cli import main
from random_people.experiments.config import config_from_dict
from random_people.experiments.errors import CheckpointError
from random_people.experiments.metrics import compute_metrics
from random_people.experiments.results import read_table
from random_people.experiments.runner import run_experiment


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_exported")
    make_exported(root)
    return root


def test_metrics_on_known_predictions():
    labels = ["a", "b", "c", "d", "e", "f"]
    logits = np.full((4, 6), 0.0)
    logits[0, 0] = 5                    # a -> a (right)
    logits[1, 0], logits[1, 1] = 5, 4   # b -> a, b second
    logits[2, 2] = 5                    # c -> c
    logits[3, 1], logits[3, 2], logits[3, 3], logits[3, 4], logits[3, 5], logits[3, 0] = 6, 5, 4, 3, 2, -1  # a last
    m = compute_metrics(logits, np.array([0, 1, 2, 0]), labels)
    assert m.top1 == pytest.approx(0.5)
    assert m.top5 == pytest.approx(0.75)
    assert m.mean_class_accuracy == pytest.approx((0.5 + 0.0 + 1.0) / 3)  # classes d-f have no samples
    assert m.confusion[1, 0] == 1 and m.confusion[0, 1] == 1 and m.confusion.sum() == 4
    assert m.per_class[3]["accuracy"] is None and m.per_class[0]["support"] == 2


@pytest.mark.parametrize("arch", ["videomae", "timesformer", "vivit"])
def test_tiny_model_learns_and_writes_results(arch, dataset, tmp_path):
    raw = experiment_config(dataset, tmp_path / "run", arch)
    raw["train"]["epochs"] = 3
    result = run_experiment(config_from_dict(raw))
    run = tmp_path / "run"
    history = result.state.history
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < 0.95 * history[0]["train_loss"]   # it learns
    saved = json.loads((run / "results.json").read_text())
    confusion = np.array(saved["test"]["confusion"])
    assert confusion.sum() == saved["data"]["test"] == 6
    assert saved["test"]["top1"] == pytest.approx(np.trace(confusion) / confusion.sum())
    assert saved["model_source"] == "scratch" and saved["arch"] == arch and saved["tested_epoch"] == 3
    assert (run / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((run / "per_class.csv").read_text().splitlines()) == 4
    rows = read_table(run / "results.csv")
    assert len(rows) == 1 and float(rows[0]["mean_class_accuracy"]) == pytest.approx(result.metrics.mean_class_accuracy, abs=1e-4)
    plan = json.loads((run / "data_plan.json").read_text())
    assert len(plan["train"]) == 36 and all(row["kind"] == "real" for row in plan["test"])


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def test_interrupted_run_resumes_to_the_same_weights(dataset, tmp_path):
    raw = experiment_config(dataset, tmp_path / "straight", "videomae", use=["real", "plain"], synthetic_per_class=2)
    raw["train"].update(epochs=2, schedule="cosine", warmup_ratio=0.2)
    straight = run_experiment(config_from_dict(raw))

    raw["output_dir"] = str(tmp_path / "interrupted")
    cfg = config_from_dict(raw)

    def stop_after_first(state):
        if state.epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, on_epoch_end=stop_after_first)
    first = _weights(tmp_path / "interrupted" / "checkpoints" / "last.pt")
    assert first["state"]["epoch"] == 1
    with pytest.raises(CheckpointError, match="--resume"):
        run_experiment(cfg)  # never silently restarts over a checkpoint
    resumed = run_experiment(cfg, resume=True)

    assert [h["epoch"] for h in resumed.state.history] == [1, 2]
    assert resumed.state.history[0]["train_loss"] == first["state"]["history"][0]["train_loss"]
    assert resumed.state.global_step == straight.state.global_step
    a = _weights(tmp_path / "straight" / "checkpoints" / "last.pt")["model"]
    b = _weights(tmp_path / "interrupted" / "checkpoints" / "last.pt")["model"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    for s, r in zip(straight.state.history, resumed.state.history):
        assert s["train_loss"] == pytest.approx(r["train_loss"], rel=1e-5)

    other = config_from_dict({**raw, "train": {**raw["train"], "learning_rate": 1e-4}})
    with pytest.raises(CheckpointError, match="different experiment config"):
        run_experiment(other, resume=True)


def test_cli_train_then_train_longer_with_validation(tmp_path, capsys):
    data = make_class_folders(tmp_path / "clips", per_class=5)
    config = {
        "name": "cli", "output_dir": "out", "model": tiny_model("timesformer"),
        "data": {"sources": [{"kind": "folder", "path": str(data)}], "test_fraction": 0.4,
                 "validation_fraction": 0.2},
        "train": {"epochs": 1, "batch_size": 3, "learning_rate": 3e-3, "warmup_ratio": 0.0, "schedule": "constant",
                  "threads": 1},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mean per-class accuracy" in out and "test clips 6" in out
    first = json.loads((tmp_path / "out" / "results.json").read_text())
    assert main(["train", str(path), "--resume", "--epochs", "3"]) == 0
    second = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [h["epoch"] for h in second["history"]] == [1, 2, 3]
    assert second["history"][0] == first["history"][0]            # epoch 1 was not redone
    best = max(second["history"], key=lambda h: h["val_mean_class_accuracy"])
    assert second["tested_epoch"] == best["epoch"]               # tested with the best validation checkpoint
    assert second["data"]["validation"] == 3
    assert len(read_table(tmp_path / "out" / "results.csv")) == 2
    assert main(["train", str(path)]) == 28  # a checkpoint exists: neither --resume nor --fresh
    assert "--resume" in capsys.readouterr().err


def test_pretrained_checkpoint_offline_is_a_clear_error(dataset, tmp_path):
    raw = experiment_config(dataset, tmp_path / "run", "videomae")
    raw["model"] = {"arch": "videomae", "pretrained": "MCG-NJU/videomae-base-finetuned-kinetics"}
    path = tmp_path / "pretrained.yaml"
    path.write_text(yaml.safe_dump(raw))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "RP_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "random_people.cli", "train", str(path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 27, done.stderr
    assert "MCG-NJU/videomae-base-finetuned-kinetics" in done.stderr
    assert "huggingface-cli download MCG-NJU/videomae-base-finetuned-kinetics" in done.stderr
    assert "Traceback" not in done.stderr


def test_videomae_reaches_well_above_chance(dataset, tmp_path):
    """The whole pipeline (frames, labels, loss, evaluation) must agree for a model to learn the clips."""
    raw = experiment_config(dataset, tmp_path / "run", "videomae")
    raw["train"]["epochs"] = 5
    result = run_experiment(config_from_dict(raw))
    assert result.state.history[-1]["train_loss"] < 0.5 * result.state.history[0]["train_loss"]
    assert result.metrics.mean_class_accuracy >= 0.8  # chance is 0.33; 1.0 on this machine


def test_mixed_precision_only_on_cuda():
    from random_people.experiments.config import TrainConfig
    from random_people.experiments.errors import TrainingError
    from random_people.experiments.training import _amp, resolve_device

    assert _amp(TrainConfig(mixed_precision=True), torch.device("cpu")) == (False, torch.float32)
    enabled, dtype = _amp(TrainConfig(mixed_precision=True), torch.device("cuda"))
    assert enabled and dtype in (torch.float16, torch.bfloat16)
    assert _amp(TrainConfig(mixed_precision=False), torch.device("cuda"))[0] is False
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="no CUDA"):
            resolve_device(TrainConfig(device="cuda"))


def test_run_folder_keeps_the_training_log(dataset, tmp_path):
    raw = experiment_config(dataset, tmp_path / "run", "vivit", use=["real"])
    raw["train"]["epochs"] = 1
    run_experiment(config_from_dict(raw))
    log = (tmp_path / "run" / "train.log").read_text()
    assert "Data plan" in log and "epoch 1:" in log and "Test set (6 clips)" in log


@pytest.mark.parametrize("arch", ["videomae", "timesformer", "vivit"])
def test_pretrained_path_loads_a_local_checkpoint_with_a_new_head(arch, tmp_path):
    """The from_pretrained path, offline: a saved checkpoint (5 classes) becomes a 3-class model, backbone kept."""
    from random_people.experiments.config import ModelConfig
    from random_people.experiments.models import build_model

    tiny = tiny_model(arch)
    source = build_model(ModelConfig(arch=arch, scratch=tiny["scratch"], num_frames=8, image_size=32), list("abcde"))
    source.model.save_pretrained(tmp_path / "ckpt")
    source.processor.save_pretrained(tmp_path / "ckpt")
    loaded = build_model(ModelConfig(arch=arch, pretrained=str(tmp_path / "ckpt")), ["x", "y", "z"])
    assert loaded.num_frames == 8 and loaded.source == str(tmp_path / "ckpt")
    assert loaded.model.config.id2label == {0: "x", 1: "y", 2: "z"}
    assert loaded.model.classifier.out_features == 3
    before, after = source.model.state_dict(), loaded.model.state_dict()
    backbone = [k for k in before if not k.startswith("classifier")]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)
    assert loaded.processor.size == source.processor.size
