"""Reads select the columns the response schemas name, derived once (decision 0113)."""

import pytest
from pydantic import AliasPath, BaseModel, Field
from sqlalchemy import func, inspect, select

from models import User
from schemas.user import UserRead
from schemas.v1_compat import LegacyUser
from services import user_service
from services.base_service import read_columns

pytestmark = pytest.mark.unit

# The contract's user resource (§2): every answer has at least these.
CONTRACT_USER_FIELDS = {
    "id",
    "email",
    "name",
    "role",
    "is_active",
    "email_verified",
    "created_at",
    "updated_at",
    "last_login_at",
}
# Columns no user answer may show: hashes, revocation and deletion marks, imported leftovers.
PRIVATE_COLUMNS = {
    "password_hash",
    "tokens_revoked_at",
    "legacy_attributes",
    "legacy_updated_at",
    "auth0_sub",
    "deleted_at",
    "deleted_by",
}


def keys(columns):
    return [column.key for column in columns]


def test_user_reads_select_every_field_of_both_user_schemas_once():
    expected = [*UserRead.model_fields, "legacy_id"]  # `/v1`'s `id` is the ObjectId
    assert keys(user_service.READ_COLUMNS) == expected
    statement = select(*user_service.READ_COLUMNS)
    assert list(statement.selected_columns.keys()) == expected


def test_user_read_has_the_contract_fields_and_no_private_column():
    assert set(UserRead.model_fields) >= CONTRACT_USER_FIELDS
    assert set(inspect(User).column_attrs.keys()) >= PRIVATE_COLUMNS  # the names are real
    assert not PRIVATE_COLUMNS & set(keys(user_service.READ_COLUMNS))


def test_a_field_is_read_from_the_column_its_validation_alias_names():
    columns = read_columns(User, LegacyUser)
    assert keys(columns) == ["legacy_id", "name", "email", "role", "email_verified"]


def test_a_field_without_a_column_stops_the_derivation():
    class WithNickname(BaseModel):
        id: int
        nickname: str

    with pytest.raises(LookupError, match=r"WithNickname\.nickname: no User column"):
        read_columns(User, WithNickname)


def test_a_model_property_is_no_column():
    class WithIsAdmin(BaseModel):
        is_admin: bool  # a Python property of User: the ORM object has it, a Core row would not

    with pytest.raises(LookupError, match=r"WithIsAdmin\.is_admin"):
        read_columns(User, WithIsAdmin)


def test_an_alias_path_is_refused():
    class Nested(BaseModel):
        email: str = Field(validation_alias=AliasPath("contact", "email"))

    with pytest.raises(LookupError, match=r"Nested\.email \(an alias path\)"):
        read_columns(User, Nested)


def test_a_field_no_column_holds_can_be_read_from_an_expression():
    class WithInitial(BaseModel):
        id: int
        initial: str

    columns = read_columns(User, WithInitial, expressions={"initial": func.substr(User.name, 1, 1)})
    assert list(select(*columns).selected_columns.keys()) == ["id", "initial"]
