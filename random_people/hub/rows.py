"""One ``metadata.jsonl`` row per clip: flat, typed the same in every row, readable without our code.

``datasets`` infers column types from each split's first rows and refuses a dataset whose splits
disagree, so every row has every column with one JSON type: no nulls in synthetic rows (unknown
text is ``""``), floats always written as floats, the camera as fixed-size matrices. The full
identity spec and camera dict are kept verbatim as JSON strings beside the flat columns, so
nothing is lost for whoever wants to rebuild a clip.

Columns another module relies on (the experiments loader): ``file_name``, ``label``,
``synthetic``, ``background_kind``, ``source_clip_id``, ``split``.
"""

from __future__ import annotations

import functools

import json
from typing import Any, Mapping

import numpy as np

from random_people.avatar.identity import IdentityError, IdentitySpec, dominant_ancestry
from random_people.hub.errors import ExportError
from random_people.hub.records import ExportClip, RealClip

BACKGROUND_KINDS = ("plain", "image", "video", "source")
NOT_SCORED = -1.0  # fidelity columns of a clip the judge did not score (a column cannot hold nulls)
FIDELITY_COLUMNS = ("fidelity", "fidelity_pck", "fidelity_detection_rate", "fidelity_cut_off_share")
# Synthetic columns a record may lack (rows exported before fidelity scores existed lack those).
MATRIX_COLUMNS = ("camera_K", "camera_world_to_camera")
OPTIONAL_COLUMNS = (*MATRIX_COLUMNS, *FIDELITY_COLUMNS, "fidelity_figures")


def identity_columns(identity: Mapping[str, Any], clip_id: str) -> dict[str, Any]:
    """The identity attributes the issue asks for, flat: sex, age, ancestry blend, skin tone, height, clothing."""
    from random_people.avatar.sampler import height_band

    try:
        spec = IdentitySpec.from_dict(identity)
    except IdentityError as exc:
        raise ExportError(f"clip {clip_id}: its identity spec is invalid ({exc}).") from exc
    body, look = spec.body, spec.appearance
    return {
        "identity_id": spec.id,
        "sex": body.sex,
        "age_years": float(body.age_years),
        "age_group": body.age_group,
        "ancestry_african": float(body.african),
        "ancestry_asian": float(body.asian),
        "ancestry_caucasian": float(body.caucasian),
        "dominant_ancestry": dominant_ancestry(spec),
        "skin_tone": int(look.skin_tone),
        "skin_tone_group": look.skin_tone_group,
        "height_z": float(body.height),
        "height_band": height_band(body.height),
        "weight": float(body.weight),
        "muscle": float(body.muscle),
        "hair_style": look.hair_style,
        "hair_color": look.hair_color,
        "top": look.top.type,
        "top_color": look.top.color,
        "bottom": look.bottom.type,
        "bottom_color": look.bottom.color,
        "shoes": look.shoes.type,
        "shoes_color": look.shoes.color,
        "identity": json.dumps(row_identity(spec), sort_keys=True),
    }


def row_identity(spec: IdentitySpec) -> dict[str, Any]:
    """The spec as the ``identity`` column holds it: whole, except a captured person's colours and
    offsets (tens of kB), which the export writes once per person to ``identities/<id>.json``; the
    row names that file and the colours' SHA-256 instead, so a metadata row stays ~1 kB."""
    from random_people.hub import layout

    data = spec.to_dict()
    if spec.capture is not None:
        data["capture"] = {"file": layout.identity_file(spec.id), "sha256": spec.capture.get("sha256")}
    return data


def _matrix(value: Any, shape: tuple[int, int], name: str, clip_id: str) -> list[list[float]]:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.ndim == 3 and array.shape[1:] == shape:  # per-frame matrices: the first frame's
        array = array[0]
    if array.shape != shape or not np.isfinite(array).all():
        raise ExportError(
            f"clip {clip_id}: camera {name} must be a finite {shape[0]}x{shape[1]} matrix "
            f"(got {np.shape(value)}); re-render the clip or fix the job record."
        )
    return [[float(x) for x in row] for row in array]


