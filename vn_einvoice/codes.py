"""Codes of the e-invoice regime: templates (KHMSHDon), symbols (KHHDon), tax rates (TSuat), MST.

Today's regime: Decree 123/2020 as amended by Decree 70/2025, Circular 32/2025/TT-BTC Art. 5.
Legacy regime (Circular 32/2011, 39/2014): templates like ``01GTKT0/001`` and series like ``AA/17E``,
still used by some providers; accepted where asked for.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from stdnum.exceptions import ValidationError as _StdnumError
from stdnum.vn import mst as _mst

from .errors import Problem, ValidationError


class Regime(str, enum.Enum):
    CURRENT = "current"  # Decree 123/70, Circular 78/32: template "1", symbol "C26TAA"
    LEGACY = "legacy"  # Circular 32/2011 / 39/2014: template "01GTKT0/001", series "AA/17E"


# --- templates (KHMSHDon) -----------------------------------------------------------------------

TEMPLATE_TITLES = {
    "1": "Hóa đơn giá trị gia tăng",
    "2": "Hóa đơn bán hàng",
    "3": "Hóa đơn bán tài sản công",
    "4": "Hóa đơn bán hàng dự trữ quốc gia",
    "5": "Tem, vé, thẻ, phiếu thu điện tử",
    "6": "Phiếu xuất kho kiêm vận chuyển nội bộ",
    "7": "Hóa đơn thương mại điện tử",
    "8": "Hóa đơn giá trị gia tăng tích hợp biên lai thu thuế, phí, lệ phí",
    "9": "Hóa đơn bán hàng tích hợp biên lai thu thuế, phí, lệ phí",
}
# Title of template 6 depends on the symbol's 4th letter (N internal transfer, B consignment).
TITLE_6B = "Phiếu xuất kho hàng gửi bán đại lý"

LEGACY_TEMPLATE_TYPES = {
    "01GTKT": "1",  # VAT invoice
    "02GTTT": "2",  # sales invoice
    "07KPTQ": "2",  # sales invoice in non-tariff zones
    "06HDXK": "1",  # export invoice
    "03XKNB": "6",  # internal transfer note
    "04HGDL": "6",  # consignment note
}
_LEGACY_TEMPLATE_RE = re.compile(r"^(\d{2}[A-Z]{4})(\d)/(\d{3})$")
_CURRENT_TEMPLATE_RE = re.compile(r"^[1-9]$")

# --- symbols (KHHDon) ---------------------------------------------------------------------------

_CURRENT_SYMBOL_RE = re.compile(r"^([CK])(\d{2})([TDLMNBGHX])([A-Z]{2})$")
# The 20 letters allowed in legacy series (Circular 39/2014 Appendix 1).
LEGACY_LETTERS = "ABCDEGHKLMNPQRSTUVXY"
_LEGACY_SYMBOL_RE = re.compile(rf"^(\d{{2}})?([{LEGACY_LETTERS}]{{2}})/(\d{{2}})([ETP])$")

SYMBOL_KINDS = {
    "T": "registered business or household",
    "D": "public asset / national reserve / special invoice",
    "L": "issued per occurrence by the tax office",
    "M": "generated from a cash register",
    "N": "internal transfer note",
    "B": "consignment delivery note",
    "G": "VAT stamp, ticket or card",
    "H": "sales stamp, ticket or card",
    "X": "e-commerce invoice",
}
# Which templates a symbol kind may be used with (Circular 32/2025 Art. 5.1.b).
_KIND_TEMPLATES = {
    "N": {"6"},
    "B": {"6"},
    "G": {"5"},
    "H": {"5"},
    "X": {"7"},
}


def template_regime(template: str) -> Regime:
    """Regime of a template number; raises ``ValidationError`` if it fits neither."""
    if _CURRENT_TEMPLATE_RE.match(template or ""):
        return Regime.CURRENT
    if _LEGACY_TEMPLATE_RE.match(template or ""):
        return Regime.LEGACY
    raise ValidationError.at(
        "KHMSHDon",
        f"invalid template number {template!r}: expected 1 to 9 (Circular 32/2025) "
        "or a legacy code such as 01GTKT0/001",
    )


def template_kind(template: str) -> str:
    """The current-regime template digit ("1".."9") a template stands for (legacy codes mapped)."""
    if template_regime(template) is Regime.CURRENT:
        return template
    prefix = _LEGACY_TEMPLATE_RE.match(template).group(1)
    return LEGACY_TEMPLATE_TYPES.get(prefix, "1")


def template_title(template: str, symbol: str = "") -> str:
    kind = template_kind(template)
    if kind == "6" and len(symbol) == 6 and symbol[3] == "B":
        return TITLE_6B
    return TEMPLATE_TITLES[kind]


def symbol_regime(symbol: str) -> Regime:
    if _CURRENT_SYMBOL_RE.match(symbol or ""):
        return Regime.CURRENT
    if _LEGACY_SYMBOL_RE.match(symbol or ""):
        return Regime.LEGACY
    raise ValidationError.at(
        "KHHDon",
        f"invalid invoice symbol {symbol!r}: expected C or K, two digits of the year, one of "
        f"{''.join(SYMBOL_KINDS)} and two capital letters (e.g. C26TAA), or a legacy series such as AA/17E",
    )


def symbol_year(symbol: str) -> int:
    """Four-digit year carried by a symbol (``C26TAA`` → 2026, ``AA/17E`` → 2017)."""
    m = _CURRENT_SYMBOL_RE.match(symbol or "")
    yy = m.group(2) if m else _LEGACY_SYMBOL_RE.match(symbol or "").group(3)
    return 2000 + int(yy)


def symbol_is_coded(symbol: str) -> bool:
    """True for invoices coded by the tax authority (``C…``); legacy series are never coded."""
    return bool(_CURRENT_SYMBOL_RE.match(symbol or "")) and symbol[0] == "C"


def check_template_symbol(template: str, symbol: str, issue_date: date | None = None) -> list[Problem]:
    """Every problem with a template/symbol pair (and the issue date, when given)."""
    problems: list[Problem] = []
    try:
        t_regime = template_regime(template)
    except ValidationError as e:
        problems.extend(e.problems)
        t_regime = None
    try:
        s_regime = symbol_regime(symbol)
    except ValidationError as e:
        problems.extend(e.problems)
        s_regime = None
    if t_regime and s_regime and t_regime is not s_regime:
        problems.append(Problem(
            "KHHDon",
            f"symbol {symbol!r} belongs to the {s_regime.value} regime but template {template!r} "
            f"to the {t_regime.value} regime",
        ))
        return problems
    if s_regime is Regime.CURRENT and t_regime is Regime.CURRENT:
        kind = symbol[3]
        allowed = _KIND_TEMPLATES.get(kind)
        if allowed and template not in allowed:
            problems.append(Problem(
                "KHHDon",
                f"symbol letter {kind!r} ({SYMBOL_KINDS[kind]}) is only used with template "
                f"{'/'.join(sorted(allowed))}, not {template!r}",
            ))
        if kind in {"T", "D", "L", "M"} and template in {"5", "6"}:
            problems.append(Problem(
                "KHHDon", f"template {template!r} needs symbol letter "
                f"{'G or H' if template == '5' else 'N or B'}, not {kind!r}",
            ))
        if issue_date is not None and symbol_year(symbol) != issue_date.year:
            problems.append(Problem(
                "KHHDon",
                f"symbol {symbol!r} is for the year {symbol_year(symbol)} but the invoice is issued on "
                f"{issue_date:%d/%m/%Y}: use the series of {issue_date.year}",
            ))
    elif s_regime is Regime.LEGACY and issue_date is not None and symbol_year(symbol) > issue_date.year:
        problems.append(Problem(
            "KHHDon", f"legacy series {symbol!r} was registered in {symbol_year(symbol)}, after the "
            f"issue date {issue_date:%d/%m/%Y}",
        ))
    return problems


# --- tax codes (MST) ----------------------------------------------------------------------------

_PERSONAL_ID_RE = re.compile(r"^\d{12}$")


def normalize_tax_code(value: str) -> str:
    """``0100109106-001`` style: 10 digits, or 10 digits + ``-`` + 3 digits; 12-digit personal IDs kept."""
    compact = re.sub(r"[\s.\-]", "", value or "")
    if len(compact) == 13:
        return f"{compact[:10]}-{compact[10:]}"
    return compact


def check_tax_code(value: str, path: str = "MST", allow_personal: bool = True) -> list[Problem]:
    """Problems with a tax code: enterprise MST (checksum by python-stdnum), branch, or 12-digit personal ID."""
    compact = re.sub(r"[\s.\-]", "", value or "")
    if not compact:
        return [Problem(path, "tax code (MST) is missing")]
    if allow_personal and _PERSONAL_ID_RE.match(compact) and "-" not in value:
        # Since 07/2025 an individual's tax code is the 12-digit personal identification number
        # (written without a dash: "0100109106-01" is a mistyped branch code, not a personal one).
        return []
    try:
        _mst.validate(compact)
    except _StdnumError as e:
        hint = {
            "InvalidChecksum": "its check digit is wrong",
            "InvalidLength": "it must have 10 digits, or 13 for a branch (0100109106-001)"
            + (", or 12 for an individual" if allow_personal else ""),
            "InvalidFormat": "it may only contain digits (and a dash before the branch number)",
            "InvalidComponent": "its branch or province part is not valid",
        }.get(type(e).__name__, str(e))
        return [Problem(path, f"tax code (MST) {value!r} is not valid: {hint}")]
    return []


def tax_code_compact(value: str) -> str:
    """Digits only (as in the QR code's seller field)."""
    return re.sub(r"\D", "", value or "")


# --- tax rates (TSuat) --------------------------------------------------------------------------

_KHAC_RE = re.compile(r"^KHAC(?::(\d{1,2}(?:\.\d{1,2})?)%)?$")
_PERCENT_RE = re.compile(r"^(\d{1,2})%$")
STANDARD_PERCENTS = {"0", "5", "8", "10"}


@dataclass(frozen=True, order=True)
class TaxRate:
    """A VAT rate code as written in ``TSuat``: ``0%``, ``5%``, ``8%``, ``10%``, ``KCT``, ``KKKNT``, ``KHAC:x%``.

    ``0%`` (zero-rated, e.g. exports), ``KCT`` (not subject to VAT) and ``KKKNT`` (not declared/paid)
    are three different things and are never merged.
    """

    code: str

    def __post_init__(self):
        code = self.code
        if code in {"KCT", "KKKNT"}:
            return
        m = _PERCENT_RE.match(code)
        if m and m.group(1) in STANDARD_PERCENTS:
            return
        if _KHAC_RE.match(code):
            return
        raise ValidationError.at(
            "TSuat", f"unknown VAT rate {code!r}: use 0%, 5%, 8%, 10%, KCT, KKKNT or KHAC:x% (e.g. KHAC:3.5%)"
        )

    @classmethod
    def parse(cls, value) -> TaxRate:
        """Accept a code, or a number of percent (10 → ``10%``, 3.5 → ``KHAC:3.5%``)."""
        if isinstance(value, TaxRate):
            return value
        if isinstance(value, (int, float, Decimal)):
            value = f"{Decimal(str(value)).normalize():f}%"
        text = str(value).strip().upper().replace(" ", "")
        if text in {"KCT", "KKKNT"} or text.startswith("KHAC"):
            return cls(text)
        m = re.match(r"^(\d{1,2}(?:\.\d{1,4})?)%?$", text)
        if m:
            num = Decimal(m.group(1)).normalize()
            num_txt = f"{num:f}"
            if num_txt in STANDARD_PERCENTS:
                return cls(f"{num_txt}%")
            return cls(f"KHAC:{num_txt}%")
        return cls(text)

    @property
    def percent(self) -> Decimal | None:
        """The rate in percent, or None when there is no VAT (KCT, KKKNT) or it is unknown (KHAC)."""
        m = _PERCENT_RE.match(self.code)
        if m:
            return Decimal(m.group(1))
        m = _KHAC_RE.match(self.code)
        if m and m.group(1):
            return Decimal(m.group(1))
        return None

    @property
    def is_taxed(self) -> bool:
        """False for KCT and KKKNT: no VAT amount is written for them."""
        return self.code not in {"KCT", "KKKNT"}

    def __str__(self) -> str:
        return self.code


ZERO = TaxRate("0%")
FIVE = TaxRate("5%")
EIGHT = TaxRate("8%")
TEN = TaxRate("10%")
KCT = TaxRate("KCT")
KKKNT = TaxRate("KKKNT")


def to_decimal(value, path: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError.at(path, f"{value!r} is not a number") from None
    if not d.is_finite():
        raise ValidationError.at(path, f"{value!r} is not a number")
    return d
