"""Push with the real ``huggingface_hub`` client to a Hub on 127.0.0.1 (``hub_server.FakeHub``; the real
Hub is unreachable here): exactly which files arrive, a second push is a no-op, new clips arrive in
a new commit, an interrupted push resumes without re-uploading, and bad tokens / repo ids fail clearly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub_fixtures import make_clips
from hub_server import FakeHub, serve_fake_hub
from random_people.hub.errors import ExportError, HubAuthError, HubPushError, HubRepoError
from random_people.hub.export import export_dataset
from random_people.hub.push import plan_push, push_dataset, resolve_token

TOKEN = "hf_test_write_token"


@pytest.fixture()
def hub(monkeypatch, tmp_path):
    yield from serve_fake_hub(monkeypatch, tmp_path, TOKEN)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("clips"), n_sources=6, per_source=2, subjects=4)


def _remote_files(hub: FakeHub, repo_id: str) -> dict[str, bytes]:
    return {path: hub.file_bytes(repo_id, path) for path in hub.repos[repo_id].files}


def _local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def test_push_uploads_exactly_the_export_then_no_op_then_only_new_clips(hub, clips, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "ds"
    export_dataset(clips[:8], folder)
    fractions = []
    result = push_dataset(folder, "tester/actions", token=TOKEN, endpoint=hub.url, private=True,
                          files_per_commit=10, progress=lambda f, m: fractions.append(f))
    assert _remote_files(hub, "tester/actions") == _local_files(folder)  # byte for byte, nothing else
    repo = hub.repos["tester/actions"]
    assert repo.private and len(result.commits) == len(repo.commits) >= 3  # batched
    assert repo.commits[-1]["added"][-2:] == ["README.md", "random_people_export.json"]  # the card lands last
    assert not any(p.endswith("metadata.jsonl") for commit in repo.commits[:-1] for p in commit["added"])  # nor rows
    assert result.url.endswith("/datasets/tester/actions") and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(set(fractions)) >= 4  # progress moves, never back
    uploads = len(hub.lfs_uploads)

    again = push_dataset(folder, "tester/actions", token=TOKEN, endpoint=hub.url)
    assert again.no_op and len(repo.commits) == len(result.commits) and len(hub.lfs_uploads) == uploads

    grown = export_dataset(clips, folder)
    more = push_dataset(folder, "tester/actions", token=TOKEN, endpoint=hub.url)
    new_paths = {p for p in _local_files(folder) if p not in set(result.uploaded)}
    assert len(more.commits) == 1 and set(more.uploaded) == new_paths | {
        p for p in more.uploaded if p.endswith(("metadata.jsonl", "README.md", "random_people_export.json"))}
    assert all(clip.clip_id in " ".join(more.uploaded) for clip in clips[8:])
    assert not any(clip.clip_id in " ".join(more.uploaded) for clip in clips[:8])  # old clips not sent again
    assert _remote_files(hub, "tester/actions") == _local_files(folder) and grown.added_synthetic == 4

    # The token went to the server and nowhere else: not in logs, not in the dataset folder.
    assert TOKEN not in caplog.text
    assert all(TOKEN.encode() not in data for data in _local_files(folder).values())
    assert not any(TOKEN.encode() in p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_datasets_loads_the_pushed_repo_by_its_id(hub, clips, tmp_path):
    """``load_dataset(repo_id)`` against the Hub on 127.0.0.1 (a fresh process: HF_ENDPOINT is read at import)."""
    import json
    import os
    import subprocess
    import sys

    folder = tmp_path / "ds"
    export_dataset(clips, folder)
    push_dataset(folder, "tester/loadable", token=TOKEN, endpoint=hub.url)
    script = (
        "import json, sys, datasets\n"
        "d = datasets.load_dataset('tester/loadable', cache_dir=sys.argv[1])\n"
        "rows = [dict(r, video=r['video']['path']) for s in d.values()\n"
        "        for r in s.cast_column('video', datasets.Video(decode=False))]\n"
        "print(json.dumps(rows))\n"
    )
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_XET": "1",
           "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "cache")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    by_id = {c.clip_id: c for c in clips}
    assert sorted(r["clip_id"] for r in rows) == sorted(by_id)
    for row in rows:
        clip = by_id[row["clip_id"]]
        assert row["label"] == clip.action_label and row["seed"] == clip.seed
        assert Path(row["video"]).read_bytes() == clip.video_path.read_bytes()  # downloaded from the Hub


def test_an_interrupted_push_resumes_without_re_uploading(hub, clips, tmp_path):
    folder = tmp_path / "ds"
    export_dataset(clips, folder)
    hub.drop_commit_after = 1  # the connection drops on the second commit request
    with pytest.raises(HubPushError, match="run the same push again to resume") as failed:
        push_dataset(folder, "tester/resume", token=TOKEN, endpoint=hub.url, files_per_commit=15)
    assert failed.value.exit_code == 24
    first_commit = set(hub.repos["tester/resume"].commits[0]["added"])
    uploaded_before = list(hub.lfs_uploads)
    lfs_in_first = [p for p in first_commit if p.endswith((".mp4", ".npz"))]
    assert len(uploaded_before) > len(lfs_in_first)  # the lost batch's objects had reached the server

    resumed = push_dataset(folder, "tester/resume", token=TOKEN, endpoint=hub.url, files_per_commit=15)
    assert not first_commit & set(resumed.uploaded)  # committed files are not sent again
    assert not set(uploaded_before) & set(hub.lfs_uploads[len(uploaded_before):])  # nor any LFS object twice
    assert len(hub.lfs_uploads) == len(set(hub.lfs_uploads))
    assert _remote_files(hub, "tester/resume") == _local_files(folder)


def test_switching_to_shards_replaces_the_loose_files_on_the_hub(hub, clips, tmp_path):
    folder = tmp_path / "ds"
    export_dataset(clips[:4], folder, shard_threshold=6, clips_per_shard=4)
    push_dataset(folder, "tester/sharded", token=TOKEN, endpoint=hub.url)
    export_dataset(clips, folder, shard_threshold=6, clips_per_shard=4)
    result = push_dataset(folder, "tester/sharded", token=TOKEN, endpoint=hub.url)
    assert result.deleted and all(p.endswith((".mp4", ".npz", ".jsonl")) for p in result.deleted)
    assert _remote_files(hub, "tester/sharded") == _local_files(folder)
    assert all(p.endswith(".parquet") for p in hub.repos["tester/sharded"].files if p.startswith("synthetic/"))


def test_a_push_that_only_deletes_still_commits(hub, clips, tmp_path):
    """Left-over files under a config folder go even when every local file is already on the Hub."""
    from hub_server import StoredFile, git_blob_id

    folder = tmp_path / "ds"
    export_dataset(clips[:2], folder)
    push_dataset(folder, "tester/stray", token=TOKEN, endpoint=hub.url)
    stray = StoredFile(size=1, blob_id=git_blob_id(b"x"), data=b"x")
    hub.repos["tester/stray"].files["synthetic/train/stray.txt"] = stray
    result = push_dataset(folder, "tester/stray", token=TOKEN, endpoint=hub.url)
    assert result.deleted == ["synthetic/train/stray.txt"] and len(result.commits) == 1 and not result.uploaded
    assert _remote_files(hub, "tester/stray") == _local_files(folder)


def test_bad_token_bad_repo_and_missing_token_fail_clearly(hub, clips, tmp_path, monkeypatch):
    folder = tmp_path / "ds"
    export_dataset(clips[:2], folder)
    with pytest.raises(HubAuthError, match="refused the token") as refused:
        push_dataset(folder, "tester/x", token="hf_wrong", endpoint=hub.url)
    assert "hf_wrong" not in str(refused.value) and refused.value.exit_code == 22
    for bad in ("no-slash", "a/b/c", "tester/bad name!", "tester/..x"):
        with pytest.raises(HubRepoError, match="repo id"):
            push_dataset(folder, bad, token=TOKEN, endpoint=hub.url)
    with pytest.raises(HubRepoError, match="may not write to someone-else/x") as forbidden:
        push_dataset(folder, "someone-else/x", token=TOKEN, endpoint=hub.url)
    assert forbidden.value.exit_code == 23
    with pytest.raises(HubAuthError, match="no Hugging Face token"):
        push_dataset(folder, "tester/x", endpoint=hub.url)
    with pytest.raises(ExportError, match="not an exported dataset"):
        push_dataset(tmp_path, "tester/x", token=TOKEN, endpoint=hub.url)
    assert hub.repos == {}  # nothing was created by any failed attempt


def test_token_comes_from_field_then_environment_then_login(hub, monkeypatch, tmp_path):
    from huggingface_hub import constants

    Path(constants.HF_TOKEN_PATH).parent.mkdir(parents=True, exist_ok=True)
    Path(constants.HF_TOKEN_PATH).write_text("hf_from_login")
    assert resolve_token(None) == "hf_from_login"
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert resolve_token(None) == "hf_from_env"
    assert resolve_token("hf_from_field") == "hf_from_field"


def test_plan_lists_what_will_be_pushed(clips, tmp_path):
    folder = tmp_path / "ds"
    export_dataset(clips[:4], folder)
    plan = plan_push(folder)
    assert plan.synthetic_clips == 4 and plan.card.startswith("---\n")
    assert {p for p, _ in plan.files} == set(_local_files(folder))
    assert plan.total_bytes == sum(len(b) for b in _local_files(folder).values())


def test_a_local_file_error_is_not_reported_as_a_network_failure():
    from random_people.hub.push import _translate

    missing = FileNotFoundError(2, "No such file or directory", "/data/set/synthetic/train/walk/a.mp4")
    message = str(_translate(missing, "user/set", 3, 10))
    assert "could not be read" in message and "/data/set/synthetic/train/walk/a.mp4" in message
    assert "connection" not in message and "3 of 10 files had landed" in message
    dropped = str(_translate(ConnectionResetError(104, "Connection reset by peer"), "user/set", 3, 10))
    assert "the connection to the Hub failed (ConnectionResetError)" in dropped
