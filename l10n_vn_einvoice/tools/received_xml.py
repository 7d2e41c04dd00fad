"""Read a received e-invoice (a supplier's ``HDon``, alone or in a ``TDiep`` message, or a provider's ZIP).

Plain Python, no ORM. The library parses and verifies ``HDon`` (``parse_xml``, ``verify_invoice``);
this adds what a mailbox brings: the ``TDiep`` envelope of the tax authority's messages
(``TDiep/DLieu/HDon``) and the ZIP of a provider's download.
"""

from dataclasses import dataclass

from vn_einvoice.document import Invoice
from vn_einvoice.errors import ValidationError
from vn_einvoice.providers import xml_in_zip
from vn_einvoice.xml import read_tree
from vn_einvoice.xmlutil import parse_untrusted


@dataclass(frozen=True)
class ReceivedXml:
    """The invoice read from a received file, and the XML bytes it was read from (verified as they are)."""

    invoice: Invoice
    xml: bytes
    filename: str
    enveloped: bool  # the HDon came inside a TDiep message


def _local(tag) -> str:
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def hdon_of(root):
    """The ``HDon`` element of an ``HDon`` or ``TDiep`` root, or None when it is neither.

    TODO(issue 12): once ``parse_xml`` reads TDiep envelopes itself, this helper goes.
    """
    name = _local(root.tag)
    if name == 'HDon':
        return root
    if name == 'TDiep':
        found = [el for el in root.iterfind('{*}DLieu/{*}HDon')]
        if len(found) == 1:
            return found[0]
    return None


def is_einvoice_root(root) -> bool:
    """True for an ``HDon``, or a ``TDiep`` carrying one: the files this import reads."""
    return root is not None and hdon_of(root) is not None


def read_received(data: bytes, filename: str = '') -> ReceivedXml:
    """The invoice in ``data`` (HDon or TDiep XML, or a ZIP holding one); raises ``ValidationError``."""
    if data[:2] == b'PK':
        found = xml_in_zip(data)
        if not found:
            raise ValidationError.at('ZIP', 'the ZIP holds no XML file')
        filename, data = found
    root = parse_untrusted(data).getroot()
    hdon = hdon_of(root)
    if hdon is None:
        raise ValidationError.at(_local(root.tag), 'not an e-invoice: expected HDon, or TDiep/DLieu/HDon')
    if hdon.tag != 'HDon':  # namespaced: the format has none
        raise ValidationError.at(_local(root.tag), 'the e-invoice elements must not have a namespace')
    return ReceivedXml(read_tree(hdon), data, filename, hdon is not root)


def zip_holds_einvoice(data: bytes) -> bool:
    """True when ``data`` is a ZIP holding an e-invoice XML."""
    try:
        return data[:2] == b'PK' and bool(read_received(data))
    except (ValidationError, ValueError):
        return False
