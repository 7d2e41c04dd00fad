"""Structural validation of ``HDon`` against the field tables, and business checks of a document.

Every problem is listed with the path of its element, e.g.
``HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien: 'abc' is not a number``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from lxml import etree

from ..amounts import check_amounts
from ..codes import Regime, check_tax_code, check_template_symbol, symbol_regime, template_regime
from ..document import SUPPORTED_VERSIONS, Invoice, LineKind, RelatedInvoiceType
from ..errors import WARNING, Problem, ValidationError
from ..qr import INVOICE_GUID, invoice_qr_problems, parse_tlv_tree
from ..xmlutil import parse_untrusted
from .envelope import document_kind, envelope_invoices, envelope_problems, read_envelope
from .legacy import legacy_problems
from .parse import line_cap_problem, read_tree
from .schema import HDON, KNOWN_EXTRAS, TOLERATED_ABSENT, Field

# ASCII digits only, whole text (``\d`` would take "１２３", ``$`` a trailing newline)
_NUM_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INT_RE = re.compile(r"-?[0-9]+")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


def _is_empty(el) -> bool:
    """No child element and no text (``<SLuong/>``, ``<SLuong></SLuong>``, ``<LPhi> </LPhi>``)."""
    return not any(isinstance(c.tag, str) for c in el) and not (el.text or "").strip()


def _present(parent, tag: str) -> bool:
    """``tag`` is a child of ``parent`` and is not empty: real producers write empty elements for absent
    values (``<TGia/>``, ``<ThTien/>`` on a note line), which is read as absent."""
    el = parent.find(tag)
    return el is not None and not _is_empty(el)


def _check_value(field: Field, el, path: str, problems: list[Problem]) -> None:
    text = el.text or ""
    if len(el):
        problems.append(Problem(path, "must hold a value, not elements"))
        return
    if field.kind != "str" and not text.strip():
        # An empty number or date: real producers write them for absent values and the tax authority
        # accepts them where the value is optional; where it is mandatory, the value is missing.
        if field.presence == "M":
            problems.append(Problem(path, "is empty: a value is required"))
        else:
            problems.append(Problem(path, "is empty: read as absent", WARNING))
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
    """Structure of ``el`` against ``field``. Errors: unknown elements, repeated single elements,
    elements of another version, missing mandatory ones, bad values. Warnings (with ``strict_order``):
    another order than the tables'; and the deviations real producers have (:data:`.schema.KNOWN_EXTRAS`,
    :data:`.schema.TOLERATED_ABSENT`, empty optional values)."""
    if field.kind == "any":
        return
    if field.kind != "group":
        _check_value(field, el, path, problems)
        return
    if el.text and el.text.strip():
        problems.append(Problem(path, "text is not allowed here"))
    positions = field.positions
    known_version = version in SUPPORTED_VERSIONS
    extras = KNOWN_EXTRAS.get(field.tag, {})
    seen: dict[str, int] = {}
    # how often each tag occurs here, counted once (counting per child was quadratic in the children)
    occurrences = Counter(child.tag for child in el if isinstance(child.tag, str))
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
        repeat = (spec is not None and spec.repeat) or (spec is None and occurrences[tag] > 1)
        cpath = f"{path}/{tag}[{count}]" if repeat else f"{path}/{tag}"
        if namespaced:
            problems.append(Problem(cpath, "elements of HDon have no namespace"))
            continue
        if spec is None:
            if tag in extras:
                problems.append(Problem(cpath, f"not in the decision's field table of {field.tag}: "
                                               f"{extras[tag]}; accepted by the tax authority", WARNING))
            else:
                problems.append(Problem(cpath, f"unknown element in {field.tag}"))
            continue
        if known_version and version not in spec.versions:
            problems.append(Problem(cpath, f"does not exist in version {version}"))
        if count > 1 and not spec.repeat:
            problems.append(Problem(cpath, "appears more than once"))
        if position < last:
            if strict_order:
                problems.append(Problem(cpath, f"is out of order: {tag} must come before "
                                               f"{field.children[last].tag}", WARNING))
        else:
            last = position
        if spec.kind == "group" and spec.presence != "M" and _is_empty(child):
            problems.append(Problem(cpath, "is empty: read as absent", WARNING))
            continue
        _walk(spec, child, cpath, version, strict_order, problems)
    for c in field.children:
        if c.presence == "M" and c.tag not in seen and version in c.versions:
            if c.tag in TOLERATED_ABSENT:
                problems.append(Problem(f"{path}/{c.tag}", TOLERATED_ABSENT[c.tag], WARNING))
            else:
                problems.append(Problem(f"{path}/{c.tag}", "mandatory element is missing"))


def _conditional(root, version: str, require_number: bool, problems: list[Problem]) -> None:
    tt = root.find("DLHDon/TTChung")
    p_tt = "HDon/DLHDon/TTChung"
    if tt is None:
        return
    cur = (tt.findtext("DVTTe") or "").strip().upper()
    if cur and cur != "VND" and not _present(tt, "TGia"):
        problems.append(Problem(f"{p_tt}/TGia", f"exchange rate is required for an invoice in {cur}"))
    if require_number and not _present(tt, "SHDon"):
        problems.append(Problem(f"{p_tt}/SHDon", "invoice number is missing"))
    if version == "2.1.0":
        for tag in ("HTTToan", "MSTTCGP"):
            if not _present(tt, tag):
                problems.append(Problem(f"{p_tt}/{tag}", "mandatory in version 2.1.0"))
    rel = tt.find("TTHDLQuan")
    if rel is not None and rel.find("SBKCLQuan") is None:
        for tag in ("KHMSHDCLQuan", "KHHDCLQuan", "SHDCLQuan", "NLHDCLQuan"):
            if rel.find(tag) is None:
                problems.append(Problem(f"{p_tt}/TTHDLQuan/{tag}", "required to name the related invoice"))
    if rel is not None and rel.find("SBKCLQuan") is not None and rel.find("NBKCLQuan") is None:
        problems.append(Problem(f"{p_tt}/TTHDLQuan/NBKCLQuan", "date of the list 01/BK-ĐCTT is required"))
    for i, h in enumerate(root.findall("DLHDon/NDHDon/DSHHDVu/HHDVu"), start=1):
        if (h.findtext("TChat") or "").strip() != str(int(LineKind.NOTE)) and not _present(h, "ThTien"):
            problems.append(Problem(f"HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[{i}]/ThTien",
                                    "amount is required except on note lines (TChat 4)"))
    for i, lt in enumerate(root.findall("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat"), start=1):
        rate = (lt.findtext("TSuat") or "").strip()
        if rate not in ("KCT", "KKKNT") and not _present(lt, "TThue"):
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
    """``DLQRCode`` (outside the signed data) checked against the signed values.

    A payload in the decision's format (TLV with the invoice block ID 99, GUID A000000775) must say what
    the signed data says and carry a right CRC: otherwise an error (a QR that would mislead whoever
    scans it). Real producers also write other payloads there (a lookup link, a bank QR, empty TLV
    fields): those carry no invoice data to mislead with and are a warning, not compared.
    """
    payload = hdon.findtext("DLQRCode")
    if payload is None or not payload.strip():
        return []
    payload = payload.strip()
    if not _is_invoice_qr(payload):
        return [Problem("HDon/DLQRCode", "not the decision's invoice QR (no TLV block ID 99 with GUID "
                                         f"{INVOICE_GUID}): written by the producer, not compared", WARNING)]
    tt, nban = "DLHDon/TTChung/", "DLHDon/NDHDon/NBan/"
    found = invoice_qr_problems(
        payload, seller_tax_code=hdon.findtext(nban + "MST") or "",
        template=hdon.findtext(tt + "KHMSHDon") or "", symbol=hdon.findtext(tt + "KHHDon") or "",
        number=hdon.findtext(tt + "SHDon") or "", issue_date=hdon.findtext(tt + "NLap") or "",
        total=hdon.findtext("DLHDon/NDHDon/TToan/TgTTTBSo") or "")
    return [Problem("HDon/DLQRCode", message) for message in found]


def _is_invoice_qr(payload: str) -> bool:
    """The payload parses as TLV and holds the decision's invoice block (ID 99, GUID A000000775)."""
    try:
        block = parse_tlv_tree(payload).get("99")
    except ValidationError:
        return False
    return isinstance(block, dict) and block.get("00") == INVOICE_GUID


