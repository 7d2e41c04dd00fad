"""A faithful local Viettel SInvoice: seed 001's API over real HTTP, in memory (optionally a JSON file).

Serves ``/InvoiceAPI/…`` (seed 001, the Basic-auth generation) and the same under
``/services/einvoiceapplication/api/InvoiceAPI/…`` (the current API), plus ``POST /auth/login``.
Out of the box: user ``demo`` / password ``demo`` for any supplier tax code that passes the MST check,
the templates and series of seed 001's examples (``01GTKT0/170`` ``AA/17E`` …) and today's
``1/001`` with ``K<yy>TAA`` and ``C<yy>TAA``. Never for real invoices.

Behaviour, as seed 001 describes it (and, where it is silent, as public clients show it):

* JSON or XML bodies on the JSON operations (``Accept: application/xml`` gives XML back), form or query
  parameters on the form ones (``cancelTransactionInvoice``, ``getInvoiceFilePortal``,
  ``createExchangeInvoiceFile``, ``searchInvoiceByTransactionUuid``, ``update/cancelPaymentStatus``);
  another content type is refused with 415.
* Field validation (required, lengths, formats of seed 001's tables) answers the error envelope, HTTP 400:
  ``{"code": 400, "message": "BAD_REQUEST_…", "data": "…"}``; business refusals (``TEMPLATE_NOT_FOUND``,
  ``OUT_OF_INVOICE_NO``, ``INVOICE_ISSUED_DATE_INVALID``, ``DONOT_HAVE_PERMISSION``…) the business
  envelope, HTTP 200: ``{"errorCode": "…", "description": "…", "result": null}``.
  ``INVOICE_STATUS_INVALID`` (cancel/adjust an invoice whose status forbids it) is this sandbox's name:
  the seed says only "hóa đơn không hợp lệ".
* Numbering per supplier, template and series, without gaps, under one lock; a random 10-character
  reservation code; a 34-character tax-authority code (``codeOfTax``) on ``C…`` series.
* ``transactionUuid``: the same key returns the same invoice, never a second number (seed 001, valid
  3 days); ``duplicate_uuid="reject"`` answers ``TRANSACTION_UUID_INVALID`` instead (as drafts do).
* Wrong Basic credentials: ``500 Request Fail`` (seed 001); bad login or token, or non-ASCII Basic
  credentials: 401, JHipster problem.
* Under the current API's paths, lines may come without ``lineNumber`` (Odoo 18 sends none); under
  seed 001's it is required. A body without ``summarizeInfo`` is accepted (SInvoice computes it).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree

from ..codes import check_tax_code, template_title
from ..providers.sinvoice_mapping import from_sinvoice
from ..providers.sinvoice_wire import (
    CODE,
    EMAIL,
    GMT7,
    LINE_EXTRA_KEYS,
    LOGIN_PATHS,
    METADATA_KEYS,
    OPERATIONS,
    PARTY_BLOCKS,
    PARTY_FIELDS,
    PAYMENT_TYPE,
    SUMMARY_AMOUNTS,
    SUMMARY_OPTIONAL,
    V2_PREFIX,
    XML_ROOTS,
    business,
    day_of,
    day_text,
    dec,
    error_envelope,
    field_code,
    file_answer,
    from_ms,
    join_invoice_no,
    json_flag,
    num_text,
    obj_to_xml,
    parse_instant,
    plain,
    problem,
    short_template,
    status_label,
    xml_to_obj,
)
from ..xml import build_xml
from .files import XSL, make_pdf, make_zip
from .http import App, Decision, Drop, Fault, Faults, Request, Response, SandboxServer, parse_json

DEMO_USER, DEMO_PASSWORD = "demo", "demo"


def _yy() -> str:
    return datetime.now(GMT7).strftime("%y")


def default_templates() -> dict[str, dict]:
    """Templates of seed 001's examples, plus today's template 1/001 with this year's K and C series."""
    legacy = 9_999_999
    custom_028 = [  # the metadata example of seed 001 §1.1.7 (template 01GTKT0/028)
        {"id": 82, "invoiceTemplatePrototypeId": 1028, "keyLabel": "Ngày sinh", "keyTag": "buyerDateOfBirth",
         "valueType": "date", "isRequired": False, "isSeller": False},
        {"id": 83, "invoiceTemplatePrototypeId": 1028, "keyLabel": "Mã bệnh nhân", "keyTag": "buyerCode",
         "valueType": "number", "isRequired": False, "isSeller": False},
        {"id": 84, "invoiceTemplatePrototypeId": 1028, "keyLabel": "Khoa phòng", "keyTag": "buyerDepartments",
         "valueType": "text", "isRequired": False, "isSeller": True},
        {"id": 85, "invoiceTemplatePrototypeId": 1028, "keyLabel": "Lý do thu", "keyTag": "invoiceReason",
         "valueType": "text", "isRequired": False, "isSeller": True},
    ]
    custom_085 = [  # the getCustomFields answer of seed 001 §1.1.7 (template 01GTKT0/085)
        {"id": 189, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Năm sinh", "keyTag": "buyerDateOfBirth",
         "valueType": "date", "isRequired": False, "isSeller": False},
        {"id": 190, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Mã bệnh nhân", "keyTag": "buyerCode",
         "valueType": "number", "isRequired": False, "isSeller": False},
        {"id": 191, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Khoa phòng", "keyTag": "buyerDepartments",
         "valueType": "text", "isRequired": False, "isSeller": True},
        {"id": 192, "invoiceTemplatePrototypeId": 1032, "keyLabel": "Lý do thu", "keyTag": "invoiceReason",
         "valueType": "text", "isRequired": False, "isSeller": True},
    ]
    yy = _yy()
    out = {code: {"invoiceType": code[:6], "series": {"AA/17E": legacy}} for code in (
        "01GTKT0/001", "01GTKT0/062", "01GTKT0/151", "01GTKT0/170")}
    out["01GTKT0/003"] = {"invoiceType": "01GTKT", "series": {"AA/17E": legacy, "AA/18E": legacy}}
    out["01GTKT0/028"] = {"invoiceType": "01GTKT", "series": {"AA/17E": legacy}, "custom_fields": custom_028}
    out["01GTKT0/085"] = {"invoiceType": "01GTKT", "series": {"AA/17E": legacy}, "custom_fields": custom_085}
    out["02GTTT0/012"] = {"invoiceType": "02GTTT", "series": {"AA/17E": legacy}}
    out["02GTTT0/089"] = {"invoiceType": "02GTTT", "series": {"QT/17E": legacy}}
    out["1/001"] = {"invoiceType": "1", "series": {f"K{yy}TAA": 99_999_999, f"C{yy}TAA": 99_999_999}}
    return out


@dataclass
class SandboxConfig:
    """Settings of the SInvoice sandbox (a JSON file with these keys, all optional)."""

    users: list = field(default_factory=lambda: [
        {"username": DEMO_USER, "password": DEMO_PASSWORD, "tax_codes": "*"}])
    templates: dict = field(default_factory=default_templates)
    token_ttl: int = 298  # seconds, as Viettel's samples
    duplicate_uuid: str = "return"  # "return": the same invoice (seed 001); "reject": TRANSACTION_UUID_INVALID
    uuid_validity_days: float = 3.0
    cancel: str = "all"  # "all", "legacy" (Decree 70/2025: not for today's templates) or "none"
    batch_limit: int | None = None  # seed 001 gives none
    file_delay: float = 0.0  # seconds after the issue before files are ready (empty fileToBytes before)
    future_tolerance: float = 300.0  # seconds an issue time may be ahead of the clock
    state_file: str | None = None
    faults: list = field(default_factory=list)
    seed: int | None = None  # random source of probabilistic faults

    @classmethod
    def from_dict(cls, data: dict) -> SandboxConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"extra_templates"}
        if unknown:
            raise ValueError(f"unknown sandbox settings: {', '.join(sorted(unknown))}")
        config = cls(**{k: v for k, v in data.items() if k in known})
        for code, template in (data.get("extra_templates") or {}).items():
            config.templates[code] = template
        if config.duplicate_uuid not in ("return", "reject"):
            raise ValueError("duplicate_uuid is 'return' or 'reject'")
        if config.cancel not in ("all", "legacy", "none"):
            raise ValueError("cancel is 'all', 'legacy' or 'none'")
        return config

    @classmethod
    def load(cls, path: str | os.PathLike) -> SandboxConfig:
        return cls.from_dict(json.loads(Path(path).read_text("utf-8")))


