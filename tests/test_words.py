"""Amount in Vietnamese words (TgTTTBChu)."""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest

from vn_einvoice.errors import ValidationError
from vn_einvoice.words import (
    CURRENCY_WORDS,
    MAX_LENGTH,
    amount_in_words,
    decimal_to_words,
    number_to_words,
)

CASES = json.loads((Path(__file__).parent / "data" / "amount_words_cases.json").read_text(encoding="utf-8"))


# --- acceptance table -------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "expected"), sorted(CASES["numbers"].items(), key=lambda kv: int(kv[0])))
def test_acceptance_numbers(n, expected):
    four = "tư" if n == "1284000" else "bốn"  # the table's one "tư" case
    assert number_to_words(int(n), four=four) == expected


@pytest.mark.parametrize(("amount", "expected"), sorted(CASES["amounts_vnd"].items()))
def test_acceptance_vnd(amount, expected):
    assert amount_in_words(Decimal(amount), "VND") == expected
    assert amount_in_words(int(amount)) == expected
    assert amount_in_words(amount) == expected


# --- number_to_words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "một"),
        (4, "bốn"),
        (11, "mười một"),
        (14, "mười bốn"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (31, "ba mươi mốt"),
        (55, "năm mươi lăm"),
        (100, "một trăm"),
        (101, "một trăm linh một"),
        (104, "một trăm linh bốn"),
        (105, "một trăm linh năm"),
        (111, "một trăm mười một"),
        (115, "một trăm mười lăm"),
        (121, "một trăm hai mươi mốt"),
        (1015, "một nghìn không trăm mười lăm"),
        (1021, "một nghìn không trăm hai mươi mốt"),
        (1105, "một nghìn một trăm linh năm"),
        (10_000, "mười nghìn"),
        (15_000, "mười lăm nghìn"),
        (21_000, "hai mươi mốt nghìn"),
        (1_000_010_000, "một tỷ không trăm mười nghìn"),
        (10**12, "một nghìn tỷ"),
        (10**15, "một triệu tỷ"),
        (10**18, "một tỷ tỷ"),
        (2 * 10**12 + 5, "hai nghìn tỷ không trăm linh năm"),
        (1_001_000_000_000, "một nghìn không trăm linh một tỷ"),
    ],
)
def test_number_edge_cases(n, expected):
    assert number_to_words(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (999, "chín trăm chín mươi chín"),
        (1000, "một nghìn"),
        (1001, "một nghìn không trăm linh một"),
        (999_999, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
        (10**6, "một triệu"),
        (10**6 + 1, "một triệu không trăm linh một"),
        (10**6 + 1000, "một triệu không trăm linh một nghìn"),
        (
            999_999_999,
            "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín",
        ),
        (10**9, "một tỷ"),
        (10**9 + 1, "một tỷ không trăm linh một"),
        (10**9 + 10**6, "một tỷ không trăm linh một triệu"),
        (10**12 - 1, "chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu chín trăm chín mươi chín "
                     "nghìn chín trăm chín mươi chín"),
        (10**12 + 1, "một nghìn tỷ không trăm linh một"),
        (10**15 + 10**9, "một triệu không trăm linh một tỷ"),
    ],
)
def test_scale_boundaries(n, expected):
    assert number_to_words(n) == expected


def test_variants():
    assert number_to_words(2024, thousand="ngàn") == "hai ngàn không trăm hai mươi bốn"
    assert number_to_words(1_005_000, thousand="ngàn", linh="lẻ") == "một triệu không trăm lẻ năm ngàn"
    assert number_to_words(101, linh="lẻ") == "một trăm lẻ một"
    assert number_to_words(24, four="tư") == "hai mươi tư"
    assert number_to_words(2024, four="tư") == "hai nghìn không trăm hai mươi tư"
    # "tư" only after "mươi"
    assert number_to_words(4, four="tư") == "bốn"
    assert number_to_words(14, four="tư") == "mười bốn"
    assert number_to_words(104, four="tư") == "một trăm linh bốn"
    assert number_to_words(4_000, four="tư") == "bốn nghìn"
    assert number_to_words(44_444, four="tư", thousand="ngàn") == "bốn mươi tư ngàn bốn trăm bốn mươi tư"


