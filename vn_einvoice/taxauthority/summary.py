"""Summary table of invoice data, form 01/TH-HĐĐT (message 400): data, XML, checks, signing.

Where the law requires it: invoices without code of a taxpayer registered to send by summary table
(01/ĐKTĐ-HĐĐT ``PThuc/CBTHop`` = 1: petrol retail, telecom, transport, insurance, banking… — Decree
123/2020 Art. 22.3), sent by the deadline of the VAT return; one table per period, supplemented by
numbered additions. Field table (Decision 1450/1510 Part II.IV.2, from implementers' models S4 —
confirm against the official PDF)::

    BTHDLieu
      DLBTHop Id=…
        TTChung      PBan MSo Ten SBTHDLieu LKDLieu KDLieu LDau BSLThu NLap TNNT MST HDDIn LHHoa
        NDBTHDLieu   DSDLieu/DLieu*(STT KHMSHDon KHHDon SHDon NLap TNMua MKHang MSTNMua MHHoa THHDVu DVTinh
                     SLuong TTCThue TSuat TgTThue TgTTToan TThai LHDCLQuan KHMSHDCLQuan KHHDCLQuan SHDCLQuan GChu)
      DSCKS          NNT/Signature (the taxpayer's)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..codes import check_tax_code, check_template_symbol
from ..document import Invoice
from ..errors import Problem, ValidationError
from ..signing.generic import sign_document, verify_document
from ..xml.build import fmt_date, fmt_num
from ..xml.schema import NUM, Field
from ..xml.validate import _walk
from ..xmlutil import parse_untrusted
from .envelope import DEFAULT_VERSION

FORM = "01/TH-HĐĐT"
TITLE = "Bảng tổng hợp dữ liệu hóa đơn điện tử"
DATA_PATH = "DLBTHop"
SIGNATURE_PATH = "DSCKS/NNT"


class Period(str, enum.Enum):
    """``LKDLieu``: the kind of period."""

    DAY = "N"
    MONTH = "T"
    QUARTER = "Q"


class GoodsKind(enum.IntEnum):
    """``LHHoa``."""

    PETROL = 1
    AIR_TRANSPORT = 2
    OTHER = 9


@dataclass(frozen=True)
class SummaryLine:
    """``DSDLieu/DLieu``: one invoice (or one line of goods of it) in the table."""

    template: str  # KHMSHDon
    symbol: str  # KHHDon
    number: str  # SHDon
    issue_date: date  # NLap
    amount: Decimal  # TTCThue: before VAT
    tax_rate: str  # TSuat
    tax_amount: Decimal  # TgTThue
    total: Decimal  # TgTTToan
    buyer_name: str = ""  # TNMua
    buyer_tax_code: str = ""  # MSTNMua
    buyer_code: str = ""  # MKHang
    item_code: str = ""  # MHHoa
    item_name: str = ""  # THHDVu
    unit: str = ""  # DVTinh
    quantity: Decimal | None = None  # SLuong
    status: int = 0  # TThai (Appendix IX: 0 new, 1 cancelled, 2 adjusted, 3 replaced, 4 explained, 5 summary error)
    note: str = ""  # GChu


@dataclass(frozen=True)
class SummaryTable:
    """``BTHDLieu/DLBTHop``."""

    taxpayer_name: str  # TNNT
    tax_code: str  # MST
    number: int  # SBTHDLieu: the table's number
    period: Period  # LKDLieu
    period_value: str  # KDLieu: DD/MM/YYYY (day), MM/YYYY (month), QQ/YYYY (quarter)
    date: date  # NLap
    lines: tuple[SummaryLine, ...]
    supplement: int = 0  # BSLThu: 0 = the first table of the period (LDau 1)
    goods: GoodsKind = GoodsKind.OTHER  # LHHoa
    printed: bool = False  # HDDIn: 1 = invoices printed by the tax office
    version: str = DEFAULT_VERSION
    data_id: str = "data"
    meta: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """What identifies a table at the tax authority: MST, period and supplement number."""
        return (self.tax_code, self.period.value, self.period_value, self.supplement)


def summary_lines(invoices: list[Invoice], status: int = 0) -> tuple[SummaryLine, ...]:
    """One line per invoice and VAT rate, from built invoices (numbered, with their tax breakdown)."""
    out = []
    for inv in invoices:
        for b in inv.tax_breakdown:
            tax = b.tax_amount or Decimal(0)
            out.append(SummaryLine(
                template=inv.template, symbol=inv.symbol, number=str(inv.number or ""), issue_date=inv.issue_date,
                amount=b.taxable_amount, tax_rate=str(b.rate), tax_amount=tax, total=b.taxable_amount + tax, buyer_name=inv.buyer.name, buyer_tax_code=inv.buyer.tax_code,
                buyer_code=inv.buyer.code, item_name="Hàng hóa, dịch vụ", status=status))
    return tuple(out)


LINE = Field("DLieu", "group", presence="M", repeat=True, children=(
    Field("STT", "int", 6, "M"),
    Field("KHMSHDon", "str", 11, "M"),
    Field("KHHDon", "str", 8, "M"),
    Field("SHDon", "str", 8, "M"),
    Field("NLap", "date", None, "M"),
    Field("TNMua", "str", 400),
    Field("MKHang", "str", 50),
    Field("MSTNMua", "str", 14),
    Field("MHHoa", "str", 50),
    Field("THHDVu", "str", 500),
    Field("DVTinh", "str", 50),
    Field("SLuong", "num", NUM),
    Field("TTCThue", "num", NUM, "M"),
    Field("TSuat", "str", 11, "M"),
    Field("TgTThue", "num", NUM, "M"),
    Field("TgTTToan", "num", NUM, "M"),
    Field("TThai", "int", 1, "M"),
    Field("LHDCLQuan", "int", 1),
    Field("KHMSHDCLQuan", "str", 11),
    Field("KHHDCLQuan", "str", 8),
    Field("SHDCLQuan", "str", 8),
    Field("GChu", "str", 255),
))
BTHDLIEU = Field("BTHDLieu", "group", presence="M", children=(
    Field("DLBTHop", "group", presence="M", children=(
        Field("TTChung", "group", presence="M", children=(
            Field("PBan", "str", 6, "M"),
            Field("MSo", "str", 15, "M"),
            Field("Ten", "str", 100, "M"),
            Field("SBTHDLieu", "int", 5, "M"),
            Field("LKDLieu", "str", 1, "M"),
            Field("KDLieu", "str", 10, "M"),
            Field("LDau", "int", 1, "M"),
            Field("BSLThu", "int", 3, "C"),
            Field("NLap", "date", None, "M"),
            Field("TNNT", "str", 400, "M"),
            Field("MST", "str", 14, "M"),
            Field("HDDIn", "int", 1, "M"),
            Field("LHHoa", "int", 1, "M"),
        )),
        Field("NDBTHDLieu", "group", presence="M", children=(
            Field("DSDLieu", "group", presence="M", children=(LINE,)),
        )),
    )),
    Field("DSCKS", "group", presence="M", children=(Field("NNT", "any", presence="C"), Field("CCKSKhac", "any"))),
))


def _period_problem(period: Period, value: str) -> str | None:
    fmt = {Period.DAY: "%d/%m/%Y", Period.MONTH: "%m/%Y"}.get(period)
    try:
        if fmt:
            datetime.strptime(value, fmt)
        else:
            quarter, year = value.split("/")
            if quarter not in ("01", "02", "03", "04") or len(year) != 4 or not year.isdigit():
                raise ValueError
    except ValueError:
        return {Period.DAY: "DD/MM/YYYY", Period.MONTH: "MM/YYYY", Period.QUARTER: "QQ/YYYY (01 to 04)"}[period]
    return None


def check_summary(table: SummaryTable) -> list[Problem]:
    """Business checks: the taxpayer, the period, each line's symbol and amounts (TgTTToan = TTCThue + TgTThue)."""
    p = "BTHDLieu/DLBTHop"
    problems: list[Problem] = []
    if not table.taxpayer_name:
        problems.append(Problem(f"{p}/TTChung/TNNT", "the taxpayer's name is missing"))
    problems += check_tax_code(table.tax_code, f"{p}/TTChung/MST")
    wanted = _period_problem(table.period, table.period_value)
    if wanted:
        problems.append(Problem(f"{p}/TTChung/KDLieu", f"{table.period_value!r}: a period of this kind is written {wanted}"))
    if table.number < 1:
        problems.append(Problem(f"{p}/TTChung/SBTHDLieu", "the table's number starts at 1"))
    if table.supplement < 0:
        problems.append(Problem(f"{p}/TTChung/BSLThu", "a supplement number is 1 or more (0: the first table)"))
    if not table.lines:
        problems.append(Problem(f"{p}/NDBTHDLieu/DSDLieu", "the table has no line"))
    for i, line in enumerate(table.lines, start=1):
        lp = f"{p}/NDBTHDLieu/DSDLieu/DLieu[{i}]"
        for pr in check_template_symbol(line.template, line.symbol):
            problems.append(Problem(f"{lp}/{pr.path}", pr.message))
        if line.symbol[:1] == "C":
            problems.append(Problem(f"{lp}/KHHDon", f"{line.symbol}: invoices with code are not sent by summary table"))
        if not line.number.isdigit():
            problems.append(Problem(f"{lp}/SHDon", f"invoice number {line.number!r} must be digits"))
        if line.amount + line.tax_amount != line.total:
            problems.append(Problem(f"{lp}/TgTTToan", f"{fmt_num(line.total)} is not {fmt_num(line.amount)} + "
                                                      f"{fmt_num(line.tax_amount)} (TTCThue + TgTThue)"))
        if line.status not in range(6):
            problems.append(Problem(f"{lp}/TThai", f"{line.status}: 0 new, 1 cancelled, 2 adjusted, 3 replaced, "
                                                   "4 explained, 5 summary error"))
    return problems


