"""The generic e-invoice portal API of seed 002 (``apikey``/``sessionkey`` headers, JSON): every endpoint.

=========================================  ======  ==============================================
endpoint                                   method  here
=========================================  ======  ==============================================
``/invoice/create``                        POST    :meth:`PortalProvider.issue` (:meth:`create`)
``/invoice/update/{invoiceNumber}``        PUT     :meth:`PortalProvider.update`
``/invoice/deleteLastInvoiceNoSign/{no}``  DELETE  :meth:`PortalProvider.delete_last_unsigned`
``/invoice/getStatus``                     POST    :meth:`PortalProvider.status`
``/invoice/getIssuerFormInvoice``          GET     :meth:`PortalProvider.templates`
``/invoice/getBillsByDate``                POST    :meth:`PortalProvider.bills_by_date`
=========================================  ======  ==============================================

Authentication: every request carries the headers ``apikey`` (issued to the accounting server) and
``sessionkey`` ("issued by the program"). Seed 002 names **no login endpoint**: both keys are account
settings, given here as ``username`` (apikey) and ``password`` (sessionkey), and both are secrets (never
logged, masked in errors). A refused key is :class:`~.base.ProviderAuthError` (HTTP 401/403, or
``responsecode`` 401/403).

States: ``InvoiceStatus`` CREATED/USING/CANCEL/ADJUSTED/CHANGE/DELETE and ``SignStatus``
NOSIGN/SIGNED/CUSSIGNED are this library's own (:mod:`vn_einvoice.lifecycle`): :func:`read_state`
maps them one to one; an unknown word is a named error, never guessed.

Errors: every answer has ``responsecode`` (0 = success) and ``responsemessage``. Seed 002 defines only
0; the other codes below are those of this library's sandbox, explained in words by
:data:`ERROR_EXPLANATIONS`; any other code is shown with the portal's own message.

Idempotency — the API has **no** idempotency key, and ``/invoice/create`` gives a new number each time
(the client still sends ``Idempotency-Key: <transaction_uuid>``, which Odoo's own server honours).
So before the first send :meth:`issue` reads the series' invoices of that day (``getBillsByDate``) and
keeps the highest number (the *watermark*; once per series and day and client: then the last number this
client got is the watermark — lower than the true highest when others issue too, which only widens the
look-up). When the outcome of a create is unknown (timeout after
sending, dropped connection, 429, 5xx, unreadable answer) it waits ``settle`` seconds (default: the read
timeout), so that a request held up on its way lands first, then reads the day again and looks, above the
watermark in the same form and serial, for an invoice with the same *fingerprint* (customer tax code,
customer name, e-mail, amount before tax, VAT, total; not deleted). One match: that is ours
(``found_by_lookup``); none: nothing was created, send again; several: it cannot tell, and raises
:class:`~.base.ProviderUnknownOutcome` (never sends again). The watermark and fingerprint of a key are
kept by the client (:meth:`pending`) and can be handed back after a restart
(``issue(…, maybe_sent=True, after_number=N)``, ``lookup(key, invoice, after_number=N)``; the Odoo addon keeps,
with the key and before the first send, the highest number it recorded in the series, a lower bound that
needs no request); without any the whole day is searched, so an identical
invoice issued earlier that day (same series, customer and amounts) makes the look-up refuse to guess
(ProviderUnknownOutcome) — or, if the invoice of this key never arrived, be taken for it: a caller that
records numbers (the Odoo addon) then refuses the number already used by its other invoice. Limit: another program issuing an invoice identical in
all those fields in the same series, on the same day, inside that window, would be taken for ours;
there is no field the portal returns that could carry a key without changing the invoice's content. And a
create held up longer than ``settle`` and processed after the look-up found nothing makes a second
invoice that this call cannot see; a later look-up refuses to guess between them (ProviderUnknownOutcome)
and the period's list (:meth:`invoices_between`) shows it, to be deleted at the portal
(``deleteLastInvoiceNoSign`` while unsigned). Set ``settle`` above the portal's worst queueing time.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import requests

from ..amounts import complete
from ..codes import TaxRate
from ..document import Invoice, LineKind
from ..errors import ValidationError
from ..lifecycle import SignStatus, State
from .base import (
    FileKind,
    FileResult,
    InvoicePage,
    InvoiceRef,
    IssueResult,
    ListedInvoice,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderNotSupported,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
    TemplateInfo,
)
from .http import HttpSession, RetryPolicy, Timeouts

__all__ = ["ERROR_EXPLANATIONS", "PATHS", "PortalProvider", "PortalStatus", "explain", "read_state", "to_portal"]

GMT7 = timezone(timedelta(hours=7))
DEFAULT_TIMEOUTS = Timeouts(connect=10.0, read=60.0)
DEFAULT_RETRY = RetryPolicy()

PATHS = {
    "create": ("POST", "invoice/create"),
    "update": ("PUT", "invoice/update/{no}"),
    "deleteLastInvoiceNoSign": ("DELETE", "invoice/deleteLastInvoiceNoSign/{no}"),
    "getStatus": ("POST", "invoice/getStatus"),
    "getIssuerFormInvoice": ("GET", "invoice/getIssuerFormInvoice"),
    "getBillsByDate": ("POST", "invoice/getBillsByDate"),
}

# seed 002's required fields of /invoice/create and /invoice/update (String or Number)
INVOICE_FIELDS: dict[str, tuple[type, bool]] = {
    "CompanyName": (str, True), "CompanyAddress": (str, True), "CompanyTaxCode": (str, True),
    "InvoiceForm": (str, True), "SerialNo": (str, True), "InvoiceDate": (str, True), "PaymentDate": (str, True),
    "Tax": (Decimal, True), "TotalTax": (Decimal, True), "TotalBeforTax": (Decimal, True),
    "TotalAfterTax": (Decimal, True), "AmountWords": (str, True), "CurrencyCode": (str, True),
    "ExchangeRates": (Decimal, True), "CustomerName": (str, True), "CustomerTaxCode": (str, True),
    "CustomerCompanyName": (str, True), "CustomerAddress": (str, True), "CustomerPhone": (str, False),
    "CustomerMobile": (str, False), "CustomerFax": (str, False), "CustomerEmail": (str, True),
    "CustomerWebsite": (str, False), "CustomerBankAccountNo": (str, False), "CustomerBankName": (str, False),
    "CustomerPaymentMethodID": (str, True), "Remark": (str, False), "InvoiceProducts": (list, True),
}
PRODUCT_FIELDS: dict[str, tuple[type, bool]] = {
    "Id": (str, False), "Name": (str, True), "Unit": (str, True), "Quantity": (Decimal, True),
    "Cost": (Decimal, True), "Amount": (Decimal, True),
}
# seed 002 has one "Tax" number per invoice; no-VAT rates as portals commonly write them
NO_VAT_RATES = {"KCT": -1, "KKKNT": -2}

# Plain words: responsecode → (English, Vietnamese). 0 is success (seed 002); the others are the sandbox's.
ERROR_EXPLANATIONS: dict[str, tuple[str, str]] = {
    "1": ("The portal found a field of the invoice missing or not valid (named in its message). Correct the "
          "invoice and send it again.",
          "Cổng hóa đơn báo thiếu hoặc sai một trường dữ liệu (nêu trong thông báo). Sửa hóa đơn rồi gửi lại."),
    "2": ("This invoice form (mẫu số) and serial (ký hiệu) are not registered for the company at the portal. "
          "Import the forms again (Test connection) and pick a registered one.",
          "Mẫu số và ký hiệu hóa đơn chưa được đăng ký cho doanh nghiệp trên cổng hóa đơn."),
    "3": ("The portal has no invoice with this number, form, serial and date.",
          "Cổng hóa đơn không có hóa đơn với số, mẫu, ký hiệu và ngày này."),
    "4": ("The invoice's status at the portal does not allow this (it is signed, cancelled, replaced or "
          "deleted). A signed invoice is corrected by an adjustment or a replacement invoice.",
          "Trạng thái hóa đơn trên cổng không cho phép thao tác này (đã ký, đã hủy, đã thay thế hoặc đã xóa)."),
    "5": ("Only the last invoice of a series, not yet signed, may be deleted; this one is not the last.",
          "Chỉ được xóa hóa đơn cuối cùng chưa ký của dải; hóa đơn này không phải hóa đơn cuối cùng."),
    "6": ("The invoice date is earlier than the last invoice of this series: invoices are numbered in date "
          "order. Issue it with today's date.",
          "Ngày lập hóa đơn nhỏ hơn ngày của hóa đơn cuối cùng trong dải. Hãy lập với ngày hiện tại."),
    "7": ("The seller's tax code is not the one of this portal account.",
          "Mã số thuế người bán không phải của tài khoản trên cổng hóa đơn."),
    "401": ("The portal refused the apikey or the sessionkey. Check both in the provider account; the "
            "sessionkey may have been renewed in the portal program.",
            "Cổng hóa đơn từ chối apikey hoặc sessionkey. Kiểm tra lại trong tài khoản nhà cung cấp."),
    "HTTP_404": ("The portal does not know this address: check the service URL.",
                 "Cổng hóa đơn không có địa chỉ này: kiểm tra URL dịch vụ."),
    "HTTP_413": ("The invoice is too large for the portal.", "Hóa đơn quá lớn đối với cổng hóa đơn."),
}
ERROR_EXPLANATIONS["403"] = ERROR_EXPLANATIONS["401"]
AUTH_CODES = {"401", "403"}


def explain(code: str, message: str = "") -> tuple[str, str]:
    """Plain-language (English, Vietnamese) explanation of a portal ``responsecode``."""
    if code in ERROR_EXPLANATIONS:
        en, vi = ERROR_EXPLANATIONS[code]
        if message and code == "1":
            return f"{en} ({message})", f"{vi} ({message})"
        return en, vi
    if message:
        return f"The portal refused it: {message}", f"Cổng hóa đơn từ chối: {message}"
    return "The portal refused it without saying why.", "Cổng hóa đơn từ chối mà không nêu lý do."


@dataclass(frozen=True)
class PortalStatus:
    """``getStatus``: the invoice's state and its signing status, in :mod:`~vn_einvoice.lifecycle`'s words."""

    state: State
    sign: SignStatus
    raw: dict | None = None


def read_state(invoice_status, sign_status=None) -> tuple[State | None, SignStatus | None]:
    """Seed 002's words → (State, SignStatus); ValidationError naming an unknown word."""
    def one(enum_cls, value, path):
        if value in (None, ""):
            return None
        try:
            return enum_cls(str(value).strip().upper())
        except ValueError:
            raise ValidationError.at(path, f"unknown status {value!r} from the portal") from None
    return one(State, invoice_status, "InvoiceStatus"), one(SignStatus, sign_status, "SignStatus")


