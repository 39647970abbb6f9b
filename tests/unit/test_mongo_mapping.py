"""Reading mongoexport/mongodump files and mapping Mongoose users to rows and back."""

import json
from datetime import UTC, datetime, timedelta

import bson
import pytest
from bson import Decimal128, Int64, json_util
from bson.datetime_ms import DatetimeMS

from services.mongo_import.documents import (
    UnreadableFile,
    from_stored,
    read_documents,
    same_value,
    to_stored,
)
from services.mongo_import.mapping import MappingFileError, UserMapping, differences
from services.mongo_import.users import classify
from tests.mongo_data import (
    mongoose_user,
    write_bson,
    write_json_array,
    write_json_lines,
)

pytestmark = pytest.mark.unit
MAPPING = UserMapping()


@pytest.mark.parametrize(
    ("writer", "canonical", "suffix"),
    [
        (write_json_lines, False, ".json"),
        (write_json_lines, True, ".json"),
        (write_json_array, False, ".json"),
        (write_json_array, True, ".json"),
        (write_bson, None, ".bson"),
    ],
    ids=["lines-relaxed", "lines-canonical", "array-relaxed", "array-canonical", "bson"],
)
def test_every_export_format_reads_back_the_same_documents(tmp_path, writer, canonical, suffix):
    documents = [mongoose_user(count=Int64(7), price=Decimal128("1.10")) for _ in range(3)]
    path = tmp_path / f"users{suffix}"
    writer(path, documents) if canonical is None else writer(path, documents, canonical=canonical)

    read = list(read_documents(path))

    assert [s.document for s in read] == documents
    key = "index" if canonical is None or writer is write_json_array else "line"
    assert [s.position[key] for s in read] == ([1, 2, 3] if key == "line" else [0, 1, 2])


def test_broken_json_lines_are_reported_by_line_and_reading_goes_on(tmp_path):
    path = tmp_path / "users.json"
    path.write_text(
        '{"_id": {"$oid": "5ebac534954b54139806c112"}}\n\n{not json\n[1, 2]\n{"a": 1}\n'
    )

    read = list(read_documents(path))

    assert [(s.position, s.error is None) for s in read] == [
        ({"line": 1}, True),
        ({"line": 3}, False),
        ({"line": 4}, False),
        ({"line": 5}, True),
    ]
    assert read[1].error.startswith("not valid Extended JSON")
    assert read[2].error == "not a document (JSON object)"
    assert read[1].describe() == "line 3"


def test_a_broken_json_array_is_unreadable(tmp_path):
    path = tmp_path / "users.json"
    path.write_text('[{"a": 1},')
    with pytest.raises(UnreadableFile):
        list(read_documents(path))


def test_a_corrupt_bson_dump_stops_at_the_bad_document(tmp_path):
    path = tmp_path / "users.bson"
    path.write_bytes(bson.encode({"a": 1}) + b"\x10\x00\x00\x00garbage")

    read = list(read_documents(path))

    assert read[0].document == {"a": 1}
    assert read[1].position == {"index": 1}
    assert read[1].error.startswith("corrupt BSON")


def test_a_mongoose_user_maps_to_columns_and_back_unchanged():
    document = mongoose_user(email="  Ada@Example.COM", nested={"tags": ["a"], "n": Int64(2)})

    values, problems = MAPPING.to_values(document)

    assert problems == []
    assert values["email"] == "ada@example.com"
    assert values["legacy_id"] == str(document["_id"])
    assert values["legacy_attributes"]["email"] == "  Ada@Example.COM"
    assert values["legacy_attributes"]["__v"] == {"$numberInt": "0"}
    rebuilt = MAPPING.to_document({**values, "is_active": True})
    assert differences(document, rebuilt) == []
    assert rebuilt["email"] == "  Ada@Example.COM"


def test_absent_optional_fields_take_the_mongoose_defaults():
    document = mongoose_user()
    for field in ("role", "isEmailVerified", "createdAt", "updatedAt", "__v"):
        del document[field]

    values, problems = MAPPING.to_values(document)

    assert problems == []
    assert values["role"] == "user"
    assert values["email_verified"] is False
    assert values["created_at"] == document["_id"].generation_time
    assert values["updated_at"] == values["created_at"]


