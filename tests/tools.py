"""External tools in tests: skip loudly when missing, but FAIL under CI (``CI=true``), which installs them.

    from tools import require_tool
    xmlsec1 = require_tool("xmlsec1")          # path of the command
    module = require_file("SoftHSM2 module", softhsm_module_candidates(), env="SOFTHSM2_MODULE")
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

APT_HINT = "install the Debian packages listed in .ci/apt-packages.txt (.ci/run does it)"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(what: str, hint: str = APT_HINT) -> None:
    """Skip with a loud reason, or fail when running under CI."""
    if in_ci():
        pytest.fail(f"CI=true but {what} is missing ({hint})", pytrace=False)
    pytest.skip(f"!!! {what} is missing: {hint} !!!")


def require_tool(name: str, package: str | None = None) -> str:
    """Path of the command ``name``; skip (or fail under CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        missing(f"the command {name!r} (Debian package {package or name})")
    return path


def require_file(what: str, candidates, env: str | None = None) -> str:
    """``$env`` when set (an explicit choice: it must exist), else the first existing candidate;
    skip (or fail under CI) otherwise."""
    paths = [os.environ[env]] if env and os.environ.get(env) else [str(c) for c in candidates]
    for path in paths:
        if Path(path).is_file():
            return path
    missing(f"{what} (looked at {', '.join(paths)}" + (f"; set ${env}" if env else "") + ")")
    raise AssertionError("unreachable")


def softhsm_module_candidates() -> list[str]:
    return [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
        "/opt/homebrew/lib/softhsm/libsofthsm2.so",
    ]


def softhsm_module() -> str:
    """The SoftHSM2 PKCS#11 module (``$SOFTHSM2_MODULE`` first)."""
    return require_file("the SoftHSM2 PKCS#11 module (Debian package softhsm2)", softhsm_module_candidates(),
                        env="SOFTHSM2_MODULE")


def validity_around(*moments, margin_days: int = 30) -> dict:
    """``not_before``/``not_after`` of a test certificate valid at every moment a test signs or
    verifies at (fixed times given here) and at the clock's "now" (signing without a time): tests must
    not depend on today's date."""
    points = [datetime.now(timezone.utc)] + [m if m.tzinfo else m.replace(tzinfo=timezone.utc) for m in moments]
    margin = timedelta(days=margin_days)
    return {"not_before": min(points) - margin, "not_after": max(points) + margin}
