"""Canonical XML (C14N 1.0, 1.1, exclusive; with or without comments) of an element *in its document*.

Why not just ``etree.tostring(el, method="c14n")``: lxml (4.9.3, 5.2.1, 6.x) canonicalises an inner
element on a fake root document whose descendants still point at namespace declarations outside it;
libxml2's ``xmlSearchNs`` then finds those (via ancestors' ``ns`` pointers) instead of the copies on the
fake root and the canonicaliser adds declarations: the spurious ``xmlns=""`` on grandchildren of an
element in a default namespace (spec_xml_qr.md §3.5; every ``SignedInfo``/``Object`` sits under
``<Signature xmlns="…xmldsig#">``), or redundant re-declarations. A ``deepcopy`` is no cure: it drops
the *unused* namespaces of the ancestors, which inclusive C14N must render (a ``xmlns:ds`` on ``HDon``
is part of the ``DLHDon`` digest), and lxml's copies show the same kind of errors.

The bug only ever *adds* namespace declarations, so: libxml2 in place (fast), kept when its output has
no ``xmlns`` at all — the usual ``DLHDon`` of a namespace-free ``HDon`` — and otherwise a small
pure-Python canonicaliser that works from lxml's in-scope namespaces (value-based, so immune). Tests
check both against libxml2 on freshly parsed copies of random documents, and against xmlsec1.
"""

from __future__ import annotations

from lxml import etree

C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_10_COMMENTS = C14N_10 + "#WithComments"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
C14N_11_COMMENTS = C14N_11 + "#WithComments"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = EXC_C14N + "WithComments"

# URI → (exclusive, with_comments, version)
C14N_METHODS = {
    C14N_10: (False, False, "1.0"),
    C14N_10_COMMENTS: (False, True, "1.0"),
    C14N_11: (False, False, "1.1"),
    C14N_11_COMMENTS: (False, True, "1.1"),
    EXC_C14N: (True, False, "1.0"),
    EXC_C14N_COMMENTS: (True, True, "1.0"),
}

XML_NS = "http://www.w3.org/XML/1998/namespace"
_XML_PREFIX = "{" + XML_NS + "}"


class C14NError(ValueError):
    """The element cannot be canonicalised (e.g. an entity reference, xml:base under C14N 1.1)."""


def canonicalize(element, *, exclusive: bool = False, with_comments: bool = False,
                 inclusive_prefixes=(), exclude=None, version: str = "1.0") -> bytes:
    """Canonical form of ``element`` and its descendants, as a document-subset of its own document.

    ``exclude``: an element (e.g. the enveloping ``Signature``) left out with its descendants;
    ``inclusive_prefixes``: the ``InclusiveNamespaces PrefixList`` of exclusive C14N (``#default`` for
    the default namespace).
    """
    if exclude is not None and not _is_descendant_or_self(exclude, element):
        exclude = None
    if version == "1.0" and exclude is None and (exclusive or not _inherits_xml_attributes(element)):
        out = etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=with_comments,
                             inclusive_ns_prefixes=list(inclusive_prefixes) or None)
        if b"xmlns" not in out:
            return out  # no namespace anywhere: nothing the lxml bug could have added
    return python_canonicalize(element, exclusive=exclusive, with_comments=with_comments,
                               inclusive_prefixes=inclusive_prefixes, exclude=exclude, version=version)


def canonicalize_document(tree_or_root, *, with_comments: bool = False, exclude=None,
                          exclusive: bool = False, inclusive_prefixes=(), version: str = "1.0") -> bytes:
    """C14N of a whole document (``URI=""``): the root element plus processing instructions (and
    comments when asked) around it, separated by line feeds as C14N requires."""
    root = tree_or_root.getroot() if hasattr(tree_or_root, "getroot") else tree_or_root
    parts = []
    for node in reversed(list(root.itersiblings(preceding=True))):
        text = _misc(node, with_comments)
        if text:
            parts.append(text + "\n")
    body = canonicalize(root, exclusive=exclusive, with_comments=with_comments,
                        inclusive_prefixes=inclusive_prefixes, exclude=exclude, version=version)
    after = [("\n" + t) for t in (_misc(n, with_comments) for n in root.itersiblings()) if t]
    return "".join(parts).encode("utf-8") + body + "".join(after).encode("utf-8")


def _misc(node, with_comments: bool) -> str:
    if node.tag is etree.PI:
        return f"<?{node.target}{' ' + node.text if node.text else ''}?>"
    if node.tag is etree.Comment and with_comments:
        return f"<!--{node.text or ''}-->"
    return ""


