"""Pick and cache the configured body model, and say how its (slow, first-time) loading goes.

Building Anny the first time takes minutes (see :mod:`random_people.body.anny_cache`). Several
callers may need the model while that happens (the app's warm-up thread, an extraction, a
render), so loading is serialised by one lock and its progress is broadcast to every caller
that passed a ``progress`` callback, and kept in :func:`body_model_status` for status lines.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from typing import Callable

from random_people.body.base import BodyModel
from random_people.errors import BodyModelError
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

BODY_MODELS = ("anny", "smplx")

Progress = Callable[[float, str], None]


@dataclasses.dataclass(frozen=True)
class BodyModelStatus:
    """Where loading stands, for a status line: ``state`` is idle, loading, ready or failed."""

    state: str = "idle"
    fraction: float = 0.0
    message: str = ""
    started: float | None = None  # time.monotonic() when loading began

    @property
    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started


_load_lock = threading.Lock()
_listeners_lock = threading.Lock()
_listeners: list[Progress] = []
_status = BodyModelStatus()
_loaded: set[tuple[str, str]] = set()  # keys whose load finished (their status is final)


def body_model_status() -> BodyModelStatus:
    return _status


def _broadcast(fraction: float, message: str) -> None:
    global _status
    _status = dataclasses.replace(_status, state="loading", fraction=fraction, message=message)
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(fraction, message)


@functools.lru_cache(maxsize=4)
def _load(kind: str, smplx_model_path: str) -> BodyModel:
    if kind == "anny":
        from random_people.body.anny_cache import reporting_cache_build
        from random_people.body.anny_model import AnnyBodyModel

        with reporting_cache_build(_broadcast):
            return AnnyBodyModel()
    if kind == "smplx":
        from random_people.body.smplx_model import SMPLXBodyModel

        if not smplx_model_path:
            raise BodyModelError(
                "The SMPL-X body model needs its model files: download SMPL-X from "
                "https://smpl-x.is.tue.mpg.de (licence required) and set RP_SMPLX_MODEL_PATH to the "
                "SMPLX_NEUTRAL.npz file or the folder holding it."
            )
        return SMPLXBodyModel(smplx_model_path)
    raise BodyModelError(f"Unknown body model {kind!r}; choose one of {', '.join(BODY_MODELS)}.")


def load_body_model(settings: Settings | None = None, kind: str | None = None,
                    progress: Progress | None = None) -> BodyModel:
    """The body model named by ``kind`` or the settings, built once per process.

    ``progress(fraction, message)`` hears about a first-run cache build, whether this call or
    another thread started it; a model already loaded returns at once and reports nothing.
    """
    global _status
    settings = settings or load_settings()
    kind = (kind or settings.body_model).lower()
    if progress is not None:
        with _listeners_lock:
            _listeners.append(progress)
    key = (kind, settings.smplx_model_path if kind == "smplx" else "")
    try:
        with _load_lock:
            if key not in _loaded:
                _status = BodyModelStatus("loading", 0.0, f"Loading the {kind} body model", time.monotonic())
                try:
                    _load(*key)
                except Exception as exc:
                    _status = dataclasses.replace(_status, state="failed", message=str(exc) or type(exc).__name__)
                    raise
                _loaded.add(key)
                _status = dataclasses.replace(_status, state="ready", fraction=1.0,
                                              message=f"Body model ready ({_status.elapsed:.1f} s)")
            return _load(*key)
    finally:
        if progress is not None:
            with _listeners_lock:
                _listeners.remove(progress)
