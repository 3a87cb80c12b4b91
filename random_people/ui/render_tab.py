"""The "Render" tab: re-perform an extracted motion with saved people, over a background.

Every handler is a small function over plain values so tests can call it without a browser;
the real work is ``random_people.avatar.pipeline.render_motion_clip``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import gradio as gr
import numpy as np

from random_people.errors import RandomPeopleError
from random_people.settings import Settings
from random_people.ui.clip_tab import EMPTY
from random_people.wording import for_people

if TYPE_CHECKING:
    from random_people.ui.app import BodyModelWarmup

logger = logging.getLogger(__name__)

MAX_PEOPLE = 4  # one video slot per person, side by side with the source
DEFAULT_SIZE = 512
PREVIEW_SIZE = 256
PREVIEW_FRAMES = 60
UPLOADED_BACKGROUND = "uploaded image or video"
SOURCE_BACKGROUND_CHOICE = "the clip's own scene (its person removed)"
RENDER_ERROR = "**Render stopped:**"
NO_MOTION = ("**Motion:** none yet. Extract one in the **Clip & pose** tab, or upload a motion file "
             "(.npz) below.")
HOW_TO = ("**How it works.** Pick a motion, one or more saved people (save some in the **People** tab) and a "
          "background, then press **Render**. Quick preview renders a short, small clip in seconds.")


# --------------------------------------------------------------------------------------------
# Handlers (plain functions; the Blocks wiring is at the bottom)


@dataclass(frozen=True)
class RenderedClip:
    """One rendered clip's files, as the tab shows them."""

    identity_id: str
    video_path: str
    mask_path: str
    labels_path: str
    frames: int
    seconds: float
    size: tuple[int, int]  # (width, height) actually rendered
    framing: str = ""  # a warning when the person is cut off or out of view in some frames


def chosen_motion(uploaded: str | None, extracted: str | None) -> str | None:
    """The motion file to render: an uploaded .npz wins over the one extracted in this session."""
    return uploaded or extracted or None


def describe_motion(uploaded: str | None, extracted: str | None) -> str:
    """Markdown naming the motion that Render will use, or why it cannot be used."""
    path = chosen_motion(uploaded, extracted)
    if not path:
        return NO_MOTION
    from random_people.pose.motion import load_motion

    try:
        motion = load_motion(path)
    except RandomPeopleError as exc:
        return f"**Cannot use this motion file:** {for_people(exc)}"
    origin = "uploaded file" if uploaded else "from Clip & pose"
    label = f" · “{motion.action_label}”" if motion.action_label else ""
    name = motion.source_name or Path(path).name
    return (f"**Motion ({origin}):** {name}{label} · {motion.num_frames} frames at {motion.fps:.3g} fps "
            f"({motion.duration:.1f} s)")


def source_preview(motion_path: str | None) -> str | None:
    """The fitted-body preview mp4 the extraction wrote beside a motion file, if it is there."""
    if not motion_path:
        return None
    path = Path(motion_path)
    preview = path.with_name(f"{path.stem}_preview.mp4")
    return str(preview) if preview.is_file() else None


def background_choices() -> list[str]:
    from random_people.render.backgrounds import list_backgrounds

    return [SOURCE_BACKGROUND_CHOICE, *list_backgrounds(), UPLOADED_BACKGROUND]


def _default_background(choices: list[str]) -> str:
    from random_people.render.backgrounds import DEFAULT_BACKGROUND

    return DEFAULT_BACKGROUND if DEFAULT_BACKGROUND in choices else choices[0]


def background_spec(choice: str | None, uploaded: str | None) -> str:
    """What ``render_motion_clip`` gets as its background."""
    if choice == UPLOADED_BACKGROUND:
        if not uploaded:
            raise RandomPeopleError("Upload a background image or video, or pick a shipped background.")
        return str(uploaded)
    if not choice:
        raise RandomPeopleError("Pick a background.")
    if choice == SOURCE_BACKGROUND_CHOICE:
        return "source"
    return choice


def plate_image(motion_path: str | None, settings: Settings, progress: Callable[[float, str], None]) -> np.ndarray:
    """The source frame beside its clean plate (built once per clip and trim, then cached)."""
    if not motion_path:
        raise RandomPeopleError("No motion yet: extract one in the Clip & pose tab, or upload a motion (.npz).")
    from random_people.pose.motion import load_motion
    from random_people.render.scene_background import plate_preview

    return plate_preview(load_motion(motion_path), settings=settings, progress=progress)


