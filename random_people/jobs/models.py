"""The job log's tables (SQLAlchemy 2 declarative models).

Times are UTC epoch seconds (floats): heartbeats and ETAs are arithmetic on them, and they mean
the same on SQLite and PostgreSQL. JSON columns hold specs, payloads and results as text so any
SQLAlchemy backend stores them. The schema is created and upgraded by Alembic
(``random_people/jobs/migrations``); change a model only together with a new migration.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Task states. A task moves queued -> running -> done | failed; cancel and retry move it back.
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
TASK_STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
# Job states: queued/running while work remains; paused (no new claims); finished as done, failed
# (some task failed) or cancelled.
PAUSED = "paused"
JOB_STATES = (QUEUED, RUNNING, PAUSED, DONE, FAILED, CANCELLED)
# The curator's decision on a finished clip.
PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"
REVIEW_STATES = (PENDING, ACCEPTED, REJECTED)


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    spec_json: Mapped[str] = mapped_column(Text)
    output_dir: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    auto_accept: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Task(Base):
    """One unit of a job. Jobs may share keys (same spec twice, or the same clip): a key then has
    one task per job, but at most one of them runs at a time (``ux_tasks_running_key``, migration
    0002), so two jobs never write the same outputs or clear each other's staging files."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("job_id", "key", name="uq_tasks_job_key"),
        Index("ix_tasks_state_job", "state", "job_id"),
        Index("ix_tasks_key", "key"),
        Index("ux_tasks_running_key", "key", unique=True, sqlite_where=text(f"state = '{RUNNING}'"),
              postgresql_where=text(f"state = '{RUNNING}'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    depends_on: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)


class SourceFile(Base):
    """A source clip seen by a job: the hash cache (path, size, mtime -> SHA-256) and its label."""

    __tablename__ = "clips"

    path: Mapped[str] = mapped_column(Text, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    seen_at: Mapped[float] = mapped_column(Float)


class MotionRecord(Base):
    """An extracted motion, addressed by its extraction task's key (shared by every job)."""

    __tablename__ = "motions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_path: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    frames: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class IdentityRecord(Base):
    __tablename__ = "identities"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class BackgroundRecord(Base):
    __tablename__ = "backgrounds"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # plain | image | video | source
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Output(Base):
    """A finished clip, addressed by its render task's key; carries the curator's review."""

    __tablename__ = "outputs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, index=True)
    video_path: Mapped[str] = mapped_column(Text)
    mask_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    labels_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    motion_key: Mapped[str] = mapped_column(String(64))
    motion_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    identity_id: Mapped[str] = mapped_column(String(32), index=True)
    background: Mapped[str] = mapped_column(Text)
    camera_json: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200), index=True)
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    generator_version: Mapped[str] = mapped_column(String(64))
    frames: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    checksums_json: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    review: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    reviewed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The judge's score of the clip against its labels (random_people/jobs/fidelity.py); NULL: not scored.
    fidelity: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    fidelity_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class Event(Base):
    """Every state change, with time, reason and who made it: the log behind progress and audits."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_job_at", "job_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
