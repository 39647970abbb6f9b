"""Configuration: typed parsing, environment selection, refusing unsafe production settings."""

import pytest

import config as config_module
from app import create_app
from config import (
    CONFIGS,
    DEVELOPMENT_SECRET,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    load_config,
    normalize_database_url,
    selected_config_name,
)

pytestmark = pytest.mark.unit

PER_PROCESS_LIMITS_PROBLEM = (
    "Rate limits would count in each process alone (REDIS_URL and RATELIMIT_STORAGE_URI are not "
    "set): set REDIS_URL (or RATELIMIT_STORAGE_URI) to a Redis shared by every worker and replica, "
    "or RATELIMIT_STORAGE_URI=memory:// to choose per-process counting"
)

GOOD_SECRET = "3f1c9a7be2d04c56a8f1e0b9d7c6a5b4e3f2a1b0c9d8e7f6"
SAFE_PRODUCTION = {
    "SECRET_KEY": GOOD_SECRET,
    "JWT_SECRET_KEY": GOOD_SECRET[::-1],
    "DATABASE_URL": "postgresql://app:pw@db:5432/app?sslmode=require",
    "MAIL_SERVER": "smtp.example.com",
    "PUBLIC_BASE_URL": "https://accounts.example.com",
    # Counted per process, chosen explicitly: an app built here must not bind the tests' shared
    # limiter to a Redis that does not exist.
    "RATELIMIT_STORAGE_URI": "memory://",
}


def test_typed_values_are_parsed_from_the_environment():
    config = DevelopmentConfig(
        {
            "SQLALCHEMY_POOL_SIZE": "7",
            "SQLALCHEMY_POOL_PRE_PING": "false",
            "SESSION_LIFETIME_MINUTES": "45",
            "LOG_LEVEL": "WARNING",
            "MAX_CONTENT_LENGTH": "2048",
        }
    )
    assert config.SQLALCHEMY_POOL_SIZE == 7
    assert config.SQLALCHEMY_POOL_PRE_PING is False
    assert config.PERMANENT_SESSION_LIFETIME.total_seconds() == 45 * 60
    assert config.LOG_LEVEL == "WARNING"
    assert config.MAX_CONTENT_LENGTH == 2048


def test_malformed_values_are_reported_not_crashing():
    config = DevelopmentConfig(
        {"SQLALCHEMY_POOL_SIZE": "many", "FORCE_HTTPS": "perhaps", "LOG_LEVEL": "LOUD"}
    )
    problems = config.validate()
    assert any("SQLALCHEMY_POOL_SIZE must be an integer" in p for p in problems)
    assert any("FORCE_HTTPS must be true or false" in p for p in problems)
    assert any("LOG_LEVEL must be one of" in p for p in problems)
    assert config.SQLALCHEMY_POOL_SIZE == 20


def test_integer_below_minimum_is_reported():
    config = DevelopmentConfig({"SQLALCHEMY_POOL_SIZE": "0"})
    assert any("at least 1" in p for p in config.validate())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://u:p@h:5432/d?sslmode=require",
            "postgresql+psycopg://u:p@h:5432/d?sslmode=require",
        ),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3_unchanged_otherwise(url, expected):
    assert normalize_database_url(url) == expected


def test_pool_settings_apply_on_postgresql():
    config = ProductionConfig(
        {**SAFE_PRODUCTION, "SQLALCHEMY_POOL_SIZE": "5", "SQLALCHEMY_MAX_OVERFLOW": "6"}
    )
    assert config.SQLALCHEMY_ENGINE_OPTIONS == {
        "pool_size": 5,
        "max_overflow": 6,
        "pool_timeout": 30,
        "pool_recycle": 3600,
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": 10, "options": "-c statement_timeout=30000"},
        "hide_parameters": True,
    }


