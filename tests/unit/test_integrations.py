"""Sentry and CloudWatch are optional: present, missing or broken, start-up never fails."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from observability import integrations
from observability.logs import remove_app_handlers
from tests.ops_support import throwaway_app

pytestmark = pytest.mark.unit


@pytest.fixture
def fake_sentry(monkeypatch):
    calls: list[dict] = []
    sdk = types.ModuleType("sentry_sdk")
    sdk.init = lambda **kwargs: calls.append(kwargs)
    flask_module = types.ModuleType("sentry_sdk.integrations.flask")
    flask_module.FlaskIntegration = lambda: "flask-integration"
    monkeypatch.setitem(sys.modules, "sentry_sdk", sdk)
    monkeypatch.setitem(sys.modules, "sentry_sdk.integrations.flask", flask_module)
    return calls


def test_sentry_starts_with_the_flask_integration_and_no_pii(database, monkeypatch, fake_sentry):
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example/1")
    with throwaway_app(database.url):
        pass
    (options,) = fake_sentry
    assert options["send_default_pii"] is False
    assert options["integrations"] == ["flask-integration"]
    assert options["environment"] == "testing"
    event = {"request": {"headers": {"Authorization": "Bearer abc"}, "data": {"password": "p"}}}
    scrubbed = options["before_send"](event, {})
    assert "abc" not in str(scrubbed)
    assert "'p'" not in str(scrubbed)


@pytest.mark.parametrize("missing", ["sentry_sdk", "sentry_sdk.integrations.flask"])
def test_a_missing_sentry_package_warns_and_the_app_starts(database, monkeypatch, caplog, missing):
    monkeypatch.setitem(sys.modules, "sentry_sdk", types.ModuleType("sentry_sdk"))
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example/1")
    with caplog.at_level(logging.WARNING), throwaway_app(database.url) as application:
        assert application.test_client().get("/health").status_code == 200
    assert "SENTRY_DSN is set but" in caplog.text


def test_a_failing_sentry_init_warns_and_the_app_starts(database, monkeypatch, caplog, fake_sentry):
    def broken(**_kwargs):
        raise ValueError("bad dsn https://key@sentry")

    monkeypatch.setattr(sys.modules["sentry_sdk"], "init", broken)
    monkeypatch.setenv("SENTRY_DSN", "not-a-dsn")
    with caplog.at_level(logging.WARNING), throwaway_app(database.url) as application:
        assert application.test_client().get("/health").status_code == 200
    assert "Sentry could not start (ValueError)" in caplog.text
    assert "bad dsn" not in caplog.text


def test_without_settings_nothing_is_imported(database, monkeypatch):
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    monkeypatch.setitem(sys.modules, "watchtower", None)
    with throwaway_app(database.url) as application:
        assert integrations.init_sentry(application) is False
        assert integrations.init_cloudwatch(application) is False


class FakeCloudWatchHandler(logging.Handler):
    created: list[dict] = []

    def __init__(self, **options):
        super().__init__()
        self.created.append(options)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_cloudwatch_handler_is_installed_with_redaction(database, monkeypatch):
    watchtower = types.ModuleType("watchtower")
    watchtower.CloudWatchLogHandler = FakeCloudWatchHandler
    boto3 = types.ModuleType("boto3")
    boto3.client = lambda service, region_name: f"{service}@{region_name}"
    monkeypatch.setitem(sys.modules, "watchtower", watchtower)
    monkeypatch.setitem(sys.modules, "boto3", boto3)
    monkeypatch.setenv("CLOUDWATCH_LOG_GROUP", "flask-app-logs")
    monkeypatch.setenv("CLOUDWATCH_STREAM_NAME", "web-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    FakeCloudWatchHandler.created.clear()
    with throwaway_app(database.url):
        handler = next(
            h for h in logging.getLogger().handlers if isinstance(h, FakeCloudWatchHandler)
        )
        logging.getLogger("tests.cw").warning("token=%s", "tok-123")
    remove_app_handlers()
    assert FakeCloudWatchHandler.created == [
        {
            "log_group_name": "flask-app-logs",
            "log_stream_name": "web-1",
            "boto3_client": "logs@eu-west-1",
        }
    ]
    assert "tok-123" not in handler.format(handler.records[-1])


def test_missing_or_failing_cloudwatch_warns_and_the_app_starts(database, monkeypatch, caplog):
    monkeypatch.setenv("CLOUDWATCH_LOG_GROUP", "flask-app-logs")
    monkeypatch.setitem(sys.modules, "watchtower", None)
    with caplog.at_level(logging.WARNING), throwaway_app(database.url) as application:
        assert application.test_client().get("/health").status_code == 200
    assert "CLOUDWATCH_LOG_GROUP is set but watchtower is not installed" in caplog.text

    broken = types.ModuleType("watchtower")

    def refuse(**_kwargs):
        raise RuntimeError("NoCredentialsError")

    broken.CloudWatchLogHandler = refuse
    monkeypatch.setitem(sys.modules, "watchtower", broken)
    caplog.clear()
    with caplog.at_level(logging.WARNING), throwaway_app(database.url) as application:
        assert application.test_client().get("/health").status_code == 200
    assert "CloudWatch logging could not start (RuntimeError)" in caplog.text