def camera_columns(camera: Mapping[str, Any], clip_id: str) -> dict[str, Any]:
    """Camera mode, intrinsics and extrinsics (first frame) as matrices, plus the full dict as JSON.

    A job that rendered without a labels file may not know its matrices: they are then ``None``
    here, and the metadata writer drops those columns for the whole config (a column must have one
    type in every row) while the full dict stays in ``camera``.
    """
    if not isinstance(camera, Mapping):
        raise ExportError(f"clip {clip_id}: camera parameters must be a mapping, got {type(camera).__name__}.")
    return {
        "camera_mode": str(camera.get("mode", "")),
        "camera_K": _matrix(camera["K"], (3, 3), "K", clip_id) if "K" in camera else None,
        "camera_world_to_camera": (_matrix(camera["world_to_camera"], (4, 4), "world_to_camera", clip_id)
                                   if "world_to_camera" in camera else None),
        "camera": json.dumps(_jsonable(camera), sort_keys=True),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@functools.lru_cache(maxsize=4096)
def _published_background(name: str) -> str:
    """Shipped names and colours as they are; a file by content hash, never by its path (which would
    publish the user's account name and folders). Cached: one hash per background file per export."""
    from random_people.render.backgrounds import background_id

    return background_id(name)


def fidelity_columns(figures: Mapping[str, Any] | None) -> dict[str, Any]:
    """The judge's figures on the clip (see random_people/jobs/fidelity.py), flat, -1.0 where not
    scored, plus every figure as JSON (frames sampled, cost, detector)."""
    figures = figures or {}

    def number(key: str) -> float:
        value = figures.get(key)
        return NOT_SCORED if value is None else float(value)

    return {
        "fidelity": number("fidelity"),
        "fidelity_pck": number("pck"),
        "fidelity_detection_rate": number("detection_rate"),
        "fidelity_cut_off_share": number("cut_off_share"),
        "fidelity_figures": json.dumps(_jsonable(dict(figures)), sort_keys=True) if figures else "",
    }


def synthetic_row(
    clip: ExportClip, *, split: str, file_name: str, mask_path: str, labels_path: str, motion_path: str,
    fps: float, num_frames: int, width: int, height: int,
) -> dict[str, Any]:
    """The ``metadata.jsonl`` row of one synthetic clip (paths relative to its split folder)."""
    if clip.background_kind not in BACKGROUND_KINDS:
        raise ExportError(
            f"clip {clip.clip_id}: background_kind {clip.background_kind!r} is not one of {', '.join(BACKGROUND_KINDS)}."
        )
    if not str(clip.action_label).strip():
        raise ExportError(f"clip {clip.clip_id}: it has no action label; label its source clip and export again.")
    return {
        "file_name": file_name,
        "label": clip.action_label,
        "synthetic": True,
        "split": split,
        "clip_id": clip.clip_id,
        "source_clip_id": clip.source_clip_id,
        "source_subject": clip.source_subject or "",
        "source_name": clip.source_name or "",
        **identity_columns(clip.identity, clip.clip_id),
        "background": _published_background(clip.background),
        "background_kind": clip.background_kind,
        **camera_columns(clip.camera, clip.clip_id),
        "seed": int(clip.seed),
        "generator_version": clip.generator_version,
        "job_id": clip.job_id or "",
        "fps": float(fps),
        "num_frames": int(num_frames),
        "width": int(width),
        "height": int(height),
        "mask_path": mask_path,
        "labels_path": labels_path,
        "motion_path": motion_path,
        **fidelity_columns(clip.fidelity),
    }


def real_row(clip: RealClip, *, split: str, file_name: str) -> dict[str, Any]:
    """The ``metadata.jsonl`` row of one real source clip (config ``real``)."""
    return {
        "file_name": file_name,
        "label": clip.action_label,
        "synthetic": False,
        "split": split,
        "source_clip_id": clip.source_clip_id,
        "source_subject": clip.source_subject or "",
        "source_name": clip.video_path.name,
        "background_kind": None,
    }
