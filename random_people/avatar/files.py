"""Avatar files: a standard 3DGS ``.ply`` of the rest pose plus a ``<stem>.binding.npz`` rig sidecar.

Why two files: the ``.ply`` opens in any splat viewer (the canonical avatar, as a person would
inspect it), while the sidecar carries what posing needs and a viewer does not -- the triangle
binding, the rest mesh of the body shape, the shape itself and the appearance. Loading reads
only the sidecar: binding arrays are stored as float32/int64 exactly as built, so a loaded
avatar poses to bit-identical Gaussians.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import torch

from random_people.avatar.appearance import AppearanceParams
from random_people.avatar.binding import SurfaceBinding, pose_binding
from random_people.avatar.build import AVATAR_FORMAT_VERSION, Avatar
from random_people.errors import RandomPeopleError
from random_people.files import atomic_output, read_versioned_npz
from random_people.render.ply import save_gaussians_ply

logger = logging.getLogger(__name__)

__all__ = ["AvatarFileError", "save_avatar", "load_avatar", "sidecar_path", "export_posed_ply"]

PathLike = str | os.PathLike[str]


class AvatarFileError(RandomPeopleError):
    """An avatar sidecar is missing, damaged or from an incompatible version."""

    exit_code = 15  # 13: render.clip, 14: avatar.identity


def sidecar_path(path_ply: PathLike) -> Path:
    """``avatar.ply`` -> ``avatar.binding.npz`` next to it."""
    path = Path(path_ply)
    return path.with_name(path.stem + ".binding.npz")


def save_avatar(avatar: Avatar, path_ply: PathLike) -> tuple[Path, Path]:
    """Write the rest-pose ``.ply`` and its binding sidecar (both atomically); returns both paths."""
    path_ply = Path(path_ply)
    save_gaussians_ply(avatar.canonical(), path_ply)
    arrays: dict[str, np.ndarray] = {
        f"binding_{name}": tensor.detach().cpu().numpy() for name, tensor in avatar.binding.tensors().items()
    }
    arrays.update(
        version=np.array(AVATAR_FORMAT_VERSION),
        part_names=np.array(list(avatar.binding.part_names), dtype=np.str_),
        body_model=np.array(avatar.body_model),
        shape=avatar.shape.detach().cpu().numpy(),
        rest_vertices=avatar.rest_vertices.detach().cpu().numpy(),
        rest_joints=avatar.rest_joints.detach().cpu().numpy(),
        seed=np.array(avatar.seed, dtype=np.int64),
        appearance_json=np.array(json.dumps(avatar.appearance.to_dict(), sort_keys=True)),
        meta_json=np.array(json.dumps(avatar.meta, sort_keys=True, default=str)),
    )
    if avatar.ambient_occlusion is not None:
        arrays["ambient_occlusion"] = avatar.ambient_occlusion.detach().cpu().numpy()
    sidecar = sidecar_path(path_ply)
    with atomic_output(sidecar) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    logger.info("Saved avatar (%d Gaussians) to %s + %s", len(avatar), path_ply, sidecar.name)
    return path_ply, sidecar


def load_avatar(path: PathLike) -> Avatar:
    """Read an avatar from its ``.ply`` path (or the sidecar path itself)."""
    path = Path(path)
    sidecar = path if path.name.endswith(".binding.npz") else sidecar_path(path)
    stored = read_versioned_npz(sidecar, AvatarFileError, "avatar binding", AVATAR_FORMAT_VERSION,
                                "Rebuild the avatar from its identity.")
    version = AVATAR_FORMAT_VERSION
    try:
        tensors = {
            name[len("binding_"):]: torch.from_numpy(np.ascontiguousarray(value))
            for name, value in stored.items() if name.startswith("binding_")
        }
        binding = SurfaceBinding(**tensors, part_names=tuple(str(s) for s in stored["part_names"]))
        avatar = Avatar(
            body_model=str(stored["body_model"]),
            shape=torch.from_numpy(np.ascontiguousarray(stored["shape"])),
            rest_vertices=torch.from_numpy(np.ascontiguousarray(stored["rest_vertices"])),
            rest_joints=torch.from_numpy(np.ascontiguousarray(stored["rest_joints"])),
            binding=binding,
            appearance=AppearanceParams.from_dict(json.loads(str(stored["appearance_json"]))),
            seed=int(stored["seed"]),
            meta=json.loads(str(stored["meta_json"])),
            version=version,
            ambient_occlusion=(torch.from_numpy(np.ascontiguousarray(stored["ambient_occlusion"]))
                               if "ambient_occlusion" in stored else None),  # files from before lighting bake on use
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AvatarFileError(f"{sidecar} is not a complete avatar binding file ({exc}).") from None
    logger.info("Loaded avatar (%d Gaussians) from %s", len(avatar), sidecar)
    return avatar


def export_posed_ply(avatar: Avatar, posed_vertices: torch.Tensor, path: PathLike) -> Path:
    """Write the avatar posed on ``posed_vertices`` [V, 3] as a standard 3DGS ``.ply``."""
    return save_gaussians_ply(pose_binding(avatar.binding, posed_vertices), path)
