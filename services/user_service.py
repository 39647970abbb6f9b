"""User accounts: look up, list, create, change and (softly) delete."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    UnaryExpression,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from domain.passwords import PasswordPolicy
from errors import EmailTaken, NotFound, ValidationError
from models import AuthSession, Role, TokenPurpose, User, db
from models.user import SEARCH_QUADGRAMS, SEARCH_TEXT, search_quadgrams
from schemas.user import UserCreate, UserListQuery, UserRead, UserUpdate
from schemas.v1_compat import LegacyUser
from services import (
    action_token_service,
    audit_service,
    cache_service,
    password_service,
    policy,
    session_service,
)
from services.auth import authentication
from services.auth.authentication import Principal, caller_parameters, live_caller, principal_of
from services.base_service import read_columns, read_only, reads_engine, unit_of_work
from services.direct_reads import fetch_all, fetch_first
from services.policy import Actor
from services.security_notices import Notice, notify
from services.token_service import AccessClaims

EMAIL_TAKEN = EmailTaken.default_message
OWN_EMAIL_CHANGE = "Change your own email with POST /api/v1/auth/email (confirmed by a mailed link)"
SORT_COLUMNS = {
    "id": User.id,
    "email": User.email,
    "name": User.name,
    "created_at": User.created_at,
    "last_login_at": User.last_login_at,
}
# Further orders the old `/v1` contract offers (its `sortBy` names the Mongo fields).
ORDER_COLUMNS = {
    **SORT_COLUMNS,
    "role": User.role,
    "email_verified": User.email_verified,
    "updated_at": User.updated_at,
    "legacy_id": User.legacy_id,
}
# (column name in ORDER_COLUMNS, descending)
SortKey = tuple[str, bool]
# What reads answer, derived once from the response schemas (decision 0113): every field of
# `UserRead` (`/api/v1`) and of `LegacyUser` (`/v1`). Reads select just these columns, as plain
# rows (no ORM objects; decision 0042); a field without a column stops the app at import.
READ_COLUMNS = read_columns(User, UserRead, LegacyUser)
# A read row: column label -> value (services.direct_reads).
UserRow = dict[str, Any]
UserSelect = Select[*tuple[Any, ...]]
# Hot reads, built once: building a statement costs more than running it (~0.4 ms a request).
USER_BY_ID = select(*READ_COLUMNS).where(User.id == bindparam("user_id"), User.deleted_at.is_(None))
# get-by-id for the bearer of an access token, with the token's revocation checked in the same
# statement (decision 0123): one row when the caller's session and user are live (else none),
# carrying the caller's role and the user the caller may see (themself, or anyone for an
# administrator), or NULLs in its columns when there is no such live user to see.
CALLER = aliased(User, name="caller")
USER_BY_ID_FOR_CALLER = (
    select(CALLER.role.label("caller_role"), *READ_COLUMNS)
    .select_from(AuthSession)
    .join(CALLER, CALLER.id == AuthSession.user_id)
    .outerjoin(
        User,
        and_(
            User.id == bindparam("user_id"),
            User.deleted_at.is_(None),
            or_(User.id == CALLER.id, CALLER.role == Role.ADMIN.value),
        ),
    )
    .where(*live_caller(CALLER))
)
# The same for a caller reading themself (the common case): the caller's own row is the answer,
# read once instead of joined twice (PostgreSQL: ~66 → ~63 µs a read under load).
OWN_USER_FOR_CALLER = (
    select(User.role.label("caller_role"), *READ_COLUMNS)
    .select_from(AuthSession)
    .join(User, User.id == AuthSession.user_id)
    .where(*live_caller(User))
)
# What `id_for_legacy_id` answers for an ObjectId nobody has: no user has id 0.
NO_SUCH_USER = 0


@dataclass(frozen=True)
class UserPage:
    """One page of users and the numbers to page through the rest."""

    items: list[UserRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (0 when there are no users)."""
        return math.ceil(self.total / self.per_page)

    @property
    def pagination(self) -> dict[str, int]:
        """The contract's pagination object."""
        return {
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": self.pages,
        }


def live_users() -> ColumnElement[bool]:
    """The condition that hides soft-deleted users."""
    return User.deleted_at.is_(None)


def find(user_id: int) -> User | None:
    """A live user by id, or None."""
    return db.session.scalars(select(User).where(User.id == user_id, live_users())).first()


