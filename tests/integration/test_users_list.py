"""Listing users: pagination, sorting, search, filters, validation (contract §4)."""

import string
from urllib.parse import quote

import pytest
from sqlalchemy import update

from models import User, db
from services.base_service import unit_of_work
from tests.apps import count_queries
from tests.factories import create_user, signed_in_user

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(app, client):
    return signed_in_user(app, client, email="admin@example.com", name="Zed Admin", role="admin")


@pytest.fixture
def people(app):
    names = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]
    users = [
        create_user(app, email=f"{name.split()[0].lower()}@example.com", name=name)
        for name in names
    ]
    create_user(app, email="off@example.com", name="Dormant", is_active=False)
    return users


def listing(client, admin, query=""):
    response = client.get(f"/api/v1/users{query}", headers=admin.headers)
    assert response.status_code == 200, response.json
    return response.json["data"]


def test_default_page_sorted_by_id(client, admin, people):
    data = listing(client, admin)
    assert data["pagination"] == {"page": 1, "per_page": 20, "total": 7, "pages": 1}
    ids = [item["id"] for item in data["items"]]
    assert ids == sorted(ids)


def test_pages(client, admin, people):
    first = listing(client, admin, "?per_page=3&page=1")
    third = listing(client, admin, "?per_page=3&page=3")
    beyond = listing(client, admin, "?per_page=3&page=9")
    assert len(first["items"]) == 3
    assert len(third["items"]) == 1
    assert first["pagination"]["pages"] == 3
    assert beyond["items"] == []


def test_sort_by_name_descending(client, admin, people):
    names = [u["name"] for u in listing(client, admin, "?sort=-name")["items"]]
    assert names == sorted(names, reverse=True)


def test_sort_ties_are_broken_by_id(client, admin, people):
    items = listing(client, admin, "?sort=last_login_at")["items"]
    never = [u["id"] for u in items if u["last_login_at"] is None]
    assert never == sorted(never)


@pytest.mark.parametrize("sort", ["last_login_at", "-last_login_at", "-created_at", "-name"])
def test_sort_ties_are_broken_by_ascending_id_in_either_direction(app, client, admin, sort):
    twins = [create_user(app, name="Twin", email=f"twin{n}@example.com") for n in range(3)]
    with app.app_context(), unit_of_work():
        db.session.execute(
            update(User).where(User.name == "Twin").values(created_at=twins[0].created_at)
        )

    items = listing(client, admin, f"?sort={sort}&q=twin")["items"]

    assert [u["id"] for u in items] == [twin.id for twin in twins]


def test_search_is_case_insensitive_over_email_and_name(client, admin, people):
    by_name = listing(client, admin, "?q=HOPP")["items"]
    by_email = listing(client, admin, "?q=ALAN@")["items"]
    assert [u["name"] for u in by_name] == ["Grace Hopper"]
    assert [u["name"] for u in by_email] == ["Alan Turing"]


def test_search_treats_wildcards_literally(app, client, admin, people):
    assert listing(client, admin, "?q=%25")["items"] == []
    assert listing(client, admin, "?q=_")["items"] == []
    assert listing(client, admin, "?q=/")["items"] == []
    create_user(app, name="Half/Half 100%_off")
    for needle in ("f/h", "100%25_", "/HALF 1"):
        assert [u["name"] for u in listing(client, admin, f"?q={needle}")["items"]] == [
            "Half/Half 100%_off"
        ]


def test_filters(client, admin, people):
    admins = listing(client, admin, "?role=admin")["items"]
    inactive = listing(client, admin, "?is_active=false")["items"]
    assert [u["email"] for u in admins] == ["admin@example.com"]
    assert [u["name"] for u in inactive] == ["Dormant"]


