"""The judge: its arithmetic on constructed inputs, and its detectors on the real demo clip."""

from __future__ import annotations

import numpy as np
import pytest

from random_people.body.keypoints import COCO17, MEDIAPIPE_LANDMARKS
from random_people.judge.detectors import PoseDetection
from random_people.judge.inputs import frame_subset
from random_people.judge.keypoints import LIMB_INDICES, LIMB_JOINTS, MEDIAPIPE_TO_COCO17, mediapipe_to_coco17
from random_people.judge.metrics import PckCounts, is_cut_off, mask_iou, pck_counts
from random_people.judge.score import ClipScore, pool, score_frame


def _person(box_height: float = 200.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCO-17 keypoints spread over a box, all limb joints counted, and the box."""
    rng = np.random.default_rng(0)
    keypoints = np.column_stack([rng.uniform(100, 160, 17), rng.uniform(50, 50 + box_height, 17)])
    counted = np.zeros(17, dtype=bool)
    counted[LIMB_INDICES] = True
    box = np.array([90.0, 50.0, 170.0, 50.0 + box_height])
    return keypoints, counted, box


# -- keypoints -----------------------------------------------------------------------------------


def test_mediapipe_mapping_keeps_names():
    picked = [MEDIAPIPE_LANDMARKS[i] for i in MEDIAPIPE_TO_COCO17]
    assert picked == list(COCO17)
    landmarks = np.arange(33 * 2, dtype=float).reshape(33, 2)
    assert np.array_equal(mediapipe_to_coco17(landmarks)[COCO17.index("left_wrist")],
                          landmarks[MEDIAPIPE_LANDMARKS.index("left_wrist")])
    assert len(LIMB_JOINTS) == 12 and "nose" not in LIMB_JOINTS


# -- PCK -------------------------------------------------------------------------------------------


def test_pck_is_one_when_detections_equal_labels():
    truth, counted, box = _person()
    counts = pck_counts(truth.copy(), truth, counted, box[3] - box[1])
    assert counts == PckCounts(12, 12) and counts.value == 1.0


def test_pck_is_zero_when_shifted_by_twenty_percent_of_box_height():
    truth, counted, box = _person(box_height=200.0)
    shifted = truth + np.array([0.0, 0.2 * 200.0])
    assert pck_counts(shifted, truth, counted, 200.0).value == 0.0
    diagonal = truth + 0.2 * 200.0 / np.sqrt(2)  # distance, not a per-axis test
    assert pck_counts(diagonal, truth, counted, 200.0).value == 0.0


def test_pck_threshold_is_ten_percent_of_box_height():
    truth, counted, box = _person(box_height=200.0)
    within = truth + np.array([19.0, 0.0])
    beyond = truth + np.array([21.0, 0.0])
    assert pck_counts(within, truth, counted, 200.0).value == 1.0
    assert pck_counts(beyond, truth, counted, 200.0).value == 0.0
    half = truth.copy()
    half[LIMB_INDICES[:6]] += 50.0
    assert pck_counts(half, truth, counted, 200.0).value == 0.5


def test_pck_counts_a_missed_person_as_wrong_and_ignores_uncounted_joints():
    truth, counted, _ = _person()
    assert pck_counts(None, truth, counted, 200.0) == PckCounts(0, 12)
    face_only = np.zeros(17, dtype=bool)
    face_only[0] = True
    wrong_face = truth.copy()
    wrong_face[1:] += 1000.0
    assert pck_counts(wrong_face, truth, face_only, 200.0).value == 1.0
    assert pck_counts(truth, truth, counted, float("nan")) == PckCounts()
    nan_prediction = truth.copy()
    nan_prediction[LIMB_INDICES[0]] = np.nan
    assert pck_counts(nan_prediction, truth, counted, 200.0) == PckCounts(11, 12)


def test_pooled_pck_counts_joints_not_clips():
    truth, counted, box = _person()
    good = ClipScore(frames=[score_frame(0, None, truth, counted, box, (640, 480))])
    detection = PoseDetection(landmarks=np.zeros((33, 2)), landmark_visibility=np.ones(33))
    perfect = np.zeros((33, 2))
    perfect[MEDIAPIPE_TO_COCO17] = truth
    found = PoseDetection(landmarks=perfect, landmark_visibility=np.ones(33))
    both = pool([good, ClipScore(frames=[score_frame(1, found, truth, counted, box, (640, 480)),
                                         score_frame(2, found, truth, counted, box, (640, 480))])])
    assert both.pck == pytest.approx(2 / 3)
    assert both.pck_detected == 1.0
    assert both.detection_rate == pytest.approx(2 / 3)
    assert score_frame(3, detection, truth, counted, box, (640, 480)).pck.value == 0.0


# -- masks and edges -----------------------------------------------------------------------------------


def test_mask_iou():
    a = np.zeros((10, 10), dtype=bool)
    a[:, :5] = True
    assert mask_iou(a, a) == 1.0
    assert mask_iou(a, ~a) == 0.0
    b = np.zeros_like(a)
    b[:, 2:7] = True  # overlap 3 columns, union 7
    assert mask_iou(a, b) == pytest.approx(3 / 7)
    assert mask_iou(np.zeros_like(a), np.zeros_like(a)) is None
    with pytest.raises(ValueError, match="differ in size"):
        mask_iou(a, np.zeros((5, 5), dtype=bool))


def test_score_frame_thresholds_probabilities_and_uint8_masks():
    truth, counted, box = _person()
    truth_mask = np.zeros((480, 640), dtype=np.uint8)
    truth_mask[50:250, 90:170] = 255
    probability = (truth_mask / 255.0).astype(np.float32) * 0.9
    verdict = score_frame(0, None, truth, counted, box, (640, 480), segmentation=probability, truth_mask=truth_mask)
    assert verdict.mask_iou == 1.0
    verdict = score_frame(0, None, truth, counted, box, (640, 480), segmentation=probability * 0.5,
                          truth_mask=truth_mask)
    assert verdict.mask_iou == 0.0  # the segmenter saw nobody where the person is


def test_cut_off():
    assert not is_cut_off(np.array([10, 10, 100, 200]), 640, 480)
    assert is_cut_off(np.array([0, 10, 100, 200]), 640, 480)
    assert is_cut_off(np.array([10, 10, 100, 480]), 640, 480)
    assert is_cut_off(np.array([10, 10, 640, 200]), 640, 480)
    assert not is_cut_off(np.full(4, np.nan), 640, 480)


def test_frame_subset():
    assert frame_subset(10, every=3) == [0, 3, 6, 9]
    assert frame_subset(100, max_frames=5) == [0, 25, 50, 74, 99]
    assert frame_subset(3, max_frames=10) == [0, 1, 2]
    assert frame_subset(100, max_frames=5, contiguous=True) == [47, 48, 49, 50, 51]
    assert frame_subset(10, every=2, max_frames=2, contiguous=True) == [2, 4]
    with pytest.raises(ValueError):
        frame_subset(10, every=0)


# -- the detectors on a real person ------------------------------------------------------------------

DEMO_SIZE = (512, 288)


@pytest.fixture(scope="module")
def demo_frames(demo_clip):
    """Frames 0.3-0.8 s of the Sports2D demo (the man on the roof, jumping jacks) at full size."""
    from random_people.media import read_frames

    return [frame.rgb for frame in read_frames(demo_clip, start=0.3, end=0.8)][::3]


def test_pose_judge_finds_the_real_man_on_the_roof(demo_frames):
    from random_people.judge.detectors import PoseJudge

    with PoseJudge(mode="video") as judge:
        detections = [judge.detect(frame) for frame in demo_frames]
    assert all(d is not None for d in detections)
    height, width = demo_frames[0].shape[:2]
    for detection in detections:
        shoulders = detection.keypoints[[COCO17.index("left_shoulder"), COCO17.index("right_shoulder")]]
        ankles = detection.keypoints[[COCO17.index("left_ankle"), COCO17.index("right_ankle")]]
        # He stands on the roof of the hut, left of centre, in the upper half of the picture.
        assert np.all((shoulders[:, 0] > 0.25 * width) & (shoulders[:, 0] < 0.5 * width))
        assert np.all(shoulders[:, 1] < 0.3 * height) and np.all(ankles[:, 1] < 0.55 * height)
        assert np.all(ankles[:, 1] > shoulders[:, 1] + 0.1 * height)  # upright: feet well below shoulders


def _write_clip(tmp_path, frames, keypoints, masks, boxes=None):
    """A clip of real frames with constructed labels and mask video, as render_clip lays them out."""
    from random_people.media import VideoWriter
    from random_people.render.clip import MaskVideoWriter
    from random_people.render.labels import FrameLabels, LabelsWriter, bbox_from_mask

    width, height = DEMO_SIZE
    video, mask_video, labels = tmp_path / "c.mp4", tmp_path / "c_mask.mp4", tmp_path / "c_labels.npz"
    with VideoWriter(video, 10, width, height) as writer:
        for frame in frames:
            writer.write(frame)
    masks_out = MaskVideoWriter(mask_video, 10, width, height)
    with LabelsWriter(labels, 10) as writer:
        for i, (points, mask) in enumerate(zip(keypoints, masks)):
            masks_out.write(mask)
            writer.add(FrameLabels(
                keypoint_names=COCO17, keypoints_2d=points.astype(np.float32),
                visibility=np.full(17, 2, dtype=np.uint8), keypoints_3d=np.full((17, 3), np.nan, np.float32),
                mask=mask, K=np.eye(3, dtype=np.float32), world_to_camera=np.eye(4, dtype=np.float32),
                bbox=bbox_from_mask(mask) if boxes is None else np.asarray(boxes[i], np.float32),
            ))
    masks_out.close()
    return video, labels, mask_video


def test_score_clip_end_to_end_on_real_frames(tmp_path, demo_frames):
    """Labels equal to what the detector sees score 1.0; shifted by 30% of the box they score 0."""
    import cv2

    from random_people.judge import Judge, score_clip
    from random_people.judge.detectors import PoseJudge, SegmentationJudge
    from random_people.judge.inputs import read_video_frames

    # The man cropped out of the wide shot (he is ~25% of its height; at 512x288 the detector loses him).
    small = [cv2.resize(f[0:562, 140:1140], DEMO_SIZE, interpolation=cv2.INTER_AREA) for f in demo_frames]
    # What the judge will decode (the clip is lossy H.264), to build labels that match it exactly.
    first, _, _ = _write_clip(tmp_path, small, [np.zeros((17, 2))] * len(small),
                              [np.zeros(DEMO_SIZE[::-1], np.uint8)] * len(small))
    decoded = read_video_frames(first, range(len(small)))
    with PoseJudge(mode="video") as pose, SegmentationJudge() as segmenter:
        detections = [pose.detect(decoded[i]) for i in range(len(small))]
        masks = [np.where(segmenter.segment(decoded[i]) >= 0.5, 255, 0).astype(np.uint8) for i in range(len(small))]
    assert all(d is not None for d in detections)
    keypoints = [d.keypoints for d in detections]
    # Masks are the segmenter's own; the labels' box (its height sets PCK's threshold) surrounds the keypoints.
    boxes = [np.array([p[:, 0].min() - 10, p[:, 1].min() - 10, p[:, 0].max() + 10, p[:, 1].max() + 10])
             for p in keypoints]
    exact_dir, shifted_dir = tmp_path / "exact", tmp_path / "shifted"
    exact_dir.mkdir(), shifted_dir.mkdir()
    video, labels, mask_video = _write_clip(exact_dir, small, keypoints, masks, boxes)
    with Judge(mode="video") as judge:
        exact = judge.score_clip(video, labels, mask_video)
        again = judge.score_clip(video, labels, mask_video)  # the instance is reusable: a fresh track per clip
    assert exact.num_frames == len(small) and exact.detection_rate == 1.0
    assert exact.pck == 1.0 and exact.pck_counts.total == 12 * len(small)
    assert again.pck == 1.0
    assert exact.mask_iou == pytest.approx(1.0)  # the same decoded pixels through the same model
    shifted = [points + np.array([0.0, 0.3 * (box[3] - box[1])]) for points, box in zip(keypoints, boxes)]
    video, labels, mask_video = _write_clip(shifted_dir, small, shifted, masks, boxes)
    moved = score_clip(video, labels, mask_video, frames=[0, 2])
    assert moved.num_frames == 2 and moved.detection_rate == 1.0 and moved.pck == 0.0


def test_masks_from_the_labels_file_equal_the_mask_video(tmp_path, demo_frames):
    """Without a mask video the judge streams masks out of the labels file: the same masks."""
    from random_people.judge.inputs import read_label_masks, read_mask_frames

    rng = np.random.default_rng(1)
    masks = [(rng.random((288, 512)) > 0.5).astype(np.uint8) * 255 for _ in range(3)]
    _, labels, mask_video = _write_clip(tmp_path, [np.zeros((288, 512, 3), np.uint8)] * 3,
                                        [np.zeros((17, 2))] * 3, masks)
    from_labels = read_label_masks(labels, [0, 2])
    from_video = read_mask_frames(mask_video, [0, 2])
    assert sorted(from_labels) == [0, 2]
    for i in (0, 2):
        assert np.array_equal(from_labels[i], masks[i]) and np.array_equal(from_video[i], masks[i])


def test_score_clip_refuses_mismatched_inputs(tmp_path, demo_frames):
    from random_people.errors import InvalidInputError
    from random_people.judge import score_clip
    from random_people.render.labels import LabelsFileError

    with pytest.raises(LabelsFileError, match="not found"):
        score_clip(tmp_path / "clip.mp4", tmp_path / "missing_labels.npz")
    not_npz = tmp_path / "bad_labels.npz"
    not_npz.write_text("hello")
    with pytest.raises(LabelsFileError, match="not a readable labels"):
        score_clip(tmp_path / "clip.mp4", not_npz)
    import cv2

    small = [cv2.resize(f, DEMO_SIZE, interpolation=cv2.INTER_AREA) for f in demo_frames]
    video, labels, _ = _write_clip(tmp_path, small[:2], [np.zeros((17, 2))] * 2, [np.zeros((288, 512), np.uint8)] * 2)
    other = tmp_path / "other"
    other.mkdir()
    _, long_labels, _ = _write_clip(other, small, [np.zeros((17, 2))] * len(small),
                                    [np.zeros((288, 512), np.uint8)] * len(small))
    with pytest.raises(InvalidInputError, match="fewer frames than its labels"):
        score_clip(video, long_labels)


def test_real_reference_at_full_size_matches_itself(demo_clip):
    """At the source's own size the scaled-down detector sees the same pixels: PCK must be 1."""
    from random_people.judge.reference import score_real_reference

    score, kept = score_real_reference(demo_clip, (1768, 994), start=0.3, end=0.6, every=2, keep_frames={0})
    assert score.num_frames >= 3 and score.detection_rate == 1.0 and score.pck == 1.0
    assert kept[0].shape == (994, 1768, 3)
    small, _ = score_real_reference(demo_clip, DEMO_SIZE, start=0.3, end=0.6, every=2)
    assert small.num_frames == score.num_frames and small.pck_counts.total > 0


def test_left_right_swap_is_diagnosed():
    from random_people.judge.keypoints import MIRROR_COCO17

    truth, counted, box = _person()
    mirrored = truth[MIRROR_COCO17]
    landmarks = np.zeros((33, 2))
    landmarks[MEDIAPIPE_TO_COCO17] = mirrored
    found = PoseDetection(landmarks=landmarks, landmark_visibility=np.ones(33))
    verdict = score_frame(0, found, truth, counted, box, (640, 480))
    assert verdict.pck.value < 0.5 and verdict.pck_either_side.value == 1.0 and verdict.sides_swapped
    clip = ClipScore(frames=[verdict, score_frame(1, None, truth, counted, box, (640, 480))])
    assert clip.swap_rate == 1.0 and clip.pck_either_side == 0.5


# -- the segmenter on a crop around the detected person ----------------------------------------------


def test_person_crop_box_is_a_square_around_the_detected_landmarks_inside_the_image():
    from random_people.judge.detectors import CROP_MARGIN, person_crop_box

    landmarks = np.zeros((33, 2))
    landmarks[:, 0] = np.linspace(300, 340, 33)  # a person 40 px wide, 100 px tall
    landmarks[:, 1] = np.linspace(100, 200, 33)
    found = PoseDetection(landmarks=landmarks, landmark_visibility=np.ones(33))
    x0, y0, x1, y1 = person_crop_box(found, 640, 480)
    side = 100 * (1 + 2 * CROP_MARGIN)
    assert x1 - x0 == pytest.approx(side, abs=2) and y1 - y0 == pytest.approx(side, abs=2)
    assert x0 < 300 and x1 > 340 and y0 < 100 - 0.2 * 100 and y1 > 200  # room for the head top and the feet
    assert (x0 + x1) / 2 == pytest.approx(320, abs=1) and (y0 + y1) / 2 == pytest.approx(150, abs=1)
    # Near the corner the square is moved inside the image, not cut.
    corner = PoseDetection(landmarks=landmarks - np.array([295, 95]), landmark_visibility=np.ones(33))
    box = person_crop_box(corner, 640, 480)
    assert box[0] == 0 and box[1] == 0 and box[2] - box[0] == pytest.approx(side, abs=2)
    # Larger than a small image: clipped to it.
    assert person_crop_box(found, 120, 90).tolist() == [0, 0, 120, 90]


def test_crop_segmentation_is_zero_outside_the_crop_and_empty_without_a_detection(demo_frames):
    import cv2

    from random_people.judge.detectors import SegmentationJudge
    from random_people.judge.score import segment_around

    frame = cv2.resize(demo_frames[0], DEMO_SIZE, interpolation=cv2.INTER_AREA)
    with SegmentationJudge() as segmenter:
        inside = segmenter.segment_crop(frame, np.array([100, 20, 260, 180]))
        nobody = segment_around(segmenter, frame, None)
    assert inside.shape == (288, 512) and inside.dtype == np.float32
    assert inside[:20].max() == 0 and inside[:, :100].max() == 0 and inside[180:].max() == 0
    assert inside[:, 260:].max() == 0
    assert nobody.shape == (288, 512) and nobody.max() == 0


def test_crop_around_the_detected_real_man_lets_the_selfie_model_see_him(demo_clip):
    """The real man at 512x288 (~70 px tall): the selfie model on the whole wide shot barely finds him;
    on a crop around MediaPipe Pose's own detection it agrees with Pose's full-resolution mask of him."""
    from random_people.judge.detectors import SegmentationJudge
    from random_people.judge.reference import score_real_reference

    with SegmentationJudge() as segmenter:
        score, _ = score_real_reference(demo_clip, DEMO_SIZE, start=0.3, end=0.6, every=1, segmenter=segmenter)
    summary = score.summary()
    assert score.detection_rate == 1.0
    assert summary["mask_iou"] < 0.3, summary
    assert summary["mask_iou_crop"] > 0.5 and summary["mask_iou_crop"] > summary["mask_iou"] + 0.3, summary
    assert all(f.mask_iou_crop is not None for f in score.frames)
