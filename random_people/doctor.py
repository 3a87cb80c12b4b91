"""``random-people doctor``: what a bug report needs, in one paste.

Versions of the packages that decide behaviour, which rendering backends this machine can use,
where the data, database and caches live and whether the one-time body-model cache is built,
and whether the browser the UI tests drive is installed. Reads package metadata and the file
system only (plus ``torch`` for CUDA), so it answers in a couple of seconds even on a fresh install.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from random_people.settings import Settings, load_settings

KEY_PACKAGES = (
    "random-people", "torch", "numpy", "mediapipe", "anny", "av", "numba", "gsplat", "gradio",
    "sqlalchemy", "alembic", "huggingface-hub", "datasets", "pyarrow", "transformers", "ray",
    "playwright", "pytest",
)
MEDIAPIPE_MODELS = ("pose_landmark/pose_landmark_full.tflite", "pose_detection/pose_detection.tflite",
                    "selfie_segmentation/selfie_segmentation.tflite", "hand_landmark/hand_landmark_full.tflite",
                    "palm_detection/palm_detection_full.tflite",
                    "face_detection/face_detection_short_range.tflite")


@dataclasses.dataclass
class Section:
    title: str
    rows: list[tuple[str, str]]


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _versions() -> Section:
    rows = [("python", f"{platform.python_version()} ({sys.executable})"),
            ("platform", f"{platform.system()} {platform.machine()}")]
    rows += [(name, package_version(name)) for name in KEY_PACKAGES]
    return Section("versions", rows)


def _backends() -> Section:
    rows: list[tuple[str, str]] = []
    numba_ok = importlib.util.find_spec("numba") is not None
    rows.append(("cpu rasterizer (numba)", "available" if numba_ok else "missing: pip install numba"))
    try:
        import torch

        cuda = torch.cuda.is_available()
        rows.append(("cuda", f"available ({torch.cuda.get_device_name(0)})" if cuda else "not available (CPU only)"))
    except Exception as exc:  # noqa: BLE001 - a broken torch install is exactly what to report
        cuda = False
        rows.append(("cuda", f"torch failed to import: {exc}"))
    gsplat = package_version("gsplat")
    if gsplat == "not installed":
        rows.append(("gsplat", "not installed"))
    else:
        rows.append(("gsplat", f"{gsplat}, {'used for rendering (CUDA)' if cuda else 'installed, unused without CUDA'}"))
    try:
        import av

        rows.append(("h264 encoder (libx264)", "available" if "libx264" in av.codecs_available else "MISSING"))
    except Exception as exc:  # noqa: BLE001
        rows.append(("h264 encoder (libx264)", f"PyAV failed to import: {exc}"))
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.origin:
        rows.append(("mediapipe models", "mediapipe not installed"))
    else:
        modules = Path(spec.origin).parent / "modules"
        missing = [name for name in MEDIAPIPE_MODELS if not (modules / name).is_file()]
        rows.append(("mediapipe models", "bundled (pose, segmentation, hands, face)" if not missing
                     else "missing: " + ", ".join(missing)))
    return Section("backends", rows)


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0


def _storage(settings: Settings) -> Section:
    rows = [("data dir", str(settings.data_dir) + ("" if settings.data_dir.exists() else " (not created yet)")),
            ("job log", settings.resolved_database_url)]
    try:
        from random_people.body.anny_cache import anny_cache_built, anny_cache_dir, anny_cache_size_bytes

        built = anny_cache_built()
        state = (f"built ({anny_cache_size_bytes() / 1e9:.2f} GB)" if built
                 else "NOT built: the first extraction or render builds it (1-5 min); `random-people setup` does it now")
        rows.append(("body-model cache", f"{anny_cache_dir()}: {state}"))
    except Exception as exc:  # noqa: BLE001
        rows.append(("body-model cache", f"anny failed to import: {exc}"))
    backend = importlib.util.find_spec("random_people.render.cpu_backend")
    if backend and backend.origin:
        cache = Path(backend.origin).parent / "__pycache__"
        compiled = list(cache.glob("cpu_backend.*.nbi")) if cache.is_dir() else []
        rows.append(("numba kernel cache", f"{cache}: {len(compiled)} kernels compiled"
                     + ("" if compiled else " (the first render compiles them, ~10 s; `random-people setup` does it now)")))
    return Section("storage", rows)


def _browser() -> Section:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not path:
        return Section("browser tests", [("chromium", "not found: apt-get install -y chromium (only the browser tests need it)")])
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        version = f"found but did not answer --version: {exc}"
    return Section("browser tests", [("chromium", f"{path}: {version}"),
                                     ("playwright", package_version("playwright"))])


def diagnose(settings: Settings | None = None) -> list[Section]:
    settings = settings or load_settings()
    return [_versions(), _backends(), _storage(settings), _browser()]


def format_report(sections: list[Section]) -> str:
    width = max(len(key) for section in sections for key, _ in section.rows)
    lines: list[str] = []
    for section in sections:
        lines.append(f"[{section.title}]")
        lines += [f"  {key.ljust(width)}  {value}" for key, value in section.rows]
    return "\n".join(lines)


def report_dict(sections: list[Section]) -> dict[str, dict[str, str]]:
    return {section.title: dict(section.rows) for section in sections}
