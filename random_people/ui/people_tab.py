"""The "People" tab: sample random (or balanced) identities, look at them, keep the good ones.

Every handler is a small function over plain values so tests can call it without a browser; the
real work is ``random_people.avatar.sampler`` (who), ``random_people.avatar.store`` (where they
are kept) and ``random_people.avatar.pipeline`` (what they look like: thumbnails, turntables,
avatar files).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import gradio as gr

from random_people.avatar.identity import HAIR_STYLES, MONK_SKIN_TONES, TOPS, IdentityError, IdentitySpec, describe
from random_people.errors import RandomPeopleError
from random_people.settings import Settings

if TYPE_CHECKING:
    from random_people.ui.app import BodyModelWarmup

logger = logging.getLogger(__name__)

MAX_PEOPLE = 24
DEFAULT_PEOPLE = 8
THUMB_SIZE = 256
IMPORT_ERROR = "**Cannot import this identity:**"
SAMPLE_ERROR = "**Cannot sample:**"
# Runs in the browser when a person is clicked: scroll their panel into view, pass the inputs on.
SCROLL_TO_DETAILS = """() => {
  setTimeout(() => document.getElementById('person-details')?.scrollIntoView({behavior: 'smooth', block: 'start'}), 100);
}"""
HOW_TO = (
    "**How it works.** Choose who may appear on the left and press **Sample people**. Click a person to turn "
    "them around and read their spec; **Save all** keeps the batch for the Render tab."
)


# --------------------------------------------------------------------------------------------
# Handlers (plain functions; the Blocks wiring is at the bottom)


def identities_dir(settings: Settings) -> Path:
    """Where saved identities live (``<id>.json``); thumbnails and exports sit in subfolders."""
    return settings.data_dir / "identities"


def build_distribution(mode: str, female_ratio: float, age_min: float, age_max: float,
                       skin_tones: Sequence[Any] | None, hair_styles: Sequence[str] | None = None,
                       tops: Sequence[str] | None = None):
    """The sampler's distribution from the tab's controls; IdentityError names a bad control."""
    from random_people.avatar.sampler import IdentityDistribution

    if not skin_tones:
        raise IdentityError("tick at least one skin tone.")
    if hair_styles is not None and not hair_styles:
        raise IdentityError("tick at least one hair style.")
    if tops is not None and not tops:
        raise IdentityError("tick at least one top.")
    low, high = sorted((float(age_min), float(age_max)))
    all_tones = [int(t) for t in skin_tones] == list(MONK_SKIN_TONES)
    return IdentityDistribution(
        name="ui", mode=mode, female_ratio=float(female_ratio), age_range=(low, high),
        # All ten ticked keeps the ancestry-linked prior; a subset is used exactly as ticked.
        skin_tones=None if all_tones else [int(t) for t in skin_tones],
        hair_styles=None if hair_styles is None or set(hair_styles) == set(HAIR_STYLES) else list(hair_styles),
        **({"tops": list(tops)} if tops else {}),
    )


def sample(n: float, seed: float | None, distribution) -> list[IdentitySpec]:
    """``n`` identities for ``seed`` (see ``sample_identities``)."""
    from random_people.avatar.sampler import sample_identities

    count = int(n or 0)
    if not 1 <= count <= MAX_PEOPLE:
        raise IdentityError(f"how many: choose between 1 and {MAX_PEOPLE} people.")
    return sample_identities(count, int(seed or 0), distribution)


def thumbnail(spec: IdentitySpec, settings: Settings) -> Path:
    """The spec's full-body PNG, rendered once and kept (named by the identity id)."""
    from random_people.avatar.pipeline import identity_thumbnail

    path = identities_dir(settings) / "thumbs" / f"{spec.id}.png"
    if not path.exists():
        identity_thumbnail(spec, path, size=THUMB_SIZE)
    return path


def turntable(spec: IdentitySpec, settings: Settings) -> Path:
    """The spec's 360° turn as an H.264 mp4, rendered once and kept."""
    from random_people.avatar.pipeline import identity_turntable

    path = identities_dir(settings) / "turntables" / f"{spec.id}.mp4"
    if not path.exists():
        identity_turntable(spec, path, size=THUMB_SIZE)
    return path


def gallery_items(specs: Sequence[IdentitySpec], settings: Settings,
                  progress: Callable[..., Any] | None = None) -> list[tuple[str, str]]:
    """(thumbnail path, caption) per spec, rendering missing thumbnails with progress."""
    items = []
    for i, spec in enumerate(specs):
        if progress is not None:
            progress(i / max(len(specs), 1), desc=f"Drawing person {i + 1} of {len(specs)}…")
        items.append((str(thumbnail(spec, settings)), caption(spec)))
    return items


def caption(spec: IdentitySpec) -> str:
    """Who it is first (sex, age, skin tone, look), the id last: a gallery cuts the end, not the person."""
    return f"{describe(spec)} · {spec.id}"


