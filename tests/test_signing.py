"""Signing and verification of HDon without external tools: signers, profile, refusals, tampering, C14N."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import tools
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from factories import SELLER_MST, goods, make_invoice
from lxml import etree
from tools import validity_around

from vn_einvoice.errors import ValidationError
from vn_einvoice.sandbox.testca import (
    make_government_test_ca,
    make_seller_certificate,
    make_tax_authority_certificate,
    make_test_ca,
    p12_bytes,
    write_p12,
)
from vn_einvoice.signing import (
    CertificateValidityError,
    KeyMismatchError,
    Pkcs12Signer,
    SigningError,
    TaxCodeMismatchError,
    UnsupportedAlgorithmError,
    WrongSecretError,
    add_signature,
    resolve_algorithm,
    sign_invoice,
    subject_identifiers,
    subject_tax_code,
    tax_code_matches,
    verify_invoice,
)
from vn_einvoice.signing.base import ec_raw_signature
from vn_einvoice.signing.c14n import canonicalize, python_canonicalize
from vn_einvoice.signing.certs import fingerprint_sha256, is_tax_authority_subject
from vn_einvoice.signing.xmldsig import ICT, format_signing_time, parse_signing_time
from vn_einvoice.xml import build_checked_tree

DATA = Path(__file__).parent / "data"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"ds": DS}
MST = "0312345678"  # the research sample's seller
NAME = "CÔNG TY TNHH GIẢI PHÁP MẪU"
PASSWORD = "Mật-khẩu S3cr3t!"
SIGNING_TIME = datetime(2026, 11, 21, 2, 0, 0, tzinfo=timezone.utc)  # 09:00 in Việt Nam


@pytest.fixture(scope="module")
def ca():
    return make_test_ca(**validity_around(SIGNING_TIME))


@pytest.fixture(scope="module")
def seller(ca):
    key, cert = make_seller_certificate(ca, MST, NAME, **validity_around(SIGNING_TIME))
    return key, cert


@pytest.fixture(scope="module")
def signer(ca, seller):
    key, cert = seller
    return Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def ec_signer(ca):
    key, cert = make_seller_certificate(ca, MST, NAME, key_type="ec")
    return Pkcs12Signer(p12_bytes(key, cert, [], PASSWORD), PASSWORD)


@pytest.fixture()
def unsigned() -> bytes:
    return (DATA / "signing_sample_unsigned.xml").read_bytes()


@pytest.fixture(scope="module")
def signed_sample() -> bytes:
    return (DATA / "signing_sample_signed.xml").read_bytes()


def _signer_for(ca, tax_code, **kw):
    key, cert = make_seller_certificate(ca, tax_code, NAME, **kw)
    return Pkcs12Signer(p12_bytes(key, cert, [], "x"), "x")


def _sig(xml: bytes, container="NBan"):
    return etree.fromstring(xml).find(f"DSCKS/{container}/ds:Signature", NS)


# --- algorithms -----------------------------------------------------------------------------------

def test_algorithms_default_by_key_type_and_uris():
    assert resolve_algorithm(None, "rsa").name == "rsa-sha256"
    assert resolve_algorithm(None, "ec").name == "ecdsa-sha256"
    assert resolve_algorithm("RSA-SHA1").signature_uri == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    assert resolve_algorithm("RSA-SHA1").digest_uri == "http://www.w3.org/2000/09/xmldsig#sha1"
    assert resolve_algorithm("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256").name == "rsa-sha256"
    assert resolve_algorithm("ecdsa-sha256").digest_uri == "http://www.w3.org/2001/04/xmlenc#sha256"


@pytest.mark.parametrize("name", ["md5", "rsa-md5", "RSA-MD5", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"])
def test_md5_refused(name):
    with pytest.raises(UnsupportedAlgorithmError, match="MD5.*refused"):
        resolve_algorithm(name)


def test_algorithm_must_fit_the_key():
    with pytest.raises(UnsupportedAlgorithmError, match="needs an EC key.*use rsa-sha256"):
        resolve_algorithm("ecdsa-sha256", "rsa")
    with pytest.raises(UnsupportedAlgorithmError, match="unsupported signing algorithm 'dsa-sha1'"):
        resolve_algorithm("dsa-sha1")


def test_ec_raw_signature_pads_r_and_s():
    raw = ec_raw_signature(bytes.fromhex("3006020101020102"), 256)
    assert raw == (1).to_bytes(32, "big") + (2).to_bytes(32, "big")


# --- certificates ---------------------------------------------------------------------------------

def _cert_with(attrs):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))


@pytest.mark.parametrize("attrs, expected", [
    ([(NameOID.USER_ID, "MST:0312345678"), (NameOID.COMMON_NAME, "A")], "0312345678"),
    ([(NameOID.COMMON_NAME, "A"), (NameOID.ORGANIZATIONAL_UNIT_NAME, "MST: 0100109106-001")], "0100109106-001"),
    ([(NameOID.COMMON_NAME, "CÔNG TY A - MST:0100109106001")], "0100109106-001"),
    ([(NameOID.USER_ID, "CCCD:001085012345"), (NameOID.COMMON_NAME, "NGUYỄN VĂN A")], "001085012345"),
    ([(NameOID.USER_ID, "CMND:012345678"), (NameOID.COMMON_NAME, "B")], None),
    ([(NameOID.COMMON_NAME, "TỔNG CỤC THUẾ")], None),
])
def test_subject_tax_code(attrs, expected):
    assert subject_tax_code(_cert_with(attrs)) == expected


def test_subject_identifiers_prefers_uid():
    cert = _cert_with([(NameOID.COMMON_NAME, "MST:0100109106"), (NameOID.USER_ID, "MST:0312345678"),
                       (NameOID.SERIAL_NUMBER, "CCCD:001085012345")])
    assert subject_identifiers(cert) == {"MST": "0312345678", "CCCD": "001085012345"}


@pytest.mark.parametrize("cert_mst, seller, ok", [
    ("0312345678", "0312345678", True),
    ("0100109106", "0100109106-001", True),  # a branch may sign with its parent's certificate
    ("0100109106-001", "0100109106", False),  # not the reverse
    ("0100109106-002", "0100109106-001", False),
    ("0312345678", "0109876543", False),
    (None, "0312345678", False),
])
def test_tax_code_matches(cert_mst, seller, ok):
    assert tax_code_matches(cert_mst, seller) is ok


# --- PKCS#12 signer -------------------------------------------------------------------------------

def test_pkcs12_signer_from_file(tmp_path, ca, seller):
    key, cert = seller
    path = write_p12(tmp_path / "seller.p12", key, cert, [ca.certificate], PASSWORD)
    assert path.stat().st_mode & 0o777 == 0o600
    with Pkcs12Signer(path, PASSWORD) as s:
        assert s.key_type == "rsa"
        assert s.certificate == cert
        assert s.chain == [ca.certificate]
        sig = s.sign(b"data", "rsa-sha256")
        cert.public_key().verify(sig, b"data", padding.PKCS1v15(), hashes.SHA256())
        sig1 = s.sign(b"data", "rsa-sha1")
        cert.public_key().verify(sig1, b"data", padding.PKCS1v15(), hashes.SHA1())
    with pytest.raises(SigningError, match="closed"):
        s.sign(b"data")


def test_pkcs12_wrong_password_is_not_echoed(ca, seller):
    key, cert = seller
    data = p12_bytes(key, cert, [], PASSWORD)
    with pytest.raises(WrongSecretError) as info:
        Pkcs12Signer(data, "Sai-mật-khẩu-123")
    message = str(info.value)
    assert message.startswith("wrong password for the PKCS#12 file")
    assert "Sai-mật-khẩu-123" not in message and PASSWORD not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_pkcs12_without_password(seller):
    key, cert = seller
    assert Pkcs12Signer(p12_bytes(key, cert, [], None), None).certificate == cert
    assert Pkcs12Signer(p12_bytes(key, cert, [], None), "").certificate == cert


def test_pkcs12_key_certificate_mismatch(ca, seller):
    _key, cert = seller
    other = rsa.generate_private_key(65537, 2048)
    # cryptography refuses a key with a foreign certificate; a foreign CA-list certificate passes
    data = pkcs12.serialize_key_and_certificates(b"x", other, None, [cert],
                                                 serialization.BestAvailableEncryption(b"pw"))
    with pytest.raises(KeyMismatchError, match="does not belong"):
        Pkcs12Signer(data, "pw")


def test_pkcs12_weak_rsa_key_refused(ca):
    key, cert = make_seller_certificate(ca, MST, NAME, bits=1024)
    with pytest.raises(UnsupportedAlgorithmError, match="1024 bits; at least 2048"):
        Pkcs12Signer(p12_bytes(key, cert, [], "x"), "x")


def test_ec_signer_returns_raw_r_s(ec_signer):
    sig = ec_signer.sign(b"data", "ecdsa-sha256")
    assert len(sig) == 64
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    ec_signer.certificate.public_key().verify(der, b"data", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(UnsupportedAlgorithmError):
        ec_signer.sign(b"data", "rsa-sha256")


# --- signing: the profile -------------------------------------------------------------------------

def test_signature_layout(signer, unsigned):
    out = sign_invoice(unsigned, signer, signing_time=SIGNING_TIME)
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<HDon>")
    # DLHDon is byte for byte what was given: never re-indented or re-declared
    dl = re.search(rb"<DLHDon .*?</DLHDon>", unsigned).group(0)
    assert dl in out
    root = etree.fromstring(out)
    assert [c.tag for c in root.find("DSCKS")] == ["NBan", "NMua", "CCKSKhac"]
    sig = root.find("DSCKS/NBan")[0]
    assert sig.tag == f"{{{DS}}}Signature" and sig.prefix is None and sig.get("Id") == "seller"
    assert b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="seller"><SignedInfo>' in out
    si = sig.find("ds:SignedInfo", NS)
    assert si.find("ds:CanonicalizationMethod", NS).get("Algorithm") == \
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    assert si.find("ds:SignatureMethod", NS).get("Algorithm") == \
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    refs = si.findall("ds:Reference", NS)
    assert [r.get("URI") for r in refs] == ["#data", "#SigningTime"]
    assert [t.get("Algorithm") for t in refs[0].findall("ds:Transforms/ds:Transform", NS)] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature"]
    assert refs[1].find("ds:Transforms", NS) is None
    assert {r.find("ds:DigestMethod", NS).get("Algorithm") for r in refs} == {
        "http://www.w3.org/2001/04/xmlenc#sha256"}
    # the DLHDon digest of the research sample (same DLHDon bytes, verified by xmlsec1)
    assert refs[0].findtext("ds:DigestValue", namespaces=NS) == "Eq1WrVHsJQbJY1AjU0WY+GjJsym45NEskd1BjvfdM/w="
    assert sig.findtext("ds:KeyInfo/ds:X509Data/ds:X509SubjectName", namespaces=NS) == \
        f"UID=MST:{MST},CN={NAME},C=VN"
    der = base64.b64decode(sig.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS))
    assert der == signer.certificate.public_bytes(serialization.Encoding.DER)
    obj = sig.find("ds:Object", NS)
    assert obj.get("Id") == "SigningTime"
    prop = obj.find("ds:SignatureProperties/ds:SignatureProperty", NS)
    assert prop.get("Target") == "#seller"
    assert prop.findtext("ds:SigningTime", namespaces=NS) == "2026-11-21T09:00:00"
    assert [c.tag.split("}")[1] for c in sig] == ["SignedInfo", "SignatureValue", "KeyInfo", "Object"]
    assert b"\n" not in out.split(b"\n", 1)[1]  # no indentation added anywhere
    report = verify_invoice(out)
    assert report.valid, report.all_problems()


def test_signing_time_default_is_now_in_gmt7(signer, unsigned):
    before = datetime.now(ICT).replace(microsecond=0, tzinfo=None)
    out = sign_invoice(unsigned, signer)
    after = datetime.now(ICT).replace(tzinfo=None)
    text = _sig(out).findtext("ds:Object/ds:SignatureProperties/ds:SignatureProperty/ds:SigningTime",
                              namespaces=NS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", text)
    assert before <= datetime.fromisoformat(text) <= after


def test_signing_time_helpers():
    assert format_signing_time(datetime(2026, 1, 1, 17, 30, tzinfo=timezone.utc)) == "2026-01-02T00:30:00"
    assert format_signing_time(datetime(2026, 1, 1, 17, 30)) == "2026-01-01T17:30:00"  # naive = GMT+7
    assert parse_signing_time("2025-07-15T09:00:00") == datetime(2025, 7, 15, 2, tzinfo=timezone.utc)
    assert parse_signing_time("2025-07-15T02:00:00Z") == datetime(2025, 7, 15, 2, tzinfo=timezone.utc)
    assert parse_signing_time("2025-07-15T09:00:00.123+07:00") == datetime(2025, 7, 15, 2, tzinfo=timezone.utc)
    assert parse_signing_time("15/07/2025") is None


@pytest.mark.parametrize("algorithm, sig_uri, digest", [
    ("rsa-sha1", "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"),
    ("rsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256"),
])
def test_rsa_algorithms(signer, unsigned, algorithm, sig_uri, digest):
    out = sign_invoice(unsigned, signer, algorithm=algorithm)
    sig = _sig(out)
    assert sig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == sig_uri
    assert sig.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", NS).get("Algorithm") == digest
    report = verify_invoice(out)
    assert report.valid and report.seller.algorithm == algorithm


def test_rsa_sha512_verifies(signer, unsigned):
    report = verify_invoice(sign_invoice(unsigned, signer, algorithm="rsa-sha512"))
    assert report.valid and report.seller.algorithm == "rsa-sha512"
    assert report.seller.references[0].digest_method == "http://www.w3.org/2001/04/xmlenc#sha512"


def test_ecdsa_signature(ec_signer, unsigned):
    out = sign_invoice(unsigned, ec_signer)
    sig = _sig(out)
    assert sig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == \
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    assert len(base64.b64decode(sig.findtext("ds:SignatureValue", namespaces=NS))) == 64
    report = verify_invoice(out)
    assert report.valid and report.seller.algorithm == "ecdsa-sha256"


def test_tree_input_is_not_modified(signer, unsigned):
    tree = etree.ElementTree(etree.fromstring(unsigned))
    before = etree.tostring(tree)
    out = sign_invoice(tree, signer)
    assert etree.tostring(tree) == before
    assert verify_invoice(out).valid
    assert verify_invoice(sign_invoice(tree.getroot(), signer)).valid


def test_built_tree_signed_in_place_verifies(ca):
    # what Odoo does: the checked tree of the builder signed as it is, without a serialization and a parse
    key, cert = make_seller_certificate(ca, SELLER_MST, NAME)
    seller_signer = Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], PASSWORD), PASSWORD)
    root = build_checked_tree(make_invoice([goods("A", 3, 25000, "10%")], number=12))
    before = etree.tostring(root)
    out = sign_invoice(root, seller_signer)
    assert etree.tostring(root) == before  # left as it was built
    report = verify_invoice(out)
    assert report.valid, report.all_problems()
    assert b"<SHDon>12</SHDon>" in out


def test_tree_is_restored_when_signing_fails(signer, unsigned):
    class Broken:
        certificate, chain, key_type = signer.certificate, [], "rsa"

        def sign(self, data, algorithm):
            raise SigningError("token removed")

    tree = etree.ElementTree(etree.fromstring(unsigned.replace(b"<DSCKS><NBan/><NMua/><CCKSKhac/></DSCKS>", b"")))
    before = etree.tostring(tree)
    with pytest.raises(SigningError, match="token removed"):
        sign_invoice(tree, Broken())
    assert etree.tostring(tree) == before
    signed = sign_invoice(tree, signer)  # DSCKS/NBan created in the output only
    assert etree.tostring(tree) == before and b"<DSCKS><NBan><Signature" in signed


def test_dscks_and_nban_created_in_order(signer, unsigned):
    no_dscks = unsigned.replace(b"<DSCKS><NBan/><NMua/><CCKSKhac/></DSCKS>", b"")
    root = etree.fromstring(sign_invoice(no_dscks, signer))
    assert [c.tag for c in root] == ["DLHDon", "DLQRCode", "DSCKS"]
    assert [c.tag for c in root.find("DSCKS")] == ["NBan"]
    no_nban = unsigned.replace(b"<NBan/>", b"")
    root = etree.fromstring(sign_invoice(no_nban, signer))
    assert [c.tag for c in root.find("DSCKS")] == ["NBan", "NMua", "CCKSKhac"]


def test_pretty_printed_input_is_kept_as_is(signer, unsigned):
    pretty = etree.tostring(etree.fromstring(unsigned), pretty_print=True, xml_declaration=True,
                            encoding="UTF-8")
    out = sign_invoice(pretty, signer)
    dl = re.search(rb"<DLHDon .*?</DLHDon>", pretty, re.S).group(0)
    assert b"\n    <TTChung>" in dl and dl in out
    assert verify_invoice(out).valid


def test_ids_already_used_get_a_suffix(signer, unsigned):
    doc = unsigned.replace(b"<CCKSKhac/>", b'<CCKSKhac><X Id="seller"/><Y Id="SigningTime"/></CCKSKhac>')
    sig = _sig(sign_invoice(doc, signer))
    assert sig.get("Id") == "seller-2" and sig.find("ds:Object", NS).get("Id") == "SigningTime-2"
    assert verify_invoice(sign_invoice(doc, signer)).valid


# --- signing: the two gotchas of spec_xml_qr.md §3.5 ---------------------------------------------

def test_ancestor_namespace_declarations_are_in_the_dlhdon_digest(signer, unsigned):
    doc = unsigned.replace(b"<HDon>", b'<HDon xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1" '
                                      b'xmlns:ds="http://www.w3.org/2000/09/xmldsig#">')
    out = sign_invoice(doc, signer)
    root = etree.fromstring(out)
    dl = root.find("DLHDon")
    c14n = canonicalize(dl)
    assert c14n.startswith(b'<DLHDon xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
                           b'xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1" Id="data">')
    digest = base64.b64encode(hashlib.sha256(c14n).digest()).decode()
    sig = root.find("DSCKS/NBan")[0]
    assert sig.prefix is None  # still unprefixed although HDon binds ds:
    assert sig.findtext("ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces=NS) == digest
    assert digest != "Eq1WrVHsJQbJY1AjU0WY+GjJsym45NEskd1BjvfdM/w="  # differs from the same DLHDon without them
    assert verify_invoice(out).valid
    # removing the (unused) declarations afterwards breaks the signature, as it must
    stripped = out.replace(b' xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1"', b"", 1)
    report = verify_invoice(stripped)
    assert not report.valid
    assert "Reference '#data' (HDon/DLHDon): digest mismatch" in report.seller.problems[0]


def test_inherited_xml_lang_is_part_of_every_digest(signer, unsigned):
    out = sign_invoice(unsigned.replace(b"<HDon>", b'<HDon xml:lang="vi">'), signer)
    root = etree.fromstring(out)
    assert canonicalize(root.find("DLHDon")).startswith(b'<DLHDon Id="data" xml:lang="vi">')
    si = root.find("DSCKS/NBan/ds:Signature/ds:SignedInfo", NS)
    assert canonicalize(si).startswith(b'<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#" xml:lang="vi">')
    assert verify_invoice(out).valid


def test_default_namespace_on_hdon(signer, unsigned):
    doc = unsigned.replace(b"<HDon>", b'<HDon xmlns="urn:example:hdon">')
    out = sign_invoice(doc, signer)
    root = etree.fromstring(out)
    si = root.find("{urn:example:hdon}DSCKS/{urn:example:hdon}NBan/ds:Signature/ds:SignedInfo", NS)
    good = canonicalize(si)
    assert b'xmlns=""' not in good
    assert good.startswith(b'<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">')
    assert verify_invoice(out).valid


# --- signing: refusals ----------------------------------------------------------------------------

def test_missing_dlhdon_id_refused(signer, unsigned):
    with pytest.raises(ValidationError) as info:
        sign_invoice(unsigned.replace(b'<DLHDon Id="data">', b"<DLHDon>"), signer)
    assert info.value.problems[0].path == "HDon/DLHDon/@Id"
    with pytest.raises(ValidationError, match="Id 'data' is used by 2 elements"):
        sign_invoice(unsigned.replace(b"<NMua/>", b'<NMua><X Id="data"/></NMua>'), signer)


def test_not_an_hdon_refused(signer):
    with pytest.raises(ValidationError, match="root element is TDiep, not HDon"):
        sign_invoice(b"<TDiep/>", signer)


def test_already_signed_refused(signer, signed_sample):
    with pytest.raises(SigningError, match="already holds a signature"):
        sign_invoice(signed_sample, signer)


def test_expired_and_not_yet_valid_certificates_refused(ca, unsigned):
    now = datetime.now(timezone.utc)
    expired = _signer_for(ca, MST, not_before=now - timedelta(days=400), not_after=now - timedelta(days=1))
    with pytest.raises(CertificateValidityError, match=r"expired on .* before the signing time"):
        sign_invoice(unsigned, expired)
    future = _signer_for(ca, MST, not_before=now + timedelta(days=1), not_after=now + timedelta(days=30))
    with pytest.raises(CertificateValidityError, match="not valid yet at the signing time"):
        sign_invoice(unsigned, future)
    # claiming an old signing time does not help an expired certificate: it must be valid now too
    with pytest.raises(CertificateValidityError, match="before the current time"):
        sign_invoice(unsigned, expired, signing_time=now - timedelta(days=10))
    # but a certificate valid at both moments signs; ``at`` replaces "now"
    assert verify_invoice(sign_invoice(unsigned, expired, signing_time=now - timedelta(days=10),
                                       at=now - timedelta(days=9))).valid


def test_mst_mismatch_refused_unless_allowed(ca, unsigned, caplog):
    other = _signer_for(ca, "0109876543")
    with pytest.raises(TaxCodeMismatchError) as info:
        sign_invoice(unsigned, other)
    assert "certificate's MST (0109876543) is not the seller's MST (NBan/MST 0312345678" in str(info.value)
    out = sign_invoice(unsigned, other, allow_mst_mismatch=True)
    assert "signing anyway" in caplog.text
    report = verify_invoice(out)
    assert not report.valid
    assert report.seller.problems == ["the certificate's MST (0109876543) is not the seller's MST "
                                      "(NBan/MST 0312345678)"]
    assert verify_invoice(sign_invoice(unsigned, other, seller_tax_code_check=False)).valid is False


def test_branch_seller_accepts_parent_certificate(ca, unsigned):
    doc = unsigned.replace(b"<MST>0312345678</MST>", b"<MST>0312345678-001</MST>", 1)
    doc = re.sub(rb"<DLQRCode>[^<]*</DLQRCode>", b"", doc)  # its QR names the parent's MST
    out = sign_invoice(doc, _signer_for(ca, "0312345678"))
    assert verify_invoice(out).valid
    with pytest.raises(TaxCodeMismatchError):
        sign_invoice(unsigned, _signer_for(ca, "0312345678-001"))


def test_delegated_issuer_may_sign(ca, unsigned):
    doc = unsigned.replace(b"</MSTTCGP>", b"</MSTTCGP><MSTDVNUNLHDon>0100109106</MSTDVNUNLHDon>")
    out = sign_invoice(doc, _signer_for(ca, "0100109106"))
    assert verify_invoice(out).valid


def test_md5_refused_when_signing(signer, unsigned):
    with pytest.raises(UnsupportedAlgorithmError, match="MD5"):
        sign_invoice(unsigned, signer, algorithm="rsa-md5")


# --- verification ---------------------------------------------------------------------------------

def test_research_sample_verifies(signed_sample):
    report = verify_invoice(signed_sample)
    assert report.valid and report.problems == []
    s = report.seller
    assert (s.role, s.valid, s.signature_id) == ("seller", True, "seller")
    assert s.subject == "UID=MST:0312345678,CN=CÔNG TY TNHH GIẢI PHÁP MẪU,C=VN"
    assert s.subject_tax_code == "0312345678"
    assert s.serial == "589f45e1dfef94b59bd50c3a5b5062c362accf0c"
    assert s.signing_time == datetime(2025, 7, 15, 9, 0, tzinfo=ICT)
    assert s.signing_time_text == "2025-07-15T09:00:00"
    assert s.certificate_valid_at_signing_time is True
    assert s.not_after == datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc)  # expired today: judged at signing
    assert s.algorithm == "rsa-sha256"
    assert s.covers == ["HDon/DLHDon", "HDon/DSCKS/NBan/Signature/Object"]
    assert (report.symbol, report.coded, report.mccqt, report.mccqt_covered) == ("C25TAA", True, None, None)


def test_tamper_one_digit_in_dlhdon(signed_sample):
    report = verify_invoice(signed_sample.replace(b"<SHDon>123</SHDon>", b"<SHDon>124</SHDon>"))
    assert not report.valid and not report.seller.valid
    assert report.seller.problems == [
        "Reference '#data' (HDon/DLHDon): digest mismatch: the referenced content was changed after signing",
        "it does not cover HDon/DLHDon (the invoice data)"]
    assert [r.valid for r in report.seller.references] == [False, True]


def test_tamper_signing_time(signed_sample):
    report = verify_invoice(signed_sample.replace(b"2025-07-15T09:00:00<", b"2025-07-14T09:00:00<"))
    assert not report.valid
    assert report.seller.problems[0].startswith("Reference '#SigningTime' (HDon/DSCKS/NBan/Signature/Object): "
                                                "digest mismatch")


def test_replaced_certificate(signed_sample, signer):
    other = base64.b64encode(signer.certificate.public_bytes(serialization.Encoding.DER))
    doc = re.sub(rb"<X509Certificate>[^<]+", b"<X509Certificate>" + other, signed_sample)
    report = verify_invoice(doc)
    assert not report.valid
    assert "SignatureValue does not match SignedInfo (wrong key, or SignedInfo changed)" in report.seller.problems


def test_changed_signed_info(signed_sample):
    doc = signed_sample.replace(b'<Reference URI="#SigningTime">', b'<Reference URI="#SigningTime" Type="x">')
    report = verify_invoice(doc)
    assert report.seller.problems == ["SignatureValue does not match SignedInfo (wrong key, or SignedInfo changed)"]


def test_unsigned_invoice_is_invalid(unsigned):
    report = verify_invoice(unsigned)
    assert not report.valid and report.signatures == []
    assert report.problems == ["the invoice is not signed (no Signature under HDon/DSCKS)"]


def test_only_a_buyer_signature_is_not_enough(signed_sample):
    doc = signed_sample.replace(b"<NBan><Signature", b"<NBan/><NMua><Signature").replace(
        b"</Signature></NBan><NMua/>", b"</Signature></NMua>")
    report = verify_invoice(doc)
    assert [s.role for s in report.signatures] == ["buyer"]
    # intact, but made with a certificate bearing the seller's MST: not a buyer's signature
    assert report.signatures[0].problems == [
        "the buyer (NMua) signature is made with a certificate of the seller (MST 0312345678 in its subject)"]
    assert not report.valid
    assert report.problems == ["the seller's signature (HDon/DSCKS/NBan/Signature) is missing"]


def test_signature_wrapping_is_detected(signed_sample):
    # duplicate Id: ambiguous reference
    dup = signed_sample.replace(b"<CCKSKhac/>", b'<CCKSKhac><DLHDon Id="data"/></CCKSKhac>')
    report = verify_invoice(dup)
    assert not report.valid
    assert "2 elements have Id='data' (ambiguous: possible signature wrapping)" in report.seller.problems[0]
    # the signed DLHDon moved away, a forged one in its place with another Id
    dl = re.search(rb"<DLHDon .*?</DLHDon>", signed_sample).group(0)
    forged = dl.replace(b'Id="data"', b'Id="forged"').replace(b"<SHDon>123<", b"<SHDon>999<")
    doc = signed_sample.replace(dl, forged).replace(b"<CCKSKhac/>", b"<CCKSKhac>" + dl + b"</CCKSKhac>")
    report = verify_invoice(doc)
    assert not report.valid
    assert report.seller.problems == ["it does not cover HDon/DLHDon (the invoice data)"]
    assert report.seller.covers[0] == "HDon/DSCKS/CCKSKhac/DLHDon"


def test_md5_signature_method_reported(signed_sample):
    doc = signed_sample.replace(b"xmldsig-more#rsa-sha256", b"xmldsig-more#rsa-md5")
    report = verify_invoice(doc)
    assert any("MD5" in p for p in report.seller.problems)


def test_external_reference_refused(signed_sample):
    doc = signed_sample.replace(b'URI="#SigningTime"', b'URI="http://example.com/x"')
    report = verify_invoice(doc)
    assert ("Reference 'http://example.com/x': external reference 'http://example.com/x' refused: only "
            "same-document references are checked") in report.seller.problems


def test_untrusted_xml_is_parsed_safely(signed_sample):
    bomb = b'<?xml version="1.0"?><!DOCTYPE HDon [<!ENTITY a "aaaa">]><HDon>&a;</HDon>'
    with pytest.raises(ValidationError, match="DOCTYPE"):
        verify_invoice(bomb)
    with pytest.raises(ValidationError, match="limit is 1000 bytes"):
        verify_invoice(signed_sample, max_bytes=1000)
    with pytest.raises(ValidationError, match="not a well-formed XML"):
        verify_invoice(b"<HDon>")


def test_certificate_expired_at_signing_time(ca, unsigned):
    now = datetime.now(timezone.utc)
    old = _signer_for(ca, MST, not_before=now - timedelta(days=400), not_after=now - timedelta(days=30))
    tree = etree.fromstring(unsigned)
    add_signature(tree.find("DSCKS/NBan"), old, [tree.find("DLHDon")], signing_time=now,
                  signature_id="s", object_id="t")
    report = verify_invoice(etree.tostring(tree))
    assert report.seller.certificate_valid_at_signing_time is False
    assert not report.valid
    assert report.seller.problems[0].startswith("the certificate is not valid at the signing time")


def test_signing_time_must_be_signed(signer, unsigned):
    tree = etree.fromstring(unsigned)
    sig = add_signature(tree.find("DSCKS/NBan"), signer, [tree.find("DLHDon")], signature_id="s", object_id="t")
    si = sig.find("ds:SignedInfo", NS)
    si.remove(si.findall("ds:Reference", NS)[1])
    sig.find("ds:SignatureValue", NS).text = base64.b64encode(signer.sign(canonicalize(si))).decode()
    report = verify_invoice(etree.tostring(tree))
    assert report.seller.problems == ["SigningTime is not covered by any Reference, so it is not signed"]


def _coded(signed: bytes, signer, mccqt=True, cqt=True) -> bytes:
    """Add what the tax authority adds to a coded invoice: MCCQT and its own signature."""
    tree = etree.fromstring(signed)
    mc = None
    if mccqt:
        mc = etree.Element("MCCQT", Id="Id-79af7eeeb0164907b625905faa86d6f0")
        mc.text = "00B2AF74F70B4E495FA0663F7475BC3BD8"
        tree.find("DLQRCode").addnext(mc)
    if cqt:
        cqt_el = etree.SubElement(tree.find("DSCKS"), "CQT")
        add_signature(cqt_el, signer, [tree.find("DLHDon")] + ([mc] if mc is not None else []), enveloped=False,
                      signature_id="Tct-5dc1", object_id="SigningTime-5670", property_target="signatureProperties")
        tree.find("DSCKS").append(tree.find("DSCKS/CCKSKhac"))  # keep the order NBan, NMua, CQT, CCKSKhac
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def gov_ca():
    """The test stand-in of the government CA that issues the tax authority's certificates."""
    return make_government_test_ca(**validity_around(SIGNING_TIME))


