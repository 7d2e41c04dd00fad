"""The transmission envelope ``TDiep`` between a taxpayer (through a T-VAN) and the tax authority (CQT).

Decision 1450/1510/1271 §I.IV.5–6 (spec_xml_qr.md §2.3)::

    TDiep
      TTChung   PBan MNGui MNNhan MLTDiep MTDiep MTDTChieu MST SLuong
      DLieu     SLuong items of one kind of data of one taxpayer (HDon…, TKhai, TBao, BTHDLieu)

``MNGui``/``MNNhan``: ``TCT`` (the tax authority), ``V`` + MST of a T-VAN, ``K`` + MST of an organisation
connected directly, or a plain MST (a taxpayer's system talking to its T-VAN); dashes removed.
``MTDiep`` = ``MNGui`` + 32 upper-case hex digits (a UUID4 without dashes); ``MTDTChieu`` on a reply is
the ``MTDiep`` of the message answered. A message is at most 2 MB (:data:`~vn_einvoice.xmlutil.MAX_XML_BYTES`).

Items are moved in and out as parsed elements, never re-indented: ``TDiep``/``DLieu`` declare no
namespace, so a signed ``HDon`` keeps its canonical form (and its signatures) inside the envelope.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from ..codes import check_tax_code, normalize_tax_code
from ..errors import Problem, ValidationError
from ..xml.schema import Field
from ..xml.validate import _walk
from ..xmlutil import MAX_XML_BYTES, parse_untrusted

VERSIONS = ("2.0.0", "2.0.1", "2.1.0")
DEFAULT_VERSION = "2.1.0"
TAX_AUTHORITY = "TCT"


class MessageType(enum.IntEnum):
    """``MLTDiep``: the kinds of message this library builds and reads (spec_xml_qr.md §2.3 table)."""

    REGISTRATION = 100  # 01/ĐKTĐ-HĐĐT, registration or change of e-invoice use
    REGISTRATION_RECEIPT = 102  # CQT: 01/TB-TNĐT, form received or not
    REGISTRATION_RESULT = 103  # CQT: 01/TB-ĐKĐT, registration accepted or not
    INVOICE_FOR_CODE = 200  # an invoice to be coded (one per message)
    CODED_INVOICE = 202  # CQT: the invoice with its code (MCCQT) and the CQT signature
    INVOICE_WITHOUT_CODE = 203  # data of invoices without code
    DATA_CHECK_RESULT = 204  # CQT: 01/TB-KTDL, result of the data check (refusal, or package valid)
    ERROR_NOTICE = 300  # 04/SS-HĐĐT, notice of erroneous invoices
    ERROR_NOTICE_RESULT = 301  # CQT: 01/TB-SSĐT, receipt and result of a 04/SS
    SUMMARY_TABLE = 400  # 01/TH-HĐĐT, summary table of invoice data (non-coded invoices sent by summary)
    TECHNICAL_RECEIPT = 999  # technical acknowledgement (TTTNhan 0 = no error, 1 = error)


#: What ``DLieu`` holds for each type (the root element of every item).
DATA_ROOT = {
    MessageType.REGISTRATION: "TKhai",
    MessageType.REGISTRATION_RECEIPT: "TBao",
    MessageType.REGISTRATION_RESULT: "TBao",
    MessageType.INVOICE_FOR_CODE: "HDon",
    MessageType.CODED_INVOICE: "HDon",
    MessageType.INVOICE_WITHOUT_CODE: "HDon",
    MessageType.DATA_CHECK_RESULT: "TBao",
    MessageType.ERROR_NOTICE: "TBao",
    MessageType.ERROR_NOTICE_RESULT: "TBao",
    MessageType.SUMMARY_TABLE: "BTHDLieu",
    MessageType.TECHNICAL_RECEIPT: "TBao",
}
#: Sent by the taxpayer → the replies that end the exchange (a 999 always comes first).
FINAL_REPLIES = {
    MessageType.REGISTRATION: frozenset({MessageType.REGISTRATION_RESULT}),
    MessageType.INVOICE_FOR_CODE: frozenset({MessageType.CODED_INVOICE, MessageType.DATA_CHECK_RESULT}),
    MessageType.INVOICE_WITHOUT_CODE: frozenset({MessageType.DATA_CHECK_RESULT}),
    MessageType.ERROR_NOTICE: frozenset({MessageType.ERROR_NOTICE_RESULT}),
    MessageType.SUMMARY_TABLE: frozenset({MessageType.DATA_CHECK_RESULT}),
}
FROM_TAXPAYER = frozenset(FINAL_REPLIES)
REPLIES = frozenset(MessageType) - FROM_TAXPAYER
#: Items per message: one invoice to be coded per message (200); batches elsewhere, within 2 MB.
MAX_ITEMS = {MessageType.INVOICE_FOR_CODE: 1, MessageType.CODED_INVOICE: 1, MessageType.REGISTRATION: 1,
             MessageType.ERROR_NOTICE: 1, MessageType.SUMMARY_TABLE: 1}
MAX_COUNT = 9_999_999  # SLuong: 7 digits

_PARTY_RE = re.compile(r"^(?:TCT|[VK]?[0-9]{10}(?:[0-9]{3})?)$")
_HEX32 = re.compile(r"^[0-9A-F]{32}$")

TTCHUNG = Field("TTChung", "group", presence="M", children=(
    Field("PBan", "str", 6, "M"),
    Field("MNGui", "str", 14, "M"),
    Field("MNNhan", "str", 14, "M"),
    Field("MLTDiep", "int", 3, "M"),
    Field("MTDiep", "str", 46, "M"),
    Field("MTDTChieu", "str", 46, "C"),
    Field("MST", "str", 14, "M"),
    Field("SLuong", "int", 7, "M"),
))
TDIEP = Field("TDiep", "group", presence="M", children=(
    TTCHUNG,
    Field("DLieu", "any", presence="M"),
))


def party_code(tax_code: str, kind: str = "") -> str:
    """A sender/receiver code: ``kind`` ``V`` (T-VAN), ``K`` (direct connection) or ``""`` (plain MST)
    followed by the MST without dash."""
    return kind + re.sub(r"\D", "", tax_code or "")


def new_message_id(sender: str) -> str:
    """``MTDiep``: the sender's code + 32 upper-case hex digits of a random UUID."""
    if not _PARTY_RE.match(sender or ""):
        raise ValidationError.at("TDiep/TTChung/MNGui", f"{sender!r} is not a sender code (TCT, V/K + MST, or MST)")
    return sender + uuid.uuid4().hex.upper()


