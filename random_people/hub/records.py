"""What the exporter needs to know about one generated clip, independent of where it came from.

The job log (``random_people.jobs``) produces these from its database; the exporter consumes
them. Keeping the record a plain dataclass means the export code never touches SQLAlchemy and can
be tested on clips made any way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExportClip:
    """One synthetic clip on disk with everything its ``metadata.jsonl`` row reports."""

    clip_id: str                     # content hash of the render task that made it (unique)
    video_path: Path                 # H.264 .mp4
    action_label: str
    source_clip_id: str              # SHA-256 of the real source clip
    identity: dict[str, Any]         # IdentitySpec.to_dict()
    identity_id: str
    background: str                  # background id: shipped name, "#rrggbb" or file name
    background_kind: str             # "plain" | "image" | "video" | "source" (the clip's own scene)
    camera: dict[str, Any]           # {"mode": "source"|"sampled", "index", "K", "world_to_camera", ...}
    seed: int
    generator_version: str
    mask_path: Path | None = None    # lossless H.264 alpha mask
    labels_path: Path | None = None  # per-frame keypoints, boxes, camera (render.labels)
    motion_path: Path | None = None  # the body parameters (Motion .npz) the clip re-performs
    source_subject: str | None = None  # the real person, where known (Smarthome "p02"): splits never share one
    source_name: str | None = None     # file name of the real source clip
    job_id: str | None = None
    source_path: Path | None = None    # the real source clip file (exported in the "real" config on request)
    fps: float | None = None
    num_frames: int | None = None
    width: int | None = None
    height: int | None = None
    fidelity: dict[str, Any] | None = None  # the judge's figures (random_people.jobs.fidelity); None: not scored
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RealClip:
    """A real source clip, exported in its own config so real vs synthetic experiments load from one repo."""

    source_clip_id: str              # SHA-256 of the file
    video_path: Path
    action_label: str
    source_subject: str | None = None
