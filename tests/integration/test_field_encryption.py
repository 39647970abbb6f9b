"""Field encryption: MultiFernet keys, rotation with `flask keys rotate`, and refusing to run
without a key once encrypted data exists."""

from __future__ import annotations

import subprocess

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from config import DEVELOPMENT_FIELD_ENCRYPTION_KEY, ProductionConfig
from models import UserMfa, db
from models.encrypted import EncryptionUnavailable, decrypt, encrypt, parse_keys
from services.base_service import unit_of_work
from tests.factories import create_user, signed_in_user
from tests.ops_support import ROOT, subprocess_env

pytestmark = pytest.mark.integration


@pytest.fixture
def restore_key(app):
    original = app.config["FIELD_ENCRYPTION_KEY"]
    yield
    app.config["FIELD_ENCRYPTION_KEY"] = original


def store_secrets(app, count: int) -> list[int]:
    ids = []
    for number in range(count):
        user = create_user(app)
        with app.app_context(), unit_of_work() as session:
            session.add(UserMfa(user_id=user.id, secret=f"SECRET{number}", recovery_code_hashes=[]))
        ids.append(user.id)
    return ids


def raw_secrets(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(text("SELECT secret FROM user_mfa ORDER BY user_id")).scalars()
        )


def test_rotation_re_encrypts_every_row_under_the_newest_key(app, restore_key):
    old = app.config["FIELD_ENCRYPTION_KEY"]
    store_secrets(app, 5)
    new_key = Fernet.generate_key().decode()
    app.config["FIELD_ENCRYPTION_KEY"] = f"{new_key},{old}"
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 5 value(s) of user_mfa.secret" in result.output
    newest = Fernet(new_key.encode())
    assert [newest.decrypt(value.encode()).decode() for value in raw_secrets(app)] == [
        f"SECRET{n}" for n in range(5)
    ]
    # The old key can go now.
    app.config["FIELD_ENCRYPTION_KEY"] = new_key
    with app.app_context():
        assert sorted(row.secret for row in db.session.query(UserMfa)) == [
            f"SECRET{n}" for n in range(5)
        ]


def test_old_keys_still_decrypt_and_the_first_encrypts(app, restore_key):
    old = app.config["FIELD_ENCRYPTION_KEY"]
    with app.app_context():
        before = encrypt("x")
        new_key = Fernet.generate_key().decode()
        app.config["FIELD_ENCRYPTION_KEY"] = f"{new_key}, {old}"
        assert decrypt(before) == "x"
        Fernet(new_key.encode()).decrypt(encrypt("y").encode())


def test_without_a_key_encrypted_data_answers_503(app, client, restore_key):
    signed = signed_in_user(app, client)
    client.post("/api/v1/auth/2fa/enroll", headers=signed.headers)
    app.config["FIELD_ENCRYPTION_KEY"] = None
    response = client.get("/auth/2fa/setup", headers=signed.headers)
    assert response.status_code == 503
    assert "FIELD_ENCRYPTION_KEY" in response.json["error"]["message"]
    check = app.test_cli_runner().invoke(args=["keys", "check"])
    assert check.exit_code == 1
    assert "FIELD_ENCRYPTION_KEY is not set" in check.output
    rotate = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert rotate.exit_code == 1


def test_keys_check_refuses_a_key_that_cannot_open_the_stored_data(app, restore_key):
    key_a = app.config["FIELD_ENCRYPTION_KEY"]
    store_secrets(app, 3)
    key_b = Fernet.generate_key().decode()
    app.config["FIELD_ENCRYPTION_KEY"] = key_b
    check = app.test_cli_runner().invoke(args=["keys", "check"])
    assert check.exit_code == 1
    assert (
        "user_mfa.secret: 3 of 3 value(s) tried cannot be decrypted with any key in "
        "FIELD_ENCRYPTION_KEY" in check.output
    )
    app.config["FIELD_ENCRYPTION_KEY"] = f"{key_b},{key_a}"  # mid-rotation: B new, A still there
    check = app.test_cli_runner().invoke(args=["keys", "check"])
    assert check.exit_code == 0, check.output
    assert "OK (3 stored value(s) decrypted)" in check.output
    app.config["FIELD_ENCRYPTION_KEY"] = key_a
    assert app.test_cli_runner().invoke(args=["keys", "check"]).exit_code == 0


