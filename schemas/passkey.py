"""Requests and answers of passkeys (WebAuthn): the options and credentials are the JSON the
`webauthn` library produces and reads (docs/passkeys.md)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

from models.passkey import NAME_LENGTH
from schemas.common import RequestModel, ResponseModel, Timestamp, stripped_name
from schemas.user import UserRead

PasskeyName = Annotated[
    str,
    Field(
        max_length=1024,
        json_schema_extra={"minLength": 1, "maxLength": NAME_LENGTH},
        description='what the owner calls it ("Laptop", "Phone"); stored trimmed',
    ),
    AfterValidator(stripped_name(NAME_LENGTH)),
]
# What `navigator.credentials.create()` or `.get()` answered, as `PublicKeyCredential.toJSON()`
# (or the same shape by hand): base64url fields, read by the library.
BASE64URL = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"}
# What `navigator.credentials.create()` or `.get()` answered, as `PublicKeyCredential.toJSON()`
# gives it: base64url fields, read (and checked) by the library.
Credential = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "the PublicKeyCredential as JSON (toJSON()); `response` holds "
            "clientDataJSON and attestationObject (adding) or authenticatorData, signature "
            "and userHandle (signing in), base64url",
            "required": ["id", "rawId", "type", "response"],
            "properties": {
                "id": BASE64URL,
                "rawId": BASE64URL,
                "type": {"const": "public-key"},
                "response": {
                    "type": "object",
                    "required": ["clientDataJSON"],
                    "properties": {"clientDataJSON": BASE64URL},
                },
            },
        }
    ),
]
# Options as the library serialises them, for `PublicKeyCredential.parse…OptionsFromJSON`.
PublicKeyOptions = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "PublicKeyCredentialCreationOptions or RequestOptions as JSON "
            "(base64url challenge and ids); valid for PASSKEY_CHALLENGE_SECONDS, once",
        }
    ),
]


class PasskeyRegisterRequest(RequestModel):
    credential: Credential
    name: PasskeyName


class PasskeyLoginRequest(RequestModel):
    credential: Credential


class PasskeyRename(RequestModel):
    name: PasskeyName


class PasskeyRenameForm(RequestModel):
    """The profile page's rename form (its field is not the page's `name`, the user's name)."""

    passkey_name: PasskeyName


class PasskeyRead(ResponseModel):
    """A passkey as its owner sees it: never the key or the credential id."""

    id: int
    name: str
    created_at: Timestamp
    last_used_at: Timestamp | None
    transports: list[str]


class PasskeyList(ResponseModel):
    items: list[PasskeyRead]


class PasskeySignedIn(ResponseModel):
    """A browser signed in with a passkey: who, and the page to go to next."""

    user: UserRead
    redirect: str
