"""`pip install .` and `pip install -e .` work on the seed's flat layout, and the installed tree
serves pages (templates, static files and migrations travel with the code)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", "*.egg-info", "build", "dist", "instance", "logs", ".*cache"
)

pytestmark = pytest.mark.slow


def copy_project(tmp_path: Path) -> Path:
    """A copy of the source tree, so building never writes into the checkout tests run from."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    return source


def pip(*arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *arguments],
        check=True,
        capture_output=True,
        timeout=300,
    )


def test_pip_install_serves_the_app_from_site_packages(tmp_path: Path) -> None:
    target = tmp_path / "site"
    pip("--target", str(target), str(copy_project(tmp_path)))

    for installed in (
        "app.py",
        "config.py",
        "blueprints/v1_compat/users.py",
        "domain/data/common-passwords.txt.gz",
        "templates/auth/login.html",
        "templates/emails/reset_password.txt",
        "translations/de/LC_MESSAGES/messages.mo",
        "static/css/app.css",
        "static/vendor/swagger-ui/swagger-ui-bundle.js",
        "static/vendor/swagger-ui/LICENSE",
        "static/vendor/swagger-ui/VERSION",
        "migrations/alembic.ini",
        "migrations/script.py.mako",
    ):
        assert (target / installed).is_file(), installed
    assert list((target / "migrations/versions").glob("*_0001_initial_schema.py"))

    # The installed tree alone (dependencies from this interpreter), run from an unrelated folder.
    script = textwrap.dedent(
        """
        import app
        assert app.__file__.startswith(TARGET), app.__file__
        application = app.create_app("testing")
        client = application.test_client()
        assert client.get("/health").status_code == 200
        page = client.get("/auth/login", headers={"Accept": "text/html"})
        assert page.status_code == 200 and b"<form" in page.data, page.status_code
        german = client.get("/auth/login", headers={"Accept": "text/html", "Accept-Language": "de"})
        assert "Passwort vergessen?" in german.get_data(as_text=True)  # the compiled catalog
        assert client.get("/static/css/app.css").status_code == 200
        with client.get("/docs/assets/swagger-ui-bundle.js") as bundle:
            assert bundle.status_code == 200, bundle.status_code
        """
    ).replace("TARGET", repr(str(target)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "TEST_DATABASE_URL": f"sqlite:///{tmp_path / 'installed.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_editable_install_points_at_the_checkout(tmp_path: Path) -> None:
    source = copy_project(tmp_path)
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    found = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print(u.find_spec('app').origin);"
            "print(u.find_spec('services.user_service').origin)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == [str(source / "app.py"), str(source / "services" / "user_service.py")]