@pytest.fixture(scope="module")
def authority(gov_ca):
    key, cert = make_tax_authority_certificate(gov_ca, "TỔNG CỤC THUẾ")
    return Pkcs12Signer(p12_bytes(key, cert, [], "x"), "x")


def test_coded_invoice_with_tax_authority_signature(signer, authority, unsigned):
    doc = _coded(sign_invoice(unsigned, signer), authority)
    report = verify_invoice(doc)
    assert report.valid, report.all_problems()
    assert [s.role for s in report.signatures] == ["seller", "authority"]
    cqt = report.signatures[1]
    assert cqt.subject == "CN=TỔNG CỤC THUẾ,O=BỘ TÀI CHÍNH,C=VN" and cqt.subject_tax_code is None
    assert cqt.covers == ["HDon/DLHDon", "HDon/MCCQT", "HDon/DSCKS/CQT/Signature/Object"]
    assert (report.mccqt, report.mccqt_covered) == ("00B2AF74F70B4E495FA0663F7475BC3BD8", True)
    forged = doc.replace(b">00B2AF74F70B4E495FA0663F7475BC3BD8<", b">00B2AF74F70B4E495FA0663F7475BC3BD9<")
    report = verify_invoice(forged)
    assert not report.valid and report.mccqt_covered is False
    assert report.signatures[0].valid and not report.signatures[1].valid
    assert "Reference '#Id-79af7eeeb0164907b625905faa86d6f0' (HDon/MCCQT): digest mismatch" in \
        report.signatures[1].problems[0]
    assert report.problems == ["HDon/MCCQT (the tax authority's code) is not covered by a valid tax authority "
                               "(CQT) signature"]


