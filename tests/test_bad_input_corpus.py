"""The bad-input corpus: every hostile or broken input we know of, made by the test itself and fed
to the real ``random-people`` command in a subprocess.

Each case asserts the documented exit code, that the message names the file and the problem
(never a traceback, never a raw ESC byte), and that no file appeared or changed anywhere under the
test's folder. Cases for the app's confinement of uploaded specs are in ``test_confinement.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from disk_fixtures import small_tmpfs
from bad_input import (
    add_zero_bomb, alias_bomb, cli, deep_json, fake_clip, gaussians_ply, identity_file, motion_arrays,
    ply_with_low_count, snapshot, spec, write_npz, write_yaml,
)

MOTION_CAP = 512 * 2**20  # random_people.pose.motion.MAX_MOTION_ARRAY_BYTES


@dataclass
class Case:
    args: list[str]
    exit_code: int
    mentions: list[str]  # each must appear in the message (file name and problem)
    memory_limit: int | None = None  # address-space cap: a regression fails with MemoryError, not slowly
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Callable[..., Case]] = {}


def case(function: Callable[..., Case]) -> Callable[..., Case]:
    CASES[function.__name__.removeprefix("case_")] = function
    return function


@pytest.fixture()
def small_disk(tmp_path):
    """A real 64 kB tmpfs."""
    yield from small_tmpfs(tmp_path, "64k")


def _render_motion(work: Path, motion: Path) -> list[str]:
    person = identity_file(work / "people")
    return ["render", "--motion", str(motion), "--identity", str(person), "-o", str(work / "out" / "clip.mp4"), "-q"]


# ---- 5. confinement (CLI side): a relative output.dir may not climb out of the spec's folder


@case
def case_spec_output_dir_climbs_out(work: Path, request) -> Case:
    fake_clip(work / "specs" / "clip.mp4")
    path = write_yaml(work / "specs" / "job.yaml", spec(output={"dir": "../../escaped"}))
    return Case(["bulk", str(path), "--dry-run"], 16, ["job.yaml", "output.dir", "climbs out", "--allow-output-outside"])


# ---- 8. labels: printable, no path separators, at most 100 characters


@case
def case_csv_label_with_newline(work: Path, request) -> Case:
    fake_clip(work / "clips" / "a.mp4")
    (work / "clips" / "labels.csv").write_text('file,label\na.mp4,"walk\n| broken | card |"\n', encoding="utf-8")
    path = write_yaml(work / "job.yaml", spec(sources=[{"path": "clips", "labels": "csv", "csv": "clips/labels.csv"}]))
    return Case(["bulk", str(path), "--dry-run"], 16, ["labels.csv", "a.mp4", "control character"])


@case
def case_folder_label_with_escape_sequence(work: Path, request) -> Case:
    fake_clip(work / "clips" / "walk\x1b[31mRED" / "b.mp4")
    path = write_yaml(work / "job.yaml", spec(sources=[{"path": "clips", "labels": "folder"}]))
    return Case(["bulk", str(path), "--dry-run"], 16, ["b.mp4", "folder's name", "control character"])


@case
def case_spec_label_with_path_separator(work: Path, request) -> Case:
    fake_clip(work / "clip.mp4")
    path = write_yaml(work / "job.yaml", spec(sources=[{"path": "clip.mp4", "label": "walk/../../run"}]))
    return Case(["bulk", str(path), "--dry-run"], 16, ["job.yaml", "sources[0].label", "path separator"])


@case
def case_spec_label_too_long(work: Path, request) -> Case:
    fake_clip(work / "clip.mp4")
    path = write_yaml(work / "job.yaml", spec(sources=[{"path": "clip.mp4", "label": "w" * 300}]))
    return Case(["bulk", str(path), "--dry-run"], 16, ["job.yaml", "300 characters long"])


@case
def case_extract_label_with_escape_sequence(work: Path, request) -> Case:
    clip = fake_clip(work / "clip.mp4")
    return Case(["extract", str(clip), "--label", "walk\x1b[2J", "-o", str(work / "m.npz"), "-q"], 3,
                ["clip.mp4", "control character"])


# ---- 9. tracebacks that are now errors


@case
def case_motion_version_stored_as_text(work: Path, request) -> Case:
    motion = write_npz(work / "m.npz", motion_arrays(version=np.array("1")))
    return Case(_render_motion(work, motion), 8, ["m.npz", "'version'", "not a whole number"])


@case
def case_motion_meta_json_invalid(work: Path, request) -> Case:
    motion = write_npz(work / "m.npz", motion_arrays(meta_json=np.array("{not json")))
    return Case(_render_motion(work, motion), 8, ["m.npz", "meta_json is not valid JSON"])


@case
def case_identity_json_nested_200k_deep(work: Path, request) -> Case:
    path = work / "deep.json"
    path.write_text(deep_json(), encoding="utf-8")
    return Case(["identity", "show", str(path), "-o", str(work / "thumb.png")], 14, ["deep.json", "nested too deeply"])


@case
def case_spec_yaml_alias_bomb(work: Path, request) -> Case:
    path = work / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    return Case(["bulk", str(path), "--dry-run"], 16, ["bomb.yaml", "expands to more than", "aliases"],
                memory_limit=2 * 2**30)


@case
def case_spec_yaml_nested_deeply(work: Path, request) -> Case:
    path = work / "deep.yaml"
    path.write_text("sources: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    return Case(["bulk", str(path), "--dry-run"], 16, ["deep.yaml", "nests lists or mappings"],
                memory_limit=2 * 2**30)


@case
def case_spec_of_100k_people_by_1001_cameras(work: Path, request) -> Case:
    fake_clip(work / "clip.mp4")
    path = write_yaml(work / "huge.yaml", spec(identities={"sample": {"n": 100_000, "seed": 1}},
                                               cameras={"source": True, "sampled": 1000}))
    return Case(["bulk", str(path), "--dry-run"], 16, ["huge.yaml", "100,000 people", "1,001 cameras", "split it"],
                memory_limit=2 * 2**30)


@case
def case_spec_over_the_task_limit_only_with_its_sources(work: Path, request) -> Case:
    for name in ("a.mp4", "b.mp4"):
        fake_clip(work / "clips" / name)
    path = write_yaml(work / "many.yaml", spec(sources=[{"path": "clips", "labels": "folder"}],
                                               identities={"sample": {"n": 600, "seed": 1}},
                                               cameras={"source": True, "sampled": 1000}))
    return Case(["bulk", str(path), "--dry-run"], 16, ["1,201,202 tasks", "2 source clips", "split it"],
                memory_limit=2 * 2**30)


@case
def case_spec_of_50_megabytes(work: Path, request) -> Case:
    path = work / "big.yaml"
    line = "# " + "x" * 98 + "\n"
    path.write_text("name: big\n" + line * (50 * 2**20 // len(line)), encoding="utf-8")
    return Case(["bulk", str(path), "--dry-run"], 16, ["big.yaml", "bytes", "limit"], memory_limit=2 * 2**30)


# ---- 10. a full disk: exit 21, nothing partial


@case
def case_render_on_a_full_disk(work: Path, request) -> Case:
    disk = request.getfixturevalue("small_disk")
    ply = gaussians_ply(work / "cloud.ply")
    return Case(["render", "--gaussians", str(ply), "--size", "256x256", "--frames", "4",
                 "-o", str(disk / "render.mp4"), "-q"], 21, ["render.mp4", "disk is full"])


@case
def case_extract_on_a_full_disk(work: Path, request) -> Case:
    disk = request.getfixturevalue("small_disk")
    clip = request.getfixturevalue("demo_clip")
    return Case(["extract", str(clip), "--start", "0.3", "--end", "1.0", "--label", "walk",
                 "-o", str(disk / "walk.npz"), "-q"], 21, ["walk.", "disk is full"])


@case
def case_identity_sample_on_a_full_disk(work: Path, request) -> Case:
    disk = request.getfixturevalue("small_disk")
    return Case(["identity", "sample", "--n", "200", "--seed", "1", "-o", str(disk / "people")], 21,
                ["people", "disk is full"])


# ---- 11. silently accepted before


@case
def case_motion_zip_bomb_under_a_known_key(work: Path, request) -> Case:
    arrays = motion_arrays()
    del arrays["joints_3d"]
    motion = add_zero_bomb(write_npz(work / "bomb.npz", arrays), "joints_3d", MOTION_CAP + 2**20)
    assert motion.stat().st_size < 8 * 2**20  # ~100x smaller on disk than in memory
    return Case(_render_motion(work, motion), 8, ["bomb.npz", "'joints_3d'", "inflates to"], memory_limit=2 * 2**30)


@case
def case_ply_header_count_lower_than_its_data(work: Path, request) -> Case:
    ply = ply_with_low_count(work / "cloud.ply", declared=50, actual=200)
    return Case(["render", "--gaussians", str(ply), "-o", str(work / "out.mp4"), "-q"], 12,
                ["cloud.ply", "declares 50 Gaussians", "room for 150 more"])


@case
def case_motion_with_nan_rotations(work: Path, request) -> Case:
    rotations = np.zeros((3, 2, 3))
    rotations[1, 1, 0] = np.nan
    motion = write_npz(work / "m.npz", motion_arrays(local_rotations=rotations))
    return Case(_render_motion(work, motion), 8, ["m.npz", "'local_rotations'", "NaN", "frame 1"])


# ---- earlier issues' bad input, kept in the corpus


@case
def case_extract_a_text_file_named_mp4(work: Path, request) -> Case:
    clip = work / "notes.mp4"
    clip.write_text("not a video\n" * 100)
    return Case(["extract", str(clip), "-o", str(work / "m.npz"), "-q"], 3, ["notes.mp4"])


@case
def case_render_a_missing_motion(work: Path, request) -> Case:
    return Case(_render_motion(work, work / "nope.npz"), 8, ["nope.npz", "not found"])


@case
def case_render_a_truncated_ply(work: Path, request) -> Case:
    ply = gaussians_ply(work / "cloud.ply")
    ply.write_bytes(ply.read_bytes()[: ply.stat().st_size // 2])
    return Case(["render", "--gaussians", str(ply), "-o", str(work / "out.mp4"), "-q"], 12, ["cloud.ply", "truncated"])


@case
def case_identity_file_that_is_not_json(work: Path, request) -> Case:
    path = work / "person.json"
    path.write_text("{nope", encoding="utf-8")
    return Case(["identity", "show", str(path), "-o", str(work / "thumb.png")], 14, ["person.json", "not valid JSON"])


@case
def case_spec_with_unknown_key(work: Path, request) -> Case:
    fake_clip(work / "clip.mp4")
    path = write_yaml(work / "job.yaml", spec(colour="red"))
    return Case(["bulk", str(path), "--dry-run"], 16, ["job.yaml", "spec.colour", "unknown key"])


@case
def case_render_unknown_background(work: Path, request) -> Case:
    ply = gaussians_ply(work / "cloud.ply")
    return Case(["render", "--gaussians", str(ply), "--background", "moonbase", "-o", str(work / "out.mp4"), "-q"],
                11, ["moonbase", "Unknown background"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_a_clear_error_and_changes_nothing(name, tmp_path, request):
    work = tmp_path / "work"
    work.mkdir()
    bad = CASES[name](work, request)
    before = snapshot(tmp_path)
    done = cli(bad.args, cwd=work, env={"RP_DATA_DIR": str(tmp_path / "data"), **bad.env},
               memory_limit=bad.memory_limit)
    output = done.stdout + done.stderr
    assert done.returncode == bad.exit_code, output[-3000:]
    assert "Traceback" not in output and "\x1b" not in output, output[-3000:]
    assert done.stderr.startswith("error: ") or "\nerror: " in done.stderr, done.stderr[-2000:]
    for words in bad.mentions:
        assert words in done.stderr, (words, done.stderr[-2000:])
    assert snapshot(tmp_path) == before  # nothing appeared, changed or was left half-written


def test_the_corpus_covers_every_item_of_the_issue():
    """A guard against losing cases: the issue lists these kinds of bad input."""
    assert len(CASES) >= 26


def test_a_label_from_an_older_log_cannot_break_the_dataset_cards_table():
    """Labels are validated when a job is made; a log written before that may still hold one."""
    from random_people.hub.card import _table

    table = _table(["label", "clips"], [["walk\n| injected | row |", 3]])
    assert table.splitlines()[2] == "| walk \\| injected \\| row \\| | 3 |" and len(table.splitlines()) == 3


def test_jobs_show_never_sends_control_characters_to_the_terminal():
    """A task error or file name from a log written before labels were checked is printed escaped."""
    from random_people.cli_jobs import _terminal_safe

    shown = _terminal_safe("walk\x1b[2J\x07 done\nnext \u202etxt.exe")
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert shown == "walk\\x1b[2J\\x07 done\nnext \\u202etxt.exe"
