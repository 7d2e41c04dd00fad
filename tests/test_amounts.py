"""Rounding, line amounts, tax breakdown, totals (``complete``) and their checks (``check_amounts``)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from factories import D, amount_line, goods, make_invoice, note, raw_invoice

from vn_einvoice.amounts import (
    check_amounts,
    complete,
    compute_breakdown,
    currency_digits,
    line_amount,
    round_amount,
    vat_of,
)
from vn_einvoice.codes import KCT, KKKNT, TaxRate
from vn_einvoice.document import Fee, Line, LineKind, RelatedInvoice, RelationKind, TaxBreakdown, Totals
from vn_einvoice.errors import Problem, ValidationError

TOAN = "HDon/DLHDon/NDHDon/TToan"
LINES = "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu"


def rows(invoice):
    return [(b.rate.code, b.taxable_amount, b.tax_amount) for b in invoice.tax_breakdown]


# --- rounding and single amounts -----------------------------------------------------------------


def test_round_amount_vnd_to_the_dong_half_up():
    assert round_amount(D("0.5")) == 1
    assert round_amount(D("2.5")) == 3
    assert round_amount(D("1.49")) == 1
    assert round_amount(D("-0.5")) == -1
    assert str(round_amount(D("1234.5"))) == "1235"


def test_round_amount_foreign_currency_to_two_decimals():
    assert str(round_amount(D("37.035"), "USD")) == "37.04"
    assert str(round_amount(D("1"), "usd")) == "1.00"
    assert currency_digits("VND") == 0 and currency_digits("EUR") == 2 and currency_digits("") == 0


def test_vat_of_each_rate():
    assert vat_of(D(190000), TaxRate("10%")) == 19000
    assert vat_of(D(20000000), TaxRate("8%")) == 1600000
    assert vat_of(D(12345), TaxRate("5%")) == 617  # 617.25
    assert vat_of(D(50000), TaxRate("0%")) == 0
    assert vat_of(D(1000), TaxRate("KHAC:3.5%")) == 35
    assert vat_of(D(50000), KCT) is None
    assert vat_of(D(50000), KKKNT) is None
    assert str(vat_of(D("37.04"), TaxRate("10%"), "USD")) == "3.70"
    with pytest.raises(ValidationError) as e:
        vat_of(D(1000), TaxRate("KHAC"))
    assert e.value.problems == (Problem("TSuat", "rate KHAC has no percentage: write it as KHAC:x%"),)


def test_line_amount():
    assert line_amount(D(10), D(1500000)) == 15000000
    assert line_amount(D(3), D("33333.3333")) == 100000  # 99 999.9999 rounded to the đồng
    assert line_amount(D(2), D(100000), discount_amount=D(15000)) == 185000
    assert line_amount(D(2), D(100000), discount_rate=D(10)) == 180000
    # the amount wins over the rate when both are given
    assert line_amount(D(2), D(100000), discount_amount=D(1000), discount_rate=D(50)) == 199000
    assert str(line_amount(D(3), D("12.345"), currency="USD")) == "37.04"


# --- complete ------------------------------------------------------------------------------------


def test_complete_breakdown_keeps_zero_rated_exempt_and_undeclared_apart():
    inv = make_invoice([
        goods("A", 2, 100000, "10%"), goods("B", 1, 50000, "0%"), amount_line("C", 30000, "KCT"),
        amount_line("D", 20000, "KKKNT"), amount_line("E", 40000, "5%"), goods("F", 1, 25000, "8%"),
        amount_line("G", 1000, "KHAC:3.5%"),
    ])
    assert rows(inv) == [
        ("10%", 200000, 20000), ("0%", 50000, 0), ("KCT", 30000, None), ("KKKNT", 20000, None),
        ("5%", 40000, 2000), ("8%", 25000, 2000), ("KHAC:3.5%", 1000, 35),
    ]
    assert (inv.totals.total_before_tax, inv.totals.total_tax, inv.totals.total) == (366000, 24035, 390035)
    assert check_amounts(inv) == []


def test_lines_at_the_same_rate_are_summed_and_vat_is_computed_on_the_sum():
    inv = make_invoice([amount_line(f"L{i}", 12345, "10%") for i in range(3)])
    # per line 1234.5 -> 1235 (3705 in all), on the sum 37 035 -> 3704 (rounded once)
    assert rows(inv) == [("10%", 37035, 3704)]


def test_trade_discount_line_reduces_the_taxable_amount_and_fills_ttcktmai():
    inv = make_invoice([
        goods("A", 10, 100000, "10%"), goods("B", 1, 500000, "8%"),
        amount_line("Chiết khấu thương mại 5%", 50000, "10%", kind=LineKind.DISCOUNT),
    ])
    assert rows(inv) == [("10%", 950000, 95000), ("8%", 500000, 40000)]
    t = inv.totals
    assert (t.total_before_tax, t.total_tax, t.total_discount, t.total) == (1450000, 135000, 50000, 1585000)
    assert t.total_in_words == "Một triệu năm trăm tám mươi lăm nghìn đồng chẵn"
    assert check_amounts(inv) == []


def test_line_discount_stcKhau_is_inside_the_line_amount():
    inv = make_invoice([goods("A", 2, 100000, "10%", discount_amount=D(15000))])
    assert inv.lines[0].amount == 185000
    assert rows(inv) == [("10%", 185000, 18500)]
    assert inv.totals.total_discount is None  # TTCKTMai only sums discount lines (TChat 3)
    assert check_amounts(inv) == []


def test_promotion_and_note_lines_do_not_count():
    inv = make_invoice([
        goods("A", 1, 100000, "10%"),
        Line("Quà tặng khuyến mại", kind=LineKind.PROMOTION, quantity=D(1), unit_price=D(50000),
             amount=D(50000), tax_rate=TaxRate("10%")),
        note(),
    ])
    assert rows(inv) == [("10%", 100000, 10000)]
    assert inv.totals.total == 110000
    assert check_amounts(inv) == []


def test_complete_numbers_lines_and_sets_the_title():
    inv = make_invoice([goods("A"), note(), Line("B", amount=D(5), tax_rate=TaxRate("10%"), seq=9)])
    assert [ln.seq for ln in inv.lines] == [1, 2, 9]
    assert inv.title == "Hóa đơn giá trị gia tăng"
    assert make_invoice(template="2", symbol="K26TAA").title == "Hóa đơn bán hàng"
    assert make_invoice(title="HÓA ĐƠN GTGT").title == "HÓA ĐƠN GTGT"


def test_foreign_currency_keeps_two_decimals():
    inv = make_invoice([goods("A", 3, "12.345", "10%", amount=D("37.04")), goods("B", 1, "0.99", "8%")],
                       currency="USD", exchange_rate=D("25400.5"))
    assert [(c, str(b), str(t)) for c, b, t in rows(inv)] == [("10%", "37.04", "3.70"), ("8%", "0.99", "0.08")]
    t = inv.totals
    assert (str(t.total_before_tax), str(t.total_tax), str(t.total)) == ("38.03", "3.78", "41.81")
    assert t.total_in_words == "Bốn mươi mốt đô la Mỹ và tám mươi mốt xu"
    assert check_amounts(inv) == []


def test_adjustment_decrease_has_negative_amounts_and_words():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "123")
    inv = make_invoice([amount_line("Điều chỉnh giảm đơn giá", -1000000, "10%")], related=rel)
    assert rows(inv) == [("10%", -1000000, -100000)]
    assert inv.totals.total == -1100000
    # the words of the absolute amount: the decrease is in the figures and the adjustment note, not "Âm …"
    assert inv.totals.total_in_words == "Một triệu một trăm nghìn đồng chẵn"
    assert check_amounts(inv) == []


def test_adjustment_increase():
    rel = RelatedInvoice(RelationKind.ADJUSTMENT, "1", "C26TAA", "123")
    inv = make_invoice([goods("Điều chỉnh tăng số lượng", 2, 250000, "8%")], related=rel)
    assert inv.totals.total == 540000
    assert inv.totals.total_in_words == "Năm trăm bốn mươi nghìn đồng chẵn"


def test_fees_and_other_deductions_in_the_grand_total():
    raw = raw_invoice([goods("A", 1, 1000000, "10%")],
                      totals=Totals(D(0), D(0), D(0), "", fees=(Fee("Phí dịch vụ", D(20000)),),
                                    total_other_deduction=D(5000)))
    t = complete(raw).totals
    assert (t.total_before_tax, t.total_tax, t.total) == (1000000, 100000, 1115000)
    assert t.fees == (Fee("Phí dịch vụ", D(20000)),) and t.total_other_deduction == 5000
    assert check_amounts(complete(raw)) == []


def test_sales_invoice_lines_without_rate_count_before_tax():
    inv = make_invoice([amount_line("A", 300000, rate=None), amount_line("B", 200000, rate=None)],
                       template="2", symbol="K26TAB")
    assert inv.tax_breakdown == ()
    assert (inv.totals.total_before_tax, inv.totals.total_tax, inv.totals.total) == (500000, 0, 500000)
    assert check_amounts(inv) == []


# --- check_amounts -------------------------------------------------------------------------------


def test_wrong_line_amount_names_the_amounts():
    inv = make_invoice([goods("A", 2, 100000, "10%", amount=D(210000)), goods("B", 1, 1000, "10%")])
    assert [str(p) for p in check_amounts(inv)] == [
        f"{LINES}[1]/ThTien: line 1: 2 × 100 000 = 200 000, but the amount is 210 000",
    ]
    inv = make_invoice([goods("A", 2, 100000, "10%", discount_amount=D(1000), amount=D(200000))])
    assert [str(p) for p in check_amounts(inv)] == [
        f"{LINES}[1]/ThTien: line 1: 2 × 100 000 − 1 000 = 199 000, but the amount is 200 000",
    ]


def test_one_unit_of_rounding_is_tolerated_on_a_line():
    inv = make_invoice([goods("A", 3, "33333.3333", "10%", amount=D(100001))])
    assert check_amounts(inv) == []


def test_breakdown_that_does_not_match_the_lines():
    inv = make_invoice([goods("A", 1, 100000, "10%"), goods("B", 1, 50000, "KCT")])
    bad = replace(inv, tax_breakdown=(
        TaxBreakdown(TaxRate("10%"), D(90000), D(9000)), TaxBreakdown(TaxRate("0%"), D(50000), D(0)),
    ))
    assert [str(p) for p in check_amounts(bad)][:3] == [
        f"{TOAN}/THTTLTSuat/LTSuat[TSuat=10%]/ThTien: lines at 10% add up to 100 000, the breakdown says 90 000",
        f"{TOAN}/THTTLTSuat/LTSuat: the lines at KCT (50 000) have no breakdown row",
        f"{TOAN}/THTTLTSuat/LTSuat: breakdown row 0% (50 000) has no lines",
    ]


def test_wrong_vat_and_vat_on_exempt_rows():
    inv = make_invoice([goods("A", 1, 100000, "10%"), goods("B", 1, 50000, "KCT"), goods("C", 1, 1, "0%")])
    bad = replace(inv, tax_breakdown=(
        TaxBreakdown(TaxRate("10%"), D(100000), D(11000)), TaxBreakdown(KCT, D(50000), D(5000)),
        TaxBreakdown(TaxRate("0%"), D(1), None),
    ))
    got = [str(p) for p in check_amounts(bad)]
    assert f"{TOAN}/THTTLTSuat/LTSuat[TSuat=10%]/TThue: VAT at 10% of 100 000 is 10 000, the breakdown says 11 000" in got
    assert f"{TOAN}/THTTLTSuat/LTSuat[TSuat=KCT]/TThue: KCT carries no VAT, but the breakdown says 5 000" in got
    assert f"{TOAN}/THTTLTSuat/LTSuat[TSuat=0%]/TThue: VAT at 0% of 1 is 0, the breakdown says nothing" in got


def test_vat_rounding_per_line_is_tolerated():
    inv = make_invoice([amount_line(f"L{i}", 12345, "10%") for i in range(3)])
    line_by_line = replace(inv, tax_breakdown=(TaxBreakdown(TaxRate("10%"), D(37035), D(3705)),),
                           totals=replace(inv.totals, total_tax=D(3705), total=D(40740)))
    assert check_amounts(line_by_line) == []
    # 3 lines: 1 + 3/2 đồng around 3 703.5 (README "Rounding"): 3 706 is within, 3 707 is not
    within = replace(inv, tax_breakdown=(TaxBreakdown(TaxRate("10%"), D(37035), D(3706)),),
                     totals=replace(inv.totals, total_tax=D(3706), total=D(40741)))
    assert check_amounts(within) == []
    too_far = replace(inv, tax_breakdown=(TaxBreakdown(TaxRate("10%"), D(37035), D(3707)),),
                      totals=replace(inv.totals, total_tax=D(3707), total=D(40742)))
    assert len(check_amounts(too_far)) == 1


def test_totals_that_do_not_add_up_name_the_amounts():
    inv = make_invoice([goods("A", 2, 100000, "10%")])
    bad = replace(inv, totals=replace(inv.totals, total_before_tax=D(200001), total_tax=D(20001), total=D(230000)))
    assert [str(p) for p in check_amounts(bad)] == [
        f"{TOAN}/TgTCThue: the breakdown adds up to 200 000 before VAT, the total says 200 001",
        f"{TOAN}/TgTThue: the breakdown adds up to 20 000 of VAT, the total says 20 001",
        f"{TOAN}/TgTTTBSo: 200 001 + 20 001 VAT = 220 002, the total says 230 000",
    ]


def test_vnd_totals_must_be_whole_dong():
    inv = make_invoice([goods("A", 1, "100000.5", "10%", amount=D("100000.5"))])
    got = [str(p) for p in check_amounts(inv)]
    assert f"{LINES}[1]/ThTien: VND amount 100 000.5 must be rounded to the đồng" in got


def test_missing_rate_amount_and_totals():
    inv = make_invoice([goods("A", 1, 1000, rate=None), Line("B", tax_rate=TaxRate("10%"))])
    got = [str(p) for p in check_amounts(inv)]
    assert got[:2] == [f"{LINES}[1]/TSuat: line 1: VAT rate (TSuat) is missing",
                       f"{LINES}[2]/ThTien: amount (ThTien) is missing"]
    assert [str(p) for p in check_amounts(raw_invoice())][-1] == f"{TOAN}: totals are missing"


def test_compute_breakdown_ignores_lines_without_rate_promotions_and_notes():
    inv = raw_invoice([goods("A", rate=None), note(),
                       Line("P", kind=LineKind.PROMOTION, amount=D(5), tax_rate=TaxRate("5%"))])
    assert compute_breakdown(inv) == ()
    assert Decimal(0) == complete(inv).totals.total_tax