# --- mapping --------------------------------------------------------------------------------------


def _num(value: Decimal | int | None):
    """A JSON number: an int when whole, else a float of the decimal's text."""
    value = Decimal(value or 0)
    return int(value) if value == value.to_integral_value() else float(value)


def _day(value: date | datetime) -> str:
    return value.strftime("%Y%m%d")


def parse_day(text) -> date | None:
    try:
        return datetime.strptime(str(text or ""), "%Y%m%d").date()
    except ValueError:
        return None


def to_portal(invoice: Invoice, *, form: str | None = None, serial: str | None = None,
              payment_date: date | None = None) -> dict:
    """The seed 002 body of ``/invoice/create`` (and ``update``) for an invoice of one VAT rate.

    Seed 002 carries one ``Tax`` per invoice: an invoice mixing rates is refused (ValidationError); KCT and
    KKKNT are written -1 and -2. Note lines go to ``Remark``; a discount line is a product of negative amount.
    """
    if invoice.totals is None:
        invoice = complete(invoice)
    problems = []
    rates = {ln.tax_rate.code for ln in invoice.lines if ln.kind is not LineKind.NOTE and ln.tax_rate is not None}
    if len(rates) > 1:
        raise ValidationError.at("lines.tax_rate", "the portal API (seed 002) has one VAT rate per invoice; this "
                                                   f"invoice has {len(rates)} ({', '.join(sorted(rates))}): split it")
    rate = next(iter(rates), "KCT")
    tax = NO_VAT_RATES.get(rate)
    if tax is None:
        percent = TaxRate(rate).percent
        if percent is None:
            problems.append(("lines.tax_rate", f"rate {rate} has no number the portal can carry"))
        tax = percent
    products, remarks = [], []
    for i, ln in enumerate(invoice.lines):
        if ln.kind is LineKind.NOTE:
            remarks.append(ln.name)
            continue
        amount = Decimal(ln.amount or 0)
        if ln.kind is LineKind.DISCOUNT:
            products.append({"Id": ln.code, "Name": ln.name, "Unit": ln.unit or "-", "Quantity": 1,
                             "Cost": _num(-amount), "Amount": _num(-amount)})
            continue
        if ln.quantity is None or ln.unit_price is None:
            problems.append((f"lines[{i}]", "quantity and unit price are required by the portal"))
            continue
        products.append({"Id": ln.code, "Name": ln.name, "Unit": ln.unit or "-", "Quantity": _num(ln.quantity),
                         "Cost": _num(ln.unit_price), "Amount": _num(amount)})
    if not products:
        problems.append(("lines", "at least one line of goods or services"))
    buyer, seller, totals = invoice.buyer, invoice.seller, invoice.totals
    if not buyer.email:
        problems.append(("buyer.email", "the portal requires the customer's e-mail"))
    if problems:
        raise ValidationError([ValidationError.at(p, m).problems[0] for p, m in problems])
    remark = "; ".join(remarks)
    if invoice.related is not None:
        ref = invoice.related
        remark = (f"{'Adjusts' if ref.relation.value == 2 else 'Replaces'} invoice {ref.template}{ref.symbol} "
                  f"no. {ref.number} of {ref.issue_date:%d/%m/%Y}" + (f"; {remark}" if remark else ""))
    return {
        "CompanyName": seller.name, "CompanyAddress": seller.address, "CompanyTaxCode": seller.tax_code,
        "InvoiceForm": form or invoice.template, "SerialNo": serial or invoice.symbol,
        "InvoiceDate": _day(invoice.issue_date), "PaymentDate": _day(payment_date or invoice.issue_date),
        "Tax": _num(tax), "TotalTax": _num(totals.total_tax), "TotalBeforTax": _num(totals.total_before_tax),
        "TotalAfterTax": _num(totals.total), "AmountWords": totals.total_in_words,
        "CurrencyCode": invoice.currency, "ExchangeRates": _num(invoice.exchange_rate or 1),
        "CustomerName": buyer.contact_name or buyer.name, "CustomerTaxCode": buyer.tax_code,
        "CustomerCompanyName": buyer.name, "CustomerAddress": buyer.address, "CustomerPhone": buyer.phone,
        "CustomerMobile": "", "CustomerFax": "", "CustomerEmail": buyer.email, "CustomerWebsite": "",
        "CustomerBankAccountNo": buyer.bank_account, "CustomerBankName": buyer.bank_name,
        "CustomerPaymentMethodID": invoice.payment_method or "TM/CK", "Remark": remark,
        "InvoiceProducts": products,
    }


