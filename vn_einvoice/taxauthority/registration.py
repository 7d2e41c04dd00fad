"""Registration or change of e-invoice use, form 01/ĐKTĐ-HĐĐT (message 100): data, XML, signing.

Field table of Decision 1450/1510 Part II.I.1 (kept by 1271; taken from implementers' models, S4 and
public builders — confirm against the official PDF)::

    TKhai
      DLTKhai Id=…
        TTChung   PBan MSo Ten HThuc TNNT MST CQTQLy MCQTQLy NLHe DCLHe DCTDTu DTLHe DDanh NLap
        NDTKhai   HTHDon(CMa KCMa CMTMTTien)  HTGDLHDDT(NNTDBKKhan NNTKTDNUBND CDLTTDCQT CDLQTVAN)
                  PThuc(CDDu CBTHop)  LHDSDung(HDGTGT HDBHang HDBTSCong HDBHDTQGia HDKhac CTu)
                  DSCTSSDung/CTS*(STT TTChuc Seri TNgay DNgay HThuc)
      DSCKS       NNT/Signature (the taxpayer's), CCKSKhac

The form registers the *kinds* of invoices used (with or without code, VAT or sales invoices…), how the
data reach the tax authority, and the signing certificates — not the symbols (KHHDon), which the seller
chooses. The tax authority then checks each invoice against the accepted registration: its kind, and
that it is signed with a registered certificate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from ..codes import check_tax_code
from ..errors import Problem, ValidationError
from ..signing.certs import serial_hex, validity
from ..signing.generic import sign_document, verify_document
from ..signing.xmldsig import to_ict
from ..xml.build import fmt_date
from ..xml.schema import Field
from ..xml.validate import _walk
from ..xmlutil import parse_untrusted
from .envelope import DEFAULT_VERSION

FORM = "01/ĐKTĐ-HĐĐT"
TITLE = "Tờ khai đăng ký/thay đổi thông tin sử dụng hóa đơn điện tử"
DATA_PATH = "DLTKhai"
SIGNATURE_PATH = "DSCKS/NNT"
ICT_FMT = "%Y-%m-%dT%H:%M:%S"


class RegistrationKind(enum.IntEnum):
    """``TTChung/HThuc``."""

    NEW = 1  # đăng ký mới
    CHANGE = 2  # thay đổi thông tin


class CertificateAction(enum.IntEnum):
    """``CTS/HThuc``."""

    ADD = 1  # thêm mới
    RENEW = 2  # gia hạn
    STOP = 3  # ngừng sử dụng


class Transfer(enum.Enum):
    """``HTGDLHDDT``: how the invoice data reach the tax authority (the tag set to 1)."""

    HARDSHIP = "NNTDBKKhan"  # taxpayer in a place of economic hardship (through the GDT portal)
    PROVINCE = "NNTKTDNUBND"  # other cases proposed by the provincial People's Committee
    DIRECT = "CDLTTDCQT"  # directly to the tax authority (a connected organisation)
    TVAN = "CDLQTVAN"  # through a T-VAN


class InvoiceUse(enum.Enum):
    """``LHDSDung``: the kinds of invoices used (the tags set to 1)."""

    VAT = "HDGTGT"  # template 1
    SALES = "HDBHang"  # template 2
    PUBLIC_ASSET = "HDBTSCong"  # template 3
    NATIONAL_RESERVE = "HDBHDTQGia"  # template 4
    OTHER = "HDKhac"  # templates 5, 6 (stamps, tickets, delivery notes…)
    VOUCHER = "CTu"  # vouchers (chứng từ)


#: Template (KHMSHDon first digit) → the use it needs in the registration.
TEMPLATE_USE = {"1": InvoiceUse.VAT, "2": InvoiceUse.SALES, "3": InvoiceUse.PUBLIC_ASSET,
                "4": InvoiceUse.NATIONAL_RESERVE, "5": InvoiceUse.OTHER, "6": InvoiceUse.OTHER,
                "7": InvoiceUse.VAT, "8": InvoiceUse.VAT, "9": InvoiceUse.SALES}


@dataclass(frozen=True)
class CertificateEntry:
    """``DSCTSSDung/CTS``: a certificate the taxpayer signs with."""

    issuer: str  # TTChuc: the CA that issued it
    serial: str  # Seri (hex, as CAs print it)
    valid_from: datetime  # TNgay
    valid_to: datetime  # DNgay
    action: CertificateAction = CertificateAction.ADD  # HThuc
    seq: int | None = field(default=None, compare=False)  # STT

    @classmethod
    def of(cls, cert: x509.Certificate, action: CertificateAction = CertificateAction.ADD) -> CertificateEntry:
        """The entry of a certificate (issuer's O or CN, serial, validity in GMT+7 wall time)."""
        names = [a.value for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)
                 for a in cert.issuer.get_attributes_for_oid(oid) if isinstance(a.value, str)]
        start, end = validity(cert)
        return cls(issuer=(names or [cert.issuer.rfc4514_string()])[0][:400], serial=serial_hex(cert).upper(),
                   valid_from=to_ict(start).replace(tzinfo=None, microsecond=0),
                   valid_to=to_ict(end).replace(tzinfo=None, microsecond=0),
                   action=action)


