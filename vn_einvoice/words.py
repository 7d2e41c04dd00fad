"""Amounts in Vietnamese words, as printed on invoices in ``TgTTTBChu`` (at most 255 characters).

Northern style by default ("nghìn", "linh", "bốn"); the southern "ngàn"/"lẻ" and the "tư" after
"mươi" are options. Rules (spec_xml_qr.md §7):

* after "mươi" 1 is "mốt" (21) and 5 is "lăm" (25); after "mười" 5 is "lăm" (15) but 1 stays "một";
  after "linh"/"lẻ" digits are read plainly (101 "một trăm linh một", 105 "một trăm linh năm");
* a non-leading group of three digits with zero hundreds starts with "không trăm"
  (1 001 "một nghìn không trăm linh một"); groups that are all zeros are skipped;
* scales nghìn, triệu, tỷ; above 10⁹ the count of tỷ is read recursively (10¹² "một nghìn tỷ").

``num2words`` is not used: its 'vi' reading is wrong for many of these cases.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from .errors import ValidationError

__all__ = [
    "CURRENCY_WORDS",
    "MAX_LENGTH",
    "amount_in_words",
    "decimal_to_words",
    "number_to_words",
    "total_in_words",
]

FIELD = "TgTTTBChu"
MAX_LENGTH = 255

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# ISO 4217 code -> (major unit, minor unit or None when the currency has no minor unit in use).
CURRENCY_WORDS: dict[str, tuple[str, str | None]] = {
    "VND": ("đồng", None),
    "USD": ("đô la Mỹ", "xu"),
    "EUR": ("euro", "xu"),
    "GBP": ("bảng Anh", "xu"),
    "JPY": ("yên Nhật", None),
    "CNY": ("nhân dân tệ", "xu"),
    "KRW": ("won Hàn Quốc", None),
    "SGD": ("đô la Singapore", "xu"),
    "AUD": ("đô la Úc", "xu"),
    "NZD": ("đô la New Zealand", "xu"),
    "CAD": ("đô la Canada", "xu"),
    "HKD": ("đô la Hồng Kông", "xu"),
    "TWD": ("đô la Đài Loan", "xu"),
    "CHF": ("franc Thụy Sĩ", "xu"),
    "THB": ("bạt Thái Lan", "xu"),
    "MYR": ("ringgit Malaysia", "xu"),
    "IDR": ("rupiah Indonesia", None),
    "PHP": ("peso Philippines", "xu"),
    "INR": ("rupee Ấn Độ", "xu"),
    "LAK": ("kíp Lào", None),
    "KHR": ("riel Campuchia", None),
    "RUB": ("rúp Nga", "xu"),
    "SEK": ("krona Thụy Điển", "xu"),
    "NOK": ("krone Na Uy", "xu"),
    "DKK": ("krone Đan Mạch", "xu"),
}

_MAX_DIGITS = 100
_BILLION = 10**9
_SCALES = ((10**6, "triệu"), (10**3, None), (1, ""))  # None = the `thousand` word


def _group(n: int, full: bool, linh: str, four: str) -> list[str]:
    """Words of 0 < n < 1000; ``full`` shows "không trăm" and "linh" even when the hundreds are zero."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
        if not tens and units:
            return words + [linh, DIGITS[units]]
    if tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGITS[units])
    elif tens:
        words += [DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 4: four, 5: "lăm"}.get(units, DIGITS[units]))
    elif units:
        words.append(DIGITS[units])
    return words


def _below_billion(n: int, leading: bool, thousand: str, linh: str, four: str) -> list[str]:
    words: list[str] = []
    for scale, name in _SCALES:
        part, n = divmod(n, scale)
        if part:
            words += _group(part, full=bool(words) or not leading, linh=linh, four=four)
            if name != "":
                words.append(name or thousand)
    return words


def _words(n: int, leading: bool, thousand: str, linh: str, four: str) -> list[str]:
    billions, rest = divmod(n, _BILLION)
    words: list[str] = []
    if billions:
        words = _words(billions, leading, thousand, linh, four) + ["tỷ"]
    if rest:
        words += _below_billion(rest, leading and not words, thousand, linh, four)
    return words


