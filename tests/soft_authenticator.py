"""A software WebAuthn authenticator for API tests: a P-256 key that answers the options the
server hands out exactly as a browser and a platform authenticator would (packed into CBOR with
the `webauthn` library's own encoder), with knobs to lie about the origin, the relying party id
or the signature counter."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

USER_PRESENT = 0x01
USER_VERIFIED = 0x04
ATTESTED_DATA = 0x40
AAGUID = bytes(range(16))
AAGUID_TEXT = "00010203-0405-0607-0809-0a0b0c0d0e0f"


class SoftAuthenticator:
    """One discoverable credential for one relying party."""

    def __init__(self, origin: str, rp_id: str) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle: bytes | None = None

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        cose_key: object = None,
    ) -> dict[str, Any]:
        """The credential `navigator.credentials.create(options)` answers, as JSON (with
        `cose_key`, that structure in place of the public key)."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        numbers = self.key.public_key().public_numbers()
        cose_key = (
            cose_key
            if cose_key is not None
            else {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        attested = (
            AAGUID
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + encode_cbor(cose_key)
        )
        flags = USER_PRESENT | USER_VERIFIED | ATTESTED_DATA
        authenticator_data = self._authenticator_data(flags, rp_id) + attested
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": authenticator_data})
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        verified: bool = True,
    ) -> dict[str, Any]:
        """The assertion `navigator.credentials.get(options)` answers, as JSON."""
        self.sign_count = self.sign_count + 1 if sign_count is None else sign_count
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        flags = USER_PRESENT | (USER_VERIFIED if verified else 0)
        authenticator_data = self._authenticator_data(flags, rp_id)
        signed = authenticator_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": bytes_to_base64url(client_data),
            "authenticatorData": bytes_to_base64url(authenticator_data),
            "signature": bytes_to_base64url(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = bytes_to_base64url(self.user_handle)
        return {
            "id": bytes_to_base64url(self.credential_id),
            "rawId": bytes_to_base64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": response,
        }

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def _authenticator_data(self, flags: int, rp_id: str | None) -> bytes:
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + self.sign_count.to_bytes(4, "big")
