"""One account per address however it is spelled: emails are NFKC-normalised, the local part
lower-cased and the domain mapped by IDNA UTS #46 before they are stored or compared, on every
way in (`/api/v1`, `/v1`, browser pages, CLI)."""

import pytest

from models import User, db
from tests.factories import PASSWORD, create_user, fullwidth, login, signed_in_user
from tests.mail_server import configured

pytestmark = pytest.mark.integration

ACCOUNT = "admin@acceptance.example"
FULLWIDTH_DOMAIN = f"admin@{fullwidth('acceptance')}.example"
SPELLINGS = [
    FULLWIDTH_DOMAIN,
    f"{fullwidth('ADMIN')}@acceptance.example",
    "admin@ACCEPTANCE\u3002example",  # ideographic full stop
    "  Admin@Acceptance.Example ",
]


@pytest.fixture
def account(app):
    return create_user(app, email=ACCOUNT, name="Acceptance")


def live_users(app):
    with app.app_context():
        return db.session.query(User).filter(User.deleted_at.is_(None)).count()


@pytest.mark.parametrize("email", SPELLINGS)
def test_register_with_another_spelling_of_a_taken_email_is_409(
    mail_app, app, client, account, email
):
    response = client.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "name": "Twin"}
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "CONFLICT"
    assert live_users(app) == 1


@pytest.mark.parametrize("email", SPELLINGS)
def test_admin_create_with_another_spelling_of_a_taken_email_is_409(app, client, account, email):
    admin = signed_in_user(app, client, email="root@example.com", role="admin", name="Root")
    response = client.post(
        "/api/v1/users",
        json={"email": email, "password": PASSWORD, "name": "Twin"},
        headers=admin.headers,
    )
    assert response.status_code == 409


@pytest.mark.parametrize("email", SPELLINGS)
def test_v1_register_with_another_spelling_of_a_taken_email_is_refused(app, client, account, email):
    response = client.post(
        "/v1/auth/register", json={"email": email, "password": "password1", "name": "Twin"}
    )
    assert (response.status_code, response.json["message"]) == (400, "Email already taken")


@pytest.mark.parametrize("email", SPELLINGS)
def test_every_spelling_signs_in_to_the_one_account(client, account, email):
    assert login(client, email).user_id == account.id


def test_v1_sign_in_with_the_fullwidth_spelling(client, account):
    response = client.post("/v1/auth/login", json={"email": FULLWIDTH_DOMAIN, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json["user"]["email"] == ACCOUNT


def test_an_email_is_stored_in_its_normal_form(app, client):
    admin = signed_in_user(app, client, email="root@example.com", role="admin", name="Root")
    response = client.post(
        "/api/v1/users",
        json={"email": f"{fullwidth('J')}oe@Bücher.Example", "password": PASSWORD, "name": "Joe"},
        headers=admin.headers,
    )
    assert response.json["data"]["email"] == "joe@bücher.example"
    assert login(client, "joe@xn--bcher-kva.example").user_id == response.json["data"]["id"]


def test_changing_the_email_to_another_spelling_of_a_taken_one_is_409(app, client, account):
    other = signed_in_user(app, client, email="other@example.com", name="Other")
    response = client.post(
        "/api/v1/auth/email",
        json={"new_email": FULLWIDTH_DOMAIN, "current_password": PASSWORD},
        headers=other.headers,
    )
    assert response.status_code == 409


def test_cli_create_refuses_another_spelling_of_a_taken_email(app, account):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", FULLWIDTH_DOMAIN, "--name", "Twin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code != 0
    assert live_users(app) == 1


def test_failed_sign_ins_count_against_the_account_whatever_the_spelling(app, client, account):
    with configured(app, RATELIMIT_LOGIN_PER_ACCOUNT="3/minute"):
        for email in SPELLINGS[:3]:
            response = client.post(
                "/api/v1/auth/login", json={"email": email, "password": "wrong-password-000"}
            )
            assert response.status_code == 401
        blocked = client.post("/api/v1/auth/login", json={"email": ACCOUNT, "password": PASSWORD})
    assert blocked.status_code == 429
