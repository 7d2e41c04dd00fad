"""Shared pieces of the SInvoice client and sandbox tests: a sandbox on a free port, clients, invoices."""

from __future__ import annotations

import json
import uuid as _uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from vn_einvoice.amounts import complete
from vn_einvoice.codes import TaxRate
from vn_einvoice.document import Invoice, Line, LineKind, Party
from vn_einvoice.providers.http import RetryPolicy
from vn_einvoice.providers.viettel import ViettelSInvoice
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.viettel import V2_PREFIX, ViettelSandbox

GMT7 = timezone(timedelta(hours=7))
DATA = Path(__file__).parent / "data" / "sinvoice"
SUPPLIER = "0100109106"  # a valid MST (the seed's examples use it)
TEMPLATE = "1/001"
FAST = RetryPolicy(attempts=5, backoff=0.005, max_backoff=0.05, max_retry_after=0.05)


def today():
    return datetime.now(GMT7).date()


def series(letter: str = "K") -> str:
    return f"{letter}{datetime.now(GMT7):%y}TAA"


def new_uuid() -> str:
    return str(_uuid.uuid4())


def seed_body(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text("utf-8"))


SELLER = Party(name="Công ty TNHH Ánh Dương", tax_code=SUPPLIER, address="1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
               phone="02438251234", email="ketoan@anhduong.vn")
BUYER = Party(name="Công ty Cổ phần Sao Mai", tax_code="0312770607", address="12 Lê Lợi, Quận 1, TP Hồ Chí Minh",
              email="an.nguyen@saomai.vn", phone="0988236303")


def line(name="Bút bi Thiên Long", quantity=10, price=5000, rate="10%", **kw) -> Line:
    q, p = Decimal(quantity), Decimal(price)
    return Line(name, unit=kw.pop("unit", "cái"), quantity=q, unit_price=p, amount=q * p, tax_rate=TaxRate(rate), **kw)


def invoice(lines=None, *, letter: str = "K", **kw) -> Invoice:
    """A complete invoice of today, template 1, this year's K (or C) series."""
    base = dict(template="1", symbol=series(letter), issue_date=today(), seller=SELLER, buyer=BUYER,
                lines=tuple(lines or [line()]), payment_method="TM/CK")
    base.update(kw)
    return complete(Invoice(**base))


def rich_invoice() -> Invoice:
    """Goods at 10 %, 8 %, 0 %, KCT and KKKNT, a discount line and a note line."""
    return invoice([
        line("Bút bi", 10, 5000, "10%"), line("Giấy A4", 5, 60000, "8%"), line("Hàng xuất khẩu", 1, 200000, "0%"),
        line("Sách giáo khoa", 2, 30000, "KCT"), line("Bán phế liệu", 1, 15000, "KKKNT"),
        Line("Chiết khấu thương mại", kind=LineKind.DISCOUNT, amount=Decimal(5000), tax_rate=TaxRate("10%")),
        Line("Giao theo hợp đồng số 12/2026/HĐMB", kind=LineKind.NOTE),
    ])


@contextmanager
def running_sandbox(config: dict | None = None, **settings):
    """A SInvoice sandbox on a free loopback port: yields (server, app)."""
    app = ViettelSandbox({**(config or {}), **settings})
    with SandboxServer(app) as server:
        yield server, app


def client(server, auth: str = "token", **kw) -> ViettelSInvoice:
    """A client of the sandbox: Basic on the seed-001 paths, token login on the current API's."""
    base = server.url if auth == "basic" else server.url + V2_PREFIX
    kw.setdefault("timeouts", (2.0, 5.0))
    kw.setdefault("retry", FAST)
    kw.setdefault("token_cache", {})
    kw.setdefault("template_code", TEMPLATE)
    return ViettelSInvoice(base, kw.pop("username", "demo"), kw.pop("password", "demo"),
                           kw.pop("supplier", SUPPLIER), auth=auth, **kw)