@pytest.mark.parametrize("bad", [-1, 1.0, "12", None, True, Decimal(5)])
def test_number_to_words_rejects(bad):
    with pytest.raises(ValidationError) as err:
        number_to_words(bad)
    assert err.value.problems[0].path == "TgTTTBChu"


# --- properties -------------------------------------------------------------------------------------

DIGIT_VALUES = {"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
                "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
SCALES = {"nghìn": 10**3, "ngàn": 10**3, "triệu": 10**6}


def parse(words: str) -> int:
    """Independent reader of the words back to a number (at most one "tỷ", i.e. n < 10**18)."""
    big = small = group = pending = 0
    for w in words.split(" "):
        if w in DIGIT_VALUES:
            pending = DIGIT_VALUES[w]
        elif w == "trăm":
            group, pending = group + pending * 100, 0
        elif w == "mươi":
            group, pending = group + pending * 10, 0
        elif w == "mười":
            group += 10
        elif w in ("linh", "lẻ"):
            pass
        elif w in SCALES:
            small, group, pending = small + (group + pending) * SCALES[w], 0, 0
        elif w == "tỷ":
            big, small, group, pending = (small + group + pending) * 10**9, 0, 0, 0
        else:
            raise AssertionError(f"unexpected word {w!r} in {words!r}")
    return big + small + group + pending


LINH_OK = re.compile(r"\blinh (một|hai|ba|bốn|năm|sáu|bảy|tám|chín)( (nghìn|triệu|tỷ)\b.*)?$")


def check_words(n: int, words: str) -> None:
    assert words == words.strip() and "  " not in words, words
    assert "mươi một" not in words, words
    assert "mười năm" not in words and "mươi năm" not in words, words
    assert "linh lăm" not in words and "linh mốt" not in words, words
    # "lăm" only after mười/mươi, "mốt" only after mươi
    tokens = words.split(" ")
    for prev, word in zip([""] + tokens, tokens):
        if word == "lăm":
            assert prev in ("mười", "mươi"), words
        if word == "mốt":
            assert prev == "mươi", words
    # "linh" is followed by exactly one digit word, then a scale word or the end
    for m in re.finditer(r"\blinh\b", words):
        assert LINH_OK.match(words, m.start()), words
    if n:
        assert not words.startswith("không"), words
    assert parse(words) == n, (n, words)


def test_property_all_below_100000():
    for n in range(100_000):
        check_words(n, number_to_words(n))


def test_property_sample_of_large_numbers():
    rng = random.Random(20240501)
    sample = [rng.randrange(10**k) for k in range(6, 19) for _ in range(400)]
    sample += [d * 10**k + r for k in range(3, 18, 3) for d in (1, 5, 21, 105) for r in (0, 1, 5, 15, 21, 105)]
    for n in sample:
        check_words(n, number_to_words(n))
        check_words(n, number_to_words(n, four="tư").replace("tư", "bốn"))


def test_property_variants_parse_back():
    rng = random.Random(7)
    for n in [rng.randrange(10**12) for _ in range(2000)]:
        words = number_to_words(n, thousand="ngàn", linh="lẻ", four="tư")
        assert "nghìn" not in words and "linh" not in words
        assert parse(words) == n, (n, words)


# --- amount_in_words: VND ---------------------------------------------------------------------------


def test_vnd_even_rules():
    assert amount_in_words(38_500_000) == "Ba mươi tám triệu năm trăm nghìn đồng chẵn"
    assert amount_in_words(1_600_000) == "Một triệu sáu trăm nghìn đồng chẵn"
    assert amount_in_words(1000) == "Một nghìn đồng chẵn"
    assert amount_in_words(52_500) == "Năm mươi hai nghìn năm trăm đồng"
    assert amount_in_words(1001) == "Một nghìn không trăm linh một đồng"
    assert amount_in_words(52_500, even=True) == "Năm mươi hai nghìn năm trăm đồng chẵn"
    assert amount_in_words(38_500_000, even=False) == "Ba mươi tám triệu năm trăm nghìn đồng"
    assert amount_in_words("38500000.00") == "Ba mươi tám triệu năm trăm nghìn đồng chẵn"
    # rounded to a multiple of 1000 from a fractional amount: not "chẵn"
    assert amount_in_words("37999.5") == "Ba mươi tám nghìn đồng"
    assert amount_in_words("37999.5", even=True) == "Ba mươi tám nghìn đồng"


def test_vnd_rounding_half_up():
    assert amount_in_words(Decimal("52500.5")) == "Năm mươi hai nghìn năm trăm linh một đồng"
    assert amount_in_words(Decimal("52500.49")) == "Năm mươi hai nghìn năm trăm đồng"
    assert amount_in_words("0.5") == "Một đồng"
    assert amount_in_words(2.675) == "Ba đồng"
    assert amount_in_words(Decimal("-1500.5")) == "Âm một nghìn năm trăm linh một đồng"


def test_vnd_zero():
    assert amount_in_words(0) == "Không đồng"
    assert amount_in_words(Decimal("0.00")) == "Không đồng"
    assert amount_in_words("-0.4") == "Không đồng"
    assert amount_in_words(0, even=True) == "Không đồng chẵn"


def test_vnd_negative():
    assert amount_in_words(-1_100_000) == "Âm một triệu một trăm nghìn đồng chẵn"
    assert amount_in_words(Decimal("-52500")) == "Âm năm mươi hai nghìn năm trăm đồng"
    assert amount_in_words(-1_100_000, negative="Giảm") == "Giảm một triệu một trăm nghìn đồng chẵn"
    assert amount_in_words(-1_100_000, negative="") == "Một triệu một trăm nghìn đồng chẵn"


def test_vnd_variants_and_currency_spelling():
    assert amount_in_words(1_284_000, four="tư") == "Một triệu hai trăm tám mươi tư nghìn đồng chẵn"
    assert amount_in_words(1_005_000, thousand="ngàn", linh="lẻ") == "Một triệu không trăm lẻ năm ngàn đồng chẵn"
    for currency in ("VND", "vnd", " VND ", None, ""):
        assert amount_in_words(2024, currency) == "Hai nghìn không trăm hai mươi bốn đồng"


# --- amount_in_words: other currencies ---------------------------------------------------------------


def test_foreign_with_cents():
    assert amount_in_words(Decimal("1234.50"), "USD") == "Một nghìn hai trăm ba mươi bốn đô la Mỹ và năm mươi xu"
    assert (
        amount_in_words(Decimal("1234.50"), "USD", four="tư")
        == "Một nghìn hai trăm ba mươi tư đô la Mỹ và năm mươi xu"
    )
    assert amount_in_words("10.05", "EUR") == "Mười euro và năm xu"
    assert amount_in_words("21.21", "GBP") == "Hai mươi mốt bảng Anh và hai mươi mốt xu"
    assert amount_in_words(0.1, "SGD") == "Không đô la Singapore và mười xu"
    assert amount_in_words("-5.25", "USD") == "Âm năm đô la Mỹ và hai mươi lăm xu"


def test_foreign_rounding_to_cents():
    assert amount_in_words("1.005", "USD") == "Một đô la Mỹ và một xu"
    assert amount_in_words("1.004", "USD") == "Một đô la Mỹ"
    assert amount_in_words("9.995", "USD") == "Mười đô la Mỹ"
    big = "123456789012345678901234567.995"  # beyond the default 28-digit Decimal precision
    assert amount_in_words(big, "USD").endswith("năm trăm sáu mươi tám đô la Mỹ")


def test_foreign_whole():
    assert amount_in_words(99_000, "USD") == "Chín mươi chín nghìn đô la Mỹ"
    assert amount_in_words(Decimal("99000.00"), "usd") == "Chín mươi chín nghìn đô la Mỹ"
    assert amount_in_words(99_000, "USD", even=True) == "Chín mươi chín nghìn đô la Mỹ chẵn"
    assert amount_in_words("99000.5", "USD", even=True) == "Chín mươi chín nghìn đô la Mỹ và năm mươi xu"
    assert amount_in_words(0, "USD") == "Không đô la Mỹ"


def test_currencies_without_minor_unit():
    assert amount_in_words(150_000, "JPY") == "Một trăm năm mươi nghìn yên Nhật"
    assert amount_in_words(Decimal("150000.00"), "JPY") == "Một trăm năm mươi nghìn yên Nhật"
    assert amount_in_words(1_000_000, "KRW") == "Một triệu won Hàn Quốc"
    assert amount_in_words("1000.5", "JPY") == "Một nghìn phẩy năm yên Nhật"


def test_currency_table():
    for code in ("USD", "EUR", "JPY", "CNY", "GBP", "SGD", "KRW", "AUD", "THB", "HKD", "TWD", "CAD", "CHF"):
        major, minor = CURRENCY_WORDS[code]
        assert major and major == major.strip()
        assert minor in (None, "xu")
    assert CURRENCY_WORDS["JPY"][1] is None and CURRENCY_WORDS["KRW"][1] is None
    assert amount_in_words(7, "CNY") == "Bảy nhân dân tệ"
    assert amount_in_words(7, "THB") == "Bảy bạt Thái Lan"


def test_unknown_currency():
    assert amount_in_words(Decimal("12.05"), "XYZ") == "Mười hai phẩy không năm XYZ"
    assert amount_in_words(1000, "xyz") == "Một nghìn XYZ"
    assert amount_in_words(1000, "XYZ", even=True) == "Một nghìn XYZ chẵn"
    assert amount_in_words("-0.5", "XYZ") == "Âm không phẩy năm XYZ"
    assert amount_in_words("0.000", "XYZ") == "Không XYZ"


# --- decimal_to_words -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", "không phẩy năm"),
        (Decimal("0.50"), "không phẩy năm"),
        ("12.05", "mười hai phẩy không năm"),
        ("3.14", "ba phẩy mười bốn"),
        ("1.005", "một phẩy không không năm"),
        ("2.25", "hai phẩy hai mươi lăm"),
        ("7", "bảy"),
        ("7.000", "bảy"),
        (Decimal("1E+3"), "một nghìn"),
        (0.1, "không phẩy một"),
        (12, "mười hai"),
        ("1001.101", "một nghìn không trăm linh một phẩy một trăm linh một"),
    ],
)
def test_decimal_to_words(value, expected):
    assert decimal_to_words(value) == expected


