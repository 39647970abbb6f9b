"""users emails normalised

Existing emails are rewritten into the form `domain.emails.normalize_email` now gives them
(NFKC, local part lower-cased, domain mapped by IDNA UTS #46; decision 0080), so that
`admin@ａｃｃｅｐｔａｎｃｅ.example` and `admin@acceptance.example` are one account.

Nothing is merged. Live users whose emails normalise to the same address (a collision) are
left exactly as they are and reported, as are emails that are no valid address any more: an
operator decides (see docs/migration.md). Every rewritten email keeps its original in
`email_normalisations`, so the downgrade restores it exactly (unless it changed since).

Reads users in batches of 5,000 by id; about 50 µs a row (a minute per million users).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:30:00

"""
import logging
from collections import defaultdict
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import models.base
from domain.emails import normalize_email


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")
BATCH = 5000

users = sa.table(
    'users',
    sa.column('id', sa.BigInteger()),
    sa.column('email', sa.String()),
    sa.column('deleted_at', models.base.UTCDateTime()),
)
normalisations = sa.table(
    'email_normalisations',
    sa.column('user_id', sa.BigInteger()),
    sa.column('original_email', sa.String()),
    sa.column('normalised_email', sa.String()),
    sa.column('normalised_at', models.base.UTCDateTime()),
)


def upgrade():
    op.create_table(
        'email_normalisations',
        sa.Column('user_id', models.base.BigIntegerId, nullable=False),
        sa.Column('original_email', sa.String(length=320), nullable=False),
        sa.Column('normalised_email', sa.String(length=320), nullable=False),
        sa.Column('normalised_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_email_normalisations_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_email_normalisations')),
    )
    connection = op.get_bind()
    changes, live = _changed_emails(connection)
    colliding = _collisions(connection, changes, live)
    rewrites = [change for change in changes if change['user_id'] not in colliding]
    now = datetime.now(UTC)
    for start in range(0, len(rewrites), BATCH):
        batch = rewrites[start:start + BATCH]
        connection.execute(
            normalisations.insert(), [change | {'normalised_at': now} for change in batch]
        )
        connection.execute(
            users.update()
            .where(users.c.id == sa.bindparam('uid'))
            .values(email=sa.bindparam('normal')),
            [{'uid': c['user_id'], 'normal': c['normalised_email']} for c in batch],
        )
    logger.info("0008: %d email(s) normalised", len(rewrites))


def _changed_emails(connection):
    """Every user whose email changes, as {user_id, original_email, normalised_email}, and the
    ids of those who are live; emails that are no valid address are reported and left alone."""
    changes = []
    live_ids = set()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.email, users.c.deleted_at.is_(None))
            .where(users.c.id > last_id)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return changes, live_ids
        for user_id, email, live in rows:
            try:
                normal = normalize_email(email)
            except ValueError:
                logger.warning(
                    "0008: user %s: email is no valid address; left unchanged", user_id
                )
                continue
            if normal != email:
                changes.append(
                    {'user_id': user_id, 'original_email': email, 'normalised_email': normal}
                )
                if live:
                    live_ids.add(user_id)
        last_id = rows[-1][0]


def _collisions(connection, changes, live_ids):
    """The ids of changing live users whose new email another live user has or would get; each
    collision is reported with every live user in it."""
    claimants = defaultdict(set)
    for change in changes:
        if change['user_id'] in live_ids:
            claimants[change['normalised_email']].add(change['user_id'])
    targets = list(claimants)
    for start in range(0, len(targets), BATCH):
        holders = connection.execute(
            sa.select(users.c.id, users.c.email).where(
                users.c.email.in_(targets[start:start + BATCH]), users.c.deleted_at.is_(None)
            )
        )
        for user_id, email in holders:
            claimants[email].add(user_id)
    colliding = set()
    for email, ids in claimants.items():
        if len(ids) > 1:
            colliding |= ids
            logger.warning(
                "0008: users %s share the email %s once normalised; left unchanged, not merged "
                "(see docs/migration.md)", ", ".join(map(str, sorted(ids))), email,
            )
    return colliding


def downgrade():
    connection = op.get_bind()
    restored = connection.execute(
        sa.select(normalisations.c.user_id, normalisations.c.original_email)
        .select_from(normalisations.join(users, users.c.id == normalisations.c.user_id))
        .where(users.c.email == normalisations.c.normalised_email)
    ).all()
    for start in range(0, len(restored), BATCH):
        connection.execute(
            users.update()
            .where(users.c.id == sa.bindparam('uid'))
            .values(email=sa.bindparam('original')),
            [{'uid': user_id, 'original': email} for user_id, email in restored[start:start + BATCH]],
        )
    op.drop_table('email_normalisations')