def render_size(width: float | None, height: float | None, quick: bool) -> tuple[tuple[int, int] | None, int | None]:
    """(width, height) and the frame limit. None: the source clip's aspect (a square crop of a
    wide clip cuts the person off), with PREVIEW_SIZE pixels on the long side for the quick
    preview (at most PREVIEW_FRAMES frames) and DEFAULT_SIZE for a full render when width and
    height are left at 0."""
    if quick:
        return None, PREVIEW_FRAMES
    if not width and not height:
        return None, None
    w, h = int(width or DEFAULT_SIZE), int(height or DEFAULT_SIZE)
    if not (64 <= w <= 2048 and 64 <= h <= 2048):
        raise RandomPeopleError(f"Size {w}×{h} is outside 64–2048 pixels per side.")
    return (w - w % 2, h - h % 2), None


def _run_dir(settings: Settings, motion_path: str, background: str, size: tuple[int, int] | None,
             max_frames: int | None) -> Path:
    """Renders of one motion, background, size and length share a folder (file names say who,
    camera and seed), so the names offered for download stay short."""
    size_key = f"{size[0]}x{size[1]}" if size else f"long{PREVIEW_SIZE}"
    key = f"{Path(motion_path).resolve()}|{background}|{size_key}|{max_frames}"
    return settings.data_dir / "renders" / hashlib.sha256(key.encode()).hexdigest()[:12]


def render(motion_path: str | None, identity_ids: Sequence[str] | None, background: str, camera: str,
           seed: float | None, size: tuple[int, int] | None, max_frames: int | None, settings: Settings,
           progress: Callable[[float, str], None]) -> list[RenderedClip]:
    """Render the motion once per identity; raises RandomPeopleError with a user-facing message."""
    if not motion_path:
        raise RandomPeopleError("No motion yet: extract one in the Clip & pose tab, or upload a motion (.npz).")
    if not identity_ids:
        raise RandomPeopleError("Pick at least one saved person (save some in the People tab).")
    if len(identity_ids) > MAX_PEOPLE:
        raise RandomPeopleError(f"Pick at most {MAX_PEOPLE} people at a time.")
    from random_people.avatar.pipeline import parse_size, render_motion_clip
    from random_people.avatar.store import load_identity
    from random_people.pose.motion import load_motion
    from random_people.ui.people_tab import identities_dir

    motion = load_motion(motion_path)
    specs = [load_identity(i, identities_dir(settings)) for i in identity_ids]
    output_dir = _run_dir(settings, motion_path, background, size, max_frames)
    seed = int(seed or 0)
    clips = []
    for k, spec in enumerate(specs):
        def report(fraction: float, message: str, k: int = k) -> None:
            progress((k + fraction) / len(specs), f"Person {k + 1} of {len(specs)}: {message}")

        name = f"{spec.id}_{camera}{seed if camera == 'random' else ''}"
        long_side = PREVIEW_SIZE if max_frames else DEFAULT_SIZE
        result = render_motion_clip(motion, spec, output_dir, name=name, background=background, camera=camera,
                                    seed=seed, size=size, long_side=long_side, max_frames=max_frames,
                                    progress=report, settings=settings)
        clips.append(RenderedClip(spec.id, str(result.video_path), str(result.mask_path), str(result.labels_path),
                                  int(result.frames), float(result.seconds),
                                  parse_size(size, motion, long_side), framing_warning(result.labels_path)))
    return clips


def framing_warning(labels_path: str | Path) -> str:
    """The Render tab's warning when the person is cut off or out of view in some frames."""
    from random_people.render.framing import framing

    try:
        return framing(labels_path).warning()
    except RandomPeopleError as exc:  # the clip is fine; only the count is missing
        logger.warning("Cannot count cut-off frames of %s: %s", labels_path, exc)
        return ""


def frame_image(video_paths: Sequence[str] | None, frame: float | None) -> np.ndarray | None:
    """Frame ``frame`` of every rendered clip, side by side, as one RGB image."""
    if not video_paths or frame is None:
        return None
    from random_people.media import probe_video, read_frames

    index = max(int(frame), 0)
    images = []
    for path in video_paths:
        info = probe_video(path)
        wanted = min(index, max(info.num_frames - 1, 0))
        # Start half a frame early so rounding of timestamps cannot skip the frame asked for.
        start = max((wanted - 0.5) / info.fps, 0.0)
        picked = None
        for decoded in read_frames(path, start=start):
            picked = decoded.rgb
            if decoded.index >= wanted:
                break
        if picked is not None:
            images.append(picked)
    if not images:
        return None
    height = max(image.shape[0] for image in images)
    padded = [np.pad(image, ((0, height - image.shape[0]), (0, 0), (0, 0)), constant_values=255) for image in images]
    gap = np.full((height, 8, 3), 255, dtype=np.uint8)
    joined = [padded[0]]
    for image in padded[1:]:
        joined += [gap, image]
    return np.concatenate(joined, axis=1)


