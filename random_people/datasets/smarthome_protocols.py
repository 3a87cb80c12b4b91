"""Toyota Smarthome's evaluation protocols: which clips train, validate and test.

From the dataset paper (Das et al., ICCV 2019): cross-subject (CS) splits by the person filmed,
cross-view CV1 and CV2 split by camera. Clips outside a protocol's sets (e.g. cameras 3, 4, 6, 7
under CV1) are not used by it. Keeping the tables here, beside the file-name parser, means the
experiments and the bulk jobs agree on who is a test subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from random_people.datasets.smarthome import parse_smarthome_name


@dataclass(frozen=True)
class SmarthomeProtocol:
    """Train/validation/test membership by subject number (CS) or camera number (CV1, CV2)."""

    name: str
    by: str  # "subject" or "camera"
    train: frozenset[int]
    validation: frozenset[int]
    test: frozenset[int]

    def split_of(self, name: str | PurePath) -> str | None:
        """``"train"``, ``"validation"``, ``"test"``, or None when the protocol does not use the clip."""
        parsed = parse_smarthome_name(name)
        key = parsed.subject if self.by == "subject" else parsed.camera
        for split, members in (("train", self.train), ("validation", self.validation), ("test", self.test)):
            if key in members:
                return split
        return None


PROTOCOLS: dict[str, SmarthomeProtocol] = {
    "CS": SmarthomeProtocol(
        "CS", "subject",
        train=frozenset({3, 4, 6, 7, 9, 12, 13, 15, 17, 19, 25}),
        validation=frozenset(),
        test=frozenset({2, 10, 11, 14, 16, 18, 20}),
    ),
    "CV1": SmarthomeProtocol("CV1", "camera", train=frozenset({1}), validation=frozenset({5}), test=frozenset({2})),
    "CV2": SmarthomeProtocol(
        "CV2", "camera", train=frozenset({1, 3, 4, 6, 7}), validation=frozenset({5}), test=frozenset({2}),
    ),
}


def get_protocol(name: str) -> SmarthomeProtocol:
    """The protocol called ``name`` (case-insensitive); ``ValueError`` lists the known ones."""
    key = name.upper()
    if key not in PROTOCOLS:
        raise ValueError(f"Unknown Smarthome protocol {name!r}; use one of {', '.join(PROTOCOLS)}.")
    return PROTOCOLS[key]
