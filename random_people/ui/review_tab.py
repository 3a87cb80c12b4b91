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
PAGE_SIZE = 24  # clips per page of the gallery
THUMB_LONG_SIDE = 384  # big enough to judge a person's look at a glance
MARKS = {"accepted": "✔", "rejected": "✘", "pending": "·"}  # first in each caption
ORDER_CHOICES = [("newest first", "newest"), ("worst fidelity first", "worst")]
KEYS_HELP = "Keys: **A** accept, **R** reject, **U** undecided, **N** / → next clip, **P** / ← previous clip."
HOW_TO = ("**How it works.** Finished clips of every job appear here. Narrow them with the filters (or sort the "
          "worst fidelity first), click one to play it, then **Accept** or **Reject** it; the next clip opens. "
          "The export only takes accepted clips (or every clip of an auto-accepted job). " + KEYS_HELP)
# Keyboard review: keys click the tab's buttons, only while the gallery is on screen and no text box has focus.
KEYS_JS = """
<script>
document.addEventListener('keydown', (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target && (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || target.isContentEditable)) return;
  const gallery = document.getElementById('review-gallery');
  if (!gallery || gallery.offsetParent === null) return;
  const buttons = {a: 'review-accept', r: 'review-reject', u: 'review-pending', n: 'review-next',
                   ArrowRight: 'review-next', p: 'review-previous', ArrowLeft: 'review-previous'};
  const button = document.getElementById(buttons[event.key] || buttons[event.key.toLowerCase()]);
  if (button) { event.preventDefault(); button.click(); }
});
</script>
"""


# --------------------------------------------------------------------------------------------
# Handlers (plain functions; the Blocks wiring is at the bottom)


def _db(settings: Settings):
    from random_people.jobs.db import open_database

    return open_database(settings.resolved_database_url)


def _value(choice: Any) -> str | None:
    return None if choice in (None, "", ANY) else str(choice)


def clip_filter(job: str | None = None, action: str | None = None, sex: str | None = None,
                age_group: str | None = None, skin_tone_group: str | None = None, background: str | None = None,
                camera: str | None = None, review: str | None = None, order: str | None = "newest",
                below: float | None = None):
    """The filter controls (``"any"`` or empty = no filter; ``below`` 0 or empty = no threshold)
    as the library's ``ClipFilter``."""
    from random_people.jobs.review import ClipFilter

    return ClipFilter(job_id=_value(job), action=_value(action), sex=_value(sex), age_group=_value(age_group),
                      skin_tone_group=_value(skin_tone_group), background=_value(background),
                      camera=_value(camera), review=_value(review), order=order or "newest",
                      below_fidelity=float(below) if below else None)


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


def thumbnail(video_path: str | Path, key: str, settings: Settings, labels_path: str | Path | None = None) -> Path:
    """The clip's middle frame as a JPEG under ``data_dir/thumbs/clips`` (made once per clip key).

    The middle frame, not the first: a clip often starts with the person entering or mid-turn.
    With the clip's labels, the frame is cropped around the person (a wide shot leaves them a
    few dozen pixels tall, too small to judge).
    """
    from PIL import Image

    from random_people.media import probe_video, read_frames

    path = settings.data_dir / "thumbs" / "clips" / f"{key[:24]}_{THUMB_LONG_SIDE}c.jpg"
    if path.is_file():
        return path
    info = probe_video(video_path)
    index = info.num_frames // 2
    frame = next(iter(read_frames(video_path, start=index / info.fps if info.fps else 0.0)), None)
    if frame is None:
        raise RandomPeopleError(f"{Path(video_path).name} has no frames.")
    image = Image.fromarray(frame.rgb)
    box = _person_box(labels_path, frame.index, image.size)
    if box is not None:
        image = image.crop(box)
    image.thumbnail((THUMB_LONG_SIDE, THUMB_LONG_SIDE))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.jpg")
    image.save(partial, quality=88)
    partial.replace(path)
    return path


