"""`.env.example` documents every variable the configuration reads."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
READ_BY_CONFIG = re.compile(r"""env\.\w+\(\s*["']([A-Z][A-Z0-9_]+)["']""")
READ_FROM_ENVIRON = re.compile(r"""environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
# Read by the runtime or tools rather than by the app's configuration.
NOT_APP_SETTINGS = {"PORT", "GUNICORN_METRICS_DIR_OWNER"}  # the latter set by gunicorn.conf.py


def variables_read() -> set[str]:
    names = set(READ_BY_CONFIG.findall((ROOT / "config.py").read_text()))
    for source in ("config.py", "gunicorn.conf.py"):
        names |= set(READ_FROM_ENVIRON.findall((ROOT / source).read_text()))
    return names - NOT_APP_SETTINGS


def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_setting_is_documented_in_env_example():
    missing = sorted(variables_read() - documented())
    assert missing == [], f"add these to .env.example with a comment: {missing}"


def test_the_scan_finds_the_settings():
    assert {"SECRET_KEY", "DATABASE_URL", "SQLALCHEMY_POOL_SIZE", "LOG_LEVEL"} <= variables_read()
