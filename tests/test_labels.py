"""Tests for random_people.render.labels: COCO visibility, bbox, masks, the versioned file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from random_people.body.keypoints import COCO17
from random_people.render.labels import (
    LABELS_FORMAT_VERSION,
    ClipLabels,
    LabelsFileError,
    LabelsWriter,
    frame_labels,
    load_labels,
    save_labels,
)
from random_people.render.types import Camera, RenderOutput

W, H, F = 64, 48, 100.0


def camera(tx: float = 0.0) -> Camera:
    w2c = torch.eye(4)
    w2c[0, 3] = tx
    K = torch.tensor([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1]])
    return Camera(K=K, world_to_camera=w2c, width=W, height=H)


def blob_render(depth: float = 2.0) -> RenderOutput:
    """An opaque square blob at ``depth`` covering columns 20..43, rows 12..35."""
    alpha = torch.zeros(H, W)
    alpha[12:36, 20:44] = 1.0
    alpha[12:36, 19] = 0.3  # a soft edge: in the mask, not in the bbox
    depth_map = torch.where(alpha > 0, torch.tensor(depth), torch.tensor(0.0))
    return RenderOutput(rgb=alpha[..., None].repeat(1, 1, 3), alpha=alpha, depth=depth_map)


KEYPOINTS = {
    "nose": (0.0, 0.0, 3.0),  # centre, a metre behind the blob -> occluded
    "left_eye": (0.0, 0.0, 2.1),  # just behind the blob's surface, within the tolerance -> visible
    "right_eye": (10.0, 0.0, 2.0),  # far right of the image -> outside
    "left_ear": (0.0, 0.0, -1.0),  # behind the camera -> outside
    "right_ear": (-0.8, 0.0, 4.0),  # in the image, nothing in front -> visible
    "left_shoulder": (np.nan, 0.0, 2.0),  # unknown position -> 0
    "not_a_coco_name": (0.0, 0.0, 2.0),  # ignored
}


def labels_for(render: RenderOutput, cam: Camera | None = None):
    names = list(KEYPOINTS)
    points = torch.tensor([KEYPOINTS[n] for n in names], dtype=torch.float32)
    return frame_labels(cam or camera(), render, points, names)


def test_visibility_follows_coco_convention():
    labels = labels_for(blob_render())
    vis = dict(zip(labels.keypoint_names, labels.visibility.tolist()))
    assert labels.keypoint_names == COCO17
    assert vis["nose"] == 1
    assert vis["left_eye"] == 2
    assert vis["right_eye"] == 0
    assert vis["left_ear"] == 0
    assert vis["right_ear"] == 2
    assert vis["left_shoulder"] == 0
    assert all(vis[name] == 0 for name in COCO17[5:])
    nose = COCO17.index("nose")
    np.testing.assert_allclose(labels.keypoints_2d[nose], [W / 2, H / 2])
    np.testing.assert_allclose(labels.keypoints_3d[nose], KEYPOINTS["nose"])
    right_ear = COCO17.index("right_ear")
    np.testing.assert_allclose(labels.keypoints_2d[right_ear], [W / 2 - 20, H / 2])
    assert np.isnan(labels.keypoints_2d[COCO17.index("left_ear")]).all()  # behind the camera: no pixel
    assert np.isnan(labels.keypoints_2d[COCO17.index("left_hip")]).all()
    # The same blob moved far away (behind every keypoint) occludes nothing.
    assert (labels_for(blob_render(depth=50.0)).visibility != 1).all()


def test_camera_extrinsics_mask_and_bbox():
    cam = camera(tx=0.5)  # world shifted right by half a metre in the camera frame
    labels = labels_for(blob_render(), cam)
    nose = COCO17.index("nose")
    np.testing.assert_allclose(labels.keypoints_3d[nose], [0.5, 0.0, 3.0])
    np.testing.assert_allclose(labels.keypoints_2d[nose], [W / 2 + F * 0.5 / 3.0, H / 2], rtol=1e-6)
    np.testing.assert_array_equal(labels.world_to_camera, cam.world_to_camera.numpy())
    np.testing.assert_array_equal(labels.K, cam.K.numpy())
    assert labels.mask.dtype == np.uint8 and labels.mask.shape == (H, W)
    assert labels.mask[20, 30] == 255 and labels.mask[20, 19] == 77 and labels.mask[0, 0] == 0
    np.testing.assert_array_equal(labels.bbox, [20, 12, 44, 36])
    empty = RenderOutput(rgb=torch.zeros(H, W, 3), alpha=torch.zeros(H, W), depth=torch.zeros(H, W))
    assert np.isnan(labels_for(empty).bbox).all()


def test_no_keypoints_gives_empty_slots():
    labels = frame_labels(camera(), blob_render(), None)
    assert labels.visibility.shape == (17,) and (labels.visibility == 0).all()
    assert np.isnan(labels.keypoints_2d).all() and np.isnan(labels.keypoints_3d).all()
    with pytest.raises(ValueError, match="shape"):
        frame_labels(camera(), blob_render(), torch.zeros(3, 3), ["nose", "left_eye"])


def test_labels_round_trip(tmp_path):
    frames = [labels_for(blob_render(depth=d), camera(tx=0.1 * i)) for i, d in enumerate([2.0, 2.5, 50.0])]
    clip = ClipLabels(frames=frames, fps=25.0, meta={"name": "clip", "background": {"kind": "color"}})
    path = save_labels(clip, tmp_path / "clip_labels.npz")
    back = load_labels(path)
    assert back.num_frames == 3 and back.fps == 25.0 and back.version == LABELS_FORMAT_VERSION
    assert back.meta == clip.meta
    for name in ("keypoints_2d", "visibility", "keypoints_3d", "mask", "K", "world_to_camera", "bbox"):
        np.testing.assert_array_equal(back.stacked(name), clip.stacked(name))
        assert back.stacked(name).dtype == clip.stacked(name).dtype
    with np.load(path) as data:  # plain numpy reads every field, names as strings
        assert data["keypoint_names"].tolist() == list(COCO17)
        assert data["mask"].shape == (3, H, W) and data["image_size"].tolist() == [W, H]
    assert [p.name for p in tmp_path.iterdir()] == ["clip_labels.npz"]  # no temp files left


def test_version_and_corrupt_files_are_refused(tmp_path):
    clip = ClipLabels(frames=[labels_for(blob_render())], fps=30.0)
    path = save_labels(clip, tmp_path / "a.npz")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["version"] = np.array(LABELS_FORMAT_VERSION + 1)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(LabelsFileError, match="version 2"):
        load_labels(tmp_path / "future.npz")
    del arrays["bbox"]
    arrays["version"] = np.array(LABELS_FORMAT_VERSION)
    np.savez(tmp_path / "partial.npz", **arrays)
    with pytest.raises(LabelsFileError, match="bbox"):
        load_labels(tmp_path / "partial.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(LabelsFileError, match="not a readable"):
        load_labels(tmp_path / "text.npz")
    with pytest.raises(LabelsFileError, match="not found"):
        load_labels(tmp_path / "missing.npz")


def test_writer_is_atomic(tmp_path):
    with pytest.raises(ValueError, match="No frames"):
        with LabelsWriter(tmp_path / "empty.npz", fps=30):
            pass
    with pytest.raises(RuntimeError, match="boom"):
        with LabelsWriter(tmp_path / "failed.npz", fps=30) as writer:
            writer.add(labels_for(blob_render()))
            raise RuntimeError("boom")
    other = frame_labels(camera(), blob_render(), None, label_names=("nose",))
    with pytest.raises(ValueError, match="must agree"):
        with LabelsWriter(tmp_path / "mixed.npz", fps=30) as writer:
            writer.add(labels_for(blob_render()))
            writer.add(other)
    assert list(tmp_path.iterdir()) == []


def test_rasterized_blob_occludes_a_keypoint_behind_it():
    """The same rules on a real render: an opaque ball of Gaussians at 2 m hides a point at 3 m."""
    from random_people.render.rasterize import rasterize
    from random_people.render.types import Gaussians

    gen = torch.Generator().manual_seed(0)
    n = 800
    direction = torch.nn.functional.normalize(torch.randn(n, 3, generator=gen), dim=1)
    means = direction * 0.25 * torch.rand(n, 1, generator=gen) ** (1 / 3) + torch.tensor([0.0, 0.0, 2.0])
    blob = Gaussians(means=means, quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), scales=torch.full((n, 3), 0.04),
                     opacities=torch.full((n,), 0.95), colors=torch.rand(n, 3, generator=gen))
    cam = camera()
    render = rasterize(blob, cam, backend="cpu", with_extras=False)
    points = {"nose": (0.0, 0.0, 3.0), "left_eye": (0.0, 0.0, 1.5), "right_eye": (0.05, 0.0, 1.85),
              "left_ear": (0.0, 0.0, -2.0), "right_ear": (-0.9, 0.0, 3.0), "left_hip": (3.0, 0.0, 2.0)}
    labels = frame_labels(cam, render, torch.tensor(list(points.values())), list(points))
    vis = dict(zip(labels.keypoint_names, labels.visibility.tolist()))
    assert vis["nose"] == 1  # a metre behind the ball
    assert vis["left_eye"] == 2  # in front of it
    assert vis["right_eye"] == 2  # inside the ball, within the tolerance of its front surface
    assert vis["left_ear"] == 0  # behind the camera
    assert vis["right_ear"] == 2  # beside the ball, nothing in front
    assert vis["left_hip"] == 0  # outside the image
    assert labels.mask[H // 2, W // 2] > 240 and labels.mask[0, 0] == 0
