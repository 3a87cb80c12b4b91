"""Identity specs: who is rendered, as plain data that can be hashed, stored and re-made.

An :class:`IdentitySpec` is everything that decides what a synthetic person looks like, and
nothing about how they move: a seed (for any randomness an avatar builder needs), a body
(:class:`BodySpec`, a human-readable phenotype mapped onto Anny's by :func:`anny_phenotype`), an
appearance (:class:`AppearanceSpec`: skin tone, hair, three garments) and a provenance record
(how the spec was made). Specs are frozen and validated on construction, so an invalid person
cannot exist in memory, and :func:`identity_id` gives each a short content address.

Units and scales, chosen so a curator can read a spec without knowing Anny:

- ``sex`` is ``"female"`` or ``"male"``; ``gender`` is the continuous blend Anny uses, in **Anny's
  own convention: 0 = male, 1 = female** (``PHENOTYPE_VARIATIONS["gender"] == ["male", "female"]``
  in ``anny/models/model_data.py``, and Anny's shape sampler treats ``gender <= 0.5`` as boys).
  ``sex`` must agree with the side of 0.5 that ``gender`` is on.
- ``age_years`` is an age in years (1 to 90), mapped to Anny's age parameter with Anny's own
  WHO-calibrated table (see :data:`ANNY_AGE_TABLE`).
- ``height`` is a **z-score**: standard deviations from the average height for this age and sex,
  as Anny's calibrated height distribution defines it (0 = average, +2 = tall, -2 = short).
- ``weight``, ``muscle`` and ``proportions`` are Anny's own [0, 1] values (0.5 = Anny's average;
  proportions 0 = "ideal", 1 = "uncommon"), because they have no agreed real-world unit.
- ``african``, ``asian``, ``caucasian`` are ancestry blend weights summing to 1 (Anny's three
  ancestry shape families; Anny normalises them the same way, so they pass straight through).
- Skin tone is on the Monk Skin Tone (MST) scale 1-10; hair colour and clothing colours are
  stored as ``#rrggbb`` (hair colours by name, see :data:`HAIR_COLORS`).
- Eye (iris) colour is a name from :data:`IRIS_COLORS`, facial hair one of :data:`FACIAL_HAIR`
  (only from 14 years). Both were added after the first release: files without them load with
  the defaults (brown, none), and a spec at those defaults keeps the id it had before.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from random_people.errors import RandomPeopleError

logger = logging.getLogger(__name__)

IDENTITY_FORMAT_VERSION = 1


class IdentityError(RandomPeopleError):
    """An identity spec or an identity distribution is invalid (the message names the field)."""

    exit_code = 14


SEXES = ("female", "male")
AGE_MIN_YEARS, AGE_MAX_YEARS = 1.0, 90.0
HEIGHT_Z_LIMIT = 3.0  # |z| beyond 3 SD is outside what Anny's height targets can show anyway
ANCESTRIES = ("african", "asian", "caucasian")
ANCESTRY_SUM_TOLERANCE = 1e-3

# Monk Skin Tone scale (Ellis Monk, 2019; published by Google at skintone.google), approximate
# sRGB swatches of its ten orbs, lightest (1) to darkest (10). Values written from the public scale.
MONK_SKIN_TONES: dict[int, str] = {
    1: "#f6ede4",
    2: "#f3e7db",
    3: "#f7ead0",
    4: "#eadaba",
    5: "#d7bd96",
    6: "#a07e56",
    7: "#825c43",
    8: "#604134",
    9: "#3a312a",
    10: "#292420",
}
# Coarse groups used for reporting and for balanced sampling.
SKIN_TONE_GROUPS: dict[str, tuple[int, ...]] = {"light": (1, 2, 3), "medium": (4, 5, 6, 7), "dark": (8, 9, 10)}

HAIR_STYLES = ("bald", "buzz", "short", "medium", "long", "bun", "curly")
HAIR_COLORS: dict[str, str] = {
    "black": "#1c1816",
    "dark_brown": "#3b2a20",
    "brown": "#6b4a2f",
    "auburn": "#7c3a1e",
    "red": "#a4452a",
    "blonde": "#c8a267",
    "light_blonde": "#e2cc96",
    "grey": "#8e8b87",
    "white": "#dedbd5",
}
TOPS = ("tshirt", "longsleeve", "tank", "hoodie", "dress")
# "none" is only valid under a dress (the dress covers the legs' garment slot).
BOTTOMS = ("shorts", "trousers", "skirt", "leggings", "none")
SHOES = ("sneakers", "boots", "sandals", "barefoot")
PATTERNS = ("solid", "stripes", "checks", "plaid", "dots", "denim", "print")
IRIS_COLORS = ("dark_brown", "brown", "amber", "hazel", "green", "blue", "grey")
FACIAL_HAIR = ("none", "stubble", "moustache", "goatee", "beard")
FACIAL_HAIR_MIN_AGE = 14.0
# Appearance fields added after format 1 shipped, with the value old files mean.
APPEARANCE_DEFAULTS: dict[str, str] = {"iris_color": "brown", "facial_hair": "none"}
GARMENT_TYPES: dict[str, tuple[str, ...]] = {"top": TOPS, "bottom": BOTTOMS, "shoes": SHOES}

# Named clothing colours accepted wherever a colour is (specs always store the hex).
CLOTHING_COLORS: dict[str, str] = {
    "black": "#1e1e1e",
    "white": "#f2f2f0",
    "grey": "#8a8a8a",
    "charcoal": "#3c3f44",
    "navy": "#1f2a44",
    "blue": "#2f5fa8",
    "light_blue": "#8fb8de",
    "denim": "#4a6587",
    "red": "#b3261e",
    "burgundy": "#6d1f2c",
    "orange": "#e07a1f",
    "yellow": "#e8c547",
    "green": "#2e7d32",
    "olive": "#6b6b3a",
    "teal": "#1f7a7a",
    "purple": "#5e3a87",
    "pink": "#e59bb4",
    "beige": "#d8c7a5",
    "brown": "#6b4a2f",
    "khaki": "#a89f72",
}

# Anny's age parameter <-> age in years. Anny's blend-shape anchors are newborn, baby, child,
# young, old at -1/3, 0, 1/3, 2/3, 1 (``make_phenotype_anchors`` in anny/models/phenotype.py), but
# those anchors are shapes, not ages. Anny's own shape sampler maps "morphological age" in years
# to that parameter with a piecewise-linear table calibrated on WHO height-for-age data
# (anny/data/shape_calibration/{boys,girls}.pth, "morphological_age_mapping"; the same for both
# sexes). We use that table, so the age parameter in [0, 1] means: 0 -> 0 y, 0.05 -> 1 y,
# 0.215 -> 4 y, 0.415 -> 11 y, 0.67 -> 16 y ("young" shape), 0.77 -> 18 y, 0.83 -> 64 y,
# 1.0 -> 110 y ("old" shape). Our 1-90 years therefore span Anny ages 0.05 to ~0.926.
# tests/test_identity.py checks this table against the installed Anny's calibration file.
ANNY_AGE_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 0.0), (1.0, 0.05), (4.0, 0.215), (11.0, 0.415), (16.0, 0.67), (18.0, 0.77), (64.0, 0.83), (110.0, 1.0),
)
# Anny's calibrated height-for-age reference: the height phenotype is Beta(alpha, beta) at each Anny
# age anchor, interpolated linearly in between and held constant past the last anchor (adults).
# Values from the same calibration files ("conditional_height_distribution"), rounded to 4 decimals.
ANNY_HEIGHT_AGE_ANCHORS: tuple[float, ...] = (0.0, 0.05, 0.215, 0.415, 0.67)
ANNY_HEIGHT_BETA: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "male": ((21.5957, 51.9783, 22.1473, 13.4045, 16.4956), (58.6005, 57.3600, 45.8586, 22.1050, 25.6562)),
    "female": ((29.5207, 66.2820, 31.8161, 21.2642, 13.6839), (96.7224, 74.5405, 59.4907, 23.9753, 25.7476)),
}

AGE_GROUPS: dict[str, tuple[float, float]] = {
    "child": (1.0, 13.0), "teen": (13.0, 18.0), "adult": (18.0, 60.0), "older": (60.0, 90.0),
}

_HEX = re.compile(r"^#[0-9a-f]{6}$")


def age_group(age_years: float) -> str:
    """child [1, 13), teen [13, 18), adult [18, 60), older [60, 90]."""
    for name, (low, high) in AGE_GROUPS.items():
        if low <= age_years < high:
            return name
    return "older"


def skin_tone_group(tone: int) -> str:
    """light (MST 1-3), medium (4-7) or dark (8-10)."""
    for name, tones in SKIN_TONE_GROUPS.items():
        if tone in tones:
            return name
    raise IdentityError(f"appearance.skin_tone: {tone!r} is not a Monk Skin Tone (1-10).")


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> (r, g, b) in 0-255."""
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def normalize_color(value: Any, where: str) -> str:
    """A clothing colour as canonical lowercase ``#rrggbb``; accepts a hex code or a name from
    :data:`CLOTHING_COLORS`. Canonical form matters: the identity id hashes the stored string."""
    if not isinstance(value, str):
        raise IdentityError(f"{where}: expected a colour string like '#2f5fa8' or 'navy', got {value!r}.")
    text = value.strip().lower()
    if text in CLOTHING_COLORS:
        return CLOTHING_COLORS[text]
    if _HEX.match(text):
        return text
    raise IdentityError(
        f"{where}: {value!r} is not a colour; use '#rrggbb' or one of {', '.join(CLOTHING_COLORS)}."
    )


