"""The "Review" tab: a gallery of finished clips with filters, where the curator accepts or rejects.

Decisions go to the job log (``random_people.jobs.review.set_review``), the same place the CLI and
the exporter read them from, so a rejected clip never reaches a dataset. This module only turns
filter controls into a ``ClipFilter`` and clips into gallery items (a cached first-frame
thumbnail each: a gallery of hundreds of autoplaying videos would stall the browser).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import gradio as gr

from random_people.errors import RandomPeopleError
from random_people.settings import Settings

logger = logging.getLogger(__name__)

ANY = "any"
MAX_SHOWN = 200  # clips in the gallery at once; narrow the filters to see others
THUMB_LONG_SIDE = 256
MARKS = {"accepted": "✔", "rejected": "✘", "pending": "·"}  # first in each caption: the gallery cuts long ones
HOW_TO = ("**How it works.** Finished clips of every job appear here. Narrow them with the filters, click one "
          "to play it, then **Accept** or **Reject** it; the export only takes accepted clips (or every clip "
          "of an auto-accepted job).")


# --------------------------------------------------------------------------------------------
# Handlers (plain functions; the Blocks wiring is at the bottom)


def _db(settings: Settings):
    from random_people.jobs.db import open_database

    return open_database(settings.resolved_database_url)


def _value(choice: Any) -> str | None:
    return None if choice in (None, "", ANY) else str(choice)


def clip_filter(job: str | None = None, action: str | None = None, sex: str | None = None,
                age_group: str | None = None, skin_tone_group: str | None = None, background: str | None = None,
                camera: str | None = None, review: str | None = None):
    """The filter controls (``"any"`` or empty = no filter) as the library's ``ClipFilter``."""
    from random_people.jobs.review import ClipFilter

    return ClipFilter(job_id=_value(job), action=_value(action), sex=_value(sex), age_group=_value(age_group),
                      skin_tone_group=_value(skin_tone_group), background=_value(background),
                      camera=_value(camera), review=_value(review))


def filter_choices(settings: Settings) -> dict[str, list[Any]]:
    """Choices of every filter dropdown: fixed vocabularies, plus what the log holds."""
    from random_people.avatar.identity import AGE_GROUPS, SEXES, SKIN_TONE_GROUPS
    from random_people.jobs.models import REVIEW_STATES
    from random_people.jobs.progress import list_jobs
    from random_people.jobs.review import filter_values

    db = _db(settings)
    present = filter_values(db)
    return {
        "job": [(ANY, ANY), *[(f"{p.name} · {p.id}", p.id) for p in list_jobs(db)]],
        "action": [ANY, *present["action"]],
        "sex": [ANY, *SEXES],
        "age_group": [ANY, *AGE_GROUPS],
        "skin_tone_group": [ANY, *SKIN_TONE_GROUPS],
        "background": [ANY, *present["background"]],
        "camera": [ANY, "source", "sampled"],
        "review": [ANY, *REVIEW_STATES],
    }


def thumbnail(video_path: str | Path, key: str, settings: Settings) -> Path:
    """The clip's first frame as a JPEG under ``data_dir/thumbs/clips`` (made once per clip key)."""
    from PIL import Image

    from random_people.media import read_frames

    path = settings.data_dir / "thumbs" / "clips" / f"{key[:24]}.jpg"
    if path.is_file():
        return path
    frame = next(iter(read_frames(video_path, max_side=THUMB_LONG_SIDE)), None)
    if frame is None:
        raise RandomPeopleError(f"{Path(video_path).name} has no frames.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.jpg")
    Image.fromarray(frame.rgb).save(partial, quality=88)
    partial.replace(path)
    return path


def clips(settings: Settings, flt) -> tuple[list[tuple[str, str]], list[Any], int]:
    """(gallery items, their ``ClipRow``s in order, clips left out because their files are gone)."""
    from random_people.jobs.review import list_clips

    items: list[tuple[str, str]] = []
    rows: list[Any] = []
    missing = 0
    for row in list_clips(_db(settings), flt, limit=MAX_SHOWN):
        try:
            thumb = thumbnail(row.video_path, row.key, settings)
        except RandomPeopleError as exc:  # deleted or damaged since it was made
            logger.warning("No thumbnail for clip %s: %s", row.key[:16], exc)
            missing += 1
            continue
        items.append((str(thumb), f"{MARKS.get(row.review, '')} {row.caption}".strip()))
        rows.append(row)
    return items, rows, missing