def test_postgresql_reads_get_an_autocommit_pool_with_the_same_settings():
    config = ProductionConfig({**SAFE_PRODUCTION, "SQLALCHEMY_POOL_SIZE": "5"})
    assert config.SQLALCHEMY_BINDS == {
        "reads": {
            "url": config.SQLALCHEMY_DATABASE_URI,
            **config.SQLALCHEMY_ENGINE_OPTIONS,
            "isolation_level": "AUTOCOMMIT",
            "pool_reset_on_return": None,  # every statement committed itself
            "pool_pre_ping": False,  # it pings idle connections only (decision 0124)
        }
    }
    assert config.SQLALCHEMY_BINDS["reads"]["pool_size"] == 5


def test_sqlite_is_the_default_database_in_development():
    config = DevelopmentConfig({})
    assert config.SQLALCHEMY_DATABASE_URI == "sqlite:///flask_app.db"
    assert "pool_size" not in config.SQLALCHEMY_ENGINE_OPTIONS
    assert config.SQLALCHEMY_BINDS == {}
    assert config.SECRET_KEY == DEVELOPMENT_SECRET
    assert config.validate() == []


def test_testing_ignores_database_url_and_uses_test_database_url():
    config = config_module.TestingConfig(
        {"DATABASE_URL": "postgresql://prod/db", "TEST_DATABASE_URL": "postgresql://t/db"}
    )
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://t/db"
    assert config_module.TestingConfig(
        {"DATABASE_URL": "postgresql://prod/db"}
    ).SQLALCHEMY_DATABASE_URI.startswith("sqlite")


def test_production_lists_every_problem_at_once():
    problems = ProductionConfig.validate_required_config({})
    assert problems == [
        "SECRET_KEY is not set",
        "JWT_SECRET_KEY is not set",
        "DATABASE_URL is not set",
        "MAIL_SERVER is not set (or set MAIL_BACKEND=none to send no mail)",
        "PUBLIC_BASE_URL is not set (links in emails are built from it)",
        PER_PROCESS_LIMITS_PROBLEM,
    ]


@pytest.mark.parametrize(
    "secret",
    ["abc123", "your-32-character-secret-key-here", "change-me-" + "x" * 40, DEVELOPMENT_SECRET],
)
def test_production_refuses_placeholder_and_short_secrets(secret):
    problems = ProductionConfig.validate_required_config({**SAFE_PRODUCTION, "SECRET_KEY": secret})
    assert len(problems) == 1
    assert problems[0].startswith("SECRET_KEY is a placeholder")
    assert secret not in problems[0], "the message never repeats the secret"


def test_samesite_none_requires_secure_cookies():
    problems = ProductionConfig.validate_required_config(
        {**SAFE_PRODUCTION, "SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_SECURE": "false"}
    )
    assert problems == ["SESSION_COOKIE_SAMESITE=None requires SESSION_COOKIE_SECURE=true"]


def test_safe_production_configuration_is_valid():
    config = ProductionConfig(SAFE_PRODUCTION)
    assert config.validate() == []
    assert config.SESSION_COOKIE_SECURE is True
    assert config.DEBUG is False


def test_production_trusts_only_its_public_host_loopback_and_listed_names():
    assert ProductionConfig(SAFE_PRODUCTION).TRUSTED_HOSTS == [
        "accounts.example.com",
        "localhost",
        "127.0.0.1",
    ]
    listed = ProductionConfig({**SAFE_PRODUCTION, "TRUSTED_HOSTS": "old.example.com, .example.org"})
    assert listed.TRUSTED_HOSTS[-2:] == ["old.example.com", ".example.org"]
    assert listed.validate() == []
    assert DevelopmentConfig({}).TRUSTED_HOSTS is None  # any host while developing


def test_trusted_hosts_must_be_host_names():
    problems = ProductionConfig.validate_required_config(
        {**SAFE_PRODUCTION, "TRUSTED_HOSTS": "good.example.com,https://bad.example.com,*"}
    )
    assert problems == [
        "TRUSTED_HOSTS must list host names without port (got ['https://bad.example.com', '*'])"
    ]


