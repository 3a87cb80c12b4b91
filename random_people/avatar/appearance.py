"""What a person looks like on the body surface: regions (skin, garments, shoes, hair) and colours.

Regions come from two sources on the Anny mesh, both fixed by its topology:

* the **bone weights**: the bone group that dominates a triangle's vertices says whether it is
  trunk, arm, hand, leg, foot, neck or head. Where a garment ends along a limb (a T-shirt
  sleeve, shorts) is measured *along the limb* (shoulder -> wrist, hip -> ankle in the rest
  pose), so cut lines are straight rings whatever the body's proportions;
* Anny's **UV body-part segmentation** (``anny/data/segmentation``): it marks the eyes and the
  mouth/eye cavities, which are inside the head and get no Gaussians.

Colours are linear RGB in [0, 1] (the renderer's space). :class:`AppearanceParams` is our small,
explicit input; ``avatar/identity.py``'s ``IdentitySpec`` maps to it with a short adapter (Monk
tone -> ``skin_rgb`` etc., converting sRGB swatches to linear).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

RGB = tuple[float, float, float]

# Region ids of the avatar's Gaussians (their part label).
PART_NAMES: tuple[str, ...] = ("skin", "hair", "top", "bottom", "shoes", "eyes")
SKIN, HAIR, TOP, BOTTOM, SHOES, EYES = range(len(PART_NAMES))
EXCLUDED = -1  # inside the head (eye sockets, mouth): never sampled

# Garments: how far along the limb they reach (0 = shoulder/hip, 1 = wrist/ankle) and how far
# they stand off the skin (metres). ``flare`` adds offset towards the hem (skirts).
# A "dress" is a top whose lower part also covers the hips and thighs as a flared skirt
# (DRESS_SKIRT), drawn over whatever bottom is given (usually "none" or leggings).
TOP_TYPES: dict[str, dict[str, float]] = {
    "tank": {"sleeve": 0.0, "offset": 0.010},
    "tshirt": {"sleeve": 0.40, "offset": 0.013},
    "longsleeve": {"sleeve": 0.93, "offset": 0.013},
    "hoodie": {"sleeve": 0.95, "offset": 0.025},
    "dress": {"sleeve": 0.25, "offset": 0.012},
}
DRESS_SKIRT: dict[str, float] = {"length": 0.5, "offset": 0.016, "flare": 0.07}
BOTTOM_TYPES: dict[str, dict[str, float]] = {
    "shorts": {"length": 0.45, "offset": 0.013, "flare": 0.0},
    "trousers": {"length": 1.0, "offset": 0.013, "flare": 0.0},
    "skirt": {"length": 0.45, "offset": 0.018, "flare": 0.06},
    "long_skirt": {"length": 0.88, "offset": 0.018, "flare": 0.10},
    "leggings": {"length": 1.0, "offset": 0.004, "flare": 0.0},  # skin-tight by design
    "none": {"length": 0.0, "offset": 0.0, "flare": 0.0},  # bare legs (under a dress)
}
SHOE_TYPES: dict[str, dict[str, float]] = {
    "barefoot": {"cuff": 2.0, "offset": 0.0},
    "sneakers": {"cuff": 0.97, "offset": 0.007},
    "boots": {"cuff": 0.78, "offset": 0.010},
    "sandals": {"cuff": 2.0, "offset": 0.004, "sole": 0.025},  # a sole under bare feet
}
# Hair: share of the Gaussian budget, layer offsets off the scalp (metres), how low it reaches
# at the back/sides (in head heights below the eyes), and whether it drapes over the upper back.
# ``bun`` puts a share of the hair in a knot at the back of the crown; ``size`` scales the
# Gaussians (curly hair is bulkier and rounder).
HAIR_STYLES: dict[str, dict[str, Any]] = {
    "bald": {"share": 0.0, "layers": (), "low": 0.0, "drape": False, "bun": 0.0, "size": 1.0},
    "buzz": {"share": 0.03, "layers": (0.003,), "low": 0.3, "drape": False, "bun": 0.0, "size": 1.0},
    "short": {"share": 0.08, "layers": (0.006, 0.016), "low": 0.35, "drape": False, "bun": 0.0, "size": 1.0},
    "medium": {"share": 0.12, "layers": (0.008, 0.020, 0.032), "low": 0.9, "drape": False, "bun": 0.0, "size": 1.0},
    "long": {"share": 0.20, "layers": (0.008, 0.020, 0.032), "low": 0.9, "drape": True, "bun": 0.0, "size": 1.0},
    "bun": {"share": 0.12, "layers": (0.005, 0.012), "low": 0.35, "drape": False, "bun": 0.4, "size": 1.0},
    "curly": {"share": 0.16, "layers": (0.010, 0.024, 0.038, 0.050), "low": 0.45, "drape": False, "bun": 0.0,
              "size": 1.4},
}
PATTERNS = ("solid", "stripes", "checks", "dots")
PATTERN_PERIOD_M = 0.06


@dataclass(frozen=True)
class AppearanceParams:
    """Everything the avatar builder needs to colour and dress a body (linear RGB in [0, 1])."""

    skin_rgb: RGB = (0.45, 0.30, 0.22)
    hair_style: str = "short"
    hair_rgb: RGB = (0.05, 0.03, 0.02)
    top_type: str = "tshirt"
    top_rgb: RGB = (0.10, 0.25, 0.60)
    top_pattern: str = "solid"
    bottom_type: str = "trousers"
    bottom_rgb: RGB = (0.08, 0.08, 0.10)
    bottom_pattern: str = "solid"
    shoes_type: str = "sneakers"
    shoes_rgb: RGB = (0.80, 0.80, 0.80)
    # Second colour of a patterned garment; None picks a contrasting shade of the main colour.
    top_pattern_rgb: RGB | None = None
    bottom_pattern_rgb: RGB | None = None

    def __post_init__(self) -> None:
        checks = (
            ("hair_style", HAIR_STYLES), ("top_type", TOP_TYPES), ("bottom_type", BOTTOM_TYPES),
            ("shoes_type", SHOE_TYPES), ("top_pattern", PATTERNS), ("bottom_pattern", PATTERNS),
        )
        for name, allowed in checks:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}.")
        for name in ("skin_rgb", "hair_rgb", "top_rgb", "bottom_rgb", "shoes_rgb", "top_pattern_rgb",
                     "bottom_pattern_rgb"):
            if getattr(self, name) is None and name.endswith("pattern_rgb"):
                continue
            value = tuple(float(c) for c in getattr(self, name))
            if len(value) != 3 or not all(0.0 <= c <= 1.0 for c in value):
                raise ValueError(f"{name} must be three linear RGB values in [0, 1]; got {getattr(self, name)!r}.")
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AppearanceParams":
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()})


# --------------------------------------------------------------------------------------------
# Regions of the Anny mesh
# --------------------------------------------------------------------------------------------

GROUPS = ("trunk", "pelvis", "neck", "head", "upperarm", "lowerarm", "hand", "upperleg", "lowerleg", "foot")
_ARM_GROUPS = (GROUPS.index("upperarm"), GROUPS.index("lowerarm"), GROUPS.index("hand"))
_LEG_GROUPS = (GROUPS.index("upperleg"), GROUPS.index("lowerleg"), GROUPS.index("foot"))


def _bone_group(name: str) -> str:
    base = name.split(".")[0]
    if base in ("root", "pelvis", "spine05"):
        return "pelvis"
    if base.startswith("spine") or base in ("clavicle", "shoulder01"):
        return "trunk"
    if base.startswith("neck"):
        return "neck"
    if base in ("head", "eye"):
        return "head"
    if base.startswith("upperarm"):
        return "upperarm"
    if base.startswith("lowerarm"):
        return "lowerarm"
    if base in ("wrist",) or base.startswith(("finger", "metacarpal")):
        return "hand"
    if base.startswith("upperleg"):
        return "upperleg"
    if base.startswith("lowerleg"):
        return "lowerleg"
    if base in ("foot",) or base.startswith("toe"):
        return "foot"
    raise ValueError(f"Unknown Anny bone {name!r}")


@dataclass(frozen=True)
class MeshLabels:
    """Shape-independent per-triangle facts of one body model's mesh (computed once)."""

    group: np.ndarray  # [F] index into GROUPS (dominant bone group)
    side: np.ndarray  # [F] +1 left (model +x), -1 right, from the dominant bone's name
    interior: np.ndarray  # [F] bool, eye sockets / mouth (not sampled)
    eye: np.ndarray  # [F] bool, the visible front of the eyeballs


