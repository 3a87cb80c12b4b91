"""Is the whole person in the picture? Counted from a rendered clip's own labels.

A render whose size does not match the source's aspect (a square 512x512 of a 16:9 clip) can
cut the person off at the frame edge, or lose them entirely, in some frames. The renderer logs
it; this says it where a person sees it (the Render tab) with numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Framing:
    frames: int
    cut_off: int  # the person's box touches the frame edge
    out_of_view: int  # nobody in the picture (outside or fully hidden)

    @property
    def whole(self) -> int:
        return self.frames - self.cut_off - self.out_of_view

    def warning(self) -> str:
        """A sentence for the page, or "" when the person is whole in every frame."""
        if not self.cut_off and not self.out_of_view:
            return ""
        parts = []
        if self.cut_off:
            parts.append(f"cut off by the frame edge in {self.cut_off} of {self.frames} frames")
        if self.out_of_view:
            parts.append(f"out of view in {self.out_of_view} of {self.frames} frames")
        return "The person is " + " and ".join(parts) + "."


def framing(labels_path: str | Path) -> Framing:
    """Count the frames of a clip whose person is cut off or out of view (from ``_labels.npz``)."""
    from random_people.judge.inputs import read_label_arrays
    from random_people.judge.metrics import is_cut_off

    labels = read_label_arrays(labels_path)
    width, height = labels.image_size
    finite = np.isfinite(labels.bbox).all(axis=1)
    cut = sum(1 for box, seen in zip(labels.bbox, finite) if seen and is_cut_off(box, width, height))
    return Framing(frames=labels.num_frames, cut_off=int(cut), out_of_view=int((~finite).sum()))
