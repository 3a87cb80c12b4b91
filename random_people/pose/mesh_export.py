"""One frame of a fitted motion as a mesh file a browser 3D viewer can show.

The app shows the fitted body next to the source video so a user can judge the fit with their
own eyes; numbers alone (fit error, confidence) do not reveal a twisted spine or flipped foot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import roma
import torch
import trimesh
from trimesh.exchange.gltf import export_glb

from random_people.body import BodyModel, load_body_model
from random_people.errors import MotionFileError
from random_people.files import atomic_output
from random_people.pose.motion import Motion

# Camera frame (x right, y down, z forward) to glTF (x right, y up, z towards the viewer):
# a half turn about x. A proper rotation, so triangle winding (and thus normals) survives.
CAMERA_TO_GLTF = np.diag([1.0, -1.0, -1.0])

# A neutral blue-grey clay: reads as "a body shape", not as a particular person's skin.
MESH_COLOR_RGBA = (168, 178, 196, 255)


def posed_vertices(motion: Motion, frame: int, body_model: BodyModel | None = None) -> np.ndarray:
    """[V, 3] the fitted body's vertices at ``frame``, root at the origin, camera axes."""
    if not 0 <= frame < motion.num_frames:
        raise MotionFileError(f"Frame {frame} is outside the motion's 0..{motion.num_frames - 1}.")
    model = body_model or load_body_model(kind=motion.body_model)
    dtype = model.dtype
    body = model.prepare(torch.as_tensor(motion.shape, dtype=dtype))
    local = roma.rotvec_to_rotmat(torch.as_tensor(motion.local_rotations[frame], dtype=dtype))  # [B, 3, 3]
    root = roma.rotvec_to_rotmat(torch.as_tensor(motion.root_rotation[frame], dtype=dtype))  # [3, 3]
    with torch.no_grad():
        vertices = model.vertices(body, local[None], root[None], torch.zeros(1, 3, dtype=dtype))
    return vertices[0].detach().cpu().numpy().astype(np.float64)


def posed_mesh(motion: Motion, frame: int, path: str | Path, body_model: BodyModel | None = None) -> Path:
    """Write the fitted body at ``frame`` as a Y-up ``.glb`` facing the viewer; returns the path.

    The body keeps the orientation it has in the source camera (so it matches the video) but is
    moved to the origin, because 3D viewers frame the scene around the origin.
    """
    model = body_model or load_body_model(kind=motion.body_model)
    vertices = posed_vertices(motion, frame, model) @ CAMERA_TO_GLTF.T
    mesh = trimesh.Trimesh(vertices=vertices, faces=np.asarray(model.faces), process=False)
    mesh.visual.vertex_colors = np.tile(np.array(MESH_COLOR_RGBA, dtype=np.uint8), (len(vertices), 1))
    path = Path(path)
    with atomic_output(path) as tmp:
        # Normals make viewers shade the surface smoothly instead of faceted.
        tmp.write_bytes(export_glb(trimesh.Scene(mesh), include_normals=True))
    return path