@functools.lru_cache(maxsize=2)
def _mesh_labels_cached(model: Any) -> MeshLabels:
    import yaml
    from PIL import Image

    anny_model = model.model
    faces = model.faces
    groups = np.array([GROUPS.index(_bone_group(n)) for n in model.bone_names])
    sides = np.array([1 if n.endswith(".L") else (-1 if n.endswith(".R") else 0) for n in model.bone_names])
    index = anny_model.vertex_bone_indices.long().cpu().numpy()
    weight = anny_model.vertex_bone_weights.float().cpu().numpy()
    vertex_group = np.zeros((index.shape[0], len(GROUPS)))
    np.add.at(vertex_group, (np.arange(index.shape[0])[:, None].repeat(index.shape[1], 1), groups[index]), weight)
    vertex_side = (weight * sides[index]).sum(axis=1)
    group = vertex_group[faces].sum(axis=1).argmax(axis=1)
    side = np.where(vertex_side[faces].sum(axis=1) >= 0, 1, -1)

    import anny

    folder = os.path.join(os.path.dirname(anny.__file__), "data", "segmentation")
    image = np.asarray(Image.open(os.path.join(folder, "body_parts_segmentation.png")))[..., :3]
    with open(os.path.join(folder, "body_parts_segmentation.yaml")) as handle:
        colours = yaml.safe_load(handle)["colors"]
    uv = anny_model.texture_coordinates.cpu().numpy()[anny_model.face_texture_coordinate_indices.cpu().numpy()].mean(1)
    h, w = image.shape[:2]
    rows = np.clip(((1.0 - uv[:, 1]) * h).astype(int), 0, h - 1)
    cols = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
    pixel = image[rows, cols]

    def is_part(*names: str) -> np.ndarray:
        return np.any([(pixel == np.array(colours[n])).all(axis=1) for n in names], axis=0)

    interior = is_part("eye_back.L", "eye_back.R", "eye_cavity.L", "eye_cavity.R", "mouth_cavity", "tongue")
    eye = is_part("eye_front.L", "eye_front.R")
    logger.debug("Anny mesh labels: %d interior, %d eye triangles", interior.sum(), eye.sum())
    return MeshLabels(group=group, side=side, interior=interior, eye=eye)


