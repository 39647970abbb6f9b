"""The hot queries are served by indexes: PostgreSQL's plans, read with sequential scans off
(on a table this small the planner would otherwise scan it whatever indexes exist)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from models import AuthSession, RefreshToken, User, db
from services import user_service
from services.auth import authentication

pytestmark = [pytest.mark.integration, pytest.mark.postgres_only]

PAGE = {"name": None, "needle": None, "role": None, "is_active": None, "limit": 20, "offset": 40}
COUNT, LIST_PAGE = user_service.list_statements(
    user_service.ListShape(False, False, False, False, (("id", False),))
)
_, BY_NAME = user_service.list_statements(
    user_service.ListShape(False, False, False, False, (("name", False),))
)
# Descending, with ties still by ascending id: the name index read backwards, then the ties sorted.
_, BY_NAME_DESC = user_service.list_statements(
    user_service.ListShape(False, False, False, False, (("name", True),))
)
SEARCH_COUNT, SEARCH = user_service.list_statements(
    user_service.ListShape(False, True, False, False, (("id", False),))
)
# A search whose count is not cached: its page of rows with the window count, in one statement.
COUNTED_SEARCH = user_service.search_statement(
    user_service.ListShape(False, True, False, False, (("id", False),))
)
# The same for a needle of four characters or more: its candidates from the quadgram index.
QUADGRAM_SHAPE = user_service.ListShape(
    False, True, False, False, (("id", False),), by_quadgrams=True
)
QUADGRAM_SEARCH_COUNT, QUADGRAM_SEARCH = user_service.list_statements(QUADGRAM_SHAPE)
COUNTED_QUADGRAM_SEARCH = user_service.search_statement(QUADGRAM_SHAPE)
ROLE_COUNT, BY_ROLE = user_service.list_statements(
    user_service.ListShape(False, False, True, False, (("id", False),))
)
_, ANCHORED = user_service.list_statements(
    user_service.ListShape(False, False, False, False, (("id", False),), anchored=True)
)
# A needle few users match (user12345 of 20,000), as the service binds it.
NEEDLE = {"needle": f"%{user_service.escape_like('12345')}%", "needle_text": "12345"}
# The services' own statements where they are prebuilt, with their parameters bound.
QUERIES = {
    "user by id": user_service.USER_BY_ID.params(user_id=5),
    "user by email": select(User).where(User.email == "a@example.com", User.deleted_at.is_(None)),
    "token check": authentication.CALLER_ROLE.params(session_id="abc", caller_id=5),
    "user by id with the token check": user_service.USER_BY_ID_FOR_CALLER.params(
        session_id="abc", caller_id=5, user_id=7
    ),
    "own user with the token check": user_service.OWN_USER_FOR_CALLER.params(
        session_id="abc", caller_id=5
    ),
    "list page": LIST_PAGE.params(PAGE),
    "refresh token": select(RefreshToken).where(RefreshToken.token_hash == "f" * 64),
    "user sessions": select(AuthSession.id).where(AuthSession.user_id == 5),
    "sorted by name": BY_NAME.params(PAGE),
    "sorted by name descending": BY_NAME_DESC.params(PAGE),
    "count": COUNT,
    "search": SEARCH.params(PAGE | NEEDLE),
    "search count": SEARCH_COUNT.params(NEEDLE),
    "counted search": COUNTED_SEARCH.params(PAGE | NEEDLE),
    "quadgram search": QUADGRAM_SEARCH.params(PAGE | NEEDLE),
    "quadgram search count": QUADGRAM_SEARCH_COUNT.params(NEEDLE),
    "counted quadgram search": COUNTED_QUADGRAM_SEARCH.params(PAGE | NEEDLE),
    "role filter": BY_ROLE.params(PAGE | {"role": "admin"}),
    "role count": ROLE_COUNT.params(role="admin"),
    "anchored page": ANCHORED.params(PAGE | {"from_id": 12_001}),
    "live id at an anchor": user_service.LIVE_ID_AT.params(anchor_offset=12_000),
}


def nodes(plan: dict) -> list[tuple[str, str | None]]:
    """Every (node type, index name) of a plan tree."""
    found = [(plan["Node Type"], plan.get("Index Name"))]
    for child in plan.get("Plans", []):
        found.extend(nodes(child))
    return found


def node_types(plan: dict) -> list[str]:
    return [node_type for node_type, _ in nodes(plan)]


# Users like the benchmark's, for plans that depend on what the table holds; one administrator.
SEED_USERS = text(
    "INSERT INTO users (email, name, role, is_active, email_verified, created_at, updated_at,"
    " legacy_id)"
    " SELECT 'user' || i || '@bench.example.com', 'Bench User ' || i,"
    " CASE WHEN i = 1 THEN 'admin' ELSE 'user' END, true, true, now(), now(),"
    " lpad(i::text, 24, '0')"
    " FROM generate_series(1, :count) AS i"
)


def plan_of(app, name: str) -> dict:
    with app.app_context(), db.engine.begin() as connection:
        statement = QUERIES[name].compile(connection, compile_kwargs={"literal_binds": True})
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        raw = connection.execute(text(f"EXPLAIN (FORMAT JSON) {statement}")).scalar_one()
    return (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]


@pytest.fixture
def many_users(app, is_postgres):
    """20,000 users, vacuumed and analysed as autovacuum leaves a live table: plans that depend
    on what the table holds (the tables are emptied after the test)."""
    if not is_postgres:
        pytest.skip("reads PostgreSQL plans")
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(SEED_USERS, {"count": 20_000})
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE users"))


@pytest.mark.parametrize("name", list(QUERIES))
def test_hot_query_uses_an_index(app, is_postgres, name):
    if not is_postgres:
        pytest.skip("reads PostgreSQL plans")
    plan = plan_of(app, name)
    assert "Seq Scan" not in node_types(plan), f"{name}: {node_types(plan)}"


def test_a_list_page_skips_its_offset_on_the_live_ids_alone(app, is_postgres):
    """The page's ids come from an index-only scan; only its 20 rows are read from the table."""
    if not is_postgres:
        pytest.skip("reads PostgreSQL plans")
    assert ("Index Only Scan", "ix_users_live_id") in nodes(plan_of(app, "list page"))


