"""Garments show which way a body faces: the front neckline dips, the back sits high (issue 13).

A detector tells a small person's front from their back partly by the clothes; a collar at the same
height all round says nothing. These tests would fail if the front neckline went away or if it
spread to the back.
"""

from __future__ import annotations

import numpy as np
import pytest

from random_people.avatar.appearance import SKIN, TOP, AppearanceParams
from random_people.avatar.build import build_avatar
from random_people.body import load_body_model


@pytest.fixture(scope="module")
def dressed():
    anny = load_body_model(kind="anny")
    avatar = build_avatar(anny, anny.shape_from_phenotype(), AppearanceParams(top_type="tshirt", hair_style="bald"),
                          seed=2, n_gaussians=20000)
    return avatar.canonical().means.numpy(), avatar.binding.part.numpy()


def test_front_neckline_leaves_skin_below_the_throat_and_the_back_stays_covered(dressed):
    means, part = dressed
    top = means[part == TOP]
    collar_z = float(top[:, 2].max())  # the highest point of the top: the back of the collar
    band = (np.abs(means[:, 0]) < 0.03) & (means[:, 2] > collar_z - 0.04) & (means[:, 2] < collar_z - 0.015)
    front, back = band & (means[:, 1] < -0.02), band & (means[:, 1] > 0.02)
    assert front.sum() > 5 and back.sum() > 5
    assert (part[front] == SKIN).mean() > 0.8  # bare skin in the scoop at the front
    assert (part[back] == TOP).mean() > 0.8  # the same height at the back is still the shirt
