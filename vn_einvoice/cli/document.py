"""Sub-commands on documents: build, validate, qr, words."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..codes import to_decimal
from ..errors import EInvoiceError, Problem, ValidationError
from ..words import amount_in_words

VIETTEL_TAX_CODE = "0100109106"  # MSTTCGP of invoices issued through Viettel SInvoice


def _read_document(path: str, source: str):
    from ..jsonio import invoice_from_json, oversized_numbers, value_problems  # noqa: PLC0415 - CLI start-up: jsonio loads lxml, only for build

    raw = Path(path).read_bytes()
    if source == "sinvoice":
        from ..providers.sinvoice_mapping import from_sinvoice  # noqa: PLC0415 - CLI start-up: lxml and the SInvoice mapping, only for build --from sinvoice

        try:
            data = json.loads(raw)
        except RecursionError:
            raise ValidationError.at("", f"{path} is not valid JSON: nested too deeply") from None
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError (not UTF-8), an integer of 4300+ digits
            raise ValidationError.at("", f"{path} is not valid JSON: {e}") from None
        try:
            invoice = from_sinvoice(data)
        except ArithmeticError:  # Decimal cannot round a number that large (totals computed from lines)
            raise ValidationError(oversized_numbers(data) or [Problem("", "a number is too large")]) from None
        problems = value_problems(invoice)  # the mapping reads texts and numbers as they come
        if problems:
            raise ValidationError(problems)
        return invoice
    return invoice_from_json(raw)


def cmd_build(args) -> int:
    from ..qr import invoice_qr_payload  # noqa: PLC0415 - CLI start-up: qrcode and Pillow, only for build
    from ..xml import build_xml  # noqa: PLC0415 - CLI start-up: lxml, only for build

    invoice = _read_document(args.document, args.source)
    if args.number is not None:
        invoice = invoice.with_number(args.number)
    if args.version:
        invoice = invoice.replace(version=args.version)
    provider = args.provider_tax_code or ("" if invoice.provider_tax_code or args.source != "sinvoice"
                                          else VIETTEL_TAX_CODE)
    if provider:
        invoice = invoice.replace(provider_tax_code=provider)
    if not args.no_qr and invoice.number is not None and not invoice.qr_payload:
        invoice = invoice.replace(qr_payload=invoice_qr_payload(invoice))
    xml = build_xml(invoice, require_number=not args.draft)
    if args.output == "-":
        sys.stdout.buffer.write(xml)
    else:
        Path(args.output).write_bytes(xml)
        print(f"wrote {args.output}: template {invoice.template}, symbol {invoice.symbol}, "
              f"number {invoice.number}, total {invoice.totals.total} {invoice.currency}")
    return 0


def cmd_validate(args) -> int:
    from ..xml.validate import regime_of, validate_tree  # noqa: PLC0415 - CLI start-up: lxml, only for validate
    from ..xmlutil import parse_untrusted  # noqa: PLC0415 - CLI start-up: lxml, only for validate

    try:
        root = parse_untrusted(Path(args.file).read_bytes()).getroot()
    except ValidationError as e:  # not XML, DOCTYPE, too big: named, exit 1 as any invalid file
        print(f"{args.file}: INVALID, {len(e.problems)} error(s)")
        for p in e.problems:
            print(f"  - error: {p}")
        return 1
    problems = validate_tree(root, strict_order=not args.lenient_order, require_number=not args.draft)
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    counts = f"{len(errors)} error(s), {len(warnings)} warning(s)"
    print(f"{args.file}: {'INVALID, ' + counts if errors else 'valid' + (f' ({counts})' if warnings else '')}")
    print(f"  regime: {regime_of(root)}")
    for p in (*errors, *warnings):
        print(f"  - {p.level}: {p}")
    return 1 if errors else 0


def cmd_show(args) -> int:
    from ..xml.summary import document_summary  # noqa: PLC0415 - CLI start-up: lxml, only for show
    from ..xml.validate import regime_of  # noqa: PLC0415 - CLI start-up: lxml, only for show
    from ..xmlutil import parse_untrusted  # noqa: PLC0415 - CLI start-up: lxml, only for show

    root = parse_untrusted(Path(args.file).read_bytes()).getroot()
    print(f"{args.file}: {regime_of(root)}")
    for line in document_summary(root):
        print(line)
    return 0


def cmd_qr(args) -> int:
    from ..qr import invoice_qr_payload, parse_invoice_qr, qr_png, qr_svg  # noqa: PLC0415 - CLI start-up: qrcode and Pillow, only for qr
    from ..xml import parse_xml  # noqa: PLC0415 - CLI start-up: lxml, only for qr

    invoice = parse_xml(Path(args.file).read_bytes())
    payload = invoice.qr_payload or invoice_qr_payload(invoice)
    try:
        info = parse_invoice_qr(payload)
    except EInvoiceError:  # a producer's own payload (lookup link, bank QR): the decision's one is computed
        print(f"DLQRCode is not the decision's invoice QR ({payload[:60]}); computed from the invoice:")
        payload = invoice_qr_payload(invoice)
        info = parse_invoice_qr(payload)
    print(f"seller {info.seller_tax_code_display}, template {info.template}, symbol {info.symbol}, "
          f"number {info.number}, date {info.issue_date:%d/%m/%Y}, total {info.total}")
    if args.png:
        Path(args.png).write_bytes(qr_png(payload))
        print(f"wrote {args.png}")
    if args.svg:
        Path(args.svg).write_text(qr_svg(payload), encoding="utf-8")
        print(f"wrote {args.svg}")
    print(payload)
    return 0


def cmd_words(args) -> int:
    amount = to_decimal(args.amount.replace(",", "").replace("_", ""), "AMOUNT")
    print(amount_in_words(amount, args.currency, thousand="ngàn" if args.south else "nghìn",
                          linh="lẻ" if args.south else "linh", four="tư" if args.tu else "bốn"))
    return 0


def register(sub) -> None:
    p = sub.add_parser("build", help="build the HDon XML of a document JSON",
                       description="Build the legal HDon XML (Decision 1271/QĐ-CT) of a document. "
                       "Exits 2 and names every bad field when the document is not valid.")
    p.add_argument("document", help="document JSON (the project's format, or SInvoice's with --from sinvoice)")
    p.add_argument("--from", dest="source", choices=["document", "sinvoice"], default="document")
    p.add_argument("--number", type=int, help="invoice number (SHDon) to give the invoice")
    p.add_argument("--version", choices=["2.1.0", "2.0.1"], help="XML version (PBan), default 2.1.0")
    p.add_argument("--provider-tax-code", help="MSTTCGP, tax code of the e-invoice solution provider "
                   "(default: Viettel's with --from sinvoice)")
    p.add_argument("--draft", action="store_true", help="allow an invoice without a number")
    p.add_argument("--no-qr", action="store_true", help="do not write DLQRCode")
    p.add_argument("-o", "--output", required=True, help="output XML file, or - for standard output")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("validate", help="validate an HDon, a TDiep carrying one, or a pre-2022 inv:invoice",
                       description="Check an e-invoice file as the tax authority does: structure, formats, "
                       "codes, tax codes, totals; for a TDiep message also its header. Errors are what the "
                       "tax authority would refuse; warnings are differences of order or style real producers "
                       "have and the tax authority accepts. Prints the regime the file belongs to. Exit 0 "
                       "without errors (warnings allowed), 1 with the errors and their element paths.")
    p.add_argument("file")
    p.add_argument("--lenient-order", action="store_true", help="do not warn about elements out of the decision's order")
    p.add_argument("--draft", action="store_true", help="accept an invoice without a number")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", help="print an invoice as text: HDon, TDiep carrying one, or pre-2022 inv:invoice",
                       description="Print the regime and a summary of an e-invoice file (identity, parties, "
                       "lines, totals), including the pre-2022 inv:invoice format a company keeps for ten years. "
                       "Run verify for its signatures and validate for its conformity.")
    p.add_argument("file")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("qr", help="print (and render) the QR payload of an HDon XML file",
                       description="Print the invoice QR payload (DLQRCode, or computed) on the last line.")
    p.add_argument("file")
    p.add_argument("--png", help="write the QR code as PNG")
    p.add_argument("--svg", help="write the QR code as SVG")
    p.set_defaults(func=cmd_qr)

    p = sub.add_parser("words", help="amount in Vietnamese words",
                       description="Print an amount in words as invoices write it (TgTTTBChu).")
    p.add_argument("amount", type=str, help="e.g. 38500000 or -1100000 or 1234.50")
    p.add_argument("--currency", default="VND")
    p.add_argument("--south", action="store_true", help="southern style: ngàn, lẻ")
    p.add_argument("--tu", action="store_true", help="read 4 after 'mươi' as 'tư'")
    p.set_defaults(func=cmd_words)


