"""Job specs: what a curator asks a bulk job to make, validated before anything is queued.

A spec is YAML or JSON; :data:`EXAMPLE_SPEC` (``random-people bulk --example``) documents every
field. Validation collects *every* problem and reports them together, each prefixed by the
field's path (``sources[1].labels``), so a curator fixes a 20-line spec in one round, not twenty.
Relative paths are resolved against the spec file's folder, so a spec and its clips move together.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from random_people.action_labels import label_problem
from random_people.jobs.errors import JobSpecError
from random_people.render.backgrounds import DEFAULT_BACKGROUND

LABEL_MODES = ("folder", "smarthome", "csv", "fixed")
LABEL_OUTPUTS = ("mask", "keypoints", "motion")
SAMPLE_MODES = ("random", "balanced")
MAX_TASKS = 1_000_000
MAX_SPEC_BYTES = 1 << 20  # a spec is a page of YAML; a 1 MiB one is a mistake (or an attack)
MAX_SPEC_DEPTH = 32  # nesting of mappings and lists; the format needs 4
MAX_SPEC_NODES = 100_000  # values once YAML aliases are expanded (the "billion laughs" guard)
_SAVED_ID = re.compile(r"^[0-9a-f]{12}$")
_brief = reprlib.Repr()
_brief.maxstring = _brief.maxother = 60
_brief.maxlist = _brief.maxdict = _brief.maxtuple = 4
_brief.maxlevel = 2

EXAMPLE_SPEC = """\
# A bulk job: every source clip x identities x backgrounds x cameras.
name: walking-demo
seed: 7
auto_accept: false          # true: every finished clip counts as accepted for export
sources:
  - path: clips/            # a clip, or a folder of clips (searched recursively)
    labels: folder          # folder | smarthome | csv | fixed
  # - path: Smarthome/mp4/
  #   labels: smarthome     # Cook.Cleandishes_p02_r00_v02_c03.mp4 -> Cook.Cleandishes, subject p02
  # - path: more/
  #   labels: csv
  #   csv: labels.csv       # columns: file,label[,start,end]
  # - path: walk.mp4
  #   label: walk           # labels: fixed is implied by label
  #   start: 0.5
  #   end: 4.5
  #   hands: true           # also fit the fingers (extract --hands; about 2x slower extraction)
identities:
  saved: []                 # ids of saved people (or .json paths)
  sample:                   # and/or N sampled people
    n: 4
    seed: 1
    mode: balanced          # random | balanced
    distribution: {}        # IdentityDistribution fields (random_people/avatar/sampler.py), or config: dist.yaml
backgrounds:
  names: [city_2, courtyard_3, forest_2, interior_1, sunset_2, "#808080"]   # shipped photos (each lit by its
                            # own measured environment), cartoon_* scenes, image/video paths, #rrggbb,
                            # or source: the clip's own scene, its person removed (source camera only)
  per_clip: 2               # a seeded random 2 of them per source clip (omit: all)
cameras:
  source: true              # the source clip's viewpoint
  sampled: 1                # plus N seeded new viewpoints per clip
  sampler: {}               # CameraSampler ranges (random_people/render/cameras.py)
output:
  dir: renders/             # clip files go to <dir>/<label>/<hash>.mp4
  long_side: 512            # or size: 512x512
  fps: null                 # null: the source clip's rate
  max_seconds: 4            # clip length policy: null = the whole motion
  labels: [mask, keypoints, motion]
  shadow: true
  harmonize: null           # 0..1; null: the renderer's default (0 over a picture, 0.3 in the clip's own scene)
  crf: null                 # H.264 quality 0 (lossless)..51; null: the renderer's default (12)
  degrade: false
review:
  min_fidelity: null        # e.g. 0.8: clips the judge scores below this are rejected automatically
