"""A faithful local VNPT Invoice: SOAP 1.1 over real HTTP on VNPT's own WSDLs, in memory (optionally a file).

Serves ``/PublishService.asmx``, ``/BusinessService.asmx``, ``/PortalService.asmx``: ``GET …?WSDL`` gives
the WSDL of :mod:`vn_einvoice.providers.wsdl` with its ``soap:address`` rewritten to this sandbox; ``POST``
a SOAP 1.1 envelope (``text/xml``, ``SOAPAction: "http://tempuri.org/<Op>"``) calls an operation and
answers ``<OpResponse><OpResult>…</OpResult></OpResponse>`` as ASMX does, with VNPT's strings:

* ``ImportAndPublishInv``: ``<Invoices><Inv><key/><Invoice>…`` (WebserviceV3 §2); one bad invoice rejects the
  batch (``ERR:3``); a known fkey ``ERR:13`` (TT78 document); more than 5000 ``ERR:10``; pattern and serial both
  or neither, registered (``ERR:20``); a date before the series' last ``ERR:30``; success
  ``OK:<pattern>;<serial>-<key>_<num>,…``;
* ``AdjustInvoiceAction``/``ReplaceInvoiceAction``: ``<AdjustInv>``/``<ReplaceInv>`` with the new ``<key>`` and
  the original's ``fkey`` parameter (§6–7): original unknown ``ERR:2``, already replaced ``ERR:8``, status
  forbids ``ERR:9``, template not the original's ``ERR:19``; success ``OK:<pattern>;<serial>;<key>_<num>``;
  a known new key answers ``ERR:13`` (the manual is silent there: this sandbox's choice);
* ``confirmPaymentFkey``/``UnConfirmPaymentFkey`` (§3, §5; fkeys joined by ``_``): ``ERR:6`` unknown,
  ``ERR:7`` cancelled or replaced, ``ERR:13`` already so; ``OK``;
* ``cancelInv`` (§20): ``ERR:2`` unknown, ``ERR:8`` already cancelled or replaced, ``ERR:9`` when
  ``cancel=false`` (Decree 70/2025) or adjusted; ``OK:``;
* ``downloadInvPDFFkeyNoPay`` (base64 PDF), ``downloadInvFkeyNoPay`` (the invoice XML with ``InvoiceNo`` —
  unsigned here: a sandbox has no VNPT key), ``ERR:6`` unknown;
* ``listInvByCusFkey`` (parameter ``key``, dates ``dd/MM/yyyy`` or empty): ``OK:<Data><Item>…</Item></Data>``
  with status 1 issued, 3 replaced, 4 adjusted (cancelled invoices are not listed, as the manual says);
* ``listInvFromNoToNo`` (PortalService; ``invFromNo``, ``invToNo``, ``invPattern``, ``invSerial``): the invoices of
  that number range, at most 100 (VNPT's document), as ``<Data><Item>`` with ``invToken``, ``fkey``, ``total``,
  ``amount``, ``cusname``, ``status`` (5 cancelled included) — no ``OK:`` prefix, as documented; numbers not
  digits ``ERR:``;
* ``getSerialByPattern`` (BusinessService; ``userName``, ``userPass``, ``pattern``): per series
  ``STT-Serial-TotalInv-InvNoFrom-InvNoTo-CurrentInvNo-TotalRemainingInv-BeginUsedFrom-Status`` joined by ``;``
  (TT78 ranges: 1 to 99999999; status 1 not used yet, 2 in use); a pattern not the company's ``ERR:4`` (the
  manual's "pattern not found" of the portal operations: this sandbox's choice, undocumented there).

Wrong ``Account``/``ACpass`` or service user: ``ERR:1``. Out of the box: admin ``demoadmin``/``demo``,
service ``demoservice``/``demo``, pattern ``1/001`` with ``C<yy>TAA`` and ``K<yy>TAA``. Other operations of
the WSDLs answer a SOAP fault "not simulated". Never for real invoices.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import threading
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from ..providers.vnpt import SERVICES, TNS, WSDL_DIR
from ..xmlutil import safe_parser
from .files import make_pdf
from .http import App, Fault, Faults, Request, Response
from .portal import check_parties

GMT7 = timezone(timedelta(hours=7))
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
DEMO_ACCOUNT, DEMO_ACPASS, DEMO_USER, DEMO_PASS = "demoadmin", "demo", "demoservice", "demo"
MAX_BATCH = 5000
MAX_LIST = 100  # listInvFromNoToNo
RANGE_END = 99_999_999  # TT78 numbers: 8 digits at most
_FKEY = re.compile(r"[A-Za-z0-9]{1,50}")


def default_companies() -> list[dict]:
    yy = datetime.now(GMT7).strftime("%y")
    return [{"account": DEMO_ACCOUNT, "acpass": DEMO_ACPASS, "username": DEMO_USER, "password": DEMO_PASS,
             "tax_code": "0100109106", "patterns": {"1/001": [f"C{yy}TAA", f"K{yy}TAA"]}}]


@dataclass
class VnptConfig:
    companies: list = field(default_factory=default_companies)
    cancel: bool = True  # False: cancelInv answers ERR:9 (Decree 70/2025)
    state_file: str | None = None
    faults: list = field(default_factory=list)
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> VnptConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown sandbox settings: {', '.join(sorted(unknown))}")
        config = cls(**data)
        check_parties(config.companies, "companies", ("account", "acpass", "username", "password", "tax_code"),
                       "patterns")
        return config

    @classmethod
    def load(cls, path: str | os.PathLike) -> VnptConfig:
        return cls.from_dict(json.loads(Path(path).read_text("utf-8")))


class Err(Exception):
    def __init__(self, code: int | str):
        super().__init__(f"ERR:{code}")
        self.code = code


def _soap(op: str, result: str) -> Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            f'<soap:Body><{op}Response xmlns="{TNS}"><{op}Result>{escape(result)}</{op}Result></{op}Response>'
            '</soap:Body></soap:Envelope>')
    return Response(200, body.encode("utf-8"), {"Content-Type": "text/xml; charset=utf-8"})


def _fault(message: str, code: str = "soap:Client", status: int = 500) -> Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body><soap:Fault>'
            f'<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring></soap:Fault></soap:Body>'
            '</soap:Envelope>')
    return Response(status, body.encode("utf-8"), {"Content-Type": "text/xml; charset=utf-8"})


def _dec(text: str, where: str) -> Decimal:
    try:
        return Decimal((text or "0").strip() or "0")
    except InvalidOperation:
        raise Err(3) from None


def _invoice_fields(node) -> dict:
    """The flat fields of an ``<Invoice>``/``<AdjustInv>``/``<ReplaceInv>``, with its products; Err(3) if bad."""
    data = {c.tag: (c.text or "").strip() for c in node if isinstance(c.tag, str) and c.tag != "Products"}
    products = node.find("Products")
    if products is None or not len(products):
        raise Err(3)
    lines = []
    for p in products.findall("Product"):
        row = {c.tag: (c.text or "").strip() for c in p if isinstance(c.tag, str)}
        if not row.get("ProdName"):
            raise Err(3)
        lines.append(row)
    for key in ("CusName", "CusAddress", "ArisingDate", "Amount", "AmountInWords"):
        if not data.get(key):
            raise Err(3)
    try:
        data["day"] = datetime.strptime(data["ArisingDate"], "%d/%m/%Y").strftime("%Y%m%d")
    except ValueError:
        raise Err(3) from None
    goods = [x for x in lines if x.get("IsSum", "0") in ("0", "")]
    discounts = [x for x in lines if x.get("IsSum") == "2"]
    total = _dec(data.get("Total"), "Total")
    vat = _dec(data.get("VATAmount"), "VATAmount")
    if sum(_dec(x.get("Total"), "Total") for x in goods) - sum(_dec(x.get("Total"), "Total") for x in discounts) != total:
        raise Err(3)
    if abs(sum(_dec(x.get("VATAmount"), "VATAmount") for x in goods + discounts) - vat) > len(lines):
        raise Err(3)
    if total + vat != _dec(data.get("Amount"), "Amount"):
        raise Err(3)
    data["Products"] = lines
    return data


def _item(record: dict, tags: tuple[str, ...], **values) -> str:
    """One ``<Item>`` of VNPT's invoice lists, its elements in the order of ``tags``."""
    day = datetime.strptime(record["day"], "%Y%m%d").strftime("%d/%m/%Y")
    data = record["data"]
    known = {"index": day[3:5], "invToken": f"{record['pattern']};{record['serial']};{record['number']}",
             "fkey": record["fkey"], "cusCode": data.get("CusCode", ""), "publishDate": day, "signStatus": "0",
             "total": data.get("Total", ""), "amount": data.get("Amount", ""), "pattern": record["pattern"],
             "serial": record["serial"], "invNum": f"{record['number']:07d}", "status": record["status"],
             "cusname": data.get("CusName", ""), "payment": data.get("PaymentStatus", "0") or "0", **values}
    return "<Item>" + "".join(f"<{tag}>{escape(str(known[tag]))}</{tag}>" for tag in tags) + "</Item>"