def test_mccqt_without_authority_signature(signer, authority, unsigned):
    report = verify_invoice(_coded(sign_invoice(unsigned, signer), authority, cqt=False))
    assert not report.valid and report.mccqt_covered is False
    report = verify_invoice(_coded(sign_invoice(unsigned, signer), authority, mccqt=False))
    assert report.valid and report.mccqt_covered is None


def test_trust_anchors(ca, signer, unsigned):
    out = sign_invoice(unsigned, signer)
    report = verify_invoice(out, trusted_certificates=[ca.certificate])
    assert report.valid and report.seller.trusted is True
    report = verify_invoice(out, trusted_certificates=[make_test_ca("Other CA").certificate])
    assert not report.valid and report.seller.trusted is False
    assert "the certificate does not chain to a trusted CA" in report.seller.problems


def _named(ca, *attributes, key=None):
    """A signer whose certificate (issued by ``ca``) has the subject ``C=VN`` + ``attributes``."""
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), *attributes])
    k, cert = make_seller_certificate(ca, "", "", subject=subject, key=key, **validity_around(SIGNING_TIME))
    return Pkcs12Signer(p12_bytes(k, cert, [], "x"), "x")


@pytest.mark.parametrize("attribute, name, expected", [
    (NameOID.COMMON_NAME, "TỔNG CỤC THUẾ", True), (NameOID.ORGANIZATION_NAME, "Tổng cục Thuế", True),
    (NameOID.COMMON_NAME, "CỤC THUẾ", True), (NameOID.ORGANIZATION_NAME, "cuc thue tinh Binh Duong", True),
    (NameOID.COMMON_NAME, "Thuế", True), (NameOID.COMMON_NAME, "CÔNG TY TƯ VẤN THUẾ", False),
    (NameOID.COMMON_NAME, "THUẾ ABC", False), (NameOID.ORGANIZATIONAL_UNIT_NAME, "TỔNG CỤC THUẾ", False),
    (NameOID.COMMON_NAME, "TỔNG CỤC THUẾ MST:0312345678", False),
])
def test_tax_authority_subject_policy(ca, attribute, name, expected):
    cert = _named(ca, x509.NameAttribute(attribute, name)).certificate
    assert is_tax_authority_subject(cert) is expected