def summary(clips: Sequence[RenderedClip]) -> str:
    seconds = sum(clip.seconds for clip in clips)
    frames = sum(clip.frames for clip in clips)
    rate = f" ({frames / seconds:.1f} frames/s)" if seconds > 0 else ""
    people = "person" if len(clips) == 1 else "people"
    width, height = clips[0].size
    text = (f"Rendered {len(clips)} {people} · {clips[0].frames} frames at {width}×{height} · "
            f"{seconds:.0f} s{rate}")
    warnings = [f"- {clip.identity_id}: {clip.framing}" for clip in clips if clip.framing]
    if warnings:
        text += ("\n\n**Framing:** part of the person is outside the picture. Leave width and height at 0 to keep "
                 "the source clip's aspect, or pick a size of the same shape.\n" + "\n".join(warnings))
    return text


# --------------------------------------------------------------------------------------------
# Layout and wiring


def build_render_tab(settings: Settings, extracted_motion: gr.State, tab: gr.Tab | None = None,
                     warmup: "BodyModelWarmup | None" = None) -> dict[str, Any]:
    """Lay out the tab inside the current Blocks context and wire its events.

    ``extracted_motion`` holds the path of the motion extracted in the Clip & pose tab (this
    session); ``tab`` (when given) refreshes the list of saved people each time it is opened.
    """
    from random_people.ui.people_tab import saved_choices

    c: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            c["motion_status"] = gr.Markdown(NO_MOTION, elem_id="render-motion-status")
            with gr.Accordion("Use another motion file (.npz)", open=False):
                c["motion_file"] = gr.File(label="Motion file", file_types=[".npz"], type="filepath",
                                           elem_id="render-motion-file")
            c["people"] = gr.Dropdown(choices=saved_choices(settings), value=[], multiselect=True,
                                      max_choices=MAX_PEOPLE, label="People",
                                      info=f"saved in the People tab; up to {MAX_PEOPLE}", elem_id="render-people")
            choices = background_choices()
            c["background"] = gr.Dropdown(choices=choices, value=_default_background(choices),
                                          label="Background", elem_id="render-background")
            c["background_file"] = gr.File(label="Background image or video", type="filepath", visible=False,
                                           file_types=["image", "video"], elem_id="render-background-file")
            c["plate_button"] = gr.Button("Preview the clean plate", visible=False, size="sm",
                                          elem_id="render-plate-button")
            with gr.Row():
                c["camera"] = gr.Radio(["source", "random"], value="source", label="Camera",
                                       info="source: the clip's viewpoint", elem_id="render-camera")
                c["seed"] = gr.Number(value=0, precision=0, minimum=0, label="Seed", min_width=90,
                                      elem_id="render-seed")
            c["quick"] = gr.Checkbox(value=True, label=f"Quick preview ({PREVIEW_SIZE} px long side, "
                                     f"first {PREVIEW_FRAMES} frames)", elem_id="render-quick")
            with gr.Row(visible=False) as c["size_row"]:
                c["width"] = gr.Number(value=0, precision=0, minimum=0, label="Width", min_width=90,
                                       info=f"0 and 0: the source's aspect, {DEFAULT_SIZE} px long side",
                                       elem_id="render-width")
                c["height"] = gr.Number(value=0, precision=0, minimum=0, label="Height", min_width=90,
                                        elem_id="render-height")
            c["render"] = gr.Button("Render", variant="primary", size="lg", elem_id="render-button")
        with gr.Column(scale=3, min_width=360):
            c["status"] = gr.Markdown(HOW_TO, elem_id="render-status")
            c["plate_image"] = gr.Image(label="Source frame · clean plate (the scene without its person)",
                                        interactive=False, height=240, format="png", visible=False,
                                        elem_id="render-plate-image")
            with gr.Row(equal_height=True):
                c["source_video"] = gr.Video(label="Source (fitted body)", interactive=False, autoplay=True, loop=True,
                                             height=300, visible=False, elem_id="render-source-video")
                c["videos"] = [
                    gr.Video(label="Render", interactive=False, autoplay=True, loop=True, height=300,
                             visible=i == 0, elem_id=f"render-video-{i}")
                    for i in range(MAX_PEOPLE)
                ]
    with gr.Column(elem_id="render-results", elem_classes=EMPTY) as c["results"]:  # collapsed until a render
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                c["frame"] = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="render-frame")
                c["frame_image"] = gr.Image(label="Rendered frame", interactive=False, height=300, format="png",
                                            elem_id="render-frame-image")
            with gr.Column(scale=2, min_width=300):
                c["downloads"] = gr.File(label="Clip, mask and labels", file_count="multiple", interactive=False,
                                         elem_id="render-downloads")
    c["video_paths"] = gr.State([])
    _wire(c, settings, extracted_motion, tab, warmup)
    return c


