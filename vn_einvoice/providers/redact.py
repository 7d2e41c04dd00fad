"""Secrets (passwords, tokens, ``Authorization`` headers, cookies) masked in texts and JSON-like objects,
before they reach a log line, an error message or an error's ``raw`` answer.

A session's own secrets are masked whatever their length, also as a server may echo them back:
URL-encoded, JSON-escaped (``\\u00e9``, ``\\/``), or base64 (alone, or inside a longer base64 text such
as ``user:password`` in an ``Authorization: Basic`` header), in UTF-8 or Latin-1.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
_SECRET_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?)(basic|bearer)?\s*[^\s'\",}]+"),
    re.compile(r"(?i)((?:password|passwd|pwd|acpassword|access_token|refresh_token|id_token|token)"
               r"['\"]?\s*[:=]\s*['\"]?)([^\s'\"&,}]+)"),
    re.compile(r"(?i)(cookie\s*[:=]\s*['\"]?)[^\s'\"]+"),
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),  # JWTs
)
# Fields whose value is a secret wherever they appear as a JSON key, an XML element or a header / form field:
# passwords (VNPT ``pass``/``userPass``/``ACpass``, seed 002 ``sessionkey``/``apikey``), tokens, certificates and
# keys, and the buyer's secret lookup code (SInvoice ``reservationCode``).
SECRET_FIELDS = ("password", "passwd", "pwd", "pass", "userpass", "acpass", "acpassword", "passwordservice",
                 "apikey", "api_key", "sessionkey", "session_key", "access_token", "refresh_token", "id_token",
                 "token", "authorization", "cookie", "x509certificate", "certificate", "pfx", "pkcs12", "p12",
                 "privatekey", "private_key", "pin", "reservationcode", "secretcode")
_FIELDS = "|".join(sorted(SECRET_FIELDS, key=len, reverse=True))
_FIELD_PATTERNS = (
    # <pass>x</pass>, <ns0:userPass>x</ns0:userPass>, <X509Certificate>MII…</X509Certificate>
    re.compile(rf"(?is)(<(?:[\w.-]+:)?(?:{_FIELDS})(?:\s[^>]*)?>)([^<]+)(</)"),
    # "sessionkey": "x" (JSON, also escaped quotes inside a string)
    re.compile(rf'(?i)((?<![A-Za-z0-9_])\\?"(?:{_FIELDS})\\?"\s*:\s*\\?")((?:[^"\\]|\\[^"])+)'),
    # apikey: x (headers as text), pass=x (forms, query strings)
    re.compile(rf"(?im)((?<![A-Za-z0-9_])'?(?:{_FIELDS})'?\s*[:=]\s*'?)([^\s'\"&,;}}<]+)"),
)
_MIN_BASE64_CORE = 4  # base64 of a secret inside a longer text: at least this many characters to look for


def _base64_forms(data: bytes) -> set[str]:
    """The base64 texts (standard and URL-safe) that surely stand for ``data``, at any offset of a longer
    encoded text: the whole encoding, and for each of the three alignments the characters made only of
    ``data``'s bits."""
    out = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        out |= {whole, whole.rstrip("=")}
        for offset in range(3):
            encoded = encode(b"\0" * offset + data).decode("ascii")
            core = encoded[-(-8 * offset // 6): 8 * (offset + len(data)) // 6]
            if len(core) >= _MIN_BASE64_CORE:
                out.add(core)
    return out


def secret_forms(secret: str) -> tuple[set[str], set[str]]:
    """How a server may write ``secret`` back: (exact forms, forms whose hex escapes may be in any case)."""
    exact, any_case = {secret}, set()
    for encoding in ("utf-8", "latin-1"):
        with contextlib.suppress(UnicodeEncodeError):  # a secret Latin-1 cannot write is never sent in it
            exact |= _base64_forms(secret.encode(encoding))
            for safe in ("", "/"):
                any_case |= {quote(secret, safe=safe, encoding=encoding),
                             quote_plus(secret, safe=safe, encoding=encoding)}
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        any_case |= {escaped, escaped.replace("/", "\\/")}
    return exact, any_case - exact


@functools.lru_cache(maxsize=256)
def _secrets_pattern(secrets: frozenset[str]) -> re.Pattern | None:
    forms: dict[str, bool] = {}  # form → may be in any case
    for secret in secrets:
        exact, any_case = secret_forms(secret)
        forms.update(dict.fromkeys(any_case, True))
        forms.update(dict.fromkeys(exact, False))
    if not forms:
        return None
    ordered = sorted(forms, key=lambda f: (-len(f), f))  # longest first: a form never masks half of another
    return re.compile("|".join(f"(?i:{re.escape(f)})" if forms[f] else re.escape(f) for f in ordered))


def redact_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values (of any length, and their encodings) masked."""
    if not text:
        return text
    pattern = _secrets_pattern(frozenset(s for s in secrets if s))
    return pattern.sub(MASK, str(text)) if pattern is not None else str(text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and anything that looks like a credential masked."""
    if not text:
        return text
    text = redact_secrets(str(text), secrets)
    for pattern in _FIELD_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex >= 3 else ""), text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + MASK, text)
    return text


_SECRET_KEYS = set(SECRET_FIELDS)


def redact_obj(obj, secrets: Iterable[str] = ()):
    """A copy of a JSON-like object with secret keys and values masked (also in keys)."""
    secrets = tuple(secrets)
    if isinstance(obj, dict):
        return {redact_secrets(k, secrets) if isinstance(k, str) else k:
                (MASK if str(k).lower().replace("-", "_") in _SECRET_KEYS and v else redact_obj(v, secrets)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v, secrets) for v in obj]
    if isinstance(obj, str):
        return redact(obj, secrets)
    return obj
