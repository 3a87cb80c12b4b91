"""Random people: draw diverse identities, or deliberately balanced ones to fill gaps in a dataset.

An :class:`IdentityDistribution` says what may be drawn (ranges, allowed names and weights) and
how (``mode``):

- ``"random"``: every attribute is drawn independently per identity from the distribution, with
  a few plausibility links (skin tone and hair colour follow the ancestry blend unless you
  constrain them; greying with age; sex-typical hair and clothes). Identity ``i`` depends only
  on ``(seed, i)`` and the distribution, so asking for more people never changes the first ones.
- ``"balanced"``: identities cycle through the grid sex x age group (child/teen/adult/older) x
  skin-tone group (light/medium/dark) x dominant ancestry, restricted to what the distribution
  allows, each round in a seeded order; within its cell everything else is random. With
  ``n = k x cells`` every cell appears exactly ``k`` times, which is how under-represented groups
  of a real dataset are filled on purpose. ``female_ratio`` only selects which sexes are in the
  grid there (0: male only, 1: female only, else both).

Ancestry is a Dirichlet with one concentration per ancestry (``ancestry_concentration``): below 1
most people are close to one ancestry, above 1 most are mixed; 0 removes that ancestry. The
skin-tone and hair-colour priors per ancestry are coarse, hand-set heuristics to avoid implausible
combinations by default, not population statistics; constrain them explicitly for other needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from random_people.avatar.identity import (
    AGE_GROUPS,
    checked_number,
    AGE_MAX_YEARS,
    AGE_MIN_YEARS,
    ANCESTRIES,
    BOTTOMS,
    CLOTHING_COLORS,
    FACIAL_HAIR,
    FACIAL_HAIR_MIN_AGE,
    HAIR_COLORS,
    IRIS_COLORS,
    HAIR_STYLES,
    HEIGHT_Z_LIMIT,
    MONK_SKIN_TONES,
    PATTERNS,
    SEXES,
    SHOES,
    SKIN_TONE_GROUPS,
    TOPS,
    AppearanceSpec,
    BodySpec,
    Garment,
    IdentityError,
    IdentitySpec,
    age_group,
    hex_to_rgb,
    normalize_color,
    skin_tone_group,
)

logger = logging.getLogger(__name__)

MODES = ("random", "balanced")

# Skin-tone prior (weights over MST 1..10) per pure ancestry; a blend mixes them by its weights.
_SKIN_PRIOR: dict[str, tuple[float, ...]] = {
    "african": (0.0, 0.0, 0.0, 0.02, 0.05, 0.13, 0.25, 0.25, 0.18, 0.12),
    "asian": (0.03, 0.12, 0.2, 0.25, 0.2, 0.12, 0.06, 0.02, 0.0, 0.0),
    "caucasian": (0.2, 0.25, 0.22, 0.15, 0.1, 0.05, 0.03, 0.0, 0.0, 0.0),
}
_SKIN_FLOOR = 0.005  # no tone is impossible for any blend (balanced cells may ask for any)
_HAIR_COLOR_PRIOR: dict[str, dict[str, float]] = {
    "african": {"black": 0.8, "dark_brown": 0.18, "brown": 0.02},
    "asian": {"black": 0.7, "dark_brown": 0.25, "brown": 0.05},
    "caucasian": {"black": 0.1, "dark_brown": 0.25, "brown": 0.25, "auburn": 0.06, "red": 0.04,
                  "blonde": 0.18, "light_blonde": 0.12},
}
_IRIS_PRIOR: dict[str, dict[str, float]] = {
    "african": {"dark_brown": 0.8, "brown": 0.2},
    "asian": {"dark_brown": 0.6, "brown": 0.37, "hazel": 0.03},
    "caucasian": {"brown": 0.3, "hazel": 0.12, "amber": 0.03, "green": 0.1, "blue": 0.35, "grey": 0.1},
}
# Facial hair of men from 18 years (14-18: stubble at most); women are drawn without.
_FACIAL_HAIR_PREF: dict[str, float] = {"none": 0.55, "stubble": 0.2, "moustache": 0.05, "goatee": 0.07, "beard": 0.13}
_HAIR_STYLE_PREF: dict[str, dict[str, float]] = {
    "male": {"bald": 0.05, "buzz": 0.2, "short": 0.45, "medium": 0.12, "long": 0.05, "bun": 0.02, "curly": 0.08},
    "female": {"bald": 0.01, "buzz": 0.03, "short": 0.15, "medium": 0.25, "long": 0.3, "bun": 0.14, "curly": 0.12},
}
# Children under 6: a toddler seen from behind must read as a child with hair. A buzz cut's
# 1 cm strands lie flat on the scalp and, on a small head at a distance, look like a bald dome
# (worse when hair and skin are alike in colour), so a young child drawn with a buzz cut (or bald)
# gets short hair instead, when the distribution allows it. A replacement, not new weights: every
# other child keeps the style the same seed always gave (re-weighting moved the uniform draw
# across the styles and changed children who had hair already).
YOUNG_CHILD_YEARS = 6.0
_YOUNG_CHILD_REPLACED = ("buzz", "bald")
_YOUNG_CHILD_STYLE = "short"
_TOP_PREF = {
    "male": {"tshirt": 0.4, "longsleeve": 0.3, "tank": 0.1, "hoodie": 0.2, "dress": 0.0},
    "female": {"tshirt": 0.3, "longsleeve": 0.25, "tank": 0.1, "hoodie": 0.15, "dress": 0.2},
}
_BOTTOM_PREF = {
    "male": {"shorts": 0.3, "trousers": 0.68, "skirt": 0.0, "leggings": 0.02},
    "female": {"shorts": 0.2, "trousers": 0.4, "skirt": 0.15, "leggings": 0.25},
}

_DEFAULT_PALETTES: dict[str, list[str]] = {
    "top": ["white", "black", "grey", "navy", "blue", "light_blue", "red", "burgundy", "orange", "yellow",
            "green", "olive", "teal", "purple", "pink", "beige"],
    "bottom": ["denim", "navy", "black", "charcoal", "khaki", "beige", "grey", "olive", "brown"],
    "shoes": ["white", "black", "grey", "brown", "navy", "red"],
}


def _uniform(names: Sequence[Any]) -> dict[Any, float]:
    return {name: 1.0 for name in names}


@dataclass
class IdentityDistribution:
    """What the sampler may draw. Build from a dict/YAML with :meth:`from_dict` / :meth:`from_yaml`.

    Weighted choices (``skin_tones``, ``hair_styles``, ``hair_colors``, ``tops``, ``bottoms``,
    ``shoes``, ``patterns``) are stored as ``{name: weight}``; a plain list means equal weights.
    ``None`` for ``skin_tones`` / ``hair_styles`` / ``hair_colors`` means "all, with the built-in
    priors". Explicit skin tones are used exactly as given (no ancestry link); for the other
    choices the built-in sex/age/ancestry preferences multiply the given weights, falling back to
    the given weights alone when that leaves nothing.
    """

    name: str = "default"
    mode: str = "random"
    female_ratio: float = 0.5
    age_range: tuple[float, float] = (AGE_MIN_YEARS, AGE_MAX_YEARS)
    height_range: tuple[float, float] = (-2.0, 2.0)  # z-scores, see BodySpec.height
    weight_range: tuple[float, float] = (0.25, 0.85)
    muscle_range: tuple[float, float] = (0.2, 0.8)
    proportions_range: tuple[float, float] = (0.3, 0.7)
    gender_spread: float = 0.15  # |gender - pure| drawn in [0, spread]: 0 gives pure Anny male/female
    ancestry_concentration: dict[str, float] = field(default_factory=lambda: {a: 0.5 for a in ANCESTRIES})
    skin_tones: dict[int, float] | None = None
    hair_styles: dict[str, float] | None = None
    hair_colors: dict[str, float] | None = None
    tops: dict[str, float] = field(default_factory=lambda: _uniform(TOPS))
    bottoms: dict[str, float] = field(default_factory=lambda: _uniform([b for b in BOTTOMS if b != "none"]))
    shoes: dict[str, float] = field(
        default_factory=lambda: {"sneakers": 0.6, "boots": 0.15, "sandals": 0.15, "barefoot": 0.1}
    )
    patterns: dict[str, float] = field(
        default_factory=lambda: {"solid": 0.45, "stripes": 0.15, "checks": 0.07, "plaid": 0.08, "dots": 0.05,
                                 "denim": 0.12, "print": 0.08}
    )
    iris_colors: dict[str, float] | None = None  # None: by ancestry (coarse priors)
    facial_hair: dict[str, float] | None = None  # for men from 18; None: built-in preferences
    palettes: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in _DEFAULT_PALETTES.items()})

    def __post_init__(self) -> None:
        where = "distribution"
        if not isinstance(self.name, str):
            raise IdentityError(f"{where}.name: expected a string, got {self.name!r}.")
        if self.mode not in MODES:
            raise IdentityError(f"{where}.mode: unknown mode {self.mode!r}; choose one of {', '.join(MODES)}.")
        self.female_ratio = checked_number(self.female_ratio, f"{where}.female_ratio", 0.0, 1.0)
        self.gender_spread = checked_number(self.gender_spread, f"{where}.gender_spread", 0.0, 0.5)
        self.age_range = _range(self.age_range, f"{where}.age_range", AGE_MIN_YEARS, AGE_MAX_YEARS)
        self.height_range = _range(self.height_range, f"{where}.height_range", -HEIGHT_Z_LIMIT, HEIGHT_Z_LIMIT)
        for name in ("weight_range", "muscle_range", "proportions_range"):
            setattr(self, name, _range(getattr(self, name), f"{where}.{name}", 0.0, 1.0))
        self.ancestry_concentration = _weights(
            self.ancestry_concentration, f"{where}.ancestry_concentration", ANCESTRIES, allow_list=False
        )
        for name in ANCESTRIES:
            self.ancestry_concentration.setdefault(name, 0.0)
        if self.skin_tones is not None:
            tones = self.skin_tones
            if isinstance(tones, Mapping):  # JSON gives "3", YAML gives 3
                tones = {_tone_key(k, f"{where}.skin_tones"): v for k, v in tones.items()}
            elif isinstance(tones, (list, tuple)):
                tones = [_tone_key(k, f"{where}.skin_tones") for k in tones]
            self.skin_tones = _weights(tones, f"{where}.skin_tones", tuple(MONK_SKIN_TONES))
        if self.hair_styles is not None:
            self.hair_styles = _weights(self.hair_styles, f"{where}.hair_styles", HAIR_STYLES)
        if self.hair_colors is not None:
            self.hair_colors = _weights(self.hair_colors, f"{where}.hair_colors", tuple(HAIR_COLORS))
        self.tops = _weights(self.tops, f"{where}.tops", TOPS)
        self.bottoms = _weights(self.bottoms, f"{where}.bottoms", tuple(b for b in BOTTOMS if b != "none"))
        self.shoes = _weights(self.shoes, f"{where}.shoes", SHOES)
        self.patterns = _weights(self.patterns, f"{where}.patterns", PATTERNS)
        if self.iris_colors is not None:
            self.iris_colors = _weights(self.iris_colors, f"{where}.iris_colors", IRIS_COLORS)
        if self.facial_hair is not None:
            self.facial_hair = _weights(self.facial_hair, f"{where}.facial_hair", FACIAL_HAIR)
        if not isinstance(self.palettes, Mapping):
            raise IdentityError(f"{where}.palettes: expected a mapping of top/bottom/shoes to colour lists.")
        unknown = sorted(set(self.palettes) - set(_DEFAULT_PALETTES))
        if unknown:
            raise IdentityError(f"{where}.palettes.{unknown[0]}: unknown slot; use top, bottom, shoes.")
        palettes = {}
        for slot, default in _DEFAULT_PALETTES.items():
            colors = self.palettes.get(slot, default)
            if not isinstance(colors, (list, tuple)) or not colors:
                raise IdentityError(f"{where}.palettes.{slot}: expected a non-empty list of colours.")
            palettes[slot] = [normalize_color(c, f"{where}.palettes.{slot}") for c in colors]
        self.palettes = palettes

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentityDistribution:
        """Validate a plain dict (e.g. parsed YAML). Unknown keys are errors naming the key."""
        if not isinstance(data, Mapping):
            raise IdentityError(f"distribution: expected a mapping, got {type(data).__name__}.")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise IdentityError(
                f"distribution.{unknown[0]}: unknown key; allowed keys are {', '.join(sorted(allowed))}."
            )
        return cls(**dict(data))

    @classmethod
    def from_yaml(cls, path: str | Path) -> IdentityDistribution:
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IdentityError(f"distribution file not found: {path}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise IdentityError(f"{path} is not readable YAML ({exc}).") from exc
        return cls.from_dict(data or {})

    def replace(self, **changes: Any) -> IdentityDistribution:
        """A copy with some fields changed (``None`` values are ignored), validated again."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able and accepted by :meth:`from_dict` (skin-tone keys become strings in JSON)."""
        data = dataclasses.asdict(self)
        if data["skin_tones"] is not None:  # JSON object keys are strings; keep the dict JSON-stable
            data["skin_tones"] = {str(k): v for k, v in data["skin_tones"].items()}
        for key in ("age_range", "height_range", "weight_range", "muscle_range", "proportions_range"):
            data[key] = list(data[key])
        return data

    @property
    def id(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    # -- grid for balanced mode ---------------------------------------------------------------
    def grid(self) -> list[tuple[str, str, str, str]]:
        """Cells (sex, age group, skin-tone group, dominant ancestry) this distribution allows."""
        sexes = [s for s in SEXES if (self.female_ratio > 0 if s == "female" else self.female_ratio < 1)]
        low, high = self.age_range
        ages = [g for g, (a, b) in AGE_GROUPS.items() if _age_overlap(low, high, g, a, b)]
        weights = self.skin_tones if self.skin_tones is not None else _uniform(MONK_SKIN_TONES)
        allowed_tones = {t for t, w in weights.items() if w > 0}
        tones = [g for g, members in SKIN_TONE_GROUPS.items() if allowed_tones & set(members)]
        ancestries = [a for a in ANCESTRIES if self.ancestry_concentration[a] > 0]
        return list(itertools.product(sexes, ages, tones, ancestries))


def _age_overlap(low: float, high: float, group: str, a: float, b: float) -> bool:
    """Whether ages in [low, high] reach group [a, b) by a positive length (or hold a single age in it)."""
    if low == high:
        return age_group(low) == group
    return low < b and high > a


def _range(value: Any, where: str, low: float, high: float) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise IdentityError(f"{where}: expected [min, max], got {value!r}.")
    a, b = (checked_number(v, where, low, high) for v in value)
    if a > b:
        raise IdentityError(f"{where}: min {a:g} is greater than max {b:g}.")
    return a, b


def _tone_key(value: Any, where: str) -> int:
    try:
        tone = int(value)
    except (TypeError, ValueError):
        raise IdentityError(f"{where}: {value!r} is not a Monk Skin Tone (1-10).") from None
    if isinstance(value, bool) or str(tone) != str(value).strip():
        raise IdentityError(f"{where}: {value!r} is not a Monk Skin Tone (1-10).")
    return tone


def _weights(value: Any, where: str, options: tuple[Any, ...], allow_list: bool = True) -> dict[Any, float]:
    """``[names]`` or ``{name: weight}`` -> ``{name: weight}``, names checked, weights >= 0, not all 0."""
    if allow_list and isinstance(value, (list, tuple)):
        value = {name: 1.0 for name in value}
    if not isinstance(value, Mapping):
        kind = "a list of names or a mapping name -> weight" if allow_list else "a mapping name -> weight"
        raise IdentityError(f"{where}: expected {kind}, got {value!r}.")
    weights = {}
    for name, weight in value.items():
        if name not in options:
            raise IdentityError(f"{where}: unknown value {name!r}; choose from {', '.join(map(str, options))}.")
        weights[name] = checked_number(weight, f"{where}.{name}", 0.0, math.inf)
    if not weights or sum(weights.values()) <= 0:
        raise IdentityError(f"{where}: at least one value needs a positive weight.")
    return weights


# -- sampling ---------------------------------------------------------------------------------

def _pick(rng: np.random.Generator, weights: Mapping[Any, float], prefs: Mapping[Any, float] | None = None) -> Any:
    """Weighted choice; ``prefs`` multiply ``weights`` unless that zeroes everything."""
    names = list(weights)
    w = np.array([weights[n] for n in names], dtype=float)
    if prefs is not None:
        combined = w * np.array([prefs.get(n, 0.0) for n in names], dtype=float)
        if combined.sum() > 0:
            w = combined
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _ancestry(rng: np.random.Generator, concentration: Mapping[str, float], dominant: str | None) -> dict[str, float]:
    """Dirichlet blend rounded to 4 decimals and summing to 1; ``dominant`` gets the largest share."""
    alphas = np.array([concentration[a] for a in ANCESTRIES])
    draws = np.zeros(len(ANCESTRIES))
    positive = alphas > 0
    draws[positive] = rng.gamma(alphas[positive])
    if draws.sum() <= 0:  # all gammas underflowed (tiny concentrations): a pure draw
        draws[int(rng.choice(np.flatnonzero(positive)))] = 1.0
    w = draws / draws.sum()
    if dominant is not None:
        target, top = ANCESTRIES.index(dominant), int(np.argmax(w))
        w[target], w[top] = w[top], w[target]
    w = np.round(w, 4)
    top = int(np.argmax(w))
    w[top] = round(1.0 - (w.sum() - w[top]), 4)
    if dominant is not None:
        target = ANCESTRIES.index(dominant)
        for other in range(len(ANCESTRIES)):  # break exact ties in favour of the cell's ancestry
            if other != target and w[other] >= w[target]:
                w[other] -= 1e-4
                w[target] += 1e-4
        w = np.round(w, 4)
    return {a: float(v) for a, v in zip(ANCESTRIES, w)}


def skin_tone_prior(ancestry: Mapping[str, float]) -> dict[int, float]:
    """Weights over MST 1-10 for an ancestry blend (the per-ancestry priors mixed, with a floor)."""
    mixed = sum(np.array(_SKIN_PRIOR[a]) * ancestry[a] for a in ANCESTRIES) + _SKIN_FLOOR
    return {tone: float(mixed[tone - 1]) for tone in MONK_SKIN_TONES}


def _hair_color_prior(ancestry: Mapping[str, float], age_years: float) -> dict[str, float]:
    base = {name: 0.0 for name in HAIR_COLORS}
    for a in ANCESTRIES:
        for name, w in _HAIR_COLOR_PRIOR[a].items():
            base[name] += w * ancestry[a]
    grey = 0.85 * min(1.0, max(0.0, (age_years - 40.0) / 40.0))
    prior = {name: w * (1 - grey) for name, w in base.items()}
    prior["grey"] = grey * 0.6
    prior["white"] = grey * 0.4
    return prior


def _hair_style_prior(sex: str, age_years: float) -> dict[str, float]:
    """Style preferences by sex and age: no bald children or teens, more bald older men."""
    prefs = dict(_HAIR_STYLE_PREF[sex])
    group = age_group(age_years)
    if group in ("child", "teen"):
        prefs["bald"] = 0.0
    elif group == "older" and sex == "male":
        prefs["bald"] = 0.25
    return prefs


def _garment(rng: np.random.Generator, dist: IdentityDistribution, slot: str, kind: str) -> Garment:
    palette = dist.palettes[slot]
    color = palette[int(rng.integers(len(palette)))]
    pattern = _pick(rng, dist.patterns) if slot != "shoes" else "solid"  # shoes: plain uppers, soles
    if pattern == "solid":
        return Garment(kind, color, "solid", color)
    others = [c for c in palette if c != color]
    if others:
        second = others[int(rng.integers(len(others)))]
    else:  # one-colour palette: contrast with white or black
        luminance = sum(hex_to_rgb(color)) / 3
        second = CLOTHING_COLORS["black"] if luminance > 128 else CLOTHING_COLORS["white"]
    return Garment(kind, color, pattern, second)


Cell = tuple[str, str, str, str]  # (sex, age group, skin-tone group, dominant ancestry)


def _draw(
    rng: np.random.Generator, dist: IdentityDistribution, cell: Cell | None
) -> tuple[BodySpec, AppearanceSpec, int]:
    """One person. ``cell`` (balanced mode) fixes sex, age group, skin-tone group and dominant ancestry."""
    if cell is None:
        sex = "female" if rng.random() < dist.female_ratio else "male"
        age_low, age_high = dist.age_range
    else:
        sex, group, _, _ = cell
        a, b = AGE_GROUPS[group]
        age_low, age_high = max(a, dist.age_range[0]), min(b, dist.age_range[1])
    offset = rng.uniform(0.0, dist.gender_spread)
    gender = round(1.0 - offset if sex == "female" else offset, 4)
    age = math.floor(rng.uniform(age_low, age_high) * 1e4) / 1e4  # floor: stay inside [low, high)
    age = min(max(age, age_low), AGE_MAX_YEARS)
    ancestry = _ancestry(rng, dist.ancestry_concentration, cell[3] if cell else None)

    def uniform(bounds: tuple[float, float]) -> float:
        return round(float(rng.uniform(*bounds)), 4)

    body = BodySpec(
        sex=sex, gender=gender, age_years=age, height=uniform(dist.height_range), weight=uniform(dist.weight_range),
        muscle=uniform(dist.muscle_range), proportions=uniform(dist.proportions_range), **ancestry,
    )

    tones = dist.skin_tones if dist.skin_tones is not None else skin_tone_prior(ancestry)
    if cell is not None:
        in_group = {t: w for t, w in tones.items() if skin_tone_group(t) == cell[2] and w > 0}
        tones = in_group
    skin = int(_pick(rng, tones))
    hair_style = _pick(rng, dist.hair_styles or _uniform(HAIR_STYLES), _hair_style_prior(sex, age))
    if (age < YOUNG_CHILD_YEARS and hair_style in _YOUNG_CHILD_REPLACED
            and (dist.hair_styles is None or dist.hair_styles.get(_YOUNG_CHILD_STYLE, 0.0) > 0)):
        hair_style = _YOUNG_CHILD_STYLE
    hair_color = _pick(rng, dist.hair_colors or _uniform(HAIR_COLORS), _hair_color_prior(ancestry, age))
    top = _pick(rng, dist.tops, _TOP_PREF[sex])
    bottom = "none" if top == "dress" else _pick(rng, dist.bottoms, _BOTTOM_PREF[sex])
    shoes = _pick(rng, dist.shoes)
    appearance = AppearanceSpec(
        skin_tone=skin, hair_style=hair_style, hair_color=hair_color,
        top=_garment(rng, dist, "top", top),
        bottom=_garment(rng, dist, "bottom", bottom) if bottom != "none" else Garment("none", "#000000"),
        shoes=_garment(rng, dist, "shoes", shoes),
    )
    identity_seed = int(rng.integers(0, 2**62))
    # Drawn last, so adding them left every earlier attribute of a seed's people unchanged.
    iris_prior = {c: sum(_IRIS_PRIOR[a].get(c, 0.0) * ancestry[a] for a in ANCESTRIES) for c in IRIS_COLORS}
    iris = _pick(rng, dist.iris_colors or _uniform(IRIS_COLORS), iris_prior)
    facial = "none"
    if sex == "male" and age >= FACIAL_HAIR_MIN_AGE:
        prefs = _FACIAL_HAIR_PREF if age >= 18 else {"none": 0.85, "stubble": 0.15}
        facial = _pick(rng, dist.facial_hair or _uniform(FACIAL_HAIR), prefs)
    appearance = dataclasses.replace(appearance, iris_color=iris, facial_hair=facial)
    return body, appearance, identity_seed


# Independent random streams per purpose, all keyed by the user's seed.
_STREAM_RANDOM, _STREAM_ROUND, _STREAM_BALANCED = 0, 1, 2


def sample_identity(index: int, seed: int, distribution: IdentityDistribution | None = None) -> IdentitySpec:
    """Identity number ``index`` of the sequence for ``seed``: a pure function of its arguments."""
    dist = distribution or IdentityDistribution()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise IdentityError(f"seed: expected a non-negative integer, got {seed!r}.")
    if index < 0:
        raise IdentityError(f"index: expected a non-negative integer, got {index!r}.")
    seed, index = int(seed), int(index)
    provenance: dict[str, Any] = {
        "kind": "sampled", "mode": dist.mode, "seed": seed, "index": index,
        "distribution_id": dist.id, "distribution": dist.to_dict(),
    }
    if dist.mode == "random":
        cell = None
        rng = np.random.default_rng([seed, _STREAM_RANDOM, index])
    else:
        cells = dist.grid()
        if not cells:
            raise IdentityError("distribution: balanced mode has no grid cell left by these constraints.")
        round_, slot = divmod(index, len(cells))
        order = np.random.default_rng([seed, _STREAM_ROUND, round_]).permutation(len(cells))
        cell = cells[int(order[slot])]
        provenance["cell"] = dict(zip(("sex", "age_group", "skin_tone_group", "ancestry"), cell))
        rng = np.random.default_rng([seed, _STREAM_BALANCED, index])
    body, appearance, identity_seed = _draw(rng, dist, cell)
    return IdentitySpec(seed=identity_seed, body=body, appearance=appearance, provenance=provenance)


def sample_identities(n: int, seed: int, distribution: IdentityDistribution | None = None) -> list[IdentitySpec]:
    """``n`` identities; the same ``(n, seed, distribution)`` always gives the same list, and
    identity ``i`` does not depend on ``n`` (see the module docstring for the two modes)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise IdentityError(f"n: expected a non-negative integer, got {n!r}.")
    dist = distribution or IdentityDistribution()
    specs = [sample_identity(i, seed, dist) for i in range(int(n))]
    logger.info("Sampled %d identities (%s mode, seed %d, distribution %s)", n, dist.mode, seed, dist.id)
    return specs


# -- reporting --------------------------------------------------------------------------------

HEIGHT_BANDS = ("short", "average", "tall")


def height_band(z: float) -> str:
    """short (z < -1), average (-1 <= z <= 1), tall (z > 1)."""
    return "short" if z < -1 else "tall" if z > 1 else "average"


def attribute_histogram(specs: Sequence[IdentitySpec]) -> dict[str, dict[str, int]]:
    """Counts per attribute value; every known value is listed (zeros show what is missing)."""
    categories: dict[str, tuple[str, ...]] = {
        "sex": SEXES,
        "age_group": tuple(AGE_GROUPS),
        "skin_tone_group": tuple(SKIN_TONE_GROUPS),
        "skin_tone": tuple(f"MST {t}" for t in MONK_SKIN_TONES),
        "ancestry": ANCESTRIES,
        "hair_style": HAIR_STYLES,
        "top": TOPS,
        "bottom": BOTTOMS,
        "height_band": HEIGHT_BANDS,
    }
    histogram = {name: {value: 0 for value in values} for name, values in categories.items()}
    for spec in specs:
        body, look = spec.body, spec.appearance
        values = {
            "sex": body.sex, "age_group": body.age_group, "skin_tone_group": look.skin_tone_group,
            "skin_tone": f"MST {look.skin_tone}", "ancestry": body.dominant_ancestry, "hair_style": look.hair_style,
            "top": look.top.type, "bottom": look.bottom.type, "height_band": height_band(body.height),
        }
        for name, value in values.items():
            histogram[name][value] += 1
    return histogram


def format_histogram(histogram: Mapping[str, Mapping[str, int]], width: int = 30) -> str:
    """A plain-text table: one block per attribute, one row per value with count, share and bar."""
    lines = []
    for name, counts in histogram.items():
        total = sum(counts.values())
        lines.append(f"{name} (n={total})")
        biggest = max(counts.values(), default=0)
        for value, count in counts.items():
            share = 100.0 * count / total if total else 0.0
            bar = "#" * (round(width * count / biggest) if biggest else 0)
            lines.append(f"  {value:<16} {count:>6} {share:6.1f}%  {bar}")
    return "\n".join(lines)
