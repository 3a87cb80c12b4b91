"""Alembic environment: runs on the connection ``open_database`` passes in (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

from random_people.jobs.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through random_people.jobs.db.open_database, which supplies the connection.")

# render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables safely instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
