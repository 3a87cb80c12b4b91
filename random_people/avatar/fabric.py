"""Fabric that reads as fabric: prints, folds, seams and hems, and shoes with soles.

Why the old look read as camouflage: hard-edged patterns sampled by randomly rotated, overlapping
Gaussians about as large as the pattern's features, plus independent per-Gaussian brightness
noise. Here every pattern is **pre-filtered**: each Gaussian takes the pattern's *average* over
its own footprint (analytic box-filtered stripes, soft-edged dots), so features larger than a
Gaussian stay crisp and features smaller than one fade to their mean colour instead of aliasing.
All other variation (folds, denim fading, small-print mottling) is smooth noise.

Patterns live in garment coordinates: ``u`` metres along the body part's axis (up the trunk,
down a limb) and ``v`` metres round it (angle x a fixed radius per part), so stripes are rings
round the body and plaid squares stay square on a sleeve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from random_people.avatar.noise import fbm, value_noise

PATTERN_NAMES = ("solid", "stripes", "checks", "plaid", "dots", "denim", "print")
STRIPE_PERIOD_M = 0.05
PLAID_PERIOD_M = 0.09
CHECK_PERIOD_M = 0.06
DOT_PERIOD_M = 0.06
DOT_RADIUS_M = 0.014
PART_RADIUS_M = {"trunk": 0.14, "arm": 0.045, "leg": 0.075}
MAX_CLOTH_ALBEDO = 0.85  # even a white shirt reflects at most ~85 % of the light


@dataclass(frozen=True)
class GarmentFrame:
    """Per-Gaussian garment coordinates and where it sits on the body."""

    u: np.ndarray  # [N] metres along the part's axis
    v: np.ndarray  # [N] metres round it (0 = front)
    facing_side: np.ndarray  # [N] |sin| of the angle round the part: 1 on the side seams
    joint: np.ndarray  # [N] in [0, 1], closeness to an elbow, knee, waist or hip (fold zones)
    limb: np.ndarray  # [N] bool, on an arm or a leg (folds run round it)


def garment_frame(
    points: np.ndarray,  # [N, 3]
    group_kind: np.ndarray,  # [N] 0 trunk, 1 arm, 2 leg
    side: np.ndarray,  # [N] +1 left, -1 right
    shoulder: np.ndarray, wrist: np.ndarray, hip: np.ndarray, ankle: np.ndarray,  # [2, 3] each
    waist_z: float,
    elbow: np.ndarray, knee: np.ndarray,  # [2, 3]
) -> GarmentFrame:
    n = points.shape[0]
    u = np.zeros(n)
    angle = np.zeros(n)
    radius = np.full(n, PART_RADIUS_M["trunk"])
    joint = np.zeros(n)
    k = np.where(side > 0, 0, 1)
    trunk = group_kind == 0
    centre = 0.5 * (hip[0] + hip[1])
    u[trunk] = points[trunk, 2]
    rel = points[trunk] - centre
    angle[trunk] = np.arctan2(rel[:, 0], -rel[:, 1])
    joint[trunk] = np.exp(-(((points[trunk, 2] - waist_z) / 0.06) ** 2))
    for kind, start, end, mid, name in ((1, shoulder, wrist, elbow, "arm"), (2, hip, ankle, knee, "leg")):
        rows = group_kind == kind
        a, b = start[k[rows]], end[k[rows]]
        axis = b - a
        length = np.linalg.norm(axis, axis=1, keepdims=True)
        axis = axis / np.maximum(length, 1e-9)
        rel = points[rows] - a
        u[rows] = (rel * axis).sum(axis=1)
        radial = rel - u[rows, None] * axis
        forward = np.array([0.0, -1.0, 0.0])[None] - (axis * np.array([0.0, -1.0, 0.0])[None]).sum(1, keepdims=True) * axis
        forward /= np.maximum(np.linalg.norm(forward, axis=1, keepdims=True), 1e-9)
        lateral = np.cross(axis, forward)
        angle[rows] = np.arctan2((radial * lateral).sum(1), (radial * forward).sum(1))
        radius[rows] = PART_RADIUS_M[name]
        to_joint = np.linalg.norm(points[rows] - mid[k[rows]], axis=1)
        joint[rows] = np.exp(-((to_joint / 0.07) ** 2))
        if kind == 2:  # the hip crease too
            joint[rows] = np.maximum(joint[rows], np.exp(-((u[rows] / 0.08) ** 2)))
    return GarmentFrame(u=u, v=angle * radius, facing_side=np.abs(np.sin(angle)), joint=joint,
                        limb=group_kind != 0)


def stripe_coverage(x: np.ndarray, period: float, duty: float, width: np.ndarray) -> np.ndarray:
    """Fraction of ``[x - width, x + width]`` covered by stripes ``[k p, k p + duty p)``: a square
    wave box-filtered over each Gaussian's footprint (exact, so no aliasing at any size)."""
    on = duty * period

    def integral(t: np.ndarray) -> np.ndarray:
        cycles = np.floor(t / period)
        return cycles * on + np.minimum(t - cycles * period, on)

    width = np.maximum(width, 1e-6)
    return (integral(x + width) - integral(x - width)) / (2.0 * width)


