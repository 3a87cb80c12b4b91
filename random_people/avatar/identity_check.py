"""Every problem of an identity file at once (``IdentitySpec.from_dict`` stops at the first).

A curator fixing a hand-written identity should see all that is wrong in one round, as job specs
do. Structure (mappings, unknown and missing keys) is checked at every level; then each value
is checked on its own, by putting it into a known-valid identity and letting
:meth:`IdentitySpec.from_dict` judge it (so the rules live in one place); cross-field rules
(sex vs gender, ancestry weights summing to 1) are checked last, on the whole file.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from random_people.avatar.identity import APPEARANCE_DEFAULTS, GARMENT_TYPES, BodySpec, IdentityError, IdentitySpec

TOP_KEYS = ({"seed", "body", "appearance"}, {"version", "provenance", "capture"})
BODY_KEYS = ({"sex", "gender", "age_years"}, set(BodySpec.__dataclass_fields__))
APPEARANCE_KEYS = ({"skin_tone", "hair_style", "hair_color", *GARMENT_TYPES}, set(APPEARANCE_DEFAULTS))
GARMENT_KEYS = ({"type", "color"}, {"pattern", "pattern_color"})
ANCESTRY = ("african", "asian", "caucasian")


def _baseline() -> dict[str, Any]:
    from random_people.avatar.sampler import sample_identity

    return sample_identity(0, 0).to_dict()


def _structure(data: Any, where: str, keys: tuple[set[str], set[str]], problems: list[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        problems.append(f"{where}: expected a mapping, got {type(data).__name__}.")
        return {}
    required, optional = keys
    for key in sorted(set(data) - required - optional):
        problems.append(f"{where}.{key}: unknown key; allowed keys are {', '.join(sorted(required | optional))}.")
    for key in sorted(required - set(data)):
        problems.append(f"{where}.{key}: missing required key.")
    return data


def _judge(candidate: dict[str, Any]) -> str | None:
    try:
        IdentitySpec.from_dict(candidate)
    except IdentityError as exc:
        return str(exc)
    except (TypeError, ValueError) as exc:  # a value of a type the dataclasses cannot even take
        return str(exc)
    return None


def identity_problems(data: Any) -> list[str]:
    """Every problem found in ``data`` (a parsed identity file), each naming its field; [] if valid."""
    if isinstance(data, Mapping) and _judge(dict(data)) is None:
        return []  # valid as a whole: nothing to list
    problems: list[str] = []
    top = _structure(data, "identity", TOP_KEYS, problems)
    body = _structure(top.get("body", {}), "body", BODY_KEYS, problems) if "body" in top else {}
    appearance = (_structure(top.get("appearance", {}), "appearance", APPEARANCE_KEYS, problems)
                  if "appearance" in top else {})
    garments = {slot: _structure(appearance[slot], f"appearance.{slot}", GARMENT_KEYS, problems)
                for slot in GARMENT_TYPES if slot in appearance}
    base = _baseline()
    # Appearance rules may depend on the body (facial hair needs an adult): judge appearance values
    # on the file's own body when that body is valid by itself.
    if isinstance(top.get("body"), Mapping):
        with_body = copy.deepcopy(base)
        with_body["body"] = dict(top["body"])
        if _judge(with_body) is None:
            base = with_body

    def check(change) -> None:
        candidate = copy.deepcopy(base)
        change(candidate)
        message = _judge(candidate)
        if message and message not in problems:
            problems.append(message)

    for key in ("seed", "version"):
        if key in top:
            check(lambda c, key=key: c.__setitem__(key, top[key]))
    for key, value in body.items():
        if key in BODY_KEYS[1] and key not in ANCESTRY and key not in ("sex", "gender"):
            check(lambda c, key=key, value=value: c["body"].__setitem__(key, value))
    if "sex" in body:  # with a gender that agrees, so only the sex itself is judged
        check(lambda c: c["body"].update(sex=body["sex"], gender=1.0 if body["sex"] == "female" else 0.0))
    if "gender" in body:
        check(lambda c: c["body"].update(gender=body["gender"], sex="female" if _number(body["gender"]) >= 0.5
                                         else "male"))
    if any(name in body for name in ANCESTRY):
        check(lambda c: c["body"].update({name: body.get(name, c["body"][name]) for name in ANCESTRY}))
    for key, value in appearance.items():
        if key not in GARMENT_TYPES and key in APPEARANCE_KEYS[0] | APPEARANCE_KEYS[1]:
            check(lambda c, key=key, value=value: c["appearance"].__setitem__(key, value))
    for slot, garment in garments.items():
        for key, value in garment.items():
            if key in GARMENT_KEYS[0] | GARMENT_KEYS[1]:
                check(lambda c, slot=slot, key=key, value=value: c["appearance"][slot].__setitem__(key, value))
    if not problems:  # each value is fine alone: the rules across fields decide
        message = _judge(dict(data))
        if message:
            problems.append(message)
    return problems


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