def get(user_id: int) -> User:
    """A live user by id, or NOT_FOUND."""
    user = find(user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def get_by_email(email: str) -> User | None:
    """A live user by (already normalised) email, or None."""
    return db.session.scalars(select(User).where(User.email == email, live_users())).first()


def id_for_legacy_id(legacy_id: str) -> int:
    """The id of the user (deleted or not) with this `/v1` ObjectId, or `NO_SUCH_USER`; the
    policy then answers as it would for any id the caller may not see."""
    with read_only() as connection:
        user_id = connection.scalar(select(User.id).where(User.legacy_id == legacy_id.lower()))
    return NO_SUCH_USER if user_id is None else int(user_id)


def get_for_actor(*, actor: Actor, user_id: int) -> UserRow:
    """A user as `actor` may see it (themself, or anyone for administrators), in one read."""
    policy.ensure_self_or_admin(actor, user_id)
    return seen_by(actor, user_id, fetch_first(USER_BY_ID, {"user_id": user_id}))


def read_for_caller(*, caller: AccessClaims, user_id: int) -> tuple[Principal, UserRow | None]:
    """The caller behind a verified access token and the user `user_id` as they may see it, in
    one statement that also checks the token's revocation (no cache round trip); INVALID_TOKEN
    when the caller's session or user is no longer live. `seen_by` then answers as
    `get_for_actor` would (the row is None when there is nothing the caller may see)."""
    if user_id == caller.user_id:
        row = fetch_first(OWN_USER_FOR_CALLER, caller_parameters(caller))
    else:
        row = fetch_first(USER_BY_ID_FOR_CALLER, caller_parameters(caller) | {"user_id": user_id})
    principal = principal_of(caller, None if row is None else row["caller_role"])
    return principal, None if row is None or row["id"] is None else row


def seen_by(actor: Actor, user_id: int, row: UserRow | None) -> UserRow:
    """`row` (user `user_id` read for `actor`), or FORBIDDEN/NOT_FOUND as the policy answers."""
    policy.ensure_self_or_admin(actor, user_id)
    if row is None:
        raise NotFound("User not found")
    return row


def list_users(
    *,
    actor: Actor,
    query: UserListQuery,
    name: str | None = None,
    order_by: Sequence[SortKey] = (),
) -> UserPage:
    """A page of live users, filtered, searched and sorted (ties broken by ascending id).

    `name` filters by exact name and `order_by` replaces `query.sort` (the `/v1` contract's
    filters and multi-field `sortBy`)."""
    policy.ensure_admin(actor)
    listing = Listing.of(query, name, order_by)
    return listing.page(cache_service.user_counts(*listing.signatures))


def list_for_caller(*, caller: AccessClaims, query: UserListQuery) -> tuple[Principal, UserPage]:
    """`list_users` for `caller` (an access token's verified claims), and the principal behind
    it: the cache's word on its revocation comes in the round trip that looks up the page's
    count (decision 0151), else the database's (`authentication.caller_of`)."""
    listing = Listing.of(query, None, ())
    counts = cache_service.user_counts(
        *listing.signatures, caller=(caller.session_id, caller.user_id)
    )
    principal = authentication.caller_of(caller, counts.caller_role)
    policy.ensure_admin(principal)
    return principal, listing.page(counts)


@dataclass(frozen=True)
class Listing:
    """A list request's statements' shape, their parameters, and the signatures of the counts
    it needs (its total; the anchor below a deep page's offset)."""

    query: UserListQuery
    shape: ListShape
    parameters: dict[str, Any]
    signatures: tuple[str, ...]

    @classmethod
    def of(cls, query: UserListQuery, name: str | None, order_by: Sequence[SortKey]) -> Listing:
        keys = tuple(order_by) or ((query.sort.removeprefix("-"), query.sort.startswith("-")),)
        offset = (query.page - 1) * query.per_page
        anchored = (
            offset >= ANCHOR_EVERY
            and name is None
            and not (query.q or query.role is not None or query.is_active is not None)
            and keys == (("id", False),)
            and cache_service.current() is not None
        )
        shape = ListShape(
            by_name=name is not None,
            search=bool(query.q),
            by_role=query.role is not None,
            by_activity=query.is_active is not None,
            order=keys,
            anchored=anchored,
            by_quadgrams=len(query.q or "") >= QUADGRAM and _has_quadgrams(),
        )
        parameters: dict[str, Any] = {
            "name": name,
            # As typed: the database folds the case of both sides, so a name or an email typed
            # as it is shown is always found (Python's `lower` and PostgreSQL's differ on `İ`).
            "needle": f"%{escape_like(query.q)}%" if query.q else None,
            "needle_text": query.q,
            "role": query.role,
            "is_active": query.is_active,
            "limit": query.per_page,
            "offset": offset,
        }
        # The anchor a deep page starts from is looked up with the count (one round trip).
        signature = f"{query.q}|{query.role}|{query.is_active}|{name}"
        signatures = (signature, *([anchor_signature(offset)] if anchored else []))
        return cls(query, shape, parameters, signatures)

    def page(self, counts: cache_service.UserCounts) -> UserPage:
        """The page, its total from `counts` (the lookup of `signatures`) or counted."""
        query, shape, parameters = self.query, self.shape, dict(self.parameters)
        count_statement, page_statement = list_statements(shape)
        # A search whose count is not cached counts its matches with the page it reads (one
        # index scan instead of two); any other count is a statement of its own. A search's
        # count is kept only when it is large: a small one costs nothing to recount with the
        # page, and keeping it would cost a Redis write for every new needle (decision 0148).
        searched: list[UserRow] | None = None

        def count() -> int:
            nonlocal searched
            if shape.search:
                searched, total = _search_page_and_count(shape, parameters)
                if total is not None:
                    return total
            counted = fetch_first(count_statement, parameters)
            return int(counted["total"]) if counted else 0

        keep_from = SEARCH_COUNT_KEPT_FROM if shape.search else 0
        total = counts.get(self.signatures[0], count, keep_from=keep_from)
        offset = parameters["offset"]
        if offset >= total:
            return UserPage(items=[], page=query.page, per_page=query.per_page, total=total)
        if searched:
            items = searched
        else:
            if shape.anchored:
                parameters["from_id"], parameters["offset"] = _anchor(offset, counts)
            items = fetch_all(page_statement, parameters)
        return UserPage(items=items, page=query.page, per_page=query.per_page, total=total)


# The fewest matches whose count a search keeps in the cache (see `list_users`).
SEARCH_COUNT_KEPT_FROM = 1000


def _search_page_and_count(
    shape: ListShape, parameters: Mapping[str, Any]
) -> tuple[list[UserRow], int | None]:
    """A search's page and its number of matches, from one scan of them in one statement: (rows,
    total); total None when the page is empty (past the last match, or none), which the page
    cannot tell."""
    rows = fetch_all(search_statement(shape), parameters)
    if not rows:
        return [], None if parameters["offset"] else 0
    return rows, int(rows[0]["total"])


# A page of the whole table in id order (the default list) past this offset starts from the id
# at the nearest lower multiple of ANCHOR_EVERY, cached like the counts, instead of skipping every
# live id before it: a middle page at a million users skips at most 999 ids, not 500,000
# (decision 0121).
ANCHOR_EVERY = 1000
LIVE_ID_AT = (
    select(User.id)
    .where(live_users())
    .order_by(User.id)
    .limit(1)
    .offset(bindparam("anchor_offset", type_=BigInteger))
)


def _anchor_offset(offset: int) -> int:
    """The anchor below `offset`: its nearest lower multiple of ANCHOR_EVERY."""
    return offset - offset % ANCHOR_EVERY


def anchor_signature(offset: int) -> str:
    """The counts' signature of the live id at the anchor below `offset`."""
    return f"@id:{_anchor_offset(offset)}"


def _anchor(offset: int, counts: cache_service.UserCounts) -> tuple[int, int]:
    """(the live id at the anchor below `offset`, how far `offset` lies past it); (0, `offset`)
    when no live id is there (the table shrank since its count)."""
    anchor_offset = _anchor_offset(offset)

    def live_id_at_anchor() -> int:
        found = fetch_first(LIVE_ID_AT, {"anchor_offset": anchor_offset})
        return int(found["id"]) if found else 0

    anchor_id = counts.get(anchor_signature(offset), live_id_at_anchor)
    if not anchor_id:
        return 0, offset
    return anchor_id, offset - anchor_offset


@dataclass(frozen=True)
class ListShape:
    """What a list request filters and sorts by; its values are bound at execution."""

    by_name: bool
    search: bool
    by_role: bool
    by_activity: bool
    order: tuple[SortKey, ...]
    # The default order from an anchor id (`from_id`), the offset counted from it.
    anchored: bool = False
    # A search's candidates from its needle's quadgrams, not its trigrams (decision 0150).
    by_quadgrams: bool = False


LIKE_ESCAPE = "/"


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (its `%`, `_` and escapes escaped)."""
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


@functools.lru_cache(maxsize=256)
def list_statements(shape: ListShape) -> tuple[Select[int], UserSelect]:
    """The count and page statements of a list shape, built once (building costs more than
    running them); parameters: name, needle, role, is_active, from_id, limit, offset."""
    conditions = _conditions(shape)
    count = select(func.count().label("total")).select_from(User).where(*conditions)
    if shape.anchored:  # the page's start, not the count's
        conditions.append(User.id >= bindparam("from_id", type_=BigInteger))
    sorted_by = _sorted_by(shape)
    if shape.search:
        ids = _search_ids(shape, conditions)
    else:
        # PostgreSQL skips the offset on an index (index-only for the default order,
        # `ix_users_live_id`) instead of fetching every skipped row (2.1 -> 0.9 ms at offset
        # 5,000).
        ids = select(User.id).where(*conditions).order_by(*_order(shape, sorted_by))
    # Find the page's ids first, then read only those rows.
    page_ids = (
        ids.limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=BigInteger))
        .subquery("page_ids")
    )
    page = (
        select(*READ_COLUMNS)
        .join(page_ids, page_ids.c.id == User.id)
        .order_by(*_order(shape, sorted_by))
    )
    return count, page


def _conditions(shape: ListShape) -> list[Any]:
    """The WHERE of a list shape: live users, filtered; parameters bound at execution."""
    conditions = [live_users()]
    if shape.by_name:
        conditions.append(User.name == bindparam("name"))
    if shape.search:
        needle = bindparam("needle", type_=String)
        conditions += [
            # The candidates, from one scan of a search index (decisions 0149, 0150) ...
            _quadgrams_candidates() if shape.by_quadgrams else _trigram_candidates(needle),
            # ... and what makes one a match.
            or_(
                User.email.ilike(needle, escape=LIKE_ESCAPE),
                User.name.ilike(needle, escape=LIKE_ESCAPE),
            ),
        ]
    if shape.by_role:
        conditions.append(User.role == bindparam("role"))
    if shape.by_activity:
        conditions.append(User.is_active == bindparam("is_active"))
    return conditions


# The needle length from which a search reads its candidates on the quadgram index (PostgreSQL),
# not the trigram one: at a million users a trigram of digits is in ~4,000 of them, a quadgram
# in ~400, and the scan costs what its rarest gram's users are (decision 0150).
QUADGRAM = 4


def _has_quadgrams() -> bool:
    """Whether the database has `search_quadgrams` (PostgreSQL, migration 0016)."""
    return reads_engine().dialect.name == "postgresql"


def _trigram_candidates(needle: ColumnElement[str]) -> ColumnElement[bool]:
    """The users whose search text may hold `needle` (a LIKE pattern), by its trigram index."""
    return literal_column(SEARCH_TEXT, String).ilike(needle, escape=LIKE_ESCAPE)


def _quadgrams_candidates() -> ColumnElement[bool]:
    """The users whose search text has every quadgram of the needle (`needle_text`, at least
    four characters), by its quadgram index: a superset of those holding the needle."""
    needle_quadgrams = search_quadgrams(bindparam("needle_text", type_=String))
    return SEARCH_QUADGRAMS.contains(needle_quadgrams)


@functools.lru_cache(maxsize=64)
def search_statement(shape: ListShape) -> UserSelect:
    """A search's page of rows in the list's order, each with the number of all its matches
    (`total`, a window count taken over the matches before the LIMIT), in one statement;
    parameters: those of `list_statements`."""
    counted_ids = (
        _search_ids(shape, _conditions(shape), func.count().over().label("total"))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=BigInteger))
        .subquery("counted")
    )
    return (
        select(*READ_COLUMNS, counted_ids.c.total)
        .join(counted_ids, counted_ids.c.id == User.id)
        .order_by(*_order(shape, _sorted_by(shape)))
    )


def _sorted_by(shape: ListShape) -> dict[str, Any]:
    """The columns a shape orders by, by name, with "id" (every order's tie-break)."""
    return {key: ORDER_COLUMNS[key] for key, _ in shape.order} | {"id": User.id}


def _search_ids(shape: ListShape, conditions: list[Any], *extra: Any) -> Select[Any]:
    """The ids a search matches, in the list's order (with `extra` columns over the matches).

    The matches come first, unordered (`OFFSET 0` keeps PostgreSQL from planning them in sort
    order): a rare needle is found on the trigram indexes in a millisecond, where walking an
    order's index and filtering reads the whole table (1 s at a million users), because the
    planner guesses a substring's matches thousands of times too high. A needle most users match
    costs what counting them costs, which the request does anyway."""
    sorted_by = _sorted_by(shape)
    matches = (
        select(*(column.label(key) for key, column in sorted_by.items()))
        .where(*conditions)
        .offset(0)
        .subquery("matches")
    )
    return select(matches.c.id, *extra).order_by(
        *_order(shape, {key: matches.c[key] for key in sorted_by})
    )


def _order(shape: ListShape, columns: Mapping[str, Any]) -> list[Any]:
    """The ORDER BY of a list shape over `columns` (by name in ORDER_COLUMNS, with "id")."""
    order: list[UnaryExpression[Any]] = [
        columns[key].desc() if descending else columns[key].asc() for key, descending in shape.order
    ]
    if all(key != "id" for key, _ in shape.order):
        # Ties keep insertion order whichever way the keys sort, as the old service's Mongo did.
        order.append(columns["id"].asc())
    return order


def add_user(
    *,
    email: str,
    password: str,
    name: str,
    role: str = Role.USER.value,
    password_policy: PasswordPolicy = PasswordPolicy.CURRENT,
) -> User:
    """Create a user in the current unit of work (password policy applied)."""
    password_service.check_password(password, email=email, policy=password_policy)
    if get_by_email(email) is not None:
        raise EmailTaken()
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=password_service.hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def create(
    *, actor: Actor, data: UserCreate, password_policy: PasswordPolicy = PasswordPolicy.CURRENT
) -> User:
    """An administrator creates a user."""
    policy.ensure_admin(actor)
    with unit_of_work():
        return _create(data, password_policy)


def _create(data: UserCreate, password_policy: PasswordPolicy) -> User:
    return add_user(
        email=data.email,
        password=data.password,
        name=data.name,
        role=data.role,
        password_policy=password_policy,
    )


def lock_for_admin_check(user_id: int) -> tuple[User, int]:
    """Lock the target and every live active admin in one ordered statement (no deadlock), then
    answer the fresh target and the admin count: two admins demoting each other at once cannot
    both pass the last-admin check. (SQLite ignores FOR UPDATE; it serialises writers.)"""
    is_active_admin = and_(live_users(), User.role == Role.ADMIN.value, User.is_active.is_(True))
    rows = db.session.scalars(
        select(User)
        .where(or_(User.id == user_id, is_active_admin))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    target = next((row for row in rows if row.id == user_id and not row.is_deleted), None)
    if target is None:
        raise NotFound("User not found")
    admins = sum(1 for row in rows if row.is_admin and row.is_active and not row.is_deleted)
    return target, admins


@dataclass(frozen=True)
class UpdateRules:
    """What an update asks beyond the policy's rights: `/v1` keeps the old service's rules."""

    password_policy: PasswordPolicy = PasswordPolicy.CURRENT
    confirm_own_changes: bool = True
    # The old contract set one's own email directly; /api/v1 confirms it by mail instead.
    direct_own_email: bool = False


def update(
    *,
    actor: Actor,
    user_id: int,
    changes: UserUpdate,
    session_id: str | None,
    rules: UpdateRules = UpdateRules(),  # frozen, so sharing the default is safe
) -> User:
    """Change a user's fields as `actor` may (see `policy`)."""
    sent = changes.model_fields_set - {"current_password"}
    policy.ensure_can_update(actor, user_id, sent)
    with unit_of_work():
        return _update(
            actor=actor, user_id=user_id, changes=changes, session_id=session_id, rules=rules
        )


def _update(
    *, actor: Actor, user_id: int, changes: UserUpdate, session_id: str | None, rules: UpdateRules
) -> User:
    loses_admin = (changes.role is not None and changes.role != Role.ADMIN.value) or (
        changes.is_active is False
    )
    if loses_admin:
        target, admins = lock_for_admin_check(user_id)
        policy.ensure_keeps_an_active_admin(target, loses_admin=True, active_admin_count=admins)
    else:
        target = get(user_id)
    new_email = changes.email if changes.email != target.email else None
    if new_email is not None and actor.id == target.id and not rules.direct_own_email:
        raise ValidationError.single("email", OWN_EMAIL_CHANGE)
    if (new_email is not None or changes.password is not None) and (
        policy.needs_current_password(actor, target, confirm_own_changes=rules.confirm_own_changes)
    ):
        _check_current_password(target, changes.current_password)

    if changes.name is not None:
        target.name = changes.name
    if "locale" in changes.model_fields_set:  # null is a choice: follow the browser
        target.locale = changes.locale
    if new_email is not None:
        _set_email_directly(actor, target, new_email)
    if changes.password is not None:
        password_service.check_password(
            changes.password, email=target.email, policy=rules.password_policy
        )
        target.password_hash = password_service.hash_password(changes.password)
        keep = session_id if actor.id == target.id else None
        session_service.revoke_user_sessions(
            target.id, reason=session_service.REVOKED_PASSWORD_CHANGE, keep_session_id=keep
        )
        audit_service.record(
            audit_service.PASSWORD_CHANGED,
            actor_id=policy.acting_user_id(actor),
            subject_id=target.id,
        )
        notify(target.id, Notice.PASSWORD_CHANGED)
    if changes.role is not None and changes.role != target.role:
        audit_service.record(
            audit_service.USER_ROLE_CHANGED,
            actor_id=policy.acting_user_id(actor),
            subject_id=target.id,
            details={"from": target.role, "to": changes.role},
        )
        target.role = changes.role
    if changes.is_active is not None and changes.is_active != target.is_active:
        audit_service.record(
            audit_service.USER_ACTIVE_CHANGED,
            actor_id=policy.acting_user_id(actor),
            subject_id=target.id,
            details={"is_active": changes.is_active},
        )
    if changes.is_active is not None:
        target.is_active = changes.is_active
        if not changes.is_active:
            session_service.revoke_user_sessions(target.id, reason=session_service.REVOKED_ACCOUNT)
    db.session.flush()
    return target


def _set_email_directly(actor: Actor, target: User, email: str) -> None:
    """An administrator's (or the old contract's) change of address: audited, the old address
    told."""
    if get_by_email(email) is not None:
        raise EmailTaken()
    old_email = target.email
    change_email(target, email, verified=False)
    by_admin = actor.id != target.id
    audit_service.record(
        audit_service.EMAIL_CHANGED,
        actor_id=actor.id,
        subject_id=target.id,
        details={"from": old_email, "to": email, "by": "admin" if by_admin else "direct"},
    )
    notice = Notice.EMAIL_CHANGED_BY_ADMIN if by_admin else Notice.EMAIL_CHANGED
    notify(target.id, notice, email=old_email, new_email=email)


def change_email(user: User, email: str, *, verified: bool) -> None:
    """Give `user` the address `email` (helper): a pending change of address ends, and so do the
    verification and reset links mailed to the old one."""
    user.email = email
    user.email_verified = verified
    action_token_service.void_outstanding(user.id, TokenPurpose.CHANGE_EMAIL)
    db.session.flush()


def _check_current_password(user: User, current_password: str | None) -> None:
    if current_password is None:
        raise ValidationError.single("current_password", "Required to change email or password")
    password_service.check_current_password(user.password_hash, current_password)


def delete(*, actor: Actor, user_id: int, allow_self_delete: bool = False) -> None:
    """An administrator (or, with `allow_self_delete`, the user themself) soft-deletes a user;
    the row stays, its sessions end."""
    policy.ensure_can_delete(actor, user_id, allow_self_delete=allow_self_delete)
    with unit_of_work():
        _delete(actor=actor, user_id=user_id)


def _delete(*, actor: Actor, user_id: int) -> None:
    target, admins = lock_for_admin_check(user_id)
    policy.ensure_keeps_an_active_admin(target, loses_admin=True, active_admin_count=admins)
    target.mark_deleted(by_user_id=policy.acting_user_id(actor))
    audit_service.record(
        audit_service.USER_DELETED, actor_id=policy.acting_user_id(actor), subject_id=target.id
    )
    session_service.revoke_user_sessions(target.id, reason=session_service.REVOKED_ACCOUNT)
