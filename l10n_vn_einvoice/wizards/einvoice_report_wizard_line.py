from odoo import fields, models


class L10nVnEinvoiceReportWizardLine(models.TransientModel):
    """One series in the usage report of a period."""

    _name = 'l10n_vn_einvoice.report.wizard.line'
    _description = 'E-invoice usage of a series in a period'

    wizard_id = fields.Many2one('l10n_vn_einvoice.report.wizard', required=True, ondelete='cascade')
    currency_id = fields.Many2one(related='wizard_id.currency_id')
    series_id = fields.Many2one('l10n_vn_einvoice.series', readonly=True)
    template = fields.Char(readonly=True)
    symbol = fields.Char(string='Series symbol', readonly=True)
    opening_number = fields.Integer(readonly=True, help='The first number free at the start of the period.')
    first_number = fields.Integer(string='From number', readonly=True)
    last_number = fields.Integer(string='To number', readonly=True)
    used = fields.Integer(string='Numbers used', readonly=True)
    in_use = fields.Integer(string='In use', readonly=True)
    cancelled = fields.Integer(readonly=True)
    adjusted = fields.Integer(readonly=True)
    replaced = fields.Integer(readonly=True)
    deleted = fields.Integer(string='Deleted before issue', readonly=True)
    range_to = fields.Integer(string='Registered up to', readonly=True)
    remaining = fields.Integer(readonly=True)
    missing_count = fields.Integer(string='Missing', readonly=True)
    missing = fields.Char(string='Missing numbers', readonly=True)
    amount_untaxed = fields.Monetary(string='Before tax', readonly=True)
    amount_tax = fields.Monetary(string='VAT', readonly=True)
    amount_total = fields.Monetary(string='Total', readonly=True)
