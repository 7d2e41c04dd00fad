from odoo import api, models

from vn_einvoice.errors import EInvoiceError
from vn_einvoice.xmlutil import parse_untrusted

from ..tools.received_xml import read_received


class IrAttachment(models.Model):
    _inherit = 'ir.attachment'

    @api.model
    def _get_edi_supported_formats(self):
        """A provider's ZIP holding an e-invoice XML is read as that XML (before Odoo's binary fallback)."""
        formats = super()._get_edi_supported_formats()

        def is_zip(attachment):
            return ('zip' in (attachment.mimetype or '') or (attachment.name or '').lower().endswith('.zip')) \
                and (attachment.raw or b'')[:2] == b'PK'

        formats.insert(-1, {'format': 'l10n_vn_einvoice_zip', 'check': is_zip, 'decoder': self._l10n_vn_einvoice_decode_zip})
        return formats

    def _l10n_vn_einvoice_decode_zip(self, filename, content):
        """The e-invoice in a ZIP, as an XML file of Odoo's import pipeline (nothing when there is none)."""
        try:
            received = read_received(content, filename)
        except (EInvoiceError, ValueError):
            return []
        return [{
            'attachment': self, 'filename': filename, 'content': content, 'xml_tree': parse_untrusted(received.xml).getroot(),
            'sort_weight': 10, 'type': 'xml', 'l10n_vn_einvoice': received,
        }]
