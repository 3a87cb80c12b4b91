"""Identity specs: JSON round trip, content ids, validation messages, the Anny phenotype mapping, files."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from random_people.avatar.identity import (
    ANNY_AGE_TABLE,
    ANNY_HEIGHT_AGE_ANCHORS,
    ANNY_HEIGHT_BETA,
    MONK_SKIN_TONES,
    AppearanceSpec,
    BodySpec,
    Garment,
    IdentityError,
    IdentitySpec,
    anny_age_to_years,
    anny_phenotype,
    describe,
    identity_id,
    years_to_anny_age,
)
from random_people.avatar.store import list_identities, load_identity, save_identities
from random_people.errors import RandomPeopleError

ANNY_PHENOTYPES = ["gender", "age", "muscle", "weight", "height", "proportions", "cupsize", "firmness",
                   "african", "asian", "caucasian"]


def make_spec(**body_changes: object) -> IdentitySpec:
    body = dict(sex="female", gender=0.9, age_years=34.5, height=0.5, weight=0.4, muscle=0.6, proportions=0.5,
                african=0.2, asian=0.3, caucasian=0.5)
    body.update(body_changes)
    return IdentitySpec(
        seed=1234,
        body=BodySpec(**body),
        appearance=AppearanceSpec(
            skin_tone=6, hair_style="long", hair_color="brown",
            top=Garment("tshirt", "navy", "stripes", "white"),
            bottom=Garment("trousers", "#4A6587"),
            shoes=Garment("sneakers", "white"),
        ),
        provenance={"kind": "manual", "note": "test"},
    )


def test_round_trip_through_json_is_exact() -> None:
    spec = make_spec()
    data = json.loads(json.dumps(spec.to_dict()))
    again = IdentitySpec.from_dict(data)
    assert again == spec
    assert identity_id(again) == identity_id(spec) == spec.id
    assert data["appearance"]["bottom"]["color"] == "#4a6587"  # canonical lowercase hex
    assert data["appearance"]["top"]["color"].startswith("#")  # names stored as hex


def test_id_is_short_stable_and_ignores_int_float_spelling() -> None:
    spec = make_spec()
    assert len(spec.id) == 12 and int(spec.id, 16) >= 0
    assert make_spec().id == spec.id
    assert make_spec(age_years=34).id == make_spec(age_years=34.0).id


def _leaf_paths(data: dict, prefix: tuple = ()) -> list[tuple]:
    paths = []
    for key, value in data.items():
        if isinstance(value, dict):
            paths += _leaf_paths(value, prefix + (key,))
        else:
            paths.append(prefix + (key,))
    return paths


CHANGED = {
    "seed": 99, "sex": "male", "gender": 0.5, "age_years": 35.0, "height": -0.5, "weight": 0.41, "muscle": 0.61,
    "proportions": 0.51, "skin_tone": 7, "hair_style": "bun", "hair_color": "black", "type": None, "color": "#010203",
    "pattern": "dots", "pattern_color": "#0a0b0c", "iris_color": "green", "facial_hair": "beard",
}
GARMENT_SWAP = {"top": "hoodie", "bottom": "shorts", "shoes": "boots"}


@pytest.mark.parametrize("path", _leaf_paths({k: v for k, v in make_spec().to_dict().items() if k in ("seed", "body", "appearance")}))
def test_id_changes_when_any_field_changes(path: tuple) -> None:
    data = make_spec().to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    leaf = path[-1]
    if leaf in ("african", "asian", "caucasian"):  # keep the blend summing to 1
        data["body"].update(african=0.25, asian=0.25, caucasian=0.5)
        if data["body"][leaf] == make_spec().to_dict()["body"][leaf]:
            data["body"].update(african=0.3, asian=0.2, caucasian=0.5)
    elif leaf == "sex":
        data["body"].update(sex="male", gender=0.1)
    elif leaf == "type":
        target["type"] = GARMENT_SWAP[path[-2]]
    elif leaf == "pattern_color" and target["pattern"] == "solid":  # unused colour: see the test below
        target.update(pattern="dots", pattern_color=CHANGED[leaf])
    else:
        target[leaf] = CHANGED[leaf]
    assert identity_id(IdentitySpec.from_dict(data)) != make_spec().id, path


def test_a_solid_garments_unused_second_colour_is_canonical() -> None:
    data = make_spec().to_dict()
    data["appearance"]["bottom"]["pattern_color"] = "#123456"
    assert IdentitySpec.from_dict(data).id == make_spec().id


def test_provenance_does_not_change_the_id() -> None:
    spec = make_spec()
    other = dataclasses.replace(spec, provenance={"kind": "imported", "source": "x.json"})
    assert other.id == spec.id and other != spec


def _mutated(change) -> dict:
    data = copy.deepcopy(make_spec().to_dict())
    change(data)
    return data


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.update(colour=1), "identity.colour"),
        (lambda d: d.pop("seed"), "identity.seed"),
        (lambda d: d.update(seed=-1), "seed"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d["body"].update(eyes="blue"), "body.eyes"),
        (lambda d: d["body"].pop("sex"), "body.sex"),
        (lambda d: d["body"].update(sex="other"), "body.sex"),
        (lambda d: d["body"].update(age_years=0.5), "body.age_years"),
        (lambda d: d["body"].update(age_years=91), "body.age_years"),
        (lambda d: d["body"].update(age_years="old"), "body.age_years"),
        (lambda d: d["body"].update(height=4.0), "body.height"),
        (lambda d: d["body"].update(weight=1.5), "body.weight"),
        (lambda d: d["body"].update(gender=0.1), "body.gender"),
        (lambda d: d["body"].update(african=0.5), "body.african/asian/caucasian"),
        (lambda d: d["appearance"].update(skin_tone=11), "appearance.skin_tone"),
        (lambda d: d["appearance"].update(skin_tone=5.5), "appearance.skin_tone"),
        (lambda d: d["appearance"].update(hair_style="mohawk"), "appearance.hair_style"),
        (lambda d: d["appearance"].update(hair_color="green"), "appearance.hair_color"),
        (lambda d: d["appearance"]["top"].update(pattern="paisley"), "appearance.top.pattern"),
        (lambda d: d["appearance"].update(iris_color="violet"), "appearance.iris_color"),
        (lambda d: d["appearance"].update(facial_hair="sideburns"), "appearance.facial_hair"),
        (lambda d: d["appearance"]["top"].update(type="cape"), "appearance.top.type"),
        (lambda d: d["appearance"]["shoes"].update(color="sparkly"), "appearance.shoes.color"),
        (lambda d: d["appearance"]["bottom"].update(size="XL"), "appearance.bottom.size"),
        (lambda d: d["appearance"]["top"].update(type="dress"), "appearance.bottom.type"),
        (lambda d: d.update(provenance={"kind": "stolen"}), "provenance.kind"),
    ],
)
def test_validation_errors_name_the_field(change, field: str) -> None:
    with pytest.raises(IdentityError, match=field.replace(".", r"\.").replace("/", "/")) as info:
        IdentitySpec.from_dict(_mutated(change))
    assert isinstance(info.value, RandomPeopleError) and info.value.exit_code == 14


def test_anny_phenotype_has_anny_labels_in_range_and_passes_ancestry_through() -> None:
    spec = make_spec()
    phenotype = anny_phenotype(spec)
    assert list(phenotype) == ANNY_PHENOTYPES
    assert all(0.0 <= v <= 1.0 for v in phenotype.values())
    assert {k: phenotype[k] for k in ("african", "asian", "caucasian")} == {"african": 0.2, "asian": 0.3, "caucasian": 0.5}
    assert phenotype["gender"] == 0.9 and anny_phenotype(spec) == phenotype  # Anny: 1 = female; deterministic


def test_anny_age_is_monotone_in_years_and_invertible() -> None:
    ages = [anny_phenotype(make_spec(age_years=y))["age"] for y in range(1, 91)]
    assert all(b > a for a, b in zip(ages, ages[1:]))
    assert ages[0] == pytest.approx(0.05)  # 1 year
    assert anny_phenotype(make_spec(age_years=16))["age"] == pytest.approx(0.67)  # Anny's "young" shape
    for years in (1.0, 3.3, 11.0, 25.0, 70.0, 90.0):
        assert anny_age_to_years(years_to_anny_age(years)) == pytest.approx(years)


@pytest.mark.parametrize("age", [2, 8, 14, 30, 80])
@pytest.mark.parametrize("sex, gender", [("female", 1.0), ("male", 0.0)])
def test_anny_height_is_monotone_in_the_z_score(age: float, sex: str, gender: float) -> None:
    heights = [anny_phenotype(make_spec(sex=sex, gender=gender, age_years=age, height=z / 4))["height"]
               for z in range(-12, 13)]
    assert all(b > a for a, b in zip(heights, heights[1:]))


def test_children_get_no_cupsize() -> None:
    assert anny_phenotype(make_spec(age_years=6))["cupsize"] == 0.0
    assert anny_phenotype(make_spec(age_years=30))["cupsize"] == 0.5


@pytest.mark.skipif(importlib.util.find_spec("anny") is None, reason="anny not installed")
def test_tables_match_the_installed_anny_calibration() -> None:
    """Our age and height tables are Anny's own; fail loudly if a new Anny changes them."""
    import torch
    from anny.models.model_data import PHENOTYPE_LABELS, PHENOTYPE_VARIATIONS

    assert PHENOTYPE_LABELS == ANNY_PHENOTYPES
    assert PHENOTYPE_VARIATIONS["gender"] == ["male", "female"]  # gender 0 = male, 1 = female
    root = Path(importlib.util.find_spec("anny").submodule_search_locations[0]) / "data" / "shape_calibration"
    for sex, name in (("male", "boys"), ("female", "girls")):
        data = torch.load(root / f"{name}.pth", weights_only=True, map_location="cpu")
        mapping = data["morphological_age_mapping"]
        assert mapping["morphological_age_anchors"].tolist() == pytest.approx([y for y, _ in ANNY_AGE_TABLE])
        assert mapping["anny_age_anchors"].tolist() == pytest.approx([a for _, a in ANNY_AGE_TABLE])
        height = data["conditional_height_distribution"]
        assert height["age_anchors"].tolist() == pytest.approx(list(ANNY_HEIGHT_AGE_ANCHORS))
        assert height["alpha_anchors"].tolist() == pytest.approx(ANNY_HEIGHT_BETA[sex][0], abs=1e-4)
        assert height["beta_anchors"].tolist() == pytest.approx(ANNY_HEIGHT_BETA[sex][1], abs=1e-4)