def test_export_marks_what_the_old_service_must_handle():
    values, _ = MAPPING.to_values(mongoose_user())
    values.update(password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", is_active=False)

    document = MAPPING.to_document(values)

    assert document["passwordResetRequired"] is True
    assert document["isActive"] is False


def test_an_email_changed_here_is_exported_not_its_old_original():
    values, _ = MAPPING.to_values(mongoose_user(email="Old@Example.com"))
    values["email"] = "new@example.com"

    assert MAPPING.to_document(values)["email"] == "new@example.com"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"_id": None}, "_id: missing"),
        ({"_id": "5ebac534954b54139806c112"}, "_id: not an ObjectId"),
        ({"email": None}, "email: missing"),
        ({"email": "not-an-email"}, "email: Invalid email format"),
        ({"email": 42}, "email: expected a string, got int"),
        ({"name": None}, "name: missing"),
        ({"name": "   "}, "name: must be 1 to 100 characters"),
        ({"name": "x" * 101}, "name: must be 1 to 100 characters"),
        ({"password": None}, "password: missing"),
        ({"password": "plain text"}, "password: not a bcrypt or argon2id hash"),
        ({"password": "$2a$08$short"}, "password: not a bcrypt or argon2id hash"),
        ({"role": "superuser"}, "role: must be one of user, admin"),
        ({"isEmailVerified": "true"}, "isEmailVerified: expected a boolean, got str"),
        ({"createdAt": "2020-01-01"}, "createdAt: expected a date, got str"),
        ({"updatedAt": DatetimeMS(-(10**15))}, "updatedAt: expected a date, got DatetimeMS"),
    ],
)
def test_invalid_documents_are_refused_with_the_reason(change, problem):
    document = mongoose_user()
    for key, value in change.items():
        if value is None:
            del document[key]
        else:
            document[key] = value

    _, problems = MAPPING.to_values(document)

    assert problem in problems


def test_a_mapping_file_renames_source_fields(tmp_path):
    path = tmp_path / "mapping.toml"
    path.write_text('[fields]\nname = "fullName"\nemail_verified = "verified"\n')
    mapping = UserMapping.load(path)
    document = mongoose_user()
    document["fullName"] = document.pop("name")
    document["verified"] = document.pop("isEmailVerified")

    values, problems = mapping.to_values(document)

    assert problems == []
    assert values["name"] == document["fullName"]
    assert differences(document, mapping.to_document(values)) == []


@pytest.mark.parametrize(
    "text",
    [
        '[fields]\nnickname = "nick"\n',
        '[fields]\nname = "email"\n',
        '[fields]\nname = ""\n',
        "[fields\n",
    ],
)
def test_a_bad_mapping_file_is_refused(tmp_path, text):
    path = tmp_path / "mapping.toml"
    path.write_text(text)
    with pytest.raises(MappingFileError):
        UserMapping.load(path)


BASE = datetime(2024, 1, 1, tzinfo=UTC)
LATER = BASE + timedelta(hours=1)


@pytest.mark.parametrize(
    ("row_changes", "doc_changes", "outcome"),
    [
        ({}, {}, "unchanged"),
        ({}, {"name": "New", "updated_at": LATER}, "update"),
        ({}, {"name": "New"}, "update"),  # same updatedAt, database untouched: source wins
        ({"updated_at": LATER, "legacy_updated_at": LATER}, {"name": "Old"}, "stale"),
        ({"updated_at": LATER, "name": "Here"}, {"name": "There", "updated_at": LATER}, "conflict"),
        ({"updated_at": LATER, "name": "Here"}, {"name": "Same time"}, "stale"),
        ({"legacy_updated_at": None, "updated_at": LATER}, {"name": "x"}, "stale"),
        (
            {"legacy_updated_at": None},
            {"name": "x", "updated_at": LATER},
            "conflict",
        ),
    ],
)
def test_classify_compares_with_the_last_imported_version(row_changes, doc_changes, outcome):
    original, _ = MAPPING.to_values(mongoose_user(updated=BASE))

    assert classify(original | row_changes, original | doc_changes) == outcome


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        (1, 1, True),
        (1, Int64(1), False),
        (1, 1.0, False),
        (1, True, False),
        (0.0, -0.0, False),
        (float("nan"), float("nan"), True),
        ({"a": [1, {"b": "c"}]}, {"a": [1, {"b": "c"}]}, True),
        ({"a": [1, 2]}, {"a": [1]}, False),
        ({"a": 1}, {"b": 1}, False),
        (datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), BASE.replace(microsecond=123000), True),
    ],
)
def test_same_value_distinguishes_bson_types(left, right, same):
    assert same_value(left, right) is same


def test_stored_extras_keep_every_bson_type():
    extras = {
        "n": Int64(2**40),
        "d": Decimal128("0.1"),
        "when": BASE,
        "raw": b"\x00\x01",
        "nested": [{"x": 1.5, "y": None}],
    }
    stored = to_stored(extras)
    assert json.loads(json.dumps(stored)) == stored
    restored = from_stored(stored)
    assert all(same_value(extras[k], restored[k]) for k in extras)


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-01T10:00:00.123Z",
        "2020-01-01T11:00:00.123+01:00",
        "2020-01-01T10:00:00Z",
        "1969-12-31T23:59:59.999Z",
    ],
)
def test_relaxed_dates_read_as_json_util_reads_them(tmp_path, text):
    path = tmp_path / "users.json"
    line = json.dumps({"d": {"$date": text}})
    path.write_text(line + "\n")
    options = json_util.JSONOptions(tz_aware=True, tzinfo=UTC)

    (source,) = read_documents(path)

    assert source.document["d"] == json_util.loads(line, json_options=options)["d"]


def test_dates_beyond_python_datetime_are_kept(tmp_path):
    path = tmp_path / "users.json"
    path.write_text('{"d": {"$date": {"$numberLong": "-99999999999999999"}}}\n')

    (source,) = read_documents(path)

    assert isinstance(source.document["d"], DatetimeMS)
