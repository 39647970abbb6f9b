"""Entry points: the `flask` CLI from the project root, `from app import ...`, the shell."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_module
from models import User

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def run_flask(*args, env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "SECRET", "JWT", "DATABASE", "MAIL_", "PUBLIC_BASE_URL"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_seed_imports_work():
    assert app_module.app is app_module.application
    assert callable(app_module.create_app)
    assert app_module.db is not None


def test_config_validate_passes_for_development(app):
    result = app.test_cli_runner().invoke(args=["config", "validate"])
    assert result.exit_code == 0
    assert "'testing' configuration is valid" in result.output


def test_config_validate_lists_problems(app, monkeypatch):
    settings = app.extensions["app_config"]
    monkeypatch.setattr(settings, "_env_errors", ["LOG_LEVEL must be one of DEBUG, INFO"])
    result = app.test_cli_runner().invoke(args=["config", "validate"])
    assert result.exit_code == 1
    assert "1 problem(s)" in result.output
    assert "LOG_LEVEL must be one of" in result.output


@pytest.mark.slow
def test_production_without_secrets_exits_non_zero_naming_each(tmp_path):
    result = run_flask("config", "validate", env_overrides={"FLASK_ENV": "production"})
    assert result.returncode != 0
    for name in ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"):
        assert f"{name} is not set" in result.stderr
    assert "Rate limits would count in each process alone" in result.stderr


@pytest.mark.slow
def test_production_with_safe_settings_validates(tmp_path):
    secret = "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
    result = run_flask(
        "config",
        "validate",
        env_overrides={
            "FLASK_ENV": "production",
            "SECRET_KEY": secret,
            "JWT_SECRET_KEY": secret[::-1],
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "MAIL_SERVER": "smtp.example.com",
            "PUBLIC_BASE_URL": "https://accounts.example.com",
            "REDIS_URL": "redis://cache:6379/0",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "'production' configuration is valid" in result.stdout


def test_shell_context_preloads_app_db_and_models(app):
    context = {}
    with app.app_context():
        for processor in app.shell_context_processors:
            context.update(processor())
    assert context["app"] is app
    assert context["db"] is app_module.db
    assert context["User"] is User