class VnptSandbox(App):
    """The VNPT Invoice simulator: ``SandboxServer(VnptSandbox())`` serves it."""

    def __init__(self, config: VnptConfig | dict | None = None):
        config = config if isinstance(config, VnptConfig) else VnptConfig.from_dict(config or {})
        super().__init__(Faults([Fault.from_dict(f) for f in config.faults], seed=config.seed))
        self.config = config
        self.lock = threading.RLock()
        self._wsdl = {name: (WSDL_DIR / f"vnpt_{name}.wsdl").read_text("utf-8") for name in SERVICES}
        self._reset_state()
        if config.state_file and Path(config.state_file).exists():
            data = json.loads(Path(config.state_file).read_text("utf-8"))
            self.records, self.series = data.get("records", {}), data.get("series", {})

    def _reset_state(self) -> None:
        self.records: dict[str, dict] = {}  # "tax|fkey" → invoice
        self.series: dict[str, dict] = {}  # "tax|pattern|serial" → {"next", "last_day"}
        self.issued = 0  # invoices numbered

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._reset_state()
            self._save()

    def _save(self) -> None:
        if self.config.state_file:
            path = Path(self.config.state_file)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(json.dumps({"records": self.records, "series": self.series}, ensure_ascii=False), "utf-8")
            tmp.replace(path)

    def snapshot(self) -> dict:
        with self.lock:
            return {"records": copy.deepcopy(self.records), "series": copy.deepcopy(self.series)}

    def invoices(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.records.values()))

    # --- HTTP ------------------------------------------------------------------------------------

    def _service_of(self, request: Request) -> str | None:
        m = re.fullmatch(r"/(\w+)\.asmx/?", request.path)
        return m.group(1) if m and m.group(1) in SERVICES else None

    def operation(self, request: Request) -> str:
        if request.method == "GET":
            return "wsdl"
        action = request.headers.get("soapaction", "").strip('"')
        return action.rsplit("/", 1)[-1] or "soap"

    def handle(self, request: Request, decision) -> Response:
        service = self._service_of(request)
        if service is None:
            return Response.text("Not found", 404)
        if request.method == "GET":
            if request.raw_query.split("&")[0].split("=")[0].lower() != "wsdl":
                return Response.text(f"{service} web service: add ?WSDL", 200)
            host = request.headers.get("host", "127.0.0.1")
            wsdl = re.sub(r'(<soap1?2?:address location=")[^"]*(")', rf'\g<1>http://{host}/{service}.asmx\g<2>',
                          self._wsdl[service])
            return Response.text(wsdl, 200, "text/xml; charset=utf-8")
        if request.method != "POST":
            return Response.text("Method not allowed", 405)
        if request.content_type != "text/xml":
            return _fault("SOAP 1.1 wants Content-Type text/xml", status=415)
        try:
            envelope = etree.fromstring(request.body, safe_parser())
        except etree.XMLSyntaxError as e:
            return _fault(f"unreadable XML: {e}", status=400)
        body = envelope.find(f"{{{SOAP_NS}}}Body")
        call = body[0] if body is not None and len(body) else None
        if call is None or not isinstance(call.tag, str) or etree.QName(call).namespace != TNS:
            return _fault("no operation of http://tempuri.org/ in the SOAP body")
        op = etree.QName(call).localname
        if request.headers.get("soapaction", "").strip('"') != f"{TNS}{op}":
            return _fault(f"SOAPAction does not name {op}")
        params = {etree.QName(c).localname: (c.text or "") for c in call if isinstance(c.tag, str)}
        handler = getattr(self, f"_op_{op}", None)
        if handler is None or f'name="{op}"' not in self._wsdl[service]:
            return _fault(f"{op} is not simulated by this sandbox", "soap:Server")
        try:
            with self.lock:
                result = handler(params)
                self._save()
        except Err as e:
            result = f"ERR:{e.code}"
        return _soap(op, result)

    # --- accounts --------------------------------------------------------------------------------

    def _company(self, params: dict, *, admin: bool = True) -> dict:
        user = params.get("username") or params.get("userName") or ""
        password = params.get("password") or params.get("pass") or params.get("userPass") or ""
        for company in self.config.companies:
            if (company["username"], company["password"]) != (user, password):
                continue
            if admin and (company["account"], company["acpass"]) != (params.get("Account"), params.get("ACpass")):
                break
            return company
        raise Err(1)

    def _series(self, company: dict, pattern: str, serial: str) -> tuple[str, str]:
        if bool(pattern) != bool(serial):
            raise Err(20)
        if not pattern:
            pattern = next(iter(company["patterns"]))
            serial = company["patterns"][pattern][0]
        if serial not in company["patterns"].get(pattern, []):
            raise Err(20)
        return pattern, serial

    def _number(self, company: dict, pattern: str, serial: str, day: str) -> int:
        series = self.series.setdefault(f"{company['tax_code']}|{pattern}|{serial}", {"next": 1, "last_day": ""})
        if day < series["last_day"]:
            raise Err(30)
        number = series["next"]
        series["next"], series["last_day"] = number + 1, day
        self.issued += 1
        return number

    def _store(self, company, fkey, pattern, serial, data, number, kind="original", original="") -> dict:
        record = {"tax": company["tax_code"], "fkey": fkey, "pattern": pattern, "serial": serial, "number": number,
                  "day": data["day"], "status": "1", "kind": kind, "original": original, "data": data}
        self.records[f"{company['tax_code']}|{fkey}"] = record
        return record

    # --- PublishService --------------------------------------------------------------------------

    def _op_ImportAndPublishInv(self, p: dict) -> str:  # noqa: N802 - VNPT's names
        company = self._company(p)
        try:
            root = etree.fromstring(p.get("xmlInvData", "").encode("utf-8"), safe_parser())
        except etree.XMLSyntaxError:
            raise Err(3) from None
        pattern, serial = self._series(company, p.get("pattern", ""), p.get("serial", ""))
        invs = root.findall("Inv") if root.tag == "Invoices" else []
        if not invs:
            raise Err(3)
        if len(invs) > MAX_BATCH:
            raise Err(10)
        batch = []
        for inv in invs:
            fkey = (inv.findtext("key") or "").strip()
            node = inv.find("Invoice")
            if not _FKEY.fullmatch(fkey) or node is None or fkey in {k for k, _ in batch}:
                raise Err(3)
            if f"{company['tax_code']}|{fkey}" in self.records:
                raise Err(13)
            batch.append((fkey, _invoice_fields(node)))
        last = self.series.get(f"{company['tax_code']}|{pattern}|{serial}", {}).get("last_day", "")
        if any(data["day"] < last for _, data in batch) or [d["day"] for _, d in batch] != sorted(d["day"] for _, d in batch):
            raise Err(30)
        pairs = []
        for fkey, data in batch:
            number = self._number(company, pattern, serial, data["day"])
            self._store(company, fkey, pattern, serial, data, number)
            pairs.append(f"{fkey}_{number}")
        return f"OK:{pattern};{serial}-{','.join(pairs)}"

    # --- BusinessService -------------------------------------------------------------------------

    def _correction(self, p: dict, root_tag: str) -> str:
        company = self._company(p)
        original = self.records.get(f"{company['tax_code']}|{p.get('fkey', '')}")
        if original is None:
            raise Err(2)
        try:
            root = etree.fromstring(p.get("xmlInvData", "").encode("utf-8"), safe_parser())
        except etree.XMLSyntaxError:
            raise Err(3) from None
        if root.tag != root_tag:
            raise Err(3)
        fkey = (root.findtext("key") or "").strip()
        if not _FKEY.fullmatch(fkey):
            raise Err(3)
        data = _invoice_fields(root)
        if original["status"] in ("3", "5"):
            raise Err(8)
        if original["kind"] != "original" or original["status"] not in ("1", "4"):
            raise Err(9)
        if f"{company['tax_code']}|{fkey}" in self.records:
            raise Err(13)
        pattern, serial = p.get("pattern", ""), p.get("serial", "")
        if pattern and pattern != original["pattern"]:
            raise Err(19)
        pattern, serial = self._series(company, pattern or original["pattern"], serial or original["serial"])
        if root_tag == "AdjustInv" and (root.findtext("Type") or "2").strip() not in ("2", "3", "4", "6"):
            raise Err(3)
        number = self._number(company, pattern, serial, data["day"])
        kind = "adjustment" if root_tag == "AdjustInv" else "replacement"
        self._store(company, fkey, pattern, serial, data, number, kind, original["fkey"])
        original["status"] = "4" if root_tag == "AdjustInv" else "3"
        return f"OK:{pattern};{serial};{fkey}_{number:07d}"

    def _op_AdjustInvoiceAction(self, p: dict) -> str:  # noqa: N802
        return self._correction(p, "AdjustInv")

    def _op_ReplaceInvoiceAction(self, p: dict) -> str:  # noqa: N802
        return self._correction(p, "ReplaceInv")

    def _op_cancelInv(self, p: dict) -> str:  # noqa: N802
        company = self._company(p)
        record = self.records.get(f"{company['tax_code']}|{p.get('fkey', '')}")
        if record is None:
            raise Err(2)
        if record["status"] in ("3", "5"):
            raise Err(8)
        if not self.config.cancel or record["status"] != "1":
            raise Err(9)
        record["status"] = "5"
        return "OK:"

    def _payment(self, p: dict, paid: bool) -> str:
        company = self._company(p, admin=False)
        records = [self.records.get(f"{company['tax_code']}|{fkey}") for fkey in p.get("lstFkey", "").split("_")]
        if not records or any(r is None for r in records):
            raise Err(6)
        if any(r["status"] in ("3", "5") for r in records):
            raise Err(7)
        flag = "1" if paid else "0"
        if all(r["data"].get("PaymentStatus", "0") == flag for r in records):
            raise Err(13)
        for r in records:
            r["data"]["PaymentStatus"] = flag
        return "OK"

    def _op_confirmPaymentFkey(self, p: dict) -> str:  # noqa: N802
        return self._payment(p, True)

    def _op_UnConfirmPaymentFkey(self, p: dict) -> str:  # noqa: N802
        return self._payment(p, False)

    # --- PortalService ---------------------------------------------------------------------------

    def _portal_record(self, p: dict) -> dict:
        company = self._company(p, admin=False)
        record = self.records.get(f"{company['tax_code']}|{p.get('fkey', '')}")
        if record is None:
            raise Err(6)
        return record

    def _op_downloadInvPDFFkeyNoPay(self, p: dict) -> str:  # noqa: N802
        r = self._portal_record(p)
        pdf = make_pdf([f"HOA DON {r['pattern']} {r['serial']} so {r['number']}", f"Ngay {r['day']}",
                        f"Khach hang: {r['data'].get('CusName', '')}", f"Tong tien: {r['data'].get('Amount', '')}",
                        f"fkey {r['fkey']} (VNPT sandbox)"])
        return base64.b64encode(pdf).decode("ascii")

    def _op_downloadInvFkeyNoPay(self, p: dict) -> str:  # noqa: N802
        r = self._portal_record(p)
        fields_xml = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in r["data"].items()
                             if k not in ("Products", "day") and re.fullmatch(r"[A-Za-z]\w*", k))
        products = "".join("<Product>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in x.items()
                                                 if re.fullmatch(r"[A-Za-z]\w*", k)) + "</Product>"
                           for x in r["data"]["Products"])
        return (f'<?xml version="1.0" encoding="utf-8"?><Invoice><key>{r["fkey"]}</key><Pattern>{escape(r["pattern"])}'
                f'</Pattern><Serial>{escape(r["serial"])}</Serial><InvoiceNo>{r["number"]}</InvoiceNo>{fields_xml}'
                f'<Products>{products}</Products></Invoice>')

    def _op_listInvByCusFkey(self, p: dict) -> str:  # noqa: N802
        company = self._company(p, admin=False)
        days = []
        for name in ("fromDate", "toDate"):
            text = p.get(name, "").strip()
            try:
                days.append(datetime.strptime(text, "%d/%m/%Y").strftime("%Y%m%d") if text else None)
            except ValueError:
                raise Err(3) from None
        items = []
        for r in self.records.values():
            if r["tax"] != company["tax_code"] or r["fkey"] != p.get("key", "") or r["status"] not in ("1", "3", "4"):
                continue
            if (days[0] and r["day"] < days[0]) or (days[1] and r["day"] > days[1]):
                continue
            items.append(_item(r, ("index", "cusCode", "name", "publishDate", "signStatus", "pattern", "serial",
                                   "invNum", "payment", "amount", "status"), name=r["data"].get("CusName", "")))
        return "OK:<Data>" + "".join(items) + "</Data>"

    def _op_listInvFromNoToNo(self, p: dict) -> str:  # noqa: N802
        company = self._company(p, admin=False)
        first, last = (p.get("invFromNo") or "").strip(), (p.get("invToNo") or "").strip()
        if not first.isdigit() or not last.isdigit():
            return "ERR:"
        first_no, last_no = int(first), min(int(last), int(first) + MAX_LIST - 1)
        pattern, serial = p.get("invPattern", ""), p.get("invSerial", "")
        rows = sorted((r for r in self.records.values() if r["tax"] == company["tax_code"]
                       and (r["pattern"], r["serial"]) == (pattern, serial) and first_no <= r["number"] <= last_no),
                      key=lambda r: r["number"])
        tags = ("index", "invToken", "fkey", "name", "publishDate", "signStatus", "total", "amount", "pattern", "serial",
                "invNum", "status", "cusname", "payment")
        return "<Data>" + "".join(_item(r, tags, name="Hóa đơn giá trị gia tăng") for r in rows) + "</Data>"

    def _op_getSerialByPattern(self, p: dict) -> str:  # noqa: N802
        company = self._company(p, admin=False)
        pattern = p.get("pattern", "")
        if pattern not in company["patterns"]:
            raise Err(4)
        parts = []
        for index, serial in enumerate(company["patterns"][pattern], 1):
            used = self.series.get(f"{company['tax_code']}|{pattern}|{serial}", {})
            current = used.get("next", 1) - 1
            begin = min((r["day"] for r in self.records.values() if r["tax"] == company["tax_code"]
                         and (r["pattern"], r["serial"]) == (pattern, serial)), default="")
            begin = datetime.strptime(begin, "%Y%m%d").strftime("%d/%m/%Y") if begin else ""
            parts.append(f"{index}-{serial}-{RANGE_END}-1-{RANGE_END}-{current}-{RANGE_END - current}-{begin}-"
                         f"{2 if current else 1}")
        return ";".join(parts)