def checked_number(value: Any, where: str, low: float, high: float) -> float:
    """``value`` as a float in [low, high], or an IdentityError naming ``where`` (shared with the sampler)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise IdentityError(f"{where}: expected a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise IdentityError(f"{where}: {value!r} is outside [{low:g}, {high:g}].")
    return value


def _choice(value: Any, where: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise IdentityError(f"{where}: unknown value {value!r}; choose one of {', '.join(options)}.")
    return value


@dataclass(frozen=True)
class BodySpec:
    """Body phenotype in readable units (see the module docstring for every scale)."""

    sex: str
    gender: float  # Anny convention: 0 = male, 1 = female
    age_years: float
    height: float = 0.0  # z-score against Anny's height-for-age-and-sex reference
    weight: float = 0.5
    muscle: float = 0.5
    proportions: float = 0.5
    african: float = 1 / 3
    asian: float = 1 / 3
    caucasian: float = 1 / 3

    def __post_init__(self) -> None:
        _choice(self.sex, "body.sex", SEXES)
        numbers = {
            "gender": (0.0, 1.0), "age_years": (AGE_MIN_YEARS, AGE_MAX_YEARS),
            "height": (-HEIGHT_Z_LIMIT, HEIGHT_Z_LIMIT), "weight": (0.0, 1.0), "muscle": (0.0, 1.0),
            "proportions": (0.0, 1.0), "african": (0.0, 1.0), "asian": (0.0, 1.0), "caucasian": (0.0, 1.0),
        }
        for name, (low, high) in numbers.items():
            # Coerce ints to floats so 30 and 30.0 hash to the same identity.
            object.__setattr__(self, name, checked_number(getattr(self, name), f"body.{name}", low, high))
        if (self.sex == "female") != (self.gender >= 0.5) and self.gender != 0.5:
            raise IdentityError(
                f"body.gender: {self.gender:g} contradicts sex {self.sex!r} (Anny's convention: 0 = male, "
                f"1 = female; a {self.sex} needs gender {'>=' if self.sex == 'female' else '<='} 0.5)."
            )
        total = self.african + self.asian + self.caucasian
        if abs(total - 1.0) > ANCESTRY_SUM_TOLERANCE:
            raise IdentityError(
                f"body.african/asian/caucasian: ancestry weights must sum to 1 (got {total:.4f})."
            )

    @property
    def ancestry(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in ANCESTRIES}

    @property
    def dominant_ancestry(self) -> str:
        """The largest ancestry weight (ties go to the first in :data:`ANCESTRIES`)."""
        weights = self.ancestry
        return max(ANCESTRIES, key=lambda name: weights[name])

    @property
    def age_group(self) -> str:
        return age_group(self.age_years)


@dataclass(frozen=True)
class Garment:
    """One garment slot: type, base colour, pattern and the pattern's second colour."""

    type: str
    color: str
    pattern: str = "solid"
    pattern_color: str = ""  # stripes/checks/dots colour; always ``color`` for a solid garment

    def validated(self, slot: str) -> Garment:
        where = f"appearance.{slot}"
        _choice(self.type, f"{where}.type", GARMENT_TYPES[slot])
        _choice(self.pattern, f"{where}.pattern", PATTERNS)
        color = normalize_color(self.color, f"{where}.color")
        second = normalize_color(self.pattern_color or color, f"{where}.pattern_color")
        if self.pattern == "solid":  # canonical: a solid garment's second colour is unused, so one spelling
            second = color
        return Garment(self.type, color, self.pattern, second)

    @property
    def rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(self.color)


