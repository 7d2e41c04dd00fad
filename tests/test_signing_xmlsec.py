"""Interoperability with xmlsec1 (Debian ``xmlsec1``, libxmlsec1 1.2.x): both directions."""

from __future__ import annotations

import base64
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree
from tools import require_tool

from vn_einvoice.sandbox.testca import (
    cert_pem,
    key_pem,
    make_government_test_ca,
    make_seller_certificate,
    make_tax_authority_certificate,
    make_test_ca,
    p12_bytes,
)
from vn_einvoice.signing import Pkcs12Signer, sign_invoice, verify_invoice
from vn_einvoice.signing.xmldsig import ICT, format_signing_time

DATA = Path(__file__).parent / "data"
DS = "http://www.w3.org/2000/09/xmldsig#"
MST = "0312345678"
NAME = "CÔNG TY TNHH GIẢI PHÁP MẪU"
IDS = ["--id-attr:Id", "DLHDon", "--id-attr:Id", "Object", "--id-attr:Id", "MCCQT"]

pytestmark = pytest.mark.xmlsec1


@pytest.fixture(scope="module")
def xmlsec1():
    return require_tool("xmlsec1")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA and RSA/EC seller keys, as objects, PEM files and signers."""
    d = tmp_path_factory.mktemp("pki")
    ca = make_test_ca()
    (d / "ca.pem").write_bytes(ca.pem)
    out = {"dir": d, "ca": ca, "ca_pem": d / "ca.pem"}
    for kind in ("rsa", "ec"):
        key, cert = make_seller_certificate(ca, MST, NAME, key_type=kind)
        (d / f"{kind}.key").write_bytes(key_pem(key))
        (d / f"{kind}.crt").write_bytes(cert_pem(cert))
        out[kind] = Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "x"), "x")
    gov_ca = make_government_test_ca()  # issues the tax authority's (CQT) certificate
    (d / "gov-ca.pem").write_bytes(gov_ca.pem)
    out["gov_ca_pem"] = d / "gov-ca.pem"
    key, cert = make_tax_authority_certificate(gov_ca, "TỔNG CỤC THUẾ")
    (d / "cqt.key").write_bytes(key_pem(key))
    (d / "cqt.crt").write_bytes(cert_pem(cert))
    return out


def run(xmlsec1, *args) -> subprocess.CompletedProcess:
    return subprocess.run([xmlsec1, *map(str, args)], capture_output=True, text=True, timeout=60)


def xmlsec_verify(xmlsec1, path, *extra) -> subprocess.CompletedProcess:
    return run(xmlsec1, "--verify", *IDS, *extra, path)


@pytest.fixture()
def unsigned() -> bytes:
    return (DATA / "signing_sample_unsigned.xml").read_bytes()


# --- what we sign, xmlsec1 verifies ---------------------------------------------------------------

@pytest.mark.parametrize("kind, algorithm", [("rsa", "rsa-sha256"), ("rsa", "rsa-sha1"), ("ec", "ecdsa-sha256")])
def test_xmlsec1_verifies_our_signatures(xmlsec1, pki, unsigned, tmp_path, kind, algorithm):
    path = tmp_path / "signed.xml"
    path.write_bytes(sign_invoice(unsigned, pki[kind], algorithm=algorithm))
    result = xmlsec_verify(xmlsec1, path, "--trusted-pem", pki["ca_pem"])
    assert result.returncode == 0, result.stderr
    assert "SignedInfo References (ok/all): 2/2" in result.stderr + result.stdout


def test_xmlsec1_rejects_a_wrong_ca_and_a_tampered_invoice(xmlsec1, pki, unsigned, tmp_path):
    signed = sign_invoice(unsigned, pki["rsa"])
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    other = tmp_path / "other-ca.pem"
    other.write_bytes(make_test_ca("Other CA").pem)
    assert xmlsec_verify(xmlsec1, path, "--trusted-pem", other).returncode != 0
    path.write_bytes(signed.replace(b"<SHDon>123</SHDon>", b"<SHDon>124</SHDon>"))
    assert xmlsec_verify(xmlsec1, path, "--trusted-pem", pki["ca_pem"]).returncode != 0


@pytest.mark.parametrize("declaration, id_attrs", [
    (b'<HDon xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">',
     []),
    (b'<HDon xmlns="urn:example:hdon">', ["--id-attr:Id", "urn:example:hdon:DLHDon"]),
    (b'<HDon xml:lang="vi">', []),  # inclusive C14N inherits xml:* attributes
])
def test_xmlsec1_verifies_our_signatures_under_namespaces(xmlsec1, pki, unsigned, tmp_path, declaration, id_attrs):
    """The two gotchas: ancestor declarations in the DLHDon digest, lxml's xmlns="" under a default ns."""
    path = tmp_path / "signed.xml"
    path.write_bytes(sign_invoice(unsigned.replace(b"<HDon>", declaration), pki["rsa"]))
    result = xmlsec_verify(xmlsec1, path, *id_attrs, "--trusted-pem", pki["ca_pem"])
    assert result.returncode == 0, result.stderr


