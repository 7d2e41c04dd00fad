from odoo import fields, models

DIFFERENCE_KINDS = [
    ('unknown_here', 'Issued at the provider, unknown here'),
    ('missing_there', 'Issued here, not listed by the provider'),
    ('amount', 'Totals differ'),
]


class L10nVnEinvoiceProviderDifference(models.Model):
    """A difference between the invoices a provider lists for a period and those Odoo recorded as issued
    through it (found by "Compare with the provider" or its scheduled action), for the accountant."""

    _name = 'l10n_vn_einvoice.provider.difference'
    _description = 'Difference between an e-invoice provider and Odoo'
    _order = 'date_found desc, id desc'
    _check_company_auto = True

    provider_id = fields.Many2one('l10n_vn_einvoice.provider', string='Provider account', required=True,
                                  ondelete='cascade', index=True)
    company_id = fields.Many2one(related='provider_id.company_id', store=True)
    kind = fields.Selection(DIFFERENCE_KINDS, required=True)
    provider_invoice_no = fields.Char(string='Provider invoice number')
    move_id = fields.Many2one('account.move', string='Invoice', ondelete='cascade', check_company=True)
    provider_total = fields.Float(string='Total at the provider')
    odoo_total = fields.Float(string='Total in Odoo')
    message = fields.Char(required=True)
    date_found = fields.Datetime(string='Found on', default=fields.Datetime.now, readonly=True)
