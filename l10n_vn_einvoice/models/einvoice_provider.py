"""E-invoice provider accounts (Viettel SInvoice, …) and the issuing mode "through a provider".

An account has the shape of seed 004's provider link: provider, service URL, admin account and its
password, API user and its password, active, default. The provider list comes from
``vn_einvoice.providers.PROVIDERS``: adding a provider there adds a choice here and nothing else.
Passwords and the session token are readable by administrators only and never written to a log line,
a message or an error (the library redacts them from everything it raises).
"""

import inspect
import logging
from datetime import date, timedelta
from decimal import Decimal


from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from vn_einvoice import codes
from vn_einvoice.errors import ValidationError as LibValidationError
from vn_einvoice.reconcile import LocalInvoice, reconcile
from vn_einvoice.providers import (PROVIDERS, ProviderAuthError, ProviderError, ProviderNotSupported,
                                   ProviderRefused, ProviderUnavailable, ProviderUnknownOutcome, RetryPolicy,
                                   Timeouts)

from ..tools.provider_exchange_log import ExchangeLog
from ..tools.provider_token_cache import TokenCache

_logger = logging.getLogger(__name__)

# Names shown for the providers the library knows (the library's own name is used otherwise).
PROVIDER_LABELS = {'viettel': 'Viettel SInvoice'}
AUTH_STYLES = [('token', 'Token login (current API)'), ('basic', 'HTTP Basic (integration document)')]


def _provider_classes():
    return PROVIDERS


