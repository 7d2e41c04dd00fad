"""Carrying ``TDiep`` messages to the tax authority and their replies back: one protocol, a T-VAN client.

:class:`Transport` is what any connection offers (a T-VAN's API, a direct connection): send a message,
list the replies to a message, tell whether a message was received. Its one promise is **idempotency
by MTDiep**: the receiver keeps one message per ``MTDiep``, so sending the very same bytes again never
creates a second invoice at the tax authority. What is not known after a timeout is looked up
(:meth:`Transport.status`) and, if absent, sent again with the same ``MTDiep`` — never as a new message.

:class:`TvanClient` speaks the HTTP API of this package's tax-authority sandbox
(:mod:`vn_einvoice.sandbox.taxauthority`), a small REST shape a T-VAN can be adapted to::

    POST /tvan/v1/messages                  body: the TDiep (application/xml), HTTP Basic
         → 202 {"MTDiep", "status": "received"} | 200 {"status": "duplicate"} (same bytes again)
         | 409 (the MTDiep was used for other bytes) | 400 {"error", "problems"} | 401 | 413
    GET  /tvan/v1/messages/<MTDiep>         → 200 {"MTDiep", "MLTDiep", "sha256", "received_at"} | 404
    GET  /tvan/v1/messages/<MTDiep>/replies → 200 {"replies": [{"MLTDiep", "MTDiep", "xml"}, …]}

:class:`Exchange` sends and polls until the reply that ends the exchange (after the 999: 103, 202/204,
204, 301) or a deadline; on the deadline it raises :class:`NoReplyYet` — poll again later with the
same ``MTDiep`` (:meth:`Exchange.poll`), do not send a new message.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
from lxml import etree

from ..errors import EInvoiceError, ValidationError
from ..providers.base import (
    ProviderAuthError,
    ProviderRefused,
    ProviderUnavailable,
    ProviderUnknownOutcome,
)
from ..providers.http import HttpSession, RetryPolicy, Timeouts
from .envelope import FINAL_REPLIES, Message, MessageType, parse_message
from .replies import AuthorityNotice, TechnicalReceipt, read_notice, read_receipt

_log = logging.getLogger("vn_einvoice.taxauthority")
API = "/tvan/v1"
PROVIDER = "T-VAN"
TIMEOUTS = Timeouts(10.0, 30.0)
RETRY = RetryPolicy(attempts=4)


class NoReplyYet(EInvoiceError):
    """The message was received but its final reply has not come within the wait: poll again later
    with the same ``message_id``; never send the data again as a new message."""

    def __init__(self, message_id: str, waited: float, replies: list[Reply]):
        super().__init__(f"no final reply to {message_id} after {waited:.1f} s (received so far: "
                         f"{', '.join(str(int(r.type)) for r in replies if r.message) or 'nothing'}); poll again "
                         "later with the same MTDiep, do not send a new message")
        self.message_id = message_id
        self.replies = replies


@dataclass(frozen=True)
class SendReceipt:
    """The receiver has the message. ``duplicate``: it already had it (a resend, or a send whose
    answer was lost, confirmed by a look-up)."""

    message_id: str
    duplicate: bool = False
    attempts: int = 1


@dataclass(frozen=True)
class Reply:
    """A message from the tax authority (``raw`` as received); ``problems`` when it cannot be read."""

    raw: bytes
    message: Message | None = None
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: bytes) -> Reply:
        try:
            return cls(raw, parse_message(raw))
        except ValidationError as e:
            return cls(raw, None, tuple(str(p) for p in e.problems))

    @property
    def type(self) -> MessageType | None:
        return self.message.type if self.message else None

    @property
    def message_id(self) -> str:
        return self.message.message_id if self.message else ""

    @property
    def reply_to(self) -> str:
        return self.message.header.reply_to if self.message else ""

    def _item(self):
        items = self.message.items() if self.message else []
        return items[0] if items else None

    def receipt(self) -> TechnicalReceipt | None:
        """The technical receipt of a 999."""
        return read_receipt(self._item()) if self.type is MessageType.TECHNICAL_RECEIPT else None

    def notice(self) -> AuthorityNotice | None:
        """The notice of a 102, 103, 204 or 301."""
        if self.type in (MessageType.REGISTRATION_RECEIPT, MessageType.REGISTRATION_RESULT,
                         MessageType.DATA_CHECK_RESULT, MessageType.ERROR_NOTICE_RESULT):
            return read_notice(self._item())
        return None

    def notice_bytes(self) -> bytes | None:
        """The signed ``TBao`` of a notice, alone (for verification and storage)."""
        item = self._item()
        return etree.tostring(item, xml_declaration=True, encoding="UTF-8") if item is not None else None

    def coded_invoice(self) -> bytes | None:
        """The coded ``HDon`` of a 202 (with ``MCCQT`` and the CQT signature), as it travelled."""
        if self.type is not MessageType.CODED_INVOICE:
            return None
        return self.message.item_bytes()[0]


@dataclass
class Outcome:
    """What came back for one message: the technical receipt (999), the final reply, all replies."""

    message_id: str
    sent_type: MessageType
    replies: list[Reply] = field(default_factory=list)
    duplicates: int = 0  # replies delivered more than once (same reply MTDiep, or a second final)

    @property
    def receipt(self) -> Reply | None:
        return next((r for r in self.replies if r.type is MessageType.TECHNICAL_RECEIPT), None)

    @property
    def final(self) -> Reply | None:
        """The first reply that ends the exchange (later ones are duplicates and are ignored); for a
        registration, a 102 saying the form was not received also ends it (no 103 follows)."""
        wanted = FINAL_REPLIES.get(self.sent_type, frozenset())
        found = next((r for r in self.replies if r.type in wanted), None)
        if found is None and self.sent_type is MessageType.REGISTRATION:
            found = next((r for r in self.replies if r.type is MessageType.REGISTRATION_RECEIPT
                          and not r.notice().accepted), None)
        return found

    @property
    def rejected_technically(self) -> bool:
        """The 999 says the message itself is wrong (TTTNhan = 1): nothing else will come."""
        receipt = self.receipt.receipt() if self.receipt else None
        return receipt is not None and not receipt.ok

    @property
    def done(self) -> bool:
        return self.final is not None or self.rejected_technically


class Transport(abc.ABC):
    """A connection to the tax authority (through a T-VAN or directly)."""

    @abc.abstractmethod
    def send(self, message: bytes) -> SendReceipt:
        """Hand over a ``TDiep``; idempotent by ``MTDiep`` (the same bytes again are not a second message)."""

    @abc.abstractmethod
    def replies(self, message_id: str) -> list[Reply]:
        """The replies to a message so far, in the order they came (duplicates included)."""

    @abc.abstractmethod
    def status(self, message_id: str) -> dict | None:
        """What the receiver knows of a message (``{"sha256": …}``), or None if it never got it."""

    def close(self) -> None:  # noqa: B027 - optional for transports without resources
        """Release the connection."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TvanClient(Transport):
    """The HTTP API of a T-VAN (see the module's doc), with HTTP Basic credentials.

    ``retry.attempts`` bounds the sends of one message (the first and the resends after an unknown
    outcome or a refused connection); reads are retried by :class:`~vn_einvoice.providers.http.HttpSession`.
    The password never reaches a log line or an error message."""

    def __init__(self, url: str, username: str, password: str, *,
                 timeouts: Timeouts | tuple[float, float] = TIMEOUTS,
                 retry: RetryPolicy = RETRY, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.url = url.rstrip("/")
        self.http = HttpSession(provider=PROVIDER, timeouts=timeouts, retry=retry, session=session,
                                secrets=(password,), sleep=sleep, logger=_log)
        self.auth = (username, password)
        self.retry = retry
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()

    def _url(self, *parts: str) -> str:
        return self.url + API + "".join("/" + quote(p, safe="") for p in parts)

    def _refused(self, response: requests.Response, operation: str) -> Exception:
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:300]}
        if not isinstance(body, dict):
            body = {"error": str(body)[:300]}
        problems = body.get("problems") or []
        text = "; ".join([str(body.get("error") or f"HTTP {response.status_code}")] + [str(p) for p in problems])
        if response.status_code in (401, 403):
            return ProviderAuthError(f"{PROVIDER}: {operation}: the T-VAN refused the account or password "
                                     f"(HTTP {response.status_code})", http_status=response.status_code,
                                     provider=PROVIDER, operation=operation, secrets=self.http.secrets)
        return ProviderRefused(f"{PROVIDER}: {operation}: HTTP {response.status_code}: {text}",
                               code=str(response.status_code), explanation=text, http_status=response.status_code,
                               raw=body, provider=PROVIDER, operation=operation, secrets=self.http.secrets)

    def status(self, message_id: str) -> dict | None:
        response = self.http.send("GET", self._url("messages", message_id), operation="status", idempotent=True,
                                  auth=self.auth)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(response, "status")
        return response.json()

    def send(self, message: bytes) -> SendReceipt:
        """Send a ``TDiep`` (checked first: a bad message raises :class:`ValidationError` unsent).

        After an unknown outcome (timeout, dropped connection, 5xx) the message is looked up; if the
        T-VAN has it, that is the answer; if not, the same bytes are sent again. Raises
        :class:`ProviderUnknownOutcome` when every attempt ended without knowing — the caller keeps the
        message and sends the same bytes later."""
        header = parse_message(message).header
        mid, digest = header.message_id, _digest(message)
        last: Exception | None = None
        for attempt in range(1, max(1, self.retry.attempts) + 1):
            if attempt > 1:
                self.sleep(self.retry.delay(attempt - 2, getattr(last, "retry_after", None)))
            try:
                response = self.http.send("POST", self._url("messages"), operation="send", idempotent=False,
                                          data=message, auth=self.auth,
                                          headers={"Content-Type": "application/xml; charset=utf-8"})
            except ProviderUnavailable as e:  # surely not sent: send again
                last = e
                continue
            except ProviderUnknownOutcome as e:
                last = e
                _log.warning("send %s: unknown outcome (%s); looking it up", mid, self.http.redact(str(e)))
                try:
                    known = self.status(mid)
                except (ProviderUnavailable, ProviderRefused):
                    known = None
                if known is not None:
                    if known.get("sha256") not in (None, digest):
                        raise ProviderRefused(f"{PROVIDER}: the T-VAN holds other bytes under MTDiep {mid}",
                                              code="409", provider=PROVIDER, operation="send") from None
                    return SendReceipt(mid, duplicate=True, attempts=attempt)
                continue  # not there: the same bytes again
            if response.status_code in (200, 202):
                body = response.json() if response.content else {}
                return SendReceipt(mid, duplicate=body.get("status") == "duplicate", attempts=attempt)
            raise self._refused(response, "send")
        assert last is not None
        if isinstance(last, ProviderUnknownOutcome):
            raise ProviderUnknownOutcome(f"{PROVIDER}: message {mid}: {self.retry.attempts} attempts without an "
                                         "answer; send the same message again later", provider=PROVIDER,
                                         operation="send", transaction_uuid=mid, secrets=self.http.secrets)
        raise last

    def replies(self, message_id: str) -> list[Reply]:
        response = self.http.send("GET", self._url("messages", message_id, "replies"), operation="replies",
                                  idempotent=True, auth=self.auth)
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise self._refused(response, "replies")
        try:
            items = response.json().get("replies", [])
            return [Reply.of(item["xml"].encode("utf-8")) for item in items]
        except (ValueError, AttributeError, KeyError, TypeError) as e:
            raise ProviderUnavailable(f"{PROVIDER}: replies: unreadable answer ({e})", provider=PROVIDER,
                                      operation="replies") from None


