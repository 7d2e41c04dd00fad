"""Viettel SInvoice on the wire: what the client, the mapping and the sandbox share.

Operations and paths; instants (epoch milliseconds, ``yyyyMMddHHmmss``, ISO, dd/MM/yyyy; calendar dates in
GMT+7); flags; plain numbers; the answer envelopes and error codes; invoice numbers, template codes and
status labels; seed 001's field tables; the XML form of the bodies; files in answers and in provider ZIPs.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

from lxml import etree

from ..codes import LEGACY_LETTERS

# --- operations and paths -------------------------------------------------------------------------

V2_PREFIX = "/services/einvoiceapplication/api"  # the current API's paths (token auth) come under it
LOGIN_PATHS = ("/auth/login", "/api/auth/login")

# operation → (service, methods, parameters as a "json" body or "form"/query, supplier tax code in the path);
# seed 001 §1.1.x, the others from the current API.
OPERATIONS: dict[str, tuple[str, tuple[str, ...], str, bool]] = {
    "createInvoice": ("InvoiceWS", ("POST",), "json", True),  # 1.1.1
    "getInvoiceRepresentationFile": ("InvoiceUtilsWS", ("POST",), "json", False),  # 1.1.2
    "getInvoiceFilePortal": ("InvoiceUtilsWS", ("POST", "GET"), "form", False),  # 1.1.3
    "createExchangeInvoiceFile": ("InvoiceWS", ("POST", "GET"), "form", False),  # 1.1.4
    "cancelTransactionInvoice": ("InvoiceWS", ("POST", "GET"), "form", False),  # 1.1.5
    "getInvoices": ("InvoiceUtilsWS", ("POST",), "json", True),  # 1.1.6
    "getCustomFields": ("InvoiceWS", ("GET",), "form", False),  # 1.1.7
    "createOrUpdateInvoiceDraft": ("InvoiceWS", ("POST",), "json", True),  # 1.1.8
    "createBatchInvoice": ("InvoiceWS", ("POST",), "json", True),  # 1.1.9
    "updateTaxDeclaration": ("InvoiceUtilsWS", ("POST",), "json", False),  # 1.1.10
    "getProvidesStatusUsingInvoice": ("InvoiceUtilsWS", ("POST",), "json", False),  # 1.1.11
    "getListInvoiceDataControl": ("InvoiceUtilsWS", ("POST",), "json", False),  # 1.1.12
    "sendHtmlMailProcess": ("InvoiceUtilsWS", ("POST",), "json", False),  # 2.1.13
    "searchInvoiceByTransactionUuid": ("InvoiceWS", ("POST", "GET"), "form", False),
    "updatePaymentStatus": ("InvoiceWS", ("POST",), "form", False),
    "cancelPaymentStatus": ("InvoiceWS", ("POST",), "form", False),
    "getAllInvoiceTemplates": ("InvoiceUtilsWS", ("POST",), "json", False),
    "getInvoiceTemplates": ("InvoiceUtilsWS", ("POST",), "json", False),
    "createInvoiceDraftPreview": ("InvoiceUtilsWS", ("POST",), "json", True),
}
# operation → path under the base URL ({tax}: the supplier's tax code)
PATHS = {op: f"InvoiceAPI/{service}/{op}" + ("/{tax}" if tax else "")
         for op, (service, _, _, tax) in OPERATIONS.items()}

# --- dates and times ------------------------------------------------------------------------------

GMT7 = timezone(timedelta(hours=7))
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")
_ANSWER_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%d/%m/%Y")


def in_gmt7(moment: date | datetime) -> datetime:
    """The instant in GMT+7: a date is its midnight there, a naive datetime is read there."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), GMT7)
    return (moment if moment.tzinfo else moment.replace(tzinfo=GMT7)).astimezone(GMT7)


def ms(moment: date | datetime) -> int:
    """Epoch milliseconds (dates and naive datetimes as :func:`in_gmt7` reads them)."""
    return (in_gmt7(moment) - EPOCH) // timedelta(milliseconds=1)


def from_ms(value: int) -> datetime:
    """The instant of epoch milliseconds, in GMT+7."""
    return (EPOCH + timedelta(milliseconds=value)).astimezone(GMT7)


def day_of(value: int) -> date:
    """The calendar date (GMT+7) of epoch milliseconds."""
    return from_ms(value).date()


def text_date(moment: date | datetime) -> str:
    """yyyyMMddHHmmss in GMT+7 (seed 001's strIssueDate)."""
    return in_gmt7(moment).strftime("%Y%m%d%H%M%S")


def day_text(day: date) -> str:
    """dd/MM/yyyy (getListInvoiceDataControl, updateTaxDeclaration)."""
    return day.strftime("%d/%m/%Y")


