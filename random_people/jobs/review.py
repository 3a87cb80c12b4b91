"""The curator's review: browse finished clips with filters, accept or reject them.

Decisions live on the :class:`Output` row (with time and an optional note, and an event), so the
exporter, the CLI and the app all respect the same decision, and a clip re-made because its files
were lost keeps it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import select

from random_people.avatar.identity import IdentitySpec
from random_people.jobs.db import Database
from random_people.jobs.errors import JobNotFoundError, JobStateError
from random_people.jobs.models import REVIEW_STATES, Event, IdentityRecord, Job, Output
from random_people.jobs.queue import done_render_keys, find_job, now


ORDERS = ("newest", "worst")


@dataclass(frozen=True)
class ClipFilter:
    """Every field is optional; ``None`` means "any"."""

    job_id: str | None = None
    action: str | None = None
    sex: str | None = None
    age_group: str | None = None
    skin_tone_group: str | None = None
    background: str | None = None
    camera: str | None = None  # "source" | "sampled"
    review: str | None = None  # pending | accepted | rejected
    below_fidelity: float | None = None  # only clips the judge scored below this (unscored clips excluded)
    order: str = "newest"  # newest | worst (lowest fidelity first, unscored last)


@dataclass(frozen=True)
class ClipRow:
    key: str
    job_id: str | None
    video_path: str
    mask_path: str | None
    labels_path: str | None
    action: str
    identity_id: str
    identity: dict[str, Any]
    background: str
    camera: dict[str, Any]
    review: str
    frames: int
    width: int
    height: int
    fidelity: float | None = None
    fidelity_figures: dict[str, Any] | None = None
    review_note: str | None = None

    @property
    def view(self) -> str:
        return "source camera" if self.camera.get("mode") == "source" else f"new camera {self.camera.get('index', 0)}"

    job_name: str = ""

    @property
    def person(self) -> str:
        """``female, adult (34 y), skin tone 5 (medium)``: who the clip shows, in words."""
        from random_people.avatar.identity import age_group, skin_tone_group

        body = self.identity.get("body", {})
        tone = self.identity.get("appearance", {}).get("skin_tone")
        age = float(body.get("age_years", 0))
        try:
            tone_text = f"skin tone {int(tone)} ({skin_tone_group(int(tone))})"
        except Exception:  # noqa: BLE001 - an old or hand-edited spec: say what is known
            tone_text = "skin tone ?"
        return f"{body.get('sex', '?')}, {age_group(age)} ({age:.0f} y), {tone_text}"

    @property
    def score_text(self) -> str:
        return "fidelity not scored" if self.fidelity is None else f"fidelity {self.fidelity:.2f}"

    @property
    def caption(self) -> str:
        """Everything a curator tells clips apart by: action, person, background, camera, fidelity,
        the decision and the job (two jobs' clips of one person differ in job and clip id)."""
        job = self.job_name or self.job_id or "?"
        return (f"{self.action} · {self.person} · {self.background} · {self.view} · {self.score_text} · "
                f"{self.review} · job {job} · clip {self.key[:8]}")


def _identity_matches(spec: IdentitySpec, flt: ClipFilter) -> bool:
    return ((flt.sex is None or spec.body.sex == flt.sex)
            and (flt.age_group is None or spec.body.age_group == flt.age_group)
            and (flt.skin_tone_group is None or spec.appearance.skin_tone_group == flt.skin_tone_group))


def list_clips(db: Database, flt: ClipFilter = ClipFilter(), limit: int = 200, offset: int = 0) -> list[ClipRow]:
    """Finished clips matching ``flt`` in ``flt.order`` (a job's clips include those it reused);
    ``offset`` skips that many matching clips (paging)."""
    return list_clips_page(db, flt, limit, offset)[0]


def list_clips_page(db: Database, flt: ClipFilter = ClipFilter(), limit: int = 200,
                    offset: int = 0) -> tuple[list[ClipRow], int]:
    """(the clips of one page, how many clips match in all): what a paged Review shows."""
    if flt.order not in ORDERS:
        raise JobStateError(f"Unknown order {flt.order!r}; use one of {', '.join(ORDERS)}.")
    with db.session() as session:
        if flt.order == "worst":  # unscored clips last: they are not known to be bad
            query = select(Output).order_by(Output.fidelity.is_(None), Output.fidelity.asc(), Output.created_at.desc())
        else:
            query = select(Output).order_by(Output.created_at.desc())
        if flt.below_fidelity is not None:
            query = query.where(Output.fidelity < float(flt.below_fidelity))
        if flt.job_id:
            query = query.where(Output.key.in_(done_render_keys(find_job(session, flt.job_id).id)))
        if flt.action:
            query = query.where(Output.label == flt.action)
        if flt.background:
            query = query.where(Output.background == flt.background)
        if flt.review:
            query = query.where(Output.review == flt.review)
        identities: dict[str, IdentitySpec] = {}
        job_names = dict(session.execute(select(Job.id, Job.name)).all())
        rows: list[ClipRow] = []
        matched = 0
        for output in session.scalars(query).all():
            camera = json.loads(output.camera_json)
            if flt.camera and camera.get("mode") != flt.camera:
                continue
            spec = identities.get(output.identity_id)
            if spec is None:
                record = session.get(IdentityRecord, output.identity_id)
                spec = IdentitySpec.from_dict(json.loads(record.spec_json))
                identities[output.identity_id] = spec
            if not _identity_matches(spec, flt):
                continue
            matched += 1
            if matched <= offset or len(rows) >= limit:
                continue  # counted, not shown: another page
            rows.append(ClipRow(
                key=output.key, job_id=output.job_id, video_path=output.video_path, mask_path=output.mask_path,
                labels_path=output.labels_path, action=output.label, identity_id=output.identity_id,
                identity=spec.to_dict(), background=output.background, camera=camera, review=output.review,
                frames=output.frames, width=output.width, height=output.height, fidelity=output.fidelity,
                fidelity_figures=json.loads(output.fidelity_json) if output.fidelity_json else None,
                review_note=output.review_note, job_name=job_names.get(output.job_id, ""),
            ))
        return rows, matched


def set_review(db: Database, keys: Sequence[str] | str, decision: str, note: str | None = None) -> int:
    """Record the curator's decision on clips (by output key or unique key prefix); returns how many."""
    if decision not in REVIEW_STATES:
        raise JobStateError(f"Unknown review decision {decision!r}; use one of {', '.join(REVIEW_STATES)}.")
    keys = [keys] if isinstance(keys, str) else list(keys)
    changed = 0
    with db.session() as session:
        for key in keys:
            output = session.get(Output, key)
            if output is None:
                matches = session.scalars(select(Output).where(Output.key.startswith(key))).all()
                if len(matches) != 1:
                    raise JobNotFoundError(f"No single clip with key {key!r} in the log.")
                output = matches[0]
            if output.review != decision:
                output.review, output.reviewed_at, output.review_note = decision, now(), note
                session.add(Event(at=now(), job_id=output.job_id, kind=f"review_{decision}",
                                  message=f"clip {output.key[:16]}" + (f": {note}" if note else "")))
                changed += 1
    return changed


def review_counts(db: Database, job_id: str | None = None) -> dict[str, int]:
    with db.session() as session:
        query = select(Output.review)
        if job_id:
            query = query.where(Output.key.in_(done_render_keys(find_job(session, job_id).id)))
        counts = {state: 0 for state in REVIEW_STATES}
        for state in session.scalars(query).all():
            counts[state] += 1
        return counts


def filter_values(db: Database) -> dict[str, list[str]]:
    """The actions and backgrounds present, for the Review view's dropdowns."""
    with db.session() as session:
        return {
            "action": sorted(set(session.scalars(select(Output.label)).all())),
            "background": sorted(set(session.scalars(select(Output.background)).all())),
        }


def keys_of(rows: Iterable[ClipRow]) -> list[str]:
    return [row.key for row in rows]
