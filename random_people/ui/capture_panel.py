"""The "Capture a person" panel of the People tab: a consenting person's video in, an identity out.

Handlers are plain functions over plain values (tests call them without a browser); the work is
:func:`random_people.avatar.capture.capture.capture_person`. The captured identity is saved with
the other saved people, so the Render tab and jobs can use it at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from random_people.errors import RandomPeopleError
from random_people.settings import Settings

logger = logging.getLogger(__name__)

CAPTURE_HOW_TO = (
    "Upload a video of **one consenting person** filmed by a fixed camera (turning once on the spot shows every "
    "side; a walk past shows one). Trim it to where they are in view, tick the consent box and write what they "
    "agreed to. The capture fits their body shape to their silhouette, lets hair and loose clothes stand off the "
    "body where the silhouette shows them, and puts the video's colours on the avatar "
    "(a few seconds of video take one to two minutes)."
)
CAPTURE_ERROR = "**Cannot capture:**"


def run_capture(video: str | None, start: float | None, end: float | None, person: str | None, consented: bool,
                statement: str, recorded_by: str, settings: Settings,
                progress: Callable[[float, str], None] | None = None) -> tuple[Any, str, str | None]:
    """(the identity spec, a Markdown summary, the preview PNG path); raises RandomPeopleError on bad input."""
    from random_people.avatar.capture import ConsentError, read_consent
    from random_people.avatar.capture.capture import capture_person
    from random_people.avatar.identity import describe
    from random_people.ui.people_tab import identities_dir

    if not consented:
        raise ConsentError("Capture refused: tick the box to confirm the person in the video consented to being "
                           "captured as an avatar, and write their consent statement.")
    consent = read_consent(statement, recorded_by=recorded_by)
    if not video:
        raise RandomPeopleError("upload a video of the person first.")
    result = capture_person(video, identities_dir(settings), consent=consent, start=start or None, end=end or None,
                            person=(person or "").strip() or None, settings=settings, progress=progress)
    from random_people.avatar.capture.coverage import describe_coverage
    from random_people.avatar.capture.offsets import describe_offsets

    seen = describe_coverage(result.report["coverage"])
    lines = [f"**Captured {result.spec.id}** and saved it with your people: {describe(result.spec)}.",
             f"Surface seen: {seen}. Hair: {result.report['hair']['style']} (by its silhouette). "
             + describe_offsets(result.report.get("offsets")),
             f"Took {result.report['seconds']:.0f} s."]
    lines += [f"- ⚠️ {message}" for message in result.warnings]
    return result.spec, "\n\n".join(lines), str(result.preview_path) if result.preview_path else None


def build_capture_panel(settings: Settings) -> dict[str, Any]:
    """Lay out the panel inside the current Blocks context and wire it; components by name."""
    c: dict[str, Any] = {}
    with gr.Accordion("Capture a person from a video", open=False, elem_id="capture-panel"):
        gr.Markdown(CAPTURE_HOW_TO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                c["video"] = gr.Video(label="Video of the person", sources=["upload"], elem_id="capture-video")
                with gr.Row():
                    c["start"] = gr.Number(value=None, label="Start (s)", minimum=0, elem_id="capture-start")
                    c["end"] = gr.Number(value=None, label="End (s)", minimum=0, elem_id="capture-end")
                    c["person"] = gr.Textbox(label="Person", placeholder="largest · leftmost · rightmost · 2 · x,y",
                                             elem_id="capture-person")
                c["consented"] = gr.Checkbox(label="The person in this video consented to being captured as an avatar",
                                             value=False, elem_id="capture-consent")
                c["statement"] = gr.Textbox(label="Consent statement", lines=2, elem_id="capture-statement",
                                            placeholder="e.g. Jane Doe agrees to be captured as an avatar for "
                                                        "synthetic training data (form signed 2026-11-30)")
                c["recorded_by"] = gr.Textbox(label="Recorded by", elem_id="capture-recorded-by")
                c["run"] = gr.Button("Capture", variant="primary", elem_id="capture-run")
            with gr.Column(scale=3, min_width=320):
                c["result"] = gr.Image(label="Captured person (front, side, back)", type="filepath",
                                       interactive=False, elem_id="capture-result")
                c["status"] = gr.Markdown("", elem_id="capture-status")

    def on_capture(video, start, end, person, consented, statement, recorded_by, progress=gr.Progress()):
        try:
            _, text, preview = run_capture(video, start, end, person, consented, statement, recorded_by, settings,
                                           progress=lambda f, message: progress(f, desc=message))
        except RandomPeopleError as exc:
            logger.info("Capture refused: %s", exc)
            return gr.skip(), f"{CAPTURE_ERROR} {exc}"
        return preview, text

    c["run"].click(on_capture, inputs=[c[n] for n in ("video", "start", "end", "person", "consented", "statement",
                                                      "recorded_by")],
                   outputs=[c["result"], c["status"]], concurrency_id="capture", concurrency_limit=1,
                   show_progress_on=c["result"])
    return c
