"""The project's own document JSON: an :class:`Invoice` as plain JSON, and back.

Keys are the dataclass field names of :mod:`vn_einvoice.document`. Amounts may be JSON numbers or
strings (strings keep every digit); dates are ``YYYY-MM-DD``; enums by name (``"note"``,
``"adjustment"``) or value (``4``, ``2``); a tax rate is its code (``"10%"``, ``"KCT"``).
Missing line amounts are computed from quantity × unit price − discount; missing totals and tax
breakdown are computed; given ones are kept, so that ``build`` can report the ones that do not add up.

Whatever the file holds, reading it either gives an invoice or raises ``ValidationError`` naming the
field: wrong JSON types, ``null`` where a value is needed, numbers that are not finite or too large,
files that are not UTF-8 or nested too deeply, text XML cannot carry, negative amounts outside an
adjustment invoice, discount rates outside 0–100 %.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from datetime import date
from decimal import Decimal
from functools import cache

from . import document as doc
from .amounts import complete, line_amount
from .codes import TaxRate, to_decimal
from .errors import Problem, ValidationError
from .xml.build import fmt_num

# Limits of a number in the document: the XML's amounts are (21, 6), 21 digits of which 6 decimals, so
# 15 digits before the point hold for every amount field (and keep the arithmetic of 28-digit Decimals
# exact: quantity × unit price stays below 10**30, computed in a wider context by ``line_amount``).
MAX_INTEGER_DIGITS = 15
MAX_DECIMALS = 6
MAX_DEPTH = 32  # the format nests at most 5 levels (related.invoices[i]); anything deeper is refused
# Characters XML 1.0 cannot carry (C0 controls but tab, LF and CR; lone surrogates, e.g. from a
# "\udcff" escape or an invalid UTF-8 byte; U+FFFE, U+FFFF): lxml would refuse them with a traceback.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) are refused, not stripped:
# they make a text display differently from what it says (a name or an amount read backwards, the
# "Trojan Source" trick), which a signed legal document must not do; Vietnamese never needs them; and
# stripping them would sign a text that differs from the input without telling whoever wrote it.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NEWLINE, UTF8_BOM = b"\n", b"\xef\xbb\xbf"


def _shown(value) -> str:
    """A value as the messages quote it (numbers read as ``Decimal`` without their class name)."""
    return str(value) if isinstance(value, Decimal) else repr(value)


def _text(value, path: str) -> str:
    if not isinstance(value, str):
        raise ValidationError.at(path, f"{_shown(value)} is not a text: write it in double quotes")
    bad = _XML_ILLEGAL.search(value) or _BIDI_CONTROLS.search(value)
    if bad:
        char, where = ord(bad.group()), f"at position {bad.start()}"
        if 0xDC80 <= char <= 0xDCFF:  # a byte of the file that is not UTF-8 (see _load)
            raise ValidationError.at(path, f"is not valid UTF-8: byte 0x{char - 0xDC00:02X} {where}")
        kind = ("a bidirectional-text control" if _BIDI_CONTROLS.match(bad.group()) else
                "a lone surrogate" if 0xD800 <= char <= 0xDFFF else "a control character")
        raise ValidationError.at(path, f"contains U+{char:04X} ({kind}, {where}), which an e-invoice cannot carry")
    return value


def _number(value, path: str) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError.at(path, f"{value!r} is not a number")
    d = to_decimal(value, path)
    if d and d.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValidationError.at(path, f"{_shown(value)} is too large: at most {MAX_INTEGER_DIGITS} digits "
                                 "before the decimal point")
    _, digits, exponent = d.as_tuple()  # not normalize(): it would round 1e-999999999 to 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if d and exponent + trailing_zeros < -MAX_DECIMALS:
        raise ValidationError.at(path, f"{_shown(value)} has more than {MAX_DECIMALS} decimals")
    return d


def _whole(value, path: str) -> int:
    """A whole number from an int, an integral number or a string of digits (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValueError
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"-?[0-9]+", value):
            raise ValueError
    d = to_decimal(value, path)
    if d != d.to_integral_value():
        raise ValueError
    if d and d.adjusted() >= 18:
        raise ValidationError.at(path, f"{_shown(value)} is too large")
    return int(d)


def _rate(value, path: str) -> TaxRate:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError
    if not isinstance(value, str):
        d = to_decimal(value, path)
        if not 0 <= d < 100 or d != d.quantize(Decimal("0.0001")):
            raise ValidationError.at(path, f"{_shown(value)} is not a VAT rate: a percentage from 0 to 99.9999, "
                                     "or a code such as \"10%\" or \"KCT\"")
        value = d
    return TaxRate.parse(value)


