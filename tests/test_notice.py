"""Notice 04/SS-HĐĐT: build, parse, validate, sign, verify."""

from dataclasses import replace
from datetime import date

import pytest
from lxml import etree

from vn_einvoice.document import RelatedInvoiceType
from vn_einvoice.errors import ValidationError
from vn_einvoice.notice import (
    ErrorNotice,
    NoticeInvoice,
    NoticeKind,
    NoticeNature,
    build_notice_tree,
    build_notice_xml,
    parse_notice_xml,
    sign_notice,
    validate_notice_xml,
    verify_notice,
)
from vn_einvoice.sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes
from vn_einvoice.signing import Pkcs12Signer, TaxCodeMismatchError

MST = "0312345673"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.fixture(scope="module")
def ca():
    return make_test_ca()


@pytest.fixture(scope="module")
def signer(ca):
    key, cert = make_seller_certificate(ca, MST, "CÔNG TY MẪU")
    return Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "x"), "x")


def _notice(**kw) -> ErrorNotice:
    values = dict(
        taxpayer_name="Công ty TNHH Mẫu", tax_code=MST, tax_office_code="79100",
        tax_office_name="Chi cục Thuế khu vực II", place="TP. Hồ Chí Minh", notice_date=date(2026, 3, 10),
        invoices=(
            NoticeInvoice("1", "C26TAA", "12", date(2026, 3, 2), NoticeNature.CANCEL,
                          "Hóa đơn có mã chưa gửi người mua, lập sai đơn giá", authority_code="00ABCDEF1234"),
            NoticeInvoice("1", "C26TAA", "15", date(2026, 3, 5), NoticeNature.EXPLAIN,
                          "Sai địa chỉ người mua, mã số thuế đúng"),
            NoticeInvoice("1", "K26TAB", "3", date(2026, 3, 6), NoticeNature.ADJUST,
                          "Đã lập hóa đơn điều chỉnh giảm số 4"),
        ),
    )
    values.update(kw)
    return ErrorNotice(**values)


def test_build_follows_the_field_table():
    xml = build_notice_xml(_notice())
    root = etree.fromstring(xml)
    assert root.tag == "TBao"
    dl = root.find("DLTBao")
    assert dl.get("Id") == "data"
    assert [c.tag for c in dl] == ["PBan", "MSo", "Ten", "Loai", "MCQT", "TCQT", "TNNT", "MST", "DDanh", "NTBao",
                                   "DSHDon"]
    assert dl.findtext("MSo") == "04/SS-HĐĐT"
    assert dl.findtext("Ten") == "Thông báo hóa đơn điện tử có sai sót"
    assert dl.findtext("Loai") == "1"
    assert dl.findtext("NTBao") == "2026-03-10"
    rows = dl.findall("DSHDon/HDon")
    assert [r.findtext("STT") for r in rows] == ["1", "2", "3"]
    assert [c.tag for c in rows[0]] == ["STT", "MCQTCap", "KHMSHDon", "KHHDon", "SHDon", "Ngay", "LADHDDT", "TCTBao",
                                        "LDo"]
    assert [r.findtext("TCTBao") for r in rows] == ["1", "4", "2"]
    assert rows[0].findtext("MCQTCap") == "00ABCDEF1234"
    assert rows[1].find("MCQTCap") is None
    assert root.find("DSCKS/NNT") is not None
    assert validate_notice_xml(xml) == []


def test_parse_round_trip():
    notice = _notice(kind=NoticeKind.REPLY, authority_notice_number="123/TB-RSĐT",
                     authority_notice_date=date(2026, 3, 8))
    back = parse_notice_xml(build_notice_xml(notice))
    assert back == notice.numbered()
    assert back.kind is NoticeKind.REPLY
    assert back.invoices[0].invoice_type is RelatedInvoiceType.DECREE_123
    assert back.invoices[2].nature is NoticeNature.ADJUST


def test_reply_needs_the_authority_notice():
    with pytest.raises(ValidationError) as e:
        build_notice_xml(_notice(kind=NoticeKind.REPLY))
    paths = [p.path for p in e.value.problems]
    assert "TBao/DLTBao/So" in paths and "TBao/DLTBao/NTBCCQT" in paths


def test_business_errors_are_all_listed():
    bad = _notice(
        tax_code="0312345678", tax_office_code="", place="",
        invoices=(
            NoticeInvoice("1", "K26TAA", "1", date(2026, 3, 2), NoticeNature.CANCEL, "x"),
            NoticeInvoice("1", "K26TAA", "1", date(2026, 3, 2), NoticeNature.EXPLAIN, ""),
            NoticeInvoice("1", "C26TAA", "2", date(2026, 4, 2), NoticeNature.ADJUST, "y"),
        ),
    )
    with pytest.raises(ValidationError) as e:
        build_notice_xml(bad)
    text = "\n".join(str(p) for p in e.value.problems)
    assert "TBao/DLTBao/MST" in text and "check digit" in text
    assert "TBao/DLTBao/MCQT" in text
    assert "TBao/DLTBao/DDanh" in text
    assert "HDon[1]/TCTBao: since Decree 70/2025 only an invoice coded" in text
    assert "HDon[2]: invoice 1K26TAA number 1 is named twice" in text
    assert "HDon[2]/LDo" in text
    assert "HDon[3]/Ngay: the invoice is dated 02/04/2026, after the notice" in text


