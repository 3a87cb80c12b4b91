"""How a clean plate reads its clip: the decoder skips frames the build needs no picture of,
registration of the skipped frames, and the median's sorting (render/plate.py, media.py,
render/streaming_median.py). Each mechanism is checked against decoding every frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plate_fixtures import box_at, box_masker, box_track, encode_walking_box
from random_people.media import read_decoded
from random_people.render import plate as plate_module
from random_people.render.plate import build_plate
from random_people.render.streaming_median import sorting_network

KEYFRAME_EVERY = 3


ENCODERS = {"libx264": {"crf": "12", "preset": "veryfast", "x264-params": "bframes=3:b-adapt=0:b-pyramid=normal"},
            "libx265": {"crf": "12", "preset": "veryfast",
                        "x265-params": "bframes=3:b-adapt=0:b-pyramid=1:log-level=none"}}


def write_h264_clip(path: Path, frames: int, offsets: list[tuple[int, int]] | None = None, fps: int = 30,
                    encoder: str = "libx264") -> list[tuple]:
    """The plate fixtures' walking red box over the park, as H.264 (or HEVC) with B-frames in a
    pyramid (as camera and phone clips: non-reference B-frames the decoder can skip)."""
    return encode_walking_box(path, frames, offsets, codec=encoder, pix_fmt="yuv420p", rate=fps,
                              options=ENCODERS[encoder])


class KeyframeBoxMasker:
    """A sequence masker like the real one: it looks at the pixels of every ``keyframe_every``-th
    frame that has pixels (as a segmenter would) and masks every frame by the box's landmarks."""

    keyframe_every = KEYFRAME_EVERY

    def __init__(self) -> None:
        self.looked: list[int] = []
        self.without_pixels: list[int] = []

    def masks(self, frames):
        last = -(10**9)
        for index, (payload, rgb, landmarks) in enumerate(frames):
            has_pixels = getattr(rgb, "has_pixels", True)
            if not has_pixels:
                self.without_pixels.append(index)
            if index - last >= self.keyframe_every and has_pixels:
                assert np.asarray(rgb).shape == rgb.shape  # converted on demand, at the announced size
                self.looked.append(index)
                last = index
            yield payload, box_masker(rgb, landmarks)


def _build(clip: Path, boxes, tmp_path: Path, name: str, skip: bool, monkeypatch):
    from random_people.settings import load_settings

    monkeypatch.setattr(plate_module, "SKIP_UNNEEDED_FRAMES", skip)
    masker = KeyframeBoxMasker()
    plate = build_plate(clip, box_track(boxes), settings=load_settings(data_dir=tmp_path / name), masker=masker,
                        masker_id="keyframe-box")
    return plate, masker


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_decoder_skips_only_unneeded_frames_and_keeps_every_frame_in_its_place(tmp_path, encoder):
    clip = tmp_path / "walk.mp4"
    write_h264_clip(clip, frames=48, encoder=encoder)
    for start, end in [(None, None), (0.4, 1.3)]:  # the second seeks to a keyframe before `start`
        every = list(read_decoded(clip, start, end))
        needed = lambda t: round(t * 30) % KEYFRAME_EVERY == 0  # noqa: E731
        some = list(read_decoded(clip, start, end, needed=needed))
        assert [f.index for f in some] == [f.index for f in every]
        assert np.allclose([f.time for f in some], [f.time for f in every])
        assert all(f.has_picture for f in some if needed(f.time))
        skipped = [f for f in some if not f.has_picture]
        assert len(skipped) >= len(some) // 5  # x264's non-reference B-frames, not needed
        for full, part in zip(every, some):
            if part.has_picture:  # bit-exact with decoding everything
                assert np.array_equal(full.rgb(), part.rgb())
        with pytest.raises(RuntimeError, match="skipped by the decoder"):
            skipped[0].rgb()


def test_other_codecs_decode_every_frame_when_asked_for_some(tmp_path):
    from plate_fixtures import write_clip

    write_clip(tmp_path / "walk.mkv", frames=12)  # FFV1
    frames = list(read_decoded(tmp_path / "walk.mkv", needed=lambda t: False))
    assert len(frames) == 12 and all(f.has_picture for f in frames)


def test_still_camera_plate_is_the_same_with_frames_skipped(tmp_path, monkeypatch):
    clip = tmp_path / "walk.mp4"
    boxes = write_h264_clip(clip, frames=45)
    every, every_masker = _build(clip, boxes, tmp_path, "every", False, monkeypatch)
    some, some_masker = _build(clip, boxes, tmp_path, "some", True, monkeypatch)
    assert every.stats["frames_skipped_by_decoder"] == 0
    assert some.stats["frames_skipped_by_decoder"] >= 10
    assert every_masker.without_pixels == [] and some_masker.without_pixels  # the masker saw the skipped frames...
    assert not set(some_masker.looked) & set(some_masker.without_pixels)  # ...and never needed their pixels
    assert some_masker.looked == every_masker.looked == list(range(0, 45, KEYFRAME_EVERY))
    assert np.array_equal(some.frame_times, every.frame_times)
    assert np.array_equal(some.transforms, every.transforms)
    assert all(np.array_equal(a, b) for a, b in zip(some.masks(), every.masks()))
    assert np.array_equal(some.image, every.image) and np.array_equal(some.unseen, every.unseen)
    # The build reports where its CPU went, stage by stage (per second of video).
    stages = some.stats["stage_cpu_s_per_video_s"]
    assert {"decoding", "masks", "registration", "median", "writing_masks", "inpainting", "other_threads",
            "total"} <= set(stages)
    assert all(v >= 0 for v in stages.values()) and stages["total"] > 0
    assert stages["total"] >= sum(v for k, v in stages.items() if k != "total") - 0.01


