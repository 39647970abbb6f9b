"""users search text index

`q=` looks for a substring of a user's email or name. Migration 0009 gave each column a trigram
GIN index; a search scanned both and merged them. One trigram index over `email || ' ' || name`
finds the same users (and a few more, which the columns' own conditions drop) in one scan: at a
million users, ~0.5 ms of index reading a search instead of ~1 ms (decision 0149). The two
column indexes go: nothing else reads them.

PostgreSQL builds the index in about 15 s per million rows, blocking writes to users meanwhile;
SQLite gets a plain index it does not use for such patterns.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

LIVE = sa.text('deleted_at IS NULL')


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE INDEX ix_users_live_search_trgm ON users "
            "USING gin (((email || ' ') || name) gin_trgm_ops) WHERE deleted_at IS NULL"
        )
    else:
        op.execute(
            "CREATE INDEX ix_users_live_search_trgm ON users (((email || ' ') || name)) "
            "WHERE deleted_at IS NULL"
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_live_name_trgm')
        batch_op.drop_index('ix_users_live_email_trgm')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(
            'ix_users_live_email_trgm', ['email'], unique=False,
            postgresql_using='gin', postgresql_ops={'email': 'gin_trgm_ops'},
            postgresql_where=LIVE, sqlite_where=LIVE,
        )
        batch_op.create_index(
            'ix_users_live_name_trgm', ['name'], unique=False,
            postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'},
            postgresql_where=LIVE, sqlite_where=LIVE,
        )
        batch_op.drop_index('ix_users_live_search_trgm')
