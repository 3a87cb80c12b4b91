"""Per-frame body landmarks from MediaPipe Pose (0.10.21, the "full" model shipped in its wheel).

MediaPipe runs in video mode (tracking between frames) and gives, per frame, 33 image landmarks
with visibility and 33 metric "world" landmarks (hip-centred, camera-aligned axes, metres).
Frames where nobody is found are kept as NaN with ``detected=False`` so later stages can fill
and flag them instead of silently dropping time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from random_people.body.keypoints import MEDIAPIPE_LANDMARKS

logger = logging.getLogger(__name__)

NUM_LANDMARKS = len(MEDIAPIPE_LANDMARKS)


@dataclass
class LandmarkTrack:
    """Raw detector output for a clip. T frames, L = 33 landmarks."""

    fps: float
    image_size: tuple[int, int]  # (width, height) of the source frames
    frame_indices: np.ndarray  # [T] int, index in the source clip
    frame_times: np.ndarray  # [T] seconds
    image_xy: np.ndarray  # [T, L, 2] pixels in the source resolution, NaN where not detected
    visibility: np.ndarray  # [T, L] in [0, 1], 0 where not detected
    world: np.ndarray  # [T, L, 3] metres, NaN where not detected
    detected: np.ndarray  # [T] bool

    @property
    def num_frames(self) -> int:
        return len(self.frame_indices)

    @property
    def detected_ratio(self) -> float:
        return float(self.detected.mean()) if self.num_frames else 0.0


class PoseDetector:
    """MediaPipe Pose in video mode; one instance per clip (it tracks across frames).

    ``landmark_model``: the path of another pose landmark model file than the bundled full one
    (the accuracy benchmark's reference runs MediaPipe's heavy model; extraction never does)."""

    def __init__(self, max_side: int = 640, smooth_landmarks: bool = True,
                 landmark_model: str | Path | None = None) -> None:
        import mediapipe as mp

        self.max_side = max_side
        if landmark_model is not None:
            self._pose = _pose_with_landmark_model(Path(landmark_model), smooth_landmarks)
            return
        # model_complexity=1 is the only pose model shipped inside the 0.10.21 wheel; the others
        # would be downloaded at run time, which we never do.
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "PoseDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect(
        self, rgb: np.ndarray, image_size: tuple[int, int] | None = None,
        region: tuple[int, int, int, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(image_xy [L,2], visibility [L], world [L,3]) or None if nobody is found.

        ``image_xy`` is in pixels of ``image_size`` (width, height) — the source resolution when
        ``rgb`` was decoded downscaled — or of ``rgb`` itself. With ``region`` (x0, y0, x1, y1 in
        ``rgb`` pixels) only that crop is searched: how one chosen person is followed.
        """
        import cv2

        height, width = rgb.shape[:2]
        out_width, out_height = image_size or (width, height)
        x0, y0, x1, y1 = region or (0, 0, width, height)
        crop = rgb[y0:y1, x0:x1]
        crop_height, crop_width = crop.shape[:2]
        scale = min(1.0, self.max_side / max(crop_height, crop_width))
        small = crop if scale >= 1.0 else cv2.resize(
            crop, (max(1, round(crop_width * scale)), max(1, round(crop_height * scale))), interpolation=cv2.INTER_AREA
        )
        result = self._pose.process(np.ascontiguousarray(small))
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return None
        image = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=np.float32)
        xy = (image[:, :2] * np.array([crop_width, crop_height], dtype=np.float32) + np.array([x0, y0], dtype=np.float32))
        xy *= np.array([out_width / width, out_height / height], dtype=np.float32)
        return xy, np.clip(image[:, 2], 0.0, 1.0), world


# The node of MediaPipe 0.10.21's pose graph that names the heavy landmark model's file
# (model_complexity=2 selects it), relative to the mediapipe package unless absolute.
_HEAVY_MODEL_NODE = "poselandmarkbyroicpu__poselandmarkmodelloader__switchcontainer__ConstantSidePacketCalculator_3"


def _pose_with_landmark_model(path: Path, smooth_landmarks: bool):
    """MediaPipe Pose (video mode, same thresholds as the product's) running the landmark model
    at ``path`` instead of the bundled full one: the same graph with model_complexity=2, whose
    model path is set to ``path`` (MediaPipe resolves an absolute path as it is). Nothing is
    written into the installed package and nothing is downloaded: ``mp.solutions.pose.Pose`` with
    model_complexity=2 would fetch the heavy model into site-packages, so its constructor is
    bypassed and the graph built with the same arguments.

    Used only by the accuracy benchmark's reference (the heavy model from the ``@mediapipe/pose``
    npm package, see ``tests/conftest.py: fetch_pose_landmark_heavy``); extraction ships the full
    model. Tied to mediapipe 0.10.21's graph: another version that renames the node fails here
    with mediapipe's "Not all calculator params are valid"."""
    from mediapipe.calculators.core import constant_side_packet_calculator_pb2
    from mediapipe.python import solution_base
    from mediapipe.python.solutions import pose as mp_pose

    path = path.resolve()
    if not path.is_file():
        raise FileNotFoundError(f"Pose landmark model {path} does not exist; give the path of a MediaPipe pose "
                                "landmark .tflite file (e.g. pose_landmark_heavy.tflite).")
    packet = constant_side_packet_calculator_pb2.ConstantSidePacketCalculatorOptions.ConstantSidePacket
    pose = mp_pose.Pose.__new__(mp_pose.Pose)
    solution_base.SolutionBase.__init__(
        pose,
        binary_graph_path=mp_pose._BINARYPB_FILE_PATH,
        side_inputs={"model_complexity": 2, "smooth_landmarks": smooth_landmarks, "enable_segmentation": False,
                     "smooth_segmentation": True, "use_prev_landmarks": True},
        calculator_params={
            "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": 0.5,
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold": 0.5,
            f"{_HEAVY_MODEL_NODE}.packet": [packet(string_value=str(path))],
        },
        outputs=["pose_landmarks", "pose_world_landmarks", "segmentation_mask"])
    return pose


