"""Pages and mails in two languages (i18n.py, services/email_service.py): the saved preference,
then the footer's choice (cookie), then `Accept-Language`; the switch; dates per language; form
errors and flashes translated; mails in the recipient's language; the API stays English."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from babel.dates import format_date

from i18n import LOCALE_COOKIE, select_locale, translated
from models import User, db
from services import email_service, locale_service
from services.auth import registration
from tests.factories import HTML, browser_login, create_user, csrf_token, post_form
from tests.mail_server import configured, smtp_settings, wait_for_messages

pytestmark = pytest.mark.integration

GERMAN = {**HTML, "Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {**HTML, "Accept-Language": "en-GB,en;q=0.9"}
# This worktree's Redis database (the shared server), for the queued-mail test.
QUEUE_REDIS_URL = "redis://127.0.0.1:6379/9"


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def lang(page: str) -> str:
    match = re.search(r'<html lang="([a-z]+)">', page)
    assert match, "no <html lang>"
    return match.group(1)


def saved_locale(app, user_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(User, user_id).locale  # type: ignore[union-attr]


def switch(client, locale: str, next_path: str = "/", headers=HTML):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/")
    return client.post(
        "/locale", data={"locale": locale, "next": next_path, "csrf_token": token}, headers=headers
    )


# --- choosing the language --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/auth/login", "/auth/register", "/auth/forgot-password"])
def test_accept_language_chooses_german(client, path):
    page = text(client.get(path, headers=GERMAN))
    assert lang(page) == "de"
    assert "Anmelden" in page
    assert "Sign in" not in page


def test_english_is_the_default_and_for_other_languages(client):
    for headers in (HTML, {**HTML, "Accept-Language": "fr-FR,fr;q=0.9"}, ENGLISH):
        page = text(client.get("/", headers=headers))
        assert lang(page) == "en"
        assert "Sign in" in page


def test_the_footer_choice_wins_over_accept_language(client):
    client.set_cookie(LOCALE_COOKIE, "en")
    assert lang(text(client.get("/", headers=GERMAN))) == "en"
    client.set_cookie(LOCALE_COOKIE, "de")
    assert lang(text(client.get("/", headers=ENGLISH))) == "de"
    client.set_cookie(LOCALE_COOKIE, "xx")  # not a language of ours: ignored
    assert lang(text(client.get("/", headers=GERMAN))) == "de"


def test_the_saved_preference_wins_over_cookie_and_accept_language(app, client):
    user = create_user(app)
    with app.app_context():
        locale_service.save(user_id=user.id, locale="de")
    browser_login(client, user.email)
    client.set_cookie(LOCALE_COOKIE, "en")
    page = text(client.get("/auth/profile", headers=ENGLISH))
    assert lang(page) == "de"
    assert "Ihr Profil" in page


# --- the footer's switch ----------------------------------------------------------------------


def test_the_switch_sets_the_cookie_and_goes_back(client):
    response = switch(client, "de", "/auth/login?next=/auth/profile")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login?next=/auth/profile"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("locale=de;")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert lang(text(client.get("/auth/login", headers=ENGLISH))) == "de"


def test_the_switch_saves_a_signed_in_users_language(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    assert saved_locale(app, user.id) is None
    assert switch(client, "de", "/auth/profile").status_code == 303
    assert saved_locale(app, user.id) == "de"
    client.delete_cookie(LOCALE_COOKIE)  # the account remembers it on its own
    assert lang(text(client.get("/auth/profile", headers=ENGLISH))) == "de"
    assert switch(client, "en").status_code == 303
    assert saved_locale(app, user.id) == "en"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_goes_back_only_to_this_site(client, target):
    response = switch(client, "de", target)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("locale", ["fr", "", "DE", "de-DE"])
def test_the_switch_refuses_other_languages_and_changes_nothing(client, locale):
    response = switch(client, locale)
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers or "locale=" not in response.headers["Set-Cookie"]
    assert lang(text(response)) == "en"


def test_the_switch_needs_the_csrf_token(app, client):
    user = create_user(app)
    browser_login(client, user.email)
    response = client.post("/locale", data={"locale": "de"}, headers=HTML)
    assert response.status_code == 403
    assert saved_locale(app, user.id) is None


def test_every_page_carries_the_switch_with_the_current_language_marked(client):
    page = text(client.get("/auth/login", headers=GERMAN))
    assert '<form method="post" action="/locale"' in page
    assert '<span class="language-current" lang="de" aria-current="true">Deutsch</span>' in page
    assert 'name="locale" value="en" lang="en"' in page
    assert 'name="next" value="/auth/login"' in page


# --- what the pages say in German -------------------------------------------------------------


def test_form_errors_and_their_values_are_translated(client):
    client.set_cookie(LOCALE_COOKIE, "de")
    response = post_form(client, "/auth/register", {"email": "nope", "password": "", "name": " "})
    assert response.status_code == 400
    page = text(response)
    assert "Ungültige E-Mail-Adresse" in page
    assert "Der Name muss 1 bis 100 Zeichen lang sein" in page
    assert "Invalid email format" not in page
    weak = {"email": "weak@example.com", "password": "password", "name": "Weak"}
    page = text(post_form(client, "/auth/register", weak))
    assert "Das Passwort muss mindestens 12 Zeichen lang sein" in page  # a message with a value
    assert "Dieses Passwort ist zu verbreitet" in page
    assert "Bitte korrigieren Sie Folgendes:" in page


def test_a_failed_sign_in_says_so_in_german(app, client):
    user = create_user(app)
    client.set_cookie(LOCALE_COOKIE, "de")
    response = post_form(client, "/auth/login", {"email": user.email, "password": "wrong-guess-1"})
    assert "E-Mail-Adresse oder Passwort ist falsch" in text(response)


def test_flashes_and_dates_are_german(app, client):
    user = create_user(app, name="Ada")
    client.set_cookie(LOCALE_COOKIE, "de")
    response = post_form(client, "/auth/login", {"email": user.email, "password": "x" * 12})
    assert response.status_code == 401
    browser_login(client, user.email)
    page = text(client.get("/auth/profile", headers=HTML))
    assert "Willkommen zurück, Ada." in page
    with app.app_context():
        created = db.session.get(User, user.id).created_at  # type: ignore[union-attr]
    assert format_date(created, "long", locale="de") in page  # "6. Dezember 2026"
    assert "Fehlgeschlagener Anmeldeversuch" in page
    assert "Mitglied seit" in page


def test_error_pages_are_german(client):
    page = text(client.get("/no-such-page", headers=GERMAN))
    assert "Seite nicht gefunden" in page
    assert "Die angeforderte Seite wurde nicht gefunden" in page


def test_the_api_stays_english(app, client):
    response = client.get("/api/v1/users/1", headers={"Accept-Language": "de"})
    assert response.status_code == 401
    assert response.json["error"]["message"] == "Authentication required"
    client.set_cookie(LOCALE_COOKIE, "de")
    body = {"email": "nope", "password": "another-Lantern-93-Quartz", "name": "A"}
    response = client.post("/auth/register", json=body)  # the JSON answer of a page's route
    assert response.status_code == 400
    assert response.json["error"]["details"]["errors"][0]["error"] == "Invalid email format"


# --- mails in the recipient's language --------------------------------------------------------


def test_registering_on_a_german_page_saves_german_and_mails_in_german(app, client, smtp_server):
    with configured(app, **smtp_settings(smtp_server)):
        client.set_cookie(LOCALE_COOKIE, "de")
        response = post_form(
            client,
            "/auth/register",
            {"email": "neu@example.com", "password": "another-Lantern-93-Quartz", "name": "Neu"},
        )
        assert response.status_code == 303
    with app.app_context():
        user = db.session.query(User).filter_by(email="neu@example.com").one()
        assert user.locale == "de"
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "Bestätigen Sie Ihre E-Mail-Adresse"
    assert "Hallo Neu," in mail.text
    assert '<html lang="de">' in mail.html
    assert "Meine E-Mail-Adresse bestätigen" in mail.html


def test_registering_through_the_api_saves_no_language(app, client):
    client.post(
        "/auth/register",
        json={"email": "api@example.com", "password": "another-Lantern-93-Quartz", "name": "A"},
        headers={"Accept-Language": "de"},
    )
    with app.app_context():
        assert db.session.query(User).filter_by(email="api@example.com").one().locale is None


@pytest.fixture
def thread_queue(app, smtp_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Mail sent after the response, from another thread (no request there)."""
    with configured(app, **smtp_settings(smtp_server), MAIL_QUEUE="thread"):
        yield


