"""Signing with a password-protected PKCS#12 (``.p12``/``.pfx``) file."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.serialization import pkcs12

from .base import (
    BaseSigner,
    KeyMismatchError,
    KeyNotFoundError,
    WrongSecretError,
    check_key_strength,
    key_type_of,
    resolve_algorithm,
    sign_with_private_key,
)
from .certs import key_matches_certificate


class Pkcs12Signer(BaseSigner):
    """Signer over a PKCS#12 file (path) or its bytes. The key is loaded once, in memory.

    Raises :class:`WrongSecretError` for a wrong password (the password is never echoed),
    :class:`KeyNotFoundError` if the file holds no key or certificate, :class:`KeyMismatchError`
    if no certificate in the file belongs to the key.
    """

    def __init__(self, source: str | os.PathLike | bytes, password: str | bytes | None):
        if isinstance(source, (bytes, bytearray)):
            data, name = bytes(source), "PKCS#12 data"
        else:
            data, name = Path(source).read_bytes(), f"PKCS#12 file {os.fspath(source)}"
        secret = password.encode("utf-8") if isinstance(password, str) else password
        key = cert = None
        extra: list = []
        for attempt in ([secret] if secret else [None, b""]):
            try:
                key, cert, extra = pkcs12.load_key_and_certificates(data, attempt)
                break
            except ValueError:
                continue
        else:
            raise WrongSecretError(
                f"wrong password for the PKCS#12 file ({name}), or the file is not a PKCS#12 file") from None
        del secret, password
        if key is None:
            raise KeyNotFoundError(f"the {name} holds no private key")
        certs = ([cert] if cert is not None else []) + list(extra or [])
        if not certs:
            raise KeyNotFoundError(f"the {name} holds no certificate")
        leaf = next((c for c in certs if key_matches_certificate(key, c)), None)
        if leaf is None:
            raise KeyMismatchError(f"the private key in the {name} does not belong to any of its certificates")
        check_key_strength(key)
        self._key = key
        self.key_type = key_type_of(key)
        self.certificate = leaf
        self.chain = [c for c in certs if c is not leaf]

    def sign(self, data: bytes, algorithm: str = "rsa-sha256") -> bytes:
        if self._key is None:
            raise KeyNotFoundError("this signer is closed")
        return sign_with_private_key(self._key, data, resolve_algorithm(algorithm, self.key_type))

    def close(self) -> None:
        self._key = None
