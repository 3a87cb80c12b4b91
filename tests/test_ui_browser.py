"""The real app in a real (headless) Chromium: upload the demo clip, extract, get the results.

Runs ``python app.py`` as a separate process, exactly as a Space or the Docker image would, so
it catches wiring that unit tests cannot: file serving, allowed paths, progress, video codecs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from random_people.ui.clip_tab import EXAMPLE_LABEL

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120
EXTRACT_TIMEOUT_MS = 240_000

# Every browser test module uses these marks (``pytestmark = BROWSER_MARKS``).
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
pytestmark = BROWSER_MARKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"app.py did not serve {url} within {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def serve_app(tmp_path: Path, **extra_env: str):
    """Run ``python app.py`` on a free port with ``tmp_path/data`` as its data dir; yield its URL.

    A generator for module fixtures: the app (and only it) is stopped afterwards.
    """
    port = _free_port()
    log = tmp_path / "app.log"
    env = {**os.environ, "RP_DATA_DIR": str(tmp_path / "data"), "RP_SERVER_NAME": "127.0.0.1",
           "RP_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", **extra_env}
    env.pop("SPACE_ID", None)
    env.pop("RP_DATABASE_URL", None)
    with open(log, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """Start app.py on a free port with its own data dir; stop it (only it) afterwards."""
    yield from serve_app(tmp_path_factory.mktemp("app"))


@contextlib.contextmanager
def open_app_page(url: str):
    """A Chromium page on the app at ``url`` once its UI is up; the browser is closed afterwards."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_selector("#extract-button", timeout=60_000)
            yield page
        finally:
            browser.close()


@pytest.fixture()
def page(app_url):
    with open_app_page(app_url) as page:
        yield page


def _wait_for_mp4(page, elem_id: str, timeout_ms: int) -> None:
    """Wait until the ``<video>`` inside ``#elem_id`` is given an mp4 to play (the result arrived)."""
    page.wait_for_function(
        """id => { const v = document.querySelector('#' + id + ' video');
                   return v && (v.currentSrc || v.src || '').split('?')[0].endsWith('.mp4'); }""",
        arg=elem_id, timeout=timeout_ms,
    )


def _wait_for_preview(page) -> None:
    _wait_for_mp4(page, "preview-video", EXTRACT_TIMEOUT_MS)


def _media_src(page, selector: str) -> str:
    return page.eval_on_selector(selector, "el => el.currentSrc || el.src || el.getAttribute('src') || ''")


def _screenshot_whole_page(page, path: Path, settle_ms: int = 4_000) -> None:
    """Grow the viewport to the page instead of ``full_page=True``: the resize that a full-page
    capture does clears the WebGL canvas of the 3D view, which then shows up blank. The viewport
    goes back to 1280x900 afterwards, so the test can go on clicking."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": int(height)})
    page.mouse.move(0, 0)  # no hover highlight in the screenshot
    page.wait_for_timeout(settle_ms)  # let videos, the mesh (Babylon.js) and plots repaint
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1280, "height": 900})
    print(f"screenshot: {path}")


def test_extract_demo_clip_in_browser(page, demo_clip, tmp_path):
    from playwright.sync_api import expect

    page.locator("#clip-input input[type=file]").set_input_files(str(demo_clip))
    page.wait_for_selector("#clip-status :text('1768×994')", timeout=60_000)
    page.locator("label:has-text('Action name') textarea, label:has-text('Action name') input").first.fill("walking")
    page.click("#extract-button")

    _wait_for_preview(page)
    npz = page.locator("#download-npz")
    bvh = page.locator("#download-bvh")
    expect(npz).to_be_visible(timeout=30_000)
    expect(bvh).to_be_visible(timeout=30_000)
    page.wait_for_selector("#body-mesh canvas", timeout=60_000)
    page.wait_for_selector("#quality-plot .js-plotly-plot", timeout=60_000)
    _screenshot_whole_page(page, tmp_path / "clip_tab.png")
    print(f"screenshot: {tmp_path / 'clip_tab.png'}")

    assert "Frames" in page.inner_text("#summary")

    preview = page.request.get(_media_src(page, "#preview-video video"))
    assert preview.ok
    body = preview.body()
    assert body[4:8] == b"ftyp" and len(body) > 10_000

    for button, suffix in ((npz, ".npz"), (bvh, ".bvh")):
        with page.expect_download(timeout=30_000) as download_info:
            button.click()
        download = download_info.value
        assert download.suggested_filename.endswith(suffix)
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.stat().st_size > 100


def test_fingers_box_fits_the_hands(page, demo_clip, tmp_path):
    """The Fingers box extracts with --hands: the summary says how often each hand was fitted."""
    page.locator("#clip-input input[type=file]").set_input_files(str(demo_clip))
    page.wait_for_selector("#clip-status :text('1768×994')", timeout=60_000)
    page.locator("label:has-text('Start (s)') input").first.fill("0.5")
    page.locator("label:has-text('End (s)') input").first.fill("1.5")
    page.locator("#hands-choice input[type=checkbox]").check()
    page.click("#extract-button")
    _wait_for_preview(page)
    page.wait_for_selector("#summary :text('Hands found')", timeout=60_000)
    summary = page.inner_text("#summary")
    assert "have fitted fingers" in summary
    _screenshot_whole_page(page, tmp_path / "clip_tab_hands.png")


def test_non_video_upload_is_refused_in_words(page, tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is a text file, not a video\n" * 20)
    page.locator("#clip-input input[type=file]").set_input_files(str(bogus))
    page.wait_for_selector("#clip-status :text('Cannot use this clip')", timeout=60_000)
    assert "notes.mp4" in page.inner_text("#clip-status")


def test_example_runs_with_one_click(page):
    page.get_by_text(EXAMPLE_LABEL).click()
    _wait_for_preview(page)
    assert "walking.mp4" in page.inner_text("#clip-status")
    assert "Frames" in page.inner_text("#summary")
    assert page.locator("#person-choice textarea, #person-choice input").first.input_value() == "rightmost"
