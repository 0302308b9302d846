"""HMAC-signed checkpoint per history event, so a rehashed chain is named at its first rewritten row (issue 10)

Revision ID: chain_checkpoints
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = 'chain_checkpoints'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chain_checkpoints',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('chain', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(), nullable=False),
    sa.Column('signature', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_checkpoints')),
    sa.UniqueConstraint('chain', 'seq', name=op.f('uq_chain_checkpoints_chain'))
    )
    with op.batch_alter_table('chain_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_checkpoints_chain'), ['chain'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chain_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_checkpoints_chain'))
    op.drop_table('chain_checkpoints')
