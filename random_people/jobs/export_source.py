"""What the exporter may publish, read from the log as plain :class:`ExportClip` records.

Rule: a clip is exported when the curator accepted it, or when its job was set to auto-accept
and nobody rejected it. Rejected clips are never exported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import select

from random_people.hub.records import ExportClip, RealClip
from random_people.jobs.db import open_database
from random_people.jobs.expand import EXTRACT, RENDER
from random_people.jobs.models import ACCEPTED, DONE, REJECTED, BackgroundRecord, IdentityRecord, Job, Output, Task
from random_people.jobs.progress import list_jobs
from random_people.jobs.queue import done_render_keys, find_job


def _exportable(output: Output, auto_accept: bool) -> bool:
    return output.review == ACCEPTED or (auto_accept and output.review != REJECTED)


def clips_for_export(database_url: str, job_ids: Sequence[str] | None = None) -> list[ExportClip]:
    """Exportable clips of the given jobs (default: every job), each clip once, in a stable order."""
    db = open_database(database_url)
    with db.session() as session:
        jobs = [find_job(session, job_id) for job_id in job_ids] if job_ids else session.scalars(select(Job)).all()
        kinds = {row.name: row.kind for row in session.scalars(select(BackgroundRecord)).all()}
        identities: dict[str, dict[str, Any]] = {}
        chosen: dict[str, ExportClip] = {}
        for job in jobs:
            for output in session.scalars(select(Output).where(Output.key.in_(done_render_keys(job.id)))).all():
                if output.key in chosen or not _exportable(output, job.auto_accept):
                    continue
                if output.identity_id not in identities:
                    record = session.get(IdentityRecord, output.identity_id)
                    identities[output.identity_id] = json.loads(record.spec_json)
                chosen[output.key] = ExportClip(
                    clip_id=output.key, video_path=Path(output.video_path), action_label=output.label,
                    source_clip_id=output.source_sha256, identity=identities[output.identity_id],
                    identity_id=output.identity_id, background=output.background,
                    background_kind=kinds.get(output.background, "image"), camera=json.loads(output.camera_json),
                    seed=output.seed, generator_version=output.generator_version,
                    mask_path=Path(output.mask_path) if output.mask_path else None,
                    labels_path=Path(output.labels_path) if output.labels_path else None,
                    motion_path=Path(output.motion_path) if output.motion_path else None,
                    source_subject=output.subject, source_name=Path(output.source_path).name or None,
                    job_id=job.id, fps=output.fps, num_frames=output.frames, width=output.width,
                    height=output.height,
                    fidelity=json.loads(output.fidelity_json) if output.fidelity_json else None,
                )
        return sorted(chosen.values(), key=lambda clip: clip.clip_id)


def real_clips_for_export(database_url: str, job_ids: Sequence[str] | None = None) -> list[RealClip]:
    """The real source clips behind the jobs' successful extractions (for the "real" config)."""
    db = open_database(database_url)
    with db.session() as session:
        jobs = [find_job(session, job_id) for job_id in job_ids] if job_ids else session.scalars(select(Job)).all()
        found: dict[str, RealClip] = {}
        for job in jobs:
            for task in session.scalars(select(Task).where(Task.job_id == job.id, Task.kind == EXTRACT,
                                                           Task.state == DONE)).all():
                payload = json.loads(task.payload_json)
                sha = payload.get("source_sha256")
                if sha and sha not in found and Path(payload["clip"]).is_file():
                    found[sha] = RealClip(source_clip_id=sha, video_path=Path(payload["clip"]),
                                          action_label=payload["label"], source_subject=payload.get("subject"))
        return sorted(found.values(), key=lambda clip: clip.source_clip_id)


def job_summaries(database_url: str) -> list[dict[str, Any]]:
    """Jobs for pickers: id, name, state, clip counts and how many are exportable now."""
    db = open_database(database_url)
    summaries = []
    for progress in list_jobs(db, limit=200):
        summaries.append({
            "id": progress.id, "name": progress.name, "state": progress.state,
            "clips": progress.counts.get(RENDER, {}).get(DONE, 0), "auto_accept": progress.auto_accept,
            "exportable": len(clips_for_export(database_url, [progress.id])),
        })
    return summaries
