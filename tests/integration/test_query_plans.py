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
# The services' own statements where they are prebuilt, with their parameters bound.
QUERIES = {
    "user by id": user_service.USER_BY_ID.params(user_id=5),
    "user by email": select(User).where(User.email == "a@example.com", User.deleted_at.is_(None)),
    "token check": authentication.CALLER_ROLE.params(session_id="abc", user_id=5),
    "list page": LIST_PAGE.params(PAGE),
    "refresh token": select(RefreshToken).where(RefreshToken.token_hash == "f" * 64),
    "user sessions": select(AuthSession.id).where(AuthSession.user_id == 5),
    "sorted by name": BY_NAME.params(PAGE),
    "sorted by name descending": BY_NAME_DESC.params(PAGE),
    "count": COUNT,
}


def nodes(plan: dict) -> list[tuple[str, str | None]]:
    """Every (node type, index name) of a plan tree."""
    found = [(plan["Node Type"], plan.get("Index Name"))]
    for child in plan.get("Plans", []):
        found.extend(nodes(child))
    return found


def node_types(plan: dict) -> list[str]:
    return [node_type for node_type, _ in nodes(plan)]


def plan_of(app, name: str) -> dict:
    with app.app_context(), db.engine.begin() as connection:
        statement = QUERIES[name].compile(connection, compile_kwargs={"literal_binds": True})
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        raw = connection.execute(text(f"EXPLAIN (FORMAT JSON) {statement}")).scalar_one()
    return (raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]


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
