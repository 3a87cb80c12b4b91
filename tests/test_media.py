"""Tests for random_people.media: real files made with PyAV in tmp_path, plus the real demo clip."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from random_people.errors import EmptyVideoError, InputTooLargeError, InvalidInputError
from random_people.media import Frame, VideoInfo, VideoWriter, probe_video, read_frames, write_video

W, H, N, FPS = 64, 48, 10, 10


def level_frame(i: int, width: int = W, height: int = H) -> np.ndarray:
    """A frame whose grey level encodes its index (8 * i), plus a square moving right."""
    rgb = np.full((height, width, 3), 8 * i, dtype=np.uint8)
    rgb[10:20, (4 * i) % width : (4 * i) % width + 8] = 255
    return rgb


def make_clip(
    path: Path,
    n: int = N,
    fps: int = FPS,
    width: int = W,
    height: int = H,
    *,
    noise: bool = False,
    faststart: bool = False,
    codec: str = "libx264",
    gop: int | None = None,
    rotation: int | None = None,
) -> Path:
    options = {"movflags": "+faststart"} if faststart else {}
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n):
            rgb = level_frame(i, width, height)
            if noise:  # incompressible frames make mdat dominate the file, like a real clip
                rgb = rng.integers(0, 256, rgb.shape, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4")


# --- probing ---------------------------------------------------------------------------------


def test_probe_reports_clip_properties(clip: Path, settings) -> None:
    info = probe_video(clip, settings)
    assert isinstance(info, VideoInfo)
    assert (info.width, info.height) == (W, H)
    assert info.fps == pytest.approx(FPS)
    assert info.num_frames == N
    assert info.duration == pytest.approx(N / FPS, abs=1e-6)
    assert info.codec == "h264"
    assert info.size_bytes == clip.stat().st_size
    assert info.path == clip
    assert info.rotation == 0


def test_probe_demo_clip(demo_clip: Path, settings) -> None:
    info = probe_video(demo_clip, settings)
    assert (info.width, info.height) == (1768, 994)
    assert info.fps == pytest.approx(30.0)
    assert abs(info.num_frames - 230) <= 2
    assert info.duration == pytest.approx(230 / 30, abs=0.1)
    assert info.codec == "vp9"


def test_rotated_clip_is_reported_and_returned_upright(tmp_path: Path, settings) -> None:
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.set_display_rotation(90)  # 90 degrees counter-clockwise to display
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[:12, :12] = 255  # marker in the stored top-left corner
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    info = probe_video(path, settings)
    assert (info.width, info.height, info.rotation) == (H, W, 90)
    frame = next(iter(read_frames(path, settings=settings)))
    assert frame.rgb.shape == (W, H, 3)
    # Rotating counter-clockwise moves the stored top-left corner to the bottom-left.
    assert frame.rgb[-6, 6].mean() > 200
    assert frame.rgb[6, 6].mean() < 50


# --- decoding --------------------------------------------------------------------------------


def test_read_frames_returns_every_frame_in_order(clip: Path, settings) -> None:
    frames = list(read_frames(clip, settings=settings))
    assert [f.index for f in frames] == list(range(N))
    assert [f.time for f in frames] == pytest.approx([i / FPS for i in range(N)])
    for f in frames:
        assert isinstance(f, Frame)
        assert f.rgb.shape == (H, W, 3) and f.rgb.dtype == np.uint8
        assert abs(float(f.rgb[30:, :, :].mean()) - 8 * f.index) < 3  # the content is that frame's


def test_read_frames_honours_start_and_end(clip: Path, settings) -> None:
    frames = list(read_frames(clip, start=0.3, end=0.7, settings=settings))
    assert [f.index for f in frames] == [3, 4, 5, 6]
    assert [f.time for f in frames] == pytest.approx([0.3, 0.4, 0.5, 0.6])


def test_read_frames_seeks_to_the_right_frame(tmp_path: Path, settings) -> None:
    # Keyframes every 5 frames, so start=1.2 s really seeks (to the keyframe at 1.0 s).
    path = make_clip(tmp_path / "gop.mp4", n=30, gop=5)
    frames = list(read_frames(path, start=1.2, end=2.0, settings=settings))
    assert [f.index for f in frames] == list(range(12, 20))
    assert [f.time for f in frames] == pytest.approx([i / FPS for i in range(12, 20)])
    for f in frames:
        assert abs(float(f.rgb[30:, :, :].mean()) - 8 * f.index) < 3


def test_read_frames_demo_clip_window(demo_clip: Path, settings) -> None:
    frames = list(read_frames(demo_clip, start=1.0, end=2.0, settings=settings))
    assert 29 <= len(frames) <= 31
    assert all(1.0 <= f.time < 2.0 for f in frames)
    assert frames[0].index == 30
    assert frames[0].rgb.shape == (994, 1768, 3)


@pytest.mark.parametrize(
    ("start", "end", "needle"),
    [(-0.5, None, "negative"), (0.5, 0.5, "not after"), (0.6, 0.2, "not after"), (5.0, None, "past the end")],
)
def test_read_frames_rejects_bad_ranges_eagerly(clip: Path, settings, start, end, needle) -> None:
    with pytest.raises(InvalidInputError, match=needle) as caught:
        read_frames(clip, start=start, end=end, settings=settings)  # raises before iteration
    assert not isinstance(caught.value, EmptyVideoError)


def test_read_frames_range_without_frames_is_empty(clip: Path, settings) -> None:
    with pytest.raises(EmptyVideoError, match="No frame"):
        list(read_frames(clip, start=0.31, end=0.35, settings=settings))


def test_read_frames_names_the_frame_where_decoding_broke(tmp_path: Path, settings) -> None:
    path = make_clip(tmp_path / "damaged.mp4", noise=True, faststart=True)
    with av.open(str(path)) as container:
        entries = [(e.pos, e.size) for e in container.streams.video[0].index_entries]
    data = bytearray(path.read_bytes())
    pos, size = entries[5]
    data[pos : pos + size] = b"\xff" * size  # garbage in the middle of the media data
    path.write_bytes(bytes(data))
    probe_video(path, settings)  # the header and first frame are fine
    got: list[Frame] = []
    with pytest.raises(InvalidInputError, match=r"broke while decoding at frame \d+") as caught:
        for frame in read_frames(path, settings=settings):
            got.append(frame)
    assert 0 < len(got) < N
    assert f"frame {len(got)}" in str(caught.value)


# --- bad input -------------------------------------------------------------------------------


def test_missing_and_empty_files(tmp_path: Path, settings) -> None:
    with pytest.raises(InvalidInputError, match="not found"):
        probe_video(tmp_path / "nope.mp4", settings)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="empty"):
        probe_video(empty, settings)


def test_text_file_named_mp4(tmp_path: Path, settings) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is a shopping list, not a video\n" * 20)
    with pytest.raises(InvalidInputError, match="is not a video PyAV/FFmpeg can read") as caught:
        probe_video(path, settings)
    assert "mp4/mov/webm/avi/mkv" in str(caught.value)


def test_png_named_mp4(tmp_path: Path, settings) -> None:
    path = tmp_path / "photo.mp4"
    ok, encoded = cv2.imencode(".png", np.zeros((20, 30, 3), np.uint8))
    assert ok
    path.write_bytes(encoded.tobytes())
    with pytest.raises(InvalidInputError, match="still image") as caught:
        probe_video(path, settings)
    assert "PNG" in str(caught.value) and "mp4/mov/webm/avi/mkv" in str(caught.value)


def test_audio_only_file_has_no_video_stream(tmp_path: Path, settings) -> None:
    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(10):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(InvalidInputError, match="no video stream") as caught:
        probe_video(path, settings)
    assert "audio" in str(caught.value)


def test_truncated_faststart_mp4_is_refused(tmp_path: Path, settings) -> None:
    # moov at the front survives; 40% of the media data is gone.
    full = make_clip(tmp_path / "full.mp4", noise=True, faststart=True)
    assert full.read_bytes().find(b"moov") < full.read_bytes().find(b"mdat")
    cut = truncate(full, tmp_path / "cut.mp4", 0.6)
    # Without our check FFmpeg would open it and quietly decode only part of the clip.
    with av.open(str(cut)) as container:
        assert container.streams.video[0].frames == N
    with pytest.raises(InvalidInputError, match="truncated") as caught:
        probe_video(cut, settings)
    assert "missing" in str(caught.value)
    with pytest.raises(InvalidInputError, match="truncated"):
        read_frames(cut, settings=settings)


def test_truncated_mp4_without_moov_is_refused(tmp_path: Path, settings) -> None:
    # Default mp4 writes moov at the end: cutting the file loses the whole index.
    full = make_clip(tmp_path / "full.mp4", noise=True)
    assert full.read_bytes().find(b"moov") > full.read_bytes().find(b"mdat")
    cut = truncate(full, tmp_path / "cut.mp4", 0.6)
    with pytest.raises(InvalidInputError, match="moov") as caught:
        probe_video(cut, settings)
    assert "cut short" in str(caught.value)


def test_truncated_webm_is_refused(tmp_path: Path, settings) -> None:
    full = make_clip(tmp_path / "full.webm", noise=True, codec="libvpx-vp9")
    probe_video(full, settings)
    cut = truncate(full, tmp_path / "cut.webm", 0.6)
    with pytest.raises(InvalidInputError, match="truncated"):
        probe_video(cut, settings)


def test_clip_with_a_video_stream_but_no_frames(tmp_path: Path, settings) -> None:
    # A fragmented mp4 writes its (empty) track header up front, so the stream exists with no
    # samples. (A plain mp4 drops empty tracks, and mkv/webm without frames do not even open.)
    path = tmp_path / "zero.mp4"
    container = av.open(str(path), "w", options={"movflags": "frag_keyframe+empty_moov"})
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    container.start_encoding()
    container.close()
    with av.open(str(path)) as reopened:  # the fixture really is "a stream without frames"
        assert len(reopened.streams.video) == 1
        assert sum(1 for _ in reopened.decode(video=0)) == 0
    with pytest.raises(EmptyVideoError, match="no.*decodable frame|not a single decodable frame"):
        probe_video(path, settings)
    with pytest.raises(EmptyVideoError):
        read_frames(path, settings=settings)


def test_resolution_limits(tmp_path: Path, clip: Path, settings) -> None:
    with pytest.raises(InputTooLargeError, match=f"{W}x{H}"):
        probe_video(clip, dataclasses.replace(settings, max_width=32))
    with pytest.raises(InputTooLargeError, match=f"{W}x{H}"):
        probe_video(clip, dataclasses.replace(settings, max_height=40))
    wide = make_clip(tmp_path / "wide.mp4", n=2, width=4000, height=16)
    assert settings.max_width == 3840
    with pytest.raises(InputTooLargeError, match="4000x16") as caught:
        probe_video(wide, settings)
    assert "3840" in str(caught.value)


def test_duration_and_frame_limits(clip: Path, settings) -> None:
    with pytest.raises(InputTooLargeError, match=r"1\.0 s.*0\.5 s"):
        probe_video(clip, dataclasses.replace(settings, max_duration_s=0.5))
    with pytest.raises(InputTooLargeError, match="10 frames"):
        probe_video(clip, dataclasses.replace(settings, max_frames=5))
    with pytest.raises(InputTooLargeError):
        read_frames(clip, settings=dataclasses.replace(settings, max_frames=5))


def test_file_size_limit(clip: Path, settings) -> None:
    with pytest.raises(InputTooLargeError, match="MB upload limit"):
        probe_video(clip, dataclasses.replace(settings, max_upload_mb=0.0005))


# --- encoding --------------------------------------------------------------------------------


def test_write_video_is_browser_h264(tmp_path: Path, settings) -> None:
    frames = [level_frame(i) for i in range(N)]
    out = write_video(frames, tmp_path / "out" / "video.mp4", fps=FPS)
    assert out == tmp_path / "out" / "video.mp4"
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (W, H)
        assert stream.average_rate == FPS
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == N
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart: playable while downloading
    for i, rgb in enumerate(decoded):
        assert abs(float(rgb[30:].mean()) - 8 * i) < 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["video.mp4"]  # no temp files left
    assert probe_video(out, settings).num_frames == N


def test_write_video_fractional_fps(tmp_path: Path, settings) -> None:
    out = write_video([level_frame(i) for i in range(3)], tmp_path / "ntsc.mp4", fps=30000 / 1001)
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == Fraction(30000, 1001)


def test_write_video_pads_odd_dimensions(tmp_path: Path) -> None:
    rgb = np.zeros((47, 63, 3), np.uint8)
    rgb[:, -1] = 255  # last column white: padding replicates it
    rgb[:24] = (200, 40, 40)
    out = write_video([rgb] * 3, tmp_path / "odd.mp4", fps=FPS)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (64, 48)
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == 3
    assert decoded[0][30:, -1].mean() > 200  # padded column copies the white edge
    assert np.allclose(decoded[0][5, 10], (200, 40, 40), atol=12)


def test_write_video_leaves_nothing_when_frames_fail(tmp_path: Path) -> None:
    target = tmp_path / "partial.mp4"

    partial_sizes: list[int] = []

    def frames():
        for i in range(40):  # enough to get past x264's lookahead, so packets hit the disk
            yield level_frame(i % 30)
        partial_sizes.extend(p.stat().st_size for p in tmp_path.iterdir())
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_video(frames(), target, fps=FPS)
    assert partial_sizes and max(partial_sizes) > 0  # something was being written...
    assert list(tmp_path.iterdir()) == []  # ...and none of it is left


def test_write_video_refuses_empty_sequence(tmp_path: Path) -> None:
    with pytest.raises(EmptyVideoError, match="No frames"):
        write_video([], tmp_path / "empty.mp4", fps=FPS)
    assert list(tmp_path.iterdir()) == []


def test_video_writer_context_manager(tmp_path: Path) -> None:
    target = tmp_path / "writer.mp4"
    with VideoWriter(target, FPS, width=W, height=H) as writer:
        for i in range(4):
            writer.write(level_frame(i))
        assert not target.exists()  # appears only when complete
    assert target.exists() and writer.frames_written == 4
    with av.open(str(target)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4

    other = tmp_path / "mismatch.mp4"
    with pytest.raises(ValueError, match="same size"):
        with VideoWriter(other, FPS) as writer:
            writer.write(level_frame(0))
            writer.write(np.zeros((H + 2, W, 3), np.uint8))
    assert not other.exists()
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(other, FPS) as writer:
            writer.write(np.zeros((H, W, 3), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["writer.mp4"]
