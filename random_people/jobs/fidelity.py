"""The fidelity score every render task gives its own clip: does a detector trained on real
people see the person our labels say is there?

A curator cannot watch 10,000 clips. Each render task therefore runs the judge
(:mod:`random_people.judge`: MediaPipe Pose, trained on real people) on a few evenly spread
frames of the clip it just made and compares the detections with the clip's own labels:

* ``detection_rate``: share of scored frames (person in view) where the detector found someone;
* ``pck``: PCK@0.1 over the visible limb joints of those frames, a missed person counting all
  its joints wrong (so it folds the detection rate in);
* ``cut_off_share``: share of the sampled frames where the person is cut off by the frame edge
  (the label box touches it) or not in view at all (fully occluded or outside the picture);
* ``fidelity`` = ``pck`` × (1 − ``cut_off_share``): one number in [0, 1] to sort and threshold
  on. A clip scores high only if the person is whole in the picture *and* looks enough like a
  real person for the detector to place its limbs where the labels put them.

A low score on every identity of one motion says the source motion was poor (see
:func:`motion_summary`); a low score on one identity says that person renders badly.

Cost: one detector per worker process (:func:`shared_judge`, loaded on the first clip and kept),
static-image mode on :data:`SAMPLE_FRAMES` frames; ``benchmarks/fidelity.py`` measures it against
the render time (the target is under 10 %).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

logger = logging.getLogger(__name__)

FIDELITY_VERSION = 1
SAMPLE_FRAMES = 8  # evenly spread over the clip; enough to see a cut-off or a misplaced limb
JUDGE_MODE = "static"  # sampled frames are far apart: no tracking between them

_judge_lock = threading.Lock()
_judge = None


def shared_judge():
    """This process's :class:`~random_people.judge.Judge` (MediaPipe Pose, no segmenter), made once.

    Worker processes render clip after clip; loading MediaPipe for each would cost more than
    scoring. The segmenter is left out: the score does not use mask IoU.
    """
    global _judge
    with _judge_lock:
        if _judge is None:
            from random_people.judge import Judge

            _judge = Judge(mode=JUDGE_MODE, segmentation=False)
        return _judge


@dataclass(frozen=True)
class Fidelity:
    """The judge's figures on one clip (None where there was nothing to measure)."""

    fidelity: float
    detection_rate: float | None
    pck: float | None
    cut_off_share: float
    frames_sampled: int
    frames_scored: int  # sampled frames with the person in view (the others count as cut off)
    frames_cut_off: int
    frames_out_of_view: int
    seconds: float
    detector: str
    version: int = FIDELITY_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fidelity_from_score(score, frames_sampled: int, seconds: float) -> Fidelity:
    """Fold a :class:`~random_people.judge.ClipScore` into the figures above (pure arithmetic)."""
    cut_off = sum(1 for frame in score.frames if frame.cut_off)
    not_whole = cut_off + score.frames_out_of_view
    share = not_whole / frames_sampled if frames_sampled else 1.0
    pck = score.pck
    value = (pck or 0.0) * (1.0 - share) if score.frames else 0.0
    return Fidelity(
        fidelity=round(float(value), 4), detection_rate=score.detection_rate, pck=pck,
        cut_off_share=round(float(share), 4), frames_sampled=frames_sampled, frames_scored=score.num_frames,
        frames_cut_off=cut_off, frames_out_of_view=score.frames_out_of_view, seconds=round(seconds, 3),
        detector=str(score.meta.get("detector", "")),
    )


def score_output(video_path: str | Path, labels_path: str | Path, *, sample_frames: int = SAMPLE_FRAMES,
                 judge=None) -> Fidelity:
    """Score a rendered clip against its labels file on ``sample_frames`` evenly spread frames.

    Raises the judge's errors (:class:`random_people.render.labels.LabelsFileError`,
    :class:`random_people.errors.InvalidInputError`) for unreadable or mismatched files.
    """
    from random_people.judge.inputs import frame_subset, read_label_arrays

    started = time.perf_counter()
    labels = read_label_arrays(labels_path)
    frames = frame_subset(labels.num_frames, 1, sample_frames)
    judge = judge or shared_judge()
    score = judge.score_clip(video_path, labels_path, None, frames=frames)
    return fidelity_from_score(score, len(frames), time.perf_counter() - started)


