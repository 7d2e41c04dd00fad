"""X.509 helpers: the MST in a Vietnamese certificate subject, validity, key matching.

Vietnamese public CAs write the tax code in the subject as ``UID=MST:0312345678`` (OID
0.9.2342.19200300.100.1.1, shown by .NET as ``OID.0.9.2342.19200300.100.1.1=MST:…``); some put
``MST:…`` in ``OU``, ``CN`` or ``serialNumber``. Individuals carry ``CCCD:``/``CMND:`` numbers.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from ..codes import normalize_tax_code

# Attribute order in which an MST is looked for: UID first, then the usual fall-backs.
_MST_ATTRIBUTES = (
    NameOID.USER_ID, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER,
    NameOID.ORGANIZATION_NAME, NameOID.TITLE,
)
_ID_RE = re.compile(
    r"(?<![A-Z])(MST|MNS|CCCD|CMND|HC|DDCN)\s*[:=]\s*(\d[\d\-]{7,15}\d|[A-Z]?\d{6,12})", re.IGNORECASE)
_MST_RE = re.compile(r"^\d{10}(?:-?\d{3})?$|^\d{12}$")


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A certificate from PEM or DER bytes (or PEM text)."""
    if isinstance(data, str):
        data = data.encode("ascii")
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def subject_identifiers(cert: x509.Certificate) -> dict[str, str]:
    """Identifiers found in the subject, by kind: ``{'MST': '0312345678', 'CCCD': '…'}``.

    The first occurrence wins, in the order UID, OU, CN, serialNumber, O, title, then any other attribute.
    """
    found: dict[str, str] = {}
    subject = cert.subject
    ordered = [a for oid in _MST_ATTRIBUTES for a in subject.get_attributes_for_oid(oid)]
    ordered += [a for a in subject if a.oid not in _MST_ATTRIBUTES]
    for attribute in ordered:
        value = attribute.value if isinstance(attribute.value, str) else ""
        for kind, number in _ID_RE.findall(value):
            kind = kind.upper()
            if kind == "MST":
                number = normalize_tax_code(number)
                if not _MST_RE.match(number.replace("-", "")):
                    continue
            found.setdefault(kind, number)
    return found


def subject_tax_code(cert: x509.Certificate) -> str | None:
    """The MST of the certificate's owner (``0100109106`` or ``0100109106-001``), or None.

    An individual's certificate without ``MST:`` gives its 12-digit ``CCCD:`` number, which is the
    personal tax code since 07/2025.
    """
    ids = subject_identifiers(cert)
    if "MST" in ids:
        return ids["MST"]
    cccd = ids.get("CCCD", "")
    return cccd if re.fullmatch(r"\d{12}", cccd) else None


def tax_code_matches(cert_tax_code: str | None, seller_tax_code: str | None) -> bool:
    """True if a certificate with ``cert_tax_code`` may sign for ``seller_tax_code``.

    Equal MSTs match. A branch seller (``0100109106-001``) also accepts the parent company's
    certificate (``0100109106``): branches commonly sign with the head office's certificate, and the
    parent is legally responsible for them. The reverse (a branch certificate for the parent) does not.
    """
    if not cert_tax_code or not seller_tax_code:
        return False
    cert_mst = normalize_tax_code(cert_tax_code)
    seller = normalize_tax_code(seller_tax_code)
    return cert_mst == seller or ("-" in seller and "-" not in cert_mst and seller.split("-")[0] == cert_mst)


def subject_string(cert: x509.Certificate) -> str:
    """RFC 4514 subject (``UID=MST:0312345678,CN=…,C=VN``), non-ASCII kept as UTF-8 text."""
    return cert.subject.rfc4514_string()


def issuer_string(cert: x509.Certificate) -> str:
    return cert.issuer.rfc4514_string()


def validity(cert: x509.Certificate) -> tuple[datetime, datetime]:
    """``(not_before, not_after)`` as aware UTC datetimes (cryptography 3.4 – 43)."""
    try:
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        return (cert.not_valid_before.replace(tzinfo=timezone.utc),
                cert.not_valid_after.replace(tzinfo=timezone.utc))


def valid_at(cert: x509.Certificate, when: datetime) -> bool:
    """True if ``when`` (aware) lies in the certificate's validity period (bounds included)."""
    not_before, not_after = validity(cert)
    return not_before <= when <= not_after


def public_key_der(key_or_cert) -> bytes:
    public = key_or_cert.public_key()
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_certificate(private_key, cert: x509.Certificate) -> bool:
    """True if ``private_key`` (cryptography) belongs to ``cert``."""
    return public_key_der(private_key) == public_key_der(cert)


