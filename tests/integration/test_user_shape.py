"""Every answer that is a user has the same fields with the same values, whichever way it was
built: reads serialise Core rows, create and update the ORM object (decision 0113)."""

import pytest

from schemas.user import UserRead
from schemas.v1_compat import LegacyUser
from tests.factories import PASSWORD, signed_in_user
from tests.integration.v1_support import v1_user

pytestmark = pytest.mark.integration

API_FIELDS = list(UserRead.model_fields)
V1_FIELDS = [field.serialization_alias or name for name, field in LegacyUser.model_fields.items()]


def answers(client, admin, base, create_body, change):
    """The same user as create, get, update, get again and the list answer it (in that order)."""
    created = client.post(f"{base}/users", json=create_body, headers=admin.headers)
    assert created.status_code == 201, created.json
    created = created.json.get("data", created.json)
    path = f"{base}/users/{created['id']}"
    got_before = client.get(path, headers=admin.headers).json
    patched = client.patch(path, json=change, headers=admin.headers).json
    got = client.get(path, headers=admin.headers).json
    listed = client.get(f"{base}/users", headers=admin.headers).json
    items = listed["data"]["items"] if "data" in listed else listed["results"]
    [in_list] = [item for item in items if item["id"] == created["id"]]
    body = [got_before, patched, got]
    return (created, *(answer.get("data", answer) for answer in body), in_list)


@pytest.fixture
def api_answers(app, client):
    admin = signed_in_user(app, client, email="root@example.com", role="admin")
    body = {"email": "shape@example.com", "password": PASSWORD, "name": "Shape"}
    return answers(client, admin, "/api/v1", body, {"name": "Shape Renamed"})


@pytest.fixture
def v1_answers(app, client):
    admin = v1_user(app, client, role="admin", name="Admin")
    body = {"email": "shape@example.com", "password": "password1", "name": "Shape", "role": "user"}
    return answers(client, admin, "/v1", body, {"name": "Shape Renamed"})


def test_every_api_user_answer_has_exactly_the_fields_of_user_read(api_answers):
    for answer in api_answers:
        assert set(answer) == set(API_FIELDS)


@pytest.mark.parametrize("field", API_FIELDS)
def test_api_create_get_update_and_list_agree_on_each_field(api_answers, field):
    created, got_before, patched, got, in_list = api_answers
    assert created[field] == got_before[field]
    assert patched[field] == got[field] == in_list[field]


def test_every_v1_user_answer_has_exactly_the_fields_of_legacy_user(v1_answers):
    for answer in v1_answers:
        assert set(answer) == set(V1_FIELDS)


@pytest.mark.parametrize("field", V1_FIELDS)
def test_v1_create_get_update_and_list_agree_on_each_field(v1_answers, field):
    created, got_before, patched, got, in_list = v1_answers
    assert created[field] == got_before[field]
    assert patched[field] == got[field] == in_list[field]
