"""`flask migrate-data`: import the Node.js users and tokens, sign in with old passwords, export
back losslessly, resume a killed run, refuse invalid records, and keep both sides in step."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from bson import Int64, ObjectId
from sqlalchemy import func, select

from models import AuthSession, RefreshToken, User, db
from models.base import column_values
from services import migration_service
from services.mongo_import.documents import read_documents
from services.mongo_import.mapping import UserMapping, differences
from tests.factories import create_user, fullwidth
from tests.mail_server import configured
from tests.mongo_data import (
    OLD_JWT_SECRET,
    OLD_PASSWORD,
    bcryptjs_hash,
    mongoose_user,
    read_json_lines,
    token_document,
    write_bson,
    write_json_array,
    write_json_lines,
)

pytestmark = pytest.mark.integration


def run(app, *args):
    return app.test_cli_runner().invoke(args=["migrate-data", *map(str, args)])


def snapshot(app):
    with app.app_context():
        users = db.session.scalars(select(User).order_by(User.legacy_id)).all()
        return [{k: v for k, v in column_values(u).items() if k != "id"} for u in users]


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def documents():
    return [
        mongoose_user(email="ada@example.com", role="admin", verified=True),
        mongoose_user(email="Grace.Hopper@Example.com", settings={"theme": "dark", "n": Int64(3)}),
        *[mongoose_user() for _ in range(3)],
    ]


@pytest.mark.parametrize("fmt", ["lines-relaxed", "array-canonical", "bson"])
def test_import_sign_in_with_old_password_and_export_back_losslessly(
    app, client, tmp_path, documents, fmt
):
    writers = {
        "lines-relaxed": lambda p: write_json_lines(p.with_suffix(".json"), documents),
        "array-canonical": lambda p: write_json_array(
            p.with_suffix(".json"), documents, canonical=True
        ),
        "bson": lambda p: write_bson(p.with_suffix(".bson"), documents),
    }
    source = writers[fmt](tmp_path / "users")

    result = run(app, "import-mongo", source)

    assert result.exit_code == 0, result.output
    assert "users read 5: inserted 5, updated 0, unchanged 0" in result.output
    assert "verified 5/5 documents field by field, mismatches 0" in result.output
    login = client.post(
        "/api/v1/auth/login", json={"email": "grace.hopper@example.com", "password": OLD_PASSWORD}
    )
    assert login.status_code == 200, login.json
    with app.app_context():
        user = db.session.scalars(
            select(User).where(User.email == "grace.hopper@example.com")
        ).one()
        assert user.password_hash.startswith("$argon2id$")
        assert user.legacy_id == str(documents[1]["_id"])

    export = tmp_path / "export.json"
    assert run(app, "export-mongo", export).exit_code == 0
    exported = {d["_id"]: d for d in read_json_lines(export)}
    # What the file holds (relaxed JSON keeps no Int64): the export must give back exactly that.
    for document in (s.document for s in read_documents(source)):
        rebuilt = exported[document["_id"]]
        if document["_id"] == documents[1]["_id"]:  # upgraded at sign-in: bcrypt cannot come back
            assert differences(document, rebuilt) == ["password", "updatedAt"]
            assert rebuilt["passwordResetRequired"] is True
            assert rebuilt["email"] == "Grace.Hopper@Example.com"
            assert rebuilt["settings"]["n"] == 3
        else:
            assert differences(document, rebuilt) == []
            assert "passwordResetRequired" not in rebuilt


def test_importing_the_same_file_twice_changes_nothing(app, tmp_path, documents):
    source = write_json_lines(tmp_path / "users.json", documents)
    run(app, "import-mongo", source)
    before = snapshot(app)

    result = run(app, "import-mongo", source)

    assert "inserted 0, updated 0, unchanged 5" in result.output
    assert snapshot(app) == before


def test_a_killed_import_run_again_ends_like_one_clean_run(app, tmp_path):
    source = write_json_lines(tmp_path / "users.json", [mongoose_user() for _ in range(25)])
    with app.app_context():
        migration_service.import_mongo(source, batch_size=10)
    clean = snapshot(app)
    with app.app_context():
        db.session.execute(User.__table__.delete())
        db.session.commit()

    def killed_after_two_batches(number):
        if number == 2:
            raise KeyboardInterrupt

    with app.app_context(), pytest.raises(KeyboardInterrupt):
        migration_service.import_mongo(source, batch_size=10, after_batch=killed_after_two_batches)
    assert count(app, User) == 20
    with app.app_context():
        report = migration_service.import_mongo(source, batch_size=10)

    assert (report.inserted, report.unchanged) == (5, 20)
    assert snapshot(app) == clean


def test_invalid_records_go_to_the_reject_file_with_id_line_and_reasons(app, tmp_path):
    create_user(app, email="taken@example.com")
    good = mongoose_user()
    twin = mongoose_user(email="twin@example.com")
    bad = [
        mongoose_user(email="not-an-email"),
        mongoose_user(email="Twin@Example.com"),  # duplicate of `twin` differing only in case
        mongoose_user(email="taken@example.com"),  # an account of this database has it
        {k: v for k, v in mongoose_user().items() if k != "password"},
        mongoose_user(role="root"),
    ]
    source = write_json_lines(tmp_path / "users.json", [good, twin, *bad])
    with source.open("a") as stream:
        stream.write("{broken\n")
    rejects = tmp_path / "rejects.jsonl"

    result = run(app, "import-mongo", source, "--reject-file", rejects)

    assert result.exit_code == 0, result.output
    assert "inserted 1" in result.output
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    by_line = {line["line"]: line for line in lines}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8]
    assert by_line[3]["reasons"] == ["email: Invalid email format"]
    assert by_line[2]["_id"] == str(twin["_id"])
    assert (
        "duplicate: same email 'twin@example.com' once normalised as line 4"
        in by_line[2]["reasons"]
    )
    assert by_line[5]["reasons"][0].startswith("email: already used by another account")
    assert by_line[6]["reasons"] == ["password: missing"]
    assert by_line[7]["reasons"] == ["role: must be one of user, admin"]
    assert by_line[8]["_id"] is None
    assert by_line[3]["document"]["email"] == "not-an-email"
    with app.app_context():
        assert db.session.scalars(select(User.email).order_by(User.id)).all() == [
            "taken@example.com",
            good["email"],
        ]


def test_emails_that_normalise_alike_are_duplicates(app, tmp_path):
    create_user(app, email="taken@example.com")
    twin = mongoose_user(email="twin@example.com")
    wide_twin = mongoose_user(email=f"{fullwidth('twin')}@example.com")  # the same address
    wide_taken = mongoose_user(email=f"taken@{fullwidth('example')}.com")
    source = write_json_lines(tmp_path / "users.json", [twin, wide_twin, wide_taken])
    rejects = tmp_path / "rejects.jsonl"

    result = run(app, "import-mongo", source, "--reject-file", rejects)

    assert result.exit_code == 0, result.output
    reasons = {
        line["line"]: line["reasons"] for line in map(json.loads, rejects.read_text().splitlines())
    }
    assert "duplicate: same email 'twin@example.com' once normalised as line 1" in reasons[2]
    assert reasons[3][0].startswith("email: already used by another account")
    assert count(app, User) == 1


def test_on_invalid_fail_writes_nothing(app, tmp_path):
    source = write_json_lines(tmp_path / "users.json", [mongoose_user(), mongoose_user(email="x")])

    result = run(app, "import-mongo", source, "--on-invalid", "fail")

    assert result.exit_code == 1
    assert "nothing imported" in result.output
    assert count(app, User) == 0


def test_duplicate_object_ids_are_all_rejected(app, tmp_path):
    first = mongoose_user()
    second = mongoose_user(_id=first["_id"])
    source = write_json_lines(tmp_path / "users.json", [first, second])

    result = run(app, "import-mongo", source)

    assert "rejected 2" in result.output
    assert "duplicate: same _id as line 2" in result.output
    assert count(app, User) == 0


def test_dry_run_checks_everything_and_writes_nothing(app, tmp_path, documents):
    user = documents[0]
    source = write_json_lines(tmp_path / "users.json", [*documents, mongoose_user(email="bad")])
    tokens = write_json_lines(tmp_path / "tokens.json", [token_document(user)])
    report = tmp_path / "report.json"

    result = run(app, "import-mongo", source, "--tokens", tokens, "--dry-run", "--report", report)

    assert result.exit_code == 0, result.output
    assert "(dry run: nothing written): inserted 5" in result.output
    assert "verified 5/5" in result.output
    assert "tokens read 1: imported 1" in result.output
    assert (count(app, User), count(app, RefreshToken)) == (0, 0)
    assert not (tmp_path / "users.json.rejects.jsonl").exists()
    data = json.loads(report.read_text())
    assert data["inserted"] == 5
    assert data["rejected"][0]["reasons"] == ["email: Invalid email format"]


def test_live_refresh_tokens_are_kept_and_work_once(app, client, tmp_path):
    owner, other = mongoose_user(), mongoose_user()
    live = token_document(owner)
    now = datetime.now(UTC)
    tokens = [
        live,
        token_document(owner, expires=now - timedelta(minutes=1)),
        token_document(owner, blacklisted=True),
        token_document(owner, kind="resetPassword"),
        token_document(owner, kind="verifyEmail"),
        token_document({"_id": ObjectId()}),  # its user is not imported
        {"_id": ObjectId(), "type": "refresh"},
    ]
    source = write_json_lines(tmp_path / "users.json", [owner, other])
    tokens_file = write_bson(tmp_path / "tokens.bson", tokens)

    result = run(app, "import-mongo", source, "--tokens", tokens_file)
    again = run(app, "import-mongo", source, "--tokens", tokens_file)

    assert "tokens read 7: imported 1, unchanged 0, rejected 2; skipped: blacklisted 1, " in (
        result.output
    )
    assert "expired 1, resetPassword 1, verifyEmail 1" in result.output
    assert "tokens verified 1, mismatches 0" in result.output
    assert "tokens read 7: imported 0, unchanged 1" in again.output
    with app.app_context():
        stored = db.session.scalars(select(RefreshToken)).one()
        session = db.session.get(AuthSession, stored.session_id)
        user = db.session.get(User, session.user_id)
        assert user.legacy_id == str(owner["_id"])
        assert stored.expires_at == live["expires"]
        assert session.kind == "legacy"
    with configured(app, LEGACY_JWT_SECRET=OLD_JWT_SECRET):
        first = client.post("/api/v1/auth/refresh", json={"refresh_token": live["token"]})
        second = client.post("/api/v1/auth/refresh", json={"refresh_token": live["token"]})
    assert first.status_code == 200, first.json
    assert second.status_code == 401


def test_export_since_writes_only_later_changes_and_lists_deletions(app, tmp_path):
    old = mongoose_user(updated=datetime(2023, 1, 1, tzinfo=UTC))
    gone = mongoose_user(updated=datetime(2023, 1, 1, tzinfo=UTC))
    run(app, "import-mongo", write_json_lines(tmp_path / "users.json", [old, gone]))
    cut_over = datetime.now(UTC)
    new = create_user(app, email="new@example.com")
    with app.app_context():
        db.session.scalars(
            select(User).where(User.legacy_id == str(gone["_id"]))
        ).one().mark_deleted(by_user_id=None)
        db.session.commit()
    export = tmp_path / "since.json"

    result = run(app, "export-mongo", export, "--since", cut_over.isoformat(), "--relaxed")

    assert result.exit_code == 0, result.output
    (document,) = read_json_lines(export)
    assert document["_id"] == ObjectId(new.legacy_id)
    assert document["email"] == "new@example.com"
    assert document["passwordResetRequired"] is True
    assert read_json_lines(tmp_path / "since.json.deleted.jsonl") == [{"_id": gone["_id"]}]
    assert "users deleted here 1" in result.output


def test_a_later_export_applies_newer_documents_and_reports_conflicts(app, tmp_path):
    first_export = [mongoose_user() for _ in range(4)]
    run(app, "import-mongo", write_json_lines(tmp_path / "first.json", first_export))
    changed_here = first_export[1]
    with app.app_context():
        db.session.scalars(
            select(User).where(User.legacy_id == str(changed_here["_id"]))
        ).one().name = "Renamed here"
        db.session.commit()
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    second_export = [
        {**first_export[0], "name": "Renamed there", "updatedAt": later},  # newer: applied
        {**changed_here, "name": "Renamed there too", "updatedAt": later},  # both: conflict
        {**first_export[2], "name": "Older", "updatedAt": datetime(2020, 1, 1, tzinfo=UTC)},
        first_export[3],
        mongoose_user(),  # created there since: inserted
    ]

    result = run(app, "import-mongo", write_json_lines(tmp_path / "second.json", second_export))

    assert result.exit_code == 0, result.output
    assert "inserted 1, updated 1, unchanged 1, older than the database 1, conflicts 1" in (
        result.output
    )
    assert (
        f"conflict (changed on both sides, neither overwritten): {{'_id': '{changed_here['_id']}'"
        in (result.output)
    )
    with app.app_context():
        names = dict(db.session.execute(select(User.legacy_id, User.name)).all())
    assert names[str(first_export[0]["_id"])] == "Renamed there"
    assert names[str(changed_here["_id"])] == "Renamed here"
    assert names[str(first_export[2]["_id"])] == first_export[2]["name"]


def test_an_email_change_there_taken_here_is_rejected(app, tmp_path):
    original = mongoose_user()
    run(app, "import-mongo", write_json_lines(tmp_path / "first.json", [original]))
    create_user(app, email="claimed@example.com")
    changed = {**original, "email": "claimed@example.com", "updatedAt": datetime.now(UTC)}

    result = run(app, "import-mongo", write_json_lines(tmp_path / "second.json", [changed]))

    assert "rejected 1" in result.output
    assert "already used by another account" in result.output


def test_a_mapping_file_imports_another_schema(app, tmp_path):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[fields]\npassword_hash = "hash"\n')
    document = mongoose_user()
    document["hash"] = document.pop("password")
    source = write_json_lines(tmp_path / "users.json", [document])

    result = run(app, "import-mongo", source, "--mapping", mapping)
    export = tmp_path / "export.json"
    run(app, "export-mongo", export, "--mapping", mapping)

    assert "inserted 1" in result.output
    assert differences(document, read_json_lines(export)[0]) == []
    assert UserMapping.load(mapping).fields["password_hash"] == "hash"


def test_every_user_has_an_object_id(app):
    user = create_user(app)
    assert len(user.legacy_id) == 24
    assert ObjectId.is_valid(user.legacy_id)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export-mongo", "{tmp}/x.json", "--since", "yesterday"], "is not an ISO 8601 time"),
        (["import-mongo", "{tmp}/broken.json"], "not a valid Extended JSON array"),
        (["import-mongo", "{tmp}/ok.json", "--mapping", "{tmp}/bad.toml"], "bad.toml"),
        (["export-mongo", "{tmp}/x.json", "--mapping", "{tmp}/bad.toml"], "bad.toml"),
    ],
)
def test_unusable_input_fails_with_a_message(app, tmp_path, args, message):
    (tmp_path / "broken.json").write_text("[{")
    write_json_lines(tmp_path / "ok.json", [mongoose_user()])
    (tmp_path / "bad.toml").write_text("[fields\n")

    result = run(app, *(a.format(tmp=tmp_path) for a in args))

    assert result.exit_code != 0
    assert message in result.output


def test_a_verification_mismatch_fails_the_run(app, tmp_path, monkeypatch):
    source = write_json_lines(tmp_path / "users.json", [mongoose_user()])
    monkeypatch.setattr("services.mongo_import.users.differences", lambda source, rebuilt: ["name"])

    result = run(app, "import-mongo", source)

    assert result.exit_code == 1
    assert "NOT RECOVERABLE" in result.output


def test_bcryptjs_hashes_of_every_prefix_import(app, tmp_path):
    hashes = [bcryptjs_hash(), "$2b$" + bcryptjs_hash()[4:], "$2y$" + bcryptjs_hash()[4:]]
    source = write_json_lines(
        tmp_path / "users.json",
        [mongoose_user(password=OLD_PASSWORD) | {"password": h} for h in hashes],
    )
    assert "inserted 3" in run(app, "import-mongo", source).output


def test_token_batches_and_malformed_tokens(app, tmp_path):
    owner = mongoose_user()
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    source = write_json_lines(tmp_path / "users.json", [owner])
    tokens = write_json_lines(
        tmp_path / "tokens.json",
        [token_document(owner, expires=soon + timedelta(seconds=n)) for n in range(3)]
        + [token_document(owner) | {"blacklisted": "no"}],
    )
    with tokens.open("a") as stream:
        stream.write("{broken\n")

    with app.app_context():
        report = migration_service.import_mongo(source, tokens_path=tokens, batch_size=2)

    assert (report.tokens.imported, report.tokens.verified) == (3, 3)
    assert report.tokens.rejected[0].reasons == ["blacklisted: not bool"]
    assert report.tokens.rejected[1].reasons[0].startswith("not valid Extended JSON")
    assert report.ok


def test_a_user_without_password_is_exported_for_a_reset(app, tmp_path):
    user = create_user(app, email="nopass@example.com")
    with app.app_context():
        db.session.get(User, user.id).password_hash = None
        db.session.commit()
    export = tmp_path / "export.json"

    run(app, "export-mongo", export)

    (document,) = read_json_lines(export)
    assert "password" not in document
    assert document["passwordResetRequired"] is True


def test_on_invalid_fail_imports_a_clean_file(app, tmp_path):
    source = write_json_lines(tmp_path / "users.json", [mongoose_user()])

    result = run(app, "import-mongo", source, "--on-invalid", "fail")

    assert result.exit_code == 0
    assert count(app, User) == 1
