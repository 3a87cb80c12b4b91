"""Hair as strands: chains of elongated Gaussians that grow from the scalp and follow the style.

Each strand (really a lock a few millimetres wide) starts at a root sampled on the scalp, leaves
it at the style's lift angle in the direction hair flows (away from the crown), and is stepped
segment by segment: gravity bends it down by the style's amount, curly styles add a helical
wobble, and a strand that would enter the head or body is pushed back out to the style's
thickness above it. Every segment becomes one Gaussian stretched along the segment (so hair
reads as strands, not blobs), flat against the surface below it.

Binding: each Gaussian is attached to the body triangle nearest its centre with the barycentric
coordinates of its projection onto that triangle's plane (which may fall slightly outside the
triangle) and its height above it, so it poses with the body like every other Gaussian and its
rest position is reproduced exactly.

Colour: the hair colour with per-strand variation (a grey head mixes lighter and darker strands),
slightly lighter tips on long hair, and a faint baked highlight band on the crown.
Specular (:func:`strand_specular`): a weight per strand, most strands faint and a few bright, so
the key light's highlight breaks into strands. One weight for every hair Gaussian, over normals
that follow the smooth scalp, drew a single round highlight, and short dark hair read as a shiny
bald dome (toddlers seen from behind).
Facial hair (stubble, moustache, goatee, beard) uses the same strands, shorter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

HAIR_SPECULAR = 0.16  # typical specular weight of scalp hair (skin's sheen is 0.04-0.09; was 0.35 on every strand)
STRAND_SPECULAR_SPREAD = 0.8  # sigma of the per-strand log-normal factor
STRAND_SPECULAR_MAX = 2.5  # no strand more than this times HAIR_SPECULAR


@dataclass(frozen=True)
class StrandStyle:
    """How strands of one style grow (lengths in metres for an adult head, scaled by head size)."""

    length: float
    segments: int
    lift: float  # 0 = flat on the scalp, 1 = straight out along the normal
    gravity: float  # how fast the direction turns downwards per segment
    curl: float  # helical wobble amplitude (metres); 0 = straight
    thickness: float  # how far above the surface strands are kept (metres)
    width: float  # lock width as a multiple of the root spacing


STRAND_STYLES: dict[str, StrandStyle] = {
    "buzz": StrandStyle(0.008, 1, 0.05, 0.0, 0.0, 0.002, 1.3),
    "short": StrandStyle(0.055, 3, 0.25, 0.25, 0.0, 0.006, 1.2),
    "medium": StrandStyle(0.17, 6, 0.20, 0.45, 0.0, 0.010, 1.1),
    "long": StrandStyle(0.38, 10, 0.20, 0.55, 0.0, 0.010, 1.05),
    "bun": StrandStyle(0.10, 4, 0.10, 0.0, 0.0, 0.005, 1.15),
    "curly": StrandStyle(0.11, 6, 0.30, 0.15, 0.008, 0.016, 1.25),
}
FACIAL_HAIR_STYLES = ("none", "stubble", "moustache", "goatee", "beard")
FACIAL_STRAND = StrandStyle(0.012, 2, 0.15, 0.5, 0.0, 0.002, 1.2)


@dataclass
class Strands:
    """Rest-space hair Gaussians before binding."""

    means: np.ndarray  # [N, 3]
    rotations: np.ndarray  # [N, 3, 3] columns: along the strand, across it, outwards
    scales: np.ndarray  # [N, 3] std devs along, across, outwards (metres)
    strand: np.ndarray  # [N] strand id
    position: np.ndarray  # [N] 0 at the root .. 1 at the tip


class _Surface:
    """Nearest-point queries on the rest body's vertices (with vertex normals) for collisions."""

    def __init__(self, vertices: np.ndarray, vertex_normals: np.ndarray, keep: np.ndarray,
                 face: np.ndarray | None = None) -> None:
        from scipy.spatial import cKDTree

        self.points = vertices[keep]
        self.normals = vertex_normals[keep]
        self.face = np.zeros(int(keep.sum()), bool) if face is None else face[keep]
        self.tree = cKDTree(self.points)

    def on_face(self, p: np.ndarray) -> np.ndarray:
        """[N] bool: the nearest skin is the face (hair must not lie across it)."""
        _, index = self.tree.query(p, k=1)
        return self.face[index]

    def keep_near(self, p: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points moved along the nearest vertex normal to between ``low`` and ``high`` above the
        skin: out of the body, and back towards it so strands lie on the head and drape over the
        body instead of leaving it in straight lines."""
        _, index = self.tree.query(p, k=1)
        normal = self.normals[index]
        height = ((p - self.points[index]) * normal).sum(axis=1)
        target = np.clip(height, low, high)
        return p + (target - height)[:, None] * normal, normal


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    cross = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], cross)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def _orthonormal(along: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Rotation matrices [N, 3, 3] with columns along, across, out (out made orthogonal to along)."""
    along = along / np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-12)
    out = outward - (outward * along).sum(1, keepdims=True) * along
    bad = np.linalg.norm(out, axis=1) < 1e-6
    out[bad] = np.cross(along[bad], np.array([1.0, 0.0, 0.0]))
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    across = np.cross(out, along)
    return np.stack([along, across, out], axis=2)


