"""Password hashing (argon2id, legacy bcrypt), rehash decisions and the password policy."""

import threading

import bcrypt
import pytest
from argon2 import PasswordHasher, Type

import config
from domain.passwords import common_passwords, legacy_password_problems, password_problems
from errors import ValidationError
from services import password_service
from services.password_service import (
    check_password,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)

pytestmark = pytest.mark.unit

GOOD_PASSWORD = "correct horse battery staple"
# Checked to be on the shipped list: ranks ~17k and ~31k, and one from the long tail past 100k.
COMMON_LONG_PASSWORDS = ["123456789012", "password1234", "iloveyou1234"]


def legacy_bcrypt_hash(password, prefix):
    """A hash as the old Node.js service stored it, with the given `$2?$` prefix."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return prefix + hashed[4:]


@pytest.fixture
def dummy_calls(monkeypatch):
    """Count the dummy verifications `verify_password` spends."""
    calls = []
    real = password_service.dummy_verify
    monkeypatch.setattr(password_service, "dummy_verify", lambda: calls.append(real()))
    return calls


# --- hashing ----------------------------------------------------------------------------------


def test_argon2id_round_trip_with_the_defaults_outside_an_app():
    password_hash = hash_password(GOOD_PASSWORD)
    assert password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(password_hash, GOOD_PASSWORD)
    assert not verify_password(password_hash, GOOD_PASSWORD + "!")
    assert not needs_rehash(password_hash)


def test_hash_uses_the_configured_cost_inside_an_app(app):
    with app.app_context():
        password_hash = hash_password(GOOD_PASSWORD)
        assert password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
        assert verify_password(password_hash, GOOD_PASSWORD)
        assert not needs_rehash(password_hash)


def test_each_hash_has_its_own_salt(app):
    with app.app_context():
        assert hash_password(GOOD_PASSWORD) != hash_password(GOOD_PASSWORD)


def test_wrong_password_does_not_verify(app):
    with app.app_context():
        password_hash = hash_password(GOOD_PASSWORD)
        assert verify_password(password_hash, "Correct horse battery staple") is False
        assert verify_password(password_hash, "") is False


def test_unicode_passwords_verify_in_either_normal_form(app):
    with app.app_context():
        password_hash = hash_password("caf\u00e9 au lait, s'il vous pla\u00eet")
        assert verify_password(password_hash, "cafe\u0301 au lait, s'il vous plai\u0302t")


def test_lone_surrogates_hash_and_verify_without_raising(app):
    with app.app_context():
        password_hash = hash_password("broken \ud800 surrogate pair")
        assert verify_password(password_hash, "broken \ud800 surrogate pair")
        assert not verify_password(password_hash, "broken \udc00 surrogate pair")


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_legacy_bcrypt_hashes_verify(app, prefix):
    password_hash = legacy_bcrypt_hash("node-era password 1", prefix)
    assert password_hash.startswith(prefix)
    with app.app_context():
        assert verify_password(password_hash, "node-era password 1")
        assert not verify_password(password_hash, "node-era password 2")


def test_bcrypt_reads_only_the_first_72_bytes_like_the_node_service(app):
    first_72 = "x" * 72
    password_hash = bcrypt.hashpw(first_72.encode(), bcrypt.gensalt(rounds=4)).decode()
    with app.app_context():
        assert verify_password(password_hash, first_72 + "anything after byte 72")


@pytest.mark.parametrize(
    "password_hash",
    [
        None,
        "",
        "plaintext-password",
        "$1$md5crypt$abcdefghijklmnopqrstuv",
        "$2b$04$short",
        "$2b$04$" + "!" * 53,
        "$2y$04$\u00fcnicode" + "a" * 46,
        "$argon2id$garbage",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
        "$argon2id$v=19$m=1024,t=1,p=1$!!!$!!!",
    ],
)
def test_missing_or_malformed_hashes_fail_after_one_dummy_computation(
    app, dummy_calls, password_hash
):
    with app.app_context():
        assert verify_password(password_hash, GOOD_PASSWORD) is False
    assert len(dummy_calls) == 1


def test_a_real_verification_spends_no_extra_dummy_computation(app, dummy_calls):
    with app.app_context():
        password_hash = hash_password(GOOD_PASSWORD)
        verify_password(password_hash, GOOD_PASSWORD)
        verify_password(password_hash, "wrong password")
        verify_password(legacy_bcrypt_hash(GOOD_PASSWORD, "$2b$"), "wrong password")
    assert dummy_calls == []


def test_dummy_verify_returns_nothing_with_and_without_an_app(app):
    assert dummy_verify() is None
    with app.app_context():
        assert dummy_verify() is None


# --- rehashing --------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_hashes_need_rehash(app, prefix):
    with app.app_context():
        assert needs_rehash(legacy_bcrypt_hash(GOOD_PASSWORD, prefix))


def test_argon2_hash_needs_rehash_when_the_configured_cost_changes(app):
    with app.app_context():
        password_hash = hash_password(GOOD_PASSWORD)
    for key, value in [("ARGON2_TIME_COST", 2), ("ARGON2_MEMORY_COST", 2048)]:
        previous = app.config[key]
        app.config[key] = value
        try:
            with app.app_context():
                assert needs_rehash(password_hash)
                assert verify_password(password_hash, GOOD_PASSWORD)
        finally:
            app.config[key] = previous


def test_other_argon2_variants_and_malformed_hashes_need_rehash(app):
    argon2i = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.I)
    with app.app_context():
        legacy_argon2i = argon2i.hash(GOOD_PASSWORD)
        assert verify_password(legacy_argon2i, GOOD_PASSWORD)
        assert needs_rehash(legacy_argon2i)
        assert needs_rehash("$argon2id$garbage")
        assert needs_rehash("")


# --- policy -----------------------------------------------------------------------------------

TOO_SHORT = "Password must be at least 12 characters"
TOO_LONG = "Password must be at most 128 characters"
TOO_COMMON = "Password is too common"
SAME_AS_EMAIL = "Password must not be the same as the email"


@pytest.mark.parametrize(
    ("password", "email", "expected"),
    [
        ("k7#qv2!mzp9", None, [TOO_SHORT]),
        ("k7#qv2!mzp9w", None, []),
        ("k7#qv2!mzp9w" * 10 + "abcdefgh", None, []),
        ("k7#qv2!mzp9w" * 10 + "abcdefghi", None, [TOO_LONG]),
        ("\U0001f512" * 12, None, []),
        ("\U0001f512" * 11, None, [TOO_SHORT]),
        ("e\u0301" * 6, None, []),
        ("\u00e9" * 11, None, [TOO_SHORT]),
        ("            ", None, []),
        ("123456789012", None, [TOO_COMMON]),
        ("password1234", None, [TOO_COMMON]),
        ("PassWord1234", None, [TOO_COMMON]),
        (" password1234 ", None, [TOO_COMMON]),
        (
            "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11\uff12\uff13\uff14",
            None,
            [TOO_COMMON],
        ),
        ("iloveyou1234", None, [TOO_COMMON]),
        ("password", None, [TOO_SHORT, TOO_COMMON]),
        ("Ada.Lovelace@Example.com", "ada.lovelace@example.com", [SAME_AS_EMAIL]),
        ("ada.lovelace@example.com", "  ADA.LOVELACE@EXAMPLE.COM  ", [SAME_AS_EMAIL]),
        ("ada.lovelace@example.com1", "ada.lovelace@example.com", []),
        ("a@b.io", "a@b.io", [TOO_SHORT, SAME_AS_EMAIL]),
        ("k7#qv2!mzp9w", "", []),
        ("k7#qv2!mzp9w", "   ", []),
    ],
)
def test_password_policy(password, email, expected):
    assert password_problems(password, email=email) == expected


@pytest.mark.parametrize("password", COMMON_LONG_PASSWORDS)
def test_chosen_common_examples_are_on_the_list(password):
    assert password in common_passwords()


def test_check_password_accepts_a_good_password():
    assert check_password(GOOD_PASSWORD, email="ada@example.com") is None


def test_check_password_lists_every_problem_under_the_field():
    with pytest.raises(ValidationError) as raised:
        check_password("Password", email="password", field="new_password")
    details = raised.value.details
    assert details["errors"] == [
        {"field": "new_password", "error": TOO_SHORT},
        {"field": "new_password", "error": TOO_COMMON},
        {"field": "new_password", "error": SAME_AS_EMAIL},
    ]
    assert details["field"] == "new_password"
    assert details["error"] == TOO_SHORT
    assert raised.value.code == "VALIDATION_ERROR"


def test_check_password_field_defaults_to_password():
    with pytest.raises(ValidationError) as raised:
        check_password("k7#qv2!")
    assert raised.value.details["errors"] == [{"field": "password", "error": TOO_SHORT}]


def test_common_password_list_is_large_lowercased_and_loaded_once():
    passwords = common_passwords()
    assert len(passwords) >= 100_000
    assert passwords is common_passwords()
    assert all(p == p.lower() and p == p.strip() and p for p in passwords)
    assert {"123456", "password", "qwerty"} <= passwords


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("abcdef12", []),
        ("abcdef1", ["password must be at least 8 characters"]),
        ("abcdefgh", ["password must contain at least 1 letter and 1 number"]),
        ("12345678", ["password must contain at least 1 letter and 1 number"]),
        (
            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e912",
            ["password must contain at least 1 letter and 1 number"],
        ),
        ("\U0001f512\U0001f512\U0001f512a1", []),
        ("short", ["password must be at least 8 characters"]),
    ],
)
def test_legacy_password_rule(password, expected):
    assert legacy_password_problems(password) == expected


# --- configuration ----------------------------------------------------------------------------


def test_argon2_cost_is_read_from_the_environment():
    settings = config.DevelopmentConfig(
        {"ARGON2_TIME_COST": "4", "ARGON2_MEMORY_COST": "47104", "ARGON2_PARALLELISM": "2"}
    )
    assert (
        settings.ARGON2_TIME_COST,
        settings.ARGON2_MEMORY_COST,
        settings.ARGON2_PARALLELISM,
    ) == (
        4,
        47104,
        2,
    )
    assert settings.validate() == []


def test_argon2_defaults_are_rfc_9106_and_cheap_only_in_testing():
    production, testing = config.ProductionConfig({}), config.TestingConfig({})
    assert (production.ARGON2_TIME_COST, production.ARGON2_MEMORY_COST) == (3, 65536)
    assert production.ARGON2_PARALLELISM == 4
    assert (testing.ARGON2_TIME_COST, testing.ARGON2_MEMORY_COST) == (1, 1024)
    assert testing.ARGON2_PARALLELISM == 1


@pytest.mark.parametrize("weak", [{"ARGON2_MEMORY_COST": "19455"}, {"ARGON2_TIME_COST": "1"}])
def test_production_refuses_argon2_cost_below_owasp_minimum(weak):
    problems = config.ProductionConfig.validate_required_config(
        {
            "SECRET_KEY": "3f1c9a7be2d04c56a8f1e0b9d7c6a5b4e3f2a1b0c9d8e7f6",
            "JWT_SECRET_KEY": "6f7e8d9c0b1a2f3e4b5a6c7d9b0e1f8a65c40d2eb7a9c1f3",
            "DATABASE_URL": "postgresql://app:pw@db:5432/app",
            "MAIL_SERVER": "smtp.example.com",
            "PUBLIC_BASE_URL": "https://accounts.example.com",
            "RATELIMIT_STORAGE_URI": "memory://",
            **weak,
        }
    )
    assert len(problems) == 1
    assert "below OWASP's minimum" in problems[0]


def test_memory_cost_below_eight_kib_per_lane_is_reported():
    settings = config.DevelopmentConfig({"ARGON2_MEMORY_COST": "16", "ARGON2_PARALLELISM": "4"})
    assert any("8 KiB per lane" in problem for problem in settings.validate())


def test_the_legacy_policy_checks_the_old_rule_only(app):
    from domain.passwords import PasswordPolicy, legacy_api_policy
    from errors import ValidationError
    from services.password_service import check_password

    check_password("password1", policy=PasswordPolicy.LEGACY)
    with pytest.raises(ValidationError):
        check_password("password1")
    with pytest.raises(ValidationError) as refused:
        check_password("pass1", policy=PasswordPolicy.LEGACY)
    assert refused.value.details["error"] == "password must be at least 8 characters"
    with app.test_request_context():
        assert legacy_api_policy() is PasswordPolicy.LEGACY
        app.config["LEGACY_STRICT_PASSWORD_POLICY"] = True
        try:
            assert legacy_api_policy() is PasswordPolicy.CURRENT
        finally:
            app.config["LEGACY_STRICT_PASSWORD_POLICY"] = False


def test_hashes_beyond_the_configured_concurrency_wait_their_turn(app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_HASH_CONCURRENCY", 1)
    done = threading.Event()

    def second_login():
        with app.app_context():
            password_service.verify_password(password_service.hash_password("x" * 12), "x" * 12)
        done.set()

    with app.app_context(), password_service.hashing_slot():
        other = threading.Thread(target=second_login)
        other.start()
        assert not done.wait(0.3), "a second hash ran while the only slot was taken"
    assert done.wait(10)
    other.join()
