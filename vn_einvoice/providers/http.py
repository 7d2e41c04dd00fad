"""The HTTP session every provider client shares: timeouts, classified failures, back-off, redaction.

:meth:`HttpSession.send` never retries a request that may change something at the provider
(``idempotent=False``): it raises :class:`~.base.ProviderUnknownOutcome` when the request may have gone
through (timeout after sending, dropped connection, 429, 5xx) and :class:`~.base.ProviderUnavailable`
when it surely did not (connection refused). The provider client then looks the operation up by its
idempotency key before sending it again. Idempotent requests (reads, look-ups) are retried with
exponential back-off and jitter on those same failures, honouring ``Retry-After``.

Secrets (passwords, tokens, ``Authorization`` headers) never reach a log line or an error message:
every text goes through :func:`~.redact.redact`.

An ``observer`` (a callable given to the session, or set later through ``Provider.observe``) receives one
:class:`Exchange` per attempt: the operation, the request and the response (or the failure), masked
(:func:`~.redact.redact`: the session's secrets, passwords, tokens, keys, ``Authorization``, certificates)
and bounded to :data:`MAX_EXCHANGE_TEXT` characters. Every provider's traffic passes here (VNPT's SOAP
through zeep's transport too), so a caller keeps a full, masked trace (the Odoo user log) with one hook.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .base import ProviderUnavailable, ProviderUnknownOutcome
from .redact import redact

_log = logging.getLogger("vn_einvoice.providers.http")
MAX_EXCHANGE_TEXT = 20_000  # characters of a request or response an observer gets


@dataclass(frozen=True)
class Exchange:
    """One request to a provider and what came back, masked and bounded (for a user log)."""

    provider: str
    operation: str
    method: str
    url: str  # without its query string
    request: str  # masked headers and body
    response: str  # masked body ("" when none came)
    status: int | None  # HTTP status; None: no answer
    outcome: str  # "answered" (any status below 500 but 429), "http_error" (429, 5xx), "no_answer", "not_sent"
    elapsed: float  # seconds
    attempt: int = 1

    @property
    def ok(self) -> bool:
        return self.outcome == "answered" and self.status is not None and self.status < 400


def _bounded(text: str, secrets) -> str:
    """``text`` masked and cut to MAX_EXCHANGE_TEXT (masked before the cut, so no secret is half shown)."""
    text = redact(text[: 2 * MAX_EXCHANGE_TEXT], secrets)
    return text if len(text) <= MAX_EXCHANGE_TEXT else text[:MAX_EXCHANGE_TEXT] + " …"


def _body_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value[: 2 * MAX_EXCHANGE_TEXT].decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class RetryPolicy:
    """How failures are retried: ``attempts`` in all, back-off ``backoff·2^n`` (jittered, capped)."""

    attempts: int = 5
    backoff: float = 0.5  # seconds before the second attempt
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this
    jitter: bool = True

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        base = min(self.max_backoff, self.backoff * (2 ** attempt))
        return base / 2 + random.uniform(0, base / 2) if self.jitter else base


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 60.0  # Viettel recommends 60–90 s

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds, also fractional, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (connection refused, connect timeout)."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.InvalidURL,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        reason = getattr(cause, "reason", None)
        args = getattr(cause, "args", ())
        cause = reason or (args[0] if args and isinstance(args[0], BaseException) else None) or cause.__cause__
    return False


class HttpSession:
    """A ``requests`` session bound to one provider account.

    ``secrets`` are masked in every log line and error text; add the token with :meth:`add_secret`.
    ``round_trips`` counts the requests sent (attempts included).
    """

    def __init__(self, *, provider: str, timeouts: Timeouts | tuple[float, float] = Timeouts(),
                 retry: RetryPolicy = RetryPolicy(), session: requests.Session | None = None,
                 secrets: Iterable[str] = (), sleep: Callable[[float], None] = time.sleep,
                 logger: logging.Logger | None = None, observer: Callable[[Exchange], None] | None = None):
        self.provider = provider
        self.timeouts = timeouts if isinstance(timeouts, Timeouts) else Timeouts(*timeouts)
        self.retry = retry
        self.session = session or requests.Session()
        self._secrets: set[str] = {s for s in secrets if s}
        self._lock = threading.Lock()
        self.round_trips = 0
        self.sleep = sleep
        self.log = logger or _log
        self.observer = observer

    def add_secret(self, value: str) -> None:
        if value:
            with self._lock:
                self._secrets.add(value)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The session's own secrets so far (pass them to errors built from the provider's answers)."""
        with self._lock:
            return tuple(self._secrets)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def close(self) -> None:
        self.session.close()

    def _observe(self, method: str, url: str, operation: str, kwargs: dict, response: requests.Response | None,
                 outcome: str, elapsed: float, attempt: int, detail: str = "") -> None:
        if self.observer is None:
            return
        secrets = self.secrets
        headers = "\n".join(f"{k}: {v}" for k, v in (kwargs.get("headers") or {}).items())
        params = kwargs.get("params")
        body = _body_text(kwargs["json"] if "json" in kwargs else kwargs.get("data"))
        head = [f"{method} {urlsplit(url).path}", f"params: {_body_text(params)}" if params else "", headers]
        request = "\n".join(filter(None, head)) + ("\n\n" + body if body else "")
        answer = _body_text(response.content) if response is not None else detail
        try:
            self.observer(Exchange(self.provider, operation, method, url.split("?", 1)[0], _bounded(request, secrets),
                                   _bounded(answer, secrets), response.status_code if response is not None else None,
                                   outcome, round(elapsed, 3), attempt))
        except Exception:  # a failing log never changes the call's outcome
            self.log.exception("%s %s: the exchange could not be logged", method, urlsplit(url).path)

    def send(self, method: str, url: str, *, operation: str, idempotent: bool,
             check: Callable[[requests.Response], Exception | None] | None = None,
             **kwargs) -> requests.Response:
        """Send one request; return the response of any status below 500 except 429.

        ``check(response)`` may return an error to raise at once (e.g. a provider's way of saying
        "bad credentials" with a 500). Idempotent requests are retried on 429/5xx/connection
        failures and end with ProviderUnavailable; others raise at the first such failure.
        """
        kwargs.setdefault("timeout", self.timeouts.as_tuple())
        attempts = max(1, self.retry.attempts if idempotent else 1)
        where = urlsplit(url).path
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                wait = self.retry.delay(attempt - 1, getattr(last, "retry_after", None))
                self.log.info("%s %s: retry %d/%d in %.2f s after: %s", method, where, attempt, attempts - 1,
                              wait, self.redact(str(last)))
                self.sleep(wait)
            with self._lock:
                self.round_trips += 1
            started = time.monotonic()
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                elapsed = time.monotonic() - started
                detail = self.redact(f"{type(exc).__name__}: {exc}")
                if _not_sent(exc):
                    last = ProviderUnavailable(f"{self.provider}: {operation}: could not connect, nothing was "
                                               f"sent ({detail})", provider=self.provider, operation=operation,
                                               secrets=self.secrets)
                else:
                    last = ProviderUnknownOutcome(
                        f"{self.provider}: {operation}: no answer after {elapsed:.2f} s"
                        + ("" if idempotent else "; unknown whether it went through") + f" ({detail})",
                        provider=self.provider, operation=operation, secrets=self.secrets)
                self.log.warning("%s %s -> %s after %.3f s", method, where, detail, elapsed)
                self._observe(method, url, operation, kwargs, None,
                              "not_sent" if isinstance(last, ProviderUnavailable) else "no_answer", elapsed,
                              attempt + 1, detail)
                if isinstance(last, ProviderUnavailable) or idempotent:
                    continue  # not sent, or harmless to repeat
                raise last from None
            elapsed = time.monotonic() - started
            self.log.debug("%s %s -> %d in %.3f s", method, where, response.status_code, elapsed)
            self._observe(method, url, operation, kwargs, response,
                          "http_error" if response.status_code == 429 or response.status_code >= 500 else "answered",
                          elapsed, attempt + 1)
            if check is not None and (error := check(response)) is not None:
                raise error
            status = response.status_code
            if status == 429 or status >= 500:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                text = self.redact(response.text[:300])
                message = (f"{self.provider}: {operation}: HTTP {status}"
                           + (" (too many requests)" if status == 429 else "") + (f": {text}" if text else ""))
                if idempotent:
                    last = ProviderUnavailable(message, http_status=status, provider=self.provider,
                                               operation=operation, retry_after=retry_after, secrets=self.secrets)
                    continue
                raise ProviderUnknownOutcome(message + "; unknown whether it went through", http_status=status,
                                             provider=self.provider, operation=operation,
                                             retry_after=retry_after, secrets=self.secrets)
            return response
        assert last is not None
        if isinstance(last, ProviderUnknownOutcome):  # an idempotent read that never answered
            last = ProviderUnavailable(str(last), provider=self.provider, operation=operation)
        raise last
