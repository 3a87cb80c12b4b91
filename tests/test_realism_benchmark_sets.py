"""The realism benchmark's identity sets: the headline 12 stay as they were; extras are reported apart."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from realism import covering_identities, extra_young_children  # noqa: E402


def test_extra_young_children_are_young_new_and_seeded():
    headline = covering_identities(12, 1)
    extras = extra_young_children(2, 1, headline)
    assert len(extras) == 2
    assert all(spec.body.age_years < 5.0 for spec in extras)
    assert not {spec.id for spec in extras} & {spec.id for spec in headline}
    assert [s.id for s in extra_young_children(2, 1, headline)] == [s.id for s in extras]  # same seed, same people
    assert extra_young_children(0, 1, headline) == []


def test_asking_for_extras_leaves_the_headline_set_alone():
    before = [s.id for s in covering_identities(12, 1)]
    extra_young_children(3, 1, covering_identities(12, 1))
    assert [s.id for s in covering_identities(12, 1)] == before
    assert sum(s.body.age_years < 5.0 for s in covering_identities(12, 1)) == 1  # the one 2-year-old