def test_decimal_to_words_options_and_errors():
    assert decimal_to_words("1024.24", thousand="ngàn", four="tư") == "một ngàn không trăm hai mươi tư phẩy hai mươi tư"
    assert decimal_to_words("1.5", point="chấm") == "một chấm năm"
    with pytest.raises(ValidationError):
        decimal_to_words("-1.5")
    with pytest.raises(ValidationError):
        decimal_to_words("abc")


# --- limits and bad input ---------------------------------------------------------------------------


def test_max_length():
    longest_ok = "777777777777777777777777777"  # 244 characters
    assert len(amount_in_words(longest_ok)) <= MAX_LENGTH == 255
    for amount, currency in [("777777777777777777777777777777", "VND"), (longest_ok + ".77", "USD")]:
        with pytest.raises(ValidationError) as err:
            amount_in_words(amount, currency)
        assert err.value.problems[0].path == "TgTTTBChu"
        assert "more than the 255 allowed" in str(err.value)


@pytest.mark.parametrize(
    "bad",
    ["abc", "", "1,000", "12.5.3", None, True, [1], float("nan"), float("inf"), Decimal("NaN"), "Infinity",
     Decimal("1E+1000"), Decimal("1E-1000")],
)
def test_bad_amounts(bad):
    with pytest.raises(ValidationError) as err:
        amount_in_words(bad)
    assert err.value.problems[0].path == "TgTTTBChu"


def test_bad_even_option():
    with pytest.raises(ValueError, match="even"):
        amount_in_words(1000, even="yes")


def test_inputs_of_every_type_agree():
    expected = "Một trăm hai mươi ba nghìn bốn trăm năm mươi sáu đồng"
    for value in (123456, Decimal("123456"), "123456", 123456.0, " 123456 ", Decimal("1.23456E+5")):
        assert amount_in_words(value) == expected
