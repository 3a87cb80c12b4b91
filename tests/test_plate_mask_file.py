"""The clean plate's per-frame masks on disk (render/plate_mask_file.py): packed bits through zlib,
read back exactly, one frame at a time; a file cut short or not a mask file is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from random_people.render.plate_mask_file import MaskFileWriter, read_masks


def _masks(count: int, height: int = 37, width: int = 53) -> list[np.ndarray]:
    """Person-like blobs plus noise, odd sizes (not a multiple of 8 bits a row)."""
    rng = np.random.default_rng(3)
    out = []
    for i in range(count):
        mask = rng.random((height, width)) < 0.02
        mask[5 + i: 30 + i, 10 + 2 * i: 25 + 2 * i] = True
        out.append(mask)
    out.append(np.zeros((height, width), bool))
    out.append(np.ones((height, width), bool))
    return out


def test_masks_come_back_exactly_in_order(tmp_path):
    masks = _masks(6)
    writer = MaskFileWriter(tmp_path / "masks.bin", 53, 37)
    for mask in masks:
        writer.write(mask)
    writer.close()
    back = list(read_masks(tmp_path / "masks.bin"))
    assert len(back) == len(masks) == writer.frames_written
    assert all(b.dtype == bool and np.array_equal(a, b) for a, b in zip(masks, back))
    # One bit a pixel, compressed: far smaller than a byte a pixel.
    assert (tmp_path / "masks.bin").stat().st_size < 0.25 * sum(m.size for m in masks)


def test_a_mask_of_the_wrong_size_is_refused_and_abort_deletes_the_file(tmp_path):
    writer = MaskFileWriter(tmp_path / "masks.bin", 53, 37)
    with pytest.raises(ValueError, match=r"\[37, 53\]"):
        writer.write(np.zeros((53, 37), bool))
    writer.abort()
    assert not (tmp_path / "masks.bin").exists()


def test_a_damaged_or_foreign_file_is_a_clear_error(tmp_path):
    writer = MaskFileWriter(tmp_path / "masks.bin", 53, 37)
    for mask in _masks(3):
        writer.write(mask)
    writer.close()
    data = (tmp_path / "masks.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:-7])
    with pytest.raises(ValueError, match="cut short"):
        list(read_masks(tmp_path / "cut.bin"))
    (tmp_path / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(40))
    with pytest.raises(ValueError, match="not a mask file"):
        list(read_masks(tmp_path / "video.mp4"))