REGIMES = {
    "HDon": "Decree 123/2020 and Circular 78/2021 (now 32/2025): XML of Decisions 1450/1510/1271, PBan {version}",
    "legacy": "before July 2022 (Decree 51/2010, Circular 32/2011): XML invoicexml/v1 of the General Department "
              "of Taxation (2014), still used for receipts",
}


def regime_of(root) -> str:
    """The regime a document belongs to, in words (``validate`` prints it)."""
    kind = document_kind(root)
    if kind == "legacy":
        return REGIMES["legacy"]
    hdon = root if kind == "HDon" else next(iter(envelope_invoices(root)), None) if kind == "TDiep" else None
    if hdon is None:
        return "unknown (neither HDon, TDiep nor inv:invoice)"
    version = (hdon.findtext("DLHDon/TTChung/PBan") or "").strip() or "?"
    text = REGIMES["HDon"].format(version=version)
    if kind == "TDiep":
        env = read_envelope(root)
        text += f"; in a message TDiep {env.message_type or '?'} ({env.description})"
    return text


def validate_tree(root, *, require_number: bool = True, strict_order: bool = True,
                  check_document: bool = True) -> list[Problem]:
    """Every problem of an ``HDon``, of a ``TDiep`` and the invoices it carries, or of a pre-2022
    ``inv:invoice``: errors (``Problem.level`` "error", the tax authority would refuse) and warnings
    (what real producers do and the tax authority accepts). Valid means no error."""
    kind = document_kind(root)
    if kind == "TDiep":
        problems = envelope_problems(root)
        invoices = envelope_invoices(root)
        for i, hdon in enumerate(invoices, start=1):
            prefix = f"TDiep/DLieu/HDon[{i}]" if len(invoices) > 1 else "TDiep/DLieu/HDon"
            found = _validate_hdon(hdon, require_number=require_number, strict_order=strict_order,
                                   check_document=check_document)
            problems += [Problem(prefix + p.path[4:] if p.path.startswith("HDon") else p.path, p.message, p.level)
                         for p in found]
        return problems
    if kind == "legacy":
        return legacy_problems(root)
    return _validate_hdon(root, require_number=require_number, strict_order=strict_order,
                          check_document=check_document)


def _validate_hdon(root, *, require_number: bool, strict_order: bool, check_document: bool) -> list[Problem]:
    problems: list[Problem] = []
    if root.tag != "HDon":
        return [Problem(str(root.tag), "the root element must be HDon (without namespace), a TDiep carrying "
                                       "one, or a pre-2022 inv:invoice")]
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
        # those at, above or below a path already reported as an error are echoes of it and are left out.
        try:
            business = check_invoice(read_tree(root), require_number=require_number)
        except ValidationError as e:
            business = list(e.problems)
        related = _RelatedPaths(p.path for p in problems if p.is_error)
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
    """Problems of a serialized ``HDon``, ``TDiep`` or pre-2022 ``inv:invoice`` (parsed safely): errors and
    warnings (``Problem.level``). The document is valid when none is an error (``errors_only`` is empty)."""
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_tree(root, **kwargs)
