"""Bounded cost of verify, validate and parse (issue 11 item 5): the caps refuse what is over them, and
results for normal invoices are unchanged. Nothing here is timed: ``vn-einvoice bench worst`` prints figures."""

from __future__ import annotations

import copy
import itertools

import pytest
from lxml import etree

from vn_einvoice.amounts import check_amounts, complete
from vn_einvoice.cli.bench import SELLER_MST, bench_worst, make_sample_hdon, make_sample_invoice, worst_cases
from vn_einvoice.errors import ValidationError
from vn_einvoice.sandbox.testca import make_seller_certificate, make_test_ca, p12_bytes
from vn_einvoice.signing import Pkcs12Signer, sign_invoice, verify_invoice
from vn_einvoice.signing.xmldsig import (
    MAX_CANONICAL_ELEMENTS,
    MAX_NAMESPACES,
    MAX_REFERENCES,
    MAX_SIGNATURES,
    MAX_TRANSFORMS,
)
from vn_einvoice.xml.parse import MAX_LINES, read_tree
from vn_einvoice.xml.validate import _RelatedPaths, validate_tree, validate_xml

DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def signed() -> bytes:
    ca = make_test_ca()
    key, cert = make_seller_certificate(ca, SELLER_MST, "CÔNG TY TNHH GIẢI PHÁP MẪU")
    return sign_invoice(make_sample_hdon(5), Pkcs12Signer(p12_bytes(key, cert, [ca.certificate], "t"), "t"))


def _with_lines(count: int) -> etree._Element:
    root = etree.fromstring(make_sample_hdon(3))
    lines = root.find("DLHDon/NDHDon/DSHHDVu")
    for _ in range(count - len(lines)):
        lines.append(etree.Element("HHDVu"))
    return root


def test_lines_over_the_cap_are_refused_by_validate_and_parse():
    root = _with_lines(MAX_LINES + 1)
    problems = validate_tree(root)
    assert [p.path for p in problems] == ["HDon/DLHDon/NDHDon/DSHHDVu"]
    assert f"at most {MAX_LINES}" in problems[0].message and "refused" in problems[0].message
    with pytest.raises(ValidationError, match=f"at most {MAX_LINES}"):
        read_tree(root)


def test_lines_at_the_cap_are_read():
    problems = validate_tree(_with_lines(MAX_LINES))
    assert problems and not any(f"at most {MAX_LINES}" in p.message for p in problems)


def _add_references(xml: bytes, extra: int, uri: str = "") -> bytes:
    root = etree.fromstring(xml)
    info = root.find(f"DSCKS/NBan/{{{DS}}}Signature/{{{DS}}}SignedInfo")
    ref = info.find(f"{{{DS}}}Reference")
    for _ in range(extra):
        clone = copy.deepcopy(ref)
        clone.set("URI", uri)
        info.append(clone)
    return etree.tostring(root)


def test_normal_invoice_still_verifies(signed):
    report = verify_invoice(signed)
    assert report.valid, report.all_problems()


def test_repeated_document_references_give_the_same_result_each(signed):
    # the first Reference (URI="") canonicalises the document once; its copies reuse it and agree
    ref = etree.fromstring(signed).find(f".//{{{DS}}}Reference")
    xml = _add_references(signed, 3, ref.get("URI"))
    report = verify_invoice(xml)
    checks = report.signatures[0].references
    first = checks[0]
    assert [c.valid for c in checks[-3:]] == [first.valid] * 3
    assert [c.problem for c in checks[-3:]] == [first.problem] * 3


def test_references_over_the_cap_are_refused(signed):
    have = len(etree.fromstring(signed).findall(f".//{{{DS}}}SignedInfo/{{{DS}}}Reference"))
    at_cap = verify_invoice(_add_references(signed, MAX_REFERENCES - have))
    assert at_cap.signatures and not any("References: at most" in p for p in at_cap.problems)
    over = verify_invoice(_add_references(signed, MAX_REFERENCES - have + 1))
    assert not over.valid and not over.signatures
    assert any(f"{MAX_REFERENCES + 1} References: at most {MAX_REFERENCES}" in p for p in over.problems)


