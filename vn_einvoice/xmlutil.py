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
    return tree
