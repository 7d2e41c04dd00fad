"""XML-DSig for ``HDon``: the seller's signature (sign) and checking every signature (verify).

Profile (spec_xml_qr.md §3.3): ``<Signature xmlns="…xmldsig#" Id=…>`` in ``HDon/DSCKS/NBan``,
inclusive C14N 1.0, Reference 1 ``#<DLHDon Id>`` with the enveloped-signature transform, Reference 2
``#<Object Id>`` holding ``SignatureProperties/SignatureProperty[@Target="#<Signature Id>"]/SigningTime``
(GMT+7, no offset), ``KeyInfo/X509Data`` with ``X509SubjectName`` (RFC 4514) and ``X509Certificate``.
Digests are computed on the tree that is then serialised once, as is, and returned: the bytes returned
are exactly the bytes signed (no re-indent, no namespace added to ancestors). Canonicalisation goes
through :mod:`.c14n`, which avoids lxml's spurious ``xmlns=""`` and keeps ancestor namespaces; the
canonical ``SignedInfo``/``Object`` of our own signature are written directly when only dsig's
namespace is in scope (the usual case, and the fast one: see ``vn-einvoice bench sign``).

Why not signxml (3.2.2, on the design card) — evaluated and not used, for signing nor verifying:

* signing: it takes a ``cryptography`` private key, not a pluggable ``sign(bytes)`` (no PKCS#11 —
  upstream issues #123/#235/#237); it cannot add our ``Object/SignatureProperties`` with a
  ``SigningTime`` in the dsig namespace nor ``X509SubjectName``; an experiment placing a signature in
  ``DSCKS/NBan`` with ``namespaces={None: ds}`` produced mixed ``ns0:``-prefixed children and a
  ``KeyValue`` instead of the required ``X509Data``.
* verifying: with schema validation on (the default) it rejects the tax authority's own style
  (``Element '{…xmldsig#}SigningTime': This element is not expected``); with it off it reported
  ``InvalidSignature`` ("bad signature") on the research sample that xmlsec1 and this module verify
  (with ``x509_cert`` given and ``expect_references=2``); SHA-1 (what most
  sellers still use) is outside its default accepted algorithms; certificates are checked at "now"
  while an e-invoice must be judged at its ``SigningTime``; it verifies a single signature per call
  while an ``HDon`` carries seller, buyer and tax authority signatures with different rules.
What is left is small and fully under test: C14N (libxml2 via lxml, see :mod:`.c14n`), hashes and
RSA/ECDSA from ``cryptography`` — the same recipe as Odoo's own l10n_es/l10n_sa signers.

Reading real invoices (``tests/data/realworld``). ``verify_invoice`` takes an ``HDon``, a ``TDiep``
message carrying one (200, 202, 203, 206: the taxpayer's ``TDiep/CKSNNT`` signature of a cash-register
message 206 is checked too) or a pre-2022 ``inv:invoice``. Vietnamese vendors sign with .NET's
``SignedXml``, which puts the enveloped-signature transform on the ``Reference`` to the ``Object``
holding ``SigningTime`` too; read literally (XML-DSig §6.6.4, an XPath filter removing every node whose
ancestor-or-self is the enclosing ``Signature``) that transform would leave nothing of an ``Object``
inside the ``Signature`` to digest. .NET (``XmlDsigEnvelopedSignatureTransform``) removes the
``Signature`` only where it lies inside the referenced data, so on the ``Object`` it removes nothing: the
digest is over the whole ``Object``. That is the reading implemented here (the ``exclude`` of
:func:`.c14n.canonicalize` only drops a subtree inside the target), and the one the tax authority's own
signatures verify with. A digest that fails only because whoever stored the file re-indented it is
named as such ("re-indented after signing"), and stays a failure: what is read is not what was signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
from copy import deepcopy
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from ..codes import normalize_tax_code
from ..errors import ValidationError
from ..xml.envelope import CASH_REGISTER, LEGACY_NS, document_kind, read_envelope
from ..xml.validate import qr_code_problems, single_element_problems
from ..xmlutil import MAX_XML_BYTES, parse_untrusted, safe_parser
from .base import (
    DIGEST_URIS,
    DS_NS,
    HASHES,
    SIGNATURE_URIS,
    CertificateValidityError,
    SigningError,
    TaxCodeMismatchError,
    is_md5,
    md5_refusal,
    resolve_algorithm,
)
from .c14n import (
    C14N_10,
    C14N_METHODS,
    EXC_C14N,
    C14NError,
    _esc_attr,
    _esc_text,
    _inherits_xml_attributes,
    canonicalize,
    canonicalize_document,
    python_canonicalize,
)
from .certs import (
    fingerprint_sha256,
    is_government_ca_issuer,
    is_tax_authority_subject,
    issuer_string,
    public_key_sha256,
    serial_hex,
    subject_string,
    subject_tax_code,
    tax_code_matches,
    valid_at,
    validity,
)

log = logging.getLogger(__name__)

ICT = timezone(timedelta(hours=7), "GMT+7")
ENVELOPED = DS_NS + "enveloped-signature"
_DS = "{" + DS_NS + "}"
_DS_ONLY = {None: DS_NS}
ROLES = {"NBan": "seller", "NMua": "buyer", "CQT": "authority", "CCKSKhac": "other"}
# MCCQT generated by a cash register (Decision 1450/1510, invoices of cash registers): M, the register
# type, the year, 5 characters given by the tax authority, 11 digits
CASH_REGISTER_CODE = re.compile(r"M[0-9]-[0-9]{2}-[0-9A-Z]{5}-[0-9]{11}")
ID_ATTRIBUTES = ("Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id")

# Documented caps (issue 11): verification cost stays bounded whatever arrives under the 2 MB limit. A
# document with more Signature elements, or a Signature with more References, is refused with a problem,
# not verified; a Reference with more transforms is refused. Real invoices have 1 to 3 signatures of 1
# to 3 references, each with 1 or 2 transforms.
MAX_SIGNATURES = 16
MAX_REFERENCES = 16
MAX_TRANSFORMS = 8
# elements canonicalised (cache misses) in one verification, all References together: a real invoice of
# 10 000 lines has ~150 000 elements; most invoices have under 1 000 (a few signatures of URI="" fit)
MAX_CANONICAL_ELEMENTS = 250_000
MAX_NAMESPACES = 16  # distinct namespace prefixes declared: C14N cost grows with elements × in-scope ones


# --- small helpers --------------------------------------------------------------------------------

def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(parent, name: str):
    """First child called ``name``, in no or any namespace."""
    return next(parent.iterchildren("{*}" + name), None)


def _descend(parent, *names):
    node = parent
    for name in names:
        node = _child(node, name) if node is not None else None
    return node


def _text(parent, *names) -> str:
    node = _descend(parent, *names)
    return (node.text or "").strip() if node is not None else ""


def _same_ns(parent, name: str) -> str:
    tag = parent.tag
    return tag[: tag.index("}") + 1] + name if tag.startswith("{") else name


def element_path(el) -> str:
    names = []
    while el is not None:
        names.append(_local(el.tag))
        el = el.getparent()
    return "/".join(reversed(names))


_ID_XPATH = etree.XPath("//@Id | //@ID | //@id | //@xml:id")


class _IdIndex(dict):
    """Elements by Id (see :func:`_id_index`), and the canonical forms computed while one document is
    verified (``canonical``), so that two References to the same target with the same transforms
    canonicalise it once (``URI=""`` repeated would re-canonicalise the whole document each time)."""

    def __init__(self):
        super().__init__()
        self.canonical: dict = {}  # (target, parameters) -> (target, exclude, bytes); "elements" -> count


def _id_index(root) -> dict[str, list]:
    """Elements by ``Id``/``ID``/``id``/``xml:id`` value (a list: duplicates are reported, not merged)."""
    index: dict[str, list] = _IdIndex()
    seen = set()
    for value in _ID_XPATH(root):
        el = value.getparent()
        key = (str(value), id(el))
        if key not in seen:  # an element with both Id and id of the same value counts once
            seen.add(key)
            index.setdefault(str(value), []).append(el)
    return index


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str | None) -> bytes:
    """Strict base64 (line breaks allowed): one value has one spelling, so nothing in a signature can be
    altered without changing what it decodes to (non-zero padding bits are refused)."""
    compact = re.sub(r"\s+", "", text or "")
    data = base64.b64decode(compact, validate=True)
    if base64.b64encode(data).decode("ascii") != compact:
        raise ValueError("not canonical base64 (padding bits are not zero)")
    return data


def to_ict(moment: datetime) -> datetime:
    """Aware datetime in GMT+7; a naive one is taken as GMT+7 already."""
    return moment.replace(tzinfo=ICT) if moment.tzinfo is None else moment.astimezone(ICT)


def format_signing_time(moment: datetime) -> str:
    """``SigningTime`` text: local GMT+7, seconds, no offset."""
    m = to_ict(moment)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"


_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_signing_time(text: str | None) -> datetime | None:
    """``SigningTime`` → aware datetime (no offset = GMT+7, as the format requires), or None."""
    m = _TIME_RE.match((text or "").strip())
    if not m:
        return None
    try:
        moment = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}")
    except ValueError:
        return None
    zone = m.group(4)
    if not zone:
        return moment.replace(tzinfo=ICT)
    if zone == "Z":
        return moment.replace(tzinfo=timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    return moment.replace(tzinfo=timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))


def _fmt(moment: datetime) -> str:
    return to_ict(moment).strftime("%d/%m/%Y %H:%M:%S GMT+7")


def _to_tree(xml) -> etree._ElementTree:
    if isinstance(xml, (bytes, bytearray, str)):
        return parse_untrusted(bytes(xml) if isinstance(xml, bytearray) else xml)
    if isinstance(xml, etree._ElementTree):
        return deepcopy(xml)
    if isinstance(xml, etree._Element):
        return etree.ElementTree(deepcopy(xml))
    raise TypeError(f"expected XML bytes, an lxml tree or element, not {type(xml).__name__}")


# --- signing --------------------------------------------------------------------------------------

def _unique_id(index: dict, wanted: str) -> str:
    if wanted not in index:
        return wanted
    n = 2
    while f"{wanted}-{n}" in index:
        n += 1
    return f"{wanted}-{n}"


def check_certificate_validity(cert: x509.Certificate, *moments: tuple[str, datetime]) -> None:
    """Raise :class:`CertificateValidityError` unless ``cert`` is valid at every ``(label, moment)``."""
    not_before, not_after = _cert_info(cert)[3]
    for label, moment in moments:
        if not_before <= moment <= not_after:
            continue
        who = f"{subject_string(cert)} (serial {serial_hex(cert)})"
        if moment < not_before:
            raise CertificateValidityError(
                f"the certificate {who} is not valid yet at the {label} {_fmt(moment)}: "
                f"it is valid from {_fmt(not_before)}")
        if moment > not_after:
            raise CertificateValidityError(
                f"the certificate {who} expired on {_fmt(not_after)}, before the {label} {_fmt(moment)}")


_MATCHES: dict[tuple, bool] = {}


def _seller_may_sign(cert_mst, seller: str, delegated: str) -> bool:
    key = (cert_mst, seller, delegated)
    ok = _MATCHES.get(key)
    if ok is None:
        ok = tax_code_matches(cert_mst, seller) or bool(delegated and tax_code_matches(cert_mst, delegated))
        if len(_MATCHES) > 1024:
            _MATCHES.clear()
        _MATCHES[key] = ok
    return ok


def _check_seller_tax_code(dlhdon, cert, allow_mismatch: bool) -> None:
    seller = _text(dlhdon, "NDHDon", "NBan", "MST")
    delegated = _text(dlhdon, "TTChung", "MSTDVNUNLHDon")
    cert_mst = _cert_info(cert)[2]
    if _seller_may_sign(cert_mst, seller, delegated):
        return
    message = (f"the certificate's MST ({cert_mst or 'none in its subject'}) is not the seller's MST "
               f"(NBan/MST {seller or 'missing'}"
               + (f", delegated issuer MSTDVNUNLHDon {delegated}" if delegated else "") + ")")
    if allow_mismatch:
        log.warning("%s; signing anyway (allow_mst_mismatch)", message)
        return
    raise TaxCodeMismatchError(
        message + "; sign with the seller's own certificate, or allow the mismatch explicitly "
        "(allow_mst_mismatch=True, CLI --allow-mst-mismatch)")


def _skeleton(container, n_targets: int, enveloped: bool):
    """An empty ``Signature`` (under ``container``, or detached when None)."""
    sub = etree.SubElement
    if container is None:
        sig = etree.Element(_DS + "Signature", nsmap={None: DS_NS})
    else:
        sig = sub(container, _DS + "Signature", nsmap={None: DS_NS})
    sig.set("Id", "")
    signed_info = sub(sig, _DS + "SignedInfo")
    sub(signed_info, _DS + "CanonicalizationMethod").set("Algorithm", C14N_10)
    sub(signed_info, _DS + "SignatureMethod").set("Algorithm", "")
    for i in range(n_targets + 1):
        ref = sub(signed_info, _DS + "Reference")
        ref.set("URI", "")
        if enveloped and i < n_targets:
            sub(sub(ref, _DS + "Transforms"), _DS + "Transform").set("Algorithm", ENVELOPED)
        sub(ref, _DS + "DigestMethod").set("Algorithm", "")
        sub(ref, _DS + "DigestValue")
    sub(sig, _DS + "SignatureValue")
    x509_data = sub(sub(sig, _DS + "KeyInfo"), _DS + "X509Data")
    sub(x509_data, _DS + "X509SubjectName")
    sub(x509_data, _DS + "X509Certificate")
    obj = sub(sig, _DS + "Object")
    obj.set("Id", "")
    prop = sub(sub(obj, _DS + "SignatureProperties"), _DS + "SignatureProperty")
    prop.set("Target", "")
    sub(prop, _DS + "SigningTime")
    return sig


_skeletons = threading.local()


def _new_signature(container, n_targets: int, enveloped: bool):
    if DS_NS in container.nsmap.values():
        # lxml would re-map a moved subtree to the ancestor's declaration of the dsig namespace
        # (e.g. HDon xmlns:ds=…): build in place so that the Signature keeps its own default namespace.
        return _skeleton(container, n_targets, enveloped)
    cache = getattr(_skeletons, "cache", None)
    if cache is None:
        cache = _skeletons.cache = {}
    template = cache.get((n_targets, enveloped))
    if template is None:
        template = cache[(n_targets, enveloped)] = _skeleton(None, n_targets, enveloped)
    sig = deepcopy(template)
    container.append(sig)
    return sig


def _written_c14n(signature_uri: str, digest_uri: str, refs, obj_id: str, target: str, signing_time: str):
    """Inclusive C14N of our own ``SignedInfo`` (a function of the digest of the Object) and of the
    ``Object``, written directly: valid when no namespace but dsig's default is in scope, which
    :func:`add_signature` checks (else it canonicalises the tree). Every signature made here is
    verified against the tree-based canonicaliser in the tests, so the two cannot drift apart."""
    obj = (f'<Object xmlns="{DS_NS}" Id="{_esc_attr(obj_id)}"><SignatureProperties><SignatureProperty '
           f'Target="{_esc_attr(target)}"><SigningTime>{_esc_text(signing_time)}</SigningTime>'
           f'</SignatureProperty></SignatureProperties></Object>').encode()

    def signed_info(obj_digest: str) -> bytes:
        parts = [f'<SignedInfo xmlns="{DS_NS}"><CanonicalizationMethod Algorithm="{C14N_10}">'
                 f'</CanonicalizationMethod><SignatureMethod Algorithm="{_esc_attr(signature_uri)}"></SignatureMethod>']
        for uri, enveloped, method, digest in [*refs, ("#" + obj_id, False, digest_uri, obj_digest)]:
            parts.append(f'<Reference URI="{_esc_attr(uri)}">')
            if enveloped:
                parts.append(f'<Transforms><Transform Algorithm="{ENVELOPED}"></Transform></Transforms>')
            parts.append(f'<DigestMethod Algorithm="{_esc_attr(method)}"></DigestMethod>'
                         f'<DigestValue>{digest}</DigestValue></Reference>')
        parts.append("</SignedInfo>")
        return "".join(parts).encode("utf-8")

    return obj, signed_info


_HASH_NEW = {name: getattr(hashlib, name) for name in HASHES}


def add_signature(container, signer, targets, *, algorithm=None, signing_time: datetime | None = None,
                  signature_id: str, object_id: str, enveloped: bool = True,
                  property_target: str | None = None):
    """Append a ``Signature`` to ``container`` and return it (low level; :func:`sign_invoice` is the API).

    ``targets``: elements with an ``Id`` to reference, in order; a ``Reference`` to the ``Object``
    holding ``SigningTime`` is added after them. ``enveloped`` adds the enveloped-signature transform
    to the target references. No check is done here (certificate, MST): callers do them.
    """
    algo = resolve_algorithm(algorithm, signer.key_type)
    new_hash, digest_uri = _HASH_NEW[algo.hash_name], algo.digest_uri
    sig = _new_signature(container, len(targets), enveloped)
    sig.set("Id", signature_id)
    signed_info, value, key_info, obj = sig
    signed_info[1].set("Algorithm", algo.signature_uri)
    refs = signed_info[2:]
    written = []
    for ref, target in zip(refs, targets):
        uri = "#" + (target.get("Id") or target.get("id"))  # id: pre-2022 inv:invoiceData
        ref.set("URI", uri)
        ref[-2].set("Algorithm", digest_uri)
        digest = _b64(new_hash(canonicalize(target, exclude=sig if enveloped else None)).digest())
        ref[-1].text = digest
        written.append((uri, enveloped, digest_uri, digest))
    subject, cert_b64 = _cert_info(signer.certificate)[:2]
    key_info[0][0].text = subject
    key_info[0][1].text = cert_b64
    obj.set("Id", object_id)
    prop = obj[0][0]
    target_text = property_target or "#" + signature_id
    prop.set("Target", target_text)
    time_text = format_signing_time(signing_time or datetime.now(ICT))
    prop[0].text = time_text
    obj_ref = refs[-1]
    obj_ref.set("URI", "#" + object_id)
    obj_ref[-2].set("Algorithm", digest_uri)
    if sig.nsmap == _DS_ONLY and not _inherits_xml_attributes(sig):  # dsig's namespace only, no xml:lang
        obj_c14n, signed_info_c14n = _written_c14n(
            algo.signature_uri, digest_uri, written, object_id, target_text, time_text)
        obj_ref[-1].text = obj_digest = _b64(new_hash(obj_c14n).digest())
        data = signed_info_c14n(obj_digest)
    else:
        obj_ref[-1].text = _b64(new_hash(python_canonicalize(obj)).digest())
        data = python_canonicalize(signed_info)
    value.text = _b64(signer.sign(data, algo.name))
    return sig


_CERT_INFO: dict[int, tuple] = {}


def _cert_info(cert: x509.Certificate) -> tuple:
    """``(RFC 4514 subject, base64 DER, MST, (not_before, not_after))`` of a signer's certificate,
    cached per certificate object."""
    cached = _CERT_INFO.get(id(cert))
    if cached is None or cached[0] is not cert:
        cached = (cert, subject_string(cert), _b64(cert.public_bytes(Encoding.DER)), subject_tax_code(cert),
                  validity(cert))
        if len(_CERT_INFO) > 64:
            _CERT_INFO.clear()
        _CERT_INFO[id(cert)] = cached
    return cached[1:]


_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")


def _ids_unique_in(serialized: bytes, ids) -> bool:
    """True if each Id (plain characters) occurs once as a quoted attribute value in lxml output:
    lxml writes every attribute value in double quotes, and values of plain characters literally, so
    another attribute with the same value would show up as a second occurrence. Text that merely
    contains ``"id"`` only makes this answer False (the caller then uses the exact index)."""
    return all(_SAFE_ID.match(i) and serialized.count(b'"' + i.encode("ascii") + b'"') == 1 for i in ids)


def sign_invoice(xml, signer, *, algorithm: str | None = None, signing_time: datetime | None = None,
                 seller_tax_code_check: bool = True, allow_mst_mismatch: bool = False,
                 at: datetime | None = None, signature_id: str | None = None) -> bytes:
    """Sign an ``HDon`` as the seller; return the signed document (UTF-8, with XML declaration).

    ``xml``: bytes/str (parsed safely) or an lxml tree/element. A tree (or root element) is used in
    place, without a copy, and left exactly as it was: the signature is added, serialised with the
    document, then removed (so do not read the same tree from another thread meanwhile); an inner
    element is copied first.
    ``algorithm``: ``rsa-sha256`` (default for RSA keys), ``rsa-sha1``, ``ecdsa-sha256`` (default
    for EC keys); MD5 is refused. ``signing_time``: default now; naive = GMT+7. The certificate
    must be valid at the signing time and at ``at`` (default now). The certificate's MST must be the
    seller's ``NBan/MST`` (or the delegated issuer's ``MSTDVNUNLHDon``; a branch ``…-001`` seller
    accepts its parent's certificate) unless ``allow_mst_mismatch`` (logged) or
    ``seller_tax_code_check=False``.

    Raises :class:`ValidationError` for a document that cannot be signed (no ``DLHDon`` or no ``Id``)
    and :class:`SigningError` subclasses for refusals.
    """
    algo = resolve_algorithm(algorithm, signer.key_type)
    if isinstance(xml, etree._ElementTree) or (isinstance(xml, etree._Element) and xml.getparent() is None):
        # the caller's own tree, used in place and left as it was (what is added is removed in the
        # end): a copy would cost a tenth of the XML work
        tree = xml if isinstance(xml, etree._ElementTree) else xml.getroottree()
        added: list = []
        try:
            return _sign_tree(tree, signer, algo, signing_time, seller_tax_code_check, allow_mst_mismatch,
                              at, signature_id, added)
        finally:
            for parent, child in reversed(added):
                parent.remove(child)
    return _sign_tree(_to_tree(xml), signer, algo, signing_time, seller_tax_code_check, allow_mst_mismatch,
                      at, signature_id, [])


def _sign_tree(tree, signer, algo, signing_time, seller_tax_code_check, allow_mst_mismatch, at,
               signature_id, added: list) -> bytes:
    """:func:`sign_invoice` on a tree it may modify; ``added`` collects ``(parent, child)`` it adds."""
    root = tree.getroot()
    if _local(root.tag) != "HDon":
        raise ValidationError.at(_local(root.tag), f"the root element is {_local(root.tag)}, not HDon")
    dlhdon = _child(root, "DLHDon")
    if dlhdon is None:
        raise ValidationError.at("HDon/DLHDon", "missing: there is nothing to sign")
    dl_id = (dlhdon.get("Id") or "").strip()
    if not dl_id or dl_id != dlhdon.get("Id"):
        raise ValidationError.at(
            "HDon/DLHDon/@Id", "missing or blank: the seller's signature refers to DLHDon by its Id "
            "(e.g. <DLHDon Id=\"data\">)")
    now = to_ict(at) if at is not None else datetime.now(ICT)
    when = to_ict(signing_time).replace(microsecond=0) if signing_time is not None else now.replace(microsecond=0)
    check_certificate_validity(signer.certificate, ("signing time", when), ("current time", now))
    if seller_tax_code_check:
        _check_seller_tax_code(dlhdon, signer.certificate, allow_mst_mismatch)

    dscks = _child(root, "DSCKS")
    if dscks is None:
        dscks = etree.SubElement(root, _same_ns(root, "DSCKS"))
        added.append((root, dscks))
    nban = _child(dscks, "NBan")
    if nban is None:
        nban = etree.Element(_same_ns(root, "NBan"))
        dscks.insert(0, nban)
        added.append((dscks, nban))
    if any(_local(c.tag) == "Signature" for c in nban):
        raise SigningError("HDon/DSCKS/NBan already holds a signature: this invoice is already signed")
    # Ids: optimistic "seller"/"SigningTime", checked on the output bytes (cheap); on any doubt, an
    # exact index of the document's Ids and a second signature with free Ids.
    sig_id = signature_id or "seller"
    obj_id = "SigningTime" if sig_id != "SigningTime" else "SigningTime-2"
    index = None
    while True:
        sig = add_signature(nban, signer, [dlhdon], algorithm=algo, signing_time=when,
                            signature_id=sig_id, object_id=obj_id)
        added.append((nban, sig))
        out = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
        if index is not None or _ids_unique_in(out, (dl_id, sig_id, obj_id)):
            return out
        added.pop()
        nban.remove(sig)
        index = _id_index(root)
        if len(index.get(dl_id, ())) > 1:
            raise ValidationError.at("HDon/DLHDon/@Id", f"the Id {dl_id!r} is used by {len(index[dl_id])} elements")
        if signature_id and signature_id in index:
            raise ValidationError.at("Signature/@Id", f"the Id {signature_id!r} is already used in the document")
        sig_id = signature_id or _unique_id(index, "seller")
        obj_id = _unique_id({**index, sig_id: []}, "SigningTime")


# --- verification ---------------------------------------------------------------------------------

@dataclass
class ReferenceCheck:
    """One ``Reference``: what it points to and whether its digest matches."""

    uri: str
    target: str | None  # path of the referenced element ("HDon/DLHDon"), "document", or None
    digest_method: str | None
    transforms: list[str]
    valid: bool
    problem: str | None = None


ROLE_LABELS = {"seller": "seller (DSCKS/NBan)", "buyer": "buyer (DSCKS/NMua)",
               "authority": "tax authority (DSCKS/CQT)", "other": "other (DSCKS/CCKSKhac)",
               "taxpayer": "taxpayer, cash-register message 206 (TDiep/CKSNNT)"}


@dataclass
class SignatureReport:
    """The check of one ``Signature`` (under ``HDon/DSCKS``, ``TDiep/CKSNNT`` or a pre-2022 invoice)."""

    role: str  # seller | buyer | authority | other | taxpayer (CKSNNT of message 206)
    path: str
    signature_id: str | None
    valid: bool = False
    problems: list[str] = field(default_factory=list)
    subject: str | None = None
    subject_tax_code: str | None = None
    serial: str | None = None
    issuer: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    signing_time: datetime | None = None
    signing_time_text: str | None = None
    certificate_valid_at_signing_time: bool | None = None
    trusted: bool | None = None  # None: no trust anchors given
    fingerprint: str | None = None  # SHA-256 of the certificate (AB:CD:…)
    public_key_sha256: str | None = None  # SHA-256 of its public key: the same key under two certificates
    names_tax_authority: bool | None = None  # CQT only: the subject passes certs.is_tax_authority_subject
    issued_by_government_ca: bool | None = None  # CQT only: the issuer passes certs.is_government_ca_issuer
    algorithm: str | None = None  # short name, e.g. rsa-sha256
    signature_method: str | None = None
    canonicalization_method: str | None = None
    references: list[ReferenceCheck] = field(default_factory=list)

    @property
    def covers(self) -> list[str]:
        """Paths of the elements covered by a valid reference."""
        return [r.target for r in self.references if r.valid and r.target]

    @property
    def verdict(self) -> str:
        """This signature on its own: ``valid`` or ``invalid`` (its problems say why)."""
        return "valid" if self.valid else "invalid"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("not_before", "not_after", "signing_time"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        data["covers"] = self.covers
        data["verdict"] = self.verdict
        data["role_label"] = self.role_label
        return data


@dataclass
class VerificationReport:
    """All signatures of an ``HDon``; ``valid`` only if there is a valid seller signature and all
    signatures and document checks pass: the signatures are intact and the rules hold (roles, MSTs,
    validity periods; and, when a trust store was given, every signer chains to it).

    ``valid`` alone does not say who signed: ``trust`` does. ``'verified'``: a trust store was given
    (``trust_anchors``: subject and SHA-256 fingerprint of each anchor) and every signer chains to it;
    ``'untrusted'``: a trust store was given and some signer does not chain to it (``valid`` is then
    False); ``'not_checked'``: no trust store, so the certificates' names are unproven — "signature
    intact, signer not verified". ``verdict`` combines both (``valid`` | ``intact_unverified`` | ``invalid``).
    """

    valid: bool
    signatures: list[SignatureReport]
    problems: list[str] = field(default_factory=list)
    seller_tax_code: str | None = None
    symbol: str | None = None
    coded: bool = False
    mccqt: str | None = None
    mccqt_covered: bool | None = None  # None: no MCCQT
    trust: str = "not_checked"  # verified | not_checked | untrusted
    trust_anchors: list[dict] = field(default_factory=list)  # [{"subject": …, "sha256": …}]
    kind: str = "HDon"  # HDon | TDiep | legacy (pre-2022 inv:invoice)
    message_type: str | None = None  # MLTDiep of a TDiep
    cash_register: bool = False  # MCCQT generated by the seller's cash register (message 206, symbol …M…)
    code_not_signed: bool = False  # seller's signature intact, MCCQT present, no tax authority signature at all
    reindented: bool = False  # a digest fails only because the file was re-indented after signing
    warnings: list[str] = field(default_factory=list)  # what real producers do: not a reason to refuse

    @property
    def verdict(self) -> str:
        """``valid`` (intact, rules hold, signers verified against the trust store), ``intact_unverified``
        (the same without a trust store), ``cash_register`` (intact; the code was generated by the seller's
        cash register and signed by the taxpayer in message 206, not issued by the tax authority),
        ``code_not_signed`` (the seller's signature is intact but the file carries an MCCQT without any
        tax authority signature: a stored copy stripped of it, or an added code — check the code on the
        tax authority's portal) or ``invalid`` (a signature or a rule fails: forged, altered, broken)."""
        if not self.valid:
            return "code_not_signed" if self.code_not_signed else "invalid"
        if self.cash_register:
            return "cash_register"
        return "valid" if self.trust == "verified" else "intact_unverified"

    @property
    def seller(self) -> SignatureReport | None:
        return next((s for s in self.signatures if s.role == "seller"), None)

    def all_problems(self) -> list[str]:
        return list(self.problems) + [f"{s.role} signature ({s.path}): {p}" for s in self.signatures
                                      for p in s.problems]

    def to_dict(self) -> dict:
        return {
            "valid": self.valid, "problems": list(self.problems), "seller_tax_code": self.seller_tax_code,
            "symbol": self.symbol, "coded": self.coded, "mccqt": self.mccqt, "mccqt_covered": self.mccqt_covered,
            "trust": self.trust, "trust_anchors": [dict(a) for a in self.trust_anchors], "verdict": self.verdict,
            "kind": self.kind, "message_type": self.message_type, "cash_register": self.cash_register,
            "code_not_signed": self.code_not_signed, "reindented": self.reindented, "warnings": list(self.warnings),
            "signatures": [s.to_dict() for s in self.signatures],
        }


def judge_trust(report: VerificationReport, anchors: list[x509.Certificate] | None) -> None:
    """Set ``report.trust`` and ``report.trust_anchors`` from the signatures' ``trusted`` flags."""
    if not anchors:
        report.trust, report.trust_anchors = "not_checked", []
        return
    report.trust_anchors = [{"subject": subject_string(a), "sha256": fingerprint_sha256(a)} for a in anchors]
    ok = bool(report.signatures) and all(s.trusted for s in report.signatures)
    report.trust = "verified" if ok else "untrusted"


class _Refused(Exception):
    pass


def _leaf_certificate(certs: list[x509.Certificate]) -> x509.Certificate:
    if len(certs) == 1:
        return certs[0]
    issuers = {c.issuer.public_bytes() for c in certs}
    leaves = [c for c in certs if c.subject.public_bytes() not in issuers or c.subject == c.issuer]
    return (leaves or certs)[0]


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer`` signed ``cert`` and may issue certificates (no BasicConstraints saying otherwise)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        if not issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
    except x509.ExtensionNotFound:
        pass
    public = issuer.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                          cert.signature_hash_algorithm)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _chains_to(cert, anchors: list[x509.Certificate], intermediates: list[x509.Certificate]) -> bool:
    current = cert
    for _ in range(8):
        if any(_issued_by(current, a) for a in anchors) or any(
                current.public_bytes(Encoding.DER) == a.public_bytes(Encoding.DER) for a in anchors):
            return True
        parent = next((i for i in intermediates if i is not current and _issued_by(current, i)), None)
        if parent is None:
            return False
        current = parent
    return False


