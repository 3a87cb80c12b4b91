"""What an avatar's Gaussians carry for lighting: baked occlusion, per-frame occlusion, specular weights.

The renderer's lighting (:mod:`random_people.render.lighting`) needs, per Gaussian, a normal
(:func:`random_people.avatar.binding.pose_binding` gives the posed one), an ambient-occlusion
value and a specular weight. This module supplies the last two from the avatar: the occlusion
baked once against the rest mesh (cached on the avatar and in its file), corrected every frame
by the capsule model of :mod:`random_people.render.occlusion`; the specular weight from the
Gaussian's region (faint sheen on skin, more on hair, eyes and shoes, none on cloth) unless the
appearance supplies its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
import torch

from random_people.avatar.appearance import EYE_SCLERA_SPECULAR
from random_people.avatar.binding import SurfaceBinding, pose_binding
from random_people.render.occlusion import bake_ambient_occlusion, body_capsules, capsule_occlusion, posed_occlusion
from random_people.render.types import Gaussians

__all__ = ["SPECULAR_BY_PART", "specular_weights", "bake_binding_occlusion", "RestOcclusion", "with_shading"]

# Fallback weights for bindings without their own (older avatar files). Eyes: the sclera's; 0.3
# over the whole eyeball lit it white (issue 13).
SPECULAR_BY_PART = {"skin": 0.04, "hair": 0.03, "eyes": EYE_SCLERA_SPECULAR, "shoes": 0.1}


def specular_weights(binding: SurfaceBinding) -> torch.Tensor:
    """Specular weight [N] of each Gaussian: the appearance's own (``binding.specular``: T-zone,
    lips, eyes, hair, soles) when the avatar carries it, else by region (0 for regions not listed)."""
    if binding.specular is not None and len(binding.specular) == len(binding):
        return binding.specular.to(binding.colors.dtype)
    table = torch.tensor([SPECULAR_BY_PART.get(name, 0.0) for name in binding.part_names] or [0.0])
    return table[binding.part].to(binding.colors.dtype) if binding.part_names else torch.zeros(len(binding))


def bake_binding_occlusion(binding: SurfaceBinding, rest_vertices: torch.Tensor) -> torch.Tensor:
    """Ambient occlusion [N] of the binding's Gaussians against the rest mesh (about 0.3 s for 20k)."""
    rest = pose_binding(binding, rest_vertices)
    ao = bake_ambient_occlusion(rest_vertices, binding.faces, rest.means, rest.normals)
    return torch.from_numpy(ao)


class RestOcclusion:
    """The capsule occlusion of an avatar's rest pose, so each frame only adds what its pose changes."""

    def __init__(self, binding: SurfaceBinding, rest_vertices: torch.Tensor, baked: torch.Tensor,
                 rest_keypoints: torch.Tensor, keypoint_names: Sequence[str]) -> None:
        rest = pose_binding(binding, rest_vertices)
        self.names = list(keypoint_names)
        self.baked = baked.to(rest.means.dtype)
        self.rest_capsule = capsule_occlusion(rest.means, rest.normals, *body_capsules(rest_keypoints.to(rest.means.dtype), self.names))
        self.specular = specular_weights(binding)

    def frame(self, gaussians: Gaussians, keypoints: torch.Tensor) -> torch.Tensor:
        """This frame's ambient occlusion [N] for the posed ``gaussians`` and ``keypoints`` [K, 3]."""
        posed = capsule_occlusion(gaussians.means, gaussians.normals,
                                  *body_capsules(keypoints.to(gaussians.means.dtype), self.names))
        return posed_occlusion(self.baked, self.rest_capsule, posed)


def with_shading(gaussians: Gaussians, occlusion: torch.Tensor | np.ndarray | None,
                 specular: torch.Tensor | None) -> Gaussians:
    """``gaussians`` carrying ``occlusion`` [N] and ``specular`` [N] for the lighting step."""
    ao = None if occlusion is None else torch.as_tensor(occlusion).to(gaussians.colors.dtype)
    return replace(gaussians, ambient_occlusion=ao, specular=specular)