def _is_descendant_or_self(node, ancestor) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _inherits_xml_attributes(element) -> bool:
    node = element.getparent()
    while node is not None:
        if node.attrib and any(k.startswith(_XML_PREFIX) for k in node.attrib):
            return True
        node = node.getparent()
    return False


# --- the pure-Python canonicaliser ----------------------------------------------------------------

def _esc_text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#xD;")
    return text


def _esc_attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            .replace("\t", "&#x9;").replace("\n", "&#xA;").replace("\r", "&#xD;"))


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        uri, local = tag[1:].split("}", 1)
        return uri, local
    return "", tag


def python_canonicalize(element, *, exclusive: bool = False, with_comments: bool = False,
                        inclusive_prefixes=(), exclude=None, version: str = "1.0") -> bytes:
    """Pure-Python C14N of ``element`` in document context (see :func:`canonicalize`)."""
    out: list[str] = []
    include = {None if p == "#default" else p for p in inclusive_prefixes or ()}
    inherited: dict[str, str] = {}
    if not exclusive:
        wanted = ("lang", "space") if version == "1.1" else None
        node = element.getparent()
        while node is not None:
            for key, value in node.attrib.items():
                if key.startswith(_XML_PREFIX) and key not in element.attrib and key not in inherited:
                    local = key[len(_XML_PREFIX):]
                    if wanted is None or local in wanted:
                        inherited[key] = value
                    elif local == "base":
                        raise C14NError("xml:base fix-up of C14N 1.1 is not supported")
            node = node.getparent()
    state = (out, exclusive, with_comments, include, exclude)
    _element(element, {}, inherited, state)
    return "".join(out).encode("utf-8")


def _attr_qname(uri: str, local: str, nsmap: dict) -> str:
    if not uri:
        return local
    if uri == XML_NS:
        return "xml:" + local
    for prefix, value in nsmap.items():
        if prefix is not None and value == uri:
            return f"{prefix}:{local}"
    raise C14NError(f"no prefix in scope for the attribute namespace {uri}")


def _element(el, rendered: dict, extra_attrs: dict, state) -> None:
    out, exclusive, with_comments, include, exclude = state
    nsmap = el.nsmap
    uri, local = _split(el.tag)
    prefix = el.prefix
    qname = f"{prefix}:{local}" if prefix else local

    attrs = []
    for key, value in el.attrib.items():
        a_uri, a_local = _split(key)
        attrs.append((a_uri, a_local, _attr_qname(a_uri, a_local, nsmap), value))
    for key, value in extra_attrs.items():
        attrs.append((XML_NS, key[len(_XML_PREFIX):], "xml:" + key[len(_XML_PREFIX):], value))

    decls = []
    if exclusive:
        used = {prefix}
        for a_uri, _a_local, a_qname, _v in attrs:
            if a_uri and a_uri != XML_NS:
                used.add(a_qname.split(":", 1)[0])
        used |= {p for p in include if p in nsmap or p is None}
        candidates = used
    else:
        candidates = set(nsmap) | {None}
    new_rendered = rendered
    for p in candidates:
        value = nsmap.get(p) or ""
        if p is not None and not value:
            continue
        if rendered.get(p, "") != value:
            decls.append((p or "", value))
            if new_rendered is rendered:
                new_rendered = dict(rendered)
            new_rendered[p] = value
    decls.sort()
    attrs.sort(key=lambda a: (a[0], a[1]))

    parts = ["<", qname]
    for p, value in decls:
        parts.append(f' xmlns:{p}="{_esc_attr(value)}"' if p else f' xmlns="{_esc_attr(value)}"')
    for _u, _l, a_qname, value in attrs:
        parts.append(f' {a_qname}="{_esc_attr(value)}"')
    parts.append(">")
    out.append("".join(parts))
    if el.text:
        out.append(_esc_text(el.text))
    for child in el:
        if child is exclude:
            pass
        elif child.tag is etree.Comment:
            if with_comments:
                out.append(f"<!--{child.text or ''}-->")
        elif child.tag is etree.PI:
            out.append(f"<?{child.target}{' ' + child.text if child.text else ''}?>")
        elif isinstance(child.tag, str):
            _element(child, new_rendered, {}, state)
        else:
            raise C14NError(f"cannot canonicalise a {type(child).__name__} node")
        if child.tail:
            out.append(_esc_text(child.tail))
    out.append(f"</{qname}>")
