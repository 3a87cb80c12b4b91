"""A captured person's hair colour is named from its pigment, not from the clip's light (issue 13:
a woman's sunlit brown hair, L* 63 and C* 13 in the captured albedo, was named "grey")."""

from __future__ import annotations

import numpy as np
import pytest

from random_people.avatar.capture.looks import name_hair_color
from random_people.avatar.identity import HAIR_COLORS, hex_to_rgb
from random_people.avatar.skin import linear_to_lab, srgb_to_linear


def _swatch(name: str, n: int = 60, seed: int = 0) -> np.ndarray:
    rgb = srgb_to_linear(np.array(hex_to_rgb(HAIR_COLORS[name]), np.float64) / 255.0)
    return rgb[None] * np.exp(0.1 * np.random.default_rng(seed).standard_normal((n, 1)))


@pytest.mark.parametrize("name", list(HAIR_COLORS))
def test_every_hair_colour_is_named_as_itself(name):
    assert name_hair_color(_swatch(name)) == name


@pytest.mark.parametrize("name", ["dark_brown", "brown", "blonde", "light_blonde", "red"])
def test_sunlit_pigmented_hair_is_not_named_grey(name):
    """A bright clip (exposure x1.8) with the sun's sheen on half the crown, as captured albedo keeps it."""
    sunlit = _swatch(name) * 1.8
    sunlit[::2] += 0.25
    assert name_hair_color(np.clip(sunlit, 0.0, 1.0)) not in ("grey", "white")


def test_the_captured_womans_hair_is_brown():
    """The Sports2D demo woman's scalp albedo as the capture measured it (median L* 66, C* 13, hue 68),
    lighter where the sun caught it: named 'grey' before."""
    rng = np.random.default_rng(1)
    # Linear colours whose Lab spread matches the capture's (L* 54-70, a* ~5, b* ~11), picked from a grid.
    target = np.stack([rng.uniform(54, 70, 90), rng.normal(5.5, 2, 90), rng.normal(11.5, 2.5, 90)], axis=1)
    grid = np.random.default_rng(2).uniform(0, 0.6, (20000, 3))
    nearest = np.argmin(((linear_to_lab(grid)[None] - target[:, None]) ** 2).sum(-1), axis=1)
    assert name_hair_color(grid[nearest]) in ("brown", "dark_brown", "blonde")


def test_real_grey_and_white_hair_stay_grey_or_white():
    for name in ("grey", "white"):
        assert name_hair_color(_swatch(name) * 1.3) in ("grey", "white")
