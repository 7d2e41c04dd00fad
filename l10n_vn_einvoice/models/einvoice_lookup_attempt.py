"""Public lookup (seller MST + secret code) and verification of e-invoices: the server side.

Guessing is throttled: every failed lookup is recorded with the caller's IP address and the MST
asked for; too many failures in a window refuse further attempts (from that IP, or for that MST)
for a while, with the same answer whatever the MST. Codes are compared in constant time.
"""

import hashlib
import logging
import re
import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import consteq
from odoo.tools.misc import hmac as hmac_tool

from vn_einvoice import lifecycle
from vn_einvoice.codes import normalize_tax_code
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.signing import verify_invoice
from vn_einvoice.xml import parse_xml

from ..tools.einvoice_display import comparison, signature_boxes, summary

_logger = logging.getLogger(__name__)

PARAM_PREFIX = 'l10n_vn_einvoice.public_'
DEFAULTS = {
    'window_minutes': 15,  # failures counted over this window…
    'max_failures_ip': 10,  # …per IP address
    'max_failures_mst': 30,  # …per seller MST asked for (whatever the IP)
    'max_verify_ip': 30,  # verifications per IP address over the window
}
TOKEN_SECONDS = 3600  # download links of a successful lookup stay valid one hour
TOKEN_SCOPE = 'l10n_vn_einvoice.lookup_download'
CODE_RE = re.compile(r'[^0-9A-Z]')
ISSUED = tuple(s.value for s in lifecycle.ISSUED_STATES)


