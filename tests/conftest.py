"""Shared fixtures: the real demo clip from the ``sports2d`` wheel, settings in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SPORTS2D_VERSION = "0.8.34"
DEMO_MEMBER = "Sports2D/Demo/demo.mp4"
CACHE_DIR = Path(os.environ.get("RP_TEST_CACHE", Path.home() / ".cache" / "random-people-tests"))


def _cached_wheel(package: str, version: str) -> Path:
    """A PyPI wheel of ``package==version`` under CACHE_DIR, fetched once with ``pip download --no-deps``."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    wheels = list(CACHE_DIR.glob(pattern)) or list(CACHE_DIR.glob(f"{package}-{version}-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE_DIR),
             f"{package}=={version}"],
            check=True,
        )
        wheels = list(CACHE_DIR.glob(pattern)) or list(CACHE_DIR.glob(f"{package}-{version}-*.whl"))
    return wheels[0]


def _wheel_member(wheel_path: Path, member: str, target: Path) -> Path:
    """``member`` of a wheel, unpacked once to ``target`` (written whole, then renamed)."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel_path) as wheel:
            partial = target.with_suffix(".part")
            partial.write_bytes(wheel.read(member))
            partial.replace(target)
    return target


def fetch_demo_clip() -> Path:
    """Return the path of Sports2D's demo.mp4 (a real person walking), downloading its wheel once.

    The wheel comes from PyPI with ``pip download --no-deps``; the clip is cached so later runs
    need no network.
    """
    target = CACHE_DIR / f"sports2d-{SPORTS2D_VERSION}-demo.mp4"
    if target.exists():
        return target
    return _wheel_member(_cached_wheel("sports2d", SPORTS2D_VERSION), DEMO_MEMBER, target)


POSE2SIM_VERSION = "0.10.49"
# The wheel's calibrated 4-camera demos (Demo_Batch/Trial_1 and Trial_2 are copies of these two).
POSE2SIM_DEMOS = ("Demo_MultiPerson", "Demo_SinglePerson")


def _pose2sim_wheel() -> Path:
    """The Pose2Sim wheel (~50 MB, real people filmed by 4 calibrated cameras), downloaded once."""
    return _cached_wheel("pose2sim", POSE2SIM_VERSION)


def fetch_pose2sim_demo(name: str = "Demo_MultiPerson") -> Path:
    """Return the folder of one of Pose2Sim's calibrated demos, unpacked once from its PyPI wheel:
    ``videos/cam01..04.mp4`` + ``calibration/Calib.qca.txt`` (Qualisys), nothing else.

    ``Demo_MultiPerson``: two people (the man in a blue cap, a woman walking past), 100 frames.
    ``Demo_SinglePerson``: the same man alone turning into a lunge with his arms out, 100 frames;
    same room, cameras and calibration file (cam01 and cam02 of it are letterboxed to 1080 px wide,
    see ``benchmarks/pose_accuracy.py``). Both 60 fps, portrait 1088x1920.
    """
    if name not in POSE2SIM_DEMOS:
        raise ValueError(f"Unknown Pose2Sim demo {name!r}; choose one of {', '.join(POSE2SIM_DEMOS)}.")
    prefix = f"Pose2Sim/{name}"
    target = CACHE_DIR / "pose2sim" / POSE2SIM_VERSION / prefix
    calibration = target / "calibration" / "Calib.qca.txt"
    if calibration.exists() and len(list((target / "videos").glob("cam0*.mp4"))) == 4:
        return target
    wheel_path = _pose2sim_wheel()
    with zipfile.ZipFile(wheel_path) as wheel:
        members = [m for m in wheel.namelist()
                   if (m.startswith(prefix + "/videos/") and m.endswith(".mp4")) or m == f"{prefix}/calibration/Calib.qca.txt"]
    for member in members:
        _wheel_member(wheel_path, member, CACHE_DIR / "pose2sim" / POSE2SIM_VERSION / member)
    return target


def fetch_pose2sim_multiperson() -> Path:
    """The folder of Pose2Sim's ``Demo_MultiPerson`` (see :func:`fetch_pose2sim_demo`)."""
    return fetch_pose2sim_demo("Demo_MultiPerson")


def fetch_pose2sim_clip(demo: str = "Demo_SinglePerson", camera: str = "cam04") -> Path:
    """Return the path of one of Pose2Sim's demo videos (a real person, 1080x1920, 60 fps, 1.7 s).

    ``Demo_SinglePerson/videos/cam04.mp4`` shows a man turning into a lunge with his arms out,
    seen from the side: a different person, motion, orientation (portrait) and frame rate from
    the Sports2D demo.
    """
    target = CACHE_DIR / f"pose2sim-{POSE2SIM_VERSION}-{demo}-{camera}.mp4"
    if target.exists():
        return target
    return _wheel_member(_pose2sim_wheel(), f"Pose2Sim/{demo}/videos/{camera}.mp4", target)


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    return fetch_demo_clip()


@pytest.fixture()
def settings(tmp_path):
    from random_people.settings import load_settings

    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def demo_motion(tmp_path_factory):
    """The motion of the first 2 s of the demo clip, extracted once per test session."""
    from random_people.pose.extract import extract_clip
    from random_people.settings import load_settings

    out = tmp_path_factory.mktemp("demo_motion")
    settings = load_settings(data_dir=out / "data")
    result = extract_clip(fetch_demo_clip(), out, label="walk", start=0.3, end=2.3, settings=settings, make_preview=False)
    return result.motion