def counts_markdown(settings: Settings, job: str | None, shown: int, missing: int = 0) -> str:
    """One line: how many clips are shown and how many are pending / accepted / rejected."""
    from random_people.jobs.review import review_counts

    counts = review_counts(_db(settings), _value(job))
    scope = "this job" if _value(job) else "all jobs"
    tally = " · ".join(f"**{n}** {state}" for state, n in counts.items())
    more = f" (at most {MAX_SHOWN} shown; narrow the filters)" if shown >= MAX_SHOWN else ""
    gone = f" · {missing} clip(s) skipped: their files are missing" if missing else ""
    return f"{shown} clip(s) shown{more}{gone} · in {scope}: {tally}"


def clip_details(settings: Settings, row) -> tuple[str | None, str]:
    """(video to play, Markdown describing the clip) for a ``ClipRow`` (None: nothing selected)."""
    if row is None:
        return None, ""
    body = row.identity.get("body", {})
    look = row.identity.get("appearance", {})
    text = (f"**{row.caption}**\n\n{row.frames} frames at {row.width}×{row.height} · person `{row.identity_id[:12]}` "
            f"({body.get('sex', '?')}, {float(body.get('age_years', 0)):.0f} y, MST {look.get('skin_tone', '?')}) · "
            f"job `{row.job_id or '?'}` · clip `{row.key[:16]}`")
    if not Path(row.video_path).is_file():
        return None, text + f"\n\nThe clip's file `{row.video_path}` is missing (moved or deleted)."
    if not _served(row.video_path, settings):
        return None, text + (f"\n\nThe clip is at `{row.video_path}`, outside the folders the app serves "
                             "(its data folder's renders/), so it cannot be played here.")
    return row.video_path, text


def _served(path: str, settings: Settings) -> bool:
    """True if the app may serve ``path`` (see ui/served.py: only the folders the tabs show)."""
    from random_people.ui.served import is_served

    return is_served(path, settings)


def decide(settings: Settings, keys: Sequence[str] | None, decision: str) -> str:
    """Store the curator's decision on ``keys`` in the log; returns a status sentence."""
    from random_people.jobs.review import set_review

    if not keys:
        raise RandomPeopleError("No clip to mark: click one in the gallery first (or widen the filters).")
    changed = set_review(_db(settings), list(keys), decision)
    return f"Marked {changed} clip(s) {decision}" + (f" ({len(keys) - changed} already were)." if changed < len(keys)
                                                     else ".")


# --------------------------------------------------------------------------------------------
# Layout and wiring

FILTERS = ("job", "action", "sex", "age_group", "skin_tone_group", "background", "camera", "review")
FILTER_LABELS = {"job": "Job", "action": "Action", "sex": "Sex", "age_group": "Age group",
                 "skin_tone_group": "Skin tone", "background": "Background", "camera": "Camera",
                 "review": "Review state"}


def build_review_tab(settings: Settings, tab: gr.Tab | None = None) -> dict[str, Any]:
    """Lay out the tab inside the current Blocks context and wire its events; components by name.

    Nothing is read from the log while the page is built: the filters' choices and the gallery
    are filled when the tab is opened (``tab``) or **Refresh** is pressed, so clips finished since
    appear without a reload.
    """
    from random_people.avatar.identity import AGE_GROUPS, SEXES, SKIN_TONE_GROUPS
    from random_people.jobs.models import REVIEW_STATES

    fixed = {"job": [ANY], "action": [ANY], "sex": [ANY, *SEXES], "age_group": [ANY, *AGE_GROUPS],
             "skin_tone_group": [ANY, *SKIN_TONE_GROUPS], "background": [ANY], "camera": [ANY, "source", "sampled"],
             "review": [ANY, *REVIEW_STATES]}
    c: dict[str, Any] = {}
    with gr.Row():
        for name in FILTERS:
            c[name] = gr.Dropdown(choices=fixed[name], value=ANY, label=FILTER_LABELS[name], min_width=110,
                                  elem_id=f"review-{name.replace('_', '-')}")
    c["counts"] = gr.Markdown(HOW_TO, elem_id="review-counts")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            c["gallery"] = gr.Gallery(label="Clips", columns=5, fit_columns=False, height=460, object_fit="contain",
                                      allow_preview=False,
                                      elem_id="review-gallery")
            with gr.Row():
                c["refresh"] = gr.Button("Refresh", size="sm", elem_id="review-refresh")
                c["accept_all"] = gr.Button("Accept all shown", size="sm", elem_id="review-accept-all")
                c["reject_all"] = gr.Button("Reject all shown", size="sm", elem_id="review-reject-all")
        with gr.Column(scale=2, min_width=320):
            c["video"] = gr.Video(label="Clip", interactive=False, autoplay=True, loop=True, height=300,
                                  elem_id="review-video")
            c["caption"] = gr.Markdown("Click a clip to play it.", elem_id="review-caption")
            with gr.Row():
                c["accept"] = gr.Button("Accept", variant="primary", elem_id="review-accept")
                c["reject"] = gr.Button("Reject", variant="stop", elem_id="review-reject")
                c["pending"] = gr.Button("Undecided", elem_id="review-pending")
            c["status"] = gr.Markdown("", elem_id="review-status")
    c["rows"] = gr.State([])  # the ClipRows shown, in gallery order
    c["selected"] = gr.State(None)  # the ClipRow clicked last
    _wire(c, settings, tab)
    return c


