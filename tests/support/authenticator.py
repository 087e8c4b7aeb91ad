"""A software WebAuthn authenticator for HTTP tests: real P-256 keys, real CBOR, real signatures.

It answers the options our endpoints send the way a browser and a platform authenticator would
(attestation "none", user present and verified), so py_webauthn checks every byte. Tests bend one
thing at a time — the origin the "browser" reports, the sign count, the credential — to see it refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost"
    rp_id: str = "localhost"
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    user_handle: bytes | None = None

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, options: dict, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": options["challenge"], "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def _auth_data(self, flags: int, extra: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + extra

    def register(self, options: dict | str, *, origin: str | None = None) -> str:
        """The RegistrationResponseJSON (as text) for navigator.credentials.create(options)."""
        options = json.loads(options) if isinstance(options, str) else options
        self.user_handle = unb64url(options["user"]["id"])
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = self._auth_data(UP | UV | AT, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(self._client_data("webauthn.create", options, origin)),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def sign_in(self, options: dict | str, *, origin: str | None = None, sign_count: int | None = None) -> str:
        """The AuthenticationResponseJSON (as text) for navigator.credentials.get(options)."""
        options = json.loads(options) if isinstance(options, str) else options
        self.sign_count = self.sign_count + 1 if sign_count is None else sign_count
        client_data = self._client_data("webauthn.get", options, origin)
        auth_data = self._auth_data(UP | UV)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = b64url(self.user_handle)
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
            }
        )


OPTIONS, ADD = "/account/security/passkeys/options", "/account/security/passkeys"
LOGIN_OPTIONS, LOGIN = "/auth/passkey/options", "/auth/passkey"


def add_passkey(client, authenticator: SoftAuthenticator | None = None, name: str = "Laptop") -> SoftAuthenticator:
    """Register a passkey for the signed-in `client` through the real endpoints (a 303 when it worked, or
    the page of recovery codes when it was the account's first second factor)."""
    authenticator = authenticator or SoftAuthenticator()
    options = client.post(OPTIONS)
    assert options.status_code == 200, options.text
    added = client.post(ADD, data={"name": name, "credential": authenticator.register(options.json)})
    assert added.status_code == 303 or "recovery-codes" in added.text, added.text
    return authenticator
