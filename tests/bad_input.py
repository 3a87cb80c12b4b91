"""Helpers of the bad-input corpus: make hostile files in a test's folder, run the real CLI, and
compare the folder before and after (nothing may appear or change when input is refused)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root`` (hidden ones too): size, mtime and, for small files, a hash."""
    state = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.st_size < 8 << 20 else ""
            state[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns, digest)
    return state


def cli(args: list[str], cwd: Path, env: dict[str, str] | None = None, memory_limit: int | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """``random-people ARGS`` in a subprocess; ``memory_limit`` caps its address space (bytes)."""
    def limit() -> None:
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run([sys.executable, "-m", "random_people.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})}, preexec_fn=limit)


# --------------------------------------------------------------------------------------------
# Motion files


def tiny_motion(frames: int = 3) -> Any:
    """A small but valid Motion (2 bones): the corpus corrupts one thing of it at a time."""
    from random_people.pose.motion import Motion

    T, B, K, L = frames, 2, 1, 1
    return Motion(
        fps=30.0, body_model="anny", bone_names=["root", "spine"], bone_parents=np.array([-1, 0]),
        rest_joints=np.zeros((B, 3)), shape_names=["height"], shape=np.zeros(1),
        local_rotations=np.zeros((T, B, 3)), root_rotation=np.zeros((T, 3)), root_translation=np.ones((T, 3)),
        joints_3d=np.zeros((T, B, 3)), keypoint_names=["nose"], keypoints_3d=np.zeros((T, K, 3)),
        keypoints_2d=np.zeros((T, K, 2)), landmark_names=["nose"], landmarks_2d=np.zeros((T, L, 2)),
        landmarks_3d=np.zeros((T, L, 3)), landmark_confidence=np.ones((T, L)), image_size=(64, 48),
        camera_intrinsics=np.eye(3), frame_times=np.arange(T) / 30.0, fit_error_2d=np.zeros(T),
        fit_error_3d=np.zeros(T), quality_flags=np.zeros(T, dtype=np.uint8), action_label="walk",
    )


def motion_arrays(**changes: Any) -> dict[str, np.ndarray]:
    """The arrays ``save_motion`` would write for :func:`tiny_motion`, with ``changes`` applied."""
    from random_people.pose.motion import save_motion

    buffer = Path(os.environ.get("TMPDIR", "/tmp")) / f"rp-corpus-{os.getpid()}.npz"
    save_motion(tiny_motion(), buffer)
    with np.load(buffer) as stored:
        arrays = {key: stored[key] for key in stored.files}
    buffer.unlink()
    arrays.update(changes)
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


def add_zero_bomb(path: Path, key: str, nbytes: int) -> Path:
    """Append an honest deflated member of ``nbytes`` zero bytes (a float64 array) to an ``.npz``:
    a few hundred kB on disk that inflate to ``nbytes``."""
    count = nbytes // 8
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as archive:
        with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_2_0(member, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (count // 6, 2, 3)})
            chunk = bytes(8 << 20)
            left = (count // 6) * 6 * 8
            while left:
                member.write(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
    return path


# --------------------------------------------------------------------------------------------
# Job specs


def spec(clip: str = "clip.mp4", **overrides: Any) -> dict[str, Any]:
    """A valid one-clip job spec; ``overrides`` replace top-level sections."""
    data: dict[str, Any] = {
        "name": "corpus", "sources": [{"path": clip, "label": "walk"}],
        "identities": {"sample": {"n": 1, "seed": 1}}, "backgrounds": {"names": ["#808080"]},
        "cameras": {"source": True}, "output": {"long_side": 64, "max_frames": 2},
    }
    data.update(overrides)
    return data


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def alias_bomb() -> str:
    """The "billion laughs": 9 levels of 9 aliases, 9^9 (387 million) strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("name: *i")
    return "\n".join(lines) + "\n"


def fake_clip(path: Path) -> Path:
    """A file with a video suffix (specs are refused before any clip is opened)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * 64)
    return path


def identity_file(folder: Path) -> Path:
    from random_people.avatar.sampler import sample_identities
    from random_people.avatar.store import save_identity

    return save_identity(sample_identities(1, 5)[0], folder)


def gaussians_ply(path: Path, n: int = 200) -> Path:
    import torch

    from random_people.render.ply import save_gaussians_ply
    from random_people.render.types import Gaussians

    gen = torch.Generator().manual_seed(0)
    cloud = Gaussians(means=torch.randn(n, 3, generator=gen) * 0.3, quats=torch.randn(n, 4, generator=gen),
                      scales=torch.full((n, 3), 0.05), opacities=torch.full((n,), 0.9),
                      colors=torch.rand(n, 3, generator=gen))
    return save_gaussians_ply(cloud, path)


def ply_with_low_count(path: Path, declared: int = 50, actual: int = 200) -> Path:
    """A .ply whose header says ``declared`` Gaussians while ``actual`` follow it."""
    small = gaussians_ply(path.with_name("small.ply"), declared)
    full = gaussians_ply(path.with_name("full.ply"), actual)
    header_end = small.read_bytes().index(b"end_header\n") + len(b"end_header\n")
    body = full.read_bytes()[full.read_bytes().index(b"end_header\n") + len(b"end_header\n"):]
    path.write_bytes(small.read_bytes()[:header_end] + body)
    small.unlink()
    full.unlink()
    return path


def deep_json(depth: int = 200_000) -> str:
    return '{"seed": ' + "[" * depth + "]" * depth + "}"


def json_dump(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def bytes_io_npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
