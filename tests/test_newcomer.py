"""A newcomer's two commands on a fresh clone, as the README says: ``scripts/run`` (the library demo, no
Odoo at ODOO_SRC) and ``scripts/run-tests``. Each sets up what it needs (a new .venv here) by itself and is
quick the second time. The clone is of the committed HEAD of this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tools import in_ci

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        if in_ci():
            pytest.fail("CI=true but this is not a git checkout: the newcomer test needs one", pytrace=False)
        pytest.skip("not a git checkout")
    dest = tmp_path_factory.mktemp("newcomer") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, timeout=120)
    assert not (dest / ".venv").exists()
    return dest


def _run(repo: Path, *command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHON", "PYTHONPATH")}
    env["ODOO_SRC"] = str(repo / "no-odoo-here")
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=1800)


def test_run_sets_up_and_runs_the_library_demo(fresh):
    first = _run(fresh, "scripts/run")
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "[setup] creating .venv" in out
    assert "[setup] installing Python packages into .venv" in out
    assert f"No Odoo 18 source tree at {fresh / 'no-odoo-here'}: running the library demo" in out
    assert "point ODOO_SRC at an Odoo 18.0 source tree" in out
    assert "(the demo's throw-away test CA): VALID - signed by UID=MST:0312345673" in out
    assert "without a trust store the verdict is: signature intact, signer NOT verified" in out
    demo = fresh / "demo-out"
    assert {p.name for p in demo.iterdir()} >= {"invoice-signed.xml", "invoice-qr.png", "test-ca.pem", "seller-TEST.p12"}
    assert (demo / "invoice-signed.xml").read_bytes().count(b"<Signature ") == 1
    assert (fresh / ".venv" / "bin" / "vn-einvoice").exists() and (fresh / ".venv" / ".setup-stamp").exists()
    # again: nothing installed twice
    second = _run(fresh, "scripts/run")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "[setup]" not in second.stdout
    assert "(the demo's throw-away test CA): VALID" in second.stdout
    status = subprocess.run(["git", "status", "--porcelain"], cwd=fresh, capture_output=True, text=True, check=True)
    assert status.stdout == "", f"left files git does not ignore: {status.stdout}"


def test_run_tests_sets_up_lints_and_tests(fresh):
    result = _run(fresh, "scripts/run-tests", "tests/test_words.py", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "== lint ==" in out and "All checks passed!" in out
    assert "passed" in out and "failed" not in out
    assert "the Odoo addon tests are not run" in out
    assert "[setup] installing" not in out, "the environment made by scripts/run is reused"
