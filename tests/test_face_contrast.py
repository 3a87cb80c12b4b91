"""A face seen small still reads as a face: dark eye sockets, and brows darker than white hair (issue 13).

At 70 px a face is a light oval crossed by the dark band of eye sockets and brows; without it
(white brows under white hair, sockets as light as the cheeks) MediaPipe Pose took an older man
facing the camera for one seen from behind. These tests would fail if the sockets lost their
shade or grey/white hair gave white brows again.
"""

from __future__ import annotations

import numpy as np
import pytest

from random_people.avatar import face
from random_people.avatar.appearance import EYES, SKIN
from random_people.avatar.identity import HAIR_COLORS
from random_people.avatar.pipeline import _linear

LUMA = np.array([0.2126, 0.7152, 0.0722])


def test_grey_and_white_hair_get_salt_and_pepper_brows_and_blond_keeps_its_own():
    for name in ("grey", "white"):
        hair = np.array(_linear(HAIR_COLORS[name]))
        assert face.brow_color(hair, 70.0) @ LUMA < 0.3 * (hair @ LUMA), name
    blonde = np.array(_linear(HAIR_COLORS["blonde"]))
    brow = face.brow_color(blonde, 30.0)
    assert brow @ LUMA > 0.4 * (blonde @ LUMA)  # darker than the hair, still blond, not grey
    assert brow[0] > 1.5 * brow[2]


@pytest.fixture(scope="module")
def anny():
    from random_people.body import load_body_model

    return load_body_model(kind="anny")


def _socket_and_cheek_luma(anny, monkeypatch_shade: float | None) -> tuple[float, float]:
    from random_people.avatar.appearance import AppearanceParams
    from random_people.avatar.build import build_avatar

    old = face.ORBIT_SHADE
    if monkeypatch_shade is not None:
        face.ORBIT_SHADE = monkeypatch_shade
    try:
        avatar = build_avatar(anny, anny.shape_from_phenotype(), AppearanceParams(hair_style="bald"), seed=4,
                              n_gaussians=20000)
    finally:
        face.ORBIT_SHADE = old
    g, part = avatar.canonical(), avatar.binding.part.numpy()
    means, luma = g.means.numpy(), g.colors.numpy() @ LUMA
    eyes = means[part == EYES]
    centres = np.stack([eyes[eyes[:, 0] > 0].mean(0), eyes[eyes[:, 0] < 0].mean(0)])
    skin = part == SKIN
    front = means[:, 1] < centres[:, 1].mean() + 0.005
    dist = np.min([np.hypot(means[:, 0] - c[0], means[:, 2] - c[2]) for c in centres], axis=0)
    socket = skin & front & (dist > 0.016) & (dist < 0.022)  # round the eye, outside lids and lashes
    cheek = skin & front & (dist > 0.045) & (dist < 0.06)
    assert socket.sum() > 10 and cheek.sum() > 10
    return float(luma[socket].mean()), float(luma[cheek].mean())


def test_eye_sockets_are_shaded_darker_than_without_the_socket(anny):
    socket, cheek = _socket_and_cheek_luma(anny, None)
    flat_socket, flat_cheek = _socket_and_cheek_luma(anny, 0.0)
    assert cheek == pytest.approx(flat_cheek, rel=0.05)  # the rest of the face is unchanged
    assert socket < 0.93 * flat_socket  # the socket ring is darker
