"""Templates (KHMSHDon), symbols (KHHDon), VAT rate codes (TSuat) and tax codes (MST)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from vn_einvoice.codes import (
    KCT,
    KKKNT,
    TITLE_6B,
    ZERO,
    Regime,
    TaxRate,
    check_tax_code,
    check_template_symbol,
    normalize_tax_code,
    symbol_is_coded,
    symbol_regime,
    symbol_year,
    tax_code_compact,
    template_kind,
    template_regime,
    template_title,
    to_decimal,
)
from vn_einvoice.errors import Problem, ValidationError

D26 = date(2026, 3, 15)


def messages(problems):
    return [str(p) for p in problems]


# --- templates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("template", [str(n) for n in range(1, 10)])
def test_current_templates_1_to_9(template):
    assert template_regime(template) is Regime.CURRENT
    assert template_kind(template) == template


@pytest.mark.parametrize("template, kind", [
    ("01GTKT0/001", "1"), ("01GTKT3/001", "1"), ("02GTTT0/001", "2"), ("07KPTQ0/001", "2"),
    ("03XKNB0/001", "6"), ("04HGDL0/001", "6"), ("06HDXK0/001", "1"),
])
def test_legacy_templates_map_to_their_kind(template, kind):
    assert template_regime(template) is Regime.LEGACY
    assert template_kind(template) == kind


@pytest.mark.parametrize("template", ["0", "10", "A", "", "01GTKT/001", "01GTKT0/01", "1GTKT0/001", "01gtkt0/001"])
def test_invalid_templates_are_refused_with_the_field(template):
    with pytest.raises(ValidationError) as e:
        template_regime(template)
    assert e.value.problems[0].path == "KHMSHDon"
    assert f"invalid template number {template!r}" in e.value.problems[0].message


def test_template_titles():
    assert template_title("1") == "Hóa đơn giá trị gia tăng"
    assert template_title("2") == "Hóa đơn bán hàng"
    assert template_title("01GTKT0/001") == "Hóa đơn giá trị gia tăng"
    assert template_title("7") == "Hóa đơn thương mại điện tử"
    assert template_title("6", "C26NAB") == "Phiếu xuất kho kiêm vận chuyển nội bộ"
    assert template_title("6", "K26BAB") == TITLE_6B


# --- symbols -------------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["C26TAA", "K26TYY", "C26LBB", "K26DAA", "C26MAB", "K26NAB", "K26BAB",
                                    "K26GAA", "K26HAA", "K26XAB"])
def test_current_symbols(symbol):
    assert symbol_regime(symbol) is Regime.CURRENT
    assert symbol_year(symbol) == 2026
    assert symbol_is_coded(symbol) is (symbol[0] == "C")


@pytest.mark.parametrize("symbol, year", [("AA/17E", 2017), ("AB/14T", 2014), ("01AA/25P", 2025)])
def test_legacy_symbols(symbol, year):
    assert symbol_regime(symbol) is Regime.LEGACY
    assert symbol_year(symbol) == year
    assert symbol_is_coded(symbol) is False


@pytest.mark.parametrize("symbol", ["C26TA", "C26TAAA", "c26taa", "C26ZAA", "X26TAA", "C2XTAA", "AA/17",
                                    "AF/17E", "AA/17Z", "A/17E", ""])
def test_invalid_symbols_are_refused_with_the_field(symbol):
    with pytest.raises(ValidationError) as e:
        symbol_regime(symbol)
    assert e.value.problems == (Problem(
        "KHHDon",
        f"invalid invoice symbol {symbol!r}: expected C or K, two digits of the year, one of TDLMNBGHX and "
        "two capital letters (e.g. C26TAA), or a legacy series such as AA/17E",
    ),)


@pytest.mark.parametrize("template, symbol", [
    ("1", "C26TAA"), ("2", "K26TAB"), ("1", "C26LBB"), ("1", "C26MAA"), ("5", "K26GAA"), ("5", "K26HAA"),
    ("6", "K26NAB"), ("6", "K26BAB"), ("7", "K26XAB"), ("8", "C26TAA"), ("9", "K26TAA"),
    ("01GTKT0/001", "AA/17E"), ("02GTTT0/001", "AB/16E"), ("01GTKT3/001", "01AA/25P"),
])
def test_compatible_template_and_symbol(template, symbol):
    assert check_template_symbol(template, symbol, D26) == []


def test_symbol_year_must_be_the_issue_year():
    assert messages(check_template_symbol("1", "C25TAA", D26)) == [
        "KHHDon: symbol 'C25TAA' is for the year 2025 but the invoice is issued on 15/03/2026: "
        "use the series of 2026"
    ]
    assert messages(check_template_symbol("1", "K27TAA", D26)) == [
        "KHHDon: symbol 'K27TAA' is for the year 2027 but the invoice is issued on 15/03/2026: "
        "use the series of 2026"
    ]
    # without a date only the codes are checked
    assert check_template_symbol("1", "C25TAA") == []
    # year boundaries
    assert check_template_symbol("1", "C26TAA", date(2026, 1, 1)) == []
    assert check_template_symbol("1", "C26TAA", date(2026, 12, 31)) == []
    assert len(check_template_symbol("1", "C26TAA", date(2027, 1, 1))) == 1


def test_legacy_series_may_be_older_than_the_issue_date_but_not_newer():
    assert check_template_symbol("01GTKT0/001", "AA/17E", D26) == []
    assert messages(check_template_symbol("01GTKT0/001", "AA/27E", D26)) == [
        "KHHDon: legacy series 'AA/27E' was registered in 2027, after the issue date 15/03/2026"
    ]


def test_regimes_may_not_be_mixed():
    assert messages(check_template_symbol("1", "AA/17E", D26)) == [
        "KHHDon: symbol 'AA/17E' belongs to the legacy regime but template '1' to the current regime"
    ]
    assert messages(check_template_symbol("01GTKT0/001", "C26TAA", D26)) == [
        "KHHDon: symbol 'C26TAA' belongs to the current regime but template '01GTKT0/001' to the legacy regime"
    ]


@pytest.mark.parametrize("template, symbol, message", [
    ("1", "C26NAA", "symbol letter 'N' (internal transfer note) is only used with template 6, not '1'"),
    ("2", "K26BAA", "symbol letter 'B' (consignment delivery note) is only used with template 6, not '2'"),
    ("1", "K26GAA", "symbol letter 'G' (VAT stamp, ticket or card) is only used with template 5, not '1'"),
    ("1", "K26XAB", "symbol letter 'X' (e-commerce invoice) is only used with template 7, not '1'"),
    ("6", "C26TAA", "template '6' needs symbol letter N or B, not 'T'"),
    ("5", "K26TAA", "template '5' needs symbol letter G or H, not 'T'"),
])
def test_symbol_letter_must_suit_the_template(template, symbol, message):
    assert check_template_symbol(template, symbol, D26) == [Problem("KHHDon", message)]


def test_every_problem_of_a_pair_is_listed():
    problems = check_template_symbol("0", "X26TAA", D26)
    assert [p.path for p in problems] == ["KHMSHDon", "KHHDon"]
    problems = check_template_symbol("1", "C25NAA", D26)
    assert [p.message.split(" ")[:2] for p in problems] == [["symbol", "letter"], ["symbol", "'C25NAA'"]]


# --- tax codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0100109106", "0312345673", "0100109106-001", "0100109106001",
                                   " 0100109106 ", "0100109106 - 001"])
def test_valid_company_tax_codes(value):
    assert check_tax_code(value) == []
    assert check_tax_code(value, allow_personal=False) == []


def test_branch_form_is_normalized_and_compacted():
    assert normalize_tax_code("0100109106001") == "0100109106-001"
    assert normalize_tax_code("0100109106 - 001") == "0100109106-001"
    assert normalize_tax_code("0100109106") == "0100109106"
    assert tax_code_compact("0100109106-001") == "0100109106001"


def test_bad_check_digit():
    assert check_tax_code("0100109107", "NBan/MST") == [
        Problem("NBan/MST", "tax code (MST) '0100109107' is not valid: its check digit is wrong")
    ]
    # the research sample's codes have wrong check digits
    assert len(check_tax_code("0312345678")) == 1
    assert len(check_tax_code("0109876543")) == 1
    # branch of an invalid head office
    assert "check digit" in check_tax_code("0100109107-001")[0].message


def test_twelve_digit_personal_tax_code():
    assert check_tax_code("001099012345") == []
    assert check_tax_code("001099012345", "MSTTCGP", allow_personal=False) == [Problem(
        "MSTTCGP", "tax code (MST) '001099012345' is not valid: it must have 10 digits, "
        "or 13 for a branch (0100109106-001)",
    )]


@pytest.mark.parametrize("value", ["010010910", "01001091066", "01001091060011", "0100109106-01", "1234567"])
def test_wrong_length(value):
    assert check_tax_code(value) == [Problem(
        "MST", f"tax code (MST) {value!r} is not valid: it must have 10 digits, or 13 for a branch "
        "(0100109106-001), or 12 for an individual",
    )]


def test_letters_branch_000_and_missing():
    assert check_tax_code("01001O9106")[0].message.endswith(
        "it may only contain digits (and a dash before the branch number)")
    assert check_tax_code("0100109106-000")[0].message.endswith("its branch or province part is not valid")
    assert check_tax_code("", "NMua/MST") == [Problem("NMua/MST", "tax code (MST) is missing")]


# --- VAT rate codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("code, percent, taxed", [
    ("0%", Decimal(0), True), ("5%", Decimal(5), True), ("8%", Decimal(8), True), ("10%", Decimal(10), True),
    ("KCT", None, False), ("KKKNT", None, False), ("KHAC:3.5%", Decimal("3.5"), True),
    ("KHAC:5.26%", Decimal("5.26"), True), ("KHAC", None, True),
])
def test_every_tax_code(code, percent, taxed):
    rate = TaxRate(code)
    assert rate.code == str(rate) == code
    assert rate.percent == percent
    assert rate.is_taxed is taxed


@pytest.mark.parametrize("code", ["7%", "100%", "10", "kct", "KHAC:3.5", "KHAC:123%", "0", "", "VAT10"])
def test_unknown_tax_codes_are_refused(code):
    with pytest.raises(ValidationError) as e:
        TaxRate(code)
    assert e.value.problems == (Problem(
        "TSuat", f"unknown VAT rate {code!r}: use 0%, 5%, 8%, 10%, KCT, KKKNT or KHAC:x% (e.g. KHAC:3.5%)"),)


def test_zero_rated_exempt_and_undeclared_stay_apart():
    assert len({ZERO, KCT, KKKNT}) == 3
    assert ZERO != KCT != KKKNT != ZERO
    assert ZERO.is_taxed and ZERO.percent == 0
    assert not KCT.is_taxed and not KKKNT.is_taxed
    assert TaxRate.parse("KCT") == KCT and TaxRate.parse(0) == ZERO and TaxRate.parse("kkknt") == KKKNT


@pytest.mark.parametrize("value, code", [
    (10, "10%"), (8, "8%"), (0, "0%"), (5.0, "5%"), ("10", "10%"), ("10%", "10%"), (" 8 % ", "8%"),
    (Decimal("3.5"), "KHAC:3.5%"), (5.26, "KHAC:5.26%"), ("kct", "KCT"), ("khac:3.5%", "KHAC:3.5%"),
    (TaxRate("5%"), "5%"),
])
def test_parse_accepts_numbers_and_codes(value, code):
    assert TaxRate.parse(value) == TaxRate(code)


def test_parse_refuses_what_is_not_a_rate():
    for value in ("100", "abc", "-10"):
        with pytest.raises(ValidationError):
            TaxRate.parse(value)


def test_to_decimal():
    assert to_decimal("1.50", "x") == Decimal("1.50")
    assert to_decimal(3, "x") == 3
    for bad in ("abc", "NaN", "Infinity", None):
        with pytest.raises(ValidationError) as e:
            to_decimal(bad, "lines[0].quantity")
        assert e.value.problems[0].path == "lines[0].quantity"
