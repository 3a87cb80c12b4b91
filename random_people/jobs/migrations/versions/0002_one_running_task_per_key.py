"""At most one running task per key, across all jobs (a partial unique index).

Two jobs that share a key (the same spec queued twice, or two specs needing the same clip) must
not run it at once: both would write the same outputs and clear each other's staging files. The
queue already skips a key running elsewhere when it claims; this index makes the database refuse
a second holder even when two claims race (PostgreSQL's READ COMMITTED allows it).

Partial indexes exist on SQLite and PostgreSQL (the backends we support); elsewhere the index is
not created and the claim-time check alone keeps keys apart.

A log upgraded while two tasks of one key are running keeps the oldest and requeues the others;
their workers' reports are then fenced out like those of any reclaimed task.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

RUNNING_ONLY = sa.text("state = 'running'")


PARTIAL_INDEX_DIALECTS = ("sqlite", "postgresql")


def upgrade() -> None:
    if op.get_bind().dialect.name not in PARTIAL_INDEX_DIALECTS:
        return
    op.execute(sa.text(
        "UPDATE tasks SET state = 'queued', worker = NULL, heartbeat_at = NULL "
        "WHERE state = 'running' AND id NOT IN "
        "(SELECT MIN(id) FROM tasks WHERE state = 'running' GROUP BY \"key\")"
    ))
    op.create_index('ux_tasks_running_key', 'tasks', ['key'], unique=True,
                    sqlite_where=RUNNING_ONLY, postgresql_where=RUNNING_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name not in PARTIAL_INDEX_DIALECTS:
        return
    op.drop_index('ux_tasks_running_key', table_name='tasks')