def _wire(c: dict[str, Any], settings: Settings, extracted_motion: gr.State, tab: gr.Tab | None,
          warmup: "BodyModelWarmup | None") -> None:
    from random_people.ui.people_tab import saved_choices

    def on_motion(uploaded, extracted):
        return describe_motion(uploaded, extracted)

    def on_refresh_people(current):
        choices = saved_choices(settings)
        known = {value for _, value in choices}
        return gr.Dropdown(choices=choices, value=[v for v in (current or []) if v in known])

    def on_background(choice):
        own_scene = choice == SOURCE_BACKGROUND_CHOICE
        return (gr.File(visible=choice == UPLOADED_BACKGROUND), gr.Button(visible=own_scene),
                gr.Image(visible=own_scene) if own_scene else gr.Image(value=None, visible=False))

    def on_plate(uploaded, extracted, progress=gr.Progress()):
        try:
            image = plate_image(chosen_motion(uploaded, extracted), settings,
                                lambda fraction, message: progress(fraction, desc=message))
        except RandomPeopleError as exc:
            logger.info("Clean plate refused: %s", exc)
            gr.Warning(str(exc))
            return f"{RENDER_ERROR} {exc}", gr.skip()
        return ("**Clean plate ready.** Left: the source; right: its scene without the person (what the new "
                "person is rendered into; only the removed person's pixels come from it)."), gr.Image(
                    value=image, visible=True)

    def on_quick(quick):
        return gr.Row(visible=not quick)

    def on_render(uploaded, extracted, people, choice, background_file, camera, seed, quick, width, height,
                  progress=gr.Progress()):
        motion_path = chosen_motion(uploaded, extracted)
        try:
            size, max_frames = render_size(width, height, quick)
            if warmup is not None:
                from random_people.ui.clip_tab import wait_for_body_model

                wait_for_body_model(warmup, progress)
            clips = render(motion_path, people, background_spec(choice, background_file), camera, seed, size,
                           max_frames, settings, lambda fraction, message: progress(fraction, desc=message))
        except RandomPeopleError as exc:
            logger.info("Render refused: %s", exc)
            gr.Warning(for_people(exc))
            return (f"{RENDER_ERROR} {for_people(exc)}", gr.skip(), *[gr.skip()] * MAX_PEOPLE, gr.skip(), gr.skip(), gr.skip(),
                    gr.skip(), gr.skip())
        source = source_preview(motion_path)
        videos = [
            gr.Video(value=clips[i].video_path, label=f"Render · {clips[i].identity_id}", visible=True)
            if i < len(clips) else gr.Video(value=None, visible=False)
            for i in range(MAX_PEOPLE)
        ]
        paths = [clip.video_path for clip in clips]
        files = [path for clip in clips for path in (clip.video_path, clip.mask_path, clip.labels_path)]
        last = max(min(clip.frames for clip in clips) - 1, 1)
        return (
            summary(clips),
            gr.Video(value=source, visible=source is not None),
            *videos,
            gr.Column(elem_classes=[]),
            gr.Slider(minimum=0, maximum=last, value=0, step=1),
            frame_image(paths, 0),
            files,
            paths,
        )

    def on_frame(paths, frame):
        return frame_image(paths, frame)

    motion_inputs = [c["motion_file"], extracted_motion]
    extracted_motion.change(on_motion, inputs=motion_inputs, outputs=c["motion_status"], show_progress="hidden")
    c["motion_file"].change(on_motion, inputs=motion_inputs, outputs=c["motion_status"], show_progress="hidden")
    if tab is not None:
        tab.select(on_refresh_people, inputs=c["people"], outputs=c["people"], show_progress="hidden")
    c["background"].change(on_background, inputs=c["background"],
                           outputs=[c["background_file"], c["plate_button"], c["plate_image"]], show_progress="hidden")
    c["plate_button"].click(on_plate, inputs=[c["motion_file"], extracted_motion],
                            outputs=[c["status"], c["plate_image"]], concurrency_id="extract", concurrency_limit=1,
                            show_progress_on=c["plate_image"])
    c["quick"].change(on_quick, inputs=c["quick"], outputs=c["size_row"], show_progress="hidden")
    inputs = [c["motion_file"], extracted_motion, c["people"], c["background"], c["background_file"], c["camera"],
              c["seed"], c["quick"], c["width"], c["height"]]
    outputs = [c["status"], c["source_video"], *c["videos"], c["results"], c["frame"], c["frame_image"],
               c["downloads"], c["video_paths"]]
    # Same queue as the clip tab's extraction: both use every core, so one heavy job runs at a time.
    c["render"].click(on_render, inputs=inputs, outputs=outputs, concurrency_id="extract", concurrency_limit=1,
                      show_progress_on=c["videos"][0])
    c["frame"].release(on_frame, inputs=[c["video_paths"], c["frame"]], outputs=c["frame_image"],
                       show_progress="minimal")
