"""The provider protocol: what every e-invoice provider client offers, its typed results and errors.

A provider client (one module per provider, e.g. :mod:`vn_einvoice.providers.viettel`) subclasses
:class:`Provider`. Operations a provider does not have raise :class:`ProviderNotSupported`.

Errors say what the caller must do next:

* :class:`ProviderRefused`: the provider answered and did **not** do it (``code`` and a plain-language
  ``explanation`` for an accountant). Fix the data or the setup, then send again.
* :class:`ProviderAuthError`: account, password, token or IP whitelist refused. Nothing was done.
* :class:`ProviderUnavailable`: nothing was done (connection refused, not sent; or a read that kept
  failing). Safe to try again later.
* :class:`ProviderUnknownOutcome`: **unknown whether it went through** (timeout after sending, dropped
  connection, 5xx). Look the operation up (``lookup(transaction_uuid)``) before sending it again; the
  clients of this package already do so before giving up.

No ORM here: callers (the Odoo addon) store the results and map them to their records.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..document import Invoice
from ..errors import EInvoiceError
from .redact import redact_obj, redact_secrets

# --- errors ---------------------------------------------------------------------------------------


class ProviderError(EInvoiceError):
    """Base of every provider error. ``raw`` is the provider's answer (secrets redacted), if any.

    ``secrets``: the session's own secrets (password, tokens), masked in the message, the explanations and
    ``raw`` (not in ``code``, an identifier) whatever their length and however the provider echoed them
    (see :mod:`.redact`); not kept."""

    may_have_gone_through = False  # True only for ProviderUnknownOutcome

    def __init__(self, message: str, *, code: str = "", explanation: str = "", explanation_vi: str = "",
                 http_status: int | None = None, raw: Any = None, provider: str = "", operation: str = "",
                 retry_after: float | None = None, transaction_uuid: str = "", secrets: Iterable[str] = ()):
        secrets = tuple(secrets)
        super().__init__(redact_secrets(message, secrets))
        self.code = code  # an identifier callers compare: never masked (the message carries it, masked)
        self.explanation = redact_secrets(explanation, secrets)
        self.explanation_vi = redact_secrets(explanation_vi, secrets)
        self.http_status = http_status
        self.raw = redact_obj(raw, secrets)
        self.provider = provider
        self.operation = operation
        self.retry_after = retry_after
        self.transaction_uuid = transaction_uuid

    def __reduce__(self):  # picklable with its attributes
        return (_rebuild, (type(self), str(self), self.__dict__))


def _rebuild(cls, message, state):
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ProviderRefused(ProviderError):
    """The provider answered: not done. ``code`` is its error code, ``explanation`` says why in plain words."""


class ProviderAuthError(ProviderError):
    """Wrong account or password, expired or refused token, or this server's IP is not whitelisted."""


class ProviderUnavailable(ProviderError):
    """Nothing was done: the request could not be sent (connection refused) or kept failing (reads)."""


class ProviderUnknownOutcome(ProviderError):
    """Unknown whether it went through (timeout after sending, dropped connection, 5xx).

    Look it up by ``transaction_uuid`` before sending it again."""

    may_have_gone_through = True


class ProviderNotSupported(ProviderError):
    """This provider has no such operation (or no longer allows it)."""


# --- results --------------------------------------------------------------------------------------


class FileKind(str, enum.Enum):
    PDF = "pdf"  # bản thể hiện
    ZIP = "zip"  # the provider's archive (XML inside)
    XML = "xml"  # the signed invoice XML, taken out of the archive
    EXCHANGE_PDF = "exchange_pdf"  # converted copy (hóa đơn chuyển đổi)


@dataclass(frozen=True)
class InvoiceRef:
    """What identifies an issued invoice at a provider (store these fields; rebuild the ref from them)."""

    invoice_no: str  # the provider's full number: "K26TAA12", "AA/17E0000012"
    template: str  # the provider's template code: "1/001", "01GTKT0/001"
    issued_at: datetime | None = None  # the issue instant the provider holds
    transaction_uuid: str = ""
    reservation_code: str = ""  # secret lookup code (mã tra cứu)


