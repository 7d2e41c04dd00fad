"""Issuing e-invoices through a provider (Viettel SInvoice, …): never twice.

Every invoice gets a transaction key (``transactionUuid``) once, kept for good. Before any request the
key and the flag "a request may have reached the provider" are committed (outside tests), the invoice
row is locked (``FOR UPDATE SKIP LOCKED``, as Odoo's ``l10n_vn_edi_viettel``), the provider is called and
the outcome committed, invoice by invoice. While the flag is set, the provider is asked for the key
before anything is sent again; it is cleared only when the invoice is issued or the provider said it
has none. The provider's number, issue time, secret code and tax-authority code are stored; its PDF,
ZIP and XML attached. Batches (scheduled action) go through ``issue_batch`` (``createBatchInvoice``).
"""

import inspect
import logging
import uuid
from collections import defaultdict
from datetime import timezone

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import groupby, html_escape

from vn_einvoice import document as doc
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.providers import BatchEntry, InvoiceRef, ProviderError, ProviderUnknownOutcome, xml_in_zip
from vn_einvoice.qr import invoice_qr_payload

from ..tools.provider_run import ProviderRun
from .einvoice_event import masked

_logger = logging.getLogger(__name__)

PAID_STATES = ('paid', 'in_payment')
SYNC_STATES = ('USING', 'ADJUSTED')


def _new_key():
    return str(uuid.uuid4())