def _depth_problem(data) -> Problem | None:
    """The first place nested deeper than ``MAX_DEPTH`` (looked for without recursion)."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return Problem(path, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
    return None


@cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls, vars(doc) | {"TaxRate": TaxRate, "Decimal": Decimal, "date": date})


def _convert(tp, value, path: str, problems: list[Problem]):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, path, problems)
    if value is None:
        problems.append(Problem(path, "null is not allowed here: give a value or leave the field out"))
        return None
    if origin is tuple:
        if not isinstance(value, list):
            problems.append(Problem(path, "expected a list"))
            return ()
        return tuple(_convert(typing.get_args(tp)[0], v, f"{path}[{i}]", problems) for i, v in enumerate(value))
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            problems.append(Problem(path, "expected an object"))
            return {}
        return dict(value)
    if dataclasses.is_dataclass(tp) and tp is not TaxRate:
        return _from_dict(tp, value, path, problems)
    try:
        if tp is Decimal:
            return _number(value, path)
        if tp is TaxRate:
            return _rate(value, path)
        if tp is date:
            if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
                raise ValueError
            return date.fromisoformat(value)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            if isinstance(value, str) and value.upper() in tp.__members__:
                return tp[value.upper()]
            if isinstance(value, (dict, list)):
                raise ValueError
            if not issubclass(tp, int):
                return tp(value)
            try:
                return tp(_whole(value, path))
            except ValidationError:
                raise ValueError from None  # too large: reported as not one of the names
        if tp is bool:
            if not isinstance(value, bool):
                raise ValueError
            return value
        if tp is int:
            return _whole(value, path)
        if tp is str:
            return _text(value, path)
    except ValidationError as e:
        problems.extend(Problem(path, p.message) for p in e.problems)
        return None
    except (ValueError, TypeError, KeyError, ArithmeticError):
        expected = {Decimal: "a number", date: "a date YYYY-MM-DD", int: "a whole number", bool: "true or false"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            names = ", ".join(m.name.lower() for m in tp)
            problems.append(Problem(path, f"{_shown(value)} is not one of: {names}"))
        else:
            problems.append(Problem(path, f"{_shown(value)} is not {expected.get(tp, 'valid')}"))
        return None
    return value


def _from_dict(cls, data, path: str, problems: list[Problem]):
    if not isinstance(data, dict):
        problems.append(Problem(path, "expected an object"))
        return None
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            shown = key if key.isprintable() else repr(key)  # no control characters to the terminal
            problems.append(Problem(f"{path}.{shown}" if path else shown, "unknown field"))
            continue
        kwargs[key] = _convert(hints[key], value, f"{path}.{key}" if path else key, problems)
    for f in dataclasses.fields(cls):
        if f.name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(Problem(f"{path}.{f.name}" if path else f.name, "required field is missing"))
    if problems:
        return None
    return cls(**kwargs)


def value_problems(invoice: doc.Invoice) -> list[Problem]:
    """Texts XML cannot carry and numbers beyond the document's limits, anywhere in an invoice.

    ``invoice_from_json`` refuses them field by field; this looks at an invoice from any source (the
    SInvoice mapping, a program) before it is built, so that lxml or ``Decimal`` never fail on them.
    Paths are the document JSON's (``lines[0].name``); ``meta`` is not looked at (never written).
    """
    problems: list[Problem] = []
    stack = [(invoice, "")]
    while stack:
        value, path = stack.pop()
        try:
            if isinstance(value, str):
                _text(value, path)
            elif isinstance(value, Decimal):
                _number(value, path)
            elif isinstance(value, int) and not isinstance(value, (bool, enum.Enum)):
                _whole(value, path)
        except ValidationError as e:
            problems += e.problems
        if dataclasses.is_dataclass(value) and not isinstance(value, TaxRate):
            stack.extend((getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
                         for f in reversed(dataclasses.fields(value)) if f.name != "meta")
        elif isinstance(value, tuple):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value))))
    return problems


def oversized_numbers(data, path: str = "") -> list[Problem]:
    """The JSON numbers of ``data`` (any JSON: SInvoice's too) that are not finite or too large, with their paths."""
    problems: list[Problem] = []
    stack = [(data, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            try:
                _number(value, where)
            except ValidationError as e:
                problems += e.problems
    return problems


def _load(data: str | bytes):
    """Parse JSON text; numbers with a fraction or an exponent are read as ``Decimal`` (every digit kept)."""
    try:
        return json.loads(data, parse_float=Decimal)
    except json.JSONDecodeError as e:
        raise ValidationError.at("", f"not valid JSON: {e}") from None
    except RecursionError:
        raise ValidationError.at("", "not valid JSON: nested too deeply") from None
    except UnicodeDecodeError as e:
        if not isinstance(data, bytes):
            raise
        # Read the bytes that are not UTF-8 as lone surrogates: the field holding them is then named
        # by the text check, and a key or the structure holding them still fails as it should.
        where = f"line {data.count(NEWLINE, 0, e.start) + 1}"
        try:
            return _load(data.removeprefix(UTF8_BOM).decode("utf-8", "surrogateescape"))
        except ValidationError as err:
            raise ValidationError.at("", f"not valid UTF-8 (byte 0x{data[e.start]:02x} at {where}); "
                                     f"{err.problems[0].message}") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise ValidationError.at("", f"not valid JSON: {e}") from None


def _line_problems(line: doc.Line, path: str, adjustment: bool, computed: bool) -> list[Problem]:
    """Signs and ranges a line's kind and the invoice allow.

    The document's conventions (``Line``, the SInvoice mapping, the Odoo addon): the quantity is never
    negative; a discount line (``TChat`` 3) carries a positive amount, which is subtracted; a decrease is
    only possible on an adjustment invoice, with a negative unit price, discount, amount and VAT (on a
    goods line, or on a discount line when the adjustment lowers the discount). A line discount rate is
    a percentage of the line, 0 to 100.
    """
    problems = []
    if line.quantity is not None and line.quantity < 0:
        problems.append(Problem(f"{path}.quantity", f"quantity {line.quantity} is negative: a quantity never is "
                                "(a decrease on an adjustment invoice has a negative unit price and amount)"))
    if line.discount_rate is not None and not 0 <= line.discount_rate <= 100:
        problems.append(Problem(f"{path}.discount_rate", f"discount rate {line.discount_rate} % is not from 0 to 100"))
    if not adjustment:
        hint = ("a discount line's amount is positive (it is subtracted from the total)"
                if line.kind is doc.LineKind.DISCOUNT else
                "negative amounts are only possible on an adjustment invoice (related.relation \"adjustment\")")
        for name in ("unit_price", "discount_amount", "amount", "tax_amount"):
            value = getattr(line, name)
            if name == "amount" and computed:
                continue  # computed from the price or discount, which are reported
            if value is not None and value < 0:
                problems.append(Problem(f"{path}.{name}", f"{value} is negative: {hint}"))
    return problems


def _amounts_problems(inv: doc.Invoice, lines: list[doc.Line], computed: set[int]) -> list[Problem]:
    problems: list[Problem] = []
    if inv.exchange_rate is not None and inv.exchange_rate <= 0:
        problems.append(Problem("exchange_rate", f"exchange rate {inv.exchange_rate} is not positive"))
    for i, line in enumerate(lines):
        problems += _line_problems(line, f"lines[{i}]", inv.is_adjustment, i in computed)
    return problems


def invoice_from_json(data: dict | str | bytes) -> doc.Invoice:
    """An invoice from the project's document JSON; ``ValidationError`` names every bad field."""
    if isinstance(data, (str, bytes)):
        data = _load(data)
    if not isinstance(data, dict):
        raise ValidationError.at("", "the document must be a JSON object")
    too_deep = _depth_problem(data)
    if too_deep:
        raise ValidationError([too_deep])
    data = dict(data)
    problems: list[Problem] = []
    currency = data.get("currency")
    currency = currency if isinstance(currency, str) and currency else "VND"
    raw_lines = data.pop("lines", None)
    if raw_lines is not None and not isinstance(raw_lines, list):
        problems.append(Problem("lines", "expected a list"))
        raw_lines = ()
    lines, computed = [], set()
    for i, raw in enumerate(raw_lines or []):
        line = _from_dict(doc.Line, raw, f"lines[{i}]", problems)
        if line is not None and line.amount is None and line.quantity is not None and line.unit_price is not None:
            amount = line_amount(line.quantity, line.unit_price, line.discount_amount, line.discount_rate, currency)
            if amount.adjusted() >= MAX_INTEGER_DIGITS:
                problems.append(Problem(f"lines[{i}].amount", f"quantity × unit price − discount is {amount}: "
                                        f"more than {MAX_INTEGER_DIGITS} digits"))
            line = dataclasses.replace(line, amount=amount)
            computed.add(i)
        lines.append(line)
    if not lines and raw_lines != ():
        problems.append(Problem("lines", "the invoice has no lines"))
    data["lines"] = []
    inv = _from_dict(doc.Invoice, data, "", problems)
    if problems:
        raise ValidationError(problems)
    problems = _amounts_problems(inv, lines, computed)
    if problems:
        raise ValidationError(problems)
    inv = dataclasses.replace(inv, lines=tuple(lines))
    computed = complete(inv)
    # Given totals or breakdown are kept (so that ``build`` reports the ones that do not add up);
    # whichever of the two is missing is computed.
    return dataclasses.replace(
        computed,
        totals=inv.totals if inv.totals is not None else computed.totals,
        tax_breakdown=inv.tax_breakdown or computed.tax_breakdown,
    )


def _to_json(value):
    if isinstance(value, TaxRate):
        return value.code
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name == "meta" or v is None or v == "" or v == () or v == {}:
                continue
            if v == f.default and not isinstance(v, bool):
                continue
            out[f.name] = _to_json(v)
        return out
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, TaxRate):
        return value.code
    if isinstance(value, Decimal):
        return fmt_num(value)
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, date):
        return value.isoformat()
    return value


def invoice_to_json(invoice: doc.Invoice) -> dict:
    """The project's document JSON of an invoice (defaults left out, amounts as strings)."""
    return _to_json(invoice)