def mesh_labels(model: Any) -> MeshLabels:
    """Per-triangle bone group, side and UV-segmentation flags of an Anny body model (cached)."""
    return _mesh_labels_cached(model)


@dataclass
class BodyGeometry:
    """Shape-dependent landmarks of a rest body used to place garment edges and hair."""

    shoulder: np.ndarray  # [2, 3] left, right (upperarm01 joints)
    wrist: np.ndarray  # [2, 3]
    hip: np.ndarray  # [2, 3] (upperleg01 joints)
    ankle: np.ndarray  # [2, 3] (foot joints)
    waist_z: float
    eye_z: float
    head_top_z: float
    head_centre_y: float
    shoulder_z: float
    height: float


def body_geometry(model: Any, rest_joints: np.ndarray, rest_vertices: np.ndarray, labels: MeshLabels) -> BodyGeometry:
    """Landmarks of the rest body (model frame: +z up, -y forward, +x left)."""
    def joint(name: str) -> np.ndarray:
        return rest_joints[model.bone_index(name)]

    faces = model.faces
    head_vertices = rest_vertices[np.unique(faces[labels.group == GROUPS.index("head")])]
    waist_z = 0.5 * (joint("spine04")[2] + joint("spine03")[2])
    return BodyGeometry(
        shoulder=np.stack([joint("upperarm01.L"), joint("upperarm01.R")]),
        wrist=np.stack([joint("wrist.L"), joint("wrist.R")]),
        hip=np.stack([joint("upperleg01.L"), joint("upperleg01.R")]),
        ankle=np.stack([joint("foot.L"), joint("foot.R")]),
        waist_z=float(waist_z),
        eye_z=float(0.5 * (joint("eye.L")[2] + joint("eye.R")[2])),
        head_top_z=float(head_vertices[:, 2].max()),
        head_centre_y=float(0.5 * (head_vertices[:, 1].min() + head_vertices[:, 1].max())),
        shoulder_z=float(0.5 * (joint("upperarm01.L")[2] + joint("upperarm01.R")[2])),
        height=float(rest_vertices[:, 2].max() - rest_vertices[:, 2].min()),
    )