@dataclass(frozen=True)
class AppearanceSpec:
    """Skin, hair and clothes."""

    skin_tone: int  # Monk Skin Tone 1-10
    hair_style: str
    hair_color: str  # a name from HAIR_COLORS
    top: Garment
    bottom: Garment
    shoes: Garment
    iris_color: str = APPEARANCE_DEFAULTS["iris_color"]  # a name from IRIS_COLORS
    facial_hair: str = APPEARANCE_DEFAULTS["facial_hair"]  # a name from FACIAL_HAIR

    def __post_init__(self) -> None:
        tone = self.skin_tone
        if isinstance(tone, bool) or not isinstance(tone, int) or tone not in MONK_SKIN_TONES:
            raise IdentityError(f"appearance.skin_tone: {self.skin_tone!r} is not a Monk Skin Tone (an integer 1-10).")
        _choice(self.hair_style, "appearance.hair_style", HAIR_STYLES)
        _choice(self.hair_color, "appearance.hair_color", tuple(HAIR_COLORS))
        _choice(self.iris_color, "appearance.iris_color", IRIS_COLORS)
        _choice(self.facial_hair, "appearance.facial_hair", FACIAL_HAIR)
        for slot in GARMENT_TYPES:
            garment = getattr(self, slot)
            if not isinstance(garment, Garment):
                raise IdentityError(f"appearance.{slot}: expected a Garment, got {garment!r}.")
            object.__setattr__(self, slot, garment.validated(slot))
        if (self.top.type == "dress") != (self.bottom.type == "none"):
            raise IdentityError(
                f"appearance.bottom.type: {self.bottom.type!r} with top {self.top.type!r}; the bottom is "
                "'none' exactly when the top is a dress."
            )

    @property
    def skin_rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(MONK_SKIN_TONES[self.skin_tone])

    @property
    def hair_rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(HAIR_COLORS[self.hair_color])

    @property
    def skin_tone_group(self) -> str:
        return skin_tone_group(self.skin_tone)


