"""The project's document JSON (``jsonio``) and its documented example."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from pathlib import Path

import pytest
from factories import D, amount_line, goods, make_invoice, note

from vn_einvoice import document as doc
from vn_einvoice.codes import TaxRate
from vn_einvoice.document import IdKind, LineKind, RelatedInvoiceType, RelationKind
from vn_einvoice.errors import ValidationError
from vn_einvoice.jsonio import invoice_from_json, invoice_to_json
from vn_einvoice.xml import build_xml, check_invoice

EXAMPLES = Path(__file__).parent.parent / "examples"

MINIMAL = {
    "template": "1", "symbol": "C26TAA", "issue_date": "2026-03-15", "number": 5,
    "payment_method": "TM/CK", "provider_tax_code": "0100109106",
    "seller": {"name": "A", "tax_code": "0312345673", "address": "HN"},
    "buyer": {"name": "B", "tax_code": "0100109106-001"},
    "lines": [{"name": "x", "quantity": "2", "unit_price": 100000, "tax_rate": "10%"}],
}


def with_(**changes):
    return {**MINIMAL, **changes}


def errors(data):
    with pytest.raises(ValidationError) as e:
        invoice_from_json(data)
    return [str(p) for p in e.value.problems]


# --- the example ---------------------------------------------------------------------------------


def test_example_invoice_json():
    inv = invoice_from_json((EXAMPLES / "invoice.json").read_bytes())
    assert (inv.template, inv.symbol, inv.issue_date, inv.number) == ("1", "C26TAA", date(2026, 11, 20), None)
    assert inv.seller.tax_code == "0312345673" and inv.buyer.tax_code == "0101234565"
    assert [ln.kind for ln in inv.lines] == [LineKind.GOODS] * 3 + [LineKind.DISCOUNT, LineKind.NOTE]
    assert [ln.tax_rate.code if ln.tax_rate else None for ln in inv.lines] == ["10%", "8%", "KCT", "10%", None]
    assert [ln.amount for ln in inv.lines] == [92500000, 4500000, 12000000, 1850000, None]
    assert [(b.rate.code, b.taxable_amount, b.tax_amount) for b in inv.tax_breakdown] == [
        ("10%", 90650000, 9065000), ("8%", 4500000, 360000), ("KCT", 12000000, None)]
    t = inv.totals
    assert (t.total_before_tax, t.total_tax, t.total_discount, t.total) == (107150000, 9425000, 1850000, 116575000)
    assert t.total_in_words == "Một trăm mười sáu triệu năm trăm bảy mươi lăm nghìn đồng chẵn"
    assert check_invoice(inv.with_number(1)) == []


def test_example_readme_explains_every_key():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    documented = {word for key in re.findall(r"`([a-z_.\[\]]+)`", readme) for word in re.findall(r"[a-z_]+", key)}
    for cls in (doc.Invoice, doc.Party, doc.Line, doc.Totals, doc.TaxBreakdown, doc.RelatedInvoice):
        missing = {f.name for f in dataclasses.fields(cls)} - documented
        assert not missing, f"{cls.__name__}: {sorted(missing)} not explained in examples/README.md"
    for enum in (LineKind, RelationKind, RelatedInvoiceType, IdKind):
        for member in enum:
            assert f'"{member.name.lower()}"' in readme, member


# --- reading -------------------------------------------------------------------------------------


def test_minimal_document_is_completed():
    inv = invoice_from_json(MINIMAL)
    assert inv.lines[0].amount == 200000 and inv.lines[0].seq == 1
    assert inv.title == "Hóa đơn giá trị gia tăng"
    assert inv.totals.total == 220000
    assert inv.totals.total_in_words == "Hai trăm hai mươi nghìn đồng chẵn"
    assert build_xml(inv).startswith(b"<?xml")


def test_text_bytes_and_dict_give_the_same_invoice():
    text = json.dumps(MINIMAL)
    assert invoice_from_json(text) == invoice_from_json(text.encode()) == invoice_from_json(MINIMAL)


def test_amounts_as_numbers_or_strings():
    a = invoice_from_json(with_(lines=[{"name": "x", "quantity": 3, "unit_price": 33333.5, "tax_rate": 8}]))
    b = invoice_from_json(with_(lines=[{"name": "x", "quantity": "3", "unit_price": "33333.5", "tax_rate": "8%"}]))
    assert a == b
    assert a.lines[0].amount == 100001  # 100 000.5 rounded half-up


def test_enums_by_lowercase_name_or_number():
    data = with_(
        lines=[{"name": "a", "amount": 100, "tax_rate": "KCT"}, {"name": "n", "kind": "note"},
               {"name": "d", "kind": 3, "amount": 10, "tax_rate": "KCT"},
               {"name": "p", "kind": "PROMOTION", "amount": 0, "tax_rate": "KCT"}],
        related={"relation": "adjustment", "template": "01GTKT0/001", "symbol": "AA/17E", "number": "0000123",
                 "issue_date": "2017-05-02", "invoice_type": "legacy_other"},
        buyer={"name": "B", "id_kind": "citizen_id", "id_number": "001099012345"},
    )
    inv = invoice_from_json(data)
    assert [ln.kind for ln in inv.lines] == [LineKind.GOODS, LineKind.NOTE, LineKind.DISCOUNT, LineKind.PROMOTION]
    assert inv.related.relation is RelationKind.ADJUSTMENT
    assert inv.related.invoice_type is RelatedInvoiceType.LEGACY_OTHER
    assert inv.buyer.id_kind is IdKind.CITIZEN_ID
    data["related"]["relation"] = 1
    data["related"]["invoice_type"] = 3
    assert invoice_from_json(data).related.relation is RelationKind.REPLACEMENT


def test_all_tax_codes_and_zero_exempt_undeclared_apart():
    lines = [{"name": c, "amount": 1000, "tax_rate": c} for c in ("0%", "KCT", "KKKNT", "5%", "KHAC:3.5%")]
    inv = invoice_from_json(with_(lines=lines))
    assert [(b.rate.code, b.tax_amount) for b in inv.tax_breakdown] == [
        ("0%", 0), ("KCT", None), ("KKKNT", None), ("5%", 50), ("KHAC:3.5%", 35)]


def test_line_discounts_compute_the_amount():
    inv = invoice_from_json(with_(lines=[
        {"name": "a", "quantity": 2, "unit_price": 100000, "discount_amount": 15000, "tax_rate": "10%"},
        {"name": "b", "quantity": 2, "unit_price": 100000, "discount_rate": "10", "tax_rate": "10%"},
        {"name": "c", "quantity": 2, "unit_price": 100000, "amount": 1, "tax_rate": "10%"},
    ]))
    assert [ln.amount for ln in inv.lines] == [185000, 180000, 1]  # a given amount is kept (and checked later)


def test_foreign_currency_line_amounts_keep_two_decimals():
    inv = invoice_from_json(with_(currency="USD", exchange_rate="25400.5",
                                  lines=[{"name": "x", "quantity": 3, "unit_price": "12.345", "tax_rate": "10%"}]))
    assert str(inv.lines[0].amount) == "37.04"
    assert str(inv.totals.total) == "40.74"
    assert inv.exchange_rate == D("25400.5")


def test_given_totals_are_kept_and_the_missing_breakdown_is_computed():
    inv = invoice_from_json(with_(totals={"total_before_tax": "200000", "total_tax": "20000", "total": "230000",
                                          "total_in_words": "Hai trăm ba mươi nghìn đồng chẵn"}))
    assert inv.totals.total == 230000
    assert [(b.rate.code, b.taxable_amount, b.tax_amount) for b in inv.tax_breakdown] == [("10%", 200000, 20000)]
    assert inv.lines[0].seq == 1
    assert [str(p) for p in check_invoice(inv)] == [
        "HDon/DLHDon/NDHDon/TToan/TgTTTBSo: 200 000 + 20 000 VAT = 220 000, the total says 230 000"]


def test_given_breakdown_is_kept_and_the_missing_totals_are_computed():
    inv = invoice_from_json(with_(tax_breakdown=[{"rate": "10%", "taxable_amount": 200000, "tax_amount": 21000}]))
    assert inv.tax_breakdown[0].tax_amount == 21000
    assert inv.totals.total == 220000  # computed from the lines
    assert [p.path for p in check_invoice(inv)] == [
        "HDon/DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[TSuat=10%]/TThue", "HDon/DLHDon/NDHDon/TToan/TgTThue"]


# --- errors name the field -----------------------------------------------------------------------


@pytest.mark.parametrize("changes, expected", [
    ({"issue_date": "15/03/2026"}, ["issue_date: '15/03/2026' is not a date YYYY-MM-DD"]),
    ({"number": "abc"}, ["number: 'abc' is not a whole number"]),
    ({"number": 1.5}, ["number: 1.5 is not a whole number"]),
    ({"number": True}, ["number: True is not a whole number"]),
    ({"financial_leasing": "yes"}, ["financial_leasing: 'yes' is not true or false"]),
    ({"exchange_rate": "abc"}, ["exchange_rate: 'abc' is not a number"]),
    ({"colour": "red"}, ["colour: unknown field"]),
    ({"seller": {"name": "A", "vat": "x"}}, ["seller.vat: unknown field"]),
    ({"seller": "A"}, ["seller: expected an object"]),
    ({"lines": [{"name": "x", "kind": "gift"}]},
     ["lines[0].kind: 'gift' is not one of: goods, promotion, discount, note"]),
    ({"lines": [{"name": "x", "tax_rate": "VAT"}]},
     ["lines[0].tax_rate: unknown VAT rate 'VAT': use 0%, 5%, 8%, 10%, KCT, KKKNT or KHAC:x% (e.g. KHAC:3.5%)"]),
    ({"lines": [{"name": "x", "quantity": "abc", "unit_price": 1}]}, ["lines[0].quantity: 'abc' is not a number"]),
    ({"lines": [{"quantity": 1}]}, ["lines[0].name: required field is missing"]),
    ({"lines": []}, ["lines: the invoice has no lines"]),
    ({"related": {"relation": "cancel"}}, ["related.relation: 'cancel' is not one of: replacement, adjustment"]),
    ({"totals": {"total": 1}}, ["totals.total_before_tax: required field is missing",
                                "totals.total_tax: required field is missing",
                                "totals.total_in_words: required field is missing"]),
    ({"meta": [1, 2]}, ["meta: expected an object"]),
    ({"buyer": {"id_kind": "driving_licence"}},
     ["buyer.id_kind: 'driving_licence' is not one of: citizen_id, passport, other"]),
])
def test_bad_fields_are_named(changes, expected):
    assert errors(with_(**changes)) == expected


def test_every_bad_field_at_once():
    data = with_(issue_date="x", seller={"name": "A", "bad": 1},
                 lines=[{"name": "a", "quantity": "q"}, {"name": "b", "kind": "?"}])
    assert [e.split(":")[0] for e in errors(data)] == ["lines[0].quantity", "lines[1].kind", "issue_date", "seller.bad"]


def test_not_a_json_object():
    assert errors("[1]") == ["the document must be a JSON object"]
    assert errors("{")[0].startswith("not valid JSON: ")
    template_missing = {k: v for k, v in MINIMAL.items() if k != "template"}
    assert errors(template_missing) == ["template: required field is missing"]


# --- writing -------------------------------------------------------------------------------------


def test_to_json_writes_amounts_as_strings_enums_by_name_and_leaves_defaults_out():
    inv = make_invoice([goods("A", 2, 100000, "10%"), amount_line("CK", 1000, "10%", kind=LineKind.DISCOUNT),
                        note("n")])
    data = invoice_to_json(inv)
    assert data["issue_date"] == "2026-03-15"
    assert data["lines"][0] == {"name": "A", "quantity": "2", "unit_price": "100000", "amount": "200000",
                                "tax_rate": "10%", "seq": 1}
    assert data["lines"][1]["kind"] == "discount" and data["lines"][2] == {"name": "n", "kind": "note", "seq": 3}
    assert data["totals"]["total"] == "218900"
    assert data["tax_breakdown"] == [{"rate": "10%", "taxable_amount": "199000", "tax_amount": "19900"}]
    for default in ("currency", "version", "data_id", "meta", "exchange_rate"):
        assert default not in data
    json.dumps(data)  # plain JSON


@pytest.mark.parametrize("invoice", [
    make_invoice([goods("A", "1.5", "99999.99", "5%", amount=D(150000)), note()]),
    make_invoice([goods("A", 3, "12.345", "KHAC:3.5%", amount=D("37.04"))], currency="USD",
                 exchange_rate=D("25400.5")),
    make_invoice([amount_line("Giảm", -1000000, "10%")],
                 related=doc.RelatedInvoice(RelationKind.ADJUSTMENT, "01GTKT0/001", "AA/17E", "0000123",
                                            date(2017, 5, 2), RelatedInvoiceType.LEGACY_OTHER)),
    make_invoice([goods()], buyer=doc.Party(name="X", id_kind=IdKind.PASSPORT, id_number="B123"),
                 version="2.0.1", extra=(doc.ExtraField("HD", "01"),),
                 totals=doc.Totals(D(0), D(0), D(0), "", fees=(doc.Fee("Phí", D(1000)),))),
])
def test_json_round_trip(invoice):
    data = invoice_to_json(invoice)
    assert invoice_from_json(json.loads(json.dumps(data))) == invoice


def test_tax_rate_objects_and_decimals_survive():
    inv = invoice_from_json(invoice_to_json(make_invoice([goods("A", 1, "0.000001", "KKKNT",
                                                                amount=D(0))])))
    assert inv.lines[0].unit_price == D("0.000001") and inv.lines[0].tax_rate == TaxRate("KKKNT")
