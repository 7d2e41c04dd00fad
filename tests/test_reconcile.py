"""Import back: the provider's invoices of a period (over HTTP, from the sandboxes) matched to local ones."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sinvoice_helpers import client as sinvoice_client
from sinvoice_helpers import invoice, line, new_uuid, running_sandbox, series, today
from test_provider_portal import client as portal_client
from test_provider_portal import running as running_portal
from test_provider_vnpt import client as vnpt_client

from vn_einvoice.reconcile import DifferenceKind, LocalInvoice, reconcile
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.vnpt import VnptSandbox


def local_of(result, total, move_id):
    return LocalInvoice(move_id, result.invoice_no, result.symbol, result.number, result.transaction_uuid,
                        Decimal(total), name=f"INV/{move_id}")


def check(listed, issued):
    """Three issued: the first recorded right, the second with another total, the third unknown here; and a
    local invoice the provider does not have."""
    local = [local_of(issued[0], 55000, 1), local_of(issued[1], 60000, 2),
             LocalInvoice(9, f"{series()}999", series(), 999, new_uuid(), Decimal(1), name="INV/9")]
    result = reconcile(listed, local)
    assert [(loc.id, row.invoice_no) for loc, row in result.matched] == [(1, issued[0].invoice_no),
                                                                          (2, issued[1].invoice_no)]
    kinds = {d.kind: d for d in result.differences}
    assert set(kinds) == set(DifferenceKind) and len(result.differences) == 3 and not result.ok
    assert issued[2].invoice_no in kinds[DifferenceKind.UNKNOWN_HERE].message
    assert "55,000 at the provider, 60,000 here" in kinds[DifferenceKind.AMOUNT].message
    assert "tổng tiền" in kinds[DifferenceKind.AMOUNT].message_vi
    assert f"{series()}999 is recorded here" in kinds[DifferenceKind.MISSING_THERE].message
    assert reconcile(listed, local[:1] + [local_of(issued[1], 55000, 2), local_of(issued[2], 55000, 3)]).ok


def test_sinvoice_invoices_of_a_period_are_matched_by_transaction_key():
    with running_sandbox() as (server, app), sinvoice_client(server, "token") as c:
        issued = [c.issue(invoice(), transaction_uuid=new_uuid()) for _ in range(3)]
        check(c.invoices_between(today() - timedelta(days=1), today()), issued)


def test_portal_bills_by_date_are_matched_by_series_and_number():
    with running_portal() as (server, app), portal_client(server) as c:
        issued = [c.issue(invoice([line()]), transaction_uuid=new_uuid()) for _ in range(3)]
        listed = c.invoices_between(today(), today())
        assert all(not row.transaction_uuid for row in listed)  # the portal knows no key: by number
        check(listed, issued)


def test_vnpt_number_ranges_are_matched_by_fkey():
    with SandboxServer(VnptSandbox()) as server, vnpt_client(server) as c:
        issued = [c.issue(invoice(), transaction_uuid=new_uuid(), pattern="1/001", serial=series()) for _ in range(3)]
        listed = c.invoices_between(today(), today())  # getSerialByPattern, then listInvFromNoToNo
        assert [row.transaction_uuid for row in listed] == [r.transaction_id for r in issued]  # the fkeys
        check(listed, issued)
