"""The consent record a capture needs: no record, no capture.

A captured avatar is a real person's likeness. The record says what they agreed to, who
recorded their agreement and when; it travels inside the identity's provenance (and so into
every label and dataset card that names the identity). It is given as text or as a file: a JSON
file with ``statement``, ``recorded_by`` and ``date`` (YYYY-MM-DD), or any UTF-8 text file,
whose text is the statement (then ``recorded_by`` and ``date`` come from the caller).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from random_people.errors import RandomPeopleError

MIN_STATEMENT_CHARS = 20  # "yes" is not a statement of what was agreed to
MAX_STATEMENT_CHARS = 4000


class ConsentError(RandomPeopleError):
    """Capture refused: no consent record, or one that does not say what was agreed."""

    exit_code = 31


@dataclass(frozen=True)
class ConsentRecord:
    """What the person agreed to, who recorded it, and the date (ISO YYYY-MM-DD)."""

    statement: str
    recorded_by: str
    date: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def consent_record(statement: str, recorded_by: str = "", date: str | None = None) -> ConsentRecord:
    """A validated record; raises :class:`ConsentError` saying what is missing."""
    statement = _clean(statement or "")
    if len(statement) < MIN_STATEMENT_CHARS:
        raise ConsentError(
            "Capture refused: no consent statement. A captured avatar is a real person's likeness; give the "
            "consent they gave (e.g. --consent \"Jane Doe agrees to be captured as an avatar for synthetic "
            f"training data, recorded 2026-12-01\", at least {MIN_STATEMENT_CHARS} characters) or a consent file."
        )
    if len(statement) > MAX_STATEMENT_CHARS:
        raise ConsentError(f"The consent statement is {len(statement):,} characters; keep it under "
                           f"{MAX_STATEMENT_CHARS:,} (link a longer form from it).")
    recorded_by = _clean(recorded_by or "") or "not stated"
    date = (date or _dt.date.today().isoformat()).strip()
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        raise ConsentError(f"The consent date {date!r} is not a date; write it as YYYY-MM-DD.") from None
    return ConsentRecord(statement, recorded_by[:200], date)


def read_consent(value: str | os.PathLike[str] | None, recorded_by: str = "", date: str | None = None) -> ConsentRecord:
    """The record from ``value``: a path to a JSON or text file, or the statement itself."""
    if value is None or not str(value).strip():
        return consent_record("", recorded_by, date)
    text = str(value)
    path = Path(text)
    looks_like_file = len(text) < 1024 and "\n" not in text and path.suffix.lower() in (".json", ".txt", ".md")
    if looks_like_file and not path.is_file():
        raise ConsentError(f"The consent file {text} does not exist; give its path, or the statement as text.")
    if looks_like_file:
        if path.stat().st_size > 64 * 1024:
            raise ConsentError(f"The consent file {path.name} is over 64 kB; a consent record is a few lines.")
        try:
            body = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConsentError(f"The consent file {path.name} is not UTF-8 text.") from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(body)
            except json.JSONDecodeError as exc:
                raise ConsentError(f"The consent file {path.name} is not valid JSON ({exc.msg}).") from None
            if not isinstance(data, dict):
                raise ConsentError(f"The consent file {path.name} must hold an object with statement, recorded_by, date.")
            return consent_record(str(data.get("statement", "")), str(data.get("recorded_by", recorded_by)),
                                  data.get("date", date))
        return consent_record(body, recorded_by, date)
    return consent_record(text, recorded_by, date)


def check_provenance_consent(provenance: dict) -> None:
    """A captured identity's provenance must carry a consent record (raises :class:`ConsentError`)."""
    consent = provenance.get("consent")
    if not isinstance(consent, dict):
        raise ConsentError("provenance.consent: a captured identity must record the person's consent.")
    consent_record(str(consent.get("statement", "")), str(consent.get("recorded_by", "")), consent.get("date"))