def _verify_value(public, signature: bytes, data: bytes, key_type: str, hash_name: str) -> None:
    algorithm = HASHES[hash_name]()
    if key_type == "rsa":
        if not isinstance(public, rsa.RSAPublicKey):
            raise _Refused("the SignatureMethod is RSA but the certificate holds a non-RSA key")
        public.verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise _Refused("the SignatureMethod is ECDSA but the certificate holds a non-EC key")
        size = (public.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            raise _Refused(f"the ECDSA SignatureValue has {len(signature)} bytes; XML-DSig wants raw r||s "
                           f"of {2 * size} bytes")
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        public.verify(der, data, ec.ECDSA(algorithm))


def _c14n_params(method_el) -> tuple[str, tuple[bool, bool, str], list[str]]:
    uri = method_el.get("Algorithm") if method_el is not None else None
    if uri not in C14N_METHODS:
        raise _Refused(f"unsupported canonicalization {uri!r}")
    prefixes: list[str] = []
    for child in method_el:
        if _local(child.tag) == "InclusiveNamespaces" and child.tag.startswith("{" + EXC_C14N):
            prefixes = (child.get("PrefixList") or "").split()
    return uri, C14N_METHODS[uri], prefixes


_XPOINTER_ID = re.compile(r"""^#xpointer\(id\((['"])([^'"]+)\1\)\)$""")


def _check_reference(ref, sig, tree, index) -> tuple[ReferenceCheck, object]:
    uri = ref.get("URI")
    transforms_el = _child(ref, "Transforms")
    transforms = [t.get("Algorithm") or "" for t in transforms_el] if transforms_el is not None else []
    digest_el = _child(ref, "DigestMethod")
    digest_uri = digest_el.get("Algorithm") if digest_el is not None else None
    check = ReferenceCheck(uri=uri if uri is not None else "", target=None, digest_method=digest_uri,
                           transforms=transforms, valid=False)
    target = None
    try:
        if len(transforms) > MAX_TRANSFORMS:
            raise _Refused(f"{len(transforms)} transforms: at most {MAX_TRANSFORMS} are accepted")
        if uri is None:
            raise _Refused("Reference without URI: the signed data cannot be found")
        comments_allowed = False
        if uri in ("", "#xpointer(/)"):
            target, check.target, comments_allowed = "document", "document", uri != ""
        elif uri.startswith("#"):
            m = _XPOINTER_ID.match(uri)
            ident = m.group(2) if m else uri[1:]
            comments_allowed = bool(m)
            found = index.get(ident, [])
            if not found:
                raise _Refused(f"no element has Id={ident!r}")
            if len(found) > 1:
                raise _Refused(f"{len(found)} elements have Id={ident!r} (ambiguous: possible signature wrapping)")
            target = found[0]
            check.target = element_path(target)
        else:
            raise _Refused(f"external reference {uri!r} refused: only same-document references are checked")
        if digest_uri and is_md5(digest_uri):
            raise _Refused(md5_refusal(digest_uri))
        hash_name = DIGEST_URIS.get(digest_uri or "")
        if hash_name is None:
            raise _Refused(f"unsupported DigestMethod {digest_uri!r}")
        data = None
        exclude = None
        for t in (transforms_el if transforms_el is not None else []):
            if not isinstance(t.tag, str):
                continue
            alg = t.get("Algorithm")
            if alg == ENVELOPED:
                if data is not None:
                    raise _Refused("enveloped-signature transform after canonicalization is not supported")
                exclude = sig
            elif alg in C14N_METHODS:
                _uri, (exclusive, with_comments, version), prefixes = _c14n_params(t)
                if data is None:
                    data = _canonical(target, tree, exclusive, with_comments and comments_allowed,
                                      prefixes, exclude, version, cache=getattr(index, "canonical", None))
                else:
                    reparsed = etree.fromstring(data, safe_parser())
                    data = canonicalize_document(reparsed, with_comments=with_comments, exclusive=exclusive,
                                                 inclusive_prefixes=prefixes, version=version)
            else:
                raise _Refused(f"unsupported transform {alg!r}")
        if data is None:
            data = _canonical(target, tree, False, False, (), exclude, "1.0", cache=getattr(index, "canonical", None))
        expected = _b64decode(_text(ref, "DigestValue"))
        if not hmac.compare_digest(hashlib.new(hash_name, data).digest(), expected):
            raise _Refused("digest mismatch: the referenced content was changed after signing")
        check.valid = True
    except _Refused as e:
        check.problem = str(e)
    except (C14NError, ValueError, etree.XMLSyntaxError) as e:
        check.problem = f"cannot check: {e}"
    return check, target


def _canonical(target, tree, exclusive, with_comments, prefixes, exclude, version, cache=None) -> bytes:
    """Canonical form of a Reference's target; with ``cache`` (a dict living for one verification),
    computed once per (target, exclude, parameters). The key holds the ids of the target and of the
    excluded element; the value keeps both alive so that those ids are not reused meanwhile."""
    key = (id(target), id(exclude), bool(exclusive), bool(with_comments), tuple(prefixes), version)
    if cache is not None and key in cache:
        return cache[key][2]
    if cache is not None:
        root = tree.getroot() if isinstance(target, str) else target
        if ("count", id(root)) not in cache:  # counted once per target (the value keeps the id alive)
            cache[("count", id(root))] = (root, sum(1 for _ in root.iter()))
        spent = cache.get("elements", 0) + cache[("count", id(root))][1]
        if spent > MAX_CANONICAL_ELEMENTS:
            raise _Refused(f"more than {MAX_CANONICAL_ELEMENTS} elements to canonicalise in this document "
                           "(all References together): refused, not checked")
        cache["elements"] = spent
    if isinstance(target, str):
        data = canonicalize_document(tree, with_comments=with_comments, exclude=exclude, exclusive=exclusive,
                                     inclusive_prefixes=prefixes, version=version)
    else:
        data = canonicalize(target, exclusive=exclusive, with_comments=with_comments,
                            inclusive_prefixes=prefixes, exclude=exclude, version=version)
    if cache is not None:
        cache[key] = (target, exclude, data)
    return data


# the content model of ds:Signature (XML-DSig §4.1), written as the children's local names
_SIGNATURE_LAYOUT = re.compile(r"SignedInfo SignatureValue(?: KeyInfo)?(?: Object)*")


def _verify_signature(sig, role, tree, index, at, anchors, require_signing_time: bool = True) -> SignatureReport:
    report = SignatureReport(role=role, path=element_path(sig), signature_id=sig.get("Id"))
    problems = report.problems
    signed_info = _child(sig, "SignedInfo")
    if signed_info is None:
        problems.append("no SignedInfo")
        return report
    layout = " ".join(_local(c.tag) if c.tag.startswith(_DS) else c.tag for c in sig if isinstance(c.tag, str))
    if not _SIGNATURE_LAYOUT.fullmatch(layout):
        problems.append(f"the Signature holds {layout!r}: XML-DSig allows only SignedInfo, SignatureValue, KeyInfo "
                        "and Object elements, in that order")
    method_el = _child(signed_info, "SignatureMethod")
    report.signature_method = method_el.get("Algorithm") if method_el is not None else None
    c14n_el = _child(signed_info, "CanonicalizationMethod")
    report.canonicalization_method = c14n_el.get("Algorithm") if c14n_el is not None else None

    # certificate
    certs = []
    key_info = _child(sig, "KeyInfo")
    for el in (key_info.iter(_DS + "X509Certificate") if key_info is not None else []):
        try:
            certs.append(x509.load_der_x509_certificate(_b64decode(el.text)))
        except ValueError as e:
            problems.append(f"unreadable X509Certificate: {e}")
    cert = _leaf_certificate(certs) if certs else None
    if cert is None:
        problems.append("no X509Certificate in KeyInfo/X509Data (the format requires the certificate)")
    else:
        report.subject = subject_string(cert)
        report.subject_tax_code = subject_tax_code(cert)
        report.serial = serial_hex(cert)
        report.issuer = issuer_string(cert)
        report.not_before, report.not_after = validity(cert)
        report.fingerprint, report.public_key_sha256 = fingerprint_sha256(cert), public_key_sha256(cert)
        if role == "authority":
            report.names_tax_authority = is_tax_authority_subject(cert)
            report.issued_by_government_ca = is_government_ca_issuer(cert)
        if anchors:
            report.trusted = _chains_to(cert, anchors, [c for c in certs if c is not cert])
            if not report.trusted:
                problems.append("the certificate does not chain to a trusted CA")

    # references
    targets = []
    for ref in signed_info:
        if _local(ref.tag) == "Reference":
            check, target = _check_reference(ref, sig, tree, index)
            report.references.append(check)
            if check.problem:
                problems.append(f"Reference {check.uri!r}"
                                + (f" ({check.target})" if check.target else "") + f": {check.problem}")
            elif target is not None:
                targets.append(target)
    if not report.references:
        problems.append("SignedInfo has no Reference")

    # signature value
    uri = report.signature_method or ""
    try:
        if is_md5(uri):
            raise _Refused(md5_refusal(uri))
        if uri not in SIGNATURE_URIS:
            raise _Refused(f"unsupported SignatureMethod {uri!r}")
        key_type, hash_name = SIGNATURE_URIS[uri]
        report.algorithm = f"{'rsa' if key_type == 'rsa' else 'ecdsa'}-{hash_name}"
        _c_uri, (exclusive, with_comments, version), prefixes = _c14n_params(c14n_el)
        data = canonicalize(signed_info, exclusive=exclusive, with_comments=with_comments,
                            inclusive_prefixes=prefixes, version=version)
        if cert is not None:
            _verify_value(cert.public_key(), _b64decode(_text(sig, "SignatureValue")), data, key_type, hash_name)
    except _Refused as e:
        problems.append(str(e))
    except InvalidSignature:
        problems.append("SignatureValue does not match SignedInfo (wrong key, or SignedInfo changed)")
    except (C14NError, ValueError) as e:
        problems.append(f"cannot check the SignatureValue: {e}")

    # signing time
    signing_el = next(iter(sig.iter("{*}SigningTime")), None)
    if signing_el is None:
        if require_signing_time:  # pre-2022 invoices have none: judged at their signing date (``at``)
            problems.append("no SigningTime (Object/SignatureProperties/SignatureProperty/SigningTime)")
    else:
        report.signing_time_text = (signing_el.text or "").strip()
        report.signing_time = parse_signing_time(report.signing_time_text)
        if report.signing_time is None:
            problems.append(f"SigningTime {report.signing_time_text!r} is not a date and time")
        if not any(isinstance(t, str) or t is signing_el or _contains(t, signing_el) for t in targets):
            problems.append("SigningTime is not covered by any Reference, so it is not signed")
    if cert is not None:
        moment = report.signing_time or (to_ict(at) if at is not None else datetime.now(ICT))
        report.certificate_valid_at_signing_time = valid_at(cert, moment)
        if not report.certificate_valid_at_signing_time:
            label = "at the signing time" if report.signing_time else "now (no SigningTime)"
            problems.append(f"the certificate is not valid {label} {_fmt(moment)}: valid from "
                            f"{_fmt(report.not_before)} to {_fmt(report.not_after)}")
    return report


def _check_roles(signatures: list[SignatureReport], seller: SignatureReport | None, seller_mst: str | None) -> None:
    """Who may sign where: a tax authority (``DSCKS/CQT``) signature needs the tax authority's
    certificate (:func:`.certs.is_tax_authority_subject`; chaining to the trust store, when one is
    given, is checked for every signer); neither it nor a buyer (``DSCKS/NMua``) signature may be made
    with the seller's certificate (the seller's public key, or the seller's MST in the subject)."""
    seller_key = seller.public_key_sha256 if seller is not None else None
    seller_mst = normalize_tax_code(seller_mst or "")
    for s in signatures:
        if s.role not in ("authority", "buyer") or s.subject is None:
            continue
        where = "tax authority (CQT)" if s.role == "authority" else "buyer (NMua)"
        if seller_key and s.public_key_sha256 == seller_key:
            s.problems.append(f"the {where} signature is made with the seller's key (the same public key as "
                              "the seller's signature): the seller cannot sign for the "
                              + ("tax authority" if s.role == "authority" else "buyer"))
        elif seller_mst and normalize_tax_code(s.subject_tax_code or "") == seller_mst:
            s.problems.append(f"the {where} signature is made with a certificate of the seller "
                              f"(MST {seller_mst} in its subject)")
        elif s.role == "authority" and not s.names_tax_authority:
            s.problems.append("the tax authority (CQT) signature is not made with the tax authority's "
                              f"certificate: its subject ({s.subject}) does not name TỔNG CỤC THUẾ / CỤC THUẾ")
        elif s.role == "authority" and not s.issued_by_government_ca:
            s.problems.append("the tax authority (CQT) signature's certificate is not issued by the government CA "
                              f"(CA phục vụ các cơ quan Nhà nước, Ban Cơ yếu Chính phủ): its issuer is {s.issuer}")


def _contains(ancestor, node) -> bool:
    node = node.getparent()
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def verify_invoice(xml_bytes: bytes | str, *, at: datetime | None = None,
                   trusted_certificates: list[x509.Certificate] | None = None,
                   max_bytes: int = MAX_XML_BYTES) -> VerificationReport:
    """Check every ``Signature`` of an invoice and the business rules around them.

    The input is an ``HDon``, a ``TDiep`` message carrying one (200, 202, 203, 206) or a pre-2022
    ``inv:invoice``; it is parsed safely (no DTD/entities, no network, ``max_bytes``). Certificates are
    judged at each signature's ``SigningTime`` (``at``, default now, when there is none; the signing date
    of a pre-2022 invoice). With ``trusted_certificates`` (CA certificates) each signer certificate must
    chain to one of them, through the certificates of its ``X509Data`` (signatures and the CA flag are
    checked; not the CAs' validity periods, not revocation); without, trust is not judged (``trusted``
    is None). Each signature is reported on its own (role, verdict, problems); ``report.verdict`` sums
    them up. Never raises for a bad signature: see ``report.valid`` and the problems; raises
    :class:`ValidationError` for unreadable XML.
    """
    tree = parse_untrusted(xml_bytes, max_bytes)
    report = _verify_tree(tree, at, trusted_certificates)
    if any(not r.valid and r.problem and r.problem.startswith(_DIGEST_MISMATCH)
           for s in report.signatures for r in s.references):
        _name_reindentation(report, tree, at, trusted_certificates)
    return report


_DIGEST_MISMATCH = "digest mismatch"
_REINDENTED = ("re-indented after signing: the digest matches once the whitespace between elements is "
               "removed; this is a re-formatted copy, not the signed original (ask for the original file)")


def _name_reindentation(report, tree, at, anchors) -> None:
    """When the signatures verify once whitespace-only text between elements is removed, say so: the
    file was re-indented by whoever stored it (a copy), not forged in its values. Still invalid."""
    if not any(_blank(el.text) or _blank(el.tail) for el in tree.getroot().iter()):
        return  # no whitespace between elements: nothing was re-indented (and no second verification)
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        stripped = etree.ElementTree(etree.fromstring(etree.tostring(tree), parser))
    except etree.XMLSyntaxError:
        return
    again = _verify_tree(stripped, at, anchors)
    if len(again.signatures) != len(report.signatures):
        return
    for before, after in zip(report.signatures, again.signatures):
        if not before.valid and after.valid:
            before.problems.insert(0, _REINDENTED)
            report.reindented = True


def _blank(text: str | None) -> bool:
    return bool(text) and not text.strip()


def _verify_tree(tree, at, anchors) -> VerificationReport:
    root = tree.getroot()
    kind = document_kind(root)
    if kind == "legacy":
        return _verify_legacy(tree, at, anchors)
    hdon = root if _local(root.tag) == "HDon" else None
    if hdon is None:
        found = [el for el in root.iter("{*}HDon")]
        if len(found) != 1:
            raise ValidationError.at(_local(root.tag), f"expected one HDon, found {len(found)}")
        hdon = found[0]
    report = VerificationReport(valid=False, signatures=[], kind=kind or _local(root.tag))
    if kind == "TDiep":
        report.message_type = read_envelope(root).message_type or None
    over = cap_problems(hdon, root)
    if over:  # refused whole: nothing is canonicalised or verified
        report.problems += over
        return report
    index = _id_index(tree.getroot())
    # one invoice, read where it is signed: no second HDon/DLHDon/MCCQT/DSCKS hidden anywhere, and the QR
    # code (outside the signed data) says what the signed data says
    report.problems += [f"{p.path}: {p.message}" for p in single_element_problems(root)]
    qr = qr_code_problems(hdon)
    report.problems += [f"{p.path}: {p.message}" for p in qr if p.is_error]
    report.warnings += [f"{p.path}: {p.message}" for p in qr if not p.is_error]
    dlhdon = _child(hdon, "DLHDon")
    if dlhdon is not None:
        report.seller_tax_code = normalize_tax_code(_text(dlhdon, "NDHDon", "NBan", "MST")) or None
        report.symbol = _text(dlhdon, "TTChung", "KHHDon") or None
        report.coded = bool(report.symbol and report.symbol.startswith("C"))
    else:
        report.problems.append("HDon/DLHDon is missing")
    mccqt = _child(hdon, "MCCQT")
    if mccqt is not None and not (mccqt.text or "").strip() and not len(mccqt):
        mccqt = None  # <MCCQT/>: an invoice without a code (K series) written by some producers (Viettel)
    report.mccqt = (mccqt.text or "").strip() if mccqt is not None else None
    # the signed parts are read where the format puts them: a DLHDon or MCCQT elsewhere (wrapped, moved into
    # a Signature) may still be found by its Id, but no reader sees it
    report.problems += [f"{element_path(el)}: {_local(el.tag)} is not where the format puts it (HDon/{_local(el.tag)})"
                        for el in root.iter("{*}DLHDon", "{*}MCCQT") if el.getparent() is not hdon]
    report.cash_register = report.message_type == CASH_REGISTER or bool(
        report.mccqt and CASH_REGISTER_CODE.fullmatch(report.mccqt))

    dscks = _child(hdon, "DSCKS")
    checked = []
    for container in (dscks if dscks is not None else []):
        if not isinstance(container.tag, str):
            continue
        role = ROLES.get(_local(container.tag), "other")
        for sig in container.iter(_DS + "Signature"):
            checked.append((sig, _verify_signature(sig, role, tree, index, at, anchors)))
    taxpayer = []  # CKSNNT of a message (206): the taxpayer signs the data of the message
    if hdon is not root:
        for container in root.iterchildren("{*}CKSNNT"):
            for sig in container.iter(_DS + "Signature"):
                sig_report = _verify_signature(sig, "taxpayer", tree, index, at, anchors)
                if not any(r.valid and (r.target == "document" or _ref_covers(r, index, hdon))
                           for r in sig_report.references):
                    sig_report.problems.append("it does not cover the invoice (TDiep/DLieu/HDon)")
                checked.append((sig, sig_report))
                taxpayer.append(sig_report)
    report.signatures = [r for _s, r in checked]
    stray = [s for s in hdon.iter(_DS + "Signature") if dscks is None or not _contains(dscks, s)]
    if stray:
        report.problems.append(f"{len(stray)} Signature element(s) outside HDon/DSCKS were not checked")

    signed_by_taxpayer = any(not t.problems for t in taxpayer)
    if not report.signatures:
        report.problems.append("the invoice is not signed (no Signature under HDon/DSCKS)")
    elif report.seller is None and not signed_by_taxpayer:
        report.problems.append("the seller's signature (HDon/DSCKS/NBan/Signature) is missing")
    for _sig, sig_report in checked:
        if sig_report.role != "seller":
            continue
        if dlhdon is None or not any(r.valid and (r.target == "document" or _ref_target_is(r, index, dlhdon))
                                     for r in sig_report.references):
            sig_report.problems.append("it does not cover HDon/DLHDon (the invoice data)")
    for sig_report in report.signatures:
        if sig_report.role in ("seller", "taxpayer") and dlhdon is not None and sig_report.subject is not None:
            delegated = _text(dlhdon, "TTChung", "MSTDVNUNLHDon")
            seller = _text(dlhdon, "NDHDon", "NBan", "MST")
            if not (tax_code_matches(sig_report.subject_tax_code, seller)
                    or (delegated and tax_code_matches(sig_report.subject_tax_code, delegated))):
                sig_report.problems.append(
                    f"the certificate's MST ({sig_report.subject_tax_code or 'none in its subject'}) is not the "
                    f"seller's MST (NBan/MST {seller or 'missing'})")
    _check_roles(report.signatures, report.seller, report.seller_tax_code)
    authority = [s for s in report.signatures if s.role == "authority"]
    if mccqt is not None:
        covering = [s for s in authority if any(
            r.valid and (r.target == "document" or _ref_target_is(r, index, mccqt)) for r in s.references)]
        if report.cash_register:  # the register's code: signed with the data by the taxpayer (206)
            covering += [t for t in taxpayer if any(r.valid and (r.target == "document" or _ref_covers(r, index, mccqt))
                                                    for r in t.references)]
        report.mccqt_covered = any(not s.problems for s in covering)
        if not report.mccqt_covered:
            report.problems.append(
                "HDon/MCCQT (the cash register's code) is not covered by the taxpayer's signature of message 206 "
                "(TDiep/CKSNNT)" if report.cash_register and not authority else
                "HDon/MCCQT (the tax authority's code) is not covered by a valid tax authority (CQT) signature")
    for s in report.signatures:
        s.valid = not s.problems
    judge_trust(report, anchors)
    report.valid = bool(report.signatures) and (report.seller is not None or signed_by_taxpayer) and (
        not report.problems) and all(s.valid for s in report.signatures)
    # seller-signed, MCCQT present, but no tax authority signature at all: not forged, not proven either
    report.code_not_signed = (not report.valid and mccqt is not None and not authority and not taxpayer
                              and report.seller is not None and all(s.valid for s in report.signatures)
                              and len(report.problems) == 1 and report.problems[0].startswith("HDon/MCCQT"))
    return report


def _verify_legacy(tree, at, anchors) -> VerificationReport:
    """A pre-2022 ``inv:invoice``: the seller's signature(s) next to ``inv:invoiceData`` (``id="data"``),
    judged at the signing date written in the invoice (the format has no ``SigningTime``)."""
    root = tree.getroot()
    report = VerificationReport(valid=False, signatures=[], kind="legacy")
    data = root.find(f"{{{LEGACY_NS}}}invoiceData")
    if data is None:
        report.problems.append("inv:invoice/inv:invoiceData is missing")
        return report
    over = cap_problems(root)
    if over:
        report.problems += over
        return report

    def text(tag: str) -> str:
        return " ".join((data.findtext(f"{{{LEGACY_NS}}}{tag}") or "").split())

    seller = text("sellerTaxCode")
    report.seller_tax_code = normalize_tax_code(seller) or None
    report.symbol = text("invoiceSeries") or None
    moment = at
    for tag in ("signedDate", "invoiceIssuedDate"):
        raw = text(tag)
        for fmt in ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y"):
            try:
                moment = moment or datetime.strptime(raw[:10], fmt).replace(hour=12, tzinfo=ICT)
            except ValueError:
                continue
    index = _id_index(root)
    for sig in root.iter(_DS + "Signature"):
        sig_report = _verify_signature(sig, "seller", tree, index, moment, anchors, require_signing_time=False)
        if not any(r.valid and (r.target == "document" or _ref_target_is(r, index, data)) for r in sig_report.references):
            sig_report.problems.append("it does not cover inv:invoiceData (the invoice data)")
        if sig_report.subject is not None and not sig_report.subject_tax_code:
            # certificates of public bodies (Ban Cơ yếu Chính phủ) name no MST: the link is not provable
            report.warnings.append(f"{sig_report.path}: the certificate names no MST; the seller's MST "
                                   f"({seller or 'missing'}) is not checked against it")
        elif sig_report.subject is not None and not tax_code_matches(sig_report.subject_tax_code, seller):
            sig_report.problems.append(f"the certificate's MST ({sig_report.subject_tax_code}) is not the "
                                       f"seller's MST (sellerTaxCode {seller or 'missing'})")
        report.signatures.append(sig_report)
    if not report.signatures:
        report.problems.append("the invoice is not signed (no Signature)")
    for s in report.signatures:
        s.valid = not s.problems
    judge_trust(report, anchors)
    report.valid = bool(report.signatures) and not report.problems and all(s.valid for s in report.signatures)
    return report


def cap_problems(hdon, root=None) -> list[str]:
    """Problems when ``hdon`` holds more than :data:`MAX_SIGNATURES` signatures or a signature with more
    than :data:`MAX_REFERENCES` references, or the document (``root``, default ``hdon``) more than
    :data:`MAX_NAMESPACES` distinct namespace prefixes (counted without verifying anything)."""
    walk = etree.iterwalk(hdon if root is None else root, events=("start-ns",))
    declared = len({prefix for _event, (prefix, _uri) in walk})
    if declared > MAX_NAMESPACES:
        return [f"{declared} namespace prefixes declared: at most {MAX_NAMESPACES} are accepted; the document "
                "is refused, not verified"]
    signatures = list((hdon if root is None else root).iter(_DS + "Signature"))
    if len(signatures) > MAX_SIGNATURES:
        return [f"{_local((hdon if root is None else root).tag)}: {len(signatures)} Signature elements: at most "
                f"{MAX_SIGNATURES} are accepted; the document is refused, not verified"]
    problems = []
    for sig in signatures:
        count = sum(1 for info in sig.iterchildren("{*}SignedInfo") for _ in info.iterchildren("{*}Reference"))
        if count > MAX_REFERENCES:
            problems.append(f"{element_path(sig)}: {count} References: at most {MAX_REFERENCES} are accepted "
                            "per Signature; the document is refused, not verified")
    return problems


def _ref_id(uri: str) -> str:
    m = _XPOINTER_ID.match(uri or "")
    return m.group(2) if m else (uri or "")[1:]


def _ref_covers(ref: ReferenceCheck, index, element) -> bool:
    """The reference's target is ``element`` or one of its ancestors (the data it is part of)."""
    found = index.get(_ref_id(ref.uri), [])
    return len(found) == 1 and (found[0] is element or _contains(found[0], element))


def _ref_target_is(ref: ReferenceCheck, index, element) -> bool:
    found = index.get(_ref_id(ref.uri), [])
    return len(found) == 1 and found[0] is element