def forgot(client, email: str, headers):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/auth/forgot-password")
    response = client.post(
        "/auth/forgot-password", data={"email": email, "csrf_token": token}, headers=headers
    )
    assert response.status_code == 303
    response.close()  # the queued job starts once the answer is out


def test_a_queued_mail_takes_the_requests_language_without_a_saved_one(
    app, client, smtp_server, thread_queue
):
    user = create_user(app)
    forgot(client, user.email, GERMAN)
    [mail] = wait_for_messages(smtp_server, 1)
    assert mail.message["Subject"] == "Setzen Sie Ihr Passwort zurück"
    assert "Der Link funktioniert einmal und läuft in 60 Minuten ab." in mail.text


def test_a_queued_mail_takes_the_recipients_saved_language_first(
    app, client, smtp_server, thread_queue
):
    user = create_user(app)
    with app.app_context():
        locale_service.save(user_id=user.id, locale="en")
    forgot(client, user.email, GERMAN)
    [mail] = wait_for_messages(smtp_server, 1)
    assert mail.message["Subject"] == "Reset your password"
    assert '<html lang="en">' in mail.html


def test_a_mail_from_the_redis_worker_keeps_the_requests_language(app, client, smtp_server):
    connection = redis.Redis.from_url(QUEUE_REDIS_URL)
    connection.flushdb()
    user = create_user(app)
    settings = smtp_settings(smtp_server)
    with configured(app, **settings, MAIL_QUEUE="redis", REDIS_URL=QUEUE_REDIS_URL):
        forgot(client, user.email, GERMAN)
        assert smtp_server.messages == []  # queued, not sent
        result = app.test_cli_runner().invoke(args=["mail", "worker", "--burst"])
        assert result.exit_code == 0, result.output
    connection.flushdb()
    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "Setzen Sie Ihr Passwort zurück"


