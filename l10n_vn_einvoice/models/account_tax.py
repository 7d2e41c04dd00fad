from odoo import api, fields, models

from vn_einvoice.codes import TaxRate

RATE_CODES = [
    ('0%', '0% (zero-rated)'),
    ('5%', '5%'),
    ('8%', '8%'),
    ('10%', '10%'),
    ('KCT', 'KCT - not subject to VAT'),
    ('KKKNT', 'KKKNT - not declared nor paid'),
    ('KHAC', 'KHAC - other rate'),
]


class AccountTax(models.Model):
    _inherit = 'account.tax'

    l10n_vn_einvoice_rate = fields.Selection(
        RATE_CODES, string='E-invoice VAT rate', compute='_compute_l10n_vn_einvoice_rate', store=True, readonly=False,
        help='How this tax is written on Vietnamese e-invoices (TSuat). 0%, KCT and KKKNT are different: '
             'KCT is for goods and services not subject to VAT, KKKNT for sales not declared nor paid.')

    @api.depends('amount', 'amount_type', 'tax_group_id')
    def _compute_l10n_vn_einvoice_rate(self):
        exemption_groups = set()
        for company in self.company_id:
            if company.chart_template == 'vn':
                group = self.env['account.chart.template'].with_company(company).ref(
                    'tax_group_exemption', raise_if_not_found=False)
                exemption_groups.update(group.ids if group else [])
        for tax in self:
            if tax.l10n_vn_einvoice_rate in ('KCT', 'KKKNT'):
                continue
            if tax.tax_group_id.id in exemption_groups:
                tax.l10n_vn_einvoice_rate = 'KCT'
            elif tax.amount_type == 'percent' and tax.amount in (0, 5, 8, 10):
                tax.l10n_vn_einvoice_rate = f'{tax.amount:g}%'
            elif tax.amount_type == 'percent':
                tax.l10n_vn_einvoice_rate = 'KHAC'
            else:
                tax.l10n_vn_einvoice_rate = False

    def _l10n_vn_einvoice_tax_rate(self):
        """The library's TaxRate of this tax (``KHAC:x%`` with the tax's own percentage)."""
        self.ensure_one()
        code = self.l10n_vn_einvoice_rate
        if code == 'KHAC':
            return TaxRate.parse(f'KHAC:{self.amount:g}%')
        return TaxRate(code) if code else None