def test_no_invoice_refused():
    with pytest.raises(ValidationError, match="names no invoice"):
        build_notice_xml(_notice(invoices=()))


def test_structure_validation_of_foreign_xml():
    root = build_notice_tree(_notice())
    dl = root.find("DLTBao")
    dl.find("MCQT").text = "791000"  # 6 characters
    dl.find("DSHDon/HDon/TCTBao").text = "7"
    dl.find("DSHDon/HDon").remove(dl.find("DSHDon/HDon/SHDon"))
    etree.SubElement(dl, "Bogus").text = "1"
    del dl.attrib["Id"]
    problems = validate_notice_xml(etree.tostring(root))
    text = "\n".join(str(p) for p in problems)
    assert "TBao/DLTBao/@Id" in text
    assert "TBao/DLTBao/MCQT: is 6 characters long; at most 5" in text
    assert "HDon[1]/TCTBao: '7' is not a nature" in text
    assert "HDon[1]/SHDon: required" in text
    assert "TBao/DLTBao/Bogus: unknown element" in text
    assert validate_notice_xml(b"<HDon/>")[0].message.startswith("the root element of a 04/SS notice")
    assert validate_notice_xml(b"not xml")


def test_sign_and_verify(signer):
    unsigned = build_notice_xml(_notice())
    signed = sign_notice(unsigned, signer)
    root = etree.fromstring(signed)
    sig = root.find(f"DSCKS/NNT/{DS}Signature")
    assert sig is not None
    refs = [r.get("URI") for r in sig.iter(f"{DS}Reference")]
    assert refs == ["#data", "#SigningTime"]
    report = verify_notice(signed)
    assert report.valid, report.all_problems()
    assert report.signatures[0].subject_tax_code == MST
    assert report.signatures[0].covers == ["TBao/DLTBao", "TBao/DSCKS/NNT/Signature/Object"]
    assert parse_notice_xml(signed) == _notice().numbered()


def test_tampered_notice_fails(signer):
    signed = sign_notice(build_notice_xml(_notice()), signer)
    tampered = signed.replace("Sai địa chỉ".encode(), "Sai tên".encode())
    report = verify_notice(tampered)
    assert not report.valid
    assert any("digest mismatch" in p for p in report.all_problems())


def test_unsigned_notice_does_not_verify():
    report = verify_notice(build_notice_xml(_notice()))
    assert not report.valid
    assert "not signed" in report.problems[0]


def test_signing_twice_refused(signer):
    signed = sign_notice(build_notice_xml(_notice()), signer)
    with pytest.raises(Exception, match="already holds a signature"):
        sign_notice(signed, signer)


def test_certificate_of_another_taxpayer(ca):
    key, cert = make_seller_certificate(ca, "0101234565", "CÔNG TY KHÁC")
    other = Pkcs12Signer(p12_bytes(key, cert, [], "x"), "x")
    unsigned = build_notice_xml(_notice())
    with pytest.raises(TaxCodeMismatchError, match="not the taxpayer's MST"):
        sign_notice(unsigned, other)
    signed = sign_notice(unsigned, other, allow_mst_mismatch=True)
    report = verify_notice(signed)
    assert not report.valid
    assert any("not the taxpayer's MST (0312345673)" in p for p in report.all_problems())


def test_signature_must_cover_the_data(signer):
    signed = sign_notice(build_notice_xml(_notice()), signer)
    root = etree.fromstring(signed)
    root.find("DLTBao").set("Id", "other")  # the reference now points nowhere
    report = verify_notice(etree.tostring(root))
    assert not report.valid
    assert any("does not cover TBao/DLTBao" in p for p in report.all_problems())


def test_legacy_invoice_named():
    inv = NoticeInvoice("01GTKT0/001", "AA/17E", "0003470", date(2017, 9, 11), NoticeNature.EXPLAIN,
                        "Sai địa chỉ người mua", invoice_type=RelatedInvoiceType.LEGACY_OTHER)
    xml = build_notice_xml(_notice(invoices=(inv,)))
    back = parse_notice_xml(xml)
    assert back.invoices[0].template == "01GTKT0/001"
    assert back.invoices[0].invoice_type is RelatedInvoiceType.LEGACY_OTHER
    assert etree.fromstring(xml).findtext("DLTBao/DSHDon/HDon/LADHDDT") == "3"


def test_numbered_keeps_given_numbers():
    notice = _notice()
    notice = replace(notice, invoices=(replace(notice.invoices[0], seq=5), *notice.invoices[1:]))
    assert [i.seq for i in notice.numbered().invoices] == [5, 2, 3]