def number_to_words(n: int, *, thousand: str = "nghìn", linh: str = "linh", four: str = "bốn") -> str:
    """Read a non-negative integer in lowercase Vietnamese: 1284000 -> "một triệu hai trăm tám mươi bốn nghìn".

    ``thousand`` may be "ngàn" (South), ``linh`` may be "lẻ", ``four`` may be "tư" (only used after
    "mươi": 24 "hai mươi tư", while 4, 14 and 104 keep "bốn").
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValidationError.at(FIELD, f"not a whole number: {n!r}")
    if n < 0:
        raise ValidationError.at(FIELD, f"negative number: {n}")
    if n == 0:
        return DIGITS[0]
    return " ".join(_words(n, True, thousand, linh, four))


def _to_decimal(value) -> Decimal:
    """A finite Decimal from a Decimal, int, float or numeric string; ValidationError otherwise."""
    if isinstance(value, bool):
        raise ValidationError.at(FIELD, f"not an amount: {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError.at(FIELD, f"not a finite amount: {value!r}")
        return Decimal(repr(value))  # shortest repr: 0.1 -> Decimal("0.1"), not its binary expansion
    if isinstance(value, (Decimal, int)):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError.at(FIELD, f"not an amount: {value!r}") from None
    else:
        raise ValidationError.at(FIELD, f"not an amount: {value!r}")
    if not result.is_finite():
        raise ValidationError.at(FIELD, f"not a finite amount: {value!r}")
    # Far beyond any invoice and any 255-character reading; also keeps int()/str() conversions cheap.
    _, digits, exponent = result.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    decimals = max(0, -exponent - trailing_zeros)
    if result and (result.adjusted() > _MAX_DIGITS or decimals > _MAX_DIGITS):
        raise ValidationError.at(FIELD, f"amount {value} is too large or too precise to be written in words")
    return result


def decimal_to_words(
    value, *, thousand: str = "nghìn", linh: str = "linh", four: str = "bốn", point: str = "phẩy"
) -> str:
    """Read a non-negative number with its decimals: 12.05 -> "mười hai phẩy không năm", 0.5 -> "không phẩy năm".

    The decimal part (trailing zeros dropped) is read as its leading zeros, one "không" each, then the rest
    as a whole number: 3.14 -> "ba phẩy mười bốn", 1.005 -> "một phẩy không không năm".
    """
    d = _to_decimal(value)
    if d < 0:
        raise ValidationError.at(FIELD, f"negative number: {value}")
    opts = {"thousand": thousand, "linh": linh, "four": four}
    words = number_to_words(int(d), **opts)
    digits = format(d, "f").partition(".")[2].rstrip("0")  # exact, unlike Decimal arithmetic
    if digits:
        rest = digits.lstrip("0")
        zeros = [DIGITS[0]] * (len(digits) - len(rest))
        words = " ".join([words, point, *zeros, number_to_words(int(rest), **opts)])
    return words


def _round(d: Decimal, places: int) -> Decimal:
    """Round half-up to ``places`` decimals, exactly for any amount _to_decimal accepts."""
    with localcontext() as ctx:
        ctx.prec = 2 * _MAX_DIGITS + 10  # the default 28 digits would fail or round large amounts
        return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def amount_in_words(
    amount,
    currency: str | None = "VND",
    *,
    thousand: str = "nghìn",
    linh: str = "linh",
    four: str = "bốn",
    even: bool | str = "auto",
    negative: str = "Âm",
) -> str:
    """The amount in words for ``TgTTTBChu``, first letter capitalised, at most 255 characters.

    * VND: rounded half-up to the đồng, then "… đồng". ``even`` adds " chẵn": "auto" when the amount is a
      non-zero whole number of đồng that is a multiple of 1000 (38 500 000 -> "Ba mươi tám triệu năm trăm
      nghìn đồng chẵn", 52 500 -> "Năm mươi hai nghìn năm trăm đồng"); True for every whole amount, False never.
    * Currencies of ``CURRENCY_WORDS`` with a minor unit: rounded half-up to 2 decimals, the minor part read
      as an integer after "và": 1234.50 USD -> "Một nghìn hai trăm ba mươi bốn đô la Mỹ và năm mươi xu".
      Without a minor unit (JPY, KRW…) a fractional amount is read with "phẩy". "chẵn" only with even=True.
    * Any other code: the amount read with its decimals ("phẩy"), followed by the code itself: "… XYZ".
    * A negative amount (decrease adjustment) is prefixed with ``negative`` ("Âm …", or e.g. "Giảm").
    """
    if even not in ("auto", True, False):
        raise ValueError(f"even must be 'auto', True or False, not {even!r}")
    d = _to_decimal(amount)
    code = (currency or "VND").strip().upper()
    opts = {"thousand": thousand, "linh": linh, "four": four}
    is_negative, d = d < 0, d.copy_abs()
    whole = d == d.to_integral_value()

    if code == "VND":
        n = int(_round(d, 0))
        text = f"{number_to_words(n, **opts)} đồng"
        shown_zero = n == 0
        add_even = whole and (even is True or (even == "auto" and n != 0 and n % 1000 == 0))
    else:
        major, minor = CURRENCY_WORDS.get(code, (code, None))
        if minor is not None:
            units, _, cents = format(_round(d, 2), "f").partition(".")
            units, cents = int(units), int(cents)
            text = f"{number_to_words(units, **opts)} {major}"
            if cents:
                text += f" và {number_to_words(cents, **opts)} {minor}"
            shown_zero = not (units or cents)
        else:
            text = f"{decimal_to_words(d, **opts)} {major}"
            shown_zero = d == 0
        add_even = whole and even is True

    if add_even:
        text += " chẵn"
    if is_negative and not shown_zero and negative:
        text = f"{negative} {text}"
    text = text[0].upper() + text[1:]
    if len(text) > MAX_LENGTH:
        raise ValidationError.at(
            FIELD, f"amount {amount} in words is {len(text)} characters long, more than the {MAX_LENGTH} allowed"
        )
    return text


def total_in_words(total, currency: str | None = "VND", **options) -> str:
    """``TgTTTBChu`` of an invoice total. A decrease adjustment (negative total) is written with the words of
    its absolute amount, not "Âm …": its figures carry the minus sign and the invoice says "Điều chỉnh giảm
    … cho hóa đơn …" (TTHDLQuan/GChu, printed on the invoice), as Vietnamese producers that send unsigned
    amounts with an increase/decrease flag do. ``options`` as for :func:`amount_in_words`."""
    return amount_in_words(total, currency, negative="", **options)
