"""Sending to the tax authority (CQT): the ``TDiep`` envelope, the registration form 01/ĐKTĐ-HĐĐT, the
authority's replies and codes, and a transport through a T-VAN.

>>> message = build_message(MessageType.INVOICE_FOR_CODE, [signed_hdon], sender="0312345673",
...                         tax_code="0312345673")
>>> outcome = Exchange(TvanClient(url, user, password)).send(message)   # 999, then 202 or 204
"""

from .envelope import (
    DATA_ROOT,
    FINAL_REPLIES,
    TAX_AUTHORITY,
    Header,
    Message,
    MessageType,
    batches,
    build_message,
    new_message_id,
    parse_message,
    party_code,
    validate_message,
)
from .registration import (
    CertificateAction,
    CertificateEntry,
    InvoiceUse,
    Registration,
    RegistrationKind,
    Transfer,
    build_registration_xml,
    parse_registration_xml,
    sign_registration,
    validate_registration_xml,
    verify_registration,
)
from .replies import (
    AuthorityNotice,
    CheckResult,
    Form,
    InvoiceResult,
    Reason,
    TechnicalReceipt,
    build_receipt_xml,
    code_invoice,
    coded_invoice_problems,
    make_mccqt,
    mccqt_problems,
    read_notice,
    read_receipt,
    sign_authority_notice,
    verify_authority_signature,
)
from .summary import (
    Period,
    SummaryLine,
    SummaryTable,
    build_summary_xml,
    parse_summary_xml,
    sign_summary,
    summary_lines,
    validate_summary_xml,
    verify_summary,
)

__all__ = [
    "DATA_ROOT", "FINAL_REPLIES", "TAX_AUTHORITY", "AuthorityNotice", "CertificateAction", "CertificateEntry",
    "CheckResult", "Form", "Header", "InvoiceResult", "InvoiceUse", "Message", "MessageType", "Reason",
    "Registration", "RegistrationKind", "TechnicalReceipt", "Transfer", "batches", "build_message",
    "build_receipt_xml", "build_registration_xml", "code_invoice", "coded_invoice_problems", "make_mccqt",
    "mccqt_problems", "new_message_id", "parse_message", "parse_registration_xml", "party_code", "read_notice",
    "read_receipt", "sign_authority_notice", "sign_registration", "validate_message", "validate_registration_xml",
    "verify_authority_signature", "verify_registration", "Period", "SummaryLine", "SummaryTable",
    "build_summary_xml", "parse_summary_xml", "sign_summary", "summary_lines", "validate_summary_xml",
    "verify_summary",
]