@dataclass(frozen=True)
class IssueResult:
    """An invoice the provider issued (or found by its idempotency key)."""

    invoice_no: str  # full number as the provider writes it
    symbol: str  # KHHDon: "K26TAA", "AA/17E"
    number: int | None  # SHDon
    template: str  # the provider's template code
    issued_at: datetime | None
    reservation_code: str  # secret lookup code for the buyer
    authority_code: str = ""  # MCCQT of coded (C…) invoices, when known
    transaction_uuid: str = ""
    transaction_id: str = ""  # the provider's own transaction id
    found_by_lookup: bool = False  # True: it had already been issued; nothing new was issued
    paid: bool | None = None  # payment status at the provider, when it said
    cancelled: bool = False
    exchange_status: str = ""  # status towards the tax authority, as the provider words it
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def ref(self) -> InvoiceRef:
        return InvoiceRef(self.invoice_no, self.template, self.issued_at, self.transaction_uuid,
                          self.reservation_code)


@dataclass(frozen=True)
class DraftResult:
    transaction_uuid: str
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BatchEntry:
    """One invoice of a batch: the document (or a ready provider body), its idempotency key and mapping
    options. ``maybe_sent``: it may have been sent before (crash, timeout): it is looked up first."""

    invoice: Invoice | dict
    transaction_uuid: str
    options: dict = field(default_factory=dict)
    maybe_sent: bool = False


@dataclass(frozen=True)
class BatchItem:
    transaction_uuid: str
    result: IssueResult | None = None
    error: EInvoiceError | None = None  # ProviderRefused, ValidationError, or ProviderUnknownOutcome

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class BatchResult:
    items: tuple[BatchItem, ...]

    @property
    def issued(self) -> list[IssueResult]:
        return [i.result for i in self.items if i.result is not None]

    @property
    def failed(self) -> list[BatchItem]:
        return [i for i in self.items if i.result is None]

    def by_uuid(self) -> dict[str, BatchItem]:
        return {i.transaction_uuid: i for i in self.items}


@dataclass(frozen=True)
class FileResult:
    file_name: str
    content: bytes = field(repr=False)
    kind: FileKind
    mimetype: str
    paid: bool | None = None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PaymentResult:
    paid: bool
    changed: bool  # False: the provider already had that status
    paid_at: datetime | None = None
    method: str = ""
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class UsageRow:
    """Invoices used in one series (template + symbol), as the provider counts them."""

    template: str
    symbol: str
    used: int
    total: int | None = None  # numbers available in the range, when the provider says

    @property
    def remaining(self) -> int | None:
        return None if self.total is None else max(self.total - self.used, 0)


@dataclass(frozen=True)
class TemplateInfo:
    template: str  # the provider's template code
    symbol: str  # a series registered with it
    invoice_type: str = ""
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CustomField:
    """A custom (dynamic) field of a provider template (SInvoice ``getCustomFields``)."""

    id: int
    key: str  # keyTag
    label: str  # keyLabel
    value_type: str  # text | number | date
    required: bool = False
    seller_side: bool = False
    template_prototype_id: int | None = None


@dataclass(frozen=True)
class ListedInvoice:
    invoice_no: str
    template: str
    symbol: str
    number: int | None
    issued_at: datetime | None
    buyer_name: str = ""
    buyer_tax_code: str = ""
    total: Any = None
    total_before_tax: Any = None
    tax_amount: Any = None
    currency: str = ""
    paid: bool | None = None
    adjustment_type: str = ""
    transaction_uuid: str = ""
    reservation_code: str = ""
    exchange_status: str = ""
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class InvoicePage:
    total: int
    rows: tuple[ListedInvoice, ...]


# --- the protocol ---------------------------------------------------------------------------------