"""


@dataclass(frozen=True)
class SourceSpec:
    path: Path
    labels: str = "folder"
    label: str | None = None
    csv: Path | None = None
    start: float | None = None
    end: float | None = None
    hands: bool | None = None  # true: fit the fingers too (extract --hands); unset in specs that do not say


@dataclass(frozen=True)
class SampleSpec:
    n: int
    seed: int = 0
    mode: str = "random"
    distribution: dict[str, Any] = field(default_factory=dict)
    config: Path | None = None


@dataclass(frozen=True)
class IdentitiesSpec:
    saved: tuple[str, ...] = ()
    sample: SampleSpec | None = None


@dataclass(frozen=True)
class BackgroundsSpec:
    names: tuple[str, ...] = (DEFAULT_BACKGROUND,)
    per_clip: int | None = None


@dataclass(frozen=True)
class CamerasSpec:
    source: bool = True
    sampled: int = 0
    sampler: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputSpec:
    dir: Path | None = None
    size: tuple[int, int] | None = None
    long_side: int = 512
    fps: float | None = None
    max_seconds: float | None = None
    max_frames: int | None = None
    labels: tuple[str, ...] = LABEL_OUTPUTS
    shadow: bool = True
    harmonize: float | None = None  # None: render_motion_clip's default for the background
    degrade: bool = False
    crf: int | None = None  # None: render.clip.RENDER_CRF


@dataclass(frozen=True)
class ReviewSpec:
    """Review policy: clips scoring below ``min_fidelity`` (0-1, see jobs/fidelity.py) are rejected
    as they finish, so a curator only looks at clips the judge found plausible."""

    min_fidelity: float | None = None


@dataclass(frozen=True)
class JobSpec:
    """A validated job spec; :meth:`to_dict` is what the log stores (paths absolute)."""

    sources: tuple[SourceSpec, ...]
    identities: IdentitiesSpec
    backgrounds: BackgroundsSpec = BackgroundsSpec()
    cameras: CamerasSpec = CamerasSpec()
    output: OutputSpec = OutputSpec()
    name: str = "job"
    seed: int = 0
    auto_accept: bool = False
    review: ReviewSpec = ReviewSpec()
    # Where this spec's files may be (None: anywhere). Not part of the spec: the app sets it for
    # uploaded specs, and source expansion (folders, CSV rows) applies it too.
    confined_to: tuple[Path, ...] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON that :func:`spec_from_dict` reads back to an equal spec (unset
        optional fields are left out, as a spec file leaves them out)."""
        data = asdict(self)
        data.pop("confined_to")
        return _without_unset(json.loads(json.dumps(data, default=_jsonable)))


