"""Optional error reporting (Sentry) and log shipping (CloudWatch).

Both packages are extras (`pip install -r requirements-extras.txt`), imported only when their
setting is present. A missing package or a failing start logs one warning and the application
starts anyway: monitoring must never be the reason a release cannot boot.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import Flask

from observability.logs import install_handler
from observability.redaction import scrub_value

logger = logging.getLogger(__name__)

EXTRAS_HINT = "pip install -r requirements-extras.txt"


def _import(module: str, setting: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        logger.warning(
            "%s is set but %s is not installed (%s); skipped", setting, module, EXTRAS_HINT
        )
        return None


def scrub_event(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry `before_send`/`before_breadcrumb`: the same redaction as the log handlers."""
    scrubbed: dict[str, Any] = scrub_value(event)
    return scrubbed


def init_sentry(app: Flask) -> bool:
    """Report unhandled errors to Sentry when `SENTRY_DSN` is set; never with personal data."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    sentry_sdk = _import("sentry_sdk", "SENTRY_DSN")
    if sentry_sdk is None:
        return False
    flask_integration = _import("sentry_sdk.integrations.flask", "SENTRY_DSN")
    if flask_integration is None:
        return False
    try:
        sentry_sdk.init(
            dsn=dsn,
            integrations=[flask_integration.FlaskIntegration()],
            send_default_pii=False,
            environment=app.config["ENV_NAME"],
            release=f"{app.config['APP_NAME']}@{app.config['APP_VERSION']}",
            traces_sample_rate=app.config["SENTRY_TRACES_SAMPLE_RATE_PERCENT"] / 100,
            before_send=scrub_event,
            before_breadcrumb=scrub_event,
        )
    except Exception as exc:
        logger.warning("Sentry could not start (%s); error reporting is off", type(exc).__name__)
        return False
    return True


def init_cloudwatch(app: Flask) -> bool:
    """Ship log lines to CloudWatch Logs when `CLOUDWATCH_LOG_GROUP` is set."""
    group = app.config.get("CLOUDWATCH_LOG_GROUP")
    if not group:
        return False
    watchtower = _import("watchtower", "CLOUDWATCH_LOG_GROUP")
    if watchtower is None:
        return False
    options: dict[str, Any] = {"log_group_name": group}
    if app.config.get("CLOUDWATCH_STREAM_NAME"):
        options["log_stream_name"] = app.config["CLOUDWATCH_STREAM_NAME"]
    try:
        if app.config.get("AWS_REGION"):
            boto3 = importlib.import_module("boto3")
            options["boto3_client"] = boto3.client("logs", region_name=app.config["AWS_REGION"])
        handler = watchtower.CloudWatchLogHandler(**options)
    except Exception as exc:
        logger.warning("CloudWatch logging could not start (%s); skipped", type(exc).__name__)
        return False
    install_handler(handler, app)
    return True


def init_integrations(app: Flask) -> None:
    """Start whichever optional integrations are configured."""
    init_sentry(app)
    init_cloudwatch(app)
