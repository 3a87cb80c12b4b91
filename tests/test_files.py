"""Atomic outputs: whole or absent, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from random_people.files import atomic_output


def test_atomic_output_appears_only_on_success(tmp_path):
    target = tmp_path / "out" / "result.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed halfway")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"


def test_atomic_output_uses_the_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "shared.txt") as tmp:
            tmp.write_text("hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o644
