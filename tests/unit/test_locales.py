"""The languages of pages and mails are listed once; the `locale` field accepts exactly them."""

from typing import get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from domain import texts
from schemas.user import LocaleName, UserRead, UserUpdate

pytestmark = pytest.mark.unit


def test_supported_locales_are_derived_from_the_one_locale_type():
    assert LocaleName is texts.LocaleName
    assert get_args(texts.LocaleName) == texts.SUPPORTED_LOCALES


def test_the_locale_field_accepts_exactly_the_supported_locales():
    field = TypeAdapter(LocaleName)
    for locale in texts.SUPPORTED_LOCALES:
        assert field.validate_python(locale) == locale
    with pytest.raises(ValidationError):
        field.validate_python("xx")
    assert (
        UserUpdate.model_validate({"locale": texts.SUPPORTED_LOCALES[-1]}).locale
        == (texts.SUPPORTED_LOCALES[-1])
    )


def test_the_schema_enum_lists_the_supported_locales():
    for model in (UserRead, UserUpdate):
        choices = model.model_json_schema()["properties"]["locale"]["anyOf"]
        assert {"enum": list(texts.SUPPORTED_LOCALES), "type": "string"} in choices
