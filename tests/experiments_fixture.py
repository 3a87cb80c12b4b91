"""A tiny, real video dataset for the experiment tests: coloured squares moving over noise.

Classes differ by the square's colour and direction, so a one-layer model can learn them in a
few epochs on a CPU. Clips are real H.264 mp4 files written with ``random_people.media``.
The same generator writes the three layouts the loaders read: class folders, Toyota
Smarthome-named files, and an exported dataset with ``metadata.jsonl`` files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from random_people.files import sha256_file
from random_people.media import write_video

CLASSES = {"Drink": (230, 40, 40), "Walk": (40, 200, 40), "Sit": (40, 60, 230)}
SIZE = 32
FRAMES = 8


def make_clip(path: Path, label: str, seed: int, background: str = "noise") -> Path:
    """One clip of class ``label``; ``background`` is noise (real-looking), plain or texture."""
    rng = np.random.default_rng(seed)
    colour = np.array(CLASSES[label], dtype=np.int16)
    direction = {"Drink": (0, 1), "Walk": (1, 0), "Sit": (1, 1)}[label]
    y, x = rng.integers(2, 10, size=2)
    if background == "plain":
        base = np.full((SIZE, SIZE, 3), rng.integers(90, 160), dtype=np.int16)
    elif background == "texture":
        base = (np.indices((SIZE, SIZE)).sum(0)[..., None] * rng.integers(3, 9) % 120 + 60).repeat(3, 2).astype(np.int16)
    else:
        base = rng.integers(70, 150, size=(SIZE, SIZE, 3), dtype=np.int16)
    frames = []
    for t in range(FRAMES):
        frame = base + rng.integers(-12, 12, size=base.shape, dtype=np.int16)
        yy, xx = y + direction[0] * t * 2, x + direction[1] * t * 2
        frame[yy:yy + 10, xx:xx + 10] = colour
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return write_video(frames, path, fps=8)


def make_class_folders(root: Path, per_class: int = 6, seed: int = 0) -> Path:
    for c, label in enumerate(CLASSES):
        for i in range(per_class):
            make_clip(root / label / f"{label.lower()}_{i}.mp4", label, seed * 1000 + c * 100 + i)
    return root


def make_smarthome(root: Path) -> Path:
    """Smarthome-named clips: subjects 3 and 4 (CS train), 2 and 10 (CS test), cameras 1, 2, 5, 7."""
    n = 0
    for label in ("Walk", "Drink"):
        for subject in (2, 3, 4, 10):
            for camera in (1, 2, 5, 7):
                make_clip(root / f"{label}_p{subject:02d}_r00_v{n % 7:02d}_c{camera:02d}.mp4", label, 5000 + n)
                n += 1
    (root / "README.txt").write_text("not a clip")
    make_clip(root / "not_a_smarthome_name.mp4", "Walk", 9999)
    return root


def make_exported(root: Path, real_per_class: int = 6, synthetic_per_real: int = 2, seed: int = 0) -> dict:
    """An exported dataset: real train/test clips and plain/background synthetic clips made from them.

    Every real clip gets synthetic copies, including the real test clips, so the tests can check
    that the copies of test clips never train. Returns what was written, for assertions.
    """
    written = {"real": [], "synthetic": []}
    rows: dict[Path, list[dict]] = {}
    for c, label in enumerate(CLASSES):
        for i in range(real_per_class):
            split = "test" if i < 2 else "train"
            folder = root / "real" / split
            name = f"{label.lower()}_{i}.mp4"
            path = make_clip(folder / name, label, seed * 1000 + c * 100 + i)
            clip_id = sha256_file(path)
            subject = f"p{i:02d}"
            rows.setdefault(folder, []).append({
                "file_name": name, "label": label, "synthetic": False, "background_kind": None,
                "source_clip_id": clip_id, "split": split, "source_subject": subject,
            })
            written["real"].append({"id": clip_id, "split": split, "label": label})
            for j in range(synthetic_per_real):
                kind = "plain" if j % 2 == 0 else "image"
                sfolder = root / "synthetic" / "train"
                sname = f"clips/{label.lower()}_{i}_{j}.mp4"
                make_clip(sfolder / sname, label, 70000 + c * 1000 + i * 10 + j,
                          background="plain" if kind == "plain" else "texture")
                rows.setdefault(sfolder, []).append({
                    "file_name": sname, "label": label, "synthetic": True, "background_kind": kind,
                    "source_clip_id": clip_id, "split": "train", "source_subject": subject,
                })
                written["synthetic"].append({"source": clip_id, "kind": kind, "label": label, "name": sname})
    for folder, items in rows.items():
        (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    return written


def tiny_model(arch: str) -> dict:
    """A from-scratch config small enough to train in about a second on a CPU."""
    common = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    if arch == "vivit":
        # ViViT classifies from its CLS token alone; at width 32 it barely learned these clips in 5 epochs.
        return {"arch": "vivit", "num_frames": 8, "image_size": 32,
                "scratch": {**common, "hidden_size": 64, "intermediate_size": 128, "tubelet_size": [2, 8, 8]}}
    if arch == "videomae":
        return {"arch": "videomae", "num_frames": 8, "image_size": 32,
                "scratch": {**common, "patch_size": 8, "tubelet_size": 2}}
    return {"arch": "timesformer", "num_frames": 8, "image_size": 32, "scratch": {**common, "patch_size": 8}}


def experiment_config(data_dir: Path, out_dir: Path, arch: str = "videomae", **data: object) -> dict:
    """A tiny experiment config (plain data, as the YAML would hold) on an exported dataset."""
    return {
        "name": f"tiny-{arch}", "seed": 0, "output_dir": str(out_dir), "model": tiny_model(arch),
        "data": {"sources": [{"kind": "exported", "path": str(data_dir)}], **data},
        "train": {"epochs": 2, "batch_size": 4, "learning_rate": 3e-3, "warmup_ratio": 0.0, "threads": 1},
    }