def test_signatures_over_the_cap_are_refused(signed):
    root = etree.fromstring(signed)
    sig = root.find(f"DSCKS/NBan/{{{DS}}}Signature")
    other = etree.SubElement(root.find("DSCKS"), "CCKSKhac")
    for _ in range(MAX_SIGNATURES):
        other.append(copy.deepcopy(sig))
    report = verify_invoice(etree.tostring(root))
    assert not report.valid and not report.signatures
    assert any(f"{MAX_SIGNATURES + 1} Signature elements: at most {MAX_SIGNATURES}" in p for p in report.problems)


def test_namespaces_over_the_cap_are_refused(signed):
    declarations = b"".join(b' xmlns:p%d="urn:p%d"' % (i, i) for i in range(MAX_NAMESPACES + 1))
    xml = signed.replace(b"<HDon", b"<HDon" + declarations, 1)
    report = verify_invoice(xml)
    assert not report.valid and not report.signatures
    assert any(f"at most {MAX_NAMESPACES} are accepted" in p for p in report.problems)


def test_transforms_over_the_cap_are_refused(signed):
    root = etree.fromstring(signed)
    transforms = root.find(f".//{{{DS}}}Reference/{{{DS}}}Transforms")
    while len(transforms) <= MAX_TRANSFORMS:
        transforms.append(copy.deepcopy(transforms[-1]))
    report = verify_invoice(etree.tostring(root))
    assert not report.valid
    assert any(f"at most {MAX_TRANSFORMS} are accepted" in (c.problem or "") for c in report.signatures[0].references)


def test_related_paths_agree_with_comparing_all_pairs():
    names = ["HDon", "HDon/DLHDon", "HDon/DLHDon/TTChung", "HDon/DLHDon/TTChung/SHDon", "HDon//DSCKS",
             "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien", "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]", "HDon/DL",
             "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[20]", "", "X/Y"]

    def naive(a, b):
        return a == b or a.startswith(b + "/") or b.startswith(a + "/")

    for size in range(4):
        for reported in itertools.combinations(names, size):
            related = _RelatedPaths(reported)
            for path in names:
                assert related(path) == any(naive(path, q) for q in reported), (path, reported)


def test_validate_results_unchanged_for_a_normal_invoice():
    assert validate_xml(make_sample_hdon(20)) == []
    broken = make_sample_hdon(20).replace(b"<ThTien>", b"<ThTien>x", 1)
    assert [p.path for p in validate_xml(broken)] == ["HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/ThTien"]


def test_check_amounts_with_many_rates_counts_lines_per_rate():
    invoice = make_sample_invoice(20)
    assert check_amounts(complete(invoice)) == []


def test_bench_worst_runs_every_case_small():
    results = bench_worst(60_000)
    names = {name for name, _size, _spent in results}
    assert {"empty_lines", "document_references", "signatures", "root_namespaces"} <= names
    assert all(size <= 60_000 and set(spent) == {"verify", "validate", "parse"} for _n, size, spent in results)
    assert set(worst_cases(60_000)) == names


def test_canonicalisation_budget_refuses_a_huge_document_reference(signed):
    root = etree.fromstring(signed)
    other = etree.SubElement(root.find("DLHDon"), "TTKhac")
    for _ in range(MAX_CANONICAL_ELEMENTS):
        etree.SubElement(other, "a")
    for ref in root.iter(f"{{{DS}}}Reference"):
        ref.set("URI", "")
    report = verify_invoice(etree.tostring(root))
    assert not report.valid
    assert any(f"more than {MAX_CANONICAL_ELEMENTS} elements" in (c.problem or "")
               for c in report.signatures[0].references)
