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


# MediaPipe's heavy pose landmark model, which the 0.10.21 wheel does not ship (it would download
# it into site-packages at run time, which we never allow). The accuracy benchmark's reference
# triangulates its detections too; the product's extraction stays on the bundled full model.
# The npm package's pose_landmark_full.tflite is byte-identical to the wheel's.
MEDIAPIPE_POSE_NPM = "@mediapipe/pose@0.5.1675469404"
MEDIAPIPE_POSE_TARBALL = "mediapipe-pose-0.5.1675469404.tgz"
MEDIAPIPE_POSE_INTEGRITY = ("sha512-DFZsNWTsSphRIZppnUCuunzBiHP2FdJXR9ehc7mMi4KG+oPaOH0Em3d6kr7Py+TSyTXC1doH88KcF28k2sBxsQ==")
HEAVY_MEMBER = "package/pose_landmark_heavy.tflite"


def _npm_integrity(path: Path) -> str:
    """The npm registry's ``integrity`` string of a tarball: sha512, base64."""
    import base64
    import hashlib

    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch_pose_landmark_heavy() -> Path:
    """Return the path of MediaPipe's ``pose_landmark_heavy.tflite``, taken once from the
    ``@mediapipe/pose`` npm package (``npm pack``, ~41 MB) after checking the tarball against the
    registry's sha512 integrity, and cached under CACHE_DIR (never inside the mediapipe package)."""
    import shutil
    import tarfile

    target = CACHE_DIR / "mediapipe-pose-0.5.1675469404" / "pose_landmark_heavy.tflite"
    if target.exists():
        return target
    tarball = CACHE_DIR / MEDIAPIPE_POSE_TARBALL
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"npm is needed to fetch {MEDIAPIPE_POSE_NPM} (MediaPipe's heavy pose model for the "
                               "accuracy benchmark's reference); install Node.js and npm (apt-get install npm).")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "pack", MEDIAPIPE_POSE_NPM, "--pack-destination", str(CACHE_DIR), "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    if (found := _npm_integrity(tarball)) != MEDIAPIPE_POSE_INTEGRITY:
        tarball.unlink()
        raise RuntimeError(f"{MEDIAPIPE_POSE_TARBALL} does not match the npm registry's integrity "
                           f"({found[:24]}... against {MEDIAPIPE_POSE_INTEGRITY[:24]}...); it was removed, fetch it again.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        partial = target.with_suffix(".part")
        partial.write_bytes(archive.extractfile(HEAVY_MEMBER).read())
        partial.replace(target)
    return target


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    return fetch_demo_clip()


@pytest.fixture(scope="session")
def pose_landmark_heavy() -> Path:
    return fetch_pose_landmark_heavy()


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
