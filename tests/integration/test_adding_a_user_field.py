"""Adding a public user field is the model, its migration, its schema and its docs
(CONTRIBUTING.md, decision 0113): done here to a copy of the project, the new field shows in
every answer, with no change to `services/user_service.py` or any route."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.ops_support import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", "*.egg-info", "instance", "logs", ".*cache", "tests", "docs"
)
# The two hand edits, each line put before its anchor (after the last column, the last field);
# the third file is the migration `flask db migrate` writes.
MODEL_ANCHOR = "\n    @property\n"
MODEL_LINE = "    nickname: Mapped[str | None] = mapped_column(String(40), default=None)\n"
SCHEMA_ANCHOR = "\n\nclass UserCreate("
SCHEMA_LINE = "    nickname: str | None\n"  # required (no default): a missed column would be a 500
# Runs in the copy: an admin creates a user, the field is given a value, then every user answer.
SCENARIO = textwrap.dedent(
    """
    import json

    from sqlalchemy import text

    from app import create_app
    from models import db
    from services import user_service
    from services.base_service import unit_of_work

    PASSWORD = "plausible-Kettle-47-Orbit"
    app = create_app("testing")
    admin = {"email": "root@example.com", "password": PASSWORD}
    with app.app_context(), unit_of_work():
        user_service.add_user(**admin, name="Root", role="admin")
    client = app.test_client()
    login = client.post("/api/v1/auth/login", json=admin)
    headers = {"Authorization": "Bearer " + login.json["data"]["access_token"]}
    body = {"email": "nick@example.com", "password": PASSWORD, "name": "Nick"}
    created = client.post("/api/v1/users", json=body, headers=headers)
    path = f"/api/v1/users/{created.json['data']['id']}"
    with app.app_context(), unit_of_work() as session:
        session.execute(text("UPDATE users SET nickname = 'Nicky' WHERE name = 'Nick'"))
    answers = {
        "create": created,
        "get": client.get(path, headers=headers),
        "patch": client.patch(path, json={"name": "Nick Renamed"}, headers=headers),
        "list": client.get("/api/v1/users?sort=-id&per_page=1", headers=headers),
    }
    print(json.dumps({name: [r.status_code, r.json] for name, r in answers.items()}))
    """
)


def add_nickname(project: Path) -> None:
    """The hand edits of the four-file change (the docs aside): one column, one schema field."""
    for relative, anchor, line in (
        ("models/user.py", MODEL_ANCHOR, MODEL_LINE),
        ("schemas/user.py", SCHEMA_ANCHOR, SCHEMA_LINE),
    ):
        path = project / relative
        source = path.read_text(encoding="utf-8")
        assert source.count(anchor) == 1, f"{relative}: the anchor moved; update this test"
        path.write_text(source.replace(anchor, line + anchor), encoding="utf-8")


def run(project: Path, env: dict[str, str], *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_a_field_added_to_model_migration_and_schema_shows_in_every_user_answer(tmp_path):
    project = tmp_path / "src"
    shutil.copytree(ROOT, project, ignore=SKIP)
    add_nickname(project)
    env = subprocess_env(
        FLASK_CONFIG="testing",
        FLASK_APP="app",
        TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'users.db'}",
    )
    flask = ("-m", "flask")
    run(project, env, *flask, "db", "upgrade")
    run(project, env, *flask, "db", "migrate", "-m", "users nickname")
    [migration] = (project / "migrations/versions").glob("*_users_nickname.py")
    assert "add_column(sa.Column('nickname'" in migration.read_text(encoding="utf-8")
    run(project, env, *flask, "db", "upgrade")

    answers = json.loads(run(project, env, "-c", SCENARIO).splitlines()[-1])

    assert {name: status for name, (status, _) in answers.items()} == {
        "create": 201,
        "get": 200,
        "patch": 200,
        "list": 200,
    }
    assert answers["create"][1]["data"]["nickname"] is None  # the model's default
    assert answers["get"][1]["data"]["nickname"] == "Nicky"
    assert answers["patch"][1]["data"]["nickname"] == "Nicky"
    assert answers["list"][1]["data"]["items"][0]["nickname"] == "Nicky"
    for unchanged in ("services/user_service.py", "blueprints/api_users.py"):
        assert (project / unchanged).read_bytes() == (ROOT / unchanged).read_bytes()
