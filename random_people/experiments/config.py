"""The experiment config: one YAML file says what to train on, how, and where results go.

Example (every field but ``model.arch`` and ``data.sources`` has a default)::

    name: smarthome-videomae
    seed: 0
    output_dir: runs/videomae            # relative paths are relative to this file
    model:
      arch: videomae                     # videomae | timesformer | vivit
      pretrained: MCG-NJU/videomae-base-finetuned-kinetics   # or leave out and give `scratch`
      scratch: {hidden_size: 32, num_hidden_layers: 1}        # transformers config fields
      num_frames: 16                     # frames sampled per clip (default: the model's)
      image_size: 224                    # from-scratch models only
    data:
      sources:
        - {kind: smarthome, path: /data/smarthome/mp4, protocol: CS}
        - {kind: exported, path: user/smarthome-synthetic}    # folder or Hub dataset repo id
      classes: [Cook.Cleandishes, Drink.Fromcup, Walk]        # subset and label order
      label_map: {Drink.Frombottle: Drink.Fromcup}            # merge raw labels before subsetting
      use: [real, plain, background]     # which kinds of clip train: real, plain-, background-synthetic
      synthetic_per_class: 200           # cap on synthetic clips per class
      synthetic_ratio: null              # or: at most this many synthetic clips per real clip of a class
      real_per_class: null               # k real clips per class (few-shot)
    train: {epochs: 10, batch_size: 8, learning_rate: 5.0e-5, schedule: cosine, grad_accum_steps: 1}

Errors are :class:`ExperimentConfigError` naming the field, e.g. ``train.batch_size must be a
positive integer, got 0``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from random_people.experiments.errors import ExperimentConfigError

ARCHITECTURES = ("videomae", "timesformer", "vivit")
SOURCE_KINDS = ("folder", "smarthome", "exported")
CLIP_KINDS = ("real", "plain", "background")
SCHEDULES = ("cosine", "linear", "constant")
SPLIT_MODES = ("auto", "source", "stratified")


@dataclass
class ModelConfig:
    arch: str
    pretrained: str | None = None
    scratch: dict[str, Any] = field(default_factory=dict)
    num_frames: int | None = None
    image_size: int | None = None


@dataclass
class SourceConfig:
    kind: str
    path: str
    protocol: str | None = None   # smarthome only: CS, CV1, CV2 (default CS)
    revision: str | None = None   # exported Hub datasets only


@dataclass
class DataConfig:
    sources: list[SourceConfig]
    classes: list[str] | None = None
    label_map: dict[str, str] = field(default_factory=dict)
    split: str = "auto"            # auto: the sources' own splits when every real clip has one
    test_fraction: float = 0.2     # stratified splits only
    validation_fraction: float = 0.0
    use: list[str] = field(default_factory=lambda: list(CLIP_KINDS))
    real_per_class: int | None = None
    synthetic_per_class: int | None = None
    synthetic_ratio: float | None = None
    synthetic_from: str = "any"    # "any" real source, or only "train": clips made from real clips in training
    exclude_test_subjects: bool = True  # no synthetic clips of people who appear only in the real test set


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 8
    eval_batch_size: int | None = None
    learning_rate: float = 5e-5
    weight_decay: float = 0.05
    schedule: str = "cosine"
    warmup_ratio: float = 0.1
    grad_accum_steps: int = 1
    max_grad_norm: float = 1.0
    mixed_precision: bool = True   # used only on CUDA
    device: str = "auto"           # auto, cpu, cuda
    num_workers: int = 0
    threads: int | None = None     # torch CPU threads (None: torch's default); 1 on a shared, busy machine
    flip: bool = True              # random horizontal flips of training clips


@dataclass
class SweepConfig:
    """Few-shot sweep: ``k`` real clips per class x synthetic clips per class x seeds."""

    k: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    synthetic_per_class: list[int] = field(default_factory=lambda: [0, 50, 100, 150, 200])
    seeds: list[int] = field(default_factory=lambda: [0])


@dataclass
class ExperimentConfig:
    model: ModelConfig
    data: DataConfig
    name: str = "experiment"
    seed: int = 0
    output_dir: str = "runs/experiment"
    results_table: str | None = None   # default: <output_dir>/results.csv
    train: TrainConfig = field(default_factory=TrainConfig)
    fewshot: SweepConfig = field(default_factory=SweepConfig)
    base_dir: str = "."                # folder of the YAML file; not a YAML field

    @property
    def output_path(self) -> Path:
        return self.resolve(self.output_dir)

    @property
    def results_table_path(self) -> Path:
        return self.resolve(self.results_table) if self.results_table else self.output_path / "results.csv"

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def replace(self, **changes: Any) -> "ExperimentConfig":
        """A deep copy with dotted fields changed, e.g. ``replace(**{"data.use": ["real"]})``."""
        new = copy.deepcopy(self)
        for dotted, value in changes.items():
            target: Any = new
            *parents, last = dotted.split(".")
            for part in parents:
                target = getattr(target, part)
            setattr(target, last, value)
        return validate(new)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("base_dir")
        return out

    def fingerprint(self) -> str:
        """Hash of everything that defines the run except the epoch count and output places.

        A checkpoint may be resumed only by a config with the same fingerprint; raising
        ``train.epochs`` to train longer is allowed.
        """
        d = self.to_dict()
        for key in ("output_dir", "results_table", "fewshot", "name"):
            d.pop(key)
        for key in ("epochs", "num_workers", "eval_batch_size", "threads"):
            d["train"].pop(key)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ExperimentConfigError(f"Experiment config {path} does not exist.") from None
    except yaml.YAMLError as exc:
        raise ExperimentConfigError(f"{path} is not valid YAML: {exc}") from None
    return config_from_dict(raw, base_dir=path.resolve().parent, where=str(path))


def config_from_dict(raw: Any, base_dir: str | Path = ".", where: str = "config") -> ExperimentConfig:
    """Build and validate a config from plain data (what the YAML holds)."""
    if not isinstance(raw, dict):
        raise ExperimentConfigError(f"{where} must be a mapping of fields (name, model, data, train, ...).")
    raw = dict(raw)
    for key in ("model", "data"):
        if key not in raw:
            raise ExperimentConfigError(f"{where}: the field `{key}` is required.")
    data = _mapping(raw.pop("data"), "data")
    sources = data.pop("sources", None)
    if not isinstance(sources, list) or not sources:
        raise ExperimentConfigError("data.sources must be a non-empty list of {kind, path} entries.")
    cfg = ExperimentConfig(
        model=_build(ModelConfig, raw.pop("model"), "model"),
        data=_build(DataConfig, {**data, "sources": [
            _build(SourceConfig, s, f"data.sources[{i}]") for i, s in enumerate(sources)]}, "data"),
        train=_build(TrainConfig, raw.pop("train", None) or {}, "train"),
        fewshot=_build(SweepConfig, raw.pop("fewshot", None) or {}, "fewshot"),
        **_check_keys(raw, ExperimentConfig, "", skip=("model", "data", "train", "fewshot", "base_dir")),
        base_dir=str(base_dir),
    )
    return validate(cfg)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExperimentConfigError(f"{where} must be a mapping, got {type(value).__name__}.")
    return dict(value)


def _check_keys(raw: dict[str, Any], cls: type, where: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(cls)} - set(skip)
    unknown = sorted(set(raw) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ExperimentConfigError(
            f"Unknown field {prefix}{unknown[0]}; the fields of {where or 'the config'} are: {', '.join(sorted(known))}."
        )
    return raw


def _build(cls: type, raw: Any, where: str) -> Any:
    raw = _mapping(raw, where)
    _check_keys(raw, cls, where)
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in raw:
            raise ExperimentConfigError(f"{where}.{name} is required.")
    return cls(**raw)


def _fail(field_name: str, expected: str, value: Any) -> None:
    raise ExperimentConfigError(f"{field_name} must be {expected}, got {value!r}.")


def _int(name: str, value: Any, minimum: int = 1, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(name, f"an integer >= {minimum}", value)


def _number(name: str, value: Any, low: float, high: float | None = None, optional: bool = False) -> Any:
    """The value as a float (YAML reads ``5e-5`` without a dot as a string, so numeric strings count)."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
        _fail(name, f"a number in [{low}, {high if high is not None else 'inf'}]", value)
    return float(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(name, f"one of {', '.join(choices)}", value)


def validate(cfg: ExperimentConfig) -> ExperimentConfig:
    """Check every field's type and range; raise naming the first bad one."""
    m, d, t = cfg.model, cfg.data, cfg.train
    if not isinstance(cfg.name, str) or not cfg.name:
        _fail("name", "a non-empty string", cfg.name)
    _int("seed", cfg.seed, 0)
    _choice("model.arch", m.arch, ARCHITECTURES)
    if m.pretrained is not None and (not isinstance(m.pretrained, str) or not m.pretrained):
        _fail("model.pretrained", "a checkpoint name or path", m.pretrained)
    if not isinstance(m.scratch, dict):
        _fail("model.scratch", "a mapping of transformers config fields", m.scratch)
    if m.pretrained and m.scratch:
        raise ExperimentConfigError("Give either model.pretrained or model.scratch, not both.")
    if m.pretrained and m.image_size:
        raise ExperimentConfigError("model.image_size is for from-scratch models; a checkpoint's processor sets the size.")
    _int("model.num_frames", m.num_frames, 1, optional=True)
    _int("model.image_size", m.image_size, 8, optional=True)
    for i, s in enumerate(d.sources):
        _choice(f"data.sources[{i}].kind", s.kind, SOURCE_KINDS)
        if not isinstance(s.path, str) or not s.path:
            _fail(f"data.sources[{i}].path", "a folder path (or a Hub repo id for exported)", s.path)
        if s.protocol is not None:
            if s.kind != "smarthome":
                raise ExperimentConfigError(f"data.sources[{i}].protocol is for kind: smarthome only.")
            _choice(f"data.sources[{i}].protocol", str(s.protocol).upper(), ("CS", "CV1", "CV2"))
    if d.classes is not None and (not isinstance(d.classes, list) or not d.classes
                                  or not all(isinstance(c, str) for c in d.classes) or len(set(d.classes)) != len(d.classes)):
        _fail("data.classes", "a non-empty list of distinct label names", d.classes)
    if not isinstance(d.label_map, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in d.label_map.items()):
        _fail("data.label_map", "a mapping of label -> label", d.label_map)
    _choice("data.split", d.split, SPLIT_MODES)
    d.test_fraction = _number("data.test_fraction", d.test_fraction, 0.0, 0.9)
    d.validation_fraction = _number("data.validation_fraction", d.validation_fraction, 0.0, 0.9)
    if not isinstance(d.use, list) or not d.use or any(u not in CLIP_KINDS for u in d.use):
        _fail("data.use", f"a non-empty list of {', '.join(CLIP_KINDS)}", d.use)
    _int("data.real_per_class", d.real_per_class, 1, optional=True)
    _int("data.synthetic_per_class", d.synthetic_per_class, 0, optional=True)
    d.synthetic_ratio = _number("data.synthetic_ratio", d.synthetic_ratio, 0.0, optional=True)
    _choice("data.synthetic_from", d.synthetic_from, ("any", "train"))
    if not isinstance(d.exclude_test_subjects, bool):
        _fail("data.exclude_test_subjects", "true or false", d.exclude_test_subjects)
    _int("train.epochs", t.epochs, 1)
    _int("train.batch_size", t.batch_size, 1)
    _int("train.eval_batch_size", t.eval_batch_size, 1, optional=True)
    t.learning_rate = _number("train.learning_rate", t.learning_rate, 0.0)
    t.weight_decay = _number("train.weight_decay", t.weight_decay, 0.0)
    _choice("train.schedule", t.schedule, SCHEDULES)
    t.warmup_ratio = _number("train.warmup_ratio", t.warmup_ratio, 0.0, 1.0)
    _int("train.grad_accum_steps", t.grad_accum_steps, 1)
    t.max_grad_norm = _number("train.max_grad_norm", t.max_grad_norm, 0.0)
    _int("train.num_workers", t.num_workers, 0)
    _int("train.threads", t.threads, 1, optional=True)
    _choice("train.device", t.device, ("auto", "cpu", "cuda"))
    for name in ("mixed_precision", "flip"):
        if not isinstance(getattr(t, name), bool):
            _fail(f"train.{name}", "true or false", getattr(t, name))
    f = cfg.fewshot
    for name, values, minimum in (("k", f.k, 1), ("synthetic_per_class", f.synthetic_per_class, 0), ("seeds", f.seeds, 0)):
        if not isinstance(values, list) or not values:
            _fail(f"fewshot.{name}", "a non-empty list of integers", values)
        for v in values:
            _int(f"fewshot.{name}", v, minimum)
    return cfg
