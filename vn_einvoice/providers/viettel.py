"""Viettel SInvoice client: every operation of the integration document (seed 001), both auth styles.

Authentication:

* ``auth="basic"`` — HTTP Basic ``user:password`` of seed 001 (hosts ``api-sinvoice.viettel.vn``,
  test ``demo-sinvoice.viettel.vn:8443``). A wrong account or a server IP missing from the account's
  whitelist answers ``500 Request Fail``: raised as :class:`ProviderAuthError`.
* ``auth="token"`` — the current API (``api-vinvoice.viettel.vn``, as Odoo's module uses it):
  ``POST /auth/login`` gives an ``access_token`` (about 5 minutes) sent as the cookie ``access_token``
  (or ``Authorization: Bearer`` with ``token_transport="bearer"``). Tokens are cached per account and
  refreshed before expiry and on a 401.

Answers come in two envelopes, both recognised: the business one ``{errorCode, description, result}``
(usually HTTP 200; success when ``errorCode`` is empty) and the error one ``{code, message, data}``
(HTTP 400; also the JHipster ``{title, status, detail}`` of the login). Odoo 18 reads only the second,
so a ``TEMPLATE_NOT_FOUND`` passes there as a success; here every refusal raises
:class:`ProviderRefused` with the code and :data:`ERROR_EXPLANATIONS`' plain words.

Idempotency: ``issue()`` sends ``generalInvoiceInfo.transactionUuid`` (the caller's stable key). After a
timeout, a dropped connection, a 429 or a 5xx it looks the invoice up with
``searchInvoiceByTransactionUuid`` and returns what it finds; it sends again only when the look-up
says nothing was issued. ``issue_batch()`` does the same per invoice of a ``createBatchInvoice``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import threading
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from urllib.parse import urljoin, urlsplit

import requests

from ..document import Invoice, RelationKind
from ..errors import ValidationError
from .base import (
    BatchEntry,
    BatchItem,
    BatchResult,
    CustomField,
    DraftResult,
    FileKind,
    FileResult,
    InvoicePage,
    InvoiceRef,
    IssueResult,
    ListedInvoice,
    PaymentResult,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
    TemplateInfo,
    UsageRow,
)
from .http import HttpSession, RetryPolicy, Timeouts
from .sinvoice_mapping import to_sinvoice
from .sinvoice_wire import (
    BAD_REQUEST_RE,
    GMT7,
    LOGIN_PATHS,
    PATHS,
    V2_PREFIX,
    answer_flag,
    answer_time,
    business_error,
    day_text,
    decode_file,
    envelope_error,
    invoice_number,
    ms,
    read_status,
    succeeded,
    text_date,
    xml_in_zip,
)

__all__ = ["ERROR_EXPLANATIONS", "PATHS", "ViettelSInvoice", "explain"]

DEFAULT_TIMEOUTS = Timeouts(connect=10.0, read=60.0)  # Viettel recommends 60–90 s
DEFAULT_RETRY = RetryPolicy()

PRODUCTION_URL = f"https://api-vinvoice.viettel.vn{V2_PREFIX}/"
PRODUCTION_LOGIN_URL = f"https://api-vinvoice.viettel.vn{LOGIN_PATHS[0]}"
LEGACY_URL = "https://api-sinvoice.viettel.vn:443/"  # seed 001 "Link API" (Basic)
LEGACY_TEST_URL = "https://demo-sinvoice.viettel.vn:8443/"  # seed 001 "Link test" (Basic)

# Plain words for an accountant: code → (English, Vietnamese).
ERROR_EXPLANATIONS: dict[str, tuple[str, str]] = {
    "TEMPLATE_NOT_FOUND": (
        "The invoice template (mẫu số) is not registered for this company at Viettel, or is not issued yet. "
        "Check the template code and the series in SInvoice and in the series set-up.",
        "Mẫu hóa đơn chưa được đăng ký hoặc chưa phát hành cho doanh nghiệp trên SInvoice. Kiểm tra mã mẫu và ký hiệu."),
    "OUT_OF_INVOICE_NO": (
        "No number is left in this series, or the series does not belong to this template. Register a new series "
        "(or range) in SInvoice, or pick the series that goes with the template.",
        "Dải hóa đơn đã hết số hoặc ký hiệu không thuộc mẫu này. Đăng ký dải/ký hiệu mới hoặc chọn đúng ký hiệu."),
    "INVOICE_ISSUED_DATE_INVALID": (
        "The invoice date is earlier than the last invoice issued in this series. Invoices are numbered in date "
        "order: issue it with today's date (or a later one).",
        "Ngày lập hóa đơn nhỏ hơn ngày của hóa đơn đã phát hành trước đó trong dải. Hãy lập với ngày hiện tại."),
    "INVOICE_ISSUED_DATE_OVER_CURRENT_TIME": (
        "The invoice date is in the future. Use today's date; if it is today, check the server clock and time "
        "zone (Vietnam is GMT+7).",
        "Ngày lập hóa đơn lớn hơn thời điểm hiện tại. Kiểm tra ngày, đồng hồ và múi giờ (GMT+7) của máy chủ."),
    "DONOT_HAVE_PERMISSION": (
        "This SInvoice account may not issue for this tax code, or it is disabled. Check the user in SInvoice "
        "(Quản lý người dùng) or ask your Viettel agent.",
        "Tài khoản không có quyền lập hóa đơn cho mã số thuế này hoặc đã bị khóa."),
    "TRANSACTION_UUID_INVALID": (
        "This transaction key was already used: the invoice was most likely issued already. Look it up instead "
        "of sending it again.",
        "Mã giao dịch (transactionUuid) đã được dùng để lập hóa đơn: hãy tra cứu hóa đơn thay vì gửi lại."),
    "JSON_PARSE_ERROR": (
        "SInvoice could not read the data sent (empty or malformed). This is a software problem: report it.",
        "SInvoice không đọc được dữ liệu gửi lên (rỗng hoặc sai định dạng)."),
    "NOT_FOUND_DATA": (
        "SInvoice has no invoice with this number and date for this tax code (or it already has the status "
        "asked for).",
        "Không tìm thấy hóa đơn với số và ngày này (hoặc hóa đơn đã ở trạng thái yêu cầu)."),
    "INVOICE_PAID": ("SInvoice already shows this invoice as paid.", "Hóa đơn đã ở trạng thái đã thanh toán."),
    "NO_RECORD_UPDATED": ("SInvoice already shows this invoice as unpaid.", "Hóa đơn đã ở trạng thái chưa thanh toán."),
    "EMAIL_INVALID": ("The customer's e-mail address is not valid.", "Địa chỉ email của khách hàng không hợp lệ."),
    "BUYER_PHONE_NUMBER_INVALID": (
        "The customer's phone number may contain digits only (at most 20).",
        "Số điện thoại người mua chỉ được chứa chữ số (tối đa 20)."),
    "ITEM_NAME_NULL": ("An invoice line has no description: every line needs one.", "Có dòng hàng hóa chưa có tên."),
    "ITEM_NAME_INVALID": (
        "An invoice line's description is too long for SInvoice (at most 300 characters): shorten it.",
        "Tên hàng hóa quá dài (tối đa 300 ký tự)."),
    "BAD_REQUEST_ITEM_VALUES_NEGATIVE": (
        "A line carries a negative amount. SInvoice wants positive amounts: write a discount as a discount line, "
        "and a decrease as an adjustment invoice.",
        "Dòng hàng có giá trị âm: chiết khấu ghi bằng dòng chiết khấu, giảm giá trị bằng hóa đơn điều chỉnh."),
    "BAD_REQUEST_INVOICE_SERIAL_REQUIRED": (
        "This template has several series: the invoice must say which series (ký hiệu) to use.",
        "Mẫu hóa đơn có nhiều dải: phải chọn ký hiệu hóa đơn."),
    "BAD_REQUEST_PAYMENT_STATUS_REQUIRED": ("The payment status must be sent.", "Thiếu trạng thái thanh toán."),
    "BAD_REQUEST_PAYMENT_INFO_REQUIRED": (
        "The payment method (TM, CK, TM/CK, DTCN…) is missing.", "Thiếu hình thức thanh toán."),
    "BAD_REQUEST_TRANSACTION_UUID_LENGTH_INVALID": (
        "The transaction key has a wrong length (at most 36 characters).", "Mã giao dịch sai độ dài."),
    "BAD_REQUEST_LST_TRANSACTION_UUID_REQUIRED": (
        "Give the transaction keys (32 to 36 characters each) of the invoices to e-mail.",
        "Thiếu danh sách mã giao dịch của hóa đơn cần gửi email."),
    "BAD_REQUEST_ADJUSTMENT_TYPE_INVALID": (
        "Unknown invoice kind: original (1), replacement (3) or adjustment (5).", "Loại hóa đơn không hợp lệ."),
    "BAD_REQUEST_CURRENCY_CODE_INVALID": (
        "The currency code must be 3 capital letters (VND, USD, EUR…).", "Mã tiền tệ phải gồm 3 chữ cái in hoa."),
    "BAD_REQUEST_METADATA_INVALID": (
        "A custom field of the template (metadata) is missing, unknown or of the wrong type. Re-import the "
        "template's custom fields from SInvoice.",
        "Trường động (metadata) thiếu, không tồn tại hoặc sai kiểu dữ liệu."),
    "INVOICE_STATUS_INVALID": (
        "The invoice's status does not allow this: it is already cancelled, replaced or declared for tax, or "
        "cancellation is no longer allowed (since 1 June 2025, Decree 70/2025: issue an adjustment or a "
        "replacement invoice instead).",
        "Trạng thái hóa đơn không cho phép thao tác này (đã hủy, đã bị thay thế, đã kê khai thuế, hoặc không "
        "còn được hủy theo Nghị định 70/2025)."),
    "GENERAL": (
        "SInvoice had an internal error or the session expired. Try again in a moment; if it persists, contact "
        "Viettel.",
        "Lỗi hệ thống SInvoice hoặc phiên đăng nhập đã hết hạn."),
    "REQUEST_FAIL": (
        "SInvoice refused the connection: wrong user name or password, or this server's public IP address is not "
        "in the account's allowed list (SInvoice: Quản lý người dùng → địa chỉ IP).",
        "Sai tài khoản/mật khẩu hoặc địa chỉ IP của máy chủ chưa được khai báo cho tài khoản."),
    "UNAUTHORIZED": (
        "SInvoice refused the user name or password (or the session token).",
        "Sai tên đăng nhập hoặc mật khẩu (hoặc phiên đăng nhập không hợp lệ)."),
    "HTTP_400": ("The request was incomplete or a parameter was missing.", "Yêu cầu thiếu tham số."),
    "HTTP_403": ("SInvoice does not allow this operation for this account.", "Thao tác không được phép."),
    "HTTP_404": (
        "SInvoice does not know this address: wrong service URL, or the operation does not exist on this "
        "SInvoice version.", "Không tìm thấy địa chỉ dịch vụ."),
    "HTTP_415": ("SInvoice did not accept the data format sent (software problem).", "Sai định dạng dữ liệu."),
    "HTTP_422": ("SInvoice could not carry out the request.", "Yêu cầu không thực hiện được."),
    "HTTP_429": ("Too many requests to SInvoice: wait a moment and try again.", "Gửi quá nhiều yêu cầu."),
    "HTTP_500": (
        "SInvoice failed to complete the request (or timed out). If the invoice may have been issued, it is "
        "looked up before anything is sent again.", "Lỗi hệ thống SInvoice."),
}
ERROR_EXPLANATIONS["invalid_grant"] = ERROR_EXPLANATIONS["UNAUTHORIZED"]
ERROR_EXPLANATIONS["error.http.401"] = ERROR_EXPLANATIONS["UNAUTHORIZED"]

_PROBLEM = {
    "REQUIRED": ("is missing", "bị thiếu"), "MAX_LENGTH": ("is too long", "quá dài"),
    "MIN_LENGTH": ("is too short", "quá ngắn"), "LENGTH_INVALID": ("has a wrong length", "sai độ dài"),
    "INVALID": ("is not valid", "không hợp lệ"),
}


def explain(code: str, description: str = "") -> tuple[str, str]:
    """Plain-language (English, Vietnamese) explanation of a SInvoice error code."""
    if code in ERROR_EXPLANATIONS:
        return ERROR_EXPLANATIONS[code]
    if m := BAD_REQUEST_RE.match(code or ""):
        what = m.group(1).lower().replace("_", " ")
        en, vi = _PROBLEM[m.group(2)]
        detail = f" ({description})" if description else ""
        return (f"The field “{what}” of the invoice {en}{detail}.", f"Trường “{what}” {vi}{detail}.")
    if description:
        return (f"SInvoice refused it: {description}", f"SInvoice từ chối: {description}")
    return ("SInvoice refused it without saying why.", "SInvoice từ chối mà không nêu lý do.")


_UNSENDABLE = (
    "The SInvoice user name or password has characters HTTP Basic authentication cannot send (only Latin-1 "
    "letters): nothing was sent. Use the token login (the current API), or set a password without accented "
    "Vietnamese letters at SInvoice.",
    "Tên đăng nhập hoặc mật khẩu SInvoice có ký tự không gửi được qua HTTP Basic (chỉ chữ Latin-1): chưa gửi "
    "gì. Hãy dùng đăng nhập bằng token (API hiện tại) hoặc đặt mật khẩu không dấu tiếng Việt.")
_ALREADY_PAID = {"INVOICE_PAID"}
_ALREADY_UNPAID = {"NO_RECORD_UPDATED"}
_TOKENS: dict = {}  # (login url, user, password hash) → (token, expiry epoch), shared by clients
_TOKENS_LOCK = threading.Lock()


# --- the client -----------------------------------------------------------------------------------


class ViettelSInvoice(Provider):
    """One SInvoice account. ``base_url`` is what comes before ``InvoiceAPI/`` (a trailing ``InvoiceAPI`` is
    accepted); ``supplier_tax_code`` is the issuing company's (or branch's) tax code."""

    name = "viettel"

    def __init__(self, base_url: str = PRODUCTION_URL, username: str = "", password: str = "",
                 supplier_tax_code: str = "", *, auth: str = "token", login_url: str | None = None,
                 token_transport: str = "cookie", date_style: str | None = None,
                 timeouts: Timeouts | tuple[float, float] = DEFAULT_TIMEOUTS, retry: RetryPolicy = DEFAULT_RETRY,
                 batch_size: int = 50, template_code: str | None = None, user_name: str | None = None,
                 session: requests.Session | None = None, token_cache: MutableMapping | None = None,
                 file_retries: int = 3, sleep=time.sleep):
        if auth not in ("token", "basic"):
            raise ValueError("auth is 'token' or 'basic'")
        if token_transport not in ("cookie", "bearer"):
            raise ValueError("token_transport is 'cookie' or 'bearer'")
        base = base_url.rstrip("/")
        if base.endswith("/InvoiceAPI"):
            base = base[: -len("/InvoiceAPI")]
        self.base_url = base + "/"
        self.username = username
        self._password = password
        self.supplier_tax_code = supplier_tax_code or username
        self.auth = auth
        parts = urlsplit(self.base_url)
        self.login_url = login_url or f"{parts.scheme}://{parts.netloc}{LOGIN_PATHS[0]}"
        self.token_transport = token_transport
        self.date_style = date_style or ("text" if auth == "basic" else "ms")
        self.batch_size = max(1, batch_size)
        self.template_code = template_code
        self.user_name = user_name
        self.file_retries = file_retries
        self.retry = retry
        credentials = f"{username}:{password}"  # HTTP Basic, as requests sends it (Latin-1) or in UTF-8
        basic = {base64.b64encode(credentials.encode(encoding, "replace")).decode() for encoding in ("utf-8", "latin-1")}
        self.http = HttpSession(provider="SInvoice", timeouts=timeouts, retry=retry, session=session,
                                secrets=(password, *basic), sleep=sleep)
        self._tokens = token_cache if token_cache is not None else _TOKENS
        self._token_key = (self.login_url, username, hashlib.sha256(password.encode()).hexdigest())
        self._custom_fields: dict[str, list[dict]] = {}  # template → getCustomFields, for `metadata`

    def __repr__(self) -> str:
        return f"<ViettelSInvoice {self.base_url} user={self.username!r} auth={self.auth}>"

    def close(self) -> None:
        self.http.close()

    @property
    def round_trips(self) -> int:
        return self.http.round_trips

    # --- transport -----------------------------------------------------------------------------

    def _url(self, operation: str) -> str:
        return urljoin(self.base_url, PATHS[operation].format(tax=self.supplier_tax_code))

    def login(self, force: bool = False) -> str:
        """The access token (token auth), from the cache or a fresh ``/auth/login``."""
        now = time.time()
        with _TOKENS_LOCK:
            cached = self._tokens.get(self._token_key)
        if cached and not force and cached[1] - 30 > now:
            self.http.add_secret(cached[0])
            return cached[0]
        response = self.http.send("POST", self.login_url, operation="login", idempotent=True,
                                  json={"username": self.username, "password": self._password},
                                  headers={"Accept": "application/json"})
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderAuthError(f"SInvoice login: unreadable answer (HTTP {response.status_code})",
                                    code=f"HTTP_{response.status_code}", http_status=response.status_code,
                                    provider=self.name, secrets=self.http.secrets, operation="login",
                                    explanation=explain(f"HTTP_{response.status_code}")[0])
        token = data.get("access_token") or data.get("id_token")
        for key in ("access_token", "id_token", "refresh_token"):
            self.http.add_secret(data.get(key) or "")
        if response.status_code >= 400 or data.get("code") or data.get("error") or not token:
            code = "UNAUTHORIZED" if response.status_code in (400, 401, 403) or not token else str(data.get("code"))
            en, vi = explain(code)
            detail = self.http.redact(str(data.get("detail") or data.get("error_description") or data.get("title")
                                          or data.get("message") or ""))
            raise ProviderAuthError(f"SInvoice login refused: {en}" + (f" ({detail})" if detail else ""),
                                    code=code, explanation=en, explanation_vi=vi, http_status=response.status_code,
                                    raw=data, provider=self.name, secrets=self.http.secrets, operation="login")
        try:
            lifetime = int(float(str(data.get("expires_in", 300))))
        except ValueError:
            lifetime = 300
        with _TOKENS_LOCK:
            self._tokens[self._token_key] = (token, now + lifetime)
        return token

    def _forget_token(self) -> None:
        with _TOKENS_LOCK:
            self._tokens.pop(self._token_key, None)

    def _auth_kwargs(self) -> dict:
        if self.auth == "basic":
            try:
                f"{self.username}:{self._password}".encode("latin-1")
            except UnicodeEncodeError:  # requests would fail deep inside, with the password in the exception
                raise ProviderAuthError(_UNSENDABLE[0], code="BASIC_AUTH_CHARSET", explanation=_UNSENDABLE[0],
                                        explanation_vi=_UNSENDABLE[1], provider=self.name, operation="login",
                                        secrets=self.http.secrets) from None
            return {"auth": (self.username, self._password)}
        token = self.login()
        if self.token_transport == "bearer":
            return {"headers": {"Authorization": f"Bearer {token}"}}
        return {"cookies": {"access_token": token}}

    def _check(self, response: requests.Response) -> Exception | None:
        """Errors to raise at once, before the generic handling of 5xx."""
        if response.status_code == 500:
            text = response.text[:200].strip().lower()
            if "request fail" in text:  # seed 001: wrong account/password or IP → "500 Request Fail"
                en, vi = explain("REQUEST_FAIL")
                return ProviderAuthError(en, code="REQUEST_FAIL", explanation=en, explanation_vi=vi,
                                         http_status=500, provider=self.name, secrets=self.http.secrets)
            if self.auth == "token" and '"general"' in text:
                self._forget_token()  # GENERAL + 500: also what an expired token gives; log in again next time
        return None

    def _call(self, operation: str, *, json_body=None, form: dict | None = None, query: dict | None = None,
              method: str = "POST", idempotent: bool, raw_errors: bool = False):
        url = self._url(operation)
        for attempt in (0, 1):
            kwargs = self._auth_kwargs()
            headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
            if json_body is not None:
                kwargs["json"] = json_body
            if form is not None:
                kwargs["data"] = {k: v for k, v in form.items() if v is not None}
            if query is not None:
                kwargs["params"] = {k: v for k, v in query.items() if v is not None}
            response = self.http.send(method, url, operation=operation, idempotent=idempotent, check=self._check,
                                      headers=headers, **kwargs)
            if response.status_code == 401 and self.auth == "token" and attempt == 0:
                self._forget_token()  # expired or revoked: a 401 was not processed, so sending again is safe
                continue
            return self._answer(response, operation)
        raise AssertionError("unreachable")

    def _refused(self, operation: str, code: str, description: str, status: int, raw,
                 cls: type[ProviderError] = ProviderRefused) -> ProviderError:
        description = self.http.redact(description or "")
        en, vi = explain(code, description)
        message = f"SInvoice {operation}: {code}" + (f" — {description}" if description else "") + f". {en}"
        return cls(message, code=code, explanation=en, explanation_vi=vi, http_status=status, raw=raw,
                   provider=self.name, secrets=self.http.secrets, operation=operation)

    def _answer(self, response: requests.Response, operation: str):
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        if data is None:
            if status < 300:
                if operation in ("createInvoice", "createBatchInvoice"):
                    raise ProviderUnknownOutcome(f"SInvoice {operation}: unreadable answer (HTTP {status}); unknown "
                                                 "whether it went through", http_status=status, provider=self.name, secrets=self.http.secrets,
                                                 operation=operation)
                raise ProviderError(f"SInvoice {operation}: unreadable answer (HTTP {status})", http_status=status,
                                    provider=self.name, secrets=self.http.secrets, operation=operation)
            code = f"HTTP_{status}"
            cls = ProviderAuthError if status == 401 else ProviderRefused
            raise self._refused(operation, "UNAUTHORIZED" if status == 401 else code,
                                response.text[:200].strip(), status, None, cls)
        if isinstance(data, dict):
            if found := envelope_error(data, status):
                code, detail = found
                if status == 401 or code in ("HTTP_401", "UNAUTHORIZED"):
                    raise self._refused(operation, "UNAUTHORIZED", detail, status, data, ProviderAuthError)
                raise self._refused(operation, code, detail, status, data)
            if found := business_error(data):
                raise self._refused(operation, *found, status, data)
        if status >= 400:
            cls = ProviderAuthError if status == 401 else ProviderRefused
            raise self._refused(operation, "UNAUTHORIZED" if status == 401 else f"HTTP_{status}", "", status, data, cls)
        return data

    # --- bodies ----------------------------------------------------------------------------------

    def build_body(self, invoice: Invoice | dict, *, transaction_uuid: str | None = None, **options) -> dict:
        """The ``commonInvoiceInput`` sent for an invoice (or a copy of a ready body) with its key set.

        Options go to :func:`~.sinvoice_mapping.to_sinvoice`. By default an invoice dated today (GMT+7) is
        issued "now" (SInvoice wants issue times in numbering order), ``template_code`` and ``user_name``
        come from the client, and the custom fields of an invoice's ``extra`` (the ``metadata`` block) get
        their ids from ``getCustomFields`` (read once per template).
        """
        options.pop("original_transaction_uuid", None)  # SInvoice names the original by number, not by key
        if isinstance(invoice, dict):
            body = copy.deepcopy(invoice)
            general = body.setdefault("generalInvoiceInfo", {})
            if transaction_uuid:
                if general.get("transactionUuid") not in (None, "", transaction_uuid):
                    raise ValidationError.at("generalInvoiceInfo.transactionUuid",
                                             "the body already has another transactionUuid")
                general["transactionUuid"] = transaction_uuid
        else:
            if options.get("issued_at") is None and invoice.issue_date == datetime.now(GMT7).date():
                options["issued_at"] = datetime.now(GMT7).replace(microsecond=0)
            if options.get("template_code") is None and self.template_code:
                options["template_code"] = self.template_code
            extras = (*invoice.extra, *invoice.seller.extra, *invoice.buyer.extra,
                      *(invoice.totals.extra if invoice.totals else ()))
            code = invoice.template if "/" in invoice.template else options.get("template_code")  # legacy as is
            if extras and options.get("custom_fields") is None and code:  # ids and labels for `metadata`
                if code not in self._custom_fields:
                    self._custom_fields[code] = self.custom_fields_raw(code)
                options["custom_fields"] = self._custom_fields[code]
            related = invoice.related
            if (options.get("original_template_code") is None and related is not None and self.template_code
                    and related.template == self.template_code.split("/")[0]):
                options["original_template_code"] = self.template_code
            if options.get("user_name") is None and self.user_name:
                options["user_name"] = self.user_name
            body = to_sinvoice(invoice, transaction_uuid=transaction_uuid, **options)
        uuid = str((body.get("generalInvoiceInfo") or {}).get("transactionUuid") or "")
        if not uuid:
            raise ValidationError.at("generalInvoiceInfo.transactionUuid",
                                     "a stable transaction_uuid per invoice is required (idempotency key)")
        if len(uuid) > 36:
            raise ValidationError.at("generalInvoiceInfo.transactionUuid", "at most 36 characters")
        return body

    def _result(self, answer: dict, body: dict | None = None, *, found: bool = False) -> IssueResult:
        result = (answer or {}).get("result")
        if isinstance(result, list):
            result = result[0] if result else None
        if not isinstance(result, dict) or not result.get("invoiceNo"):
            raise ProviderUnknownOutcome("SInvoice answered without an invoice number; unknown whether it went "
                                         "through", raw=answer, provider=self.name, secrets=self.http.secrets, operation="createInvoice")
        general = (body or {}).get("generalInvoiceInfo") or {}
        symbol, number = invoice_number(str(result["invoiceNo"]))
        issued = answer_time(result.get("issueDate")) or answer_time(general.get("invoiceIssuedDate"))
        paid, cancelled = read_status(result.get("status")) if "status" in result else (None, False)
        return IssueResult(
            invoice_no=str(result["invoiceNo"]), symbol=symbol or str(general.get("invoiceSeries") or ""),
            number=number, template=str(result.get("templateCode") or general.get("templateCode") or ""),
            issued_at=issued, reservation_code=str(result.get("reservationCode") or ""),
            authority_code=str(result.get("codeOfTax") or ""),
            transaction_uuid=str(answer.get("transactionUuid") or general.get("transactionUuid") or ""),
            transaction_id=str(result.get("transactionID") or result.get("transactionId") or ""),
            found_by_lookup=found, paid=paid, cancelled=cancelled,
            exchange_status=str(result.get("exchangeStatus") or ""), raw=answer)

    # --- issuing ---------------------------------------------------------------------------------

    def create_invoice(self, body: dict) -> dict:
        """One raw ``createInvoice`` (no look-up, no retry): the answer, or an error."""
        return self._call("createInvoice", json_body=body, idempotent=False)

    def issue(self, invoice: Invoice | dict, *, transaction_uuid: str | None = None, maybe_sent: bool = False,
              **options) -> IssueResult:
        """Issue an original, replacement or adjustment invoice exactly once per ``transaction_uuid``.

        ``maybe_sent=True`` (an earlier attempt may have gone through) looks it up before sending. Raises
        ProviderRefused (not issued), ProviderAuthError, ProviderUnavailable (nothing sent) or, when even the
        look-ups kept failing, ProviderUnknownOutcome (look it up later; never issue it under a new key).
        """
        body = self.build_body(invoice, transaction_uuid=transaction_uuid, **options)
        return self._issue_body(body, maybe_sent=maybe_sent)

    def _lookup_found(self, uuid: str, body: dict) -> IssueResult | None:
        found = self.lookup(uuid)
        if found is None:
            return None
        general = body.get("generalInvoiceInfo") or {}
        return replace(found, found_by_lookup=True, template=found.template or str(general.get("templateCode") or ""),
                       issued_at=found.issued_at or answer_time(general.get("invoiceIssuedDate")),
                       transaction_uuid=uuid)

    def _issue_body(self, body: dict, *, maybe_sent: bool = False) -> IssueResult:
        uuid = str(body["generalInvoiceInfo"]["transactionUuid"])
        look_up, uncertain, wait, last = maybe_sent, maybe_sent, None, None
        for attempt in range(max(1, self.retry.attempts)):
            if attempt:
                self.http.sleep(self.retry.delay(attempt - 1, wait))
            if look_up:
                try:
                    found = self._lookup_found(uuid, body)
                except (ProviderUnavailable, ProviderUnknownOutcome) as e:
                    last = e  # the look-up kept failing (it retries on its own): cannot tell, do not send
                    break
                if found is not None:
                    return found
                look_up = False
            try:
                answer = self.create_invoice(body)
            except ProviderUnavailable as e:  # not sent
                last, wait = e, e.retry_after
                continue
            except ProviderUnknownOutcome as e:
                last, wait, look_up, uncertain = e, e.retry_after, True, True
                continue
            except ProviderRefused as e:
                if e.code == "GENERAL":  # SInvoice's internal error (or an expired session): may have gone through
                    last, wait, look_up, uncertain = e, None, True, True
                    continue
                if e.code == "TRANSACTION_UUID_INVALID":  # this key was used: the invoice exists already
                    found = self._lookup_found(uuid, body)
                    if found is not None:
                        return found
                raise
            try:
                return self._result(answer, body)
            except ProviderUnknownOutcome as e:
                last, wait, look_up, uncertain = e, None, True, True
        else:
            if look_up:  # one last look before giving up
                try:
                    found = self._lookup_found(uuid, body)
                except (ProviderUnavailable, ProviderUnknownOutcome):
                    found = None
                if found is not None:
                    return found
        if uncertain:  # an earlier request may still be on its way: only a look-up can tell
            raise ProviderUnknownOutcome(
                f"SInvoice createInvoice: unknown whether invoice {uuid} was issued ({last}); look it up by its "
                "transaction uuid, and send it again only with the same uuid", provider=self.name, secrets=self.http.secrets,
                operation="createInvoice", transaction_uuid=uuid, http_status=getattr(last, "http_status", None),
                retry_after=getattr(last, "retry_after", None)) from last
        assert last is not None
        last.transaction_uuid = uuid
        raise last

    def adjust(self, invoice: Invoice, *, transaction_uuid: str, kind: str, agreement_name: str,
               agreement_date: date | datetime, maybe_sent: bool = False, **options) -> IssueResult:
        if not invoice.is_adjustment:
            raise ValidationError.at("related", "an adjustment invoice needs related=RelatedInvoice(ADJUSTMENT, …)")
        if str(kind).lower() not in ("money", "information", "1", "2"):
            raise ValidationError.at("kind", "money or information")
        return self.issue(invoice, transaction_uuid=transaction_uuid, maybe_sent=maybe_sent, adjustment_type=kind,
                          agreement_name=agreement_name, agreement_date=agreement_date, **options)

    def replace(self, invoice: Invoice, *, transaction_uuid: str, agreement_name: str,
                agreement_date: date | datetime, maybe_sent: bool = False, **options) -> IssueResult:
        if invoice.related is None or invoice.related.relation is not RelationKind.REPLACEMENT:
            raise ValidationError.at("related", "a replacement invoice needs related=RelatedInvoice(REPLACEMENT, …)")
        return self.issue(invoice, transaction_uuid=transaction_uuid, maybe_sent=maybe_sent,
                          agreement_name=agreement_name, agreement_date=agreement_date, **options)

    def save_draft(self, invoice: Invoice | dict, *, transaction_uuid: str | None = None, **options) -> DraftResult:
        """``createOrUpdateInvoiceDraft``: a draft without a number, updated while the key stays the same."""
        body = self.build_body(invoice, transaction_uuid=transaction_uuid, **options)
        answer = self._call("createOrUpdateInvoiceDraft", json_body=body, idempotent=True)
        return DraftResult(str(body["generalInvoiceInfo"]["transactionUuid"]), answer)

    def preview(self, invoice: Invoice | dict, *, transaction_uuid: str | None = None, **options) -> FileResult:
        """``createInvoiceDraftPreview``: the PDF the invoice would have; nothing is stored."""
        body = self.build_body(invoice, transaction_uuid=transaction_uuid, **options)
        answer = self._call("createInvoiceDraftPreview", json_body=body, idempotent=True)
        return self._file(answer, FileKind.PDF, "preview.pdf")

    def create_batch(self, bodies: Sequence[dict]) -> dict:
        """One raw ``createBatchInvoice`` (no look-up, no retry)."""
        return self._call("createBatchInvoice", json_body={"commonInvoiceInputs": list(bodies)}, idempotent=False)

    def issue_batch(self, entries: Sequence[BatchEntry | tuple], *, resume: bool = False) -> BatchResult:
        """Issue invoices by ``createBatchInvoice`` (``batch_size`` per request), each exactly once.

        After an unknown outcome each invoice of the request is looked up; only those not found are sent
        again. ``resume=True`` (or ``BatchEntry.maybe_sent``), after a crash: look each up first.
        """
        entries = [e if isinstance(e, BatchEntry) else BatchEntry(*e) for e in entries]
        items: dict[int, BatchItem] = {}
        bodies: dict[int, dict] = {}
        state: dict[int, str] = {}  # "look" or "send"
        seen: set[str] = set()
        for i, e in enumerate(entries):
            try:
                body = self.build_body(e.invoice, transaction_uuid=e.transaction_uuid, **e.options)
                uuid = str(body["generalInvoiceInfo"]["transactionUuid"])
                if uuid in seen:
                    raise ValidationError.at("generalInvoiceInfo.transactionUuid", f"{uuid} twice in the batch")
            except ValidationError as err:
                items[i] = BatchItem(e.transaction_uuid or "", error=err)
                continue
            seen.add(uuid)
            bodies[i] = body
            state[i] = "look" if resume or e.maybe_sent else "send"
        wait = None
        uuid_of = {i: str(b["generalInvoiceInfo"]["transactionUuid"]) for i, b in bodies.items()}
        for attempt in range(max(1, self.retry.attempts)):
            if not state:
                break
            if attempt:
                self.http.sleep(self.retry.delay(attempt - 1, wait))
                wait = None
            for i in [i for i, s in state.items() if s == "look"]:
                try:
                    found = self._lookup_found(uuid_of[i], bodies[i])
                except (ProviderUnavailable, ProviderUnknownOutcome) as e:
                    wait = e.retry_after
                    continue
                if found is not None:
                    items[i] = BatchItem(uuid_of[i], found)
                    del state[i]
                else:
                    state[i] = "send"
            sending = [i for i, s in state.items() if s == "send"]
            for start in range(0, len(sending), self.batch_size):
                chunk = sending[start:start + self.batch_size]
                try:
                    answer = self.create_batch([bodies[i] for i in chunk])
                except ProviderUnavailable as e:
                    wait = e.retry_after
                    continue
                except ProviderUnknownOutcome as e:
                    wait = e.retry_after
                    state.update(dict.fromkeys(chunk, "look"))
                    continue
                except ProviderRefused as e:  # the whole request refused (malformed, auth…): nothing issued
                    for i in chunk:
                        items[i] = BatchItem(uuid_of[i], error=e)
                        del state[i]
                    continue
                self._batch_answer(answer, chunk, bodies, uuid_of, items, state)
        for i, s in state.items():
            if s == "look":
                err: ProviderError = ProviderUnknownOutcome(
                    f"SInvoice createBatchInvoice: unknown whether invoice {uuid_of[i]} was issued; look it up "
                    "before sending it again", provider=self.name, secrets=self.http.secrets, operation="createBatchInvoice",
                    transaction_uuid=uuid_of[i])
            else:
                err = ProviderUnavailable(f"SInvoice createBatchInvoice: invoice {uuid_of[i]} could not be sent",
                                          provider=self.name, secrets=self.http.secrets, operation="createBatchInvoice",
                                          transaction_uuid=uuid_of[i])
            items[i] = BatchItem(uuid_of[i], error=err)
        return BatchResult(tuple(items[i] for i in sorted(items)))

    def _batch_answer(self, answer, chunk, bodies, uuid_of, items, state) -> None:
        outputs = (answer or {}).get("createInvoiceOutputs") or []
        by_uuid = {str(o.get("transactionUuid")): o for o in outputs if isinstance(o, dict) and o.get("transactionUuid")}
        positional = len(outputs) == len(chunk) and not by_uuid
        for k, i in enumerate(chunk):
            out = outputs[k] if positional else by_uuid.get(uuid_of[i])
            if out is None:
                state[i] = "look"  # no word about it: look it up
                continue
            code = out.get("errorCode")
            if succeeded(code):
                try:
                    items[i] = BatchItem(uuid_of[i], self._result({**out, "transactionUuid": uuid_of[i]}, bodies[i]))
                    del state[i]
                except ProviderUnknownOutcome:
                    state[i] = "look"
            elif str(code) == "TRANSACTION_UUID_INVALID":
                state[i] = "look"
            else:
                items[i] = BatchItem(uuid_of[i], error=self._refused("createBatchInvoice", str(code),
                                                                       str(out.get("description") or ""), 200, out))
                del state[i]

    def lookup(self, transaction_uuid: str) -> IssueResult | None:
        """``searchInvoiceByTransactionUuid``: the invoice issued with this key, or None."""
        try:
            answer = self._call("searchInvoiceByTransactionUuid", idempotent=True, form={
                "supplierTaxCode": self.supplier_tax_code, "transactionUuid": transaction_uuid})
        except ProviderRefused as e:
            if e.code in ("NOT_FOUND_DATA", "HTTP_404"):
                return None
            raise
        result = answer.get("result") if isinstance(answer, dict) else None
        if not result:
            return None
        return self._result({**answer, "transactionUuid": transaction_uuid}, found=True)

    # --- after issue -----------------------------------------------------------------------------

    def _date_param(self, moment: datetime | date) -> str:
        return str(ms(moment)) if self.date_style == "ms" else text_date(moment)

    def _issued_at(self, ref: InvoiceRef) -> datetime:
        if ref.issued_at is not None:
            return ref.issued_at
        if ref.transaction_uuid and (found := self.lookup(ref.transaction_uuid)) and found.issued_at:
            return found.issued_at
        raise ValidationError.at("issued_at", f"the issue time of {ref.invoice_no} is needed")

    def cancel(self, ref: InvoiceRef, *, agreement_name: str, agreement_date: date | datetime,
               reason: str = "") -> None:
        """``cancelTransactionInvoice`` (seed 001 §1.1.5). Refused on accounts where Decree 70/2025 ended it."""
        form = {"supplierTaxCode": self.supplier_tax_code, "templateCode": ref.template or None,
                "invoiceNo": ref.invoice_no, "strIssueDate": self._date_param(self._issued_at(ref)),
                "additionalReferenceDesc": agreement_name,
                "additionalReferenceDate": self._date_param(agreement_date), "reasonDelete": reason or None}
        self._call("cancelTransactionInvoice", form=form, idempotent=False)

    def set_payment_status(self, ref: InvoiceRef, paid: bool, *, payment_type: str = "TM/CK",
                           payment_type_name: str | None = None, buyer_email: str | None = None) -> PaymentResult:
        """``updatePaymentStatus``/``cancelPaymentStatus``. Looks the status up first (when the ref has its
        transaction uuid): SInvoice refuses to set the status it already has."""
        if ref.transaction_uuid:
            current = self.lookup(ref.transaction_uuid)
            if current is not None and current.paid is paid:
                return PaymentResult(paid, changed=False, raw=current.raw)
        operation = "updatePaymentStatus" if paid else "cancelPaymentStatus"
        form = {"supplierTaxCode": self.supplier_tax_code, "invoiceNo": ref.invoice_no,
                "strIssueDate": self._date_param(self._issued_at(ref))}
        if paid:
            form.update({"templateCode": ref.template, "buyerEmailAddress": buyer_email, "paymentType": payment_type,
                         "paymentTypeName": payment_type_name or payment_type, "cusGetInvoiceRight": "true"})
        try:
            answer = self._call(operation, form=form, idempotent=False)
        except ProviderUnknownOutcome:
            if not ref.transaction_uuid:
                raise
            current = self.lookup(ref.transaction_uuid)
            if current is not None and current.paid is paid:
                return PaymentResult(paid, changed=True, raw=current.raw)
            answer = self._call(operation, form=form, idempotent=False)
        except ProviderRefused as e:
            if e.code in (_ALREADY_PAID if paid else _ALREADY_UNPAID):
                return PaymentResult(paid, changed=False, raw=e.raw)
            raise
        return PaymentResult(paid, changed=True, paid_at=answer_time(answer.get("paymentTime")),
                             method=str(answer.get("paymentMethod") or ""), raw=answer)

    # --- files -----------------------------------------------------------------------------------

    def _file(self, answer: dict, kind: FileKind, default_name: str) -> FileResult:
        content = decode_file(answer.get("fileToBytes") or "")
        mimetype = {FileKind.PDF: "application/pdf", FileKind.EXCHANGE_PDF: "application/pdf",
                    FileKind.ZIP: "application/zip", FileKind.XML: "application/xml"}[kind]
        name = str(answer.get("fileName") or default_name)
        ext = {FileKind.ZIP: ".zip", FileKind.XML: ".xml"}.get(kind, ".pdf")
        if not name.lower().endswith(ext):
            name += ext
        return FileResult(name, content, kind, mimetype, answer_flag(answer.get("paymentStatus")), answer)

    def download(self, ref: InvoiceRef, kind: FileKind | str = FileKind.PDF, *,
                 exchange_user: str | None = None) -> FileResult:
        """``getInvoiceRepresentationFile`` PDF or ZIP; XML is taken out of the ZIP (nested or flat);
        ``EXCHANGE_PDF`` is the converted copy (``createExchangeInvoiceFile``)."""
        kind = FileKind(kind)
        if kind is FileKind.EXCHANGE_PDF:
            return self.exchange_file(ref, exchange_user or self.user_name or self.username)
        wire = FileKind.PDF if kind is FileKind.PDF else FileKind.ZIP
        body = {"supplierTaxCode": self.supplier_tax_code, "invoiceNo": ref.invoice_no, "pattern": ref.template,
                "templateCode": ref.template, "fileType": wire.value.upper()}
        safe_no = ref.invoice_no.replace("/", "_")
        for attempt in range(max(1, self.file_retries)):
            if attempt:
                self.http.sleep(0.125 * attempt)  # files can appear a moment after the issue
            answer = self._call("getInvoiceRepresentationFile", json_body=body, idempotent=True)
            if answer.get("fileToBytes"):
                break
        else:
            raise ProviderUnavailable(f"SInvoice: the {wire.value.upper()} of {ref.invoice_no} is not ready yet",
                                      provider=self.name, secrets=self.http.secrets, operation="getInvoiceRepresentationFile")
        result = self._file(answer, wire, safe_no)
        if kind is not FileKind.XML:
            return result
        found = xml_in_zip(result.content)
        if found is None:
            raise ProviderError(f"SInvoice: no XML in the ZIP of {ref.invoice_no}", provider=self.name, secrets=self.http.secrets,
                                operation="getInvoiceRepresentationFile")
        return FileResult(found[0], found[1], FileKind.XML, "application/xml", result.paid, answer)

    def portal_file(self, invoice_no: str, reservation_code: str, issued_at: datetime, *, file_type: str = "zip",
                    buyer_id_no: str | None = None, method: str = "POST") -> FileResult:
        """``getInvoiceFilePortal``: the file a buyer gets with the secret code (form, or query with GET)."""
        params = {"supplierTaxCode": self.supplier_tax_code, "invoiceNo": invoice_no,
                  "reservationCode": reservation_code, "strIssueDate": text_date(issued_at),
                  "fileType": file_type.lower(), "buyerIdNo": buyer_id_no}
        if method.upper() == "GET":
            answer = self._call("getInvoiceFilePortal", query=params, method="GET", idempotent=True)
        else:
            answer = self._call("getInvoiceFilePortal", form=params, idempotent=True)
        kind = {"zip": FileKind.ZIP, "xml": FileKind.XML}.get(file_type.lower(), FileKind.PDF)
        return self._file(answer, kind, f"{reservation_code}-{invoice_no.replace('/', '_')}")

    def exchange_file(self, ref: InvoiceRef, exchange_user: str) -> FileResult:
        """``createExchangeInvoiceFile``: the converted copy (hóa đơn chuyển đổi) as PDF."""
        form = {"supplierTaxCode": self.supplier_tax_code, "invoiceNo": ref.invoice_no,
                "templateCode": ref.template or None, "strIssueDate": text_date(self._issued_at(ref)),
                "exchangeUser": exchange_user}
        answer = self._call("createExchangeInvoiceFile", form=form, idempotent=True)
        return self._file(answer, FileKind.EXCHANGE_PDF, f"{ref.invoice_no.replace('/', '_')}-exchange")

    def send_email(self, transaction_uuids: Sequence[str]) -> None:
        """``sendHtmlMailProcess``: SInvoice e-mails these invoices to their buyers."""
        self._call("sendHtmlMailProcess", idempotent=False, json_body={
            "supplierTaxCode": self.supplier_tax_code, "lstTransactionUuid": ",".join(transaction_uuids)})

    # --- reports and set-up ----------------------------------------------------------------------

    def _listed(self, row: dict) -> ListedInvoice:
        invoice_no = str(row.get("invoiceNo") or "")
        symbol, number = invoice_number(invoice_no)
        if row.get("invoiceNumber") and number is None:
            number = int(str(row["invoiceNumber"])) if str(row["invoiceNumber"]).isdigit() else None
        paid = row.get("paymentStatus")
        return ListedInvoice(
            invoice_no=invoice_no, template=str(row.get("templateCode") or ""),
            symbol=str(row.get("invoiceSeri") or symbol), number=number,
            issued_at=answer_time(row.get("issueDate")), buyer_name=str(row.get("buyerName") or ""),
            buyer_tax_code=str(row.get("buyerTaxCode") or ""), total=row.get("total"),
            total_before_tax=row.get("totalBeforeTax"), tax_amount=row.get("taxAmount"),
            currency=str(row.get("currency") or ""),
            paid=None if paid is None else (read_status(paid)[0] if isinstance(paid, str) and not paid.isdigit()
                                            else answer_flag(paid)),
            adjustment_type=str(row.get("adjustmentType") or ""),
            transaction_uuid=str(row.get("transactionUuid") or ""),
            reservation_code=str(row.get("reservationCode") or ""),
            exchange_status=str(row.get("exchangeStatus") or ""), raw=row)

    def list_invoices(self, start: date, end: date, *, page: int = 1, per_page: int = 50,
                      **filters) -> InvoicePage:
        """``getInvoices``: issued invoices between two dates (filters: invoiceType, templateCode,
        invoiceSeri, invoiceNo, buyerTaxCode, buyerIdNo, contractNo, contractId, customerId)."""
        body = {"startDate": start.isoformat(), "endDate": end.isoformat(), "rowPerPage": per_page,
                "pageNum": page, **{k: v for k, v in filters.items() if v is not None}}
        answer = self._call("getInvoices", json_body=body, idempotent=True)
        rows = tuple(self._listed(r) for r in answer.get("invoices") or [])
        return InvoicePage(int(answer.get("totalRow") or answer.get("totalRows") or len(rows)), rows)

    def invoices_between(self, start: date, end: date) -> list[ListedInvoice]:
        """``getListInvoiceDataControl``: every invoice issued between two dates (reconciliation)."""
        answer = self._call("getListInvoiceDataControl", idempotent=True, json_body={
            "supplierTaxCode": self.supplier_tax_code, "fromDate": day_text(start),
            "toDate": day_text(end)})
        return [self._listed(r) for r in answer.get("lstInvoiceBO") or answer.get("invoices") or []]

    def custom_fields(self, template: str | None = None) -> list[CustomField]:
        """``getCustomFields`` (GET): the template's custom fields, for ``metadata`` (and to_sinvoice's
        ``custom_fields=``, which takes the raw list: :meth:`custom_fields_raw`)."""
        return [CustomField(id=int(f["id"]), key=str(f.get("keyTag") or ""), label=str(f.get("keyLabel") or ""),
                            value_type=str(f.get("valueType") or "text"),
                            required=bool(answer_flag(f.get("isRequired"))),
                            seller_side=bool(answer_flag(f.get("isSeller"))),
                            template_prototype_id=f.get("invoiceTemplatePrototypeId"))
                for f in self.custom_fields_raw(template)]

    def custom_fields_raw(self, template: str | None = None) -> list[dict]:
        answer = self._call("getCustomFields", method="GET", idempotent=True,
                            query={"taxCode": self.supplier_tax_code, "templateCode": template})
        rows = answer if isinstance(answer, list) else (answer or {}).get("customFields") or []
        return [r for r in rows if isinstance(r, dict) and r.get("id") is not None]

    def templates(self) -> list[TemplateInfo]:
        """``getAllInvoiceTemplates``: the templates and series registered for the company."""
        answer = self._call("getAllInvoiceTemplates", idempotent=True,
                            json_body={"taxCode": self.supplier_tax_code, "invoiceType": "all"})
        return [TemplateInfo(str(t.get("templateCode") or ""), str(t.get("invoiceSeri") or ""),
                              str(t.get("invoiceType") or ""), t)
                for t in answer.get("template") or [] if isinstance(t, dict)]

    def usage(self, template: str, symbol: str) -> UsageRow:
        """``getProvidesStatusUsingInvoice``: invoices issued in a series and the size of its range."""
        answer = self._call("getProvidesStatusUsingInvoice", idempotent=True, json_body={
            "supplierTaxCode": self.supplier_tax_code, "pattern": template, "serial": symbol})
        total = answer.get("totalInv")
        return UsageRow(template, symbol, int(answer.get("numOfpublishInv") or 0),
                        None if total is None else int(total))

    def update_tax_declaration(self, day: date) -> None:
        """``updateTaxDeclaration`` (seed 001 §1.1.10): mark the invoices of a day as declared."""
        self._call("updateTaxDeclaration", idempotent=True, json_body={
            "supplierTaxCode": self.supplier_tax_code, "strIssueDate": day_text(day)})

    def check_connection(self) -> list[TemplateInfo]:
        """Log in and read the templates (falls back to the custom fields on versions without them)."""
        if self.auth == "token":
            self.login(force=True)
        try:
            return self.templates()
        except ProviderRefused as e:
            if e.code != "HTTP_404":
                raise
            self.custom_fields_raw()
            return []