def test_a_production_app_refuses_a_forged_host(monkeypatch):
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    client = create_app("production").test_client()
    forged = client.get("/auth//login", headers={"Host": "evil.example"})
    assert forged.status_code == 400
    assert forged.json["error"]["code"] == "BAD_REQUEST"
    assert "Location" not in forged.headers
    public = client.get("/health", headers={"Host": "accounts.example.com"})
    probe = client.get("/health", headers={"Host": "127.0.0.1:8000"})  # container health checks
    assert public.status_code == probe.status_code == 200


def test_production_refuses_to_start_when_unsafe(monkeypatch):
    for name in ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as excinfo:
        create_app("production")
    message = str(excinfo.value)
    assert "SECRET_KEY is not set" in message
    assert "JWT_SECRET_KEY is not set" in message
    assert "DATABASE_URL is not set" in message


def test_production_starts_when_safe(monkeypatch):
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app("production")
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "development"),
        ({"FLASK_ENV": "Production"}, "production"),
        ({"FLASK_CONFIG": "staging"}, "staging"),
        ({"FLASK_ENV": "production", "FLASK_CONFIG": "Production"}, "production"),
        ({"FLASK_ENV": "", "FLASK_CONFIG": "staging"}, "staging"),
    ],
)
def test_config_selection(environ, expected):
    assert selected_config_name(environ) == expected


def test_conflicting_flask_env_and_flask_config_are_refused():
    with pytest.raises(ConfigError) as refused:
        selected_config_name({"FLASK_ENV": "production", "FLASK_CONFIG": "development"})
    message = str(refused.value)
    assert "ambiguous" in message
    assert "FLASK_CONFIG=development and FLASK_ENV=production" in message


def test_unknown_configuration_name_is_refused():
    with pytest.raises(ConfigError, match="unknown configuration"):
        load_config("nonsense")


def test_every_environment_has_a_class():
    assert set(CONFIGS) == {"development", "testing", "staging", "production"}


def test_the_process_environment_beats_env_file(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        "APP_NAME=from-the-file\nLOG_LEVEL=ERROR\nMAIL_PORT=2525\nFLASK_CONFIG=staging\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("LOG_LEVEL", "MAIL_PORT", "FLASK_CONFIG", "FLASK_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_NAME", "from-the-process")
    config = DevelopmentConfig()
    assert config.APP_NAME == "from-the-process"
    assert (config.LOG_LEVEL, config.MAIL_PORT) == ("ERROR", 2525)
    assert config.JWT_AUDIENCE == "from-the-process-api", "derived from the value in force"
    assert selected_config_name() == "staging"
    monkeypatch.setenv("FLASK_CONFIG", "production")
    assert selected_config_name() == "production"


def test_a_mapping_is_the_only_source_when_given(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("APP_NAME=from-the-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    config = DevelopmentConfig({"MAIL_PORT": " 2525 ", "MAIL_SERVER": "  "})
    assert (config.APP_NAME, config.LOG_LEVEL) == ("flask-backend-app", "DEBUG")
    assert (config.MAIL_PORT, config.MAIL_SERVER) == (2525, None), "stripped; empty is unset"


def test_malformed_values_in_env_file_are_listed_together_naming_each(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        "MAIL_PORT=0\nSESSION_COOKIE_SAMESITE=lax\nPUBLIC_BASE_URL=example.com\nREDIS_URL=\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("MAIL_PORT", "SESSION_COOKIE_SAMESITE", "PUBLIC_BASE_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    monkeypatch.setenv("MFA_TOKEN_SECONDS", "1.5")
    config = DevelopmentConfig()
    assert sorted(config.validate()) == [
        "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'LOUD')",
        "MAIL_PORT must be at least 1 (got 0)",
        "MFA_TOKEN_SECONDS must be an integer (got '1.5')",
        "PUBLIC_BASE_URL must be an absolute http(s) URL without query or fragment "
        "(got 'example.com')",
        "SESSION_COOKIE_SAMESITE must be one of Lax, Strict, None (got 'lax')",
    ]
    assert (config.MAIL_PORT, config.LOG_LEVEL) == (587, "DEBUG"), "defaults stand in"
