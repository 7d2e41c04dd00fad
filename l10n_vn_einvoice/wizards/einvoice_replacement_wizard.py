from odoo import Command, _, api, models
from odoo.exceptions import UserError

from vn_einvoice import lifecycle


class L10nVnEinvoiceReplacementWizard(models.TransientModel):
    """Replacement invoice (TCHDon 1) of one or several issued e-invoices: a new draft invoice prefilled
    from the original(s), editable, then posted and issued like any other. Issuing it makes the
    originals CHANGE and reverses their accounting."""

    _name = 'l10n_vn_einvoice.replacement.wizard'
    _inherit = 'l10n_vn_einvoice.correction.mixin'
    _description = 'Replace issued e-invoices'
    _relation = 'replacement'

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        origins = self._origins_from_context(lifecycle.Event.REPLACE)
        if origins:
            res['origin_ids'] = [Command.set(origins.ids)]
        return res

    @api.depends('origin_ids', 'list_number', 'list_date')
    def _compute_note(self):
        return super()._compute_note()

    def _default_note(self):
        self.ensure_one()
        if not self.origin_ids:
            return ''
        return self.env['account.move']._l10n_vn_einvoice_note_text(self._reference())[:255]

    def _agreement_contents(self):
        return '', ''

    def _create_move(self):
        self.ensure_one()
        self._check_common()
        origins = self.origin_ids.sorted(lambda m: (m.invoice_date, m.id))
        if any(m.move_type != 'out_invoice' for m in origins):
            raise UserError(_('Only invoices are replaced; correct a credit note by adjusting its invoice again.'))
        first = origins[0]
        vals = first.with_context(include_business_fields=True).copy_data({
            'invoice_date': self.invoice_date, 'date': self.invoice_date,
        })[0]
        lines = []
        for origin in origins:
            data = origin.with_context(include_business_fields=True).copy_data()[0]
            if len(origins) > 1:
                lines.append(Command.create({'display_type': 'line_section', 'name': origin.l10n_vn_einvoice_name}))
            lines += [line for line in data['line_ids'] if line[2]['display_type'] in ('product', 'line_section', 'line_note')]
        vals['line_ids'] = lines
        vals.pop('invoice_line_ids', None)
        vals.pop('invoice_date_due', None)
        agreement = self._create_agreement()
        vals.update(self._correction_vals(agreement))
        vals['move_type'] = 'out_invoice'
        vals['l10n_vn_einvoice_payment_method'] = first.l10n_vn_einvoice_payment_method
        move = self.env['account.move'].with_company(self.company_id).create(vals)
        self._after_create(move, agreement)
        return move
