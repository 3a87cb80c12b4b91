"""Real small clip files and ExportClip records for the Hub tests (no job database needed).

Each clip is a real H.264 mp4 written by ``random_people.media.VideoWriter`` (a few frames of a
moving square, so every file has distinct bytes), a real lossless mask video, a labels ``.npz``
in the labels-file format and a motion ``.npz``; identities come from the real sampler.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from random_people.files import sha256_file
from random_people.hub.records import ExportClip

ACTIONS = ("walk", "sit_down", "drink")


def _video(path: Path, seed: int, frames: int = 4, size: int = 32, noise: bool = False) -> Path:
    from random_people.media import VideoWriter

    rng = np.random.default_rng(seed)
    with VideoWriter(path, fps=10) as writer:
        for t in range(frames):
            rgb = np.full((size, size, 3), rng.integers(0, 255, 3), dtype=np.uint8)
            rgb[t * 4 % size:t * 4 % size + 8, 4:12] = 255 - rgb[0, 0]
            if noise:  # camera-like grain: realistic file sizes for benchmarks
                rgb = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
            writer.write(rgb)
    return path


def _npz(path: Path, seed: int, **extra) -> Path:
    np.savez(path, version=np.array(1), data=np.random.default_rng(seed).normal(size=(4, 17, 2)), **extra)
    return path


def make_clips(folder: Path, n_sources: int = 10, per_source: int = 2, subjects: int | None = None,
               start: int = 0, with_source_files: bool = False, frames: int = 4, size: int = 32,
               noise: bool = False) -> list[ExportClip]:
    """``n_sources`` real source clips x ``per_source`` synthetic clips each, with all their files.

    Source ``i`` is performed by subject ``p{i % subjects}`` when ``subjects`` is given.
    """
    from random_people.avatar.sampler import sample_identities

    folder.mkdir(parents=True, exist_ok=True)
    people = sample_identities(max(n_sources * per_source, 1), seed=7)
    clips = []
    for i in range(start, start + n_sources):
        label = ACTIONS[i % len(ACTIONS)]
        source = folder / f"source_{i}.mp4"
        if with_source_files or not source.exists():
            _video(source, 10_000 + i, frames=3)
        source_id = sha256_file(source)  # how the pipeline names a source clip
        motion = _npz(folder / f"motion_{i}.npz", i)
        for j in range(per_source):
            k = (i - start) * per_source + j
            clip_id = hashlib.sha256(f"clip-{i}-{j}".encode()).hexdigest()[:16]
            video = _video(folder / f"{clip_id}.mp4", 100 * i + j, frames, size, noise)
            mask = _video(folder / f"{clip_id}_mask.mp4", 7 + 100 * i + j, frames, size)
            labels = _npz(folder / f"{clip_id}_labels.npz", 100 * i + j)
            kind = ("plain", "image", "video")[k % 3]
            clips.append(ExportClip(
                clip_id=clip_id, video_path=video, action_label=label, source_clip_id=source_id,
                identity=people[k % len(people)].to_dict(), identity_id=people[k % len(people)].id,
                background={"plain": "#808080", "image": "park", "video": "street.mp4"}[kind], background_kind=kind,
                camera={"mode": "sampled" if j else "source", "index": j, "K": [[40.0, 0, 16], [0, 40.0, 16], [0, 0, 1]],
                        "world_to_camera": np.eye(4).tolist(), "azimuth": 10.0 * j},
                seed=1000 * i + j, generator_version="random-people 0.1.0", mask_path=mask, labels_path=labels,
                motion_path=motion, source_subject=f"p{i % subjects:02d}" if subjects else None,
                source_name=source.name, job_id="job-1", source_path=source if with_source_files else None,
            ))
    return clips
