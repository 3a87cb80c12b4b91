"""The three video classifiers from ``transformers``, built from scratch or from a Hub checkpoint.

From scratch, the architecture's default config is overridden by ``model.scratch`` (tests use a
32-wide, one-layer model on 32x32 frames). From a checkpoint, the classification head is
replaced to fit our label set. Without a network, a missing checkpoint raises
:class:`ModelUnavailableError` naming it and how to fetch it, instead of a connection traceback.

Processors are the PIL-backed ones: ``transformers`` picks torchvision-backed processors when it
can, and torchvision does not work with this project's torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from random_people.experiments.config import ModelConfig
from random_people.experiments.errors import ExperimentConfigError, ModelUnavailableError

logger = logging.getLogger(__name__)

# Checkpoints of the paper's setup, for the README and error messages.
DEFAULT_CHECKPOINTS = {
    "videomae": "MCG-NJU/videomae-base-finetuned-kinetics",
    "timesformer": "facebook/timesformer-base-finetuned-k400",
    "vivit": "google/vivit-b-16x2-kinetics400",
}
DEFAULT_FRAMES = {"videomae": 16, "timesformer": 16, "vivit": 32}
# ViViT's processor defaults (kept for its checkpoints) scale pixels to [-3, 1]: rescale to
# [-1, 1], then normalise with mean 0.5 / std 0.5 again. A model trained from scratch gets the
# usual [-1, 1] instead; with the offset input a small ViViT did not learn at all in our tests.
_SCRATCH_PROCESSOR = {"vivit": {"offset": False, "rescale_factor": 1 / 255}}


@dataclass
class VideoModel:
    """A classifier, the processor that prepares its frames, and how many frames it takes."""

    model: torch.nn.Module
    processor: Any
    num_frames: int
    source: str  # checkpoint name, or "scratch"


def _classes(arch: str) -> tuple[type, type, type]:
    import transformers as tf

    if arch == "videomae":
        return tf.VideoMAEConfig, tf.VideoMAEForVideoClassification, tf.VideoMAEImageProcessorPil
    if arch == "timesformer":
        return tf.TimesformerConfig, tf.TimesformerForVideoClassification, tf.VideoMAEImageProcessorPil
    if arch == "vivit":
        return tf.VivitConfig, tf.VivitForVideoClassification, tf.VivitImageProcessor
    raise ExperimentConfigError(f"model.arch must be videomae, timesformer or vivit, got {arch!r}.")


def build_model(cfg: ModelConfig, labels: list[str]) -> VideoModel:
    """The classifier for ``labels`` described by ``cfg`` (seed torch first for reproducible weights)."""
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    if cfg.pretrained:
        return _pretrained(cfg, id2label, label2id)
    return _scratch(cfg, id2label, label2id)


def _scratch(cfg: ModelConfig, id2label: dict[int, str], label2id: dict[str, int]) -> VideoModel:
    config_cls, model_cls, processor_cls = _classes(cfg.arch)
    defaults = config_cls()
    for key in cfg.scratch:
        if not hasattr(defaults, key):
            raise ExperimentConfigError(f"model.scratch.{key} is not a field of {config_cls.__name__}.")
    fields = dict(cfg.scratch)
    num_frames = cfg.num_frames or fields.get("num_frames") or DEFAULT_FRAMES[cfg.arch]
    image_size = cfg.image_size or fields.get("image_size") or defaults.image_size
    fields.update(num_frames=num_frames, image_size=image_size, num_labels=len(id2label),
                  id2label=id2label, label2id=label2id)
    config = config_cls(**fields)
    _check_geometry(cfg.arch, config)
    model = model_cls(config)
    processor = processor_cls(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size},
                              **_SCRATCH_PROCESSOR.get(cfg.arch, {}))
    logger.info("%s from scratch: %.2fM parameters", cfg.arch, sum(p.numel() for p in model.parameters()) / 1e6)
    return VideoModel(model=model, processor=processor, num_frames=num_frames, source="scratch")


def _check_geometry(arch: str, config: Any) -> None:
    """Clear errors for patch/tubelet sizes that do not tile the input (transformers fails deep inside)."""
    if arch == "vivit":
        t, ph, pw = config.tubelet_size
        if config.num_frames % t or config.image_size % ph or config.image_size % pw:
            raise ExperimentConfigError(
                f"model.scratch.tubelet_size {config.tubelet_size} must divide num_frames={config.num_frames} "
                f"and image_size={config.image_size}."
            )
        return
    if config.image_size % config.patch_size:
        raise ExperimentConfigError(f"model.scratch.patch_size={config.patch_size} must divide image_size={config.image_size}.")
    if arch == "videomae" and config.num_frames % config.tubelet_size:
        raise ExperimentConfigError(
            f"model.num_frames={config.num_frames} must be a multiple of model.scratch.tubelet_size={config.tubelet_size}."
        )
    if config.hidden_size % config.num_attention_heads:
        raise ExperimentConfigError(
            f"model.scratch.hidden_size={config.hidden_size} must be a multiple of num_attention_heads={config.num_attention_heads}."
        )


def _pretrained(cfg: ModelConfig, id2label: dict[int, str], label2id: dict[str, int]) -> VideoModel:
    _, model_cls, processor_cls = _classes(cfg.arch)
    name = cfg.pretrained
    try:
        processor = processor_cls.from_pretrained(name)
        model = model_cls.from_pretrained(
            name, num_labels=len(id2label), id2label=id2label, label2id=label2id, ignore_mismatched_sizes=True,
        )
    except OSError as exc:
        raise ModelUnavailableError(
            f"The pretrained checkpoint {name!r} is not in the local Hugging Face cache and could not be downloaded "
            f"({str(exc).splitlines()[0]}). On a machine with internet run `huggingface-cli download {name}` "
            "(or any script calling from_pretrained) and copy its cache, then point HF_HOME at it here; or set "
            "model.pretrained to a local folder holding config.json, the weights and preprocessor_config.json."
        ) from None
    num_frames = cfg.num_frames or int(getattr(model.config, "num_frames", DEFAULT_FRAMES[cfg.arch]))
    if num_frames != model.config.num_frames:
        raise ExperimentConfigError(
            f"model.num_frames={num_frames} but {name} takes {model.config.num_frames} frames "
            "(its layers are built for that many); leave num_frames out or set it to that."
        )
    return VideoModel(model=model, processor=processor, num_frames=num_frames, source=name)