def grow_strands(
    roots: np.ndarray,  # [R, 3]
    root_normals: np.ndarray,  # [R, 3]
    flow: np.ndarray,  # [R, 3] tangent direction hair combs towards
    style: StrandStyle,
    surface: _Surface,
    scale: float,
    root_spacing: float,
    rng: np.random.Generator,
    behind: tuple[float, float] | None = None,
) -> Strands:
    """Step every strand segment by segment (see the module docstring).

    ``behind`` = (y, z): below height z, strands stay behind the plane y (the ears' plane, so hair
    falls behind the ears and over the back, not down the cheeks and the front of the neck)."""
    r = roots.shape[0]
    segments = style.segments
    length = style.length * scale * rng.uniform(0.8, 1.15, r)
    step = length / segments
    clearance = style.thickness * scale * rng.uniform(0.6, 1.2, r)
    direction = flow * (1.0 - style.lift) + root_normals * style.lift
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    position = roots + root_normals * 0.5 * clearance[:, None]
    phase = rng.uniform(0.0, 2.0 * math.pi, r)
    means, rotations, scales, strand_ids, where = [], [], [], [], []
    down = np.array([0.0, 0.0, -1.0])
    back = np.array([0.0, 1.0, -0.6]) / np.linalg.norm([1.0, 0.6])
    for k in range(segments):
        new = position + direction * step[:, None]
        blocked = surface.on_face(new)
        if blocked.any():  # tuck it behind the face instead: back and down
            direction[blocked] = back
            new[blocked] = position[blocked] + back * step[blocked, None]
        if behind is not None:
            ahead = (new[:, 1] < behind[0]) & (new[:, 2] < behind[1])
            new[ahead, 1] = behind[0]
            direction[ahead] = back
        if style.curl > 0:
            wobble = np.cross(direction, root_normals)
            new = new + wobble * (style.curl * scale * np.cos(phase + 2.1 * k))[:, None]
        low = clearance * (1.0 + 0.25 * k / max(segments, 1))
        new, normal = surface.keep_near(new, low, 1.8 * low + 0.002 * scale)
        segment = new - position
        seg_len = np.maximum(np.linalg.norm(segment, axis=1), 1e-5)
        too_long = seg_len > 1.3 * step  # a strand may bend round the head, never jump
        segment[too_long] *= (1.3 * step[too_long] / seg_len[too_long])[:, None]
        seg_len = np.minimum(seg_len, 1.3 * step)
        new = position + segment
        means.append(0.5 * (new + position))
        rotations.append(_orthonormal(segment, normal))
        width = root_spacing * style.width * (1.0 - 0.35 * k / max(segments, 1))
        scales.append(np.stack([0.62 * seg_len, np.full(r, 0.5 * width), np.full(r, 0.0016 * scale)], axis=1))
        strand_ids.append(np.arange(r))
        where.append(np.full(r, (k + 0.5) / segments))
        direction = segment / seg_len[:, None] + style.gravity * down[None] * (0.6 + 0.4 * k / max(segments, 1))
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
        position = new
    return Strands(
        means=np.concatenate(means), rotations=np.concatenate(rotations), scales=np.concatenate(scales),
        strand=np.concatenate(strand_ids), position=np.concatenate(where),
    )


