"""How well a motion was fitted, frame by frame, as numbers and as a plot.

A curator deciding whether a clip is usable needs to see *where* the fit went wrong (a turn,
an occlusion), not just a median; the plot puts the errors, the detector's confidence and the
flagged frames on one time axis shared with the app's frame slider.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from random_people.pose.motion import FLAG_NAMES, Motion

CONFIDENT = 0.5  # landmarks above this visibility count towards the person's height

FLAG_LABELS = {"no_detection": "no person detected", "low_confidence": "low confidence",
               "high_fit_error": "high fit error", "flip_repaired": "mirrored pose repaired",
               "left_hand_missing": "left hand not found", "right_hand_missing": "right hand not found"}


def person_heights(motion: Motion, min_confidence: float = CONFIDENT) -> np.ndarray:
    """[T] the person's height in pixels, NaN where unknown.

    The fitter's own per-frame heights when the Motion stores them (so the plot agrees with the
    high-fit-error flags and the summary); else the height of the bounding box of the landmarks
    seen with confidence above ``min_confidence`` (NaN with fewer than two).
    """
    stored = getattr(motion, "person_height_px", None)
    if stored is not None:
        heights = np.asarray(stored, dtype=np.float64).copy()
        heights[~(heights > 0)] = np.nan
        return heights
    ys = np.where(motion.landmark_confidence > min_confidence, motion.landmarks_2d[..., 1], np.nan)
    valid = np.count_nonzero(~np.isnan(ys), axis=1) >= 2
    heights = np.full(len(ys), np.nan)
    heights[valid] = np.nanmax(ys[valid], axis=1) - np.nanmin(ys[valid], axis=1)
    heights[heights <= 0] = np.nan
    return heights


def relative_error_2d(motion: Motion) -> np.ndarray:
    """[T] 2D fit error as a percentage of the person's height (NaN where height is unknown).

    Pixels mean nothing across clips of different resolution and distance; a fraction of the
    person's height does.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.asarray(motion.fit_error_2d, dtype=np.float64) / person_heights(motion)


def flagged_runs(flags: np.ndarray, bit: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) frame ranges where ``bit`` is set, so shading stays a few shapes."""
    marked = (np.asarray(flags).astype(np.int64) & bit) != 0
    runs: list[tuple[int, int]] = []
    start = None
    for index, value in enumerate(marked):
        if value and start is None:
            start = index
        elif not value and start is not None:
            runs.append((start, index - 1))
            start = None
    if start is not None:
        runs.append((start, len(marked) - 1))
    return runs


_FLAG_RGB = {"no_detection": "214, 39, 40", "low_confidence": "255, 160, 0", "high_fit_error": "148, 103, 189",
             "flip_repaired": "23, 190, 207", "left_hand_missing": "188, 189, 34", "right_hand_missing": "140, 86, 75"}


def quality_figure(motion: Motion, current_frame: int | None = None, flag_threshold: float | None = None) -> go.Figure:
    """Three stacked panels over frames: 2D error (% height), 3D error (mm), mean confidence.

    Frames with quality flags are shaded across all panels and listed as markers, so the hover
    says which flag a frame carries. ``current_frame`` draws a dashed line at the frame shown in
    the app's 3D view, tying the numbers to the body the user is looking at. ``flag_threshold``
    (a fraction of the person's height) draws the 2D error above which the extractor flags frames.
    """
    frames = np.arange(motion.num_frames)
    times = np.asarray(motion.frame_times, dtype=np.float64)
    hover_time = [f"t = {t:.2f} s" for t in times]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("2D fit error (% of person height)", "3D distance from MediaPipe 3D (mm)",
                                        "mean landmark confidence"))
    fig.add_trace(go.Scatter(x=frames, y=relative_error_2d(motion), name="2D error %", mode="lines",
                             text=hover_time, line=dict(color="#1f77b4")), row=1, col=1)
    fig.add_trace(go.Scatter(x=frames, y=1000.0 * np.asarray(motion.fit_error_3d, dtype=np.float64),
                             name="3D error mm", mode="lines", text=hover_time, line=dict(color="#2ca02c")),
                  row=2, col=1)
    fig.add_trace(go.Scatter(x=frames, y=np.asarray(motion.landmark_confidence, dtype=np.float64).mean(axis=1),
                             name="confidence", mode="lines", text=hover_time, line=dict(color="#7f7f7f")),
                  row=3, col=1)
    _add_flags(fig, motion)
    if flag_threshold is not None:
        fig.add_hline(y=100.0 * flag_threshold, line=dict(color="rgb(148, 103, 189)", width=1, dash="dot"),
                      annotation_text="flag threshold", annotation_position="top left", row=1, col=1)
    if current_frame is not None:
        fig.add_vline(x=current_frame, line=dict(color="#444", width=1, dash="dash"), row="all", col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_yaxes(range=[0, 1.05], row=3, col=1)
    fig.update_xaxes(title_text="frame", row=3, col=1)
    fig.update_layout(height=480, margin=dict(l=50, r=20, t=40, b=40), hovermode="x unified",
                      template="plotly_white", legend=dict(orientation="h", y=-0.15))
    return fig


def _add_flags(fig: go.Figure, motion: Motion) -> None:
    """Shade flagged frame ranges and add one marker trace per flag present."""
    flags = np.asarray(motion.quality_flags)
    for bit, name in FLAG_NAMES.items():
        runs = flagged_runs(flags, bit)
        if not runs:
            continue
        for first, last in runs:
            fig.add_vrect(x0=first - 0.5, x1=last + 0.5, fillcolor=f"rgba({_FLAG_RGB[name]}, 0.18)", line_width=0,
                          layer="below", row="all", col=1)
        marked = np.flatnonzero(flags.astype(np.int64) & bit)
        fig.add_trace(go.Scatter(x=marked, y=np.full(len(marked), 1.02), mode="markers", name=FLAG_LABELS[name],
                                 marker=dict(symbol="line-ns-open", size=8, color=f"rgb({_FLAG_RGB[name]})")),
                      row=3, col=1)
