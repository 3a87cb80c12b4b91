"""Confinement and privacy for an app that may run as a public Space.

* Specs uploaded through the app may only name files in its data folder or the shipped assets
  (symlinks out refused), and write only under ``renders/``; the CLI takes any path, but a relative
  ``output.dir`` climbing out of the spec's folder needs ``--allow-output-outside``.
* The app's file route serves outputs, previews and thumbnails, never the job log, worker logs or
  uploads: checked with real HTTP requests to the launched app.
* Exports and labels files carry no absolute path of the user's machine.
* An unknown array in a motion file is skipped without being inflated (a zip bomb costs nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from bad_input import add_zero_bomb, cli, fake_clip, identity_file, motion_arrays, snapshot, spec, write_npz, \
    write_yaml
from random_people.jobs.errors import JobSpecError
from random_people.settings import load_settings
from random_people.ui import jobs_tab


@pytest.fixture()
def app_settings(tmp_path):
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture()
def outside(tmp_path):
    """Files of the server that are not the app's: a clip, an image, a CSV, a person, a config."""
    folder = tmp_path / "server"
    fake_clip(folder / "private.mp4")
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(folder / "holiday.png")
    (folder / "labels.csv").write_text("file,label\nprivate.mp4,walk\n", encoding="utf-8")
    identity_file(folder)
    (folder / "dist.yaml").write_text("mode: random\n", encoding="utf-8")
    return folder


def _inside(app_settings) -> Path:
    """A clip uploaded into the app's data folder (where the Jobs tab keeps its sources)."""
    return fake_clip(app_settings.data_dir / "sources" / "0123" / "clip.mp4")


def _app_cases(outside: Path, data: Path) -> dict[str, tuple[dict, str]]:
    person = next(outside.glob("*.json"))
    clip = str(data / "sources" / "0123" / "clip.mp4")
    return {
        "source outside": (spec(str(outside / "private.mp4")), "sources[0].path"),
        "source climbing out": (spec("../server/private.mp4"), "sources[0].path"),
        "background outside": (spec(clip, backgrounds={"names": [str(outside / "holiday.png")]}),
                               "backgrounds.names[0]"),
        "bare background name that is not shipped": (spec(clip, backgrounds={"names": ["Dockerfile"]}),
                                                     "backgrounds.names[0]"),
        "labels CSV outside": (spec(clip, sources=[{"path": str(outside), "labels": "csv",
                                                    "csv": str(outside / "labels.csv")}]), "sources[0].csv"),
        "saved identity outside": (spec(clip, identities={"saved": [str(person)]}), "identities.saved[0]"),
        "distribution config outside": (spec(clip, identities={"sample": {"n": 1, "config": str(outside / "dist.yaml")}}),
                                        "identities.sample.config"),
        "output outside": (spec(clip, output={"dir": str(outside / "out")}), "output.dir"),
        "output in the data folder but not renders/": (spec(clip, output={"dir": "logs"}), "output.dir"),
    }


@pytest.mark.parametrize("name", ["source outside", "source climbing out",
                                  "background outside", "bare background name that is not shipped",
                                  "labels CSV outside", "saved identity outside", "distribution config outside",
                                  "output outside", "output in the data folder but not renders/"])
def test_an_uploaded_spec_cannot_reach_outside_the_data_folder(name, tmp_path, app_settings, outside):
    _inside(app_settings)
    data, where = _app_cases(outside, app_settings.data_dir)[name]
    uploaded = write_yaml(tmp_path / "upload" / "job.yaml", data)
    before = snapshot(tmp_path)
    with pytest.raises(JobSpecError) as refused:
        jobs_tab.spec_from_file(uploaded, app_settings)
    message = str(refused.value)
    problem = "unknown background" if "not shipped" in name else "outside the folders this app may"
    assert message.startswith("job.yaml:") and where in message and problem in message, message
    assert str(app_settings.data_dir) not in message  # the server's own folders are not disclosed
    assert snapshot(tmp_path) == before


def test_the_same_spec_inside_the_data_folder_is_accepted(tmp_path, app_settings):
    clip = _inside(app_settings)
    uploaded = write_yaml(tmp_path / "upload" / "job.yaml",
                          spec("sources/0123/clip.mp4", backgrounds={"names": ["park", "#808080"]},
                               output={"dir": "renders/mine"}))
    parsed = jobs_tab.spec_from_file(uploaded, app_settings)
    assert parsed.sources[0].path == clip.resolve()
    assert parsed.output.dir == (app_settings.data_dir / "renders" / "mine").resolve()
    # "~" is not the server's home in the app: it is a folder name inside the data folder.
    home = jobs_tab.spec_from_file(write_yaml(tmp_path / "upload" / "home.yaml", spec("~/clip.mp4")), app_settings)
    assert home.sources[0].path == (app_settings.data_dir / "~" / "clip.mp4").resolve()


