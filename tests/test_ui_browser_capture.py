"""The "Capture a person" panel in a real (headless) Chromium: refused without consent, then a
real person (1 s of the Sports2D demo's woman) captured, shown beside the video and saved.

Runs ``python app.py`` in its own process (the ``app_url`` fixture of test_ui_browser.py).
"""

from __future__ import annotations


from test_ui_browser import (
    BROWSER_MARKS,  # noqa: F401  (app_url and page are fixtures)
    _screenshot_whole_page,
    app_url,
    page,
)

CAPTURE_TIMEOUT_MS = 400_000

pytestmark = BROWSER_MARKS


def test_capture_a_person_in_browser(page, demo_clip, tmp_path):
    page.get_by_role("tab", name="People").click()
    page.locator("#capture-panel").get_by_text("Capture a person from a video").click()
    page.locator("#capture-video input[type=file]").set_input_files(str(demo_clip))
    page.wait_for_selector("#capture-video video", timeout=60_000)
    page.locator("#capture-start input").fill("3")
    page.locator("#capture-end input").fill("4")
    page.locator("#capture-person textarea, #capture-person input").first.fill("rightmost")

    # Without the consent box: refused, in words.
    page.click("#capture-run")
    page.wait_for_selector("#capture-status :text('Cannot capture')", timeout=60_000)
    assert "consent" in page.inner_text("#capture-status")

    page.locator("#capture-consent input[type=checkbox]").check()
    page.locator("#capture-statement textarea").fill(
        "The woman in the Sports2D demo clip: used here to test the capture panel only.")
    page.locator("#capture-recorded-by textarea, #capture-recorded-by input").first.fill("browser test")
    page.click("#capture-run")
    page.wait_for_selector("#capture-status :text('Surface seen')", timeout=CAPTURE_TIMEOUT_MS)
    page.wait_for_selector("#capture-result img", timeout=30_000)
    status = page.inner_text("#capture-status")
    assert status.startswith("Captured")
    _screenshot_whole_page(page, tmp_path / "capture_panel.png", settle_ms=1_500)

    # The captured person is saved with the others.
    page.click("#show-saved")
    page.wait_for_selector("#people-gallery img", timeout=120_000)
    assert page.locator("#people-gallery img").count() >= 1
