"""Shared pieces of the tax-authority tests: a seller with its certificate, invoices, the registration."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from tools import validity_around

from vn_einvoice.samples import SELLER, sample_invoice
from vn_einvoice.sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes
from vn_einvoice.signing import Pkcs12Signer, sign_invoice
from vn_einvoice.taxauthority import CertificateEntry, InvoiceUse, Registration
from vn_einvoice.xml.build import build_xml

MST = SELLER.tax_code
DAY = date(2026, 3, 2)
SIGNED_AT = datetime(2026, 3, 2, 9, 30)


class Seller:
    """A seller's test CA, key and signer (valid around the fixed dates of these tests)."""

    def __init__(self, tax_code: str = MST, name: str = SELLER.name):
        self.ca = make_test_ca("vn-einvoice TEST seller CA")
        self.key, self.cert = make_seller_certificate(self.ca, tax_code, name, **validity_around(SIGNED_AT))
        self.signer = Pkcs12Signer(p12_bytes(self.key, self.cert, [self.ca.certificate], "x"), "x")
        self.tax_code = tax_code

    def invoice(self, number: int = 1, symbol: str = "C26TAA", day: date = DAY, **changes) -> bytes:
        """A signed HDon of this seller."""
        inv = replace(sample_invoice(day, number=number), symbol=symbol, **changes)
        return sign_invoice(build_xml(inv), self.signer, signing_time=SIGNED_AT)

    def registration(self, **changes) -> Registration:
        values = dict(
            taxpayer_name=SELLER.name, tax_code=self.tax_code, tax_office_code="79100",
            tax_office_name="Thuế cơ sở 1 Thành phố Hồ Chí Minh", contact_name="Nguyễn Văn An",
            contact_address=SELLER.address, contact_email="ketoan@saomai.example.vn", contact_phone="02838000000",
            place="Thành phố Hồ Chí Minh", date=DAY, certificates=(CertificateEntry.of(self.cert),),
            with_code=True, without_code=True, uses=frozenset({InvoiceUse.VAT, InvoiceUse.SALES}))
        values.update(changes)
        return Registration(**values)
