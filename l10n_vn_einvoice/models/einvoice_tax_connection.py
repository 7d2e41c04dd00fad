"""The company's connection to the tax authority (through a T-VAN or directly) and its registration.

The registration is the form 01/ĐKTĐ-HĐĐT (message 100), built from the company's data and the
signer's certificate by the library, signed with the signer, sent, and followed by the tax authority's
replies (999, 102, 103). Every message and reply is kept in ``l10n_vn_einvoice.tax.message`` with the
XML as it travelled. The sent message is stored before it leaves: after a timeout or a crash it is
looked up at the T-VAN and, if absent, sent again with the same bytes (the same MTDiep), never as a
new message. Credentials are readable by administrators only and never written to a log or a message.
"""

import base64
import logging
from urllib.parse import urlsplit

import requests

from cryptography import x509

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from vn_einvoice.errors import EInvoiceError
from vn_einvoice.errors import ValidationError as LibValidationError
from vn_einvoice.providers import ProviderError, ProviderUnknownOutcome, RetryPolicy, Timeouts
from vn_einvoice.taxauthority import (
    CertificateEntry,
    InvoiceUse,
    MessageType,
    Registration,
    build_message,
    build_registration_xml,
    parse_message,
    party_code,
    sign_registration,
    verify_authority_signature,
)
from vn_einvoice.taxauthority.envelope import MAX_COUNT
from vn_einvoice.taxauthority.transport import Exchange, NoReplyYet, TvanClient

from .einvoice_event import masked

_logger = logging.getLogger(__name__)

REGISTRATION_STATES = [
    ('none', 'Not registered'),
    ('waiting', 'Waiting for the tax authority'),
    ('accepted', 'Accepted'),
    ('refused', 'Refused'),
]


