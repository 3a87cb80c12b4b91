"""Choose the hair style whose silhouette matches the person's: hair is what sticks out of the body.

Hair volume (a ponytail, long hair over the shoulders, a bun) lies outside the body's silhouette, so
the body fit cannot see it; the avatar builder can grow it (strands of Gaussians bound to the scalp,
:mod:`random_people.avatar.hair`). Each candidate style is grown on the fitted body, posed in a
few frames, rasterised, and scored by the IoU of its silhouette with the person's mask in the band
from the top of the head to below the shoulders (the body below is the same for every style). The
strands then take the captured colours of the scalp they grow from.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

logger = logging.getLogger(__name__)

CANDIDATES = ("bald", "short", "medium", "long", "bun")
MIN_GAIN = 0.01  # a style must beat short hair by this much IoU to be taken (short is the plain default)
GAUSSIANS = 4000


def _band(mask: np.ndarray, shoulders_y: float, hips_y: float) -> tuple[int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows) or not np.isfinite([shoulders_y, hips_y]).all():
        return None
    top = int(rows[0])
    bottom = int(min(mask.shape[0], shoulders_y + 0.6 * max(hips_y - shoulders_y, 1.0)))
    return (max(0, top - 5), bottom) if bottom > top else None


def fit_hair_style(body_model, body, look, shape: torch.Tensor, posed: np.ndarray, masks: list[np.ndarray],
                   landmarks: list[np.ndarray], camera) -> tuple[str, dict[str, float]]:
    """The best style of :data:`CANDIDATES` and every style's IoU.

    ``posed`` [T, V, 3] are the fitted body's vertices in T frames (camera frame), ``masks`` the
    person's masks there and ``landmarks`` their MediaPipe landmarks [33, 2] at the masks' size;
    ``camera`` renders at the masks' size.
    """
    import dataclasses

    from random_people.avatar.binding import pose_binding
    from random_people.avatar.build import build_avatar
    from random_people.avatar.identity import IdentitySpec
    from random_people.avatar.pipeline import appearance_params
    from random_people.body.keypoints import MEDIAPIPE_LANDMARKS
    from random_people.render.rasterize import rasterize

    shoulders = [MEDIAPIPE_LANDMARKS.index(n) for n in ("left_shoulder", "right_shoulder")]
    hips = [MEDIAPIPE_LANDMARKS.index(n) for n in ("left_hip", "right_hip")]
    bands = [_band(m, float(np.nanmean(p[shoulders, 1])), float(np.nanmean(p[hips, 1])))
             for m, p in zip(masks, landmarks)]
    scores: dict[str, float] = {}
    for style in CANDIDATES:
        candidate = IdentitySpec(seed=0, body=body, appearance=dataclasses.replace(look, hair_style=style))
        avatar = build_avatar(body_model, shape, appearance_params(candidate), seed=0, n_gaussians=GAUSSIANS)
        values = []
        for vertices, mask, band in zip(posed, masks, bands):
            if band is None:
                continue
            gaussians = pose_binding(avatar.binding, torch.as_tensor(vertices, dtype=torch.float32))
            alpha = rasterize(gaussians, camera, backend="cpu", with_extras=False).alpha.numpy()
            drawn, truth = alpha[band[0]:band[1]] > 0.5, mask[band[0]:band[1]]
            union = np.count_nonzero(drawn | truth)
            if union:
                values.append(np.count_nonzero(drawn & truth) / union)
        scores[style] = float(np.mean(values)) if values else 0.0
    best = max(CANDIDATES, key=lambda s: scores[s])
    if scores[best] < scores["short"] + MIN_GAIN:
        best = "short"
    logger.info("Hair style by silhouette: %s (IoU by style: %s)", best,
                ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    return best, scores