@dataclass(frozen=True)
class Registration:
    """``TKhai/DLTKhai``: the form 01/ĐKTĐ-HĐĐT."""

    taxpayer_name: str  # TNNT
    tax_code: str  # MST
    tax_office_code: str  # MCQTQLy (≤5)
    tax_office_name: str  # CQTQLy
    contact_name: str  # NLHe
    contact_address: str  # DCLHe
    contact_email: str  # DCTDTu
    contact_phone: str  # DTLHe
    place: str  # DDanh
    date: date  # NLap
    certificates: tuple[CertificateEntry, ...]
    kind: RegistrationKind = RegistrationKind.NEW  # HThuc
    with_code: bool = True  # HTHDon/CMa
    without_code: bool = False  # HTHDon/KCMa
    cash_register: bool = False  # HTHDon/CMTMTTien (coded from a cash register)
    transfer: Transfer = Transfer.TVAN
    full_data: bool = True  # PThuc/CDDu (each invoice) — else CBTHop (summary table, 400)
    uses: frozenset[InvoiceUse] = frozenset({InvoiceUse.VAT})
    version: str = DEFAULT_VERSION
    data_id: str = "data"
    meta: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def active_serials(self) -> frozenset[str]:
        """Serials (upper-case hex) of the certificates added or renewed, not stopped."""
        return frozenset(c.serial.upper().lstrip("0") for c in self.certificates
                         if c.action is not CertificateAction.STOP)

    def allows(self, template: str, coded: bool) -> bool:
        """True if an invoice of this template, with or without code, is within the registration."""
        use = TEMPLATE_USE.get((template or "")[:1])
        return use in self.uses and (self.with_code if coded else self.without_code)


