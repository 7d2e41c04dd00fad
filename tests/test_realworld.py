"""Real e-invoices (tests/data/realworld, SOURCES.md): judged as the tax authority does.

Genuine invoices (accepted by the tax authority, signatures intact as published) have zero validation
errors; their differences of order and style are warnings. Our own output has zero warnings. Broken
ones (re-indented after signing by whoever stored them) are refused with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from factories import SELLER, goods, make_invoice
from lxml import etree
from tools import require_tool, validity_around

from vn_einvoice.document import ExtraField
from vn_einvoice.sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes
from vn_einvoice.signing import Pkcs12Signer
from vn_einvoice.signing.certs import tax_code_matches
from vn_einvoice.signing.xmldsig import CASH_REGISTER_CODE, add_signature, sign_invoice, verify_invoice
from vn_einvoice.xml import build_xml, parse_xml, validate_xml
from vn_einvoice.xml.envelope import LEGACY_NS, envelope_problems, invoice_of
from vn_einvoice.xml.validate import regime_of
from vn_einvoice.xmlutil import parse_untrusted

ROOT = Path(__file__).resolve().parent.parent
DS = "http://www.w3.org/2000/09/xmldsig#"
CORPUS = Path(__file__).parent / "data" / "realworld"
ALL = sorted(p.name for p in CORPUS.glob("*.xml"))
BROKEN = [n for n in ALL if n.startswith("broken_")]  # signatures broken by whoever stored them
REFUSED = [n for n in ALL if n.startswith("refused_")]  # signatures intact, not what the tax authority takes
LEGACY = [n for n in ALL if n.startswith("legacy_")]  # pre-2022 inv:invoice
CASH206 = [n for n in ALL if n.startswith("tdiep206_")]  # cash-register messages 206
CASH = [*CASH206, *(n for n in ALL if n.startswith("cash_"))]  # and a buyer's copy of one (HDon)
GENUINE = [n for n in ALL if n not in {*BROKEN, *REFUSED, *LEGACY, *CASH}]
TDIEP = [n for n in GENUINE if n.startswith("tdiep")]


def data(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def errors(problems) -> list[str]:
    return [str(p) for p in problems if p.is_error]


def warnings(problems) -> list[str]:
    return [str(p) for p in problems if not p.is_error]


def test_the_corpus_is_what_sources_md_says():
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (\S+\.xml) \| [\w.-]+/[\w.-]+ \|", sources, re.M)  # file | owner/repository
    assert sorted(listed) == ALL
    assert len(ALL) >= 20 and len(GENUINE) == 19 and len(BROKEN) == 10 and len(LEGACY) == 2
    assert len(CASH206) == 6 and len(CASH) == 7 and len(REFUSED) == 1
    producers = {m for m in re.findall(r"\| (BKAV|Viettel|VNPT|MISA|SoftDreams \(EasyInvoice\)|NACENCOMM \(CA2\)|"
                                       r"provider MST \d+) \|", sources)}
    assert len(producers) >= 5


# --- validate: two levels ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENUINE + CASH)
def test_genuine_invoices_have_no_errors(name):
    assert errors(validate_xml(data(name))) == []


def test_what_real_producers_do_is_a_warning():
    bkav = validate_xml(data("bkav_c25tac_00001145.xml"))
    assert warnings(bkav) == [
        "HDon/DLHDon/TTChung/HDCTTChinh: absent, read as 0 (not a financial-leasing invoice): real 2.1.0 invoices "
        "accepted by the tax authority omit it (BKAV 2025)",
        "HDon/DSCKS/CQT: is out of order: CQT must come before CCKSKhac"]
    viettel = warnings(validate_xml(data("viettel_k23tac_1390239.xml")))
    assert "HDon/DLHDon/TTChung/TTKhac/TTin[1]/TTruong: is out of order: TTruong must come before DLieu" in viettel
    assert ("HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/TThue: not in the decision's field table of HHDVu: the line's VAT "
            "amount as an element (Viettel 2.0.1); the tables carry it in TTKhac; accepted by the tax authority") in viettel
    assert "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/SLuong: is empty: read as absent" in viettel
    assert "HDon/DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[1]/ThTien: is out of order: ThTien must come before TThue" \
        in viettel
    easy = warnings(validate_xml(data("easyinvoice_c23taa_38.xml")))
    assert any(w.startswith("HDon/DLQRCode: not the decision's invoice QR") for w in easy)
    assert "HDon/DLQRCode: is out of order: DLQRCode must come before MCCQT" in easy
    fee = warnings(validate_xml(data("bkav_c23tms_00000103.xml")))
    assert ("HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien: line 2: quantity and unit price are 0, the amount 47 619 "
            "stands alone (a fee or charge line)") in fee


def test_vat_of_a_price_including_vat_is_within_the_rounding_allowed():
    """Viettel 2023: 12 445 455 at 10% written 1 244 545 (from 13 690 000 including VAT), not 1 244 546."""
    problems = validate_xml(data("viettel_k23tac_1390239.xml"))
    assert not any("TThue" in p.path and p.is_error for p in problems)
    one_more = data("viettel_k23tac_1390239.xml").replace(b"<TThue>1244545</TThue><ThTien>12445455</ThTien>",
                                                         b"<TThue>1244543</TThue><ThTien>12445455</ThTien>")
    assert ("HDon/DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[TSuat=10%]/TThue: VAT at 10% of 12 445 455 is 1 244 546, "
            "the breakdown says 1 244 543") in errors(validate_xml(one_more))


def test_vat_per_rate_with_decimals_against_a_rounded_total_is_a_warning():
    xml = build_xml(make_invoice([goods("A", 3, 1162184, "10%")]))  # 3 486 552 → VAT 348 655.2
    assert b"<TThue>348655</TThue>" in xml
    decimals = xml.replace(b"<LTSuat><TSuat>10%</TSuat><ThTien>3486552</ThTien><TThue>348655</TThue>",
                           b"<LTSuat><TSuat>10%</TSuat><ThTien>3486552</ThTien><TThue>348655.2</TThue>")
    assert decimals != xml
    problems = validate_xml(decimals)
    assert errors(problems) == []
    assert warnings(problems) == ["HDon/DLHDon/NDHDon/TToan/TgTThue: the breakdown adds up to 348 655.2 of VAT, the "
                                  "total says 348 655 (amounts with decimals rounded in the total)"]
    a_dong_off = decimals.replace(b"<TgTThue>348655</TgTThue>", b"<TgTThue>348654</TgTThue>")
    assert any(e.split("/TToan/")[1] == "TgTThue: the breakdown adds up to 348 655.2 of VAT, the total says 348 654"
               for e in errors(validate_xml(a_dong_off)))


def test_our_own_output_has_no_warning():
    seller = replace(SELLER, phone="02838000000", email="ketoan@example.vn", extra=(ExtraField("MaCN", "HCM"),))
    invoices = [
        make_invoice([goods(), goods("Dịch vụ", 2, 333333, "8%")], seller=seller),
        make_invoice([goods("B", 7, 123457, "5%")], version="2.0.1"),
        make_invoice([goods("C", 1, 1000, "KCT")]),
    ]
    for invoice in invoices:
        assert validate_xml(build_xml(invoice)) == []


def test_our_own_signed_output_has_no_warning(ca):
    signed = sign_invoice(build_xml(make_invoice([goods()])), _signer(ca, SELLER.tax_code, SELLER.name),
                          signing_time=SIGNED_AT)
    assert validate_xml(signed) == []
    assert verify_invoice(signed).warnings == []


def test_errors_still_refuse_what_the_tax_authority_refuses():
    xml = data("bkav_c25tac_00001122.xml")
    for old, new, expected in (
            (b"<NLap>2025-06-20</NLap>", b"<NLap>20/06/2025</NLap>", "is not a date written YYYY-MM-DD"),
            (b"<MST>2700952079</MST>", b"<MST>2700952070</MST>", "check digit is wrong"),
            (b"<DVTTe>VND</DVTTe>", b"", "mandatory element is missing"),
            (b"<TgTTTBSo>", b"<TgTTTBSo>1", "the total says")):
        assert old in xml
        found = errors(validate_xml(xml.replace(old, new, 1)))
        assert any(expected in e for e in found), (old, found)


# --- TDiep envelopes -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TDIEP)
def test_a_message_carrying_an_invoice_is_read_and_validated(name):
    root = parse_untrusted(data(name)).getroot()
    assert root.tag == "TDiep" and envelope_problems(root) == []
    assert "TDiep 202 (coded invoice returned by the tax authority)" in regime_of(root)
    invoice = parse_xml(data(name))
    hdon = invoice_of(root)
    assert (invoice.symbol, str(invoice.number)) == (hdon.findtext("DLHDon/TTChung/KHHDon"),
                                                     str(int(hdon.findtext("DLHDon/TTChung/SHDon"))))
    assert invoice.authority_code == hdon.findtext("MCCQT").strip()


def _header(name: str, old: bytes, new: bytes) -> list:
    xml = data(name)
    assert old in xml
    return validate_xml(xml.replace(old, new, 1))


def test_message_headers_are_checked():
    name = "tdiep202_p0101162173_a.xml"
    cases = [
        (b"<MTDiep>TCTA8A1907031A84C92A5787D219D2BBF50</MTDiep>", b"<MTDiep>TCTa8a1907031a84c92a5787d219d2bbf50</MTDiep>",
         "TDiep/TTChung/MTDiep: 'TCTa8a1907031a84c92a5787d219d2bbf50' is not the sender's code (TCT) followed by 32 "
         "upper-case hexadecimal digits"),
        (b"<MTDiep>TCTA8A1907031A84C92A5787D219D2BBF50</MTDiep>", b"<MTDiep>V0102519041A8A1907031A84C92A5787D219D2BBF50</MTDiep>",
         "TDiep/TTChung/MTDiep: 'V0102519041A8A1907031A84C92A5787D219D2BBF50' is not the sender's code (TCT) followed by "
         "32 upper-case hexadecimal digits"),
        (b"<SLuong>1</SLuong>", b"<SLuong>2</SLuong>", "TDiep/TTChung/SLuong: says 2 invoice(s), the message carries 1"),
        (b"<MNNhan>V0102519041</MNNhan>", b"<MNNhan>T-VAN 1</MNNhan>",
         "TDiep/TTChung/MNNhan: 'T-VAN 1' is not a participant code: TCT (the tax authority) or a letter and an MST "
         "(e.g. V0101234567)"),
        (b"<MST>2700842301</MST><SLuong>", b"<MST>0100109106</MST><SLuong>",
         "TDiep/TTChung/MST: the message's taxpayer (0100109106) is not the seller of TDiep/DLieu/HDon (2700842301)"),
        (b"<MST>2700842301</MST><SLuong>", b"<MST>2700842300</MST><SLuong>",
         "TDiep/TTChung/MST: tax code (MST) '2700842300' is not valid: its check digit is wrong"),
        (b"<MLTDiep>202</MLTDiep>", b"<MLTDiep></MLTDiep>", "TDiep/TTChung/MLTDiep: mandatory element is missing"),
    ]
    for old, new, expected in cases:
        assert expected in errors(_header(name, old, new)), expected
    assert ("TDiep/TTChung/MLTDiep: message type 999 does not carry invoices" in
            warnings(_header(name, b"<MLTDiep>202</MLTDiep>", b"<MLTDiep>999</MLTDiep>")))
    # problems of the invoice inside are named inside the message
    inside = errors(_header(name, b"<DVTTe>VND</DVTTe>", b""))
    assert "TDiep/DLieu/HDon/DLHDon/TTChung/DVTTe: mandatory element is missing" in inside


def test_validate_cli_names_the_regime():
    for name, regime in (("tdiep202_p0101162173_anh.xml", "in a message TDiep 202"),
                         ("bkav_c25tac_00001131.xml", "PBan 2.1.0"),
                         ("legacy_inv_01blp0_0334407.xml", "before July 2022")):
        done = subprocess.run([sys.executable, "-m", "vn_einvoice.cli", "validate", str(CORPUS / name)],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith(f"{CORPUS / name}: valid") and regime in done.stdout


# --- verify: each signature on its own, overall verdict ---------------------------------------------

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNED_AT = datetime(2026, 3, 15, 2, 0, tzinfo=timezone.utc)  # 09:00 in Việt Nam


def cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vn_einvoice.cli", *map(str, argv)], capture_output=True,
                          text=True, cwd=ROOT, check=False)


@pytest.mark.parametrize("name", GENUINE)
def test_genuine_invoices_have_intact_signatures(name):
    report = verify_invoice(data(name))
    assert report.valid and report.verdict == "intact_unverified", report.all_problems()
    assert all(s.verdict == "valid" for s in report.signatures)
    roles = [s.role for s in report.signatures]
    assert roles[0] == "seller" and set(roles) <= {"seller", "authority"}
    if report.mccqt:
        assert roles == ["seller", "authority"] and report.mccqt_covered
        authority = report.signatures[1]
        assert authority.names_tax_authority and authority.algorithm == "rsa-sha256"
        assert authority.subject.startswith(("CN=CỤC THUẾ", "CN=TỔNG CỤC THUẾ"))


def test_the_dotnet_reading_of_the_enveloped_transform_on_the_object_reference():
    """Viettel puts the enveloped-signature transform on the Reference to the Object inside the Signature
    (.NET SignedXml). Read literally, that would digest nothing; .NET removes the Signature only when it
    lies inside the referenced data, so the Object is digested whole. The real digests prove it."""
    for name in ("viettel_k23tac_1390239.xml", "viettel_c22taa_3499.xml"):  # Viettel SInvoice, 2023
        report = verify_invoice(data(name))
        ref = next(r for r in report.seller.references if r.target.endswith("/Object"))
        assert ref.transforms == [ENVELOPED] and ref.valid
        digest = re.search(rb'<Reference URI="' + ref.uri.encode() + rb'">.*?<DigestValue>([^<]+)<', data(name),
                           re.S).group(1)
        assert base64.b64decode(digest) != hashlib.sha1(b"").digest()  # not the digest of an emptied Object


RECOVERABLE = {"broken_tdiep202_p0104128565.xml", "broken_vnpt_c25tth_190508.xml", "broken_vnpt_c25tth_192637.xml",
               "broken_vnpt_k25tek_5082_tabs.xml", "broken_viettel_test_k21egt_1.xml", "legacy_bkav_bk15e_0000001.xml"}


@pytest.mark.parametrize("name", BROKEN + LEGACY)
def test_broken_invoices_are_refused_with_the_reason(name):
    report = verify_invoice(data(name))
    assert not report.valid and report.verdict == "invalid"
    problems = report.all_problems()
    assert any("digest mismatch: the referenced content was changed after signing" in p for p in problems)
    assert report.reindented is (name in RECOVERABLE)
    if name in RECOVERABLE:
        assert any("re-indented after signing: the digest matches once the whitespace between elements is "
                   "removed" in p for p in problems)
    done = cli("verify", CORPUS / name)
    assert done.returncode == 1 and done.stdout.startswith(f"{CORPUS / name}: INVALID")


def _without_cqt_signature(name: str) -> bytes:
    tree = etree.fromstring(data(name))
    cqt = tree.find("DSCKS/CQT")
    cqt.getparent().remove(cqt)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_a_stored_copy_without_the_tax_authority_signature_is_not_called_forged(tmp_path):
    """Derived from a genuine invoice: its CQT signature removed (what some archives keep)."""
    copy = _without_cqt_signature("bkav_c25tac_00001131.xml")
    report = verify_invoice(copy)
    assert (report.valid, report.verdict, report.mccqt_covered) == (False, "code_not_signed", False)
    assert [(s.role, s.verdict) for s in report.signatures] == [("seller", "valid")]
    path = tmp_path / "copy.xml"
    path.write_bytes(copy)
    done = cli("verify", path)
    assert done.returncode == 3 and "the MCCQT is NOT signed by the tax authority" in done.stdout.splitlines()[0]
    # a tax authority signature that is there but does not hold is forged or broken: invalid
    altered = data("bkav_c25tac_00001131.xml").replace(b">00C7EE0D4F11334999AC3115F2CEABE364<",
                                                      b">00C7EE0D4F11334999AC3115F2CEABE365<")
    report = verify_invoice(altered)
    assert report.verdict == "invalid" and report.signatures[1].verdict == "invalid"
    assert report.signatures[0].verdict == "valid"


def _envelope(hdon: bytes, mltdiep: str, sender: str, receiver: str, mst: str, dlieu_id: str = "") -> bytes:
    head = (f"<TDiep><TTChung><PBan>2.1.0</PBan><MNGui>{sender}</MNGui><MNNhan>{receiver}</MNNhan>"
            f"<MLTDiep>{mltdiep}</MLTDiep><MTDiep>{sender}{'0123456789ABCDEF' * 2}</MTDiep><MST>{mst}</MST>"
            f"<SLuong>1</SLuong></TTChung><DLieu{f' Id={chr(34)}{dlieu_id}{chr(34)}' if dlieu_id else ''}>")
    body = re.sub(rb"^<\?xml[^>]*\?>", b"", hdon)
    return head.encode() + body + b"</DLieu></TDiep>"


def test_a_genuine_invoice_in_a_message_200():
    """Derived: the genuine bytes of an HDon inside a TDiep 200 header written by the test."""
    message = _envelope(data("bkav_c25tac_00001122.xml"), "200", "V0101360697", "TCT", "2700952079")
    report = verify_invoice(message)
    assert (report.kind, report.message_type, report.verdict) == ("TDiep", "200", "intact_unverified")
    assert errors(validate_xml(message)) == []


@pytest.fixture(scope="module")
def ca():
    return make_test_ca(**validity_around(SIGNED_AT))


def _signer(ca, mst: str, name: str) -> Pkcs12Signer:
    key, cert = make_seller_certificate(ca, mst, name, **validity_around(SIGNED_AT))
    return Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "x"), "x")


CASH_CODE = "M1-26-ABCDE-00000000123"


def _cash_register_message(signer, *, mst=SELLER.tax_code) -> bytes:
    """A message 206 signed with the test CA, to test what the real ones (``tdiep206_*``) cannot: a trust
    store, altered data, another signer. A cash-register invoice (symbol C26MAA), its code generated by
    the register, the message's data signed by the taxpayer (CKSNNT)."""
    invoice = make_invoice([goods()], symbol="C26MAA")
    hdon = etree.fromstring(build_xml(invoice))
    code = etree.Element("MCCQT")
    code.text = CASH_CODE
    hdon.find("DLHDon").addnext(code)
    tdiep = etree.fromstring(_envelope(etree.tostring(hdon), "206", "V0100109106", "TCT", mst, dlieu_id="DLieu"))
    cksnnt = etree.SubElement(tdiep, "CKSNNT")
    add_signature(cksnnt, signer, [tdiep.find("DLieu")], enveloped=False, signing_time=SIGNED_AT,
                  signature_id="NNT", object_id="SigningTime-NNT")
    return etree.tostring(tdiep, xml_declaration=True, encoding="UTF-8")