def test_symlinks_out_of_the_data_folder_are_refused(tmp_path, app_settings, outside):
    links = app_settings.data_dir / "sources" / "links"
    links.mkdir(parents=True)
    (links / "innocent.mp4").symlink_to(outside / "private.mp4")
    uploaded = write_yaml(tmp_path / "upload" / "job.yaml", spec("sources/links/innocent.mp4"))
    with pytest.raises(JobSpecError, match=r"sources\[0\].path: .*outside the folders this app may read"):
        jobs_tab.spec_from_file(uploaded, app_settings)


def test_folder_sources_and_csv_rows_leading_out_are_refused_before_anything_is_queued(tmp_path, app_settings, outside):
    folder = app_settings.data_dir / "sources" / "clips" / "walk"
    fake_clip(folder / "ok.mp4")
    (folder / "sneaky.mp4").symlink_to(outside / "private.mp4")
    table = app_settings.data_dir / "sources" / "rows.csv"
    table.write_text("file,label\nclips/walk/ok.mp4,walk\n../../server/private.mp4,walk\n", encoding="utf-8")
    for sources, culprit in (([{"path": "sources/clips", "labels": "folder"}], "sneaky.mp4"),
                             ([{"path": "sources", "labels": "csv", "csv": "sources/rows.csv"}], "private.mp4")):
        uploaded = write_yaml(tmp_path / "upload" / "job.yaml", spec(sources=sources))
        parsed = jobs_tab.spec_from_file(uploaded, app_settings)
        before = snapshot(tmp_path)
        with pytest.raises(JobSpecError) as refused:
            jobs_tab.estimate(parsed, app_settings)
        assert culprit in str(refused.value) and "outside the folders this app may read" in str(refused.value)
        assert snapshot(tmp_path) == before  # not even the job log was created


def test_the_cli_takes_any_path_but_a_climbing_output_dir_needs_the_flag(tmp_path, outside):
    fake_clip(tmp_path / "specs" / "clip.mp4")
    path = write_yaml(tmp_path / "specs" / "job.yaml",
                      spec(str(outside / "private.mp4"), output={"dir": "../escaped"}))
    env = {"RP_DATA_DIR": str(tmp_path / "data")}
    refused = cli(["bulk", str(path), "--dry-run"], cwd=tmp_path, env=env)
    assert refused.returncode == 16 and "--allow-output-outside" in refused.stderr
    allowed = cli(["bulk", str(path), "--dry-run", "--allow-output-outside"], cwd=tmp_path, env=env)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "1 clip from 1 source clip" in allowed.stdout
    absolute = write_yaml(tmp_path / "specs" / "abs.yaml", spec("clip.mp4", output={"dir": str(tmp_path / "elsewhere")}))
    assert cli(["bulk", str(absolute), "--dry-run"], cwd=tmp_path, env=env).returncode == 0


# --------------------------------------------------------------------------------------------
# The file route, over real HTTP


@pytest.fixture()
def launched_app(app_settings):
    from random_people.jobs.db import open_database
    from random_people.ui import app as ui_app
    from jobs_helpers import free_port

    class Ready(ui_app.BodyModelWarmup):
        def start(self):
            self._done.set()
            return self

    open_database(app_settings.resolved_database_url)  # a real job log in the data folder
    demo = ui_app.build_app(app_settings, warmup=Ready(app_settings))
    port = free_port()
    demo.queue()
    demo.launch(**{**ui_app.launch_kwargs(app_settings), "server_name": "127.0.0.1", "server_port": port,
                   "prevent_thread_lock": True, "quiet": True})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_file_route_serves_outputs_but_never_logs_the_job_log_or_uploads(launched_app, app_settings):
    data = app_settings.data_dir
    private = {
        "worker log": data / "logs" / "worker-20260101-000000-0.log",
        "job log": data / "random_people.sqlite",
        "uploaded source clip": data / "sources" / "0123" / "clip.mp4",
        "saved identity": data / "identities" / "0123456789ab.json",
        "export folder": data / "datasets" / "mine" / "random_people_export.json",
        "experiment cache": data / "experiments" / "source_hashes.json",
    }
    shown = {
        "rendered clip": data / "renders" / "abc" / "clip.mp4",
        "overlay preview": data / "motions" / "run" / "walk_preview.mp4",
        "clip thumbnail": data / "thumbs" / "clips" / "abc.jpg",
        "person thumbnail": data / "identities" / "thumbs" / "0123456789ab.png",
    }
    for path in [*private.values(), *shown.values()]:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"/home/someone/secret\n")
    assert private["job log"].stat().st_size > 1000  # the real SQLite file, not our stand-in
    for what, path in private.items():
        assert _get(f"{launched_app}/gradio_api/file={path}") in (403, 404), what
    for what, path in shown.items():
        assert _get(f"{launched_app}/gradio_api/file={path}") == 200, what
    # Climbing out of a served folder does not help either.
    climbing = data / "renders" / ".." / "logs" / "worker-20260101-000000-0.log"
    assert _get(f"{launched_app}/gradio_api/file={climbing}") in (403, 404)