class EinvoiceLookupAttempt(models.Model):
    _name = 'l10n_vn_einvoice.lookup.attempt'
    _description = 'E-invoice public lookup attempt'
    _order = 'id desc'

    kind = fields.Selection([('lookup', 'Lookup'), ('verify', 'Verification')], required=True, default='lookup')
    ip = fields.Char(index=True, readonly=True)
    tax_code = fields.Char(index=True, readonly=True)
    success = fields.Boolean(readonly=True)

    # ------------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------------

    @api.model
    def _setting(self, key):
        value = self.env['ir.config_parameter'].sudo().get_param(PARAM_PREFIX + key)
        try:
            return int(value) if value else DEFAULTS[key]
        except ValueError:
            return DEFAULTS[key]

    @api.model
    def _window_start(self):
        return fields.Datetime.now() - timedelta(minutes=self._setting('window_minutes'))

    # ------------------------------------------------------------------
    # Throttling
    # ------------------------------------------------------------------

    @api.model
    def _is_throttled(self, ip, tax_code=None, kind='lookup'):
        """True when this IP (or, for lookups, this MST) has failed too often lately."""
        since = self._window_start()
        attempts = self.sudo()
        if kind == 'verify':
            return attempts.search_count([('kind', '=', 'verify'), ('ip', '=', ip), ('create_date', '>=', since)]) \
                >= self._setting('max_verify_ip')
        failed = [('kind', '=', 'lookup'), ('success', '=', False), ('create_date', '>=', since)]
        if attempts.search_count(failed + [('ip', '=', ip)]) >= self._setting('max_failures_ip'):
            return True
        return bool(tax_code) and attempts.search_count(
            failed + [('tax_code', '=', tax_code)]) >= self._setting('max_failures_mst')

    @api.model
    def _record(self, ip, tax_code=None, success=False, kind='lookup'):
        self.sudo().create({'ip': ip, 'tax_code': (tax_code or '')[:20], 'success': success, 'kind': kind})

    @api.autovacuum
    def _gc_attempts(self):
        self.sudo().search([('create_date', '<', fields.Datetime.now() - timedelta(days=2))]).unlink()

    # ------------------------------------------------------------------
    # Lookup
    # ------------------------------------------------------------------

    @api.model
    def _normalize(self, tax_code, code):
        tax_code = normalize_tax_code((tax_code or '').strip()[:20]).replace('-', '')
        code = CODE_RE.sub('', (code or '').upper())[:32]
        return tax_code, code

    @api.model
    def _lookup(self, tax_code, code, ip):
        """``(status, move)``: status ``ok``, ``not_found`` or ``throttled``; move only with ``ok``.

        The answer for a wrong code is the same whether the MST exists or not; a throttled caller is
        refused before the code is even looked at.
        """
        tax_code, code = self._normalize(tax_code, code)
        if self._is_throttled(ip, tax_code):
            return 'throttled', None
        move = self._find(tax_code, code)
        self._record(ip, tax_code, success=bool(move))
        if not move:
            return 'not_found', None
        return 'ok', move

    @api.model
    def _find(self, tax_code, code):
        Move = self.env['account.move'].sudo()
        candidates = Move.browse()
        if len(code) >= 8 and tax_code:
            candidates = Move.search([
                ('l10n_vn_einvoice_lookup_code', '=', code),
                ('l10n_vn_einvoice_state', 'in', ISSUED),
                ('move_type', 'in', ('out_invoice', 'out_refund')),
            ], limit=5)
        found = Move.browse()
        # Constant-time comparisons (also when nothing was found, against a dummy value).
        for move in candidates or [None]:
            stored_code = (move.l10n_vn_einvoice_lookup_code if move else None) or 'X' * 12
            stored_mst = normalize_tax_code(move.company_id.vat or '').replace('-', '') if move else '0' * 10
            same_code = consteq(stored_code, code or '-')
            same_mst = consteq(stored_mst, tax_code or '-')
            if move and same_code and same_mst:
                found = move
        return found

    # ------------------------------------------------------------------
    # Download links of a successful lookup (no code in the URL)
    # ------------------------------------------------------------------

    @api.model
    def _download_token(self, move, kind, expires=None):
        expires = int(expires or time.time() + TOKEN_SECONDS)
        signature = hmac_tool(self.env(su=True), TOKEN_SCOPE, f'{move.id}:{kind}:{expires}')
        return f'{expires}.{signature}'

    @api.model
    def _check_download_token(self, move_id, kind, token):
        expires, _sep, signature = (token or '').partition('.')
        if not expires.isdigit() or int(expires) < time.time():
            return False
        expected = hmac_tool(self.env(su=True), TOKEN_SCOPE, f'{move_id}:{kind}:{expires}')
        return consteq(expected, signature)

    # ------------------------------------------------------------------
    # Verification of an uploaded XML
    # ------------------------------------------------------------------

    @api.model
    def _verify_xml(self, data):
        """What the verification page shows for an uploaded XML (never raises for bad input).

        ``error``: ``refused`` (unreadable, DOCTYPE, too big…) with ``detail``; otherwise the signatures,
        the verdict (``valid``: intact and every signer verified against the trust store; ``intact_unverified``:
        intact but no trust store, who signed is not proven; ``invalid``), the trust store used (the one of the
        company here whose MST is the file's seller MST, else of the current company), the invoice as the file
        says, and ``match``: None when no invoice issued here has the file's seller MST, template, symbol and
        number, else the field-by-field comparison (file values only).
        """
        try:
            invoice, parse_problem = parse_xml(data), ''
        except EInvoiceError as e:
            invoice, parse_problem = None, _problem_text(e)
        company = self._trust_company(invoice)
        anchors = company._l10n_vn_einvoice_trust_anchors()
        try:
            report = verify_invoice(data, trusted_certificates=anchors)
        except EInvoiceError as e:
            return {'error': 'refused', 'detail': _problem_text(e)}
        result = {
            'error': None,
            'valid': report.valid,
            'verdict': report.verdict,
            'trust_company': company.name,
            'trust_anchors': [anchor['subject'] for anchor in report.trust_anchors],
            'signatures': signature_boxes(report),
            'problems': list(report.problems),
            'parse_problem': parse_problem,
            'invoice': summary(invoice) if invoice else None,
            'match': None,
        }
        move = self._find_issued(invoice) if invoice else None
        if move:
            ours_raw = move._l10n_vn_einvoice_signed_xml()
            identical = hashlib.sha256(data).digest() == hashlib.sha256(ours_raw).digest()
            result['match'] = comparison(invoice, parse_xml(ours_raw), identical)
        return result

    @api.model
    def _trust_company(self, invoice):
        """Whose trust store judges a file: the company here that is the file's seller, else the current one."""
        mst = normalize_tax_code(invoice.seller.tax_code or '').replace('-', '') if invoice else ''
        if mst:
            for company in self.env['res.company'].sudo().search([('vat', '!=', False)]):
                if normalize_tax_code(company.vat).replace('-', '') == mst:
                    return company
        return self.env.company.sudo()

    @api.model
    def _find_issued(self, invoice):
        """The invoice issued here with the file's seller MST, template, symbol and number (sudo), if any."""
        if invoice.number is None or not invoice.symbol:
            return self.env['account.move']
        mst = normalize_tax_code(invoice.seller.tax_code or '').replace('-', '')
        moves = self.env['account.move'].sudo().search([
            ('l10n_vn_einvoice_number', '=', invoice.number),
            ('l10n_vn_einvoice_series_id.symbol', '=', invoice.symbol),
            ('l10n_vn_einvoice_state', 'in', ISSUED),
        ])
        return moves.filtered(
            lambda m: m.l10n_vn_einvoice_template_id.code == invoice.template
            and normalize_tax_code(m.company_id.vat or '').replace('-', '') == mst
            and m.l10n_vn_einvoice_xml_id)[:1]


def _problem_text(error):
    problems = getattr(error, 'problems', None)
    if problems:
        return '; '.join(str(p) for p in problems)[:500]
    return str(error)[:500]
