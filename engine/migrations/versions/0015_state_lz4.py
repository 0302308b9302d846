"""process_instances.state_json compressed with lz4 on PostgreSQL (issue 14)

PostgreSQL compresses the out-of-line state on every save, by default with pglz. lz4 compresses several times
faster for about the same size. Measured with a scratch script (approval_9 persisted on PostgreSQL 15, 80 instances
after 5 warm-up, the column altered or not, alternated three times): 13.41 / 14.09 / 15.21 instances per second
with pglz, 15.55 / 16.75 / 17.22 with lz4. Rows already stored keep pglz until their next save; both read back.
Nothing on SQLite, nor on a server without lz4 (before 14, or built without it).

Revision ID: state_lz4
Revises: history_chain_indexes
Create Date: 2026-11-29 19:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'state_lz4'
down_revision = 'history_chain_indexes'
branch_labels = None
depends_on = None

_LZ4_AVAILABLE = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


def _postgres_with_lz4() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == 'postgresql' and bool(bind.execute(sa.text(_LZ4_AVAILABLE)).scalar())


def upgrade() -> None:
    if _postgres_with_lz4():
        op.execute("ALTER TABLE process_instances ALTER COLUMN state_json SET COMPRESSION lz4")


def downgrade() -> None:
    if _postgres_with_lz4():
        op.execute("ALTER TABLE process_instances ALTER COLUMN state_json SET COMPRESSION default")
