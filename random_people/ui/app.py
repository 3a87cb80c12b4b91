"""The Gradio app: one Blocks page, one module per tab, no business logic here.

Tabs call library functions (``random_people.pose``, ``random_people.media``); this module only
wires them together, warms the body model and decides where the server listens.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import gradio as gr

from random_people.settings import Settings, load_settings
from random_people.ui.served import private_paths, served_folders

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
SPACE_PORT = 7860

CSS = """
.rp-header h1 { margin-bottom: 0.1em; }
.rp-header p { margin-top: 0; color: var(--body-text-color-subdued); }
.rp-status { padding: 0.5em 0.9em; border-radius: var(--radius-md); background: var(--background-fill-secondary); }
#extract-button { min-height: 3em; }
/* A result panel with nothing to show yet: mounted (a 3D canvas needs that) but collapsed. */
.rp-empty { visibility: hidden; max-height: 0; overflow: hidden; margin: 0 !important; padding: 0 !important; }
footer { display: none !important; }
"""


class BodyModelWarmup:
    """Loads the body model once in a background thread so the page never looks frozen.

    On a fresh machine Anny builds a ~1 minute cache on first load; starting it when the app
    starts (not on the first click) hides most of that wait, and the tab shows a status line
    instead of a spinner that seems stuck. Extraction calls :meth:`wait` before it starts.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.error: str = ""
        self.phase: str = ""  # what the warm-up does after the body model ("" while loading it)
        self.fraction: float = 0.0

    def start(self) -> "BodyModelWarmup":
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="body-model-warmup", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        from random_people.body import load_body_model

        try:
            load_body_model(self.settings)
        except Exception as exc:  # shown in the UI; extraction will raise it again with context
            logger.exception("Body model failed to load")
            self.error = str(exc) or exc.__class__.__name__
            self._done.set()
            return
        try:
            # The first live render of a process paid 20-40 s of one-off costs (kernels, first avatar,
            # encoders); pay them now, in the background, with the status line saying so.
            from random_people.first_run import warm_render

            warm_render(self.settings, progress=self._report)
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first render is slower
            logger.exception("Warming the renderer failed; the first render will pay its start-up costs")
        finally:
            self.phase = ""
            self._done.set()

    def _report(self, fraction: float, message: str) -> None:
        self.fraction, self.phase = float(fraction), message

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading finished (successfully or not); True if it finished in time."""
        self.start()
        return self._done.wait(timeout)

    def status_markdown(self) -> str:
        """One line for the page: empty once the model is ready, so nothing clutters the tab."""
        if not self.done:
            if self.phase:
                return f"Getting the renderer ready ({100 * self.fraction:.0f} %): {self.phase}…"
            return loading_message() + "…"
        if self.error:
            return f"**The body model could not be loaded:** {self.error}"
        return ""


def loading_message() -> str:
    """What the body model's loading is doing now, with real progress and elapsed time.

    A first start builds Anny's cache (1-5 minutes, once per machine); the message then counts
    the shapes read so far (see :mod:`random_people.body.anny_cache`).
    """
    from random_people.body.anny_cache import format_elapsed
    from random_people.body.registry import body_model_status

    status = body_model_status()
    if status.state == "loading" and status.message:
        if "cache" in status.message:
            return status.message
        return f"{status.message} ({format_elapsed(status.elapsed)} elapsed)"
    return "Preparing the body model"


def examples_dir() -> Path:
    """Where the shipped example clips live (repository checkout or the Docker image's /app)."""
    for candidate in (REPO_ROOT / "assets" / "examples", Path.cwd() / "assets" / "examples"):
        if candidate.is_dir():
            return candidate
    return REPO_ROOT / "assets" / "examples"


def build_app(settings: Settings | None = None, warmup: BodyModelWarmup | None = None) -> gr.Blocks:
    """The whole page. Starts the body-model warm-up, so build it once per process."""
    from random_people.ui.clip_tab import build_clip_tab
    from random_people.ui.hub_tab import build_hub_tab
    from random_people.ui.jobs_tab import build_jobs_tab
    from random_people.ui.people_tab import build_people_tab
    from random_people.ui.render_tab import build_render_tab
    from random_people.ui.review_tab import build_review_tab

    settings = settings or load_settings()
    warmup = (warmup or BodyModelWarmup(settings)).start()
    # delete_cache: uploads and served copies in Gradio's cache go after a day, checked hourly,
    # so a long-running Space does not fill its disk.
    with gr.Blocks(title="RANDOM People", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(
            "# RANDOM People\n"
            "Turn a real clip of a person into a reusable 3D motion, re-render it with other people, "
            "in bulk, review the clips and publish them as a dataset.",
            elem_classes="rp-header",
        )
        with gr.Tabs() as tabs:
            with gr.Tab("Clip & pose", id="clip"):
                clip = build_clip_tab(settings, warmup)
            with gr.Tab("People", id="people"):
                build_people_tab(settings, warmup)
            with gr.Tab("Render", id="render") as render_tab:
                # The Render tab reads the motion extracted in this session from the clip tab's state.
                build_render_tab(settings, clip["motion_path"], render_tab, warmup)
            with gr.Tab("Jobs", id="jobs") as jobs_tab:
                # A job built here re-renders the clip, trim and action name of the clip tab.
                build_jobs_tab(settings, clip, jobs_tab, tabs=tabs)
            with gr.Tab("Review", id="review") as review_tab:
                build_review_tab(settings, review_tab)
            with gr.Tab("Dataset & Hub", id="hub") as hub_tab:
                build_hub_tab(settings, tab=hub_tab, tabs=tabs)
    return demo


def server_address(settings: Settings) -> tuple[str, int]:
    """0.0.0.0:7860 inside a Hugging Face Space (which sets SPACE_ID), else the settings.

    ``RP_SERVER_NAME`` / ``RP_SERVER_PORT`` already reach ``settings`` through load_settings,
    which is how the Docker image listens on 0.0.0.0.
    """
    if os.environ.get("SPACE_ID"):
        return "0.0.0.0", SPACE_PORT
    return settings.server_name, settings.server_port


def launch_kwargs(settings: Settings) -> dict:
    """Arguments for ``Blocks.launch``: where to listen, what files may be served, limits, look."""
    from random_people.ui.review_tab import CSS as REVIEW_CSS
    from random_people.ui.review_tab import KEYS_JS as REVIEW_KEYS_JS

    server_name, server_port = server_address(settings)
    return dict(
        server_name=server_name,
        server_port=server_port,
        # Only what the tabs show (outputs, previews, thumbnails, shipped assets); never the job log,
        # worker logs or uploads (see ui/served.py). The app may be a public Space.
        allowed_paths=[str(path) for path in served_folders(settings)],
        blocked_paths=[str(path) for path in private_paths(settings)],
        # Refuse oversized uploads before they fill the disk; probe_video gives the friendly message.
        max_file_size=f"{int(settings.max_upload_mb)}mb",
        show_error=True,
        ssr_mode=False,
        theme=gr.themes.Soft(primary_hue="indigo"),
        css=CSS + REVIEW_CSS,
        head=REVIEW_KEYS_JS,  # keyboard review (A / R / U / N / P) on the Review tab
    )


def launch(settings: Settings | None = None, **overrides) -> None:
    """Build the app and serve it (blocking unless ``prevent_thread_lock=True`` is passed)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    settings = settings or load_settings()
    settings.ensure_dirs()
    demo = build_app(settings)
    demo.queue(default_concurrency_limit=1)  # extraction uses every core; one at a time
    demo.launch(**{**launch_kwargs(settings), **overrides})
