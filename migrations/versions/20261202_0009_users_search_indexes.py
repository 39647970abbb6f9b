"""users search indexes

What keeps an administrator's list fast at a million users (decision 0121):
- `q=` (a substring of email or name): trigram GIN indexes on `email` (stored lower-cased) and
  `name` of live users, which serve `email LIKE '%q%'` and `name ILIKE '%q%'` (pg_trgm;
  PostgreSQL only — SQLite gets plain indexes on the same columns, which it does not use for
  such patterns);
- `role=`: live users' (role, id), read in id order without a sort.

Building them blocks writes to users while they read the table (about 15 s per million rows);
CREATE EXTENSION needs a role allowed to create pg_trgm (trusted since PostgreSQL 13: the
database owner may).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LIVE = sa.text('deleted_at IS NULL')


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
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
        batch_op.create_index(
            'ix_users_live_role_id', ['role', 'id'], unique=False,
            postgresql_where=LIVE, sqlite_where=LIVE,
        )


def downgrade():
    # The extension stays: other objects may use it, and it costs nothing unused.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_live_role_id')
        batch_op.drop_index('ix_users_live_name_trgm')
        batch_op.drop_index('ix_users_live_email_trgm')
