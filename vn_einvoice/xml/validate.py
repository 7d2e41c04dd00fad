"""Structural validation of ``HDon`` against the field tables, and business checks of a document.

Every problem is listed with the path of its element, e.g.
``HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien: 'abc' is not a number``.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from ..amounts import check_amounts
from ..codes import Regime, check_tax_code, check_template_symbol, symbol_regime, template_regime
from ..document import SUPPORTED_VERSIONS, Invoice, LineKind, RelatedInvoiceType
from ..errors import Problem, ValidationError
from ..qr import invoice_qr_problems
from ..xmlutil import parse_untrusted
from .parse import line_cap_problem, read_tree
from .schema import HDON, Field

# ASCII digits only, whole text (``\d`` would take "１２３", ``$`` a trailing newline)
_NUM_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INT_RE = re.compile(r"-?[0-9]+")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
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
        if not _INT_RE.fullmatch(text):
            problems.append(Problem(path, f"{text!r} is not a whole number"))
        elif field.size and len(text.lstrip("-")) > field.size:
            problems.append(Problem(path, f"{text!r} has more than {field.size} digits"))
    elif field.kind == "num":
        if not _NUM_RE.fullmatch(text):
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
            if not _DATE_RE.fullmatch(text):
                raise ValueError
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            problems.append(Problem(path, f"{text!r} is not a date written YYYY-MM-DD"))
    elif field.kind == "datetime":
        try:
            if not _DATETIME_RE.fullmatch(text):
                raise ValueError
            datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            problems.append(Problem(path, f"{text!r} is not a date-time written YYYY-MM-DDThh:mm:ss"))


def _walk(field: Field, el, path: str, version: str, strict_order: bool, problems: list[Problem]) -> None:
    if field.kind == "any":
        return
    if field.kind != "group":
        _check_value(field, el, path, problems)
        return
    if el.text and el.text.strip():
        problems.append(Problem(path, "text is not allowed here"))
    positions = field.positions
    known_version = version in SUPPORTED_VERSIONS
    seen: dict[str, int] = {}
    last = -1
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions
            continue
        namespaced = tag[0] == "{"
        if namespaced:
            tag = etree.QName(child).localname
        position, spec = positions.get(tag, (None, None))
        count = seen[tag] = seen.get(tag, 0) + 1
        cpath = f"{path}/{tag}[{count}]" if spec is not None and spec.repeat else f"{path}/{tag}"
        if namespaced:
            problems.append(Problem(cpath, "elements of HDon have no namespace"))
            continue
        if spec is None:
            problems.append(Problem(cpath, f"unknown element in {field.tag}"))
            continue
        if known_version and version not in spec.versions:
            problems.append(Problem(cpath, f"does not exist in version {version}"))
        if count > 1 and not spec.repeat:
            problems.append(Problem(cpath, "appears more than once"))
        if position < last:
            if strict_order:
                problems.append(Problem(cpath, f"is out of order: {tag} must come before {field.children[last].tag}"))
        else:
            last = position
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


# Regime the related invoice's template and symbol must belong to, by LHDCLQuan (Appendix VI);
# invoices printed by the tax office under Decree 123 (4) use either form.
_RELATED_REGIME = {
    RelatedInvoiceType.DECREE_123: Regime.CURRENT,
    RelatedInvoiceType.LEGACY_CODED: Regime.LEGACY,
    RelatedInvoiceType.LEGACY_OTHER: Regime.LEGACY,
}


def _related_problems(invoice: Invoice) -> list[Problem]:
    """Template/symbol/date of the invoice named in ``TTHDLQuan`` (when it names one, not only a list)."""
    rel = invoice.related
    p_rel = "HDon/DLHDon/TTChung/TTHDLQuan"
    if not (rel.template or rel.symbol):
        return []
    tags = {"KHMSHDon": "KHMSHDCLQuan", "KHHDon": "KHHDCLQuan"}
    problems = [Problem(f"{p_rel}/{tags.get(p.path, p.path)}", p.message.replace("the invoice is", "it is"))
                for p in check_template_symbol(rel.template, rel.symbol, rel.issue_date)]
    wanted = _RELATED_REGIME.get(rel.invoice_type)
    try:
        regime = template_regime(rel.template) if symbol_regime(rel.symbol) is template_regime(rel.template) else None
    except ValidationError:
        regime = None  # already reported
    if wanted is not None and regime is not None and regime is not wanted:
        hint = ("use LHDCLQuan 2 or 3 for an invoice of Decree 51/04" if wanted is Regime.CURRENT
                else "use LHDCLQuan 1 for an e-invoice of Decree 123")
        problems.append(Problem(
            f"{p_rel}/LHDCLQuan",
            f"LHDCLQuan {int(rel.invoice_type)} names an invoice of the {wanted.value} regime, but template "
            f"{rel.template!r} and symbol {rel.symbol!r} belong to the {regime.value} regime: {hint}",
        ))
    if rel.issue_date is not None and invoice.issue_date is not None and rel.issue_date > invoice.issue_date:
        problems.append(Problem(
            f"{p_rel}/NLHDCLQuan",
            f"the related invoice is dated {rel.issue_date:%d/%m/%Y}, after this invoice ({invoice.issue_date:%d/%m/%Y})",
        ))
    return problems


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
    if invoice.related is not None:
        problems += _related_problems(invoice)
    problems += check_amounts(invoice)
    return problems


# Elements an HDon holds once, wherever they would hide (a second one in CCKSKhac, a wrapped copy, …).
SINGLE_ELEMENTS = ("HDon", "DLHDon", "MCCQT", "DSCKS", "DLQRCode")


def single_element_problems(root) -> list[Problem]:
    """An invoice has one HDon, one DLHDon, at most one MCCQT, DSCKS and DLQRCode, anywhere in the tree."""
    problems = []
    for tag in SINGLE_ELEMENTS:
        found = list(root.iter(tag, "{*}" + tag))
        if len(found) > 1:
            problems.append(Problem(f"HDon//{tag}", f"appears {len(found)} times; an invoice has one"))
    return problems


def qr_code_problems(hdon) -> list[Problem]:
    """``DLQRCode`` (outside the signed data) checked against the signed values."""
    payload = hdon.findtext("DLQRCode")
    if payload is None:
        return []
    tt, nban = "DLHDon/TTChung/", "DLHDon/NDHDon/NBan/"
    found = invoice_qr_problems(
        payload.strip(), seller_tax_code=hdon.findtext(nban + "MST") or "",
        template=hdon.findtext(tt + "KHMSHDon") or "", symbol=hdon.findtext(tt + "KHHDon") or "",
        number=hdon.findtext(tt + "SHDon") or "", issue_date=hdon.findtext(tt + "NLap") or "",
        total=hdon.findtext("DLHDon/NDHDon/TToan/TgTTTBSo") or "")
    return [Problem("HDon/DLQRCode", message) for message in found]


def validate_tree(root, *, require_number: bool = True, strict_order: bool = True,
                  check_document: bool = True) -> list[Problem]:
    """Every structural problem of an ``HDon`` element; with ``check_document`` also the business checks."""
    problems: list[Problem] = []
    if root.tag != "HDon":
        return [Problem(str(root.tag), "the root element must be HDon (without namespace)")]
    too_many = line_cap_problem(root)
    if too_many is not None:  # refused whole: nothing more is read
        return [too_many]
    version = (root.findtext("DLHDon/TTChung/PBan") or "").strip()
    if version and version not in SUPPORTED_VERSIONS:
        problems.append(Problem("HDon/DLHDon/TTChung/PBan",
                                f"version {version!r} is not known: {', '.join(SUPPORTED_VERSIONS)}"))
    if root.find("DLHDon") is not None and not root.find("DLHDon").get("Id"):
        problems.append(Problem("HDon/DLHDon/@Id", "the Id attribute is required (the signature refers to it)"))
    _walk(HDON, root, "HDon", version, strict_order, problems)
    _conditional(root, version, require_number, problems)
    problems += single_element_problems(root)
    problems += qr_code_problems(root)
    if check_document:
        # Business checks run even when the structure has problems (every problem is listed at once);
        # those at, above or below a path already reported are echoes of it and are left out.
        try:
            business = check_invoice(read_tree(root), require_number=require_number)
        except ValidationError as e:
            business = list(e.problems)
        related = _RelatedPaths(p.path for p in problems)
        problems += [p for p in business if not related(p.path)]
    return problems


class _RelatedPaths:
    """Whether a path is at, above or below one of ``paths`` (``a == b``, ``a`` starts with ``b + "/"`` or
    the reverse), in time linear in the path's length: every path and each of its ancestors is in a set
    (comparing all pairs was quadratic in the number of problems)."""

    def __init__(self, paths):
        self.paths: set[str] = set()
        self.ancestors: set[str] = set()
        for path in paths:
            self.paths.add(path)
            self.ancestors.update(_ancestors(path))

    def __call__(self, path: str) -> bool:
        return path in self.paths or path in self.ancestors or any(a in self.paths for a in _ancestors(path))


def _ancestors(path: str):
    at = path.find("/")
    while at != -1:
        yield path[:at]
        at = path.find("/", at + 1)


def validate_xml(data: bytes | str, **kwargs) -> list[Problem]:
    """Problems of serialized ``HDon`` (parsed safely). An empty list means valid."""
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_tree(root, **kwargs)
