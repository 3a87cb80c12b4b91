"""Bad input to ``random-people extract``: a clear message, a distinct exit code, no output left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from random_people.errors import EmptyVideoError, InputTooLargeError, InvalidInputError, NoPersonError


def _write_clip(path: Path, frames: int, width: int = 160, height: int = 120, fps: int = 15) -> Path:
    """A real H.264 clip of a moving ball on a gradient: no person anywhere."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ramp = np.linspace(40, 200, width, dtype=np.uint8)[None, :, None]
        for i in range(frames):
            image = np.broadcast_to(ramp, (height, width, 3)).copy()
            cx, cy = 20 + (i * 7) % (width - 40), height // 2
            yy, xx = np.ogrid[:height, :width]
            image[(yy - cy) ** 2 + (xx - cx) ** 2 < 100] = (220, 60, 60)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _run_cli(clip: Path, output: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "random_people.cli", "extract", str(clip), "-o", str(output), "-q"],
        capture_output=True, text=True, timeout=300, env=env,
    )


def _assert_nothing_written(directory: Path, keep: set[str]) -> None:
    left = {p.name for p in directory.iterdir()} - keep
    assert not left, f"partial outputs left behind: {left}"


@pytest.mark.parametrize(
    "make, exit_code, words",
    [
        (lambda p: p.write_text("this is not a video\n" * 50), InvalidInputError.exit_code, "not a video"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000)), InvalidInputError.exit_code, "not a video"),
    ],
    ids=["text-named-mp4", "png-named-mp4"],
)
def test_cli_rejects_non_video(tmp_path, make, exit_code, words):
    clip = tmp_path / "clip.mp4"
    make(clip)
    result = _run_cli(clip, tmp_path / "out" / "motion.npz")
    assert result.returncode == exit_code, result.stderr
    assert words in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_truncated_clip(tmp_path):
    clip = _write_clip(tmp_path / "full.mp4", frames=60)
    data = clip.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    result = _run_cli(truncated, tmp_path / "motion.npz")
    assert result.returncode == InvalidInputError.exit_code, result.stderr
    assert "Traceback" not in result.stderr
    assert "truncated" in result.stderr.lower() or "incomplete" in result.stderr.lower() or "corrupt" in result.stderr.lower()
    _assert_nothing_written(tmp_path, {"full.mp4", "truncated.mp4"})


def test_zero_frame_clip(tmp_path, settings):
    from random_people.pose.extract import extract_clip

    clip = tmp_path / "empty.mp4"
    # A fragmented mp4 keeps its (empty) video track even when no frame is ever muxed.
    with av.open(str(clip), "w", options={"movflags": "frag_keyframe+empty_moov"}) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    out = tmp_path / "out"
    with pytest.raises(EmptyVideoError) as info:
        extract_clip(clip, out, settings=settings)
    assert "frame" in str(info.value).lower()
    assert not out.exists() or not any(out.iterdir())


def test_clip_with_no_person(tmp_path):
    clip = _write_clip(tmp_path / "ball.mp4", frames=30)
    result = _run_cli(clip, tmp_path / "out" / "motion.npz")
    assert result.returncode == NoPersonError.exit_code, result.stderr
    assert "no person" in result.stderr.lower()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_absurd_resolution_rejected_before_decoding(tmp_path):
    clip = _write_clip(tmp_path / "wide.mp4", frames=3, width=640, height=32)
    result = _run_cli(clip, tmp_path / "motion.npz", {"RP_MAX_WIDTH": "320"})
    assert result.returncode == InputTooLargeError.exit_code, result.stderr
    assert "640" in result.stderr and "RP_MAX_WIDTH" in result.stderr
    _assert_nothing_written(tmp_path, {"wide.mp4"})


def test_absurd_duration_rejected(tmp_path, demo_clip):
    result = _run_cli(demo_clip, tmp_path / "motion.npz", {"RP_MAX_DURATION_S": "2"})
    assert result.returncode == InputTooLargeError.exit_code, result.stderr
    assert "RP_MAX_DURATION_S" in result.stderr
    _assert_nothing_written(tmp_path, set())


def test_bad_trim_range(demo_clip, tmp_path, settings):
    from random_people.pose.extract import extract_clip

    with pytest.raises(InvalidInputError) as info:
        extract_clip(demo_clip, tmp_path, start=5, end=2, settings=settings)
    assert "end" in str(info.value).lower()
    _assert_nothing_written(tmp_path, {"data"})


def test_output_must_be_npz(demo_clip, tmp_path):
    result = _run_cli(demo_clip, tmp_path / "motion.txt")
    assert result.returncode != 0
    assert ".npz" in result.stderr
