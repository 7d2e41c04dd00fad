import base64
from datetime import date

from odoo import api, fields, models

from vn_einvoice.sandbox import testca


class ResCompany(models.Model):
    _inherit = 'res.company'

    l10n_vn_einvoice_mode = fields.Selection(
        selection=[('none', 'No e-invoices'), ('local', 'Sign locally'), ('provider', 'Through a provider')],
        string='E-invoices', default='none', required=True,
        help='Sign locally: Odoo builds the legal XML, signs it with the company\'s certificate or token and '
             'numbers the invoice.')
    l10n_vn_einvoice_signer_id = fields.Many2one(
        'l10n_vn_einvoice.signer', string='Default signer', check_company=True,
        domain="[('company_id', '=', id)]")
    l10n_vn_einvoice_version = fields.Selection(
        selection=[('2.1.0', '2.1.0 (Decision 1271/QĐ-CT, 2025)'), ('2.0.1', '2.0.1 (Decision 1510/QĐ-TCT)')],
        string='XML version', default='2.1.0', required=True)
    l10n_vn_einvoice_provider_vat = fields.Char(
        string='Solution provider tax code',
        help='MSTTCGP: tax code of the e-invoice solution provider. Empty: the company\'s own tax code '
             '(the company runs its own solution).')
    l10n_vn_einvoice_lookup_url = fields.Char(
        string='Lookup address', help='Web address printed on invoices where buyers look them up with the secret code.')
    l10n_vn_einvoice_payment_method = fields.Char(
        string='Default payment method', default='TM/CK',
        help='HTTToan written on invoices when the invoice does not say otherwise, e.g. TM/CK, Chuyển khoản.')
    l10n_vn_einvoice_auto_issue = fields.Boolean(
        string='Issue posted invoices automatically',
        help='The scheduled action "Issue e-invoices" issues the prepared e-invoices of this company.')

    l10n_vn_einvoice_approval = fields.Boolean(
        string='Approve e-invoices before issue',
        help='A user with the "Approve e-invoices" right approves each prepared e-invoice before it can be issued '
             '(series may ask for approval, or waive it, whatever the company says).')
    l10n_vn_einvoice_four_eyes = fields.Boolean(
        string='Four eyes', help='The user who prepared an e-invoice cannot approve it.')

    l10n_vn_einvoice_tax_office_code = fields.Char(
        string='Tax office code', size=5,
        help='MCQT: code of the tax office managing the company (5 characters), written on 04/SS notices.')
    l10n_vn_einvoice_tax_office_name = fields.Char(string='Tax office', help='TCQT: name of that tax office.')

    l10n_vn_einvoice_provider_ids = fields.One2many('l10n_vn_einvoice.provider', 'company_id',
                                                    string='E-invoice provider accounts')
    l10n_vn_einvoice_provider_id = fields.Many2one(
        'l10n_vn_einvoice.provider', string='Default provider account', compute='_compute_l10n_vn_einvoice_provider_id',
        inverse='_inverse_l10n_vn_einvoice_provider_id', domain="[('company_id', '=', id)]")

    @api.depends('l10n_vn_einvoice_provider_ids.is_default', 'l10n_vn_einvoice_provider_ids.active')
    def _compute_l10n_vn_einvoice_provider_id(self):
        for company in self:
            accounts = company.sudo().l10n_vn_einvoice_provider_ids.filtered('active')
            company.l10n_vn_einvoice_provider_id = (accounts.filtered('is_default') or accounts)[:1].with_env(self.env)

    def _inverse_l10n_vn_einvoice_provider_id(self):
        for company in self:
            chosen = company.l10n_vn_einvoice_provider_id
            (company.l10n_vn_einvoice_provider_ids - chosen).filtered('is_default').write({'is_default': False})
            if chosen and not chosen.is_default:
                chosen.is_default = True

    def _l10n_vn_einvoice_setup_test_signer(self, tax_code=None, password='demo'):
        """Configure this company end to end with a THROW-AWAY test certificate (demo and tests only).

        Creates a test CA and a seller certificate for the company's tax code, the signer, template 1
        and this year's series ``C<yy>TAA``. Never use such a certificate for real invoices.
        """
        self.ensure_one()


        if tax_code:
            self.vat = tax_code
        ca = testca.make_test_ca()
        key, cert = testca.make_seller_certificate(ca, self.vat, self.name)
        certificate = self.env['certificate.certificate'].sudo().create({
            'name': f'{self.name} - TEST certificate',
            'content': base64.b64encode(testca.p12_bytes(key, cert, [ca.certificate], password)),
            'pkcs12_password': password,
            'scope': 'l10n_vn_einvoice',
            'company_id': self.id,
        })
        signer = self.env['l10n_vn_einvoice.signer'].sudo().create({
            'name': f'{self.name} - TEST signer', 'company_id': self.id, 'kind': 'pkcs12',
            'certificate_id': certificate.id,
        })
        template = self.env['l10n_vn_einvoice.template'].sudo().search(
            [('company_id', '=', self.id), ('code', '=', '1')], limit=1) or \
            self.env['l10n_vn_einvoice.template'].sudo().create({'code': '1', 'company_id': self.id})
        year = date.today().year
        series = self.env['l10n_vn_einvoice.series'].sudo().create({
            'template_id': template.id, 'symbol': f'C{year % 100:02d}TAA', 'company_id': self.id,
            'date_start': date(year, 1, 1), 'is_default': True, 'signer_id': signer.id,
        })
        self.write({'l10n_vn_einvoice_mode': 'local', 'l10n_vn_einvoice_signer_id': signer.id})
        return signer, series
