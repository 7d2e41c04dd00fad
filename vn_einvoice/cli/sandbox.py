"""``vn-einvoice sandbox <provider>``: run a provider simulator on this machine until Ctrl-C."""

from __future__ import annotations

import ipaddress
import json
import sys


def _config(cls, args):
    """The sandbox's settings from ``--config`` (and ``--state``); a bad file is a ValidationError naming it."""
    from ..errors import ValidationError  # noqa: PLC0415 - CLI start-up: only for sandbox
    from ..sandbox.http import Fault  # noqa: PLC0415 - CLI start-up: http.server, only for sandbox

    try:
        config = cls.load(args.config) if args.config else cls()
        if not isinstance(config.faults, list):
            raise ValueError("faults: a list of fault objects")
        for rule in config.faults:
            Fault.from_dict(rule)
    except (ValueError, TypeError) as e:  # malformed JSON, unknown or wrong settings
        raise ValidationError.at("--config", f"{args.config}: {e}") from None
    if args.state:
        config.state_file = args.state
    return config


def _viettel(args):
    from ..sandbox.http import SandboxServer  # noqa: PLC0415 - CLI start-up: http.server, only for sandbox
    from ..sandbox.viettel import DEMO_PASSWORD, DEMO_USER, SandboxConfig, ViettelSandbox  # noqa: PLC0415 - CLI start-up: lxml and the simulator, only for sandbox

    config = _config(SandboxConfig, args)
    server = SandboxServer(ViettelSandbox(config), args.host, args.port, admin=not args.no_admin)
    lines = [f"seed 001 API (HTTP Basic):   {server.url}/InvoiceAPI/…",
             f"current API (token):         {server.url}/services/einvoiceapplication/api/InvoiceAPI/…",
             f"token login:                 POST {server.url}/auth/login"]
    if any(u["username"] == DEMO_USER for u in config.users):
        lines.append(f"demo credentials:            user {DEMO_USER!r}, password {DEMO_PASSWORD!r}, "
                     "any supplier tax code that passes the MST check (e.g. 0100109106)")
    else:
        lines.append(f"users: {', '.join(u['username'] for u in config.users)}")
    lines.append("templates: " + "; ".join(f"{code} {' '.join(t['series'])}" for code, t in config.templates.items()))
    return _serve(server, "Viettel SInvoice sandbox", lines, config.faults)


