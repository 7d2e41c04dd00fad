"""Secrets (passwords, tokens, ``Authorization`` headers, cookies) masked in texts and JSON-like objects,
before they reach a log line, an error message or an error's ``raw`` answer."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_SECRET_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?)(basic|bearer)?\s*[^\s'\",}]+"),
    re.compile(r"(?i)((?:password|passwd|pwd|acpassword|access_token|refresh_token|id_token|token)"
               r"['\"]?\s*[:=]\s*['\"]?)([^\s'\"&,}]+)"),
    re.compile(r"(?i)(cookie\s*[:=]\s*['\"]?)[^\s'\"]+"),
    re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),  # JWTs
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and anything that looks like a credential masked."""
    if not text:
        return text
    text = str(text)
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + MASK, text)
    return text


_SECRET_KEYS = {"password", "passwd", "acpassword", "access_token", "refresh_token", "id_token", "token",
                "authorization", "cookie"}


def redact_obj(obj, secrets: Iterable[str] = ()):
    """A copy of a JSON-like object with secret keys and values masked."""
    secrets = tuple(secrets)
    if isinstance(obj, dict):
        return {k: (MASK if str(k).lower() in _SECRET_KEYS and v else redact_obj(v, secrets)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v, secrets) for v in obj]
    if isinstance(obj, str):
        return redact(obj, secrets)
    return obj
