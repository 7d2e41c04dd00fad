from odoo import _, models
from odoo.exceptions import UserError

from vn_einvoice.codes import normalize_tax_code
from vn_einvoice.errors import EInvoiceError

from ..tools.received_xml import read_received


class AccountJournal(models.Model):
    _inherit = 'account.journal'

    def _create_document_from_attachment(self, attachment_ids):
        """Refuse an upload of a supplier's e-invoice that is booked already, naming the bill, before anything
        is created."""
        journal = self or self.browse(self.env.context.get('default_journal_id'))
        if journal.type == 'purchase' or self.env.context.get('default_move_type') in ('in_invoice', 'in_refund'):
            for attachment in self.env['ir.attachment'].browse(attachment_ids):
                self._l10n_vn_einvoice_refuse_booked(attachment, journal.company_id or self.env.company)
        return super()._create_document_from_attachment(attachment_ids)

    def _l10n_vn_einvoice_refuse_booked(self, attachment, company):
        raw = attachment.raw or b''
        if not (raw[:2] == b'PK' or b'HDon' in raw[:100_000]):
            return
        try:
            doc = read_received(raw, attachment.name).invoice
        except (EInvoiceError, ValueError):
            return
        if doc.number is None:
            return
        existing = self.env['account.move']._l10n_vn_einvoice_received_find(
            company, normalize_tax_code(doc.seller.tax_code), doc.template, doc.symbol, doc.number)
        if existing:
            raise UserError(_(
                'The e-invoice %(symbol)s number %(number)s of the seller %(vat)s (%(file)s) is already in %(bill)s: '
                'it is not imported twice.', symbol=doc.symbol, number=doc.number, vat=doc.seller.tax_code,
                file=attachment.name, bill=', '.join(existing.mapped('display_name'))))
