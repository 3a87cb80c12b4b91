"""Is the camera still? Frame-to-reference registration for clean plates.

A clean plate is a per-pixel median over time, which only means something if a pixel shows the
same point of the scene in every frame. So each frame is registered to the first one: corners of
the first frame (away from the person) are followed into each frame by pyramidal Lucas-Kanade
optical flow and a RANSAC similarity (rotation, uniform scale, translation) is fitted to them --
under 1 ms a frame, where matching ORB features took ~6 ms. When too few corners follow (a large
move, a cut, changed light), ORB features of both frames are matched instead; people are
excluded from the features, and RANSAC ignores what else moves. Phase correlation (translation
only) is the last resort when a frame has too little texture for features. Phase correlation follows
whatever moves most (other people crossing a plain wall), so its estimate may stabilise a frame
but never refuses a clip on its own: a clip panning over a textureless wall is not caught.

* A camera that stays within ``max_shift`` (a fraction of the frame diagonal, 2% by default) of
  its first view is *nearly static*: its small shake is removed by warping each frame onto the
  first before it enters the median (and the plate is warped back when a frame is cleaned).
* Beyond that the camera pans, tilts, zooms or walks; a median would smear the scene, so
  :class:`CameraMotionError` refuses the clip and says when and by how much it moved.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from random_people.render.backgrounds import BackgroundError

logger = logging.getLogger(__name__)

IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
MAX_SHIFT = 0.02  # of the frame diagonal
STILL = 0.0025  # of the diagonal (1.8 px at 640x360): below it a frame is taken as not moved (estimation
# noise of a still camera; resampling it would only blur)
_MIN_INLIERS = 12
_TRACKED_SHARE = 0.5  # of the first frame's corners that must follow (as RANSAC inliers) for the fast path
_CORNERS = 100
_FLOW_WINDOW = (11, 11)
_FLOW_LEVELS = 2  # follows moves up to ~20 px at the 360-px working size: beyond the shake a plate tolerates
_MIN_RESPONSE = 0.2  # phase-correlation peak below which its shift is noise (moving people, no texture)
_WORK_SIDE = 360  # registration runs on a grey copy with this long side (256 found too few features on
# Pose2Sim's portrait clips, and phase correlation then followed the moving people)


class CameraMotionError(BackgroundError):
    """The source camera moves too much for a clean plate (a pan, zoom or hand-held walk)."""


def work_size(shape: tuple[int, int]) -> tuple[int, int]:
    """(width, height) registration runs at for frames of ``shape`` (H, W): the long side at most
    :data:`_WORK_SIDE`."""
    h, w = shape
    scale = min(1.0, _WORK_SIDE / max(h, w))
    return max(1, round(w * scale)), max(1, round(h * scale))


def corner_shift(transform: np.ndarray, size: tuple[int, int]) -> float:
    """Largest displacement (pixels) of the frame's four corners under a 2x3 ``transform``."""
    w, h = size
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64)
    return float(np.max(np.linalg.norm(corners @ transform.T - corners[:, :2], axis=1)))