@pytest.mark.parametrize("args", [["--sample", "1"], ["--all"]])
def test_keys_check_finds_newest_rows_under_a_dropped_key(app, restore_key, args):
    """A rotation stopped half-way leaves the newest rows under the old key."""
    key_a = app.config["FIELD_ENCRYPTION_KEY"]
    store_secrets(app, 4)
    key_b = Fernet.generate_key().decode()
    app.config["FIELD_ENCRYPTION_KEY"] = f"{key_b},{key_a}"
    with app.app_context():
        first = db.session.scalars(select(UserMfa).order_by(UserMfa.user_id)).first()
        assert first is not None
        first.secret = "ROTATED"
        db.session.commit()
    app.config["FIELD_ENCRYPTION_KEY"] = key_b
    check = app.test_cli_runner().invoke(args=["keys", "check", *args])
    assert check.exit_code == 1
    tried = 2 if args == ["--sample", "1"] else 4
    assert f"user_mfa.secret: {tried - 1} of {tried} value(s) tried" in check.output


def test_a_wrong_key_is_a_clear_error(app, restore_key):
    store_secrets(app, 1)
    app.config["FIELD_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    with app.app_context(), pytest.raises(EncryptionUnavailable, match="cannot be decrypted"):
        db.session.query(UserMfa).all()
    rotate = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert rotate.exit_code == 1
    assert "cannot be decrypted" in rotate.output


def test_keys_check_passes_without_encrypted_data(app, restore_key):
    app.config["FIELD_ENCRYPTION_KEY"] = None
    result = app.test_cli_runner().invoke(args=["keys", "check"])
    assert result.exit_code == 0
    assert "OK" in result.output


def test_malformed_key_setting(app, restore_key):
    app.config["FIELD_ENCRYPTION_KEY"] = "not-a-key"
    with app.app_context(), pytest.raises(EncryptionUnavailable, match="not a list of Fernet"):
        encrypt("x")


def test_generate_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["keys", "generate"])
    assert len(parse_keys(result.output.strip())) == 1


def test_production_refuses_bad_or_development_keys():
    environ = {"FIELD_ENCRYPTION_KEY": f"nope,{DEVELOPMENT_FIELD_ENCRYPTION_KEY}"}
    problems = ProductionConfig(environ).validate()
    assert any("key #1 is not a Fernet key" in problem for problem in problems)
    assert any("public development key" in problem for problem in problems)
    good = {"FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    assert not any("FIELD_ENCRYPTION_KEY" in p for p in ProductionConfig(good).validate())


def test_rotation_needs_a_single_column_primary_key(app):
    from sqlalchemy import Column, Integer, MetaData, Table

    from models.encrypted import EncryptedText
    from services.key_service import EncryptedColumn, _primary_key

    table = Table(
        "pairs",
        MetaData(),
        Column("a", Integer, primary_key=True),
        Column("b", Integer, primary_key=True),
        Column("secret", EncryptedText),
    )
    with pytest.raises(EncryptionUnavailable, match="single-column primary key"):
        _primary_key(EncryptedColumn(table, table.c.secret))


def test_keys_check_does_not_block_an_unmigrated_database(tmp_path):
    from tests.apps import make_app

    scratch = make_app(f"sqlite:///{tmp_path / 'empty.db'}")
    result = scratch.test_cli_runner().invoke(args=["keys", "check"])
    assert result.exit_code == 0
    assert "not checked (OperationalError)" in result.output


def test_the_container_entrypoint_refuses_to_start_with_a_key_that_opens_nothing(
    app, database, restore_key
):
    store_secrets(app, 2)
    command = ["sh", str(ROOT / "deploy" / "docker-entrypoint.sh"), "echo", "server started"]
    env = subprocess_env(
        FLASK_CONFIG="testing",
        TEST_DATABASE_URL=database.url,
        RUN_MIGRATIONS="false",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    refused = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 1
    assert "user_mfa.secret: 2 of 2 value(s) tried cannot be decrypted" in refused.stderr
    assert "server started" not in refused.stdout
    env["FIELD_ENCRYPTION_KEY"] += f",{app.config['FIELD_ENCRYPTION_KEY']}"  # B first, then A
    started = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert started.returncode == 0, started.stderr
    assert "server started" in started.stdout