class Exchange:
    """Send a message and follow its replies (poll every ``interval`` seconds for up to ``timeout``)."""

    def __init__(self, transport: Transport, *, interval: float = 1.0, timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.transport = transport
        self.interval, self.timeout = interval, timeout
        self.sleep, self.clock = sleep, clock

    def send(self, message: bytes, *, wait: bool = True) -> Outcome:
        """Send (idempotent by MTDiep) and, with ``wait``, poll until the exchange is done."""
        header = parse_message(message).header
        self.transport.send(message)
        if not wait:
            return self.poll(header.message_id, header.type)
        return self.wait(header.message_id, header.type)

    def poll(self, message_id: str, sent_type: MessageType) -> Outcome:
        """One look at the replies (for a scheduled job): an :class:`Outcome`, done or not."""
        outcome = Outcome(message_id, MessageType(sent_type))
        seen: set[str] = set()
        for reply in self.transport.replies(message_id):
            if reply.message is not None and reply.reply_to != message_id:
                _log.warning("reply %s names %s, not %s: ignored", reply.message_id, reply.reply_to, message_id)
                continue
            key = reply.message_id or _digest(reply.raw)
            if key in seen:
                outcome.duplicates += 1
                continue
            seen.add(key)
            wanted = FINAL_REPLIES.get(outcome.sent_type, frozenset())
            if reply.type in wanted and outcome.final is not None:
                outcome.duplicates += 1  # a second final reply: the first one stands
                continue
            outcome.replies.append(reply)
        return outcome

    def wait(self, message_id: str, sent_type: MessageType) -> Outcome:
        """Poll until done, or raise :class:`NoReplyYet` after ``timeout`` seconds."""
        start = self.clock()
        while True:
            outcome = self.poll(message_id, sent_type)
            if outcome.done:
                return outcome
            waited = self.clock() - start
            if waited >= self.timeout:
                raise NoReplyYet(message_id, waited, outcome.replies)
            self.sleep(min(self.interval, max(0.0, self.timeout - waited)))