def invert(transform: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine transform."""
    return cv2.invertAffineTransform(np.asarray(transform, np.float64))


class FrameRegistrar:
    """Registers frames to the first one it sees; see the module docstring.

    ``register(rgb, exclude)`` returns the 2x3 transform mapping this frame's pixels onto the
    reference frame's (identity for a still camera) and raises :class:`CameraMotionError` once
    the camera has moved beyond ``max_shift``. ``clip_name`` only labels messages.
    """

    def __init__(self, max_shift: float = MAX_SHIFT, clip_name: str = "the clip") -> None:
        self.max_shift = float(max_shift)
        self.clip_name = clip_name
        self._orb = cv2.ORB_create(nfeatures=500, fastThreshold=12)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self._reference: tuple[np.ndarray, list, np.ndarray | None] | None = None
        self._reference_grey: np.ndarray | None = None
        self._corners: np.ndarray | None = None  # [N, 1, 2] float32 corners of the first frame
        self.tracked = 0  # frames registered by following the first frame's corners (the fast path)
        self._scale = 1.0
        self.largest_shift = 0.0  # pixels of the full frame, over the frames seen so far
        self.fallbacks = 0  # frames without enough features (phase correlation tried)
        self.unregistered = 0  # of those, frames phase correlation could not place either

    def register(self, rgb: np.ndarray, exclude: np.ndarray | None = None, time: float = 0.0) -> np.ndarray:
        """The 2x3 transform taking ``rgb`` ([H, W, 3]) onto the first frame (see the class)."""
        size = work_size(rgb.shape[:2])
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if size != (rgb.shape[1], rgb.shape[0]):
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        return self.register_grey(grey, rgb.shape[:2], exclude, time)

    def register_grey(self, grey: np.ndarray, shape: tuple[int, int], exclude: np.ndarray | None = None,
                      time: float = 0.0) -> np.ndarray:
        """As :meth:`register` for a frame of ``shape`` (H, W) given only as its luminance at
        :func:`work_size` (a decoder makes that straight from the luma plane, far cheaper than
        converting the frame to RGB first); ``exclude`` is at ``shape``. The transform is in the
        pixels of ``shape``."""
        h, w = shape
        size = work_size(shape)
        if grey.shape != (size[1], size[0]):
            raise ValueError(f"grey must be {size[1]}x{size[0]} (work_size of {h}x{w}), got {grey.shape}")
        self._scale = min(1.0, _WORK_SIDE / max(h, w))
        feature_mask = None
        if exclude is not None:
            small = cv2.resize(exclude.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
            feature_mask = np.where(small > 0, 0, 255).astype(np.uint8)
        if self._reference is None:
            keypoints, descriptors = self._orb.detectAndCompute(grey, feature_mask)
            self._reference = (self._flat(grey, feature_mask), keypoints, descriptors)
            self._reference_grey = grey
            corners = cv2.goodFeaturesToTrack(grey, _CORNERS, 0.01, 7, mask=feature_mask)
            self._corners = corners if corners is not None and len(corners) >= _MIN_INLIERS else None
            return IDENTITY.copy()
        transform = self._tracked(grey, feature_mask)
        if transform is not None:
            self.tracked += 1
        else:
            keypoints, descriptors = self._orb.detectAndCompute(grey, feature_mask)
            transform = self._features(keypoints, descriptors)
        return self._checked(transform, grey, feature_mask, shape, time)

    @staticmethod
    def _flat(grey: np.ndarray, feature_mask: np.ndarray | None) -> np.ndarray:
        """The grey frame for phase correlation, people filled with the mean (they must not pull the fit)."""
        flat = grey.astype(np.float32)
        if feature_mask is not None and (feature_mask == 0).any() and (feature_mask > 0).any():
            flat[feature_mask == 0] = float(flat[feature_mask > 0].mean())
        return flat

    def _tracked(self, grey: np.ndarray, feature_mask: np.ndarray | None) -> np.ndarray | None:
        """The transform from the first frame's corners followed into this frame (None: too few followed)."""
        if self._corners is None or self._reference_grey is None:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(self._reference_grey, grey, self._corners, None,
                                                    winSize=_FLOW_WINDOW, maxLevel=_FLOW_LEVELS)
        if moved is None or status is None:
            return None
        src, dst = moved.reshape(-1, 2), self._corners.reshape(-1, 2)
        keep = status.ravel() > 0
        if feature_mask is not None:  # corners the person (or the frame edge) now covers do not count
            x = np.clip(np.round(src[:, 0]).astype(int), 0, grey.shape[1] - 1)
            y = np.clip(np.round(src[:, 1]).astype(int), 0, grey.shape[0] - 1)
            inside = (src[:, 0] >= 0) & (src[:, 0] < grey.shape[1]) & (src[:, 1] >= 0) & (src[:, 1] < grey.shape[0])
            keep &= inside & (feature_mask[y, x] > 0)
        needed = max(_MIN_INLIERS, int(_TRACKED_SHARE * len(dst)))
        if keep.sum() < needed:
            return None
        return self._fit(src[keep], dst[keep], needed)

    def _checked(self, transform: np.ndarray | None, grey: np.ndarray, feature_mask: np.ndarray | None,
                 shape: tuple[int, int], time: float) -> np.ndarray:
        """Apply the limits to a frame's transform (None: no features; phase correlation decides)."""
        assert self._reference is not None
        from_features = transform is not None
        if transform is None:
            flat = self._flat(grey, feature_mask)
            self.fallbacks += 1
            (dx, dy), response = cv2.phaseCorrelate(flat, self._reference[0])
            if response < _MIN_RESPONSE:
                self.unregistered += 1  # no reliable estimate either way: take the frame as it is
                return IDENTITY.copy()
            transform = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
        transform = transform.copy()
        transform[:, 2] /= self._scale  # back to full-frame pixels
        h, w = shape
        shift = corner_shift(transform, (w, h))
        self.largest_shift = max(self.largest_shift, shift)
        if shift < STILL * float(np.hypot(w, h)):
            return IDENTITY.copy()
        limit = self.max_shift * float(np.hypot(w, h))
        if shift > limit and not from_features:
            # Phase correlation alone follows whatever moves most (people walking past a plain
            # wall); it never refuses a clip on its own word. The frame is taken as it is.
            self.unregistered += 1
            return IDENTITY.copy()
        if shift > limit:
            raise CameraMotionError(
                f"The camera moves in {self.clip_name}: at {time:.2f} s its view has shifted {shift:.0f} px "
                f"({100 * shift / np.hypot(w, h):.1f}% of the frame diagonal) from the first frame, more than the "
                f"{100 * self.max_shift:.0f}% a clean plate tolerates. The clip's own scene as background needs a fixed "
                f"(or only slightly shaking) camera; a panning, zooming or hand-held camera would smear the plate. "
                f"Pick another background (a shipped one, an image or a video) for this clip."
            )
        return transform

    def _features(self, keypoints: list, descriptors: np.ndarray | None) -> np.ndarray | None:
        assert self._reference is not None
        _, ref_keypoints, ref_descriptors = self._reference
        if descriptors is None or ref_descriptors is None or len(keypoints) < _MIN_INLIERS:
            return None
        matches = self._matcher.match(descriptors, ref_descriptors)
        if len(matches) < _MIN_INLIERS:
            return None
        src = np.float32([keypoints[m.queryIdx].pt for m in matches])
        dst = np.float32([ref_keypoints[m.trainIdx].pt for m in matches])
        return self._fit(src, dst, _MIN_INLIERS)

    @staticmethod
    def _fit(src: np.ndarray, dst: np.ndarray, min_inliers: int) -> np.ndarray | None:
        """The 2x3 transform taking points ``src`` [N, 2] of this frame onto ``dst`` of the first one."""
        transform, inliers = cv2.estimateAffinePartial2D(np.float32(src), np.float32(dst), method=cv2.RANSAC,
                                                         ransacReprojThreshold=2.0, maxIters=2000, confidence=0.995)
        if transform is None or inliers is None or int(inliers.sum()) < min_inliers:
            return None
        # Shake is mostly a translation; a rotation or zoom is kept only when it explains the
        # matches clearly better (else RANSAC's noise would tilt still frames a little).
        keep = inliers.ravel() > 0
        src, dst = np.asarray(src, np.float64)[keep], np.asarray(dst, np.float64)[keep]
        shift = np.median(dst - src, axis=0)
        translation = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
        error_similarity = np.linalg.norm(src @ transform[:, :2].T + transform[:, 2] - dst, axis=1).mean()
        error_translation = np.linalg.norm(src + shift - dst, axis=1).mean()
        if error_translation - error_similarity < 0.3:
            return translation
        return transform.astype(np.float64)


def warp(image: np.ndarray, transform: np.ndarray, nearest: bool = False, fill: int | None = None) -> np.ndarray:
    """``image`` resampled by a 2x3 ``transform`` (output pixel p shows input at transform^-1 p).

    Pixels that come from outside the input repeat its edge, or are ``fill`` when given.
    """
    h, w = image.shape[:2]
    if corner_shift(np.asarray(transform, np.float64), (w, h)) < 0.01:
        return image
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    border = cv2.BORDER_REPLICATE if fill is None else cv2.BORDER_CONSTANT
    return cv2.warpAffine(image, np.asarray(transform, np.float64), (w, h), flags=flags, borderMode=border,
                          borderValue=0 if fill is None else fill)


__all__ = ["CameraMotionError", "FrameRegistrar", "IDENTITY", "MAX_SHIFT", "corner_shift", "invert", "warp",
           "work_size"]