def test_a_cash_register_message_206(ca, tmp_path):
    message = _cash_register_message(_signer(ca, SELLER.tax_code, SELLER.name))
    report = verify_invoice(message)
    assert (report.valid, report.verdict, report.cash_register, report.mccqt) == (True, "cash_register", True, CASH_CODE)
    assert [(s.role, s.verdict, s.covers) for s in report.signatures] == [
        ("taxpayer", "valid", ["TDiep/DLieu", "TDiep/CKSNNT/Signature/Object"])]
    assert errors(validate_xml(message)) == []
    path = tmp_path / "206.xml"
    path.write_bytes(message)
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.pem)
    done = cli("verify", path)
    assert done.returncode == 3 and "cash-register invoice" in done.stdout.splitlines()[0]
    assert "taxpayer signature TDiep/CKSNNT/Signature Id=NNT: valid" in done.stdout
    assert cli("verify", path, "--trusted-ca", ca_pem).returncode == 0
    # the data changed after the taxpayer signed: invalid
    altered = verify_invoice(message.replace(b"<ThTien>100000</ThTien>", b"<ThTien>100001</ThTien>", 1))
    assert altered.verdict == "invalid" and altered.signatures[0].verdict == "invalid"
    # signed by someone else than the seller
    other = verify_invoice(_cash_register_message(_signer(ca, "0100109106", "KHÁC")))
    assert other.verdict == "invalid"
    assert "the certificate's MST (0100109106) is not the seller's MST" in other.signatures[0].problems[0]