def test_shaking_camera_is_registered_frame_by_frame_once_the_decoder_sees_it(tmp_path, monkeypatch):
    frames, still = 60, 24
    rng = np.random.default_rng(4)
    shifts = [(0, 0)] * still + [tuple(int(v) for v in rng.choice([-3, -2, 2, 3], 2)) for _ in range(frames - still)]
    clip = tmp_path / "shake.mp4"
    boxes = write_h264_clip(clip, frames=frames, offsets=shifts)
    every, _ = _build(clip, boxes, tmp_path, "every", False, monkeypatch)
    some, _ = _build(clip, boxes, tmp_path, "some", True, monkeypatch)
    # The registration recovers each shaken frame's move when every frame is decoded ...
    errors = [np.abs(every.transforms[i][:, 2] - np.array(shifts[i])).max() for i in range(still, frames)]
    assert np.median(errors) < 0.5
    # ... and, skipping frames, it differs from that only in frames skipped before the first
    # reference frame that showed the shake: fewer than a keyframe interval.
    differ = [i for i in range(frames) if np.abs(some.transforms[i] - every.transforms[i]).max() > 1e-6]
    assert len(differ) < KEYFRAME_EVERY and all(i >= still for i in differ)
    assert some.stats["frames_skipped_by_decoder"] >= 5  # the still part was skipped


def test_still_frames_between_still_reference_frames_are_not_registered_again(tmp_path, monkeypatch):
    clip = tmp_path / "walk.mp4"
    boxes = write_h264_clip(clip, frames=30)
    calls: list[float] = []
    original = plate_module.FrameRegistrar.register_grey

    def counting(self, grey, shape, exclude=None, time=0.0):
        calls.append(time)
        return original(self, grey, shape, exclude, time)

    monkeypatch.setattr(plate_module.FrameRegistrar, "register_grey", counting)
    plate, _ = _build(clip, boxes, tmp_path, "some", True, monkeypatch)
    assert np.allclose(plate.transforms, np.eye(2, 3))
    # The build's registrar sees the 10 reference frames only (the decoder's watch sees them too).
    assert len(calls) == 2 * 10


@pytest.mark.parametrize("n", list(range(1, 42)))
def test_sorting_network_sorts(n):
    rng = np.random.default_rng(n)
    values = rng.integers(0, 256, (n, 500), dtype=np.uint8)
    values[:, :3] = 7  # ties
    rows = list(values.copy())
    for i, j in sorting_network(n):
        assert i < j < n
        rows[i], rows[j] = np.minimum(rows[i], rows[j]), np.maximum(rows[i], rows[j])
    assert np.array_equal(np.array(rows), np.sort(values, axis=0))


def test_masker_never_makes_a_keyframe_of_a_frame_without_pixels():
    from random_people.render.plate_masks import PoseSegmentationMasker

    class Pixels:
        shape, dtype = (128, 192, 3), np.dtype(np.uint8)

        def __init__(self, has_pixels: bool) -> None:
            self.has_pixels = has_pixels

        def __getitem__(self, key):
            assert self.has_pixels, "the masker looked at pixels the decoder skipped"
            return np.zeros(self.shape, np.uint8)[key]

    x0, y0, x1, y1 = box_at(0, 10)
    landmarks = np.full((33, 2), np.nan)
    landmarks[[11, 12, 23, 24]] = [(x1, y0), (x0, y0), (x0, y1), (x1, y1)]  # shoulders and hips
    keyframes = {}
    for has_pixels in (True, False):
        with PoseSegmentationMasker(keyframe_every=2) as masker:
            masks = list(masker.masks((i, Pixels(has_pixels), landmarks) for i in range(5)))
        assert [payload for payload, _ in masks] == list(range(5))
        assert all(mask.shape == (128, 192) and mask.any() for _, mask in masks)
        keyframes[has_pixels] = masker.stats["keyframes"]
    assert keyframes == {True: 3, False: 0}


def test_a_frame_not_sampled_fills_only_pixels_no_frame_showed():
    from random_people.render.streaming_median import SampledMedian

    shape = (6, 8)
    frames = [np.full((*shape, 3), v, np.uint8) for v in (10, 20, 30)]
    median = SampledMedian(*shape, expected_frames=2, max_samples=4)
    covered = np.zeros(shape, bool)
    covered[1:3, 1:3] = True  # the person, in both sampled frames
    median.add(frames[0], ~covered)
    assert not median.shows_unseen(np.ones(shape, bool) & ~covered)  # nothing new outside the person
    everything = np.ones(shape, bool)
    assert median.shows_unseen(everything)  # (1..2, 1..2) was never shown
    later = covered.copy()
    later[4:6, 5:8] = True  # the person also covers a place the first frame showed
    median.add(frames[1], ~(covered | later))
    shown_first_only = np.zeros(shape, bool)
    shown_first_only[4:6, 5:8] = True
    assert not median.shows_unseen(shown_first_only)  # the first frame showed it, outside the box then
    median.fill(frames[2], everything)  # a frame that is not sampled, showing everything
    assert not median.shows_unseen(everything)
    image, unseen = median.median()
    assert (image[1:3, 1:3] == 30).all() and not unseen.any()  # its value where no sampled frame showed the place
    assert (image[0, 0] == 10).all() and (image[4:6, 5:8] == 10).all()  # the samples' median elsewhere (lower of 10, 20)
