"""`random-people export` and `random-people push` through the real argument parser and ``main``.

The export command's clip source (the job log) is replaced by fixture clips here: the job log's own
tests cover which clips it returns; these check the CLI's wiring, output and exit codes.
"""

from __future__ import annotations

import json

import pytest

from hub_fixtures import make_clips
from hub_server import serve_fake_hub
from random_people.cli import main

TOKEN = "hf_cli_token"


@pytest.fixture()
def hub(monkeypatch, tmp_path):
    yield from serve_fake_hub(monkeypatch, tmp_path, TOKEN)


def test_export_then_push_from_the_command_line(hub, tmp_path, monkeypatch, capsys):
    import random_people.hub.sources as sources

    clips = make_clips(tmp_path / "clips", n_sources=4, per_source=2, with_source_files=True)
    asked = {}

    def fake_source(database_url, job_ids=None):
        asked.update(url=database_url, jobs=job_ids)
        return clips

    monkeypatch.setattr(sources, "load_export_clips", fake_source)
    folder = tmp_path / "ds"
    code = main(["export", str(folder), "--job", "job-1", "--database", "sqlite:///x.db", "--source-dataset",
                 "Sports2D demo", "--license", "cc-by-4.0", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "synthetic clips: 8 (+8 new)" in out
    assert asked == {"url": "sqlite:///x.db", "jobs": ["job-1"]}
    assert "Sports2D demo" in (folder / "README.md").read_text()
    clips.extend(make_clips(tmp_path / "clips", n_sources=1, per_source=2, start=10))
    assert main(["export", str(folder), "-q"]) == 0  # card fields given once are kept
    card = (folder / "README.md").read_text()
    assert "Sports2D demo" in card and "license: cc-by-4.0" in card and "**10 synthetic clips**" in card
    capsys.readouterr()

    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the token from the environment, not the command line
    code = main(["push", str(folder), "--repo", "tester/cli-actions", "--endpoint", hub.url, "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "in 1 commit(s)" in out and f"{hub.url}/datasets/tester/cli-actions" in out
    assert set(hub.repos["tester/cli-actions"].files) == {p.relative_to(folder).as_posix()
                                                          for p in folder.rglob("*") if p.is_file()}
    assert main(["push", str(folder), "--repo", "tester/cli-actions", "--endpoint", hub.url, "-q"]) == 0
    assert "nothing to push" in capsys.readouterr().out
    assert TOKEN not in json.dumps(hub.requests)  # (the request log holds paths only; sanity check)


def test_cli_errors_have_their_exit_codes(hub, tmp_path, capsys):
    folder = tmp_path / "ds"
    from random_people.hub.export import export_dataset

    export_dataset(make_clips(tmp_path / "clips", n_sources=1, per_source=1), folder)
    assert main(["push", str(folder), "--repo", "tester/x", "--token", "hf_bad", "--endpoint", hub.url, "-q"]) == 22
    err = capsys.readouterr().err
    assert "refused the token" in err and "hf_bad" not in err
    assert main(["push", str(folder), "--repo", "not a repo", "--token", TOKEN, "--endpoint", hub.url, "-q"]) == 23
    assert main(["push", str(tmp_path / "clips"), "--repo", "tester/x", "--token", TOKEN, "--endpoint", hub.url,
                 "-q"]) == 20
    assert "not an exported dataset" in capsys.readouterr().err
