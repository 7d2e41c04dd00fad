"""A throw-away certificate authority for tests, demos and benchmarks. Never for real invoices.

Seller certificates look like those of Vietnamese public CAs: subject ``C=VN, CN=<name>,
UID=MST:<tax code>`` (RFC 4514: ``UID=MST:0312345678,CN=…,C=VN``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TestCA:
    """A CA key and its self-signed certificate."""

    __test__ = False  # not a pytest test class

    key: object
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _new_key(key_type: str, bits: int):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if key_type == "ec":
        return ec.generate_private_key({256: ec.SECP256R1(), 384: ec.SECP384R1()}.get(bits, ec.SECP256R1()))
    raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")


def make_test_ca(name: str = "vn-einvoice TEST CA - không dùng thật", *, key_type: str = "rsa",
                 bits: int = 2048, not_before: datetime | None = None,
                 not_after: datetime | None = None, organization: str = "vn-einvoice sandbox") -> TestCA:
    """A self-signed CA valid from yesterday for ten years (or the given period)."""
    key = _new_key(key_type, bits)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])
    start = not_before or _now() - timedelta(days=1)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return TestCA(key, cert)


# The sandbox's stand-in for the government CA that issues the tax authority's certificates: it carries the
# government CA's names (the issuer policy of DSCKS/CQT, ``certs.is_government_ca_issuer``), so a verifier accepts
# its tax-authority certificates only when this CA is in the trust store it was given.
GOVERNMENT_TEST_CA_NAME = "CA phục vụ các cơ quan Nhà nước - TEST, không dùng thật"
GOVERNMENT_TEST_CA_ORG = "Ban Cơ yếu Chính phủ - TEST"
TAX_AUTHORITY_TEST_NAME = "CỤC THUẾ - TEST"


def make_government_test_ca(**kwargs) -> TestCA:
    """A test CA named like the government CA (for the tax authority's test certificates)."""
    return make_test_ca(GOVERNMENT_TEST_CA_NAME, organization=GOVERNMENT_TEST_CA_ORG, **kwargs)


def make_tax_authority_certificate(ca: TestCA, name: str = TAX_AUTHORITY_TEST_NAME, **kwargs):
    """``(private_key, certificate)`` of a test tax authority (``CN=<name>,O=BỘ TÀI CHÍNH,C=VN``, no MST)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BỘ TÀI CHÍNH"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return make_seller_certificate(ca, "", name, subject=subject, **kwargs)


def make_seller_certificate(ca: TestCA, tax_code: str, name: str, key_type: str = "rsa", bits: int = 2048,
                            not_before: datetime | None = None, not_after: datetime | None = None,
                            *, key=None, subject: x509.Name | None = None):
    """``(private_key, certificate)`` of a seller, issued by ``ca``.

    Valid from yesterday for one year unless ``not_before``/``not_after`` are given (aware or UTC).
    ``key``: reuse an existing private key; ``subject``: replace the standard subject.
    """
    key = key or _new_key(key_type, bits)
    subject = subject or x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.USER_ID, f"MST:{tax_code}"),
    ])
    start = not_before or _now() - timedelta(days=1)
    end = not_after or start + timedelta(days=365)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=key_type == "rsa",
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return key, cert


def p12_bytes(key, cert: x509.Certificate, chain=(), password: str | bytes | None = None,
              friendly_name: bytes = b"seller") -> bytes:
    """PKCS#12 bytes protected by ``password`` (AES, or none when ``password`` is empty)."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(friendly_name, key, cert, list(chain) or None, encryption)


def write_p12(path: str | os.PathLike, key, cert: x509.Certificate, chain=(),
              password: str | bytes | None = None) -> Path:
    """Write a PKCS#12 file (mode 0600) and return its path."""
    path = Path(path)
    data = p12_bytes(key, cert, chain, password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def key_pem(key) -> bytes:
    """Unencrypted PKCS#8 PEM of a private key (for xmlsec1 and other tools in tests)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