def test_a_mail_without_any_language_is_english(app, client, smtp_server, thread_queue):
    user = create_user(app)
    forgot(client, user.email, HTML)
    [mail] = wait_for_messages(smtp_server, 1)
    assert mail.message["Subject"] == "Reset your password"


# --- the helpers themselves -------------------------------------------------------------------


def test_translated_looks_messages_up_exactly_then_by_pattern(app):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert translated("Invalid email format") == "Ungültige E-Mail-Adresse"
        assert (
            translated("Name must be 1 to 7 characters")
            == "Der Name muss 1 bis 7 Zeichen lang sein"
        )
        assert translated("Something nobody marked") == "Something nobody marked"
        assert translated("") == ""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translated("Invalid email format") == "Invalid email format"


def test_outside_a_request_mails_fall_back_to_english(app):
    with app.app_context():
        assert select_locale() == "en"
        assert email_service.mail_locale(None) == "en"
        assert email_service.mail_locale("de") == "de"
        with email_service.job_locale("de"):
            assert email_service.mail_locale(None) == "de"
            assert email_service.mail_locale("en") == "en"
            assert email_service.mail_locale("xx") == "de"  # not a language of ours
        assert email_service.mail_locale(None) == "en"


def test_saving_the_language_of_a_user_who_is_gone_changes_nothing(app):
    with app.app_context():
        locale_service.save(user_id=987_654, locale="de")
        assert db.session.get(User, 987_654) is None


def test_a_mail_job_submitted_outside_a_request_is_in_the_recipients_language(
    app, mail_app, smtp_server
):
    """A command or a worker submitting a job has no request language to pass on."""
    english, german = create_user(app), create_user(app)
    with app.app_context():
        locale_service.save(user_id=german.id, locale="de")
        registration.request_password_reset(email=english.email)
        registration.request_password_reset(email=german.email)
    subjects = {mail.envelope_to[0]: mail.message["Subject"] for mail in smtp_server.messages}
    assert subjects == {
        english.email: "Reset your password",
        german.email: "Setzen Sie Ihr Passwort zurück",
    }


@pytest.mark.parametrize(
    ("headers", "sentence"), [(ENGLISH, "You are signed in as"), (GERMAN, "Sie sind als")]
)
def test_an_emphasised_value_in_a_sentence_is_escaped(app, client, headers, sentence):
    user = create_user(app, name="<b>Eve</b>")
    browser_login(client, user.email)
    page = text(client.get("/", headers=headers))
    assert f"{sentence} <strong>&lt;b&gt;Eve&lt;/b&gt;</strong>" in page
    assert "<b>Eve</b>" not in page