PROVENANCE_KINDS = ("sampled", "manual", "imported", "captured")


@dataclass(frozen=True)
class IdentitySpec:
    """A synthetic person: seed + body + appearance + how the spec was made.

    ``provenance`` is a JSON-able dict with ``kind`` in :data:`PROVENANCE_KINDS`; the sampler
    records its distribution, mode, seed and index there. It is deliberately *not* part of
    :func:`identity_id`: the id names the person the renderer will draw, so the same person
    reached by sampling and by hand gets the same id (and the same cached avatar).
    """

    seed: int
    body: BodySpec
    appearance: AppearanceSpec
    provenance: dict[str, Any] = field(default_factory=lambda: {"kind": "manual"})
    # A captured person's own surface colours (see random_people.avatar.capture.albedo): None for
    # sampled people. Unlike provenance it changes what is drawn, so it is part of the id.
    capture: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise IdentityError(f"seed: expected an integer in [0, 2**63), got {self.seed!r}.")
        if not isinstance(self.body, BodySpec):
            raise IdentityError(f"body: expected a BodySpec, got {type(self.body).__name__}.")
        if not isinstance(self.appearance, AppearanceSpec):
            raise IdentityError(f"appearance: expected an AppearanceSpec, got {type(self.appearance).__name__}.")
        if not isinstance(self.provenance, dict) or self.provenance.get("kind") not in PROVENANCE_KINDS:
            raise IdentityError(
                f"provenance.kind: expected a dict with kind in {', '.join(PROVENANCE_KINDS)}, got {self.provenance!r}."
            )
        if self.appearance.facial_hair != "none" and self.body.age_years < FACIAL_HAIR_MIN_AGE:
            raise IdentityError(
                f"appearance.facial_hair: {self.appearance.facial_hair!r} on a {self.body.age_years:g}-year-old; "
                f"facial hair needs an age of at least {FACIAL_HAIR_MIN_AGE:g} years (use 'none')."
            )
        try:
            json.dumps(self.provenance, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise IdentityError(f"provenance: must be plain JSON data ({exc}).") from exc
        if self.capture is not None:
            from random_people.avatar.capture.albedo import check_capture_record

            check_capture_record(self.capture)
            if self.provenance.get("kind") != "captured":
                raise IdentityError("capture: captured colours need provenance kind 'captured' (with its consent record).")
            consent = self.provenance.get("consent")
            if not isinstance(consent, dict) or not str(consent.get("statement", "")).strip():
                raise IdentityError("provenance.consent: a captured person's identity must carry their consent record "
                                    "(statement, recorded_by, date).")
        elif self.provenance.get("kind") == "captured":
            raise IdentityError("provenance.kind: 'captured' needs the captured colours (the 'capture' field).")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; :meth:`from_dict` inverts it exactly."""
        return {
            "version": IDENTITY_FORMAT_VERSION,
            "seed": self.seed,
            "body": _fields(self.body),
            "appearance": {
                "skin_tone": self.appearance.skin_tone,
                "hair_style": self.appearance.hair_style,
                "hair_color": self.appearance.hair_color,
                **{slot: _fields(getattr(self.appearance, slot)) for slot in GARMENT_TYPES},
                "iris_color": self.appearance.iris_color,
                "facial_hair": self.appearance.facial_hair,
            },
            "provenance": json.loads(json.dumps(self.provenance)),
            **({"capture": dict(self.capture)} if self.capture is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentitySpec:
        """Validate and build; every error names the offending field (``body.age_years``, ...)."""
        data = _mapping(data, "identity")
        _check_keys(data, "identity", required={"seed", "body", "appearance"}, optional={"version", "provenance", "capture"})
        version = data.get("version", IDENTITY_FORMAT_VERSION)
        if version != IDENTITY_FORMAT_VERSION:
            raise IdentityError(
                f"version: identity format {version!r} is not supported (expected {IDENTITY_FORMAT_VERSION})."
            )
        body = _mapping(data["body"], "body")
        body_fields = set(BodySpec.__dataclass_fields__)
        _check_keys(body, "body", required={"sex", "gender", "age_years"}, optional=body_fields)
        appearance = _mapping(data["appearance"], "appearance")
        _check_keys(
            appearance, "appearance", required={"skin_tone", "hair_style", "hair_color", *GARMENT_TYPES},
            optional=set(APPEARANCE_DEFAULTS),
        )
        garments = {}
        for slot in GARMENT_TYPES:
            garment = _mapping(appearance[slot], f"appearance.{slot}")
            _check_keys(
                garment, f"appearance.{slot}", required={"type", "color"}, optional={"pattern", "pattern_color"}
            )
            garments[slot] = Garment(**garment)
        return cls(
            seed=data["seed"],
            body=BodySpec(**body),
            appearance=AppearanceSpec(
                skin_tone=appearance["skin_tone"], hair_style=appearance["hair_style"],
                hair_color=appearance["hair_color"], **garments,
                **{key: appearance.get(key, default) for key, default in APPEARANCE_DEFAULTS.items()},
            ),
            provenance=dict(_mapping(data.get("provenance", {"kind": "manual"}), "provenance")),
            capture=dict(_mapping(data["capture"], "capture")) if data.get("capture") is not None else None,
        )

    @property
    def id(self) -> str:
        return identity_id(self)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise IdentityError(f"{where}: expected a mapping, got {type(value).__name__}.")
    return value


def _check_keys(data: Mapping[str, Any], where: str, required: set[str], optional: set[str]) -> None:
    unknown = sorted(set(data) - required - optional)
    if unknown:
        raise IdentityError(
            f"{where}.{unknown[0]}: unknown key; allowed keys are {', '.join(sorted(required | optional))}."
        )
    missing = sorted(required - set(data))
    if missing:
        raise IdentityError(f"{where}.{missing[0]}: missing required key.")


def identity_id(spec: IdentitySpec) -> str:
    """12 hex chars of sha256 over the canonical JSON of seed, body and appearance.

    Canonical: sorted keys, no whitespace, floats as Python's shortest round-trip repr (ints
    already coerced to floats by validation), so equal specs give equal ids on any machine.
    """
    payload = spec.to_dict()
    for key, default in APPEARANCE_DEFAULTS.items():  # ids of specs made before these fields stay the same
        if payload["appearance"][key] == default:
            del payload["appearance"][key]
    canonical = json.dumps(
        {key: payload[key] for key in ("seed", "body", "appearance", "capture") if key in payload},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _interpolate(x: float, xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
    """Piecewise-linear interpolation, clamped at both ends (like Anny's non-extrapolating mode)."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    t = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[i - 1] + t * (ys[i] - ys[i - 1])


def years_to_anny_age(age_years: float) -> float:
    """Anny's age parameter for an age in years (Anny's WHO-calibrated table, :data:`ANNY_AGE_TABLE`)."""
    years, anny = zip(*ANNY_AGE_TABLE)
    return _interpolate(float(age_years), years, anny)


def anny_age_to_years(anny_age: float) -> float:
    """Inverse of :func:`years_to_anny_age` (the table is strictly increasing)."""
    years, anny = zip(*ANNY_AGE_TABLE)
    return _interpolate(float(anny_age), anny, years)


def height_reference(anny_age: float, gender: float) -> tuple[float, float]:
    """Mean and SD of Anny's height phenotype for this age and gender blend.

    Anny calibrates height per sex as a Beta distribution whose parameters vary with age; we take
    that Beta's mean and SD for each sex and blend them linearly by ``gender`` (0 male, 1 female).
    """
    stats = []
    for sex in ("male", "female"):
        alphas, betas = ANNY_HEIGHT_BETA[sex]
        a = _interpolate(anny_age, ANNY_HEIGHT_AGE_ANCHORS, alphas)
        b = _interpolate(anny_age, ANNY_HEIGHT_AGE_ANCHORS, betas)
        stats.append((a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))))
    (mean_m, sd_m), (mean_f, sd_f) = stats
    return (1 - gender) * mean_m + gender * mean_f, (1 - gender) * sd_m + gender * sd_f


