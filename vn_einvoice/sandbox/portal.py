"""A faithful local e-invoice portal of seed 002: its six endpoints over real HTTP, in memory (optionally a file).

Out of the box: ``apikey`` ``demo-apikey`` and ``sessionkey`` ``demo-sessionkey`` for the issuer
``0100109106`` with form ``1`` and this year's serials ``C<yy>TAA`` and ``K<yy>TAA`` (and the legacy
``01GTKT0/001`` ``AA/17E``). Never for real invoices.

What seed 002 says is followed to the letter: the headers, the paths and methods, the field names (with
its spellings ``TotalBeforTax`` and ``IsssuerName``), the required fields, ``yyyyMMdd`` dates, the answer
``{responsecode, responsemessage, …}`` with 0 for success, the states CREATED/USING/CANCEL/ADJUSTED/CHANGE/
DELETE and NOSIGN/SIGNED/CUSSIGNED. Where the seed is silent this sandbox chooses, and says so:

* a wrong or missing ``apikey``/``sessionkey``: HTTP 401 with ``responsecode`` 401;
* refusals: HTTP 200 with ``responsecode`` 1 (a field missing or not valid, named in the message),
  2 (form/serial not registered), 3 (no such invoice), 4 (its status forbids it), 5 (not the last invoice
  of its series), 6 (date earlier than the series' last invoice), 7 (not the account's tax code);
* numbers per form and serial, without gaps, under one lock, written with 8 digits (``00000012``);
  a deleted invoice's number is never given again;
* ``sign_on_create`` (default true): the portal signs at once (USING/SIGNED), as portals with a server
  signing key do; false: the invoice stays CREATED/NOSIGN until :meth:`PortalSandbox.sign` (the portal's
  own screen), so that ``update`` and ``deleteLastInvoiceNoSign`` can be used on it;
* the API has no idempotency key: the same body sent twice gives two invoices (as the seed implies).
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..providers.portal import INVOICE_FIELDS, PATHS, PRODUCT_FIELDS
from .http import App, Fault, Faults, Request, Response, parse_json

GMT7 = timezone(timedelta(hours=7))
DEMO_APIKEY, DEMO_SESSIONKEY = "demo-apikey", "demo-sessionkey"
DEMO_TAX_CODE = "0100109106"
_DAY = re.compile(r"\d{8}")


def default_accounts() -> list[dict]:
    yy = datetime.now(GMT7).strftime("%y")
    return [{"apikey": DEMO_APIKEY, "sessionkey": DEMO_SESSIONKEY, "tax_code": DEMO_TAX_CODE,
             "name": "CÔNG TY TNHH ÁNH DƯƠNG (SANDBOX)",
             "forms": {"1": [f"C{yy}TAA", f"K{yy}TAA"], "01GTKT0/001": ["AA/17E"]}}]


@dataclass
class PortalConfig:
    """Settings of the portal sandbox (a JSON file with these keys, all optional)."""

    accounts: list = field(default_factory=default_accounts)
    sign_on_create: bool = True
    state_file: str | None = None
    faults: list = field(default_factory=list)
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> PortalConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown sandbox settings: {', '.join(sorted(unknown))}")
        config = cls(**data)
        check_parties(config.accounts, "accounts", ("apikey", "sessionkey", "tax_code", "name"), "forms")
        return config

    @classmethod
    def load(cls, path: str | os.PathLike) -> PortalConfig:
        return cls.from_dict(json.loads(Path(path).read_text("utf-8")))


def check_parties(parties, name: str, texts: tuple[str, ...], series: str) -> None:
    """ValueError naming the setting when ``parties`` is not a list of objects with those texts and a
    ``{code: [symbol, …]}`` object."""
    if not isinstance(parties, list) or not parties:
        raise ValueError(f"{name}: a non-empty list of objects")
    for i, party in enumerate(parties):
        if not isinstance(party, dict):
            raise ValueError(f"{name}[{i}]: an object")
        for key in texts:
            if not isinstance(party.get(key), str) or not party[key]:
                raise ValueError(f"{name}[{i}].{key}: a non-empty text")
        codes = party.get(series)
        if not isinstance(codes, dict) or not codes or not all(
                isinstance(k, str) and isinstance(v, list) and v and all(isinstance(x, str) for x in v)
                for k, v in codes.items()):
            raise ValueError(f"{name}[{i}].{series}: an object of code → list of symbols")


class Refusal(Exception):
    def __init__(self, code: int, message: str, status: int = 200):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _answer(code: int = 0, message: str = "Thành công", status: int = 200, **extra) -> Response:
    return Response.json({"responsecode": code, "responsemessage": message, **extra}, status)


def _day(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise Refusal(1, f"{key}: ngày phải có dạng yyyyMMdd")
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise Refusal(1, f"{key}: ngày không tồn tại") from None
    return value


def _check_fields(data, spec: dict, where: str = "") -> None:
    if not isinstance(data, dict):
        raise Refusal(1, f"{where or 'body'}: phải là một đối tượng JSON")
    for key, (kind, required) in spec.items():
        value = data.get(key)
        if value is None or value == "" or value == []:
            if required:
                raise Refusal(1, f"{where}{key}: bắt buộc")
            continue
        if kind is Decimal and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise Refusal(1, f"{where}{key}: phải là số")
        if kind is str and not isinstance(value, str):
            raise Refusal(1, f"{where}{key}: phải là chuỗi")
        if kind is list and not isinstance(value, list):
            raise Refusal(1, f"{where}{key}: phải là danh sách")


def _dec(value) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Refusal(1, f"số không hợp lệ: {value!r}") from None


class PortalSandbox(App):
    """The seed 002 portal simulator: ``SandboxServer(PortalSandbox())`` serves it."""

    def __init__(self, config: PortalConfig | dict | None = None):
        config = config if isinstance(config, PortalConfig) else PortalConfig.from_dict(config or {})
        super().__init__(Faults([Fault.from_dict(f) for f in config.faults], seed=config.seed))
        self.config = config
        self.lock = threading.RLock()
        self._reset_state()
        if config.state_file and Path(config.state_file).exists():
            data = json.loads(Path(config.state_file).read_text("utf-8"))
            self.records, self.series = data.get("records", []), data.get("series", {})

    def _reset_state(self) -> None:
        self.records: list[dict] = []
        self.series: dict[str, dict] = {}  # "tax|form|serial" → {"next", "last_day"}
        self.creates = 0  # create requests processed

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
        """Copies of every invoice created (Python API for tests)."""
        with self.lock:
            return copy.deepcopy(self.records)

    # --- the portal's own screens (not in the API) -----------------------------------------------

    def _record(self, tax: str, form: str, serial: str, number: int) -> dict | None:
        for rec in self.records:
            if (rec["tax"], rec["form"], rec["serial"], rec["number"]) == (tax, form, serial, number):
                return rec
        return None

    def sign(self, form: str, serial: str, number: int, tax: str = DEMO_TAX_CODE, *, customer: bool = False) -> None:
        """Sign an invoice (or countersign it for the customer), as the portal's web screen does."""
        with self.lock:
            rec = self._record(tax, form, serial, number)
            if rec is None:
                raise KeyError(number)
            rec["sign"] = "CUSSIGNED" if customer else "SIGNED"
            if rec["status"] == "CREATED":
                rec["status"] = "USING"
            self._save()

    def set_status(self, form: str, serial: str, number: int, status: str, tax: str = DEMO_TAX_CODE) -> None:
        with self.lock:
            rec = self._record(tax, form, serial, number)
            if rec is None:
                raise KeyError(number)
            rec["status"] = status
            self._save()

    # --- HTTP ------------------------------------------------------------------------------------

    def operation(self, request: Request) -> str:
        path = request.path.rstrip("/")
        for name, (method, template) in PATHS.items():
            pattern = "/" + re.escape(template).replace(re.escape("{no}"), "[^/]+")
            if request.method == method and re.fullmatch(r".*" + pattern, path):
                return name
        return "unknown"

    def _account(self, request: Request) -> dict | None:
        key, session = request.headers.get("apikey", ""), request.headers.get("sessionkey", "")
        for account in self.config.accounts:
            if key and session and (account["apikey"], account["sessionkey"]) == (key, session):
                return account
        return None

    def handle(self, request: Request, decision) -> Response:
        op = self.operation(request)
        if op == "unknown":
            return _answer(404, f"không có hàm {request.method} {request.path}", 404)
        account = self._account(request)
        if account is None:
            return _answer(401, "apikey hoặc sessionkey không hợp lệ", 401)
        body: dict = {}
        if op != "getIssuerFormInvoice":
            if request.content_type != "application/json":
                return _answer(1, "Content-Type phải là application/json", 415)
            try:
                body = parse_json(request.body or b"")
            except ValueError as e:
                return _answer(1, f"JSON không hợp lệ: {e}", 400)
            if not isinstance(body, dict):
                return _answer(1, "body: phải là một đối tượng JSON")
        try:
            with self.lock:
                response = getattr(self, "_op_" + op)(account, body, request)
                self._save()
            return response
        except Refusal as r:
            return _answer(r.code, r.message, r.status)

    # --- operations ------------------------------------------------------------------------------

    def _check_invoice(self, account: dict, body: dict) -> tuple[str, str, str]:
        _check_fields(body, INVOICE_FIELDS)
        for i, product in enumerate(body["InvoiceProducts"]):
            _check_fields(product, PRODUCT_FIELDS, f"InvoiceProducts[{i}].")
            if abs(_dec(product["Quantity"]) * _dec(product["Cost"]) - _dec(product["Amount"])) > 1:
                raise Refusal(1, f"InvoiceProducts[{i}].Amount: khác Quantity × Cost")
        day = _day(body, "InvoiceDate")
        _day(body, "PaymentDate")
        if body["CompanyTaxCode"] != account["tax_code"]:
            raise Refusal(7, "mã số thuế không thuộc tài khoản")
        form, serial = body["InvoiceForm"], body["SerialNo"]
        if serial not in account["forms"].get(form, []):
            raise Refusal(2, f"mẫu {form} ký hiệu {serial} chưa được đăng ký")
        before, tax, after = _dec(body["TotalBeforTax"]), _dec(body["TotalTax"]), _dec(body["TotalAfterTax"])
        if sum(_dec(p["Amount"]) for p in body["InvoiceProducts"]) != before:
            raise Refusal(1, "TotalBeforTax: khác tổng Amount của các dòng")
        if before + tax != after:
            raise Refusal(1, "TotalAfterTax: khác TotalBeforTax + TotalTax")
        rate = _dec(body["Tax"])
        if rate in (Decimal(-1), Decimal(-2)) and tax:
            raise Refusal(1, "TotalTax: hóa đơn không chịu thuế (Tax -1/-2) không có tiền thuế")
        return form, serial, day

    def _op_create(self, account: dict, body: dict, request: Request) -> Response:
        form, serial, day = self._check_invoice(account, body)
        key = f"{account['tax_code']}|{form}|{serial}"
        series = self.series.setdefault(key, {"next": 1, "last_day": ""})
        if day < series["last_day"]:
            raise Refusal(6, f"ngày lập {day} nhỏ hơn ngày hóa đơn cuối cùng của dải ({series['last_day']})")
        number = series["next"]
        series["next"], series["last_day"] = number + 1, day
        signed = self.config.sign_on_create
        self.records.append({"tax": account["tax_code"], "form": form, "serial": serial, "number": number,
                             "day": day, "status": "USING" if signed else "CREATED",
                             "sign": "SIGNED" if signed else "NOSIGN", "body": copy.deepcopy(body),
                             "user": account["apikey"][:4] + "…"})
        self.creates += 1
        rec = self.records[-1]
        return _answer(InvoiceNo=f"{number:08d}", InvoiceStatus=rec["status"], SignStatus=rec["sign"])

    @staticmethod
    def _path_number(request: Request) -> int:
        text = request.path.rstrip("/").rsplit("/", 1)[-1]
        if not text.isdigit():
            raise Refusal(1, f"invoiceNumber: {text!r} không phải là số")
        return int(text)

    def _find(self, account: dict, body: dict, number: int) -> dict:
        for key in ("CompanyTaxCode", "InvoiceForm", "SerialNo"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise Refusal(1, f"{key}: bắt buộc")
        day = _day(body, "InvoiceDate")
        if body["CompanyTaxCode"] != account["tax_code"]:
            raise Refusal(7, "mã số thuế không thuộc tài khoản")
        rec = self._record(account["tax_code"], body["InvoiceForm"], body["SerialNo"], number)
        if rec is None or rec["day"] != day:
            raise Refusal(3, f"không tìm thấy hóa đơn số {number}")
        return rec

    def _op_update(self, account: dict, body: dict, request: Request) -> Response:
        number = self._path_number(request)
        self._check_invoice(account, body)
        rec = self._record(account["tax_code"], body["InvoiceForm"], body["SerialNo"], number)
        if rec is None:
            raise Refusal(3, f"không tìm thấy hóa đơn số {number}")
        if rec["status"] != "CREATED" or rec["sign"] != "NOSIGN":
            raise Refusal(4, f"hóa đơn số {number} đang ở trạng thái {rec['status']}/{rec['sign']}")
        rec["body"], rec["day"] = copy.deepcopy(body), body["InvoiceDate"]
        return _answer()

    def _op_deleteLastInvoiceNoSign(self, account: dict, body: dict, request: Request) -> Response:  # noqa: N802
        rec = self._find(account, body, self._path_number(request))
        if rec["status"] != "CREATED" or rec["sign"] != "NOSIGN":
            raise Refusal(4, f"hóa đơn số {rec['number']} đang ở trạng thái {rec['status']}/{rec['sign']}")
        alive = [r["number"] for r in self.records if (r["tax"], r["form"], r["serial"]) ==
                 (rec["tax"], rec["form"], rec["serial"]) and r["status"] != "DELETE"]
        if rec["number"] != max(alive):
            raise Refusal(5, f"hóa đơn số {rec['number']} không phải hóa đơn cuối cùng của dải")
        rec["status"] = "DELETE"
        return _answer()

    def _op_getStatus(self, account: dict, body: dict, request: Request) -> Response:  # noqa: N802
        no = body.get("InvoiceNo")
        if not isinstance(no, str) or not no.strip().isdigit():
            raise Refusal(1, "InvoiceNo: bắt buộc, là số")
        rec = self._find(account, body, int(no))
        return _answer(InvoiceStatus=rec["status"], SignStatus=rec["sign"])

    def _op_getIssuerFormInvoice(self, account: dict, body: dict, request: Request) -> Response:  # noqa: N802
        forms = [{"InvoiceFormCode": form, "SignsInvoice": serial}
                 for form, serials in account["forms"].items() for serial in serials]
        return _answer(IssuerTaxCode=account["tax_code"], IsssuerName=account["name"], FormInvoices=forms)

    def _op_getBillsByDate(self, account: dict, body: dict, request: Request) -> Response:  # noqa: N802
        start, end = _day(body, "FromDate"), _day(body, "ToDate")
        status = body.get("Status")
        if status not in (None, "") and status not in ("CREATED", "USING", "CANCEL", "ADJUSTED", "CHANGE", "DELETE"):
            raise Refusal(1, f"Status: {status!r} không hợp lệ")
        bills = []
        for rec in self.records:
            if rec["tax"] != account["tax_code"] or not start <= rec["day"] <= end or status and rec["status"] != status:
                continue
            b = rec["body"]
            bills.append({"EinvoiceNumber": f"{rec['number']:08d}", "InvoiceFormCode": rec["form"],
                          "SignsInvoice": rec["serial"], "CreateDate": rec["day"],
                          "CustomerEmail": b.get("CustomerEmail", ""), "CustomerTaxCode": b.get("CustomerTaxCode", ""),
                          "CompanyName": b.get("CustomerCompanyName", ""), "AmountNotVAT": b.get("TotalBeforTax"),
                          "AmountVAT": b.get("TotalTax"), "SumAmount": b.get("TotalAfterTax"),
                          "UserCreate": rec["user"], "EinvoiceStatus": rec["status"], "SignStatus": rec["sign"]})
        return _answer(bills=bills)
