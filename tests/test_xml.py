"""The legal HDon XML: build, element order, parse (round trips), validation with element paths."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from factories import BRANCH_MST, BUYER, SELLER, D, amount_line, goods, make_invoice, note
from lxml import etree

from vn_einvoice.codes import TaxRate
from vn_einvoice.document import (
    ExtraField,
    Fee,
    IdKind,
    Line,
    LineKind,
    Party,
    RelatedInvoice,
    RelatedInvoiceType,
    RelationKind,
    Totals,
)
from vn_einvoice.errors import Problem, ValidationError
from vn_einvoice.qr import invoice_qr_payload
from vn_einvoice.xml import (
    build_checked_tree,
    build_tree,
    build_xml,
    check_invoice,
    fmt_num,
    parse_xml,
    validate_xml,
)
from vn_einvoice.xml.schema import HDON

DATA = Path(__file__).parent / "data"
TT = "HDon/DLHDon/TTChung"
ND = "HDon/DLHDon/NDHDon"
TOAN = f"{ND}/TToan"
ALL_RATES = ["0%", "5%", "8%", "10%", "KCT", "KKKNT", "KHAC:3.5%"]


def tree(xml: bytes):
    return etree.fromstring(xml)


def texts(el, path):
    return [e.text for e in el.findall(path)]


def child_tags(el):
    return [c.tag for c in el]


def problems_of(xml, **kw):
    return [str(p) for p in validate_xml(xml, **kw)]


def full_invoice(**kw):
    """An invoice using every field the builder knows (2.1.0)."""
    seller = replace(SELLER, phone="02838000000", email="ketoan@example.vn", bank_account="0011001234567",
                     bank_name="Vietcombank", fax="02838000001", website="https://example.vn",
                     store_code="CH01", store_name="Cửa hàng số 1",
                     extra=(ExtraField("MaChiNhanh", "HCM"),))
    buyer = replace(BUYER, tax_code=BRANCH_MST, code="KH0001", phone="0243000000", email="ap@example.com",
                    contact_name="Nguyễn Văn A", bank_account="123456789", bank_name="BIDV",
                    budget_unit_code="1234567", id_kind=IdKind.CITIZEN_ID, id_number="001099012345",
                    extra=(ExtraField("HanThanhToan", "2026-04-15", "date"),))
    lines = [
        goods("Máy tính xách tay", 10, 1500000, "10%", code="SP001", unit="Chiếc", discount_rate=D(0),
              discount_amount=D(0), tax_amount=D(1500000), extra=(ExtraField("SoLo", "L01"),)),
        goods("Dịch vụ triển khai", 1, 20000000, "8%", code="DV002", unit="Gói"),
        Line("Sách giáo khoa", quantity=D(5), unit_price=D(40000), amount=D(200000), tax_rate=TaxRate("KCT")),
        Line("Quà tặng", kind=LineKind.PROMOTION, quantity=D(1), unit_price=D(0), amount=D(0),
             tax_rate=TaxRate("10%")),
        amount_line("Chiết khấu thương mại", 500000, "10%", kind=LineKind.DISCOUNT),
        note("Hàng hóa giao theo hợp đồng số 01/2026/HĐMB"),
    ]
    rel = RelatedInvoice(RelationKind.REPLACEMENT, "1", "C26TAA", "100", date(2026, 3, 1),
                         note="Thay thế do sai địa chỉ", list_number="BK01", list_date=date(2026, 3, 10))
    base = dict(
        related=rel, exchange_rate=D(1), list_number="BK-2026-01", list_date=date(2026, 3, 14),
        tax_office_code="MHS01", delegated_tax_code="0100109106", delegated_name="Đơn vị nhận ủy nhiệm",
        delegated_address="Hà Nội", extra=(ExtraField("MaHopDong", "HD01"),),
        totals=Totals(D(0), D(0), D(0), "", fees=(Fee("Phí vận chuyển", D(30000)),),
                      total_non_taxable_deduction=D(0), total_other_deduction=D(10000),
                      extra=(ExtraField("GhiChu", "x"),)),
        authority_code="00B2AF74F70B4E495FA0663F7475BC3BD8",
        authority_code_id="MCCQT1", data_id="DuLieuKy",
    )
    base.update(kw)
    inv = make_invoice(lines, seller=seller, buyer=buyer, **base)
    # the QR code of these very data (verify and validate check it against them)
    return replace(inv, qr_payload=invoice_qr_payload(inv)) if inv.number and "qr_payload" not in kw else inv


# --- build: exact output and element order -------------------------------------------------------


def test_build_exact_xml_of_a_small_invoice():
    inv = make_invoice([goods("Máy tính", 2, 1500000, "10%", code="SP01", unit="Chiếc"), note("Giao tại kho")])
    assert build_xml(inv).decode() == (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<HDon><DLHDon Id="data"><TTChung><PBan>2.1.0</PBan><THDon>Hóa đơn giá trị gia tăng</THDon>'
        "<KHMSHDon>1</KHMSHDon><KHHDon>C26TAA</KHHDon><SHDon>123</SHDon><NLap>2026-03-15</NLap>"
        "<HDCTTChinh>0</HDCTTChinh><DVTTe>VND</DVTTe><HTTToan>TM/CK</HTTToan><MSTTCGP>0100109106</MSTTCGP>"
        "</TTChung><NDHDon><NBan><Ten>CÔNG TY TNHH GIẢI PHÁP MẪU</Ten><MST>0312345673</MST>"
        "<DChi>12 Đường Số 1, Phường Sài Gòn, TP. Hồ Chí Minh</DChi></NBan><NMua>"
        "<Ten>CÔNG TY CỔ PHẦN KHÁCH HÀNG MẪU</Ten><MST>0101234565</MST><DChi>1 Phố Tràng Tiền, Hà Nội</DChi>"
        "</NMua><DSHHDVu><HHDVu><TChat>1</TChat><STT>1</STT><MHHDVu>SP01</MHHDVu><THHDVu>Máy tính</THHDVu>"
        "<DVTinh>Chiếc</DVTinh><SLuong>2</SLuong><DGia>1500000</DGia><ThTien>3000000</ThTien>"
        "<TSuat>10%</TSuat></HHDVu><HHDVu><TChat>4</TChat><STT>2</STT><THHDVu>Giao tại kho</THHDVu></HHDVu>"
        "</DSHHDVu><TToan><THTTLTSuat><LTSuat><TSuat>10%</TSuat><ThTien>3000000</ThTien><TThue>300000</TThue>"
        "</LTSuat></THTTLTSuat><TgTCThue>3000000</TgTCThue><TgTThue>300000</TgTThue><TgTTTBSo>3300000"
        "</TgTTTBSo><TgTTTBChu>Ba triệu ba trăm nghìn đồng chẵn</TgTTTBChu></TToan></NDHDon></DLHDon>"
        "<DSCKS><NBan/><NMua/><CCKSKhac/></DSCKS></HDon>"
    )


def _assert_schema_order(el, field, path):
    order = [c.tag for c in field.children]
    tags = child_tags(el)
    for tag in tags:
        assert tag in order, f"{path}/{tag} is not in the field table"
    indexes = [order.index(t) for t in tags]
    assert indexes == sorted(indexes), f"{path}: {tags} is not in the order {order}"
    for child in el:
        spec = field.child(child.tag)
        if spec.kind == "group":
            _assert_schema_order(child, spec, f"{path}/{child.tag}")


def test_element_order_of_a_full_invoice_is_the_schema_order():
    xml = build_xml(full_invoice())
    root = tree(xml)
    _assert_schema_order(root, HDON, "HDon")
    assert child_tags(root) == ["DLHDon", "DLQRCode", "MCCQT", "DSCKS"]
    assert child_tags(root.find("DLHDon/TTChung")) == [
        "PBan", "THDon", "KHMSHDon", "KHHDon", "SHDon", "MHSo", "NLap", "HDCTTChinh", "SBKe", "NBKe", "DVTTe",
        "TGia", "HTTToan", "MSTTCGP", "MSTDVNUNLHDon", "TDVNUNLHDon", "DCDVNUNLHDon", "TTHDLQuan", "TTKhac",
    ]
    assert child_tags(root.find("DLHDon/TTChung/TTHDLQuan")) == [
        "TCHDon", "LHDCLQuan", "KHMSHDCLQuan", "KHHDCLQuan", "SHDCLQuan", "NLHDCLQuan", "GChu",
        "SBKCLQuan", "NBKCLQuan",
    ]
    assert child_tags(root.find("DLHDon/NDHDon")) == ["NBan", "NMua", "DSHHDVu", "TToan"]
    assert child_tags(root.find("DLHDon/NDHDon/NBan")) == [
        "Ten", "MST", "DChi", "MCHang", "TCHang", "SDThoai", "DCTDTu", "STKNHang", "TNHang", "Fax", "Website",
        "TTKhac",
    ]
    assert child_tags(root.find("DLHDon/NDHDon/NMua")) == [
        "Ten", "MST", "MDVQHNSach", "DChi", "MKHang", "SDThoai", "CCCDan", "DCTDTu", "HVTNMHang", "STKNHang",
        "TNHang", "TTKhac",
    ]
    assert child_tags(root.find("DLHDon/NDHDon/DSHHDVu/HHDVu")) == [
        "TChat", "STT", "MHHDVu", "THHDVu", "DVTinh", "SLuong", "DGia", "TLCKhau", "STCKhau", "ThTien", "TSuat",
        "TTKhac",
    ]
    assert child_tags(root.find("DLHDon/NDHDon/TToan")) == [
        "THTTLTSuat", "TgTCThue", "TgTThue", "TGTKCThue", "DSLPhi", "TTCKTMai", "TGTKhac", "TgTTTBSo",
        "TgTTTBChu", "TTKhac",
    ]
    assert validate_xml(xml) == []


def test_full_invoice_amounts():
    root = tree(build_xml(full_invoice()))
    to = root.find("DLHDon/NDHDon/TToan")
    assert [child_tags(lt) for lt in to.findall("THTTLTSuat/LTSuat")] == [
        ["TSuat", "ThTien", "TThue"], ["TSuat", "ThTien", "TThue"], ["TSuat", "ThTien"],
    ]
    assert texts(to, "THTTLTSuat/LTSuat/ThTien") == ["14500000", "20000000", "200000"]
    assert [to.findtext(t) for t in ("TgTCThue", "TgTThue", "TTCKTMai", "TGTKhac", "TgTTTBSo")] == [
        "34700000", "3050000", "500000", "10000", "37770000"]
    assert to.findtext("TgTTTBChu") == "Ba mươi bảy triệu bảy trăm bảy mươi nghìn đồng chẵn"
    assert to.findtext("DSLPhi/LPhi/TPhi") == "30000"
    # the line's VAT amount travels in TTKhac
    line1 = root.find("DLHDon/NDHDon/DSHHDVu/HHDVu")
    assert [(t.findtext("TTruong"), t.findtext("KDLieu"), t.findtext("DLieu")) for t in line1.findall("TTKhac/TTin")] \
        == [("SoLo", "string", "L01"), ("TThue", "numeric", "1500000")]


# --- tax codes, line kinds -----------------------------------------------------------------------


@pytest.mark.parametrize("code", ALL_RATES)
def test_every_tax_code_through_build_and_parse(code):
    inv = make_invoice([goods("A", 2, 100000, code)])
    xml = build_xml(inv)
    root = tree(xml)
    assert texts(root, "DLHDon/NDHDon/DSHHDVu/HHDVu/TSuat") == [code]
    assert texts(root, "DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat/TSuat") == [code]
    tthue = texts(root, "DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat/TThue")
    expected = {"0%": ["0"], "5%": ["10000"], "8%": ["16000"], "10%": ["20000"], "KHAC:3.5%": ["7000"]}
    assert tthue == expected.get(code, [])  # KCT and KKKNT rows have no TThue
    back = parse_xml(xml)
    assert back == inv
    assert back.lines[0].tax_rate == TaxRate(code)


def test_zero_rated_exempt_and_undeclared_stay_apart_through_build_and_parse():
    inv = make_invoice([amount_line("Xuất khẩu", 100000, "0%"), amount_line("Sách", 100000, "KCT"),
                        amount_line("Bồi thường", 100000, "KKKNT")])
    root = tree(build_xml(inv))
    rows = [(lt.findtext("TSuat"), lt.findtext("ThTien"), lt.findtext("TThue"))
            for lt in root.findall("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat")]
    assert rows == [("0%", "100000", "0"), ("KCT", "100000", None), ("KKKNT", "100000", None)]
    back = parse_xml(build_xml(inv))
    assert [b.rate.code for b in back.tax_breakdown] == ["0%", "KCT", "KKKNT"]
    assert [b.tax_amount for b in back.tax_breakdown] == [0, None, None]
    assert back == inv


def test_line_kinds_discount_promotion_note():
    inv = make_invoice([
        goods("A", 1, 1000000, "10%"),
        Line("Khuyến mại", kind=LineKind.PROMOTION, quantity=D(1), unit_price=D(0), amount=D(0),
             tax_rate=TaxRate("10%")),
        amount_line("Chiết khấu", 100000, "10%", kind=LineKind.DISCOUNT),
        note("Ghi chú"),
    ])
    root = tree(build_xml(inv))
    lines = root.findall("DLHDon/NDHDon/DSHHDVu/HHDVu")
    assert [ln.findtext("TChat") for ln in lines] == ["1", "2", "3", "4"]
    assert [ln.findtext("ThTien") for ln in lines] == ["1000000", "0", "100000", None]
    assert child_tags(lines[3]) == ["TChat", "STT", "THHDVu"]
    assert root.findtext("DLHDon/NDHDon/TToan/TTCKTMai") == "100000"
    assert root.findtext("DLHDon/NDHDon/TToan/TgTCThue") == "900000"
    assert parse_xml(build_xml(inv)) == inv


def test_foreign_currency_usd():
    inv = make_invoice([goods("Software licence", 3, "12.345", "10%", amount=D("37.04"))],
                       currency="USD", exchange_rate=D("25400.5"))
    root = tree(build_xml(inv))
    assert root.findtext("DLHDon/TTChung/DVTTe") == "USD"
    assert root.findtext("DLHDon/TTChung/TGia") == "25400.5"
    assert root.findtext("DLHDon/NDHDon/DSHHDVu/HHDVu/DGia") == "12.345"
    assert [root.findtext(f"DLHDon/NDHDon/TToan/{t}") for t in ("TgTCThue", "TgTThue", "TgTTTBSo")] == [
        "37.04", "3.7", "40.74"]
    assert root.findtext("DLHDon/NDHDon/TToan/TgTTTBChu") == "Bốn mươi đô la Mỹ và bảy mươi bốn xu"
    assert parse_xml(build_xml(inv)) == inv


def test_checked_tree_is_what_build_xml_serializes_and_is_checked_the_same():
    inv = make_invoice([goods("A", 2, 10000, "10%"), goods("B", 1, 5000, "8%")], number=7)
    root = build_checked_tree(inv)
    assert etree.tostring(root, xml_declaration=True, encoding="UTF-8") == build_xml(inv)
    bad = make_invoice([goods("A", 1, 10, "10%")], currency="USD")  # no exchange rate
    with pytest.raises(ValidationError) as tree_error:
        build_checked_tree(bad)
    with pytest.raises(ValidationError) as xml_error:
        build_xml(bad)
    assert [str(p) for p in tree_error.value.problems] == [str(p) for p in xml_error.value.problems]


def test_foreign_currency_needs_an_exchange_rate():
    inv = make_invoice([goods("A", 1, 10, "10%")], currency="USD")
    with pytest.raises(ValidationError) as e:
        build_xml(inv)
    assert [str(p) for p in e.value.problems] == [f"{TT}/TGia: exchange rate is required for an invoice in USD"]
    xml = build_xml(inv, check=False)
    assert f"{TT}/TGia: exchange rate is required for an invoice in USD" in problems_of(xml)


def test_exchange_rate_has_at_most_two_decimals():
    inv = make_invoice([goods("A", 1, 10, "10%")], currency="JPY", exchange_rate=D("170.123"))
    with pytest.raises(ValidationError) as e:
        build_xml(inv)
    assert [str(p) for p in e.value.problems] == [f"{TT}/TGia: '170.123' has more than 2 decimals"]


# --- adjustments, replacements, legacy originals, lists ------------------------------------------


def _rel_children(xml):
    return [(c.tag, c.text) for c in tree(xml).find("DLHDon/TTChung/TTHDLQuan")]


def test_adjustment_decrease():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "123", date(2026, 3, 1),
                         note="Điều chỉnh giảm đơn giá dòng 1")
    inv = make_invoice([amount_line("Điều chỉnh giảm đơn giá Máy tính", -1000000, "10%"),
                        note(rel.reference_text())], related=rel, number=130)
    xml = build_xml(inv)
    assert _rel_children(xml) == [
        ("TCHDon", "2"), ("LHDCLQuan", "1"), ("KHMSHDCLQuan", "1"), ("KHHDCLQuan", "C26TAA"),
        ("SHDCLQuan", "123"), ("NLHDCLQuan", "2026-03-01"), ("GChu", "Điều chỉnh giảm đơn giá dòng 1"),
    ]
    root = tree(xml)
    assert root.findtext("DLHDon/NDHDon/DSHHDVu/HHDVu/ThTien") == "-1000000"
    assert root.findtext("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat/TThue") == "-100000"
    assert root.findtext("DLHDon/NDHDon/TToan/TgTTTBSo") == "-1100000"
    assert root.findtext("DLHDon/NDHDon/TToan/TgTTTBChu") == "Một triệu một trăm nghìn đồng chẵn"
    assert root.findall("DLHDon/NDHDon/DSHHDVu/HHDVu")[1].findtext("THHDVu") == (
        "Điều chỉnh cho hóa đơn Mẫu số 1, ký hiệu C26TAA, số 123, ngày 01/03/2026")
    back = parse_xml(xml)
    assert back == inv and back.is_adjustment and not back.is_replacement
    assert validate_xml(xml) == []


def test_adjustment_increase():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "123", date(2026, 3, 1))
    inv = make_invoice([goods("Điều chỉnh tăng số lượng", 2, 250000, "8%")], related=rel)
    xml = build_xml(inv)
    assert _rel_children(xml)[0] == ("TCHDon", "2")
    assert tree(xml).findtext("DLHDon/NDHDon/TToan/TgTTTBSo") == "540000"
    assert tree(xml).findtext("DLHDon/NDHDon/TToan/TgTTTBChu") == "Năm trăm bốn mươi nghìn đồng chẵn"
    assert parse_xml(xml) == inv


def test_replacement():
    rel = RelatedInvoice(RelationKind.REPLACEMENT, "1", "C26TAA", "00000018", date(2026, 2, 27))
    inv = make_invoice([goods()], related=rel)
    xml = build_xml(inv)
    assert _rel_children(xml) == [
        ("TCHDon", "1"), ("LHDCLQuan", "1"), ("KHMSHDCLQuan", "1"), ("KHHDCLQuan", "C26TAA"),
        ("SHDCLQuan", "00000018"), ("NLHDCLQuan", "2026-02-27"),
    ]
    back = parse_xml(xml)
    assert back == inv and back.is_replacement and back.related.number == "00000018"


@pytest.mark.parametrize("invoice_type", [RelatedInvoiceType.LEGACY_OTHER, RelatedInvoiceType.LEGACY_CODED])
def test_legacy_original(invoice_type):
    rel = RelatedInvoice(RelationKind.REPLACEMENT, "01GTKT0/001", "AA/17E", "0000123", date(2017, 5, 2),
                         invoice_type=invoice_type)
    inv = make_invoice([goods()], related=rel)
    xml = build_xml(inv)
    assert _rel_children(xml) == [
        ("TCHDon", "1"), ("LHDCLQuan", str(int(invoice_type))), ("KHMSHDCLQuan", "01GTKT0/001"),
        ("KHHDCLQuan", "AA/17E"), ("SHDCLQuan", "0000123"), ("NLHDCLQuan", "2017-05-02"),
    ]
    assert parse_xml(xml) == inv
    assert validate_xml(xml) == []


def test_related_codes_must_suit_lhdclquan():
    legacy_as_123 = RelatedInvoice(RelationKind.ADJUSTMENT, "01GTKT0/001", "AA/17E", "1", date(2017, 5, 2))
    with pytest.raises(ValidationError) as e:
        build_xml(make_invoice([goods()], related=legacy_as_123))
    assert [str(p) for p in e.value.problems] == [
        f"{TT}/TTHDLQuan/LHDCLQuan: LHDCLQuan 1 names an invoice of the current regime, but template "
        "'01GTKT0/001' and symbol 'AA/17E' belong to the legacy regime: use LHDCLQuan 2 or 3 for an invoice "
        "of Decree 51/04"]
    current_as_legacy = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "1", date(2026, 3, 1),
                                       invoice_type=RelatedInvoiceType.LEGACY_OTHER)
    assert [p.path for p in check_invoice(make_invoice([goods()], related=current_as_legacy))] == [
        f"{TT}/TTHDLQuan/LHDCLQuan"]
    wrong_year = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C25TAA", "1", date(2026, 1, 5))
    assert [str(p) for p in check_invoice(make_invoice([goods()], related=wrong_year))] == [
        f"{TT}/TTHDLQuan/KHHDCLQuan: symbol 'C25TAA' is for the year 2025 but it is issued on 05/01/2026: "
        "use the series of 2026"]
    later = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "1", date(2026, 4, 1))
    assert [str(p) for p in check_invoice(make_invoice([goods()], related=later))] == [
        f"{TT}/TTHDLQuan/NLHDCLQuan: the related invoice is dated 01/04/2026, after this invoice (15/03/2026)"]
    printed = RelatedInvoice(RelationKind.REPLACEMENT, "01GTKT3/001", "01AA/25P", "1", date(2025, 8, 5),
                             invoice_type=RelatedInvoiceType.PRINTED_DECREE_123)
    assert check_invoice(make_invoice([goods()], related=printed)) == []


def test_related_invoice_fields_are_required_unless_a_list_is_named():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA")
    xml = build_xml(make_invoice([goods()], related=rel), check=False)
    assert problems_of(xml) == [
        f"{TT}/TTHDLQuan/SHDCLQuan: required to name the related invoice",
        f"{TT}/TTHDLQuan/NLHDCLQuan: required to name the related invoice",
    ]


def test_list_01_bk_dctt_in_2_1_0():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, list_number="01/BK-ĐCTT-2026-05", list_date=date(2026, 3, 10))
    inv = make_invoice([goods()], related=rel)
    xml = build_xml(inv)
    assert _rel_children(xml) == [("TCHDon", "2"), ("LHDCLQuan", "1"), ("SBKCLQuan", "01/BK-ĐCTT-2026-05"),
                                  ("NBKCLQuan", "2026-03-10")]
    assert parse_xml(xml) == inv
    assert rel.reference_text() == "Điều chỉnh cho các hóa đơn theo bảng kê số 01/BK-ĐCTT-2026-05 ngày 10/03/2026"
    no_date = build_xml(replace(inv, related=replace(rel, list_date=None)), check=False)
    assert problems_of(no_date) == [f"{TT}/TTHDLQuan/NBKCLQuan: date of the list 01/BK-ĐCTT is required"]


def test_list_01_bk_dctt_refused_in_2_0_1():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, list_number="BK01", list_date=date(2026, 3, 10))
    with pytest.raises(ValidationError) as e:
        build_xml(make_invoice([goods()], related=rel, version="2.0.1"))
    assert [str(p) for p in e.value.problems] == [
        f"{TT}/TTHDLQuan/SBKCLQuan: this field exists only in version 2.1.0, not 2.0.1",
        f"{TT}/TTHDLQuan/NBKCLQuan: this field exists only in version 2.1.0, not 2.0.1",
    ]
    xml = build_xml(make_invoice([goods()], related=rel)).replace(b"<PBan>2.1.0", b"<PBan>2.0.1").replace(
        b"<HDCTTChinh>0</HDCTTChinh>", b"")
    assert problems_of(xml) == [f"{TT}/TTHDLQuan/SBKCLQuan: does not exist in version 2.0.1",
                                f"{TT}/TTHDLQuan/NBKCLQuan: does not exist in version 2.0.1"]


# --- versions ------------------------------------------------------------------------------------


def test_version_2_0_1_has_no_hdcttchinh():
    inv = make_invoice([goods()], version="2.0.1")
    xml = build_xml(inv)
    root = tree(xml)
    assert root.findtext("DLHDon/TTChung/PBan") == "2.0.1"
    assert root.find("DLHDon/TTChung/HDCTTChinh") is None
    assert validate_xml(xml) == []
    assert parse_xml(xml) == inv
    with_it = xml.replace(b"<DVTTe>", b"<HDCTTChinh>0</HDCTTChinh><DVTTe>")
    assert problems_of(with_it) == [f"{TT}/HDCTTChinh: does not exist in version 2.0.1"]
    # 2.1.0 has it; real 2.1.0 invoices accepted by the tax authority omit it: a warning, read as 0
    without = build_xml(make_invoice([goods()])).replace(b"<HDCTTChinh>0</HDCTTChinh>", b"")
    [absent] = validate_xml(without)
    assert (absent.path, absent.level) == (f"{TT}/HDCTTChinh", "warning")
    assert "read as 0" in absent.message and not parse_xml(without).financial_leasing


def test_2_1_0_only_fields_are_refused_in_2_0_1_with_a_clear_message():
    seller = replace(SELLER, store_code="CH01", store_name="Cửa hàng 1")
    buyer = replace(BUYER, budget_unit_code="1234567", id_kind=IdKind.PASSPORT, id_number="B1234567")
    with pytest.raises(ValidationError) as e:
        build_xml(make_invoice([goods()], seller=seller, buyer=buyer, financial_leasing=True, version="2.0.1"))
    assert [str(p) for p in e.value.problems] == [
        f"{ND}/NMua/MDVQHNSach: this field exists only in version 2.1.0, not 2.0.1",
        f"{ND}/NMua/SHChieu: this field exists only in version 2.1.0, not 2.0.1",
        f"{ND}/NBan/MCHang: this field exists only in version 2.1.0, not 2.0.1",
        f"{ND}/NBan/TCHang: this field exists only in version 2.1.0, not 2.0.1",
        f"{TT}/HDCTTChinh: financial-leasing invoices need version 2.1.0",
    ]
    cccd = replace(BUYER, id_kind=IdKind.CITIZEN_ID, id_number="001099012345")
    with pytest.raises(ValidationError) as e:
        build_xml(make_invoice([goods()], buyer=cccd, version="2.0.1"))
    assert [str(p) for p in e.value.problems] == [
        f"{ND}/NMua/CCCDan: this field exists only in version 2.1.0, not 2.0.1"]


def test_identity_documents():
    cccd = Party(name="Nguyễn Văn A", id_kind=IdKind.CITIZEN_ID, id_number="001099012345")
    passport = Party(name="John Smith", id_kind=IdKind.PASSPORT, id_number="B1234567", country_code="")
    other = Party(name="Lê Thị B", id_kind=IdKind.OTHER, id_number="GPLX-123")
    for buyer, tag, version in ((cccd, "CCCDan", "2.1.0"), (passport, "SHChieu", "2.1.0")):
        inv = make_invoice([goods()], buyer=buyer, version=version)
        xml = build_xml(inv)
        assert tree(xml).findtext(f"DLHDon/NDHDon/NMua/{tag}") == buyer.id_number
        assert parse_xml(xml) == inv
    # an identity document without its own tag goes to TTKhac, in every version
    for version in ("2.1.0", "2.0.1"):
        inv = make_invoice([goods()], buyer=other, version=version)
        xml = build_xml(inv)
        assert texts(tree(xml), "DLHDon/NDHDon/NMua/TTKhac/TTin/DLieu") == ["OTHER:GPLX-123"]
        assert parse_xml(xml) == inv


def test_2_0_1_fields_are_refused_in_2_0_0_not_dropped():
    totals = Totals(D(0), D(0), D(0), "", total_non_taxable_deduction=D(0), total_other_deduction=D(1000))
    inv = make_invoice([goods()], version="2.0.0", totals=totals)
    with pytest.raises(ValidationError) as e:
        build_xml(inv)
    assert [str(p) for p in e.value.problems] == [
        f"{TOAN}/TGTKCThue: this field exists only from version 2.0.1",
        f"{TOAN}/TGTKhac: this field exists only from version 2.0.1",
    ]
    xml = build_xml(replace(inv, version="2.0.1"))
    assert tree(xml).findtext("DLHDon/NDHDon/TToan/TGTKhac") == "1000"
    assert validate_xml(xml) == []


def test_unknown_version_is_refused():
    with pytest.raises(ValidationError) as e:
        build_xml(make_invoice([goods()], version="3.0.0"))
    assert str(e.value.problems[0]) == f"{TT}/PBan: version '3.0.0' is not supported: use one of 2.0.0, 2.0.1, 2.1.0"
    xml = build_xml(make_invoice([goods()])).replace(b"2.1.0", b"9.9.9")
    assert problems_of(xml)[0] == f"{TT}/PBan: version '9.9.9' is not known: 2.0.0, 2.0.1, 2.1.0"


# --- templates and symbols -----------------------------------------------------------------------


def test_legacy_template_and_series_build():
    inv = make_invoice([goods()], template="01GTKT0/001", symbol="AA/17E")
    xml = build_xml(inv)
    assert tree(xml).findtext("DLHDon/TTChung/KHMSHDon") == "01GTKT0/001"
    assert tree(xml).findtext("DLHDon/TTChung/THDon") == "Hóa đơn giá trị gia tăng"
    assert parse_xml(xml) == inv


@pytest.mark.parametrize("template, symbol, path, start", [
    ("1", "C25TAA", f"{TT}/KHHDon", "symbol 'C25TAA' is for the year 2025"),
    ("1", "C26NAA", f"{TT}/KHHDon", "symbol letter 'N'"),
    ("1", "AA/17E", f"{TT}/KHHDon", "symbol 'AA/17E' belongs to the legacy regime"),
    ("0", "C26TAA", f"{TT}/KHMSHDon", "invalid template number '0'"),
])
def test_build_refuses_bad_template_or_symbol(template, symbol, path, start):
    inv = make_invoice([goods()], template=template, symbol=symbol, title="Hóa đơn")
    with pytest.raises(ValidationError) as e:
        build_xml(inv)
    assert [p.path for p in e.value.problems] == [path]
    assert e.value.problems[0].message.startswith(start)


def test_build_lists_every_problem_at_once():
    inv = make_invoice([goods("A", 2, 100000, "10%", amount=D(1))], symbol="C25TAA", number=None,
                       seller=replace(SELLER, tax_code="0100109107", address=""),
                       buyer=replace(BUYER, tax_code="12345"))
    with pytest.raises(ValidationError) as e:
        build_xml(inv)
    assert [p.path for p in e.value.problems] == [
        f"{TT}/KHHDon", f"{TT}/SHDon", f"{ND}/NBan/MST", f"{ND}/NBan/DChi", f"{ND}/NMua/MST",
        f"{ND}/DSHHDVu/HHDVu[1]/ThTien",
    ]
    assert build_xml(inv, check=False).startswith(b"<?xml")


def test_draft_without_number():
    inv = make_invoice([goods()], number=None)
    xml = build_xml(inv, require_number=False)
    assert tree(xml).find("DLHDon/TTChung/SHDon") is None
    assert problems_of(xml) == [f"{TT}/SHDon: invoice number is missing"]
    assert problems_of(xml, require_number=False) == []


@pytest.mark.parametrize("number, ok", [(1, True), (99999999, True), (0, False), (100000000, False)])
def test_invoice_number_range(number, ok):
    problems = check_invoice(make_invoice([goods()], number=number))
    assert (problems == []) is ok


# --- round trips ---------------------------------------------------------------------------------

LINE_MIXES = [
    lambda: [goods("A", 3, 1234567, "10%")],
    lambda: [goods("A", 2, 100000, "10%"), goods("B", 1, 5000, "8%"), amount_line("C", 7000, "KCT")],
    lambda: [amount_line(f"R{i}", 1000 * (i + 1), r) for i, r in enumerate(ALL_RATES)],
    lambda: [goods("A", "1.5", "99999.99", "5%", amount=D(150000)),
             amount_line("CK", 1000, "5%", kind=LineKind.DISCOUNT), note()],
    lambda: [Line("KM", kind=LineKind.PROMOTION, quantity=D(2), unit_price=D(0), amount=D(0),
                  tax_rate=TaxRate("0%")), goods("A", 1, 1, "KKKNT"), note("x" * 500)],
]
BUYERS = [
    BUYER,
    replace(BUYER, tax_code=BRANCH_MST),
    Party(name="Nguyễn Văn A", tax_code="001099012345"),
    Party(name="ACME Inc.", address="1 Main Street, Springfield, US"),
    Party(contact_name="Khách lẻ"),
    Party(name="Trần Thị C", id_kind=IdKind.CITIZEN_ID, id_number="079199012345"),
]
RELATIONS = [
    None,
    RelatedInvoice(RelationKind.REPLACEMENT, "1", "C26TAA", "17", date(2026, 1, 2), note="Thay thế"),
    RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "18", date(2026, 3, 2)),
    RelatedInvoice(RelationKind.ADJUSTMENT, "01GTKT0/001", "AA/17E", "0000019", date(2019, 9, 9),
                   invoice_type=RelatedInvoiceType.LEGACY_OTHER),
    RelatedInvoice(RelationKind.REPLACEMENT, list_number="BK/2026/1", list_date=date(2026, 3, 1)),
]


def _round_trip_cases():
    cases = []
    for k, (version, currency, rel, buyer) in enumerate(
            itertools.product(["2.1.0", "2.0.1", "2.0.0"], ["VND", "USD"], RELATIONS, BUYERS)):
        if version != "2.1.0" and ((rel and rel.list_number) or buyer.id_kind is IdKind.CITIZEN_ID):
            continue
        lines = LINE_MIXES[k % len(LINE_MIXES)]()
        if rel is not None and rel.relation is RelationKind.ADJUSTMENT and k % 2:
            lines = [replace(ln, amount=-ln.amount, quantity=None, unit_price=None) if ln.amount else ln
                     for ln in lines]
        cases.append(pytest.param(version, currency, rel, buyer, lines,
                                  id=f"{version}-{currency}-{k % len(LINE_MIXES)}-{k}"))
    return cases


@pytest.mark.parametrize("version, currency, rel, buyer, lines", _round_trip_cases())
def test_round_trip(version, currency, rel, buyer, lines):
    kw = {"exchange_rate": D("25400.5")} if currency == "USD" else {}
    if currency == "USD":
        lines = [replace(ln, quantity=None, unit_price=None, amount=ln.amount / 100) if ln.amount else ln
                 for ln in lines]
    inv = make_invoice(lines, version=version, currency=currency, related=rel, buyer=buyer,
                       payment_method="Chuyển khoản", **kw)
    xml = build_xml(inv)
    assert parse_xml(xml) == inv
    assert validate_xml(xml) == []
    assert build_xml(parse_xml(xml)) == xml


def test_round_trip_of_the_full_invoice():
    inv = full_invoice()
    xml = build_xml(inv)
    back = parse_xml(xml)
    assert back == inv
    assert back.authority_code == "00B2AF74F70B4E495FA0663F7475BC3BD8" and back.authority_code_id == "MCCQT1"
    assert back.data_id == "DuLieuKy"
    assert back.lines[0].tax_amount == 1500000 and back.lines[0].extra == (ExtraField("SoLo", "L01"),)


# --- validation ----------------------------------------------------------------------------------


@pytest.fixture
def xml():
    inv = make_invoice([goods("A", 2, 100000, "10%"), goods("B", 1, 50000, "5%")])
    return build_xml(inv).decode()


def test_valid_invoice_has_no_problems(xml):
    assert validate_xml(xml) == []
    assert validate_xml(xml.encode()) == []


@pytest.mark.parametrize("old, new, expected", [
    ("<SLuong>2</SLuong>", "<SLuong>2x</SLuong>",
     f"{ND}/DSHHDVu/HHDVu[1]/SLuong: '2x' is not a number (digits, optional '-', '.' for decimals)"),
    ("<SLuong>2</SLuong>", "<SLuong>1,5</SLuong>",
     f"{ND}/DSHHDVu/HHDVu[1]/SLuong: '1,5' is not a number (digits, optional '-', '.' for decimals)"),
    ("<DGia>100000</DGia>", "<DGia>1.1234567</DGia>",
     f"{ND}/DSHHDVu/HHDVu[1]/DGia: '1.1234567' has more than 6 decimals"),
    ("<DGia>100000</DGia>", "<DGia>1234567890123456789012</DGia>",
     f"{ND}/DSHHDVu/HHDVu[1]/DGia: '1234567890123456789012' has more than 21 digits"),
    ("<SHDon>123</SHDon>", "<SHDon>123456789</SHDon>", f"{TT}/SHDon: '123456789' has more than 8 digits"),
    ("<SHDon>123</SHDon>", "<SHDon>12a</SHDon>", f"{TT}/SHDon: '12a' is not a whole number"),
    ("<NLap>2026-03-15</NLap>", "<NLap>15/03/2026</NLap>",
     f"{TT}/NLap: '15/03/2026' is not a date written YYYY-MM-DD"),
    ("<THHDVu>A</THHDVu>", "<THHDVu>" + "Á" * 501 + "</THHDVu>",
     f"{ND}/DSHHDVu/HHDVu[1]/THHDVu: is 501 characters long; at most 500 are allowed"),
    ("<DVTTe>VND</DVTTe>", "<DVTTe>VNDX</DVTTe>", f"{TT}/DVTTe: is 4 characters long; at most 3 are allowed"),
    ("<STT>1</STT>", "<STT>1</STT><GhiChu>x</GhiChu>", f"{ND}/DSHHDVu/HHDVu[1]/GhiChu: unknown element in HHDVu"),
    ("</DSCKS>", "<Foo/></DSCKS>", "HDon/DSCKS/Foo: unknown element in DSCKS"),
    ("<DChi>12 Đường Số 1, Phường Sài Gòn, TP. Hồ Chí Minh</DChi>", "",
     f"{ND}/NBan/DChi: mandatory element is missing"),
    ("<TgTTTBChu>", "<TgTTTBChuX>", None),  # not well-formed: checked below
    ("<STT>2</STT><THHDVu>B</THHDVu>", "<THHDVu>B</THHDVu><STT>2</STT>",
     f"{ND}/DSHHDVu/HHDVu[2]/STT: is out of order: STT must come before THHDVu"),
    ("<TgTTTBSo>272500</TgTTTBSo>", "<TgTTTBSo>280000</TgTTTBSo>",
     f"{TOAN}/TgTTTBSo: 250 000 + 22 500 VAT = 272 500, the total says 280 000"),
    ("<TChat>1</TChat><STT>2</STT>", "<TChat>7</TChat><STT>2</STT>",
     f"{ND}/DSHHDVu/HHDVu[2]/TChat: 7 is not a line nature (1 to 4)"),
    ("<TSuat>5%</TSuat>", "<TSuat>7%</TSuat>",
     f"{ND}/DSHHDVu/HHDVu[2]/TSuat: unknown VAT rate '7%': use 0%, 5%, 8%, 10%, KCT, KKKNT or KHAC:x% "
     "(e.g. KHAC:3.5%)"),
    ('<DLHDon Id="data">', "<DLHDon>", "HDon/DLHDon/@Id: the Id attribute is required (the signature refers to it)"),
    ("<HTTToan>TM/CK</HTTToan>", "", f"{TT}/HTTToan: mandatory in version 2.1.0"),
    ("<MST>0312345673</MST>", "<MST>0312345678</MST>",
     f"{ND}/NBan/MST: tax code (MST) '0312345678' is not valid: its check digit is wrong"),
    ("<KHHDon>C26TAA</KHHDon>", "<KHHDon>C25TAA</KHHDon>",
     f"{TT}/KHHDon: symbol 'C25TAA' is for the year 2025 but the invoice is issued on 15/03/2026: "
     "use the series of 2026"),
    ("<NLap>2026-03-15</NLap>", "<NLap>2026-03-15</NLap><NLap>2026-03-15</NLap>",
     f"{TT}/NLap: appears more than once"),
    ("<TThue>2500</TThue>", "", f"{TOAN}/THTTLTSuat/LTSuat[2]/TThue: VAT amount is required for rate 5%"),
    ("<ThTien>50000</ThTien><TSuat>5%</TSuat></HHDVu>", "<TSuat>5%</TSuat></HHDVu>",
     f"{ND}/DSHHDVu/HHDVu[2]/ThTien: amount is required except on note lines (TChat 4)"),
    ("<Ten>CÔNG TY CỔ PHẦN KHÁCH HÀNG MẪU</Ten>", "",
     f"{ND}/NMua/Ten: the buyer has neither a name nor a contact name"),
    ("<TChat>1</TChat><STT>1</STT>", "<TChat>1<X/></TChat><STT>1</STT>",
     f"{ND}/DSHHDVu/HHDVu[1]/TChat: must hold a value, not elements"),
    ("<NDHDon>", "<NDHDon>text", f"{ND}: text is not allowed here"),
])
def test_each_problem_is_reported_with_its_path(xml, old, new, expected):
    assert old in xml
    bad = xml.replace(old, new, 1)
    if expected is None:
        assert problems_of(bad)[0].startswith("not a well-formed XML file")
        return
    assert expected in problems_of(bad)


def test_wrong_totals_name_the_amounts(xml):
    bad = xml.replace("<TgTThue>22500</TgTThue>", "<TgTThue>22501</TgTThue>")
    assert problems_of(bad) == [
        f"{TOAN}/TgTThue: the breakdown adds up to 22 500 of VAT, the total says 22 501",
        f"{TOAN}/TgTTTBSo: 250 000 + 22 501 VAT = 272 501, the total says 272 500",
    ]
    bad = xml.replace("<ThTien>200000</ThTien>", "<ThTien>210000</ThTien>", 1)
    assert problems_of(bad) == [
        f"{ND}/DSHHDVu/HHDVu[1]/ThTien: line 1: 2 × 100 000 = 200 000, but the amount is 210 000",
        f"{TOAN}/THTTLTSuat/LTSuat[TSuat=10%]/ThTien: lines at 10% add up to 210 000, the breakdown says 200 000",
    ]


def test_every_problem_is_listed_structural_and_business_together(xml):
    bad = (xml.replace("<THHDVu>A</THHDVu>", "<THHDVu>" + "x" * 600 + "</THHDVu>")
           .replace("<MST>0312345673</MST>", "<MST>0312345678</MST>")
           .replace("<STT>1</STT>", "<STT>1</STT><Foo/>")
           .replace("<TgTTTBSo>272500</TgTTTBSo>", "<TgTTTBSo>1</TgTTTBSo>")
           .replace("<SLuong>2</SLuong>", "<SLuong>abc</SLuong>"))
    assert problems_of(bad) == [
        f"{ND}/DSHHDVu/HHDVu[1]/Foo: unknown element in HHDVu",
        f"{ND}/DSHHDVu/HHDVu[1]/THHDVu: is 600 characters long; at most 500 are allowed",
        f"{ND}/DSHHDVu/HHDVu[1]/SLuong: 'abc' is not a number (digits, optional '-', '.' for decimals)",
    ]
    # once the numbers are readable, the business checks join the structural problems
    bad = bad.replace("<SLuong>abc</SLuong>", "<SLuong>2</SLuong>")
    assert problems_of(bad) == [
        f"{ND}/DSHHDVu/HHDVu[1]/Foo: unknown element in HHDVu",
        f"{ND}/DSHHDVu/HHDVu[1]/THHDVu: is 600 characters long; at most 500 are allowed",
        f"{ND}/NBan/MST: tax code (MST) '0312345678' is not valid: its check digit is wrong",
        f"{TOAN}/TgTTTBSo: 250 000 + 22 500 VAT = 272 500, the total says 1",
    ]


def test_missing_mandatory_element_is_not_reported_twice(xml):
    bad = xml.replace("<MST>0312345673</MST>", "")
    assert problems_of(bad) == [f"{ND}/NBan/MST: mandatory element is missing"]


def test_out_of_order_is_accepted_when_lenient(xml):
    bad = xml.replace("<STT>1</STT><THHDVu>A</THHDVu>", "<THHDVu>A</THHDVu><STT>1</STT>")
    assert problems_of(bad) == [f"{ND}/DSHHDVu/HHDVu[1]/STT: is out of order: STT must come before THHDVu"]
    assert problems_of(bad, strict_order=False) == []


def test_namespace_on_hdon_children_is_refused(xml):
    assert problems_of(xml.replace("<NDHDon>", '<NDHDon xmlns="urn:x">')) == [
        f"{ND}: elements of HDon have no namespace"]
    bad = xml.replace("<DLHDon ", '<x:DLHDon xmlns:x="urn:x" ').replace("</DLHDon>", "</x:DLHDon>")
    assert problems_of(bad) == ["HDon/DLHDon: elements of HDon have no namespace"]
    assert problems_of(xml.replace("<HDon>", '<HDon xmlns="urn:x">')) == [
        "{urn:x}HDon: the root element must be HDon (without namespace), a TDiep carrying one, or a pre-2022 "
        "inv:invoice"]
    # a namespace declaration that no element uses is harmless
    assert problems_of(xml.replace("<HDon>", '<HDon xmlns:ds="http://www.w3.org/2000/09/xmldsig#">')) == []


def test_doctype_is_refused(xml):
    bad = xml.replace("?>", '?><!DOCTYPE HDon [<!ENTITY e "boom">]>', 1).replace(
        "<THHDVu>A</THHDVu>", "<THHDVu>&e;</THHDVu>")
    assert problems_of(bad) == ["XML files with a DOCTYPE are refused (entity expansion is not allowed)"]
    with pytest.raises(ValidationError):
        parse_xml(bad)


def test_more_than_2_mb_is_refused(xml):
    bad = xml.replace("<THHDVu>A</THHDVu>", "<THHDVu>" + "A" * (2 * 1024 * 1024) + "</THHDVu>")
    size = len(bad.encode())
    assert problems_of(bad) == [f"the XML file is {size} bytes; the limit is 2097152 bytes"]
    with pytest.raises(ValidationError):
        parse_xml(bad)


def test_not_xml_and_wrong_root():
    assert problems_of(b"not xml")[0].startswith("not a well-formed XML file")
    assert problems_of(b"<Invoice/>") == ["Invoice: the root element must be HDon (without namespace), a TDiep "
                                          "carrying one, or a pre-2022 inv:invoice"]
    with pytest.raises(ValidationError) as e:
        parse_xml(b"<Invoice/>")
    assert e.value.problems == (Problem("Invoice", "the root element is 'Invoice', expected 'HDon'"),)


def test_parse_lists_every_unreadable_value(xml):
    bad = xml.replace("<SLuong>2</SLuong>", "<SLuong>x</SLuong>").replace(
        "<NLap>2026-03-15</NLap>", "<NLap>2026-13-15</NLap>")
    with pytest.raises(ValidationError) as e:
        parse_xml(bad)
    assert [str(p) for p in e.value.problems] == [
        f"{ND}/DSHHDVu/HHDVu[1]/SLuong: 'x' is not a number",
        f"{TT}/NLap: '2026-13-15' is not a date (YYYY-MM-DD)",
    ]


def test_signature_must_sit_in_a_dscks_slot(xml):
    sig = '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/>'
    assert problems_of(xml.replace("<NBan/>", f"<NBan>{sig}</NBan>")) == []
    # nested one level too deep
    bad = xml.replace("<NBan/>", f"<NBan><X>{sig}</X></NBan>")
    assert "HDon/DSCKS: a Signature must sit directly in NBan, NMua, CQT or CCKSKhac" in problems_of(bad)


def test_research_sample_reports_exactly_its_wrong_tax_codes():
    data = (DATA / "unsigned.xml").read_bytes()
    assert problems_of(data) == [
        f"{ND}/NBan/MST: tax code (MST) '0312345678' is not valid: its check digit is wrong",
        f"{ND}/NMua/MST: tax code (MST) '0109876543' is not valid: its check digit is wrong",
        f"{TT}/MSTTCGP: tax code (MST) '0312345678' is not valid: its check digit is wrong",
    ]
    inv = parse_xml(data)
    assert (inv.template, inv.symbol, inv.number, inv.issue_date) == ("1", "C25TAA", 123, date(2025, 7, 15))
    assert [(b.rate.code, b.taxable_amount, b.tax_amount) for b in inv.tax_breakdown] == [
        ("10%", 15000000, 1500000), ("8%", 20000000, 1600000)]
    assert inv.totals.total == 38100000
    assert [ln.kind for ln in inv.lines] == [LineKind.GOODS, LineKind.GOODS, LineKind.NOTE]
    # with valid tax codes it is a valid invoice, and our builder writes it back in the same structure
    fixed = replace(inv, seller=replace(inv.seller, tax_code="0312345673"),
                    buyer=replace(inv.buyer, tax_code="0101234565"), provider_tax_code="0312345673")
    fixed = replace(fixed, qr_payload=invoice_qr_payload(fixed))  # the QR names the seller's MST
    assert check_invoice(fixed) == []
    rebuilt = build_xml(fixed)
    original = etree.fromstring(data)
    assert [e.tag for e in tree(rebuilt).iter()] == [e.tag for e in original.iter()]


# --- number format -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (D("1500000"), "1500000"), (D("1.5E+6"), "1500000"), (D("1.50"), "1.5"), (D("0.000001"), "0.000001"),
    (D("-1100000"), "-1100000"), (D("-0"), "0"), (D("0.00"), "0"), (7, "7"), (D("3.70"), "3.7"),
])
def test_fmt_num(value, text):
    assert fmt_num(value) == text


def test_build_tree_writes_no_whitespace_between_tags():
    root = build_tree(make_invoice([goods()]))
    assert all(not (e.tail or "").strip() and e.tail is None for e in root.iter())


@pytest.mark.parametrize("name", ["Hàng\x01A", "Hàng\x00A", "Hàng\x1bA"])
def test_control_character_in_a_value_is_a_named_problem(name):
    """lxml cannot write control characters: the build names the field instead of failing with ValueError."""
    with pytest.raises(ValidationError) as e:
        build_xml(make_invoice([goods(name, 1, 100_000, "10%")]))
    assert str(e.value.problems[0].path) == "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu/THHDVu"
    assert "cannot carry" in e.value.problems[0].message