class Refusal(Exception):
    """An answer that is not a success: the business envelope (HTTP 200) or the error envelope (HTTP 400)."""

    def __init__(self, code: str, description: str, envelope: str = "business", status: int | None = None):
        super().__init__(f"{code}: {description}")
        self.code, self.description, self.envelope = code, description, envelope
        self.status = status or (200 if envelope == "business" else 400)


def _bad(code: str, description: str, status: int = 400) -> Refusal:
    return Refusal(code, description, "error", status)


# --- dates ---------------------------------------------------------------------------------------


def _same_time(given, record_ms: int) -> bool:
    """strIssueDate matches: to the second, or to the day when only a day is given."""
    text = str(given or "").strip()
    if re.fullmatch(r"\d{8}|\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}", text):
        ms = parse_instant(text)
        return ms is not None and day_of(ms) == day_of(record_ms)
    ms = parse_instant(text)
    return ms is not None and ms // 1000 == record_ms // 1000


# --- the application ------------------------------------------------------------------------------

_ITEM_CODE = r"[a-zA-Z0-9/-_]+"  # as the seed writes it: '/-_' is a range
_INVOICE_TYPES = {"01GTKT", "02GTTT", "03XKNB", "04HGDL", "06HDXK", "07KPTQ", "1", "2", "3", "4", "5", "6"}


