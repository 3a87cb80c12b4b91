"""A real, tiny file system for full-disk tests (shared by the export and bad-input tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def small_tmpfs(tmp_path: Path, size: str):
    """A real tmpfs of ``size`` (e.g. "64k") for full-disk tests, as a fixture generator; the
    test is skipped where mounting is not allowed."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