# --------------------------------------------------------------------------------------------
# Exports and labels files name no path of the user's machine


def test_a_real_job_export_carries_no_absolute_path(tmp_path, demo_clip):
    from jobs_helpers import TINY_OUTPUT

    from PIL import Image

    home = tmp_path / "home" / "alice" / "Pictures"
    home.mkdir(parents=True)
    Image.new("RGB", (64, 48), (30, 120, 60)).save(home / "holiday.png")
    clips = tmp_path / "home" / "alice" / "clips"
    clips.mkdir()
    (clips / "walk.mp4").symlink_to(demo_clip)
    job = write_yaml(tmp_path / "home" / "alice" / "job.yaml", {
        "name": "privacy", "auto_accept": True,
        "sources": [{"path": str(clips / "walk.mp4"), "label": "walk", "start": 0.3, "end": 1.0}],
        "identities": {"sample": {"n": 1, "seed": 1}}, "backgrounds": {"names": [str(home / "holiday.png")]},
        "cameras": {"source": True}, "output": {"dir": str(tmp_path / "home" / "alice" / "renders"), **TINY_OUTPUT},
    })
    env = {"RP_DATA_DIR": str(tmp_path / "data"), "RP_JOB_WORKERS": "1"}
    ran = cli(["bulk", str(job), "-q", "--workers", "1"], cwd=tmp_path, env=env, timeout=900)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-3000:]
    dataset = tmp_path / "dataset"
    exported = cli(["export", str(dataset), "-q", "--include-real"], cwd=tmp_path, env=env, timeout=600)
    assert exported.returncode == 0, exported.stderr[-3000:]
    leaks = []
    texts = 0
    for path in dataset.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".npz":
            with np.load(path) as stored:
                content = " ".join(str(stored[k]) for k in stored.files if stored[k].dtype.kind == "U")
        else:
            content = path.read_bytes().decode("utf-8", errors="replace")
        texts += 1
        for needle in (str(tmp_path), "/home/alice", "alice/Pictures"):
            if needle in content:
                leaks.append(f"{path.relative_to(dataset)} holds {needle}")
    assert texts >= 5 and not leaks, leaks
    rows = [json.loads(line) for path in dataset.glob("synthetic/*/metadata.jsonl")
            for line in path.read_text().splitlines()]
    assert rows and rows[0]["background"].startswith("sha256:") and rows[0]["background"].endswith(".png")
    labels = next(dataset.rglob("*_labels.npz"))
    with np.load(labels) as stored:
        meta = json.loads(str(stored["meta_json"]))
    assert meta["background"] == rows[0]["background"]


# --------------------------------------------------------------------------------------------
# A zip bomb under an unknown key is never inflated


def test_an_unknown_array_in_a_motion_file_is_skipped_without_inflating_it(tmp_path):
    motion = add_zero_bomb(write_npz(tmp_path / "walk.npz", motion_arrays()), "junk", 768 * 2**20)
    assert motion.stat().st_size < 8 * 2**20  # ~100x smaller on disk than in memory
    # VmHWM is this process's own peak (ru_maxrss would carry over the forking pytest process's size).
    probe = ("import re, sys; from random_people.pose.motion import load_motion; "
             "m = load_motion(sys.argv[1]); "
             "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
             "print(m.num_frames, peak // 1024)")
    done = subprocess.run([sys.executable, "-c", probe, str(motion)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    frames, peak_mib = map(int, done.stdout.split())
    assert frames == 3
    assert peak_mib < 400, f"peak RSS {peak_mib} MiB: the 768 MiB array was inflated"
    assert "ignoring unknown arrays ['junk']" in done.stderr
