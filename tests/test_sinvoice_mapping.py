"""Viettel SInvoice ``commonInvoiceInput`` ⇄ Invoice: the seed-001 examples, adjustments, replacement, codes, refusals."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from pathlib import Path

import pytest

from vn_einvoice.amounts import check_amounts, complete
from vn_einvoice.codes import EIGHT, FIVE, KCT, KKKNT, TEN, ZERO, TaxRate
from vn_einvoice.document import (
    ExtraField,
    Fee,
    IdKind,
    Invoice,
    Line,
    LineKind,
    Party,
    RelatedInvoice,
    RelatedInvoiceType,
    RelationKind,
    TaxBreakdown,
)
from vn_einvoice.errors import ValidationError
from vn_einvoice.providers.sinvoice_mapping import META, SELECTION, TAX_CODES, from_sinvoice, to_sinvoice

DATA = Path(__file__).parent / "data" / "sinvoice"
GMT7 = timezone(timedelta(hours=7))
UUID = "5d7a3c1e-8f2b-4a6d-9c3e-1b2a3c4d5e6f"


def seed(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text("utf-8"))


SEED_BODIES = {
    name: seed(name)
    for name in ("original", "adjustment_money", "adjustment_information", "custom_fields", "draft_original")
}
SEED_BODIES["batch[0]"] = seed("batch")["commonInvoiceInputs"][0]


def same(a, b) -> bool:
    """JSON equality: 35000000 == 35000000.0, but true != 1 and "1" != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return D(str(a)) == D(str(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def differences(a, b, path="") -> set[str]:
    """The JSON paths where two bodies differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = set()
        for k in a.keys() | b.keys():
            p = f"{path}.{k}".lstrip(".")
            out |= {p} if (k in a) != (k in b) else differences(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return set().union(*(differences(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))))
    return set() if same(a, b) else {path}


def paths(excinfo) -> list[str]:
    return [p.path for p in excinfo.value.problems]


SELLER = Party(name="Công ty TNHH Ánh Dương", tax_code="0100109106", address="1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
               phone="02438251234", email="ketoan@anhduong.vn", bank_account="0011004455667",
               bank_name="Vietcombank")
BUYER = Party(name="Công ty Cổ phần Sao Mai", tax_code="0312770607", address="12 Lê Lợi, Quận 1, TP Hồ Chí Minh",
              contact_name="Nguyễn Văn An", email="an.nguyen@saomai.vn", phone="0988236303")


def make(lines, **changes) -> Invoice:
    base = Invoice(template="01GTKT0/001", symbol="AA/24E", issue_date=date(2024, 3, 15), seller=SELLER,
                   buyer=BUYER, lines=tuple(lines), payment_method="TM/CK")
    return complete(base.replace(**changes))


def goods(name, quantity, price, rate=TEN, **kw) -> Line:
    amount = D(quantity) * D(price)
    tax = None if rate.percent is None else amount * rate.percent / 100
    return Line(name=name, unit="cái", quantity=D(quantity), unit_price=D(price), amount=amount, tax_rate=rate,
                tax_amount=tax, **kw)


ADJUSTED = RelatedInvoice(RelationKind.ADJUSTMENT, template="01GTKT0/001", symbol="AA/24E", number="0000123",
                          issue_date=date(2024, 3, 1), invoice_type=RelatedInvoiceType.LEGACY_OTHER,
                          note="Điều chỉnh giảm đơn giá bút bi của hóa đơn AA/24E0000123")
AGREEMENT = {"agreement_name": "Biên bản điều chỉnh 01/2024", "agreement_date": date(2024, 3, 10)}


# --- the seed's examples -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_BODIES)
def test_seed_example_round_trips_exactly(name):
    body = SEED_BODIES[name]
    assert same(to_sinvoice(from_sinvoice(body)), body)
    assert same(to_sinvoice(from_sinvoice(json.dumps(body, ensure_ascii=False))), body)


# What the mapping alone (without the residue of the body as read) writes differently, and why.
EMPTY_BLOCKS = {"extAttribute", "deliveryInfo", "discountItemInfo"}  # empty blocks are not written
NORMALISATIONS = {
    "original": EMPTY_BLOCKS | {"metadata"},
    "adjustment_money": EMPTY_BLOCKS | {
        "metadata",
        "buyerInfo.buyerIdNo", "buyerInfo.buyerIdType",  # written in buyerInfo too, not only in generalInvoiceInfo
        "generalInvoiceInfo.originalInvoiceIssueDate",  # the document keeps the date, written as midnight GMT+7
        "itemInfo[0].adjustmentTaxAmount",  # 1.0 in the seed, written as the line VAT (0)
        "summarizeInfo.isDiscountAmtPos",  # false for a zero discount in the seed
        "taxBreakdowns[0].taxableAmountPos", "taxBreakdowns[0].taxAmountPos",  # written on money adjustments
    },
    "adjustment_information": EMPTY_BLOCKS | {"metadata", "generalInvoiceInfo.originalInvoiceIssueDate"},
    "custom_fields": EMPTY_BLOCKS,
    "draft_original": EMPTY_BLOCKS,
    "batch[0]": set(),
}


@pytest.mark.parametrize("name", SEED_BODIES)
def test_seed_example_mapping_alone_differs_only_by_documented_normalisations(name):
    body = SEED_BODIES[name]
    invoice = from_sinvoice(body)
    written = to_sinvoice(invoice, exact=False)
    assert differences(written, body) == NORMALISATIONS[name]
    assert from_sinvoice(written) == invoice  # nothing of the document is lost


def test_seed_original_invoice():
    inv = from_sinvoice(SEED_BODIES["original"])
    assert (inv.template, inv.symbol, inv.issue_date, inv.currency) == ("01GTKT0/170", "AA/17E", date(2018, 1, 30), "VND")
    assert inv.title == "Hóa đơn giá trị gia tăng"
    assert inv.related is None and inv.number is None and inv.payment_method == "TM"
    assert inv.buyer == Party(name="Đặng thị thanh tâm", address="HN VN", phone="11111",
                              id_kind=IdKind.CITIZEN_ID, id_number="123456789")
    assert inv.seller == Party(name="Đặng thị thanh tâm", tax_code="0100109106-501", address="test",
                               phone="0123456789", email="PerformanceTest1@viettel.com.vn",
                               bank_name="vtbank", bank_account="23423424")
    assert inv.lines == (Line(name="Khóa học tiếng anh", code="ENGLISH_COURSE", unit="khóa học", quantity=D(10),
                              unit_price=D(3500000), discount_rate=D(0), discount_amount=D(150000),
                              amount=D(35000000), tax_rate=TEN, tax_amount=D(0), seq=1),)
    t = inv.totals
    assert (t.total_before_tax, t.total_tax, t.total, t.total_discount, t.total_other_deduction) == (
        35000000, 3500000, 38500000, None, 0)
    assert t.total_in_words == "Ba mươi tám triệu năm trăm nghìn đồng chẵn"
    assert inv.tax_breakdown == (TaxBreakdown(TEN, D(35000000), D(3500000)),)
    meta = inv.meta[META]
    assert meta["issued_at"] == datetime(2018, 1, 30, 15, 40, 25, 626000, tzinfo=GMT7)
    assert (meta["transaction_uuid"], meta["user_name"]) == ("123e4567-e89b-12d3-a456-426655440000", "user 1")
    assert (meta["payment_status"], meta["cus_get_invoice_right"]) == (True, True)
    assert meta["meter_reading"] == [{"previousIndex": "5454", "currentIndex": "244", "factor": "22", "amount": "2"},
                                     {"previousIndex": "44", "currentIndex": "44", "factor": "33", "amount": "3"}]
    # the seed's own example does not deduct its itemDiscount: the document says so
    assert [p.path for p in check_amounts(inv)] == ["HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/ThTien"]


def test_seed_money_adjustment():
    inv = from_sinvoice(SEED_BODIES["adjustment_money"])
    assert inv.is_adjustment and (inv.template, inv.symbol, inv.issue_date) == ("02GTTT0/012", "AA/17E", date(2017, 9, 11))
    assert inv.related == RelatedInvoice(
        RelationKind.ADJUSTMENT, symbol="AA/17E", number="0003470", issue_date=date(2017, 9, 11),
        invoice_type=RelatedInvoiceType.LEGACY_OTHER,
        note="Điều chỉnh tăng tiền hàng, tiền thuế cho hóa đơn điện tử số AA/17E0003470 lập ngày 11/09/2017 số tiền: 52.500 ")
    # company buyer: legal name is the name, buyerName the purchaser (mojibake kept as written)
    assert (inv.buyer.name, inv.buyer.contact_name, inv.buyer.tax_code) == (
        "Trung tâm phần mềm Viễn thông Viettel", "Trá»‹nh Thanh HÃ²a", "6200000230")
    assert (inv.buyer.id_kind, inv.buyer.id_number) == (IdKind.CITIZEN_ID, "111905252")
    (line,) = inv.lines
    assert (line.amount, line.unit_price, line.tax_rate, line.tax_amount) == (50000, 50000, ZERO, 0)
    assert line.tax_rate != KCT  # taxPercentage 0 is 0 %, not "no tax" (Odoo sends -2 for both)
    assert inv.tax_breakdown == (TaxBreakdown(FIVE, D(50000), D(2500)),)
    t = inv.totals  # every is…Pos flag of the seed is false: a decrease
    assert (t.total_before_tax, t.total_tax, t.total, t.total_discount) == (-50000, -2500, -52500, None)
    meta = inv.meta[META]
    assert (meta["adjustment_invoice_type"], meta["agreement_name"], meta["agreement_date"]) == (
        "1", "sdfsdf", date(2017, 9, 10))
    assert meta["meter_reading"] == [] and meta["payment_status"] is True
    # the example is inconsistent (line at 0 %, breakdown at 5 %, increase lines, decrease totals)
    assert [p.path.rsplit("/", 1)[1] for p in check_amounts(inv)] == ["LTSuat", "LTSuat", "TgTCThue", "TgTThue"]


def test_seed_information_adjustment():
    inv = from_sinvoice(SEED_BODIES["adjustment_information"])
    assert inv.related.relation is RelationKind.ADJUSTMENT and inv.related.number == "0003470"
    assert inv.meta[META]["adjustment_invoice_type"] == "2"
    assert (inv.buyer.name, inv.buyer.contact_name) == ("Trung tâm phần mềm Viettel", "Trịnh Thanh Hòa 123")
    (line,) = inv.lines
    assert (line.kind, line.amount, line.tax_amount, line.tax_rate, line.unit) == (LineKind.GOODS, 0, 0, None, "")
    # empty summarizeInfo: totals computed
    assert (inv.totals.total, inv.totals.total_in_words, inv.tax_breakdown) == (0, "Không đồng", ())
    assert inv.meta[META]["payment_status"] is None  # absent, and not written back
    body = to_sinvoice(inv, exact=False)
    assert body["summarizeInfo"] == {} and body["taxBreakdowns"] == []
    assert "paymentStatus" not in body["generalInvoiceInfo"] and "isIncreaseItem" not in body["itemInfo"][0]
    assert body["generalInvoiceInfo"]["adjustmentInvoiceType"] == "2"


def test_seed_custom_fields_metadata():
    inv = from_sinvoice(SEED_BODIES["custom_fields"])
    assert inv.symbol == "" and inv.template == "01GTKT0/028"
    assert inv.extra == (
        ExtraField("buyerDateOfBirth", "2017-12-23T16:05:33.737", "dateTime"),
        ExtraField("buyerCode", "12323", "numeric"),
        ExtraField("buyerDepartments", "Tim mach", "string"),
        ExtraField("invoiceReason", "Khám bệnh", "string"),
    )
    assert inv.meta[META]["custom_fields"]["buyerCode"] == {"id": 83, "label": "Mã bệnh nhân"}
    written = to_sinvoice(inv, exact=False)["metadata"]
    assert written[0] == {"invoiceCustomFieldId": 82, "keyTag": "buyerDateOfBirth", "dateValue": "1514019933737",
                          "valueType": "date", "keyLabel": "Ngày sinh"}
    assert written[1]["numberValue"] == 12323 and written[2]["stringValue"] == "Tim mach"


def test_seed_batch_entries_map():
    (entry,) = seed("batch")["commonInvoiceInputs"]
    inv = from_sinvoice(entry)
    assert (inv.template, inv.issue_date, inv.totals.total) == ("01GTKT0/170", date(2018, 1, 30), 38500000)
    with pytest.raises(ValidationError) as e:
        from_sinvoice(seed("batch"))
    assert paths(e) == ["commonInvoiceInputs"]


def test_read_body_changed_afterwards_is_written_by_the_mapping():
    inv = from_sinvoice(SEED_BODIES["adjustment_money"])
    changed = inv.replace(buyer=replace(inv.buyer, email="moi@viettel.com.vn"))
    body = to_sinvoice(changed)
    assert "transactionUuid" not in body["generalInvoiceInfo"]  # never re-use a transaction for another body
    assert "extAttribute" not in body  # residue of the whole invoice dropped
    assert body["buyerInfo"]["buyerIdNo"] == "111905252"  # residue of the buyer dropped
    assert body["itemInfo"][0]["adjustmentTaxAmount"] == 1.0  # the line is unchanged: its residue stays
    assert body["meterReading"] == [] and body["generalInvoiceInfo"]["additionalReferenceDesc"] == "sdfsdf"
    assert to_sinvoice(changed, transaction_uuid=UUID)["generalInvoiceInfo"]["transactionUuid"] == UUID


# --- adjustments, replacement --------------------------------------------------------------------


def test_money_adjustment_decrease_writes_positive_amounts_and_false_flags():
    line = Line(name="Bút bi", unit="cái", quantity=D(10), unit_price=D(-1000), amount=D(-10000), tax_rate=TEN,
                tax_amount=D(-1000))
    inv = make([line], related=ADJUSTED)
    body = to_sinvoice(inv, transaction_uuid=UUID, **AGREEMENT)
    g = body["generalInvoiceInfo"]
    assert (g["adjustmentType"], g["adjustmentInvoiceType"], g["originalInvoiceId"]) == ("5", "1", "AA/24E0000123")
    assert (g["originalInvoiceIssueDate"], g["additionalReferenceDate"], g["invoiceIssuedDate"]) == (
        1709226000000, 1710003600000, 1710435600000)
    assert (g["originalTemplateCode"], g["additionalReferenceDesc"]) == ("01GTKT0/001", "Biên bản điều chỉnh 01/2024")
    assert g["invoiceNote"] == "Điều chỉnh giảm đơn giá bút bi của hóa đơn AA/24E0000123"
    assert body["itemInfo"] == [{
        "lineNumber": 1, "itemName": "Bút bi", "unitName": "cái", "unitPrice": 1000, "quantity": 10,
        "itemTotalAmountWithoutTax": 10000, "taxPercentage": 10, "taxAmount": 1000, "adjustmentTaxAmount": 1000,
        "isIncreaseItem": False,
    }]
    s = body["summarizeInfo"]
    assert (s["totalAmountWithoutTax"], s["totalTaxAmount"], s["totalAmountWithTax"]) == (10000, 1000, 11000)
    assert (s["isTotalAmountPos"], s["isTotalTaxAmountPos"], s["isTotalAmtWithoutTaxPos"]) == (False, False, False)
    assert body["taxBreakdowns"] == [{"taxPercentage": 10, "taxableAmount": 10000, "taxAmount": 1000,
                                      "taxableAmountPos": False, "taxAmountPos": False}]
    back = from_sinvoice(body)
    assert back == inv and back.lines[0].unit_price == -1000 and back.totals.total == -11000


def test_money_adjustment_with_increase_and_decrease_lines():
    up = goods("Vở", 2, 5000)
    down = Line(name="Bút bi", unit="cái", quantity=D(10), unit_price=D(-100), amount=D(-1000), tax_rate=TEN,
                tax_amount=D(-100))
    inv = make([up, down], related=ADJUSTED)
    body = to_sinvoice(inv, adjustment_type="money", **AGREEMENT)
    assert [it["isIncreaseItem"] for it in body["itemInfo"]] == [True, False]
    assert [it["itemTotalAmountWithoutTax"] for it in body["itemInfo"]] == [10000, 1000]
    assert body["summarizeInfo"]["totalAmountWithTax"] == 9900 and body["summarizeInfo"]["isTotalAmountPos"] is True
    assert from_sinvoice(body).lines == inv.lines


def test_information_adjustment_is_inferred_or_asked():
    # as in the seed: a line that only says what changes, with zero amounts
    line = Line(name="Điều chỉnh địa chỉ người mua: 12 Lê Lợi → 14 Lê Lợi", amount=D(0), tax_amount=D(0))
    inv = make([line], related=ADJUSTED)
    body = to_sinvoice(inv, **AGREEMENT)
    assert body["generalInvoiceInfo"]["adjustmentInvoiceType"] == "2"
    assert body["summarizeInfo"] == {} and body["taxBreakdowns"] == []
    assert body["itemInfo"] == [{"lineNumber": 1, "itemName": "Điều chỉnh địa chỉ người mua: 12 Lê Lợi → 14 Lê Lợi",
                                 "itemTotalAmountWithoutTax": 0, "taxAmount": 0}]
    assert from_sinvoice(body) == inv
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv.replace(lines=(Line(name="Điều chỉnh địa chỉ"),)), **AGREEMENT)
    assert paths(e) == ["itemInfo[0].itemTotalAmountWithoutTax", "itemInfo[0].taxAmount"]
    money = make([goods("Vở", 1, 5000)], related=ADJUSTED)
    assert to_sinvoice(money, **AGREEMENT)["generalInvoiceInfo"]["adjustmentInvoiceType"] == "1"
    forced = to_sinvoice(money, adjustment_type="information", **AGREEMENT)
    assert forced["generalInvoiceInfo"]["adjustmentInvoiceType"] == "2" and forced["summarizeInfo"] == {}
    with pytest.raises(ValidationError) as e:
        to_sinvoice(money, adjustment_type="3", **AGREEMENT)
    assert paths(e) == ["generalInvoiceInfo.adjustmentInvoiceType"]


def test_replacement_invoice():
    replaced = RelatedInvoice(RelationKind.REPLACEMENT, template="01GTKT0/001", symbol="AA/24E", number="123",
                              issue_date=date(2024, 3, 1), invoice_type=RelatedInvoiceType.LEGACY_OTHER)
    inv = make([goods("Vở", 2, 5000)], related=replaced)
    body = to_sinvoice(inv, **AGREEMENT)
    g = body["generalInvoiceInfo"]
    assert (g["adjustmentType"], g["originalInvoiceId"], g["originalInvoiceIssueDate"]) == ("3", "AA/24E0000123",
                                                                                           1709226000000)
    assert "adjustmentInvoiceType" not in g
    assert g["invoiceNote"] == "Thay thế cho hóa đơn điện tử số AA/24E0000123 lập ngày 01/03/2024"
    assert "isIncreaseItem" not in body["itemInfo"][0] and "isTotalAmountPos" not in body["summarizeInfo"]
    back = from_sinvoice(body)
    assert back.related == RelatedInvoice(RelationKind.REPLACEMENT, template="01GTKT0/001", symbol="AA/24E",
                                          number="0000123", issue_date=date(2024, 3, 1),
                                          invoice_type=RelatedInvoiceType.LEGACY_OTHER, note=g["invoiceNote"])
    assert back.lines == inv.lines and back.totals == inv.totals
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert paths(e) == ["generalInvoiceInfo.additionalReferenceDesc", "generalInvoiceInfo.additionalReferenceDate"]
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv.replace(related=RelatedInvoice(RelationKind.REPLACEMENT)), **AGREEMENT)
    assert set(paths(e)) == {"generalInvoiceInfo.originalInvoiceId", "generalInvoiceInfo.originalInvoiceIssueDate"}


# --- templates, series, dates, currency ------------------------------------------------------------


def test_legacy_template_and_series_are_sent_as_they_are():
    inv = make([goods("Vở", 2, 5000)], number=42)
    g = to_sinvoice(inv)["generalInvoiceInfo"]
    assert (g["invoiceType"], g["templateCode"], g["invoiceSeries"], g["invoiceNo"]) == (
        "01GTKT", "01GTKT0/001", "AA/24E", "AA/24E0000042")
    assert from_sinvoice(to_sinvoice(inv)).number == 42


def test_current_template_needs_sinvoice_template_code():
    inv = make([goods("Vở", 2, 5000)], template="1", symbol="C24TAA")
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert paths(e) == ["generalInvoiceInfo.templateCode"]
    body = to_sinvoice(inv, template_code="1/001")
    g = body["generalInvoiceInfo"]
    assert (g["invoiceType"], g["templateCode"], g["invoiceSeries"]) == ("1", "1/001", "C24TAA")
    back = from_sinvoice(body)
    assert (back.template, back.meta[META]["template_code"]) == ("1", "1/001") and back == inv
    assert to_sinvoice(back)["generalInvoiceInfo"]["templateCode"] == "1/001"
    # an original invoice number of the current regime: series + number
    body["generalInvoiceInfo"].update(adjustmentType="3", originalInvoiceId="K24TUT01", originalTemplateCode="1/001",
                                      originalInvoiceIssueDate=1709226000000)
    rel = from_sinvoice(body).related
    assert (rel.symbol, rel.number, rel.template, rel.invoice_type) == ("K24TUT", "01", "1", RelatedInvoiceType.DECREE_123)


def test_template_and_series_must_agree_and_match_the_year():
    body = copy.deepcopy(SEED_BODIES["original"])
    body["generalInvoiceInfo"]["invoiceSeries"] = "C18TAA"
    with pytest.raises(ValidationError) as e:
        from_sinvoice(body)
    assert paths(e) == ["generalInvoiceInfo.invoiceSeries"]
    inv = make([goods("Vở", 1, 5000)], symbol="AA/25E")  # series registered in 2025, invoice of 2024
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert paths(e) == ["generalInvoiceInfo.invoiceSeries"]


@pytest.mark.parametrize("value, expected", [
    (1704043800000, datetime(2024, 1, 1, 0, 30, tzinfo=GMT7)),  # 2023-12-31 17:30 UTC is 1 January in Vietnam
    ("1704043800000", datetime(2024, 1, 1, 0, 30, tzinfo=GMT7)),
    ("2024-01-01", datetime(2024, 1, 1, tzinfo=GMT7)),
    ("2023-12-31T17:30:00.000Z", datetime(2024, 1, 1, 0, 30, tzinfo=GMT7)),
    ("2024-01-01T00:30:00.000+0700", datetime(2024, 1, 1, 0, 30, tzinfo=GMT7)),
    ("Sun, 31 Dec 2023 17:30:00 GMT", datetime(2024, 1, 1, 0, 30, tzinfo=GMT7)),
])
def test_issue_date_is_taken_in_gmt7(value, expected):
    body = copy.deepcopy(SEED_BODIES["batch[0]"])
    body["generalInvoiceInfo"].update(invoiceIssuedDate=value, invoiceSeries="AA/17E")
    inv = from_sinvoice(body)
    assert inv.issue_date == date(2024, 1, 1) and inv.meta[META]["issued_at"] == expected
    assert same(to_sinvoice(inv), body)


def test_issue_date_fallback_and_issued_at():
    body = copy.deepcopy(SEED_BODIES["batch[0]"])
    del body["generalInvoiceInfo"]["invoiceIssuedDate"]
    with pytest.raises(ValidationError) as e:
        from_sinvoice(body)
    assert paths(e) == ["generalInvoiceInfo.invoiceIssuedDate"]
    inv = from_sinvoice(body, issue_date=date(2024, 3, 15))
    assert inv.issue_date == date(2024, 3, 15)
    at = datetime(2024, 3, 15, 9, 30)
    assert to_sinvoice(inv, issued_at=at)["generalInvoiceInfo"]["invoiceIssuedDate"] == 1710469800000
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv, issued_at=datetime(2024, 3, 16, 9, 30, tzinfo=GMT7))
    assert paths(e) == ["generalInvoiceInfo.invoiceIssuedDate"]


def test_foreign_currency_with_exchange_rate():
    line = Line(name="Consulting", unit="hour", quantity=D("2.5"), unit_price=D(50), amount=D("125.00"), tax_rate=EIGHT,
                tax_amount=D("10.00"))
    inv = make([line], currency="USD", exchange_rate=D("25350.5"))
    body = to_sinvoice(inv)
    g, s = body["generalInvoiceInfo"], body["summarizeInfo"]
    assert (g["currencyCode"], g["exchangeRate"]) == ("USD", 25350.5)
    assert body["itemInfo"][0]["quantity"] == 2.5 and isinstance(body["itemInfo"][0]["quantity"], float)
    assert (s["totalAmountWithoutTax"], s["totalTaxAmount"], s["totalAmountWithTax"], s["totalAmountWithTaxFrn"]) == (
        125, 10, 135, 135)
    assert json.loads(json.dumps(body)) == body
    back = from_sinvoice(body)
    assert (back.currency, back.exchange_rate, back.totals.total) == ("USD", D("25350.5"), D(135))
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv.replace(exchange_rate=None))
    assert paths(e) == ["generalInvoiceInfo.exchangeRate"]
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv.replace(exchange_rate=D("25350.555")))
    assert paths(e) == ["generalInvoiceInfo.exchangeRate"]


# --- tax codes and line kinds ----------------------------------------------------------------------


@pytest.mark.parametrize("code, rate", [(-2, KCT), (-1, KKKNT), (0, ZERO), (5, FIVE), (8, EIGHT), (10, TEN),
                                        (3.5, TaxRate("KHAC:3.5%"))])
def test_every_tax_code(code, rate):
    assert TAX_CODES.get(code, rate) == rate
    body = copy.deepcopy(SEED_BODIES["batch[0]"])
    body["itemInfo"][0]["taxPercentage"] = code
    del body["summarizeInfo"], body["taxBreakdowns"]  # computed
    inv = from_sinvoice(body)
    assert inv.lines[0].tax_rate == rate and inv.tax_breakdown[0].rate == rate
    assert same(to_sinvoice(inv), body)  # as read: without summarizeInfo (left to SInvoice, as Odoo does)
    out = to_sinvoice(inv, exact=False)
    assert out["itemInfo"][0]["taxPercentage"] == code and out["taxBreakdowns"][0]["taxPercentage"] == code
    assert type(out["itemInfo"][0]["taxPercentage"]) is type(code)


def test_zero_rate_kct_and_kkknt_stay_apart():
    lines = [goods("Xuất khẩu", 1, 1000, ZERO), goods("Sách giáo khoa", 1, 2000, KCT),
             goods("Bồi thường", 1, 3000, KKKNT), goods("Vở", 1, 4000, TEN)]
    inv = make(lines)
    body = to_sinvoice(inv)
    assert [it["taxPercentage"] for it in body["itemInfo"]] == [0, -2, -1, 10]
    assert [(r["taxPercentage"], r["taxableAmount"], r.get("taxAmount")) for r in body["taxBreakdowns"]] == [
        (0, 1000, 0), (-2, 2000, None), (-1, 3000, None), (10, 4000, 400)]
    assert "taxPercentage" not in body["summarizeInfo"]  # several rates
    assert [it["taxAmount"] for it in body["itemInfo"]] == [0, 0, 0, 400]  # required: 0 without VAT
    back = from_sinvoice(body)
    assert [b.rate for b in back.tax_breakdown] == [ZERO, KCT, KKKNT, TEN]
    assert [ln.tax_rate for ln in back.lines] == [ZERO, KCT, KKKNT, TEN] and back.totals == inv.totals


def test_khac_without_percentage_is_refused():
    inv = make([goods("Vở", 1, 5000)])
    inv = inv.replace(lines=(*inv.lines, goods("Dịch vụ", 1, 100, TaxRate("KHAC"), seq=2)))
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert "itemInfo[1].taxPercentage" in paths(e)


def test_note_and_discount_lines_are_kept():
    assert SELECTION == {1: LineKind.GOODS, 2: LineKind.NOTE, 3: LineKind.DISCOUNT, 4: LineKind.GOODS}
    body = copy.deepcopy(SEED_BODIES["batch[0]"])
    body["itemInfo"] += [
        {"selection": 2, "itemName": "Giao hàng tại kho bên mua"},  # Odoo's note line: no lineNumber
        {"lineNumber": 3, "selection": 3, "itemName": "Chiết khấu thương mại", "itemTotalAmountWithoutTax": 1000000,
         "taxPercentage": 10, "taxAmount": 100000, "isIncreaseItem": False},
    ]
    del body["summarizeInfo"], body["taxBreakdowns"]
    inv = from_sinvoice(body)
    assert [ln.kind for ln in inv.lines] == [LineKind.GOODS, LineKind.NOTE, LineKind.DISCOUNT]
    assert inv.lines[1] == Line(name="Giao hàng tại kho bên mua", kind=LineKind.NOTE, seq=2)
    assert inv.lines[2].amount == 1000000  # a discount is positive in the document
    assert (inv.totals.total_before_tax, inv.totals.total_tax, inv.totals.total_discount) == (34000000, 3400000, 1000000)
    out = to_sinvoice(inv, exact=False)
    assert out["itemInfo"][1] == {"lineNumber": 2, "selection": 2, "itemName": "Giao hàng tại kho bên mua"}
    assert out["itemInfo"][2]["selection"] == 3 and out["itemInfo"][2]["isIncreaseItem"] is False
    assert (out["summarizeInfo"]["discountAmount"], out["summarizeInfo"]["sumOfTotalLineAmountWithoutTax"]) == (
        1000000, 34000000)
    assert same(to_sinvoice(inv), body)


def test_list_line_and_discount_items_round_trip():
    body = copy.deepcopy(SEED_BODIES["batch[0]"])
    body["itemInfo"][0]["selection"] = 4  # a line "theo bảng kê"
    body["discountItemInfo"] = [{"lineNumber": 1, "itemName": "Chiết khấu", "unitPrice": 500000,
                                 "itemTotalAmountWithoutTax": 500000, "taxPercentage": 10, "taxAmount": 50000}]
    inv = from_sinvoice(body)
    assert [(ln.kind, ln.seq, ln.amount) for ln in inv.lines] == [(LineKind.GOODS, 1, 35000000),
                                                                  (LineKind.DISCOUNT, 2, 500000)]
    assert same(to_sinvoice(inv), body)
    out = to_sinvoice(inv, exact=False)  # the mapping alone writes discounts as itemInfo lines
    assert "discountItemInfo" not in out and out["itemInfo"][1]["selection"] == 3


def test_buyer_names_and_identity_documents():
    individual = Party(name="Trần Thị Bình", address="Hà Nội", id_kind=IdKind.PASSPORT, id_number="C1234567")
    body = to_sinvoice(make([goods("Vở", 1, 5000)], buyer=individual))
    b, g = body["buyerInfo"], body["generalInvoiceInfo"]
    assert (b["buyerName"], b["buyerLegalName"], b["buyerTaxCode"]) == ("Trần Thị Bình", "", "")
    assert (g["buyerIdType"], g["buyerIdNo"], b["buyerIdType"]) == ("2", "C1234567", "2")
    assert from_sinvoice(body).buyer == individual
    company = Party(name="Công ty Cổ phần Sao Mai", tax_code="0312770607001", address="TP HCM",
                    id_kind=IdKind.OTHER, id_number="0312770607")
    b = to_sinvoice(make([goods("Vở", 1, 5000)], buyer=company))["buyerInfo"]
    assert (b["buyerName"], b["buyerLegalName"], b["buyerTaxCode"], b["buyerIdType"]) == (
        "Công ty Cổ phần Sao Mai", "Công ty Cổ phần Sao Mai", "0312770607-001", "3")
    b = to_sinvoice(make([goods("Vở", 1, 5000)]))["buyerInfo"]
    assert (b["buyerName"], b["buyerLegalName"]) == ("Nguyễn Văn An", "Công ty Cổ phần Sao Mai")
    s = to_sinvoice(make([goods("Vở", 1, 5000)], seller=replace(SELLER, phone="+84 (24) 3825-1234")))["sellerInfo"]
    assert (s["sellerPhoneNumber"], s["sellerBankAccount"]) == ("00842438251234", "0011004455667")


def test_payment_defaults_and_metadata_from_custom_fields():
    inv = make([goods("Vở", 1, 5000)], extra=(ExtraField("buyerCode", "12323", "numeric"),))
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert paths(e) == ["metadata[0].invoiceCustomFieldId"]
    fields = [{"id": 190, "keyLabel": "Mã bệnh nhân", "keyTag": "buyerCode", "valueType": "number"}]
    body = to_sinvoice(inv, custom_fields=fields, payment_status=True, user_name="ketoan01")
    assert body["metadata"] == [{"invoiceCustomFieldId": 190, "keyTag": "buyerCode", "numberValue": 12323,
                                 "valueType": "number", "keyLabel": "Mã bệnh nhân"}]
    g = body["generalInvoiceInfo"]
    assert (g["paymentStatus"], g["paymentType"], g["paymentTypeName"], g["cusGetInvoiceRight"], g["userName"]) == (
        True, "TM/CK", "TM/CK", True, "ketoan01")
    assert body["payments"] == [{"paymentMethodName": "TM/CK"}]
    g = to_sinvoice(inv, custom_fields=fields)["generalInvoiceInfo"]
    assert g["paymentStatus"] is False and "paymentType" not in g and "transactionUuid" not in g


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where, value, path", [
    (("itemInfo", 0, "selection"), 7, "itemInfo[0].selection"),
    (("itemInfo", 0, "taxPercentage"), -3, "itemInfo[0].taxPercentage"),
    (("itemInfo", 0, "unitPrice"), "ba triệu", "itemInfo[0].unitPrice"),
    (("itemInfo", 0, "isIncreaseItem"), "yes", "itemInfo[0].isIncreaseItem"),
    (("itemInfo", 0, "itemName"), "", "itemInfo[0].itemName"),
    (("generalInvoiceInfo", "adjustmentType"), "7", "generalInvoiceInfo.adjustmentType"),
    (("generalInvoiceInfo", "templateCode"), None, "generalInvoiceInfo.templateCode"),
    (("generalInvoiceInfo", "templateCode"), "GTKT/001", "generalInvoiceInfo.templateCode"),
    (("generalInvoiceInfo", "invoiceIssuedDate"), "hôm qua", "generalInvoiceInfo.invoiceIssuedDate"),
    (("buyerInfo", "buyerIdType"), "9", "buyerInfo.buyerIdType"),  # differs from generalInvoiceInfo.buyerIdType
    (("taxBreakdowns", 0, "taxableAmount"), None, "taxBreakdowns[0].taxableAmount"),
    (("summarizeInfo", "totalTaxAmount"), None, "summarizeInfo.totalTaxAmount"),
])
def test_reading_refuses_with_json_paths(where, value, path):
    body = copy.deepcopy(SEED_BODIES["original"])
    *parents, key = where
    node = body
    for p in parents:
        node = node[p]
    node[key] = value
    with pytest.raises(ValidationError) as e:
        from_sinvoice(body)
    assert paths(e) == [path]


def test_writing_refuses_what_sinvoice_cannot_carry_all_at_once():
    promo = Line(name="Quà tặng", kind=LineKind.PROMOTION, quantity=D(1))
    negative = Line(name="Trả trước", amount=D(-1000), tax_rate=TEN, tax_amount=D(-100))
    inv = make([goods("Vở", 1, 5000), promo, negative], payment_method="")
    inv = inv.replace(totals=replace(inv.totals, fees=(Fee("Phí dịch vụ", D(1000)),)),
                      seller=replace(SELLER, store_code="CH01"))
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert paths(e) == [
        "summarizeInfo",  # fees (DSLPhi)
        "sellerInfo",  # store code
        "itemInfo[1].selection",  # promotion line
        "itemInfo[2].itemTotalAmountWithoutTax",  # negative line on an original
        "payments[0].paymentMethodName",
    ]


def test_writing_checks_lengths_and_formats():
    long_name = "Sổ tay " * 50  # 350 characters
    inv = make([goods(long_name.strip(), 1, 5000, code="SỔ-01")])
    inv = inv.replace(buyer=Party(name="", address="", email="khong-hop-le", phone="09x"))
    with pytest.raises(ValidationError) as e:
        to_sinvoice(inv)
    assert paths(e) == ["buyerInfo.buyerName", "buyerInfo.buyerAddressLine", "buyerInfo.buyerPhoneNumber",
                        "buyerInfo.buyerEmail", "itemInfo[0].itemCode", "itemInfo[0].itemName"]