def test_xmlsec1_verifies_the_research_sample(xmlsec1, tmp_path):
    sample = (DATA / "signing_sample_signed.xml").read_bytes()
    der = base64.b64decode(re.search(rb"<X509Certificate>([^<]+)", sample).group(1))
    pem = tmp_path / "sample-cert.pem"
    pem.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n")
    # the self-signed certificate expired in 2026-07: judge it at the signing time, as we do
    result = xmlsec_verify(xmlsec1, DATA / "signing_sample_signed.xml", "--trusted-pem", pem,
                           "--verification-gmt-time", "2025-07-15 02:00:00")
    assert result.returncode == 0, result.stderr
    assert verify_invoice(sample).valid


# --- what xmlsec1 signs, we verify ----------------------------------------------------------------

def _template(tmp_path, *, method="rsa-sha256", edit=None) -> Path:
    now = format_signing_time(datetime.now(ICT))
    text = (DATA / "signing_xmlsec_template.xml").read_bytes().replace(b"2026-01-15T09:00:00", now.encode())
    text = text.replace(b"xmldsig-more#rsa-sha256", f"xmldsig-more#{method}".encode())
    if edit:
        text = edit(text)
    path = tmp_path / "template.xml"
    path.write_bytes(text)
    return path


def xmlsec_sign(xmlsec1, pki, kind, template: Path, *extra) -> bytes:
    out = template.with_name("xmlsec-signed.xml")
    result = run(xmlsec1, "--sign", "--privkey-pem", f"{pki['dir'] / (kind + '.key')},{pki['dir'] / (kind + '.crt')}",
                 *IDS, *extra, "--output", out, template)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


@pytest.mark.parametrize("kind, method", [("rsa", "rsa-sha256"), ("ec", "ecdsa-sha256")])
def test_we_verify_what_xmlsec1_signs(xmlsec1, pki, tmp_path, kind, method):
    signed = xmlsec_sign(xmlsec1, pki, kind, _template(tmp_path, method=method))
    report = verify_invoice(signed)
    assert report.valid, report.all_problems()
    seller = report.seller
    assert seller.algorithm == method
    assert seller.subject == f"UID=MST:{MST},CN={NAME},C=VN"
    assert seller.covers == ["HDon/DLHDon", "HDon/DSCKS/NBan/Signature/Object"]
    assert seller.certificate_valid_at_signing_time is True
    tampered = verify_invoice(signed.replace(b"<SLuong>10</SLuong>", b"<SLuong>11</SLuong>"))
    assert not tampered.valid
    assert tampered.seller.problems[0].startswith("Reference '#data' (HDon/DLHDon): digest mismatch")


def test_we_verify_comments_and_exclusive_c14n_signed_by_xmlsec1(xmlsec1, pki, tmp_path):
    """CanonicalizationMethod #WithComments (S5 style), a comment inside DLHDon and SignedInfo,
    exclusive C14N transforms and a chained exc-c14n + c14n transform (S7 style)."""
    exc = "http://www.w3.org/2001/10/xml-exc-c14n#"
    c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

    def edit(text: bytes) -> bytes:
        text = text.replace(f'<CanonicalizationMethod Algorithm="{c14n}"/>'.encode(),
                            f'<CanonicalizationMethod Algorithm="{c14n}#WithComments"/><!-- signed comment -->'.encode())
        text = text.replace(b'<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>',
                            b'<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
                            + f'<Transform Algorithm="{exc}"/>'.encode())
        text = text.replace(b'<Reference URI="#SigningTime"><DigestMethod',
                            f'<Reference URI="#SigningTime"><Transforms><Transform Algorithm="{exc}WithComments"/>'
                            f'<Transform Algorithm="{c14n}"/></Transforms><DigestMethod'.encode())
        return text.replace(b"<TTChung>", b"<TTChung><!-- not signed: bare-name references drop comments -->")

    signed = xmlsec_sign(xmlsec1, pki, "rsa", _template(tmp_path, edit=edit))
    report = verify_invoice(signed)
    assert report.valid, report.all_problems()
    assert report.seller.canonicalization_method == c14n + "#WithComments"
    assert verify_invoice(signed.replace(b"<!-- signed comment -->", b"<!-- changed -->")).valid is False
    assert verify_invoice(signed.replace(b"<!-- not signed", b"<!-- changed")).valid is True


