"""Every request a provider client sends, with its answer, reaches an observer masked and bounded (the user log)."""

from __future__ import annotations

import pytest
from sinvoice_helpers import invoice, line, new_uuid

from vn_einvoice.providers import Exchange, get_provider
from vn_einvoice.providers.http import MAX_EXCHANGE_TEXT, RetryPolicy
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.portal import DEMO_TAX_CODE, PortalSandbox, default_accounts
from vn_einvoice.sandbox.vnpt import VnptSandbox, default_companies

TIGHT = {"timeouts": (0.5, 0.3), "retry": RetryPolicy(attempts=4, backoff=0.005, max_backoff=0.02)}
VNPT_SECRETS = ("Adm1n-Secret-Pw", "Svc-Secret-Pw-7")
PORTAL_SECRETS = ("apikey-7f3a9c2e", "sessionkey-91b2d4")


def vnpt():
    company = {**default_companies()[0], "acpass": VNPT_SECRETS[0], "password": VNPT_SECRETS[1]}
    app = VnptSandbox({"companies": [company]})
    return app, lambda url: get_provider("vnpt", base_url=url, username="demoservice", password=VNPT_SECRETS[1],
                                         account="demoadmin", acpassword=VNPT_SECRETS[0], **TIGHT)


def portal():
    account = {**default_accounts()[0], "apikey": PORTAL_SECRETS[0], "sessionkey": PORTAL_SECRETS[1]}
    app = PortalSandbox({"accounts": [account]})
    return app, lambda url: get_provider("portal", base_url=url, username=PORTAL_SECRETS[0],
                                         password=PORTAL_SECRETS[1], supplier_tax_code=DEMO_TAX_CODE, settle=0.05,
                                         **TIGHT)


def assert_masked(seen: list[Exchange], secrets):
    assert seen
    for ex in seen:
        text = ex.request + ex.response
        for secret in secrets:
            assert secret not in text, (ex.operation, secret)
        assert len(ex.request) <= MAX_EXCHANGE_TEXT + 2 and len(ex.response) <= MAX_EXCHANGE_TEXT + 2


@pytest.mark.parametrize("make", [vnpt, portal], ids=["vnpt", "portal"])
def test_each_request_and_answer_is_observed_masked(make):
    app, connect = make()
    secrets = VNPT_SECRETS if make is vnpt else PORTAL_SECRETS
    seen: list[Exchange] = []
    with SandboxServer(app) as server, connect(server.url) as client:
        client.observe(seen.append)
        result = client.issue(invoice([line("Bút bi", 10, 5000)]), transaction_uuid=new_uuid())
        assert client.round_trips == len(seen)
    assert_masked(seen, secrets)
    issue = [ex for ex in seen if ex.operation in ("ImportAndPublishInv", "create")]
    assert len(issue) == 1 and issue[0].ok and issue[0].method == "POST"
    assert "Bút bi" in issue[0].request  # the body is there, masked
    assert "***" in issue[0].request
    assert str(result.number) in issue[0].response
    if make is vnpt:
        assert "<ns0:ACpass>***</ns0:ACpass>" in issue[0].request.replace("ns1:", "ns0:")
    else:
        assert "apikey: ***" in issue[0].request and "sessionkey: ***" in issue[0].request


def test_failures_are_observed_too_and_a_failing_observer_changes_nothing():
    app, connect = vnpt()
    app.faults.add(kind="error500", op="ImportAndPublishInv", times=1)
    seen: list[Exchange] = []

    def observer(ex):
        seen.append(ex)
        raise RuntimeError("the log is down")

    with SandboxServer(app) as server, connect(server.url) as client:
        client.observe(observer)
        result = client.issue(invoice([line("Vở", 2, 12000)]), transaction_uuid=new_uuid())
    assert result.number == 1 and len(app.invoices()) == 1
    outcomes = [(ex.operation, ex.outcome, ex.status) for ex in seen]
    assert ("ImportAndPublishInv", "http_error", 500) in outcomes
    assert ("listInvByCusFkey", "answered", 200) in outcomes  # looked up before sending again
    assert_masked(seen, VNPT_SECRETS)
