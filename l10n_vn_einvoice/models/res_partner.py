from odoo import fields, models


class ResPartner(models.Model):
    _inherit = 'res.partner'

    l10n_vn_einvoice_id_kind = fields.Selection(
        selection=[('CCCD', 'Citizen ID (CCCD)'), ('PASSPORT', 'Passport'), ('OTHER', 'Other document')],
        string='Identity document', help='For individual buyers without a tax code.')
    l10n_vn_einvoice_id_number = fields.Char(string='Document number')
    l10n_vn_einvoice_budget_code = fields.Char(
        string='Budget unit code', size=7, help='MDVQHNSach: code of a state-budget unit buyer.')
    l10n_vn_einvoice_bilingual = fields.Selection(
        selection=[('auto', 'Automatic'), ('yes', 'Vietnamese and English'), ('no', 'Vietnamese only')],
        string='E-invoice language', default='auto',
        help='Language of the printed e-invoice. Automatic: Vietnamese with English subtitles for foreign '
             'buyers and invoices in a foreign currency, Vietnamese only otherwise.')
