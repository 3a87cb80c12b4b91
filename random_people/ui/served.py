"""What the app's file route may serve: the outputs, previews and thumbnails its tabs show, nothing else.

Gradio serves every file under ``launch(allowed_paths=...)`` to anyone who can reach the page
(``/gradio_api/file=<absolute path>``), and the app may run as a public Space. So the data folder
as a whole is never allowed: only the folders whose files the tabs display or offer for download.
The job log, the worker logs, uploaded source clips and the experiments' caches are also listed
as blocked, which Gradio enforces before anything else (even for files it copies into its cache).
"""

from __future__ import annotations

from pathlib import Path

from random_people.settings import Settings

# Sub-folders of the data folder whose files a tab shows or offers for download.
SERVED_DATA_FOLDERS = (
    "motions",                 # Clip & pose: overlay preview, .npz, .bvh, mesh of the fitted body
    "renders",                 # Render tab clips, and every job's clips (the app's jobs write here only)
    "thumbs",                  # Review tab: first-frame thumbnails of clips
    "identities/thumbs",       # People tab: gallery thumbnails
    "identities/turntables",   # People tab: turntable videos
    "identities/exports",      # People tab: avatar .ply + rig sidecar downloads
)
# Never served, whatever else is allowed: the job log (any SQLite sidecar too), worker logs with
# the machine's paths, uploaded source clips, experiment caches.
PRIVATE_DATA_ENTRIES = ("logs", "sources", "experiments", "datasets")
DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def served_folders(settings: Settings) -> list[Path]:
    """Absolute folders the app may serve: the output folders above and the shipped assets."""
    from random_people.render.backgrounds import backgrounds_dir
    from random_people.ui.app import examples_dir

    data = settings.data_dir.resolve()
    return [data / name for name in SERVED_DATA_FOLDERS] + [examples_dir().resolve(), backgrounds_dir().resolve()]


def private_paths(settings: Settings) -> list[Path]:
    """Absolute paths the app must never serve (Gradio's ``blocked_paths``)."""
    data = settings.data_dir.resolve()
    private = [data / name for name in PRIVATE_DATA_ENTRIES]
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        database = Path(url[len("sqlite:///"):]).resolve()
        private += [database.with_name(database.name + suffix) for suffix in DATABASE_SUFFIXES]
    return private


def is_served(path: str | Path, settings: Settings) -> bool:
    """True if the app may show ``path`` (symlinks followed): inside a served folder, not private."""
    real = Path(path).resolve()
    inside = lambda folder: real == folder or real.is_relative_to(folder)  # noqa: E731
    return any(map(inside, served_folders(settings))) and not any(map(inside, private_paths(settings)))