@pytest.mark.parametrize(
    "query",
    [
        "?page=0",
        "?per_page=101",
        "?per_page=0",
        "?sort=password_hash",
        "?sort=--id",
        "?role=root",
        "?is_active=maybe",
        "?colour=blue",
        "?page=x",
        "?page=1&page=2",
    ],
)
def test_bad_query_parameters_are_400(client, admin, query):
    response = client.get(f"/api/v1/users{query}", headers=admin.headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_ERROR"


def test_members_cannot_list(app, client):
    member = signed_in_user(app, client)
    assert client.get("/api/v1/users", headers=member.headers).status_code == 403


def test_deleted_users_are_not_listed(client, admin, people):
    client.delete(f"/api/v1/users/{people[0].id}", headers=admin.headers)
    data = listing(client, admin)
    assert people[0].id not in [u["id"] for u in data["items"]]
    assert data["pagination"]["total"] == 6


def test_a_search_page_costs_one_query_for_its_rows_and_their_count(app, client, admin, people):
    with count_queries(app) as statements:
        listing(client, admin, "?sort=-created_at&q=a")
    statements = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # one to authenticate the token (user + session), one for the page with its window count
    assert len(statements) == 2, statements
    with count_queries(app) as statements:
        listing(client, admin, "?sort=-created_at&page=1")
    statements = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # without a search: the token, the count, the page
    assert len(statements) == 3, statements


def test_a_search_matches_a_substring_of_the_email_or_the_name_not_across_them(app, client, admin):
    """The search index holds email and name in one string (decision 0149); a needle spanning
    the two is no match, and the name is still matched whatever its case."""
    create_user(app, email="ann@example.com", name="Lee Ward")
    assert listing(client, admin, "?q=com%20lee")["pagination"]["total"] == 0
    assert listing(client, admin, "?q=com%20")["pagination"]["total"] == 0
    for needle in ("ann@ex", "LEE%20w", "e%20wa", "ward"):
        found = listing(client, admin, f"?q={needle}")
        assert [u["email"] for u in found["items"]] == ["ann@example.com"], needle


SEARCHED = [
    ("ann@example.com", "Lee Ward"),
    ("bob.kraus@example.org", "Björn Ärger"),
    ("zoe@straße.example", "Zoë ÖSTERGAARD"),
    ("half@example.com", "Half/Half 100%_off"),
    ("user1234@bench.example.com", "Bench User 1234"),
    ("user12345@bench.example.com", "Bench User 12345"),
]
NEEDLES = [
    "ward",  # four characters and more: their quadgrams on PostgreSQL (decision 0150)
    "WARD",
    "lee ward",
    "com lee",  # across email and name: no match
    "example",
    "ärger",
    "ÄRGER",
    "östergaard",
    "straße",
    "/half",
    "100%_",
    "0%_o",
    "1234",
    "12345",
    "r123",
    "ser1234@",
    "nowhere",
    "war",  # three characters and fewer: their trigrams
    "Ö",
    "%",
    "23",
]


ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@pytest.mark.parametrize("needle", NEEDLES)
def test_a_search_finds_exactly_the_users_whose_email_or_name_holds_it(
    app, client, admin, is_postgres, needle
):
    """Every needle, on both search indexes: the users whose email or name (either case) holds
    it, and a deleted one never."""
    for email, name in SEARCHED:
        create_user(app, email=email, name=name)
    gone = create_user(app, email="gone.ward@example.com", name="Gone Ward 1234")
    client.delete(f"/api/v1/users/{gone.id}", headers=admin.headers)
    # SQLite folds the case of ASCII letters alone.
    fold = str.lower if is_postgres else lambda text: text.translate(ASCII_LOWER)
    expected = sorted(
        email
        for email, name in [*SEARCHED, ("admin@example.com", "Zed Admin")]
        if fold(needle) in fold(email) or fold(needle) in fold(name)
    )
    found = listing(client, admin, f"?q={quote(needle)}&per_page=100")
    assert sorted(u["email"] for u in found["items"]) == expected
    assert found["pagination"]["total"] == len(expected)


TYPED_AS_SHOWN = [
    ("i@example.com", "İstanbul Ïnne"),  # Python lowers İ to i + U+0307, PostgreSQL to i
    ("sigma@example.com", "ΟΔΟΣ Σοφία"),
    ("ligature@example.com", "ﬁnance Ǆemal"),
    ("doe@bücher.example", "Jane Doe"),
]


@pytest.mark.parametrize(("email", "name"), TYPED_AS_SHOWN)
def test_a_name_or_an_email_typed_as_shown_finds_its_user(app, client, admin, email, name):
    """The needle is matched as typed, the database folding both sides' case: what a user's
    name or email shows finds them, on both search indexes."""
    user = create_user(app, email=email, name=name)
    for needle in (name, name.split()[0], name.split()[-1], email, email.split("@")[1]):
        found = listing(client, admin, f"?q={quote(needle)}")
        assert user.id in [u["id"] for u in found["items"]], needle


def test_a_needle_of_four_characters_is_looked_up_by_its_quadgrams(app, client, admin, is_postgres):
    """On PostgreSQL a needle of four characters or more reads the quadgram index's condition,
    a shorter one the trigram index's; SQLite has neither index."""
    with count_queries(app) as statements:
        listing(client, admin, "?q=abcd")
        listing(client, admin, "?q=abc")
    searches = [s for s in statements if "LIKE" in s.upper()]
    assert [("search_quadgrams" in s) for s in searches] == [is_postgres, False]


@pytest.mark.parametrize("sort", ["id", "-name"])
def test_a_search_counts_its_matches_with_the_page_it_reads(app, client, admin, sort):
    """Without a cached count a search takes its total from the page's own scan (a window count):
    every page, the one past the end and a needle nobody matches still get the right total."""
    for n in range(25):
        create_user(app, email=f"match{n:02}@example.com", name=f"Match {n:02}")
    expected = sorted(
        (u["id"], u["name"]) for u in listing(client, admin, "?q=match&per_page=100")["items"]
    )
    if sort == "-name":
        expected.sort(key=lambda pair: pair[1], reverse=True)
    seen = []
    for page in (1, 2, 3):
        data = listing(client, admin, f"?q=match&per_page=10&page={page}&sort={sort}")
        assert data["pagination"]["total"] == 25
        seen += [(u["id"], u["name"]) for u in data["items"]]
    assert seen == expected
    past = listing(client, admin, f"?q=match&per_page=10&page=4&sort={sort}")
    assert (past["items"], past["pagination"]["total"]) == ([], 25)
    nobody = listing(client, admin, f"?q=nobody-at-all&sort={sort}")
    assert (nobody["items"], nobody["pagination"]["total"]) == ([], 0)