def _serve(server, title: str, lines: list[str], faults) -> int:
    from ..sandbox.http import ADMIN_HEADER  # noqa: PLC0415 - CLI start-up: http.server, only for sandbox

    print(f"{title} (never for real invoices) at {server.url}")
    for line in lines:
        print(f"  {line}")
    faults = json.dumps(faults) if faults else "none"
    if server.admin_token:  # printed once, here: only who started the sandbox may steer it
        print(f"  faults: {faults} — change them with POST {server.url}/_sandbox/faults")
        print(f"  control endpoints (/_sandbox/…) want the header {ADMIN_HEADER}: {server.admin_token}")
    else:
        print(f"  faults: {faults}; control endpoints (/_sandbox/…) off")
    if not ipaddress.ip_address(server.host).is_loopback:
        print(f"warning: listening on {server.host}, not loopback: other machines can reach this sandbox",
              file=sys.stderr)
    print("Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def _portal(args):
    from ..sandbox.http import SandboxServer  # noqa: PLC0415 - CLI start-up: http.server, only for sandbox
    from ..sandbox.portal import PortalConfig, PortalSandbox  # noqa: PLC0415 - CLI start-up: only for sandbox

    config = _config(PortalConfig, args)
    server = SandboxServer(PortalSandbox(config), args.host, args.port, admin=not args.no_admin)
    lines = [f"seed 002 API: {server.url}/invoice/create, /invoice/getStatus, … (headers apikey, sessionkey)"]
    for account in config.accounts:
        forms = "; ".join(f"{form} {' '.join(serials)}" for form, serials in account["forms"].items())
        shown = (f"apikey {account['apikey']!r}, sessionkey {account['sessionkey']!r}"
                 if account["apikey"].startswith("demo") else "apikey and sessionkey of the config file")
        lines.append(f"account {account['tax_code']}: {shown}; forms {forms}")
    lines.append("the portal signs at creation" if config.sign_on_create else "invoices stay unsigned (NOSIGN)")
    return _serve(server, "E-invoice portal sandbox (seed 002)", lines, config.faults)


def _vnpt(args):
    from ..sandbox.http import SandboxServer  # noqa: PLC0415 - CLI start-up: http.server, only for sandbox
    from ..sandbox.vnpt import VnptConfig, VnptSandbox  # noqa: PLC0415 - CLI start-up: lxml, only for sandbox

    config = _config(VnptConfig, args)
    server = SandboxServer(VnptSandbox(config), args.host, args.port, admin=not args.no_admin)
    lines = [f"SOAP 1.1: {server.url}/PublishService.asmx, /BusinessService.asmx, /PortalService.asmx (?WSDL)"]
    for company in config.companies:
        patterns = "; ".join(f"{p} {' '.join(s)}" for p, s in company["patterns"].items())
        shown = (f"Account {company['account']!r}/{company['acpass']!r}, service user "
                 f"{company['username']!r}/{company['password']!r}" if company["account"].startswith("demo")
                 else "accounts of the config file")
        lines.append(f"company {company['tax_code']}: {shown}; patterns {patterns}")
    return _serve(server, "VNPT Invoice sandbox (SOAP)", lines, config.faults)


def _tax_authority(args):
    from ..sandbox.http import ADMIN_HEADER, SandboxServer  # noqa: PLC0415 - CLI start-up: http.server, only for sandbox
    from ..sandbox.taxauthority import (  # noqa: PLC0415 - CLI start-up: lxml, crypto and the simulator
        API,
        DEMO_PASSWORD,
        DEMO_USER,
        TVAN_CODE,
        TaxAuthorityConfig,
        TaxAuthoritySandbox,
        load_config,
    )

    try:
        config = load_config(args.config) if args.config else TaxAuthorityConfig()
    except (ValueError, TypeError) as e:
        print(f"error: {args.config}: {e}", file=sys.stderr)
        return 2
    app = TaxAuthoritySandbox(config)
    server = SandboxServer(app, args.host, args.port, admin=not args.no_admin)
    if args.ca_file:
        with open(args.ca_file, "wb") as f:
            f.write(app.identity.ca_pem)
    print(f"Tax authority (CQT) behind a T-VAN, sandbox (never for real invoices) at {server.url}")
    print(f"  send a TDiep:      POST {server.url}{API}/messages (application/xml, HTTP Basic)")
    print(f"  its replies:       GET  {server.url}{API}/messages/<MTDiep>/replies")
    print(f"  receiver code:     TCT (or this T-VAN, {TVAN_CODE})")
    if any(u.get("username") == DEMO_USER for u in config.users):
        print(f"  demo credentials:  user {DEMO_USER!r}, password {DEMO_PASSWORD!r}")
    print(f"  its CQT signs with a test 'CỤC THUẾ' certificate; trust its CA to verify: GET {server.url}{API}/ca.pem"
          + (f" (written to {args.ca_file})" if args.ca_file else ""))
    if server.admin_token:
        print(f"  faults: POST {server.url}/_sandbox/faults and /_sandbox/reply-faults")
        print(f"  control endpoints (/_sandbox/…) want the header {ADMIN_HEADER}: {server.admin_token}")
    else:
        print("  control endpoints (/_sandbox/…) off")
    if not ipaddress.ip_address(server.host).is_loopback:
        print(f"warning: listening on {server.host}, not loopback: other machines can reach this sandbox",
              file=sys.stderr)
    print("Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


SANDBOXES = {
    "viettel": (_viettel, "Viettel SInvoice (seed 001), HTTP Basic and token login"),
    "portal": (_portal, "the generic e-invoice portal API of seed 002 (apikey/sessionkey)"),
    "vnpt": (_vnpt, "VNPT Invoice, SOAP on VNPT's TT78 WSDLs"),
    "tax-authority": (_tax_authority, "the tax authority (CQT) behind a T-VAN: TDiep messages 100/200/203/300 "
                                      "and their replies"),
}
DEFAULT_PORTS = {"viettel": 8443, "portal": 8443, "vnpt": 8443, "tax-authority": 8460}


def register(sub) -> None:
    p = sub.add_parser("sandbox", help="run a provider simulator (" + ", ".join(SANDBOXES) + ")",
                       description="Run a local simulator of a provider's API, for tests and demos.")
    providers = p.add_subparsers(dest="provider", metavar="PROVIDER", required=True)
    for name, (run, help_text) in SANDBOXES.items():
        sp = providers.add_parser(name, help=help_text)
        sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        port = DEFAULT_PORTS[name]
        sp.add_argument("--port", type=int, default=port, help=f"port (default {port}; 0 for a free one)")
        if name == "tax-authority":
            sp.add_argument("--config", help="JSON settings: users, reply_delay, final_delay, accept_registrations, "
                                             "faults, reply_faults, office, …")
            sp.add_argument("--ca-file", help="write the sandbox CA's certificate (PEM) here, to trust its CQT")
        else:
            sp.add_argument("--config", help="JSON settings: users, templates, faults, duplicate_uuid, cancel, …")
            sp.add_argument("--state", help="keep the invoices in this JSON file across restarts")
        sp.add_argument("--no-admin", action="store_true",
                        help="turn the control endpoints (/_sandbox/faults, stats, state, reset) off")
        sp.set_defaults(func=run)
