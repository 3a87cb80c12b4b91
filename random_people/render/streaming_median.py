"""A clean plate's per-pixel median in bounded memory and one pass over the clip.

Keeping every frame to take a median costs memory that grows with the clip (a minute of 640x360
video is 1.2 GB), and decoding the clip twice (a histogram pass, then a refining pass: what the
first version did) doubled the decoding. :class:`SampledMedian` keeps a bounded, evenly spread
sample of the frames instead and selects the exact lower median of their uncovered pixels at
the end. Samples can be masked out per pixel (where the person stands); a pixel no sampled frame
uncovered takes the last value any frame uncovered it with, and a pixel no frame ever uncovered
has no median and is reported as unseen. The median of an even count is the lower middle
sample, so the result is always a value that was actually observed -- a pixel seen uncovered with
one constant value gets exactly that value back.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# The median sorts the kept samples of this many image rows at a time (they stay in the CPU's
# cache: twice as fast as sorting whole frames, or as numpy's per-pixel partition).
_BAND_ROWS = 64


@lru_cache(maxsize=64)
def sorting_network(n: int) -> tuple[tuple[int, int], ...]:
    """Comparators ``(i, j)``, ``i < j``, that sort ``n`` values: Batcher's odd-even merge sort
    for the next power of two, without the comparators that reach past ``n`` (the missing
    values count as +infinity there, so those never swap). Sorting a stack of images with it is
    one ``np.minimum`` and one ``np.maximum`` per comparator over whole arrays, where numpy's
    own sort along the stack pays its per-pixel overhead ~200,000 times per frame."""
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return tuple(pairs)


class SampledMedian:
    """The exact median of an evenly spread sample of a clip's frames, in bounded memory, with
    one pass over the clip.

    A clean plate of a fixed camera does not need every frame in its median: a few dozen spread
    over the clip see the scene as well (each frame keeps its own real pixels outside the
    removed person anyway; frames a few hundredths of a second apart show nearly the same). So
    every ``stride``-th frame added is kept, a multiple of ``min_stride`` (the clean plate adds
    only its reference frames, one per keyframe interval, whose masks were segmented), at most ``max_samples``
    of them (when a clip turns out longer than ``expected_frames``, every other kept frame is
    dropped and the stride doubled). Their exact lower median is a selection in memory at the
    end -- no second decoding of the clip, ``max_samples`` frames held (28 MB at 640x360).

    A pixel that no kept frame shows uncovered, but some other frame does, gets the last value an
    added frame showed it with, else the value of the first frame given to :meth:`fill` that
    showed it (frames that are not added: so a place the person leaves only briefly is not
    inpainted). Only pixels some frame so far covered are followed for that: a pixel outside all
    masks until a frame is uncovered in the first frame, which is always kept.
    """

    def __init__(self, height: int, width: int, expected_frames: int, max_samples: int = 40,
                 min_stride: int = 1, channels: int = 3) -> None:
        if max_samples < 2:
            raise ValueError(f"max_samples must be at least 2, got {max_samples}")
        self.shape = (int(height), int(width), int(channels))
        self.max_samples = int(max_samples)
        step = max(1, int(min_stride))
        self.stride = step * max(1, -(-int(expected_frames) // (step * self.max_samples)))
        # Room for one more than kept (np.empty: pages are only touched when written).
        self._frames = np.empty((self.max_samples + 1, *self.shape), np.uint8)
        self._valid = np.empty((self.max_samples + 1, *self.shape[:2]), bool)
        self._kept = 0
        self._last = np.zeros(self.shape, np.uint8)
        self._last_seen = np.zeros(self.shape[:2], bool)
        # Pixels some frame showed uncovered (with or without their value in _last): those outside
        # the box when it grew were uncovered in every frame before (the first one among them).
        self._shown = np.zeros(self.shape[:2], bool)
        self._box: tuple[int, int, int, int] | None = None  # (y0, y1, x0, x1) around every pixel covered so far
        self.frames = 0

    def add(self, frame: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Every frame of the clip, in order: ``frame`` [H, W, C] uint8, uncovered where ``valid`` [H, W]."""
        if frame.shape != self.shape or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {self.shape}, got {frame.dtype} {frame.shape}")
        if valid is not None and valid.shape != self.shape[:2]:
            raise ValueError(f"valid must be {self.shape[:2]}, got {valid.shape}")
        index = self.frames
        self.frames += 1
        if index % self.stride == 0:
            self._frames[self._kept] = frame
            self._valid[self._kept] = True if valid is None else valid
            self._kept += 1
            if self._kept > self.max_samples:  # longer than expected: keep every other one
                half = (self._kept + 1) // 2
                self._frames[:half] = self._frames[: self._kept : 2].copy()
                self._valid[:half] = self._valid[: self._kept : 2].copy()
                self._kept = half
                self.stride *= 2
        if valid is None:
            return
        covered = ~valid
        if covered.any():
            rows, cols = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
            box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
            if self._box is not None:
                box = (min(box[0], self._box[0]), max(box[1], self._box[1]), min(box[2], self._box[2]),
                       max(box[3], self._box[3]))
            if box != self._box:
                grown = np.ones(self.shape[:2], bool)
                if self._box is not None:
                    grown[self._box[0]:self._box[1], self._box[2]:self._box[3]] = False
                if index > 0:  # the frames before this one showed the pixels the box takes in now
                    self._shown[box[0]:box[1], box[2]:box[3]] |= grown[box[0]:box[1], box[2]:box[3]]
            self._box = box
        if self._box is not None:
            y0, y1, x0, x1 = self._box
            self._remember(frame, valid[y0:y1, x0:x1])

    def shows_unseen(self, valid: np.ndarray) -> bool:
        """Whether a frame uncovered where ``valid`` [H, W] shows a pixel that no frame given so
        far showed uncovered (a frame that is not added can still give such pixels their value:
        :meth:`fill`)."""
        if self._box is None:
            return False  # nothing covered yet: the first frame showed every pixel
        y0, y1, x0, x1 = self._box
        return bool((valid[y0:y1, x0:x1] & ~self._shown[y0:y1, x0:x1]).any())

    def fill(self, frame: np.ndarray, valid: np.ndarray) -> None:
        """A frame that is not added (not sampled): it gives its value to the pixels it shows
        uncovered that no frame given so far showed -- the value such a pixel takes when no kept
        frame shows it (a place the person leaves only briefly is not inpainted)."""
        if self._box is None:
            return
        y0, y1, x0, x1 = self._box
        self._remember(frame, valid[y0:y1, x0:x1] & ~self._shown[y0:y1, x0:x1])

    def _remember(self, frame: np.ndarray, where: np.ndarray) -> None:
        """``frame``'s value becomes the last seen at ``where`` ([box] bool, inside the covered box)."""
        y0, y1, x0, x1 = self._box
        np.copyto(self._last[y0:y1, x0:x1], frame[y0:y1, x0:x1], where=where[..., None])
        self._last_seen[y0:y1, x0:x1] |= where
        self._shown[y0:y1, x0:x1] |= where

    @property
    def samples(self) -> int:
        """How many frames the median is taken over."""
        return self._kept

    def median(self) -> tuple[np.ndarray, np.ndarray]:
        """``(image [H, W, C] uint8, unseen [H, W] bool)``: the exact lower median of the kept
        frames' uncovered samples, the last uncovered value where none of them was uncovered,
        and the pixels no frame ever showed uncovered (0 in the image)."""
        if not self._kept:
            raise RuntimeError("no frame was added")
        frames, valid = self._frames[: self._kept], self._valid[: self._kept]
        count = valid.sum(axis=0, dtype=np.int32)  # [H, W]
        # Covered samples become 255 and sort last, so the rank-th value of the sorted column is
        # the rank-th of the uncovered samples (ties are equal values): the lower median.
        rank = np.maximum(count - 1, 0) // 2
        image = np.empty(self.shape, np.uint8)
        network = sorting_network(self._kept)
        for y0 in range(0, self.shape[0], _BAND_ROWS):
            rows = slice(y0, y0 + _BAND_ROWS)
            band = [np.where(valid[k, rows, :, None], frames[k, rows], np.uint8(255)) for k in range(self._kept)]
            spare = np.empty_like(band[0])
            for i, j in network:  # min to i, max to j (the arrays swap places instead of being copied)
                np.minimum(band[i], band[j], out=spare)
                np.maximum(band[i], band[j], out=band[j])
                band[i], spare = spare, band[i]
            image[rows] = np.take_along_axis(np.stack(band), rank[None, rows, :, None], axis=0)[0]
        unsampled = count == 0
        image[unsampled] = 0
        fill = unsampled & self._last_seen
        image[fill] = self._last[fill]
        return image, unsampled & ~self._last_seen

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept frames and the per-pixel buffers (for memory reports)."""
        kept = self._kept * (int(np.prod(self.shape)) + self.shape[0] * self.shape[1])
        return kept + self._last.nbytes + self._last_seen.nbytes + self._shown.nbytes


__all__ = ["SampledMedian", "sorting_network"]
