"""The fidelity score every render task gives its clip (random_people/jobs/fidelity.py), end to end.

A real tiny job runs in this process: the demo clip's motion re-performed by one sampled person,
then the judge (real MediaPipe Pose) scores the clip against its labels. Its figures reach the job
log (migration 0003), Review (worst first, below a threshold), ``metadata.jsonl`` and the card,
and a spec's ``review.min_fidelity`` rejects clips below it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from jobs_helpers import tiny_spec
from random_people.jobs.db import open_database
from random_people.jobs.fidelity import describe, fidelity_from_score, fidelity_stats, motion_summary
from random_people.jobs.models import PENDING, REJECTED, Output
from random_people.jobs.review import ClipFilter, list_clips, list_clips_page
from random_people.jobs.service import queue_job
from random_people.jobs.spec import parse_spec
from random_people.jobs.worker import run_worker
from random_people.judge.metrics import PckCounts
from random_people.judge.score import ClipScore, FrameScore
from random_people.settings import load_settings


def _frame(index: int, detected: bool, correct: int, total: int, cut_off: bool = False) -> FrameScore:
    return FrameScore(index=index, detected=detected, pck=PckCounts(correct, total), box_height=100.0, cut_off=cut_off)


def test_fidelity_is_pck_times_the_share_of_whole_frames():
    score = ClipScore(frames=[_frame(0, True, 12, 12), _frame(1, True, 6, 12, cut_off=True),
                              _frame(2, False, 0, 12)], frames_out_of_view=1)
    figures = fidelity_from_score(score, frames_sampled=4, seconds=0.5)
    assert figures.pck == pytest.approx(18 / 36)
    assert figures.cut_off_share == pytest.approx(0.5)  # one cut off + one out of view, of 4 sampled
    assert figures.fidelity == pytest.approx(18 / 36 * 0.5)
    assert figures.detection_rate == pytest.approx(2 / 3) and figures.frames_scored == 3
    perfect = fidelity_from_score(ClipScore(frames=[_frame(0, True, 12, 12)]), 1, 0.1)
    assert perfect.fidelity == 1.0 and "fidelity 1.00" in describe(perfect.to_dict())
    nobody = fidelity_from_score(ClipScore(frames_out_of_view=3), 3, 0.1)
    assert nobody.fidelity == 0.0 and nobody.cut_off_share == 1.0
    assert describe(None) == "fidelity: not scored"


def test_stats_and_poor_motions():
    stats = fidelity_stats([0.95, 0.85, 0.4, None, 0.05])
    assert (stats.clips, stats.scored, stats.minimum, stats.below) == (5, 4, 0.05, {"0.5": 2, "0.8": 2})
    assert dict(stats.histogram)["0.9-1.0"] == 1 and sum(n for _, n in stats.histogram) == 4
    rows = [("walk", 0.2), ("walk", 0.3), ("sit", 0.9), ("sit", 0.1), ("jump", 0.1)]
    assert motion_summary(rows) == [("walk", 2, 0.25)]  # every identity of "walk" fails; "jump" has one clip


def test_spec_review_min_fidelity_is_validated(tmp_path, demo_clip):
    spec = tiny_spec(demo_clip, tmp_path, review={"min_fidelity": 0.8})
    assert parse_spec(spec, tmp_path).review.min_fidelity == 0.8
    with pytest.raises(Exception) as info:
        parse_spec(tiny_spec(demo_clip, tmp_path, review={"min_fidelity": 2, "max": 1}), tmp_path)
    assert "review.min_fidelity" in str(info.value) and "review.max" in str(info.value)


@pytest.fixture(scope="module")
def scored_job(tmp_path_factory, demo_clip):
    """Two tiny jobs of the same clip and person: one plain, one with a min_fidelity no clip reaches."""
    root = tmp_path_factory.mktemp("fidelity")
    settings = load_settings(data_dir=root / "data")
    output = {"long_side": 256, "max_frames": 6, "harmonize": 0.0, "shadow": False}
    plain = tiny_spec(demo_clip, root / "out", output={"dir": str(root / "out"), **output})
    strict = tiny_spec(demo_clip, root / "strict", output={"dir": str(root / "strict"), **output},
                       backgrounds=("#606060",), review={"min_fidelity": 1.0})
    job_ids = [queue_job(parse_spec(spec, root), settings)[0] for spec in (plain, strict)]
    run_worker(settings.resolved_database_url, settings, job_ids=job_ids)
    return settings, job_ids


def test_render_task_stores_the_judges_figures(scored_job):
    settings, (job_id, _) = scored_job
    db = open_database(settings.resolved_database_url)
    with db.session() as session:
        outputs = session.query(Output).all()
    assert len(outputs) == 2
    for output in outputs:
        figures = json.loads(output.fidelity_json)
        assert 0.0 <= output.fidelity <= 1.0 and figures["fidelity"] == output.fidelity
        assert figures["frames_sampled"] == 6 and figures["detector"].startswith("mediapipe")
        assert figures["seconds"] > 0 and figures["detection_rate"] is not None
    from random_people.render.framing import framing

    counted = framing(outputs[0].labels_path)  # the labels the Render tab's framing warning reads
    assert counted.frames == 6 and counted.whole + counted.cut_off + counted.out_of_view == 6
    # The demo's walking man re-performed at 256 px: the real-people detector finds the person at least once.
    assert max(json.loads(o.fidelity_json)["detection_rate"] for o in outputs) > 0, [o.fidelity_json for o in outputs]


def test_min_fidelity_rejects_below_and_review_sorts_worst_first(scored_job):
    settings, (plain_id, strict_id) = scored_job
    db = open_database(settings.resolved_database_url)
    plain = list_clips(db, ClipFilter(job_id=plain_id))
    strict = list_clips(db, ClipFilter(job_id=strict_id))
    assert [r.review for r in plain] == [PENDING]
    if strict[0].fidelity < 1.0:
        assert strict[0].review == REJECTED and "below the job's min_fidelity 1" in strict[0].review_note
    worst = list_clips(db, ClipFilter(order="worst"))
    assert [r.fidelity for r in worst] == sorted(r.fidelity for r in worst)
    threshold = max(r.fidelity for r in worst)
    below, total = list_clips_page(db, ClipFilter(below_fidelity=threshold))
    assert total == len(below) == sum(1 for r in worst if r.fidelity < threshold)
    assert "fidelity" in worst[0].caption


def test_fidelity_reaches_metadata_and_card(scored_job, tmp_path):
    from random_people.hub.export import export_dataset
    from random_people.hub.sources import load_export_clips
    from random_people.jobs.review import set_review

    settings, (plain_id, _) = scored_job
    db = open_database(settings.resolved_database_url)
    set_review(db, [r.key for r in list_clips(db, ClipFilter(job_id=plain_id))], "accepted")
    clips = load_export_clips(settings.resolved_database_url, [plain_id])
    export_dataset(clips, tmp_path / "ds")
    rows = [json.loads(line) for path in (tmp_path / "ds").rglob("metadata.jsonl") if "synthetic" in str(path)
            for line in path.read_text().splitlines()]
    assert len(rows) == 1 and 0.0 <= rows[0]["fidelity"] <= 1.0
    assert json.loads(rows[0]["fidelity_figures"])["frames_sampled"] == 6
    assert np.isclose(rows[0]["fidelity"], clips[0].fidelity["fidelity"])
    card = (tmp_path / "ds" / "README.md").read_text()
    assert "## Fidelity" in card and "1 of 1 clips scored" in card and "1 synthetic clip** of 1 action," in card