def _sub(parent, tag: str, value) -> None:
    if value is None or value == "":
        return
    el = etree.SubElement(parent, tag)
    if isinstance(value, date):
        el.text = fmt_date(value)
    elif isinstance(value, bool):
        el.text = "1" if value else "0"
    elif isinstance(value, Decimal):
        el.text = fmt_num(value)
    elif isinstance(value, enum.Enum):
        el.text = str(value.value)
    else:
        el.text = str(value)


def build_summary_tree(table: SummaryTable) -> etree._Element:
    root = etree.Element("BTHDLieu")
    dl = etree.SubElement(root, "DLBTHop", Id=table.data_id)
    tt = etree.SubElement(dl, "TTChung")
    for tag, value in (("PBan", table.version), ("MSo", FORM), ("Ten", TITLE), ("SBTHDLieu", table.number),
                       ("LKDLieu", table.period), ("KDLieu", table.period_value), ("LDau", table.supplement == 0),
                       ("BSLThu", table.supplement or None), ("NLap", table.date), ("TNNT", table.taxpayer_name),
                       ("MST", table.tax_code), ("HDDIn", table.printed), ("LHHoa", int(table.goods))):
        _sub(tt, tag, value)
    ds = etree.SubElement(etree.SubElement(dl, "NDBTHDLieu"), "DSDLieu")
    for i, line in enumerate(table.lines, start=1):
        el = etree.SubElement(ds, "DLieu")
        for tag, value in (("STT", i), ("KHMSHDon", line.template), ("KHHDon", line.symbol), ("SHDon", line.number),
                           ("NLap", line.issue_date), ("TNMua", line.buyer_name), ("MKHang", line.buyer_code),
                           ("MSTNMua", line.buyer_tax_code), ("MHHoa", line.item_code), ("THHDVu", line.item_name),
                           ("DVTinh", line.unit), ("SLuong", line.quantity), ("TTCThue", line.amount),
                           ("TSuat", line.tax_rate), ("TgTThue", line.tax_amount), ("TgTTToan", line.total),
                           ("TThai", line.status), ("GChu", line.note)):
            _sub(el, tag, value)
    etree.SubElement(etree.SubElement(root, "DSCKS"), "NNT")
    return root