def histogram_text(specs: Sequence[IdentitySpec]) -> str:
    """The attribute histogram of ``specs`` as a plain-text table (empty for no specs)."""
    from random_people.avatar.sampler import attribute_histogram, format_histogram

    if not specs:
        return ""
    return format_histogram(attribute_histogram(specs), width=20)


def spec_json(spec: IdentitySpec | None) -> str:
    return json.dumps(spec.to_dict(), indent=2, sort_keys=True) if spec is not None else ""


def saved_ids(settings: Settings) -> set[str]:
    folder = identities_dir(settings)
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()


def saved_identities(settings: Settings) -> list[IdentitySpec]:
    """Every saved identity (unreadable files are skipped with a log line, not an error)."""
    from random_people.avatar.store import load_identity

    specs = []
    folder = identities_dir(settings)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            specs.append(load_identity(path))
        except RandomPeopleError as exc:
            logger.warning("Skipping identity file %s: %s", path, exc)
    return specs


def saved_choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, id) of every saved identity, for dropdowns."""
    return [(caption(spec), spec.id) for spec in saved_identities(settings)]


def save(specs: Sequence[IdentitySpec], settings: Settings) -> str:
    from random_people.avatar.store import save_identities

    if not specs:
        return "Nothing to save yet: sample some people first."
    before = saved_ids(settings)
    save_identities(specs, identities_dir(settings))
    new = sum(1 for spec in specs if spec.id not in before)
    kept = len(saved_ids(settings))
    return f"Saved {new} new {'person' if new == 1 else 'people'} ({kept} saved in all)."


def delete_question(spec: IdentitySpec | None, settings: Settings) -> str | None:
    """What **Delete saved** asks before deleting (None: nothing to ask, say why instead via :func:`delete`)."""
    if spec is None or not (identities_dir(settings) / f"{spec.id}.json").exists():
        return None
    return (f"**Delete {describe(spec)} (`{spec.id}`) from the saved people?** Jobs that already used this "
            "person keep their clips; new jobs and the Render tab can no longer pick them.")


def delete(spec: IdentitySpec | None, settings: Settings) -> str:
    if spec is None:
        return "Click a person first."
    path = identities_dir(settings) / f"{spec.id}.json"
    if not path.exists():
        return f"{spec.id} is not saved, so there is nothing to delete."
    path.unlink()
    return f"Deleted {spec.id}."


def export_ply(spec: IdentitySpec | None, settings: Settings) -> list[str]:
    """Build the avatar and write its 3DGS ``.ply`` and ``.binding.npz`` sidecar; both paths."""
    if spec is None:
        raise IdentityError("click a person first.")
    from random_people.avatar.files import save_avatar, sidecar_path
    from random_people.avatar.pipeline import build_identity_avatar

    path = identities_dir(settings) / "exports" / f"{spec.id}.ply"
    if not (path.exists() and sidecar_path(path).exists()):
        save_avatar(build_identity_avatar(spec), path)
    return [str(path), str(sidecar_path(path))]


def import_identity(file_path: str | None) -> IdentitySpec:
    """Read and validate an uploaded identity ``.json``; IdentityError says what is wrong."""
    if not file_path:
        raise IdentityError("choose a .json identity file.")
    from random_people.avatar.store import read_identity_file

    path = Path(file_path)
    spec = read_identity_file(path, shown_name=path.name)
    if spec.provenance.get("kind") == "manual":  # keep sampler provenance; mark hand-made files as imported
        spec = IdentitySpec(spec.seed, spec.body, spec.appearance, {**spec.provenance, "kind": "imported"})
    return spec


def _wait(warmup: "BodyModelWarmup | None", progress: Callable[..., Any]) -> None:
    """Drawing people needs the body model: wait for the app's warm-up instead of loading it twice."""
    if warmup is not None:
        from random_people.ui.clip_tab import wait_for_body_model

        wait_for_body_model(warmup, progress)


# --------------------------------------------------------------------------------------------
# Layout and wiring


