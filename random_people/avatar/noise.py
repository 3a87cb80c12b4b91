"""Smooth, seeded 3D value noise for appearance variation (skin mottling, fabric folds, fading).

Why value noise on a lattice rather than per-Gaussian random numbers: neighbouring Gaussians must
get *similar* values, otherwise variation turns into high-frequency speckle (what made faces look
sandy and garments look like camouflage). Values are hashed from integer lattice coordinates and
the seed, so the same point and seed always give the same value, on any machine.
"""

from __future__ import annotations

import numpy as np

_PRIMES = np.array([73856093, 19349663, 83492791], dtype=np.uint64)


def _lattice_values(cells: np.ndarray, seed: int) -> np.ndarray:
    """Pseudo-random values in [-1, 1] for integer lattice points ``cells`` [..., 3]."""
    h = (cells.astype(np.int64).astype(np.uint64) * _PRIMES).sum(axis=-1, dtype=np.uint64)
    h ^= np.uint64((seed * 2654435761) & 0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h *= np.uint64(0x5BD1E995)
    h ^= h >> np.uint64(15)
    return (h & np.uint64(0xFFFF)).astype(np.float64) / 32767.5 - 1.0


def value_noise(points: np.ndarray, scale: float | np.ndarray, seed: int) -> np.ndarray:
    """[N] smooth noise in about [-1, 1] at ``points`` [N, 3] (metres); features ~``scale`` metres.

    ``scale`` may be a [3] vector to stretch the noise along an axis (e.g. folds that run round a
    limb vary fast along it and slowly around it).
    """
    p = np.asarray(points, dtype=np.float64) / np.asarray(scale, dtype=np.float64)
    base = np.floor(p)
    t = p - base
    t = t * t * (3.0 - 2.0 * t)  # smoothstep: continuous derivatives across cells
    out = np.zeros(p.shape[0])
    for corner in range(8):
        offset = np.array([(corner >> 0) & 1, (corner >> 1) & 1, (corner >> 2) & 1])
        weight = np.prod(np.where(offset, t, 1.0 - t), axis=1)
        out += weight * _lattice_values(base + offset, seed)
    return out


def fbm(points: np.ndarray, scale: float, seed: int, octaves: int = 3, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of :func:`value_noise` octaves (each half the size, ``gain`` the amplitude),
    normalised to about [-1, 1]."""
    total, amplitude, norm = np.zeros(len(points)), 1.0, 0.0
    for octave in range(octaves):
        total += amplitude * value_noise(points, scale / (2.0 ** octave), seed + 7919 * octave)
        norm += amplitude
        amplitude *= gain
    return total / norm