def test_trust_is_reported(ca, gov_ca, signer, authority, unsigned):
    doc = _coded(sign_invoice(unsigned, signer), authority)
    report = verify_invoice(doc)
    assert (report.valid, report.trust, report.trust_anchors, report.verdict) == (
        True, "not_checked", [], "intact_unverified")
    assert report.signatures[1].names_tax_authority is True and report.signatures[0].names_tax_authority is None
    assert report.signatures[1].issued_by_government_ca is True
    report = verify_invoice(doc, trusted_certificates=[ca.certificate])  # the seller's CA only
    assert (report.valid, report.trust, report.verdict) == (False, "untrusted", "invalid")
    assert report.signatures[1].problems == ["the certificate does not chain to a trusted CA"]
    report = verify_invoice(doc, trusted_certificates=[ca.certificate, gov_ca.certificate])
    assert (report.valid, report.trust, report.verdict) == (True, "verified", "valid")
    assert report.trust_anchors == [{"subject": c.certificate.subject.rfc4514_string(),
                                     "sha256": fingerprint_sha256(c.certificate)} for c in (ca, gov_ca)]
    data = json.loads(json.dumps(report.to_dict()))
    assert (data["trust"], data["verdict"], data["trust_anchors"][0]["sha256"]) == (
        "verified", "valid", fingerprint_sha256(ca.certificate))
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", data["signatures"][1]["fingerprint"])
    report = verify_invoice(doc, trusted_certificates=[make_test_ca("Other CA").certificate])
    assert (report.valid, report.trust, report.verdict) == (False, "untrusted", "invalid")


