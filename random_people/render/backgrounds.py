"""Backgrounds behind the rendered person: a still image, a video, or a plain colour.

Every background answers one question, :meth:`Background.frame`: "the picture behind output
frame ``t`` at ``width`` x ``height``", as ``[H, W, 3]`` uint8 sRGB. Pictures are fitted to the
output size by **cover-crop** -- scaled uniformly until the output is covered, the excess cut
equally from both sides -- so nothing is ever stretched (a round table stays round). This is the
same rule :func:`random_people.render.cameras.scale_intrinsics` uses, so the source clip used as
a background stays aligned with a person rendered through the source camera.

Videos **loop** by default (frame ``t`` shows video frame ``t mod N``): a frozen background is
a tell-tale of synthetic data, and a jump once every few seconds is the lesser evil.
``end="hold"`` instead keeps showing the last frame. Frames are decoded sequentially and only
one is kept in memory, so a long background video costs no more memory than a short one.

Specs accepted by :func:`load_background`: a path to an image (png/jpg/jpeg/webp/bmp) or video
(anything :func:`random_people.media.probe_video` accepts), ``"#rrggbb"`` / ``"#rgb"``, an
``(r, g, b)`` tuple of 0-255 integers, or the name of a shipped background
(:func:`list_backgrounds`).

Shipped backgrounds are of two kinds: **photographs** ``<env>_<k>`` (the default; perspective
views of eight real CC0 HDRI environments, each with its measured light, made by
:mod:`random_people.render.hdri_assets`) and **cartoons** ``cartoon_<scene>`` (procedural
renderings, :mod:`random_people.render.procedural_backgrounds`). The cartoons' old bare names
(``park``, ``studio``, ...) still resolve to them, so older job specs keep working.
"""

from __future__ import annotations

import logging
import math
import os
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterator, Literal, Sequence

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from random_people.errors import RandomPeopleError
from random_people.media import Frame, VideoInfo, probe_video, read_frames
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
BackgroundSpec = str | os.PathLike[str] | Sequence[int]
VideoEnd = Literal["loop", "hold"]

_REPO_ROOT = Path(__file__).resolve().parents[2]
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DEFAULT_BACKGROUND = "city_2"  # a shipped photograph: daylight, open ground to stand on
CARTOON_PREFIX = "cartoon_"
LEGACY_NAMES = {name: CARTOON_PREFIX + name for name in ("living_room", "kitchen", "studio", "park", "street")}
# Beyond this many pixels an image is more likely a mistake (or a decompression bomb) than a
# background; 64 MP is a large panorama.
MAX_IMAGE_PIXELS = 64_000_000


class BackgroundError(RandomPeopleError):
    """A background spec that cannot be used: unreadable file, empty image, unknown name."""

    exit_code = 11


def backgrounds_dir() -> Path:
    """Where the shipped backgrounds live (repository checkout, or ``assets/`` under the cwd)."""
    for candidate in (_REPO_ROOT / "assets" / "backgrounds", Path.cwd() / "assets" / "backgrounds"):
        if candidate.is_dir():
            return candidate
    return _REPO_ROOT / "assets" / "backgrounds"


def background_id(spec: str | os.PathLike[str]) -> str:
    """How a clip's background is named in labels files and exports.

    Shipped names and colours as they are; a file by the SHA-256 of its bytes and its suffix
    (``sha256:3f9c...e1.png``), never its path: ``/home/<user>/Pictures/holiday.png`` would publish
    the user's account name and folders with the dataset. A file that is gone keeps only its suffix.
    """
    from random_people.files import sha256_file

    text = os.fspath(spec)
    path = Path(text)
    if text.startswith("#") or ("/" not in text and "\\" not in text):  # a name, not a path
        return text
    try:
        return f"sha256:{sha256_file(path)[:16]}{path.suffix.lower()}"
    except OSError:
        return f"file{path.suffix.lower()}"