CTS = Field("CTS", "group", presence="M", repeat=True, children=(
    Field("STT", "int", 3),
    Field("TTChuc", "str", 400, "M"),
    Field("Seri", "str", 40, "M"),
    Field("TNgay", "datetime", None, "M"),
    Field("DNgay", "datetime", None, "M"),
    Field("HThuc", "int", 1, "M"),
))
_FLAG = "int"
DLTKHAI = Field("DLTKhai", "group", presence="M", children=(
    Field("TTChung", "group", presence="M", children=(
        Field("PBan", "str", 6, "M"),
        Field("MSo", "str", 15, "M"),
        Field("Ten", "str", 100, "M"),
        Field("HThuc", "int", 1, "M"),
        Field("TNNT", "str", 400, "M"),
        Field("MST", "str", 14, "M"),
        Field("CQTQLy", "str", 100, "M"),
        Field("MCQTQLy", "str", 5, "M"),
        Field("NLHe", "str", 50, "M"),
        Field("DCLHe", "str", 400, "M"),
        Field("DCTDTu", "str", 50, "M"),
        Field("DTLHe", "str", 20, "M"),
        Field("DDanh", "str", 50, "M"),
        Field("NLap", "date", None, "M"),
    )),
    Field("NDTKhai", "group", presence="M", children=(
        Field("HTHDon", "group", presence="M", children=(
            Field("CMa", _FLAG, 1, "M"), Field("KCMa", _FLAG, 1, "M"), Field("CMTMTTien", _FLAG, 1))),
        Field("HTGDLHDDT", "group", presence="M", children=tuple(Field(t.value, _FLAG, 1, "M") for t in Transfer)),
        Field("PThuc", "group", presence="M", children=(Field("CDDu", _FLAG, 1, "M"), Field("CBTHop", _FLAG, 1, "M"))),
        Field("LHDSDung", "group", presence="M", children=tuple(Field(u.value, _FLAG, 1, "M") for u in InvoiceUse)),
        Field("DSCTSSDung", "group", presence="M", children=(CTS,)),
    )),
))
TKHAI = Field("TKhai", "group", presence="M", children=(
    DLTKHAI,
    Field("DSCKS", "group", presence="M", children=(Field("NNT", "any", presence="C"), Field("CCKSKhac", "any"))),
))


def check_registration(reg: Registration) -> list[Problem]:
    """Business checks of the form."""
    p = "TKhai/DLTKhai"
    problems: list[Problem] = []
    for tag, value, what in (("TTChung/TNNT", reg.taxpayer_name, "the taxpayer's name"),
                             ("TTChung/CQTQLy", reg.tax_office_name, "the managing tax office"),
                             ("TTChung/MCQTQLy", reg.tax_office_code, "the code of the managing tax office"),
                             ("TTChung/NLHe", reg.contact_name, "the contact person"),
                             ("TTChung/DCLHe", reg.contact_address, "the contact address"),
                             ("TTChung/DCTDTu", reg.contact_email, "the contact e-mail"),
                             ("TTChung/DTLHe", reg.contact_phone, "the contact phone"),
                             ("TTChung/DDanh", reg.place, "the place (địa danh)")):
        if not (value or "").strip():
            problems.append(Problem(f"{p}/{tag}", f"{what} is missing"))
    problems += check_tax_code(reg.tax_code, f"{p}/TTChung/MST")
    if reg.contact_email and "@" not in reg.contact_email:
        problems.append(Problem(f"{p}/TTChung/DCTDTu", f"{reg.contact_email!r} is not an e-mail address"))
    if not (reg.with_code or reg.without_code or reg.cash_register):
        problems.append(Problem(f"{p}/NDTKhai/HTHDon", "choose invoices with code, without code, or both"))
    if not reg.uses:
        problems.append(Problem(f"{p}/NDTKhai/LHDSDung", "choose at least one kind of invoice"))
    if not reg.certificates:
        problems.append(Problem(f"{p}/NDTKhai/DSCTSSDung", "name the certificate(s) the invoices are signed with"))
    seen = set()
    for i, c in enumerate(reg.certificates, start=1):
        cp = f"{p}/NDTKhai/DSCTSSDung/CTS[{i}]"
        if not c.serial:
            problems.append(Problem(f"{cp}/Seri", "the certificate's serial number is missing"))
        if c.serial.upper() in seen:
            problems.append(Problem(f"{cp}/Seri", f"certificate {c.serial} is listed twice"))
        seen.add(c.serial.upper())
        if c.valid_to <= c.valid_from:
            problems.append(Problem(f"{cp}/DNgay", "the certificate's validity ends before it begins"))
        if not c.issuer:
            problems.append(Problem(f"{cp}/TTChuc", "the certificate's issuer is missing"))
    return problems