@pytest.mark.parametrize("name", ["list page", "anchored page", "live id at an anchor"])
def test_a_deep_page_walks_live_ids_from_its_anchor(app, many_users, name):
    """The live id at an anchor, and a page from it, come from the live ids alone (the anchored
    page's start is an index condition, not a filter)."""
    plan = plan_of(app, name)
    assert ("Index Only Scan", "ix_users_live_id") in nodes(plan), nodes(plan)
    if name == "anchored page":
        assert "id >= 12001" in json.dumps(plan), plan


@pytest.mark.parametrize("name", ["search", "search count", "counted search"])
def test_a_search_finds_its_matches_on_the_trigram_index(app, many_users, name):
    """`q=` of fewer than four characters (here: the statement of a longer one on SQLite) reads
    the trigram index of email and name together (migration 0015), once, never an order's index
    filtered row by row: that reads the whole table when few users match (decisions 0121,
    0149)."""
    found = nodes(plan_of(app, name))
    scans = [index for node_type, index in found if node_type == "Bitmap Index Scan"]
    assert scans == ["ix_users_live_search_trgm"], found


@pytest.mark.parametrize(
    "name", ["quadgram search", "quadgram search count", "counted quadgram search"]
)
def test_a_long_needle_finds_its_candidates_on_the_quadgram_index(app, many_users, name):
    """`q=` of four characters or more reads the quadgram index (migration 0016) alone: its
    rarest quadgram's users, not its rarest trigram's (decision 0150)."""
    found = nodes(plan_of(app, name))
    scans = [index for node_type, index in found if node_type == "Bitmap Index Scan"]
    assert scans == ["ix_users_live_search_quadgrams"], found


@pytest.mark.parametrize("name", ["role filter", "role count"])
def test_a_role_filter_reads_live_ids_of_that_role_in_order(app, many_users, name):
    """`role=` walks (role, id) of live users: no sort, no filter over every user."""
    found = nodes(plan_of(app, name))
    assert ("Index Only Scan", "ix_users_live_role_id") in found, found
    assert "Sort" not in [node_type for node_type, _ in found]


def test_get_by_id_checks_its_caller_on_indexes(app, many_users):
    """get-by-id's one statement finds the session, its user and the target on indexes."""
    found = nodes(plan_of(app, "user by id with the token check"))
    scans = [node_type for node_type, _ in found if node_type != "Nested Loop"]
    assert scans == ["Index Scan"] * 3, found


def test_reading_oneself_reads_the_callers_row_once(app, many_users):
    """get-by-id of oneself finds the session and the caller's row on indexes, once each."""
    found = nodes(plan_of(app, "own user with the token check"))
    scans = [node_type for node_type, _ in found if node_type != "Nested Loop"]
    assert scans == ["Index Scan"] * 2, found