class L10nVnEinvoiceMoveProvider(models.AbstractModel):
    """Fields and helpers of issuing through a provider on ``account.move``. It overrides nothing: the
    Odoo methods of ``account.move`` and its issuing entry points call these helpers."""

    _name = 'l10n_vn_einvoice.move.provider'
    _description = 'E-invoices issued through a provider (invoice feature)'

    l10n_vn_einvoice_transaction_uuid = fields.Char(
        string='Transaction key', readonly=True, copy=False, index='btree_not_null',
        help='Idempotency key sent to the provider (transactionUuid): one per invoice, never changed, so the '
             'invoice is never issued twice.')
    l10n_vn_einvoice_provider_maybe_sent = fields.Boolean(
        string='May have reached the provider', readonly=True, copy=False,
        help='A request may have reached the provider without an answer: it is looked up by its transaction key '
             'before anything is sent again.')
    l10n_vn_einvoice_provider_watermark = fields.Integer(
        string='Series number before sending', readonly=True, copy=False,
        help='The highest number of the series recorded here when the invoice was first sent. A provider without '
             'transaction key (seed 002 portal) looks the invoice up above it, by its content, before sending it '
             'again.')
    l10n_vn_einvoice_is_provider = fields.Boolean(compute='_compute_l10n_vn_einvoice_is_provider')
    l10n_vn_einvoice_provider_id = fields.Many2one('l10n_vn_einvoice.provider', string='Issued through',
                                                   readonly=True, copy=False)
    l10n_vn_einvoice_provider_invoice_no = fields.Char(string='Provider invoice number', readonly=True, copy=False)
    l10n_vn_einvoice_provider_template = fields.Char(string='Provider template', readonly=True, copy=False)
    l10n_vn_einvoice_provider_transaction_id = fields.Char(string='Provider transaction id', readonly=True,
                                                           copy=False)
    l10n_vn_einvoice_provider_paid = fields.Boolean(string='Paid at the provider', readonly=True, copy=False)
    l10n_vn_einvoice_payment_to_sync = fields.Boolean(
        string='Payment status to send', compute='_compute_l10n_vn_einvoice_payment_to_sync', store=True)
    l10n_vn_einvoice_provider_pdf = fields.Binary(string='Provider PDF', attachment=True, readonly=True, copy=False)
    l10n_vn_einvoice_provider_pdf_id = fields.Many2one(
        'ir.attachment', string='Provider PDF file', copy=False,
        compute=lambda self: self._compute_linked_attachment_id('l10n_vn_einvoice_provider_pdf_id',
                                                                'l10n_vn_einvoice_provider_pdf'),
        depends=['l10n_vn_einvoice_provider_pdf'])
    l10n_vn_einvoice_provider_zip = fields.Binary(string='Provider ZIP', attachment=True, readonly=True, copy=False)
    l10n_vn_einvoice_provider_zip_id = fields.Many2one(
        'ir.attachment', string='Provider ZIP file', copy=False,
        compute=lambda self: self._compute_linked_attachment_id('l10n_vn_einvoice_provider_zip_id',
                                                                'l10n_vn_einvoice_provider_zip'),
        depends=['l10n_vn_einvoice_provider_zip'])

    @api.depends('l10n_vn_einvoice_series_id.issuing_mode', 'l10n_vn_einvoice_provider_id')
    def _compute_l10n_vn_einvoice_is_provider(self):
        for move in self:
            move.l10n_vn_einvoice_is_provider = bool(move.l10n_vn_einvoice_provider_id) or (
                move.l10n_vn_einvoice_series_id.issuing_mode == 'provider')

    @api.depends('payment_state', 'l10n_vn_einvoice_provider_paid', 'l10n_vn_einvoice_provider_invoice_no',
                 'l10n_vn_einvoice_state')
    def _compute_l10n_vn_einvoice_payment_to_sync(self):
        newly = False
        for move in self:
            sync = (bool(move.l10n_vn_einvoice_provider_invoice_no) and move.l10n_vn_einvoice_state in SYNC_STATES
                    and (move.payment_state in PAID_STATES) != move.l10n_vn_einvoice_provider_paid)
            newly = newly or (sync and not move.l10n_vn_einvoice_payment_to_sync)
            move.l10n_vn_einvoice_payment_to_sync = sync
        if newly:  # the payment state changed: send it soon (scheduled action, outside this transaction)
            cron = self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_provider_payment', raise_if_not_found=False)
            if cron and cron.active:
                cron._trigger()

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_check_not_pending(self):
        pending = self.filtered(lambda m: m.l10n_vn_einvoice_provider_maybe_sent
                                and m.l10n_vn_einvoice_state == 'CREATED')
        if pending:
            raise UserError(_(
                'Invoice %s may already have been issued at the provider (an earlier request got no answer). '
                'Look it up at the provider first (button "Look up at the provider").', pending[0].display_name))

    def _l10n_vn_einvoice_assign_keys(self):
        """A transaction key for each prepared e-invoice (kept for good: it is never issued twice)."""
        for move in self.filtered(lambda m: m.l10n_vn_einvoice_state == 'CREATED'
                                  and not m.l10n_vn_einvoice_transaction_uuid):
            move.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_transaction_uuid': _new_key()})

    def _l10n_vn_einvoice_provider_check(self):
        """Problems of an invoice of a provider series that prevent issuing it (translated)."""
        errors = []
        series = self.l10n_vn_einvoice_series_id
        account = series._l10n_vn_einvoice_provider()
        if not account:
            errors.append(_('No provider account: choose one on series %s or make one the default of the company.',
                            series.name))
        elif not account.active:
            errors.append(_('Provider account %s is archived.', account.name))
        if series.template_id.regime == 'current' and not series.provider_template_code:
            errors.append(_('Series %s: the provider\'s template code (such as 1/001) is missing; import the series '
                            'from the provider account.', series.name))
        text_only = self.l10n_vn_einvoice_adjustment_kind == 'info'  # an information adjustment: text lines only
        for line in self.invoice_line_ids.filtered(
                lambda l: l.display_type == 'product' and not l.product_uom_id and not text_only):
            errors.append(_('Line "%s" has no unit of measure: the provider requires one on every line.', line.name))
        if account and series.provider_template_code:
            required = account.field_ids.filtered(
                lambda f: f.required and f.template_code == series.provider_template_code)
            if required:
                errors.append(_('Template %(template)s of the provider requires custom fields Odoo does not fill: '
                                '%(fields)s.', template=series.provider_template_code,
                                fields=', '.join(required.mapped('label'))))
        return errors

    # ------------------------------------------------------------------
    # Issuing
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_provider_can_commit(self):
        return self._can_commit() and not self.env.context.get('l10n_vn_einvoice_no_commit')

    def _l10n_vn_einvoice_lock(self):
        """The ids of these invoices this transaction could lock (others are being issued elsewhere, or were
        changed by another worker since this transaction began: PostgreSQL refuses to lock those, and they are
        left to whoever changed them, or to the next run)."""
        if not self.ids:
            return set()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute('SELECT id FROM account_move WHERE id IN %s FOR UPDATE SKIP LOCKED',
                                    [tuple(self.ids)], log_exceptions=False)
                locked = {row[0] for row in self.env.cr.fetchall()}
        except psycopg2.errors.SerializationFailure:
            locked = set()
            for move_id in self.ids:  # some changed meanwhile (several workers): the others, one at a time
                try:
                    with self.env.cr.savepoint(flush=False):
                        self.env.cr.execute('SELECT id FROM account_move WHERE id = %s FOR UPDATE SKIP LOCKED',
                                            [move_id], log_exceptions=False)
                        locked |= {row[0] for row in self.env.cr.fetchall()}
                except psycopg2.errors.SerializationFailure:
                    continue
        self.invalidate_recordset()
        return locked

    def _l10n_vn_einvoice_provider_prepare(self):
        """Give each invoice its key and set "may have reached the provider" (committed by the caller before
        any request). Returns ``{id: the flag before}``: whether an earlier request may have gone through."""
        before = {move.id: move.l10n_vn_einvoice_provider_maybe_sent for move in self}
        highest = {}  # the series' highest number before the first send, read once per series
        rows = []
        for move in self:
            watermark = move.l10n_vn_einvoice_provider_watermark
            if not before[move.id]:
                series = move.l10n_vn_einvoice_series_id
                if series not in highest:
                    highest[series] = move._l10n_vn_einvoice_provider_highest()
                watermark = highest[series]
            rows.append({'l10n_vn_einvoice_provider_maybe_sent': True,
                         'l10n_vn_einvoice_transaction_uuid': move.l10n_vn_einvoice_transaction_uuid or _new_key(),
                         'l10n_vn_einvoice_provider_watermark': watermark})
        self._l10n_vn_einvoice_write_rows(rows)
        return before

    def _l10n_vn_einvoice_provider_highest(self):
        """The highest number the provider gave an invoice of this series, as recorded here (a lower bound of
        its numbering: numbers come from its answers only; 0 if none)."""
        self.ensure_one()
        account = self.l10n_vn_einvoice_series_id._l10n_vn_einvoice_provider()
        if not account:
            return 0
        self.env['account.move'].flush_model(['l10n_vn_einvoice_number', 'l10n_vn_einvoice_series_id',
                                              'l10n_vn_einvoice_provider_id', 'l10n_vn_einvoice_provider_invoice_no'])
        self.env.cr.execute(
            'SELECT MAX(l10n_vn_einvoice_number) FROM account_move WHERE l10n_vn_einvoice_series_id = %s '
            'AND l10n_vn_einvoice_provider_id = %s AND l10n_vn_einvoice_provider_invoice_no IS NOT NULL',
            [self.l10n_vn_einvoice_series_id.id, account.id])
        return self.env.cr.fetchone()[0] or 0

    def _l10n_vn_einvoice_provider_hint(self, method):
        """Keywords for a client's ``issue``/``lookup`` without transaction key: the series' number before the
        first send, and when the last request about this invoice ended (the user log), after which a request
        held up on its way is waited for before looking up."""
        params = inspect.signature(method).parameters
        hint = {}
        if 'after_number' in params:
            hint['after_number'] = self.l10n_vn_einvoice_provider_watermark
        if 'sent_at' in params:
            last = self.env['l10n_vn_einvoice.event'].sudo().search(
                [('move_id', '=', self.id), ('event', '=', 'provider_exchange')], order='date desc, id desc', limit=1)
            if last:
                hint['sent_at'] = last.date.replace(tzinfo=timezone.utc).timestamp()
        return hint

    def _l10n_vn_einvoice_provider_failed(self, error, maybe_sent):
        self.ensure_one()
        self.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_provider_maybe_sent': maybe_sent})
        if isinstance(error, ProviderError):
            self.env['l10n_vn_einvoice.event']._log(
                'provider', self, outcome='failed', message=self.env['l10n_vn_einvoice.provider']._error_text(error),
                provider_id=self.l10n_vn_einvoice_series_id._l10n_vn_einvoice_provider().id,
                request=masked({'operation': error.operation, 'transaction_uuid': error.transaction_uuid}),
                response=masked(error.raw))
        self._l10n_vn_einvoice_record_error(error)

    def _l10n_vn_einvoice_provider_issue(self, batch=False):
        """Issue these invoices of provider series: by ``issue_batch`` (scheduled action) or one by one."""
        if batch:
            return self._l10n_vn_einvoice_provider_issue_batch()
        return self._l10n_vn_einvoice_provider_issue_each()

    def _l10n_vn_einvoice_provider_issue_each(self):
        """Issue one invoice after the other: lock, key committed, call, outcome committed."""
        issued = failed = self.browse()
        can_commit = self._l10n_vn_einvoice_provider_can_commit()
        with ProviderRun() as run:
            for move in self.sorted(lambda m: (m.invoice_date, m.id)):
                # each commit empties the ORM cache: prefetch this invoice alone, not the whole set again
                move = move.with_prefetch()
                if not move._l10n_vn_einvoice_lock() or move.l10n_vn_einvoice_state != 'CREATED':
                    failed |= move.filtered(lambda m: m.l10n_vn_einvoice_state == 'CREATED')
                    continue
                before = move._l10n_vn_einvoice_provider_prepare()[move.id]
                if can_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # the key and the flag are safe before any request
                    if not move._l10n_vn_einvoice_lock() or move.l10n_vn_einvoice_state != 'CREATED':
                        continue
                run.maybe_sent[move.id] = before
                try:
                    with run.exchanges.deferred(move), self.env.cr.savepoint():
                        move._l10n_vn_einvoice_issue_one(run)
                    issued |= move
                except (UserError, ValidationError, EInvoiceError) as e:
                    move._l10n_vn_einvoice_provider_failed(e, move._l10n_vn_einvoice_maybe_after(e, before, run.outcome))
                    failed |= move
                if can_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # lock, call, commit per invoice: never issued twice
                if move in issued:
                    move._l10n_vn_einvoice_provider_after_issue(run, can_commit)
        return issued, failed

    def _l10n_vn_einvoice_maybe_after(self, error, before, outcome):
        """The "may have reached the provider" flag after a failed attempt."""
        return bool(before or isinstance(error, ProviderUnknownOutcome) or self.id in outcome)

    def _l10n_vn_einvoice_provider_issue_batch(self):
        """Issue through ``issue_batch`` (SInvoice ``createBatchInvoice``), per provider account.

        Resumable: keys and flags are committed before the request; after a crash the flagged invoices are
        looked up first and only those the provider does not have are sent."""
        issued = failed = self.browse()
        corrections = self.filtered(lambda m: m._l10n_vn_einvoice_related() is not None)
        if corrections:  # adjustments and replacements: one by one (adjust/replace)
            issued, failed = corrections._l10n_vn_einvoice_provider_issue_each()
        can_commit = self._l10n_vn_einvoice_provider_can_commit()
        groups = defaultdict(lambda: self.browse())
        for move in (self - corrections):
            groups[move.l10n_vn_einvoice_series_id._l10n_vn_einvoice_provider()] |= move
        for account, moves in groups.items():
            if not account:
                more_issued, more_failed = moves._l10n_vn_einvoice_provider_issue_each()  # records the reason
                issued, failed = issued | more_issued, failed | more_failed
                continue
            try:
                client = account._client()
            except UserError as e:  # no password…: nothing sent
                for move in moves:
                    move._l10n_vn_einvoice_record_error(e)
                failed |= moves
                continue
            with ProviderRun() as run:
                run.clients[account.id] = client
                locked = moves._l10n_vn_einvoice_lock()
                ready = self.browse()
                for move in moves.filtered(lambda m: m.id in locked and m.l10n_vn_einvoice_state == 'CREATED'):
                    errors = move._l10n_vn_einvoice_check()
                    if errors:
                        move._l10n_vn_einvoice_record_error(UserError('\n'.join(errors)))
                        failed |= move
                    else:
                        ready |= move
                before = ready._l10n_vn_einvoice_provider_prepare()
                if can_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # lock, call, commit per invoice: never issued twice
                    locked = ready._l10n_vn_einvoice_lock()
                    ready = ready.filtered(lambda m: m.id in locked and m.l10n_vn_einvoice_state == 'CREATED')
                entries, sent = [], self.browse()
                for move in ready.sorted(lambda m: (m.invoice_date, m.id)):
                    try:
                        with self.env.cr.savepoint():
                            invoice = move._l10n_vn_einvoice_document()
                    except (UserError, ValidationError, EInvoiceError) as e:
                        move._l10n_vn_einvoice_provider_failed(e, before[move.id])
                        failed |= move
                        continue
                    run.documents[move.id] = invoice
                    options = move._l10n_vn_einvoice_provider_options(move.l10n_vn_einvoice_series_id)
                    if before[move.id]:
                        options.update(move._l10n_vn_einvoice_provider_hint(client.issue))
                    entries.append(BatchEntry(invoice, move.l10n_vn_einvoice_transaction_uuid, options,
                                              maybe_sent=before[move.id]))
                    sent |= move
                if not entries:
                    continue
                try:
                    answer = client.issue_batch(entries)
                except ProviderError as e:  # the whole request: nothing known to be issued
                    for move in sent:
                        move._l10n_vn_einvoice_provider_failed(e, move._l10n_vn_einvoice_maybe_after(e, before[move.id], {}))
                    failed |= sent
                    if can_commit:
                        self.env.cr.commit()  # pylint: disable=invalid-commit  # lock, call, commit per invoice: never issued twice
                    continue
                items = answer.by_uuid()
                answered = []
                for move in sent:
                    item = items.get(move.l10n_vn_einvoice_transaction_uuid)
                    if item is None or not item.ok:
                        error = item.error if item is not None else UserError(_('The provider said nothing about it.'))
                        move._l10n_vn_einvoice_provider_failed(
                            error, move._l10n_vn_einvoice_maybe_after(error, before[move.id], {}) or item is None)
                        failed |= move
                        continue
                    run.results[move.id] = item.result
                    answered.append(move)
                # recorded together (one UPDATE, notes and log rows inserted at once); if that fails, one by one,
                # each failure recorded on its invoice
                done = self.browse([move.id for move in answered])._l10n_vn_einvoice_provider_record_together(
                    account, run)
                for move in answered:
                    if move in done:
                        continue
                    try:
                        with self.env.cr.savepoint():
                            move._l10n_vn_einvoice_issue_one(run)
                        done |= move
                    except (UserError, ValidationError, EInvoiceError) as e:
                        move._l10n_vn_einvoice_provider_failed(e, True)  # issued at the provider: look it up
                        failed |= move
                issued |= done
                if can_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # lock, call, commit per invoice: never issued twice
                done._l10n_vn_einvoice_provider_after_issue(run, can_commit)
        return issued, failed

    def _l10n_vn_einvoice_provider_record_together(self, account, run):
        """Record at once what the provider issued for these plain invoices (``run.results``), as
        :meth:`_l10n_vn_einvoice_provider_mark` does for one. Returns them, or nothing if anything failed
        (rolled back: the caller records them one by one)."""
        if not self:
            return self
        try:
            with self.env.cr.savepoint():
                rows = []
                for move in self:
                    result = run.results[move.id]
                    vals = move._l10n_vn_einvoice_provider_vals(account, move.l10n_vn_einvoice_series_id, result,
                                                                run.documents.get(move.id))
                    rows.append((move, vals, None, None, None))
                self._l10n_vn_einvoice_record_issued_together(rows, fields.Datetime.now())
                for series, moves in groupby(self, key=lambda m: m.l10n_vn_einvoice_series_id):
                    last = max(moves, key=lambda m: m.l10n_vn_einvoice_number)
                    series._l10n_vn_einvoice_provider_counter(last.l10n_vn_einvoice_number,
                                                              max(m.invoice_date for m in moves))
                for move in self:
                    run.outcome[move.id] = run.results[move.id]
                    move._l10n_vn_einvoice_provider_recorded(move.l10n_vn_einvoice_series_id, run.results[move.id],
                                                             counter=False)
        except (UserError, ValidationError, EInvoiceError, psycopg2.errors.UniqueViolation) as e:
            _logger.info('E-invoices %s: recorded one by one to find which failed (%s)', self.ids, e)
            return self.browse()
        return self

    def _l10n_vn_einvoice_provider_options(self, series):
        """Mapping options sent with the invoice (template code, payment status, corrected template)."""
        self.ensure_one()
        options = {'payment_status': self.payment_state in PAID_STATES}
        if series.provider_template_code:
            options['template_code'] = series.provider_template_code
        origins = self._l10n_vn_einvoice_origins()
        if len(origins) == 1:
            code = origins.l10n_vn_einvoice_provider_template or origins.l10n_vn_einvoice_series_id.provider_template_code
            if code:
                options['original_template_code'] = code
            if origins.l10n_vn_einvoice_transaction_uuid:  # providers that name the original by its key (VNPT)
                options['original_transaction_uuid'] = origins.l10n_vn_einvoice_transaction_uuid
        return options

    def _l10n_vn_einvoice_origins(self):
        """The issued invoices this one corrects (adjustment, replacement or credit note)."""
        self.ensure_one()
        if self.l10n_vn_einvoice_origin_ids:
            return self.l10n_vn_einvoice_origin_ids
        return self.reversed_entry_id if self.move_type == 'out_refund' else self.browse()

    def _l10n_vn_einvoice_provider_agreement(self):
        """(name, date) of the agreement (biên bản) a correction rests on."""
        self.ensure_one()
        agreement = self.l10n_vn_einvoice_agreement_id
        if agreement:
            return agreement.name, agreement.date
        return (self.ref or self.name or '')[:255], self.invoice_date

    def _l10n_vn_einvoice_issue_provider(self, series, run=None):
        """Issue through the series' provider account, or record what ``run`` already knows (a batch's
        answer, a look-up). Without a run (a single invoice), a run of its own."""
        self.ensure_one()
        account = series._l10n_vn_einvoice_provider()
        if not account:
            raise UserError(_('No provider account for series %s.', series.name))
        if not self.l10n_vn_einvoice_transaction_uuid:  # called directly: a key of this transaction
            self.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_transaction_uuid': _new_key()})
        if run is None:
            with ProviderRun() as own_run:
                return self._l10n_vn_einvoice_issue_provider_in(account, series, own_run)
        return self._l10n_vn_einvoice_issue_provider_in(account, series, run)

    def _l10n_vn_einvoice_issue_provider_in(self, account, series, run):
        document = run.documents.get(self.id)
        if self.id in run.results:  # issued by a batch, or found by a look-up
            result = run.results[self.id]
        else:
            document = self._l10n_vn_einvoice_document()
            result = self._l10n_vn_einvoice_provider_call(account, series, document, run)
        run.outcome[self.id] = result
        return self._l10n_vn_einvoice_provider_mark(account, series, result, document)

    def _l10n_vn_einvoice_provider_call(self, account, series, invoice, run):
        maybe_sent = run.maybe_sent.get(self.id, self.l10n_vn_einvoice_provider_maybe_sent)
        client = run.client(account)
        key = self.l10n_vn_einvoice_transaction_uuid
        options = self._l10n_vn_einvoice_provider_options(series)
        related = invoice.related
        if related is None:
            if maybe_sent:  # looked up above the series' number before the first send
                options.update(self._l10n_vn_einvoice_provider_hint(client.issue))
            return client.issue(invoice, transaction_uuid=key, maybe_sent=maybe_sent, **options)
        name, day = self._l10n_vn_einvoice_provider_agreement()
        if related.relation is doc.RelationKind.ADJUSTMENT:
            kind = 'money'
            if self.l10n_vn_einvoice_adjustment_kind == 'info':
                kind = 'information'
            return client.adjust(invoice, transaction_uuid=key, kind=kind, agreement_name=name, agreement_date=day,
                                 maybe_sent=maybe_sent, **options)
        return client.replace(invoice, transaction_uuid=key, agreement_name=name, agreement_date=day,
                              maybe_sent=maybe_sent, **options)

    def _l10n_vn_einvoice_provider_mark(self, account, series, result, document=None):
        """Record what the provider issued: its number, time, codes; USING / SIGNED (the provider signs)."""
        vals = self._l10n_vn_einvoice_provider_vals(account, series, result, document)
        attachment = self._l10n_vn_einvoice_mark_issued(vals, None, None)
        self._l10n_vn_einvoice_provider_recorded(series, result)
        return attachment

    def _l10n_vn_einvoice_provider_recorded(self, series, result, counter=True):
        """After an invoice the provider issued was recorded: the series' counter, and what is worth a note."""
        if counter:
            series._l10n_vn_einvoice_provider_counter(self.l10n_vn_einvoice_number, self.invoice_date)
        notes = []
        if result.found_by_lookup:
            notes.append(_('The provider already had it under its transaction key (an earlier request went '
                           'through): it was recorded, not issued again.'))
        if result.symbol and result.symbol != series.symbol:
            notes.append(_('The provider issued it in series %(symbol)s, not %(series)s.', symbol=result.symbol,
                           series=series.symbol))
        if notes:
            self.message_post(body=' '.join(html_escape(n) for n in notes))

    def _l10n_vn_einvoice_provider_vals(self, account, series, result, document=None):
        """The values recording what the provider issued (and its answer in the user log)."""
        number = result.number
        if number is None:
            digits = ''.join(c for c in reversed(result.invoice_no) if c.isdigit())[::-1]
            number = int(digits) if digits else 0
        issued_at = result.issued_at
        issued_utc = (issued_at.astimezone(timezone.utc).replace(tzinfo=None) if issued_at and issued_at.tzinfo
                      else issued_at) or fields.Datetime.now()
        vals = {
            'l10n_vn_einvoice_number': number,
            'l10n_vn_einvoice_issue_datetime': issued_utc,
            'l10n_vn_einvoice_lookup_code': result.reservation_code or False,
            'l10n_vn_einvoice_authority_code': result.authority_code or False,
            'l10n_vn_einvoice_provider_id': account.id,
            'l10n_vn_einvoice_provider_invoice_no': result.invoice_no,
            'l10n_vn_einvoice_provider_template': result.template or series.provider_template_code
            or series.template_id.code,
            'l10n_vn_einvoice_provider_transaction_id': result.transaction_id or False,
            'l10n_vn_einvoice_provider_paid': (bool(result.paid) if result.paid is not None
                                               else self.payment_state in PAID_STATES),
            'l10n_vn_einvoice_provider_maybe_sent': False,
        }
        vals['l10n_vn_einvoice_qr'] = False
        try:
            document = document or self._l10n_vn_einvoice_document()
            vals['l10n_vn_einvoice_qr'] = invoice_qr_payload(document.replace(number=number))
        except (EInvoiceError, UserError) as e:
            _logger.info('No QR payload for %s: %s', self.id, e)
        self.env['l10n_vn_einvoice.event']._log(
            'provider', self, provider_id=account.id, channel=account.provider,
            message=_('%(provider)s issued %(number)s.', provider=account.name, number=result.invoice_no),
            request=masked({'operation': 'issue', 'transaction_uuid': result.transaction_uuid,
                            'template': vals['l10n_vn_einvoice_provider_template'], 'symbol': series.symbol,
                            **({'issue_date': document.issue_date, 'buyer_tax_code': document.buyer.tax_code,
                                'lines': len(document.lines), 'total': document.totals.total,
                                'related': document.related and document.related.relation.value} if document else {})}),
            response=masked(result.raw, [result.reservation_code]))  # the buyer's lookup code stays secret
        return vals

    # ------------------------------------------------------------------
    # After issue: files, payment status, look-up
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_provider_ref(self):
        self.ensure_one()
        issued = self.l10n_vn_einvoice_issue_datetime
        return InvoiceRef(self.l10n_vn_einvoice_provider_invoice_no, self.l10n_vn_einvoice_provider_template or '',
                          issued.replace(tzinfo=timezone.utc) if issued else None,
                          self.l10n_vn_einvoice_transaction_uuid or '', self.sudo().l10n_vn_einvoice_lookup_code or '')

    def _l10n_vn_einvoice_provider_account(self):
        self.ensure_one()
        return self.l10n_vn_einvoice_provider_id or self.l10n_vn_einvoice_series_id._l10n_vn_einvoice_provider()

    def _l10n_vn_einvoice_provider_after_issue(self, run, can_commit):
        """Fetch the provider's files of freshly issued invoices (errors are noted, never undo the issue)."""
        for move in self.filtered(lambda m: m.l10n_vn_einvoice_provider_id.download_files):
            move = move.with_prefetch() if can_commit else move
            move._l10n_vn_einvoice_provider_fetch_files(run, raise_errors=False)
            if can_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # lock, call, commit per invoice: never issued twice

    def _l10n_vn_einvoice_provider_fetch_files(self, run=None, raise_errors=True):
        own = run is None
        run = ProviderRun() if own else run
        try:
            for move in self:
                account = move._l10n_vn_einvoice_provider_account()
                if not move.l10n_vn_einvoice_provider_invoice_no or not account:
                    continue
                try:
                    client = run.client(account)
                    ref = move._l10n_vn_einvoice_provider_ref()
                    pdf = client.download(ref, 'pdf')
                    archive = client.download(ref, 'zip')
                except ProviderError as e:
                    message = self.env['l10n_vn_einvoice.provider']._error_text(e)
                    if raise_errors:
                        raise UserError(message) from None
                    move.message_post(body=_('The provider\'s files could not be fetched yet (%s). Use "Fetch '
                                             'provider files" later.', html_escape(message)))
                    continue
                move._l10n_vn_einvoice_provider_attach(pdf, archive)
        finally:
            if own:
                run.close()

    def _l10n_vn_einvoice_provider_attach(self, pdf, archive):
        self.ensure_one()
        Attachment = self.env['ir.attachment'].sudo()
        files = [(pdf.file_name, pdf.content, 'application/pdf', 'l10n_vn_einvoice_provider_pdf'),
                 (archive.file_name, archive.content, 'application/zip', 'l10n_vn_einvoice_provider_zip')]
        found = xml_in_zip(archive.content)
        if found and not self.l10n_vn_einvoice_xml_id:
            files.append((found[0], found[1], 'application/xml', 'l10n_vn_einvoice_xml'))
        for name, raw, mimetype, fname in files:
            Attachment.search([('res_model', '=', self._name), ('res_id', '=', self.id),
                               ('res_field', '=', fname)]).unlink()
            Attachment.create({'name': name, 'raw': raw, 'mimetype': mimetype, 'res_model': self._name,
                               'res_id': self.id, 'res_field': fname})
        self.invalidate_recordset(['l10n_vn_einvoice_provider_pdf', 'l10n_vn_einvoice_provider_pdf_id',
                                   'l10n_vn_einvoice_provider_zip', 'l10n_vn_einvoice_provider_zip_id',
                                   'l10n_vn_einvoice_xml', 'l10n_vn_einvoice_xml_id'])

    def _l10n_vn_einvoice_provider_pdf_attachments(self):
        """PDFs of the e-invoice made by the provider, sent and kept beside Odoo's own (none when signed
        locally)."""
        return self.mapped('l10n_vn_einvoice_provider_pdf_id')

    def action_l10n_vn_einvoice_provider_files(self):
        self._l10n_vn_einvoice_check_access()
        moves = self.filtered('l10n_vn_einvoice_provider_invoice_no')
        if not moves:
            raise UserError(_('None of these invoices was issued through a provider.'))
        moves._l10n_vn_einvoice_provider_fetch_files()
        return True

    def _l10n_vn_einvoice_provider_sync_payment(self):
        """Send the payment status (paid / unpaid) of issued invoices to their provider, invoice by invoice."""
        done = failed = self.browse()
        can_commit = self._l10n_vn_einvoice_provider_can_commit()
        with ProviderRun() as run:
            for move in self.filtered('l10n_vn_einvoice_payment_to_sync'):
                move = move.with_prefetch() if can_commit else move
                if not move._l10n_vn_einvoice_lock() or not move.l10n_vn_einvoice_payment_to_sync:
                    continue
                paid = move.payment_state in PAID_STATES
                account = move._l10n_vn_einvoice_provider_account()
                try:
                    client = run.client(account)
                    client.set_payment_status(
                        move._l10n_vn_einvoice_provider_ref(), paid,
                        payment_type=move.l10n_vn_einvoice_payment_method
                        or move.company_id.l10n_vn_einvoice_payment_method or 'TM/CK',
                        buyer_email=move.commercial_partner_id.email or None)
                except (ProviderError, UserError) as e:
                    message = (self.env['l10n_vn_einvoice.provider']._error_text(e) if isinstance(e, ProviderError)
                               else e.args[0])
                    move.message_post(body=_('The payment status could not be sent to the provider: %s',
                                             html_escape(message)))
                    failed |= move
                else:
                    move.with_context(l10n_vn_einvoice_internal=True).write({'l10n_vn_einvoice_provider_paid': paid})
                    move.message_post(body=_('Payment status sent to the provider: paid.') if paid
                                      else _('Payment status sent to the provider: unpaid.'))
                    done |= move
                if can_commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit  # lock, call, commit per invoice: never issued twice
        return done, failed

    def action_l10n_vn_einvoice_provider_payment(self):
        self._l10n_vn_einvoice_check_access()
        done, failed = self._l10n_vn_einvoice_provider_sync_payment()
        if failed and len(self) == 1:
            raise UserError(_('The payment status could not be sent: see the message on the invoice.'))
        return True

    def action_l10n_vn_einvoice_provider_lookup(self):
        """Ask the provider for invoices whose last request got no answer: record them if it has them, else
        clear the flag (they can then be issued again, or reset to draft)."""
        self._l10n_vn_einvoice_check_access()
        for move in self.filtered(lambda m: m.l10n_vn_einvoice_state == 'CREATED'
                                  and m.l10n_vn_einvoice_transaction_uuid):
            account = move.l10n_vn_einvoice_series_id._l10n_vn_einvoice_provider()
            if not account or not move._l10n_vn_einvoice_lock():
                continue
            try:
                with account._client() as client:
                    extra = {}
                    if 'invoice' in inspect.signature(client.lookup).parameters:  # no transaction key: by content
                        extra = {'invoice': move._l10n_vn_einvoice_document(),
                                 **move._l10n_vn_einvoice_provider_hint(client.lookup),
                                 **move._l10n_vn_einvoice_provider_options(move.l10n_vn_einvoice_series_id)}
                    found = client.lookup(move.l10n_vn_einvoice_transaction_uuid, **extra)
            except ProviderError as e:
                raise UserError(self.env['l10n_vn_einvoice.provider']._error_text(e)) from None
            if found is None:
                move.with_context(l10n_vn_einvoice_internal=True).write({
                    'l10n_vn_einvoice_provider_maybe_sent': False, 'l10n_vn_einvoice_error': False})
                move.message_post(body=_('The provider has no invoice under this transaction key: it was not issued.'))
                continue
            with ProviderRun() as run:
                run.results[move.id] = found
                try:
                    with self.env.cr.savepoint():
                        move._l10n_vn_einvoice_issue_one(run)
                except (UserError, ValidationError, EInvoiceError) as e:
                    move._l10n_vn_einvoice_record_error(e)
        return True

    # ------------------------------------------------------------------
    # Scheduled actions
    # ------------------------------------------------------------------

    @api.model
    def _l10n_vn_einvoice_provider_domain(self):
        return [('l10n_vn_einvoice_state', '=', 'CREATED'), ('state', '=', 'posted'),
                ('l10n_vn_einvoice_series_id.issuing_mode', '=', 'provider'),
                ('company_id.l10n_vn_einvoice_auto_issue', '=', True),
                *self._l10n_vn_einvoice_no_approval_needed_domain()]

    @api.model
    def _cron_l10n_vn_einvoice_provider_issue(self, limit=500):
        """Issue the prepared provider e-invoices of companies issuing automatically, in batches."""
        moves = self.search(self._l10n_vn_einvoice_provider_domain(), limit=limit, order='invoice_date, id')
        if moves:
            moves._l10n_vn_einvoice_issue_batch(commit=True, batch=True)
        if len(moves) == limit and self._l10n_vn_einvoice_provider_can_commit():
            self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_provider_issue')._trigger()
        return moves

    @api.model
    def _cron_l10n_vn_einvoice_provider_payment(self, limit=200):
        moves = self.search([('l10n_vn_einvoice_payment_to_sync', '=', True)], limit=limit)
        moves._l10n_vn_einvoice_provider_sync_payment()
        return moves