def test_tax_authority_signature_made_by_xmlsec1(xmlsec1, pki, unsigned, tmp_path):
    """Our seller signature, then MCCQT and a CQT signature (S5 layout) made by xmlsec1."""
    seller_signed = sign_invoice(unsigned, pki["rsa"])
    mccqt = b'<MCCQT Id="Id-79af7eeeb0164907b625905faa86d6f0">00B2AF74F70B4E495FA0663F7475BC3BD8</MCCQT>'
    now = format_signing_time(datetime.now(ICT)).encode()
    cqt = (b'<CQT><Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="Tct-5dc1"><SignedInfo>'
           b'<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
           b'<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
           b'<Reference URI="#data"><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
           b"<DigestValue/></Reference>"
           b'<Reference URI="#SigningTime-5670"><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
           b"<DigestValue/></Reference>"
           b'<Reference URI="#Id-79af7eeeb0164907b625905faa86d6f0"><DigestMethod '
           b'Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference>'
           b"</SignedInfo><SignatureValue/><KeyInfo><X509Data><X509SubjectName/><X509Certificate/></X509Data>"
           b'</KeyInfo><Object Id="SigningTime-5670"><SignatureProperties><SignatureProperty '
           b'Target="signatureProperties"><SigningTime>' + now + b"</SigningTime></SignatureProperty>"
           b"</SignatureProperties></Object></Signature></CQT>")
    doc = seller_signed.replace(b"</DLQRCode>", b"</DLQRCode>" + mccqt).replace(b"<CCKSKhac/>", cqt + b"<CCKSKhac/>")
    template = tmp_path / "cqt-template.xml"
    template.write_bytes(doc)
    signed = xmlsec_sign(xmlsec1, pki, "cqt", template, "--node-xpath",
                         "//*[local-name()='CQT']/*[local-name()='Signature']")
    assert etree.fromstring(signed).find(f"DSCKS/NBan/{{{DS}}}Signature") is not None
    report = verify_invoice(signed)
    assert report.valid, report.all_problems()
    assert [s.role for s in report.signatures] == ["seller", "authority"]
    assert report.signatures[1].covers == ["HDon/DLHDon", "HDon/DSCKS/CQT/Signature/Object", "HDon/MCCQT"]
    assert report.mccqt_covered is True
    for xpath in ("//*[local-name()='NBan']/*[local-name()='Signature']",
                  "//*[local-name()='CQT']/*[local-name()='Signature']"):
        path = tmp_path / "both.xml"
        path.write_bytes(signed)
        result = xmlsec_verify(xmlsec1, path, "--trusted-pem", pki["ca_pem"], "--trusted-pem", pki["gov_ca_pem"],
                               "--node-xpath", xpath)
        assert result.returncode == 0, (xpath, result.stderr)


@pytest.mark.parametrize("uri, method, transforms", [
    # C14N 1.1 for SignedInfo and the data
    ("#data", "http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/2006/12/xml-c14n11"),
    # an XPointer reference keeps comments: the comment in DLHDon is signed
    ("#xpointer(id('data'))", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
     "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"),
    # the whole document (URI=""), enveloped
    ("", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315", None),
])
def test_other_reference_forms_signed_by_xmlsec1(xmlsec1, pki, tmp_path, uri, method, transforms):
    def edit(text: bytes) -> bytes:
        text = text.replace(b'<CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>',
                            f'<CanonicalizationMethod Algorithm="{method}"/>'.encode())
        text = text.replace(b'<Reference URI="#data">', f'<Reference URI="{uri}">'.encode())
        if transforms:
            text = text.replace(b'enveloped-signature"/></Transforms>',
                                f'enveloped-signature"/><Transform Algorithm="{transforms}"/></Transforms>'.encode())
        return text.replace(b"<TTChung>", b"<TTChung><!--c-->")

    signed = xmlsec_sign(xmlsec1, pki, "rsa", _template(tmp_path, edit=edit))
    report = verify_invoice(signed)
    assert report.valid, report.all_problems()
    assert report.seller.references[0].target == ("document" if uri == "" else "HDon/DLHDon")
    changed_comment = verify_invoice(signed.replace(b"<!--c-->", b"<!--d-->")).valid
    assert changed_comment is (not uri.startswith("#xpointer"))  # "" and bare names drop comments
    assert not verify_invoice(signed.replace(b"<SHDon>123<", b"<SHDon>124<")).valid


def test_prefixed_ds_signature_signed_by_xmlsec1(xmlsec1, pki, tmp_path):
    """Some vendors write ``<ds:Signature xmlns:ds=…>``; the prefix is part of what is signed."""
    names = (b"Signature|SignedInfo|CanonicalizationMethod|SignatureMethod|Reference|Transforms|Transform|"
             b"DigestMethod|DigestValue|SignatureValue|KeyInfo|X509Data|X509SubjectName|X509Certificate|Object|"
             b"SignatureProperties|SignatureProperty|SigningTime")

    def edit(text: bytes) -> bytes:
        text = re.sub(rb"<(/?)(" + names + rb")\b", rb"<\1ds:\2", text)
        return text.replace(b'<ds:Signature xmlns="', b'<ds:Signature xmlns:ds="')

    signed = xmlsec_sign(xmlsec1, pki, "rsa", _template(tmp_path, edit=edit))
    assert b"<ds:SignedInfo>" in signed
    report = verify_invoice(signed)
    assert report.valid, report.all_problems()
    assert not verify_invoice(signed.replace(b"<ds:SignedInfo>", b'<ds:SignedInfo xmlns:x="urn:x">')).valid
