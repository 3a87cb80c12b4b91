"""Body models behind one interface: Anny (default, open, offline) and SMPL-X (user-supplied files)."""

from random_people.body.base import BodyModel, PreparedBody, PosedBody
from random_people.body.registry import load_body_model

__all__ = ["BodyModel", "PreparedBody", "PosedBody", "load_body_model"]