FORGED_BY_SELLER = ("the tax authority (CQT) signature is made with the seller's key (the same public key as the "
                    "seller's signature): the seller cannot sign for the tax authority")
MCCQT_NOT_COVERED = "HDon/MCCQT (the tax authority's code) is not covered by a valid tax authority (CQT) signature"


@pytest.mark.parametrize("anchored", [False, True])
def test_cqt_signature_with_the_sellers_certificate_is_refused(ca, signer, unsigned, anchored):
    """An invented MCCQT "signed by the tax authority" with the seller's own certificate."""
    doc = _coded(sign_invoice(unsigned, signer), signer)
    report = verify_invoice(doc, trusted_certificates=[ca.certificate] if anchored else None)
    assert not report.valid and report.verdict == "invalid" and report.mccqt_covered is False
    assert report.seller.valid and report.signatures[1].problems == [FORGED_BY_SELLER]
    assert report.problems == [MCCQT_NOT_COVERED]
    assert report.trust == ("verified" if anchored else "not_checked")  # chains, yet refused: wrong role


def test_cqt_signature_with_a_seller_certificate_under_another_key_is_refused(ca, signer, unsigned):
    doc = _coded(sign_invoice(unsigned, signer), _signer_for(ca, MST, **validity_around(SIGNING_TIME)))
    report = verify_invoice(doc)
    assert not report.valid and report.signatures[1].problems == [
        "the tax authority (CQT) signature is made with a certificate of the seller (MST 0312345678 in its subject)"]


