"""Fidelity figures on every finished clip: the judge's score of the clip against its labels.

``outputs.fidelity`` (indexed: Review sorts worst first and filters below a threshold) and
``outputs.fidelity_json`` (detection rate, PCK@0.1, cut-off share, frames, cost; see
``random_people/jobs/fidelity.py``). Both stay NULL for clips made before this revision.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fidelity', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('fidelity_json', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outputs_fidelity'), ['fidelity'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outputs_fidelity'))
        batch_op.drop_column('fidelity_json')
        batch_op.drop_column('fidelity')
