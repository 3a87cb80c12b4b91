"""The "Clip & pose" tab: upload a clip, extract its motion, inspect the fit, download it.

Every handler is a small function over plain values so tests can call it without a browser;
the real work is ``random_people.media.probe_video`` and ``random_people.pose.extract``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import gradio as gr

from random_people.errors import RandomPeopleError
from random_people.files import sha256_file
from random_people.settings import Settings
from random_people.wording import for_people

if TYPE_CHECKING:
    from random_people.pose.motion import Motion
    from random_people.ui.app import BodyModelWarmup

logger = logging.getLogger(__name__)

WARMUP_POLL_S = 1.0
EXAMPLE_CLIP = "walking.mp4"
CLIP_ERROR = "**Cannot use this clip:**"
EXTRACT_ERROR = "**Extraction stopped:**"
EMPTY = "rp-empty"  # CSS class collapsing a mounted result panel until it has something to show
HOW_TO = (
    "**How it works.** Upload a clip of one person (or click the example), optionally trim it and name "
    "the action, then press **Extract motion**. The fitted body drawn over your clip appears here, "
    "followed by a 3D view of any frame, a per-frame quality plot and the motion files to download."
)


# --------------------------------------------------------------------------------------------
# Handlers (plain functions; the Blocks wiring is at the bottom)


def describe_upload(clip_path: str | None, settings: Settings) -> str:
    """Markdown for the clip status line: the clip's facts, or why it cannot be used.

    Checking limits on upload (not after pressing Extract) tells the user at once that a clip
    is too long or not a video at all.
    """
    if not clip_path:
        return ""
    from random_people.media import probe_video

    try:
        info = probe_video(clip_path, settings)
    except RandomPeopleError as exc:
        return f"{CLIP_ERROR} {for_people(exc)}"
    return (f"**{Path(clip_path).name}** · {info.duration:.1f} s · {info.width}×{info.height} · "
            f"{info.fps:.3g} fps · {info.num_frames} frames")


def run_id(clip_path: str | Path, start: float | None, end: float | None, label: str, person: str | None = None,
           hands: bool = False) -> str:
    """Short id of an extraction request: the same clip, trim, label, person and hands choice land in the same folder."""
    request = f"{sha256_file(clip_path)}|{start}|{end}|{label}" + (f"|{person}" if person else "") + \
        ("|hands" if hands else "")
    return hashlib.sha256(request.encode()).hexdigest()[:12]


def trim_range(start: float | None, end: float | None) -> tuple[float | None, float | None]:
    """UI trim boxes to extract_clip's arguments: empty, NaN or 0 means "no trim" on that side.

    Gradio shows an empty number box as 0, so an End of 0 has to mean "to the end of the clip".
    """
    def seconds(value: float | None) -> float | None:
        if value is None or (isinstance(value, float) and math.isnan(value)) or float(value) <= 0:
            return None
        return float(value)

    return seconds(start), seconds(end)


def wait_for_body_model(warmup: "BodyModelWarmup", progress: Callable[..., Any]) -> None:
    """Block until the body model is loaded, keeping the progress bar alive meanwhile."""
    from random_people.body.registry import body_model_status
    from random_people.ui.app import loading_message

    while not warmup.wait(WARMUP_POLL_S):
        if getattr(warmup, "phase", ""):
            progress(warmup.fraction, desc=f"Getting the renderer ready: {warmup.phase}")
        else:
            progress(body_model_status().fraction, desc=loading_message())


def people_picture(clip_path: str | None, start: float | None, end: float | None, person: str | None,
                   settings: Settings):
    """(first frame with the people numbered, status Markdown) for choosing whom to follow.

    The chosen person (from ``person``) is drawn in orange; returns (None, message) when the clip
    cannot be read.
    """
    if not clip_path:
        return None, ""
    from random_people.pose.extract import first_frame_people
    from random_people.pose.people import choose_person, draw_people

    start, end = trim_range(start, end)
    try:
        rgb, people, size = first_frame_people(clip_path, start=start, end=end, settings=settings)
    except RandomPeopleError as exc:
        return None, f"{CLIP_ERROR} {exc}"
    chosen, note = None, ""
    if (person or "").strip():
        try:
            chosen = choose_person(people, person)
        except RandomPeopleError as exc:
            note = f" **{exc}**"
    count = f"{len(people)} people" if len(people) != 1 else "1 person"
    message = (f"{count} in the first frame (numbered from the left). Click on the person to follow, or leave "
               f"*Person* empty to follow the largest.{note}")
    return draw_people(rgb, people, size, chosen), message


def clicked_person(clip_path: str | None, start: float | None, end: float | None, x: float, y: float,
                   shown_width: int, settings: Settings) -> str:
    """The ``x,y`` person choice (source pixels) for a click at (x, y) on the picture ``shown_width`` wide."""
    from random_people.media import probe_video

    scale = probe_video(clip_path, settings).width / max(shown_width, 1)
    return f"{round(x * scale)},{round(y * scale)}"


def extract(clip_path: str | None, start: float | None, end: float | None, label: str,
            settings: Settings, warmup: "BodyModelWarmup", progress: Callable[..., Any], person: str | None = None,
            hands: bool = False):
    """Run the library's extraction for one request; returns its ExtractionResult.

    Raises RandomPeopleError with a user-facing message for any problem with the input.
    """
    if not clip_path:
        raise RandomPeopleError("Upload a video clip first (or pick the example below).")
    from random_people.pose.extract import extract_clip

    start, end = trim_range(start, end)
    wait_for_body_model(warmup, progress)
    person = (person or "").strip() or None
    output_dir = settings.data_dir / "motions" / run_id(clip_path, start, end, label or "", person, bool(hands))
    result = extract_clip(
        clip_path, output_dir, label=(label or "").strip(), start=start, end=end, settings=settings,
        progress=lambda fraction, message: progress(fraction, desc=message), person=person, hands=bool(hands),
    )
    # A re-run of the same request replaced the motion file: drop meshes and motions cached from before.
    shutil.rmtree(output_dir / "mesh", ignore_errors=True)
    _cached_motion.cache_clear()
    return result


def new_clip_note(clip_path: str | None, motion_path: str | None) -> str | None:
    """The summary line after a new upload, or None when nothing changes (the clip was cleared).

    The previous clip's results are hidden at once (they no longer describe the clip on screen),
    but its motion stays the one the Render tab uses until this clip's extraction succeeds.
    """
    if not clip_path:
        return None
    note = "**New clip:** press **Extract motion** to fit its body."
    if motion_path:
        from random_people.pose.motion import load_motion

        try:
            name = load_motion(motion_path).source_name or Path(motion_path).name
        except RandomPeopleError:
            name = Path(motion_path).name
        note += (f" The results of the previous clip ({name}) are hidden; the **Render** tab keeps using its "
                 "motion until this clip's extraction succeeds.")
    return note


def _flagged(no_detection: Any, low_confidence: Any, high_fit_error: Any) -> str:
    counts = {"no person": no_detection, "low confidence": low_confidence, "high fit error": high_fit_error}
    listed = [f"{int(n)} {name}" for name, n in counts.items() if int(n)]
    return ", ".join(listed) if listed else "none"


def _kept_person(switches: Any, kept: Any) -> str:
    if not int(switches):
        return "one person throughout"
    return (f"the detector jumped between people {int(switches)}×; kept {float(kept[0]):.2f}–{float(kept[1]):.2f} s, "
            "the longest stretch of one person (trim the clip to pick another)")


def detected_text(ratio: Any, frames: Any) -> str:
    """``220 of 230 frames (95.7 %)``: counts first, and a percentage that never rounds 220/230 up to 100 %."""
    n = int(frames)
    detected = round(float(ratio) * n)
    percent = 100 * detected / n if n else 0.0
    shown = f"{percent:.1f}".rstrip("0").rstrip(".") if detected not in (0, n) else f"{percent:.0f}"
    if detected not in (0, n) and shown in ("0", "100"):
        shown = f"{percent:.2f}"
    return f"{detected} of {n} frames ({shown} %)"


# (label, summary keys, formatter of those keys' values), in display order.
_SUMMARY_ROWS: tuple[tuple[str, tuple[str, ...], Callable[..., str]], ...] = (
    ("Frames", ("frames", "fps"), lambda n, fps: f"{int(n)} at {float(fps):.3g} fps ({int(n) / float(fps):.1f} s)"),
    ("Person", ("person_switches", "kept_time_range"), _kept_person),
    ("Person detected in", ("detected_ratio", "frames"), lambda v, n: detected_text(v, n)),
    ("2D fit error, median", ("median_error_2d_rel", "median_error_2d_px"),
     lambda rel, px: f"{100 * float(rel):.1f} % of the person's height ({float(px):.1f} px)"),
    ("3D distance from MediaPipe 3D (PA-MPJPE)", ("pa_mpjpe_mm",), lambda mm: f"{float(mm):.0f} mm"),
    ("Jitter, fitted vs raw landmarks", ("jitter_fitted_mm", "jitter_raw_mm"),
     lambda fit, raw: f"{float(fit):.1f} mm vs {float(raw):.1f} mm per frame²"),
    ("Jitter in the image, fitted vs raw", ("jitter_fitted_px", "jitter_raw_px"),
     lambda fit, raw: f"{float(fit):.2f} px vs {float(raw):.2f} px per frame²"),
    ("Flagged frames", ("frames_no_detection", "frames_low_confidence", "frames_high_fit_error"), _flagged),
    ("Hands found (left · right)", ("frames_left_hand_missing", "frames_right_hand_missing", "frames"),
     lambda left, right, n: f"{int(n) - int(left)} · {int(n) - int(right)} of {int(n)} frames have fitted fingers"),
    ("Extraction time", ("seconds", "frames_processed", "frames_per_second"),
     lambda s, n, fps: f"{float(s):.0f} s for {int(n)} frames ({float(fps):.1f} frames/s)"),
)


def _step_times(timings: dict[str, Any]) -> str:
    return " · ".join(f"{key.replace('_', ' ')} {float(value):.1f} s" for key, value in timings.items()
                      if isinstance(value, (int, float)))


def format_summary(summary: dict[str, Any]) -> str:
    """A two-column Markdown table: known numbers with units first, any other scalar after.

    Tolerant of missing or extra keys, so the summary can grow without breaking the tab.
    """
    rest = dict(summary)
    timings = rest.pop("timings", None)
    lines = ["| Result | |", "|---|---|"]
    for label, keys, fmt in _SUMMARY_ROWS:
        if not all(summary.get(key) is not None for key in keys):
            continue
        values = [summary[key] for key in keys]  # a key may serve two rows (frames)
        for key in keys:
            rest.pop(key, None)
        try:
            lines.append(f"| {label} | {fmt(*values)} |")
        except (TypeError, ValueError, ZeroDivisionError):
            lines.append(f"| {label} | {', '.join(str(v) for v in values)} |")
    if isinstance(timings, dict) and timings:
        lines.append(f"| Time by step | {_step_times(timings)} |")
    for key, value in rest.items():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            shown = f"{value:.3g}" if isinstance(value, float) else str(value)
            lines.append(f"| {key.replace('_', ' ')} | {shown} |")
    return "\n".join(lines)


@functools.lru_cache(maxsize=4)
def _cached_motion(motion_path: str) -> "Motion":
    from random_people.pose.motion import load_motion

    return load_motion(motion_path)


def frame_mesh(motion_path: str | None, frame: float | None) -> str | None:
    """Path of a .glb of the fitted body at ``frame``, written once beside the motion file."""
    if not motion_path or frame is None:
        return None
    from random_people.pose.mesh_export import posed_mesh

    motion = _cached_motion(motion_path)
    index = min(max(int(frame), 0), motion.num_frames - 1)
    path = Path(motion_path).parent / "mesh" / f"frame_{index:05d}.glb"
    if not path.exists():
        posed_mesh(motion, index, path)
    return str(path)


def quality_plot(motion_path: str | None, frame: float | None = None):
    """The per-frame quality figure, with the frame shown in the 3D view marked."""
    if not motion_path:
        return None
    from random_people.pose.extract import HIGH_FIT_ERROR
    from random_people.pose.quality import quality_figure

    current = None if frame is None else int(frame)
    return quality_figure(_cached_motion(motion_path), current, flag_threshold=HIGH_FIT_ERROR)


# --------------------------------------------------------------------------------------------
# Layout and wiring


# The example clip holds a man doing jumping jacks on a roof and a woman who walks in from the
# right at 2 s: starting there and following the rightmost person extracts the walk.
EXAMPLE_START, EXAMPLE_PERSON = 2.0, "rightmost"


EXAMPLE_LABEL = "A woman walking past (from 2 s, the rightmost person)"


def _example_clip_rows(label: str = "walking") -> list[list[Any]]:
    from random_people.ui.app import examples_dir

    clip = examples_dir() / EXAMPLE_CLIP
    return [[str(clip), label, EXAMPLE_START, EXAMPLE_PERSON]] if clip.exists() else []


def build_clip_tab(settings: Settings, warmup: "BodyModelWarmup") -> dict[str, Any]:
    """Lay out the tab inside the current Blocks context and wire its events.

    Returns the components by name so tests (and later tabs) can find them.
    """
    c: dict[str, Any] = {}
    c["model_status"] = gr.Markdown(warmup.status_markdown, visible=not warmup.done, elem_id="model-status",
                                    elem_classes="rp-status")
    c["warmup_timer"] = gr.Timer(WARMUP_POLL_S, active=not warmup.done)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320) as inputs_column:
            c["clip"] = gr.Video(label="Clip", sources=["upload"], height=300, elem_id="clip-input")
            c["clip_status"] = gr.Markdown("", elem_id="clip-status")
            with gr.Row():
                c["start"] = gr.Number(label="Start (s)", info="0 = from the beginning", minimum=0, step=0.1,
                                       min_width=90)
                c["end"] = gr.Number(label="End (s)", info="0 = to the end of the clip", minimum=0, step=0.1,
                                     min_width=90)
            c["label"] = gr.Textbox(label="Action name", placeholder="e.g. walking, drinking, sitting down",
                                    max_lines=1)
            c["person"] = gr.Textbox(label="Person", max_lines=1, elem_id="person-choice",
                                     placeholder="empty: the largest · leftmost · rightmost · 2 · x,y",
                                     info="Whom to follow when several people are in view: click them in the picture below")
            c["people"] = gr.Image(label="First frame: click the person to follow", interactive=False, height=220,
                                   elem_id="people-picture")
            c["people_status"] = gr.Markdown("", elem_id="clip-people-status")
            c["hands"] = gr.Checkbox(label="Fingers", value=False, elem_id="hands-choice",
                                     info="Also find both hands and fit the finger joints (about 2x slower)")
            c["extract"] = gr.Button("Extract motion", variant="primary", size="lg", elem_id="extract-button")
        with gr.Column(scale=3, min_width=360):
            c["preview"] = gr.Video(label="Fitted body over the clip", interactive=False, autoplay=True, loop=True,
                                    height=360, elem_id="preview-video")
            c["summary"] = gr.Markdown(HOW_TO, elem_id="summary")
    # Shown only once there is something to show. Not visible=False: a Model3D mounted inside a
    # Column with visible=False never creates its canvas when the Column is shown later (Gradio
    # 6.31), and visible="hidden" still draws the empty panels; the EMPTY class (see ui.app.CSS)
    # collapses the mounted column instead.
    with gr.Column(elem_id="results", elem_classes=EMPTY) as c["results"]:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                c["mesh"] = gr.Model3D(label="Fitted body (drag to turn)", height=420, elem_id="body-mesh",
                                       clear_color=(0.96, 0.96, 0.97, 1.0), camera_position=(None, None, 3.2))
                c["frame"] = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="frame-slider")
            with gr.Column(scale=3, min_width=360):
                c["plot"] = gr.Plot(label="Fit quality per frame", elem_id="quality-plot")
        with gr.Row():
            c["download_npz"] = gr.DownloadButton("Download motion (.npz)", elem_id="download-npz")
            c["download_bvh"] = gr.DownloadButton("Download skeleton animation (.bvh)", elem_id="download-bvh")
    c["motion_path"] = gr.State(None)
    _wire(c, settings, warmup, inputs_column)
    return c


_EXTRACT_OUTPUTS = ("clip_status", "preview", "summary", "results", "frame", "mesh", "plot",
                    "download_npz", "download_bvh", "motion_path")


def _wire(c: dict[str, Any], settings: Settings, warmup: "BodyModelWarmup", inputs_column: gr.Column) -> None:
    def on_tick():
        status = warmup.status_markdown()
        return gr.Markdown(status, visible=bool(status)), gr.Timer(active=not warmup.done)

    def on_upload(clip_path, motion_path):
        note = new_clip_note(clip_path, motion_path)
        if note is None:  # the clip was removed: what is shown still describes the last motion
            return describe_upload(clip_path, settings), gr.skip(), gr.skip(), gr.skip()
        return describe_upload(clip_path, settings), None, note, gr.Column(elem_classes=EMPTY)

    def on_people(clip_path, start, end, person):
        return people_picture(clip_path, start, end, person, settings)

    def on_pick(clip_path, start, end, picture, evt: gr.SelectData):
        if not clip_path or picture is None or not evt.index:
            return gr.skip()
        return clicked_person(clip_path, start, end, evt.index[0], evt.index[1], picture.shape[1], settings)

    def on_extract(clip_path, start, end, label, person, hands=False, progress=gr.Progress()):
        try:
            result = extract(clip_path, start, end, label, settings, warmup, progress, person, hands)
        except RandomPeopleError as exc:
            # A refused request (bad trim, bad file) changes nothing else: the last good motion,
            # its results and the Render tab's motion stay as they were.
            logger.info("Extraction refused: %s", exc)
            gr.Warning(for_people(exc))
            return f"{EXTRACT_ERROR} {for_people(exc)}", *[gr.skip()] * (len(_EXTRACT_OUTPUTS) - 1)
        motion, motion_path = result.motion, str(result.motion_path)
        middle = motion.num_frames // 2
        return (
            describe_upload(clip_path, settings),
            str(result.preview_path) if result.preview_path else None,
            format_summary(result.summary),
            gr.Column(elem_classes=[]),
            gr.Slider(minimum=0, maximum=max(motion.num_frames - 1, 1), value=middle, step=1),
            frame_mesh(motion_path, middle),
            quality_plot(motion_path, middle),
            motion_path,
            str(result.bvh_path),
            motion_path,
        )

    outputs = [c[name] for name in _EXTRACT_OUTPUTS]
    c["warmup_timer"].tick(on_tick, outputs=[c["model_status"], c["warmup_timer"]], queue=False,
                           show_progress="hidden")
    c["clip"].change(on_upload, inputs=[c["clip"], c["motion_path"]],
                     outputs=[c["clip_status"], c["preview"], c["summary"], c["results"]], show_progress="hidden")
    people_inputs = [c["clip"], c["start"], c["end"], c["person"]]
    people_outputs = [c["people"], c["people_status"]]
    c["clip"].change(on_people, inputs=people_inputs, outputs=people_outputs, show_progress="minimal")
    c["start"].submit(on_people, inputs=people_inputs, outputs=people_outputs, show_progress="minimal")
    c["person"].submit(on_people, inputs=people_inputs, outputs=people_outputs, show_progress="minimal")
    c["people"].select(on_pick, inputs=[c["clip"], c["start"], c["end"], c["people"]], outputs=c["person"]).then(
        on_people, inputs=people_inputs, outputs=people_outputs, show_progress="minimal")
    extract_inputs = [c["clip"], c["start"], c["end"], c["label"], c["person"], c["hands"]]
    # Progress shows on the preview only: an overlay on every output would cover the inputs' status.
    c["extract"].click(on_extract, inputs=extract_inputs, outputs=outputs, concurrency_id="extract",
                       concurrency_limit=1, show_progress_on=c["preview"])

    def on_frame(motion_path, frame):
        return frame_mesh(motion_path, frame), quality_plot(motion_path, frame)

    c["frame"].release(on_frame, inputs=[c["motion_path"], c["frame"]], outputs=[c["mesh"], c["plot"]],
                       show_progress="minimal")
    rows = _example_clip_rows()
    if rows:
        with inputs_column:  # re-enter the column so the example sits under the Extract button
            c["examples"] = gr.Examples(rows, inputs=[c["clip"], c["label"], c["start"], c["person"]],
                                        cache_examples=False, label="No clip at hand? Click the example to run it",
                                        example_labels=[EXAMPLE_LABEL])
        # One click on the example fills the inputs and then runs the same extraction event.
        c["examples"].load_input_event.then(on_extract, inputs=extract_inputs, outputs=outputs,
                                            concurrency_id="extract", concurrency_limit=1,
                                            show_progress_on=c["preview"])