def list_backgrounds(kind: Literal["all", "photo", "cartoon"] = "all") -> list[str]:
    """Names of the shipped backgrounds, usable as :func:`load_background` specs: photographs first.

    ``kind="photo"`` lists only the photographs of real environments (the default choice for
    sampling), ``"cartoon"`` only the procedural ones.
    """
    folder = backgrounds_dir()
    if not folder.is_dir():
        return []
    names = sorted(p.stem for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    photos = [n for n in names if not n.startswith(CARTOON_PREFIX)]
    cartoons = [n for n in names if n.startswith(CARTOON_PREFIX)]
    return {"all": photos + cartoons, "photo": photos, "cartoon": cartoons}[kind]


def shipped_name(name: str) -> str | None:
    """The shipped background ``name`` refers to (old cartoon names resolved), or None."""
    key = name.strip().lower()
    shipped = list_backgrounds()
    if key not in shipped and LEGACY_NAMES.get(key) in shipped:
        key = LEGACY_NAMES[key]
    return key if key in shipped else None


# --------------------------------------------------------------------------------------------
# Geometry: fitting a picture to the output without distortion
# --------------------------------------------------------------------------------------------


def _check_size(width: int, height: int) -> tuple[int, int]:
    w, h = int(width), int(height)
    if w <= 0 or h <= 0 or w != width or h != height:
        raise BackgroundError(f"Output size must be two positive integers, got {width!r} x {height!r}.")
    return w, h


def cover_crop_box(src_size: tuple[int, int], dst_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """The centred source rectangle (x0, y0, x1, y1), in pixels, that cover-crop shows.

    It has the output's aspect ratio and is as large as the source allows.
    """
    sw, sh = src_size
    dw, dh = dst_size
    scale = max(dw / sw, dh / sh)
    crop_w, crop_h = dw / scale, dh / scale
    x0, y0 = (sw - crop_w) / 2.0, (sh - crop_h) / 2.0
    return x0, y0, x0 + crop_w, y0 + crop_h


def cover_crop(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` [h, w, 3] uniformly to cover ``width`` x ``height`` and centre-crop the rest.

    The crop box is rounded to whole source pixels (at most half a source pixel off the exact
    box), then resized with area averaging when shrinking (no aliasing) and bilinear
    interpolation when enlarging.
    """
    w, h = _check_size(width, height)
    sh, sw = image.shape[:2]
    if sh == 0 or sw == 0:
        raise BackgroundError("Cannot fit an empty (0-pixel) image to the output size.")
    x0, y0, x1, y1 = cover_crop_box((sw, sh), (w, h))
    ix0, iy0 = int(round(x0)), int(round(y0))
    ix1, iy1 = max(ix0 + 1, int(round(x1))), max(iy0 + 1, int(round(y1)))
    crop = image[iy0:iy1, ix0:ix1]
    if crop.shape[1] == w and crop.shape[0] == h:
        return np.ascontiguousarray(crop)
    shrinking = crop.shape[1] > w
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=interpolation)


# --------------------------------------------------------------------------------------------
# The three kinds of background
# --------------------------------------------------------------------------------------------


class Background(ABC):
    """Something to put behind the person; see the module docstring for the fitting rules."""

    kind: str = "background"

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def frame(self, t_index: int, width: int, height: int, output_fps: float | None = None) -> np.ndarray:
        """The background behind output frame ``t_index`` (>= 0), ``[height, width, 3]`` uint8.

        ``output_fps`` matters only for videos: given, the video is played in real time at the
        output's frame rate (frame ``t`` shows the video at ``t / output_fps`` seconds);
        otherwise one video frame per output frame.
        """

    def describe(self) -> dict[str, object]:
        """What went behind a clip, for its labels/metadata."""
        return {"kind": self.kind, "name": self.name}

    def harmonize_weights(self, t_index: int, width: int, height: int) -> np.ndarray | None:
        """Which pixels of frame ``t_index`` the person's colours should be matched to ([H, W]
        weights), or None for "all of the background" (the default for pictures and videos)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _check_t(t_index: int) -> int:
    t = int(t_index)
    if t != t_index or t < 0:
        raise BackgroundError(f"Frame index must be a non-negative integer, got {t_index!r}.")
    return t


class ColorBackground(Background):
    """A plain colour: the paper's "plain background" ablation, and the cheapest option."""

    kind = "color"

    def __init__(self, rgb: tuple[int, int, int], name: str | None = None) -> None:
        super().__init__(name or "#{:02x}{:02x}{:02x}".format(*rgb))
        self.rgb = tuple(int(c) for c in rgb)

    def frame(self, t_index: int, width: int, height: int, output_fps: float | None = None) -> np.ndarray:
        _check_t(t_index)
        w, h = _check_size(width, height)
        return np.broadcast_to(np.array(self.rgb, dtype=np.uint8), (h, w, 3)).copy()

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "rgb": list(self.rgb)}


class ImageBackground(Background):
    """A still image; the fitted copy for the last output size is cached (one resize per clip)."""

    kind = "image"

    def __init__(self, pixels: np.ndarray, name: str, path: Path | None = None) -> None:
        super().__init__(name)
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8 or 0 in pixels.shape:
            raise BackgroundError(
                f"Background image {name} must be a non-empty [H, W, 3] uint8 array, got {pixels.shape}."
            )
        self.pixels = pixels
        self.path = path
        self._cache: tuple[tuple[int, int], np.ndarray] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    def frame(self, t_index: int, width: int, height: int, output_fps: float | None = None) -> np.ndarray:
        _check_t(t_index)
        key = _check_size(width, height)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, cover_crop(self.pixels, *key))
        return self._cache[1].copy()

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "size": list(self.size)}


class VideoBackground(Background):
    """A video, decoded sequentially (one frame in memory); loops or holds its last frame.

    Access is fastest in increasing frame order (what rendering a clip does); asking for an
    earlier frame restarts decoding from the beginning.
    """

    kind = "video"

    def __init__(self, info: VideoInfo, end: VideoEnd = "loop", settings: Settings | None = None) -> None:
        super().__init__(info.path.stem)
        if end not in ("loop", "hold"):
            raise BackgroundError(f"end must be 'loop' or 'hold', got {end!r}.")
        self.info = info
        self.end = end
        self.settings = settings or load_settings()
        self.num_frames: int | None = None  # known exactly once decoding has reached the end
        self._frames: Iterator[Frame] | None = None
        self._max_side: int | None = None
        self._next = 0  # index of the frame the iterator yields next
        self._current: tuple[int, np.ndarray] | None = None  # last decoded (index, rgb)
        self._fitted: tuple[tuple[int, int, int], np.ndarray] | None = None

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "size": [self.info.width, self.info.height],
                "fps": self.info.fps, "end": self.end}

    def source_index(self, t_index: int, output_fps: float | None = None) -> int:
        """The video frame shown behind output frame ``t_index`` (before looping/holding)."""
        t = _check_t(t_index)
        if output_fps is None:
            return t
        if not (math.isfinite(output_fps) and output_fps > 0):
            raise BackgroundError(f"output_fps must be a positive number, got {output_fps!r}.")
        return int(math.floor(t * self.info.fps / output_fps + 1e-6))

    def frame(self, t_index: int, width: int, height: int, output_fps: float | None = None) -> np.ndarray:
        size = _check_size(width, height)
        index = self.source_index(t_index, output_fps)
        if self.num_frames is not None:
            index = self._wrap(index)
        index, rgb = self._decoded(index, size)
        cache_key = (index, *size)
        if self._fitted is None or self._fitted[0] != cache_key:
            self._fitted = (cache_key, cover_crop(rgb, *size))
        return self._fitted[1].copy()

    def _wrap(self, index: int) -> int:
        assert self.num_frames is not None
        if self.end == "loop":
            return index % self.num_frames
        return min(index, self.num_frames - 1)

    def _decode_side(self, size: tuple[int, int]) -> int | None:
        """Longest side worth decoding for output ``size``: the cover scale times the source side."""
        scale = max(size[0] / self.info.width, size[1] / self.info.height)
        if scale >= 1.0:
            return None
        return max(16, int(math.ceil(scale * max(self.info.width, self.info.height))) + 2)

    def _restart(self, max_side: int | None) -> None:
        self._frames = iter(read_frames(self.info.path, settings=self.settings, max_side=max_side))
        self._max_side = max_side
        self._next = 0
        self._current = None

    def _decoded(self, index: int, size: tuple[int, int]) -> tuple[int, np.ndarray]:
        """Decode forward to video frame ``index`` (wrapping once the length is known)."""
        max_side = self._decode_side(size)
        if self._current is not None and self._current[0] == index and self._max_side == max_side:
            return self._current
        if self._frames is None or index < self._next or self._max_side != max_side:
            self._restart(max_side)
        assert self._frames is not None
        while True:
            try:
                frame = next(self._frames)
            except StopIteration:
                if self._next == 0:
                    raise BackgroundError(f"Background video {self.info.path.name} has no decodable frames.") from None
                self.num_frames = self._next
                logger.debug("Background video %s has %d frames", self.info.path.name, self.num_frames)
                wrapped = self._wrap(index)
                if self._current is not None and self._current[0] == wrapped:
                    return self._current
                self._restart(max_side)
                return self._decoded(wrapped, size)
            except RandomPeopleError as exc:
                raise BackgroundError(
                    f"Background video {self.info.path.name} failed while decoding: {exc} "
                    f"Re-encode it (e.g. to H.264 mp4) or choose another background."
                ) from exc
            self._current = (self._next, frame.rgb)
            self._next += 1
            if self._current[0] == index:
                return self._current


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def parse_color(spec: str | Sequence[int]) -> tuple[int, int, int]:
    """``"#rrggbb"``, ``"#rgb"`` or ``(r, g, b)`` with 0-255 integers -> an (r, g, b) tuple."""
    if isinstance(spec, str):
        text = spec.strip()
        if not _HEX.match(text):
            raise BackgroundError(
                f"{spec!r} is not a colour: write it as '#rrggbb' (e.g. '#00b140' for green) or '#rgb'."
            )
        digits = text[1:]
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    try:
        values = [v for v in spec]
    except TypeError:
        values = []
    ok = len(values) == 3 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= int(v) <= 255 for v in values
    )
    if not ok:
        raise BackgroundError(f"A colour tuple must be three integers 0-255 (r, g, b), got {spec!r}.")
    return int(values[0]), int(values[1]), int(values[2])


def load_image(path: Path) -> np.ndarray:
    """Read an image file as upright [H, W, 3] uint8 RGB, or raise :class:`BackgroundError`."""
    hint = "Use a PNG, JPEG or WebP picture, or pick one of the shipped backgrounds."
    try:
        size_bytes = path.stat().st_size
    except OSError as exc:
        raise BackgroundError(f"Background image {path} cannot be read ({exc.strerror}). {hint}") from exc
    if size_bytes == 0:
        raise BackgroundError(f"Background image {path.name} is empty (0 bytes). {hint}")
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise BackgroundError(
                    f"Background image {path.name} is {image.width}x{image.height} pixels, more than "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels. Downscale it (e.g. to 1920x1080)."
                )
            image = ImageOps.exif_transpose(image)  # phone photos: apply the stored rotation
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except BackgroundError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BackgroundError(f"Background image {path.name} is not a readable image ({exc}). {hint}") from exc
    if pixels.ndim != 3 or 0 in pixels.shape:
        raise BackgroundError(f"Background image {path.name} has no pixels (size {pixels.shape[1::-1]}). {hint}")
    return np.ascontiguousarray(pixels)


def load_background(spec: BackgroundSpec, *, end: VideoEnd = "loop", settings: Settings | None = None) -> Background:
    """Turn a user's background choice into a :class:`Background` (see the module docstring).

    Raises :class:`BackgroundError` with a message saying what to do when the spec is a bad
    colour, an unknown name, a missing/empty/unreadable file, or a video FFmpeg cannot decode.
    """
    if isinstance(spec, Background):
        return spec
    if isinstance(spec, (tuple, list, np.ndarray)):
        return ColorBackground(parse_color(spec))
    if not isinstance(spec, (str, os.PathLike)):
        raise BackgroundError(
            f"A background must be a file path, '#rrggbb', an (r, g, b) tuple or a shipped name, "
            f"got {type(spec).__name__}."
        )
    text = os.fspath(spec)
    if isinstance(spec, str) and text.strip().lower() == "source" and not Path(text).exists():
        raise BackgroundError(
            "Background 'source' (the clip's own scene, its person removed) needs the motion extracted from that "
            "clip: render with --motion M.npz --identity ID --background source (the app's Render tab and job specs "
            "accept it too)."
        )
    if isinstance(spec, str) and text.strip().startswith("#"):
        return ColorBackground(parse_color(text))
    path = Path(text).expanduser()
    if not path.exists():
        shipped = list_backgrounds()
        key = shipped_name(text) if isinstance(spec, str) else None
        if key is not None:
            if key != text.strip().lower():
                logger.info("Background %r is now called %r (a procedural cartoon).", text.strip(), key)
            return _load_shipped(key)
        looks_like_path = any(sep in text for sep in ("/", "\\")) or path.suffix != ""
        if looks_like_path:
            raise BackgroundError(
                f"Background file not found: {path}. Check the path, or use a shipped background "
                f"({', '.join(shipped) or 'none installed'}) or a colour like '#808080'."
            )
        raise BackgroundError(
            f"Unknown background {text!r}: it is neither a file nor a shipped background. Choose one of "
            f"{', '.join(shipped) or '(none installed)'}, a colour like '#808080', or an image/video file."
        )
    if not path.is_file():
        raise BackgroundError(
            f"{path} is not a file (it is a directory or a special file); pass an image or video file."
        )
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageBackground(load_image(path), name=path.stem, path=path)
    try:
        info = probe_video(path, settings)
    except RandomPeopleError as exc:
        raise BackgroundError(
            f"Background {path.name} is neither an image (png/jpg/webp) nor a readable video: {exc}"
        ) from exc
    return VideoBackground(info, end=end, settings=settings)


def _load_shipped(name: str) -> Background:
    folder = backgrounds_dir()
    for path in sorted(folder.iterdir()):
        if path.stem.lower() == name and path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageBackground(load_image(path), name=path.stem, path=path)
    raise BackgroundError(f"Shipped background {name!r} is missing from {folder}; reinstall or regenerate them.")


__all__ = [
    "Background",
    "BackgroundError",
    "CARTOON_PREFIX",
    "ColorBackground",
    "DEFAULT_BACKGROUND",
    "ImageBackground",
    "VideoBackground",
    "backgrounds_dir",
    "cover_crop",
    "cover_crop_box",
    "list_backgrounds",
    "load_background",
    "load_image",
    "parse_color",
    "shipped_name",
]