def crown_flow(points: np.ndarray, normals: np.ndarray, crown: np.ndarray, front_y: float | None = None) -> np.ndarray:
    """Tangent directions away from the crown whorl (hair falls outwards and down from it).

    In front of ``front_y`` (the forehead side) hair parts in the middle and falls to the sides
    instead of over the eyes."""
    away = points - crown[None]
    away[:, 2] -= 0.02  # a slight downward bias so hair on the top combs down, not flat out
    if front_y is not None:
        front = points[:, 1] < front_y
        side = np.where(points[front, 0] >= 0, 1.0, -1.0)
        away[front] = np.stack([side * 0.08, np.full(side.shape, 0.06), np.full(side.shape, -0.04)], axis=1)
    tangent = away - (away * normals).sum(1, keepdims=True) * normals
    return tangent / np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)


def strand_colors(
    strands: Strands, hair_rgb: np.ndarray, grey: bool, highlight_z: float, band: float, rng: np.random.Generator,
) -> np.ndarray:
    """[N, 3] albedo: per-strand variation, lighter tips, a soft highlight band (see module doc)."""
    n_strands = int(strands.strand.max()) + 1 if len(strands.strand) else 0
    factor = np.exp(0.12 * rng.standard_normal(n_strands))
    if grey:  # salt and pepper: some strands much lighter, some darker
        factor *= np.where(rng.random(n_strands) < 0.45, 1.35, 0.75)
    tint = 1.0 + 0.04 * rng.standard_normal((n_strands, 3))
    rgb = np.asarray(hair_rgb)[None] * (factor[:, None] * tint)[strands.strand]
    rgb *= (1.0 + 0.12 * strands.position)[:, None]  # sun-lightened tips
    highlight = np.exp(-(((strands.means[:, 2] - highlight_z) / max(band, 1e-4)) ** 2))
    rgb = rgb + (np.minimum(rgb * 1.6 + 0.02, 1.0) - rgb) * 0.35 * highlight[:, None]
    return np.clip(rgb, 0.0, 1.0)


