"""Backgrounds: images, videos and colours fitted to the output without distortion."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from random_people.media import write_video
from random_people.render.backgrounds import (
    DEFAULT_BACKGROUND,
    BackgroundError,
    ColorBackground,
    ImageBackground,
    VideoBackground,
    backgrounds_dir,
    cover_crop,
    list_backgrounds,
    load_background,
)
from random_people.render.procedural_backgrounds import SCENES, render_scene

SHIPPED = {"living_room", "kitchen", "studio", "park", "street"}


def _circle_image(path: Path, size=(400, 200), radius=60) -> Path:
    image = np.full((size[1], size[0], 3), 30, np.uint8)
    cv2.circle(image, (size[0] // 2, size[1] // 2), radius, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    Image.fromarray(image).save(path)
    return path


def _bbox(mask: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.mark.parametrize("out_size", [(100, 150), (300, 100), (120, 120), (800, 300)])
def test_cover_crop_keeps_a_circle_round(tmp_path, out_size):
    background = load_background(_circle_image(tmp_path / "circle.png"))
    assert isinstance(background, ImageBackground)
    frame = background.frame(0, *out_size)
    assert frame.shape == (out_size[1], out_size[0], 3) and frame.dtype == np.uint8
    width, height = _bbox(frame[..., 0] > 140)
    assert abs(width - height) <= 2, (width, height)
    # The circle stays centred and the output is covered (no borders of another colour).
    ys, xs = np.nonzero(frame[..., 0] > 140)
    assert abs(xs.mean() - (out_size[0] - 1) / 2) < 1.5 and abs(ys.mean() - (out_size[1] - 1) / 2) < 1.5
    assert frame.min() >= 29


def test_cover_crop_of_same_aspect_is_a_plain_resize():
    image = np.random.default_rng(0).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    assert np.array_equal(cover_crop(image, 160, 90), image)
    assert cover_crop(image, 320, 180).shape == (180, 320, 3)


def test_image_frames_are_cached_copies(tmp_path):
    background = load_background(_circle_image(tmp_path / "c.png"))
    first = background.frame(0, 64, 64)
    first[:] = 0
    assert background.frame(5, 64, 64).max() == 255  # mutating a frame does not corrupt the cache


def test_plain_colour_backgrounds():
    for spec, rgb in (("#ff8000", (255, 128, 0)), ("#F80", (255, 136, 0)), ((1, 2, 3), (1, 2, 3)),
                      (np.array([9, 8, 7]), (9, 8, 7))):
        background = load_background(spec)
        assert isinstance(background, ColorBackground)
        frame = background.frame(3, 7, 5)
        assert frame.shape == (5, 7, 3) and frame.dtype == np.uint8
        assert np.all(frame == np.array(rgb, np.uint8))
    assert load_background("#00b140").describe() == {"kind": "color", "name": "#00b140", "rgb": [0, 177, 64]}


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    """Five 64x48 frames at 10 fps, frame i a flat grey of 20 + 50 i (survives H.264)."""
    frames = [np.full((48, 64, 3), 20 + 50 * i, np.uint8) for i in range(5)]
    return write_video(frames, tmp_path_factory.mktemp("bg") / "levels.mp4", fps=10)


def _level(frame: np.ndarray) -> int:
    return int(round((float(frame.mean()) - 20) / 50))


def test_video_background_plays_in_order_and_loops(tiny_video):
    background = load_background(tiny_video)
    assert isinstance(background, VideoBackground) and background.end == "loop"
    levels = [_level(background.frame(t, 32, 32)) for t in range(12)]
    assert levels == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert background.num_frames == 5
    # Random access backwards restarts decoding and still gives the right frame.
    assert _level(background.frame(3, 32, 32)) == 3 and _level(background.frame(1, 40, 30)) == 1


def test_video_background_can_hold_its_last_frame(tiny_video):
    background = load_background(tiny_video, end="hold")
    assert [_level(background.frame(t, 16, 16)) for t in (0, 4, 5, 9, 40)] == [0, 4, 4, 4, 4]


def test_video_background_follows_the_output_frame_rate(tiny_video):
    background = load_background(tiny_video)  # 10 fps
    assert [_level(background.frame(t, 16, 16, output_fps=20.0)) for t in range(6)] == [0, 0, 1, 1, 2, 2]


def test_video_frame_is_cover_cropped(tmp_path):
    frames = []
    for _ in range(2):
        image = np.zeros((120, 240, 3), np.uint8)
        cv2.circle(image, (120, 60), 40, (255, 255, 255), -1)
        frames.append(image)
    path = write_video(frames, tmp_path / "circle.mp4", fps=5)
    frame = load_background(path).frame(1, 90, 120)
    width, height = _bbox(frame[..., 0] > 128)
    assert abs(width - height) <= 2


def test_shipped_backgrounds_are_listed_and_load():
    cartoons = {f"cartoon_{name}" for name in SHIPPED}
    assert cartoons == set(list_backgrounds("cartoon")) and cartoons <= set(list_backgrounds())
    folder = backgrounds_dir()
    assert "CC0" in (folder / "README.md").read_text()
    for name in cartoons:
        path = folder / f"{name}.jpg"
        assert path.stat().st_size < 300_000
        background = load_background(name)
        assert isinstance(background, ImageBackground) and background.size == (1280, 720)
        # The lower part (floor or ground) is not a flat fill: there is something to stand on.
        frame = background.frame(0, 320, 180)
        assert frame[120:].std() > 3.0


def test_photographs_come_first_and_are_the_default():
    photos = list_backgrounds("photo")
    assert len(photos) == 32 and DEFAULT_BACKGROUND in photos  # 8 environments x 4 views
    assert list_backgrounds()[: len(photos)] == photos
    assert not any(name.startswith("cartoon_") for name in photos)
    background = load_background(DEFAULT_BACKGROUND)
    assert isinstance(background, ImageBackground) and background.size == (768, 432)
    assert background.frame(0, 320, 180)[120:].std() > 3.0


def test_old_cartoon_names_still_load():
    for name in SHIPPED:
        background = load_background(name)
        assert background.name == f"cartoon_{name}"
        assert np.array_equal(background.pixels, load_background(f"cartoon_{name}").pixels)


def test_procedural_scenes_are_deterministic_per_seed():
    assert set(SCENES) == SHIPPED
    a = render_scene("park", seed=1, width=64, height=36, supersample=1)
    b = render_scene("park", seed=1, width=64, height=36, supersample=1)
    c = render_scene("park", seed=2, width=64, height=36, supersample=1)
    assert a.shape == (36, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# --------------------------------------------------------------------------------- errors


def test_unknown_name_lists_the_choices():
    with pytest.raises(BackgroundError, match="Unknown background 'moonbase'") as info:
        load_background("moonbase")
    assert info.value.exit_code == 11
    assert "cartoon_park" in str(info.value) and DEFAULT_BACKGROUND in str(info.value) and "#808080" in str(info.value)


def test_missing_file_says_to_check_the_path(tmp_path):
    with pytest.raises(BackgroundError, match="not found"):
        load_background(tmp_path / "nope.jpg")


def test_zero_size_image_is_refused(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(BackgroundError, match="empty"):
        load_background(empty)


def test_unreadable_image_is_refused(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a jpeg at all" * 10)
    with pytest.raises(BackgroundError, match="not a readable image.*PNG, JPEG or WebP"):
        load_background(junk)


def test_unreadable_other_file_is_refused(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(BackgroundError, match="neither an image .* nor a readable video"):
        load_background(junk)


@pytest.mark.parametrize("spec", ["#12345g", "#1234", "#", (1, 2), (1, 2, 300), (1.5, 2, 3)])
def test_bad_colours_are_refused(spec):
    with pytest.raises(BackgroundError, match="#rrggbb|three integers"):
        load_background(spec)


def test_bad_frame_requests_are_refused():
    background = load_background("#000000")
    with pytest.raises(BackgroundError, match="positive integers"):
        background.frame(0, 0, 10)
    with pytest.raises(BackgroundError, match="non-negative"):
        background.frame(-1, 10, 10)
