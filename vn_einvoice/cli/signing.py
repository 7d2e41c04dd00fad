"""``vn-einvoice sign`` and ``vn-einvoice verify``.

Secrets come from environment variables named on the command line (``--password-env``,
``--pin-env``), never from arguments, and are never printed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from ..errors import EInvoiceError

SIGN_ALGORITHMS = ("rsa-sha256", "rsa-sha1", "ecdsa-sha256")

# ``verify`` exit codes: 2 is the CLI's usual code for an unreadable file or a usage error.
EXIT_VALID = 0  # intact, the rules hold, and every signer chains to the --trusted-ca trust store
EXIT_INVALID = 1  # a signature or a rule fails, or a signer does not chain to the trust store
EXIT_UNVERIFIED = 3  # intact and the rules hold, but no --trusted-ca: who signed is not verified
VERIFY_EXIT_CODES = (f"exit codes: {EXIT_VALID} = valid and signers verified against --trusted-ca (also a "
                     "cash-register invoice of message 206 so verified); "
                     f"{EXIT_UNVERIFIED} = signatures intact but signers not verified (no --trusted-ca), or the "
                     "seller's signature intact but the MCCQT not signed by the tax authority; "
                     f"{EXIT_INVALID} = invalid or untrusted; 2 = unreadable file or usage error")


def register(sub) -> None:
    p = sub.add_parser(
        "sign", help="sign an HDon as the seller (PKCS#12 file or PKCS#11 token)",
        description="Sign the seller's signature (HDon/DSCKS/NBan) with a PKCS#12 file or a PKCS#11 "
                    "token/HSM. Nothing is written if signing is refused.")
    p.add_argument("input", metavar="IN.xml")
    p.add_argument("-o", "--output", metavar="OUT.xml", required=True)
    p12 = p.add_argument_group("PKCS#12 file")
    p12.add_argument("--p12", metavar="FILE", help="PKCS#12 (.p12/.pfx) file with the key and certificate")
    p12.add_argument("--password-env", metavar="VAR", help="environment variable holding the PKCS#12 password")
    p11 = p.add_argument_group("PKCS#11 token or HSM")
    p11.add_argument("--pkcs11-module", metavar="SO", help="the token's PKCS#11 library")
    p11.add_argument("--token-label", metavar="L")
    p11.add_argument("--key-label", metavar="K")
    p11.add_argument("--key-id", metavar="HEX")
    p11.add_argument("--pin-env", metavar="VAR", help="environment variable holding the token PIN")
    p11.add_argument("--cert", metavar="PEM", help="certificate file, if it is not on the token")
    p.add_argument("--algorithm", choices=SIGN_ALGORITHMS,
                   help="default rsa-sha256 (ecdsa-sha256 for an EC key)")
    p.add_argument("--signing-time", metavar="ISO",
                   help="SigningTime, e.g. 2026-03-15T09:30:00 (GMT+7 unless an offset is given); default now")
    p.add_argument("--allow-mst-mismatch", action="store_true",
                   help="sign even if the certificate's MST is not the seller's MST")
    p.set_defaults(func=cmd_sign)

    v = sub.add_parser(
        "verify", help="check every signature of an HDon, a TDiep carrying one or a pre-2022 inv:invoice (exit 0 "
                       f"only if all are valid and trusted; {EXIT_UNVERIFIED} if intact but no --trusted-ca)",
        description="Check every signature, each on its own with its role (seller HDon/DSCKS/NBan, buyer NMua, "
                    "tax authority CQT, the taxpayer's TDiep/CKSNNT of a cash-register message 206): references, "
                    "signature values, certificates at the signing time, seller MST, roles (the tax "
                    "authority's signature needs the tax authority's certificate; the seller cannot sign as "
                    "the buyer or the tax authority), and with --trusted-ca that every signer chains to the "
                    "trust store. Without --trusted-ca the verdict is at best \"signature intact, signer not "
                    "verified\": anyone can make a certificate with any name.",
        epilog=VERIFY_EXIT_CODES)
    v.add_argument("input", metavar="FILE.xml")
    v.add_argument("--json", action="store_true", help="machine-readable report")
    v.add_argument("--trusted-ca", metavar="PEM", action="append", default=[],
                   help="CA certificate(s) the signers must chain to (repeatable): the trust store; "
                        f"without it, signers are not verified (exit {EXIT_UNVERIFIED} at best)")
    v.add_argument("--at", metavar="ISO", help="time to judge certificates of signatures without SigningTime")
    v.set_defaults(func=cmd_verify)


def _secret(var: str | None, what: str) -> str:
    if not var:
        raise EInvoiceError(f"give the name of the environment variable holding the {what} "
                            f"(--{'password' if what == 'password' else 'pin'}-env VAR)")
    value = os.environ.get(var)
    if value is None:
        raise EInvoiceError(f"the environment variable {var} (the {what}) is not set")
    return value


def _parse_time(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EInvoiceError(f"{option}: {text!r} is not an ISO date and time (2026-03-15T09:30:00)") from None


def make_signer(args):
    """The signer described by the command-line options (PKCS#12 or PKCS#11)."""
    if args.p12 and args.pkcs11_module:
        raise EInvoiceError("give either --p12 or --pkcs11-module, not both")
    if args.p12:
        from ..signing.pkcs12 import Pkcs12Signer  # noqa: PLC0415 - CLI start-up: cryptography, only for sign --p12

        return Pkcs12Signer(args.p12, _secret(args.password_env, "password"))
    if args.pkcs11_module:
        if not args.token_label:
            raise EInvoiceError("--pkcs11-module needs --token-label")
        if not (args.key_label or args.key_id):
            raise EInvoiceError("--pkcs11-module needs --key-label or --key-id")
        from ..signing.pkcs11 import Pkcs11Signer  # noqa: PLC0415 - CLI start-up: cryptography, only for sign --pkcs11-module

        return Pkcs11Signer(args.pkcs11_module, args.token_label, _secret(args.pin_env, "PIN"),
                            key_label=args.key_label, key_id=args.key_id, cert_pem=args.cert)
    raise EInvoiceError("give a key: --p12 FILE --password-env VAR, or --pkcs11-module SO --token-label L "
                        "(--key-label K | --key-id HEX) --pin-env VAR")


def _write_atomically(path: Path, data: bytes) -> None:
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_sign(args) -> int:
    from ..signing.certs import serial_hex, subject_string, subject_tax_code  # noqa: PLC0415 - CLI start-up: cryptography, only for sign
    from ..signing.xmldsig import sign_invoice  # noqa: PLC0415 - CLI start-up: lxml and cryptography, only for sign

    data = Path(args.input).read_bytes()
    signing_time = _parse_time(args.signing_time, "--signing-time") if args.signing_time else None
    with make_signer(args) as signer:
        signed = sign_invoice(data, signer, algorithm=args.algorithm, signing_time=signing_time,
                              allow_mst_mismatch=args.allow_mst_mismatch)
        cert = signer.certificate
    _write_atomically(Path(args.output), signed)
    print(f"signed {args.input} -> {args.output}")
    print(f"  signer: {subject_string(cert)} (MST {subject_tax_code(cert) or '-'}, serial {serial_hex(cert)})")
    return 0


_HEADLINES = {
    "valid": "VALID (signatures intact, signers verified against the trust store)",
    "intact_unverified": "signature intact, signer not verified (no trust store: --trusted-ca)",
    "cash_register": "cash-register invoice: the code (MCCQT) was generated by the seller's register and signed "
                     "by the taxpayer (message 206), not issued by the tax authority",
    "code_not_signed": "the seller's signature is intact, but the MCCQT is NOT signed by the tax authority (a copy "
                       "without the tax authority's signature, or an added code): check the code on "
                       "hoadondientu.gdt.gov.vn",
    # the buyer's copy of a cash-register invoice: the register's code is signed by the taxpayer only in the
    # message 206 sent to the tax authority, never by the tax authority
    "code_not_signed/cash_register": "the seller's signature is intact; the MCCQT is a cash-register code, "
                                     "covered by no signature in this copy (the taxpayer signs it in message 206 "
                                     "to the tax authority): check the code on hoadondientu.gdt.gov.vn",
    "invalid": "INVALID",
}


def verify_exit_code(report) -> int:
    """:data:`EXIT_VALID`, :data:`EXIT_UNVERIFIED` or :data:`EXIT_INVALID` for a verification report."""
    if report.verdict == "cash_register":
        return EXIT_VALID if report.trust == "verified" else EXIT_UNVERIFIED
    return {"valid": EXIT_VALID, "intact_unverified": EXIT_UNVERIFIED,
            "code_not_signed": EXIT_UNVERIFIED}.get(report.verdict, EXIT_INVALID)


def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def print_report(report, name: str, out=None) -> None:
    """Human-readable verification report."""
    out = out or sys.stdout
    headline = _HEADLINES[report.verdict]
    if report.verdict == "code_not_signed" and report.cash_register:
        headline = _HEADLINES["code_not_signed/cash_register"]
    print(f"{name}: {headline}", file=out)
    if report.trust_anchors:
        print(f"  trust: {'verified' if report.trust == 'verified' else 'NOT verified'} against the trust store "
              f"({len(report.trust_anchors)} CA):", file=out)
        for anchor in report.trust_anchors:
            print(f"    anchor: {anchor['subject']} (SHA-256 {anchor['sha256']})", file=out)
    else:
        print("  trust: not checked (no --trusted-ca): the signers' names are not verified", file=out)
    if report.kind == "TDiep":
        print(f"  message TDiep {report.message_type or '?'} carrying the invoice", file=out)
    elif report.kind == "legacy":
        print("  pre-2022 invoice (inv:invoice, invoicexml/v1)", file=out)
    if report.symbol:
        coded = f"coded, MCCQT {report.mccqt}" if report.mccqt else ("coded, no MCCQT yet" if report.coded
                                                                   else "not coded")
        print(f"  invoice {report.symbol} seller MST {report.seller_tax_code or '-'} ({coded})", file=out)
    for problem in report.problems:
        print(f"  problem: {problem}", file=out)
    for warning in report.warnings:
        print(f"  warning: {warning}", file=out)
    for s in report.signatures:
        print(f"  {s.role} signature {s.path}{' Id=' + s.signature_id if s.signature_id else ''}: "
              f"{'valid' if s.valid else 'INVALID'} — {s.role_label}", file=out)
        print(f"    signed by: {s.subject or '-'}", file=out)
        print(f"    MST {s.subject_tax_code or '-'}, serial {s.serial or '-'}, issuer {s.issuer or '-'}", file=out)
        if s.fingerprint:
            print(f"    certificate SHA-256: {s.fingerprint}", file=out)
        when = s.signing_time_text or "-"
        print(f"    signed at: {when} (GMT+7 unless stated); certificate valid then: "
              f"{_yes_no(s.certificate_valid_at_signing_time)}"
              + (f" ({s.not_before:%Y-%m-%d} .. {s.not_after:%Y-%m-%d})" if s.not_before else ""), file=out)
        print(f"    chains to a trusted CA: {_yes_no(s.trusted) if s.trusted is not None else 'not checked'}",
              file=out)
        print(f"    algorithm: {s.algorithm or s.signature_method or '-'}", file=out)
        for ref in s.references:
            uri = ref.uri or '""'
            print(f"    reference {uri} -> {ref.target or '?'}: {'ok' if ref.valid else 'FAILED'}", file=out)
        for problem in s.problems:
            print(f"    problem: {problem}", file=out)


def cmd_verify(args) -> int:
    from ..signing.certs import load_certificate  # noqa: PLC0415 - CLI start-up: cryptography, only for verify
    from ..signing.xmldsig import verify_invoice  # noqa: PLC0415 - CLI start-up: lxml and cryptography, only for verify

    anchors = [load_certificate(Path(p).read_bytes()) for p in args.trusted_ca]
    at = _parse_time(args.at, "--at") if args.at else None
    report = verify_invoice(Path(args.input).read_bytes(), at=at, trusted_certificates=anchors or None)
    if args.json:
        print(json.dumps({"file": args.input, **report.to_dict(), "exit_code": verify_exit_code(report)},
                         ensure_ascii=False, indent=2))
    else:
        print_report(report, args.input)
    return verify_exit_code(report)
