"""history: drop the single-column chain indexes the (chain, seq) unique constraints already provide (issue 14)

`instance_events` and `chain_checkpoints` each had an index on `chain` beside their UNIQUE (chain, seq): every
lookup by chain is served by the unique index's prefix (in chain and seq order, as the history reads want), so the
second index only cost every appended event and checkpoint one more B-tree insert. Measured on SQLite (a scratch
script, 20,000 transactions of 3 events and 3 checkpoints each over 500 chains): 2.01 and 2.04 s CPU with the
indexes, 1.50 and 1.66 s without.

Revision ID: history_chain_indexes
Revises: chain_checkpoints
Create Date: 2026-11-29 15:45:00
"""
from alembic import op

revision = 'history_chain_indexes'
down_revision = 'chain_checkpoints'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instance_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_events_chain'))
    with op.batch_alter_table('chain_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_checkpoints_chain'))


def downgrade() -> None:
    with op.batch_alter_table('chain_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_checkpoints_chain'), ['chain'], unique=False)
    with op.batch_alter_table('instance_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_events_chain'), ['chain'], unique=False)
