"""Everything a first start pays for once, done ahead of time: ``random-people setup``.

A fresh install builds Anny's body-model cache (1-5 min on 2 cores, ~0.9 GB under
``~/.cache/anny``) and compiles the CPU rasterizer's Numba kernels (cached beside the module).
Doing both here, with progress, lets a Docker image, a CI run or a user pay once up front
instead of on the first extraction or the first live render.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable

from random_people.settings import Settings, load_settings

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

BODY_MODEL_SHARE = 0.85  # of the whole setup's progress bar; the kernels take the rest


@dataclasses.dataclass(frozen=True)
class SetupReport:
    cache_dir: str
    cache_was_built: bool  # False: this run built it
    body_model_seconds: float
    kernels_seconds: float

    def lines(self) -> list[str]:
        from random_people.body.anny_cache import anny_cache_size_bytes

        state = "was already built" if self.cache_was_built else "built now (once per machine)"
        return [
            f"body model: Anny cache {state}: {self.cache_dir} "
            f"({anny_cache_size_bytes() / 1e9:.2f} GB); loaded in {self.body_model_seconds:.1f} s",
            f"renderer: CPU rasterizer kernels compiled or loaded from Numba's cache in {self.kernels_seconds:.1f} s",
            "ready: extraction, rendering and the app now start without first-run waits",
        ]


def prepare(settings: Settings | None = None, progress: Progress | None = None) -> SetupReport:
    """Build the body-model cache and compile the renderer's kernels; cheap when already done."""
    from random_people.body.anny_cache import anny_cache_built, anny_cache_dir
    from random_people.body.registry import load_body_model

    settings = settings or load_settings()
    report = progress or (lambda fraction, message: None)
    was_built = anny_cache_built()
    report(0.0, "Loading the body model" if was_built else "Building the body-model cache")
    started = time.perf_counter()
    load_body_model(settings, kind="anny",
                    progress=lambda fraction, message: report(BODY_MODEL_SHARE * fraction, message))
    body_seconds = time.perf_counter() - started

    from random_people.render.cpu_backend import warm_up

    report(BODY_MODEL_SHARE, "Compiling the CPU rasterizer kernels")
    kernels_seconds = warm_up()
    report(1.0, "Ready")
    logger.info("Setup done: body model %.1f s, kernels %.1f s", body_seconds, kernels_seconds)
    return SetupReport(str(anny_cache_dir()), was_built, body_seconds, kernels_seconds)


WARM_FRAMES = 2
WARM_LONG_SIDE = 96


def standing_motion(body_model, frames: int = WARM_FRAMES):
    """A tiny valid Motion: the body model standing still 3 m in front of a 640x480 camera.

    Only for warming the render path (avatar build, posing, rasterizer, compositing, encoders)
    without a clip: every array has the shapes a real extraction writes.
    """
    import numpy as np

    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.pose.motion import Motion

    import torch
    from scipy.spatial.transform import Rotation

    bones, keypoints, landmarks = len(body_model.bone_names), len(body_model.keypoint_names), len(MEDIAPIPE_LANDMARKS)
    body = body_model.prepare(body_model.default_shape())
    rest = body.rest_joints.numpy()
    upright_facing_camera = np.array([np.pi / 2, 0.0, 0.0])  # Anny is z-up facing -y; the camera is y-down
    local, _, _ = body_model.identity_pose(frames)
    root = torch.as_tensor(Rotation.from_rotvec(upright_facing_camera).as_matrix(), dtype=local.dtype)
    posed = body_model.pose(body, local, root.expand(frames, 3, 3).clone(),
                            torch.tensor([[0.0, 0.0, 3.0]], dtype=local.dtype).expand(frames, 3).clone())
    joints_3d = posed.joints.detach().numpy()
    keypoints_3d = posed.keypoints.detach().numpy()
    landmarks_2d = np.zeros((frames, landmarks, 2))
    landmarks_2d[..., 0] = 320.0
    landmarks_2d[..., 1] = np.linspace(140.0, 340.0, landmarks)
    motion = Motion(
        fps=30.0, body_model=getattr(body_model, "name", "anny"), bone_names=list(body_model.bone_names),
        bone_parents=np.array(body_model.bone_parents), rest_joints=rest, shape_names=list(body_model.shape_names),
        shape=body_model.default_shape().numpy(), local_rotations=np.zeros((frames, bones, 3)),
        root_rotation=np.tile(upright_facing_camera, (frames, 1)), root_translation=np.tile([0.0, 0.0, 3.0], (frames, 1)),
        joints_3d=joints_3d, keypoint_names=list(body_model.keypoint_names),
        keypoints_3d=keypoints_3d, keypoints_2d=np.zeros((frames, keypoints, 2)),
        landmark_names=list(MEDIAPIPE_LANDMARKS), landmarks_2d=landmarks_2d,
        landmarks_3d=np.zeros((frames, landmarks, 3)), landmark_confidence=np.full((frames, landmarks), 0.9),
        image_size=(640, 480), camera_intrinsics=np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]),
        frame_times=np.arange(frames) / 30.0, fit_error_2d=np.zeros(frames), fit_error_3d=np.zeros(frames),
        quality_flags=np.zeros(frames, dtype=np.uint8), source_name="warm-up",
    )
    motion.validate()
    return motion


def warm_render(settings: Settings | None = None, progress: Progress | None = None) -> float:
    """Pay the first render's one-off costs now: kernels, avatar build, posing, compositing, encoders.

    The first live preview of an app process took 22-46 s against 4.5 s afterwards; what it paid
    for is done here on a 2-frame, 96 px clip of a sampled person, written to a temporary folder
    and deleted. Returns the seconds spent.
    """
    import tempfile

    from random_people.avatar.pipeline import render_motion_clip
    from random_people.avatar.sampler import sample_identity
    from random_people.body.registry import load_body_model
    from random_people.render.cpu_backend import warm_up

    settings = settings or load_settings()
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    report(0.0, "Compiling the renderer's kernels")
    warm_up()
    report(0.3, "A first tiny render (building a person, posing, compositing, encoding)")
    motion = standing_motion(load_body_model(settings))
    with tempfile.TemporaryDirectory(prefix="rp-warm-") as folder:
        render_motion_clip(motion, sample_identity(0, 0), folder, name="warm", background="studio",
                           long_side=WARM_LONG_SIDE, max_frames=WARM_FRAMES,
                           progress=lambda fraction, message: report(0.3 + 0.7 * fraction, message))
    seconds = time.perf_counter() - started
    logger.info("Render path warmed in %.1f s", seconds)
    report(1.0, "Renderer ready")
    return seconds
