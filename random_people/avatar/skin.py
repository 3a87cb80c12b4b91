"""Skin as albedo: Monk Skin Tone swatches turned into linear-light reflectance, and its variation.

Why not use the swatch itself: a Monk swatch is how skin *looks* on a display (already lit and
exposed); used as a colour that a lighting model then multiplies by irradiance it comes out
like painted plaster (MST 1 is ``#f6ede4``, 92 % reflectance in linear light, brighter than
any real skin). Measured diffuse skin albedo spans roughly 0.45 (very light, red channel) down to
0.04 (very dark), and skin is more saturated than the swatches. :func:`monk_albedo` keeps each
swatch's hue, maps its CIELAB lightness monotonically onto that measured range (the published
swatches are not strictly ordered: MST 3 is lighter than MST 2) and raises its chroma to skin's.

Variation (:func:`skin_albedo`) is all low-frequency, multiplicative and luminance/redness only:
mottling from smooth noise, warmer cheeks, nose, ears, knuckles, elbows and knees, lighter palms
and soles (more so for darker skin, as palmar skin has less melanin). Nothing is drawn per
Gaussian independently, so there is no speckle. :func:`skin_sheen` gives the faint specular
strength a lighting model may add (oilier T-zone and lips, matte elsewhere).
"""

from __future__ import annotations

import functools

import numpy as np

from random_people.avatar.noise import fbm

# Lightness (CIELAB L*) of skin albedo at the two ends of the Monk scale.
ALBEDO_L_LIGHTEST = 70.0  # linear Y ~ 0.41
ALBEDO_L_DARKEST = 22.0  # linear Y ~ 0.036
ALBEDO_MIN_CHROMA = 13.0
ALBEDO_MAX_CHROMA = 24.0
ALBEDO_CHROMA_GAIN = 1.3
SKIN_HUE_RANGE_DEG = (42.0, 62.0)  # skin lies between red-orange and yellow-orange in CIELAB

_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB [..., 3] -> CIELAB (D65) [..., 3]."""
    xyz = np.asarray(rgb, dtype=np.float64) @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) [..., 3] -> linear sRGB [..., 3] (clipped to [0, 1])."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f ** 3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE
    return np.clip(xyz @ np.linalg.inv(_RGB_TO_XYZ).T, 0.0, 1.0)


def hex_to_srgb(value: str) -> np.ndarray:
    return np.array([int(value[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255.0


@functools.lru_cache(maxsize=1)
def monk_albedo_table() -> dict[int, tuple[float, float, float]]:
    """Linear RGB albedo for every Monk tone (see the module docstring for how)."""
    from random_people.avatar.identity import MONK_SKIN_TONES

    tones = sorted(MONK_SKIN_TONES)
    lab = np.array([linear_to_lab(srgb_to_linear(hex_to_srgb(MONK_SKIN_TONES[t]))) for t in tones])
    lightness = lab[:, 0].copy()
    for i in range(1, len(lightness)):  # strictly darker with each tone (MST 3 > MST 2 as published)
        lightness[i] = min(lightness[i], lightness[i - 1] - 0.5)
    span = (lightness - lightness[-1]) / (lightness[0] - lightness[-1])
    target_l = ALBEDO_L_DARKEST + span * (ALBEDO_L_LIGHTEST - ALBEDO_L_DARKEST)
    hue = np.clip(np.degrees(np.arctan2(lab[:, 2], lab[:, 1])), *SKIN_HUE_RANGE_DEG)
    chroma = np.clip(np.hypot(lab[:, 1], lab[:, 2]) * ALBEDO_CHROMA_GAIN, ALBEDO_MIN_CHROMA, ALBEDO_MAX_CHROMA)
    chroma = np.minimum(chroma, 0.5 * target_l + 4.0)  # very dark skin cannot be very saturated
    albedo_lab = np.stack([target_l, chroma * np.cos(np.radians(hue)), chroma * np.sin(np.radians(hue))], axis=1)
    rgb = lab_to_linear(albedo_lab)
    return {t: tuple(float(c) for c in rgb[i]) for i, t in enumerate(tones)}


def monk_albedo(tone: int) -> tuple[float, float, float]:
    """Linear RGB diffuse albedo of Monk Skin Tone ``tone`` (1 lightest .. 10 darkest)."""
    return monk_albedo_table()[int(tone)]


def luminance(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb) @ np.array([0.2126, 0.7152, 0.0722])


# Multipliers for "warmer" (more blood under the skin) and for palmar/plantar skin.
_FLUSH = np.array([1.10, 0.90, 0.88])


def skin_albedo(
    points: np.ndarray,  # [N, 3] rest positions (metres)
    base_rgb: np.ndarray,  # [3] linear albedo of the tone
    flush: np.ndarray,  # [N] in [0, 1]: cheeks, nose, ears, knuckles, elbows, knees
    palmar: np.ndarray,  # [N] in [0, 1]: palms and soles
    seed: int,
    age_years: float = 30.0,
) -> np.ndarray:
    """[N, 3] linear albedo: the tone with low-frequency mottling, flushed and palmar areas.

    Mottling is ~+-5 % luminance at 4-8 cm (plus an older person's blotchier ~2 cm layer) and
    a little redness variation; no independent per-Gaussian noise.
    """
    base = np.asarray(base_rgb, dtype=np.float64)
    n = points.shape[0]
    lum = luminance(base)
    blotch = 0.035 + 0.035 * np.clip((age_years - 45.0) / 40.0, 0.0, 1.0)
    light = 1.0 + 0.05 * fbm(points, 0.08, seed, octaves=2) + blotch * fbm(points, 0.02, seed + 1, octaves=2)
    redness = 0.5 + 0.5 * fbm(points, 0.05, seed + 2, octaves=2)
    rgb = np.repeat(base[None], n, axis=0) * light[:, None]
    warm = np.clip(0.35 * flush + 0.15 * redness * (0.5 + flush), 0.0, 1.0)
    # Flushing shows less on dark skin (melanin masks haemoglobin).
    strength = 0.55 + 0.45 * np.clip(lum / 0.35, 0.0, 1.0)
    rgb *= 1.0 + (_FLUSH - 1.0)[None] * (warm * strength)[:, None]
    # Palms and soles: towards a light pinkish-beige whatever the tone (more for darker skin).
    palm_rgb = np.array([0.46, 0.32, 0.26])
    amount = np.clip(0.15 + 0.55 * (1.0 - lum / 0.35), 0.15, 0.7)
    target = np.where(luminance(palm_rgb) > lum, palm_rgb, base * np.array([1.05, 0.97, 0.95]))
    rgb = rgb + (target[None] - rgb) * (palmar * amount)[:, None]
    return np.clip(rgb, 0.0, 1.0)


def skin_sheen(tzone: np.ndarray, lips: np.ndarray, age_years: float) -> np.ndarray:
    """[N] specular strength in [0, 1] (a lighting model's optional input): faint everywhere
    (0.04), stronger on the forehead/nose T-zone and the lips, a little drier with age."""
    dryness = 1.0 - 0.3 * np.clip((age_years - 40.0) / 40.0, 0.0, 1.0)
    return np.clip((0.04 + 0.10 * tzone + 0.14 * lips) * dryness, 0.0, 1.0)
