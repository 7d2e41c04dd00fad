"""A local tax authority behind a T-VAN: receives ``TDiep`` messages over real HTTP and answers as the CQT.

The API is :mod:`vn_einvoice.taxauthority.transport`'s (``POST /tvan/v1/messages``, ``GET
/tvan/v1/messages/<MTDiep>[/replies]``, HTTP Basic, ``demo``/``demo`` out of the box) plus ``GET
/tvan/v1/ca.pem``: the sandbox's CA, to trust its CQT signatures (only then does the verifier call
them verified). Never for real invoices.

What it checks, as the CQT does (each refusal carries a reason in Vietnamese and a code of this
sandbox's own, ``MLoi``):

* every message: the envelope (:func:`~vn_einvoice.taxauthority.envelope.validate_message`), the
  receiver (``TCT`` or this T-VAN), a message type a taxpayer sends (100, 200, 203, 300, 400) — else a 999 with ``TTTNhan`` 1 and
  nothing more;
* 100 (01/ĐKTĐ-HĐĐT): the form's fields, the taxpayer's signature (MST of the form) → 102 received or
  not, then 103 accepted (the registration replaces the previous one) or not;
* 200 (to be coded) / 203 (without code): an accepted registration of the MST covering the kind of
  invoice (with/without code, template); the seller's signature intact, made with a certificate listed
  in the registration (serial and issuer; with ``trusted_ca_files``, chaining to those CAs too); the invoice's structure and totals (:func:`~vn_einvoice.xml.validate.validate_tree`);
  a number (MST, template, symbol, number) never received before → 202 with ``MCCQT`` (34 upper-case
  hex: a transaction number and a code derived from the seller's data) and the CQT's signature, or 204
  (01/TB-KTDL) with the reasons; a 203 batch gets one 204 (``LTBao`` 2 valid, 3 with the invalid ones);
* 400 (01/TH-HĐĐT): a registration to send invoices without code by summary table, the taxpayer's
  signature, the table's checks, a period and supplement number not sent before (a supplement follows
  the previous one) → 204 ``LTBao`` 2 or 4;
* 300 (04/SS-HĐĐT): the taxpayer's signature, each invoice named known to the CQT → 301 per invoice;
  a cancellation (``TCTBao`` 1) of a coded invoice cancels it here.

Idempotency by ``MTDiep``: the same bytes again are answered ``duplicate`` and not processed; other bytes
under a used ``MTDiep`` get 409. Replies are signed by a test "CỤC THUẾ" certificate of the sandbox's CA.

Faults: the HTTP ones of :mod:`.http` (``delay``, ``drop`` — nothing processed —, ``commit_drop`` — processed,
the answer lost: the crash between send and reply —, ``error500``, ``rate_limit``, ``commit_delay``) on the
operations ``send``, ``status``, ``replies``; and reply faults (``POST /_sandbox/reply-faults``, or
``app.reply_faults``): ``late`` (a reply comes ``seconds`` later), ``drop`` (a reply never comes),
``duplicate`` (a reply is delivered twice, the second copy under a new ``MTDiep``), ``refuse`` (the
final reply refuses, with ``reason``; with ``invoice``, a number ``SHDon``, only that invoice of a 203
batch is refused, the others are checked as usual), each for a message type (``message``: ``"200"``…, or
``"*"``) and a reply type (``reply``: ``"202"``…, or ``"*"``), ``times`` at most.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from ..errors import ValidationError
from ..notice import verify_notice
from ..signing import Pkcs12Signer, verify_invoice
from ..signing.xmldsig import ICT
from ..taxauthority.envelope import (
    FROM_TAXPAYER,
    TAX_AUTHORITY,
    MessageType,
    build_message,
    new_message_id,
    peek_header,
    validate_message,
)
from ..taxauthority.registration import (
    CertificateAction,
    Registration,
    read_registration_tree,
    verify_registration,
)
from ..taxauthority.replies import (
    AuthorityNotice,
    CheckResult,
    Form,
    InvoiceResult,
    Reason,
    TechnicalReceipt,
    build_receipt_xml,
    code_invoice,
    make_mccqt,
    seller_data,
    sign_authority_notice,
)
from ..taxauthority.summary import check_summary, read_summary_tree, verify_summary
from ..xml.validate import validate_tree
from ..xmlutil import parse_untrusted
from .http import App, Decision, Request, Response, SandboxServer, parse_json
from .testca import make_government_test_ca, make_seller_certificate, p12_bytes

DEMO_USER, DEMO_PASSWORD = "demo", "demo"
TVAN_CODE = "V0100109106"  # this sandbox's own T-VAN code (V + an MST)
API = "/tvan/v1"
REPLY_FAULT_KINDS = ("late", "drop", "duplicate", "refuse")

# Reasons (MLoi: this sandbox's codes; MTa: what the CQT writes, in Vietnamese)
R_FORMAT = "10001"  # the message itself
R_RECEIVER = "10002"
R_TYPE = "10003"
R_NOT_REGISTERED = "20001"
R_KIND = "20002"
R_SIGNATURE = "20003"
R_CERTIFICATE = "20004"
R_DATA = "20005"
R_DUPLICATE = "20006"
R_UNKNOWN_INVOICE = "30001"
R_ALREADY_CANCELLED = "30002"
R_REFUSED = "90001"


@dataclass
class ReplyFault:
    kind: str  # late | drop | duplicate | refuse
    message: str = "*"  # MLTDiep of the message answered ("200") or "*"
    reply: str = "*"  # MLTDiep of the reply affected ("202") or "*"
    times: int | None = None
    seconds: float = 5.0  # late
    reason: str = "Từ chối theo yêu cầu thử nghiệm (sandbox)"  # refuse
    invoice: str = ""  # refuse: only the invoice of this number (SHDon) in a 203 batch
    fired: int = 0

    def __post_init__(self):
        if self.kind not in REPLY_FAULT_KINDS:
            raise ValueError(f"unknown reply fault {self.kind!r}: one of {', '.join(REPLY_FAULT_KINDS)}")
        self.message, self.reply = str(self.message), str(self.reply)
        self.times = None if self.times is None else int(self.times)
        self.seconds = float(self.seconds)
        self.invoice = str(self.invoice or "").lstrip("0")
        if self.invoice and self.kind != "refuse":
            raise ValueError("only a refuse fault names an invoice")

    @classmethod
    def from_dict(cls, data: dict) -> ReplyFault:
        if not isinstance(data, dict):
            raise ValueError("a reply fault is a JSON object")
        unknown = set(data) - ({f.name for f in fields(cls)} - {"fired"})
        if unknown:
            raise ValueError(f"unknown reply fault keys: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class TaxAuthorityConfig:
    """Settings (a JSON object with these keys, all optional)."""

    users: list[dict] = field(default_factory=lambda: [{"username": DEMO_USER, "password": DEMO_PASSWORD}])
    reply_delay: float = 0.0  # seconds before the 999 is available
    final_delay: float = 0.0  # seconds after the 999 before the other replies are available
    accept_registrations: bool = True  # False: every 100 gets 103 "not accepted"
    office: str = "Thuế cơ sở (sandbox)"
    parent_office: str = "Cục Thuế (sandbox)"
    place: str = "Hà Nội"
    faults: list[dict] = field(default_factory=list)
    reply_faults: list[dict] = field(default_factory=list)
    trusted_ca_files: list[str] = field(default_factory=list)  # PEM files: taxpayers' certificates must chain here

    @classmethod
    def from_dict(cls, data: dict) -> TaxAuthorityConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class _Record:
    """A message received, its bytes' digest and its replies."""

    message_id: str
    type: int
    sha256: str
    received_at: str
    replies: list[tuple[float, str, int, bytes]] = field(default_factory=list)  # (available_at, MTDiep, type, xml)


