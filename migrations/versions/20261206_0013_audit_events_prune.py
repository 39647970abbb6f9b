"""audit events: the append-only trigger admits retention pruning

The trigger of migration 0004 refused every UPDATE and DELETE of audit events. It now admits one
DELETE: of a row older than the cutoff the same transaction set in `app.audit_prune_before`
(`flask audit prune`, services/audit_service.py), and only when that cutoff is at least a day in
the past, so no setting can make it delete what was just recorded. UPDATE stays refused.
Nothing on SQLite (no trigger there; the ORM guard in models/audit_event.py covers both).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 19:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None

PRUNING_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger AS $$
DECLARE
    prune_before text := current_setting('app.audit_prune_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND prune_before IS NOT NULL AND prune_before <> ''
       AND prune_before::timestamptz <= now() - interval '1 day'
       AND OLD.created_at < prune_before::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PRUNING_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
