"""Issuing "with code": a locally signed invoice of a C… series is sent to the tax authority (message 200)
and becomes an e-invoice only when the tax authority returns it coded (202: ``MCCQT`` and its signature).
Invoices "without code" (K… series) are issued at once; their data go to the tax authority the same day
(messages 203 of up to the connection's number of invoices, by the daily scheduled action or the "Send the
data" button) and the check result (999, then 204) is followed like the codes; a 204 refusing some invoices of
a message refuses only those (the others are received), the refusal shown on each, in the tax authority's
words, and their data are sent again, in a new message, once corrected. A company registered to report by summary
table (01/TH-HĐĐT, message 400) reports them in ``l10n_vn_einvoice.summary`` instead.

When the company has an active connection to the tax authority, issuing an invoice of a coded series
numbers, builds and signs it as usual, then stores the message 200 (in the message log, before it
leaves) and marks the invoice "waiting for the tax authority": it stays *prepared* (its number
reserved), no mail leaves. The message is then sent (the same bytes, the same MTDiep, whatever happens:
looked up before any resend) and its replies followed — at once, by the "Check the tax authority"
button, or by the scheduled action. A 202 is checked (the invoice data are those sent, every signature
valid, the tax authority's trusted when its CA is set) and replaces the stored XML: the invoice is
issued with its code. A 204 leaves the invoice prepared with the tax authority's reasons; once
corrected, it is issued again under the same number (the tax authority never recorded it).
"""

import base64
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape, plaintext2html

from vn_einvoice import signing
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.providers import ProviderError, ProviderUnknownOutcome
from vn_einvoice.taxauthority import CheckResult, MessageType, build_message, coded_invoice_problems, parse_message
from vn_einvoice.taxauthority.envelope import batches
from vn_einvoice.taxauthority.transport import NoReplyYet

from .einvoice_event import masked

_logger = logging.getLogger(__name__)

CQT_STATES = [
    ('waiting', 'Waiting for the tax authority'),
    ('coded', 'Coded by the tax authority'),
    ('refused', 'Refused by the tax authority'),
    ('data_pending', 'Data to send to the tax authority'),
    ('data_sent', 'Data sent, waiting for the check'),
    ('data_ok', 'Data received by the tax authority'),
    ('data_refused', 'Data refused by the tax authority'),
    ('summary_pending', 'To report in a summary table'),
    ('summary_sent', 'Reported in a summary table, waiting'),
]
SENT_STATES = ('waiting', 'data_sent')  # a message of this invoice is out, its reply awaited