def build_people_tab(settings: Settings, warmup: "BodyModelWarmup | None" = None) -> dict[str, Any]:
    """Lay out the tab inside the current Blocks context and wire its events; components by name."""
    c: dict[str, Any] = {}
    tones = [(f"{t}", t) for t in MONK_SKIN_TONES]
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            with gr.Row():
                c["count"] = gr.Slider(1, MAX_PEOPLE, value=DEFAULT_PEOPLE, step=1, label="How many",
                                       elem_id="people-count")
                c["seed"] = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="people-seed",
                                      min_width=90)
            c["mode"] = gr.Radio(["random", "balanced"], value="random", label="Mode",
                                 info="balanced: every sex × age × skin-tone × ancestry cell in turn",
                                 elem_id="people-mode")
            c["female_ratio"] = gr.Slider(0, 1, value=0.5, step=0.05, label="Share of women",
                                          elem_id="people-female-ratio")
            with gr.Row():
                c["age_min"] = gr.Slider(1, 90, value=18, step=1, label="Youngest (years)", elem_id="people-age-min")
                c["age_max"] = gr.Slider(1, 90, value=80, step=1, label="Oldest (years)", elem_id="people-age-max")
            c["skin_tones"] = gr.CheckboxGroup(tones, value=list(MONK_SKIN_TONES), label="Skin tones (Monk scale)",
                                               info="1 lightest … 10 darkest", elem_id="people-skin-tones")
            with gr.Accordion("Hair and clothes", open=False):
                c["hair_styles"] = gr.CheckboxGroup(list(HAIR_STYLES), value=list(HAIR_STYLES), label="Hair styles",
                                                    elem_id="people-hair")
                c["tops"] = gr.CheckboxGroup(list(TOPS), value=list(TOPS), label="Tops", elem_id="people-tops")
            c["sample"] = gr.Button("Sample people", variant="primary", size="lg", elem_id="sample-button")
            with gr.Accordion("Import an identity (.json)", open=False):
                c["import_file"] = gr.File(label="Identity file", file_types=[".json"], type="filepath",
                                           elem_id="import-file")
        with gr.Column(scale=3, min_width=380):
            c["status"] = gr.Markdown(HOW_TO, elem_id="people-status")
            c["gallery"] = gr.Gallery(label="People", columns=4, height=480, object_fit="contain",
                                      allow_preview=False, elem_id="people-gallery")
            with gr.Row():
                c["save"] = gr.Button("Save all", elem_id="save-people")
                c["show_saved"] = gr.Button("Show saved", elem_id="show-saved")
            with gr.Accordion("Who is shown (attribute counts)", open=True):
                c["histogram"] = gr.Code(label="Attribute histogram", language=None, interactive=False, lines=6,
                                         max_lines=12, show_line_numbers=False, show_label=False,
                                         elem_id="people-histogram")
    with gr.Column(visible=False, elem_id="person-details") as c["details"]:
        c["person_title"] = gr.Markdown("", elem_id="person-title")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                c["turntable"] = gr.Video(label="Turntable", interactive=False, autoplay=True, loop=True, height=320,
                                          elem_id="person-turntable")
                with gr.Row():
                    c["export"] = gr.Button("Export avatar (.ply)", elem_id="export-ply")
                    c["delete"] = gr.Button("Delete saved…", variant="stop", elem_id="delete-person")
                with gr.Column(visible=False, elem_id="delete-confirm") as c["confirm_row"]:
                    c["confirm_text"] = gr.Markdown("", elem_id="delete-question")
                    with gr.Row():
                        c["confirm_delete"] = gr.Button("Yes, delete", variant="stop", size="sm",
                                                        elem_id="delete-confirm-yes")
                        c["keep"] = gr.Button("Keep", size="sm", elem_id="delete-confirm-no")
                c["export_files"] = gr.File(label="Avatar files (.ply + rig sidecar)", file_count="multiple",
                                            interactive=False, visible=False, elem_id="export-files")
            with gr.Column(scale=3, min_width=360):
                c["spec"] = gr.Code(label="Identity spec", language="json", interactive=False, max_lines=20,
                                    elem_id="person-spec")
    from random_people.ui.capture_panel import build_capture_panel

    c["capture"] = build_capture_panel(settings)
    c["specs"] = gr.State([])
    c["selected"] = gr.State(None)
    _wire(c, settings, warmup)
    return c


