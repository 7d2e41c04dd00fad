"""``vn-einvoice bench <name>``: benchmarks that print figures, one entry of ``BENCHES`` each.

To add one (e.g. ``build``): write ``_configure_x(parser)`` and ``_run_x(args) -> int`` and add
``BENCHES["x"] = Bench("help", _configure_x, _run_x)`` below; ``register`` picks it up.
"""

from __future__ import annotations

import copy
import os
import sys
import time
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from ..codes import TaxRate


@dataclass(frozen=True)
class Bench:
    help: str
    configure: Callable  # (argparse.ArgumentParser) -> None
    run: Callable  # (argparse.Namespace) -> int


BENCHES: dict[str, Bench] = {}


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks (" + ", ".join(BENCHES) + ")",
                       description="Benchmarks; the last line of each is machine-readable.")
    benches = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, bench in BENCHES.items():
        bp = benches.add_parser(name, help=bench.help)
        bench.configure(bp)
        bp.set_defaults(func=bench.run)


def pin_to_one_core() -> str:
    """Run on a single CPU when the OS allows it; say which."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (single thread)"


def rates(funcs: dict[str, Callable[[], object]], seconds: float, slice_s: float = 0.05) -> dict[str, float]:
    """Calls per second of CPU time of each function, measured in alternating slices of ``slice_s``
    for about ``seconds`` each, so that all see the same machine state (caches, CPU frequency)."""
    for func in funcs.values():
        func()  # warm-up
    counts = dict.fromkeys(funcs, 0)
    spent = dict.fromkeys(funcs, 0.0)
    clock = time.thread_time  # CPU time of this thread: other processes do not count
    while min(spent.values()) < seconds:
        for name, func in funcs.items():
            n, start = 0, clock()
            deadline = start + slice_s
            while True:
                func()
                n += 1
                now = clock()
                if now >= deadline:
                    break
            counts[name] += n
            spent[name] += now - start
    return {name: counts[name] / spent[name] for name in funcs}


# --- bench sign -----------------------------------------------------------------------------------

SELLER_MST = "0312345673"


def make_sample_hdon(lines: int = 20) -> bytes:
    """An unsigned ``HDon`` (bytes) of :func:`make_sample_invoice`, built by :func:`vn_einvoice.xml.build_xml`."""
    from ..xml import build_xml  # noqa: PLC0415 - CLI start-up: lxml, only for bench

    return build_xml(make_sample_invoice(lines))


def _configure_sign(p) -> None:
    p.add_argument("--lines", type=int, default=20, help="invoice lines (default 20)")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")


def _run_sign(args) -> int:
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415 - CLI start-up: cryptography, only for bench sign
    from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415 - CLI start-up: cryptography, only for bench sign
    from lxml import etree  # noqa: PLC0415 - CLI start-up: lxml, only for bench sign

    from ..sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes  # noqa: PLC0415 - CLI start-up: cryptography, only for bench sign
    from ..signing.pkcs12 import Pkcs12Signer  # noqa: PLC0415 - CLI start-up: cryptography, only for bench sign
    from ..signing.xmldsig import sign_invoice, verify_invoice  # noqa: PLC0415 - CLI start-up: lxml and cryptography, only for bench sign

    where = pin_to_one_core()
    ca = make_test_ca()
    key, cert = make_seller_certificate(ca, SELLER_MST, "CÔNG TY TNHH GIẢI PHÁP MẪU", "rsa", 2048)
    signer = Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "bench"), "bench")
    unsigned = make_sample_hdon(args.lines)
    tree = etree.ElementTree(etree.fromstring(unsigned))  # built once, as an ERP keeps its tree
    signed = sign_invoice(tree, signer)
    if not verify_invoice(signed).valid:  # pragma: no cover - would be a bug
        print("error: the benchmark's signed invoice does not verify")
        return 1
    payload = b"x" * 1024  # about the size of a canonical SignedInfo

    measured = rates({
        "raw": lambda: key.sign(payload, padding.PKCS1v15(), hashes.SHA256()),
        "signed": lambda: sign_invoice(tree, signer),
    }, args.seconds)
    raw, signed_rate = measured["raw"], measured["signed"]
    from_bytes = rates({"raw": lambda: key.sign(payload, padding.PKCS1v15(), hashes.SHA256()),
                        "bytes": lambda: sign_invoice(unsigned, signer)}, max(args.seconds / 3, 0.1))["bytes"]
    print(f"invoice: {args.lines} lines, {len(unsigned)} bytes unsigned, {len(signed)} bytes signed; "
          f"PKCS#12 RSA-2048 rsa-sha256; {where}; CPU time of this thread")
    print(f"per signed invoice (lxml tree in, signed bytes out): {1000 / signed_rate:.3f} ms; "
          f"per raw RSA-2048 signature: {1000 / raw:.3f} ms; XML work {1000 / signed_rate - 1000 / raw:.3f} ms")
    print(f"from unsigned bytes (parse included): {from_bytes:.2f}/s, ratio {from_bytes / raw:.2f}")
    print(f"signed/s={signed_rate:.2f} raw_rsa/s={raw:.2f} ratio={signed_rate / raw:.2f}")
    return 0


BENCHES["sign"] = Bench("sign a sample invoice repeatedly (PKCS#12, RSA-2048, SHA-256) vs raw RSA",
                        _configure_sign, _run_sign)


# --- bench build ----------------------------------------------------------------------------------


def make_sample_invoice(lines: int = 20):
    """A complete invoice with ``lines`` goods lines at 10/8/5/0 %, KCT and KKKNT, a discount and a note."""
    from ..amounts import complete  # noqa: PLC0415 - CLI start-up: the invoice model (~15 ms), only for bench
    from ..document import Invoice, Line, LineKind, Party  # noqa: PLC0415 - CLI start-up: the invoice model (~15 ms), only for bench

    codes = ("10%", "8%", "5%", "0%", "KCT", "KKKNT")
    items = [
        Line(f"Mặt hàng số {i} — bút bi, giấy A4 & mực in <loại tốt>", code=f"SP{i:04d}", unit="Hộp",
             quantity=Decimal(i), unit_price=Decimal(15000 + 250 * i), amount=Decimal(i * (15000 + 250 * i)),
             tax_rate=TaxRate(codes[i % len(codes)]))
        for i in range(1, (lines - 2 if lines >= 3 else max(lines, 1)) + 1)
    ]
    if lines >= 3:
        items.append(Line("Chiết khấu thương mại", kind=LineKind.DISCOUNT, amount=Decimal(10000),
                          tax_rate=TaxRate("10%")))
        items.append(Line("Hàng giao theo hợp đồng số 01/2026/HĐMB", kind=LineKind.NOTE))
    return complete(Invoice(
        template="1", symbol="C26TAA", issue_date=date(2026, 3, 15), number=1, payment_method="TM/CK",
        seller=Party(name="CÔNG TY TNHH GIẢI PHÁP MẪU", tax_code=SELLER_MST,
                     address="12 Đường Số 1, Phường Sài Gòn, TP. Hồ Chí Minh"),
        buyer=Party(name="CÔNG TY CỔ PHẦN KHÁCH HÀNG MẪU", tax_code="0101234565",
                    address="1 Phố Tràng Tiền, Hà Nội"),
        lines=tuple(items), provider_tax_code="0100109106",
    ))


def bench_build(lines: int = 20, seconds: float = 3.0) -> dict:
    """Invoices/second of ``build_xml`` (document checks, tree, structural validation, serialisation)
    against plain ``lxml.etree.tostring`` of the same tree built once."""
    from lxml import etree  # noqa: PLC0415 - CLI start-up: lxml, only for bench build

    from ..xml import build_tree, build_xml  # noqa: PLC0415 - CLI start-up: lxml, only for bench build

    invoice = make_sample_invoice(lines)
    xml = build_xml(invoice)
    root = build_tree(invoice)
    if etree.tostring(root, xml_declaration=True, encoding="UTF-8") != xml:  # pragma: no cover - a bug
        raise AssertionError("build_xml and the baseline serialise different documents")
    measured = rates({
        "built": lambda: build_xml(invoice),
        "serialize_only": lambda: etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
    }, seconds)
    built, base = measured["built"], measured["serialize_only"]
    return {"lines": len(invoice.lines), "bytes": len(xml), "built_per_s": built, "serialize_only_per_s": base,
            "ratio": built / base}


def _configure_build(p) -> None:
    p.add_argument("--lines", type=int, default=20, help="invoice lines (default 20)")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")


def _run_build(args) -> int:
    where = pin_to_one_core()
    r = bench_build(args.lines, args.seconds)
    print(f"invoice: {r['lines']} lines, {r['bytes']} bytes; build_xml with checks vs lxml tostring "
          f"of the same tree; {where}")
    print(f"per built invoice: {1000 / r['built_per_s']:.3f} ms; per plain serialisation: "
          f"{1000 / r['serialize_only_per_s']:.3f} ms")
    print(f"built/s={r['built_per_s']:.2f} serialize_only/s={r['serialize_only_per_s']:.2f} ratio={r['ratio']:.4f}")
    return 0


BENCHES["build"] = Bench("build and serialise a sample invoice repeatedly (build_xml with checks) "
                         "vs plain lxml serialisation", _configure_build, _run_build)


# --- bench provider -------------------------------------------------------------------------------


def bench_provider(count: int = 500, batch_size: int = 50, latency: float = 0.0) -> dict:
    """Issue ``count`` invoices through the in-process SInvoice sandbox: one by one (createInvoice), by
    createBatchInvoice, and as Odoo 18's l10n_vn_edi_viettel does it on Send & Print (createInvoice, then the
    ZIP and the PDF, per invoice). HTTP round trips (login included) and wall time of each. ``latency``
    delays every request in the sandbox by that many seconds (a provider across the Internet)."""
    import requests  # noqa: PLC0415 - CLI start-up: requests, only for bench provider

    from ..amounts import complete  # noqa: PLC0415 - CLI start-up: the invoice model (~15 ms), only for bench
    from ..document import Invoice, Line, Party  # noqa: PLC0415 - CLI start-up: the invoice model (~15 ms), only for bench
    from ..providers.base import BatchEntry  # noqa: PLC0415 - CLI start-up: requests, only for bench provider
    from ..providers.viettel import ViettelSInvoice  # noqa: PLC0415 - CLI start-up: requests and lxml, only for bench provider
    from ..sandbox.viettel import V2_PREFIX, start  # noqa: PLC0415 - CLI start-up: lxml and the simulator, only for bench provider

    gmt7 = timezone(timedelta(hours=7))
    today = datetime.now(gmt7).date()
    supplier = "0100109106"

    def invoice(i: int) -> Invoice:
        return complete(Invoice(
            template="1", symbol=f"K{today:%y}TAA", issue_date=today, payment_method="TM/CK",
            seller=Party(name="CÔNG TY TNHH GIẢI PHÁP MẪU", tax_code=supplier, address="12 Đường Số 1, TP. HCM"),
            buyer=Party(name=f"Khách hàng {i}", tax_code="0101234565", address="1 Phố Tràng Tiền, Hà Nội"),
            lines=tuple(Line(f"Mặt hàng {k}", unit="cái", quantity=Decimal(k), unit_price=Decimal(15000),
                             amount=Decimal(15000 * k), tax_rate=TaxRate("10%" if k % 2 else "8%"))
                        for k in range(1, 4))))

    invoices = [invoice(i) for i in range(count)]
    out: dict = {"count": count, "batch_size": batch_size, "latency": latency}
    with start() as server:
        if latency:
            server.app.faults.add(op="*", kind="delay", seconds=latency)
        def client(**kw) -> ViettelSInvoice:
            return ViettelSInvoice(server.url + V2_PREFIX, "demo", "demo", supplier, template_code="1/001",
                                   token_cache={}, **kw)

        with client() as c:
            started = time.perf_counter()
            for inv in invoices:
                c.issue(inv, transaction_uuid=str(uuid_module.uuid4()))
            out["one_by_one"] = (c.round_trips, time.perf_counter() - started)
        with client(batch_size=batch_size) as c:
            started = time.perf_counter()
            result = c.issue_batch([BatchEntry(inv, str(uuid_module.uuid4())) for inv in invoices])
            out["batch"] = (c.round_trips, time.perf_counter() - started)
            if result.failed:  # pragma: no cover - would be a bug
                raise AssertionError(f"{len(result.failed)} invoices of the batch failed")
        # Odoo 18's request pattern, replayed with plain requests: cookie token (cached), then per invoice
        # createInvoice, getInvoiceRepresentationFile ZIP and PDF (Send & Print attaches both).
        with client() as c, requests.Session() as http:
            base = f"{server.url}{V2_PREFIX}/InvoiceAPI/"
            started, trips = time.perf_counter(), 1
            token = http.post(f"{server.url}/auth/login", json={"username": "demo", "password": "demo"},
                              timeout=60).json()["access_token"]
            for inv in invoices:
                body = c.build_body(inv, transaction_uuid=str(uuid_module.uuid4()))
                answer = http.post(f"{base}InvoiceWS/createInvoice/{supplier}", json=body,
                                   cookies={"access_token": token}, timeout=60).json()
                for file_type in ("ZIP", "PDF"):
                    http.post(f"{base}InvoiceUtilsWS/getInvoiceRepresentationFile", cookies={"access_token": token},
                              json={"supplierTaxCode": supplier, "templateCode": "1/001", "fileType": file_type,
                                    "invoiceNo": answer["result"]["invoiceNo"]}, timeout=60)
                trips += 3
            out["odoo_send_print"] = (trips, time.perf_counter() - started)
    return out


def bench_providers(count: int = 200, fault_rate: float = 0.0) -> dict:
    """Issue ``count`` one-rate invoices one by one through each provider's sandbox (Viettel SInvoice, the seed
    002 portal, VNPT over SOAP), on loopback: round trips and wall time per provider. ``fault_rate``: share of
    requests that fail (dropped, HTTP 500, committed then dropped), to count what exactly-once costs."""
    from ..amounts import complete  # noqa: PLC0415 - CLI start-up: the invoice model, only for bench
    from ..document import Invoice, Line, Party  # noqa: PLC0415 - CLI start-up: the invoice model, only for bench
    from ..providers import get_provider  # noqa: PLC0415 - CLI start-up: requests, zeep, only for bench provider
    from ..providers.http import RetryPolicy  # noqa: PLC0415 - CLI start-up: requests, only for bench provider
    from ..sandbox.http import SandboxServer  # noqa: PLC0415 - CLI start-up: http.server, only for bench provider
    from ..sandbox.portal import PortalSandbox  # noqa: PLC0415 - CLI start-up: the simulator, only for bench provider
    from ..sandbox.viettel import V2_PREFIX, ViettelSandbox  # noqa: PLC0415 - CLI start-up: lxml, only for bench
    from ..sandbox.vnpt import VnptSandbox  # noqa: PLC0415 - CLI start-up: lxml, only for bench provider

    gmt7 = timezone(timedelta(hours=7))
    today = datetime.now(gmt7).date()
    supplier = "0100109106"

    def invoice(i: int) -> Invoice:
        return complete(Invoice(
            template="1", symbol=f"K{today:%y}TAA", issue_date=today, payment_method="TM/CK",
            seller=Party(name="CÔNG TY TNHH GIẢI PHÁP MẪU", tax_code=supplier, address="12 Đường Số 1, TP. HCM"),
            buyer=Party(name=f"Khách hàng {i}", tax_code="0101234565", address="1 Phố Tràng Tiền, Hà Nội",
                        email=f"kh{i}@example.vn"),
            lines=tuple(Line(f"Mặt hàng {k}", unit="cái", quantity=Decimal(k), unit_price=Decimal(15000),
                             amount=Decimal(15000 * k), tax_rate=TaxRate("10%")) for k in range(1, 4))))

    invoices = [invoice(i) for i in range(count)]
    tight = {"timeouts": (2.0, 2.0), "retry": RetryPolicy(attempts=10, backoff=0.002, max_backoff=0.02)}
    setups = {
        "viettel": (ViettelSandbox, lambda url: {"base_url": url + V2_PREFIX, "username": "demo", "password": "demo",
                                                  "template_code": "1/001", "token_cache": {}}),
        "portal": (PortalSandbox, lambda url: {"base_url": url, "username": "demo-apikey",
                                                "password": "demo-sessionkey", "settle": 0.0}),
        "vnpt": (VnptSandbox, lambda url: {"base_url": url, "username": "demoservice", "password": "demo",
                                            "account": "demoadmin", "acpassword": "demo"}),
    }
    out: dict = {"count": count, "fault_rate": fault_rate}
    for name, (sandbox, settings) in setups.items():
        app = sandbox({"seed": 7})
        if fault_rate:
            app.faults.add(op="*", probability=fault_rate, kinds=["drop", "error500", "commit_drop"])
        with SandboxServer(app) as server, get_provider(name, supplier_tax_code=supplier, **tight,
                                                        **settings(server.url)) as c:
            c.issue(invoice(-1), transaction_uuid=str(uuid_module.uuid4()))  # warm: login, WSDL, connection
            trips, started = c.round_trips, time.perf_counter()
            for inv in invoices:
                c.issue(inv, transaction_uuid=str(uuid_module.uuid4()))
            out[name] = (c.round_trips - trips, time.perf_counter() - started)
    return out


def _configure_provider(p) -> None:
    p.add_argument("--count", type=int, default=500, help="invoices per way (default 500)")
    p.add_argument("--batch-size", type=int, default=50,
                   help="invoices per createBatchInvoice (default 50; seed 001 states no limit)")
    p.add_argument("--latency", type=float, default=0.0,
                   help="seconds the sandbox waits before each answer, as a distant provider would (default 0)")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="providers comparison: share of requests failing (drop, 500, commit then drop; default 0)")


def _run_provider(args) -> int:
    if not 0 <= args.fault_rate < 1:
        print("error: --fault-rate must be between 0 and 1", file=sys.stderr)
        return 2
    p = bench_providers(args.count, args.fault_rate)
    print(f"{p['count']} invoices one by one per provider, sandboxes on loopback, failing requests "
          f"{100 * p['fault_rate']:g} %; baseline Viettel SInvoice")
    base_trips, base_s = p["viettel"]
    figures = []
    for name, label in (("viettel", "Viettel SInvoice (JSON)"), ("portal", "seed 002 portal (JSON, no key)"),
                        ("vnpt", "VNPT (SOAP, zeep)")):
        trips, seconds = p[name]
        print(f"  {label:<32} {trips / p['count']:6.2f} round trips/invoice  {1000 * seconds / p['count']:7.3f} "
              f"ms/invoice  x{trips / base_trips:.2f} trips  x{seconds / base_s:.2f} time")
        figures.append(f"{name}_trips_per_invoice={trips / p['count']:.2f} {name}_time_ratio={seconds / base_s:.2f}")
    print(" ".join(figures))
    r = bench_provider(args.count, args.batch_size, args.latency)
    print(f"{r['count']} invoices, Viettel SInvoice sandbox in-process on loopback, token login; "
          f"batch size {r['batch_size']}; added latency {r['latency']:g} s per request")
    labels = {"one_by_one": "one by one (createInvoice)", "batch": "createBatchInvoice",
              "odoo_send_print": "Odoo 18 Send & Print pattern (create + ZIP + PDF)"}
    for key, label in labels.items():
        trips, seconds = r[key]
        print(f"  {label:<52} {trips:>6} round trips  {seconds:8.3f} s  {1000 * seconds / r['count']:7.3f} ms/invoice")
    (t1, s1), (tb, sb), (to, so) = r["one_by_one"], r["batch"], r["odoo_send_print"]
    print(f"one_by_one_round_trips={t1} one_by_one_s={s1:.3f} batch_round_trips={tb} batch_s={sb:.3f} "
          f"odoo_round_trips={to} odoo_s={so:.3f} round_trip_ratio={t1 / tb:.1f} ratio={s1 / sb:.2f}")
    return 0


BENCHES["provider"] = Bench("round trips per invoice per provider (SInvoice, seed 002 portal, VNPT); SInvoice one "
                            "by one vs createBatchInvoice (vs Odoo 18's request pattern)", _configure_provider, _run_provider)


# --- bench worst ----------------------------------------------------------------------------------

WORST_BYTES = 2 * 1024 * 1024 - 4096  # just under the 2 MB limit of parse_untrusted (and of the Odoo page)


def _grow(head: bytes, unit: bytes, tail: bytes, size: int) -> bytes:
    """``head + unit * n + tail`` with the largest ``n`` that stays at most ``size`` bytes."""
    return head + unit * max(0, (size - len(head) - len(tail)) // len(unit)) + tail


def worst_cases(size: int = WORST_BYTES) -> dict[str, bytes]:
    """Inputs of at most ``size`` bytes that cost the most to verify, validate and parse, by name."""
    from lxml import etree  # noqa: PLC0415 - CLI start-up: lxml, only for bench worst

    from ..sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes  # noqa: PLC0415 - CLI start-up: cryptography, only for bench worst
    from ..signing.pkcs12 import Pkcs12Signer  # noqa: PLC0415 - CLI start-up: cryptography, only for bench worst
    from ..signing.xmldsig import sign_invoice  # noqa: PLC0415 - CLI start-up: lxml and cryptography, only for bench worst

    ca = make_test_ca()
    key, cert = make_seller_certificate(ca, SELLER_MST, "CÔNG TY TNHH GIẢI PHÁP MẪU", "rsa", 2048)
    signer = Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "bench"), "bench")
    signed = sign_invoice(make_sample_hdon(3), signer)
    text = signed.decode()
    cases: dict[str, bytes] = {}

    def around(marker: str, unit: str) -> bytes:
        at = text.index(marker)
        return _grow(text[:at].encode(), unit.encode(), text[at:].encode(), size)

    cases["empty_lines"] = around("</DSHHDVu>", "<HHDVu/>")
    cases["lines"] = around("</DSHHDVu>", "<HHDVu><TChat>1</TChat><STT>9</STT><THHDVu>x</THHDVu>"
                            "<ThTien>1</ThTien><TSuat>10%</TSuat></HHDVu>")
    cases["extra_fields"] = around("</NBan>", "<TTin><TTruong>a</TTruong><DLieu>b</DLieu></TTin>")
    cases["extra_fields"] = cases["extra_fields"].replace(b"</NBan>", b"</TTKhac></NBan>", 1).replace(
        b"<TTin>", b"<TTKhac><TTin>", 1)
    cases["huge_text"] = around("<Ten>", "x")
    depth = 250  # the safe parser refuses 256 levels
    dl_end = text.index("</DLHDon>")
    cases["deep_nesting"] = _grow(text[:dl_end].encode() + b"<TTKhac>" + b"<a>" * depth, b"<b/>",
                                  b"</a>" * depth + b"</TTKhac>" + text[dl_end:].encode(), size)
    attrs = "".join(f' a{i}="{i}"' for i in range(200)) + "".join(f' xmlns:p{i}="urn:p{i}"' for i in range(50))
    cases["attributes_namespaces"] = around("</DSHHDVu>", f"<HHDVu{attrs}/>")
    decl_end = text.index("<HDon") + len("<HDon")
    head, tail = text[:decl_end].encode(), text[decl_end:].encode()
    n = (size - len(head) - len(tail)) // len(b' xmlns:p000000="urn:x"')
    cases["root_namespaces"] = head + b"".join(b' xmlns:p%06d="urn:x"' % i for i in range(n)) + tail
    # many namespaces in scope of many elements (inclusive C14N renders the in-scope namespaces)
    half = size // 2
    n = half // len(b' xmlns:p000000="urn:x"')
    ns_head = head + b"".join(b' xmlns:p%06d="urn:x"' % i for i in range(n)) + tail[:tail.index(b"</DLHDon>")]
    cases["namespaces_elements"] = _grow(ns_head + b"<TTKhac>", b"<a/>", b"</TTKhac>" + tail[tail.index(b"</DLHDon>"):],
                                         size)
    # every Reference URI="" digests the whole document again
    root = etree.fromstring(signed)
    ref = next(root.iter("{http://www.w3.org/2000/09/xmldsig#}Reference"))
    doc_ref = etree.fromstring(etree.tostring(ref))
    doc_ref.set("URI", "")
    unit = etree.tostring(doc_ref)
    cases["document_references"] = around("</ds:SignedInfo>" if "</ds:SignedInfo>" in text else "</SignedInfo>",
                                          unit.decode())
    transforms = next(doc_ref.iterchildren("{http://www.w3.org/2000/09/xmldsig#}Transforms"))
    c14n = transforms[-1]
    transforms_at = text.index("</ds:Transforms>" if "</ds:Transforms>" in text else "</Transforms>")
    cases["transforms"] = _grow(text[:transforms_at].encode(), etree.tostring(c14n),
                                text[transforms_at:].encode(), size)
    prefixes = " ".join(f"p{i}" for i in range(size // 8))
    exc = (f'<ds:Transform xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="http://www.w3.org/2001/10/'
           f'xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" '
           f'PrefixList="{prefixes}"/></ds:Transform>')
    cases["prefix_list"] = (text[:transforms_at] + exc + text[transforms_at:]).encode()
    sig = next(root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    sig_text = etree.tostring(sig).decode()
    dscks_at = text.index("</DSCKS>")
    cases["signatures"] = _grow(text[:dscks_at].encode() + b"<CCKSKhac>", sig_text.encode(),
                                b"</CCKSKhac>" + text[dscks_at:].encode(), size)
    # as many signatures as accepted (16), each of URI="" (enveloped: a different document each), over
    # a document of many small elements
    many = etree.fromstring(signed)
    first = next(many.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    for reference in first.iter("{http://www.w3.org/2000/09/xmldsig#}Reference"):
        reference.set("URI", "")
    others = many.find("DSCKS/CCKSKhac")
    for _ in range(15):
        others.append(copy.deepcopy(first))
    body = etree.tostring(many)
    filler_at = body.index(b"</DLHDon>")
    cases["signatures_document"] = _grow(body[:filler_at] + b"<TTKhac>", b"<a/>",
                                         b"</TTKhac>" + body[filler_at:], size)
    return {name: data for name, data in cases.items() if data}


def bench_worst(size: int = WORST_BYTES) -> list[tuple[str, int, dict[str, float]]]:
    """CPU seconds of verify, validate and parse on each worst case: (name, bytes, {operation: s})."""
    from ..errors import ValidationError  # noqa: PLC0415 - CLI start-up: the invoice model, only for bench worst
    from ..signing.xmldsig import verify_invoice  # noqa: PLC0415 - CLI start-up: lxml and cryptography, only for bench worst
    from ..xml.parse import read_tree  # noqa: PLC0415 - CLI start-up: lxml, only for bench worst
    from ..xml.validate import validate_tree  # noqa: PLC0415 - CLI start-up: lxml, only for bench worst
    from ..xmlutil import parse_untrusted  # noqa: PLC0415 - CLI start-up: lxml, only for bench worst

    def parse(data):
        try:
            return read_tree(parse_untrusted(data).getroot())
        except ValidationError as e:
            return e

    def validate(data):
        try:
            return validate_tree(parse_untrusted(data).getroot())
        except ValidationError as e:
            return e

    def verify(data):
        try:
            return verify_invoice(data)
        except ValidationError as e:
            return e

    out = []
    clock = time.thread_time
    for name, data in worst_cases(size).items():
        spent = {}
        for op, func in (("verify", verify), ("validate", validate), ("parse", parse)):
            start = clock()
            func(data)
            spent[op] = clock() - start
        out.append((name, len(data), spent))
    return out


def _configure_worst(p) -> None:
    p.add_argument("--bytes", type=int, default=WORST_BYTES, help=f"size of each input (default {WORST_BYTES})")


def _run_worst(args) -> int:
    where = pin_to_one_core()
    results = bench_worst(args.bytes)
    print(f"worst cases of at most {args.bytes} bytes; CPU seconds of this thread; {where}")
    for name, size, spent in results:
        print(f"  {name:<24} {size:>8} bytes  " + "  ".join(f"{op} {s:8.3f} s" for op, s in spent.items()))
    name, size, spent = max(results, key=lambda r: max(r[2].values()))
    op = max(spent, key=spent.get)
    print(f"worst_case={name} operation={op} cpu_s={spent[op]:.3f}")
    return 0


BENCHES["worst"] = Bench("CPU seconds of verify, validate and parse on worst-case inputs just under 2 MB",
                         _configure_worst, _run_worst)