def strand_specular(strands: Strands, seed: int, mean: float = HAIR_SPECULAR) -> np.ndarray:
    """[N] specular weight of each hair Gaussian: ``mean`` times a per-strand log-normal factor
    (most strands below 1, none above :data:`STRAND_SPECULAR_MAX`), a little less towards the
    tips (see the module docstring). Strands lying on the forehead (a fringe, facing forwards,
    -y) keep a quarter of it: thin locks over the skin facing the camera and a frontal key light
    at once drew a grey-blue smear across the face; the brightest strands are capped likewise.

    Seeded on its own stream (not the builder's), so the rest of an avatar does not move."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EC])
    n_strands = int(strands.strand.max()) + 1 if len(strands.strand) else 0
    sigma = STRAND_SPECULAR_SPREAD
    factor = np.minimum(rng.lognormal(-0.5 * sigma * sigma, sigma, n_strands), STRAND_SPECULAR_MAX)
    facing_front = np.clip((-strands.rotations[:, 1, 2] - 0.5) / 0.3, 0.0, 1.0)  # outward normal's -y
    return mean * factor[strands.strand] * (1.0 - 0.3 * strands.position) * (1.0 - 0.75 * facing_front)


def bind_points(
    means: np.ndarray,  # [N, 3]
    rotations: np.ndarray,  # [N, 3, 3] world rotation of each Gaussian
    scales: np.ndarray,  # [N, 3] metres
    vertices: np.ndarray,  # [V, 3] rest
    faces: np.ndarray,  # [F, 3]
    candidates: np.ndarray,  # [F] bool, triangles hair may ride on
    frames: np.ndarray,  # [F, 3, 3] triangle rotations (binding.triangle_frames)
    sizes: np.ndarray,  # [F] triangle sizes sqrt(area)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Attach free-standing rest Gaussians to their nearest candidate triangles.

    Returns triangle [N], barycentric [N, 3] (of the projection on the triangle's plane; rows sum
    to 1, may be slightly negative), offset [N] along the normal, local rotation (w, x, y, z)
    [N, 4] in the triangle frame and local scales [N, 3] in units of the triangle size.
    """
    import torch
    from scipy.spatial import cKDTree

    from random_people.render.skinning import rotmat_to_quat_wxyz

    ids = np.flatnonzero(candidates)
    corners = vertices[faces[ids]]
    _, nearest = cKDTree(corners.mean(axis=1)).query(means, k=1)
    triangle = ids[nearest]
    a, b, c = (vertices[faces[triangle, i]] for i in range(3))
    frame = frames[triangle]
    size_np = sizes[triangle]
    normal = frame[:, :, 2]
    offset = ((means - a) * normal).sum(axis=1)
    p = means - offset[:, None] * normal
    # Barycentric coordinates of p in (a, b, c) (plane projection; exact reconstruction).
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    denom = np.maximum(d00 * d11 - d01 * d01, 1e-20)
    w1 = (d11 * d20 - d01 * d21) / denom
    w2 = (d00 * d21 - d01 * d20) / denom
    bary = np.stack([1.0 - w1 - w2, w1, w2], axis=1)
    local = np.einsum("nji,njk->nik", frame, rotations)  # frame^T @ world rotation
    quat = rotmat_to_quat_wxyz(torch.from_numpy(local)).numpy()
    return triangle, bary, offset, quat, scales / size_np[:, None]


def facial_hair_region(
    points: np.ndarray, masks_lips: np.ndarray, face_mask: np.ndarray, head_or_neck: np.ndarray,
    nose_tip: np.ndarray, mouth_z: float, eye_z: float, head_centre_y: float, scale: float, style: str,
) -> np.ndarray:
    """[N] weight in [0, 1] of where a style of facial hair grows (geometry of the lower face)."""
    if style == "none":
        return np.zeros(len(points))
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    front = y < head_centre_y + 0.01 * scale
    not_lips = np.clip(1.0 - 2.5 * masks_lips, 0.0, 1.0)
    nose_base = nose_tip[2] - 0.012 * scale
    moustache = (z < nose_base) & (z > mouth_z + 0.002 * scale) & (np.abs(x) < 0.03 * scale)
    chin = (z < mouth_z - 0.006 * scale) & (np.abs(x) < 0.022 * scale) & (z > mouth_z - 0.06 * scale)
    if style == "moustache":
        region = moustache
    elif style == "goatee":
        region = moustache | chin
    else:  # beard, stubble: the lower face from the sideburns down to under the jaw
        below_cheekbone = z < eye_z - 0.035 * scale + 0.03 * scale * np.clip((np.abs(x) - 0.045 * scale) / (0.02 * scale), 0, 1)
        jaw = z > mouth_z - 0.075 * scale
        region = (below_cheekbone & jaw & (face_mask > 0.05)) | moustache | chin
        region &= ~((z > nose_base) & (np.abs(x) < 0.035 * scale))  # cheeks above the moustache
    return (region & front & head_or_neck).astype(np.float64) * not_lips

