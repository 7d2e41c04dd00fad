"""Notice of erroneous e-invoices, form 04/SS-HĐĐT (message 300): data, XML build/parse/validate, signing.

The taxpayer tells the tax authority that issued invoices are cancelled, adjusted, replaced or explained
(Decree 123/2020 Art. 19 as amended by Decree 70/2025; form in Appendix IA). XML per the decision's field
table (Decision 1450/QĐ-TCT Part II.III.1, kept by 1510 and 1271; spec_xml_qr.md §2.5)::

    TBao
      DLTBao Id=…    PBan MSo Ten Loai So NTBCCQT MCQT TCQT TNNT MST MDVQHNSach DDanh NTBao
                     DSHDon/HDon*(STT MCQTCap KHMSHDon KHHDon SHDon Ngay LADHDDT TCTBao LDo)
      DSCKS          NNT/Signature (the taxpayer's), CCKSKhac

The signature follows the ``HDon`` profile (:mod:`vn_einvoice.signing.xmldsig`) with the data element
``DLTBao`` and the container ``DSCKS/NNT``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from lxml import etree

from .codes import check_tax_code, check_template_symbol
from .document import RelatedInvoiceType
from .errors import Problem, ValidationError
from .signing.generic import sign_document, verify_document
from .xml.build import fmt_date
from .xml.schema import Field
from .xml.validate import _walk
from .xmlutil import parse_untrusted

FORM = "04/SS-HĐĐT"
TITLE = "Thông báo hóa đơn điện tử có sai sót"
DEFAULT_VERSION = "2.1.0"
DATA_PATH = "DLTBao"
SIGNATURE_PATH = "DSCKS/NNT"


class NoticeKind(enum.IntEnum):
    """``Loai``: who starts it."""

    OWN = 1  # the taxpayer's own notice (cancellation or explanation)
    REPLY = 2  # answer to the tax authority's notice 01/TB-RSĐT (needs So and NTBCCQT)


class NoticeNature(enum.IntEnum):
    """``TCTBao`` (Appendix IX): what happens to the invoice."""

    CANCEL = 1  # hủy
    ADJUST = 2  # điều chỉnh
    REPLACE = 3  # thay thế
    EXPLAIN = 4  # giải trình
    SUMMARY = 5  # sai sót do tổng hợp (summary data of petrol/… sales)


NATURE_WORDS = {
    NoticeNature.CANCEL: "Hủy",
    NoticeNature.ADJUST: "Điều chỉnh",
    NoticeNature.REPLACE: "Thay thế",
    NoticeNature.EXPLAIN: "Giải trình",
    NoticeNature.SUMMARY: "Sai sót do tổng hợp",
}


@dataclass(frozen=True)
class NoticeInvoice:
    """One ``DSHDon/HDon``: an invoice named in the notice."""

    template: str  # KHMSHDon
    symbol: str  # KHHDon
    number: str  # SHDon
    issue_date: date  # Ngay
    nature: NoticeNature  # TCTBao
    reason: str = ""  # LDo
    authority_code: str = ""  # MCQTCap (coded invoices)
    invoice_type: RelatedInvoiceType = RelatedInvoiceType.DECREE_123  # LADHDDT
    seq: int | None = None  # STT


@dataclass(frozen=True)
class ErrorNotice:
    """``TBao/DLTBao``."""

    taxpayer_name: str  # TNNT
    tax_code: str  # MST
    tax_office_code: str  # MCQT (≤5)
    tax_office_name: str  # TCQT
    place: str  # DDanh
    notice_date: date  # NTBao
    invoices: tuple[NoticeInvoice, ...]
    kind: NoticeKind = NoticeKind.OWN  # Loai
    authority_notice_number: str = ""  # So (Loai 2)
    authority_notice_date: date | None = None  # NTBCCQT (Loai 2)
    budget_unit_code: str = ""  # MDVQHNSach (public-asset sellers without MST)
    version: str = DEFAULT_VERSION  # PBan
    form: str = FORM  # MSo
    title: str = TITLE  # Ten
    data_id: str = "data"  # DLTBao/@Id
    meta: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def numbered(self) -> ErrorNotice:
        """The notice with its invoices numbered 1, 2, … (``STT``) where not numbered."""
        return replace(self, invoices=tuple(
            inv if inv.seq is not None else replace(inv, seq=i) for i, inv in enumerate(self.invoices, start=1)))


# --- the field table ----------------------------------------------------------------------------

HDON_04 = Field("HDon", "group", presence="M", repeat=True, children=(
    Field("STT", "int", 4),
    Field("MCQTCap", "str", 34, "C"),
    Field("KHMSHDon", "str", 11, "C"),
    Field("KHHDon", "str", 8, "C"),
    Field("SHDon", "str", 8, "C"),
    Field("Ngay", "date", None, "M"),
    Field("LADHDDT", "int", 1, "M"),
    Field("TCTBao", "int", 1, "M"),
    Field("LDo", "str", 255),
))

DLTBAO = Field("DLTBao", "group", presence="M", children=(
    Field("PBan", "str", 6, "M"),
    Field("MSo", "str", 15, "M"),
    Field("Ten", "str", 255, "M"),
    Field("Loai", "int", 1, "M"),
    Field("So", "str", 30, "C"),
    Field("NTBCCQT", "date", None, "C"),
    Field("MCQT", "str", 5, "M"),
    Field("TCQT", "str", 100, "M"),
    Field("TNNT", "str", 400, "M"),
    Field("MST", "str", 14, "C"),
    Field("MDVQHNSach", "str", 7, "C"),
    Field("DDanh", "str", 50, "M"),
    Field("NTBao", "date", None, "M"),
    Field("DSHDon", "group", presence="M", children=(HDON_04,)),
))

TBAO = Field("TBao", "group", presence="M", children=(
    DLTBAO,
    Field("DSCKS", "group", presence="M", children=(
        Field("NNT", "any", presence="C"),
        Field("CCKSKhac", "any"),
    )),
))


# --- checks -------------------------------------------------------------------------------------

def check_notice(notice: ErrorNotice) -> list[Problem]:
    """Business checks: who, where, when, and every invoice named (template/symbol, dates, nature)."""
    p = "TBao/DLTBao"
    problems: list[Problem] = []
    if notice.form != FORM:
        problems.append(Problem(f"{p}/MSo", f"the form of this notice is {FORM}, not {notice.form!r}"))
    if not notice.taxpayer_name:
        problems.append(Problem(f"{p}/TNNT", "the taxpayer's name is missing"))
    if notice.tax_code:
        problems += check_tax_code(notice.tax_code, f"{p}/MST", allow_personal=True)
    elif not notice.budget_unit_code:
        problems.append(Problem(f"{p}/MST", "the taxpayer's tax code (MST) is missing"))
    if not notice.tax_office_code:
        problems.append(Problem(f"{p}/MCQT", "the code of the tax office (MCQT, up to 5 characters) is missing"))
    if not notice.tax_office_name:
        problems.append(Problem(f"{p}/TCQT", "the name of the tax office is missing"))
    if not notice.place:
        problems.append(Problem(f"{p}/DDanh", "the place (địa danh) is missing"))
    if notice.kind is NoticeKind.REPLY:
        if not notice.authority_notice_number:
            problems.append(Problem(f"{p}/So", "a reply (Loai 2) needs the number of the tax authority's notice"))
        if notice.authority_notice_date is None:
            problems.append(Problem(f"{p}/NTBCCQT", "a reply (Loai 2) needs the date of the tax authority's notice"))
        elif notice.authority_notice_date > notice.notice_date:
            problems.append(Problem(f"{p}/NTBCCQT", "the tax authority's notice is dated after this notice"))
    if not notice.invoices:
        problems.append(Problem(f"{p}/DSHDon", "the notice names no invoice"))
    seen = set()
    for i, inv in enumerate(notice.invoices, start=1):
        ip = f"{p}/DSHDon/HDon[{i}]"
        key = (inv.template, inv.symbol, inv.number)
        if key in seen:
            problems.append(Problem(ip, f"invoice {inv.template}{inv.symbol} number {inv.number} is named twice"))
        seen.add(key)
        for pr in check_template_symbol(inv.template, inv.symbol):
            tag = {"KHMSHDon": "KHMSHDon", "KHHDon": "KHHDon"}.get(pr.path, pr.path)
            problems.append(Problem(f"{ip}/{tag}", pr.message))
        if not inv.number or not inv.number.isdigit():
            problems.append(Problem(f"{ip}/SHDon", f"invoice number {inv.number!r} must be digits"))
        if inv.issue_date > notice.notice_date:
            problems.append(Problem(f"{ip}/Ngay", f"the invoice is dated {inv.issue_date:%d/%m/%Y}, after the notice "
                                                  f"({notice.notice_date:%d/%m/%Y})"))
        if inv.nature is NoticeNature.CANCEL and inv.symbol[:1] == "K":
            problems.append(Problem(
                f"{ip}/TCTBao", "since Decree 70/2025 only an invoice coded by the tax authority (symbol C…) not yet "
                                "sent to the buyer is cancelled with this notice; correct a non-coded invoice by "
                                "adjustment or replacement"))
        if not inv.reason:
            problems.append(Problem(f"{ip}/LDo", "give the reason (what is wrong, what is done about it)"))
    return problems


# --- build --------------------------------------------------------------------------------------

def _sub(parent, tag: str, value) -> None:
    if value is None or value == "":
        return
    el = etree.SubElement(parent, tag)
    if isinstance(value, date):
        el.text = fmt_date(value)
    elif isinstance(value, enum.IntEnum):
        el.text = str(int(value))
    else:
        el.text = str(value)


def build_notice_tree(notice: ErrorNotice) -> etree._Element:
    """``TBao`` with an empty ``DSCKS/NNT`` (no checks: see :func:`build_notice_xml`)."""
    notice = notice.numbered()
    root = etree.Element("TBao")
    dl = etree.SubElement(root, "DLTBao", Id=notice.data_id)
    _sub(dl, "PBan", notice.version)
    _sub(dl, "MSo", notice.form)
    _sub(dl, "Ten", notice.title)
    _sub(dl, "Loai", notice.kind)
    if notice.kind is NoticeKind.REPLY:
        _sub(dl, "So", notice.authority_notice_number)
        _sub(dl, "NTBCCQT", notice.authority_notice_date)
    _sub(dl, "MCQT", notice.tax_office_code)
    _sub(dl, "TCQT", notice.tax_office_name)
    _sub(dl, "TNNT", notice.taxpayer_name)
    _sub(dl, "MST", notice.tax_code)
    _sub(dl, "MDVQHNSach", notice.budget_unit_code)
    _sub(dl, "DDanh", notice.place)
    _sub(dl, "NTBao", notice.notice_date)
    ds = etree.SubElement(dl, "DSHDon")
    for inv in notice.invoices:
        h = etree.SubElement(ds, "HDon")
        _sub(h, "STT", inv.seq)
        _sub(h, "MCQTCap", inv.authority_code)
        _sub(h, "KHMSHDon", inv.template)
        _sub(h, "KHHDon", inv.symbol)
        _sub(h, "SHDon", inv.number)
        _sub(h, "Ngay", inv.issue_date)
        _sub(h, "LADHDDT", inv.invoice_type)
        _sub(h, "TCTBao", inv.nature)
        _sub(h, "LDo", inv.reason)
    dscks = etree.SubElement(root, "DSCKS")
    etree.SubElement(dscks, "NNT")
    return root


def build_notice_xml(notice: ErrorNotice, *, check: bool = True) -> bytes:
    """Serialized ``TBao`` (UTF-8, no pretty-printing); with ``check`` every problem raises at once."""
    if check:
        problems = check_notice(notice)
        if problems:
            raise ValidationError(problems)
    root = build_notice_tree(notice)
    if check:
        problems = validate_notice_tree(root, check_document=False)
        if problems:
            raise ValidationError(problems)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- validate and parse -------------------------------------------------------------------------

def validate_notice_tree(root, *, check_document: bool = True) -> list[Problem]:
    """Structural problems of a ``TBao`` (field table, order, sizes); with ``check_document`` also
    the business checks of :func:`check_notice`."""
    if root.tag != "TBao":
        return [Problem(str(root.tag), "the root element of a 04/SS notice must be TBao (without namespace)")]
    problems: list[Problem] = []
    dl = root.find("DLTBao")
    if dl is not None and not (dl.get("Id") or "").strip():
        problems.append(Problem("TBao/DLTBao/@Id", "the Id attribute is required (the signature refers to it)"))
    version = (root.findtext("DLTBao/PBan") or "").strip()
    _walk(TBAO, root, "TBao", version, True, problems)
    if dl is not None:
        if (dl.findtext("Loai") or "").strip() == "2":
            for tag in ("So", "NTBCCQT"):
                if dl.find(tag) is None:
                    problems.append(Problem(f"TBao/DLTBao/{tag}", "required in a reply to the tax authority (Loai 2)"))
        if dl.find("MST") is None and dl.find("MDVQHNSach") is None:
            problems.append(Problem("TBao/DLTBao/MST", "the taxpayer's tax code (MST) is missing"))
        for i, h in enumerate(dl.findall("DSHDon/HDon"), start=1):
            nature = (h.findtext("TCTBao") or "").strip()
            if nature and nature not in {str(int(n)) for n in NoticeNature}:
                problems.append(Problem(f"TBao/DLTBao/DSHDon/HDon[{i}]/TCTBao",
                                        f"{nature!r} is not a nature of Appendix IX (1 cancel, 2 adjust, 3 replace, "
                                        f"4 explain, 5 summary)"))
            for tag in ("KHMSHDon", "KHHDon", "SHDon"):
                if h.find(tag) is None:
                    problems.append(Problem(f"TBao/DLTBao/DSHDon/HDon[{i}]/{tag}", "required to name the invoice"))
    if check_document and not problems:
        try:
            problems += check_notice(read_notice_tree(root))
        except ValidationError as e:
            problems += list(e.problems)
    return problems


def validate_notice_xml(data: bytes | str, **kwargs) -> list[Problem]:
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_notice_tree(root, **kwargs)


def _date(text: str, path: str, problems: list[Problem]) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        problems.append(Problem(path, f"{text!r} is not a date written YYYY-MM-DD"))
        return None


def _enum(cls, text: str, path: str, problems: list[Problem], default=None):
    try:
        return cls(int(text))
    except (TypeError, ValueError):
        problems.append(Problem(path, f"{text!r} is not a valid {cls.__name__}"))
        return default


def read_notice_tree(root) -> ErrorNotice:
    problems: list[Problem] = []
    dl = root.find("DLTBao")
    if dl is None:
        raise ValidationError.at("TBao/DLTBao", "missing")

    def t(el, tag):
        return (el.findtext(tag) or "").strip()

    p = "TBao/DLTBao"
    invoices = []
    for i, h in enumerate(dl.findall("DSHDon/HDon"), start=1):
        ip = f"{p}/DSHDon/HDon[{i}]"
        seq = t(h, "STT")
        invoices.append(NoticeInvoice(
            template=t(h, "KHMSHDon"), symbol=t(h, "KHHDon"), number=t(h, "SHDon"),
            issue_date=_date(t(h, "Ngay"), f"{ip}/Ngay", problems) or date.min,
            nature=_enum(NoticeNature, t(h, "TCTBao"), f"{ip}/TCTBao", problems, NoticeNature.EXPLAIN),
            reason=t(h, "LDo"), authority_code=t(h, "MCQTCap"),
            invoice_type=_enum(RelatedInvoiceType, t(h, "LADHDDT") or "1", f"{ip}/LADHDDT", problems,
                               RelatedInvoiceType.DECREE_123),
            seq=int(seq) if seq.isdigit() else None,
        ))
    notice = ErrorNotice(
        taxpayer_name=t(dl, "TNNT"), tax_code=t(dl, "MST"), tax_office_code=t(dl, "MCQT"),
        tax_office_name=t(dl, "TCQT"), place=t(dl, "DDanh"),
        notice_date=_date(t(dl, "NTBao"), f"{p}/NTBao", problems) or date.min,
        invoices=tuple(invoices),
        kind=_enum(NoticeKind, t(dl, "Loai") or "1", f"{p}/Loai", problems, NoticeKind.OWN),
        authority_notice_number=t(dl, "So"),
        authority_notice_date=_date(t(dl, "NTBCCQT"), f"{p}/NTBCCQT", problems),
        budget_unit_code=t(dl, "MDVQHNSach"), version=t(dl, "PBan"), form=t(dl, "MSo"), title=t(dl, "Ten"),
        data_id=dl.get("Id") or "",
    )
    if problems:
        raise ValidationError(problems)
    return notice


def parse_notice_xml(data: bytes | str) -> ErrorNotice:
    """Read a ``TBao`` (signed or not) back into an :class:`ErrorNotice`; raises on unreadable values."""
    root = parse_untrusted(data).getroot()
    if root.tag != "TBao":
        raise ValidationError.at(str(root.tag), "not a 04/SS notice (the root element must be TBao)")
    return read_notice_tree(root)


# --- signing ------------------------------------------------------------------------------------

def sign_notice(xml, signer, *, algorithm: str | None = None, signing_time: datetime | None = None,
                at: datetime | None = None, allow_mst_mismatch: bool = False) -> bytes:
    """The taxpayer's signature in ``TBao/DSCKS/NNT`` over ``DLTBao`` (certificate MST = ``DLTBao/MST``)."""
    return sign_document(xml, signer, data_path=DATA_PATH, container_path=SIGNATURE_PATH, tax_code_path="MST",
                         algorithm=algorithm, signing_time=signing_time, at=at, signature_id="NNT",
                         allow_mst_mismatch=allow_mst_mismatch)


def verify_notice(xml, *, at: datetime | None = None, trusted_certificates=None):
    """A :class:`~vn_einvoice.signing.VerificationReport` of the taxpayer's signature(s)."""
    return verify_document(xml, data_path=DATA_PATH, container_path=SIGNATURE_PATH, tax_code_path="MST",
                           at=at, trusted_certificates=trusted_certificates)
