"""Jobs and Review tabs in a real (headless) Chromium: build a tiny job from the Clip & pose tab,
see its estimate, queue it, watch the app's own workers finish it, accept its clip in Review, and
find the decision in the job log.

Runs ``python app.py`` in its own process, like test_ui_browser.py, with one worker per pool so
the test stays light on a 2-core machine; the ``page`` fixture is test_ui_browser's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_ui_browser import (
    BROWSER_MARKS,  # noqa: F401  (page is a fixture)
    REPO_ROOT,
    _media_src,
    _wait_for_mp4,
    _screenshot_whole_page,
    page,
    serve_app,
)

JOB_TIMEOUT_MS = 180_000
SHOTS = os.environ.get("RP_TEST_SCREENSHOTS")  # keep the screenshots there (default: the test's tmp dir)

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def jobs_app(tmp_path_factory):
    """app.py on a free port with its own data dir and one job worker; (url, data dir)."""
    tmp_path = tmp_path_factory.mktemp("jobs_app")
    for url in serve_app(tmp_path, RP_JOB_WORKERS="1"):
        yield url, tmp_path / "data"


@pytest.fixture(scope="module")
def app_url(jobs_app):
    """Overrides test_ui_browser's app_url, so its ``page`` fixture opens this app."""
    return jobs_app[0]


def _number(page, elem_id: str, value: float) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Tab")


def test_build_queue_watch_and_review_a_job_in_browser(page, jobs_app, tmp_path):
    from playwright.sync_api import expect

    from random_people.jobs.db import open_database
    from random_people.jobs.review import ClipFilter, list_clips, review_counts

    _, data_dir = jobs_app
    example = REPO_ROOT / "assets" / "examples" / "walking.mp4"

    # Clip & pose: the clip, a 1 s trim and the action name (no extraction needed: the job does it).
    page.locator("#clip-input input[type=file]").set_input_files(str(example))
    page.wait_for_selector("#clip-status :text('1768×994')", timeout=60_000)
    for label, value in (("Start (s)", "0.3"), ("End (s)", "1.3")):
        box = page.get_by_label(label)
        box.fill(value)
        box.press("Tab")
    page.locator("label:has-text('Action name') textarea, label:has-text('Action name') input").first.fill("walk")

    # Jobs: the source comes from Clip & pose; one sampled person, 128 px, 6 frames, source camera.
    page.get_by_role("tab", name="Jobs").click()
    source = page.locator("#jobs-source")
    expect(source).to_contain_text("walking.mp4", timeout=30_000)
    expect(source).to_contain_text("0.3–1.3 s")
    expect(source).to_contain_text("“walk”")
    page.locator("#jobs-name input, #jobs-name textarea").first.fill("browser-job")
    _number(page, "jobs-sample-n", 1)
    _number(page, "jobs-long-side", 128)
    _number(page, "jobs-max-seconds", 0.2)
    page.click("#jobs-estimate")
    status = page.locator("#jobs-estimate-status")
    expect(status).to_contain_text("1 clip from 1 source clip x 1 person; 6 frames", timeout=60_000)
    page.click("#jobs-queue")
    expect(status).to_contain_text("Queued job", timeout=60_000)
    expect(status).to_contain_text("started 1 local worker")
    job_id = status.inner_text().split("Queued job", 1)[1].split()[0]
    # The new job is selected at once: its detail line is drawn with the Queue response.
    expect(page.locator("#jobs-detail")).to_contain_text(job_id, timeout=5_000)

    # Live progress: the timer redraws the tables until the job is done.
    table = page.locator("#jobs-table")
    expect(table).to_contain_text(job_id, timeout=30_000)
    expect(page.locator("#jobs-detail")).to_contain_text("— done", timeout=JOB_TIMEOUT_MS)
    expect(table).to_contain_text("2/2 (100 %)", timeout=30_000)
    tasks = page.locator("#jobs-tasks")
    expect(tasks).to_contain_text("extract walking.mp4 [walk]", timeout=30_000)
    expect(tasks).to_contain_text("render walk /", timeout=30_000)
    shots = Path(SHOTS) if SHOTS else tmp_path
    _screenshot_whole_page(page, shots / "jobs_tab.png", settle_ms=1_500)

    # Review: the finished clip is in the gallery; play it, accept it.
    page.get_by_role("tab", name="Review").click()
    expect(page.locator("#review-counts")).to_contain_text("clips 1–1 of 1 matching clip", timeout=60_000)
    thumbs = page.locator("#review-gallery img")
    expect(thumbs).to_have_count(1, timeout=30_000)
    thumbs.first.click()
    _wait_for_mp4(page, "review-video", 60_000)
    expect(page.locator("#review-caption")).to_contain_text("128×72")
    page.locator("#review-caption").click()  # focus off any text box; then the keyboard decides
    page.keyboard.press("a")
    expect(page.locator("#review-status")).to_contain_text("Marked 1 clip accepted.", timeout=30_000)
    expect(page.locator("#review-counts")).to_contain_text("1 accepted", timeout=30_000)
    expect(page.locator("#review-gallery")).to_contain_text("✔ fidelity", timeout=30_000)
    expect(page.locator("#review-gallery")).to_contain_text("· walk · ")
    _screenshot_whole_page(page, shots / "review_tab.png", settle_ms=1_500)

    # Dataset & Hub lists the job without its refresh button being pressed.
    page.get_by_role("tab", name="Dataset & Hub").click()
    page.locator("#hub-jobs input").click()
    expect(page.get_by_role("option", name="browser-job")).to_be_visible(timeout=30_000)
    page.keyboard.press("Escape")

    response = page.request.get(_media_src(page, "#review-video video"))
    assert response.ok and response.body()[4:8] == b"ftyp"

    # The decision is in the job log, where the exporter reads it.
    db = open_database(f"sqlite:///{data_dir / 'random_people.sqlite'}")
    assert review_counts(db, job_id) == {"pending": 0, "accepted": 1, "rejected": 0}
    assert [clip.review for clip in list_clips(db, ClipFilter(job_id=job_id))] == ["accepted"]
