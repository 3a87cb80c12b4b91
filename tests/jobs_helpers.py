"""Shared helpers for the bulk-job tests: tiny real job specs on the demo clip, worker processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

TINY_OUTPUT = {"long_side": 96, "max_frames": 4, "harmonize": 0.0, "shadow": False}


def tiny_spec(clip: Path, out: Path, *, people: int = 1, sampled_cameras: int = 0, backgrounds=("#808080",),
              extra_sources: list[Any] | None = None, seed: int = 3, **overrides: Any) -> dict[str, Any]:
    """A job of the demo clip's first second: 1 extraction and people x backgrounds x cameras renders."""
    spec = {
        "name": "tiny", "seed": seed,
        "sources": [{"path": str(clip), "label": "walk", "start": 0.3, "end": 1.3}] + list(extra_sources or []),
        "identities": {"sample": {"n": people, "seed": 1}},
        "backgrounds": {"names": list(backgrounds)},
        "cameras": {"source": True, "sampled": sampled_cameras},
        "output": {"dir": str(out), **TINY_OUTPUT},
    }
    spec.update(overrides)
    return spec


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def job_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for CLI/worker subprocesses: this test's data dir and quick heartbeats."""
    return {**os.environ, "RP_DATA_DIR": str(data_dir), "RP_JOB_HEARTBEAT_S": "0.5", "RP_JOB_STALE_AFTER_S": "4",
            "RP_JOB_POLL_S": "0.2", **extra}


def cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "random_people.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_pids(data_dir: Path) -> list[int]:
    """Worker processes of this test (their command line names this test's database)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "random_people.jobs.worker" in command and str(data_dir) in command:
                pids.append(int(entry.name))
    return pids