def _sub(parent, tag: str, value) -> None:
    el = etree.SubElement(parent, tag)
    if isinstance(value, datetime):
        el.text = value.strftime(ICT_FMT)
    elif isinstance(value, date):
        el.text = fmt_date(value)
    elif isinstance(value, bool):
        el.text = "1" if value else "0"
    elif isinstance(value, enum.IntEnum):
        el.text = str(int(value))
    else:
        el.text = str(value)


def build_registration_tree(reg: Registration) -> etree._Element:
    root = etree.Element("TKhai")
    dl = etree.SubElement(root, "DLTKhai", Id=reg.data_id)
    tt = etree.SubElement(dl, "TTChung")
    for tag, value in (("PBan", reg.version), ("MSo", FORM), ("Ten", TITLE), ("HThuc", reg.kind),
                       ("TNNT", reg.taxpayer_name), ("MST", reg.tax_code), ("CQTQLy", reg.tax_office_name),
                       ("MCQTQLy", reg.tax_office_code), ("NLHe", reg.contact_name), ("DCLHe", reg.contact_address),
                       ("DCTDTu", reg.contact_email), ("DTLHe", reg.contact_phone), ("DDanh", reg.place),
                       ("NLap", reg.date)):
        _sub(tt, tag, value)
    nd = etree.SubElement(dl, "NDTKhai")
    ht = etree.SubElement(nd, "HTHDon")
    _sub(ht, "CMa", reg.with_code)
    _sub(ht, "KCMa", reg.without_code)
    _sub(ht, "CMTMTTien", reg.cash_register)
    tr = etree.SubElement(nd, "HTGDLHDDT")
    for t in Transfer:
        _sub(tr, t.value, t is reg.transfer)
    pt = etree.SubElement(nd, "PThuc")
    _sub(pt, "CDDu", reg.full_data)
    _sub(pt, "CBTHop", not reg.full_data)
    uses = etree.SubElement(nd, "LHDSDung")
    for u in InvoiceUse:
        _sub(uses, u.value, u in reg.uses)
    ds = etree.SubElement(nd, "DSCTSSDung")
    for i, c in enumerate(reg.certificates, start=1):
        cts = etree.SubElement(ds, "CTS")
        for tag, value in (("STT", c.seq or i), ("TTChuc", c.issuer), ("Seri", c.serial), ("TNgay", c.valid_from),
                           ("DNgay", c.valid_to), ("HThuc", c.action)):
            _sub(cts, tag, value)
    dscks = etree.SubElement(root, "DSCKS")
    etree.SubElement(dscks, "NNT")
    return root


def build_registration_xml(reg: Registration, *, check: bool = True) -> bytes:
    """``TKhai`` (UTF-8, unsigned); with ``check`` every problem raises at once."""
    problems = check_registration(reg) if check else []
    root = build_registration_tree(reg)
    if check:
        problems += validate_registration_tree(root, check_document=False)
    if problems:
        raise ValidationError(problems)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def validate_registration_tree(root, *, check_document: bool = True) -> list[Problem]:
    if root.tag != "TKhai":
        return [Problem(str(root.tag), "the root element of a form 01/ĐKTĐ-HĐĐT must be TKhai (without namespace)")]
    problems: list[Problem] = []
    dl = root.find(DATA_PATH)
    if dl is not None and not (dl.get("Id") or "").strip():
        problems.append(Problem("TKhai/DLTKhai/@Id", "the Id attribute is required (the signature refers to it)"))
    version = (root.findtext("DLTKhai/TTChung/PBan") or "").strip()
    _walk(TKHAI, root, "TKhai", version, True, problems)
    form = (root.findtext("DLTKhai/TTChung/MSo") or "").strip()
    if form and form != FORM:
        problems.append(Problem("TKhai/DLTKhai/TTChung/MSo", f"the form is {FORM}, not {form!r}"))
    for el in root.iterfind("DLTKhai/NDTKhai/*/*"):
        if el.tag != "CTS" and (el.text or "").strip() not in ("0", "1"):
            problems.append(Problem(f"TKhai/DLTKhai/NDTKhai/{el.getparent().tag}/{el.tag}", "is 0 or 1"))
    if check_document and not problems:
        try:
            problems += check_registration(read_registration_tree(root))
        except ValidationError as e:
            problems += list(e.problems)
    return problems