def _without_unset(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_unset(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_unset(item) for item in value]
    return value


@dataclass(frozen=True)
class PathPolicy:
    """Where a spec's paths may point.

    The CLI (``PathPolicy()``) takes any path its user gives, except that a *relative*
    ``output.dir`` climbing out of the spec's folder (``../../x``) needs ``allow_output_outside``:
    a spec copied from elsewhere should not write next to it by surprise. The app confines an
    uploaded spec to its data folder and the shipped assets (``read_roots``) and writes only under
    the data folder's ``renders/`` (``write_roots``); symlinks are followed before the check, so a
    link out is refused.
    """

    read_roots: tuple[Path, ...] | None = None
    write_roots: tuple[Path, ...] | None = None
    allow_output_outside: bool = False

    @classmethod
    def confined(cls, data_dir: Path, *assets: Path) -> "PathPolicy":
        """Read from the data folder and ``assets``; write clips only under ``<data_dir>/renders``,
        the one output folder the app serves (see ui/served.py)."""
        data = Path(data_dir).resolve()
        return cls(read_roots=(data, *(Path(a).resolve() for a in assets)), write_roots=(data / "renders",))


def outside_roots(path: Path, roots: tuple[Path, ...] | None) -> bool:
    """True when ``path`` (symlinks followed) is under none of ``roots``; never with ``roots=None``."""
    if roots is None:
        return False
    real = Path(path).resolve()
    return not any(real == root or real.is_relative_to(root) for root in roots)


def _key_text(key: Any) -> str:
    """A mapping key as a field path part: as written when short and printable, else a short repr."""
    return key if isinstance(key, str) and key.isprintable() and len(key) <= 60 else brief(key)


def brief(value: Any) -> str:
    """A short repr for messages: never formats a huge (or alias-expanded) value in full."""
    return _brief.repr(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {value!r}")


class _Checker:
    """Collects problems with their field paths; ``value`` helpers return a checked value or None."""

    def __init__(self, base_dir: Path, policy: PathPolicy | None = None) -> None:
        self.base_dir = base_dir
        self.policy = policy or PathPolicy()
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def mapping(self, data: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            self.fail(where, f"expected a mapping with keys {', '.join(allowed)}, got {type(data).__name__}.")
            return {}
        for key in data:
            if key not in allowed:
                self.fail(f"{where}.{_key_text(key)}", f"unknown key; allowed keys are {', '.join(allowed)}.")
        return dict(data)

    def integer(self, value: Any, where: str, low: int, high: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected a whole number, got {brief(value)}.")
            return None
        if value < low or (high is not None and value > high):
            self.fail(where, f"{value} is outside [{low}, {high if high is not None else 'inf'}].")
            return None
        return value

    def number(self, value: Any, where: str, low: float, high: float, *, open_low: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(where, f"expected a number, got {brief(value)}.")
            return None
        if value < low or value > high or (open_low and value == low):
            self.fail(where, f"{value} is outside {'(' if open_low else '['}{low:g}, {high:g}].")
            return None
        return float(value)

    def boolean(self, value: Any, where: str) -> bool | None:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {brief(value)}.")
            return None
        return value

    def text(self, value: Any, where: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected a non-empty string, got {brief(value)}.")
            return None
        return value.strip()

    def path(self, value: Any, where: str, *, write: bool = False) -> Path | None:
        """An absolute path (relative ones from the spec's folder), or None after a problem.

        Under a confining :class:`PathPolicy` the path must lie (symlinks followed) inside the
        allowed folders; ``write`` picks the folders outputs may go to.
        """
        text = self.text(value, where)
        if text is None:
            return None
        path = Path(text) if self.policy.read_roots is not None else Path(text).expanduser()
        path = path if path.is_absolute() else (self.base_dir / path).resolve()
        roots = self.policy.write_roots if write else self.policy.read_roots
        if outside_roots(path, roots):
            allowed = "renders/ in its data folder" if write else "its data folder and the shipped assets"
            remedy = "Leave output.dir out, or use renders/NAME." if write else \
                "Upload the file, or use a name the app lists."
            self.fail(where, f"{brief(text)} is outside the folders this app may {'write' if write else 'read'} "
                             f"({allowed}); symlinks out are refused too. {remedy}")
            return None
        return path

    def label(self, value: Any, where: str) -> str | None:
        text = self.text(value, where)
        if text is None:
            return None
        problem = label_problem(text)
        if problem:
            self.fail(where, f"the action label {brief(text)} {problem}.")
            return None
        return text

    def string_list(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            self.fail(where, f"expected a list of strings, got {type(value).__name__}.")
            return ()
        items = [self.text(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return tuple(item for item in items if item is not None)


def _source(check: _Checker, data: Any, where: str) -> SourceSpec | None:
    if isinstance(data, str):
        data = {"path": data}
    raw = check.mapping(data, where, ("path", "labels", "label", "csv", "start", "end", "hands"))
    if "path" not in raw:
        check.fail(f"{where}.path", "missing: give a clip file or a folder of clips.")
        return None
    path = check.path(raw["path"], f"{where}.path")
    label = check.label(raw["label"], f"{where}.label") if "label" in raw else None
    mode = raw.get("labels", "fixed" if label else "folder")
    if mode not in LABEL_MODES:
        check.fail(f"{where}.labels", f"unknown label source {brief(mode)}; choose one of {', '.join(LABEL_MODES)}.")
    if mode == "fixed" and not label:
        check.fail(f"{where}.label", "labels: fixed needs a label (e.g. label: walk).")
    csv = check.path(raw["csv"], f"{where}.csv") if "csv" in raw else None
    if mode == "csv" and csv is None and "csv" not in raw:
        check.fail(f"{where}.csv", "labels: csv needs csv: <file with columns file,label>.")
    start = check.number(raw["start"], f"{where}.start", 0.0, 1e7) if raw.get("start") is not None else None
    end = check.number(raw["end"], f"{where}.end", 0.0, 1e7) if raw.get("end") is not None else None
    if start is not None and end is not None and end <= start:
        check.fail(f"{where}.end", f"must be after start ({end:g} <= {start:g}).")
    hands = check.boolean(raw["hands"], f"{where}.hands") if "hands" in raw else None
    if path is None:
        return None
    return SourceSpec(path=path, labels=mode, label=label, csv=csv, start=start, end=end, hands=hands)


def _identities(check: _Checker, data: Any) -> IdentitiesSpec:
    raw = check.mapping(data, "identities", ("saved", "sample"))
    saved: list[str] = []
    for i, ref in enumerate(check.string_list(raw.get("saved"), "identities.saved")):
        if _SAVED_ID.match(ref):  # a saved person's id: looked up in the data folder's identities
            saved.append(ref)
        elif (path := check.path(ref, f"identities.saved[{i}]")) is not None:  # an identity .json
            saved.append(str(path))
    sample = None
    if raw.get("sample") is not None:
        where = "identities.sample"
        s = check.mapping(raw["sample"], where, ("n", "seed", "mode", "distribution", "config"))
        n = check.integer(s.get("n"), f"{where}.n", 1, 100_000) if "n" in s else None
        if "n" not in s:
            check.fail(f"{where}.n", "missing: how many people to sample.")
        seed = check.integer(s.get("seed", 0), f"{where}.seed", 0)
        mode = s.get("mode", "random")
        if mode not in SAMPLE_MODES:
            check.fail(f"{where}.mode", f"unknown mode {brief(mode)}; choose one of {', '.join(SAMPLE_MODES)}.")
        distribution = s.get("distribution") or {}
        if not isinstance(distribution, Mapping):
            check.fail(f"{where}.distribution", "expected a mapping of IdentityDistribution fields.")
            distribution = {}
        config = check.path(s["config"], f"{where}.config") if s.get("config") is not None else None
        if n is not None and seed is not None:
            sample = SampleSpec(n=n, seed=seed, mode=mode, distribution=dict(distribution), config=config)
    if not saved and sample is None:
        check.fail("identities", "no people: give saved ids (identities.saved) and/or identities.sample.n.")
    return IdentitiesSpec(saved=tuple(saved), sample=sample)


def _backgrounds(check: _Checker, data: Any) -> BackgroundsSpec:
    raw = check.mapping(data, "backgrounds", ("names", "per_clip"))
    names = check.string_list(raw.get("names", [DEFAULT_BACKGROUND]), "backgrounds.names")
    if not names:
        check.fail("backgrounds.names", "empty: list at least one background (a shipped name, a file or #rrggbb).")
    per_clip = None
    if raw.get("per_clip") is not None:
        per_clip = check.integer(raw["per_clip"], "backgrounds.per_clip", 1, max(1, len(names)))
    resolved = [_background_ref(check, name, f"backgrounds.names[{i}]") for i, name in enumerate(names)]
    return BackgroundsSpec(names=tuple(name for name in resolved if name is not None), per_clip=per_clip)


def _background_ref(check: _Checker, name: str, where: str) -> str | None:
    """Shipped names and colours stay as they are; anything that looks like a file becomes absolute.

    Under a confining policy a bare name must be a shipped background (not a file that happens
    to sit in the server's working folder) and a file must be inside the allowed folders.
    """
    if name.strip().lower() == "source":
        return "source"  # the clip's own scene, its person removed
    if name.startswith("#") or ("/" not in name and "\\" not in name and not Path(name).suffix):
        if check.policy.read_roots is not None and not name.startswith("#"):
            from random_people.render.backgrounds import list_backgrounds, shipped_name

            if shipped_name(name) is None:
                check.fail(where, f"unknown background {brief(name)}; choose a shipped one "
                                  f"({', '.join(list_backgrounds())}), a colour like #808080 or an uploaded file.")
                return None
        return name
    path = check.path(name, where)
    return None if path is None else str(path)


def _cameras(check: _Checker, data: Any) -> CamerasSpec:
    raw = check.mapping(data, "cameras", ("source", "sampled", "sampler"))
    source = check.boolean(raw.get("source", True), "cameras.source")
    sampled = check.integer(raw.get("sampled", 0), "cameras.sampled", 0, 1000)
    sampler = raw.get("sampler") or {}
    if not isinstance(sampler, Mapping):
        check.fail("cameras.sampler", "expected a mapping of CameraSampler ranges.")
        sampler = {}
    elif sampler:  # the default ranges are valid (and checking them would import the renderer)
        _check_sampler(check, sampler)
    if source is False and sampled == 0:
        check.fail("cameras", "no cameras: set source: true and/or sampled: N.")
    return CamerasSpec(source=bool(source), sampled=sampled or 0, sampler=dict(sampler))


def camera_sampler(ranges: Mapping[str, Any]):
    """A ``CameraSampler`` from spec data (YAML/JSON lists become the ranges' tuples)."""
    from random_people.render.cameras import CameraSampler

    return CameraSampler(**{k: tuple(v) if isinstance(v, list) else v for k, v in ranges.items()})


def frame_limit(output: Mapping[str, Any], fps: float) -> int | None:
    """Output frames a clip may have under ``max_frames`` and ``max_seconds`` (None: the whole motion)."""
    limit = output.get("max_frames")
    if output.get("max_seconds"):
        by_time = max(1, int(output["max_seconds"] * fps))
        limit = by_time if limit is None else min(limit, by_time)
    return limit


def _check_sampler(check: _Checker, sampler: Mapping[str, Any]) -> None:
    try:
        camera_sampler(sampler)
    except TypeError as exc:
        check.fail("cameras.sampler", f"{exc}; allowed keys are azimuth_deg, elevation_deg, distance_m, "
                                      "horizontal_fov_deg, jitter_deg, fit_margin.")
    except Exception as exc:  # CameraError and friends say which range is wrong
        check.fail("cameras.sampler", str(exc))


def _output(check: _Checker, data: Any) -> OutputSpec:
    allowed = ("dir", "size", "long_side", "fps", "max_seconds", "max_frames", "labels", "shadow", "harmonize",
               "degrade", "crf")
    raw = check.mapping(data, "output", allowed)
    directory = _output_dir(check, raw["dir"]) if raw.get("dir") is not None else None
    size = None
    if raw.get("size") is not None:
        size = _parse_size(check, raw["size"])
    long_side = check.integer(raw.get("long_side", 512), "output.long_side", 16, 4096) or 512
    fps = check.number(raw["fps"], "output.fps", 0.0, 240.0, open_low=True) if raw.get("fps") is not None else None
    max_seconds = None
    if raw.get("max_seconds") is not None:
        max_seconds = check.number(raw["max_seconds"], "output.max_seconds", 0.0, 36000.0, open_low=True)
    max_frames = check.integer(raw["max_frames"], "output.max_frames", 1) if raw.get("max_frames") is not None else None
    labels = check.string_list(raw.get("labels", list(LABEL_OUTPUTS)), "output.labels")
    for i, label in enumerate(labels):
        if label not in LABEL_OUTPUTS:
            check.fail(f"output.labels[{i}]",
                       f"unknown label output {brief(label)}; choose from {', '.join(LABEL_OUTPUTS)}.")
    shadow = check.boolean(raw.get("shadow", True), "output.shadow")
    harmonize = None if raw.get("harmonize") is None else check.number(raw["harmonize"], "output.harmonize", 0.0, 1.0)
    degrade = check.boolean(raw.get("degrade", False), "output.degrade")
    crf = None if raw.get("crf") is None else check.integer(raw["crf"], "output.crf", 0, 51)
    return OutputSpec(
        dir=directory, size=size, long_side=long_side, fps=fps, max_seconds=max_seconds, max_frames=max_frames,
        labels=tuple(labels), shadow=bool(shadow), harmonize=harmonize,
        degrade=bool(degrade), crf=crf,
    )


def _output_dir(check: _Checker, value: Any) -> Path | None:
    """``output.dir``: inside the writable folders (app), and not climbing out of the spec's folder
    through a relative path unless the user said so (CLI ``--allow-output-outside``)."""
    directory = check.path(value, "output.dir", write=True)
    if directory is None or check.policy.allow_output_outside or Path(str(value)).expanduser().is_absolute():
        return directory
    if outside_roots(directory, (check.base_dir.resolve(),)):
        check.fail("output.dir", f"{brief(value)} climbs out of the spec's folder (to {directory}). Give an "
                                 "absolute path, or pass --allow-output-outside if that is where the clips go.")
        return None
    return directory


def _task_count_problem(check: _Checker, identities: IdentitiesSpec, backgrounds: BackgroundsSpec,
                        cameras: CamerasSpec) -> None:
    """Refuse a spec whose clips per source clip alone pass :data:`MAX_TASKS`, before anything is expanded."""
    people = len(identities.saved) + (identities.sample.n if identities.sample else 0)
    per_clip = backgrounds.per_clip or len(backgrounds.names)
    views = int(cameras.source) + cameras.sampled
    per_source = people * per_clip * views
    if per_source > MAX_TASKS:
        check.fail("spec", f"{people:,} people x {per_clip:,} backgrounds x {views:,} cameras is {per_source:,} clips "
                           f"per source clip, more than the {MAX_TASKS:,} tasks a job may have; split it into "
                           "smaller jobs.")


def _review(check: _Checker, data: Any) -> ReviewSpec:
    raw = check.mapping(data, "review", ("min_fidelity",))
    value = raw.get("min_fidelity")
    if value is None:
        return ReviewSpec()
    return ReviewSpec(min_fidelity=check.number(value, "review.min_fidelity", 0.0, 1.0))


def _parse_size(check: _Checker, value: Any) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:  # as stored by JobSpec.to_dict
        value = f"{value[0]}x{value[1]}"
    text = str(value).lower() if isinstance(value, (str, int)) else ""
    width, sep, height = text.partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        check.fail("output.size", f"expected WIDTHxHEIGHT like 512x512, got {brief(value)}.")
        return None
    w, h = int(width), int(height)
    if not (16 <= w <= 4096 and 16 <= h <= 4096):
        check.fail("output.size", f"{w}x{h} is outside 16..4096 pixels per side.")
        return None
    return w, h


def parse_spec(data: Any, base_dir: str | Path = ".", policy: PathPolicy | None = None) -> JobSpec:
    """Validate a spec dict; raises :class:`JobSpecError` listing every problem found.

    ``policy`` says where its paths may point (default: anywhere, as the CLI allows).
    """
    policy = policy or PathPolicy()
    check = _Checker(Path(base_dir).resolve(), policy)
    allowed = ("name", "seed", "auto_accept", "sources", "identities", "backgrounds", "cameras", "output", "review")
    raw = check.mapping(data, "spec", allowed)
    if not raw and not check.problems:
        check.fail("spec", "empty; see `random-people bulk --example` for a complete example.")
    name = check.text(raw.get("name", "job"), "name") or "job"
    seed = check.integer(raw.get("seed", 0), "seed", 0, 2**63 - 1) or 0
    auto_accept = bool(check.boolean(raw.get("auto_accept", False), "auto_accept"))
    sources_raw = raw.get("sources")
    sources: list[SourceSpec] = []
    if not isinstance(sources_raw, list) or not sources_raw:
        check.fail("sources", "missing or empty: list the clips or folders to re-render.")
    else:
        for i, item in enumerate(sources_raw):
            source = _source(check, item, f"sources[{i}]")
            if source is not None:
                sources.append(source)
    identities = _identities(check, raw.get("identities"))
    backgrounds = _backgrounds(check, raw.get("backgrounds"))
    cameras = _cameras(check, raw.get("cameras"))
    output = _output(check, raw.get("output"))
    _task_count_problem(check, identities, backgrounds, cameras)
    if "source" in backgrounds.names and not cameras.source:
        check.fail("backgrounds.names", "'source' (the clip's own scene) is only seen from the source camera; "
                   "set cameras.source: true, or drop 'source' from the backgrounds.")
    review = _review(check, raw.get("review"))
    if check.problems:
        raise JobSpecError(
            f"The job spec has {len(check.problems)} problem(s); nothing was queued:\n  - "
            + "\n  - ".join(check.problems)
        )
    return JobSpec(sources=tuple(sources), identities=identities, backgrounds=backgrounds, cameras=cameras,
                   output=output, name=name, seed=seed, auto_accept=auto_accept, confined_to=policy.read_roots,
                   review=review)


def read_spec_data(path: str | Path, shown_name: str | None = None) -> Any:
    """The parsed YAML/JSON of a spec file, refused early (size, nesting, alias expansion) and clearly.

    ``shown_name`` is how messages call the file (the app shows the upload's own name).
    """
    import yaml

    path = Path(path)
    name = shown_name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise JobSpecError(f"{name} is {size:,} bytes; a job spec is a page of YAML (limit {MAX_SPEC_BYTES:,} "
                               "bytes). Is it the right file? Nothing was read or queued.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobSpecError(
            f"Job spec not found: {name}. `random-people bulk --example` prints one to start from."
        ) from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise JobSpecError(f"{name} is not a text YAML/JSON job spec ({exc}).") from exc
    except OSError as exc:
        raise JobSpecError(f"{name} cannot be read ({exc.strerror or exc}).") from exc
    try:
        _check_yaml_shape(yaml.parse(text, Loader=yaml.SafeLoader), name)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise JobSpecError(f"{name} is not valid YAML/JSON: {exc}") from exc


def _check_yaml_shape(events, name: str) -> None:
    """Walk the YAML event stream (no objects built) and refuse deep nesting and alias bombs.

    Each anchored node's expanded size is remembered, so ``*alias`` costs what it stands for:
    nine nested lists of nine aliases ("billion laughs") are refused after a few hundred events,
    before the loader could build anything, and long before a message could format it.
    """
    import yaml

    sizes: dict[str, int] = {}  # anchor -> values it stands for
    stack: list[list[Any]] = []  # [anchor, values so far] of each open collection
    total = 0

    def count(values: int) -> None:
        nonlocal total
        total += values
        if stack:
            stack[-1][1] += values
        if total > MAX_SPEC_NODES:
            raise JobSpecError(f"{name} expands to more than {MAX_SPEC_NODES:,} values (YAML aliases repeat "
                               "anchored parts); a job spec is far smaller. Nothing was queued.")

    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            count(1)
            stack.append([event.anchor, 1])
            if len(stack) > MAX_SPEC_DEPTH:
                raise JobSpecError(f"{name} nests lists or mappings more than {MAX_SPEC_DEPTH} deep; a job spec "
                                   "needs 4. Nothing was queued.")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, values = stack.pop()
            if anchor is not None:
                sizes[anchor] = values
            if stack:
                stack[-1][1] += values - 1  # the collection itself was counted when it opened
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            count(1)
        elif isinstance(event, yaml.AliasEvent):
            count(sizes.get(event.anchor, 1))


def load_spec(path: str | Path, policy: PathPolicy | None = None, *, base_dir: str | Path | None = None,
              shown_name: str | None = None) -> JobSpec:
    """Read and validate a YAML or JSON spec file (JSON is YAML, so one parser reads both).

    Relative paths are taken from ``base_dir`` (default: the spec's folder).
    """
    path = Path(path)
    data = read_spec_data(path, shown_name)
    try:
        return parse_spec(data, base_dir=path.parent if base_dir is None else base_dir, policy=policy)
    except JobSpecError as exc:  # say which file: a curator may be juggling several specs
        raise JobSpecError(f"{shown_name or path}: {exc}") from None


def spec_from_dict(data: Mapping[str, Any]) -> JobSpec:
    """Rebuild a spec stored in the log by :meth:`JobSpec.to_dict` (paths are already absolute)."""
    return parse_spec(dict(data), base_dir="/")

