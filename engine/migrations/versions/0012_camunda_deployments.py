"""Deployments made through Camunda's /engine-rest/deployment/create (issue 12)

Revision ID: camunda_deployments
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

from engine.db import UTCDateTime

revision = 'camunda_deployments'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('camunda_deployments',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=True),
    sa.Column('source', sa.String(), nullable=True),
    sa.Column('deployed_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(), nullable=False),
    sa.Column('definition_ids', sa.JSON(), nullable=False),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camunda_deployments'))
    )
    with op.batch_alter_table('camunda_deployments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_camunda_deployments_name'), ['name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('camunda_deployments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camunda_deployments_name'))
    op.drop_table('camunda_deployments')