def _accepts(cls, name):
    """True when the provider class' constructor takes keyword ``name``."""
    params = inspect.signature(cls.__init__).parameters
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class L10nVnEinvoiceProvider(models.Model):
    _name = 'l10n_vn_einvoice.provider'
    _inherit = ['mail.thread', 'mail.activity.mixin']  # alerts are activities on it
    _description = 'E-invoice provider account'
    _order = 'company_id, is_default desc, sequence, id'
    _check_company_auto = True

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    provider = fields.Selection(selection='_selection_provider', required=True,
                                default=lambda self: next(iter(_provider_classes()), False))
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    is_default = fields.Boolean(string='Default', help='The account used by series that name none.')
    service_url = fields.Char(string='Service URL', required=True,
                              help='Address of the provider\'s API (link_service), e.g. '
                                   'https://api-vinvoice.viettel.vn/services/einvoiceapplication/api/')
    auth_style = fields.Selection(AUTH_STYLES, string='Authentication', required=True, default='token',
                                  help='Viettel: "Token login" for the current API (api-vinvoice), '
                                       '"HTTP Basic" for the integration document\'s API (api-sinvoice).')
    account = fields.Char(string='Admin account', help='The provider\'s administrator account (tài khoản quản trị).')
    acpassword = fields.Char(string='Admin password', groups='base.group_system', copy=False)
    username = fields.Char(string='API user', help='User of the web service. Empty: the admin account.')
    password = fields.Char(string='API password', groups='base.group_system', copy=False)
    supplier_tax_code = fields.Char(string='Supplier tax code',
                                    help='Tax code the invoices are issued under. Empty: the company\'s.')
    connect_timeout = fields.Float(string='Connect timeout (s)', default=10.0)
    read_timeout = fields.Float(string='Read timeout (s)', default=60.0,
                                help='Viettel recommends 60 to 90 seconds.')
    retry_attempts = fields.Integer(string='Attempts', default=5,
                                    help='Attempts per request on timeouts, 429 and 5xx answers (with back-off).')
    retry_backoff = fields.Float(string='Back-off (s)', default=0.5)
    batch_size = fields.Integer(string='Invoices per batch request', default=50)
    download_files = fields.Boolean(string='Fetch PDF and XML after issue', default=True,
                                    help='Attach the provider\'s PDF, its ZIP and the signed XML to issued invoices.')
    last_check = fields.Datetime(string='Last connection test', readonly=True, copy=False)
    last_check_ok = fields.Boolean(readonly=True, copy=False)
    last_check_message = fields.Char(string='Result', readonly=True, copy=False)
    series_ids = fields.One2many('l10n_vn_einvoice.series', 'provider_id')
    field_ids = fields.One2many('l10n_vn_einvoice.provider.field', 'provider_id', string='Custom fields')
    series_count = fields.Integer(compute='_compute_counts')
    field_count = fields.Integer(compute='_compute_counts')
    difference_ids = fields.One2many('l10n_vn_einvoice.provider.difference', 'provider_id')
    difference_count = fields.Integer(compute='_compute_counts')

    @api.model
    def _selection_provider(self):
        return [(name, getattr(cls, 'label', None) or PROVIDER_LABELS.get(name) or name.title())
                for name, cls in _provider_classes().items()]

    @api.depends('series_ids', 'field_ids')
    def _compute_counts(self):
        for account in self:
            account.series_count = len(account.series_ids)
            account.field_count = len(account.field_ids)
            account.difference_count = len(account.difference_ids)

    @api.onchange('provider')
    def _onchange_provider(self):
        if self.provider and not self.service_url:
            cls = _provider_classes().get(self.provider)
            default = inspect.signature(cls.__init__).parameters.get('base_url') if cls else None
            if default is not None and isinstance(default.default, str):
                self.service_url = default.default

    @api.constrains('is_default', 'active', 'company_id')
    def _check_default(self):
        for account in self.filtered('is_default'):
            if not account.active:
                raise ValidationError(_('The default provider account must be active.'))
            if self.search_count([('company_id', '=', account.company_id.id), ('is_default', '=', True),
                                  ('id', '!=', account.id)]):
                raise ValidationError(_('Only one provider account can be the default of a company.'))

    @api.constrains('connect_timeout', 'read_timeout', 'retry_attempts', 'batch_size')
    def _check_numbers(self):
        for account in self:
            if account.connect_timeout <= 0 or account.read_timeout <= 0:
                raise ValidationError(_('Timeouts must be positive.'))
            if account.retry_attempts < 1 or account.batch_size < 1:
                raise ValidationError(_('Attempts and batch size must be at least 1.'))

    # ------------------------------------------------------------------
    # The library client
    # ------------------------------------------------------------------

    def _supplier_tax_code(self):
        self.ensure_one()
        return codes.tax_code_compact(self.supplier_tax_code or self.company_id.vat or '')

    def _client(self, exchange_log=None, **overrides):
        """A client of the provider's API for this account (a context manager; close it after use). Every
        request it sends and its answer go, masked, to the user log (``exchange_log``: that of a run)."""
        self.ensure_one()

        cls = _provider_classes().get(self.provider)
        if cls is None:
            raise UserError(_('Provider %s is not known to this installation.', self.provider))
        account = self.sudo()
        username = account.username or account.account or ''
        password = (account.password if account.username else account.acpassword) or ''
        if not username or not password:
            raise UserError(_('Provider account %s has no user name or password.', self.name))
        settings = {
            'base_url': self.service_url.strip(), 'username': username, 'password': password,
            'account': account.account or '', 'acpassword': account.acpassword or '',
            'supplier_tax_code': self._supplier_tax_code(),
            'timeouts': Timeouts(connect=self.connect_timeout, read=self.read_timeout),
            'retry': RetryPolicy(attempts=self.retry_attempts, backoff=self.retry_backoff,
                                 max_backoff=max(self.retry_backoff * 16, self.retry_backoff),
                                 max_retry_after=max(self.read_timeout, 1.0)),
            'auth': self.auth_style, 'batch_size': self.batch_size, 'token_cache': TokenCache(self),
            # providers that cannot list their templates (VNPT) are asked for the series of these
            'patterns': tuple(sorted({code for code in self.series_ids.mapped('provider_template_code') if code})),
        }
        settings.update(overrides)
        client = cls(**{k: v for k, v in settings.items() if _accepts(cls, k)})
        client.observe((exchange_log or ExchangeLog()).observer(self))
        return client

    @api.model
    def _error_text(self, error):
        """Plain words for a provider error, in the user's language when the provider gave them."""
        vietnamese = (self.env.lang or '').startswith('vi')
        explanation = (error.explanation_vi if vietnamese and error.explanation_vi else error.explanation) or ''
        name = PROVIDER_LABELS.get(error.provider) or error.provider or _('The provider')
        if isinstance(error, ProviderUnknownOutcome):
            return _('It is unknown whether the invoice reached %(provider)s (no answer in time). It will be looked '
                     'up by its transaction key before any new attempt, so it cannot be issued twice. Try again in a '
                     'moment.', provider=name)
        if isinstance(error, ProviderAuthError):
            return _('%(provider)s refused the account: %(why)s', provider=name,
                     why=explanation or str(error))
        if isinstance(error, ProviderUnavailable):
            return _('%(provider)s could not be reached; nothing was sent. Try again later. (%(detail)s)',
                     provider=name, detail=str(error))
        if isinstance(error, ProviderRefused):
            return _('%(provider)s refused it (%(code)s): %(why)s', provider=name, code=error.code,
                     why=explanation or str(error))
        return str(error)

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def _notify(self, kind, title, message):
        return {'type': 'ir.actions.client', 'tag': 'display_notification',
                'params': {'type': kind, 'title': title, 'message': message, 'sticky': kind != 'success',
                           'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}}}

    def action_test_connection(self):
        """Log in and read the templates registered at the provider."""
        self.ensure_one()

        try:
            with self._client() as client:
                templates = client.check_connection()
        except ProviderError as e:
            message = self._error_text(e)
            self.write({'last_check': fields.Datetime.now(), 'last_check_ok': False, 'last_check_message': message})
            return self._notify('danger', _('Connection failed'), message)
        message = _('Connected: %s series registered at the provider.', len(templates))
        self.write({'last_check': fields.Datetime.now(), 'last_check_ok': True, 'last_check_message': message})
        return self._notify('success', _('Connection works'), message)

    def action_import(self):
        """Create the templates, series (issuing through this account) and custom fields the provider has."""
        self.ensure_one()

        try:
            with self._client() as client:
                infos = client.templates()
                custom = {}
                for code in sorted({i.template for i in infos if i.template}):
                    try:
                        custom[code] = client.custom_fields(code)
                    except ProviderNotSupported:
                        custom[code] = []
        except ProviderError as e:
            raise UserError(self._error_text(e)) from None
        created_templates, created_series, linked, fields_count = self._import_setup(infos, custom)
        return self._notify('success', _('Imported from the provider'), _(
            '%(templates)s templates and %(series)s series created, %(linked)s series linked, %(fields)s custom '
            'fields.', templates=created_templates, series=created_series, linked=linked, fields=fields_count))

    def _import_setup(self, infos, custom):
        Template = self.env['l10n_vn_einvoice.template'].with_context(active_test=False)
        Series = self.env['l10n_vn_einvoice.series'].with_context(active_test=False)
        company = self.company_id
        created_templates = created_series = linked = 0
        for info in infos:
            if not info.template or not info.symbol:
                continue
            try:
                legacy = codes.template_regime(info.template) is codes.Regime.LEGACY
            except LibValidationError:
                legacy = False
            odoo_code = info.template if legacy else info.template.split('/')[0]
            template = Template.search([('company_id', '=', company.id), ('code', '=', odoo_code)], limit=1)
            if not template:
                try:
                    template = Template.create({'code': odoo_code, 'company_id': company.id})
                except ValidationError as e:
                    _logger.info('Provider template %s not imported: %s', info.template, e)
                    continue
                created_templates += 1
            series = Series.search([('company_id', '=', company.id), ('template_id', '=', template.id),
                                    ('symbol', '=', info.symbol)], limit=1)
            vals = {'issuing_mode': 'provider', 'provider_id': self.id, 'provider_template_code': info.template}
            if series:
                if series.issuing_mode == 'provider' and series.provider_id == self \
                        and series.provider_template_code == info.template:
                    continue
                if series.is_used and series.issuing_mode != 'provider':
                    continue  # it numbered e-invoices in another mode: left as it is
                series.write(vals)
                linked += 1
                continue
            try:
                year = codes.symbol_year(info.symbol)
            except LibValidationError:
                continue
            Series.create({**vals, 'company_id': company.id, 'template_id': template.id, 'symbol': info.symbol,
                           'date_start': date(year, 1, 1), 'active': legacy or year >= date.today().year})
            created_series += 1
        Field = self.env['l10n_vn_einvoice.provider.field']
        count = 0
        for template_code, rows in custom.items():
            existing = {f.field_id: f for f in self.field_ids.filtered(lambda f: f.template_code == template_code)}
            for row in rows:
                vals = {'provider_id': self.id, 'template_code': template_code, 'field_id': row.id, 'key': row.key,
                        'label': row.label, 'value_type': row.value_type, 'required': row.required,
                        'seller_side': row.seller_side}
                if row.id in existing:
                    existing.pop(row.id).write(vals)
                else:
                    Field.create(vals)
                count += 1
            for gone in existing.values():
                gone.unlink()
        return created_templates, created_series, linked, count

    # ------------------------------------------------------------------
    # Import back: the provider's invoices of a period compared with Odoo's
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_reconcile(self, start, end):
        """List the provider's invoices of ``start``..``end``, match them to the invoices Odoo issued through
        this account (transaction key or fkey, series and number, provider number), attach the provider's files
        the matched ones lack and keep the differences of the period for the accountant. Returns the
        differences. Raises ProviderError."""
        self.ensure_one()
        moves = self.env['account.move'].search([
            ('l10n_vn_einvoice_provider_id', '=', self.id), ('l10n_vn_einvoice_provider_invoice_no', '!=', False),
            ('invoice_date', '>=', start), ('invoice_date', '<=', end)])
        local = [LocalInvoice(move.id, move.l10n_vn_einvoice_provider_invoice_no,
                              move.l10n_vn_einvoice_series_id.symbol, move.l10n_vn_einvoice_number,
                              move.l10n_vn_einvoice_transaction_uuid or '', Decimal(str(move.amount_total)),
                              move.name) for move in moves]
        with self._client() as client:
            result = reconcile(client.invoices_between(start, end), local)
            matched = self.env['account.move'].browse([loc.id for loc, _listed in result.matched])
            self._l10n_vn_einvoice_attach_missing(client, matched.filtered(
                lambda m: not m.l10n_vn_einvoice_provider_pdf_id))
        vietnamese = (self.env.lang or '').startswith('vi')
        self.difference_ids.unlink()
        return self.env['l10n_vn_einvoice.provider.difference'].create([{
            'provider_id': self.id, 'kind': diff.kind.value,
            'provider_invoice_no': (diff.listed.invoice_no if diff.listed else diff.local.invoice_no) or False,
            'move_id': diff.local.id if diff.local else False,
            'provider_total': float(diff.listed.total) if diff.listed and diff.listed.total is not None else 0.0,
            'odoo_total': float(diff.local.total) if diff.local and diff.local.total is not None else 0.0,
            'message': diff.message_vi if vietnamese else diff.message,
        } for diff in result.differences])

    def _l10n_vn_einvoice_attach_missing(self, client, moves):
        """Attach the provider's PDF and archive (with the XML) to ``moves``, which lack them. Returns those
        done; a provider without downloads or a file it cannot give yet leaves them as they are."""
        done = moves.browse()
        for move in moves:
            ref = move._l10n_vn_einvoice_provider_ref()
            try:
                pdf, archive = client.download(ref, 'pdf'), client.download(ref, 'zip')
            except ProviderNotSupported:
                break
            except ProviderError as e:
                _logger.info('Provider files of invoice %s not fetched: %s', move.id, type(e).__name__)
                continue
            move._l10n_vn_einvoice_provider_attach(pdf, archive)
            move.message_post(body=_('The provider\'s PDF and XML were missing here: attached when compared with '
                                     'the provider.'))
            done |= move
        return done

    def action_reconcile(self):
        """Compare the last 31 days at the provider with Odoo."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        try:
            differences = self._l10n_vn_einvoice_reconcile(today - timedelta(days=31), today)
        except ProviderNotSupported:
            raise UserError(_('This provider offers no list of its invoices by period.')) from None
        except ProviderError as e:
            raise UserError(self._error_text(e)) from None
        if differences:
            return self.action_view_differences()
        return self._notify('success', _('Compared with the provider'),
                            _('The provider\'s invoices of the last 31 days are those Odoo issued.'))

    def action_view_differences(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': 'l10n_vn_einvoice.provider.difference',
                'name': _('Differences with the provider'), 'view_mode': 'list', 'domain': [('provider_id', '=', self.id)]}

    @api.model
    def _cron_l10n_vn_einvoice_reconcile(self, days=7):
        """Compare the last ``days`` days of every active account whose provider lists invoices by period."""
        today = fields.Date.context_today(self)
        for account in self.search([]):
            try:
                account._l10n_vn_einvoice_reconcile(today - timedelta(days=days), today)
            except ProviderNotSupported:
                continue
            except (ProviderError, UserError) as e:
                _logger.info('Provider account %s: not compared (%s)', account.id, type(e).__name__)

    def action_view_series(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': 'l10n_vn_einvoice.series', 'name': _('Series'),
                'view_mode': 'list,form', 'domain': [('provider_id', '=', self.id)],
                'context': {'default_provider_id': self.id, 'default_issuing_mode': 'provider',
                            'default_company_id': self.company_id.id}}

    @api.model
    def _l10n_vn_einvoice_demo_series(self, accounts):
        """Demo: a K series of this year issuing through each account (template 1/001 of the sandbox)."""
        for account in self.browse(accounts):
            company = account.company_id
            template = self.env['l10n_vn_einvoice.template'].search(
                [('company_id', '=', company.id), ('code', '=', '1')], limit=1) or \
                self.env['l10n_vn_einvoice.template'].create({'code': '1', 'company_id': company.id})
            year = date.today().year
            symbol = f'K{year % 100:02d}TAA'
            if not self.env['l10n_vn_einvoice.series'].search_count(
                    [('company_id', '=', company.id), ('template_id', '=', template.id), ('symbol', '=', symbol)]):
                self.env['l10n_vn_einvoice.series'].create({
                    'company_id': company.id, 'template_id': template.id, 'symbol': symbol,
                    'date_start': date(year, 1, 1), 'issuing_mode': 'provider', 'provider_id': account.id,
                    'provider_template_code': '1/001', 'sequence': 20,
                })
