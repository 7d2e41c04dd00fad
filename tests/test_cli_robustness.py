"""``vn-einvoice build DOC.json``: hostile documents get exit 2 and the field named, never a traceback."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from vn_einvoice.cli import main

EXAMPLE = Path(__file__).parent.parent / "examples" / "invoice.json"
RAW = "@@raw@@"  # placeholder replaced by a JSON literal json.dumps cannot write (1e400, NaN, …)
ADJUSTMENT = {"relation": "adjustment", "template": "1", "symbol": "C26TAA", "number": "12",
              "issue_date": "2026-11-02"}


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def document(path: tuple = (), value=None, raw: str | None = None, **top) -> bytes:
    """The example with ``value`` at ``path`` (``raw``: a JSON literal written as is) and ``top`` keys set."""
    data = example()
    data.update(top)
    if path:
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = RAW if raw is not None else value
    text = json.dumps(data, ensure_ascii=False)
    return text.replace(json.dumps(RAW), raw).encode("utf-8") if raw is not None else text.encode("utf-8")


def build(tmp_path, data: bytes, *options) -> int:
    doc = tmp_path / "doc.json"
    doc.write_bytes(data)
    return main(["build", str(doc), "--number", "1", *options, "-o", str(tmp_path / "out.xml")])


def run(capsys, tmp_path, data: bytes, *options) -> tuple[int, str]:
    code = build(tmp_path, data, *options)
    return code, capsys.readouterr().err


HOSTILE = [
    # huge or not finite numbers
    ("quantity 1e400", document(("lines", 0, "quantity"), raw="1e400"), "lines[0].quantity: 1E+400 is too large"),
    ("unit price NaN", document(("lines", 0, "unit_price"), raw="NaN"), "lines[0].unit_price: nan is not a number"),
    ("amount Infinity", document(("lines", 2, "amount"), raw="Infinity"), "lines[2].amount: inf is not a number"),
    ("amount -Infinity", document(("lines", 2, "amount"), raw="-Infinity"), "lines[2].amount: -inf is not a number"),
    ("price 10**40", document(("lines", 0, "unit_price"), 10**40), "lines[0].unit_price: 1" + "0" * 40 + " is too"),
    ("price as a string 1e999999", document(("lines", 0, "unit_price"), "1e999999"), "lines[0].unit_price: '1e999999'"),
    ("price NaN as a string", document(("lines", 0, "unit_price"), "NaN"), "lines[0].unit_price: 'NaN' is not a num"),
    ("quantity × price too large", document(("lines", 0, "quantity"), 10**14),
     "lines[0].amount: quantity × unit price − discount is 1850000000000000000000: more than 15 digits"),
    ("tiny decimals", document(("lines", 0, "quantity"), "1e-999999999"), "lines[0].quantity: '1e-999999999' has more"),
    ("exchange rate 1e400", document(("exchange_rate",), raw="1e400"), "exchange_rate: 1E+400 is too large"),
    ("tax rate Infinity", document(("lines", 0, "tax_rate"), raw="Infinity"), "lines[0].tax_rate: inf is not a num"),
    ("tax rate 1e40", document(("lines", 0, "tax_rate"), 10**40), "lines[0].tax_rate: 1" + "0" * 40 + " is not a VAT"),
    ("tax rate true", document(("lines", 0, "tax_rate"), True), "lines[0].tax_rate: True is not valid"),
    ("number 10**40", document(("number",), 10**40), "number: 1" + "0" * 40 + " is too large"),
    ("number NaN", document(("number",), raw="NaN"), "number: nan is not a number"),
    ("line number 1e400", document(("lines", 0, "seq"), raw="1e400"), "lines[0].seq: 1E+400 is too large"),
    ("kind Infinity", document(("lines", 0, "kind"), raw="Infinity"), "lines[0].kind: inf is not one of: goods"),
    ("kind true", document(("lines", 0, "kind"), True), "lines[0].kind: True is not one of: goods"),
    ("integer of 5000 digits", document(("lines", 0, "quantity"), raw="9" * 5000), "not valid JSON: "),
    # wrong JSON types
    ("string for the lines", document(("lines",), "lines"), "lines: expected a list"),
    ("number for the lines", document(("lines",), raw="1e400"), "lines: expected a list"),
    ("string for a line", document(("lines", 0), "x"), "lines[0]: expected an object"),
    ("list for the seller", document(("seller",), ["A"]), "seller: expected an object"),
    ("list for the totals", document(("totals",), []), "totals: expected an object"),
    ("string for the breakdown", document(("tax_breakdown",), "10%"), "tax_breakdown: expected a list"),
    ("number for a name", document(("seller", "name"), 12), "seller.name: 12 is not a text"),
    ("number for a line name", document(("lines", 0, "name"), 1.5), "lines[0].name: 1.5 is not a text"),
    ("list for a name", document(("buyer", "name"), ["A"]), "buyer.name: ['A'] is not a text"),
    ("object for the template", document(("template",), {}), "template: {} is not a text"),
    ("number for a date", document(("issue_date",), 20261120), "issue_date: 20261120 is not a date"),
    ("list for an amount", document(("lines", 2, "amount"), [1]), "lines[2].amount: [1] is not a number"),
    ("string for a flag", document(("financial_leasing",), "yes"), "financial_leasing: 'yes' is not true or false"),
    ("string for extra fields", document(("extra",), "x"), "extra: expected a list"),
    ("a list document", b"[1, 2]", "the document must be a JSON object"),
    ("an empty file", b"", "not valid JSON: Expecting value"),
    # null where a value is needed
    ("null seller", document(("seller",), None), "seller: null is not allowed here"),
    ("null name", document(("seller", "name"), None), "seller.name: null is not allowed here"),
    ("null line name", document(("lines", 0, "name"), None), "lines[0].name: null is not allowed here"),
    ("null line", document(("lines", 0), None), "lines[0]: expected an object"),
    ("null date", document(("issue_date",), None), "issue_date: null is not allowed here"),
    ("null kind", document(("lines", 3, "kind"), None), "lines[3].kind: null is not allowed here"),
    ("null currency", document(("currency",), None), "currency: null is not allowed here"),
    ("null breakdown", document(("tax_breakdown",), None), "tax_breakdown: null is not allowed here"),
    ("null lines", document(("lines",), None), "lines: the invoice has no lines"),
    ("null document", b"null", "the document must be a JSON object"),
    # deep nesting, bytes that are not UTF-8
    ("10 000 nested arrays", b"[" * 10_000 + b"]" * 10_000, "not valid JSON: nested too deeply"),
    ("10 000 nested arrays in a field", document(("meta",), raw="[" * 10_000 + "]" * 10_000),
     "not valid JSON: nested too deeply"),
    ("100 nested objects", document(("meta",), raw='{"a":' * 100 + "1" + "}" * 100), "meta.a.a.a."),
    ("nested related invoices", document(("related",), raw='{"relation": "adjustment", "invoices": [' * 400
                                         + "{}" + "]}" * 400), "related.invoices[0].invoices[0]."),
    ("invalid UTF-8 in a name", document(("seller", "name"), "Công ty X").replace(b"ty X", b"ty \xff"),
     "seller.name: is not valid UTF-8: byte 0xFF at position 8"),
    ("a Latin-1 file", json.dumps({**example(), "lines": [{"name": "Phí"}]}, ensure_ascii=False).encode("latin-1",
                                                                                                      "replace"),
     "is not valid UTF-8: byte 0x"),
    ("invalid UTF-8 in a key", document().replace(b'"currency"', b'"curr\xc3ncy"'), "unknown field"),
    ("a lone surrogate escape", document(("buyer", "name"), raw='"\\ud800"'),
     "buyer.name: contains U+D800 (a lone surrogate, at position 0)"),
]
# control characters XML cannot carry, and bidi controls
HOSTILE += [(f"U+{ord(c):04X} in a name", document(("lines", 0, "name"), f"Máy{c}tính"),
             f"lines[0].name: contains U+{ord(c):04X} (a control character, at position 3)")
            for c in "\x00\x01\x08\x0b\x0c\x0e\x1b\x1f\ufffe\uffff"]
HOSTILE += [(f"U+{ord(c):04X} in a name", document(("seller", "address"), f"12 {c}Đường"),
             f"seller.address: contains U+{ord(c):04X} (a bidirectional-text control, at position 3)")
            for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"]
HOSTILE += [
    ("control character in an extra field", document(("extra",), [{"name": "HD", "value": "a\x07"}]),
     "extra[0].value: contains U+0007"),
    ("control character in a key", document(("seller", "n\x1bme"), "A"), "seller.'n\\x1bme': unknown field"),
    # signs and ranges the line and the invoice allow
    ("negative quantity", document(("lines", 0, "quantity"), -5), "lines[0].quantity: quantity -5 is negative"),
    ("negative quantity on an adjustment", document(("lines", 0, "quantity"), -5, related=ADJUSTMENT),
     "lines[0].quantity: quantity -5 is negative"),
    ("negative price", document(("lines", 0, "unit_price"), "-18500000"),
     "lines[0].unit_price: -18500000 is negative: negative amounts are only possible on an adjustment invoice"),
    ("negative amount", document(("lines", 2, "amount"), -12000000), "lines[2].amount: -12000000 is negative"),
    ("negative line discount", document(("lines", 1, "discount_amount"), -1), "lines[1].discount_amount: -1 is neg"),
    ("negative line VAT", document(("lines", 1, "tax_amount"), -1), "lines[1].tax_amount: -1 is negative"),
    ("negative discount line", document(("lines", 3, "amount"), "-1850000"),
     "lines[3].amount: -1850000 is negative: a discount line's amount is positive"),
    ("negative price on a replacement", document(("lines", 0, "unit_price"), -1,
                                                 related={**ADJUSTMENT, "relation": "replacement"}),
     "lines[0].unit_price: -1 is negative"),
    ("discount rate 150 %", document(("lines", 1, "discount_rate"), 150),
     "lines[1].discount_rate: discount rate 150 % is not from 0 to 100"),
    ("discount rate -10 %", document(("lines", 1, "discount_rate"), -10),
     "lines[1].discount_rate: discount rate -10 % is not from 0 to 100"),
    ("discount rate -10 % on an adjustment", document(("lines", 1, "discount_rate"), -10, related=ADJUSTMENT),
     "lines[1].discount_rate: discount rate -10 % is not from 0 to 100"),
    ("negative exchange rate", document(("exchange_rate",), -25000, currency="USD"),
     "exchange_rate: exchange rate -25000 is not positive"),
]


@pytest.mark.parametrize("data, field", [pytest.param(d, f, id=name) for name, d, f in HOSTILE])
def test_hostile_document_is_refused_naming_the_field(tmp_path, capsys, data, field):
    code, err = run(capsys, tmp_path, data)
    assert code == 2
    assert err.startswith("error: the input is not valid:\n  - ")
    assert field in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.xml").exists()


def test_decrease_adjustment_and_discount_line_may_be_negative(tmp_path, capsys):
    """An adjustment lowering a price and a discount: negative price, amount and discount line."""
    data = example()
    data.update(related=ADJUSTMENT, lines=[
        {"name": "Điều chỉnh giảm đơn giá", "quantity": 5, "unit_price": "-100000", "tax_rate": "10%"},
        {"name": "Điều chỉnh giảm chiết khấu", "kind": "discount", "amount": "-50000", "tax_rate": "10%"},
    ])
    code, err = run(capsys, tmp_path, json.dumps(data).encode())
    assert (code, err) == (0, "")
    xml = (tmp_path / "out.xml").read_bytes()
    assert b"<DGia>-100000</DGia><ThTien>-500000</ThTien>" in xml
    assert b"<TgTCThue>-450000</TgTCThue>" in xml


def test_tab_newline_and_other_marks_are_kept(tmp_path, capsys):
    data = document(("seller", "address"), "12 Đường Số 1,\nPhường Sài Gòn\t(\u200e\u00a0TP.HCM)")
    assert run(capsys, tmp_path, data) == (0, "")
    assert "Sài Gòn\t(\u200e\u00a0TP.HCM)".encode() in (tmp_path / "out.xml").read_bytes()


@pytest.mark.parametrize("data", [
    pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep nesting"),
    pytest.param(document(("seller", "name"), "ab").replace(b'"ab"', b'"a\xffb"'), id="invalid UTF-8"),
    pytest.param(document(("lines", 0, "name"), "a\x00b"), id="NUL"),
    pytest.param(document(("lines", 0, "quantity"), raw="1e400"), id="1e400"),
])
def test_console_script_prints_no_traceback(tmp_path, data):
    doc = tmp_path / "doc.json"
    doc.write_bytes(data)
    done = subprocess.run([sys.executable, "-m", "vn_einvoice.cli", "build", str(doc), "--number", "1",
                           "-o", str(tmp_path / "x.xml")], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: the input is not valid:\n")
    assert "Traceback" not in done.stderr


# --- random mutations of the example (property-style, standard library only) ------------------------

VALUES = [
    None, True, False, 0, -1, 1, 2, 3, 4, 99, 100, 101, -0.5, 0.1, 10**15, 10**40, -(10**20), "", " ", "0", "-1",
    "abc", "10%", "KCT", "KHAC:3.5%", "2026-11-20", "2026-02-30", "C26TAA", "0312345673", "note", "discount",
    "adjustment", "1e400", "NaN", "-Infinity", "1e-30", "a\x00b", "\x1b[2J", "\u202eABC", "\ud800", "\ufffe",
    "x" * 5000, [], {}, [1], {"a": 1}, [[[[[]]]]], {"name": "A"}, ["lines"],
]
RAW_VALUES = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1E-400", "123456789012345678901234567890",
              "[" * 3000 + "]" * 3000]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, v in value.items():
            yield from _paths(v, (*path, key))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _mutate(rng: random.Random, data: dict) -> bytes:
    """One to three random changes of the document, then maybe a change of its bytes."""
    raw = None
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(list(_paths(data))[1:])
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        key, action = path[-1], rng.random()
        if action < 0.45:
            parent[key] = copy.deepcopy(rng.choice(VALUES))
        elif action < 0.6 and raw is None:
            parent[key], raw = RAW, rng.choice(RAW_VALUES)
        elif action < 0.7 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = -parent[key]
        elif action < 0.8 and isinstance(parent[key], str):
            s, at = parent[key], rng.randint(0, len(parent[key]))
            parent[key] = s[:at] + rng.choice(["\x00", "\x0b", "\u2066", "\ud83d", "'", '"', "\\", "%"]) + s[at:]
        elif action < 0.9 and isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, dict):
            parent[rng.choice(["colour", "name", "amount", "kind", "related", "lines"])] = rng.choice(VALUES)
        else:
            parent.append(copy.deepcopy(parent[key]))
    text = json.dumps(data, ensure_ascii=rng.random() < 0.5)
    if raw is not None:
        text = text.replace(json.dumps(RAW), raw, 1)
    blob = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.15:
        at = rng.randrange(len(blob))
        blob = blob[:at] + rng.choice([b"\xff", b"\xc3", b"\x00", b"{", b"]", b""]) + blob[at + 1:]
    return blob


def test_random_mutations_never_print_a_traceback(tmp_path, capsys):
    rng = random.Random(20261120)
    codes = {}
    for case in range(300):
        data = _mutate(rng, example())
        options = rng.choice([(), ("--draft",), ("--version", "2.0.1"), ("--no-qr",)])
        try:
            code = build(tmp_path, data, *options)
        except BaseException as e:  # noqa: BLE001 - report which case broke, with the document
            pytest.fail(f"case {case} raised {type(e).__name__}: {e}\n{data[:2000]!r}")
        err = capsys.readouterr().err
        assert code in (0, 1, 2), (case, data[:2000])
        assert "Traceback" not in err
        assert code == 0 or err.startswith("error: "), (case, err)
        codes[code] = codes.get(code, 0) + 1
    assert codes.get(2, 0) > 150  # most mutations break the document


# --- the same guard on build --from sinvoice ----------------------------------------------------------

GENERAL = dict(invoiceType="1", templateCode="1/001", invoiceSeries="C26TAA", invoiceIssuedDate="2026-03-15",
               currencyCode="VND", paymentType="TM/CK")
ITEM = dict(lineNumber=1, itemName="Máy tính", unitPrice=3500000, quantity=10, itemTotalAmountWithoutTax=35000000,
            taxPercentage=10, taxAmount=3500000)
SINVOICE = {"generalInvoiceInfo": GENERAL, "itemInfo": [ITEM],
            "sellerInfo": dict(sellerLegalName="CÔNG TY A", sellerTaxCode="0312345673", sellerAddressLine="TP. HCM"),
            "buyerInfo": dict(buyerLegalName="CÔNG TY B", buyerTaxCode="0101234565", buyerAddressLine="Hà Nội")}


@pytest.mark.parametrize("section, key, raw, field", [
    ("itemInfo", "itemName", '"Máy\\u0000tính"', "lines[0].name: contains U+0000 (a control character"),
    ("sellerInfo", "sellerLegalName", '"A\\u202eB"', "seller.name: contains U+202E (a bidirectional-text control"),
    ("itemInfo", "unitPrice", "1e300", "lines[0].unit_price: 1E+300 is too large"),
    ("itemInfo", "lineNumber", "Infinity", "itemInfo[0].lineNumber: inf is not a number"),
    ("buyerInfo", "buyerLegalName", '"\\udcff"', "buyer.name: is not valid UTF-8"),
    ("itemInfo", "itemTotalAmountWithoutTax", "1" + "0" * 40,  # too large for the mapping's own arithmetic
     "itemInfo[0].itemTotalAmountWithoutTax: 1" + "0" * 40 + " is too large"),
])
def test_sinvoice_body_with_hostile_values(tmp_path, capsys, section, key, raw, field):
    pytest.importorskip("vn_einvoice.providers.sinvoice_mapping")
    body = copy.deepcopy(SINVOICE)
    part = body[section][0] if isinstance(body[section], list) else body[section]
    part[key] = RAW
    doc = tmp_path / "s.json"
    doc.write_text(json.dumps(body, ensure_ascii=False).replace(json.dumps(RAW), raw), encoding="utf-8")
    code = main(["build", str(doc), "--from", "sinvoice", "--number", "1", "--version", "2.0.1",
                 "-o", str(tmp_path / "s.xml")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert field in err