def test_monk_scale_runs_light_to_dark() -> None:
    assert sorted(MONK_SKIN_TONES) == list(range(1, 11)) and len(set(MONK_SKIN_TONES.values())) == 10

    def luminance(tone: int) -> float:
        value = MONK_SKIN_TONES[tone]
        r, g, b = (int(value[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert all(luminance(t) > luminance(t + 1) for t in range(3, 10))


def test_describe_mentions_the_essentials() -> None:
    text = describe(make_spec())
    assert "female" in text and "MST 6" in text and "tshirt" in text


def test_store_round_trip_by_path_and_id(tmp_path: Path) -> None:
    specs = [make_spec(), make_spec(age_years=50)]
    paths = save_identities(specs, tmp_path)
    assert [p.name for p in paths] == [f"{s.id}.json" for s in specs]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temp files left
    assert load_identity(paths[0]) == specs[0]
    assert load_identity(specs[1].id, tmp_path) == specs[1]
    assert sorted(s.id for s in list_identities(tmp_path)) == sorted(s.id for s in specs)
    with pytest.raises(IdentityError, match="not found"):
        load_identity("0123456789ab", tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(IdentityError, match="is not valid JSON at line 1, column 2"):
        load_identity(tmp_path / "broken.json")


@pytest.mark.skipif(importlib.util.find_spec("anny") is None, reason="anny not installed")
def test_anny_bodies_have_plausible_heights_for_age_and_z() -> None:
    """End to end through Anny: WHO-like heights at z = 0 (1 y ~0.77 m, 4 y ~1.0 m, adults
    ~1.78 m / ~1.60 m), taller with z. Guards the age mapping and the gender convention."""
    import torch

    from random_people.body.registry import load_body_model

    model = load_body_model(kind="anny")

    def stature(sex: str, age: float, z: float) -> float:
        gender = 1.0 if sex == "female" else 0.0
        shape = model.shape_from_phenotype(**anny_phenotype(BodySpec(sex=sex, gender=gender, age_years=age, height=z)))
        with torch.no_grad():
            vertices = model.model(pose_parameters=None, phenotype_kwargs=shape[None])["rest_vertices"][0]
        return float(vertices[:, 2].max() - vertices[:, 2].min())  # Anny is z-up

    assert 0.70 < stature("male", 1, 0) < 0.85
    assert 0.95 < stature("female", 4, 0) < 1.10
    assert 1.70 < stature("male", 30, 0) < 1.85
    assert 1.54 < stature("female", 30, 0) < 1.66
    assert stature("female", 30, -1.5) < stature("female", 30, 0) < stature("female", 30, 1.5)