def dot_coverage(u: np.ndarray, v: np.ndarray, period: float, radius: float, width: np.ndarray) -> np.ndarray:
    """Soft-edged polka dots on a staggered lattice, edges blurred by the footprint ``width``."""
    row = np.floor(u / period)
    shift = 0.5 * period * (row % 2)
    du = u - (row + 0.5) * period
    dv = (v - shift) - (np.floor((v - shift) / period) + 0.5) * period
    distance = np.hypot(du, dv)
    edge = np.maximum(width, 1e-4)
    coverage = np.clip((radius - distance) / (2 * edge) + 0.5, 0.0, 1.0)
    # A dot smaller than the footprint can only darken its Gaussian by its area share.
    area_share = min(1.0, np.pi * radius * radius / (period * period))
    return np.where(edge > radius, area_share * np.clip(coverage * 4.0, 0.0, 1.0), coverage)


def pattern_albedo(
    pattern: str,
    base: np.ndarray,  # [3]
    second: np.ndarray,  # [3]
    frame: GarmentFrame,
    points: np.ndarray,
    normals: np.ndarray,
    footprint: np.ndarray,  # [N] in-plane size of each Gaussian (metres)
    seed: int,
) -> np.ndarray:
    """[N, 3] albedo of a garment's Gaussians for one print (before folds, seams and hems)."""
    n = len(frame.u)
    base = np.asarray(base, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if pattern == "solid":
        mix = np.zeros(n)
    elif pattern == "stripes":
        mix = stripe_coverage(frame.u, STRIPE_PERIOD_M, 0.5, footprint)
    elif pattern in ("checks", "plaid"):
        duty = 0.5 if pattern == "checks" else 0.35
        period = CHECK_PERIOD_M if pattern == "checks" else PLAID_PERIOD_M
        across = stripe_coverage(frame.u, period, duty, footprint)
        around = stripe_coverage(frame.v, period, duty, footprint)
        mix = 0.5 * (across + around)  # bands half-tinted, their crossings fully (gingham / tartan)
        if pattern == "plaid":  # a thin light over-check line between the bands
            line_u = stripe_coverage(frame.u + 0.6 * period, period, 0.07, footprint)
            line_v = stripe_coverage(frame.v + 0.6 * period, period, 0.07, footprint)
            accent = np.clip(line_u + line_v, 0.0, 1.0)[:, None]
            rgb = base[None] + (second - base)[None] * mix[:, None]
            return rgb + (np.minimum(base * 1.8 + 0.15, 1.0) - rgb) * 0.6 * accent
    elif pattern == "dots":
        mix = dot_coverage(frame.u, frame.v, DOT_PERIOD_M, DOT_RADIUS_M, footprint)
    elif pattern == "print":
        # A small all-over print (sprigs) is finer than a Gaussian: its mean tint, unevenly spread.
        mix = np.clip(0.28 + 0.22 * fbm(points, 0.015, seed + 11, octaves=2), 0.0, 1.0)
    elif pattern == "denim":
        # Indigo twill is too fine to resolve; what reads is the wash: lighter where it wears
        # (front of the thighs, knees, seat), darker in the creases, slightly heathered.
        wear = 0.5 + 0.5 * fbm(points, 0.10, seed + 13, octaves=2)
        front = np.clip(-normals[:, 1], 0.0, 1.0) * frame.limb
        light = 1.0 + 0.22 * wear * (0.4 + 0.6 * front) + 0.04 * value_noise(points, 0.012, seed + 17)
        return np.clip(base[None] * light[:, None] * np.array([0.97, 1.0, 1.04])[None], 0.0, 1.0)
    else:
        raise ValueError(f"Unknown pattern {pattern!r}; known: {', '.join(PATTERN_NAMES)}.")
    return base[None] + (second - base)[None] * mix[:, None]


def cloth_shading(
    rgb: np.ndarray,  # [N, 3]
    frame: GarmentFrame,
    points: np.ndarray,
    hem: np.ndarray,  # [N] in [0, 1], closeness to the garment's edge
    drape: np.ndarray,  # [N] bool, a hanging skirt (folds run down it, not round it)
    seed: int,
) -> np.ndarray:
    """Folds (low-frequency darkening, strongest at elbows, knees and the waist), darker side
    seams and a darker hem band; albedo stays below :data:`MAX_CLOTH_ALBEDO`."""
    local = np.stack([frame.u, frame.v, np.zeros_like(frame.u)], axis=1)
    fold = np.zeros(len(frame.u))
    limb = frame.limb & ~drape
    trunk = ~frame.limb & ~drape
    if limb.any():  # creases: rings round a limb
        fold[limb] = value_noise(local[limb], np.array([0.035, 0.09, 1.0]), seed + 21)
    if drape.any():  # vertical folds down a skirt
        fold[drape] = value_noise(local[drape], np.array([0.25, 0.035, 1.0]), seed + 23)
    if trunk.any():
        fold[trunk] = fbm(points[trunk], 0.12, seed + 25, octaves=2)
    amount = np.where(drape, 0.12, 0.05 + 0.10 * frame.joint)
    shade = 1.0 - amount * np.clip(0.5 + 0.6 * fold, 0.0, 1.0)
    seam = np.clip((frame.facing_side - 0.985) / 0.012, 0.0, 1.0)
    shade *= 1.0 - 0.18 * seam - 0.16 * hem
    return np.clip(rgb * shade[:, None], 0.0, MAX_CLOTH_ALBEDO)


SOLE_HEIGHT_M = {"sneakers": 0.022, "boots": 0.028, "sandals": 0.025, "barefoot": 0.0}


def shoe_albedo(
    points: np.ndarray, upper: np.ndarray, shoe_type: str, foot_floor_z: float, scale: float, seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """[N, 3] shoe albedo with a sole band of a contrasting colour, and [N] bool "is sole".

    Sneakers get a light sole (a grey one under a white upper), boots a thick dark one; the
    upper has faint low-frequency wear."""
    upper = np.asarray(upper, dtype=np.float64)
    lum = float(upper @ np.array([0.2126, 0.7152, 0.0722]))
    if shoe_type == "boots":
        sole_rgb = np.array([0.025, 0.022, 0.02])
    elif shoe_type == "sandals":
        sole_rgb = np.array([0.18, 0.12, 0.07])
    else:
        sole_rgb = np.array([0.72, 0.71, 0.68]) if lum < 0.5 else np.array([0.30, 0.30, 0.31])
    height = SOLE_HEIGHT_M.get(shoe_type, 0.02) * scale
    sole = points[:, 2] < foot_floor_z + height
    wear = 1.0 + 0.06 * fbm(points, 0.03, seed + 31, octaves=2)
    rgb = np.where(sole[:, None], sole_rgb[None], upper[None] * wear[:, None])
    return np.clip(rgb, 0.0, MAX_CLOTH_ALBEDO), sole
