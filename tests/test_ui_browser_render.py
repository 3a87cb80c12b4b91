"""People and Render tabs in a real (headless) Chromium: sample and save people, extract the example
clip, render one saved person over it as a quick preview, and fetch the rendered mp4.

Runs ``python app.py`` in its own process (the ``app_url`` fixture of test_ui_browser.py).
"""

from __future__ import annotations



from random_people.ui.clip_tab import EXAMPLE_LABEL

from test_ui_browser import (
    BROWSER_MARKS,  # noqa: F401  (app_url and page are fixtures)
    _media_src,
    _wait_for_mp4,
    _screenshot_whole_page,
    _wait_for_preview,
    app_url,
    page,
)

RENDER_TIMEOUT_MS = 180_000

pytestmark = BROWSER_MARKS


def _set_slider(page, elem_id: str, value: int) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_people_then_render_in_browser(page, tmp_path):
    from playwright.sync_api import expect

    # People: sample two, look at one, save both.
    page.get_by_role("tab", name="People").click()
    _set_slider(page, "people-count", 2)
    page.click("#sample-button")
    expect(page.locator("#people-status")).to_contain_text("Sampled 2 people", timeout=120_000)
    thumbs = page.locator("#people-gallery img")
    expect(thumbs).to_have_count(2, timeout=30_000)
    thumbs.first.click()
    _wait_for_mp4(page, "person-turntable", 60_000)
    expect(page.locator("#person-spec")).to_contain_text('"skin_tone"', timeout=30_000)
    expect(page.locator("#person-title")).to_contain_text(" y, MST ", timeout=10_000)
    expect(page.locator("#people-histogram")).to_contain_text("sex (n=2)", timeout=30_000)
    page.click("#save-people")
    expect(page.locator("#people-status")).to_contain_text("Saved 2 new people", timeout=30_000)
    page.click("#show-saved")
    expect(page.locator("#people-status")).to_contain_text("2 saved people", timeout=30_000)
    expect(thumbs).to_have_count(2, timeout=30_000)
    thumbs.first.click()
    expect(page.locator("#person-title")).to_contain_text(" y, MST ", timeout=30_000)
    page.click("#export-ply")
    links = page.locator("#export-files a[href]")
    expect(links).to_have_count(2, timeout=60_000)
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    assert hrefs[0].endswith(".ply") and hrefs[1].endswith(".binding.npz"), hrefs
    _screenshot_whole_page(page, tmp_path / "people_tab.png", settle_ms=2_500)

    broken = tmp_path / "broken.json"
    broken.write_text('{"seed": 1, "body": {"sex": "female"}}')
    page.get_by_text("Import an identity (.json)").click()
    page.locator("#import-file input[type=file]").set_input_files(str(broken))
    expect(page.locator("#people-status")).to_contain_text("Cannot import this identity", timeout=30_000)
    expect(page.locator("#people-status")).to_contain_text("appearance", timeout=10_000)

    # Clip & pose: one click on the example extracts the walking clip.
    page.get_by_role("tab", name="Clip & pose").click()
    page.get_by_text(EXAMPLE_LABEL).click()
    _wait_for_preview(page)

    # Render: the extracted motion is picked up; choose a saved person; quick preview.
    page.get_by_role("tab", name="Render").click()
    expect(page.locator("#render-motion-status")).to_contain_text("from Clip & pose", timeout=30_000)
    page.locator("#render-people input").click()
    page.locator("ul[role=listbox] li").first.click()
    page.keyboard.press("Escape")
    expect(page.locator("#render-quick input")).to_be_checked()
    page.click("#render-button")
    _wait_for_mp4(page, "render-video-0", RENDER_TIMEOUT_MS)
    expect(page.locator("#render-status")).to_contain_text("Rendered 1 person", timeout=30_000)
    expect(page.locator("#render-source-video video")).to_have_count(1, timeout=30_000)
    expect(page.locator("#render-frame-image img")).to_have_count(1, timeout=30_000)
    _screenshot_whole_page(page, tmp_path / "render_tab.png", settle_ms=2_500)

    response = page.request.get(_media_src(page, "#render-video-0 video"))
    assert response.ok
    body = response.body()
    assert body[4:8] == b"ftyp" and len(body) > 5_000
