"""Capturing a consenting person from a video (random_people.avatar.capture).

The expensive fixture renders a *known* avatar (a sampled person with a red top and blue
trousers, flat colours, plain grey background) in a real motion (the demo man's jump), then
captures that video back: colours must land where they were seen. A real clip (the Sports2D
woman, 1 s) checks that a capture from real pixels loads and renders like any identity.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from random_people.avatar.capture import ConsentError, consent_record, read_consent
from random_people.avatar.identity import IdentityError, IdentitySpec

CONSENT = "The person in this test video agreed to be captured as an avatar for testing."


def _lab(linear: np.ndarray) -> np.ndarray:
    from random_people.avatar.skin import linear_to_lab

    return linear_to_lab(np.asarray(linear, np.float64).reshape(-1, 3))


# ---------------------------------------------------------------------------------------------
# Consent
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "yes"])
def test_capture_without_a_consent_statement_is_refused(value):
    with pytest.raises(ConsentError, match="Capture refused"):
        read_consent(value)


def test_consent_comes_from_text_a_text_file_or_a_json_file(tmp_path):
    assert read_consent(CONSENT, recorded_by="Ana", date="2026-11-30").to_dict() == {
        "statement": CONSENT, "recorded_by": "Ana", "date": "2026-11-30"}
    text = tmp_path / "consent.txt"
    text.write_text(CONSENT + "\n")
    assert read_consent(text, recorded_by="Ana").statement == CONSENT
    record = tmp_path / "consent.json"
    record.write_text(json.dumps({"statement": CONSENT, "recorded_by": "Lab X", "date": "2026-10-01"}))
    assert read_consent(record).recorded_by == "Lab X"
    with pytest.raises(ConsentError, match="does not exist"):
        read_consent(tmp_path / "missing.json")
    with pytest.raises(ConsentError, match="YYYY-MM-DD"):
        read_consent(CONSENT, date="last tuesday")


def test_capture_person_refuses_without_consent_before_reading_anything(tmp_path):
    from random_people.avatar.capture.capture import capture_person

    out = tmp_path / "out"
    with pytest.raises(ConsentError):
        capture_person(tmp_path / "no_such_video.mp4", out, consent=None)
    assert not out.exists()


def test_cli_refuses_capture_without_consent_and_writes_nothing(tmp_path, demo_clip, capsys):
    from random_people.cli import main

    out = tmp_path / "out"
    assert main(["identity", "capture", str(demo_clip), "-o", str(out)]) == ConsentError.exit_code
    assert "Capture refused" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# Identity records
# ---------------------------------------------------------------------------------------------


def _captured_spec(albedo: np.ndarray, consent: dict | None = None) -> IdentitySpec:
    from random_people.avatar.capture.albedo import encode_vertex_albedo
    from random_people.avatar.sampler import sample_identity

    base = sample_identity(0, 0)
    provenance = {"kind": "captured", "source_sha256": "ab" * 32, "trim": [1.0, 2.0],
                  **({"consent": consent} if consent is not None else {})}
    return IdentitySpec(seed=7, body=base.body, appearance=base.appearance, provenance=provenance,
                        capture=encode_vertex_albedo(albedo))


def test_captured_identity_round_trips_and_its_colours_are_part_of_its_id():
    rng = np.random.default_rng(0)
    albedo = rng.uniform(0.05, 0.9, size=(50, 3))
    consent = consent_record(CONSENT, "tester", "2026-12-01").to_dict()
    spec = _captured_spec(albedo, consent)
    again = IdentitySpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.id == spec.id
    from random_people.avatar.capture.albedo import decode_vertex_albedo

    assert np.abs(decode_vertex_albedo(again.capture) - albedo).max() < 0.01  # 8-bit sRGB quantisation
    other = _captured_spec(albedo[::-1], consent)
    assert other.id != spec.id  # different colours, different person


def test_captured_identity_needs_consent_and_intact_colours():
    albedo = np.full((20, 3), 0.4)
    with pytest.raises(IdentityError, match="consent"):
        _captured_spec(albedo, consent=None)
    spec = _captured_spec(albedo, consent_record(CONSENT).to_dict())
    data = spec.to_dict()
    data["capture"]["sha256"] = "0" * 64
    with pytest.raises(IdentityError, match="checksum"):
        IdentitySpec.from_dict(data)
    data = spec.to_dict()
    del data["capture"]
    with pytest.raises(IdentityError, match="captured colours"):
        IdentitySpec.from_dict(data)


def test_a_captured_persons_ancestry_is_not_described_as_measured():
    from random_people.avatar.identity import describe
    from random_people.avatar.sampler import sample_identity

    captured = _captured_spec(np.full((20, 3), 0.4), consent_record(CONSENT).to_dict())
    assert "dominant" not in describe(captured) and "ancestry not estimated" in describe(captured)
    sampled = sample_identity(0, 0)
    assert f"{sampled.body.dominant_ancestry}-dominant" in describe(sampled)


def test_dataset_card_counts_captured_and_sampled_people_and_states_consent():
    from random_people.avatar.sampler import sample_identity
    from random_people.hub.card import _people_line, people_counts

    sampled = sample_identity(1, 0)
    captured = _captured_spec(np.full((20, 3), 0.4), consent_record(CONSENT).to_dict())
    rows = [{"identity_id": s.id, "identity": json.dumps(s.to_dict())} for s in (sampled, captured, captured)]
    assert people_counts(rows) == {"sampled": 1, "captured": 1}
    text = " ".join(_people_line(rows))
    assert "1 captured real person" in text and "consent" in text
    assert "no captured real people" in " ".join(_people_line(rows[:1]))


def test_export_rows_point_to_a_captured_persons_identity_file_instead_of_carrying_the_colours(tmp_path):
    from hub_fixtures import make_clips

    from random_people.hub import layout
    from random_people.hub.export import export_dataset

    rng = np.random.default_rng(1)
    captured = _captured_spec(rng.uniform(0.05, 0.9, size=(14000, 3)), consent_record(CONSENT).to_dict())
    assert len(json.dumps(captured.to_dict())) > 30_000  # the colours: what a row must not repeat
    clips = make_clips(tmp_path / "clips", n_sources=2, per_source=2)
    clips = [dataclasses.replace(c, identity=captured.to_dict(), identity_id=captured.id) if i % 2 == 0 else c
             for i, c in enumerate(clips)]
    folder = tmp_path / "ds"
    export_dataset(clips, folder)
    rows = [json.loads(line) for path in folder.glob("synthetic/*/metadata.jsonl")
            for line in path.read_text().splitlines()]
    mine = [r for r in rows if r["identity_id"] == captured.id]
    assert len(mine) == 2
    for row in mine:
        assert len(row["identity"]) < 3_000
        reference = json.loads(row["identity"])["capture"]
        assert reference == {"file": layout.identity_file(captured.id), "sha256": captured.capture["sha256"]}
        assert json.loads(row["identity"])["provenance"]["consent"]["statement"] == CONSENT
    stored = IdentitySpec.from_dict(json.loads((folder / reference["file"]).read_text()))
    assert stored == captured and stored.id == captured.id
    assert "1 captured real person" in (folder / "README.md").read_text()


# ---------------------------------------------------------------------------------------------
# Colours land where they were seen (a known avatar rendered, then captured back)
# ---------------------------------------------------------------------------------------------

TOP, BOTTOM = "#c0392b", "#2e4fa8"


@pytest.fixture(scope="module")
def known_capture(tmp_path_factory, demo_motion):
    from random_people.avatar.capture.capture import capture_person
    from random_people.avatar.identity import Garment
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import sample_identity
    from random_people.settings import load_settings

    base = sample_identity(2, 0)
    look = dataclasses.replace(base.appearance, top=Garment("tshirt", TOP), bottom=Garment("trousers", BOTTOM),
                               hair_style="short")
    spec = dataclasses.replace(base, appearance=look)
    work = tmp_path_factory.mktemp("known_capture")
    rendered = render_motion_clip(demo_motion, spec, work, name="known", background="#777777", size=(1024, 576),
                                  max_frames=30, lit=False, shadow=False, harmonize=0.0)
    # The capture extracts the rendered person's own motion, as it would a real person's.
    result, state = capture_person(rendered.video_path, work / "captured", consent=consent_record(CONSENT, "tests"),
                                   settings=load_settings(data_dir=work / "data"), keep_state=True, preview=False)
    return spec, result, state


def _region_colour(state, group_names: tuple[str, ...]) -> np.ndarray:
    """Median captured albedo over the seen vertices of these body-part groups."""
    from random_people.avatar.appearance import GROUPS, mesh_labels
    from random_people.avatar.build import rest_body
    from random_people.avatar.capture.looks import vertex_groups
    from random_people.body import load_body_model

    model = load_body_model(kind="anny")
    faces = np.asarray(model.faces)
    rest, _ = rest_body(model, state.shape)
    groups = vertex_groups(faces, mesh_labels(model).group, len(rest))
    chosen = np.isin(groups, [GROUPS.index(n) for n in group_names]) & state.seen
    assert chosen.sum() > 30
    return np.median(state.albedo[chosen], axis=0)


def test_a_body_with_nothing_sticking_out_gets_small_offsets(known_capture):
    """The known avatar's outline is what the capture's own avatar draws (the same kind of body and
    garments), so the offsets fitted to it must stay small: they are for what the body misses."""
    _, result, state = known_capture
    assert state.offsets is not None
    assert np.percentile(np.abs(state.offsets), 95) < 0.015
    assert result.report["offsets"]["frames"] > 5 and result.report["offsets"]["outline_observations"] > 1000


def test_colours_land_where_they_were_seen(known_capture):
    from random_people.avatar.capture.looks import to_hex
    from random_people.avatar.skin import srgb_to_linear

    _, result, state = known_capture
    top = srgb_to_linear(np.array([int(TOP[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0)
    bottom = srgb_to_linear(np.array([int(BOTTOM[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0)
    got_top = _region_colour(state, ("trunk",))
    got_bottom = _region_colour(state, ("upperleg",))
    assert np.linalg.norm(_lab(got_top) - _lab(top)) < 15, (to_hex(got_top), TOP)
    assert np.linalg.norm(_lab(got_bottom) - _lab(bottom)) < 15, (to_hex(got_bottom), BOTTOM)
    # The identity's readable summary agrees: a reddish top, bluish trousers.
    look = result.spec.appearance
    assert look.bottom.type == "trousers"
    r, g, b = (int(look.top.color[i:i + 2], 16) for i in (1, 3, 5))
    assert r > g + 40 and r > b + 40
    r, g, b = (int(look.bottom.color[i:i + 2], 16) for i in (1, 3, 5))
    assert b > r + 30


def test_capture_writes_identity_avatar_and_provenance(known_capture):
    from random_people.avatar.files import load_avatar
    from random_people.avatar.pipeline import build_identity_avatar
    from random_people.avatar.store import load_identity

    _, result, _ = known_capture
    folder = result.identity_path.parent
    spec_id = result.spec.id
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{spec_id}.json", f"{spec_id}.ply", f"{spec_id}.binding.npz", "captures"])
    assert [p.name for p in (folder / "captures").iterdir()] == [f"{spec_id}_capture.json"]
    loaded = load_identity(spec_id, folder)
    assert loaded == result.spec and loaded.id == spec_id
    provenance = loaded.provenance
    assert provenance["kind"] == "captured" and len(provenance["source_sha256"]) == 64
    assert provenance["consent"]["statement"] == CONSENT and provenance["consent"]["recorded_by"] == "tests"
    assert "trim" in provenance and provenance["frames_used"] >= 10
    assert "/tmp" not in json.dumps(provenance)  # identities are published: no local paths
    report = json.loads(result.report_path.read_text())
    assert set(report["coverage"]) >= {"overall", "front", "back", "left", "right"}
    # The avatar file holds the captured colours, and rebuilding from the spec gives the same ones.
    saved = load_avatar(result.ply_path)
    rebuilt = build_identity_avatar(loaded)
    assert torch.allclose(saved.binding.colors, rebuilt.binding.colors)


def test_unseen_surface_is_filled_and_coverage_reports_the_unseen_side(known_capture):
    _, result, state = known_capture
    coverage = result.report["coverage"]
    assert 0.1 < coverage["overall"] < 0.95
    assert result.report["fill"]["unfilled"] == 0
    assert np.isfinite(state.albedo).all() and (state.albedo[~state.seen].sum(axis=1) > 0).mean() > 0.95


# ---------------------------------------------------------------------------------------------
# A real person
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_capture(tmp_path_factory):
    from conftest import fetch_demo_clip

    from random_people.avatar.capture.capture import capture_person
    from random_people.settings import load_settings

    work = tmp_path_factory.mktemp("real_capture")
    return capture_person(fetch_demo_clip(), work / "out", consent=consent_record(CONSENT, "tests"), start=3.0,
                          end=4.0, person="rightmost", settings=load_settings(data_dir=work / "data"), preview=True)


def test_real_capture_loads_and_renders_like_any_identity(real_capture, demo_motion, tmp_path):
    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.store import load_identity

    spec = load_identity(real_capture.identity_path)
    assert spec.provenance["person"] == "rightmost" and spec.provenance["trim"] == [3.0, 4.0]
    assert real_capture.preview_path is not None and real_capture.preview_path.stat().st_size > 1000
    clip = render_motion_clip(demo_motion, spec, tmp_path, name="captured", size=(160, 90), max_frames=3)
    labels = np.load(clip.labels_path, allow_pickle=False)
    assert clip.frames == 3 and labels["mask"].any()


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_too_few_frames_is_a_clear_error_and_leaves_nothing(tmp_path, demo_clip, settings):
    from random_people.avatar.capture.capture import CaptureError, capture_person

    out = tmp_path / "out"
    with pytest.raises(CaptureError, match="Too few frames"):
        capture_person(demo_clip, out, consent=consent_record(CONSENT), start=3.0, end=3.2, person="rightmost",
                       settings=settings)
    assert not out.exists() or not any(out.iterdir())


def test_a_video_without_a_person_is_refused_and_leaves_nothing(tmp_path, settings):
    from random_people.errors import NoPersonError
    from random_people.media import VideoWriter
    from random_people.avatar.capture.capture import capture_person

    video = tmp_path / "empty_room.mp4"
    rng = np.random.default_rng(0)
    room = (rng.uniform(60, 200, size=(36, 64, 3))).astype(np.uint8).repeat(4, axis=0).repeat(4, axis=1)
    with VideoWriter(video, 30, 256, 144) as writer:
        for _ in range(30):
            writer.write(room)
    out = tmp_path / "out"
    with pytest.raises(NoPersonError):
        capture_person(video, out, consent=consent_record(CONSENT), settings=settings)
    assert not out.exists() or not any(out.iterdir())


def test_a_moving_camera_is_refused():
    from random_people.avatar.capture.capture import CaptureError, _check_camera
    from random_people.avatar.capture.observe import Observation, Observations

    rng = np.random.default_rng(1)
    scene = np.kron(rng.uniform(0, 255, size=(60, 100, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # 480x800
    frames = []
    for k in range(8):  # the view pans 30 px per frame
        view = np.ascontiguousarray(scene[60:420, 30 * k:30 * k + 560])
        frames.append(Observation(k, k / 30, view, np.zeros(view.shape[:2], bool), True))
    with pytest.raises(CaptureError, match="camera moves"):
        _check_camera(Observations(frames, (560, 360)), "pan.mp4")
    still = [dataclasses.replace(frames[0], motion_index=k) for k in range(8)]
    _check_camera(Observations(still, (560, 360)), "still.mp4")  # a fixed camera passes


def test_ui_capture_refuses_without_the_consent_box_or_statement(tmp_path, settings, demo_clip):
    from random_people.ui.capture_panel import run_capture

    with pytest.raises(ConsentError, match="tick the box"):
        run_capture(str(demo_clip), 3.0, 4.0, "rightmost", False, CONSENT, "me", settings)
    with pytest.raises(ConsentError, match="Capture refused"):
        run_capture(str(demo_clip), 3.0, 4.0, "rightmost", True, "", "me", settings)
    assert not (settings.data_dir / "identities").exists()
