"""The Render tab's clean-plate preview in a real (headless) Chromium: upload a motion, choose the
clip's own scene as background, press **Preview the clean plate**, see the source beside its plate.

Runs ``python app.py`` in its own process (the ``app_url`` fixture of test_ui_browser.py).
"""

from __future__ import annotations

import pytest

from test_ui_browser import BROWSER_MARKS, _screenshot_whole_page, open_app_page, serve_app

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def plate_page(tmp_path_factory, demo_clip):
    """The app with the demo clip known to its data dir (as after extracting it there), in Chromium."""
    from random_people.files import sha256_file
    from random_people.settings import load_settings
    from random_people.source_index import remember_source

    folder = tmp_path_factory.mktemp("plate_app")
    remember_source(load_settings(data_dir=folder / "data"), sha256_file(demo_clip), demo_clip)
    for url in serve_app(folder):
        with open_app_page(url) as page:
            yield page


def test_plate_preview_in_browser(plate_page, demo_motion, tmp_path):
    page = plate_page
    from playwright.sync_api import expect

    from random_people.pose.motion import save_motion
    from random_people.ui.render_tab import SOURCE_BACKGROUND_CHOICE

    motion_path = save_motion(demo_motion, tmp_path / "demo_walk.npz")
    page.get_by_role("tab", name="Render").click()
    page.get_by_text("Use another motion file (.npz)").click()
    page.locator("#render-motion-file input[type=file]").set_input_files(str(motion_path))
    expect(page.locator("#render-motion-status")).to_contain_text("uploaded file", timeout=60_000)
    expect(page.locator("#render-plate-button")).to_be_hidden()
    page.locator("#render-background input").click()
    page.get_by_role("option", name=SOURCE_BACKGROUND_CHOICE).click()
    expect(page.locator("#render-plate-button")).to_be_visible(timeout=10_000)
    page.click("#render-plate-button")
    expect(page.locator("#render-status")).to_contain_text("Clean plate ready", timeout=300_000)
    image = page.locator("#render-plate-image img")
    expect(image).to_be_visible(timeout=30_000)
    width = image.evaluate("img => img.naturalWidth")
    height = image.evaluate("img => img.naturalHeight")
    assert height == 240 and width > 2 * 240, (width, height)  # two wide panels side by side
    _screenshot_whole_page(page, tmp_path / "plate_preview.png", settle_ms=1_500)