def _values(choices: Sequence[Any]) -> list[Any]:
    return [choice[1] if isinstance(choice, tuple) else choice for choice in choices]


def _wire(c: dict[str, Any], settings: Settings, tab: gr.Tab | None) -> None:
    filters = [c[name] for name in FILTERS]

    def listing(*values):
        """Gallery, rows and counts for the filter values; a bad filter (a job gone) is a warning."""
        try:
            items, rows, missing = clips(settings, clip_filter(*values))
            return items, rows, counts_markdown(settings, values[0], len(rows), missing)
        except RandomPeopleError as exc:
            gr.Warning(str(exc))
            return [], [], f"**{exc}**"

    def on_open(*values):
        options = filter_choices(settings)
        kept = [value if value in _values(options[name]) else ANY for name, value in zip(FILTERS, values)]
        updates = [gr.Dropdown(choices=options[name], value=value) for name, value in zip(FILTERS, kept)]
        return (*updates, *listing(*kept))

    shown = [c["gallery"], c["rows"], c["counts"]]
    for component in filters:
        component.input(listing, inputs=filters, outputs=shown, show_progress="hidden")
    c["refresh"].click(on_open, inputs=filters, outputs=[*filters, *shown], show_progress="minimal")
    if tab is not None:
        tab.select(on_open, inputs=filters, outputs=[*filters, *shown], show_progress="minimal")

    def on_select(rows, evt: gr.SelectData):
        row = rows[evt.index] if rows and isinstance(evt.index, int) and evt.index < len(rows) else None
        video, text = clip_details(settings, row)
        return row, video, text, ""

    c["gallery"].select(on_select, inputs=c["rows"], outputs=[c["selected"], c["video"], c["caption"], c["status"]],
                        show_progress="hidden")

    def decision(state: str, everything: bool):
        def handler(selected, rows, *values):
            targets = [row.key for row in rows or []] if everything else ([selected.key] if selected else [])
            try:
                message = decide(settings, targets, state)
            except RandomPeopleError as exc:
                gr.Warning(str(exc))
                return f"**{exc}**", gr.skip(), gr.skip(), *[gr.skip()] * len(shown)
            items, new_rows, counts = listing(*values)
            # The selected clip, re-read so its caption shows the new decision (it may be filtered out now).
            current = next((row for row in new_rows if selected is not None and row.key == selected.key), None)
            caption = clip_details(settings, current)[1] if current else (
                f"Clip `{selected.key[:16]}` marked {state}." if selected else gr.skip())
            return message, caption, current if current else selected, items, new_rows, counts

        handler.__name__ = f"on_{'all_' if everything else ''}{state}"
        return handler

    inputs = [c["selected"], c["rows"], *filters]
    outputs = [c["status"], c["caption"], c["selected"], *shown]
    for button, state, everything in ((c["accept"], "accepted", False), (c["reject"], "rejected", False),
                                      (c["pending"], "pending", False), (c["accept_all"], "accepted", True),
                                      (c["reject_all"], "rejected", True)):
        button.click(decision(state, everything), inputs=inputs, outputs=outputs, show_progress="hidden")