def test_a_pre_2022_invoice_is_read_verified_and_printed(ca, tmp_path):
    """The real one was re-indented after signing (refused above). The same invoice, signed again with
    the test CA as its seller would have, verifies; changed, it does not."""
    done = cli("show", CORPUS / "legacy_inv_01blp0_0334407.xml")
    assert done.returncode == 0, done.stderr
    assert "template 01BLP0-001, series VT-24E, number 0334407, issued 2025-06-09" in done.stdout
    assert "total before VAT 500 000, VAT 0, total 500 000 VND" in done.stdout
    root = etree.fromstring(data("legacy_inv_01blp0_0334407.xml"), etree.XMLParser(remove_blank_text=True))
    root.remove(root.find(f"{{{DS}}}Signature"))
    invoice_data = root.find(f"{{{LEGACY_NS}}}invoiceData")
    add_signature(root, _signer(ca, "0201184942", "CẢNG VỤ ĐƯỜNG THỦY NỘI ĐỊA HẢI PHÒNG"), [invoice_data],
                  signing_time=SIGNED_AT, signature_id="seller", object_id="SigningTime")
    resigned = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    report = verify_invoice(resigned)
    assert (report.kind, report.valid, report.verdict, report.symbol) == ("legacy", True, "intact_unverified", "VT-24E")
    assert report.seller.covers[0] == "invoice/invoiceData"
    assert errors(validate_xml(resigned)) == []
    changed = verify_invoice(resigned.replace(b"500000</inv:totalAmountWithVAT>", b"600000</inv:totalAmountWithVAT>"))
    assert changed.verdict == "invalid"
    path = tmp_path / "legacy.xml"
    path.write_bytes(resigned)
    done = cli("verify", path)
    assert done.returncode == 3 and "pre-2022 invoice (inv:invoice, invoicexml/v1)" in done.stdout


