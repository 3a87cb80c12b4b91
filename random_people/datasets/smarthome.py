"""Toyota Smarthome file names: ``<Activity>_p<subject>_r<routine>_v<video>_c<camera>.mp4``.

Smarthome ships no label file; everything a job or an experiment needs (the action, the real
subject, the camera) is in the name, e.g. ``Cook.Cleandishes_p02_r00_v02_c03.mp4``. Parsing it in
one place keeps the bulk-job labels and the cross-subject / cross-view protocols consistent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

_NAME = re.compile(r"^(?P<action>[A-Za-z][A-Za-z0-9.\-]*)_p(?P<subject>\d+)_r(?P<routine>\d+)_v(?P<video>\d+)_c(?P<camera>\d+)$")


@dataclass(frozen=True)
class SmarthomeName:
    """The fields of one Smarthome clip name (numbers as integers, action as written)."""

    action: str
    subject: int
    routine: int
    video: int
    camera: int

    @property
    def subject_id(self) -> str:
        """The real person's id as used for leak-free splits, e.g. ``p02``."""
        return f"p{self.subject:02d}"


def parse_smarthome_name(name: str | PurePath) -> SmarthomeName:
    """Fields of a Smarthome clip name (path, file name or stem); ``ValueError`` says what is expected."""
    stem = PurePath(name).stem if not isinstance(name, PurePath) else name.stem
    match = _NAME.match(stem)
    if not match:
        raise ValueError(
            f"{PurePath(name).name!r} is not a Toyota Smarthome clip name; expected "
            "<Activity>_p<subject>_r<routine>_v<video>_c<camera>.mp4, e.g. Cook.Cleandishes_p02_r00_v02_c03.mp4."
        )
    return SmarthomeName(
        action=match["action"], subject=int(match["subject"]), routine=int(match["routine"]),
        video=int(match["video"]), camera=int(match["camera"]),
    )


def is_smarthome_name(name: str | PurePath) -> bool:
    try:
        parse_smarthome_name(name)
    except ValueError:
        return False
    return True
