import logging

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.http import request
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from vn_einvoice import codes
from vn_einvoice.errors import ValidationError as LibValidationError

_logger = logging.getLogger(__name__)

LOCKED_WHEN_USED = {'template_id', 'symbol', 'company_id', 'date_start', 'issuing_mode'}
MAX_NUMBER = 99_999_999  # SHDon has at most 8 digits
# conflicts on a series counter in one request (Odoo runs the request again after each) before the Issue button
# hands its invoices to the scheduled action instead
HANDOFF_AFTER = 3


def run_request_again():
    """After a conflict on a series counter: whether Odoo should run the current request again (the conflicts
    are counted on the request, which Odoo keeps across its runs). False outside a request."""
    if not request:
        return False
    request.l10n_vn_einvoice_conflicts = getattr(request, 'l10n_vn_einvoice_conflicts', 0) + 1
    return request.l10n_vn_einvoice_conflicts < HANDOFF_AFTER


class L10nVnEinvoiceSeries(models.Model):
    _name = 'l10n_vn_einvoice.series'
    _inherit = ['mail.thread', 'mail.activity.mixin']  # alerts are activities on it
    _description = 'E-invoice series (ký hiệu)'
    _order = 'company_id, sequence, symbol desc'
    _check_company_auto = True

    sequence = fields.Integer(default=10)
    template_id = fields.Many2one('l10n_vn_einvoice.template', required=True,
                                  check_company=True, ondelete='restrict')
    symbol = fields.Char(required=True,
                         help='KHHDon, e.g. C26TAA: C (coded by the tax authority) or K, two digits of the '
                              'year, the kind letter (T, D, L, M, N, B, G, H, X) and two letters. '
                              'Legacy series such as AA/17E are accepted.')
    name = fields.Char(compute='_compute_name', store=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    is_default = fields.Boolean(string='Default for the company')
    date_start = fields.Date(string='First use', required=True, default=fields.Date.context_today,
                             help='Invoices of this series cannot be dated before this day.')
    year = fields.Integer(compute='_compute_name', store=True)
    journal_ids = fields.Many2many('account.journal', string='Default for journals', check_company=True,
                                   domain="[('type', '=', 'sale')]")
    partner_ids = fields.Many2many('res.partner', string='Default for customers')
    issuing_mode = fields.Selection(selection=[('local', 'Sign locally'), ('provider', 'Through a provider')], string='Issuing mode',
                                    required=True, default='local')
    provider_id = fields.Many2one('l10n_vn_einvoice.provider', string='Provider account', check_company=True,
                                  help='Empty: the company\'s default provider account.')
    provider_template_code = fields.Char(
        string='Provider template code',
        help='The provider\'s code of the template, e.g. 1/001 at Viettel (legacy templates: as they are).')
    signer_id = fields.Many2one('l10n_vn_einvoice.signer', check_company=True,
                                help='Certificate or token that signs the invoices of this series. '
                                     'Empty: the company default signer.')
    approval = fields.Selection(
        [('company', 'As the company says'), ('required', 'Always approve before issue'), ('none', 'No approval')],
        required=True, default='company',
        help='Whether the prepared e-invoices of this series wait for an approver before they are issued.')
    range_to = fields.Integer(
        string='Registered up to',
        help='The last number of the range registered for this series, if any: the usage report shows how many '
             'are left and an alert warns when few remain. Empty: no registered range.')
    next_number = fields.Integer(string='Next number', default=1, readonly=True, copy=False)
    last_issue_date = fields.Date(string='Last issue date', readonly=True, copy=False)
    is_coded = fields.Boolean(string='Coded by the tax authority', compute='_compute_name', store=True)
    is_used = fields.Boolean(compute='_compute_is_used')
    issued_count = fields.Integer(string='Issued', compute='_compute_is_used')

    _sql_constraints = [
        ('symbol_template_company_uniq', 'unique(company_id, template_id, symbol)',
         'This template and symbol already exist in this company.'),
        ('next_number_positive', 'CHECK(next_number >= 1)', 'The next number must be at least 1.'),
    ]

    @api.depends('template_id.code', 'symbol')
    def _compute_name(self):
        for series in self:
            template = series.template_id.code or ''
            symbol = series.symbol or ''
            try:
                series.year = codes.symbol_year(symbol)
                series.is_coded = codes.symbol_is_coded(symbol)
                legacy = codes.symbol_regime(symbol) is codes.Regime.LEGACY
            except (LibValidationError, AttributeError):
                series.year, series.is_coded, legacy = 0, False, False
            series.name = f'{template} - {symbol}' if legacy else f'{template}{symbol}'

    def _compute_is_used(self):
        counts = dict(self.env['account.move']._read_group(
            [('l10n_vn_einvoice_series_id', 'in', self.ids), ('l10n_vn_einvoice_number', '!=', 0)],
            ['l10n_vn_einvoice_series_id'], ['__count'],
        ))
        for series in self:
            series.issued_count = counts.get(series, 0)
            series.is_used = series.next_number > 1 or bool(series.issued_count)

    @api.constrains('symbol', 'template_id', 'date_start')
    def _check_symbol(self):
        for series in self:
            problems = codes.check_template_symbol(series.template_id.code or '', series.symbol or '')
            if problems:
                raise ValidationError(_('Series %(symbol)s: %(problems)s', symbol=series.symbol,
                                        problems='; '.join(p.message for p in problems)))
            if codes.symbol_regime(series.symbol) is codes.Regime.CURRENT and series.date_start \
                    and series.date_start.year != codes.symbol_year(series.symbol):
                raise ValidationError(_('Series %(symbol)s is for the year %(year)s; its first-use date must be '
                                        'in that year.', symbol=series.symbol, year=codes.symbol_year(series.symbol)))

    @api.constrains('is_default', 'company_id', 'active')
    def _check_one_default(self):
        for series in self.filtered(lambda s: s.is_default and s.active):
            others = self.search_count([('company_id', '=', series.company_id.id), ('is_default', '=', True),
                                        ('year', '=', series.year), ('id', '!=', series.id)])
            if others:
                raise ValidationError(_('Only one series can be the default of a company for a year.'))

    def write(self, vals):
        if 'next_number' in vals or 'last_issue_date' in vals:
            if not self.env.context.get('l10n_vn_einvoice_allocating'):
                raise UserError(_('The number counter of a series only moves when e-invoices are issued.'))
        if LOCKED_WHEN_USED & set(vals):
            for series in self.filtered('is_used'):
                if any(series._differs(f, vals[f]) for f in LOCKED_WHEN_USED & set(vals)):
                    raise UserError(_('Series %s already numbered e-invoices: its template, symbol, company, '
                                      'first-use date and issuing mode can no longer be changed.', series.name))
        return super().write(vals)

    def _differs(self, fname, value):
        field = self._fields[fname]
        if field.type == 'many2one':
            return self[fname].id != (value or False)
        if field.type == 'date':
            return self[fname] != fields.Date.to_date(value)
        return self[fname] != value

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if used := self.filtered('is_used'):
            raise UserError(_('Series %s numbered e-invoices and cannot be deleted; archive it instead.',
                              ', '.join(used.mapped('name'))))

    # ------------------------------------------------------------------
    # Numbering
    # ------------------------------------------------------------------

    def _lock_numbering(self, conflict='raise'):
        """Lock the counters of these series for the rest of the transaction, in id order (two transactions
        locking several series never deadlock). Returns the series that could not be locked.

        With several workers another transaction may be numbering a series (this one waits for it to end) or
        may have numbered it since this transaction began: PostgreSQL then refuses the lock (REPEATABLE READ).
        ``conflict`` says what happens then: ``'raise'``: the error goes up (Odoo runs a request again);
        ``'skip'``: the series is returned (a scheduled action leaves its invoices for its next run);
        ``'handoff'``: raised the first times in a request, so that Odoo runs it again, then returned (the
        Issue button hands the invoices to the scheduled action rather than show an error).
        """
        busy = self.browse()
        for series in self.sorted('id'):
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute('SELECT id FROM l10n_vn_einvoice_series WHERE id = %s FOR UPDATE',
                                        [series.id], log_exceptions=False)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if conflict == 'raise' or (conflict == 'handoff' and run_request_again()):
                    raise
                busy |= series
        return busy

    def _allocate_number(self, issue_date):
        """Next number of the series for an invoice dated ``issue_date`` (see :meth:`_allocate_numbers`)."""
        return self._allocate_numbers([issue_date])[0]

    def _allocate_numbers(self, issue_dates):
        """The next ``len(issue_dates)`` numbers of the series, in order, for invoices dated ``issue_dates``
        (not decreasing), under a row lock: one lock and one update whatever their count.

        The lock is held until the transaction ends, so two transactions never get the same number;
        if the transaction rolls back, so does the counter (no gap).
        """
        self.ensure_one()
        # with several workers, the row may have been changed since this transaction began: PostgreSQL refuses
        # (serialization failure) and Odoo runs the whole request again, as it does for any such conflict;
        # expected, so not logged as an error
        self.env.cr.execute(
            'SELECT next_number, last_issue_date FROM l10n_vn_einvoice_series WHERE id = %s FOR UPDATE',
            [self.id], log_exceptions=False,
        )
        number, last_date = self.env.cr.fetchone()
        self.invalidate_recordset(['next_number', 'last_issue_date'])
        for issue_date in issue_dates:
            if last_date and issue_date < last_date:
                raise UserError(_(
                    'Series %(series)s already has an e-invoice dated %(last)s: an invoice dated %(date)s cannot be '
                    'issued after it. Date the invoice %(last)s or later.',
                    series=self.name, last=last_date.strftime('%d/%m/%Y'), date=issue_date.strftime('%d/%m/%Y')))
            last_date = issue_date
        numbers = list(range(number, number + len(issue_dates)))
        if numbers and numbers[-1] > MAX_NUMBER:
            raise UserError(_('Series %s has used all its numbers (up to 99999999): create a new series.', self.name))
        # sudo: issuers ("Issue e-invoices") may move the counter, not edit the series (the caller checked them)
        self.sudo().with_context(l10n_vn_einvoice_allocating=True).write({
            'next_number': number + len(issue_dates),
            'last_issue_date': last_date,
        })
        return numbers

    def _check_issue_date(self, issue_date):
        """Problems (translated strings) issuing an invoice of this series on ``issue_date``."""
        self.ensure_one()
        errors = []
        if not self.active:
            errors.append(_('Series %s is archived.', self.name))
        if self.date_start and issue_date < self.date_start:
            errors.append(_('Series %(series)s is used from %(start)s; the invoice is dated %(date)s.',
                            series=self.name, start=self.date_start.strftime('%d/%m/%Y'),
                            date=issue_date.strftime('%d/%m/%Y')))
        for problem in codes.check_template_symbol(self.template_id.code, self.symbol, issue_date):
            if 'year' in problem.message:
                errors.append(_('Series %(series)s is for the year %(year)s but the invoice is dated %(date)s: '
                                'use a series of %(date_year)s.', series=self.name, year=codes.symbol_year(self.symbol),
                                date=issue_date.strftime('%d/%m/%Y'), date_year=issue_date.year))
            else:
                errors.append(problem.message)
        return errors

    @api.model
    def _default_for(self, company, journal=None, partner=None, year=None):
        """The series an invoice gets by default: the customer's, else the journal's, else the company's."""
        domain = [('company_id', '=', company.id), ('active', '=', True)]
        if year:
            domain.append(('year', 'in', [year, 0]))
        candidates = self.search(domain)
        if year:
            candidates = candidates.sorted(lambda s: (s.year != year, s.sequence))
        for match in (
            partner and candidates.filtered(lambda s: partner in s.partner_ids),
            journal and candidates.filtered(lambda s: journal in s.journal_ids),
            candidates.filtered('is_default'),
        ):
            if match:
                return match[:1]
        return self.browse()

    def _l10n_vn_einvoice_provider(self):
        """The provider account issuing this series' invoices (may be empty)."""
        self.ensure_one()
        return self.provider_id or self.company_id.l10n_vn_einvoice_provider_id

    def _l10n_vn_einvoice_provider_counter(self, number, issue_date):
        """Keep next number and last issue date in step with the provider's numbering (display only).

        The row is updated in a savepoint; a concurrent update is left to the next invoice."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    'UPDATE l10n_vn_einvoice_series SET next_number = GREATEST(next_number, %s), '
                    'last_issue_date = GREATEST(last_issue_date, %s) WHERE id = %s',
                    [number + 1, issue_date, self.id], log_exceptions=False)  # expected with several workers
        except psycopg2.Error as e:
            _logger.info('Series %s: counter not updated (%s)', self.id, type(e).__name__)
        self.invalidate_recordset(['next_number', 'last_issue_date', 'is_used'])
