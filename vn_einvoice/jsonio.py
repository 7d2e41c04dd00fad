"""The project's own document JSON: an :class:`Invoice` as plain JSON, and back.

Keys are the dataclass field names of :mod:`vn_einvoice.document`. Amounts may be JSON numbers or
strings (strings keep every digit); dates are ``YYYY-MM-DD``; enums by name (``"note"``,
``"adjustment"``) or value (``4``, ``2``); a tax rate is its code (``"10%"``, ``"KCT"``).
Missing line amounts are computed from quantity × unit price − discount; missing totals and tax
breakdown are computed; given ones are kept, so that ``build`` can report the ones that do not add up.
"""

from __future__ import annotations

import dataclasses
import enum
import json
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
            return to_decimal(value, path)
        if tp is TaxRate:
            return TaxRate.parse(value)
        if tp is date:
            return date.fromisoformat(str(value))
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            if isinstance(value, str) and value.upper() in tp.__members__:
                return tp[value.upper()]
            return tp(int(value) if issubclass(tp, int) else value)
        if tp is bool:
            if not isinstance(value, bool):
                raise ValueError
            return value
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if tp is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except ValidationError as e:
        problems.extend(Problem(path, p.message) for p in e.problems)
        return None
    except (ValueError, TypeError, KeyError):
        expected = {Decimal: "a number", date: "a date YYYY-MM-DD", int: "a whole number", bool: "true or false"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            names = ", ".join(m.name.lower() for m in tp)
            problems.append(Problem(path, f"{value!r} is not one of: {names}"))
        else:
            problems.append(Problem(path, f"{value!r} is not {expected.get(tp, 'valid')}"))
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
            problems.append(Problem(f"{path}.{key}" if path else key, "unknown field"))
            continue
        kwargs[key] = _convert(hints[key], value, f"{path}.{key}" if path else key, problems)
    for f in dataclasses.fields(cls):
        if f.name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            problems.append(Problem(f"{path}.{f.name}" if path else f.name, "required field is missing"))
    if problems:
        return None
    return cls(**kwargs)


def invoice_from_json(data: dict | str | bytes) -> doc.Invoice:
    """An invoice from the project's document JSON; ``ValidationError`` names every bad field."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise ValidationError.at("", f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValidationError.at("", "the document must be a JSON object")
    data = dict(data)
    problems: list[Problem] = []
    currency = str(data.get("currency") or "VND")
    lines = []
    for i, raw in enumerate(data.pop("lines", None) or []):
        line = _from_dict(doc.Line, raw, f"lines[{i}]", problems)
        if line is not None and line.amount is None and line.quantity is not None and line.unit_price is not None:
            line = dataclasses.replace(line, amount=line_amount(
                line.quantity, line.unit_price, line.discount_amount, line.discount_rate, currency))
        lines.append(line)
    if not lines:
        problems.append(Problem("lines", "the invoice has no lines"))
    data["lines"] = []
    inv = _from_dict(doc.Invoice, data, "", problems)
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
