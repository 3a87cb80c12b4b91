"""Where exported clips come from: the job log (issue 5's ``random_people.jobs.export_source``).

One indirection so the CLI and the app ask one function, and so a checkout without the job system
gives a clear error instead of an ImportError traceback.
"""

from __future__ import annotations

from typing import Any

from random_people.hub.errors import ExportError
from random_people.hub.records import ExportClip, RealClip


def _export_source():
    try:
        from random_people.jobs import export_source
    except ImportError as exc:
        raise ExportError(f"the job log is not available in this install ({exc}); export needs bulk jobs "
                          "(random_people.jobs) to know which clips were accepted.") from exc
    return export_source


def load_export_clips(database_url: str, job_ids: list[str] | None = None) -> list[ExportClip]:
    """Clips to export: accepted by the curator, or all finished ones of auto-accept jobs."""
    return list(_export_source().clips_for_export(database_url, job_ids=job_ids or None))


def load_real_clips(database_url: str, job_ids: list[str] | None = None) -> list[RealClip]:
    """The real source clips behind those jobs (for the ``real`` config)."""
    return list(_export_source().real_clips_for_export(database_url, job_ids=job_ids or None))


def load_job_summaries(database_url: str) -> list[dict[str, Any]]:
    """Jobs for pickers: ``id``, ``name`` and counts, as the job log reports them."""
    return list(_export_source().job_summaries(database_url))