class L10nVnEinvoiceTaxConnection(models.Model):
    _name = 'l10n_vn_einvoice.tax.connection'
    _description = 'Connection to the tax authority'
    _order = 'company_id, sequence, id'
    _check_company_auto = True

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    kind = fields.Selection([('tvan', 'Through a T-VAN'), ('direct', 'Direct connection')], required=True,
                            default='tvan',
                            help='A company that is not itself connected to the tax authority sends through a '
                                 'T-VAN (its messages carry its tax code); a directly connected organisation '
                                 'sends as K + its tax code.')
    url = fields.Char(string='Service URL', required=True,
                      help='Address of the T-VAN\'s API, e.g. http://127.0.0.1:8460 for the local sandbox.')
    username = fields.Char(string='User')
    password = fields.Char(groups='base.group_system', copy=False)
    receiver_code = fields.Char(string='Receiver code', required=True, default='TCT',
                                help='MNNhan: TCT (the tax authority), or the T-VAN\'s code (V + its tax code).')
    authority_ca = fields.Text(
        string='Tax authority CA (PEM)',
        help='Certificate(s) of the CA that issues the tax authority\'s certificates. Replies are trusted only '
             'when their signature chains to it; empty: replies are read but their signer is not verified.')
    connect_timeout = fields.Float(string='Connect timeout (s)', default=10.0)
    read_timeout = fields.Float(string='Read timeout (s)', default=30.0)
    retry_attempts = fields.Integer(string='Attempts', default=4)
    poll_interval = fields.Float(string='Poll every (s)', default=1.0)
    wait_seconds = fields.Float(string='Wait for replies (s)', default=20.0,
                                help='How long a button waits for the replies before leaving the rest to later.')
    # Decision 1271/QĐ-CT §I.IV.5 (spec_xml_qr.md §2.1, §2.3: source S1) sets no number of invoices per message
    # 203: only SLuong (7 digits, MAX_COUNT) and 2 MB per message (MAX_XML_BYTES, enforced by splitting further,
    # envelope.batches). 500, our choice, keeps one message, its 204 and one transaction small.
    data_batch_size = fields.Integer(
        string='Invoices per message 203', default=500,
        help='The data of invoices without code go to the tax authority in messages 203 of at most this many '
             'invoices (and at most 2 MB each, the tax authority\'s limit).')
    # registration 01/ĐKTĐ-HĐĐT
    signer_id = fields.Many2one('l10n_vn_einvoice.signer', string='Registered certificate', check_company=True,
                                help='The signer whose certificate is registered and signs the form. Empty: the '
                                     'company\'s default signer.')
    contact_name = fields.Char(string='Contact person')
    contact_email = fields.Char(string='Contact e-mail')
    contact_phone = fields.Char(string='Contact phone')
    place = fields.Char(help='Địa danh written on the form, e.g. Thành phố Hồ Chí Minh.')
    with_code = fields.Boolean(string='Invoices with code', default=True)
    without_code = fields.Boolean(string='Invoices without code')
    summary_table = fields.Boolean(
        string='Data by summary table',
        help='Registered to send the data of invoices without code by summary table 01/TH-HĐĐT (message 400: '
             'petrol retail, telecommunications, transport, insurance, banking… — Decree 123/2020 Art. 22.3) '
             'instead of each invoice the day it is issued (message 203).')
    use_vat = fields.Boolean(string='VAT invoices', default=True)
    use_sales = fields.Boolean(string='Sales invoices')
    registration_state = fields.Selection(REGISTRATION_STATES, string='Registration', default='none',
                                          required=True, readonly=True, copy=False)
    registration_message = fields.Char(string='Registration message', readonly=True, copy=False)
    registration_reason = fields.Text(string='Reasons', readonly=True, copy=False)
    registration_date = fields.Datetime(string='Registered on', readonly=True, copy=False)
    message_ids = fields.One2many('l10n_vn_einvoice.tax.message', 'connection_id', string='Messages')
    message_count = fields.Integer(compute='_compute_message_count')

    @api.depends('message_ids')
    def _compute_message_count(self):
        for connection in self:
            connection.message_count = len(connection.message_ids)

    @api.constrains('active', 'company_id')
    def _check_one_per_company(self):
        for connection in self.filtered('active'):
            if self.search_count([('company_id', '=', connection.company_id.id), ('active', '=', True),
                                  ('id', '!=', connection.id)]):
                raise ValidationError(_('A company has one active connection to the tax authority.'))

    @api.constrains('connect_timeout', 'read_timeout', 'retry_attempts', 'poll_interval', 'wait_seconds',
                    'data_batch_size')
    def _check_numbers(self):
        for connection in self:
            if min(connection.connect_timeout, connection.read_timeout, connection.poll_interval) <= 0 \
                    or connection.wait_seconds < 0 or connection.retry_attempts < 1:
                raise ValidationError(_('Timeouts and the poll interval must be positive, attempts at least 1.'))
            if not 1 <= connection.data_batch_size <= MAX_COUNT:
                raise ValidationError(_('A message 203 carries from 1 to %s invoices.', MAX_COUNT))

    @api.constrains('authority_ca')
    def _check_authority_ca(self):
        for connection in self.filtered('authority_ca'):
            if not connection._trusted_certificates():
                raise ValidationError(_('The tax authority CA must be one or more PEM certificates '
                                        '(-----BEGIN CERTIFICATE----- …).'))

    # ------------------------------------------------------------------
    # The library's transport
    # ------------------------------------------------------------------

    def _trusted_certificates(self):
        self.ensure_one()
        try:
            return x509.load_pem_x509_certificates((self.authority_ca or '').encode())
        except ValueError:
            return []

    def _sender_code(self):
        self.ensure_one()
        vat = self.company_id.vat or ''
        if not vat:
            raise UserError(_('Company %s has no tax code (MST): the tax authority cannot be addressed.',
                              self.company_id.name))
        return party_code(vat, 'K' if self.kind == 'direct' else '')

    def _client(self):
        """A client of the T-VAN (a context manager); runs with the stored credentials, never shown."""
        self.ensure_one()
        rec = self.sudo()
        return TvanClient(rec.url.strip(), rec.username or '', rec.password or '',
                          timeouts=Timeouts(connect=rec.connect_timeout, read=rec.read_timeout),
                          retry=RetryPolicy(attempts=rec.retry_attempts, backoff=0.2, max_backoff=5.0,
                                            max_retry_after=max(rec.read_timeout, 1.0)))

    def _exchange(self, client, wait=True):
        return Exchange(client, interval=self.poll_interval, timeout=self.wait_seconds if wait else 0.0)

    def _error_text(self, error):
        if isinstance(error, ProviderError):
            return self.env['l10n_vn_einvoice.provider']._error_text(error)
        if isinstance(error, LibValidationError):
            return '\n'.join(str(p) for p in error.problems)
        return str(error)

    # ------------------------------------------------------------------
    # The message log
    # ------------------------------------------------------------------

    def _log_event(self, record, outcome='done', move=None, text=''):
        """The user log's row of a message to or from the tax authority: who, when, the outcome and the
        XML (masked, bounded; the whole XML stays in the message log). ``move``: its invoice, or the
        invoices of a message 203 (one row for the message, without invoice: each invoice gets its own rows
        from the caller, without the XML)."""
        if move is not None and len(move) > 1:
            move = None
        raw = base64.b64decode(record.with_context(bin_size=False).xml or b'')
        xml = raw.decode('utf-8', 'replace')
        secrets = tuple(s for s in (self.sudo().password,) if s)
        kind = dict(record._fields['message_type']._description_selection(self.env))[record.message_type]
        message = _('%(direction)s %(kind)s, MTDiep %(id)s', kind=kind, id=record.message_id,
                    direction=_('Sent') if record.direction == 'out' else _('Received'))
        if record.reply_to:
            message += _(' (answers %s)', record.reply_to)
        if text or record.summary or record.reasons:
            message += ': ' + masked('\n'.join(t for t in (text, record.summary, record.reasons) if t), secrets)
        self.env['l10n_vn_einvoice.event'].with_company(self.company_id)._log(
            'tax_authority', move or None, outcome=outcome, message=message, channel=self.url,
            **{'request' if record.direction == 'out' else 'response': masked(xml, secrets)})

    @staticmethod
    def _move_links(move):
        """The invoice fields of a message record: ``move`` (one invoice, several, or None)."""
        if not move:
            return {'move_id': False}
        return {'move_id': move.id if len(move) == 1 else False, 'move_ids': [Command.set(move.ids)]}

    def _log_sent(self, raw, move=None):
        self.ensure_one()
        header = parse_message(raw).header
        record = self.env['l10n_vn_einvoice.tax.message'].sudo().create({
            'company_id': self.company_id.id, 'connection_id': self.id, **self._move_links(move),
            'direction': 'out', 'message_type': str(int(header.type)), 'message_id': header.message_id,
            'summary': _('Sent'), 'xml': base64.b64encode(raw),
        })
        self._log_event(record, move=move)
        return record

    def _log_failure(self, sent, error, move=None):
        """A message that could not be delivered (refused by the T-VAN, wrong account…), in the user log."""
        self._log_event(sent, outcome='failed', move=move, text=self._error_text(error))

    def _reply_facts(self, reply):
        """(result, summary, reasons) of a reply, with its signature judged against the trusted CA."""
        if reply.message is None:
            return 'refused', _('Unreadable reply'), '\n'.join(reply.problems)
        if reply.type is MessageType.TECHNICAL_RECEIPT:
            receipt = reply.receipt()
            if receipt.ok:
                return 'ok', _('Received by the tax authority'), ''
            return 'refused', _('Refused by the tax authority\'s technical check'), \
                '\n'.join(str(r) for r in receipt.reasons)
        notice = reply.notice()
        if notice is not None:
            report = verify_authority_signature(reply.notice_bytes(),
                                                trusted_certificates=self._trusted_certificates() or None)
            if not report.valid:
                return 'refused', _('The tax authority\'s signature is not valid or not trusted'), \
                    '\n'.join(report.all_problems())
            result = 'ok' if notice.accepted else 'refused'
            return result, f'{notice.form.value} {notice.number}', '\n'.join(notice.all_reasons())
        return 'info', '', ''

    def _reply_signature_problems(self, reply):
        """Why a notice of the tax authority is not to be believed (signature, trust), or []."""
        self.ensure_one()
        report = verify_authority_signature(reply.notice_bytes(),
                                            trusted_certificates=self._trusted_certificates() or None)
        return [] if report.valid else report.all_problems()

    def _log_replies(self, outcome, move=None):
        """Record the replies not recorded yet; returns {reply MTDiep: tax.message}."""
        self.ensure_one()
        messages = self.env['l10n_vn_einvoice.tax.message'].sudo()
        known = {m.message_id: m for m in messages.search([
            ('reply_to', '=', outcome.message_id), ('direction', '=', 'in')])}
        for reply in outcome.replies:
            if not reply.message_id or reply.message_id in known:
                continue
            result, summary, reasons = self._reply_facts(reply)
            known[reply.message_id] = messages.create({
                'company_id': self.company_id.id, 'connection_id': self.id, **self._move_links(move),
                'direction': 'in', 'message_type': str(int(reply.type)), 'message_id': reply.message_id,
                'reply_to': reply.reply_to, 'result': result, 'summary': summary, 'reasons': reasons,
                'xml': base64.b64encode(reply.raw),
            })
            self._log_event(known[reply.message_id], outcome='failed' if result == 'refused' else 'done', move=move)
        return known

    def _log_final_reply(self, outcome, move=None):
        """Record the replies; the record of the one that ends the exchange (the final reply, or a 999
        refusing the message itself), or None while the tax authority has not decided."""
        logged = self._log_replies(outcome, move=move)
        final = outcome.final
        if final is None and outcome.rejected_technically:
            final = outcome.receipt
        return logged.get(final.message_id) if final is not None else None

    # ------------------------------------------------------------------
    # Registration 01/ĐKTĐ-HĐĐT
    # ------------------------------------------------------------------

    def _registration(self, certificate):
        """The form from the company's data and the registered certificate (library dataclass)."""
        self.ensure_one()
        company = self.company_id
        missing = [label for label, value in (
            (_('tax office code'), company.l10n_vn_einvoice_tax_office_code),
            (_('tax office'), company.l10n_vn_einvoice_tax_office_name),
            (_('contact person'), self.contact_name), (_('contact e-mail'), self.contact_email or company.email),
            (_('contact phone'), self.contact_phone or company.phone), (_('place'), self.place or company.city),
        ) if not value]
        if missing:
            raise UserError(_('The registration form needs: %s.', ', '.join(missing)))
        uses = frozenset(u for u, on in ((InvoiceUse.VAT, self.use_vat), (InvoiceUse.SALES, self.use_sales)) if on)
        address = ', '.join(p for p in (company.street, company.street2, company.city) if p)
        return Registration(
            taxpayer_name=company.name, tax_code=company.vat, tax_office_code=company.l10n_vn_einvoice_tax_office_code,
            tax_office_name=company.l10n_vn_einvoice_tax_office_name, contact_name=self.contact_name,
            contact_address=address or company.name, contact_email=self.contact_email or company.email,
            contact_phone=self.contact_phone or company.phone, place=self.place or company.city,
            date=fields.Date.context_today(self), certificates=(CertificateEntry.of(certificate),),
            kind=1 if self.registration_state in ('none', 'refused') else 2,
            with_code=self.with_code, without_code=self.without_code, uses=uses,
            full_data=not (self.without_code and self.summary_table))

    def action_register(self):
        """Build, sign and send the registration 01/ĐKTĐ-HĐĐT, then follow the replies."""
        self.ensure_one()
        if not self.env.user.has_group('l10n_vn_einvoice.group_l10n_vn_einvoice_manager'):
            raise UserError(_('Only e-invoice managers may register the company with the tax authority.'))
        if self.registration_state == 'waiting':
            raise UserError(_('A registration is already waiting for the tax authority: check its replies first.'))
        if not (self.signer_id or self.company_id.l10n_vn_einvoice_signer_id):
            raise UserError(_('Choose the signer whose certificate is registered.'))
        try:
            return self._sign_and_send_registration()
        except EInvoiceError as e:
            raise UserError(_('The registration form cannot be made: %s', self._error_text(e))) from None

    def _sign_and_send_registration(self):
        """The registration without the manager check (the demo set-up runs as the system)."""
        signer = self.signer_id or self.company_id.l10n_vn_einvoice_signer_id
        with signer.sudo()._open_signer() as lib_signer:
            signed = sign_registration(build_registration_xml(self._registration(lib_signer.certificate)), lib_signer)
        raw = build_message(MessageType.REGISTRATION, [signed], sender=self._sender_code(),
                            receiver=self.receiver_code, tax_code=self.company_id.vat)
        sent = self._log_sent(raw)
        self.write({'registration_state': 'waiting', 'registration_message': sent.message_id,
                    'registration_reason': False})
        return self._follow_registration(sent, first=True)

    @api.model
    def _l10n_vn_einvoice_demo_sandbox(self, connection_ids):
        """DEMO ONLY: connect the demo company to the tax-authority sandbox on loopback (scripts/run starts
        it): trust the sandbox's TEST CA (fetched from the sandbox, for the connection and the company's
        trusted CAs, so that coded invoices verify) and register the company (01/ĐKTĐ-HĐĐT). When the
        sandbox does not answer, nothing is sent: the registration stays pending, the install goes on."""
        for connection in self.browse(connection_ids).sudo():
            if urlsplit(connection.url).hostname not in ('127.0.0.1', 'localhost', '::1'):
                raise UserError(_('The demo set-up only connects to a sandbox on this machine.'))
            try:
                response = requests.get(connection.url.rstrip('/') + '/tvan/v1/ca.pem', timeout=3)
                response.raise_for_status()
                pem = response.text
                x509.load_pem_x509_certificate(pem.encode())
            except (requests.RequestException, ValueError) as e:
                _logger.info('Demo: the tax-authority sandbox at %s does not answer (%s): registration pending '
                             '(start it with scripts/run)', connection.url, type(e).__name__)
                continue
            company = connection.company_id
            certificates = self.env['certificate.certificate'].sudo()
            name = 'CỤC THUẾ sandbox CA - TEST, never trust it for real invoices'
            old = company.l10n_vn_einvoice_trusted_ca_ids.filtered(lambda c, n=name: c.name == n)
            company.l10n_vn_einvoice_trusted_ca_ids = [Command.unlink(c.id) for c in old] + [Command.link(
                certificates.create({'name': name, 'content': base64.b64encode(pem.encode()),
                                     'company_id': company.id}).id)]
            connection.authority_ca = pem
            if connection.registration_state == 'waiting':
                connection.write({'registration_state': 'refused',
                                  'registration_reason': 'Demo: the sandbox was restarted, registered again'})
            connection._sign_and_send_registration()
            _logger.info('Demo: registration with the tax-authority sandbox at %s: %s', connection.url,
                         connection.registration_state)

    def action_check_registration(self):
        """Look the registration up at the T-VAN (sending it again, same bytes, if it never arrived) and
        read its replies."""
        self.ensure_one()
        sent = self.message_ids.filtered(lambda m: m.direction == 'out' and m.message_id == self.registration_message)
        if self.registration_state != 'waiting' or not sent:
            raise UserError(_('No registration is waiting for the tax authority.'))
        return self._follow_registration(sent[0], first=False)

    def _follow_registration(self, sent, first):
        raw = base64.b64decode(sent.with_context(bin_size=False).xml)
        try:
            with self._client() as client:
                if not first and client.status(sent.message_id) is None:
                    client.send(raw)  # never arrived: the same bytes again
                exchange = self._exchange(client)
                outcome = exchange.send(raw) if first else exchange.wait(sent.message_id, MessageType.REGISTRATION)
        except NoReplyYet:
            return self._notify('warning', _('Registration sent'), _(
                'The tax authority has not answered yet. Check its replies later with "Check replies"; the form '
                'is not sent twice.'))
        except ProviderUnknownOutcome as e:
            _logger.info('registration %s: %s', sent.message_id, e)
            self._log_failure(sent, e)
            return self._notify('warning', _('Registration: no answer'), _(
                'It is unknown whether the T-VAN received the form (no answer in time). "Check replies" looks it '
                'up and sends the same form again only if it never arrived.'))
        except ProviderError as e:
            self._log_failure(sent, e)
            self.write({'registration_state': 'refused', 'registration_reason': self._error_text(e)})
            return self._notify('danger', _('Registration not sent'), self._error_text(e))
        logged = self._log_replies(outcome)
        final = outcome.final or outcome.receipt
        record = logged.get(final.message_id) if final else None
        if record is None or record.result == 'info':
            return self._notify('warning', _('Registration sent'), _('The tax authority has not decided yet.'))
        if record.result == 'ok' and final.type is MessageType.REGISTRATION_RESULT:
            self.write({'registration_state': 'accepted', 'registration_date': fields.Datetime.now(),
                        'registration_reason': False})
            return self._notify('success', _('Registration accepted'), _('The tax authority accepted the '
                                                                          'registration (%s).', record.summary))
        self.write({'registration_state': 'refused', 'registration_reason': record.reasons or record.summary})
        return self._notify('danger', _('Registration refused'), record.reasons or record.summary)

    def _notify(self, kind, title, message):
        return {'type': 'ir.actions.client', 'tag': 'display_notification',
                'params': {'type': kind, 'title': title, 'message': message, 'sticky': kind != 'success',
                           'next': {'type': 'ir.actions.client', 'tag': 'soft_reload'}}}

    def action_view_messages(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window', 'name': _('Messages'), 'res_model': 'l10n_vn_einvoice.tax.message',
            'view_mode': 'list,form', 'domain': [('connection_id', '=', self.id)],
        }

