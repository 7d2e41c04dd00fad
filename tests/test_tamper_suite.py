"""The tamper suite (issue 11, item 9): hundreds of generated mutations of a coded invoice signed by the
seller, the buyer and the tax authority (CQT), every one refused by ``verify_invoice`` with the trust
store given; and the benign changes, each with why its verdict stays "valid".

Refused means: ``verify_invoice`` raises :class:`ValidationError` (unreadable, a comment inside a value,
…) or its verdict is ``invalid``. The base document verifies "valid" against the test CA, so every
mutation is judged against a document that is otherwise perfect.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from copy import deepcopy
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from factories import BUYER_MST, SELLER_MST, amount_line, goods, make_invoice, note
from lxml import etree
from tools import validity_around

from vn_einvoice.errors import ValidationError
from vn_einvoice.qr import invoice_qr_payload
from vn_einvoice.sandbox.testca import (
    make_government_test_ca,
    make_seller_certificate,
    make_test_ca,
    p12_bytes,
)
from vn_einvoice.signing import Pkcs12Signer, add_signature, sign_invoice, verify_invoice
from vn_einvoice.xml import build_xml

DS = "{http://www.w3.org/2000/09/xmldsig#}"
SIGNED_AT = datetime(2026, 3, 15, 3, 0, tzinfo=timezone.utc)
AUTHORITY_SIGNED_AT = datetime(2026, 3, 15, 3, 5, tzinfo=timezone.utc)
MCCQT = "00B2AF74F70B4E495FA0663F7475BC3BD8"
MIN_MUTATIONS = 500


def _authority_name() -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BỘ TÀI CHÍNH"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "CỤC THUẾ")])


def _signer(ca, tax_code, name, **kw):
    key, cert = make_seller_certificate(ca, tax_code, name, **validity_around(SIGNED_AT, AUTHORITY_SIGNED_AT), **kw)
    return Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "x"), "x"), key, cert


class World:
    """The trusted test CA and its signers, a rogue CA and its look-alikes, and the signed document."""

    def __init__(self):
        window = validity_around(SIGNED_AT, AUTHORITY_SIGNED_AT)
        self.ca = make_test_ca(**window)
        self.rogue_ca = make_test_ca("vn-einvoice TEST CA - không dùng thật", **window)  # same name, other key
        self.seller, self.seller_key, self.seller_cert = _signer(self.ca, SELLER_MST, "CÔNG TY TNHH GIẢI PHÁP MẪU")
        self.buyer, _k, self.buyer_cert = _signer(self.ca, BUYER_MST, "CÔNG TY CỔ PHẦN KHÁCH HÀNG MẪU")
        self.gov_ca = make_government_test_ca(**window)
        self.authority, _k, self.authority_cert = _signer(self.gov_ca, "", "CỤC THUẾ", subject=_authority_name())
        # look-alikes from the rogue CA: the seller's MST and name; the tax authority's name
        self.rogue_seller, _k, _c = _signer(self.rogue_ca, SELLER_MST, "CÔNG TY TNHH GIẢI PHÁP MẪU")
        self.rogue_gov_ca = make_government_test_ca(**window)  # the government CA's names, another key
        self.rogue_authority, _k, _c = _signer(self.rogue_gov_ca, "", "CỤC THUẾ", subject=_authority_name())
        self.commercial_authority, _k, _c = _signer(self.ca, "", "CỤC THUẾ", subject=_authority_name())
        # the rogue CA certifies the seller's own public key: the seller's signature value still verifies
        _k, self.rogue_cert_on_seller_key = make_seller_certificate(
            self.rogue_ca, SELLER_MST, "CÔNG TY TNHH GIẢI PHÁP MẪU", key=self.seller_key, **window)
        self.document = self._document()

    def _document(self) -> bytes:
        invoice = make_invoice([goods("Máy tính xách tay", 2, 15_000_000, "10%"),
                                goods("Chuột không dây", 3, 250_000, "8%", unit="Cái"),
                                amount_line("Phí vận chuyển", 500_000, "KCT"), note()],
                               symbol="C26TAA", number=7, authority_code=MCCQT)
        invoice = replace(invoice, qr_payload=invoice_qr_payload(invoice))
        signed = sign_invoice(build_xml(invoice), self.seller, signing_time=SIGNED_AT)
        tree = etree.fromstring(signed)
        dlhdon, mccqt = tree.find("DLHDon"), tree.find("MCCQT")
        if mccqt.get("Id") is None:
            mccqt.set("Id", "Id-mccqt-1")
        add_signature(tree.find("DSCKS/NMua"), self.buyer, [dlhdon], signing_time=SIGNED_AT,
                      signature_id="buyer-1", object_id="buyer-time-1")
        cqt = etree.Element("CQT")
        tree.find("DSCKS/NMua").addnext(cqt)
        add_signature(cqt, self.authority, [dlhdon, mccqt], enveloped=False, signing_time=AUTHORITY_SIGNED_AT,
                      signature_id="cqt-1", object_id="cqt-time-1", property_target="signatureProperties")
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")

    def verify(self, xml: bytes):
        return verify_invoice(xml, trusted_certificates=[self.ca.certificate, self.gov_ca.certificate])


@pytest.fixture(scope="module")
def world() -> World:
    w = World()
    report = w.verify(w.document)
    assert report.verdict == "valid", report.all_problems()
    assert [s.role for s in report.signatures] == ["seller", "buyer", "authority"]
    assert report.mccqt == MCCQT and report.mccqt_covered
    return w


# ----------------------------------------------------------------------
# Mutations
# ----------------------------------------------------------------------

def _tree(xml: bytes):
    return etree.fromstring(xml)


def _out(tree) -> bytes:
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _path(el) -> str:
    return el.getroottree().getpath(el)


def _signed_elements(tree) -> list:
    """Every element whose content a signature covers: DLHDon's subtree, MCCQT, the signing-time objects."""
    out = list(tree.find("DLHDon").iter())
    out.append(tree.find("MCCQT"))
    for obj in tree.iter(DS + "Object"):
        out.extend(obj.iter())
    return [el for el in out if isinstance(el.tag, str)]


