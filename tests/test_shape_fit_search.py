"""The captured body's age is not biased towards youth by the order of the shape search (issue 13:
"a captured woman fitted as a 15-year-old").

The scores are the demo woman's measured silhouette scores (benchmarks: the held-out capture's
12 frames, IoU minus the band-area penalty) by age and weight: at the average build (weight 0.5)
15 y leads 30 y and 45 y; at each age's own best weight, 45 y leads. A search that compares ages
only at the average build takes her for a teenager as soon as the youth margin is smaller than
that lead; the search must compare ages at a matched build.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from random_people.avatar.capture import shape_fit
from random_people.avatar.identity import BodySpec

WEIGHT_GRID = (0.0, 0.2, 0.35, 0.5, 0.8)
MEASURED = {  # female, by age: score at WEIGHT_GRID
    15.0: (0.6720, 0.6718, 0.6693, 0.6663, 0.6636),
    30.0: (0.6728, 0.6709, 0.6691, 0.6638, 0.6563),
    45.0: (0.6739, 0.6719, 0.6693, 0.6644, 0.6567),
}


def _score(body: BodySpec) -> float:
    if body.sex == "male" or body.age_years not in MEASURED:
        return 0.58  # men scored 0.57-0.61; 9 y cannot have her legs (height limit)
    return float(np.interp(body.weight, WEIGHT_GRID, MEASURED[body.age_years]))


def _solve(body: BodySpec):
    at_limit = body.age_years < 12.0
    return replace(body, height=0.9), body, at_limit


@pytest.mark.parametrize("margin", [shape_fit.YOUTH_MARGIN, 0.0])
def test_a_slim_woman_is_fitted_as_an_adult_whatever_the_youth_margin(monkeypatch, margin):
    monkeypatch.setattr(shape_fit, "YOUTH_MARGIN", margin)
    score, body, _ = shape_fit.search_body(_solve, _score)
    assert body.sex == "female"
    assert body.age_years >= shape_fit.ADULT_AGE, body
    assert body.weight <= 0.2  # and slim


def test_a_teenager_who_fits_clearly_better_is_still_found(monkeypatch):
    def teen_score(body: BodySpec) -> float:
        return _score(body) + (0.03 if body.age_years == 15.0 else 0.0)

    _, body, _ = shape_fit.search_body(_solve, teen_score)
    assert body.age_years == 15.0