def parse_time(text: str, formats: tuple[str, ...] = ISO_FORMATS) -> datetime | None:
    """The first of ``formats`` that fits, in GMT+7 (naive: read there); None if none."""
    for fmt in formats:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return in_gmt7(moment)
    return None


def answer_time(value) -> datetime | None:
    """An instant of an answer: epoch ms (number or text), ISO with its zone or dd/MM/yyyy; None if none."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return from_ms(int(Decimal(str(value))))
    except (ArithmeticError, ValueError):
        return parse_time(str(value), _ANSWER_FORMATS)


def body_time(value) -> datetime:
    """An instant of a ``commonInvoiceInput`` as the mapping reads it: epoch ms, yyyy-MM-dd (midnight), ISO
    or RFC 1123 ("EEE, dd MMM yyyy HH:mm:ss zzz"); in GMT+7. ValueError if none fits."""
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.0*)?", text):
        return from_ms(int(Decimal(text)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return in_gmt7(date.fromisoformat(text))
    return parse_time(text) or in_gmt7(parsedate_to_datetime(text))  # ValueError if not RFC 1123 either


def _day_ms(day: datetime, end_of_day: bool) -> int:
    return ms(day + timedelta(days=1)) - 1 if end_of_day else ms(day)


def parse_instant(value, *, end_of_day: bool = False) -> int | None:
    """Epoch ms from the forms the SInvoice server accepts (ms, ISO, RFC 1123, yyyy-MM-dd[+hh:mm],
    yyyyMMdd[HHmmss], dd/MM/yyyy); None if none fits. A day alone is its first (or last) millisecond."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d{14}", text):
        return ms(datetime.strptime(text, "%Y%m%d%H%M%S"))
    if re.fullmatch(r"\d{8}", text):
        return _day_ms(datetime.strptime(text, "%Y%m%d").replace(tzinfo=GMT7), end_of_day)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return int(Decimal(text))
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})([+-]\d{2}:\d{2})?", text)
    m = m or re.fullmatch(r"(\d{2}/\d{2}/\d{4})()", text)
    if m:
        fmt = "%Y-%m-%d" if "-" in m.group(1) else "%d/%m/%Y"
        zone = GMT7
        if m.group(2):
            sign = 1 if m.group(2)[0] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(m.group(2)[1:3]), minutes=int(m.group(2)[4:6])))
        return _day_ms(datetime.strptime(m.group(1), fmt).replace(tzinfo=zone), end_of_day)
    if (moment := parse_time(text.replace("Z", "+0000"))) is not None:
        return ms(moment)
    try:
        return ms(parsedate_to_datetime(text))
    except (TypeError, ValueError):
        return None


# --- flags and plain values -----------------------------------------------------------------------


def json_flag(value, *, strip: bool = True) -> bool | None:
    """A JSON boolean, or the text true/false in any case (blanks around ignored unless ``strip=False``);
    None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = (value.strip() if strip else value).lower()
        if text in ("true", "false"):
            return text == "true"
    return None


def answer_flag(value) -> bool | None:
    """A flag of an answer: true, 1, "1", "true", "y", "yes" are true; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "y", "yes")