def build_summary_xml(table: SummaryTable, *, check: bool = True) -> bytes:
    """``BTHDLieu`` (UTF-8, unsigned); with ``check`` every problem raises at once."""
    problems = check_summary(table) if check else []
    root = build_summary_tree(table)
    if check:
        problems += validate_summary_tree(root, check_document=False)
    if problems:
        raise ValidationError(problems)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def validate_summary_tree(root, *, check_document: bool = True) -> list[Problem]:
    if root.tag != "BTHDLieu":
        return [Problem(str(root.tag), "the root element of a summary table must be BTHDLieu (without namespace)")]
    problems: list[Problem] = []
    dl = root.find(DATA_PATH)
    if dl is not None and not (dl.get("Id") or "").strip():
        problems.append(Problem("BTHDLieu/DLBTHop/@Id", "the Id attribute is required (the signature refers to it)"))
    version = (root.findtext("DLBTHop/TTChung/PBan") or "").strip()
    _walk(BTHDLIEU, root, "BTHDLieu", version, True, problems)
    tt = root.find("DLBTHop/TTChung")
    if tt is not None:
        if (tt.findtext("MSo") or "").strip() not in ("", FORM):
            problems.append(Problem("BTHDLieu/DLBTHop/TTChung/MSo", f"the form is {FORM}"))
        if (tt.findtext("LKDLieu") or "").strip() not in ("", *(p.value for p in Period)):
            problems.append(Problem("BTHDLieu/DLBTHop/TTChung/LKDLieu", "N (day), T (month) or Q (quarter)"))
        if (tt.findtext("LDau") or "").strip() == "0" and tt.find("BSLThu") is None:
            problems.append(Problem("BTHDLieu/DLBTHop/TTChung/BSLThu", "a supplement (LDau 0) gives its number"))
    if check_document and not problems:
        try:
            problems += check_summary(read_summary_tree(root))
        except ValidationError as e:
            problems += list(e.problems)
    return problems