def _dec(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def fingerprint(body: dict) -> tuple:
    """What ``getBillsByDate`` returns of an invoice, to recognise it among the day's bills."""
    return (str(body.get("InvoiceForm") or ""), str(body.get("SerialNo") or ""), str(body.get("InvoiceDate") or ""),
            str(body.get("CustomerTaxCode") or ""), str(body.get("CustomerCompanyName") or ""),
            str(body.get("CustomerEmail") or "").lower(), _dec(body.get("TotalBeforTax")),
            _dec(body.get("TotalTax")), _dec(body.get("TotalAfterTax")))


def bill_fingerprint(bill: dict) -> tuple:
    return (str(bill.get("InvoiceFormCode") or ""), str(bill.get("SignsInvoice") or ""),
            str(bill.get("CreateDate") or ""), str(bill.get("CustomerTaxCode") or ""),
            str(bill.get("CompanyName") or ""), str(bill.get("CustomerEmail") or "").lower(),
            _dec(bill.get("AmountNotVAT")), _dec(bill.get("AmountVAT")), _dec(bill.get("SumAmount")))


def _number(text) -> int | None:
    text = str(text or "").strip()
    return int(text) if text.isdigit() else None


def split_invoice_no(text: str) -> tuple[str, int | None]:
    """``C26TAA12`` → (``C26TAA``, 12); ``AA/17E0000012`` → (``AA/17E``, 12): serials end with a letter."""
    m = re.fullmatch(r"(.*?)(\d+)", str(text or "").strip())
    return (m.group(1), int(m.group(2))) if m else ("", None)


@dataclass(frozen=True)
class Pending:
    """What the client needs to recognise an invoice whose create may have gone through."""

    fingerprint: tuple
    after_number: int  # the highest number of the series that day before the first send


# --- the client -----------------------------------------------------------------------------------


class PortalProvider(Provider):
    """One account of a seed 002 portal: ``base_url`` is what comes before ``invoice/…``; ``username`` is
    the apikey, ``password`` the sessionkey (or give ``apikey``/``sessionkey``)."""

    name = "portal"
    label = "E-invoice portal API (seed 002)"

    def __init__(self, base_url: str = "", username: str = "", password: str = "", supplier_tax_code: str = "",
                 *, apikey: str | None = None, sessionkey: str | None = None,
                 timeouts: Timeouts | tuple[float, float] = DEFAULT_TIMEOUTS, retry: RetryPolicy = DEFAULT_RETRY,
                 session: requests.Session | None = None, sleep=time.sleep, settle: float | None = None):
        self.base_url = base_url.rstrip("/") + "/"
        self._apikey = apikey if apikey is not None else username
        self._sessionkey = sessionkey if sessionkey is not None else password
        self.supplier_tax_code = supplier_tax_code
        self.retry = retry
        self.http = HttpSession(provider="portal", timeouts=timeouts, retry=retry, session=session,
                                secrets=(self._apikey, self._sessionkey), sleep=sleep)
        # seconds to wait after an unknown outcome before looking up: a request held up on its way may still land
        self.settle = self.http.timeouts.read if settle is None else settle
        self._pending: dict[str, Pending] = {}
        self._marks: dict[tuple, int] = {}  # (form, serial, yyyyMMdd) → highest number this client saw
        self._issued: dict[str, IssueResult] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<PortalProvider {self.base_url}>"

    def close(self) -> None:
        self.http.close()

    @property
    def round_trips(self) -> int:
        return self.http.round_trips

    # --- transport -------------------------------------------------------------------------------

    def _refused(self, operation: str, code: str, message: str, status: int, raw,
                 cls: type[ProviderError] = ProviderRefused) -> ProviderError:
        message = self.http.redact(message or "")
        en, vi = explain(code, message)
        text = f"portal {operation}: responsecode {code}" + (f" — {message}" if message else "") + f". {en}"
        return cls(text, code=code, explanation=en, explanation_vi=vi, http_status=status, raw=raw,
                   provider=self.name, operation=operation, secrets=self.http.secrets)

    def _call(self, operation: str, *, body: dict | None = None, no: str = "", idempotent: bool,
              key: str | None = None) -> dict:
        method, path = PATHS[operation]
        url = self.base_url + path.format(no=quote(str(no), safe=""))
        try:
            headers = {"Content-Type": "application/json", "Accept": "application/json",
                       "apikey": self._apikey.encode("latin-1").decode("latin-1"),
                       "sessionkey": self._sessionkey.encode("latin-1").decode("latin-1")}
        except UnicodeEncodeError:
            en = "The apikey or sessionkey has characters an HTTP header cannot carry: nothing was sent."
            raise ProviderAuthError(en, code="401", explanation=en, explanation_vi=(
                "apikey hoặc sessionkey có ký tự không gửi được trong tiêu đề HTTP: chưa gửi gì."),
                provider=self.name, operation=operation, secrets=self.http.secrets) from None
        if key:  # servers that know it (Odoo's /einvoice/api/v1) return the same invoice for the same key
            headers["Idempotency-Key"] = key
        kwargs = {"json": body} if body is not None else {}
        response = self.http.send(method, url, operation=operation, idempotent=idempotent, headers=headers, **kwargs)
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or "responsecode" not in data:
            if status in (401, 403):
                raise self._refused(operation, "401", "", status, None, ProviderAuthError)
            if status >= 400:
                raise self._refused(operation, f"HTTP_{status}", response.text[:200], status, data)
            cls = ProviderUnknownOutcome if not idempotent else ProviderError
            raise cls(f"portal {operation}: unreadable answer (HTTP {status})"
                      + ("; unknown whether it went through" if not idempotent else ""),
                      http_status=status, provider=self.name, operation=operation, secrets=self.http.secrets)
        code = str(data.get("responsecode")).strip()
        if code in ("0", "0.0"):
            return data
        cls = ProviderAuthError if code in AUTH_CODES or status in (401, 403) else ProviderRefused
        raise self._refused(operation, "401" if cls is ProviderAuthError and code not in AUTH_CODES else code,
                            str(data.get("responsemessage") or ""), status, data, cls)

    # --- reads -----------------------------------------------------------------------------------

    def templates(self) -> list[TemplateInfo]:
        """``getIssuerFormInvoice``: the issuer's forms (``InvoiceFormCode``) and serials (``SignsInvoice``)."""
        data = self._call("getIssuerFormInvoice", idempotent=True)
        return [TemplateInfo(str(f.get("InvoiceFormCode") or ""), str(f.get("SignsInvoice") or ""), raw=f)
                for f in data.get("FormInvoices") or [] if isinstance(f, dict)]

    def issuer(self) -> dict:
        """``getIssuerFormInvoice``'s issuer: ``{"tax_code", "name"}`` (seed 002 spells it ``IsssuerName``)."""
        data = self._call("getIssuerFormInvoice", idempotent=True)
        return {"tax_code": str(data.get("IssuerTaxCode") or ""),
                "name": str(data.get("IsssuerName") or data.get("IssuerName") or "")}

    def bills_by_date(self, start: date, end: date, status: State | str | None = None) -> list[dict]:
        """``getBillsByDate``: the raw bills between two days (optionally of one ``Status``)."""
        body = {"FromDate": _day(start), "ToDate": _day(end)}
        if status:
            body["Status"] = State(status).value if not isinstance(status, State) else status.value
        data = self._call("getBillsByDate", body=body, idempotent=True)
        bills = data.get("bills") if "bills" in data else data.get("Bills")
        return [b for b in bills or [] if isinstance(b, dict)]

    def _listed(self, bill: dict) -> ListedInvoice:
        state, sign = read_state(bill.get("EinvoiceStatus"), bill.get("SignStatus"))
        day = parse_day(bill.get("CreateDate"))
        number = _number(bill.get("EinvoiceNumber"))
        return ListedInvoice(
            invoice_no=f"{bill.get('SignsInvoice') or ''}{number if number is not None else bill.get('EinvoiceNumber') or ''}", template=str(bill.get("InvoiceFormCode") or ""),
            symbol=str(bill.get("SignsInvoice") or ""), number=number,
            issued_at=datetime(day.year, day.month, day.day, tzinfo=GMT7) if day else None,
            buyer_name=str(bill.get("CompanyName") or ""), buyer_tax_code=str(bill.get("CustomerTaxCode") or ""),
            total=_dec(bill.get("SumAmount")), total_before_tax=_dec(bill.get("AmountNotVAT")),
            tax_amount=_dec(bill.get("AmountVAT")),
            exchange_status=f"{state.value if state else ''}/{sign.value if sign else ''}", raw=bill)

    def invoices_between(self, start: date, end: date, status: State | str | None = None) -> list[ListedInvoice]:
        """Every invoice of the period (``getBillsByDate``), for reconciliation."""
        return [self._listed(b) for b in self.bills_by_date(start, end, status)]

    def list_invoices(self, start: date, end: date, *, page: int = 1, per_page: int = 50, **filters) -> InvoicePage:
        rows = self.invoices_between(start, end, filters.get("status"))
        return InvoicePage(len(rows), tuple(rows[(page - 1) * per_page: page * per_page]))

    def status(self, ref: InvoiceRef, symbol: str | None = None) -> PortalStatus:
        """``getStatus``: the invoice's state and signing status."""
        form, serial, no = self._parts(ref, symbol)
        data = self._call("getStatus", idempotent=True, body={
            "CompanyTaxCode": self.supplier_tax_code, "InvoiceForm": form, "SerialNo": serial, "InvoiceNo": no,
            "InvoiceDate": _day(self._day_of(ref))})
        state, sign = read_state(data.get("InvoiceStatus"), data.get("SignStatus"))
        if state is None or sign is None:
            raise ProviderError(f"portal getStatus: no status for invoice {no}", raw=data, provider=self.name,
                                operation="getStatus", secrets=self.http.secrets)
        return PortalStatus(state, sign, data)

    def check_connection(self) -> list[TemplateInfo]:
        return self.templates()

    # --- refs ------------------------------------------------------------------------------------

    @staticmethod
    def _parts(ref: InvoiceRef, symbol: str | None = None) -> tuple[str, str, str]:
        """(form, serial, portal number) of a ref whose ``invoice_no`` is serial + number (``C26TAA12``)."""
        serial, number = split_invoice_no(ref.invoice_no)
        serial = symbol or serial
        if not serial or number is None:
            raise ValidationError.at("invoice_no", f"{ref.invoice_no!r} is not a serial followed by a number")
        return ref.template, serial, str(number)

    @staticmethod
    def _day_of(ref: InvoiceRef) -> date:
        if ref.issued_at is None:
            raise ValidationError.at("issued_at", f"the date of invoice {ref.invoice_no} is needed")
        return ref.issued_at.date() if isinstance(ref.issued_at, datetime) else ref.issued_at

    # --- issuing ---------------------------------------------------------------------------------

    def build_body(self, invoice: Invoice | dict, **options) -> dict:
        if isinstance(invoice, dict):
            body = dict(invoice)
        else:
            body = to_portal(invoice, form=options.get("form") or options.get("template_code"), serial=options.get("serial"),
                             payment_date=options.get("payment_date"))
        if self.supplier_tax_code and not body.get("CompanyTaxCode"):
            body["CompanyTaxCode"] = self.supplier_tax_code
        return body

    def create(self, body: dict, key: str | None = None) -> dict:
        """One raw ``/invoice/create`` (no look-up, no retry): the answer, or an error. ``key``: sent as the
        ``Idempotency-Key`` header (seed 002 has none; a server that knows it never creates twice)."""
        return self._call("create", body=body, idempotent=False, key=key)

    def _result(self, answer: dict, body: dict, uuid: str, found: bool = False) -> IssueResult:
        no = str(answer.get("InvoiceNo") or answer.get("EinvoiceNumber") or "").strip()
        if not no:
            raise ProviderUnknownOutcome("portal create answered without an invoice number; unknown whether it "
                                         "went through", raw=answer, provider=self.name, operation="create",
                                         secrets=self.http.secrets)
        day = parse_day(body.get("InvoiceDate"))
        status = answer.get("InvoiceStatus") or answer.get("EinvoiceStatus") or ""
        sign = answer.get("SignStatus") or ""
        state, signed = read_state(status, sign)
        serial = str(body.get("SerialNo") or "")
        result = IssueResult(
            invoice_no=f"{serial}{_number(no) if _number(no) is not None else no}", symbol=serial, number=_number(no),
            template=str(body.get("InvoiceForm") or ""),
            issued_at=datetime(day.year, day.month, day.day, tzinfo=GMT7) if day else None, reservation_code="",
            transaction_uuid=uuid, found_by_lookup=found, cancelled=state is State.CANCEL,
            exchange_status=f"{state.value if state else ''}/{signed.value if signed else ''}".strip("/"), raw=answer)
        with self._lock:
            self._issued[uuid] = result
            self._pending.pop(uuid, None)
            if result.number is not None:  # the next invoice of the series that day needs no read
                mark = (result.template, result.symbol, str(body.get("InvoiceDate") or ""))
                self._marks[mark] = max(self._marks.get(mark, 0), result.number)
        return result

    def _watermark(self, body: dict) -> int:
        """The highest number of the body's series that day: the last this client got there (a number
        below the true highest only widens the look-up, never misleads it), else read by getBillsByDate."""
        with self._lock:
            known = self._marks.get((body.get("InvoiceForm"), body.get("SerialNo"), str(body.get("InvoiceDate"))))
        if known is not None:
            return known
        day = parse_day(body.get("InvoiceDate"))
        if day is None:
            raise ValidationError.at("InvoiceDate", "yyyyMMdd")
        numbers = [_number(b.get("EinvoiceNumber")) or 0 for b in self.bills_by_date(day, day)
                   if (b.get("InvoiceFormCode"), b.get("SignsInvoice")) == (body.get("InvoiceForm"), body.get("SerialNo"))]
        return max(numbers, default=0)

    def pending(self, transaction_uuid: str) -> Pending | None:
        """The watermark and fingerprint of a key whose outcome is not known yet (persist ``after_number``)."""
        with self._lock:
            return self._pending.get(transaction_uuid)

    def find(self, body: dict, after_number: int) -> dict | None:
        """The bill above ``after_number`` with the body's fingerprint; None; ProviderUnknownOutcome if several."""
        day = parse_day(body.get("InvoiceDate"))
        print_ = fingerprint(body)
        matches = [b for b in self.bills_by_date(day, day)
                   if bill_fingerprint(b) == print_ and (_number(b.get("EinvoiceNumber")) or 0) > after_number
                   and str(b.get("EinvoiceStatus") or "").upper() != State.DELETE.value]
        if len(matches) > 1:
            raise ProviderUnknownOutcome(
                f"portal: {len(matches)} identical invoices above number {after_number} in {print_[0]} "
                f"{print_[1]} on {print_[2]}; cannot tell which one is this one: check at the portal",
                provider=self.name, operation="getBillsByDate", secrets=self.http.secrets)
        return matches[0] if matches else None

    def lookup(self, transaction_uuid: str, invoice: Invoice | dict | None = None, after_number: int | None = None,
               sent_at: float | None = None, **options) -> IssueResult | None:
        """The invoice issued with this key by this client; or, given the ``invoice`` (and the series' highest
        number before it was first sent, ``after_number``), the one at the portal with its content above that
        number (the API has no key: see the module's notes), looked for ``settle`` seconds after ``sent_at`` at
        the earliest. Never sends anything."""
        with self._lock:
            if transaction_uuid in self._issued:
                return self._issued[transaction_uuid]
            pending = self._pending.get(transaction_uuid)
        if invoice is not None:
            body = self.build_body(invoice, **options)
            if sent_at is not None and (wait := sent_at + self.settle - time.time()) > 0:
                self.http.sleep(wait)
            after = max(after_number or 0, pending.after_number if pending else 0)
            found = self.find(body, after)
            if found is None:
                return None
            return self._result({"InvoiceNo": found.get("EinvoiceNumber"), "InvoiceStatus": found.get("EinvoiceStatus"),
                                 "SignStatus": found.get("SignStatus")}, body, transaction_uuid, True)
        if pending is None:
            en = ("The portal's API has no transaction key: an invoice that may have reached it is looked up by its "
                  "date, form, serial, customer and amounts.")
            raise ProviderNotSupported(
                "portal: " + en, explanation=en, explanation_vi=(
                    "API của cổng hóa đơn không có mã giao dịch: hóa đơn có thể đã gửi được tra cứu theo ngày, mẫu, "
                    "ký hiệu, khách hàng và số tiền."),
                provider=self.name, operation="lookup", secrets=self.http.secrets)
        return None

    def issue(self, invoice: Invoice | dict, *, transaction_uuid: str, maybe_sent: bool = False,
              after_number: int | None = None, sent_at: float | None = None, **options) -> IssueResult:
        """``/invoice/create`` exactly once per ``transaction_uuid`` (watermark and fingerprint look-ups).

        Resuming after a restart (``maybe_sent``): ``after_number`` the series' highest number before the first
        send, ``sent_at`` (``time.time()``) when the last create left: the look-up waits until ``settle`` seconds
        after it, so that a create held up on its way lands first."""
        if not transaction_uuid:
            raise ValidationError.at("transaction_uuid", "a stable key per invoice is required")
        with self._lock:
            if transaction_uuid in self._issued:
                return replace(self._issued[transaction_uuid], found_by_lookup=True)
            known = self._pending.get(transaction_uuid)
        body = self.build_body(invoice, **options)
        if known is not None:  # this client sent it before and does not know the outcome
            maybe_sent, after_number = True, known.after_number
        if maybe_sent and after_number is None:
            after_number = 0  # the watermark was lost (another process): the whole day is searched
        if maybe_sent and known is None and sent_at is not None and (wait := sent_at + self.settle - time.time()) > 0:
            self.http.sleep(wait)
        look_up, uncertain, wait, last = maybe_sent, maybe_sent, None, None
        for attempt in range(max(1, self.retry.attempts)):
            if attempt:
                self.http.sleep(self.retry.delay(attempt - 1, wait))
            try:
                if look_up:
                    if uncertain and attempt:
                        self.http.sleep(self.settle)
                    found = self.find(body, after_number)
                    if found is not None:
                        return self._result({"InvoiceNo": found.get("EinvoiceNumber"),
                                             "InvoiceStatus": found.get("EinvoiceStatus"),
                                             "SignStatus": found.get("SignStatus")}, body, transaction_uuid, True)
                    look_up = False
                if after_number is None:
                    after_number = self._watermark(body)
                    with self._lock:
                        self._pending[transaction_uuid] = Pending(fingerprint(body), after_number)
            except (ProviderUnavailable, ProviderUnknownOutcome) as e:
                last = e  # the look-up kept failing: cannot tell, do not send
                break
            try:
                answer = self.create(body, transaction_uuid)
            except ProviderUnavailable as e:
                last, wait = e, e.retry_after
                continue
            except ProviderUnknownOutcome as e:
                last, wait, look_up, uncertain = e, e.retry_after, True, True
                continue
            except ProviderRefused:
                with self._lock:
                    if not uncertain:
                        self._pending.pop(transaction_uuid, None)
                raise
            try:
                return self._result(answer, body, transaction_uuid)
            except ProviderUnknownOutcome as e:
                last, look_up, uncertain = e, True, True
        else:
            if look_up:
                self.http.sleep(self.settle)
                try:
                    found = self.find(body, after_number)
                except (ProviderUnavailable, ProviderUnknownOutcome):
                    found = None
                if found is not None:
                    return self._result({"InvoiceNo": found.get("EinvoiceNumber"),
                                         "InvoiceStatus": found.get("EinvoiceStatus"),
                                         "SignStatus": found.get("SignStatus")}, body, transaction_uuid, True)
        if uncertain:
            raise ProviderUnknownOutcome(
                f"portal create: unknown whether invoice {transaction_uuid} was created ({last}); it is looked up "
                f"above number {after_number} before any new attempt", provider=self.name, operation="create",
                transaction_uuid=transaction_uuid, secrets=self.http.secrets,
                http_status=getattr(last, "http_status", None)) from last
        assert last is not None
        with self._lock:
            self._pending.pop(transaction_uuid, None)
        last.transaction_uuid = transaction_uuid
        raise last

    def update(self, ref: InvoiceRef, invoice: Invoice | dict, **options) -> None:
        """``PUT /invoice/update/{invoiceNumber}``: change an invoice not yet signed (same number)."""
        body = self.build_body(invoice, **options)
        self._call("update", body=body, no=self._parts(ref, body.get("SerialNo"))[2], idempotent=True)  # the same content: safe to repeat

    def delete_last_unsigned(self, ref: InvoiceRef, symbol: str | None = None) -> None:
        """``DELETE /invoice/deleteLastInvoiceNoSign/{invoiceNumber}``: delete the series' last unsigned invoice.

        Repeating it after an unknown outcome is checked by ``getStatus`` (already DELETE: done)."""
        form, serial, no = self._parts(ref, symbol)
        body = {"CompanyTaxCode": self.supplier_tax_code, "InvoiceForm": form, "SerialNo": serial,
                "InvoiceDate": _day(self._day_of(ref))}
        try:
            self._call("deleteLastInvoiceNoSign", body=body, no=no, idempotent=False)
        except ProviderUnknownOutcome:
            if self.status(ref, symbol).state is not State.DELETE:
                self._call("deleteLastInvoiceNoSign", body=body, no=no, idempotent=False)

    def download(self, ref: InvoiceRef, kind: FileKind | str = FileKind.PDF) -> FileResult:
        raise ProviderNotSupported("portal: seed 002's API has no file download; take the PDF from the portal",
                                   provider=self.name, operation="download")
