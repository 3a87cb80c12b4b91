"""The judge: models trained on real people (MediaPipe) scoring our renders against our labels.

A rendered person that a real-people detector misses or misplaces is a person that looks wrong,
so these figures, next to the same detector on real people of the same size, are how realism
work is measured (``benchmarks/realism.py``) and, later, how bulk jobs check their clips.

* :mod:`~random_people.judge.metrics`: PCK, mask IoU, cut-off (pure arithmetic).
* :mod:`~random_people.judge.keypoints`: MediaPipe -> COCO-17, the limb joints PCK counts.
* :mod:`~random_people.judge.detectors`: MediaPipe Pose (static image mode) and selfie segmentation.
* :mod:`~random_people.judge.inputs`: reading chosen frames, masks and labels.
* :mod:`~random_people.judge.score`: :class:`Judge`, :func:`score_clip`, :class:`ClipScore`.
* :mod:`~random_people.judge.reference`: the detector on the real person at render size.
* :mod:`~random_people.judge.drawing`: skeletons over frames, contact sheets.
"""

from random_people.judge.score import ClipScore, FrameScore, Judge, pool, score_clip

__all__ = ["ClipScore", "FrameScore", "Judge", "pool", "score_clip"]
