"""Tests for random_people.render.clip / scene_file and the ``render`` command, with the real CPU rasterizer.

The subject is a synthetic "person": ~3k Gaussians filling ellipsoids for head, torso, arms and
legs, 1.7 m tall, standing at the origin with up = -y (OpenCV world), with COCO keypoints
inside the matching body parts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from random_people.body.keypoints import COCO17
from random_people.cli import main
from random_people.render.cameras import intrinsics_from_fov, look_at, make_camera
from random_people.render.backgrounds import ColorBackground, list_backgrounds, load_background
from random_people.render.clip import FrameInput, RenderError, read_mask_video, render_clip
from random_people.render.labels import load_labels
from random_people.render.ply import save_gaussians_ply
from random_people.render.rasterize import rasterize
from random_people.render.skinning import rigid_transform
from random_people.render.types import Gaussians

SIZE = 128
FPS = 10
UP = np.array([0.0, -1.0, 0.0])

# Body parts as (centre, semi-axes) in metres; y down, feet at y = 0.85, head top at y = -0.85.
PARTS = {
    "head": ((0.0, -0.72, 0.0), (0.10, 0.12, 0.11)),
    "torso": ((0.0, -0.30, 0.0), (0.18, 0.30, 0.11)),
    "left_arm": ((0.25, -0.25, 0.0), (0.05, 0.30, 0.05)),
    "right_arm": ((-0.25, -0.25, 0.0), (0.05, 0.30, 0.05)),
    "left_leg": ((0.10, 0.42, 0.0), (0.07, 0.42, 0.07)),
    "right_leg": ((-0.10, 0.42, 0.0), (0.07, 0.42, 0.07)),
}
KEYPOINTS = {
    "nose": (0.0, -0.70, -0.09), "left_eye": (0.04, -0.74, -0.08), "right_eye": (-0.04, -0.74, -0.08),
    "left_ear": (0.09, -0.72, 0.0), "right_ear": (-0.09, -0.72, 0.0),
    "left_shoulder": (0.2, -0.52, 0.0), "right_shoulder": (-0.2, -0.52, 0.0),
    "left_elbow": (0.25, -0.25, 0.0), "right_elbow": (-0.25, -0.25, 0.0),
    "left_wrist": (0.25, 0.02, 0.0), "right_wrist": (-0.25, 0.02, 0.0),
    "left_hip": (0.1, 0.0, 0.0), "right_hip": (-0.1, 0.0, 0.0),
    "left_knee": (0.1, 0.42, 0.0), "right_knee": (-0.1, 0.42, 0.0),
    "left_ankle": (0.1, 0.80, 0.0), "right_ankle": (-0.1, 0.80, 0.0),
}


def person(n: int = 3000, seed: int = 0) -> Gaussians:
    """Gaussians uniformly filling the body-part ellipsoids, coloured per part."""
    rng = np.random.default_rng(seed)
    volumes = np.array([np.prod(axes) for _, axes in PARTS.values()])
    counts = np.maximum(1, np.round(n * volumes / volumes.sum())).astype(int)
    means, colors = [], []
    for (centre, axes), count in zip(PARTS.values(), counts):
        direction = rng.normal(size=(count, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        radius = rng.random(count) ** (1 / 3)
        means.append(np.asarray(centre) + direction * radius[:, None] * np.asarray(axes))
        colors.append(np.clip(rng.random(3) * 0.6 + 0.2 + rng.normal(0, 0.03, (count, 3)), 0, 1))
    means = np.concatenate(means)
    count = means.shape[0]
    return Gaussians(
        means=torch.tensor(means, dtype=torch.float32),
        quats=torch.tensor(rng.normal(size=(count, 4)), dtype=torch.float32),
        scales=torch.full((count, 3), 0.025),
        opacities=torch.full((count,), 0.9),
        colors=torch.tensor(np.concatenate(colors), dtype=torch.float32),
    )


def keypoints() -> tuple[np.ndarray, list[str]]:
    names = list(KEYPOINTS)
    return np.array([KEYPOINTS[n] for n in names]), names


def front_camera(distance: float = 3.0, azimuth_x: float = 0.0):
    eye = (azimuth_x, -0.2, -distance)
    w2c = look_at(eye, (0.0, 0.0, 0.0), UP)
    return make_camera(intrinsics_from_fov(SIZE, SIZE, 50.0), w2c, SIZE, SIZE)


def translation(x: float) -> torch.Tensor:
    T = torch.eye(4)
    T[0, 3] = x
    return T


def walking_frames(cloud: Gaussians, count: int) -> list[FrameInput]:
    points, names = keypoints()
    frames = []
    for t in range(count):
        x = 0.04 * t - 0.2
        frames.append(FrameInput(rigid_transform(cloud, translation(x)), points + [x, 0, 0], names))
    return frames


def background_for_test():
    shipped = list_backgrounds()
    return load_background(shipped[0]) if shipped else ColorBackground((40, 120, 60))


def video_info(path: Path) -> tuple[str, str, str, int, tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        context = stream.codec_context
        return context.name, context.pix_fmt, context.profile, frames, (context.width, context.height)


def test_render_clip_writes_video_mask_and_labels(tmp_path):
    cloud = person()
    frames = walking_frames(cloud, 10)
    camera = front_camera()
    calls = []
    result = render_clip(
        frames, camera, background_for_test(), tmp_path, "walk", width=SIZE, height=SIZE, fps=FPS,
        backend="cpu", ground_plane=(np.array([0.0, 0.85, 0.0]), UP), harmonize=0.3,
        progress=lambda fraction, message: calls.append(fraction),
    )
    assert result.frames == 10 and calls[-1] == 1.0 and len(calls) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.mp4", "walk_labels.npz", "walk_mask.mp4"]

    codec, pix_fmt, _, count, size = video_info(result.video_path)
    assert (codec, pix_fmt, count, size) == ("h264", "yuv420p", 10, (SIZE, SIZE))
    codec, _, profile, count, _ = video_info(result.mask_path)
    assert codec == "h264" and count == 10 and "4:4:4" in profile  # lossless H.264

    labels = load_labels(result.labels_path)
    assert labels.num_frames == 10 and labels.fps == FPS
    assert labels.frames[0].keypoint_names == COCO17
    masks = read_mask_video(result.mask_path)
    assert masks.shape == (10, SIZE, SIZE)
    assert np.abs(masks.astype(int) - labels.stacked("mask").astype(int)).max() <= 2  # lossless: in fact exact
    np.testing.assert_array_equal(masks, labels.stacked("mask"))

    # The mask is the rasterizer's alpha for that frame and camera.
    alpha = rasterize(frames[3].gaussians, camera, backend="cpu").alpha.numpy()
    assert np.abs(masks[3].astype(int) - np.rint(alpha * 255).astype(int)).max() <= 1
    assert (masks[3] > 128).mean() > 0.05  # the person covers a real part of the frame

    # Labels follow the motion: the person walks along +x, which is image right for this camera.
    noses = labels.stacked("keypoints_2d")[:, COCO17.index("nose")]
    assert np.all(np.diff(noses[:, 0]) > 0)
    vis = labels.stacked("visibility")
    assert (vis[:, COCO17.index("nose")] == 2).all()  # in front of the face
    assert (vis > 0).all()  # every keypoint is in the image
    bbox = labels.stacked("bbox")
    assert np.isfinite(bbox).all() and (bbox[:, 3] - bbox[:, 1] > 0.5 * SIZE).all()
    assert labels.meta["name"] == "walk" and labels.meta["background"]["kind"] in ("image", "color")


def test_back_view_labels_occluded_keypoints(tmp_path):
    """From behind, the face keypoints are hidden by the head: visibility 1, not 2."""
    cloud = person()
    points, names = keypoints()
    w2c = look_at((0.0, -0.2, 3.0), (0.0, 0.0, 0.0), UP)
    camera = make_camera(intrinsics_from_fov(SIZE, SIZE, 50.0), w2c, SIZE, SIZE)
    result = render_clip([FrameInput(cloud, points, names)], camera, ColorBackground((0, 0, 0)), tmp_path, "back",
                         width=SIZE, height=SIZE, fps=FPS, backend="cpu")
    vis = dict(zip(COCO17, load_labels(result.labels_path).frames[0].visibility.tolist()))
    assert vis["nose"] == vis["left_eye"] == vis["right_eye"] == 1
    assert vis["left_shoulder"] == vis["left_ankle"] == 2


def test_camera_that_misses_the_subject_raises_and_leaves_nothing(tmp_path):
    cloud = person(n=500)
    away = make_camera(intrinsics_from_fov(SIZE, SIZE, 50.0), look_at((0, 0, -3), (0, 0, -6), UP), SIZE, SIZE)
    with pytest.raises(RenderError, match="does not see the subject.*behind the camera") as info:
        render_clip(walking_frames(cloud, 3), away, ColorBackground((0, 0, 0)), tmp_path, "miss",
                    width=SIZE, height=SIZE, fps=FPS, backend="cpu")
    assert info.value.exit_code == 13
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RenderError, match="No frames"):
        render_clip([], front_camera(), ColorBackground((0, 0, 0)), tmp_path, "none",
                    width=SIZE, height=SIZE, fps=FPS, backend="cpu")
    assert list(tmp_path.iterdir()) == []


def test_failure_midway_leaves_nothing(tmp_path):
    def frames():
        yield from walking_frames(person(n=500), 2)
        raise RuntimeError("motion source failed")

    with pytest.raises(RuntimeError, match="motion source failed"):
        render_clip(frames(), front_camera(), ColorBackground((0, 0, 0)), tmp_path, "broken",
                    width=SIZE, height=SIZE, fps=FPS, backend="cpu")
    assert list(tmp_path.iterdir()) == []


def skinned_scene(tmp_path: Path, frames: int = 8) -> tuple[Path, Path]:
    """A .ply and a transforms .npz: two bones, the left arm (bone 1) swinging forward."""
    cloud = person(n=2000)
    ply = save_gaussians_ply(cloud, tmp_path / "person.ply")
    means = cloud.means.numpy()
    on_arm = (means[:, 0] > 0.19) & (means[:, 1] < 0.06)
    indices = np.stack([np.where(on_arm, 1, 0), np.zeros(len(means), int)], axis=1)
    weights = np.stack([np.ones(len(means)), np.zeros(len(means))], axis=1)
    shoulder = np.array(KEYPOINTS["left_shoulder"])
    bones = np.tile(np.eye(4), (frames, 2, 1, 1))
    points, names = keypoints()
    keypoints_world = np.tile(points, (frames, 1, 1))
    for t in range(frames):
        angle = np.radians(60.0 * t / max(frames - 1, 1))
        c, s = np.cos(angle), np.sin(angle)
        rot = np.array([[1, 0, 0], [0, c, s], [0, -s, c]])  # arm swings towards -z (the camera)
        bones[t, 1, :3, :3] = rot
        bones[t, 1, :3, 3] = shoulder - rot @ shoulder
        for name in ("left_elbow", "left_wrist"):
            keypoints_world[t, names.index(name)] = rot @ (points[names.index(name)] - shoulder) + shoulder
    K = intrinsics_from_fov(160, 120, 55.0)
    w2c = look_at((0.0, -0.2, -3.5), (0.0, 0.0, 0.0), UP)
    npz = tmp_path / "frames.npz"
    np.savez(npz, bone_transforms=bones, bone_indices=indices, bone_weights=weights,
             keypoints_world=keypoints_world, keypoint_names=np.array(names), camera_K=K,
             world_to_camera=w2c, image_size=np.array([160, 120]), fps=np.array(12.0))
    return ply, npz


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "random_people.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_render_end_to_end(tmp_path):
    ply, npz = skinned_scene(tmp_path)
    out = tmp_path / "out" / "swing.mp4"
    done = run_cli("render", "--gaussians", str(ply), "--transforms", str(npz), "--background", "#203040",
                   "--shadow", "-q", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "swing_labels.npz" in done.stdout
    codec, pix_fmt, _, count, size = video_info(out)
    assert (codec, pix_fmt, count, size) == ("h264", "yuv420p", 8, (160, 120))  # the source camera's size
    labels = load_labels(out.with_name("swing_labels.npz"))
    assert labels.num_frames == 8 and labels.fps == 12.0
    assert labels.meta["camera"]["kind"] == "source" and labels.meta["source"]["mode"] == "skinned"
    wrist = labels.stacked("keypoints_3d")[:, COCO17.index("left_wrist")]
    assert wrist[-1, 2] < wrist[0, 2] - 0.2  # the wrist swung towards the camera

    # A static cloud without transforms: one frame by default, from the front.
    still = tmp_path / "still.mp4"
    done = run_cli("render", "--gaussians", str(ply), "--size", "96x64", "--crf", "30", "-q", "-o", str(still))
    assert done.returncode == 0, done.stderr
    assert video_info(still)[3:] == (1, (96, 64))
    still_meta = load_labels(tmp_path / "still_labels.npz").meta
    assert still_meta["camera"]["kind"] == "front"
    assert still_meta["encode"] == {"codec": "h264", "crf": 30}  # --crf reaches the encoder



def test_cli_render_errors_are_exit_codes(tmp_path, capsys):
    """Errors come back as exit codes with a message, and leave no files (in-process: same code path)."""
    ply = save_gaussians_ply(person(n=300), tmp_path / "person.ply")
    assert main(["render", "--gaussians", str(ply), "--camera", "look-at:0,0,-3:0,0,-6", "-q",
                 "-o", str(tmp_path / "miss.mp4")]) == 13
    assert "does not see the subject" in capsys.readouterr().err
    (tmp_path / "bad.ply").write_text("not a ply")
    assert main(["render", "--gaussians", str(tmp_path / "bad.ply"), "-q", "-o", str(tmp_path / "bad.mp4")]) == 12
    assert "not a PLY" in capsys.readouterr().err
    np.savez(tmp_path / "frames.npz", object_to_world=np.eye(4)[None], bone_transforms=np.eye(4)[None, None])
    assert main(["render", "--gaussians", str(ply), "--transforms", str(tmp_path / "frames.npz"), "-q",
                 "-o", str(tmp_path / "both.mp4")]) == 3
    assert "exactly one of bone_transforms" in capsys.readouterr().err
    assert main(["render", "--gaussians", str(ply), "--camera", "sideways", "-q", "-o", str(tmp_path / "x.mp4")]) == 3
    assert "Unknown camera spec" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses it before anything is rendered
        main(["render", "--gaussians", str(ply), "--crf", "60", "-q", "-o", str(tmp_path / "crf.mp4")])
    assert "60 is outside 0 (lossless) to 51" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ply", "frames.npz", "person.ply"]


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({}, "exactly one of bone_transforms"),
        ({"bone_transforms": np.tile(np.eye(4), (2, 1, 1, 1))}, "needs bone_indices and bone_weights"),
        ({"bone_transforms": np.tile(np.eye(4), (2, 1, 1, 1)), "bone_indices": np.zeros((9, 1), int),
          "bone_weights": np.ones((9, 1))}, r"bone_indices must have shape \[10, J\]"),
        ({"bone_transforms": np.tile(np.eye(4), (2, 1, 1, 1)), "bone_indices": np.full((10, 1), 3),
          "bone_weights": np.ones((10, 1))}, r"must lie in \[0, 1\)"),
        ({"bone_transforms": np.tile(np.eye(4), (2, 1, 1, 1)), "bone_indices": np.zeros((10, 1), int),
          "bone_weights": np.zeros((10, 1))}, "all-zero bone_weights"),
        ({"object_to_world": np.full((2, 4, 4), np.nan)}, "NaN or infinite"),
        ({"object_to_world": np.eye(4)}, r"object_to_world must have shape \[T, 4, 4\]"),
        ({"object_to_world": np.zeros((0, 4, 4))}, "0 frames"),
        ({"object_to_world": np.tile(np.eye(4), (2, 1, 1)), "keypoints_world": np.zeros((2, 1, 3))}, "go together"),
        ({"object_to_world": np.tile(np.eye(4), (2, 1, 1)), "keypoints_world": np.zeros((3, 1, 3)),
          "keypoint_names": np.array(["nose"])}, r"keypoints_world must have shape \[T=2, K=1, 3\]"),
        ({"object_to_world": np.tile(np.eye(4), (2, 1, 1)), "camera_K": np.eye(3)}, "needs camera_K, world_to_camera and image_size"),
        ({"object_to_world": np.tile(np.eye(4), (2, 1, 1)), "camera_K": np.eye(3), "image_size": np.array([64, 48]),
          "world_to_camera": np.diag([1.0, 1.0, -1.0, 1.0])}, "must be rigid"),
        ({"object_to_world": np.tile(np.eye(4), (2, 1, 1)), "camera_K": np.tile(np.eye(3), (3, 1, 1)),
          "image_size": np.array([64, 48]), "world_to_camera": np.eye(4)}, "camera_K has 3 frames but the motion has 2"),
        ({"object_to_world": np.tile(np.eye(4), (2, 1, 1)), "version": np.array(7)}, "version 7"),
    ],
)
def test_transforms_file_errors_name_the_array(tmp_path, arrays, message):
    from random_people.render.scene_file import SceneFileError, load_scene_transforms

    path = write_npz(tmp_path / "frames.npz", **arrays)
    with pytest.raises(SceneFileError, match=message) as info:
        load_scene_transforms(path, num_gaussians=10)
    assert info.value.exit_code == 3


def test_scene_cameras(tmp_path):
    """front/orbit/random/look-at all see the subject; random is seeded; orbit 180 sees its back."""
    from random_people.render.scene_file import SceneFileError, scene_cameras

    cloud = person(n=1500)
    nose = np.array(KEYPOINTS["nose"])
    seen = {}
    for spec in ("front", "orbit:180,10,4", "random", "look-at:0,-0.2,-3", "look-at:0,-0.2,-3:0,0,0:40"):
        cameras, meta = scene_cameras(spec, cloud, None, SIZE, SIZE, seed=5)
        assert len(cameras) == 1 and meta["kind"] == spec.split(":")[0]
        alpha = rasterize(cloud, cameras[0], backend="cpu").alpha.numpy()
        assert (alpha > 0.5).mean() > 0.03, spec
        seen[spec] = cameras[0]
    # The nose is on the -z side: nearer than the body centre from the front, farther from behind.
    from random_people.render.cameras import project_points

    head_centre = np.array([0.0, nose[1], 0.0])
    assert project_points(seen["front"], nose)[1] < project_points(seen["front"], head_centre)[1]
    assert project_points(seen["orbit:180,10,4"], nose)[1] > project_points(seen["orbit:180,10,4"], head_centre)[1]
    again, _ = scene_cameras("random", cloud, None, SIZE, SIZE, seed=5)
    torch.testing.assert_close(again[0].world_to_camera, seen["random"].world_to_camera)
    other, _ = scene_cameras("random", cloud, None, SIZE, SIZE, seed=6)
    assert not torch.allclose(other[0].world_to_camera, seen["random"].world_to_camera)
    for bad in ("source", "orbit:1,2", "look-at:1,2", "spin"):
        with pytest.raises(SceneFileError):
            scene_cameras(bad, cloud, None, SIZE, SIZE)


def test_render_scene_file_rigid_with_frames_cap(tmp_path):
    from random_people.render.scene_file import SceneFileError, render_scene_file

    ply = save_gaussians_ply(person(n=800), tmp_path / "p.ply")
    moves = np.tile(np.eye(4), (6, 1, 1))
    moves[:, 0, 3] = np.linspace(-0.3, 0.3, 6)
    npz = write_npz(tmp_path / "moves.npz", object_to_world=moves)
    result = render_scene_file(ply, tmp_path / "o.mp4", transforms_path=npz, frames=4, size=(64, 64),
                               camera="orbit:30,5,4", backend="cpu")
    labels = load_labels(result.labels_path)
    assert result.frames == labels.num_frames == 4 and labels.meta["source"]["mode"] == "rigid"
    assert (labels.stacked("visibility") == 0).all()  # no keypoints in the file: empty slots
    left = labels.stacked("bbox")[:, 0]
    assert np.all(np.diff(left) > 0)  # the cloud moves along +x: image right at azimuth 30
    with pytest.raises(SceneFileError, match="--frames 7"):
        render_scene_file(ply, tmp_path / "o2.mp4", transforms_path=npz, frames=7, backend="cpu")
    with pytest.raises(SceneFileError, match="feet keypoints"):
        render_scene_file(ply, tmp_path / "o3.mp4", transforms_path=npz, shadow=True, backend="cpu")
    with pytest.raises(SceneFileError, match=r"\.mp4"):
        render_scene_file(ply, tmp_path / "o.avi", backend="cpu")
    assert not list(tmp_path.glob("o2*")) and not list(tmp_path.glob("o3*"))


def test_rendered_clip_keeps_thin_detail_that_crf_23_smears(tmp_path):
    """The clip is encoded at RENDER_CRF, recorded in its labels, and a small person's pixels stay
    clearly closer to the lossless render than at the library's preview quality (CRF 23), which
    smeared 2-5 px hands and shoes into grey at our render sizes (README, Realism figures)."""
    from random_people.render.clip import RENDER_CRF
    from random_people.judge.inputs import read_video_frames

    assert RENDER_CRF < 23
    cloud = person(n=4000)
    background = background_for_test()
    size = 96  # a person ~70 px tall: limbs a few pixels wide, as at the realism benchmark's size (a)
    eye = (0.0, -0.2, -3.4)
    camera = make_camera(intrinsics_from_fov(size, size, 50.0), look_at(eye, (0.0, 0.0, 0.0), UP), size, size)
    clips = {}
    for crf in (0, RENDER_CRF, 23):
        result = render_clip(walking_frames(cloud, 6), camera, background, tmp_path, f"crf{crf}", width=size,
                             height=size, fps=FPS, backend="cpu", **({} if crf == RENDER_CRF else {"crf": crf}))
        labels = load_labels(result.labels_path)
        assert labels.meta["encode"] == {"codec": "h264", "crf": crf}
        frames = read_video_frames(result.video_path, range(6))
        clips[crf] = np.stack([frames[i][:size, :size] for i in range(6)]).astype(np.float64)
    person_px = read_mask_video(result.mask_path) > 32
    assert person_px.mean() > 0.05

    def error(crf: int) -> float:
        return float(np.abs(clips[crf] - clips[0])[person_px].mean())

    assert error(RENDER_CRF) < 0.75 * error(23), (error(RENDER_CRF), error(23))
