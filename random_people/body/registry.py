"""Pick and cache the configured body model (building Anny is slow the first time)."""

from __future__ import annotations

import functools
import logging

from random_people.body.base import BodyModel
from random_people.errors import BodyModelError
from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

BODY_MODELS = ("anny", "smplx")


@functools.lru_cache(maxsize=4)
def _load(kind: str, smplx_model_path: str) -> BodyModel:
    if kind == "anny":
        from random_people.body.anny_model import AnnyBodyModel

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


def load_body_model(settings: Settings | None = None, kind: str | None = None) -> BodyModel:
    """The body model named by ``kind`` or the settings, built once per process."""
    settings = settings or load_settings()
    kind = (kind or settings.body_model).lower()
    return _load(kind, settings.smplx_model_path if kind == "smplx" else "")
