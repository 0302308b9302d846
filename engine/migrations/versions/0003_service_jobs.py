"""service jobs and incidents (issue 3)

Revision ID: service_jobs
Revises: 0001
Create Date: 2026-11-26 11:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'service_jobs'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_jobs',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('instance_id', sa.String(), nullable=False),
    sa.Column('spiff_task_id', sa.String(), nullable=False),
    sa.Column('bpmn_id', sa.String(), nullable=False),
    sa.Column('topic', sa.String(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lock_owner', sa.String(), nullable=True),
    sa.Column('lock_expires_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('run_after', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_details', sa.Text(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_by', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_service_jobs_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_jobs'))
    )
    with op.batch_alter_table('service_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_jobs_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_service_jobs_status_lock_expires_at', ['status', 'lock_expires_at'], unique=False)
        batch_op.create_index('ix_service_jobs_status_run_after', ['status', 'run_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_jobs_topic'), ['topic'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('instance_id', sa.String(), nullable=False),
    sa.Column('job_id', sa.String(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('bpmn_id', sa.String(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_incidents_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['job_id'], ['service_jobs.id'], name=op.f('fk_incidents_job_id_service_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_job_id'), ['job_id'], unique=False)
        batch_op.create_index('ix_incidents_status_created_at', ['status', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_status_created_at')
        batch_op.drop_index(batch_op.f('ix_incidents_job_id'))
        batch_op.drop_index(batch_op.f('ix_incidents_instance_id'))

    op.drop_table('incidents')
    with op.batch_alter_table('service_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_jobs_topic'))
        batch_op.drop_index('ix_service_jobs_status_run_after')
        batch_op.drop_index('ix_service_jobs_status_lock_expires_at')
        batch_op.drop_index(batch_op.f('ix_service_jobs_instance_id'))

    op.drop_table('service_jobs')