@pytest.mark.parametrize("anchored", [False, True])
def test_cqt_signature_with_another_certificate_is_refused(ca, signer, unsigned, anchored):
    other = _signer_for(ca, "0109876543", **validity_around(SIGNING_TIME))
    doc = _coded(sign_invoice(unsigned, signer), other)
    report = verify_invoice(doc, trusted_certificates=[ca.certificate] if anchored else None)
    assert not report.valid and report.mccqt_covered is False
    assert report.signatures[1].names_tax_authority is False
    assert report.signatures[1].problems == [
        "the tax authority (CQT) signature is not made with the tax authority's certificate: its subject "
        f"({other.certificate.subject.rfc4514_string()}) does not name TỔNG CỤC THUẾ / CỤC THUẾ"]


def test_cqt_signature_named_like_the_authority_but_outside_the_trust_store(ca, gov_ca, signer, unsigned):
    """The names are necessary, not sufficient: with a trust store, a self-made "TỔNG CỤC THUẾ" issued by a
    self-made "government CA" is refused."""
    impostor_ca = make_government_test_ca(**validity_around(SIGNING_TIME))  # same names, another key
    impostor = _named(impostor_ca, x509.NameAttribute(NameOID.COMMON_NAME, "TỔNG CỤC THUẾ"))
    doc = _coded(sign_invoice(unsigned, signer), impostor)
    report = verify_invoice(doc)
    assert report.valid and report.verdict == "intact_unverified"  # without a trust store: not verified
    report = verify_invoice(doc, trusted_certificates=[ca.certificate, gov_ca.certificate])
    assert not report.valid and report.trust == "untrusted" and report.mccqt_covered is False
    assert report.signatures[1].problems == ["the certificate does not chain to a trusted CA"]