def message_id_problems(value: str, sender: str, path: str) -> list[Problem]:
    """Problems of an ``MTDiep``/``MTDTChieu``: ``sender`` (when given) + 32 upper-case hex digits."""
    if not value:
        return [Problem(path, "the message code is missing")]
    if len(value) > 46:
        return [Problem(path, f"{value!r} is {len(value)} characters long; at most 46")]
    if sender and not value.startswith(sender):
        return [Problem(path, f"{value!r} must begin with the sender's code {sender!r}")]
    head = value[:-32]
    if not _HEX32.match(value[-32:]) or not _PARTY_RE.match(head):
        return [Problem(path, f"{value!r} is not a sender code followed by 32 upper-case hexadecimal digits")]
    return []


@dataclass(frozen=True)
class Header:
    """``TDiep/TTChung``."""

    type: MessageType  # MLTDiep
    sender: str  # MNGui
    receiver: str  # MNNhan
    message_id: str  # MTDiep
    tax_code: str  # MST (of the taxpayer whose data is inside)
    count: int  # SLuong
    reply_to: str = ""  # MTDTChieu
    version: str = DEFAULT_VERSION  # PBan


@dataclass(frozen=True)
class Message:
    """A parsed ``TDiep``: its header and the bytes as received (``raw``, what a log keeps)."""

    header: Header
    raw: bytes

    @property
    def type(self) -> MessageType:
        return self.header.type

    @property
    def message_id(self) -> str:
        return self.header.message_id

    def items(self) -> list[etree._Element]:
        """The elements in ``DLieu`` (parsed again from ``raw``: each call gives fresh elements)."""
        root = parse_untrusted(self.raw).getroot()
        dlieu = root.find("DLieu")
        return [c for c in (dlieu if dlieu is not None else []) if isinstance(c.tag, str)]

    def item_bytes(self) -> list[bytes]:
        """Each item of ``DLieu`` serialised alone (UTF-8, with XML declaration), signatures intact."""
        return [etree.tostring(el, xml_declaration=True, encoding="UTF-8") for el in self.items()]


def _item_element(item) -> etree._Element:
    if isinstance(item, etree._ElementTree):
        return item.getroot()
    if isinstance(item, etree._Element):
        return item
    return parse_untrusted(item).getroot()


