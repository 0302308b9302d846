"""timers: one index on (instance_id, status, due_at) instead of (instance_id) alone (issue 14)

The command path reads an instance's waiting timers after every command. SQLite's planner, which has no statistics
here, chose (status, due_at) for that read, walking every waiting timer of every instance; with the instance first
it reads that instance's rows only. The new index's prefix serves every lookup by instance alone.

Revision ID: timers_instance_index
Revises: timers_calendar
Create Date: 2026-11-27 14:50:00
"""
from alembic import op

revision = 'timers_instance_index'
down_revision = 'timers_calendar'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_instance_id_status_due_at', ['instance_id', 'status', 'due_at'],
                              unique=False)
        batch_op.drop_index(batch_op.f('ix_timers_instance_id'))


def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timers_instance_id'), ['instance_id'], unique=False)
        batch_op.drop_index('ix_timers_instance_id_status_due_at')