class ViettelSandbox(App):
    """The SInvoice simulator. ``SandboxServer(ViettelSandbox())`` serves it; ``start()`` does both."""

    def __init__(self, config: SandboxConfig | dict | None = None, *, clock=time.time):
        config = config if isinstance(config, SandboxConfig) else SandboxConfig.from_dict(config or {})
        super().__init__(Faults([Fault.from_dict(f) for f in config.faults], seed=config.seed))
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self._secret = secrets.token_bytes(16)
        self._local = threading.local()  # .v2: the request came by the current API's paths
        self._reset_state()
        if config.state_file and Path(config.state_file).exists():
            self._load(Path(config.state_file))

    # --- state -----------------------------------------------------------------------------------

    def _reset_state(self) -> None:
        self.records: dict[int, dict] = {}
        self.by_uuid: dict[tuple[str, str], int] = {}
        self.by_no: dict[tuple[str, str], int] = {}
        self.series: dict[str, dict] = {}  # "supplier|template|symbol" → {"next", "last_day"}
        self.drafts: dict[str, dict] = {}  # "supplier|uuid" → draft
        self.mails: list[dict] = []
        self.tokens: dict[str, tuple[str, float]] = {}
        self.received: list[tuple[str, str]] = []  # (operation, transactionUuid) of every invoice received
        self.replays = 0  # invoices received again with a key already issued

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._reset_state()
            self._save()

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text("utf-8"))
        self.records = {int(k): v for k, v in data.get("records", {}).items()}
        self.series = data.get("series", {})
        self.drafts = data.get("drafts", {})
        self.mails = data.get("mails", [])
        for rid, rec in self.records.items():
            self.by_no[(rec["supplier"], rec["invoiceNo"])] = rid
            if rec.get("transactionUuid"):
                self.by_uuid[(rec["supplier"], rec["transactionUuid"])] = rid

    def _save(self) -> None:
        if not self.config.state_file:
            return
        path = Path(self.config.state_file)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"records": self.records, "series": self.series, "drafts": self.drafts,
                                   "mails": self.mails}, ensure_ascii=False), "utf-8")
        tmp.replace(path)

    def invoices(self, supplier: str | None = None) -> list[dict]:
        """Copies of the issued invoices (Python API for tests)."""
        with self.lock:
            return [copy.deepcopy(r) for r in self.records.values() if supplier in (None, r["supplier"])]

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "invoices": [{k: r[k] for k in ("id", "supplier", "templateCode", "invoiceSeries", "number",
                                                 "invoiceNo", "transactionUuid", "reservationCode", "issueDate",
                                                 "status", "paid")} for r in self.records.values()],
                "drafts": len(self.drafts), "series": self.series, "mails": self.mails, "replays": self.replays,
            }

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- routing ---------------------------------------------------------------------------------

    @staticmethod
    def _route(path: str) -> tuple[str | None, list[str], bool]:
        v2 = path.startswith(V2_PREFIX + "/")
        if v2:
            path = path[len(V2_PREFIX):]
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[0] == "InvoiceAPI" and OPERATIONS.get(parts[2], ("",))[0] == parts[1]:
            return parts[2], parts[3:], v2
        return None, parts, v2

    def operation(self, request: Request) -> str:
        if request.path.rstrip("/") in LOGIN_PATHS:
            return "login"
        op, _, _ = self._route(request.path)
        return op or request.path

    def _answer(self, request: Request, op: str, obj, status: int = 200, headers: dict | None = None) -> Response:
        accept = request.headers.get("accept", "").lower()
        if "xml" in accept and "json" not in accept:
            return Response(status, obj_to_xml(XML_ROOTS.get(op, "commonOutput"), obj),
                            {"Content-Type": "application/xml;charset=UTF-8", **(headers or {})})
        return Response.json(obj, status, headers)

    def _refusal(self, request: Request, op: str, r: Refusal) -> Response:
        if r.envelope == "error":
            return self._answer(request, op, error_envelope(r.code, r.description, r.status), r.status)
        return self._answer(request, op, business(r.code, r.description, result=None), r.status)

    def handle(self, request: Request, decision: Decision | None) -> Response:
        if request.path.rstrip("/") in LOGIN_PATHS:
            return self._login(request)
        op, rest, v2 = self._route(request.path)
        if op is None:
            return Response.json({"timestamp": self.now_ms(), "status": 404, "error": "Not Found",
                                  "path": request.path}, 404)
        _, methods, kind, with_tax = OPERATIONS[op]
        if request.method not in methods:
            refusal = error_envelope("METHOD_NOT_ALLOWED", f"{request.method} không được hỗ trợ", 405)
            return Response.json(refusal, 405)
        user = self._authenticate(request, v2)
        if isinstance(user, Response):
            return user
        try:
            data = self._body(request, kind)
            supplier = (rest[0] if with_tax and rest else
                        str(data.get("supplierTaxCode") or data.get("taxCode") or "")) if isinstance(data, dict) else ""
            if with_tax and not rest:
                raise _bad("BAD_REQUEST_SUPPLIER_TAX_CODE_REQUIRED", "Thiếu mã số thuế trong đường dẫn", 404)
            self._permit(user, supplier)
            self._local.v2 = v2
            obj = getattr(self, f"_op_{op}")(supplier, data, decision)
        except Refusal as r:
            return self._refusal(request, op, r)
        return self._answer(request, op, obj)

    # --- authentication --------------------------------------------------------------------------

    def _user(self, username: str, password: str) -> dict | None:
        for user in self.config.users:
            if user.get("username") == username and hmac.compare_digest(
                    str(user.get("password", "")).encode("utf-8"), password.encode("utf-8", "surrogatepass")):
                return user
        return None

    def _problem(self, path: str, detail: str) -> Response:
        return Response.json(problem(path, detail), 401)

    def _login(self, request: Request) -> Response:
        if request.method != "POST":
            return Response.json({"status": 405, "error": "Method Not Allowed"}, 405)
        try:
            data = parse_json(request.body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return Response.json(error_envelope("JSON_PARSE_ERROR", "Dữ liệu không hợp lệ", 400), 400)
        user = self._user(str(data.get("username") or ""), str(data.get("password") or ""))
        if user is None:
            return self._problem(request.path, json.dumps({"error": "invalid_grant",
                                                           "error_description": "Bad credentials"}))
        now = self.clock()
        token = self._token(user["username"], now)
        with self.lock:
            self.tokens[token] = (user["username"], now + self.config.token_ttl)
        refresh = self._token(user["username"], now, "refresh")
        return Response.json({"access_token": token, "token_type": "bearer", "refresh_token": refresh,
                              "expires_in": self.config.token_ttl, "scope": "openid", "iat": int(now),
                              "invoice_cluster": "cluster1", "type": 1, "jti": secrets.token_hex(16)})

    def _token(self, username: str, now: float, kind: str = "access") -> str:
        def b64(obj) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        head = b64({"alg": "HS256", "typ": "JWT"})
        body = b64({"sub": username, "iat": int(now), "exp": int(now + self.config.token_ttl), "kind": kind,
                    "nonce": secrets.token_hex(8)})
        sig = base64.urlsafe_b64encode(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig.rstrip(b'=').decode()}"

    def _authenticate(self, request: Request, v2: bool) -> dict | Response:
        header = request.headers.get("authorization", "")
        token = request.cookies().get("access_token")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
        if header.lower().startswith("basic "):
            try:
                credentials = base64.b64decode(header[6:].strip())
            except ValueError:
                credentials = b""
            if not credentials.isascii():  # SInvoice: 401 for a non-ASCII user name or password
                return self._problem(request.path, "Bad credentials")
            username, _, password = credentials.decode("ascii").partition(":")
            user = self._user(username, password)
            if user is None:  # seed 001: a wrong account or IP gives "500 Request Fail"
                return Response.text("Request Fail", 500)
            return user
        if token:
            with self.lock:
                found = self.tokens.get(token)
            if found is None or found[1] <= self.clock():
                return self._problem(request.path, "Token không hợp lệ hoặc đã hết hạn")
            return next((u for u in self.config.users if u.get("username") == found[0]), {"username": found[0]})
        if v2:
            return self._problem(request.path, "Full authentication is required to access this resource")
        return Response.text("Request Fail", 500)

    def _permit(self, user: dict, supplier: str) -> None:
        if not supplier:
            raise _bad("BAD_REQUEST_SUPPLIER_TAX_CODE_REQUIRED", "Mã số thuế người bán không được để trống")
        if check_tax_code(supplier, allow_personal=False):
            raise Refusal("DONOT_HAVE_PERMISSION", f"Mã số thuế {supplier} không hợp lệ hoặc không có quyền")
        allowed = user.get("tax_codes", "*")
        if allowed != "*" and supplier not in allowed:
            raise Refusal("DONOT_HAVE_PERMISSION", f"Tài khoản không có quyền với mã số thuế {supplier}")

    def _body(self, request: Request, kind: str):
        if kind == "form":
            if request.body and request.content_type not in ("application/x-www-form-urlencoded", ""):
                raise _bad("HTTP_415", "Unsupported Media Type: FormParam hoặc QueryParam", 415)
            return request.form()
        if request.content_type in ("application/xml", "text/xml"):
            try:
                return xml_to_obj(etree.fromstring(request.body, etree.XMLParser(resolve_entities=False)))
            except etree.XMLSyntaxError as e:
                raise _bad("JSON_PARSE_ERROR", f"Dữ liệu XML không hợp lệ: {e}") from None
        if request.content_type != "application/json":
            raise _bad("HTTP_415", "Unsupported Media Type: application/json hoặc application/xml", 415)
        try:
            data = parse_json(request.body)
        except ValueError:
            raise _bad("JSON_PARSE_ERROR", "Dữ liệu JSON không hợp lệ") from None
        if not isinstance(data, dict):
            raise _bad("JSON_PARSE_ERROR", "Dữ liệu JSON phải là một đối tượng")
        return data

    # --- validation of commonInvoiceInput (seed 001's field tables) -----------------------------

    @staticmethod
    def _text(obj: dict, key: str, path: str, *, required=False, max_len=None, min_len=None, pattern=None,
              code=None, required_code=None, long_code=None, values=None) -> str | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        code = code or field_code(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise _bad(required_code or f"{code}_REQUIRED", f"{path}.{key}: không được để trống")
            return None
        if isinstance(value, (dict, list)):
            raise _bad(f"{code}_INVALID", f"{path}.{key}: sai kiểu dữ liệu")
        text = num_text(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        if max_len is not None and len(text) > max_len:
            raise _bad(long_code or f"{code}_MAX_LENGTH", f"{path}.{key}: tối đa {max_len} ký tự")
        if min_len is not None and len(text) < min_len:
            raise _bad(f"{code}_MIN_LENGTH", f"{path}.{key}: tối thiểu {min_len} ký tự")
        if pattern is not None and not re.fullmatch(pattern, text):
            raise _bad(f"{code}_INVALID", f"{path}.{key}: sai định dạng")
        if values is not None and text not in values:
            raise _bad(f"{code}_INVALID", f"{path}.{key}: giá trị không hợp lệ ({text})")
        return text

    @staticmethod
    def _number(obj: dict, key: str, path: str, *, required=False, max_len=13, negative_code=None,
                allowed_negative=()) -> Decimal | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        code = field_code(key)
        if value is None or value == "":
            if required:
                raise _bad(f"{code}_REQUIRED", f"{path}.{key}: không được để trống")
            return None
        d = dec(value)
        if d is None or not d.is_finite():
            raise _bad(f"{code}_INVALID", f"{path}.{key}: phải là số")
        if d < 0 and d not in allowed_negative:
            raise _bad(negative_code or f"{code}_INVALID", f"{path}.{key}: không được âm")
        if len(num_text(abs(d))) > max_len:
            raise _bad(f"{code}_MAX_LENGTH", f"{path}.{key}: tối đa {max_len} chữ số")
        return d

    @staticmethod
    def _flag(obj: dict, key: str, path: str, required=False) -> bool | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        if value is None or value == "":
            if required:
                raise _bad(f"{field_code(key)}_REQUIRED", f"{path}.{key}: không được để trống")
            return None
        flag = json_flag(value)
        if flag is None:
            raise _bad(f"{field_code(key)}_INVALID", f"{path}.{key}: phải là true hoặc false")
        return flag

    def _date_field(self, obj: dict, key: str, path: str, required=False) -> int | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                raise _bad(f"{field_code(key)}_REQUIRED", f"{path}.{key}: không được để trống")
            return None
        ms = parse_instant(value)
        if ms is None:
            raise _bad(f"{field_code(key)}_INVALID", f"{path}.{key}: sai định dạng ngày")
        return ms

    def validate(self, body) -> None:
        """Raise the first problem of a ``commonInvoiceInput`` as seed 001's tables define them."""
        if not isinstance(body, dict):
            raise _bad("JSON_PARSE_ERROR", "Dữ liệu hóa đơn phải là một đối tượng")
        g = body.get("generalInvoiceInfo")
        if not isinstance(g, dict) or not g:
            raise _bad("BAD_REQUEST_GENERAL_INVOICE_INFO_REQUIRED", "generalInvoiceInfo: không được để trống")
        p = "generalInvoiceInfo"
        t = self._text
        t(g, "invoiceType", p, required=True, max_len=50, pattern=CODE, values=_INVOICE_TYPES)
        t(g, "templateCode", p, required=True, max_len=20, pattern=CODE)
        t(g, "invoiceSeries", p, max_len=6, min_len=6, pattern=CODE, code="BAD_REQUEST_INVOICE_SERIAL")
        self._date_field(g, "invoiceIssuedDate", p, required=True)
        t(g, "currencyCode", p, required=True, max_len=3, pattern="[A-Z]{3}")
        kind = t(g, "adjustmentType", p, required=True, max_len=1, values={"1", "3", "5"})
        t(g, "invoiceNote", p, max_len=400, required=kind in ("3", "5"))
        t(g, "originalInvoiceId", p, max_len=13, min_len=7, pattern=CODE, required=kind in ("3", "5"))
        t(g, "adjustmentInvoiceType", p, max_len=1, values={"1", "2"}, required=kind == "5")
        self._date_field(g, "originalInvoiceIssueDate", p, required=kind in ("3", "5"))
        t(g, "additionalReferenceDesc", p, max_len=225, required=kind in ("3", "5"))
        self._date_field(g, "additionalReferenceDate", p, required=kind in ("3", "5"))
        paid = self._flag(g, "paymentStatus", p, required=kind == "1")
        t(g, "paymentType", p, max_len=30, pattern=PAYMENT_TYPE, required=bool(paid))
        t(g, "paymentTypeName", p, max_len=100, required=bool(paid))
        self._flag(g, "cusGetInvoiceRight", p, required=True)
        t(g, "buyerIdType", p, max_len=1, values={"1", "2", "3"})
        t(g, "buyerIdNo", p, max_len=20)
        t(g, "transactionUuid", p, max_len=36, long_code="BAD_REQUEST_TRANSACTION_UUID_LENGTH_INVALID")
        for block, role, required in PARTY_BLOCKS:
            obj = body.get(block)
            if not isinstance(obj, dict):
                raise _bad(f"{field_code(block)}_REQUIRED", f"{block}: không được để trống")
            for key, size, pattern in PARTY_FIELDS:
                name = role + key
                code = "BUYER_PHONE_NUMBER" if name == "buyerPhoneNumber" else None
                try:
                    t(obj, name, block, required=key in required, max_len=size, pattern=pattern, code=code)
                except Refusal as r:
                    if name == "buyerPhoneNumber":  # the business code public clients know
                        raise _bad("BUYER_PHONE_NUMBER_INVALID", r.description) from None
                    raise
            if role == "buyer":
                t(obj, "buyerIdType", block, max_len=1, values={"1", "2", "3"})
                t(obj, "buyerIdNo", block, max_len=20)
        payments = body.get("payments")
        if not isinstance(payments, list) or not payments:
            raise _bad("BAD_REQUEST_PAYMENT_INFO_REQUIRED", "payments: không được để trống")
        for k, pay in enumerate(payments):
            t(pay, "paymentMethodName", f"payments[{k}]", required=True, max_len=50)
        items = body.get("itemInfo")
        if not isinstance(items, list) or not items:
            raise _bad("BAD_REQUEST_ITEM_INFO_REQUIRED", "itemInfo: không được để trống")
        self._lines(items, "itemInfo")
        if body.get("discountItemInfo"):
            self._lines(body["discountItemInfo"], "discountItemInfo")
        s = body.get("summarizeInfo")
        info = kind == "5" and g.get("adjustmentInvoiceType") in ("2", 2)
        if isinstance(s, dict) and s and not info:  # absent: SInvoice computes it (as the current API does)
            for key, size in SUMMARY_AMOUNTS:
                self._number(s, key, "summarizeInfo", required=True, max_len=size)
            for key in SUMMARY_OPTIONAL:
                self._number(s, key, "summarizeInfo")
            t(s, "totalAmountWithTaxInWords", "summarizeInfo", max_len=255)
        for j, row in enumerate(body.get("taxBreakdowns") or []):
            path = f"taxBreakdowns[{j}]"
            self._number(row, "taxPercentage", path, allowed_negative=(Decimal(-1), Decimal(-2)))
            self._number(row, "taxableAmount", path)
            self._number(row, "taxAmount", path)
            t(row, "taxExemptionReason", path, max_len=255)
        for k, entry in enumerate(body.get("metadata") or []):
            path = f"metadata[{k}]"
            for key in METADATA_KEYS:
                t(entry, key, path, required=True, code="BAD_REQUEST_METADATA")
            t(entry, "invoiceCustomFieldId", path, max_len=10, pattern=r"\d+", code="BAD_REQUEST_METADATA")
            t(entry, "valueType", path, values={"text", "date", "number"}, code="BAD_REQUEST_METADATA")
        for k, row in enumerate(body.get("meterReading") or []):
            for key in ("previousIndex", "currentIndex", "factor", "amount"):
                self._number(row, key, f"meterReading[{k}]")

    def _lines(self, items, block: str) -> None:
        numbers = set()
        for i, it in enumerate(items):
            path = f"{block}[{i}]"
            if not isinstance(it, dict):
                raise _bad("BAD_REQUEST_ITEM_INFO_INVALID", f"{path}: sai kiểu dữ liệu")
            # required by seed 001; the current API numbers lines itself (Odoo 18 sends none)
            n = self._text(it, "lineNumber", path, required=not getattr(self._local, "v2", False), max_len=5,
                           pattern=r"(?!0)\d{1,9}")
            n = n or str(i + 1)
            if n in numbers:
                raise _bad("BAD_REQUEST_LINE_NUMBER_INVALID", f"{path}.lineNumber: trùng số thứ tự dòng {n}")
            numbers.add(n)
            selection = self._text(it, "selection", path, max_len=1, values={"1", "2", "3", "4"})
            self._text(it, "itemCode", path, max_len=50, pattern=_ITEM_CODE)
            self._text(it, "itemName", path, required=True, max_len=300, required_code="ITEM_NAME_NULL",
                       long_code="ITEM_NAME_INVALID")
            self._text(it, "unitCode", path, max_len=10)
            goods = selection in (None, "1", "4") and block == "itemInfo"
            self._text(it, "unitName", path, max_len=50,
                       required=goods and (it.get("quantity") is not None or it.get("unitPrice") is not None))
            note = selection == "2"
            for key in ("unitPrice", "quantity", "itemTotalAmountWithoutTax", "taxAmount", "adjustmentTaxAmount",
                        "discount", "itemDiscount"):
                self._number(it, key, path, required=key in ("itemTotalAmountWithoutTax", "taxAmount") and not note,
                             negative_code="BAD_REQUEST_ITEM_VALUES_NEGATIVE")
            self._number(it, "taxPercentage", path, allowed_negative=(Decimal(-1), Decimal(-2)))
            self._flag(it, "isIncreaseItem", path)
            for key in LINE_EXTRA_KEYS:
                self._text(it, key, path, max_len=50)

    def _check_metadata(self, template: dict, body: dict) -> None:
        defined = {int(f["id"]): f for f in template.get("custom_fields") or []}
        given = {}
        for k, entry in enumerate(body.get("metadata") or []):
            fid = int(str(entry["invoiceCustomFieldId"]))
            spec = defined.get(fid)
            if spec is None or spec["keyTag"] != entry.get("keyTag") or spec["valueType"] != entry.get("valueType"):
                raise _bad("BAD_REQUEST_METADATA_INVALID", f"metadata[{k}]: trường động {fid} "
                           f"({entry.get('keyTag')}) không thuộc mẫu hóa đơn hoặc sai kiểu")
            value = entry.get({"date": "dateValue", "number": "numberValue", "text": "stringValue"}[spec["valueType"]])
            bad = (spec["valueType"] == "number" and value not in (None, "") and dec(value) is None) or (
                spec["valueType"] == "date" and value not in (None, "") and parse_instant(value) is None)
            if bad:
                raise _bad("BAD_REQUEST_METADATA_INVALID", f"metadata[{k}]: giá trị sai kiểu {spec['valueType']}")
            given[fid] = value
        for fid, spec in defined.items():
            if json_flag(spec.get("isRequired")) and given.get(fid) in (None, ""):
                raise _bad("BAD_REQUEST_METADATA_INVALID", f"Thiếu trường động bắt buộc {spec['keyTag']}")

    # --- issuing ---------------------------------------------------------------------------------

    def _template(self, code: str) -> dict:
        template = self.config.templates.get(code)
        if template is None:
            raise Refusal("TEMPLATE_NOT_FOUND", "Phải chọn loại template hóa đơn")
        return template

    def _find_uuid(self, supplier: str, uuid: str) -> dict | None:
        rid = self.by_uuid.get((supplier, uuid))
        if rid is None:
            return None
        rec = self.records[rid]
        if self.now_ms() - rec["created"] > self.config.uuid_validity_days * 86_400_000:
            return None  # seed 001: a transactionUuid is valid 3 days
        return rec

    def _create_result(self, rec: dict) -> dict:
        result = {"supplierTaxCode": rec["supplier"], "invoiceNo": rec["invoiceNo"],
                  "transactionID": rec["transactionID"], "reservationCode": rec["reservationCode"]}
        if rec.get("codeOfTax"):
            result["codeOfTax"] = rec["codeOfTax"]
        return result

    def create(self, supplier: str, body: dict, op: str = "createInvoice") -> dict:
        """Issue one ``commonInvoiceInput``; the ``result`` of createInvoice, or a Refusal."""
        self.validate(body)
        g = body["generalInvoiceInfo"]
        uuid = str(g.get("transactionUuid") or "")
        with self.lock:
            self.received.append((op, uuid))
            if uuid and (existing := self._find_uuid(supplier, uuid)) is not None:
                self.replays += 1
                if self.config.duplicate_uuid == "reject":
                    raise _bad("TRANSACTION_UUID_INVALID", "Transaction Uuid đã được lập hóa đơn")
                return self._create_result(existing)
            code = str(g["templateCode"])
            template = self._template(code)
            symbols = template["series"]
            symbol = str(g.get("invoiceSeries") or "")
            if not symbol:
                if len(symbols) != 1:
                    raise _bad("BAD_REQUEST_INVOICE_SERIAL_REQUIRED",
                               f"Mẫu {code} có nhiều dải hóa đơn: bắt buộc nhập invoiceSeries")
                symbol = next(iter(symbols))
            elif symbol not in symbols:
                raise Refusal("OUT_OF_INVOICE_NO", f"Ký hiệu {symbol} không thuộc mẫu hóa đơn {code}")
            issued = parse_instant(g["invoiceIssuedDate"])
            now = self.now_ms()
            if issued > now + self.config.future_tolerance * 1000:
                raise Refusal("INVOICE_ISSUED_DATE_OVER_CURRENT_TIME", "Ngày lập hóa đơn lớn hơn ngày hiện tại")
            key = f"{supplier}|{code}|{symbol}"
            series = self.series.setdefault(key, {"next": 1, "last_day": None})
            if series["last_day"] and day_of(issued).isoformat() < series["last_day"]:
                raise Refusal("INVOICE_ISSUED_DATE_INVALID",
                              f"Ngày lập hóa đơn nhỏ hơn ngày của hóa đơn đã lập trước đó ({series['last_day']})")
            kind = str(g["adjustmentType"])
            original = None
            if kind in ("3", "5"):
                rid = self.by_no.get((supplier, str(g["originalInvoiceId"])))
                original = self.records.get(rid) if rid is not None else None
                if original is not None and (original["status"] == "cancelled" or original.get("replacedBy")):
                    raise Refusal("INVOICE_STATUS_INVALID", f"Hóa đơn gốc {original['invoiceNo']} đã bị hủy "
                                  "hoặc đã bị thay thế")
            self._check_metadata(template, body)
            if series["next"] > int(symbols[symbol]):
                raise Refusal("OUT_OF_INVOICE_NO", f"Dải hóa đơn {code} - {symbol} đã hết số")
            number = series["next"]
            series["next"] += 1
            series["last_day"] = max(series["last_day"] or "", day_of(issued).isoformat())
            invoice_no = join_invoice_no(symbol, number)
            rid = len(self.records) + 1
            rec = {
                "id": rid, "supplier": supplier, "templateCode": code, "invoiceType": str(g["invoiceType"]),
                "invoiceSeries": symbol, "number": number, "invoiceNo": invoice_no,
                "reservationCode": "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(10)),
                "transactionID": f"{now}{rid % 100000:05d}", "transactionUuid": uuid, "issueDate": issued,
                "created": now, "adjustmentType": kind, "status": "issued", "paid": bool(json_flag(g.get("paymentStatus"))),
                "paymentTime": now if json_flag(g.get("paymentStatus")) else None,
                "paymentMethod": g.get("paymentType"), "codeOfTax": (secrets.token_hex(17).upper()
                                                                     if symbol.startswith("C") else None),
                "exchanges": 0, "declared": False, "views": 0, "body": copy.deepcopy(body),
                "originalInvoiceId": g.get("originalInvoiceId"),
            }
            self.records[rid] = rec
            self.by_no[(supplier, invoice_no)] = rid
            if uuid:
                self.by_uuid[(supplier, uuid)] = rid
                self.drafts.pop(f"{supplier}|{uuid}", None)
            if original is not None:
                original["replacedBy" if kind == "3" else "adjustedBy"] = invoice_no
            self._save()
            return self._create_result(rec)

    def _op_createInvoice(self, supplier, data, decision):  # noqa: N802 - SInvoice's operation names
        return business("", "", result=self.create(supplier, data))

    def _op_createOrUpdateInvoiceDraft(self, supplier, data, decision):  # noqa: N802
        self.validate(data)
        g = data["generalInvoiceInfo"]
        uuid = str(g.get("transactionUuid") or "") or secrets.token_hex(16)
        with self.lock:
            if self._find_uuid(supplier, uuid) is not None:
                raise _bad("TRANSACTION_UUID_INVALID", "Transaction Uuid đã được lập hóa đơn")
            self._template(str(g["templateCode"]))
            key = f"{supplier}|{uuid}"
            draft = self.drafts.get(key) or {"transactionID": f"{self.now_ms()}{len(self.drafts) % 100000:05d}",
                                             "created": self.now_ms()}
            draft.update(body=copy.deepcopy(data), updated=self.now_ms())
            self.drafts[key] = draft
            self._save()
        return business("", "", result={"supplierTaxCode": supplier, "invoiceNo": None,
                                        "transactionID": draft["transactionID"], "reservationCode": None})

    def _op_createBatchInvoice(self, supplier, data, decision):  # noqa: N802
        inputs = data.get("commonInvoiceInputs")
        if not isinstance(inputs, list) or not inputs:
            raise _bad("BAD_REQUEST_COMMON_INVOICE_INPUTS_REQUIRED", "commonInvoiceInputs: không được để trống")
        if self.config.batch_limit and len(inputs) > self.config.batch_limit:
            raise _bad("BAD_REQUEST_COMMON_INVOICE_INPUTS_MAX_LENGTH",
                       f"Tối đa {self.config.batch_limit} hóa đơn mỗi lô")
        commit = decision.commit_items if decision is not None else None
        outputs, errors = [], []
        for k, body in enumerate(inputs):
            if commit is not None and k >= commit:
                raise Drop()  # crash in the middle of the batch: the first items are committed
            uuid = ((body or {}).get("generalInvoiceInfo") or {}).get("transactionUuid") if isinstance(body, dict) \
                else None
            try:
                result = self.create(supplier, body, "createBatchInvoice")
            except Refusal as r:
                outputs.append({"transactionUuid": uuid, "errorCode": r.code, "description": r.description,
                                "result": None})
                errors.append({"transactionUuid": uuid, "errorCode": r.code, "description": r.description})
                continue
            outputs.append({"transactionUuid": uuid, "errorCode": None, "description": None, "result": result})
        if commit is not None:
            raise Drop()
        return {"createInvoiceOutputs": outputs, "lstMapError": errors, "totalSuccess": len(outputs) - len(errors),
                "totalFail": len(errors)}

    def _op_createInvoiceDraftPreview(self, supplier, data, decision):  # noqa: N802
        self.validate(data)
        g = data["generalInvoiceInfo"]
        self._template(str(g["templateCode"]))
        fake = {"templateCode": g["templateCode"], "invoiceSeries": g.get("invoiceSeries") or "", "number": 0,
                "invoiceNo": "(xem trước)", "reservationCode": "", "issueDate": parse_instant(g["invoiceIssuedDate"]),
                "codeOfTax": None, "status": "draft", "paid": False, "body": data}
        return file_answer("preview.pdf", self._pdf(fake), paymentStatus=False)

    # --- look-ups and files ----------------------------------------------------------------------

    def _record(self, supplier: str, invoice_no: str, issue_date=None, *, check_date=True) -> dict:
        rid = self.by_no.get((supplier, str(invoice_no or "")))
        rec = self.records.get(rid) if rid is not None else None
        if rec is None or (check_date and not _same_time(issue_date, rec["issueDate"])):
            raise _bad("NOT_FOUND_DATA", "Không tìm thấy hóa đơn")
        return rec

    def _op_searchInvoiceByTransactionUuid(self, supplier, data, decision):  # noqa: N802
        uuid = self._text(data, "transactionUuid", "", required=True, max_len=36)
        with self.lock:
            rec = self._find_uuid(supplier, uuid)
            if rec is None:
                raise _bad("NOT_FOUND_DATA", "Không tìm thấy hóa đơn với transactionUuid này")
            coded = bool(rec.get("codeOfTax"))
            return business(transactionUuid=uuid, result=[{
                "supplierTaxCode": supplier, "invoiceNo": rec["invoiceNo"], "reservationCode": rec["reservationCode"],
                "issueDate": rec["issueDate"], "status": status_label(rec["paid"], rec["status"] == "cancelled"),
                "exchangeStatus": "INVOICE_HAS_CODE_APPROVED" if coded else "INVOICE_NO_CODE_SENT",
                "exchangeDes": "Đã cấp mã" if coded else "Đã gửi CQT", "codeOfTax": rec.get("codeOfTax")}])

    def _xml(self, rec: dict) -> bytes:
        try:
            invoice = from_sinvoice(rec["body"])
            invoice = replace(invoice, symbol=rec["invoiceSeries"], number=rec["number"],
                              authority_code=rec.get("codeOfTax") or "")
            return build_xml(invoice, check=False)
        except Exception:  # an example the document model cannot read: keep the body as sent
            return obj_to_xml("commonInvoiceInput", {**rec["body"], "invoiceNo": rec["invoiceNo"],
                                                     "reservationCode": rec["reservationCode"]})

    def _pdf(self, rec: dict, exchange_user: str | None = None) -> bytes:
        body = rec["body"]
        g, buyer, seller = body.get("generalInvoiceInfo", {}), body.get("buyerInfo", {}), body.get("sellerInfo", {})
        try:
            title = template_title(short_template(rec["templateCode"]), rec["invoiceSeries"]).upper()
        except Exception:
            title = "HÓA ĐƠN ĐIỆN TỬ"
        when = from_ms(rec["issueDate"])
        lines = [title, f"Mẫu số: {rec['templateCode']}   Ký hiệu: {rec['invoiceSeries']}   Số: {rec['invoiceNo']}",
                 f"Ngày {when:%d} tháng {when:%m} năm {when:%Y}   Mã tra cứu: {rec['reservationCode']}"]
        if rec.get("codeOfTax"):
            lines.append(f"Mã của cơ quan thuế: {rec['codeOfTax']}")
        lines += ["", f"Người bán: {seller.get('sellerLegalName', '')}   MST: {seller.get('sellerTaxCode', '')}",
                  f"Địa chỉ: {seller.get('sellerAddressLine', '')}",
                  f"Người mua: {buyer.get('buyerLegalName') or buyer.get('buyerName', '')}   "
                  f"MST: {buyer.get('buyerTaxCode', '')}", f"Địa chỉ: {buyer.get('buyerAddressLine', '')}", ""]
        for it in body.get("itemInfo") or []:
            if str(it.get("selection", "")) == "2":
                lines.append(f"{it.get('lineNumber', '')}. {it.get('itemName', '')}")
                continue
            lines.append(f"{it.get('lineNumber', '')}. {it.get('itemName', '')}  {num_text(it.get('quantity', ''))} "
                         f"{it.get('unitName', '')} x {num_text(it.get('unitPrice', ''))} = "
                         f"{num_text(it.get('itemTotalAmountWithoutTax', ''))}  "
                         f"(thuế suất {num_text(it.get('taxPercentage', ''))})")
        s = body.get("summarizeInfo") or {}
        lines += ["", f"Cộng tiền hàng: {num_text(s.get('totalAmountWithoutTax', ''))}   Tiền thuế: "
                      f"{num_text(s.get('totalTaxAmount', ''))}   Tổng cộng: {num_text(s.get('totalAmountWithTax', ''))} "
                      f"{g.get('currencyCode', '')}", f"Bằng chữ: {s.get('totalAmountWithTaxInWords', '')}",
                  f"Trạng thái thanh toán: {status_label(rec.get('paid'))}"]
        if rec["status"] == "cancelled":
            lines.append("HÓA ĐƠN ĐÃ BỊ HỦY")
        if exchange_user:
            lines += ["", "HÓA ĐƠN CHUYỂN ĐỔI TỪ HÓA ĐƠN ĐIỆN TỬ",
                      f"Người chuyển đổi: {exchange_user}   Ngày chuyển đổi: {day_text(datetime.now(GMT7))}"]
        lines += ["", "SANDBOX vn-einvoice - không có giá trị pháp lý"]
        return make_pdf(lines, title=f"{rec['invoiceNo']}")

    def _files_ready(self, rec: dict) -> bool:
        return self.now_ms() - rec["created"] >= self.config.file_delay * 1000

    def _op_getInvoiceRepresentationFile(self, supplier, data, decision):  # noqa: N802
        invoice_no = self._text(data, "invoiceNo", "", required=True, max_len=17)
        template = str(data.get("templateCode") or data.get("pattern") or "")
        if not template:
            raise _bad("BAD_REQUEST_PATTERN_REQUIRED", "pattern: không được để trống")
        file_type = self._text(data, "fileType", "", required=True, values={"ZIP", "PDF", "zip", "pdf"}).upper()
        with self.lock:
            rec = self._record(supplier, invoice_no, check_date=False)
            if rec["templateCode"] != template:
                raise _bad("NOT_FOUND_DATA", f"Hóa đơn {invoice_no} không thuộc mẫu {template}")
            uuid = data.get("transactionUuid")
            if uuid and uuid != rec["transactionUuid"]:
                raise _bad("BAD_REQUEST_TRANSACTION_UUID_INVALID", "transactionUuid không khớp với hóa đơn")
            rec = copy.deepcopy(rec)
        name = rec["invoiceNo"].replace("/", "_")
        if not self._files_ready(rec):
            return file_answer(None, b"", paymentStatus=rec["paid"])
        if file_type == "PDF":
            content, file_name = self._pdf(rec), f"{name}.pdf"
        else:  # a zip holding another zip with the XML (and its XSL), as SInvoice sends it
            inner = make_zip({f"{name}.xml": self._xml(rec), f"{name}.xsl": XSL, f"{name}.pdf": self._pdf(rec)})
            content, file_name = make_zip({f"{name}.zip": inner}), f"{name}.zip"
        return file_answer(file_name, content, paymentStatus=rec["paid"])

    def _op_getInvoiceFilePortal(self, supplier, data, decision):  # noqa: N802
        invoice_no = self._text(data, "invoiceNo", "", required=True, max_len=13, min_len=7, pattern=CODE)
        code = self._text(data, "reservationCode", "", required=True, max_len=100)
        issue = self._text(data, "strIssueDate", "", required=True)
        file_type = self._text(data, "fileType", "", required=True, values={"xml", "zip", "pdf", "XML", "ZIP", "PDF"})
        with self.lock:
            rec = self._record(supplier, invoice_no, issue)
            if rec["reservationCode"] != code:
                raise _bad("NOT_FOUND_DATA", "Mã số bí mật không đúng")
            buyer_id = data.get("buyerIdNo")
            known_id = (rec["body"].get("buyerInfo") or {}).get("buyerIdNo") or \
                (rec["body"].get("generalInvoiceInfo") or {}).get("buyerIdNo")
            if buyer_id and known_id and buyer_id != known_id:
                raise _bad("NOT_FOUND_DATA", "Số giấy tờ của khách hàng không đúng")
            rec["views"] = rec.get("views", 0) + 1
            rec = copy.deepcopy(rec)
        name = f"{rec['reservationCode']}-{rec['invoiceNo'].replace('/', '_')}"
        kind = file_type.lower()
        if kind == "xml":
            content = self._xml(rec)
        elif kind == "pdf":
            content = self._pdf(rec)
        else:
            content = make_zip({"invoice.xml": self._xml(rec), "invoice.xsl": XSL, "invoice.pdf": self._pdf(rec)})
        return file_answer(name, content, paymentStatus=rec["paid"])

    def _op_createExchangeInvoiceFile(self, supplier, data, decision):  # noqa: N802
        invoice_no = self._text(data, "invoiceNo", "", required=True, max_len=13, min_len=7, pattern=CODE)
        issue = self._text(data, "strIssueDate", "", required=True)
        user = self._text(data, "exchangeUser", "", required=True, max_len=100, min_len=1)
        with self.lock:
            rec = self._record(supplier, invoice_no, issue)
            rec["exchanges"] = rec.get("exchanges", 0) + 1
            rec = copy.deepcopy(rec)
        return file_answer(f"{rec['invoiceNo'].replace('/', '_')}_chuyen_doi", self._pdf(rec, exchange_user=user))

    # --- changes after issue ---------------------------------------------------------------------

    def _op_cancelTransactionInvoice(self, supplier, data, decision):  # noqa: N802
        invoice_no = self._text(data, "invoiceNo", "", required=True, max_len=13, min_len=7, pattern=CODE)
        issue = self._text(data, "strIssueDate", "", required=True)
        self._text(data, "additionalReferenceDesc", "", required=True, max_len=100, min_len=1)
        self._text(data, "reasonDelete", "", max_len=255)
        agreed = parse_instant(self._text(data, "additionalReferenceDate", "", required=True))
        if agreed is None:
            raise _bad("BAD_REQUEST_ADDITIONAL_REFERENCE_DATE_INVALID", "additionalReferenceDate: sai định dạng")
        if agreed > self.now_ms() + self.config.future_tolerance * 1000:
            raise _bad("BAD_REQUEST_ADDITIONAL_REFERENCE_DATE_INVALID", "Ngày thỏa thuận vượt quá ngày hiện tại")
        with self.lock:
            rec = self._record(supplier, invoice_no, issue)
            legacy = "/" in rec["invoiceSeries"]
            if self.config.cancel == "none" or (self.config.cancel == "legacy" and not legacy):
                raise Refusal("INVOICE_STATUS_INVALID", "Chức năng hủy hóa đơn không còn được hỗ trợ từ 01/06/2025 "
                              "(Nghị định 70/2025): lập hóa đơn điều chỉnh hoặc thay thế")
            if (rec["status"] == "cancelled" or rec["adjustmentType"] != "1" or rec.get("declared")
                    or rec.get("adjustedBy") or rec.get("replacedBy")):
                raise Refusal("INVOICE_STATUS_INVALID", f"Hóa đơn {invoice_no} không hợp lệ để hủy (đã hủy, đã kê "
                              "khai thuế, đã điều chỉnh/thay thế hoặc không phải hóa đơn gốc)")
            rec.update(status="cancelled", cancelAgreement=data.get("additionalReferenceDesc"),
                       cancelAgreementDate=agreed, cancelReason=data.get("reasonDelete"))
            self._save()
        return business(None, "CANCEL TRANSACTION INVOICE SUCCESS")

    def _payment(self, supplier: str, data: dict, paid: bool) -> dict:
        invoice_no = self._text(data, "invoiceNo", "", required=True, max_len=17, min_len=7)
        issue = self._text(data, "strIssueDate", "", required=True)
        if paid:
            self._text(data, "templateCode", "", required=True, max_len=20)
            email = data.get("buyerEmailAddress")
            if email and not re.fullmatch(EMAIL, email):
                raise _bad("EMAIL_INVALID", "Email không hợp lệ")
        with self.lock:
            rec = self._record(supplier, invoice_no, issue)
            if paid and rec["templateCode"] != data.get("templateCode"):
                raise _bad("NOT_FOUND_DATA", "Không tìm thấy hóa đơn với mẫu này")
            if rec["status"] == "cancelled":
                raise Refusal("INVOICE_STATUS_INVALID", "Hóa đơn đã bị hủy")
            if rec["paid"] is paid:  # as Odoo's module reports it: no change → NOT_FOUND_DATA
                raise _bad("NOT_FOUND_DATA", "Không có hóa đơn nào được cập nhật")
            rec["paid"] = paid
            rec["paymentTime"] = self.now_ms() if paid else None
            if paid:
                rec["paymentMethod"] = data.get("paymentType") or rec.get("paymentMethod")
            self._save()
            return business(result=True, paymentTime=rec["paymentTime"],
                            paymentMethod=rec.get("paymentMethod") if paid else None)

    def _op_updatePaymentStatus(self, supplier, data, decision):  # noqa: N802
        return self._payment(supplier, data, True)

    def _op_cancelPaymentStatus(self, supplier, data, decision):  # noqa: N802
        return self._payment(supplier, data, False)

    def _op_updateTaxDeclaration(self, supplier, data, decision):  # noqa: N802
        text = self._text(data, "strIssueDate", "", required=True, pattern=r"\d{2}/\d{2}/\d{4}")
        day = day_of(parse_instant(text))
        with self.lock:
            for rec in self.records.values():
                if rec["supplier"] == supplier and day_of(rec["issueDate"]) == day:
                    rec["declared"] = True
            self._save()
        return business("Cập nhật kê khai thuế thành công")  # sic, as seed 001 shows

    def _op_sendHtmlMailProcess(self, supplier, data, decision):  # noqa: N802
        text = self._text(data, "lstTransactionUuid", "", required=True,
                          required_code="BAD_REQUEST_LST_TRANSACTION_UUID_REQUIRED")
        uuids = [u.strip() for u in text.split(",") if u.strip()]
        for uuid in uuids:
            if not 32 <= len(uuid) <= 36:
                raise _bad("BAD_REQUEST_TRANSACTION_UUID_LENGTH_INVALID",
                           f"transactionUuid {uuid}: độ dài phải từ 32 đến 36 ký tự")
        with self.lock:
            found = [self._find_uuid(supplier, u) for u in uuids]
            if not uuids or any(r is None for r in found):
                raise _bad("NOT_FOUND_DATA", "Không tìm thấy hóa đơn để gửi email")
            for rec in found:
                self.mails.append({"invoiceNo": rec["invoiceNo"], "transactionUuid": rec["transactionUuid"],
                                   "to": (rec["body"].get("buyerInfo") or {}).get("buyerEmail") or "",
                                   "at": self.now_ms()})
            self._save()
        return business()

    # --- reports ---------------------------------------------------------------------------------

    def _op_getCustomFields(self, supplier, data, decision):  # noqa: N802
        wanted = data.get("templateCode")
        out = []
        for code, template in self.config.templates.items():
            if wanted in (None, "", code):
                out.extend(copy.deepcopy(template.get("custom_fields") or []))
        return out  # a bare list, as seed 001 §1.1.7 shows it

    def _op_getProvidesStatusUsingInvoice(self, supplier, data, decision):  # noqa: N802
        code = str(data.get("pattern") or data.get("templateCode") or "")
        if not code:
            raise _bad("BAD_REQUEST_PATTERN_REQUIRED", "pattern: không được để trống")
        serial = self._text(data, "serial", "", required=True, max_len=6, min_len=6, pattern=CODE)
        template = self._template(code)
        if serial not in template["series"]:
            raise Refusal("TEMPLATE_NOT_FOUND", f"Không tìm thấy dải {serial} của mẫu {code}")
        with self.lock:
            used = self.series.get(f"{supplier}|{code}|{serial}", {"next": 1})["next"] - 1
        return business(status=200, numOfpublishInv=used, totalInv=int(template["series"][serial]))

    def _row(self, rec: dict) -> dict:
        body = rec["body"]
        s, g, buyer = body.get("summarizeInfo") or {}, body.get("generalInvoiceInfo") or {}, body.get("buyerInfo") or {}
        lines = [it for it in body.get("itemInfo") or [] if str(it.get("selection", "")) != "2"]
        before = dec(s.get("totalAmountWithoutTax")) if s.get("totalAmountWithoutTax") is not None else sum(
            (dec(it.get("itemTotalAmountWithoutTax")) or 0 for it in lines), Decimal(0))
        tax = dec(s.get("totalTaxAmount")) if s.get("totalTaxAmount") is not None else sum(
            (dec(it.get("taxAmount")) or 0 for it in lines), Decimal(0))
        total = dec(s.get("totalAmountWithTax")) if s.get("totalAmountWithTax") is not None else before + tax
        return {  # the fields of seed 001 §1.1.6's answer, in its order
            "invoiceId": rec["id"], "invoiceType": rec["invoiceType"], "adjustmentType": rec["adjustmentType"],
            "templateCode": rec["templateCode"], "invoiceSeri": rec["invoiceSeries"],
            "invoiceNumber": rec["invoiceNo"][len(rec["invoiceSeries"]):], "invoiceNo": rec["invoiceNo"],
            "currency": g.get("currencyCode"), "total": plain(total), "issueDate": rec["issueDate"],
            "issueDateStr": None, "state": "CANCEL" if rec["status"] == "cancelled" else None, "requestDate": None,
            "description": None, "buyerIdNo": buyer.get("buyerIdNo") or g.get("buyerIdNo"), "stateCode": None,
            "subscriberNumber": None, "paymentStatus": 1 if rec["paid"] else 0, "viewStatus": 1 if rec.get("views") else 0,
            "downloadStatus": None, "exchangeStatus": 1 if rec.get("exchanges") else None,
            "numOfExchange": rec.get("exchanges") or None, "createTime": rec["created"], "contractId": None,
            "contractNo": None, "supplierTaxCode": rec["supplier"], "buyerTaxCode": buyer.get("buyerTaxCode") or None,
            "totalBeforeTax": plain(before), "taxAmount": plain(tax), "taxRate": None,
            "paymentMethod": rec.get("paymentMethod"), "paymentTime": rec.get("paymentTime"), "customerId": None,
            "buyerName": buyer.get("buyerName"), "no": None, "paymentStatusName": status_label(rec["paid"]),
        }

    def _op_getInvoices(self, supplier, data, decision):  # noqa: N802
        start = self._date_field(data, "startDate", "", required=True)
        end = parse_instant(data.get("endDate"), end_of_day=True) if data.get("endDate") not in (None, "") else None
        if end is None:
            raise _bad("BAD_REQUEST_END_DATE_REQUIRED", "endDate: không được để trống")
        per_page = self._number(data, "rowPerPage", "", required=True, max_len=18)
        page = self._number(data, "pageNum", "", required=True, max_len=18)
        if per_page < 1 or page < 1:
            raise _bad("BAD_REQUEST_PAGE_NUM_INVALID", "pageNum và rowPerPage bắt đầu từ 1")
        filters = {"invoiceType": "invoiceType", "templateCode": "templateCode", "invoiceSeri": "invoiceSeries",
                   "invoiceNo": "invoiceNo"}
        with self.lock:
            rows = []
            for rec in self.records.values():
                if rec["supplier"] != supplier or not start <= rec["issueDate"] <= end:
                    continue
                if any(data.get(k) not in (None, "") and str(data[k]) != str(rec[v]) for k, v in filters.items()):
                    continue
                buyer = rec["body"].get("buyerInfo") or {}
                if data.get("buyerTaxCode") not in (None, "") and str(data["buyerTaxCode"]) != buyer.get("buyerTaxCode"):
                    continue
                if data.get("buyerIdNo") not in (None, "") and str(data["buyerIdNo"]) != buyer.get("buyerIdNo"):
                    continue
                rows.append(self._row(rec))
        first = (int(page) - 1) * int(per_page)
        return business(totalRow=len(rows), invoices=rows[first:first + int(per_page)])

    def _op_getListInvoiceDataControl(self, supplier, data, decision):  # noqa: N802
        start = parse_instant(self._text(data, "fromDate", "", required=True, pattern=r"\d{2}/\d{2}/\d{4}"))
        end = parse_instant(self._text(data, "toDate", "", required=True, pattern=r"\d{2}/\d{2}/\d{4}"),
                            end_of_day=True)
        with self.lock:
            rows = [{
                "invoiceId": r["id"], "transactionId": r["transactionID"], "transactionUuid": r["transactionUuid"],
                "invoiceNo": r["invoiceNo"], "templateCode": r["templateCode"], "invoiceSeri": r["invoiceSeries"],
                "reservationCode": r["reservationCode"], "issueDate": r["issueDate"],
                "status": status_label(r["paid"], r["status"] == "cancelled"),
                "paymentStatus": 1 if r["paid"] else 0, "adjustmentType": r["adjustmentType"],
                "exchangeStatus": "INVOICE_HAS_CODE_APPROVED" if r.get("codeOfTax") else "INVOICE_NO_CODE_SENT",
                "codeOfTax": r.get("codeOfTax"), "total": self._row(r)["total"],
            } for r in self.records.values() if r["supplier"] == supplier and start <= r["issueDate"] <= end]
        return business(lstInvoiceBO=rows)

    def _templates(self, wanted: str | None) -> list[dict]:
        return [{"templateCode": code, "invoiceSeri": symbol, "invoiceType": t["invoiceType"],
                 "totalInv": int(total)}
                for code, t in self.config.templates.items() for symbol, total in t["series"].items()
                if wanted in (None, "", "all", t["invoiceType"])]

    def _op_getAllInvoiceTemplates(self, supplier, data, decision):  # noqa: N802
        return business(template=self._templates(data.get("invoiceType")))

    def _op_getInvoiceTemplates(self, supplier, data, decision):  # noqa: N802
        rows = self._templates(data.get("invoiceType"))
        return business(totalRows=len(rows), template=rows)


def start(config: SandboxConfig | dict | str | os.PathLike | None = None, host: str = "127.0.0.1",
          port: int = 0, **options) -> SandboxServer:
    """Start a SInvoice sandbox in a thread; use as ``with start() as server: server.url``.

    ``options`` go to :class:`~.http.SandboxServer` (``admin_token``, ``admin``, ``max_body``,
    ``body_timeout``); the control endpoints' token is ``server.admin_token`` (``server.admin_headers``)."""
    if isinstance(config, (str, os.PathLike)):
        config = SandboxConfig.load(config)
    return SandboxServer(ViettelSandbox(config), host, port, **options).start()