class Provider(abc.ABC):
    """One e-invoice provider account. Use as a context manager (closes the HTTP session).

    Every method has a timeout; issuing methods take a stable ``transaction_uuid`` (idempotency key)
    per invoice, chosen by the caller and stored before the first send.
    """

    name: str = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    @property
    def round_trips(self) -> int:
        """HTTP requests sent so far (login and look-ups included)."""
        return 0

    def observe(self, observer) -> None:
        """Give every request this client sends, with its response, masked, to ``observer(exchange)``
        (:class:`~.http.Exchange`; set on the client's HTTP session, which every provider shares)."""
        http = getattr(self, "http", None)
        if http is None:
            raise ProviderNotSupported(f"{self.name}: no HTTP session to observe", provider=self.name,
                                       operation="observe")
        http.observer = observer

    # issuing
    @abc.abstractmethod
    def issue(self, invoice: Invoice | dict, *, transaction_uuid: str, maybe_sent: bool = False,
              **options) -> IssueResult:
        """Issue one invoice; exactly once per ``transaction_uuid``, whatever the network does."""

    def save_draft(self, invoice: Invoice | dict, *, transaction_uuid: str, **options) -> DraftResult:
        raise ProviderNotSupported(f"{self.name}: no drafts", provider=self.name, operation="draft")

    def issue_batch(self, entries: Sequence[BatchEntry], *, resume: bool = False) -> BatchResult:
        """Issue several invoices; ``resume=True`` after a crash: look each up, send only the missing."""
        items = []
        for e in entries:
            try:
                items.append(BatchItem(e.transaction_uuid, self.issue(
                    e.invoice, transaction_uuid=e.transaction_uuid, maybe_sent=resume or e.maybe_sent, **e.options)))
            except (ProviderRefused, ProviderUnknownOutcome) as err:
                items.append(BatchItem(e.transaction_uuid, error=err))
        return BatchResult(tuple(items))

    @abc.abstractmethod
    def lookup(self, transaction_uuid: str) -> IssueResult | None:
        """The invoice issued with this key, or None when the provider has none."""

    def adjust(self, invoice: Invoice, *, transaction_uuid: str, kind: str, agreement_name: str,
               agreement_date: date | datetime, maybe_sent: bool = False, **options) -> IssueResult:
        """Issue an adjustment invoice (``invoice.related`` is the adjusted one); ``kind`` money|information."""
        raise ProviderNotSupported(f"{self.name}: no adjustments", provider=self.name, operation="adjust")

    def replace(self, invoice: Invoice, *, transaction_uuid: str, agreement_name: str,
                agreement_date: date | datetime, maybe_sent: bool = False, **options) -> IssueResult:
        """Issue a replacement invoice (``invoice.related`` is the replaced one)."""
        raise ProviderNotSupported(f"{self.name}: no replacements", provider=self.name, operation="replace")

    def cancel(self, ref: InvoiceRef, *, agreement_name: str, agreement_date: date | datetime,
               reason: str = "") -> None:
        raise ProviderNotSupported(f"{self.name}: no cancellation", provider=self.name, operation="cancel")

    # files
    @abc.abstractmethod
    def download(self, ref: InvoiceRef, kind: FileKind | str = FileKind.PDF) -> FileResult:
        """The PDF, the provider's ZIP, or the XML taken out of it."""

    # payment status
    def set_payment_status(self, ref: InvoiceRef, paid: bool, **options) -> PaymentResult:
        raise ProviderNotSupported(f"{self.name}: no payment status", provider=self.name, operation="payment")

    # set-up and reports
    def templates(self) -> list[TemplateInfo]:
        raise ProviderNotSupported(f"{self.name}: no template list", provider=self.name, operation="templates")

    def custom_fields(self, template: str | None = None) -> list[CustomField]:
        return []

    def usage(self, template: str, symbol: str) -> UsageRow:
        raise ProviderNotSupported(f"{self.name}: no usage report", provider=self.name, operation="usage")

    def usage_all(self) -> list[UsageRow]:
        return [self.usage(t.template, t.symbol) for t in self.templates()]

    def invoices_between(self, start: date, end: date) -> list[ListedInvoice]:
        """Every invoice the provider issued for this account between two days (import back, reconciliation)."""
        raise ProviderNotSupported(f"{self.name}: no list of invoices by period", provider=self.name,
                                   operation="invoices_between")

    def check_connection(self) -> list[TemplateInfo]:
        """Log in and read the templates: raises ProviderAuthError/ProviderUnavailable when it cannot."""
        return self.templates()


def entries(pairs: Iterable[tuple[Invoice | dict, str]], **options) -> list[BatchEntry]:
    """``[(invoice, transaction_uuid), …]`` → batch entries sharing the same mapping options."""
    return [BatchEntry(inv, uuid, dict(options)) for inv, uuid in pairs]
