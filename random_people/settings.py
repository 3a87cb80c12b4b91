"""All configuration in one place.

Every field has a sane default and can be overridden by an environment variable named
``RP_<FIELD>`` (e.g. ``RP_DATA_DIR=/data``), so the same code runs on a laptop, in a Hugging Face
Space and on a cluster node without editing files.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "random-people"


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build with :func:`load_settings` to apply the environment."""

    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str = ""  # empty: SQLite file inside data_dir
    device: str = "auto"  # "auto", "cpu" or "cuda"
    body_model: str = "anny"  # "anny" or "smplx"
    smplx_model_path: str = ""  # a SMPL-X .npz/.pkl file or a folder holding SMPLX_NEUTRAL.npz
    # Limits for uploads and extraction: a clear error beats an out-of-memory crash.
    max_upload_mb: float = 500.0
    max_duration_s: float = 600.0
    max_width: int = 3840
    max_height: int = 3840
    max_frames: int = 36000
    # Pose extraction.
    detector_max_side: int = 640  # frames are downscaled to this long side before MediaPipe
    min_detection_ratio: float = 0.2  # fewer frames with a person than this is "no person"
    fit_iterations: int = 120  # the fit's optimiser steps (pose/fitting.py: FitConfig.iterations)
    # Bulk jobs.
    job_workers: int = 0  # worker processes of the local executor; 0 = one per CPU core
    job_heartbeat_s: float = 5.0  # how often a running task tells the log it is alive
    job_stale_after_s: float = 60.0  # a running task silent this long is reclaimed (its worker died)
    job_max_attempts: int = 3  # a task whose workers die this often fails instead of looping
    job_poll_s: float = 1.0  # how often an idle worker looks for new tasks
    fidelity_frames: int = 8  # frames of each rendered clip the judge scores (0: no fidelity score)
    server_name: str = "127.0.0.1"
    server_port: int = 7860

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'random_people.sqlite'}"

    @property
    def torch_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


def _coerce(value: str, target_type: Any, name: str) -> Any:
    try:
        if target_type in (Path, "Path"):
            return Path(value).expanduser()
        if target_type in (int, "int"):
            return int(value)
        if target_type in (float, "float"):
            return float(value)
        return value
    except ValueError as exc:
        raise ValueError(f"Environment variable RP_{name.upper()}={value!r} is not a valid {target_type}") from exc


def load_settings(**overrides: Any) -> Settings:
    """Defaults, then ``RP_*`` environment variables, then explicit keyword overrides."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        env_value = os.environ.get(f"RP_{f.name.upper()}")
        if env_value is not None and env_value != "":
            values[f.name] = _coerce(env_value, f.type, f.name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    return Settings(**values)
