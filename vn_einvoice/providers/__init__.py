"""E-invoice providers (Viettel SInvoice, …): one module per provider behind one protocol.

``PROVIDERS`` maps a provider's name to its client class; adding a provider is one module here (a
:class:`~.base.Provider` subclass) plus its simulator in :mod:`vn_einvoice.sandbox`, and one line below.
"""

from __future__ import annotations

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
    ProviderNotSupported,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
    TemplateInfo,
    UsageRow,
)
from .http import Exchange, RetryPolicy, Timeouts
from .portal import PortalProvider
from .sinvoice_wire import files_in_zip, xml_in_zip
from .viettel import ViettelSInvoice
from .vnpt import VnptInvoice

PROVIDERS: dict[str, type[Provider]] = {
    "viettel": ViettelSInvoice,
    "portal": PortalProvider,
    "vnpt": VnptInvoice,
}


def get_provider(name: str, **settings) -> Provider:
    """A client of provider ``name`` (``KeyError`` if unknown); ``settings`` are its constructor's keywords:
    ``base_url``, ``username``, ``password``, ``supplier_tax_code``, ``timeouts``, ``retry`` and its own."""
    return PROVIDERS[name](**settings)


__all__ = [
    "PROVIDERS", "BatchEntry", "BatchItem", "BatchResult", "CustomField", "DraftResult", "Exchange", "FileKind", "FileResult",
    "InvoicePage", "InvoiceRef", "IssueResult", "ListedInvoice", "PaymentResult", "PortalProvider", "Provider", "ProviderAuthError",
    "ProviderError", "ProviderNotSupported", "ProviderRefused", "ProviderUnavailable", "ProviderUnknownOutcome",
    "RetryPolicy", "TemplateInfo", "Timeouts", "UsageRow", "ViettelSInvoice", "VnptInvoice", "files_in_zip", "get_provider",
    "xml_in_zip",
]