def _along(points: np.ndarray, side: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position of each point along its side's start -> end segment (0 at start, 1 at end)."""
    k = np.where(side > 0, 0, 1)
    axis = end[k] - start[k]
    return ((points - start[k]) * axis).sum(axis=1) / (axis * axis).sum(axis=1)


def surface_parts(
    points: np.ndarray,  # [N, 3] rest positions of Gaussians
    normals: np.ndarray,  # [N, 3] rest normals of their triangles
    group: np.ndarray,  # [N] bone group of their triangles
    side: np.ndarray,  # [N]
    eye: np.ndarray,  # [N] bool
    geometry: BodyGeometry,
    appearance: AppearanceParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Part id [N] (SKIN/TOP/BOTTOM/SHOES/EYES) and offset off the skin [N] (metres)."""
    n = points.shape[0]
    part = np.full(n, SKIN)
    offset = np.zeros(n)
    top = TOP_TYPES[appearance.top_type]
    bottom = BOTTOM_TYPES[appearance.bottom_type]
    shoes = SHOE_TYPES[appearance.shoes_type]
    arm = np.isin(group, _ARM_GROUPS)
    leg = np.isin(group, _LEG_GROUPS)
    trunk = np.isin(group, (GROUPS.index("trunk"), GROUPS.index("pelvis")))
    arm_t = _along(points, side, geometry.shoulder, geometry.wrist)
    leg_t = _along(points, side, geometry.hip, geometry.ankle)
    overlap = 0.02 * geometry.height / 1.7
    in_top = (trunk & (points[:, 2] >= geometry.waist_z - overlap)) | (arm & (arm_t < top["sleeve"]))
    in_bottom = (trunk & ~in_top) | (leg & (leg_t < bottom["length"]) & (group != GROUPS.index("foot")))
    in_shoes = (group == GROUPS.index("foot")) | (leg & (leg_t >= shoes["cuff"]))
    if appearance.shoes_type == "barefoot":
        in_shoes[:] = False
    if appearance.bottom_type == "none":
        in_bottom[:] = False
    inner = np.clip(-normals[:, 0] * side, 0.0, 1.0)

    def flared(mask: np.ndarray, garment: dict[str, float]) -> np.ndarray:
        # Skirts hang away from the legs towards the hem; surfaces facing the other leg flare
        # less so the two legs' hems do not cross between them.
        towards_hem = np.clip(leg_t / max(garment["length"], 1e-6), 0.0, 1.0) * leg
        return garment["offset"] + garment["flare"] * towards_hem[mask] * (1.0 - 0.8 * inner[mask])

    part[in_bottom] = BOTTOM
    offset[in_bottom] = flared(in_bottom, bottom)
    if appearance.top_type == "dress":
        skirt = (trunk & ~in_top) | (leg & (leg_t < DRESS_SKIRT["length"]) & (group != GROUPS.index("foot")))
        part[skirt] = TOP
        offset[skirt] = flared(skirt, DRESS_SKIRT)
    part[in_top] = TOP
    offset[in_top] = top["offset"]
    if "sole" in shoes:
        foot_points = group == GROUPS.index("foot")
        lowest = points[foot_points, 2].min(initial=np.inf)
        in_shoes = foot_points & (points[:, 2] < lowest + shoes["sole"] * geometry.height / 1.7)
    part[in_shoes] = SHOES
    offset[in_shoes] = shoes["offset"]
    part[eye] = EYES
    return part, offset


def scalp_mask(points: np.ndarray, group: np.ndarray, geometry: BodyGeometry, low: float) -> np.ndarray:
    """Head/neck points covered by hair: the crown, and the back and sides down to ``low`` head
    heights below the eyes (the face, forehead and ears' front stay clear)."""
    head_h = max(geometry.head_top_z - geometry.eye_z, 1e-3)
    head = np.isin(group, (GROUPS.index("head"), GROUPS.index("neck")))
    crown = points[:, 2] > geometry.eye_z + 0.45 * head_h
    behind = points[:, 1] > geometry.head_centre_y - 0.1 * head_h
    back_sides = behind & (points[:, 2] > geometry.eye_z - low * head_h)
    return head & (crown | back_sides)


def bun_mask(points: np.ndarray, group: np.ndarray, geometry: BodyGeometry) -> np.ndarray:
    """Back of the crown, where a bun sits."""
    head_h = max(geometry.head_top_z - geometry.eye_z, 1e-3)
    head = group == GROUPS.index("head")
    high = points[:, 2] > geometry.eye_z + 0.5 * head_h
    return head & high & (points[:, 1] > geometry.head_centre_y + 0.25 * head_h)


def drape_mask(points: np.ndarray, normals: np.ndarray, group: np.ndarray, geometry: BodyGeometry) -> np.ndarray:
    """Back of the neck and upper back where long hair hangs (surfaces facing backwards, +y)."""
    region = np.isin(group, (GROUPS.index("neck"), GROUPS.index("trunk")))
    facing_back = normals[:, 1] > 0.35
    low_end = geometry.shoulder_z - 0.12 * geometry.height
    return region & facing_back & (points[:, 2] > low_end) & (points[:, 2] < geometry.eye_z)


# --------------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------------


def pattern_secondary(rgb: np.ndarray) -> np.ndarray:
    """The second colour of a pattern: a dark version of light colours, a light one of dark colours."""
    luminance = float(rgb @ np.array([0.2126, 0.7152, 0.0722]))
    return rgb * 0.25 if luminance > 0.15 else rgb + (1.0 - rgb) * 0.6


def pattern_mask(points: np.ndarray, pattern: str, period: float = PATTERN_PERIOD_M) -> np.ndarray:
    """[N] bool, where the pattern's second colour shows, from rest body-space coordinates.

    Computed in 3D rather than UV so stripes run round the body without seams at UV islands.
    """
    if pattern == "solid":
        return np.zeros(points.shape[0], dtype=bool)
    z = points[:, 2] / period
    across = (points[:, 0] + points[:, 1]) / period
    if pattern == "stripes":
        return (z - np.floor(z)) < 0.5
    if pattern == "checks":
        return ((np.floor(z) + np.floor(across)) % 2) == 1
    if pattern == "dots":
        dz, da = z - np.round(z), across - np.round(across)
        return dz * dz + da * da < 0.22 * 0.22
    raise ValueError(f"Unknown pattern {pattern!r}")


def surface_colors(
    points: np.ndarray, part: np.ndarray, appearance: AppearanceParams, rng: np.random.Generator
) -> np.ndarray:
    """[N, 3] linear RGB per Gaussian: the part's colour, its pattern, a little per-Gaussian jitter."""
    n = points.shape[0]
    colors = np.zeros((n, 3))
    base = {
        SKIN: np.array(appearance.skin_rgb), TOP: np.array(appearance.top_rgb),
        BOTTOM: np.array(appearance.bottom_rgb), SHOES: np.array(appearance.shoes_rgb),
        EYES: np.array([0.12, 0.09, 0.07]), HAIR: np.array(appearance.hair_rgb),
    }
    for pid, rgb in base.items():
        colors[part == pid] = rgb
    patterns = (
        (TOP, appearance.top_pattern, appearance.top_pattern_rgb),
        (BOTTOM, appearance.bottom_pattern, appearance.bottom_pattern_rgb),
    )
    for pid, pattern, second in patterns:
        chosen = part == pid
        mask = pattern_mask(points[chosen], pattern)
        rows = np.nonzero(chosen)[0][mask]
        colors[rows] = pattern_secondary(base[pid]) if second is None else np.array(second)
    # Skin and cloth are not flat: a few percent of brightness noise reads as texture.
    jitter = np.where(part == SKIN, 0.04, 0.06)
    colors = colors * (1.0 + jitter[:, None] * rng.standard_normal((n, 1)))
    colors = colors + 0.01 * rng.standard_normal((n, 3)) * (part == SKIN)[:, None]
    return np.clip(colors, 0.0, 1.0)


def hair_colors(n: int, appearance: AppearanceParams, rng: np.random.Generator) -> np.ndarray:
    """[n, 3] hair colour with strand-like brightness variation (more than skin)."""
    rgb = np.array(appearance.hair_rgb)
    factor = np.clip(1.0 + 0.18 * rng.standard_normal((n, 1)), 0.5, 1.6)
    return np.clip(rgb * factor + 0.01 * rng.random((n, 1)), 0.0, 1.0)


def to_tensor(array: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
