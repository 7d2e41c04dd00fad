"""Structural validation of ``HDon`` against the field tables, and business checks of a document.

Every problem is listed with the path of its element, e.g.
``HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien: 'abc' is not a number``.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from ..amounts import check_amounts
from ..codes import check_tax_code, check_template_symbol
from ..document import SUPPORTED_VERSIONS, Invoice, LineKind
from ..errors import Problem, ValidationError
from ..xmlutil import parse_untrusted
from .schema import HDON, Field

_NUM_RE = re.compile(r"^-?\d+(\.\d+)?$")
_INT_RE = re.compile(r"^-?\d+$")
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


def _check_value(field: Field, el, path: str, problems: list[Problem]) -> None:
    text = el.text or ""
    if len(el):
        problems.append(Problem(path, "must hold a value, not elements"))
        return
    if field.kind == "str":
        if field.size and len(text) > field.size:
            problems.append(Problem(path, f"is {len(text)} characters long; at most {field.size} are allowed"))
    elif field.kind == "int":
        if not _INT_RE.match(text):
            problems.append(Problem(path, f"{text!r} is not a whole number"))
        elif field.size and len(text.lstrip("-")) > field.size:
            problems.append(Problem(path, f"{text!r} has more than {field.size} digits"))
    elif field.kind == "num":
        if not _NUM_RE.match(text):
            problems.append(Problem(path, f"{text!r} is not a number (digits, optional '-', '.' for decimals)"))
        else:
            digits, decimals = field.size
            int_part, _, dec_part = text.lstrip("-").partition(".")
            if len(dec_part) > decimals:
                problems.append(Problem(path, f"{text!r} has more than {decimals} decimals"))
            if len(int_part) + len(dec_part) > digits:
                problems.append(Problem(path, f"{text!r} has more than {digits} digits"))
    elif field.kind == "date":
        try:
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            problems.append(Problem(path, f"{text!r} is not a date written YYYY-MM-DD"))
    elif field.kind == "datetime":
        try:
            datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            problems.append(Problem(path, f"{text!r} is not a date-time written YYYY-MM-DDThh:mm:ss"))


def _walk(field: Field, el, path: str, version: str, strict_order: bool, problems: list[Problem]) -> None:
    if field.kind == "any":
        return
    if field.kind != "group":
        _check_value(field, el, path, problems)
        return
    if (el.text or "").strip():
        problems.append(Problem(path, "text is not allowed here"))
    order = {c.tag: i for i, c in enumerate(field.children)}
    seen: dict[str, int] = {}
    last = -1
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        tag = etree.QName(child).localname if child.tag.startswith("{") else child.tag
        spec = field.child(tag)
        seen[tag] = seen.get(tag, 0) + 1
        count = seen[tag]
        cpath = f"{path}/{tag}" + (f"[{count}]" if spec is not None and spec.repeat else "")
        if child.tag.startswith("{"):
            problems.append(Problem(cpath, "elements of HDon have no namespace"))
            continue
        if spec is None:
            problems.append(Problem(cpath, f"unknown element in {field.tag}"))
            continue
        if version in SUPPORTED_VERSIONS and version not in spec.versions:
            problems.append(Problem(cpath, f"does not exist in version {version}"))
        if not spec.repeat and count > 1:
            problems.append(Problem(cpath, "appears more than once"))
        if strict_order and order[tag] < last:
            problems.append(Problem(cpath, f"is out of order: {tag} comes before {field.children[last].tag}"))
        last = max(last, order[tag])
        _walk(spec, child, cpath, version, strict_order, problems)
    for c in field.children:
        if c.presence == "M" and c.tag not in seen and version in c.versions:
            problems.append(Problem(f"{path}/{c.tag}", "mandatory element is missing"))


def _conditional(root, version: str, require_number: bool, problems: list[Problem]) -> None:
    tt = root.find("DLHDon/TTChung")
    p_tt = "HDon/DLHDon/TTChung"
    if tt is None:
        return
    cur = (tt.findtext("DVTTe") or "").strip().upper()
    if cur and cur != "VND" and tt.find("TGia") is None:
        problems.append(Problem(f"{p_tt}/TGia", f"exchange rate is required for an invoice in {cur}"))
    if require_number and tt.find("SHDon") is None:
        problems.append(Problem(f"{p_tt}/SHDon", "invoice number is missing"))
    if version == "2.1.0":
        for tag in ("HTTToan", "MSTTCGP"):
            if tt.find(tag) is None:
                problems.append(Problem(f"{p_tt}/{tag}", "mandatory in version 2.1.0"))
    rel = tt.find("TTHDLQuan")
    if rel is not None and rel.find("SBKCLQuan") is None:
        for tag in ("KHMSHDCLQuan", "KHHDCLQuan", "SHDCLQuan", "NLHDCLQuan"):
            if rel.find(tag) is None:
                problems.append(Problem(f"{p_tt}/TTHDLQuan/{tag}", "required to name the related invoice"))
    if rel is not None and rel.find("SBKCLQuan") is not None and rel.find("NBKCLQuan") is None:
        problems.append(Problem(f"{p_tt}/TTHDLQuan/NBKCLQuan", "date of the list 01/BK-ĐCTT is required"))
    for i, h in enumerate(root.findall("DLHDon/NDHDon/DSHHDVu/HHDVu"), start=1):
        if (h.findtext("TChat") or "").strip() != str(int(LineKind.NOTE)) and h.find("ThTien") is None:
            problems.append(Problem(f"HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[{i}]/ThTien",
                                    "amount is required except on note lines (TChat 4)"))
    for i, lt in enumerate(root.findall("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat"), start=1):
        rate = (lt.findtext("TSuat") or "").strip()
        if rate not in ("KCT", "KKKNT") and lt.find("TThue") is None:
            problems.append(Problem(f"HDon/DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat[{i}]/TThue",
                                    f"VAT amount is required for rate {rate}"))
    buyer = root.find("DLHDon/NDHDon/NMua")
    if buyer is not None and not any(buyer.findtext(t) for t in ("Ten", "HVTNMHang")):
        problems.append(Problem("HDon/DLHDon/NDHDon/NMua/Ten", "the buyer has neither a name nor a contact name"))
    dscks = root.find("DSCKS")
    if dscks is not None:
        for sig in dscks.iter(f"{{{DSIG_NS}}}Signature"):
            parent = sig.getparent()
            if parent is None or parent.getparent() is not dscks:
                problems.append(Problem("HDon/DSCKS", "a Signature must sit directly in NBan, NMua, CQT or CCKSKhac"))


def check_invoice(invoice: Invoice, *, require_number: bool = True) -> list[Problem]:
    """Business checks of a document: template/symbol/year, tax codes, number, totals."""
    problems: list[Problem] = []
    p_tt = "HDon/DLHDon/TTChung"
    for pr in check_template_symbol(invoice.template, invoice.symbol, invoice.issue_date):
        problems.append(Problem(f"{p_tt}/{pr.path}", pr.message))
    if require_number and invoice.number is None:
        problems.append(Problem(f"{p_tt}/SHDon", "invoice number is missing"))
    if invoice.number is not None and not (1 <= invoice.number <= 99_999_999):
        problems.append(Problem(f"{p_tt}/SHDon", f"invoice number {invoice.number} must be from 1 to 99999999"))
    problems += check_tax_code(invoice.seller.tax_code, "HDon/DLHDon/NDHDon/NBan/MST", allow_personal=True)
    if not invoice.seller.name:
        problems.append(Problem("HDon/DLHDon/NDHDon/NBan/Ten", "seller name is missing"))
    if not invoice.seller.address:
        problems.append(Problem("HDon/DLHDon/NDHDon/NBan/DChi", "seller address is missing"))
    if invoice.buyer.tax_code:
        problems += check_tax_code(invoice.buyer.tax_code, "HDon/DLHDon/NDHDon/NMua/MST", allow_personal=True)
    if invoice.provider_tax_code:
        problems += check_tax_code(invoice.provider_tax_code, f"{p_tt}/MSTTCGP", allow_personal=False)
    if invoice.is_foreign_currency and not invoice.exchange_rate:
        problems.append(Problem(f"{p_tt}/TGia", f"exchange rate is required for an invoice in {invoice.currency}"))
    if not invoice.lines:
        problems.append(Problem("HDon/DLHDon/NDHDon/DSHHDVu", "the invoice has no lines"))
    problems += check_amounts(invoice)
    return problems


def validate_tree(root, *, require_number: bool = True, strict_order: bool = True,
                  check_document: bool = True) -> list[Problem]:
    """Every structural problem of an ``HDon`` element; with ``check_document`` also the business checks."""
    problems: list[Problem] = []
    if root.tag != "HDon":
        return [Problem(str(root.tag), "the root element must be HDon (without namespace)")]
    version = (root.findtext("DLHDon/TTChung/PBan") or "").strip()
    if version and version not in SUPPORTED_VERSIONS:
        problems.append(Problem("HDon/DLHDon/TTChung/PBan",
                                f"version {version!r} is not known: {', '.join(SUPPORTED_VERSIONS)}"))
    if root.find("DLHDon") is not None and not root.find("DLHDon").get("Id"):
        problems.append(Problem("HDon/DLHDon/@Id", "the Id attribute is required (the signature refers to it)"))
    _walk(HDON, root, "HDon", version, strict_order, problems)
    _conditional(root, version, require_number, problems)
    if check_document and not problems:
        from .parse import read_tree

        try:
            invoice = read_tree(root)
        except ValidationError as e:
            return problems + list(e.problems)
        problems += check_invoice(invoice, require_number=require_number)
    return problems


def validate_xml(data: bytes | str, **kwargs) -> list[Problem]:
    """Problems of serialized ``HDon`` (parsed safely). An empty list means valid."""
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_tree(root, **kwargs)
