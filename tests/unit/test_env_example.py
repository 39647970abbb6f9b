"""`.env.example` and the settings model (config.py) name the same variables: every field is
documented, and every documented variable is a field or is read by a named program."""

import re
from pathlib import Path

import flask.helpers
import pytest

from config import CONFIGS, SELECTORS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Variables `.env.example` documents for programs other than the settings model, with the file
# that reads each (checked below, so the list cannot outlive its reasons).
READ_ELSEWHERE = {
    **dict.fromkeys(SELECTORS, ROOT / "config.py"),  # they choose the settings class
    "FLASK_DEBUG": Path(flask.helpers.__file__),  # Flask's own (`flask run`)
    "PORT": ROOT / "serve.py",  # and gunicorn.conf.py
    "GLIBC_TUNABLES": ROOT / "serve.py",  # glibc reads it; serve.py sets its default
    "PROMETHEUS_MULTIPROC_DIR": ROOT / "observability/metrics.py",
    "CHECK_FIELD_KEYS": ROOT / "deploy/docker-entrypoint.sh",
    "RUN_MIGRATIONS": ROOT / "deploy/docker-entrypoint.sh",
    "TEST_PG_URL": ROOT / "scripts/test.sh",
}
GUNICORN = "GUNICORN_"  # any GUNICORN_<SETTING> is read by gunicorn.conf.py
GRANIAN = "GRANIAN_"  # granian reads its options itself; serve.py sets defaults (checked below)
OTEL = "OTEL_"  # the OpenTelemetry SDK reads its standard variables itself (checked below)


def settings_fields() -> set[str]:
    """Every field of the settings model, in any environment's class."""
    return {
        field.alias or name
        for config_class in CONFIGS.values()
        for name, field in config_class.model_fields.items()
    }


def otel_sdk_names() -> set[str]:
    """The variables the OpenTelemetry SDK declares (opentelemetry.sdk.environment_variables)."""
    from opentelemetry.sdk import environment_variables

    return {value for value in vars(environment_variables).values() if isinstance(value, str)}


def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example():
    missing = sorted(settings_fields() - documented())
    assert missing == [], f"add these to .env.example with a comment: {missing}"


def test_every_documented_variable_is_a_setting_or_read_elsewhere():
    unknown = sorted(
        name
        for name in documented() - settings_fields() - READ_ELSEWHERE.keys()
        if not name.startswith((GUNICORN, GRANIAN))
        and not (name.startswith(OTEL) and name in otel_sdk_names())
    )
    assert unknown == [], f"not read by the settings model (config.py): {unknown}"


def granian_options() -> set[str]:
    """The variables granian's command line reads: click's automatic `GRANIAN_<PARAMETER>`."""
    from granian.cli import cli

    return {f"GRANIAN_{param.name.upper()}" for param in cli.params if param.name}


def test_documented_granian_variables_are_granian_options():
    documented_granian = {name for name in documented() if name.startswith(GRANIAN)}
    assert documented_granian, "the image's server settings are documented"
    assert documented_granian <= granian_options()

    from serve import defaults

    granian_defaults = defaults({}).keys() - {"GLIBC_TUNABLES"}  # glibc's: documented above
    assert granian_defaults <= granian_options(), "serve.py sets only what granian reads"
    fixed = {"GRANIAN_INTERFACE", "GRANIAN_PORT"}  # always wsgi; the port comes from PORT
    assert granian_defaults - fixed <= documented_granian
    assert "GLIBC_TUNABLES" in documented()


@pytest.mark.parametrize(("name", "reader"), sorted(READ_ELSEWHERE.items()))
def test_variables_read_elsewhere_are_read_there(name, reader):
    assert name in reader.read_text()
    assert name not in settings_fields()


def test_the_model_has_the_settings():
    assert {"SECRET_KEY", "DATABASE_URL", "SQLALCHEMY_POOL_SIZE", "LOG_LEVEL"} <= settings_fields()
    assert "TEST_DATABASE_URL" in settings_fields()  # TestingConfig's own