def serial_hex(cert: x509.Certificate) -> str:
    """Serial number in hex, as CAs and ``openssl`` print it (lower case, even length)."""
    text = f"{cert.serial_number:x}"
    return text if len(text) % 2 == 0 else "0" + text


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, colon-separated upper-case hex (as ``openssl x509 -fingerprint``)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def public_key_sha256(cert: x509.Certificate) -> str:
    """SHA-256 (hex) of the certificate's SubjectPublicKeyInfo: equal for two certificates of one key."""
    return hashlib.sha256(public_key_der(cert)).hexdigest()


def _plain_upper(text: str) -> str:
    """Upper case without Vietnamese accents (Đ → D), spaces collapsed: ``Tổng cục Thuế`` → ``TONG CUC THUE``."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).upper().split())


# What the tax authority's certificates name as their organisation or common name: "TỔNG CỤC THUẾ"
# (General Department of Taxation, the signer of MCCQT until 2025), "CỤC THUẾ" (its name since the
# 03/2025 reorganisation, and the provincial departments "CỤC THUẾ TỈNH …"), or plainly "THUẾ".
_TAX_AUTHORITY_NAME = re.compile(r"^(?:(?:TONG CUC THUE|CUC THUE)(?: .*)?|THUE)$")


def is_tax_authority_subject(cert: x509.Certificate) -> bool:
    """True if the certificate's subject names the Vietnamese tax authority (the policy for ``DSCKS/CQT``).

    The single rule: an ``O`` or ``CN`` that, accents and case ignored, begins with the words ``TỔNG
    CỤC THUẾ`` or ``CỤC THUẾ``, or is exactly ``THUẾ`` (``CN=TỔNG CỤC THUẾ,O=BỘ TÀI CHÍNH``, ``CN=Cục
    Thuế``, ``O=CỤC THUẾ TỈNH BÌNH DƯƠNG`` pass; ``CN=CÔNG TY TƯ VẤN THUẾ``, ``CN=THUẾ ABC`` do not); and
    no MST or personal number in the subject (that is a taxpayer's certificate). Anyone can put such a
    name in a certificate of their own: the name is necessary, never sufficient — only a trust store
    (``trusted_certificates``, CLI ``--trusted-ca``) proves who signed.
    """
    if subject_identifiers(cert):
        return False
    names = [a.value for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)
             for a in cert.subject.get_attributes_for_oid(oid) if isinstance(a.value, str)]
    return any(_TAX_AUTHORITY_NAME.match(_plain_upper(name)) for name in names)


# Who issues the tax authority's certificates: the government CA of the Government Cipher Committee,
# "CA phục vụ các cơ quan Nhà nước" (G2 since 2021), organisation "Ban Cơ yếu Chính phủ". Seen on the CQT
# signatures of invoices coded in 2021–2026: issuer "CN=CA phục vụ các cơ quan Nhà nước G2,O=Ban Cơ yếu
# Chính phủ,C=VN" for "CN=TỔNG CỤC THUẾ,O=BỘ TÀI CHÍNH,L=Hà Nội,C=VN".
_GOVERNMENT_CA_ORG = re.compile(r"^BAN CO YEU CHINH PHU(?: .*)?$")
_GOVERNMENT_CA_NAME = re.compile(r"^CA PHUC VU CAC CO QUAN NHA NUOC(?: .*)?$")


def is_government_ca_issuer(cert: x509.Certificate) -> bool:
    """True if the certificate's issuer names the government CA (the issuer policy for ``DSCKS/CQT``):
    an issuer ``O`` beginning with ``Ban Cơ yếu Chính phủ`` or ``CN`` beginning with ``CA phục vụ các cơ quan
    Nhà nước`` (accents and case ignored). Like the subject policy, a name is necessary, never sufficient:
    the trust store proves that the issuer is who it says."""
    orgs = [a.value for a in cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME) if isinstance(a.value, str)]
    names = [a.value for a in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
    return (any(_GOVERNMENT_CA_ORG.match(_plain_upper(o)) for o in orgs)
            or any(_GOVERNMENT_CA_NAME.match(_plain_upper(n)) for n in names))


def certificate_summary(cert: x509.Certificate) -> dict:
    not_before, not_after = validity(cert)
    return {
        "subject": subject_string(cert),
        "subject_tax_code": subject_tax_code(cert),
        "serial": serial_hex(cert),
        "issuer": issuer_string(cert),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
    }
