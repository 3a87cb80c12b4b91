"""Where exported clips come from: the job log (``random_people.jobs.export_source``).

One seam so the CLI and the app ask one function, and the export tests can feed it clips of
their own; the exporter itself only ever sees :class:`ExportClip` records.
"""

from __future__ import annotations

from typing import Any

from random_people.hub.records import ExportClip, RealClip
from random_people.jobs import export_source


def load_export_clips(database_url: str, job_ids: list[str] | None = None) -> list[ExportClip]:
    """Clips to export: accepted by the curator, or all finished ones of auto-accept jobs."""
    return list(export_source.clips_for_export(database_url, job_ids=job_ids or None))


def load_real_clips(database_url: str, job_ids: list[str] | None = None) -> list[RealClip]:
    """The real source clips behind those jobs (for the ``real`` config)."""
    return list(export_source.real_clips_for_export(database_url, job_ids=job_ids or None))


def load_job_summaries(database_url: str) -> list[dict[str, Any]]:
    """Jobs for pickers: ``id``, ``name`` and counts, as the job log reports them."""
    return list(export_source.job_summaries(database_url))
