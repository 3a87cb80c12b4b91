"""Source clips of a job and their action labels (folder names, a CSV, or Smarthome file names).

A source that cannot be used (a missing file, a name that does not parse) is *not* an error for
the whole job: it becomes a :class:`SourceClip` with a ``problem``, its extraction task fails with
that message, and every other clip is still made. Only what makes the clip list itself unknowable
(an unreadable CSV) stops the job before it is queued.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from random_people.datasets.smarthome import parse_smarthome_name
from random_people.jobs.errors import JobSpecError
from random_people.jobs.spec import JobSpec, SourceSpec, brief, label_problem, outside_roots

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v")
UNKNOWN_LABEL = "unlabelled"


@dataclass(frozen=True)
class SourceClip:
    """One real clip to extract, with its label and, where known, the real subject."""

    path: Path
    label: str
    start: float | None = None
    end: float | None = None
    subject: str | None = None
    problem: str | None = None  # why it cannot be used; its extraction task fails with this
    hands: bool = False  # fit the fingers too (the source's ``hands: true``)


def _videos_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                  and not p.name.startswith("."))


def _labelled(path: Path, source: SourceSpec) -> SourceClip:
    """Label one existing file by the source's rule (``fixed``, ``folder`` or ``smarthome``)."""
    trim = dict(start=source.start, end=source.end)
    if source.labels == "fixed":
        return SourceClip(path, source.label or UNKNOWN_LABEL, **trim)
    if source.labels == "folder":
        return SourceClip(path, source.label or path.parent.name or UNKNOWN_LABEL, **trim)
    try:
        name = parse_smarthome_name(path)
    except ValueError as exc:
        return SourceClip(path, UNKNOWN_LABEL, problem=str(exc), **trim)
    return SourceClip(path, name.action, subject=name.subject_id, **trim)


def _from_csv(source: SourceSpec) -> list[SourceClip]:
    """Rows ``file,label[,start,end]``; files are relative to the source path (or the CSV's folder)."""
    table = source.csv
    if table is None or not table.is_file():
        raise JobSpecError(f"Labels CSV not found: {table}. Give csv: <file with columns file,label>.")
    root = source.path if source.path.is_dir() else table.parent
    clips: list[SourceClip] = []
    try:
        with table.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"file", "label"} - set(reader.fieldnames or [])
            if missing:
                raise JobSpecError(f"{table}: missing column(s) {', '.join(sorted(missing))}; "
                                   "the header must be file,label[,start,end].")
            for line, row in enumerate(reader, start=2):
                clips.append(_csv_row(table, root, line, row))
    except UnicodeDecodeError as exc:
        raise JobSpecError(f"{table} is not a UTF-8 text CSV ({exc}).") from exc
    if not clips:
        raise JobSpecError(f"{table} lists no clips (it has a header but no rows).")
    return clips


def _csv_row(table: Path, root: Path, line: int, row: dict[str, str]) -> SourceClip:
    file_name, label = (row.get("file") or "").strip(), (row.get("label") or "").strip()
    path = (root / file_name).resolve()
    where = f"{table.name} line {line}"
    if not file_name or not label:
        return SourceClip(path, label or UNKNOWN_LABEL, problem=f"{where}: empty file or label.")
    try:
        start = float(row["start"]) if (row.get("start") or "").strip() else None
        end = float(row["end"]) if (row.get("end") or "").strip() else None
    except ValueError:
        return SourceClip(path, label, problem=f"{where}: start/end must be numbers of seconds.")
    problem = None if path.is_file() else f"Source clip not found: {path} ({where})."
    return SourceClip(path, label, start=start, end=end, problem=problem)


def resolve_source(source: SourceSpec) -> list[SourceClip]:
    """The clips one ``sources[i]`` entry names (each with the source's ``hands`` choice)."""
    clips = _resolve_source(source)
    return [dataclasses.replace(clip, hands=True) for clip in clips] if source.hands else clips


def _resolve_source(source: SourceSpec) -> list[SourceClip]:
    if source.labels == "csv":
        return _from_csv(source)
    path = source.path
    if path.is_file():
        return [_labelled(path, source)]
    if path.is_dir():
        videos = _videos_under(path)
        if not videos:
            return [SourceClip(path, source.label or UNKNOWN_LABEL,
                               problem=f"No video files ({', '.join(VIDEO_SUFFIXES)}) under {path}.")]
        return [_labelled(video, source) for video in videos]
    return [SourceClip(path, source.label or UNKNOWN_LABEL,
                       problem=f"Source clip not found: {path}. Check the path in the job spec; "
                               "the rest of the job goes on without it.")]


MAX_LISTED_PROBLEMS = 10


def resolve_sources(spec: JobSpec) -> list[SourceClip]:
    """Every source clip of a job, in spec order, each file once (the first mention wins).

    Raises :class:`JobSpecError`, listing them, for labels that cannot be used (from a CSV, a
    folder or a file name: control characters, path separators, too long) and, for a spec confined
    to some folders (the app's uploads), for clips that lie outside them (a CSV row ``../../x``,
    a symlink out of a source folder).
    """
    seen: set[tuple[Path, float | None, float | None]] = set()
    clips: list[SourceClip] = []
    problems: list[str] = []
    for index, source in enumerate(spec.sources):
        for clip in resolve_source(source):
            key = (clip.path, clip.start, clip.end)
            if key in seen:
                logger.info("Source %s is listed more than once; using it once", clip.path)
                continue
            seen.add(key)
            problems += _clip_problems(clip, source, f"sources[{index}]", spec.confined_to)
            clips.append(clip)
    if problems:
        more = len(problems) - MAX_LISTED_PROBLEMS
        shown = problems[:MAX_LISTED_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
        raise JobSpecError("The job's source clips cannot be used; nothing was queued:\n  - " + "\n  - ".join(shown))
    return clips


def _clip_problems(clip: SourceClip, source: SourceSpec, where: str, roots: tuple[Path, ...] | None) -> list[str]:
    problems = []
    origin = {"csv": f"in {source.csv.name if source.csv else 'the CSV'}", "folder": "from its folder's name",
              "smarthome": "from its file name"}.get(source.labels, "")
    problem = label_problem(clip.label)
    if problem:
        problems.append(f"{where}: the action label {brief(clip.label)} of {brief(clip.path.name)} "
                        f"({origin or 'given'}) {problem}.")
    if outside_roots(clip.path, roots):
        problems.append(f"{where}: {brief(clip.path.name)} is outside the folders this app may read (a link or "
                        "a path leading out of its data folder); upload the clip instead.")
    return problems
