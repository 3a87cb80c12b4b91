"""Everything a first start pays for once, done ahead of time: ``random-people setup``.

A fresh install builds Anny's body-model cache (1-5 min on 2 cores, ~0.9 GB under
``~/.cache/anny``) and compiles the CPU rasterizer's Numba kernels (cached beside the module).
Doing both here, with progress, lets a Docker image, a CI run or a user pay once up front
instead of on the first extraction or the first live render.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable

from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

BODY_MODEL_SHARE = 0.85  # of the whole setup's progress bar; the kernels take the rest


@dataclasses.dataclass(frozen=True)
class SetupReport:
    cache_dir: str
    cache_was_built: bool  # False: this run built it
    body_model_seconds: float
    kernels_seconds: float

    def lines(self) -> list[str]:
        from random_people.body.anny_cache import anny_cache_size_bytes

        state = "was already built" if self.cache_was_built else "built now (once per machine)"
        return [
            f"body model: Anny cache {state}: {self.cache_dir} "
            f"({anny_cache_size_bytes() / 1e9:.2f} GB); loaded in {self.body_model_seconds:.1f} s",
            f"renderer: CPU rasterizer kernels compiled or loaded from Numba's cache in {self.kernels_seconds:.1f} s",
            "ready: extraction, rendering and the app now start without first-run waits",
        ]


def prepare(settings: Settings | None = None, progress: Progress | None = None) -> SetupReport:
    """Build the body-model cache and compile the renderer's kernels; cheap when already done."""
    from random_people.body.anny_cache import anny_cache_built, anny_cache_dir
    from random_people.body.registry import load_body_model

    settings = settings or load_settings()
    report = progress or (lambda fraction, message: None)
    was_built = anny_cache_built()
    report(0.0, "Loading the body model" if was_built else "Building the body-model cache")
    started = time.perf_counter()
    load_body_model(settings, kind="anny",
                    progress=lambda fraction, message: report(BODY_MODEL_SHARE * fraction, message))
    body_seconds = time.perf_counter() - started

    from random_people.render.cpu_backend import warm_up

    report(BODY_MODEL_SHARE, "Compiling the CPU rasterizer kernels")
    kernels_seconds = warm_up()
    report(1.0, "Ready")
    logger.info("Setup done: body model %.1f s, kernels %.1f s", body_seconds, kernels_seconds)
    return SetupReport(str(anny_cache_dir()), was_built, body_seconds, kernels_seconds)