def test_cqt_signature_issued_by_a_ca_other_than_the_governments_is_refused(ca, signer, unsigned):
    """Issuer policy: a "TỔNG CỤC THUẾ" certificate from a trusted commercial CA (the sellers' CA, in every trust
    store) is not the tax authority's: only the government CA issues those."""
    commercial = _named(ca, x509.NameAttribute(NameOID.COMMON_NAME, "TỔNG CỤC THUẾ"))
    doc = _coded(sign_invoice(unsigned, signer), commercial)
    for anchors in (None, [ca.certificate]):
        report = verify_invoice(doc, trusted_certificates=anchors)
        assert not report.valid and report.verdict == "invalid" and report.mccqt_covered is False
        assert report.signatures[1].issued_by_government_ca is False
        assert report.signatures[1].problems == [
            "the tax authority (CQT) signature's certificate is not issued by the government CA (CA phục vụ các cơ "
            f"quan Nhà nước, Ban Cơ yếu Chính phủ): its issuer is {ca.certificate.subject.rfc4514_string()}"]


def _with_buyer(signed: bytes, buyer) -> bytes:
    tree = etree.fromstring(signed)
    add_signature(tree.find("DSCKS/NMua"), buyer, [tree.find("DLHDon")], enveloped=False,
                  signature_id="buyer", object_id="SigningTime-buyer")
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_buyer_signature(ca, seller, signer, unsigned):
    signed = sign_invoice(unsigned, signer)
    report = verify_invoice(_with_buyer(signed, _signer_for(ca, "0109876543", **validity_around(SIGNING_TIME))))
    assert report.valid and [s.role for s in report.signatures] == ["seller", "buyer"]
    # the seller's key under a certificate without any MST, and the seller's MST under another key
    same_key = _named(ca, x509.NameAttribute(NameOID.COMMON_NAME, "NGƯỜI MUA"), key=seller[0])
    report = verify_invoice(_with_buyer(signed, same_key), trusted_certificates=[ca.certificate])
    assert not report.valid and report.seller.valid and report.signatures[1].problems == [
        "the buyer (NMua) signature is made with the seller's key (the same public key as the seller's signature): "
        "the seller cannot sign for the buyer"]
    report = verify_invoice(_with_buyer(signed, _signer_for(ca, MST, **validity_around(SIGNING_TIME))))
    assert not report.valid and report.signatures[1].problems == [
        "the buyer (NMua) signature is made with a certificate of the seller (MST 0312345678 in its subject)"]


def test_ecdsa_der_signature_value_is_refused(ec_signer, unsigned):
    out = sign_invoice(unsigned, ec_signer)
    raw = base64.b64decode(re.search(rb"<SignatureValue>([^<]+)", out).group(1))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    doc = out.replace(base64.b64encode(raw), base64.b64encode(der))
    report = verify_invoice(doc)
    assert any("XML-DSig wants raw r||s of 64 bytes" in p for p in report.seller.problems)


def test_report_to_dict_is_json(signed_sample):
    data = json.loads(json.dumps(verify_invoice(signed_sample).to_dict()))
    assert data["valid"] is True
    assert data["signatures"][0]["covers"] == ["HDon/DLHDon", "HDon/DSCKS/NBan/Signature/Object"]
    assert data["signatures"][0]["signing_time"] == "2025-07-15T09:00:00+07:00"


# --- C14N -----------------------------------------------------------------------------------------

def test_lxml_subtree_bug_is_avoided():
    root = etree.fromstring(b'<H><N><S xmlns="urn:x"><I><R><T/></R></I></S></N></H>')
    inner = root[0][0][0]
    assert canonicalize(inner) == b'<I xmlns="urn:x"><R><T></T></R></I>'
    assert python_canonicalize(inner) == b'<I xmlns="urn:x"><R><T></T></R></I>'


