"""Safe XML parsing for untrusted input: no entities, no network, no DTD, bounded size."""

from __future__ import annotations

from lxml import etree

from .errors import ValidationError

MAX_XML_BYTES = 2 * 1024 * 1024  # the tax authority's message limit (Decision 1271 §I.IV.5)


def safe_parser(huge: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        remove_comments=False, remove_blank_text=False, huge_tree=huge,
    )


def parse_untrusted(data: bytes | str, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse bytes as received (whitespace kept, so signatures still verify).

    Refuses documents over ``max_bytes``, with a DOCTYPE (entity tricks), or that are not XML.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise ValidationError.at("", f"the XML file is {len(data)} bytes; the limit is {max_bytes} bytes")
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as e:
        raise ValidationError.at("", f"not a well-formed XML file: {e}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ValidationError.at("", "XML files with a DOCTYPE are refused (entity expansion is not allowed)")
    refuse_split_values(tree.getroot())
    return tree


def _path(el) -> str:
    names = []
    while el is not None:
        names.append(etree.QName(el).localname)
        el = el.getparent()
    return "/".join(reversed(names))


def refuse_split_values(root) -> None:
    """Refuse a comment or processing instruction inside a value (``<TgTTTBSo>3160<!---->0000</TgTTTBSo>``):
    canonicalization without comments signs "31600000" while an element's text reads "3160", so what is
    read would not be what was signed. Between elements they are harmless and kept."""
    for node in root.iter(etree.Comment, etree.ProcessingInstruction):
        parent = node.getparent()
        if parent is None:
            continue  # before or after the root element
        in_value = not any(isinstance(child.tag, str) for child in parent) or bool((node.tail or "").strip()) or (
            node.getprevious() is None and bool((parent.text or "").strip()))
        if in_value:
            kind = "comment" if isinstance(node, etree._Comment) else "processing instruction"
            raise ValidationError.at(_path(parent), f"a {kind} inside the value is refused: the value read would "
                                                    "not be the value signed")
