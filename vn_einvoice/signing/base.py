"""The ``Signer`` protocol, signature algorithms and signing errors.

A signer owns a private key (PKCS#12 file, PKCS#11 token/HSM) and its X.509 certificate and turns
bytes (the canonical ``SignedInfo``) into an XML-DSig ``SignatureValue``: RSA PKCS#1 v1.5, or ECDSA
as raw ``r||s`` (XML-DSig 1.1 §6.4.3), never DER.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..errors import EInvoiceError

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_ENC = "http://www.w3.org/2001/04/xmlenc#"

MIN_RSA_BITS = 2048


# --- errors ---------------------------------------------------------------------------------------

class SigningError(EInvoiceError):
    """Signing refused or impossible. Messages never contain a password or a PIN."""


class UnsupportedAlgorithmError(SigningError):
    """Unknown or refused algorithm (MD5 is always refused)."""


class WrongSecretError(SigningError):
    """Wrong PKCS#12 password or token PIN (or a locked PIN)."""


class KeyNotFoundError(SigningError):
    """Token, key or certificate not found, or the file holds no key."""


class KeyMismatchError(SigningError):
    """The private key does not belong to the certificate."""


class CertificateValidityError(SigningError):
    """The certificate is expired or not yet valid at the signing time."""


class TaxCodeMismatchError(SigningError):
    """The certificate's MST is not the seller's MST."""


# --- algorithms -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Algorithm:
    """A signing algorithm: short name, key type, hash, and the XML-DSig URIs it writes."""

    name: str
    key_type: str  # 'rsa' | 'ec'
    hash_name: str  # 'sha1' | 'sha256' | ...
    signature_uri: str
    digest_uri: str

    def hash(self) -> hashes.HashAlgorithm:
        return HASHES[self.hash_name]()


HASHES = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
    "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}

DIGEST_URIS = {
    DS_NS + "sha1": "sha1",
    _MORE + "sha224": "sha224",
    _ENC + "sha256": "sha256",
    _MORE + "sha384": "sha384",
    _ENC + "sha512": "sha512",
}
DIGEST_URI_OF = {v: k for k, v in DIGEST_URIS.items()}

# Verification accepts all of these; signing offers the ones in SIGNING_ALGORITHMS.
SIGNATURE_URIS: dict[str, tuple[str, str]] = {
    DS_NS + "rsa-sha1": ("rsa", "sha1"),
    _MORE + "rsa-sha224": ("rsa", "sha224"),
    _MORE + "rsa-sha256": ("rsa", "sha256"),
    _MORE + "rsa-sha384": ("rsa", "sha384"),
    _MORE + "rsa-sha512": ("rsa", "sha512"),
    _MORE + "ecdsa-sha1": ("ec", "sha1"),
    _MORE + "ecdsa-sha224": ("ec", "sha224"),
    _MORE + "ecdsa-sha256": ("ec", "sha256"),
    _MORE + "ecdsa-sha384": ("ec", "sha384"),
    _MORE + "ecdsa-sha512": ("ec", "sha512"),
}


def _algorithm(name: str, key_type: str, hash_name: str, uri: str) -> Algorithm:
    return Algorithm(name, key_type, hash_name, uri, DIGEST_URI_OF[hash_name])


SIGNING_ALGORITHMS: dict[str, Algorithm] = {
    a.name: a for a in (
        _algorithm("rsa-sha256", "rsa", "sha256", _MORE + "rsa-sha256"),
        _algorithm("rsa-sha1", "rsa", "sha1", DS_NS + "rsa-sha1"),
        _algorithm("rsa-sha512", "rsa", "sha512", _MORE + "rsa-sha512"),
        _algorithm("ecdsa-sha256", "ec", "sha256", _MORE + "ecdsa-sha256"),
    )
}
DEFAULT_ALGORITHM = {"rsa": "rsa-sha256", "ec": "ecdsa-sha256"}


def is_md5(name: str) -> bool:
    return "md5" in (name or "").lower()


