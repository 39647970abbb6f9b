"""Entry points: the `flask` CLI from the project root, `from app import ...`, the shell."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_module
from models import User
from tests.ops_support import free_port, subprocess_env, wait_for_http

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def run_flask(*args, env_overrides, cwd=ROOT):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "SECRET", "JWT", "DATABASE", "MAIL_", "PUBLIC_BASE_URL"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [FLASK, "--app", str(ROOT / "app.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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


@pytest.mark.slow
def test_process_environment_and_dotenv_naming_different_configurations_are_refused(tmp_path):
    """`FLASK_ENV=production` over a `.env` choosing development used to validate development."""
    (tmp_path / ".env").write_text("FLASK_CONFIG=development\n")
    result = run_flask(
        "config", "validate", env_overrides={"FLASK_ENV": "production"}, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "valid" not in result.stdout
    assert "FLASK_CONFIG=development and FLASK_ENV=production" in result.stderr


@pytest.mark.slow
def test_the_process_environment_beats_dotenv(tmp_path):
    (tmp_path / ".env").write_text("FLASK_CONFIG=development\nFLASK_ENV=development\n")
    result = run_flask(
        "config",
        "validate",
        env_overrides={"FLASK_CONFIG": "production", "FLASK_ENV": "production"},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "'production' configuration is unsafe" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_shell_context_preloads_app_db_and_models(app):
    context = {}
    with app.app_context():
        for processor in app.shell_context_processors:
            context.update(processor())
    assert context["app"] is app
    assert context["db"] is app_module.db
    assert context["User"] is User


@pytest.fixture
def dev_server(tmp_path):
    """`python app.py` as `make run` starts it (development: debug and reloader), in a process
    group of its own so the reloader's child stops with it."""
    port = free_port()
    env = subprocess_env(
        FLASK_CONFIG="development",
        FLASK_PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}",
    )
    env.pop("FLASK_ENV", None)
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield port, process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


@pytest.mark.slow
def test_python_app_py_prints_where_it_serves(dev_server):
    port, process, log = dev_server
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/health", process=process)
    output = log.read_text()
    assert output.count(f"Serving on {url}") == 1, output  # not again from the reloader's child


@pytest.mark.slow
def test_make_flask_runs_the_cli_of_the_virtualenv(tmp_path):
    venv = Path(sys.executable).parent.parent
    marker = venv / ".runtime-installed"  # never rebuilt here (-o): only the command runs
    result = subprocess.run(
        ["make", "-s", "-o", str(marker), f"VENV={venv}", "flask", "ARGS=config validate"],
        cwd=ROOT,
        env=subprocess_env(FLASK_CONFIG="testing", TEST_DATABASE_URL=f"sqlite:///{tmp_path}/t.db"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "'testing' configuration is valid" in result.stdout
