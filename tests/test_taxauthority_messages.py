"""TDiep messages to and from the tax authority: envelope, registration 01/ĐKTĐ, notices, codes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree
from taxauthority_helpers import MST, SIGNED_AT, Seller
from tools import validity_around

from vn_einvoice.errors import ValidationError
from vn_einvoice.notice import ErrorNotice, NoticeInvoice, NoticeNature, build_notice_xml, sign_notice
from vn_einvoice.sandbox.testca import (
    make_government_test_ca,
    make_seller_certificate,
    make_test_ca,
    p12_bytes,
)
from vn_einvoice.signing import Pkcs12Signer, TaxCodeMismatchError, verify_invoice
from vn_einvoice.taxauthority import (
    AuthorityNotice,
    CertificateAction,
    CheckResult,
    Form,
    InvoiceResult,
    MessageType,
    Period,
    Reason,
    SummaryTable,
    TechnicalReceipt,
    batches,
    build_message,
    build_receipt_xml,
    build_registration_xml,
    build_summary_xml,
    code_invoice,
    coded_invoice_problems,
    make_mccqt,
    mccqt_problems,
    new_message_id,
    parse_message,
    parse_registration_xml,
    parse_summary_xml,
    read_notice,
    read_receipt,
    sign_authority_notice,
    sign_registration,
    sign_summary,
    summary_lines,
    validate_message,
    validate_registration_xml,
    validate_summary_xml,
    verify_authority_signature,
    verify_registration,
    verify_summary,
)
from vn_einvoice.taxauthority.envelope import peek_header
from vn_einvoice.xml import parse_xml


@pytest.fixture(scope="module")
def seller():
    return Seller()


@pytest.fixture(scope="module")
def authority():
    """A tax authority of tests: its CA and a signer named CỤC THUẾ."""
    ca = make_government_test_ca(**validity_around(SIGNED_AT))  # named like the government CA (issuer policy)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BỘ TÀI CHÍNH"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "CỤC THUẾ")])
    key, cert = make_seller_certificate(ca, "", "", subject=subject, **validity_around(SIGNED_AT))
    return ca, Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "x"), "x")


def _problems(data) -> list[str]:
    return [str(p) for p in validate_message(data)]


def _edit(message: bytes, tag: str, value: str) -> bytes:
    root = etree.fromstring(message)
    root.find(f"TTChung/{tag}").text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- the envelope ---------------------------------------------------------------------------------

def test_message_id_is_sender_and_32_upper_hex():
    mid = new_message_id("V0100109106")
    assert re.fullmatch(r"V0100109106[0-9A-F]{32}", mid)
    assert new_message_id("V0100109106") != mid
    with pytest.raises(ValidationError, match="MNGui"):
        new_message_id("X123")


def test_invoice_for_code_round_trip_keeps_the_seller_signature(seller):
    hdon = seller.invoice()
    data = build_message(MessageType.INVOICE_FOR_CODE, [hdon], sender=MST, tax_code=MST)
    message = parse_message(data)
    h = message.header
    assert (h.type, h.sender, h.receiver, h.tax_code, h.count, h.reply_to, h.version) == (
        MessageType.INVOICE_FOR_CODE, MST, "TCT", MST, 1, "", "2.1.0")
    assert h.message_id.startswith(MST) and len(h.message_id) == len(MST) + 32
    # the signed invoice verifies inside the envelope and once taken out
    assert verify_invoice(data).valid
    assert verify_invoice(message.item_bytes()[0]).valid
    root = etree.fromstring(data)
    assert [c.tag for c in root] == ["TTChung", "DLieu"]
    assert [c.tag for c in root.find("TTChung")] == ["PBan", "MNGui", "MNNhan", "MLTDiep", "MTDiep", "MTDTChieu",
                                                     "MST", "SLuong"]


def test_a_given_message_id_is_kept(seller):
    mid = new_message_id(MST)
    data = build_message(200, [seller.invoice()], sender=MST, tax_code=MST, message_id=mid)
    assert parse_message(data).message_id == mid


@pytest.mark.parametrize("tag, value, expected", [
    ("MTDiep", "0312345673" + "a" * 32, "32 upper-case hexadecimal"),
    ("MTDiep", "0100109106" + "A" * 32, "must begin with the sender's code '0312345673'"),
    ("MTDiep", "0312345673" + "A" * 31, "32 upper-case hexadecimal"),
    ("MNGui", "X0312345673", "MNGui: 'X0312345673' is not TCT"),
    ("MNNhan", "0312345673", "the sender and the receiver are the same"),
    ("SLuong", "2", "SLuong: says 2 items but DLieu holds 1"),
    ("MLTDiep", "777", "not a message type"),
    ("MST", "0312345674", "tax code (MST) '0312345674' is not valid"),
    ("PBan", "3.0.0", "version '3.0.0' is not known"),
])
def test_envelope_problems_are_named(seller, tag, value, expected):
    data = build_message(200, [seller.invoice()], sender=MST, tax_code=MST)
    problems = _problems(_edit(data, tag, value))
    assert any(expected in p for p in problems), problems
    with pytest.raises(ValidationError):
        parse_message(_edit(data, tag, value))


def test_one_invoice_per_message_for_coding(seller):
    with pytest.raises(ValidationError, match="carries 1 item"):
        build_message(200, [seller.invoice(1), seller.invoice(2)], sender=MST, tax_code=MST)
    # invoices without code go in batches
    data = build_message(203, [seller.invoice(1, "K26TAA"), seller.invoice(2, "K26TAA")], sender=MST, tax_code=MST)
    assert parse_message(data).header.count == 2
    assert len(parse_message(data).item_bytes()) == 2


def test_coded_and_uncoded_symbols_go_by_their_own_message(seller):
    with pytest.raises(ValidationError, match="send it as 203"):
        build_message(200, [seller.invoice(1, "K26TAA")], sender=MST, tax_code=MST)
    with pytest.raises(ValidationError, match="send it as 200"):
        build_message(203, [seller.invoice(1, "C26TAA")], sender=MST, tax_code=MST)


def test_data_of_another_taxpayer_is_refused(seller):
    with pytest.raises(ValidationError, match="one message carries the data of one taxpayer"):
        build_message(200, [seller.invoice()], sender="0100109106", tax_code="0100109106")


def test_reply_names_the_message_answered(seller):
    with pytest.raises(ValidationError, match="MTDTChieu: a reply"):
        build_message(999, [build_receipt_xml(TechnicalReceipt("A", "B", datetime(2026, 3, 2)))],
                      sender="TCT", receiver=MST, tax_code=MST)


def test_items_of_the_wrong_kind_and_empty_messages(seller):
    with pytest.raises(ValidationError, match="carries HDon, not TBao"):
        build_message(200, [b"<TBao><MST>0312345673</MST></TBao>"], sender=MST, tax_code=MST)
    with pytest.raises(ValidationError, match="carries no data"):
        build_message(203, [], sender=MST, tax_code=MST)


def test_size_limit_and_batches(seller):
    one = seller.invoice(1, "K26TAA")
    assert validate_message(b"<TDiep/>" + b" " * (2 * 1024 * 1024)) [0].message.startswith("the message is")
    groups = batches([one] * 10, max_bytes=len(one) * 3 + 1024)
    assert [len(g) for g in groups] == [3, 3, 3, 1]
    for group in groups:
        data = build_message(203, group, sender=MST, tax_code=MST, max_bytes=len(one) * 3 + 2048)
        assert len(data) <= len(one) * 3 + 2048
    with pytest.raises(ValidationError, match="one item alone exceeds"):
        batches([one], max_bytes=len(one))
    with pytest.raises(ValidationError, match="limit is"):
        build_message(203, [one, one], sender=MST, tax_code=MST, max_bytes=len(one) + 100)


def test_garbage_gets_problems_not_tracebacks():
    assert "not a well-formed XML" in _problems(b"<TDiep>")[0]
    assert "must be TDiep" in _problems(b"<HDon/>")[0]
    assert peek_header(b"not xml") == {}
    assert peek_header(b"<TDiep><TTChung><MTDiep>X</MTDiep></TTChung></TDiep>") == {"MTDiep": "X"}


def test_error_notice_travels_as_300(seller):
    notice = ErrorNotice(
        taxpayer_name="Công ty", tax_code=MST, tax_office_code="79100", tax_office_name="Thuế cơ sở 1",
        place="TP. Hồ Chí Minh", notice_date=date(2026, 3, 10),
        invoices=(NoticeInvoice("1", "C26TAA", "1", date(2026, 3, 2), NoticeNature.CANCEL, "Lập sai",
                                authority_code="0" * 34),))
    signed = sign_notice(build_notice_xml(notice), seller.signer, signing_time=SIGNED_AT, at=SIGNED_AT)
    message = parse_message(build_message(300, [signed], sender=MST, tax_code=MST))
    assert message.type is MessageType.ERROR_NOTICE
    assert message.item_bytes()[0].count(b"<DLTBao") == 1


# --- registration 01/ĐKTĐ-HĐĐT ------------------------------------------------------------------------

def test_registration_build_sign_verify_parse(seller):
    reg = seller.registration()
    xml = build_registration_xml(reg)
    root = etree.fromstring(xml)
    assert root.findtext("DLTKhai/TTChung/MSo") == "01/ĐKTĐ-HĐĐT"
    assert root.findtext("DLTKhai/NDTKhai/HTGDLHDDT/CDLQTVAN") == "1"
    assert root.findtext("DLTKhai/NDTKhai/LHDSDung/HDGTGT") == "1"
    assert root.findtext("DLTKhai/NDTKhai/LHDSDung/HDBTSCong") == "0"
    assert root.findtext("DLTKhai/NDTKhai/DSCTSSDung/CTS/Seri").lstrip("0") == format(seller.cert.serial_number, "X")
    signed = sign_registration(xml, seller.signer, signing_time=SIGNED_AT, at=SIGNED_AT)
    assert verify_registration(signed).valid
    assert verify_registration(signed, trusted_certificates=[seller.ca.certificate]).trust == "verified"
    back = parse_registration_xml(signed)
    assert back == reg
    assert back.allows("1", coded=True) and back.allows("2", coded=False) and not back.allows("3", coded=True)
    assert back.active_serials() == {format(seller.cert.serial_number, "X")}
    # a message 100 carries it
    message = parse_message(build_message(100, [signed], sender=MST, tax_code=MST))
    assert message.type is MessageType.REGISTRATION


def test_registration_problems_are_named(seller):
    reg = seller.registration(contact_email="nobody", with_code=False, without_code=False, certificates=(),
                              tax_office_name="")
    with pytest.raises(ValidationError) as e:
        build_registration_xml(reg)
    text = str(e.value)
    for expected in ("DCTDTu: 'nobody' is not an e-mail address", "HTHDon: choose invoices with code",
                     "DSCTSSDung: name the certificate", "CQTQLy: the managing tax office is missing"):
        assert expected in text
    stopped = seller.registration(certificates=(replace(seller.registration().certificates[0],
                                                        action=CertificateAction.STOP),))
    assert stopped.active_serials() == frozenset()
    broken = build_registration_xml(seller.registration()).replace(b"<CMa>1</CMa>", b"<CMa>yes</CMa>")
    assert any("CMa" in p.path for p in validate_registration_xml(broken))


def test_registration_signed_with_another_taxpayers_certificate_is_refused(seller):
    other = Seller("0100109106", "OTHER")
    with pytest.raises(TaxCodeMismatchError):
        sign_registration(build_registration_xml(seller.registration()), other.signer, signing_time=SIGNED_AT,
                          at=SIGNED_AT)


# --- the tax authority's replies and codes --------------------------------------------------------------

def test_technical_receipt_round_trip():
    ok = TechnicalReceipt("0312345673" + "A" * 32, MST, datetime(2026, 3, 2, 10, 0, 5))
    assert read_receipt(etree.fromstring(build_receipt_xml(ok))) == ok
    bad = replace(ok, reasons=(Reason("10001", "Sai định dạng"),))
    back = read_receipt(etree.fromstring(build_receipt_xml(bad)))
    assert not back.ok and back.reasons == bad.reasons
    assert etree.fromstring(build_receipt_xml(bad)).findtext("TTTNhan") == "1"


@pytest.mark.parametrize("form", list(Form))
def test_notices_round_trip_and_are_signed_by_the_authority(authority, form):
    ca, cqt = authority
    notice = AuthorityNotice(
        form=form, tax_code=MST, taxpayer_name="Công ty", accepted=False, number="12/TB",
        notice_time=datetime(2026, 3, 2, 10, 0), reasons=(Reason("1", "Không hợp lệ"),),
        invoices=(InvoiceResult("1", "C26TAA", "7", date(2026, 3, 2), accepted=False,
                                reasons=(Reason("2", "Trùng số"),), nature=1),) if form in (
            Form.DATA_CHECK, Form.ERROR_NOTICE) else (),
        received_at=datetime(2026, 3, 2, 9, 59),
        check_result=CheckResult.NOT_ELIGIBLE_FOR_CODE if form is Form.DATA_CHECK else None)
    signed = sign_authority_notice(notice, cqt, signing_time=SIGNED_AT)
    back = read_notice(etree.fromstring(signed))
    assert back.form is form and back.accepted is False and back.number == "12/TB"
    assert back.all_reasons()
    report = verify_authority_signature(signed, trusted_certificates=[ca.certificate])
    assert report.valid and report.trust == "verified"
    assert verify_authority_signature(signed).trust == "not_checked"
    assert not verify_authority_signature(signed, trusted_certificates=[make_test_ca().certificate]).valid
    tampered = signed.replace(b"<MST>0312345673</MST>", b"<MST>0100109106</MST>")
    assert not verify_authority_signature(tampered).valid


def test_a_notice_signed_by_a_taxpayer_is_not_the_authoritys(seller):
    notice = AuthorityNotice(form=Form.REGISTRATION, tax_code=MST, taxpayer_name="x", accepted=True, number="1",
                             notice_time=datetime(2026, 3, 2, 10, 0))
    forged = sign_authority_notice(notice, seller.signer, signing_time=SIGNED_AT)
    report = verify_authority_signature(forged)
    assert not report.valid
    assert "does not name the tax authority" in " ".join(report.all_problems())


def test_mccqt_format():
    code = make_mccqt(1, b"secret", "0312345673|1|C26TAA|1|2026-03-02|100")
    assert re.fullmatch(r"[0-9A-F]{34}", code) and code.startswith("0000000001")
    assert make_mccqt(2, b"secret", "x")[:10] == "0000000002"
    assert mccqt_problems(code, "C26TAA") == []
    assert mccqt_problems(code.lower(), "C26TAA")
    assert mccqt_problems("M1-26-A1B2C-00001234567", "C26MAA") == []
    assert mccqt_problems(code, "C26MAA")
    with pytest.raises(ValueError):
        make_mccqt(16 ** 10, b"k", "x")


def test_coded_invoice_keeps_the_sellers_data_and_is_trusted_only_with_the_ca(seller, authority):
    ca, cqt = authority
    hdon = seller.invoice()
    coded = code_invoice(hdon, make_mccqt(5, b"k", "x"), cqt, signing_time=SIGNED_AT)
    root = etree.fromstring(coded)
    assert [c.tag for c in root] == ["DLHDon", "MCCQT", "DSCKS"]
    assert [c.tag for c in root.find("DSCKS")] == ["NBan", "NMua", "CQT", "CCKSKhac"]
    assert root.find("MCCQT").get("Id").startswith("Id-")
    anchors = [seller.ca.certificate, ca.certificate]
    assert coded_invoice_problems(hdon, coded, trusted_certificates=anchors) == []
    assert verify_invoice(coded).verdict == "intact_unverified"
    assert verify_invoice(coded, trusted_certificates=anchors).verdict == "valid"
    # without the authority's CA in the trust store, the CQT signature is not trusted
    untrusted = verify_invoice(coded, trusted_certificates=[seller.ca.certificate])
    assert untrusted.trust == "untrusted" and not untrusted.valid
    # the data returned must be the data sent
    other = seller.invoice(2)
    assert "the invoice data (DLHDon) returned are not those sent" in coded_invoice_problems(other, coded)
    # a code may be added once
    with pytest.raises(ValidationError, match="already has a tax authority code"):
        code_invoice(coded, make_mccqt(6, b"k", "x"), cqt)
    # the seller cannot code its own invoice
    forged = code_invoice(hdon, make_mccqt(7, b"k", "x"), seller.signer, signing_time=SIGNED_AT)
    assert any("seller" in p for p in coded_invoice_problems(hdon, forged))


# --- summary table 01/TH-HĐĐT (400) ---------------------------------------------------------------------

def _table(seller, **changes) -> SummaryTable:
    invoices = [parse_xml(seller.invoice(n, "K26TAA")) for n in (1, 2)]
    values = dict(taxpayer_name="Công ty", tax_code=MST, number=1, period=Period.MONTH, period_value="03/2026",
                  date=date(2026, 4, 5), lines=summary_lines(invoices))
    values.update(changes)
    return SummaryTable(**values)


def test_summary_table_build_sign_parse(seller):
    table = _table(seller)
    assert len(table.lines) > 2  # one line per invoice and VAT rate
    xml = build_summary_xml(table)
    root = etree.fromstring(xml)
    assert root.findtext("DLBTHop/TTChung/MSo") == "01/TH-HĐĐT" and root.findtext("DLBTHop/TTChung/LDau") == "1"
    assert root.find("DLBTHop/TTChung/BSLThu") is None
    signed = sign_summary(xml, seller.signer, signing_time=SIGNED_AT, at=SIGNED_AT)
    assert verify_summary(signed).valid
    assert parse_summary_xml(signed) == table
    message = parse_message(build_message(400, [signed], sender=MST, tax_code=MST))
    assert message.type is MessageType.SUMMARY_TABLE
    supplement = build_summary_xml(replace(table, supplement=1))
    assert etree.fromstring(supplement).findtext("DLBTHop/TTChung/BSLThu") == "1"


def test_summary_table_problems(seller):
    table = _table(seller)
    bad_line = replace(table.lines[0], total=table.lines[0].total + 1, symbol="C26TAA")
    with pytest.raises(ValidationError) as e:
        build_summary_xml(replace(table, period_value="2026-03", lines=(bad_line,)))
    text = str(e.value)
    assert "KDLieu: '2026-03': a period of this kind is written MM/YYYY" in text
    assert "invoices with code are not sent by summary table" in text
    assert "(TTCThue + TgTThue)" in text
    assert validate_summary_xml(b"<HDon/>")[0].message.startswith("the root element")
