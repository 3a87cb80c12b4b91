"""The random-people sampler: determinism, ratios, ancestry-linked skin tones, balanced grids, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from random_people.avatar.identity import IdentityError, IdentitySpec
from random_people.avatar.sampler import (
    IdentityDistribution,
    attribute_histogram,
    format_histogram,
    sample_identities,
)


def _dicts(specs: list[IdentitySpec]) -> list[dict]:
    return [s.to_dict() for s in specs]


@pytest.mark.parametrize("mode", ["random", "balanced"])
def test_same_seed_same_people_and_prefix_independent_of_n(mode: str) -> None:
    dist = IdentityDistribution(mode=mode)
    first = sample_identities(30, seed=7, distribution=dist)
    assert _dicts(first) == _dicts(sample_identities(30, seed=7, distribution=dist))
    assert _dicts(sample_identities(5, seed=7, distribution=dist)) == _dicts(first[:5])
    assert [s.id for s in sample_identities(30, seed=8, distribution=dist)] != [s.id for s in first]
    assert len({s.id for s in first}) == 30


def test_sampled_specs_round_trip_and_record_provenance() -> None:
    dist = IdentityDistribution(skin_tones=[2, 5])
    for index, spec in enumerate(sample_identities(20, seed=3, distribution=dist)):
        again = IdentitySpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert again == spec
        assert spec.provenance["kind"] == "sampled" and spec.provenance["index"] == index
        assert spec.provenance["seed"] == 3 and spec.provenance["distribution_id"] == dist.id
        assert IdentityDistribution.from_dict(spec.provenance["distribution"]).id == dist.id


def test_female_ratio_and_age_range_are_respected() -> None:
    dist = IdentityDistribution(female_ratio=0.3, age_range=(20, 45))
    specs = sample_identities(400, seed=11, distribution=dist)
    share = sum(s.body.sex == "female" for s in specs) / len(specs)
    assert abs(share - 0.3) < 0.08  # ~3.5 binomial SDs
    assert all(20 <= s.body.age_years <= 45 for s in specs)
    assert all((s.body.gender >= 0.5) == (s.body.sex == "female") for s in specs)


def test_skin_tone_follows_ancestry_unless_constrained() -> None:
    african = IdentityDistribution(ancestry_concentration={"african": 1.0, "asian": 0.0, "caucasian": 0.0})
    caucasian = IdentityDistribution(ancestry_concentration={"african": 0.0, "asian": 0.0, "caucasian": 1.0})
    dark = [s.appearance.skin_tone for s in sample_identities(200, 1, african)]
    light = [s.appearance.skin_tone for s in sample_identities(200, 1, caucasian)]
    assert sum(t >= 6 for t in dark) > 0.8 * len(dark)
    assert sum(t <= 5 for t in light) > 0.8 * len(light)
    assert all(s.body.african == 1.0 for s in sample_identities(10, 1, african))
    constrained = caucasian.replace(skin_tones={9: 1.0, 10: 1.0})
    assert {s.appearance.skin_tone for s in sample_identities(50, 1, constrained)} == {9, 10}


@pytest.mark.parametrize(
    "changes, cells",
    [
        ({}, 2 * 4 * 3 * 3),
        ({"female_ratio": 1.0, "age_range": (20, 90), "skin_tones": [1, 2, 3, 8]}, 1 * 2 * 2 * 3),
        ({"ancestry_concentration": {"african": 1.0, "asian": 2.0}}, 2 * 4 * 3 * 2),
    ],
)
def test_balanced_mode_covers_every_cell_exactly_twice(changes: dict, cells: int) -> None:
    dist = IdentityDistribution(mode="balanced", **changes)
    assert len(dist.grid()) == cells
    specs = sample_identities(2 * cells, seed=5, distribution=dist)
    counts = Counter(
        (s.body.sex, s.body.age_group, s.appearance.skin_tone_group, s.body.dominant_ancestry) for s in specs
    )
    assert set(counts) == set(dist.grid())
    assert set(counts.values()) == {2}
    low, high = dist.age_range
    assert all(low <= s.body.age_years <= high for s in specs)


def test_histogram_counts_add_up_and_format() -> None:
    specs = sample_identities(37, seed=2)
    histogram = attribute_histogram(specs)
    assert set(histogram) >= {"sex", "age_group", "skin_tone", "ancestry", "hair_style", "top", "bottom", "height_band"}
    assert all(sum(counts.values()) == 37 for counts in histogram.values())
    assert histogram["bottom"]["none"] == histogram["top"]["dress"]
    text = format_histogram(histogram)
    assert "sex (n=37)" in text and "MST 10" in text and "height_band" in text


@pytest.mark.parametrize(
    "data, field",
    [
        ({"colour": "red"}, "distribution.colour"),
        ({"mode": "stratified"}, "distribution.mode"),
        ({"female_ratio": 1.5}, "distribution.female_ratio"),
        ({"age_range": [50, 20]}, "distribution.age_range"),
        ({"age_range": [0, 20]}, "distribution.age_range"),
        ({"height_range": [-5, 0]}, "distribution.height_range"),
        ({"ancestry_concentration": {"martian": 1.0}}, "distribution.ancestry_concentration"),
        ({"ancestry_concentration": {"african": 0.0}}, "distribution.ancestry_concentration"),
        ({"skin_tones": [0, 3]}, "distribution.skin_tones"),
        ({"hair_styles": {"mohawk": 1}}, "distribution.hair_styles"),
        ({"tops": ["cape"]}, "distribution.tops"),
        ({"bottoms": ["none"]}, "distribution.bottoms"),
        ({"patterns": {"solid": -1}}, "distribution.patterns.solid"),
        ({"palettes": {"top": ["sparkly"]}}, "distribution.palettes.top"),
        ({"palettes": {"hat": ["red"]}}, "distribution.palettes.hat"),
    ],
)
def test_distribution_errors_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(IdentityError, match=field.replace(".", r"\.")):
        IdentityDistribution.from_dict(data)


def test_distribution_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "dist.yaml"
    path.write_text("mode: balanced\nfemale_ratio: 0.0\nskin_tones: {8: 2, 9: 1}\nage_range: [60, 90]\n")
    dist = IdentityDistribution.from_yaml(path)
    assert dist.mode == "balanced" and dist.skin_tones == {8: 2.0, 9: 1.0}
    assert dist.grid() == [("male", "older", "dark", a) for a in ("african", "asian", "caucasian")]
    path.write_text("mode: [unclosed\n")
    with pytest.raises(IdentityError, match="not readable YAML"):
        IdentityDistribution.from_yaml(path)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "random_people.cli", "identity", "sample", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_n_identity_files_and_prints_a_histogram(tmp_path: Path) -> None:
    out = tmp_path / "people"
    result = _cli("--n", "12", "--seed", "4", "--female-ratio", "0.5", "--age-min", "18", "--age-max", "60", "-o", str(out))
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("*.json"))
    assert len(files) == 12
    assert "sex (n=12)" in result.stdout and "age_group" in result.stdout
    specs = [IdentitySpec.from_dict(json.loads(f.read_text())) for f in files]
    assert {f.stem for f in files} == {s.id for s in specs}
    assert all(18 <= s.body.age_years <= 60 for s in specs)
    expected = sample_identities(12, 4, IdentityDistribution(age_range=(18, 60)))
    assert {s.id for s in expected} == {s.id for s in specs}


def test_cli_balanced_config_and_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "dist.yaml"
    config.write_text("female_ratio: 1.0\nage_range: [20, 90]\n")
    result = _cli("--n", "24", "--seed", "0", "--config", str(config), "--mode", "balanced", "-o", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "a").glob("*.json"))) == 24
    assert re.search(r"^\s+female\s+24\s", result.stdout, re.M) and re.search(r"^\s+male\s+0\s", result.stdout, re.M)
    config.write_text("female_ratio: 2\n")
    bad = _cli("--n", "2", "--config", str(config), "-o", str(tmp_path / "b"))
    assert bad.returncode == 14 and "distribution.female_ratio" in bad.stderr
    assert not (tmp_path / "b").exists()