def _valued(tree) -> list:
    return [el for el in _signed_elements(tree) if len(el) == 0 and (el.text or "").strip()]


def _other_char(c: str) -> str:
    if c.isdigit():
        return str((int(c) + 1) % 10)
    if c.isalpha():
        return "B" if c.upper() != "B" else "C"
    return "9" if c != "9" else "8"


def _value_edits(doc):
    """One character changed (first, middle and last) in every signed value, and the value emptied."""
    tree = _tree(doc)
    for i, el in enumerate(_valued(tree)):
        text = el.text
        for pos in sorted({0, len(text) // 2, len(text) - 1}):
            t = _tree(doc)
            target = _valued(t)[i]
            target.text = text[:pos] + _other_char(text[pos]) + text[pos + 1:]
            yield f"char {pos} of {_path(el)}", _out(t)
        t = _tree(doc)
        _valued(t)[i].text = ""
        yield f"emptied {_path(el)}", _out(t)


def _structure_edits(doc):
    """Every signed element deleted, duplicated, wrapped, given an attribute; each swapped with its next sibling."""
    tree = _tree(doc)
    count = len(_signed_elements(tree))
    for i in range(count):
        path = _path(_signed_elements(tree)[i])
        for kind in ("delete", "duplicate", "wrap", "attribute", "swap"):
            t = _tree(doc)
            el = _signed_elements(t)[i]
            parent = el.getparent()
            if kind == "delete":
                if parent is None:
                    continue
                parent.remove(el)
            elif kind == "duplicate":
                if parent is None:
                    continue
                el.addnext(deepcopy(el))
            elif kind == "wrap":
                if parent is None:
                    continue
                wrapper = etree.Element(etree.QName(el).namespace and f"{{{etree.QName(el).namespace}}}Bao" or "Bao")
                el.addprevious(wrapper)
                wrapper.append(el)
            elif kind == "attribute":
                el.set("GChu", "x")
            else:
                following = el.getnext()
                if following is None or etree.tostring(following) == etree.tostring(el) or parent is t:
                    continue  # the order of HDon's own children is not signed (benign, see BENIGN)
                following.addnext(el)
            yield f"{kind} {path}", _out(t)


def _inside_value_edits(doc):
    """A comment or a processing instruction inside every signed value (splitting what is read)."""
    tree = _tree(doc)
    for i, el in enumerate(_valued(tree)):
        if len(el.text) < 2:
            continue
        for inside in (b"<!---->", b"<?x y?>"):
            text = el.text
            mid = len(text) // 2
            t = _tree(doc)
            target = _valued(t)[i]
            marker = "MARKER-5e0f"
            target.text = text[:mid] + marker + text[mid:]
            yield f"{inside.decode()} inside {_path(el)}", _out(t).replace(marker.encode(), inside, 1)


def _signature_edits(doc, world: World):
    """Digest and signature values, algorithms, references, Ids, transforms, KeyInfo and certificates."""
    tree = _tree(doc)
    n_sigs = len(list(tree.iter(DS + "Signature")))

    def sig_of(t, k):
        return list(t.iter(DS + "Signature"))[k]

    for k in range(n_sigs):
        name = f"signature {k} ({sig_of(tree, k).get('Id')})"
        for tag in ("DigestValue", "SignatureValue", "X509Certificate"):
            for j, _el in enumerate(sig_of(tree, k).iter(DS + tag)):
                for pos in (0, 10, -3):
                    t = _tree(doc)
                    el = list(sig_of(t, k).iter(DS + tag))[j]
                    text = el.text.strip()
                    pos = pos % len(text)
                    el.text = text[:pos] + ("A" if text[pos] != "A" else "B") + text[pos + 1:]
                    yield f"{name}: {tag} {j} char {pos}", _out(t)
        algorithms = {
            "SignatureMethod": ["http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
                                "http://www.w3.org/2000/09/xmldsig#hmac-sha1", "urn:none"],
            "DigestMethod": ["http://www.w3.org/2000/09/xmldsig#sha1", "http://www.w3.org/2001/04/xmlenc#sha512",
                             "urn:none"],
            "CanonicalizationMethod": ["http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
                                       "http://www.w3.org/2001/10/xml-exc-c14n#", "urn:none"],
            "Transform": ["http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
                          "http://www.w3.org/TR/1999/REC-xpath-19991116", "urn:none"],
        }
        for tag, values in algorithms.items():
            for j, el in enumerate(sig_of(tree, k).iter(DS + tag)):
                for value in values:
                    if el.get("Algorithm") == value:
                        continue
                    t = _tree(doc)
                    list(sig_of(t, k).iter(DS + tag))[j].set("Algorithm", value)
                    yield f"{name}: {tag} {j} -> {value}", _out(t)
        for j, _ref in enumerate(sig_of(tree, k).iter(DS + "Reference")):
            for uri in ("", "#", "#Id-bogus", "#" + "buyer-time-1", "http://127.0.0.1/x.xml"):
                t = _tree(doc)
                ref = list(sig_of(t, k).iter(DS + "Reference"))[j]
                if ref.get("URI") == uri:
                    continue
                ref.set("URI", uri)
                yield f"{name}: Reference {j} URI -> {uri!r}", _out(t)
            t = _tree(doc)
            ref = list(sig_of(t, k).iter(DS + "Reference"))[j]
            ref.getparent().remove(ref)
            yield f"{name}: Reference {j} removed", _out(t)
            t = _tree(doc)
            ref = list(sig_of(t, k).iter(DS + "Reference"))[j]
            transforms = ref.find(DS + "Transforms")
            if transforms is not None:
                ref.remove(transforms)
                yield f"{name}: Reference {j} transforms removed", _out(t)
            else:
                transforms = etree.Element(DS + "Transforms")
                etree.SubElement(transforms, DS + "Transform",
                                 Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature")
                ref.insert(0, transforms)
                yield f"{name}: Reference {j} enveloped transform added", _out(t)
        for tag in ("KeyInfo", "Object", "SignedInfo", "SignatureValue"):
            t = _tree(doc)
            el = sig_of(t, k).find(DS + tag)
            el.getparent().remove(el)
            yield f"{name}: {tag} removed", _out(t)
        t = _tree(doc)
        sig = sig_of(t, k)
        if sig.getparent().tag != "NMua":  # the buyer's signature is optional (benign, see BENIGN)
            sig.getparent().remove(sig)
            yield f"{name}: removed", _out(t)
        # certificate swaps: another genuine certificate, a look-alike of the rogue CA on the signer's own key
        for label, cert in (("the CA certificate", world.ca.certificate), ("the buyer's", world.buyer_cert),
                            ("the seller's", world.seller_cert), ("the tax authority's", world.authority_cert),
                            ("a rogue CA's on the seller's key", world.rogue_cert_on_seller_key)):
            t = _tree(doc)
            el = next(sig_of(t, k).iter(DS + "X509Certificate"))
            der = base64.b64encode(cert.public_bytes(Encoding.DER)).decode()
            if el.text.strip() == der:
                continue
            el.text = der
            yield f"{name}: certificate swapped for {label}", _out(t)
    # Ids: DLHDon's and MCCQT's changed (references dangling), and duplicated
    for tag in ("DLHDon", "MCCQT"):
        t = _tree(doc)
        t.find(tag).set("Id", t.find(tag).get("Id") + "x")
        yield f"{tag} Id changed", _out(t)
        t = _tree(doc)
        del t.find(tag).attrib["Id"]
        yield f"{tag} Id removed", _out(t)


def _wrapping_edits(doc):
    """Signature wrapping: the genuine DLHDon kept where the signature finds it by Id, a forged one where
    readers look for it."""
    def forged_dlhdon(original):
        forged = deepcopy(original)
        total = forged.find(".//TgTTTBSo")
        total.text = "1000"
        return forged

    def into_wrapper(t, genuine):
        wrapper = etree.Element("Bao")
        t.find("DLHDon").addprevious(wrapper)
        wrapper.append(genuine)

    placements = {
        "genuine moved into the seller's Object": lambda t, g: next(t.iter(DS + "Object")).append(g),
        "genuine moved into CCKSKhac": lambda t, g: t.find("DSCKS/CCKSKhac").append(g),
        "genuine moved into a wrapper before the forged one": into_wrapper,
        "genuine kept after the forged one": lambda t, g: t.find("DLHDon").addnext(g),
    }
    for label, place in placements.items():
        t = _tree(doc)
        genuine = t.find("DLHDon")
        forged = forged_dlhdon(genuine)
        genuine.addprevious(forged)
        genuine.getparent().remove(genuine)
        place(t, genuine)
        yield f"wrapping: {label}", _out(t)
    for label, attr in (("forged one without Id", None), ("forged one with another Id", "Id-other")):
        t = _tree(doc)
        genuine = t.find("DLHDon")
        forged = forged_dlhdon(genuine)
        if attr is None:
            del forged.attrib["Id"]
        else:
            forged.set("Id", attr)
        genuine.addprevious(forged)
        next(t.iter(DS + "Object")).append(genuine)
        yield f"wrapping: {label}, genuine copy in an Object", _out(t)
    t = _tree(doc)  # a second HDon wrapping the forged one
    hdon = etree.Element("HDon")
    hdon.append(forged_dlhdon(t.find("DLHDon")))
    t.find("DSCKS/CCKSKhac").append(hdon)
    yield "wrapping: a second HDon in CCKSKhac", _out(t)


def _qr_edits(doc):
    """Every character of DLQRCode changed (outside the signatures, checked against the signed data)."""
    tree = _tree(doc)
    payload = tree.find("DLQRCode").text
    for pos in range(len(payload)):
        t = _tree(doc)
        t.find("DLQRCode").text = payload[:pos] + _other_char(payload[pos]) + payload[pos + 1:]
        yield f"DLQRCode char {pos}", _out(t)


def _forged_signature_edits(doc, world: World):
    """CQT and buyer signatures made by someone else: the seller, a rogue CA's look-alike; MCCQT invented."""
    def resign(container_tag, signer, mccqt_text=None, with_mccqt=True):
        t = _tree(doc)
        if mccqt_text is not None:
            t.find("MCCQT").text = mccqt_text
        container = t.find(f"DSCKS/{container_tag}")
        for child in list(container):
            container.remove(child)
        targets = [t.find("DLHDon")] + ([t.find("MCCQT")] if with_mccqt else [])
        if container_tag == "CQT":
            add_signature(container, signer, targets, enveloped=False, signing_time=AUTHORITY_SIGNED_AT,
                          signature_id="cqt-2", object_id="cqt-time-2", property_target="signatureProperties")
        else:
            add_signature(container, signer, targets, signing_time=SIGNED_AT, signature_id="buyer-2",
                          object_id="buyer-time-2")
        return _out(t)

    yield "CQT re-signed by the seller", resign("CQT", world.seller)
    yield "CQT re-signed by the seller over an invented MCCQT", resign("CQT", world.seller, "00AAAAAAAAAAAAAAAA")
    yield "CQT re-signed by a rogue 'CỤC THUẾ'", resign("CQT", world.rogue_authority)
    yield "CQT re-signed by a rogue 'CỤC THUẾ' over an invented MCCQT", resign(
        "CQT", world.rogue_authority, "00BBBBBBBBBBBBBBBB")
    yield "CQT re-signed by the buyer", resign("CQT", world.buyer)
    yield "CQT re-signed by a 'CỤC THUẾ' of the sellers' (trusted) CA", resign("CQT", world.commercial_authority)
    yield "CQT signature not covering MCCQT, MCCQT invented", resign("CQT", world.authority, "00CC", False)
    yield "buyer re-signed by the seller", resign("NMua", world.seller, with_mccqt=False)
    yield "buyer re-signed by a rogue look-alike of the seller", resign("NMua", world.rogue_seller, with_mccqt=False)
    # the seller's signature replaced by a look-alike's over doctored data
    t = _tree(doc)
    t.find(".//TgTTTBSo").text = "1000"
    seller_box = t.find("DSCKS/NBan")
    for child in list(seller_box):
        seller_box.remove(child)
    add_signature(seller_box, world.rogue_seller, [t.find("DLHDon")], signing_time=SIGNED_AT,
                  signature_id="seller-2", object_id="seller-time-2")
    yield "seller re-signed over doctored data by a rogue look-alike", _out(t)


def mutations(world: World):
    doc = world.document
    yield from _value_edits(doc)
    yield from _structure_edits(doc)
    yield from _inside_value_edits(doc)
    yield from _signature_edits(doc, world)
    yield from _wrapping_edits(doc)
    yield from _qr_edits(doc)
    yield from _forged_signature_edits(doc, world)


def _refused(world: World, xml: bytes) -> tuple[bool, str]:
    """Refused: unreadable, or any verdict but "valid" (``code_not_signed`` says that the tax authority's
    code is not signed by it: not valid either). A DLQRCode edited out of the decision's QR format (a TLV that
    no longer parses, or without its invoice block) carries no invoice data a scanner would read: the verdict
    may stay "valid" but verify must warn that the QR is not the decision's (real producers write other
    payloads there, issue 12); a QR still in the format that disagrees with the signed data is refused."""
    try:
        report = world.verify(xml)
    except ValidationError as e:
        return True, f"unreadable: {e}"
    if report.verdict == "valid" and any(w.startswith("HDon/DLQRCode: not the decision's invoice QR")
                                         for w in report.warnings):
        return True, "; ".join(report.warnings)
    return report.verdict != "valid", "; ".join(report.all_problems()) or report.verdict


def test_every_mutation_is_refused(world):
    tried, kinds, accepted = 0, Counter(), []
    seen = {world.document}
    for name, xml in mutations(world):
        if xml in seen:  # a no-op edit (e.g. the same value written back) is not a mutation
            continue
        seen.add(xml)
        tried += 1
        kinds[name.split(" ", 1)[0]] += 1
        refused, why = _refused(world, xml)
        if not refused:
            accepted.append(f"{name}: {why}")
    print(f"\n{tried} mutations, every kind: {dict(kinds)}")
    assert tried >= MIN_MUTATIONS
    assert accepted == [], f"{len(accepted)} of {tried} mutations accepted:\n" + "\n".join(accepted[:40])


# ----------------------------------------------------------------------
# Benign changes: the verdict stays "valid", and why
# ----------------------------------------------------------------------

BENIGN = {
    # XML 1.0 §2.8 and c14n: the declaration is not part of the canonical form; the bytes are the same UTF-8
    "declaration removed": lambda d: d.split(b"?>", 1)[1],
    "declaration with lower-case encoding": lambda d: d.replace(b"encoding='UTF-8'", b'encoding="utf-8"', 1)
    .replace(b'encoding="UTF-8"', b'encoding="utf-8"', 1),
    # c14n 1.0 drops comments: a comment BETWEEN elements changes nothing that was signed or read
    "comment between elements": lambda d: d.replace(b"<DLQRCode>", b"<!-- kho luu tru --><DLQRCode>", 1),
    # attribute quoting is not part of the infoset: c14n writes double quotes
    "attribute in single quotes": lambda d: re.sub(rb'<DLHDon Id="([^"]+)"', rb"<DLHDon Id='\1'", d, count=1),
    # a character reference is the character itself once parsed (the value read is the same)
    "character reference in a value": lambda d: d.replace(b"<KHHDon>C26TAA</KHHDon>",
                                                          b"<KHHDon>&#67;26TAA</KHHDon>", 1),
    # CCKSKhac is outside every signed part and empty: its two empty-element forms are the same element
    "empty CCKSKhac written open/close": lambda d: d.replace(b"<CCKSKhac/>", b"<CCKSKhac></CCKSKhac>", 1),
    # line breaks between DSCKS's containers: DSCKS is not signed; nothing read there is a value
    "line breaks between DSCKS containers": lambda d: _with_tail(d, "DSCKS/NBan", "\n"),
    # the order of HDon's children is not signed (each signature finds its data by Id) and every reader
    # finds DLHDon, DLQRCode, MCCQT and DSCKS by name; real producers differ in it (validate warns)
    "DLQRCode before DLHDon": lambda d: _moved(d, "DLQRCode", before="DLHDon"),
    "MCCQT after DSCKS": lambda d: _moved(d, "MCCQT", after="DSCKS"),
    # DLQRCode is optional and outside the signed data: empty, it says nothing a scanner could be misled by
    "DLQRCode emptied": lambda d: re.sub(rb"<DLQRCode>[^<]*</DLQRCode>", b"<DLQRCode></DLQRCode>", d),
    # the buyer's signature is optional and nobody else's signature covers it: without it the file is the
    # one the seller and the tax authority signed (the report then lists no buyer signature)
    "buyer's signature removed": lambda d: _without(d, "DSCKS/NMua/*"),
}


def _with_tail(doc: bytes, path: str, tail: str) -> bytes:
    t = _tree(doc)
    t.find(path).tail = tail
    return _out(t)


def _moved(doc: bytes, tag: str, before: str | None = None, after: str | None = None) -> bytes:
    t = _tree(doc)
    el = t.find(tag)
    (t.find(before).addprevious if before else t.find(after).addnext)(el)
    return _out(t)


def _without(doc: bytes, path: str) -> bytes:
    t = _tree(doc)
    el = t.find(path)
    el.getparent().remove(el)
    return _out(t)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_changes_keep_the_verdict(world, name):
    changed = BENIGN[name](world.document)
    assert changed != world.document, f"{name}: the change did not apply"
    report = world.verify(changed)
    assert report.verdict == "valid", (name, report.all_problems())