class TaxAuthorityIdentity:
    """The sandbox's CA and its "CỤC THUẾ" signer (10 years from yesterday; a test key, never real)."""

    def __init__(self):
        # named like the government CA that issues the tax authority's certificates (the verifier's issuer policy)
        self.ca = make_government_test_ca()
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BỘ TÀI CHÍNH"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "vn-einvoice sandbox - không dùng thật"),
            x509.NameAttribute(NameOID.COMMON_NAME, "CỤC THUẾ"),
        ])
        start = datetime.now(timezone.utc) - timedelta(days=1)
        key, cert = make_seller_certificate(self.ca, "", "", subject=subject, not_before=start,
                                            not_after=start + timedelta(days=3650))
        self.signer = Pkcs12Signer(p12_bytes(key, cert, [self.ca.certificate], "sandbox"), "sandbox")

    @property
    def ca_pem(self) -> bytes:
        return self.ca.pem


class TaxAuthoritySandbox(App):
    """The receiving side: a T-VAN and the CQT behind it (in memory)."""

    def __init__(self, config: TaxAuthorityConfig | dict | None = None, *, identity: TaxAuthorityIdentity | None = None,
                 clock=time.time):
        config = TaxAuthorityConfig.from_dict(config) if isinstance(config, dict) else (config or TaxAuthorityConfig())
        super().__init__()
        self.config = config
        self.identity = identity or TaxAuthorityIdentity()
        self.clock = clock
        self.lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        for rule in config.faults:
            self.faults.add(rule)
        self.reply_faults: list[ReplyFault] = [ReplyFault.from_dict(r) for r in config.reply_faults]
        self.trusted_cas: list[x509.Certificate] = [
            c for path in config.trusted_ca_files for c in x509.load_pem_x509_certificates(Path(path).read_bytes())]
        self._reset_state()

    def _reset_state(self) -> None:
        with self.lock:
            self.messages: dict[str, _Record] = {}
            self.registrations: dict[str, Registration] = {}
            self.invoices: dict[tuple[str, str, str, str], dict] = {}
            self.summaries: dict[tuple, str] = {}  # (MST, period kind, period, supplement) -> MTDiep
            self.transactions = 0
            self.notices = 0

    def reset(self) -> None:
        super().reset()
        self._reset_state()

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "messages": {mid: {"MLTDiep": r.type, "sha256": r.sha256, "received_at": r.received_at,
                                   "replies": [t for _a, _m, t, _x in r.replies]} for mid, r in self.messages.items()},
                "registrations": {mst: {"with_code": r.with_code, "without_code": r.without_code,
                                        "uses": sorted(u.value for u in r.uses),
                                        "certificates": sorted(r.active_serials())}
                                  for mst, r in self.registrations.items()},
                "invoices": [{"MST": k[0], "KHMSHDon": k[1], "KHHDon": k[2], "SHDon": k[3], **v}
                             for k, v in self.invoices.items()],
            }

    # --- HTTP ------------------------------------------------------------------------------------

    def operation(self, request: Request) -> str:
        path = request.path.rstrip("/")
        if path == f"{API}/messages":
            return "send"
        if path.endswith("/replies"):
            return "replies"
        if path == f"{API}/ca.pem":
            return "ca"
        return "status"

    def admin(self, request: Request) -> Response:
        if request.path.rstrip("/") != "/_sandbox/reply-faults":
            return super().admin(request)
        with self.lock:
            if request.method == "DELETE":
                self.reply_faults.clear()
            elif request.method == "POST":
                data = parse_json(request.body or b"[]")
                rules = [ReplyFault.from_dict(r) for r in (data if isinstance(data, list) else [data])]
                self.reply_faults.extend(rules)
            return Response.json([asdict(r) for r in self.reply_faults])

    def _user(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            username, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return any(u.get("username") == username and hmac.compare_digest(
            str(u.get("password", "")).encode("utf-8"), password.encode("utf-8")) for u in self.config.users)

    def handle(self, request: Request, decision: Decision | None) -> Response:
        path = request.path.rstrip("/")
        if path == f"{API}/ca.pem" and request.method == "GET":
            return Response(200, self.identity.ca_pem, {"Content-Type": "application/x-pem-file"})
        if not path.startswith(API + "/"):
            return Response.json({"error": "not found"}, 404)
        if not self._user(request):
            return Response.json({"error": "the T-VAN account or password is wrong"}, 401,
                                 {"WWW-Authenticate": 'Basic realm="T-VAN sandbox"'})
        if path == f"{API}/messages":
            if request.method != "POST":
                return Response.json({"error": "method not allowed"}, 405)
            return self._receive(request)
        parts = path[len(API) + 1:].split("/")
        if request.method != "GET" or parts[0] != "messages" or len(parts) not in (2, 3) or (
                len(parts) == 3 and parts[2] != "replies"):
            return Response.json({"error": "not found"}, 404)
        with self.lock:
            record = self.messages.get(parts[1])
            if record is None:
                return Response.json({"error": f"no message {parts[1]}"}, 404)
            if len(parts) == 2:
                return Response.json({"MTDiep": record.message_id, "MLTDiep": record.type, "sha256": record.sha256,
                                      "received_at": record.received_at})
            now = self.clock()
            ready = [{"MLTDiep": t, "MTDiep": m, "xml": x.decode("utf-8")}
                     for at, m, t, x in record.replies if at <= now]
        return Response.json({"replies": ready})

    def _receive(self, request: Request) -> Response:
        if request.content_type not in ("application/xml", "text/xml"):
            return Response.json({"error": "send the TDiep as application/xml"}, 415)
        body = request.body
        header = peek_header(body)
        mid = header.get("MTDiep", "")
        if not mid or len(mid) > 46:
            problems = [str(p) for p in validate_message(body)] or ["TDiep/TTChung/MTDiep: missing"]
            return Response.json({"error": "not a message: its MTDiep cannot be read", "problems": problems}, 400)
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            known = self.messages.get(mid)
            if known is not None:
                if known.sha256 != digest:
                    return Response.json({"error": f"MTDiep {mid} was already used for another message"}, 409)
                return Response.json({"MTDiep": mid, "status": "duplicate"}, 200)
            record = _Record(mid, int(header.get("MLTDiep", "0") or 0) if header.get("MLTDiep", "").isdigit() else 0,
                             digest, datetime.now(ICT).strftime("%Y-%m-%dT%H:%M:%S"))
            self.messages[mid] = record
            self._process(record, body, header)
        return Response.json({"MTDiep": mid, "status": "received"}, 202)

    # --- replies ---------------------------------------------------------------------------------

    def _fault(self, kind: str, message_type: int, reply_type: int, invoice: str = "") -> ReplyFault | None:
        """The first rule that applies (and counts it); ``invoice``: for one invoice of a batch (rules naming
        an invoice apply only there, the others only to the whole message)."""
        for rule in self.reply_faults:
            if rule.kind != kind or rule.message not in ("*", str(message_type)) or \
                    rule.reply not in ("*", str(reply_type)) or rule.invoice != invoice:
                continue
            if rule.times is not None and rule.fired >= rule.times:
                continue
            rule.fired += 1
            self.count(f"reply_fault:{kind}")
            return rule
        return None

    def _reply(self, record: _Record, header: dict, reply_type: MessageType, item: bytes, delay: float) -> None:
        late = self._fault("late", record.type, int(reply_type))
        if self._fault("drop", record.type, int(reply_type)) is not None:
            return
        available = self.clock() + delay + (late.seconds if late else 0.0)
        copies = 2 if self._fault("duplicate", record.type, int(reply_type)) is not None else 1
        for _ in range(copies):
            mid = new_message_id(TAX_AUTHORITY)
            data = build_message(reply_type, [item], sender=TAX_AUTHORITY, receiver=header.get("MNGui", ""),
                                 tax_code=header.get("MST", ""), reply_to=record.message_id, message_id=mid,
                                 version=header.get("PBan") or "2.1.0")
            record.replies.append((available, mid, int(reply_type), data))

    def _receipt(self, record: _Record, header: dict, reasons: list[Reason]) -> None:
        receipt = TechnicalReceipt(record.message_id, header.get("MNGui", ""),
                                   datetime.now(ICT).replace(tzinfo=None, microsecond=0), tuple(reasons))
        self._reply(record, header, MessageType.TECHNICAL_RECEIPT, build_receipt_xml(receipt), self.config.reply_delay)

    def _notice(self, record: _Record, header: dict, form: Form, *, accepted: bool, reasons=(), invoices=(),
                taxpayer_name: str = "", **extra) -> None:
        self.notices += 1
        now = datetime.now(ICT).replace(tzinfo=None, microsecond=0)
        notice = AuthorityNotice(
            form=form, tax_code=header.get("MST", ""), taxpayer_name=taxpayer_name or header.get("MST", ""),
            accepted=accepted, number=f"{self.notices}/TB-SANDBOX", notice_time=now, reasons=tuple(reasons),
            invoices=tuple(invoices), office=self.config.office, parent_office=self.config.parent_office,
            place=self.config.place, received_at=now, **extra)
        signed = sign_authority_notice(notice, self.identity.signer)
        reply_type = {Form.RECEIPT: MessageType.REGISTRATION_RECEIPT, Form.REGISTRATION: MessageType.REGISTRATION_RESULT,
                      Form.DATA_CHECK: MessageType.DATA_CHECK_RESULT,
                      Form.ERROR_NOTICE: MessageType.ERROR_NOTICE_RESULT}[form]
        self._reply(record, header, reply_type, signed, self.config.reply_delay + self.config.final_delay)

    # --- processing ------------------------------------------------------------------------------

    def _process(self, record: _Record, body: bytes, header: dict) -> None:
        problems = [Reason(R_FORMAT, str(p)) for p in validate_message(body)]
        receiver = header.get("MNNhan", "")
        if not problems and receiver not in (TAX_AUTHORITY, TVAN_CODE):
            problems.append(Reason(R_RECEIVER, f"Mã nơi nhận {receiver} không phải Cơ quan thuế (TCT) hoặc "
                                               f"T-VAN này ({TVAN_CODE})"))
        if not problems and record.type not in {int(t) for t in FROM_TAXPAYER}:
            problems.append(Reason(R_TYPE, f"Thông điệp loại {record.type} không phải thông điệp người nộp thuế gửi "
                                           "đến hệ thống này (100, 200, 203, 300, 400)"))
        self._receipt(record, header, problems)
        if problems:
            return
        items = parse_untrusted(body).getroot().find("DLieu")
        items = [c for c in items if isinstance(c.tag, str)]
        mtype = MessageType(record.type)
        if mtype is MessageType.REGISTRATION:
            self._registration(record, header, items[0])
        elif mtype is MessageType.INVOICE_FOR_CODE:
            self._for_code(record, header, items[0])
        elif mtype is MessageType.INVOICE_WITHOUT_CODE:
            self._without_code(record, header, items)
        elif mtype is MessageType.ERROR_NOTICE:
            self._error_notice(record, header, items[0])
        elif mtype is MessageType.SUMMARY_TABLE:
            self._summary(record, header, items[0])

    def _registration(self, record: _Record, header: dict, tkhai) -> None:
        xml = etree.tostring(tkhai)
        reasons: list[Reason] = []
        reg = None
        try:
            reg = read_registration_tree(tkhai)
        except ValidationError as e:
            reasons += [Reason(R_DATA, str(p)) for p in e.problems]
        if reg is not None:
            report = verify_registration(xml, trusted_certificates=self.trusted_cas or None)
            reasons += [Reason(R_SIGNATURE, f"Chữ ký số không hợp lệ: {p}") for p in report.all_problems()]
        name = reg.taxpayer_name if reg else ""
        self._notice(record, header, Form.RECEIPT, accepted=not reasons, reasons=reasons, taxpayer_name=name)
        if reasons:
            return
        refuse = self._fault("refuse", record.type, int(MessageType.REGISTRATION_RESULT))
        if refuse is not None or not self.config.accept_registrations:
            text = refuse.reason if refuse else "Cơ quan thuế không chấp nhận đăng ký (sandbox)"
            self._notice(record, header, Form.REGISTRATION, accepted=False, reasons=[Reason(R_REFUSED, text)],
                         taxpayer_name=name, registration_kind=int(reg.kind))
            return
        self.registrations[reg.tax_code] = reg
        self._notice(record, header, Form.REGISTRATION, accepted=True, taxpayer_name=name,
                     registration_kind=int(reg.kind))

    def _invoice_reasons(self, hdon, coded: bool) -> tuple[list[Reason], tuple]:
        """Why an invoice cannot be coded/accepted, and its key (MST, template, symbol, number)."""
        tt, nd = "DLHDon/TTChung/", "DLHDon/NDHDon/"
        mst = (hdon.findtext(nd + "NBan/MST") or "").strip()
        template = (hdon.findtext(tt + "KHMSHDon") or "").strip()
        key = (mst, template, (hdon.findtext(tt + "KHHDon") or "").strip(), (hdon.findtext(tt + "SHDon") or "").strip())
        reasons: list[Reason] = []
        reg = self.registrations.get(mst)
        if reg is None:
            reasons.append(Reason(R_NOT_REGISTERED, f"Người nộp thuế MST {mst} chưa được chấp nhận đăng ký sử dụng "
                                                    "hóa đơn điện tử (tờ khai 01/ĐKTĐ-HĐĐT)"))
        elif not reg.allows(template, coded):
            kind = "có mã của cơ quan thuế" if coded else "không có mã của cơ quan thuế"
            reasons.append(Reason(R_KIND, f"Hóa đơn mẫu số {template} {kind} không nằm trong loại hóa đơn đã đăng "
                                          "ký sử dụng"))
        report = verify_invoice(etree.tostring(hdon), trusted_certificates=self.trusted_cas or None)
        for problem in report.all_problems():
            reasons.append(Reason(R_SIGNATURE, f"Chữ ký số không hợp lệ: {problem}"))
        seller = report.seller
        if reg is not None and seller is not None and seller.serial and not any(
                c.serial.upper().lstrip("0") == seller.serial.upper().lstrip("0") and c.issuer
                and c.issuer in (seller.issuer or "") and c.action is not CertificateAction.STOP
                for c in reg.certificates):
            reasons.append(Reason(R_CERTIFICATE, f"Chứng thư số (số sê-ri {seller.serial.upper()}, tổ chức cấp "
                                                 f"{seller.issuer}) chưa được đăng ký trong tờ khai 01/ĐKTĐ-HĐĐT"))
        for problem in validate_tree(hdon):
            reasons.append(Reason(R_DATA, f"Dữ liệu hóa đơn không hợp lệ: {problem}"))
        known = self.invoices.get(key)
        if known is not None:
            reasons.append(Reason(R_DUPLICATE, f"Hóa đơn mẫu số {key[1]} ký hiệu {key[2]} số {key[3]} đã được gửi "
                                               f"đến cơ quan thuế (thông điệp {known['MTDiep']})"))
        return reasons, key

    @staticmethod
    def _result(key, hdon, reasons, **extra) -> InvoiceResult:
        day = (hdon.findtext("DLHDon/TTChung/NLap") or "").strip()
        issue = datetime.strptime(day, "%Y-%m-%d").date() if len(day) == 10 and day[4] == "-" else None
        return InvoiceResult(template=key[1], symbol=key[2], number=key[3], issue_date=issue,
                             accepted=not reasons, reasons=tuple(reasons), **extra)

    def _for_code(self, record: _Record, header: dict, hdon) -> None:
        reasons, key = self._invoice_reasons(hdon, coded=True)
        refuse = self._fault("refuse", record.type, int(MessageType.DATA_CHECK_RESULT))
        if refuse is not None:
            reasons.append(Reason(R_REFUSED, refuse.reason))
        name = (hdon.findtext("DLHDon/NDHDon/NBan/Ten") or "").strip()
        if reasons:
            self._notice(record, header, Form.DATA_CHECK, accepted=False, taxpayer_name=name,
                         invoices=[self._result(key, hdon, reasons)], check_result=CheckResult.NOT_ELIGIBLE_FOR_CODE)
            return
        self.transactions += 1
        mccqt = make_mccqt(self.transactions, self._secret, seller_data(hdon))
        coded = code_invoice(hdon, mccqt, self.identity.signer)
        self.invoices[key] = {"MTDiep": record.message_id, "MCCQT": mccqt, "state": "coded"}
        self._reply(record, header, MessageType.CODED_INVOICE, coded,
                    self.config.reply_delay + self.config.final_delay)

    def _without_code(self, record: _Record, header: dict, items) -> None:
        results, name = [], ""
        refuse = self._fault("refuse", record.type, int(MessageType.DATA_CHECK_RESULT))
        seen = set()
        for hdon in items:
            reasons, key = self._invoice_reasons(hdon, coded=False)
            if key in seen:
                reasons.append(Reason(R_DUPLICATE, f"Hóa đơn ký hiệu {key[2]} số {key[3]} có hai lần trong thông điệp"))
            seen.add(key)
            if refuse is not None:
                reasons.append(Reason(R_REFUSED, refuse.reason))
            one = self._fault("refuse", record.type, int(MessageType.DATA_CHECK_RESULT), invoice=key[3].lstrip("0"))
            if one is not None:
                reasons.append(Reason(R_REFUSED, one.reason))
            name = name or (hdon.findtext("DLHDon/NDHDon/NBan/Ten") or "").strip()
            if not reasons:
                self.invoices[key] = {"MTDiep": record.message_id, "MCCQT": "", "state": "received"}
            results.append(self._result(key, hdon, reasons))
        invalid = [r for r in results if not r.accepted]
        self._notice(record, header, Form.DATA_CHECK, accepted=not invalid, taxpayer_name=name, invoices=invalid,
                     check_result=CheckResult.INVALID_WITHOUT_CODE if invalid else CheckResult.VALID)

    def _error_notice(self, record: _Record, header: dict, tbao) -> None:
        report = verify_notice(etree.tostring(tbao), trusted_certificates=self.trusted_cas or None)
        signature = [Reason(R_SIGNATURE, f"Chữ ký số không hợp lệ: {p}") for p in report.all_problems()]
        mst = (tbao.findtext("DLTBao/MST") or "").strip()
        refuse = self._fault("refuse", record.type, int(MessageType.ERROR_NOTICE_RESULT))
        results = []
        for line in tbao.iterfind("DLTBao/DSHDon/HDon"):
            key = (mst, (line.findtext("KHMSHDon") or "").strip(), (line.findtext("KHHDon") or "").strip(),
                   (line.findtext("SHDon") or "").strip())
            nature = int((line.findtext("TCTBao") or "0").strip() or 0)
            reasons = list(signature)
            known = self.invoices.get(key)
            if known is None:
                reasons.append(Reason(R_UNKNOWN_INVOICE, f"Không tìm thấy hóa đơn mẫu số {key[1]} ký hiệu {key[2]} "
                                                         f"số {key[3]} của MST {mst} tại cơ quan thuế"))
            elif known["state"] == "cancelled":
                reasons.append(Reason(R_ALREADY_CANCELLED, f"Hóa đơn ký hiệu {key[2]} số {key[3]} đã bị hủy"))
            if refuse is not None:
                reasons.append(Reason(R_REFUSED, refuse.reason))
            if not reasons and nature == 1:
                known["state"] = "cancelled"
            day = (line.findtext("Ngay") or "").strip()
            results.append(InvoiceResult(
                template=key[1], symbol=key[2], number=key[3],
                issue_date=datetime.strptime(day, "%Y-%m-%d").date() if len(day) == 10 else None,
                accepted=not reasons, reasons=tuple(reasons), authority_code=(line.findtext("MCQTCap") or "").strip(),
                nature=nature))
        self._notice(record, header, Form.ERROR_NOTICE, accepted=all(r.accepted for r in results),
                     invoices=results, taxpayer_name=(tbao.findtext("DLTBao/TNNT") or "").strip())


    def _summary(self, record: _Record, header: dict, table_el) -> None:
        reasons: list[Reason] = []
        table = None
        try:
            table = read_summary_tree(table_el)
        except ValidationError as e:
            reasons += [Reason(R_DATA, f"Bảng tổng hợp không hợp lệ: {p}") for p in e.problems]
        if table is not None:
            report = verify_summary(etree.tostring(table_el), trusted_certificates=self.trusted_cas or None)
            reasons += [Reason(R_SIGNATURE, f"Chữ ký số không hợp lệ: {p}") for p in report.all_problems()]
            reasons += [Reason(R_DATA, f"Bảng tổng hợp không hợp lệ: {p}") for p in check_summary(table)]
            reg = self.registrations.get(table.tax_code)
            if reg is None or reg.full_data or not reg.without_code:
                reasons.append(Reason(R_KIND, f"Người nộp thuế MST {table.tax_code} chưa được chấp nhận đăng ký chuyển "
                                              "dữ liệu hóa đơn không có mã theo bảng tổng hợp"))
            if table.key in self.summaries:
                reasons.append(Reason(R_DUPLICATE, f"Bảng tổng hợp kỳ {table.period_value} lần bổ sung "
                                                   f"{table.supplement} đã được gửi (thông điệp "
                                                   f"{self.summaries[table.key]})"))
            elif table.supplement and table.key[:3] + (table.supplement - 1,) not in self.summaries:
                reasons.append(Reason(R_DATA, f"Bổ sung lần {table.supplement} của kỳ {table.period_value} không có "
                                              "bảng trước đó"))
        refuse = self._fault("refuse", record.type, int(MessageType.DATA_CHECK_RESULT))
        if refuse is not None:
            reasons.append(Reason(R_REFUSED, refuse.reason))
        if not reasons:
            self.summaries[table.key] = record.message_id
        self._notice(record, header, Form.DATA_CHECK, accepted=not reasons, reasons=reasons,
                     taxpayer_name=table.taxpayer_name if table else "",
                     check_result=CheckResult.INVALID_SUMMARY if reasons else CheckResult.VALID)


def start(config: TaxAuthorityConfig | dict | None = None, host: str = "127.0.0.1", port: int = 0,
          **options) -> SandboxServer:
    """Start the sandbox in a thread; ``with start() as server: server.url`` (``server.app`` is the sandbox)."""
    return SandboxServer(TaxAuthoritySandbox(config), host, port, **options).start()


def load_config(path) -> TaxAuthorityConfig:
    with open(path, encoding="utf-8") as f:
        return TaxAuthorityConfig.from_dict(json.load(f))