def validate_registration_xml(data: bytes | str, **kwargs) -> list[Problem]:
    try:
        root = parse_untrusted(data).getroot()
    except ValidationError as e:
        return list(e.problems)
    return validate_registration_tree(root, **kwargs)


def read_registration_tree(root) -> Registration:
    """A :class:`Registration` from a ``TKhai`` (structure checked first: problems raise)."""
    problems = validate_registration_tree(root, check_document=False)
    if problems:
        raise ValidationError(problems)
    dl = root.find(DATA_PATH)
    tt, nd = dl.find("TTChung"), dl.find("NDTKhai")

    def text(el, tag: str) -> str:
        return (el.findtext(tag) or "").strip()

    def flag(path: str) -> bool:
        return text(nd, path) == "1"

    transfer = next((t for t in Transfer if flag(f"HTGDLHDDT/{t.value}")), Transfer.TVAN)
    certificates = tuple(CertificateEntry(
        issuer=text(c, "TTChuc"), serial=text(c, "Seri"),
        valid_from=datetime.strptime(text(c, "TNgay"), ICT_FMT), valid_to=datetime.strptime(text(c, "DNgay"), ICT_FMT),
        action=CertificateAction(int(text(c, "HThuc"))), seq=int(text(c, "STT")) if text(c, "STT") else None)
        for c in nd.iterfind("DSCTSSDung/CTS"))
    return Registration(
        taxpayer_name=text(tt, "TNNT"), tax_code=text(tt, "MST"), tax_office_code=text(tt, "MCQTQLy"),
        tax_office_name=text(tt, "CQTQLy"), contact_name=text(tt, "NLHe"), contact_address=text(tt, "DCLHe"),
        contact_email=text(tt, "DCTDTu"), contact_phone=text(tt, "DTLHe"), place=text(tt, "DDanh"),
        date=datetime.strptime(text(tt, "NLap"), "%Y-%m-%d").date(), certificates=certificates,
        kind=RegistrationKind(int(text(tt, "HThuc"))), with_code=flag("HTHDon/CMa"),
        without_code=flag("HTHDon/KCMa"), cash_register=flag("HTHDon/CMTMTTien"), transfer=transfer,
        full_data=flag("PThuc/CDDu"), uses=frozenset(u for u in InvoiceUse if flag(f"LHDSDung/{u.value}")),
        version=text(tt, "PBan"), data_id=dl.get("Id"))


def parse_registration_xml(data: bytes | str) -> Registration:
    return read_registration_tree(parse_untrusted(data).getroot())


def sign_registration(xml, signer, *, signing_time: datetime | None = None, at: datetime | None = None,
                      algorithm: str | None = None) -> bytes:
    """The taxpayer's signature in ``TKhai/DSCKS/NNT`` over ``DLTKhai`` (certificate MST = the form's MST)."""
    return sign_document(xml, signer, data_path=DATA_PATH, container_path=SIGNATURE_PATH,
                         tax_code_path="TTChung/MST", algorithm=algorithm, signing_time=signing_time, at=at,
                         signature_id="NNT")


def verify_registration(xml, *, at: datetime | None = None, trusted_certificates=None):
    """A :class:`~vn_einvoice.signing.VerificationReport` of the taxpayer's signature of the form."""
    return verify_document(xml, data_path=DATA_PATH, container_path=SIGNATURE_PATH, tax_code_path="TTChung/MST",
                           at=at, trusted_certificates=trusted_certificates)