def test_c14n_renders_ancestor_namespaces_and_xml_attributes():
    root = etree.fromstring(b'<H xmlns:a="urn:a" xml:lang="vi"><N xmlns="urn:d"><I b="1" a:c="2"/></N></H>')
    inner = root[0][0]
    expected = b'<I xmlns="urn:d" xmlns:a="urn:a" b="1" xml:lang="vi" a:c="2"></I>'  # sorted by URI
    assert canonicalize(inner) == expected
    assert canonicalize(inner, exclusive=True) == b'<I xmlns="urn:d" xmlns:a="urn:a" b="1" a:c="2"></I>'
    assert canonicalize(root[0], exclusive=True, inclusive_prefixes=["a"]).startswith(
        b'<N xmlns="urn:d" xmlns:a="urn:a">')


def test_c14n_enveloped_exclusion_keeps_the_tail():
    root = etree.fromstring(b"<D Id='x'>a<ds:Signature xmlns:ds='urn:ds'><ds:V/></ds:Signature>b<!--c--></D>")
    assert canonicalize(root, exclude=root[0]) == b'<D Id="x">ab</D>'
    assert canonicalize(root, exclude=root[0], with_comments=True) == b'<D Id="x">ab<!--c--></D>'


def _random_doc(rng: random.Random) -> bytes:
    uris = ["urn:a", "urn:b", "http://www.w3.org/2000/09/xmldsig#"]
    texts = ["", "x", "a&b", "<tag>", "q\"'", "t\tab", "Việt Nam", "1 > 0", "\r\n"]
    out = []

    def element(depth):
        name = rng.choice(["e", "p:e", "q:f", "g"])
        decls = []
        if rng.random() < 0.3:
            decls.append(f' xmlns="{rng.choice(uris)}"')
        elif rng.random() < 0.1:
            decls.append(' xmlns=""')
        if rng.random() < 0.3:
            decls.append(f' xmlns:p="{rng.choice(uris)}"')
        if rng.random() < 0.3:
            decls.append(f' xmlns:q="{rng.choice(uris[:2])}"')
        attrs = []
        if rng.random() < 0.5:
            attrs.append(f' z="{rng.choice(texts).replace("&", "&amp;").replace("<", "&lt;").replace(chr(34), "&quot;")}"')
        if rng.random() < 0.3:
            attrs.append(' a="1"')
        if rng.random() < 0.2:
            attrs.append(' xml:lang="vi"')
        out.append(f"<{name}{''.join(decls)}{''.join(attrs)}>")
        out.append(rng.choice(texts).replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#13;"))
        for _ in range(rng.randint(0, 3) if depth < 4 else 0):
            choice = rng.random()
            if choice < 0.1:
                out.append("<!-- c -->")
            elif choice < 0.15:
                out.append("<?pi data?>")
            else:
                element(depth + 1)
            out.append(rng.choice(["", " ", "\n  "]))
        out.append(f"</{name}>")

    out.append('<r xmlns:p="urn:p" xmlns:q="urn:q">')
    element(0)
    out.append("</r>")
    return "".join(out).encode()


def _reference_c14n(el, exclusive, comments):
    """libxml2's C14N of ``el`` on a re-parsed copy (a root, where lxml is right), or None when the
    copy cannot stand for ``el`` (it lost an unused namespace or an inherited xml:lang)."""
    copy = etree.fromstring(etree.tostring(el))
    if not exclusive and (copy.nsmap != el.nsmap or any(
            a.get("{http://www.w3.org/XML/1998/namespace}lang") for a in el.iterancestors())):
        return None
    return etree.tostring(copy, method="c14n", exclusive=exclusive, with_comments=comments)


def test_c14n_agrees_with_libxml2_on_random_documents():
    """Both paths of :func:`canonicalize` and the pure-Python canonicaliser against libxml2 on random
    documents with default/prefixed namespaces, redeclarations, xml:lang, comments, PIs, escapes."""
    rng = random.Random(20261121)
    compared = 0
    for _ in range(300):
        root = etree.fromstring(_random_doc(rng))
        for el in root.iter(etree.Element):
            for exclusive in (False, True):
                for comments in (False, True):
                    expected = _reference_c14n(el, exclusive, comments)
                    if expected is None:
                        continue
                    assert python_canonicalize(el, exclusive=exclusive, with_comments=comments) == expected, (
                        etree.tostring(root), etree.tostring(el))
                    assert canonicalize(el, exclusive=exclusive, with_comments=comments) == expected
                    compared += 1
    assert compared > 4000


_START_TAG = re.compile(rb'^(<[^ >]+(?: [^=]+="[^"]*")*>)(.*)$', re.S)


def test_inherited_namespaces_and_xml_lang_in_random_documents():
    """Where a copy cannot stand for the element, the expected form is rebuilt by hand: the copy's
    C14N with the lost in-scope namespaces and inherited xml:lang added to its start tag."""
    rng = random.Random(7)
    checked = 0
    for _ in range(200):
        root = etree.fromstring(_random_doc(rng))
        for el in root.iter(etree.Element):
            if _reference_c14n(el, False, False) is not None:
                continue
            start, rest = _START_TAG.match(python_canonicalize(el)).groups()
            copy = etree.fromstring(etree.tostring(el))
            lost = {p: u for p, u in el.nsmap.items() if u and copy.nsmap.get(p) != u}
            for prefix, uri in lost.items():
                decl = (f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"').encode()
                assert decl in start
            lang = next((a.get("{http://www.w3.org/XML/1998/namespace}lang") for a in el.iterancestors()
                         if a.get("{http://www.w3.org/XML/1998/namespace}lang")), None)
            if lang and el.get("{http://www.w3.org/XML/1998/namespace}lang") is None:
                assert b' xml:lang="vi"' in start
            assert rest == _START_TAG.match(etree.tostring(copy, method="c14n", with_comments=False)).group(2)
            checked += 1
    assert checked > 50


# --- the test helper for external tools -----------------------------------------------------------

def test_require_tool_skips_locally_and_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="'no-such-tool-vn' .* is missing"):
        tools.require_tool("no-such-tool-vn")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but the command 'no-such-tool-vn'"):
        tools.require_tool("no-such-tool-vn")
    assert tools.require_tool("sh").endswith("/sh")
    fake = tmp_path / "libsofthsm2.so"
    fake.write_bytes(b"")
    monkeypatch.setenv("SOFTHSM2_MODULE", str(fake))
    assert tools.softhsm_module() == str(fake)