def build_message(message_type: MessageType | int, items: Sequence, *, sender: str, tax_code: str,
                  receiver: str = TAX_AUTHORITY, reply_to: str = "", message_id: str | None = None,
                  version: str = DEFAULT_VERSION, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """A ``TDiep`` (UTF-8 bytes) carrying ``items`` (bytes or elements; signed ones stay signed).

    ``message_id`` defaults to a new one (:func:`new_message_id`); keep it: it is the idempotency key,
    a resend must reuse the very same bytes. Raises :class:`ValidationError` naming every problem
    (envelope fields, item kinds, SLuong, the 2 MB limit).
    """
    try:
        mtype = MessageType(int(message_type))
    except ValueError:
        raise ValidationError.at("TDiep/TTChung/MLTDiep", f"{message_type!r} is not a message type this library "
                                 f"builds ({', '.join(str(int(t)) for t in MessageType)})") from None
    root = etree.Element("TDiep")
    tt = etree.SubElement(root, "TTChung")
    mid = message_id or new_message_id(sender)
    for tag, value in (("PBan", version), ("MNGui", sender), ("MNNhan", receiver), ("MLTDiep", str(int(mtype))),
                       ("MTDiep", mid), ("MTDTChieu", reply_to), ("MST", re.sub(r"\D", "", tax_code or "")),
                       ("SLuong", str(len(items)))):
        etree.SubElement(tt, tag).text = value
    dlieu = etree.SubElement(root, "DLieu")
    for item in items:
        dlieu.append(_item_element(item))
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    problems = validate_message(data, max_bytes=max_bytes)
    if problems:
        raise ValidationError(problems)
    return data


def _header_problems(tt, problems: list[Problem]) -> None:
    p = "TDiep/TTChung"
    text = {c.tag: (c.text or "").strip() for c in tt if isinstance(c.tag, str)}
    version = text.get("PBan", "")
    if version and version not in VERSIONS:
        problems.append(Problem(f"{p}/PBan", f"version {version!r} is not known: {', '.join(VERSIONS)}"))
    sender, receiver = text.get("MNGui", ""), text.get("MNNhan", "")
    for tag, value in (("MNGui", sender), ("MNNhan", receiver)):
        if value and not _PARTY_RE.match(value):
            problems.append(Problem(f"{p}/{tag}", f"{value!r} is not TCT, V/K + MST (T-VAN / direct connection) or "
                                                  "an MST without dash"))
    if sender and sender == receiver:
        problems.append(Problem(f"{p}/MNNhan", "the sender and the receiver are the same"))
    mtype = None
    if text.get("MLTDiep", "").isdigit():
        try:
            mtype = MessageType(int(text["MLTDiep"]))
        except ValueError:
            problems.append(Problem(f"{p}/MLTDiep", f"{text['MLTDiep']!r} is not a message type this library "
                                                    "handles"))
    if "MTDiep" in text:
        problems += message_id_problems(text["MTDiep"], sender if _PARTY_RE.match(sender) else "", f"{p}/MTDiep")
    reply_to = text.get("MTDTChieu", "")
    if mtype in REPLIES and not reply_to:
        problems.append(Problem(f"{p}/MTDTChieu", f"a reply ({int(mtype)}) names the message it answers"))
    elif reply_to:
        problems += message_id_problems(reply_to, "", f"{p}/MTDTChieu")
    if text.get("MST"):
        problems += check_tax_code(text["MST"], f"{p}/MST")


def _data_tax_code(item) -> str:
    for path in ("DLHDon/NDHDon/NBan/MST", "DLTKhai/TTChung/MST", "DLTBao/MST", "MST", "DLBTHop/TTChung/MST"):
        value = item.findtext(path)
        if value:
            return normalize_tax_code(value.strip())
    return ""


def validate_tree(root, *, size: int | None = None, max_bytes: int = MAX_XML_BYTES) -> list[Problem]:
    """Every problem of a ``TDiep`` element: the envelope's field table, codes, ``SLuong`` against the
    items, the kind of the items, one taxpayer (``MST``) throughout, the size limit."""
    problems: list[Problem] = []
    if size is not None and size > max_bytes:
        problems.append(Problem("TDiep", f"the message is {size} bytes; the limit is {max_bytes} bytes (2 MB): "
                                         "send the items in several messages"))
    if root.tag != "TDiep":
        return problems + [Problem(str(root.tag), "the root element of a message must be TDiep (without namespace)")]
    version = (root.findtext("TTChung/PBan") or "").strip()
    _walk(TDIEP, root, "TDiep", version, True, problems)
    tt = root.find("TTChung")
    if tt is None:
        return problems
    _header_problems(tt, problems)
    dlieu = root.find("DLieu")
    items = [c for c in (dlieu if dlieu is not None else []) if isinstance(c.tag, str)]
    count_text = (tt.findtext("SLuong") or "").strip()
    if count_text.isdigit() and int(count_text) != len(items):
        problems.append(Problem("TDiep/TTChung/SLuong", f"says {count_text} items but DLieu holds {len(items)}"))
    try:
        mtype = MessageType(int((tt.findtext("MLTDiep") or "").strip()))
    except ValueError:
        return problems
    if not items:
        problems.append(Problem("TDiep/DLieu", "the message carries no data"))
    wanted = DATA_ROOT[mtype]
    limit = MAX_ITEMS.get(mtype)
    if limit is not None and len(items) > limit:
        problems.append(Problem("TDiep/DLieu", f"a message {int(mtype)} carries {limit} item(s), not {len(items)}: "
                                               "send one message per item"))
    mst = normalize_tax_code((tt.findtext("MST") or "").strip())
    for i, item in enumerate(items, start=1):
        path = f"TDiep/DLieu/{etree.QName(item).localname}[{i}]"
        if item.tag != wanted:
            problems.append(Problem(path, f"a message {int(mtype)} carries {wanted}, not {item.tag}"))
            continue
        if mtype is MessageType.INVOICE_FOR_CODE and item.find("MCCQT") is not None:
            problems.append(Problem(f"{path}/MCCQT", "an invoice sent for coding carries no tax authority code yet"))
        if mtype in (MessageType.INVOICE_FOR_CODE, MessageType.INVOICE_WITHOUT_CODE):
            symbol = (item.findtext("DLHDon/TTChung/KHHDon") or "").strip()
            coded = mtype is MessageType.INVOICE_FOR_CODE
            if symbol and symbol[:1] != ("C" if coded else "K"):
                problems.append(Problem(f"{path}/DLHDon/TTChung/KHHDon", (
                    f"symbol {symbol} is not of an invoice with code (C…): send it as 203" if coded else
                    f"symbol {symbol} is of an invoice with code (C…): send it as 200 to be coded")))
        data_mst = _data_tax_code(item)
        if mst and data_mst and data_mst != mst and mtype in FROM_TAXPAYER | {MessageType.CODED_INVOICE}:
            problems.append(Problem(path, f"the data is of MST {data_mst}, the envelope of MST {mst}: one message "
                                          "carries the data of one taxpayer"))
    return problems


def validate_message(data: bytes | str, *, max_bytes: int = MAX_XML_BYTES) -> list[Problem]:
    """Problems of a ``TDiep`` given as bytes (never raises)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        return [Problem("TDiep", f"the message is {len(data)} bytes; the limit is {max_bytes} bytes (2 MB): "
                                 "send the items in several messages")]
    try:
        root = parse_untrusted(data, max_bytes).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_tree(root, size=len(data), max_bytes=max_bytes)


def read_header(root) -> Header:
    tt = root.find("TTChung")

    def text(tag: str) -> str:
        return ((tt.findtext(tag) if tt is not None else "") or "").strip()

    return Header(type=MessageType(int(text("MLTDiep"))), sender=text("MNGui"), receiver=text("MNNhan"),
                  message_id=text("MTDiep"), tax_code=text("MST"), count=int(text("SLuong")),
                  reply_to=text("MTDTChieu"), version=text("PBan"))


def parse_message(data: bytes | str, *, max_bytes: int = MAX_XML_BYTES) -> Message:
    """A :class:`Message`; raises :class:`ValidationError` listing every problem of the envelope."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    problems = validate_message(data, max_bytes=max_bytes)
    if problems:
        raise ValidationError(problems)
    root = parse_untrusted(data, max_bytes).getroot()
    return Message(read_header(root), data)


def peek_header(data: bytes) -> dict[str, str]:
    """The raw ``TTChung`` texts of a message, even an invalid one (``{}`` when unreadable): what a
    receiver needs to answer a broken message (a 999 naming its ``MTDiep``)."""
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError:
        return {}
    tt = root.find("TTChung") if root.tag == "TDiep" else None
    if tt is None:
        return {}
    return {c.tag: (c.text or "").strip() for c in tt if isinstance(c.tag, str)}


def batches(items: Iterable[bytes], *, max_bytes: int = MAX_XML_BYTES, overhead: int = 1024) -> list[list[bytes]]:
    """Split serialised items into groups whose message stays within ``max_bytes`` (for 203 batches).

    An item that alone is over the limit raises :class:`ValidationError` (it can never be sent)."""
    groups: list[list[bytes]] = []
    current: list[bytes] = []
    size = overhead
    for i, item in enumerate(items, start=1):
        if len(item) + overhead > max_bytes:
            raise ValidationError.at(f"item {i}", f"{len(item)} bytes: one item alone exceeds the {max_bytes}-byte "
                                                  "limit of a message")
        if current and size + len(item) > max_bytes:
            groups.append(current)
            current, size = [], overhead
        current.append(item)
        size += len(item)
    if current:
        groups.append(current)
    return groups