class L10nVnEinvoiceMoveTaxAuthority(models.AbstractModel):
    """Fields and helpers of issuing with the tax authority's code on ``account.move``. It overrides
    nothing: ``account.move``'s issuing entry points call these helpers."""

    _name = 'l10n_vn_einvoice.move.tax.authority'
    _description = 'E-invoices coded by the tax authority (invoice feature)'

    l10n_vn_einvoice_cqt_state = fields.Selection(CQT_STATES, string='Tax authority', readonly=True, copy=False,
                                                  index='btree_not_null')
    l10n_vn_einvoice_cqt_message = fields.Char(string='Message to the tax authority (MTDiep)', readonly=True,
                                               copy=False)
    l10n_vn_einvoice_tax_message_ids = fields.Many2many(
        'l10n_vn_einvoice.tax.message', 'l10n_vn_einvoice_tax_message_move_rel', 'move_id', 'message_id',
        string='Tax authority messages', readonly=True, copy=False)

    # ------------------------------------------------------------------
    # Which invoices, and may they go
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_cqt_connection(self, series, coded=True):
        """The company's connection when an invoice of ``series`` (signed here) is coded by the tax authority
        (``coded``), or when its data without code must reach it (``coded=False``); else None."""
        self.ensure_one()
        if series.issuing_mode != 'local' or bool(series.is_coded) != coded:
            return None
        # active ones, in the model's order: what a search would give, read once for a whole batch
        return self.company_id.sudo().l10n_vn_einvoice_tax_connection_ids[:1] or None

    def _l10n_vn_einvoice_cqt_check(self, series):
        """Problems that prevent issuing an invoice of ``series`` with the tax authority (translated): the
        registration must be accepted and cover the kind of invoice (with or without code)."""
        coded = bool(series.is_coded)
        connection = self._l10n_vn_einvoice_cqt_connection(series, coded=coded)
        if connection is None:
            return []
        if connection.registration_state != 'accepted':
            return [_('Series %(series)s is coded by the tax authority: the registration 01/ĐKTĐ-HĐĐT of the company '
                      'must be accepted first (connection %(connection)s: %(state)s).', series=series.name,
                      connection=connection.name,
                      state=dict(connection._fields['registration_state']._description_selection(self.env))[
                          connection.registration_state]) if coded else
                    _('The data of series %(series)s go to the tax authority: the registration 01/ĐKTĐ-HĐĐT of the '
                      'company must be accepted first (connection %(connection)s).', series=series.name,
                      connection=connection.name)]
        if coded and not connection.with_code:
            return [_('The registration of the company does not cover invoices with code (series %s).', series.name)]
        if not coded and not connection.without_code:
            return [_('The registration of the company does not cover invoices without code (series %s).',
                      series.name)]
        return []

    def _l10n_vn_einvoice_cqt_mark_data(self):
        """Just issued invoices without code whose data the tax authority must get: to send (203) or to
        report in the next summary table (400)."""
        todo = self.filtered(lambda m: not m.l10n_vn_einvoice_cqt_state and m.l10n_vn_einvoice_number
                             and m.l10n_vn_einvoice_series_id.issuing_mode == 'local'
                             and not m.l10n_vn_einvoice_series_id.is_coded)
        connections = self.env['l10n_vn_einvoice.tax.connection'].sudo().search(
            [('company_id', 'in', todo.company_id.ids), ('active', '=', True), ('registration_state', '=', 'accepted'),
             ('without_code', '=', True)])
        for connection in connections:
            moves = todo.filtered(lambda m, c=connection: m.company_id == c.company_id)
            moves.with_context(l10n_vn_einvoice_internal=True, mail_notrack=True).write({
                'l10n_vn_einvoice_cqt_state': 'summary_pending' if connection.summary_table else 'data_pending'})

    def _l10n_vn_einvoice_check_not_waiting(self):
        waiting = self.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'waiting')
        if waiting:
            raise UserError(_('Invoice %s is waiting for the tax authority\'s code: it cannot be changed until the '
                              'tax authority answers (button "Check the tax authority").', waiting[0].display_name))

    # ------------------------------------------------------------------
    # Sending and following
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_cqt_submit(self, connection, signed, vals):
        """Record the signed invoice as message 200 (kept before it leaves) and the invoice as waiting."""
        self.ensure_one()
        try:
            raw = build_message(MessageType.INVOICE_FOR_CODE, [signed], sender=connection._sender_code(),
                                receiver=connection.receiver_code, tax_code=self.company_id.vat)
        except EInvoiceError as e:
            raise UserError(_('The message to the tax authority cannot be made: %s', connection._error_text(e))) \
                from None
        sent = connection._log_sent(raw, move=self)
        self.with_context(l10n_vn_einvoice_internal=True).write({
            **vals, 'l10n_vn_einvoice_cqt_state': 'waiting', 'l10n_vn_einvoice_cqt_message': sent.message_id,
            'l10n_vn_einvoice_error': False,
        })
        self.message_post(body=_('E-invoice %(name)s signed and sent to the tax authority for its code (message '
                                 '%(message)s).', name=self.l10n_vn_einvoice_name, message=sent.message_id))

    def _l10n_vn_einvoice_cqt_sent(self):
        self.ensure_one()
        return self.env['l10n_vn_einvoice.tax.message'].sudo().search([
            ('message_id', '=', self.l10n_vn_einvoice_cqt_message), ('direction', '=', 'out')], limit=1)

    def _l10n_vn_einvoice_cqt_exchange(self, commit=False, wait=True):
        """Send (or look up) the waiting invoices' messages and apply the replies, message by message: a
        message 203 carries several invoices, its replies are applied to all of them (those not asked too)."""
        envelopes = {}  # MTDiep -> ids of the invoices asked, in order
        for move in self.filtered(lambda m: m.l10n_vn_einvoice_cqt_state in SENT_STATES):
            envelopes.setdefault(move.l10n_vn_einvoice_cqt_message, []).append(move.id)
        if not envelopes:
            return
        messages = self.env['l10n_vn_einvoice.tax.message'].sudo().search([
            ('message_id', 'in', list(envelopes)), ('direction', '=', 'out')])
        by_code = {m.message_id: m for m in messages}
        for code, ids in envelopes.items():
            sent = by_code.get(code)
            connection = sent.connection_id if sent else None
            if not sent or not connection:
                continue
            sent_type = MessageType(int(sent.message_type))
            moves = self.browse(ids).with_prefetch()
            if sent_type is MessageType.INVOICE_WITHOUT_CODE:
                moves = moves | sent.move_ids.with_env(self.env)

            def waiting(move, code=code):
                return move.l10n_vn_einvoice_cqt_state in SENT_STATES and move.l10n_vn_einvoice_cqt_message == code
            moves = moves.filtered(waiting)
            if not moves or set(moves.ids) - moves._l10n_vn_einvoice_lock():
                continue  # another worker is following this message: its replies are applied once
            moves = moves.filtered(waiting)  # read again, locked
            if not moves:
                continue
            raw = base64.b64decode(sent.with_context(bin_size=False).xml)
            try:
                with connection._client() as client:
                    if client.status(sent.message_id) is None:
                        client.send(raw)  # never arrived (or first time): these very bytes
                    exchange = connection._exchange(client, wait=wait)
                    outcome = exchange.wait(sent.message_id, sent_type) if wait else \
                        exchange.poll(sent.message_id, sent_type)
            except NoReplyYet:
                continue
            except ProviderUnknownOutcome as e:
                _logger.info('invoices %s: message %s: %s', moves.ids[:10], sent.message_id, e)
                connection._log_failure(sent, e, move=moves)
                continue
            except ProviderError as e:
                connection._log_failure(sent, e, move=moves)
                moves.with_context(l10n_vn_einvoice_internal=True).write(
                    {'l10n_vn_einvoice_error': connection._error_text(e)})
                continue
            if sent_type is MessageType.INVOICE_WITHOUT_CODE:
                moves._l10n_vn_einvoice_cqt_data_apply(connection, sent, outcome)
            else:
                for move in moves:
                    move._l10n_vn_einvoice_cqt_apply(connection, sent, outcome)
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit  # one message per transaction (scheduled action)

    def _l10n_vn_einvoice_cqt_apply(self, connection, sent, outcome):
        """Record the replies; a 202 issues the invoice with its code, a 204 (or a 999 error) refuses it."""
        self.ensure_one()
        logged = connection._log_replies(outcome, move=self)
        final = outcome.final
        if final is None and outcome.rejected_technically:
            final = outcome.receipt
        if final is None:
            return
        record = logged.get(final.message_id)
        if final.type is MessageType.CODED_INVOICE:
            self._l10n_vn_einvoice_cqt_coded(connection, sent, final, record)
        else:
            reasons = (record.reasons if record else '') or (record.summary if record else '')
            self.with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_cqt_state': 'refused',
                'l10n_vn_einvoice_error': _('The tax authority refused to code the e-invoice: %s', reasons),
            })
            self.message_post(body=_('The tax authority refused to code e-invoice %(name)s: %(reasons)s. Correct the '
                                     'invoice and issue it again: it keeps its number.',
                                     name=self.l10n_vn_einvoice_name, reasons=html_escape(reasons)))

    def _l10n_vn_einvoice_cqt_data_key(self):
        """(template, symbol, number) of an invoice as the tax authority names it in a 204 (``DSHDon/HDon``)."""
        self.ensure_one()
        series = self.l10n_vn_einvoice_series_id
        return series.template_id.code or '', series.symbol or '', str(self.l10n_vn_einvoice_number or '')

    def _l10n_vn_einvoice_cqt_data_refusals(self, connection, outcome, record):
        """{invoice id: reasons} of the invoices of a message 203 (``self``) the tax authority refused: the
        invoices a 204 lists with reasons (the others were received); every invoice when the message itself
        is refused (a 999 error, reasons for the whole message, an untrusted notice, a list naming none of
        them)."""
        everyone = dict.fromkeys(self.ids, record.reasons or record.summary)
        final = outcome.final
        notice = final.notice() if final is not None and final.type is MessageType.DATA_CHECK_RESULT else None
        if notice is None or notice.reasons or notice.check_result is not CheckResult.INVALID_WITHOUT_CODE \
                or connection._reply_signature_problems(final):
            return everyone

        def number(value):
            return value.lstrip('0') if value.isdigit() else value

        listed = {(i.template, i.symbol, number(i.number)): '\n'.join(str(r) for r in i.reasons) or record.summary
                  for i in notice.invoices if not i.accepted}
        refused = {}
        for move in self:
            template, symbol, num = move._l10n_vn_einvoice_cqt_data_key()
            reasons = listed.get((template, symbol, number(num)))
            if reasons is not None:
                refused[move.id] = reasons
        return refused or everyone

    def _l10n_vn_einvoice_cqt_data_apply(self, connection, sent, outcome):
        """Record the replies to a message 203 carrying the data of these invoices without code: a 204 with
        no refusal closes them all; a 204 refusing some of them (listed with their reasons) leaves those to
        correct and send again, with the tax authority's words, and closes the others; a refusal of the
        whole message (or a 999 error) leaves them all to send again."""
        record = connection._log_final_reply(outcome, move=self)
        if record is None:
            return
        refused = {} if record.result == 'ok' else self._l10n_vn_einvoice_cqt_data_refusals(connection, outcome,
                                                                                            record)
        internal = self.with_context(l10n_vn_einvoice_internal=True, mail_notrack=True)
        ok = internal.filtered(lambda m: m.id not in refused)
        ok.write({'l10n_vn_einvoice_cqt_state': 'data_ok', 'l10n_vn_einvoice_error': False})
        bodies, events = {}, self.env['l10n_vn_einvoice.event']
        for move in ok:
            bodies[move.id] = plaintext2html(_('The tax authority received the data of e-invoice %(name)s '
                                               '(%(notice)s, message %(message)s).', name=move.l10n_vn_einvoice_name,
                                               notice=record.summary, message=sent.message_id))
        for move in internal - ok:
            reasons = refused[move.id]
            move.write({
                'l10n_vn_einvoice_cqt_state': 'data_refused',
                'l10n_vn_einvoice_error': _('The tax authority refused the data of the e-invoice: %s', reasons),
            })
            bodies[move.id] = plaintext2html(_(
                'The tax authority refused the data of e-invoice %(name)s: %(reasons)s. Correct the cause and send '
                'the data again ("Send the data to the tax authority").', name=move.l10n_vn_einvoice_name,
                reasons=reasons))
        self._message_log_batch(bodies=bodies)
        if len(self) > 1:  # the message's own rows carry no invoice: each invoice gets its outcome
            secrets = tuple(s for s in (connection.sudo().password,) if s)
            events = events.with_company(connection.company_id)
            if ok:
                events._log('tax_authority', ok, message=masked(_(
                    'Data received by the tax authority (message %(message)s, %(notice)s)', message=sent.message_id,
                    notice=record.summary), secrets), channel=connection.url)
            for move in internal - ok:
                events._log('tax_authority', move, outcome='failed', channel=connection.url, message=masked(_(
                    'Data refused by the tax authority (message %(message)s): %(reasons)s', message=sent.message_id,
                    reasons=refused[move.id]), secrets))

    def _l10n_vn_einvoice_cqt_envelopes(self, connection):
        """These invoices' signed XML in groups for messages 203: at most the connection's number of invoices,
        at most 2 MB a message; [(invoices, [xml…])…] in their order."""
        groups = []
        size = max(1, connection.data_batch_size)
        for start in range(0, len(self), size):
            chunk = self[start:start + size]
            xmls = [m.l10n_vn_einvoice_xml_id.raw for m in chunk]
            index = 0
            for group in batches(xmls):
                groups.append((chunk[index:index + len(group)], group))
                index += len(group)
        return groups

    def _l10n_vn_einvoice_cqt_build_data(self, connection, moves, xmls):
        """The message 203 of ``moves``; an invoice that cannot travel (a problem the library names) is left
        out with the problem on it. Returns (raw or None, the invoices it carries)."""
        def build(items):
            return build_message(MessageType.INVOICE_WITHOUT_CODE, items, sender=connection._sender_code(),
                                 receiver=connection.receiver_code, tax_code=connection.company_id.vat)
        try:
            return build(xmls), moves
        except EInvoiceError:
            if len(moves) == 1:
                raise
        good, good_xmls = self.browse(), []
        for move, xml in zip(moves, xmls):  # which invoice: each alone
            try:
                build([xml])
            except EInvoiceError as e:
                move.with_context(l10n_vn_einvoice_internal=True).write({
                    'l10n_vn_einvoice_error': _('The message to the tax authority cannot be made: %s',
                                                connection._error_text(e))})
                continue
            good |= move
            good_xmls.append(xml)
        return (build(good_xmls), good) if good else (None, good)

    def _l10n_vn_einvoice_cqt_send_data(self, commit=False, wait=True):
        """Send the data of these invoices without code in messages 203 (per company and connection, at most
        the connection's number of invoices each, every message kept with its MTDiep before it leaves), then
        follow the replies. An invoice goes in one message; a refused one goes again, in a new message: the
        tax authority did not record it. Invoices another worker is sending are left to it."""
        moves = self.filtered(lambda m: m.l10n_vn_einvoice_cqt_state in ('data_pending', 'data_refused'))
        locked = moves._l10n_vn_einvoice_lock()
        # locked and read again: one that another worker has just put in a message is not put in a second one
        moves = moves.filtered(lambda m: m.id in locked and m.l10n_vn_einvoice_cqt_state in ('data_pending',
                                                                                            'data_refused'))
        per_connection = {}
        for move in moves:
            connection = move._l10n_vn_einvoice_cqt_connection(move.l10n_vn_einvoice_series_id, coded=False)
            if connection is None or connection.registration_state != 'accepted' or \
                    not move.l10n_vn_einvoice_xml_id.raw:
                continue
            per_connection.setdefault(connection, []).append(move.id)
        sent = self.browse()
        for connection, ids in per_connection.items():
            try:
                groups = self.browse(ids)._l10n_vn_einvoice_cqt_envelopes(connection)
            except EInvoiceError as e:  # an invoice over 2 MB alone: never sendable
                self.browse(ids).with_context(l10n_vn_einvoice_internal=True).write({
                    'l10n_vn_einvoice_error': _('The message to the tax authority cannot be made: %s',
                                                connection._error_text(e))})
                continue
            for group, xmls in groups:
                try:
                    raw, carried = self._l10n_vn_einvoice_cqt_build_data(connection, group, xmls)
                except EInvoiceError as e:
                    group.with_context(l10n_vn_einvoice_internal=True).write({
                        'l10n_vn_einvoice_error': _('The message to the tax authority cannot be made: %s',
                                                    connection._error_text(e))})
                    continue
                if raw is None:
                    continue
                message = connection._log_sent(raw, move=carried)
                carried.with_context(l10n_vn_einvoice_internal=True, mail_notrack=True).write({
                    'l10n_vn_einvoice_cqt_state': 'data_sent', 'l10n_vn_einvoice_cqt_message': message.message_id})
                if len(carried) > 1:
                    self.env['l10n_vn_einvoice.event'].with_company(connection.company_id)._log(
                        'tax_authority', carried, channel=connection.url, message=_(
                            'Data sent to the tax authority in message 203 %(message)s (%(count)s invoices)',
                            message=message.message_id, count=len(carried)))
                sent |= carried
        if commit and sent:
            self.env.cr.commit()  # pylint: disable=invalid-commit  # the messages are safe before they leave
        sent._l10n_vn_einvoice_cqt_exchange(commit=commit, wait=wait)
        return sent

    def _l10n_vn_einvoice_cqt_coded(self, connection, sent, reply, record):
        coded = reply.coded_invoice()
        sent_hdon = parse_message(base64.b64decode(sent.with_context(bin_size=False).xml)).item_bytes()[0]
        problems = coded_invoice_problems(sent_hdon, coded)
        anchors = connection._trusted_certificates()
        report = signing.verify_invoice(coded, trusted_certificates=anchors or None)
        authority = [s for s in report.signatures if s.role == 'authority']
        if anchors and not all(s.trusted for s in authority):
            problems.append(_('the tax authority\'s signature does not chain to the tax authority CA of connection '
                              '%s', connection.name))
        if problems:
            if record:
                record.write({'result': 'refused', 'reasons': '\n'.join(problems)})
            self.with_context(l10n_vn_einvoice_internal=True).write({
                'l10n_vn_einvoice_error': _('The coded e-invoice returned cannot be accepted: %s', '; '.join(problems))})
            return
        series = self.l10n_vn_einvoice_series_id
        filename = (f'{self.company_id.vat}_{series.name.replace("/", "-")}_{self.l10n_vn_einvoice_number:08d}'
                    '.xml')
        self._l10n_vn_einvoice_mark_issued({
            'l10n_vn_einvoice_authority_code': report.mccqt, 'l10n_vn_einvoice_cqt_state': 'coded',
        }, coded, filename, signed_by=report.seller.subject if report.seller else None)

    # ------------------------------------------------------------------
    # Buttons and scheduled action
    # ------------------------------------------------------------------

    def action_l10n_vn_einvoice_cqt_check(self):
        """Send again if it never arrived, and read the tax authority's replies."""
        self._l10n_vn_einvoice_check_access()
        waiting = self.filtered(lambda m: m.l10n_vn_einvoice_cqt_state in SENT_STATES)
        if not waiting:
            raise UserError(_('None of these invoices is waiting for the tax authority.'))
        data = waiting.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'data_sent')
        waiting._l10n_vn_einvoice_cqt_exchange()
        if data:
            return data._l10n_vn_einvoice_cqt_notify(data)
        still = waiting.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'waiting')
        return {
            'type': 'ir.actions.client', 'tag': 'display_notification',
            'params': {'type': 'warning' if still else 'success', 'title': _('Tax authority'),
                       'message': _('%(coded)s coded, %(refused)s refused, %(waiting)s still waiting.',
                                    coded=len(waiting.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'coded')),
                                    refused=len(waiting.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'refused')),
                                    waiting=len(still)),
                       'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}},
        }

    def _l10n_vn_einvoice_cqt_notify(self, todo):
        """What became of the data of ``todo`` (a notification)."""
        ok = todo.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'data_ok')
        refused = todo.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'data_refused')
        waiting = todo.filtered(lambda m: m.l10n_vn_einvoice_cqt_state == 'data_sent')
        return {
            'type': 'ir.actions.client', 'tag': 'display_notification',
            'params': {'type': 'success' if len(ok) == len(todo) else 'warning', 'title': _('Tax authority'),
                       'message': _('%(ok)s received, %(refused)s refused, %(waiting)s waiting, %(unsent)s not sent.',
                                    ok=len(ok), refused=len(refused), waiting=len(waiting),
                                    unsent=len(todo - ok - refused - waiting)),
                       'sticky': len(ok) != len(todo),
                       'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}},
        }

    def action_l10n_vn_einvoice_cqt_send_data(self):
        """Send the data of invoices without code now (or again, once a refusal is corrected)."""
        self._l10n_vn_einvoice_check_access()
        todo = self.filtered(lambda m: m.l10n_vn_einvoice_cqt_state in ('data_pending', 'data_refused'))
        if not todo:
            raise UserError(_('None of these invoices has data to send to the tax authority.'))
        # the messages committed before they leave (outside tests): after a crash, the very same ones are sent
        todo._l10n_vn_einvoice_cqt_send_data(commit=self._l10n_vn_einvoice_provider_can_commit())
        return self._l10n_vn_einvoice_cqt_notify(todo)

    @api.model
    def _cron_l10n_vn_einvoice_cqt(self, batch_size=200):
        """Follow the messages out (200, and 203 carrying several invoices each) and the summary tables sent."""
        moves = self.search([('l10n_vn_einvoice_cqt_state', '=', 'waiting')], limit=batch_size,
                            order='invoice_date, id')
        # one invoice per message 203 waiting: its exchange follows the whole message
        envelopes = self._read_group([('l10n_vn_einvoice_cqt_state', '=', 'data_sent')],
                                     ['l10n_vn_einvoice_cqt_message'], ['id:min'], limit=batch_size)
        moves |= self.browse([first for _code, first in envelopes])
        moves._l10n_vn_einvoice_cqt_exchange(commit=self._can_commit(), wait=False)
        self.env['l10n_vn_einvoice.notice']._cron_l10n_vn_einvoice_tax_notices()
        self.env['l10n_vn_einvoice.summary']._cron_l10n_vn_einvoice_summaries()

    @api.model
    def _cron_l10n_vn_einvoice_cqt_data(self, batch_size=5000):
        """Daily: the data of the invoices without code issued and not sent yet, in messages 203 (see
        ``_l10n_vn_einvoice_cqt_send_data``). Reports its progress, so that Odoo runs it again at once while
        some remain (ir.cron's batch protocol)."""
        domain = [('l10n_vn_einvoice_cqt_state', '=', 'data_pending'), ('l10n_vn_einvoice_error', '=', False)]
        moves = self.search(domain, limit=batch_size, order='l10n_vn_einvoice_issue_datetime, id')
        if not moves:
            return
        sent = moves._l10n_vn_einvoice_cqt_send_data(commit=self._can_commit(), wait=False)
        # those that cannot go (no connection, a problem now on them) are not counted: the job would loop on them
        remaining = self.search_count(domain) if sent else 0
        self.env['ir.cron']._notify_progress(done=len(sent), remaining=remaining)