def anny_phenotype(spec: IdentitySpec | BodySpec) -> dict[str, float]:
    """Anny's eleven phenotype values in [0, 1] for a spec (deterministic, no Anny import).

    - gender: ``body.gender`` as is (same convention as Anny: 0 male, 1 female);
    - age: :func:`years_to_anny_age` of ``body.age_years``;
    - height: reference mean + ``body.height`` x reference SD for the age and gender
      (:func:`height_reference`), clipped to [0, 1];
    - weight, muscle, proportions: as is; african/asian/caucasian: as is (they sum to 1);
    - cupsize: 0 before 10 years, rising linearly to Anny's average 0.5 at 16 (these targets
      only act on female-weighted bodies); firmness: 0.5, falling linearly after 50 years to 0.3
      at 90.
    Feed the result to ``BodyModel.shape_from_phenotype(**anny_phenotype(spec))``.
    """
    body = spec.body if isinstance(spec, IdentitySpec) else spec
    age = years_to_anny_age(body.age_years)
    mean, sd = height_reference(age, body.gender)
    height = min(1.0, max(0.0, mean + body.height * sd))
    cupsize = 0.5 * min(1.0, max(0.0, (body.age_years - 10.0) / 6.0))
    firmness = 0.5 - 0.2 * min(1.0, max(0.0, (body.age_years - 50.0) / 40.0))
    return {
        "gender": body.gender,
        "age": age,
        "muscle": body.muscle,
        "weight": body.weight,
        "height": height,
        "proportions": body.proportions,
        "cupsize": cupsize,
        "firmness": firmness,
        "african": body.african,
        "asian": body.asian,
        "caucasian": body.caucasian,
    }