def _wire(c: dict[str, Any], settings: Settings, warmup: "BodyModelWarmup | None") -> None:
    def shown(specs, progress, status: str):
        _wait(warmup, progress)
        return specs, gallery_items(specs, settings, progress), histogram_text(specs), status

    def on_sample(n, seed, mode, female_ratio, age_min, age_max, skin_tones, hair_styles, tops,
                  progress=gr.Progress()):
        try:
            distribution = build_distribution(mode, female_ratio, age_min, age_max, skin_tones, hair_styles, tops)
            specs = sample(n, seed, distribution)
            result = shown(specs, progress, f"Sampled {len(specs)} people (seed {int(seed or 0)}, {mode}).")
        except RandomPeopleError as exc:
            gr.Warning(str(exc))
            return gr.skip(), gr.skip(), gr.skip(), f"{SAMPLE_ERROR} {exc}", gr.skip(), gr.Column(visible=False)
        return (*result, None, gr.Column(visible=False))

    def on_show_saved(progress=gr.Progress()):
        specs = saved_identities(settings)
        status = f"{len(specs)} saved {'person' if len(specs) == 1 else 'people'}." if specs else "Nobody saved yet."
        return (*shown(specs, progress, status), None, gr.Column(visible=False))

    def on_select(specs, evt: gr.SelectData):
        """Open the person's panel at once (title, spec); the turntable follows (see on_turntable)."""
        if evt.index is None or not 0 <= int(evt.index) < len(specs):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        spec = specs[int(evt.index)]
        title = f"**{describe(spec)}** · `{spec.id}`"
        return (spec, gr.Column(visible=True), None, spec_json(spec), gr.File(value=None, visible=False), title,
                gr.Column(visible=False))

    def on_turntable(spec, progress=gr.Progress()):
        if spec is None:
            return gr.skip()
        _wait(warmup, progress)
        progress(0.1, desc="Turning the person around…")
        return str(turntable(spec, settings))

    def on_save(specs):
        return save(specs, settings)

    def on_ask_delete(spec):
        """Deleting needs a second click: show the question (or say why there is nothing to delete)."""
        question = delete_question(spec, settings)
        if question is None:
            return gr.Column(visible=False), gr.skip(), delete(spec, settings)
        return gr.Column(visible=True), question, gr.skip()

    def on_keep():
        return gr.Column(visible=False), "Kept."

    def on_delete(specs, spec, progress=gr.Progress()):
        message = delete(spec, settings)
        if not message.startswith("Deleted"):
            return gr.skip(), gr.skip(), gr.skip(), message, gr.skip(), gr.skip(), gr.Column(visible=False)
        remaining = [s for s in specs if s.id != spec.id]
        return (*shown(remaining, progress, message), None, gr.Column(visible=False), gr.Column(visible=False))

    def on_export(spec, progress=gr.Progress()):
        _wait(warmup, progress)
        progress(0.1, desc="Building the avatar…")
        try:
            files = export_ply(spec, settings)
        except RandomPeopleError as exc:
            gr.Warning(str(exc))
            return gr.skip(), f"**Cannot export:** {exc}"
        return gr.File(value=files, visible=True), f"Exported {Path(files[0]).name} and its rig sidecar."

    def on_import(file_path, specs, progress=gr.Progress()):
        if not file_path:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            spec = import_identity(file_path)
        except RandomPeopleError as exc:
            logger.info("Import refused: %s", exc)
            text = str(exc).replace("\n", "\n\n", 1)  # the list of problems as Markdown bullets
            return gr.skip(), gr.skip(), gr.skip(), f"{IMPORT_ERROR} {text}", gr.skip(), gr.skip()
        from random_people.avatar.store import save_identity

        save_identity(spec, identities_dir(settings))
        merged = [s for s in specs if s.id != spec.id] + [spec]
        return (*shown(merged, progress, f"Imported and saved {spec.id}: {describe(spec)}."), None,
                gr.Column(visible=False))

    listing = [c["specs"], c["gallery"], c["histogram"], c["status"], c["selected"], c["details"]]
    controls = [c[name] for name in ("count", "seed", "mode", "female_ratio", "age_min", "age_max", "skin_tones",
                                     "hair_styles", "tops")]
    c["sample"].click(on_sample, inputs=controls, outputs=listing, concurrency_id="people", concurrency_limit=1,
                      show_progress_on=c["gallery"])
    c["show_saved"].click(on_show_saved, outputs=listing, concurrency_id="people", concurrency_limit=1,
                          show_progress_on=c["gallery"])
    # The person's panel sits under the gallery: it opens at once, is scrolled into view, and the
    # turntable (seconds to render) arrives in it afterwards.
    c["gallery"].select(on_select, inputs=c["specs"],
                        outputs=[c["selected"], c["details"], c["turntable"], c["spec"], c["export_files"],
                                 c["person_title"], c["confirm_row"]], show_progress="hidden") \
        .then(None, js=SCROLL_TO_DETAILS) \
        .then(on_turntable, inputs=c["selected"], outputs=c["turntable"], concurrency_id="people",
              concurrency_limit=1, show_progress_on=c["turntable"])
    c["save"].click(on_save, inputs=c["specs"], outputs=c["status"], show_progress="hidden")
    c["delete"].click(on_ask_delete, inputs=c["selected"], outputs=[c["confirm_row"], c["confirm_text"], c["status"]],
                      show_progress="hidden")
    c["keep"].click(on_keep, outputs=[c["confirm_row"], c["status"]], show_progress="hidden")
    c["confirm_delete"].click(on_delete, inputs=[c["specs"], c["selected"]], outputs=[*listing, c["confirm_row"]],
                              show_progress="hidden")
    c["export"].click(on_export, inputs=c["selected"], outputs=[c["export_files"], c["status"]],
                      concurrency_id="people", concurrency_limit=1, show_progress_on=c["turntable"])
    c["import_file"].upload(on_import, inputs=[c["import_file"], c["specs"]], outputs=listing,
                            show_progress_on=c["gallery"])
