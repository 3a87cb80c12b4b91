"""What does not follow the body: outward offsets so the avatar's silhouette matches the person's.

A ponytail, hair volume or a loose shirt sticks out of the body's silhouette; the body fit cannot
explain it (it only chooses a shape) and the builder's hair styles only roughly. Here every
body-mesh vertex gets an outward offset along its normal, in metres, estimated from the frames:

1. **Per frame**, the avatar (fitted body, its clothes and chosen hair) is posed and rasterised
   through the source camera. From each vertex on the avatar's outline (its normal nearly
   perpendicular to the view, projected within a few centimetres of the drawn silhouette's edge)
   we walk outward along the posed normal, 1 cm a step: the distance between leaving the drawn
   silhouette and leaving the person's mask is that vertex's excess in this frame (0 when the
   mask ends first, where the body already covers the person; no observation when the walk runs
   into another drawn part, e.g. an arm in front, before leaving the mask).
2. **Across frames**, the median of each vertex's observations (a pose error in one frame is
   outvoted by the others), weighted by how often it was seen on the outline.
3. **Over the surface**, the offsets are solved as ``min sum w (d - m)^2 + lambda d' L d``
   (``L`` the mesh graph Laplacian): smooth, and carried from the outline to the surface that was
   never on the outline (the side facing the camera). Each region has a ceiling (hair and
   garments may stand far off the body, bare skin and shoes hardly: pose errors at a limb must not
   fatten the limb) and a floor: where the person's outline is consistently inside the avatar's
   (tight trousers drawn over the builder's looser garment layer) the surface comes in a little.

The offsets are stored per vertex in the identity (like the colours) and applied to the Gaussians
riding on each triangle along its normal (:func:`apply_vertex_offsets`), so they follow the pose
exactly as the surface does; the Gaussians on an enlarged surface grow with it so it stays closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from random_people.avatar.appearance import BOTTOM, EYES, HAIR, PART_NAMES, SHOES, SKIN, TOP
from random_people.avatar.capture.packing import pack, unpack
from random_people.avatar.capture.shape_fit import project
from random_people.avatar.identity import IdentityError

logger = logging.getLogger(__name__)

STEP_M = 0.01  # the outward walk's step
OUTLINE_COSINE = 0.35  # |cos(normal, view ray)| below this: the vertex is on the outline
OUTLINE_BAND_M = 0.04  # a vertex projected within this (plus 1.5 px) of the drawn edge is on it
SMOOTHNESS = 1.5  # lambda of the Laplacian term, in units of one fully trusted vertex
FULL_TRUST_OBSERVATIONS = 4  # a vertex seen on the outline this often is fully trusted
MIN_OFFSET_M = 0.005  # smaller offsets are noise of the masks and the pose: dropped
INWARD_M = 0.03  # the outward walk starts this far inside the surface (tight clothes pull the surface in)
# Ceilings per region: hair (ponytails, buns, volume) and garments (loose shirts, skirts) may
# stand far off the body; skin and shoes only a little (a misfit limb must not get fat).
CEILING_M = {SKIN: 0.015, HAIR: 0.25, TOP: 0.15, BOTTOM: 0.15, SHOES: 0.01, EYES: 0.0}
# Floors: the surface may come in where the person's outline is consistently inside the avatar's
# (tight clothes drawn over a looser garment layer, a body fitted a little wide).
FLOOR_M = {SKIN: -0.01, HAIR: -0.01, TOP: -0.01, BOTTOM: -0.01, SHOES: -0.005, EYES: 0.0}
SCALE_GROWTH = (0.5, 3.0)  # a Gaussian on an offset surface grows or shrinks at most this much
OFFSET_ENCODING = "int16-0.1mm-zlib-base64"


@dataclass
class OffsetFit:
    offsets: np.ndarray  # [V] float32 metres, outward along the rest normal
    observed: np.ndarray  # [V] bool: seen on the outline in at least one frame
    observations: int  # outline observations over all frames
    frames: int

    def summary(self) -> dict[str, Any]:
        out, inward = self.offsets > 0, self.offsets < 0
        return {"frames": self.frames, "outline_observations": int(self.observations),
                "vertices_out": int(out.sum()), "vertices_in": int(inward.sum()),
                "max_offset_m": round(float(self.offsets.max(initial=0.0)), 3),
                "min_offset_m": round(float(self.offsets.min(initial=0.0)), 3),
                "mean_outward_m": round(float(self.offsets[out].mean()), 3) if out.any() else 0.0}


def describe_offsets(summary: dict[str, Any] | None) -> str:
    """One line for people: how much of the surface stands off the body (hair volume, loose clothes)."""
    if not summary or not summary.get("vertices_out"):
        return "Nothing stands off the body (its outline matches the silhouette)."
    return (f"Hair and loose clothes: {summary['vertices_out']} surface points stand off the body by up to "
            f"{100 * summary['max_offset_m']:.0f} cm to match the silhouette.")


def frame_excess(vertices: np.ndarray, normals: np.ndarray, K: np.ndarray, mask: np.ndarray, drawn: np.ndarray,
                 max_offset: float) -> tuple[np.ndarray, np.ndarray]:
    """One frame's observations (see step 1 of the module docstring).

    ``vertices``/``normals`` [V, 3] posed in the camera frame, ``mask`` the person [H, W], ``drawn``
    the avatar's silhouette [H, W]. Returns (excess [V] metres, valid [V] bool). The walk starts
    :data:`INWARD_M` inside the surface (which must be on the person), so a negative excess says
    the person's outline is inside the avatar's there (tight clothes over a layer drawn looser).
    """
    height, width = mask.shape
    count = len(vertices)
    excess = np.zeros(count, np.float32)
    valid = np.zeros(count, bool)
    ray = vertices / np.maximum(np.linalg.norm(vertices, axis=1, keepdims=True), 1e-9)
    cosine = np.abs((normals * ray).sum(axis=1))
    pixels = project(vertices, K)
    inside = np.isfinite(pixels).all(axis=1) & (vertices[:, 2] > 1e-3)
    inside &= (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
    depth_in = cv2.distanceTransform(drawn.astype(np.uint8), cv2.DIST_L2, 3)
    px = np.clip(np.nan_to_num(pixels[:, 0]), 0, width - 1).astype(np.int64)
    py = np.clip(np.nan_to_num(pixels[:, 1]), 0, height - 1).astype(np.int64)
    band = K[0, 0] * OUTLINE_BAND_M / np.maximum(vertices[:, 2], 1e-3) + 1.5
    candidates = np.flatnonzero(inside & (cosine < OUTLINE_COSINE) & (depth_in[py, px] <= band))
    if not len(candidates):
        return excess, valid
    steps = np.arange(-INWARD_M, max_offset + STEP_M / 2, STEP_M)
    zero = int(np.argmin(np.abs(steps)))
    walk = vertices[candidates, None, :] + steps[None, :, None] * normals[candidates, None, :]  # [C, T, 3]
    uv = project(walk, K)
    in_image = np.isfinite(uv).all(axis=2) & (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (
        uv[..., 1] < height)
    ux = np.clip(np.nan_to_num(uv[..., 0]), 0, width - 1).astype(np.int64)
    uy = np.clip(np.nan_to_num(uv[..., 1]), 0, height - 1).astype(np.int64)
    on_drawn = drawn[uy, ux] & in_image
    on_mask = mask[uy, ux] & in_image
    index = np.arange(len(steps))[None, :]
    rows = np.arange(len(candidates))
    outward = index >= zero
    left_drawn = ~on_drawn & outward
    has_left = left_drawn.any(axis=1)
    exit_drawn = left_drawn.argmax(axis=1)
    off_mask = ~on_mask
    has_mask_exit = off_mask.any(axis=1)
    exit_mask = np.where(has_mask_exit, off_mask.argmax(axis=1), len(steps) - 1)
    # Between leaving the drawn silhouette and leaving the mask, the walk must not cross another drawn part.
    between = (index > exit_drawn[:, None]) & (index < exit_mask[:, None]) & on_drawn
    ok = has_left & on_mask[:, 0] & ~between.any(axis=1)
    distance = steps[exit_mask] - steps[exit_drawn]
    excess[candidates[ok]] = distance[ok]
    valid[candidates[ok]] = True
    return excess, valid


def _laplacian(faces: np.ndarray, count: int) -> sp.csr_matrix:
    from random_people.avatar.capture.fill import adjacency

    graph = adjacency(faces, count)
    return (sp.diags(np.asarray(graph.sum(axis=1)).ravel()) - graph).tocsr()


def solve_offsets(excess: np.ndarray, valid: np.ndarray, faces: np.ndarray, region: np.ndarray) -> OffsetFit:
    """Per-vertex offsets from per-frame observations ``excess``/``valid`` [F, V] (steps 2 and 3)."""
    from random_people.avatar.capture.backproject import weighted_median

    count = excess.shape[1]
    seen = valid.sum(axis=0)
    median = weighted_median(excess[..., None].astype(np.float64), valid.astype(np.float64))[:, 0]
    trust = np.minimum(seen / FULL_TRUST_OBSERVATIONS, 1.0)
    system = sp.diags(trust + 1e-4) + SMOOTHNESS * _laplacian(faces, count)
    offsets = spla.spsolve(system.tocsc(), trust * median)
    ceiling = np.array([CEILING_M.get(r, 0.0) for r in range(len(PART_NAMES))])[region]
    floor = np.array([FLOOR_M.get(r, 0.0) for r in range(len(PART_NAMES))])[region]
    offsets = np.clip(offsets, floor, ceiling)
    offsets[np.abs(offsets) < MIN_OFFSET_M] = 0.0
    fit = OffsetFit(offsets.astype(np.float32), seen > 0, int(seen.sum()), int(excess.shape[0]))
    logger.info("Offsets beyond the body: %s", fit.summary())
    return fit


def fit_offsets(avatar, posed: np.ndarray, masks: list[np.ndarray], camera, region: np.ndarray,
                max_offset: float = 0.25) -> OffsetFit:
    """Offsets for ``avatar`` from ``posed`` body vertices [T, V, 3] (camera frame) and the person's
    ``masks`` (at ``camera``'s size)."""
    from random_people.avatar.binding import pose_binding
    from random_people.avatar.capture.backproject import vertex_normals_np
    from random_people.render.rasterize import rasterize

    faces = np.asarray(avatar.binding.faces)
    K = camera.K.numpy().astype(np.float64)
    excess, valid = [], []
    for vertices, mask in zip(posed, masks):
        gaussians = pose_binding(avatar.binding, torch.as_tensor(vertices, dtype=torch.float32))
        drawn = rasterize(gaussians, camera, backend="cpu", with_extras=False).alpha.numpy() > 0.5
        points = np.asarray(vertices, np.float64)
        e, v = frame_excess(points, vertex_normals_np(points, faces), K, mask, drawn, max_offset)
        excess.append(e)
        valid.append(v)
    return solve_offsets(np.stack(excess), np.stack(valid), faces, region)


# ---------------------------------------------------------------------------------------------
# Stored in the identity's capture record, applied when the avatar is built
# ---------------------------------------------------------------------------------------------


def encode_offsets(offsets: np.ndarray) -> dict[str, Any]:
    """The ``vertex_offset`` entry of a capture record: signed offsets [V] in 0.1 mm steps, zlib, base64."""
    offsets = np.asarray(offsets, dtype=np.float64)
    if offsets.ndim != 1 or not np.isfinite(offsets).all():
        raise ValueError("vertex offsets must be finite [V].")
    quantised = np.round(np.clip(offsets, -3.2, 3.2) * 1e4).astype("<i2")
    payload, checksum = pack(quantised.tobytes())
    return {"encoding": OFFSET_ENCODING, "data": payload, "sha256": checksum}


def decode_offsets(entry: Any, count: int) -> np.ndarray:
    """Offsets [V] float32 metres from a capture record's ``vertex_offset`` (checked)."""
    if not isinstance(entry, dict) or entry.get("encoding") != OFFSET_ENCODING or not isinstance(entry.get("data"), str):
        raise IdentityError(f"capture.vertex_offset: expected {{'encoding': {OFFSET_ENCODING!r}, 'data': ..., "
                            "'sha256': ...}.")
    raw = unpack(entry["data"], 2 * count, entry.get("sha256"), field="capture.vertex_offset", what="offsets",
                 unit="2 per vertex")
    return (np.frombuffer(raw, dtype="<i2").astype(np.float32) * 1e-4)


def apply_vertex_offsets(avatar, offsets: np.ndarray) -> None:
    """Push the avatar's Gaussians out by ``offsets`` [V] (in place): each Gaussian by its triangle's
    vertex offsets mixed by its barycentric weights, along the triangle normal (so the offset is
    posed with the triangle), its size grown with the offset surface's local area."""
    from random_people.avatar.binding import vertex_normals

    binding = avatar.binding
    d = torch.as_tensor(np.asarray(offsets), dtype=binding.offset.dtype)
    corners = binding.faces[binding.triangle]
    binding.offset = binding.offset + (binding.barycentric * d[corners]).sum(dim=1)
    rest = avatar.rest_vertices.to(binding.offset.dtype)
    moved = rest + d[:, None] * vertex_normals(rest, binding.faces).to(rest.dtype)

    def areas(points: torch.Tensor) -> torch.Tensor:
        a, b, c = (points[binding.faces[:, k]] for k in range(3))
        return torch.linalg.cross(b - a, c - a).norm(dim=1)

    growth = (areas(moved) / areas(rest).clamp_min(1e-12)).sqrt().clamp(*SCALE_GROWTH)
    binding.local_scale = binding.local_scale * growth[binding.triangle][:, None]