NOT_ESTIMATED = "not estimated"


def dominant_ancestry(spec: IdentitySpec) -> str:
    """The body's dominant ancestry, or :data:`NOT_ESTIMATED` for a captured person: their ancestry
    is never estimated from the video (the capture keeps neutral weights), so naming the first
    ancestry would state something nobody measured."""
    if spec.provenance.get("kind") == "captured":
        return NOT_ESTIMATED
    return spec.body.dominant_ancestry


def ancestry_label(spec: IdentitySpec) -> str:
    """'asian-dominant' for a sampled person, 'ancestry not estimated' for a captured one."""
    ancestry = dominant_ancestry(spec)
    return f"ancestry {ancestry}" if ancestry == NOT_ESTIMATED else f"{ancestry}-dominant"


def describe(spec: IdentitySpec) -> str:
    """One line for logs and UIs: 'female, 34 y, MST 6, long brown hair, red stripes tshirt, ...'."""
    body, look = spec.body, spec.appearance

    def garment(g: Garment) -> str:
        return g.type if g.pattern == "solid" else f"{g.pattern} {g.type}"

    parts = [f"{body.sex}, {body.age_years:.0f} y", f"MST {look.skin_tone}", ancestry_label(spec),
             f"{look.hair_style} {look.hair_color.replace('_', ' ')} hair", garment(look.top)]
    if look.bottom.type != "none":
        parts.append(garment(look.bottom))
    parts.append(look.shoes.type)
    parts.append(f"{look.iris_color.replace('_', ' ')} eyes")
    if look.facial_hair != "none":
        parts.append(look.facial_hair)
    return ", ".join(parts)