def md5_refusal(name: str) -> str:
    return (f"algorithm {name!r} uses MD5, which is broken (collisions are cheap) and refused; "
            f"use rsa-sha256 (or rsa-sha1 / ecdsa-sha256)")


def resolve_algorithm(name: str | Algorithm | None, key_type: str | None = None) -> Algorithm:
    """An :class:`Algorithm` from a short name (``rsa-sha256``) or a SignatureMethod URI.

    ``None`` picks the default for ``key_type`` (RSA-SHA256, or ECDSA-SHA256 for EC keys).
    MD5 in any form is refused; so is an algorithm that does not fit ``key_type``.
    """
    if isinstance(name, Algorithm):
        algorithm = name
    else:
        if name is None:
            name = DEFAULT_ALGORITHM.get(key_type or "rsa", "rsa-sha256")
        text = str(name).strip()
        if is_md5(text):
            raise UnsupportedAlgorithmError(md5_refusal(text))
        key = text.lower()
        if key in SIGNATURE_URIS or text in SIGNATURE_URIS:
            key = (text if text in SIGNATURE_URIS else key).rsplit("#", 1)[1]
        algorithm = SIGNING_ALGORITHMS.get(key)
        if algorithm is None:
            raise UnsupportedAlgorithmError(
                f"unsupported signing algorithm {text!r}; use one of {', '.join(SIGNING_ALGORITHMS)}")
    if key_type and algorithm.key_type != key_type:
        raise UnsupportedAlgorithmError(
            f"algorithm {algorithm.name} needs an {algorithm.key_type.upper()} key but the certificate "
            f"has an {key_type.upper()} key; use {DEFAULT_ALGORITHM[key_type]}")
    return algorithm


# --- the protocol ---------------------------------------------------------------------------------

@runtime_checkable
class Signer(Protocol):
    """Anything that can sign with the private key of ``certificate``."""

    certificate: x509.Certificate
    chain: list[x509.Certificate]
    key_type: str  # 'rsa' | 'ec'

    def sign(self, data: bytes, algorithm: str = "rsa-sha256") -> bytes:
        """XML-DSig ``SignatureValue`` bytes of ``data`` (PKCS#1 v1.5, or raw ``r||s``)."""
        ...


class BaseSigner:
    """Context-manager plumbing shared by the signers."""

    certificate: x509.Certificate
    chain: list[x509.Certificate]
    key_type: str

    def close(self) -> None:
        """Release the key (close sessions). Idempotent."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        subject = self.certificate.subject.rfc4514_string() if getattr(self, "certificate", None) else "?"
        return f"<{type(self).__name__} {self.key_type} {subject}>"


def key_type_of(public_key) -> str:
    if isinstance(public_key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return "rsa"
    if isinstance(public_key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        return "ec"
    raise UnsupportedAlgorithmError(
        f"unsupported key type {type(public_key).__name__}: only RSA and ECDSA keys can sign e-invoices")


def check_key_strength(public_key) -> None:
    """Refuse RSA keys under 2048 bits and EC curves other than P-256/384/521."""
    if isinstance(public_key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)) and public_key.key_size < MIN_RSA_BITS:
        raise UnsupportedAlgorithmError(
            f"the RSA key has {public_key.key_size} bits; at least {MIN_RSA_BITS} are required")
    if isinstance(public_key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and not isinstance(
            public_key.curve, (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)):
        raise UnsupportedAlgorithmError(f"unsupported elliptic curve {public_key.curve.name}")


def ec_raw_signature(der: bytes, key_size_bits: int) -> bytes:
    """DER ECDSA signature → XML-DSig raw ``r||s`` (each padded to the curve size)."""
    r, s = decode_dss_signature(der)
    n = (key_size_bits + 7) // 8
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def sign_with_private_key(key, data: bytes, algorithm: Algorithm) -> bytes:
    """Sign with a ``cryptography`` private key, XML-DSig style."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), algorithm.hash())
    return ec_raw_signature(key.sign(data, ec.ECDSA(algorithm.hash())), key.curve.key_size)