def score_task_output(video_path: Path, labels_path: Path, sample_frames: int = SAMPLE_FRAMES) -> dict[str, Any] | None:
    """The render task's call: the figures as a dict, or None if the clip cannot be judged.

    A clip the judge cannot read is logged, not failed: the clip itself was made and checked by
    the renderer; only its score is missing (shown as "not scored" in Review).
    """
    from random_people.errors import RandomPeopleError

    if not labels_path.is_file():
        return None
    try:
        return score_output(video_path, labels_path, sample_frames=sample_frames).to_dict()
    except (RandomPeopleError, ValueError) as exc:
        logger.warning("Could not score %s: %s", video_path.name, exc)
        return None


def describe(figures: Mapping[str, Any] | None) -> str:
    """One short line for captions and logs: ``fidelity 0.82 (PCK 0.86, seen 8/8, cut off 0 %)``."""
    if not figures:
        return "fidelity: not scored"
    detected = figures.get("detection_rate")
    seen = "" if detected is None else f", seen {round(detected * figures.get('frames_scored', 0))}/" \
                                       f"{figures.get('frames_scored', 0)}"
    pck = figures.get("pck")
    pck_text = "no joints" if pck is None else f"PCK {pck:.2f}"
    return (f"fidelity {figures['fidelity']:.2f} ({pck_text}{seen}, cut off "
            f"{100 * figures.get('cut_off_share', 0):.0f} %)")


@dataclass(frozen=True)
class FidelityStats:
    """The distribution of fidelity over clips (for the dataset card, job summaries and reports)."""

    clips: int
    scored: int
    mean: float | None
    median: float | None
    p10: float | None
    minimum: float | None
    below: dict[str, int]  # threshold (as text) -> clips below it
    histogram: list[tuple[str, int]]  # ("0.0-0.1", n) ... ("0.9-1.0", n)


THRESHOLDS = (0.5, 0.8)


def fidelity_stats(values: Iterable[float | None]) -> FidelityStats:
    """Mean, median, 10th percentile, minimum, counts below :data:`THRESHOLDS` and a 10-bin histogram."""
    values = list(values)
    scored = sorted(float(v) for v in values if v is not None)
    bins = [0] * 10
    for v in scored:
        bins[min(int(v * 10), 9)] += 1
    histogram = [(f"{k / 10:.1f}-{(k + 1) / 10:.1f}", n) for k, n in enumerate(bins)]
    if not scored:
        return FidelityStats(len(values), 0, None, None, None, None, {}, histogram)
    p10 = scored[max(0, int(round(0.1 * (len(scored) - 1))))]
    return FidelityStats(
        clips=len(values), scored=len(scored), mean=round(statistics.fmean(scored), 4),
        median=round(statistics.median(scored), 4), p10=round(p10, 4), minimum=round(scored[0], 4),
        below={f"{t:g}": sum(1 for v in scored if v < t) for t in THRESHOLDS}, histogram=histogram,
    )


def motion_summary(rows: Iterable[tuple[str, float | None]], low: float = 0.5,
                   min_clips: int = 2) -> list[tuple[str, int, float]]:
    """Motions whose clips *all* score below ``low`` (with at least ``min_clips`` scored clips).

    ``rows`` are (motion key or label, fidelity). Every identity failing on one motion points
    at the source motion (a poor extraction), not at the people; returns (motion, clips, mean).
    """
    by_motion: dict[str, list[float]] = {}
    for motion, value in rows:
        if value is not None:
            by_motion.setdefault(motion, []).append(float(value))
    return [(motion, len(v), round(statistics.fmean(v), 4)) for motion, v in sorted(by_motion.items())
            if len(v) >= min_clips and max(v) < low]
