"""timers and calendars: loaded calendar years, the shared simulated time, clock pauses, timer facts, task SLA dues
(issue 5)

Revision ID: timers_calendar
Revises: 0001
Create Date: 2026-11-26 11:30:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'timers_calendar'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_years',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('loaded_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_years')),
    sa.UniqueConstraint('year', 'version', name=op.f('uq_calendar_years_year'))
    )
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_years_year'), ['year'], unique=False)

    op.create_table('simulated_time',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('now', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_simulated_time'))
    )
    op.create_table('clock_pauses',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('instance_id', sa.String(), nullable=False),
    sa.Column('task_id', sa.String(), nullable=False),
    sa.Column('bpmn_id', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('paused_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resumed_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_clock_pauses_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], name=op.f('fk_clock_pauses_task_id_human_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_pauses'))
    )
    with op.batch_alter_table('clock_pauses', schema=None) as batch_op:
        batch_op.create_index('ix_clock_pauses_instance_resumed', ['instance_id', 'resumed_at'], unique=False)

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pausable', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('paused_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('basis', sa.JSON(), nullable=True))

    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statutory_due_at', engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('paused_wd', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_column('paused_wd')
        batch_op.drop_column('paused_on')
        batch_op.drop_column('statutory_due_at')

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_column('basis')
        batch_op.drop_column('paused_on')
        batch_op.drop_column('pausable')

    with op.batch_alter_table('clock_pauses', schema=None) as batch_op:
        batch_op.drop_index('ix_clock_pauses_instance_resumed')

    op.drop_table('clock_pauses')
    op.drop_table('simulated_time')
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_years_year'))

    op.drop_table('calendar_years')