def validate_summary_xml(data: bytes | str, **kwargs) -> list[Problem]:
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_summary_tree(root, **kwargs)


def _dec(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def read_summary_tree(root) -> SummaryTable:
    problems = validate_summary_tree(root, check_document=False)
    if problems:
        raise ValidationError(problems)
    tt = root.find("DLBTHop/TTChung")

    def text(el, tag):
        return (el.findtext(tag) or "").strip()

    lines = tuple(SummaryLine(
        template=text(d, "KHMSHDon"), symbol=text(d, "KHHDon"), number=text(d, "SHDon"),
        issue_date=datetime.strptime(text(d, "NLap"), "%Y-%m-%d").date(), amount=_dec(text(d, "TTCThue")),
        tax_rate=text(d, "TSuat"), tax_amount=_dec(text(d, "TgTThue")), total=_dec(text(d, "TgTTToan")),
        buyer_name=text(d, "TNMua"), buyer_tax_code=text(d, "MSTNMua"), buyer_code=text(d, "MKHang"),
        item_code=text(d, "MHHoa"), item_name=text(d, "THHDVu"), unit=text(d, "DVTinh"),
        quantity=_dec(text(d, "SLuong")), status=int(text(d, "TThai")), note=text(d, "GChu"))
        for d in root.iterfind("DLBTHop/NDBTHDLieu/DSDLieu/DLieu"))
    return SummaryTable(
        taxpayer_name=text(tt, "TNNT"), tax_code=text(tt, "MST"), number=int(text(tt, "SBTHDLieu")),
        period=Period(text(tt, "LKDLieu")), period_value=text(tt, "KDLieu"),
        date=datetime.strptime(text(tt, "NLap"), "%Y-%m-%d").date(), lines=lines,
        supplement=int(text(tt, "BSLThu") or 0), goods=GoodsKind(int(text(tt, "LHHoa"))),
        printed=text(tt, "HDDIn") == "1", version=text(tt, "PBan"), data_id=root.find(DATA_PATH).get("Id"))


def parse_summary_xml(data: bytes | str) -> SummaryTable:
    return read_summary_tree(parse_untrusted(data).getroot())


def sign_summary(xml, signer, *, signing_time: datetime | None = None, at: datetime | None = None,
                 algorithm: str | None = None) -> bytes:
    """The taxpayer's signature in ``BTHDLieu/DSCKS/NNT`` over ``DLBTHop`` (certificate MST = the table's MST)."""
    return sign_document(xml, signer, data_path=DATA_PATH, container_path=SIGNATURE_PATH,
                         tax_code_path="TTChung/MST", algorithm=algorithm, signing_time=signing_time, at=at,
                         signature_id="NNT")


def verify_summary(xml, *, at: datetime | None = None, trusted_certificates=None):
    return verify_document(xml, data_path=DATA_PATH, container_path=SIGNATURE_PATH, tax_code_path="TTChung/MST",
                           at=at, trusted_certificates=trusted_certificates)