def follow_region(
    xy: np.ndarray, visibility: np.ndarray, frame_size: tuple[int, int], margin: float = 0.2
) -> tuple[int, int, int, int]:
    """Crop (x0, y0, x1, y1) around a person's landmarks ``xy`` (frame pixels), padded by
    ``margin`` of their height on each side so a limb moving fast stays inside next frame, and
    tight enough that a person standing beside them mostly stays out."""
    from random_people.pose.people import box_from_landmarks

    width, height = frame_size
    bx0, by0, bx1, by1 = box_from_landmarks(xy, visibility)
    size = max(by1 - by0, bx1 - bx0, 0.05 * max(width, height))
    pad = margin * size
    x0, x1 = int(max(0, bx0 - pad)), int(min(width, bx1 + pad))
    y0, y1 = int(max(0, by0 - pad)), int(min(height, by1 + pad))
    return x0, y0, max(x1, x0 + 8), max(y1, y0 + 8)


def detect_landmarks(
    frames: Iterable,  # of random_people.media.Frame
    fps: float,
    image_size: tuple[int, int],
    expected_frames: int | None = None,
    max_side: int = 640,
    progress: Callable[[int], None] | None = None,
    follow: np.ndarray | None = None,
    smooth_landmarks: bool = True,
    others: list[np.ndarray] | None = None,
    landmark_model: str | Path | None = None,
) -> LandmarkTrack:
    """Run the detector over ``frames``; ``progress(n_done)`` is called after each frame.

    With ``follow`` ([33, 2] landmarks of the chosen person in source pixels, from
    :func:`random_people.pose.people.list_people`), each frame is searched only in a crop around
    where that person was last seen. A person lost for a while is searched for in a growing crop
    around their last place. ``others`` ([33, 2] landmarks of the other people in the first frame,
    source pixels) are followed too, each with their own detector, and painted out of the chosen
    person's crop every frame; a detection that is somebody else, or jumped away from where the
    person was, is refused and that detector restarted (:func:`random_people.pose.tracking.follow_people`).
    """
    indices, times, xys, vis, worlds, found = [], [], [], [], [], []
    nan_xy = np.full((NUM_LANDMARKS, 2), np.nan, dtype=np.float32)
    nan_world = np.full((NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
    zero_vis = np.zeros(NUM_LANDMARKS, dtype=np.float32)
    count = 0

    def record(frame, detection) -> None:
        nonlocal count
        count += 1
        indices.append(frame.index)
        times.append(frame.time)
        if detection is None:
            xys.append(nan_xy), vis.append(zero_vis), worlds.append(nan_world), found.append(False)
        else:
            xy, visibility, world = detection
            xys.append(xy), vis.append(visibility), worlds.append(world), found.append(True)
        if progress is not None:
            progress(count)

    if follow is not None:
        # Everybody in the first frame is followed, so the chosen person's crop cannot take them.
        from random_people.pose.tracking import follow_people

        follow_people(frames, image_size, follow, [np.asarray(o, np.float32) for o in others or []],
                      lambda: PoseDetector(max_side=max_side, smooth_landmarks=smooth_landmarks,
                                           landmark_model=landmark_model), fps, record)
    else:
        with PoseDetector(max_side=max_side, smooth_landmarks=smooth_landmarks,
                          landmark_model=landmark_model) as detector:
            for frame in frames:
                record(frame, detector.detect(frame.rgb, image_size))
    track = LandmarkTrack(
        fps=fps,
        image_size=image_size,
        frame_indices=np.asarray(indices, dtype=np.int64),
        frame_times=np.asarray(times, dtype=np.float64),
        image_xy=np.stack(xys) if xys else np.zeros((0, NUM_LANDMARKS, 2), np.float32),
        visibility=np.stack(vis) if vis else np.zeros((0, NUM_LANDMARKS), np.float32),
        world=np.stack(worlds) if worlds else np.zeros((0, NUM_LANDMARKS, 3), np.float32),
        detected=np.asarray(found, dtype=bool),
    )
    logger.info("Detected a person in %d of %d frames", int(track.detected.sum()), track.num_frames)
    return track
