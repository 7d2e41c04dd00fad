"""Signing with a key that never leaves a PKCS#11 token or HSM (``python-pkcs11``).

One session is opened and logged in when the signer is created and kept until :meth:`close` (or the
end of a ``with`` block): a login per signature would cost more than the signature. Calls are
serialised with a lock because a PKCS#11 session must not be used by two threads at once.

The hash is computed here and the token only does the raw operation (``CKM_RSA_PKCS`` on a DigestInfo,
``CKM_ECDSA`` on the digest), which every token supports; the token's own hash-and-sign mechanisms
(``CKM_SHA256_RSA_PKCS`` …) are used only when the raw one is missing.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .base import (
    BaseSigner,
    KeyMismatchError,
    KeyNotFoundError,
    SigningError,
    WrongSecretError,
    check_key_strength,
    key_type_of,
    resolve_algorithm,
)
from .certs import load_certificate

# DER DigestInfo prefixes (RFC 8017 §9.2 note 1).
_DIGEST_INFO = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def _import_pkcs11():
    try:
        import pkcs11  # noqa: PLC0415 - optional dependency python-pkcs11 (extra [pkcs11])
    except ImportError:  # pragma: no cover - depends on the installation
        raise SigningError(
            "PKCS#11 signing needs the python-pkcs11 package: pip install 'vn-einvoice[pkcs11]'") from None
    return pkcs11


def _key_id(key_id: bytes | str | None) -> bytes | None:
    if key_id is None or isinstance(key_id, bytes):
        return key_id
    try:
        return bytes.fromhex(key_id.replace(":", "").strip())
    except ValueError:
        raise SigningError(f"key id {key_id!r} is not hexadecimal") from None


class Pkcs11Signer(BaseSigner):
    """Signer over a private key on a PKCS#11 token.

    ``module_path``: the vendor's PKCS#11 library (``.so``/``.dll``); ``token_label``: the token;
    ``key_label`` and/or ``key_id`` (bytes or hex): the private key; ``cert_pem``: the certificate
    (PEM text, PEM or DER bytes, or a file path) when it is not stored on the token next to the key
    (same ``CKA_ID``, else same label). A test signature checked with the certificate's public key
    proves that key and certificate belong together.
    """

    def __init__(self, module_path: str | os.PathLike, token_label: str, pin: str | None,
                 key_label: str | None = None, key_id: bytes | str | None = None,
                 cert_pem: bytes | str | os.PathLike | None = None):
        p11 = _import_pkcs11()
        self._p11 = p11
        self._lock = threading.Lock()
        self._session = None
        if key_label is None and key_id is None:
            raise SigningError("give the key's label or its id (CKA_ID) on the token")
        wanted_id = _key_id(key_id)
        what = " and ".join(filter(None, [
            f"label {key_label!r}" if key_label is not None else "",
            f"id {wanted_id.hex()}" if wanted_id is not None else "",
        ]))
        try:
            lib = p11.lib(os.fspath(module_path))
        except p11.PKCS11Error as e:
            raise SigningError(f"cannot load the PKCS#11 module {os.fspath(module_path)}: {e}") from None
        try:
            token = lib.get_token(token_label=token_label)
        except p11.NoSuchToken:
            raise KeyNotFoundError(f"no PKCS#11 token labelled {token_label!r} in {module_path}") from None
        except p11.MultipleTokensReturned:
            raise KeyNotFoundError(f"several PKCS#11 tokens are labelled {token_label!r}") from None
        try:
            self._session = token.open(user_pin=pin)
        except (p11.PinIncorrect, p11.PinLenRange, p11.PinInvalid):
            raise WrongSecretError(f"wrong PIN for the PKCS#11 token {token_label!r}") from None
        except p11.PinLocked:
            raise WrongSecretError(f"the PIN of the PKCS#11 token {token_label!r} is locked") from None
        except p11.PinExpired:
            raise WrongSecretError(f"the PIN of the PKCS#11 token {token_label!r} has expired") from None
        except p11.PKCS11Error as e:
            raise SigningError(f"cannot open a session on the PKCS#11 token {token_label!r}: "
                               f"{type(e).__name__}") from None
        del pin
        try:
            self._setup(token, key_label, wanted_id, what, cert_pem)
        except BaseException:
            self.close()
            raise

    def _setup(self, token, key_label, wanted_id, what, cert_pem) -> None:
        p11 = self._p11
        Attribute, ObjectClass, KeyType, Mechanism = p11.Attribute, p11.ObjectClass, p11.KeyType, p11.Mechanism
        try:
            self._key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label, id=wanted_id)
        except p11.NoSuchKey:
            raise KeyNotFoundError(f"no private key with {what} on the token {token.label!r}") from None
        except p11.MultipleObjectsReturned:
            raise KeyNotFoundError(f"several private keys with {what} on the token {token.label!r}; "
                                   f"give both label and id") from None
        if self._key.key_type == KeyType.RSA:
            self.key_type = "rsa"
        elif self._key.key_type == KeyType.EC:
            self.key_type = "ec"
        else:
            raise SigningError(f"the key with {what} is {self._key.key_type.name}; only RSA and EC keys can sign")

        if cert_pem is not None:
            if isinstance(cert_pem, (bytes, bytearray)) or (isinstance(cert_pem, str) and "-----BEGIN" in cert_pem):
                cert = load_certificate(bytes(cert_pem) if isinstance(cert_pem, bytearray) else cert_pem)
            else:
                cert = load_certificate(Path(cert_pem).read_bytes())
        else:
            cert = self._find_certificate(Attribute, ObjectClass, token.label, what)
        if key_type_of(cert.public_key()) != self.key_type:
            raise KeyMismatchError(f"the key with {what} is {self.key_type.upper()} but the certificate "
                                   f"holds a {key_type_of(cert.public_key()).upper()} key")
        check_key_strength(cert.public_key())
        self.certificate = cert
        self.chain = []

        mechanisms = token.slot.get_mechanisms()
        if self.key_type == "rsa":
            self._raw = Mechanism.RSA_PKCS in mechanisms
            self._combined = {"sha1": Mechanism.SHA1_RSA_PKCS, "sha256": Mechanism.SHA256_RSA_PKCS,
                              "sha512": Mechanism.SHA512_RSA_PKCS}
        else:
            self._raw = Mechanism.ECDSA in mechanisms
            self._combined = {"sha1": Mechanism.ECDSA_SHA1, "sha256": Mechanism.ECDSA_SHA256,
                              "sha512": Mechanism.ECDSA_SHA512}
        self._check_pair()

    def _find_certificate(self, Attribute, ObjectClass, token_label, what) -> x509.Certificate:
        candidates = []
        try:
            key_id = self._key.id
        except self._p11.PKCS11Error:
            key_id = None
        try:
            label = self._key.label
        except self._p11.PKCS11Error:
            label = None
        for attrs in ({Attribute.ID: key_id} if key_id else None, {Attribute.LABEL: label} if label else None):
            if attrs is None:
                continue
            attrs[Attribute.CLASS] = ObjectClass.CERTIFICATE
            candidates = [load_certificate(obj[Attribute.VALUE]) for obj in self._session.get_objects(attrs)]
            if candidates:
                break
        if not candidates:
            raise KeyNotFoundError(f"no certificate on the token {token_label!r} for the key with {what}; "
                                   f"give the certificate as a PEM file")
        return candidates[0]

    def _check_pair(self) -> None:
        challenge = b"vn-einvoice key/certificate check"
        algorithm = "rsa-sha256" if self.key_type == "rsa" else "ecdsa-sha256"
        signature = self.sign(challenge, algorithm)
        public = self.certificate.public_key()
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
            else:
                half = len(signature) // 2
                der = encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                           int.from_bytes(signature[half:], "big"))
                public.verify(der, challenge, ec.ECDSA(hashes.SHA256()))
        except Exception:
            raise KeyMismatchError(
                f"the private key on the token does not belong to the certificate "
                f"{self.certificate.subject.rfc4514_string()}") from None

    def sign(self, data: bytes, algorithm: str = "rsa-sha256") -> bytes:
        algo = resolve_algorithm(algorithm, self.key_type)
        if self._session is None:
            raise KeyNotFoundError("this PKCS#11 signer is closed")
        digest = hashes.Hash(algo.hash())
        digest.update(data)
        digest = digest.finalize()
        mech = self._p11.Mechanism
        with self._lock:
            try:
                if self._raw and self.key_type == "rsa":
                    return self._key.sign(_DIGEST_INFO[algo.hash_name] + digest, mechanism=mech.RSA_PKCS)
                if self._raw:
                    return self._key.sign(digest, mechanism=mech.ECDSA)
                combined = self._combined.get(algo.hash_name)
                if combined is None:
                    raise SigningError(f"the token cannot sign with {algo.name}")
                return self._key.sign(data, mechanism=combined)
            except self._p11.PKCS11Error as e:
                raise SigningError(f"the PKCS#11 token refused to sign: {type(e).__name__} {e}") from None

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
            if session is not None:
                with contextlib.suppress(Exception):  # a dead session is not worth an error
                    session.close()

    def __del__(self):  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()