def _person_box(labels_path: str | Path | None, index: int, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A square-ish crop around the person in frame ``index`` (box grown 1.5x), or None without labels."""
    if not labels_path or not Path(labels_path).is_file():
        return None
    import numpy as np

    from random_people.judge.inputs import read_label_arrays

    try:
        labels = read_label_arrays(labels_path)
    except Exception:  # noqa: BLE001 - an unreadable labels file only costs the crop
        return None
    box = labels.bbox[min(max(index, 0), labels.num_frames - 1)]
    if not np.isfinite(box).all():
        return None
    width, height = size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1], 48) * 1.5
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    return left, top, int(min(width, left + side)), int(min(height, top + side))


def gallery_caption(row) -> str:
    """What a gallery tile says, the fidelity first (the tab's CSS lets it wrap over four lines)."""
    job = row.job_name or row.job_id or "?"
    return (f"{MARKS.get(row.review, '')} {row.score_text} · {row.action} · {row.person} · {row.background} · "
            f"{row.view} · {row.review} · job {job} · clip {row.key[:8]}").strip()


def clips(settings: Settings, flt, page: int = 0) -> tuple[list[tuple[str, str]], list[Any], int, int]:
    """(gallery items, their ``ClipRow``s in order, clips skipped because their files are gone,
    how many clips match the filter in all) for ``page`` (0-based) of :data:`PAGE_SIZE` clips."""
    from random_people.jobs.review import list_clips_page

    items: list[tuple[str, str]] = []
    rows: list[Any] = []
    missing = 0
    page_rows, total = list_clips_page(_db(settings), flt, limit=PAGE_SIZE, offset=max(0, page) * PAGE_SIZE)
    for row in page_rows:
        try:
            thumb = thumbnail(row.video_path, row.key, settings, row.labels_path)
        except RandomPeopleError as exc:  # deleted or damaged since it was made
            logger.warning("No thumbnail for clip %s: %s", row.key[:16], exc)
            missing += 1
            continue
        items.append((str(thumb), gallery_caption(row)))
        rows.append(row)
    return items, rows, missing, total


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def counts_markdown(settings: Settings, job: str | None, shown: int, missing: int = 0, total: int | None = None,
                    page: int = 0) -> str:
    """One line: which clips are shown (page, range) and how many are pending / accepted / rejected."""
    from random_people.jobs.review import review_counts
    from random_people.wording import count

    counts = review_counts(_db(settings), _value(job))
    scope = "this job" if _value(job) else "all jobs"
    tally = " · ".join(f"**{n}** {state}" for state, n in counts.items())
    total = shown if total is None else total
    if total:
        first = page * PAGE_SIZE + 1
        where = (f"Page {page + 1} of {page_count(total)}: clips {first}–{first + shown + missing - 1} of "
                 f"{count(total, 'matching clip')}")
    else:
        where = "No clip matches the filters"
    gone = f" · {count(missing, 'clip')} skipped: files missing" if missing else ""
    return f"{where}{gone} · in {scope}: {tally}"


def clip_details(settings: Settings, row) -> tuple[str | None, str]:
    """(video to play, Markdown describing the clip) for a ``ClipRow`` (None: nothing selected)."""
    if row is None:
        return None, ""
    from random_people.jobs.fidelity import describe

    note = f" ({row.review_note})" if row.review_note else ""
    text = (f"**{row.action}** · {row.person}\n\n"
            f"{row.background} · {row.view} · {row.frames} frames at {row.width}×{row.height}\n\n"
            f"**{describe(row.fidelity_figures)}** · **{row.review}**{note}\n\n"
            f"job **{row.job_name or '?'}** `{row.job_id or '?'}` · person `{row.identity_id[:12]}` · "
            f"clip `{row.key[:16]}`")
    if not Path(row.video_path).is_file():
        return None, text + "\n\nThe clip's file is missing (moved or deleted); re-run its job to make it again."
    if not _served(row.video_path, settings):
        return None, text + ("\n\nThe clip is outside the folders the app serves (its data folder's renders/), "
                             "so it cannot be played here.")
    return row.video_path, text


def _served(path: str, settings: Settings) -> bool:
    """True if the app may serve ``path`` (see ui/served.py: only the folders the tabs show)."""
    from random_people.ui.served import is_served

    return is_served(path, settings)


def decide(settings: Settings, keys: Sequence[str] | None, decision: str) -> str:
    """Store the curator's decision on ``keys`` in the log; returns a status sentence."""
    from random_people.jobs.review import set_review
    from random_people.wording import count

    if not keys:
        raise RandomPeopleError("No clip to mark: click one in the gallery first (or widen the filters).")
    changed = set_review(_db(settings), list(keys), decision)
    return f"Marked {count(changed, 'clip')} {decision}" + (f" ({len(keys) - changed} already were)."
                                                          if changed < len(keys) else ".")


def neighbour(rows: Sequence[Any], selected, step: int) -> int | None:
    """Index in ``rows`` of the clip ``step`` places from ``selected`` (clamped); the first clip if none."""
    if not rows:
        return None
    keys = [row.key for row in rows]
    if selected is None or selected.key not in keys:
        return 0
    return min(max(keys.index(selected.key) + step, 0), len(rows) - 1)


def after_decision(old_rows: Sequence[Any], new_rows: Sequence[Any], decided) -> int | None:
    """Where review goes on after a decision: the clip after the decided one in the new listing.

    When the decision removed the clip from the listing (e.g. the filter shows pending clips), the
    clip that took its place is next; after the last clip, the last one stays selected.
    """
    if not new_rows or decided is None:
        return None
    new_keys = [row.key for row in new_rows]
    if decided.key in new_keys:
        return min(new_keys.index(decided.key) + 1, len(new_rows) - 1)
    old_keys = [row.key for row in old_rows]
    position = old_keys.index(decided.key) if decided.key in old_keys else 0
    return min(position, len(new_rows) - 1)


# --------------------------------------------------------------------------------------------
# Layout and wiring

FILTERS = ("job", "action", "sex", "age_group", "skin_tone_group", "background", "camera", "review")
FILTER_LABELS = {"job": "Job", "action": "Action", "sex": "Sex", "age_group": "Age group",
                 "skin_tone_group": "Skin tone", "background": "Background", "camera": "Camera",
                 "review": "Review state"}
CSS = """
#review-gallery .caption-label, #people-gallery .caption-label { white-space: normal; max-width: 100%; left: 0; right: 0; opacity: 0.92;
  font-size: 0.78em; line-height: 1.25; max-height: 5.1em; overflow: hidden; }
"""


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
    with gr.Row():
        c["order"] = gr.Radio(ORDER_CHOICES, value="newest", label="Order", elem_id="review-order", scale=2)
        c["below"] = gr.Number(value=0, minimum=0, maximum=1, step=0.05, label="Fidelity below",
                               info="0: any fidelity", elem_id="review-below", scale=1, min_width=120)
        c["refresh"] = gr.Button("Refresh", size="sm", elem_id="review-refresh", scale=0, min_width=90)
    c["counts"] = gr.Markdown(HOW_TO, elem_id="review-counts")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=480):
            c["gallery"] = gr.Gallery(label="Clips", columns=4, fit_columns=False, height=760, object_fit="contain",
                                      allow_preview=False, elem_id="review-gallery")
            with gr.Row():
                c["previous_page"] = gr.Button("◀ Previous page", size="sm", elem_id="review-previous-page")
                c["page_label"] = gr.Markdown("", elem_id="review-page")
                c["next_page"] = gr.Button("Next page ▶", size="sm", elem_id="review-next-page")
            with gr.Row():
                c["accept_all"] = gr.Button("Accept all on this page", size="sm", elem_id="review-accept-all")
                c["reject_all"] = gr.Button("Reject all on this page", size="sm", elem_id="review-reject-all")
        with gr.Column(scale=2, min_width=340):
            c["video"] = gr.Video(label="Clip", interactive=False, autoplay=True, loop=True, height=360,
                                  elem_id="review-video")
            c["caption"] = gr.Markdown("Click a clip to play it.", elem_id="review-caption")
            with gr.Row():
                c["accept"] = gr.Button("Accept (A)", variant="primary", elem_id="review-accept")
                c["reject"] = gr.Button("Reject (R)", variant="stop", elem_id="review-reject")
                c["pending"] = gr.Button("Undecided (U)", elem_id="review-pending")
            with gr.Row():
                c["previous"] = gr.Button("◀ Previous clip (P)", size="sm", elem_id="review-previous")
                c["next"] = gr.Button("Next clip (N) ▶", size="sm", elem_id="review-next")
            c["status"] = gr.Markdown(KEYS_HELP, elem_id="review-status")
    c["rows"] = gr.State([])  # the ClipRows shown, in gallery order
    c["selected"] = gr.State(None)  # the ClipRow open on the right
    c["page"] = gr.State(0)
    _wire(c, settings, tab)
    return c


def _values(choices: Sequence[Any]) -> list[Any]:
    return [choice[1] if isinstance(choice, tuple) else choice for choice in choices]


def _wire(c: dict[str, Any], settings: Settings, tab: gr.Tab | None) -> None:
    filters = [c[name] for name in FILTERS]
    controls = [*filters, c["order"], c["below"]]

    def page_of(values: Sequence[Any], page: int):
        """Gallery, rows, counts, page label and page for the control values; a bad filter is a warning."""
        try:
            flt = clip_filter(*values)
            items, rows, missing, total = clips(settings, flt, page)
            if not rows and page > 0 and total:  # the page emptied (decisions, filters): show the last one
                page = page_count(total) - 1
                items, rows, missing, total = clips(settings, flt, page)
            label = f"Page **{page + 1}** of {page_count(total)}"
            return items, rows, counts_markdown(settings, values[0], len(rows), missing, total, page), label, page
        except RandomPeopleError as exc:
            gr.Warning(str(exc))
            return [], [], f"**{exc}**", "", 0

    def listing(*values):
        return page_of(values, 0)

    def on_open(*values):
        options = filter_choices(settings)
        names = len(FILTERS)
        kept = [value if value in _values(options[name]) else ANY for name, value in zip(FILTERS, values[:names])]
        updates = [gr.Dropdown(choices=options[name], value=value) for name, value in zip(FILTERS, kept)]
        return (*updates, *page_of([*kept, *values[names:]], 0))

    def paging(step: int):
        def handler(page, *values):
            return page_of(values, max(0, int(page or 0) + step))

        handler.__name__ = "on_next_page" if step > 0 else "on_previous_page"
        return handler

    shown = [c["gallery"], c["rows"], c["counts"], c["page_label"], c["page"]]
    for component in controls:
        component.input(listing, inputs=controls, outputs=shown, show_progress="hidden")
    c["refresh"].click(on_open, inputs=controls, outputs=[*filters, *shown], show_progress="minimal")
    if tab is not None:
        tab.select(on_open, inputs=controls, outputs=[*filters, *shown], show_progress="minimal")
    for button, step in ((c["next_page"], 1), (c["previous_page"], -1)):
        button.click(paging(step), inputs=[c["page"], *controls], outputs=shown, show_progress="minimal")

    def open_clip(rows, index):
        """selected, video, caption and the gallery's highlighted tile for ``rows[index]``."""
        row = rows[index] if rows and index is not None and 0 <= index < len(rows) else None
        video, text = clip_details(settings, row)
        return row, video, text or "Click a clip to play it.", gr.Gallery(selected_index=index)

    def on_select(rows, evt: gr.SelectData):
        index = evt.index if isinstance(evt.index, int) else None
        row, video, text, _ = open_clip(rows, index)
        return row, video, text, ""

    c["gallery"].select(on_select, inputs=c["rows"], outputs=[c["selected"], c["video"], c["caption"], c["status"]],
                        show_progress="hidden")

    def stepping(step: int):
        def handler(rows, selected):
            return open_clip(rows, neighbour(rows or [], selected, step))

        handler.__name__ = "on_next" if step > 0 else "on_previous"
        return handler

    for button, step in ((c["next"], 1), (c["previous"], -1)):
        button.click(stepping(step), inputs=[c["rows"], c["selected"]],
                     outputs=[c["selected"], c["video"], c["caption"], c["gallery"]], show_progress="hidden")

    def decision(state: str, everything: bool):
        def handler(selected, rows, page, *values):
            targets = [row.key for row in rows or []] if everything else ([selected.key] if selected else [])
            try:
                message = decide(settings, targets, state)
            except RandomPeopleError as exc:
                gr.Warning(str(exc))
                return f"**{exc}**", *[gr.skip()] * 3, *[gr.skip()] * len(shown)
            items, new_rows, counts, label, page = page_of(values, int(page or 0))
            if everything:
                return message, None, None, "Click a clip to play it.", items, new_rows, counts, label, page
            # Review goes on with the next clip (so A, A, R, ... walks the page).
            index = after_decision(rows or [], new_rows, selected)
            row, video, text, _ = open_clip(new_rows, index)
            gallery = gr.Gallery(value=items, selected_index=index)
            return message, row, video, text, gallery, new_rows, counts, label, page

        handler.__name__ = f"on_{'all_' if everything else ''}{state}"
        return handler

    inputs = [c["selected"], c["rows"], c["page"], *controls]
    outputs = [c["status"], c["selected"], c["video"], c["caption"], *shown]
    for button, state, everything in ((c["accept"], "accepted", False), (c["reject"], "rejected", False),
                                      (c["pending"], "pending", False), (c["accept_all"], "accepted", True),
                                      (c["reject_all"], "rejected", True)):
        button.click(decision(state, everything), inputs=inputs, outputs=outputs, show_progress="hidden")