def test_qr_of_a_message_and_of_a_producer_payload():
    done = cli("qr", CORPUS / "tdiep202_p0101162173_anh.xml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == ("seller 0400530770, template 1, symbol C23TAK, number 3, date 22/02/2023, "
                                           "total 19569000")
    # EasyInvoice writes its own payload in DLQRCode: the decision's one is computed from the signed data
    done = cli("qr", CORPUS / "easyinvoice_c23taa_38.xml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("DLQRCode is not the decision's invoice QR")
    assert "symbol C23TAA, number 38, date 08/01/2023, total 2868065" in done.stdout


def test_the_symptoms_of_the_issue_are_warnings():
    """Orders real producers use (issue 12): seller and buyer contact fields, TTHDLQuan after TTKhac,
    DLQRCode after MCCQT — warnings, and the same invoice in the tables' order has none."""
    seller = replace(SELLER, phone="02838000000", email="ketoan@example.vn", extra=(ExtraField("MaCN", "HCM"),))
    xml = build_xml(make_invoice([goods()], seller=seller, extra=(ExtraField("MaHopDong", "HD01"),)))
    tree = etree.fromstring(xml)
    nban = tree.find("DLHDon/NDHDon/NBan")
    nban.insert(0, nban.find("DCTDTu"))  # contact fields first
    nban.insert(0, nban.find("SDThoai"))
    tt = tree.find("DLHDon/TTChung")
    tt.insert(0, tt.find("TTKhac"))  # TTKhac before the rest (VNPT)
    shuffled = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    problems = validate_xml(shuffled)
    assert errors(problems) == []
    assert "HDon/DLHDon/NDHDon/NBan/Ten: is out of order: Ten must come before DCTDTu" in warnings(problems)
    assert "HDon/DLHDon/TTChung/PBan: is out of order: PBan must come before TTKhac" in warnings(problems)
    assert validate_xml(shuffled, strict_order=False) == []


def test_the_files_are_the_published_bytes():
    """Each file's git blob id is the one SOURCES.md lists (that of the blob at the repository, path and
    commit named there, taken with ``git show``): nothing was re-encoded or re-indented here."""
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    blobs = dict(re.findall(r"^\| (\S+\.xml) \| ([0-9a-f]{40}) \|$", sources, re.M))
    assert sorted(blobs) == ALL
    for name in ALL:
        raw = data(name)
        assert hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest() == blobs[name], name


# --- real cash-register invoices (CA2, NACENCOMM, 2025-2026) -------------------------------------------


@pytest.mark.parametrize("name", CASH206)
def test_real_cash_register_messages_206(name, tmp_path):
    """Messages 206 as the provider sent them to the tax authority: the code (MCCQT) generated by the
    seller's register, the message's data (DLieu, holding the HDon and its code) signed by the taxpayer
    (CKSNNT) and by nobody else; the invoice itself (DSCKS) carries no signature."""
    root = parse_untrusted(data(name)).getroot()
    assert envelope_problems(root) == [] and root.findtext("TTChung/MNNhan") == "TCT"
    assert "TDiep 206 (cash-register invoices" in regime_of(root)
    report = verify_invoice(data(name))
    assert (report.valid, report.verdict, report.kind, report.message_type, report.cash_register) == (
        True, "cash_register", "TDiep", "206", True), report.all_problems()
    assert CASH_REGISTER_CODE.fullmatch(report.mccqt) and report.mccqt_covered
    assert report.symbol[3] == "M"  # the symbol of an invoice from a cash register
    [taxpayer] = report.signatures
    assert (taxpayer.role, taxpayer.verdict, taxpayer.covers) == (
        "taxpayer", "valid", ["TDiep/DLieu", "TDiep/CKSNNT/Signature/Object"])
    assert tax_code_matches(taxpayer.subject_tax_code, report.seller_tax_code)
    assert taxpayer.certificate_valid_at_signing_time and "O=NACENCOMM SCT" in taxpayer.issuer
    invoice = parse_xml(data(name))
    assert invoice.authority_code == report.mccqt and invoice.symbol == report.symbol
    done = cli("verify", CORPUS / name)
    assert done.returncode == 3 and "cash-register invoice" in done.stdout.splitlines()[0], done.stdout
    assert f"taxpayer signature TDiep/CKSNNT/Signature Id={taxpayer.signature_id}: valid" in done.stdout
    # a value of the invoice changed after the taxpayer signed: the taxpayer's signature fails
    tampered = data(name).replace(b"<SHDon>", b"<SHDon>9", 1)
    altered = verify_invoice(tampered)
    assert altered.verdict == "invalid" and altered.signatures[0].verdict == "invalid"
    # so does the register's code, which the taxpayer signs with the data
    code = report.mccqt.encode()
    recoded = verify_invoice(data(name).replace(code, code[:-1] + (b"1" if code[-1:] != b"1" else b"2")))
    assert recoded.verdict == "invalid" and not recoded.mccqt_covered


@pytest.mark.xmlsec1
def test_xmlsec1_agrees_on_the_real_cash_register_signatures():
    xmlsec1 = require_tool("xmlsec1")
    ids = ["--id-attr:Id", "DLieu", "--id-attr:Id", "DLHDon", "--id-attr:Id", f"{DS}:Object"]
    for name in CASH:
        done = subprocess.run([xmlsec1, "--verify", "--insecure", *ids, str(CORPUS / name)], capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0 and "SignedInfo References (ok/all): 2/2" in done.stderr, (name, done.stderr)


def test_the_buyers_copy_of_a_cash_register_invoice():
    """An HDon of a cash register as the buyer receives it: the seller's signature covers DLHDon, the
    register's code sits outside it and no signature covers it here (the taxpayer signed it in the
    message 206, which the buyer does not get). Not forged, not proven: check the code on the portal."""
    report = verify_invoice(data("cash_ca2_c25mat_90.xml"))
    assert (report.valid, report.verdict, report.cash_register, report.mccqt_covered) == (
        False, "code_not_signed", True, False)
    assert [(s.role, s.verdict) for s in report.signatures] == [("seller", "valid")]
    assert report.problems == ["HDon/MCCQT (the cash register's code) is not covered by the taxpayer's signature "
                               "of message 206 (TDiep/CKSNNT)"]
    done = cli("verify", CORPUS / "cash_ca2_c25mat_90.xml")
    assert done.returncode == 3
    assert ("the MCCQT is a cash-register code, covered by no signature in this copy (the taxpayer signs it in "
            "message 206 to the tax authority)") in done.stdout.splitlines()[0]


def test_a_sales_invoice_may_leave_out_the_totals_before_tax_and_of_vat():
    """Household businesses' cash-register sales invoices (template 2, no VAT) write neither TgTCThue
    nor TgTThue (conditional in the field tables): read as the lines' amount and no VAT, not as 0; the
    grand total is still checked against the lines. A VAT invoice (template 1) still needs them."""
    name = "tdiep206_ca2_c25maa_1.xml"
    assert b"<TgTCThue>" not in data(name) and b"<TgTThue>" not in data(name)
    assert errors(validate_xml(data(name))) == []
    totals = parse_xml(data(name)).totals
    assert (totals.total_before_tax, totals.total_tax, totals.total) == (6210000, 0, 6210000)
    wrong = data(name).replace(b"<TgTTTBSo>6210000</TgTTTBSo>", b"<TgTTTBSo>6210001</TgTTTBSo>")
    assert ("TDiep/DLieu/HDon/DLHDon/NDHDon/TToan/TgTTTBSo: 6 210 000 + 0 VAT = 6 210 000, the total says 6 210 001"
            in errors(validate_xml(wrong)))
    vat = data("bkav_c25tac_00001122.xml")
    without = re.sub(rb"<TgTCThue>[^<]*</TgTCThue>", b"", vat)
    assert without != vat
    assert any(e.startswith("HDon/DLHDon/NDHDon/TToan/TgTCThue: the breakdown adds up to")
               for e in errors(validate_xml(without)))


def test_a_message_the_provider_kept_for_itself_is_refused_with_the_reason():
    """A real message 206 (the taxpayer's signature intact) as the provider's system stored it, addressed
    from and to itself (``MNGui``/``MNNhan`` 0103930279, no ``PBan``): not the message the tax
    authority receives."""
    name = "refused_tdiep206_ca2_internal_c25mmh_122.xml"
    assert errors(validate_xml(data(name))) == [
        "TDiep/TTChung/PBan: mandatory element is missing",
        "TDiep/TTChung/MNGui: '0103930279' is not a participant code: TCT (the tax authority) or a letter and an "
        "MST (e.g. V0101234567)",
        "TDiep/TTChung/MNNhan: '0103930279' is not a participant code: TCT (the tax authority) or a letter and an "
        "MST (e.g. V0101234567)"]
    done = cli("validate", CORPUS / name)
    assert done.returncode == 1 and done.stdout.startswith(f"{CORPUS / name}: INVALID, 3 error(s)")
    assert verify_invoice(data(name)).verdict == "cash_register"  # the signature itself holds


# --- a real pre-2016 invoice (BKAV, 2015) ----------------------------------------------------------------


def test_a_real_2015_invoice_is_read_printed_and_its_signature_verified():
    """BKAV's own invoice of 2015 (Circular 32/2011, template 01GTKT0/001, series BK/15E), stored
    indented with tabs after signing (refused as published, above). Without that whitespace its real
    seller signature (RSA-SHA1, BkavCA certificate of 2015) verifies: the format's verification is
    checked on a real signature, not only on ours."""
    name = "legacy_bkav_bk15e_0000001.xml"
    assert errors(validate_xml(data(name))) == []  # no currencyCode: optional in the schema (VND)
    done = cli("validate", CORPUS / name)
    assert done.returncode == 0 and "before July 2022 (Decree 51/2010, Circular 32/2011)" in done.stdout
    done = cli("show", CORPUS / name)
    assert done.returncode == 0, done.stderr
    assert "template 01GTKT0/001, series BK/15E, number 0000001, issued 2015-10-10, signed 2015-10-10" in done.stdout
    assert "total before VAT 390 910, VAT 39 091, total 430 001 VND" in done.stdout
    root = etree.fromstring(data(name), etree.XMLParser(remove_blank_text=True))
    unindented = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    report = verify_invoice(unindented)
    assert (report.kind, report.valid, report.verdict, report.symbol, report.seller_tax_code) == (
        "legacy", True, "intact_unverified", "BK/15E", "0106538422")
    [seller] = report.signatures
    assert (seller.algorithm, seller.covers, seller.certificate_valid_at_signing_time) == (
        "rsa-sha1", ["invoice/invoiceData"], True)
    assert seller.issuer == "CN=BkavCA,O=Bkav Corporation,L=Hanoi,C=VN"
    changed = verify_invoice(unindented.replace(b"<inv:totalAmountWithVAT>430001<", b"<inv:totalAmountWithVAT>430002<"))
    assert changed.verdict == "invalid"
