"""vn_einvoice: Vietnamese e-invoices (hóa đơn điện tử) without an ERP.

Documents (``document``), codes and tax rates (``codes``), totals (``amounts``),
amount in words (``words``), the legal ``HDon`` XML (``xml``), QR payloads (``qr``),
XML signatures (``signing``), the life cycle (``lifecycle``), providers and their
sandboxes. Never imports Odoo.
"""

from .errors import EInvoiceError, Problem, ValidationError

__version__ = "0.1.0"
__all__ = ["EInvoiceError", "Problem", "ValidationError", "__version__"]
