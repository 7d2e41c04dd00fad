"""XML signatures of e-invoices: signers (PKCS#12 file, PKCS#11 token/HSM), signing and verification.

>>> with Pkcs12Signer("seller.p12", password) as signer:
...     signed = sign_invoice(unsigned_xml, signer)
>>> verify_invoice(signed).valid
True
"""

from .base import (
    SIGNING_ALGORITHMS,
    Algorithm,
    CertificateValidityError,
    KeyMismatchError,
    KeyNotFoundError,
    Signer,
    SigningError,
    TaxCodeMismatchError,
    UnsupportedAlgorithmError,
    WrongSecretError,
    resolve_algorithm,
)
from .certs import subject_identifiers, subject_tax_code, tax_code_matches
from .pkcs11 import Pkcs11Signer
from .pkcs12 import Pkcs12Signer
from .xmldsig import (
    ReferenceCheck,
    SignatureReport,
    VerificationReport,
    add_signature,
    sign_invoice,
    verify_invoice,
)

__all__ = [
    "SIGNING_ALGORITHMS", "Algorithm", "CertificateValidityError", "KeyMismatchError", "KeyNotFoundError",
    "Pkcs11Signer", "Pkcs12Signer", "ReferenceCheck", "SignatureReport", "Signer", "SigningError",
    "TaxCodeMismatchError", "UnsupportedAlgorithmError", "VerificationReport", "WrongSecretError",
    "add_signature", "resolve_algorithm", "sign_invoice", "subject_identifiers", "subject_tax_code",
    "tax_code_matches", "verify_invoice",
]
