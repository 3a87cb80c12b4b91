"""Summarise captured colours as the readable appearance of an identity spec.

An identity file names garment types, colours, a skin tone and a hair colour; for a captured
person these are read off the captured colours (the colours themselves are what is drawn). Garment
types decide the avatar's clothing layer and regions: bare forearms (coloured like the face) mean
short sleeves, bare shins mean shorts.
"""

from __future__ import annotations

import numpy as np

from random_people.avatar.identity import HAIR_COLORS, AppearanceSpec, Garment, hex_to_rgb
from random_people.avatar.skin import linear_to_lab, monk_albedo, srgb_to_linear

SKIN_MATCH_DELTA_E = 18.0  # a limb this close in colour to the face is bare skin
# Hair is named grey or white only when its colour has almost no chroma: the named greys have
# C*ab 2.5-3.3, pigmented hair 10-50. Lightness alone cannot tell grey from sunlit brown or
# blonde (see :func:`name_hair_color`).
GREY_HAIR_MAX_CHROMA = 7.0
UNPIGMENTED_HAIR = ("black", "grey", "white")


def to_hex(linear: np.ndarray) -> str:
    x = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    r, g, b = (int(round(255 * v)) for v in srgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _lab(linear: np.ndarray) -> np.ndarray:
    return linear_to_lab(np.asarray(linear, np.float64)[None])[0]


def _median(colors: np.ndarray, select: np.ndarray) -> np.ndarray | None:
    return np.median(colors[select], axis=0) if np.count_nonzero(select) >= 5 else None


def name_hair_color(scalp_albedo: np.ndarray) -> str:
    """The :data:`HAIR_COLORS` name of captured scalp colours [n, 3] (linear albedo).

    Why not the nearest name to the median colour: the captured albedo keeps the clip's exposure,
    and the crown carries the sun's sheen (the shading removal models diffuse light only, and hair
    is the glossiest surface of a person), so sunlit brown hair came out light and pale (L* 63,
    C* 13) and was named "grey". So: the darker half of the scalp's colours (the sheen is in the
    lighter half), grey or white only below :data:`GREY_HAIR_MAX_CHROMA`, and otherwise the nearest
    pigmented name, hue and chroma counting twice as much as lightness.
    """
    lab = linear_to_lab(np.asarray(scalp_albedo, np.float64).reshape(-1, 3))
    darker = lab[lab[:, 0] <= np.median(lab[:, 0])]
    L, a, b = np.median(darker, axis=0)
    names = {name: _lab(srgb_to_linear(np.array(hex_to_rgb(hex_), np.float64) / 255.0))
             for name, hex_ in HAIR_COLORS.items()}
    if float(np.hypot(a, b)) < GREY_HAIR_MAX_CHROMA:
        return min(UNPIGMENTED_HAIR, key=lambda name: abs(float(names[name][0]) - L))
    pigmented = [name for name in HAIR_COLORS if name not in UNPIGMENTED_HAIR[1:]]
    weights = np.array([0.5, 1.0, 1.0])
    return min(pigmented, key=lambda name: float(np.linalg.norm((names[name] - (L, a, b)) * weights)))


def vertex_groups(faces: np.ndarray, triangle_group: np.ndarray, count: int) -> np.ndarray:
    """[V] the body-part group (index into appearance.GROUPS) most of each vertex's triangles belong to."""
    from random_people.avatar.appearance import GROUPS

    votes = np.zeros((count, len(GROUPS)), np.int32)
    for k in range(3):
        np.add.at(votes, (faces[:, k], triangle_group), 1)
    return votes.argmax(axis=1)


def summarise_looks(albedo: np.ndarray, seen: np.ndarray, groups: np.ndarray, rest_vertices: np.ndarray,
                    rest_normals: np.ndarray) -> AppearanceSpec:
    """Garment types and colours, skin tone and hair colour from captured vertex albedo."""
    from random_people.avatar.appearance import GROUPS

    def group(*names: str) -> np.ndarray:
        return seen & np.isin(groups, [GROUPS.index(n) for n in names])

    head = group("head")
    z = rest_vertices[:, 2]
    head_z = z[np.isin(groups, [GROUPS.index("head")])]
    low, high = (float(head_z.min()), float(head_z.max())) if len(head_z) else (0.0, 1.0)
    face = head & (rest_normals[:, 1] < -0.5) & (z < low + 0.55 * (high - low))
    scalp = head & (z > low + 0.8 * (high - low))
    skin = _median(albedo, face)
    if skin is None:
        skin = _median(albedo, head)
    if skin is None:
        skin = np.array(monk_albedo(5))
    skin_lab = _lab(skin)

    def bare(*names: str) -> bool | None:
        colour = _median(albedo, group(*names))
        return None if colour is None else bool(np.linalg.norm(_lab(colour) - skin_lab) < SKIN_MATCH_DELTA_E)

    top_type = "longsleeve"
    if bare("lowerarm"):
        top_type = "tank" if bare("upperarm") else "tshirt"
    bottom_type = "shorts" if bare("lowerleg") else "trousers"
    top_colour = _median(albedo, group("trunk"))
    bottom_colour = _median(albedo, group("pelvis", "upperleg"))
    shoe_colour = _median(albedo, group("foot"))
    tone = min(range(1, 11), key=lambda t: float(np.linalg.norm(_lab(np.array(monk_albedo(t))) - skin_lab)))
    hair_name = name_hair_color(albedo[scalp]) if np.count_nonzero(scalp) >= 5 else "black"
    grey = np.array([0.2, 0.2, 0.2])
    return AppearanceSpec(
        skin_tone=tone,
        hair_style="short",
        hair_color=hair_name,
        top=Garment(top_type, to_hex(top_colour if top_colour is not None else grey)),
        bottom=Garment(bottom_type, to_hex(bottom_colour if bottom_colour is not None else grey)),
        shoes=Garment("sneakers", to_hex(shoe_colour if shoe_colour is not None else grey)),
    )
