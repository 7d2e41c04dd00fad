import base64
from datetime import date, timedelta

from cryptography import x509
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import format_date, html_escape

from vn_einvoice.sandbox import testca

from .einvoice_move_sending import DEFAULT_SMS_TEMPLATE

ALERT_DAYS = 30  # certificates expiring within this many days are announced


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

    l10n_vn_einvoice_sms_template = fields.Text(
        string='E-invoice SMS text', default=DEFAULT_SMS_TEMPLATE,
        help='Text of the SMS that tells the buyer an e-invoice was issued (without accents it fits one SMS). '
             'Placeholders: {company}, {buyer}, {number}, {date}, {amount}, {url}, {code}.')

    l10n_vn_einvoice_tax_office_code = fields.Char(
        string='Tax office code', size=5,
        help='MCQT: code of the tax office managing the company (5 characters), written on 04/SS notices.')
    l10n_vn_einvoice_tax_office_name = fields.Char(string='Tax office', help='TCQT: name of that tax office.')

    l10n_vn_einvoice_trusted_ca_ids = fields.Many2many(
        'certificate.certificate', 'l10n_vn_einvoice_company_trusted_ca_rel', 'company_id', 'certificate_id',
        string='Trusted certification authorities', groups='base.group_system',
        help='Certificates of the certification authorities (CA) trusted to vouch for signers when e-invoices are '
             'verified: the signature box of the PDF and the public verification page. A signer is verified only '
             'when its certificate was issued by one of them. Without any, signatures are checked as intact but '
             'who signed is not verified, and the PDF and the page say so.')

    l10n_vn_einvoice_log_text_days = fields.Integer(
        string='Keep exchange texts (days)', default=365, groups='base.group_system',
        help='The user log keeps the masked request and response of every exchange with an e-invoice provider or '
             'the tax authority. After this many days a daily scheduled action removes these texts and notes when '
             '(0: kept forever). The log rows themselves (who, when, which invoice, what, outcome) are never '
             'removed: they are the audit trail. The signed e-invoices and the tax-authority messages stay in '
             'full on the invoices and in the message log.')

    l10n_vn_einvoice_provider_ids = fields.One2many('l10n_vn_einvoice.provider', 'company_id',
                                                    string='E-invoice provider accounts')
    # the active connection is read through it, once for all the invoices of a batch (ORM cache, not a search each)
    l10n_vn_einvoice_tax_connection_ids = fields.One2many('l10n_vn_einvoice.tax.connection', 'company_id',
                                                          string='Tax authority connections', groups='base.group_system')
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

    @api.constrains('l10n_vn_einvoice_log_text_days')
    def _check_l10n_vn_einvoice_log_text_days(self):
        for company in self.sudo():
            if company.l10n_vn_einvoice_log_text_days < 0:
                raise ValidationError(_(
                    'The number of days the exchange texts are kept cannot be negative (0 keeps them forever).'))

    @api.constrains('l10n_vn_einvoice_trusted_ca_ids')
    def _check_l10n_vn_einvoice_trusted_ca_ids(self):
        for company in self.sudo():
            for certificate in company.l10n_vn_einvoice_trusted_ca_ids:
                cert = _x509(certificate)
                if cert is None:
                    raise ValidationError(_('The trusted certificate "%s" cannot be read.', certificate.display_name))
                try:
                    is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
                except x509.ExtensionNotFound:
                    is_ca = False
                if not is_ca:
                    raise ValidationError(_(
                        'The certificate "%s" is not a certification authority (CA) certificate: only the '
                        'certificates of certification authorities can be trusted for e-invoice verification.',
                        certificate.display_name))

    def _l10n_vn_einvoice_trust_anchors(self):
        """The company's trust store as ``cryptography`` certificates, or None when it is empty (then
        ``verify_invoice`` reports trust as not checked)."""
        self.ensure_one()
        anchors = [cert for cert in map(_x509, self.sudo().l10n_vn_einvoice_trusted_ca_ids) if cert is not None]
        return anchors or None

    # ------------------------------------------------------------------
    # Alerts (daily scheduled action)
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_alerts(self, today, check_providers=True):
        """``[(record, title, message)]``: what needs an administrator of this company on ``today``: certificates
        (PKCS#12 or token) expiring within ``ALERT_DAYS`` days, series running out of their registered range or
        missing for the (new) year, provider accounts failing their connection test (run now)."""
        self.ensure_one()
        alerts = []
        soon = today + timedelta(days=ALERT_DAYS)
        for signer in self.env['l10n_vn_einvoice.signer'].sudo().search([('company_id', '=', self.id)]):
            end = signer.date_end or signer.certificate_id.date_end
            if not end:
                continue
            end = end.date()
            if end < today:
                alerts.append((signer, _('Certificate expired'), _('The certificate of signer %(signer)s expired on %(date)s: e-invoices '
                                         'cannot be signed with it.', signer=signer.name,
                                         date=format_date(self.env, end))))
            elif end <= soon:
                alerts.append((signer, _('Certificate expiring'), _('The certificate of signer %(signer)s expires on %(date)s (in %(days)s '
                                         'days): renew it and load the new one.', signer=signer.name,
                                         date=format_date(self.env, end), days=(end - today).days)))
        Series = self.env['l10n_vn_einvoice.series'].sudo()
        series_all = Series.search([('company_id', '=', self.id)])
        for series in series_all.filtered(lambda s: s.range_to and s.year in (0, today.year)):
            remaining = series.range_to - (series.next_number - 1)
            if remaining <= max(series.range_to // 10, 1):
                alerts.append((series, _('Series running out'), _('Series %(series)s has %(remaining)s numbers left of its registered '
                                         'range (up to %(to)s).', series=series.name, remaining=max(remaining, 0),
                                         to=series.range_to)))
        years = {s.year for s in series_all if s.year}
        if years:
            latest = series_all.filtered(lambda s: s.year == max(years))[:1]
            for year in (today.year, today.year + 1):
                if year in years or (year == today.year + 1 and today.month != 12) or year - 1 not in years:
                    continue
                alerts.append((latest, _('No series for the year'), _('There is no e-invoice series for %(year)s yet: create it (and register '
                                         'it with the tax authority) before invoicing in %(year)s.', year=year)))
        for account in self.env['l10n_vn_einvoice.provider'].sudo().search([('company_id', '=', self.id)]):
            if check_providers:
                account.action_test_connection()
            if account.last_check and not account.last_check_ok:
                alerts.append((account, _('Provider unreachable'), _('Provider account %(account)s fails its connection test: %(why)s',
                                          account=account.name, why=account.last_check_message or '')))
        return alerts

    def _l10n_vn_einvoice_administrators(self):
        self.ensure_one()
        return self.env.ref('l10n_vn_einvoice.group_l10n_vn_einvoice_manager').sudo().users.filtered(
            lambda u: u.active and not u.share and self in u.company_ids and not u._is_superuser())

    def _l10n_vn_einvoice_notify_alerts(self, alerts):
        """An activity per alert and administrator (not twice while one is open), and one mail listing
        the new alerts to the administrators. Returns the new alerts."""
        self.ensure_one()
        activity_type = self.env.ref('l10n_vn_einvoice.mail_activity_type_einvoice_alert')
        admins = self._l10n_vn_einvoice_administrators()
        Activity = self.env['mail.activity'].sudo()
        new = []
        for record, title, message in alerts:
            # one open activity per record and kind of alert: not a new one every day while it is open
            open_ = Activity.search([('res_model', '=', record._name), ('res_id', '=', record.id),
                                     ('activity_type_id', '=', activity_type.id), ('summary', '=', title)])
            users = admins - open_.user_id
            if not users:
                continue
            model = self.env['ir.model']._get_id(record._name)
            Activity.create([{
                'res_model_id': model, 'res_id': record.id, 'activity_type_id': activity_type.id,
                'user_id': user.id, 'summary': title, 'note': message,
                'date_deadline': fields.Date.context_today(self),
            } for user in users])
            self.env['l10n_vn_einvoice.event'].with_company(self)._log('alert', message=message)
            new.append(message)
        emails = [u.email_formatted for u in admins if u.email]
        if new and emails:
            self.env['mail.mail'].sudo().create({
                'subject': _('E-invoicing of %s needs attention', self.name),
                'email_from': self.email_formatted or self.env.user.email_formatted,
                'email_to': ', '.join(emails),
                'body_html': Markup('<p>%s</p><ul>%s</ul>') % (
                    _('Vietnam e-invoices:'), Markup('').join(Markup('<li>%s</li>') % html_escape(m) for m in new)),
                'auto_delete': False,
            })
        return new

    @api.model
    def _cron_l10n_vn_einvoice_alerts(self, today=None):
        today = today or fields.Date.context_today(self)
        for company in self.search([('l10n_vn_einvoice_mode', '!=', 'none')]):
            company._l10n_vn_einvoice_notify_alerts(company._l10n_vn_einvoice_alerts(today))

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
        test_ca = self.env['certificate.certificate'].sudo().create({
            'name': f'{ca.certificate.subject.rfc4514_string()} - TEST CA, never trust it for real invoices',
            'content': base64.b64encode(ca.pem),
            'company_id': self.id,
        })
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
        self.sudo().l10n_vn_einvoice_trusted_ca_ids = [fields.Command.link(test_ca.id)]
        return signer, series


def _x509(certificate):
    """The ``cryptography`` certificate of a ``certificate.certificate`` record (None if unreadable)."""
    pem = certificate.with_context(bin_size=False).pem_certificate
    if not pem or certificate.loading_error:
        return None
    return x509.load_pem_x509_certificate(base64.b64decode(pem))