def dec(value) -> Decimal | None:
    """A number (or its text) as a Decimal; None if absent or not a number."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def num(value) -> int | float:
    """A JSON number: ``int`` when whole, ``float`` otherwise."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def plain(value):
    """JSON-ready copy: Decimals become numbers."""
    if isinstance(value, Decimal):
        return num(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def num_text(value) -> str:
    """A number written out in plain digits (no exponent, no trailing zeros); other values as text."""
    d = dec(value)
    return str(value) if d is None else f"{d.normalize():f}"


def json_equal(a, b) -> bool:
    """JSON equality where 1 == 1.0 but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# --- envelopes and error codes --------------------------------------------------------------------
# Business envelope {errorCode, description, result…} (HTTP 200, success when errorCode is empty); error
# envelope {code, message, data} (HTTP 400…); JHipster problem {type, title, status, detail, path, message}.

_SUCCESS_WORDS = ("thành công", "success")  # SInvoice sometimes reports a success in errorCode
BAD_REQUEST_RE = re.compile(r"^BAD_REQUEST_(.+?)_(REQUIRED|MAX_LENGTH|MIN_LENGTH|LENGTH_INVALID|INVALID)$")


def business(code=None, description=None, **fields) -> dict:
    return {"errorCode": code, "description": description, **fields}


def error_envelope(code: str, description: str, status: int) -> dict:
    return {"code": status, "message": code, "data": description}


def problem(path: str, detail: str) -> dict:
    """The JHipster problem of a refused login or token (HTTP 401)."""
    return {"type": "https://www.jhipster.tech/problem/problem-with-message", "title": "Unauthorized",
            "status": 401, "detail": detail, "path": path, "message": "error.http.401"}


def succeeded(code) -> bool:
    """An ``errorCode`` that means success."""
    return code in (None, "", 0, "0")


def envelope_error(data: dict, status: int) -> tuple[str, str] | None:
    """(code, detail) of an error envelope or a problem; None for the business envelope."""
    code_value = data.get("code")
    is_problem = "title" in data and "status" in data and "errorCode" not in data
    if not ((code_value not in (None, "", 0, 200, "0", "200") and "errorCode" not in data) or data.get("error")
            or is_problem):
        return None
    code = str(data.get("message") or data.get("error") or code_value or f"HTTP_{status}")
    if code.startswith("error.http."):
        code = f"HTTP_{code.rsplit('.', 1)[-1]}"
    detail = data.get("data") if isinstance(data.get("data"), str) else None
    detail = detail or data.get("detail") or data.get("error_description") or data.get("title") or ""
    return code, str(detail)


def business_error(data: dict) -> tuple[str, str] | None:
    """(errorCode, description) of a refusal in the business envelope; None on success."""
    code = data.get("errorCode")
    if succeeded(code) or any(w in str(code).lower() for w in _SUCCESS_WORDS):
        return None
    return str(code), str(data.get("description") or "")


def field_code(key: str) -> str:
    """The stem of a field's error codes: invoiceSeries → BAD_REQUEST_INVOICE_SERIES (then _REQUIRED…)."""
    return "BAD_REQUEST_" + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()


# --- invoice numbers, template codes, status labels -----------------------------------------------

_NUMBERED_RE = re.compile(rf"^((?:\d{{2}})?[{LEGACY_LETTERS}]{{2}}/\d{{2}}[ETP]|[CK]\d{{2}}[A-Z]{{3}})(\d+)$")
TEMPLATE_CODE_RE = re.compile(r"^([1-9])/\w+$")  # SInvoice's code of a current template: "1/001"
PAID_LABEL, UNPAID_LABEL, CANCELLED_LABEL = "Đã thanh toán", "Chưa thanh toán", "Hóa đơn xóa bỏ"


def split_invoice_no(text: str) -> tuple[str, str]:
    """'AA/17E0003470' → ('AA/17E', '0003470'); 'K24TUT01' → ('K24TUT', '01'); else ('', text)."""
    m = _NUMBERED_RE.match(text)
    return (m.group(1), m.group(2)) if m else ("", text)


def invoice_number(text: str) -> tuple[str, int | None]:
    """(series, number) of an invoice number; None when it has no number."""
    symbol, digits = split_invoice_no(text)
    return symbol, (int(digits) if digits.isdigit() else None)


def join_invoice_no(symbol: str, number: str | int) -> str:
    """SInvoice's invoice number: series + number, 7 digits for a legacy series (AA/17E0003470)."""
    number = str(number)
    if "/" in symbol and number.isdigit():
        number = number.zfill(7)
    return f"{symbol}{number}"


def short_template(code: str) -> str:
    """The template (KHMSHDon) of SInvoice's template code: '1/001' → '1'; other codes as they are."""
    return TEMPLATE_CODE_RE.sub(r"\1", code)


def status_label(paid, cancelled: bool = False) -> str:
    return CANCELLED_LABEL if cancelled else PAID_LABEL if paid else UNPAID_LABEL


def read_status(label) -> tuple[bool | None, bool]:
    """(paid, cancelled) from the Vietnamese status label of a look-up."""
    text = str(label or "").strip().lower()
    if "xóa bỏ" in text or "hủy" in text or "huỷ" in text:
        return None, True
    if text == UNPAID_LABEL.lower():
        return False, False
    if text == PAID_LABEL.lower():
        return True, False
    return None, False


# --- seed 001's field tables ----------------------------------------------------------------------

CODE = r"[A-Za-z0-9/]+"
EMAIL = r"[_A-Za-z0-9\-+]+(\.[_A-Za-z0-9-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9]+)*(\.[A-Za-z]{2,})"
PAYMENT_TYPE = r"[a-zA-Z0-9\-_./]+"
# (block, prefix of its keys, required keys); key → (max length, pattern)
PARTY_BLOCKS = (("buyerInfo", "buyer", ("Name", "AddressLine")),
                ("sellerInfo", "seller", ("LegalName", "TaxCode", "AddressLine")))
PARTY_FIELDS = (("Name", 255, None), ("LegalName", 255, None), ("TaxCode", 20, None), ("AddressLine", 255, None),
                ("PhoneNumber", 20, r"\d+"), ("FaxNumber", 20, r"\d+"), ("Email", 50, EMAIL),
                ("BankName", 100, None), ("BankAccount", 20, None), ("DistrictName", 50, None),
                ("CityName", 25, None), ("CountryCode", 15, None))
# summarizeInfo: amounts required (but on an information adjustment) with their most digits; optional ones
SUMMARY_AMOUNTS = (("sumOfTotalLineAmountWithoutTax", 13), ("totalAmountWithoutTax", 15), ("totalTaxAmount", 13),
                   ("totalAmountWithTax", 13), ("discountAmount", 13))
SUMMARY_OPTIONAL = ("totalAmountWithTaxFrn", "settlementDiscountAmount")
LINE_EXTRA_KEYS = ("itemNote", "batchNo", "expDate")  # itemInfo texts of at most 50 characters
METADATA_KEYS = ("invoiceCustomFieldId", "keyTag", "valueType", "keyLabel")  # required in each entry

# --- the XML form of the bodies and answers -------------------------------------------------------

_LISTS = {"itemInfo", "payments", "taxBreakdowns", "discountItemInfo", "metadata", "meterReading", "extAttribute",
          "commonInvoiceInputs", "invoices", "lstInvoiceBO", "createInvoiceOutputs", "customFields", "template",
          "lstMapError", "fuelReading"}
_BLOCKS = {"generalInvoiceInfo", "buyerInfo", "sellerInfo", "deliveryInfo", "summarizeInfo", "result"}
XML_ROOTS = {"createInvoice": "createInvoiceOutput", "createOrUpdateInvoiceDraft": "createInvoiceOutput",
             "getInvoiceRepresentationFile": "invoiceFileOutput", "getInvoiceFilePortal": "invoiceFileOutput",
             "createExchangeInvoiceFile": "invoiceFileOutput", "getInvoices": "invoicesOutput"}


def xml_to_obj(element) -> dict:
    out: dict = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        tag = etree.QName(child).localname
        if len(child):
            value = xml_to_obj(child)
        elif tag in _BLOCKS:
            value = {}
        else:
            value = (child.text or "").strip()
        if tag in _LISTS:
            out.setdefault(tag, []).append(value)
        elif tag in out:
            out[tag] = out[tag] if isinstance(out[tag], list) else [out[tag]]
            out[tag].append(value)
        else:
            out[tag] = value
    return out


def obj_to_xml(root: str, obj) -> bytes:
    def fill(parent, value):
        for key, item in value.items():
            for one in item if isinstance(item, list) else [item]:
                if one is None:
                    continue
                child = etree.SubElement(parent, key)
                if isinstance(one, dict):
                    fill(child, one)
                elif isinstance(one, bool):
                    child.text = "true" if one else "false"
                else:
                    child.text = str(one)

    element = etree.Element(root)
    if isinstance(obj, list):
        obj = {"item": obj}
    fill(element, obj)
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", standalone=True)


# --- files ----------------------------------------------------------------------------------------


def decode_file(value) -> bytes:
    """The bytes of ``fileToBytes``: base64, or a Java byte[] written as numbers."""
    return bytes(b % 256 for b in value) if isinstance(value, list) else base64.b64decode(value)


def file_answer(name: str | None, content: bytes, **fields) -> dict:
    """A file answer (base64 in ``fileToBytes``)."""
    return business(fileName=name, fileToBytes=base64.b64encode(content).decode(), **fields)


def _open_zip(data: bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return None


def files_in_zip(data: bytes, *, depth: int = 3) -> dict[str, bytes]:
    """Every file of a ZIP by its path. A member that is a ZIP itself is opened too (``depth`` levels at most):
    its files follow as ``<its path>/<path inside>``. ``{}`` if ``data`` is not a ZIP."""
    archive = _open_zip(data)
    if archive is None:
        return {}
    with archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    if depth > 0:
        for name, content in list(files.items()):
            files.update((f"{name}/{inner}", c) for inner, c in files_in_zip(content, depth=depth - 1).items())
    return files


def file_in_zip(data: bytes, suffix: str, *, depth: int = 3) -> tuple[str, bytes] | None:
    """(file name, bytes) of the first file whose name ends with ``suffix`` (any case): in the ZIP itself
    first, then in the ZIPs it holds (``depth`` levels at most); None if there is none or no ZIP."""
    archive = _open_zip(data)
    if archive is None:
        return None
    with archive:
        names = archive.namelist()
        for name in names:
            if name.lower().endswith(suffix.lower()):
                return name.rsplit("/", 1)[-1], archive.read(name)
        if depth > 0:
            for name in names:
                if found := file_in_zip(archive.read(name), suffix, depth=depth - 1):
                    return found
    return None


def xml_in_zip(data: bytes) -> tuple[str, bytes] | None:
    """(file name, bytes) of the invoice XML in a provider's ZIP (SInvoice's ZIP holds another ZIP)."""
    return file_in_zip(data, ".xml")
