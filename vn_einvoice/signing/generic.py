"""The same XML-DSig profile as ``HDon`` for the taxpayer's other documents (notice 04/SS-HĐĐT, …).

Those documents share one shape: a data element with an ``Id`` (``TBao/DLTBao``) and a signature
container (``TBao/DSCKS/NNT``) holding a ``Signature`` that references the data element and an
``Object`` with ``SigningTime`` (spec_xml_qr.md §3.3, the profile of :mod:`.xmldsig`). These two
functions sign and verify such a document given the two paths; the cryptography, C14N and reports
are :mod:`.xmldsig`'s.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from ..errors import ValidationError
from ..xmlutil import MAX_XML_BYTES, parse_untrusted
from .base import SigningError, TaxCodeMismatchError, resolve_algorithm
from .certs import subject_tax_code, tax_code_matches
from .xmldsig import (
    _DS,
    ICT,
    SignatureReport,
    VerificationReport,
    _id_index,
    _ref_target_is,
    _to_tree,
    _unique_id,
    _verify_signature,
    add_signature,
    check_certificate_validity,
    judge_trust,
    to_ict,
)


def _find(root, path: str, label: str):
    el = root.find(path) if path else root
    if el is None:
        raise ValidationError.at(f"{root.tag}/{path}", f"{label} is missing")
    return el


def sign_document(xml, signer, *, data_path: str, container_path: str, tax_code_path: str | None = None,
                  algorithm: str | None = None, signing_time: datetime | None = None,
                  at: datetime | None = None, signature_id: str = "NNT", allow_mst_mismatch: bool = False,
                  role: str = "taxpayer") -> bytes:
    """Sign the element at ``data_path`` (relative to the root, e.g. ``DLTBao``) with a signature
    placed in ``container_path`` (e.g. ``DSCKS/NNT``, created if missing); return the signed bytes.

    ``tax_code_path`` (relative to the data element, e.g. ``MST``): the certificate's MST must match it
    unless ``allow_mst_mismatch``. The certificate must be valid at the signing time and at ``at``.
    """
    algo = resolve_algorithm(algorithm, signer.key_type)
    tree = _to_tree(xml)
    root = tree.getroot()
    data = _find(root, data_path, "the signed data")
    data_id = (data.get("Id") or "").strip()
    if not data_id:
        raise ValidationError.at(f"{root.tag}/{data_path}/@Id", "missing or blank: the signature refers to it")
    index = _id_index(root)
    if len(index.get(data_id, ())) > 1:
        raise ValidationError.at(f"{root.tag}/{data_path}/@Id", f"the Id {data_id!r} is used by several elements")
    now = to_ict(at) if at is not None else datetime.now(ICT)
    when = to_ict(signing_time).replace(microsecond=0) if signing_time is not None else now.replace(microsecond=0)
    check_certificate_validity(signer.certificate, ("signing time", when), ("current time", now))
    if tax_code_path:
        expected = (data.findtext(tax_code_path) or "").strip()
        cert_mst = subject_tax_code(signer.certificate)
        if not tax_code_matches(cert_mst, expected) and not allow_mst_mismatch:
            raise TaxCodeMismatchError(
                f"the certificate's MST ({cert_mst or 'none in its subject'}) is not the {role}'s MST "
                f"({expected or 'missing'})")
    container = root
    for name in container_path.split("/"):
        child = container.find(name)
        container = child if child is not None else etree.SubElement(container, name)
    if any(isinstance(c.tag, str) and c.tag == _DS + "Signature" for c in container):
        raise SigningError(f"{root.tag}/{container_path} already holds a signature: the document is already signed")
    sig_id = _unique_id(index, signature_id)
    obj_id = _unique_id({**index, sig_id: []}, "SigningTime")
    add_signature(container, signer, [data], algorithm=algo, signing_time=when, signature_id=sig_id, object_id=obj_id)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def verify_document(xml_bytes: bytes | str, *, data_path: str, container_path: str,
                    tax_code_path: str | None = None, at: datetime | None = None,
                    trusted_certificates=None, role: str = "taxpayer",
                    max_bytes: int = MAX_XML_BYTES) -> VerificationReport:
    """Check the signatures in ``container_path``: valid, covering the data element, with the MST of
    ``tax_code_path`` (when given). ``valid`` needs at least one signature there and no problem."""
    tree = parse_untrusted(xml_bytes, max_bytes)
    root = tree.getroot()
    index = _id_index(root)
    report = VerificationReport(valid=False, signatures=[])
    data = root.find(data_path) if data_path else root
    if data is None:
        report.problems.append(f"{root.tag}/{data_path} is missing")
    expected = (data.findtext(tax_code_path) or "").strip() if data is not None and tax_code_path else ""
    report.seller_tax_code = expected or None
    container = root.find(container_path)
    signatures: list[SignatureReport] = []
    if container is not None:
        for sig in container.iter(_DS + "Signature"):
            sig_report = _verify_signature(sig, role, tree, index, at, trusted_certificates)
            if data is None or not any(r.valid and _ref_target_is(r, index, data) for r in sig_report.references):
                sig_report.problems.append(f"it does not cover {root.tag}/{data_path} (the signed data)")
            if tax_code_path and sig_report.subject is not None and not tax_code_matches(
                    sig_report.subject_tax_code, expected):
                sig_report.problems.append(
                    f"the certificate's MST ({sig_report.subject_tax_code or 'none in its subject'}) is not the "
                    f"{role}'s MST ({expected or 'missing'})")
            sig_report.valid = not sig_report.problems
            signatures.append(sig_report)
    report.signatures = signatures
    if not signatures:
        report.problems.append(f"the document is not signed (no Signature under {root.tag}/{container_path})")
    judge_trust(report, trusted_certificates)
    report.valid = bool(signatures) and not report.problems and all(s.valid for s in signatures)
    return report
