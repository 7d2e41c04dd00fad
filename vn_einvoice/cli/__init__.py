"""``vn-einvoice``: the command line. Each sub-command lives in its own module with ``register(sub)``."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import EInvoiceError, ValidationError

# Modules providing sub-commands, each with ``register(subparsers)``; a missing one is skipped.
# All of them are imported to build the parser, so what only some commands need (lxml, cryptography,
# qrcode, requests, the invoice model) is imported inside those commands: "# noqa: PLC0415 - CLI start-up".
COMMAND_MODULES = ("document", "signing", "demo", "bench", "sandbox")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vn-einvoice",
        description="Vietnamese e-invoices: build, validate, sign, verify, QR codes, providers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValidationError as e:
        print("error: the input is not valid:", file=sys.stderr)
        for problem in e.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except EInvoiceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
