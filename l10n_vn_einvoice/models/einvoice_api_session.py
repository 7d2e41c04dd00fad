"""Session keys of the e-invoice web service: given by ``/einvoice/api/v1/login`` for an API key, kept
only as their SHA-256 hash, expiring (``l10n_vn_einvoice.api_session_hours``, default 24)."""

import hashlib
import secrets
from datetime import timedelta

from odoo import api, fields, models

DEFAULT_HOURS = 24


def key_hash(key):
    return hashlib.sha256((key or '').encode()).hexdigest()


class EinvoiceApiSession(models.Model):
    _name = 'l10n_vn_einvoice.api.session'
    _description = 'E-invoice web service session'
    _order = 'id desc'

    user_id = fields.Many2one('res.users', required=True, readonly=True, index=True, ondelete='cascade')
    apikey_hash = fields.Char(required=True, readonly=True, help='SHA-256 of the API key it was given for.')
    key_hash = fields.Char(required=True, readonly=True, index=True)
    expires = fields.Datetime(required=True, readonly=True)

    _sql_constraints = [('key_hash_unique', 'UNIQUE(key_hash)', 'A session key is unique.')]

    @api.model
    def _hours(self):
        value = self.env['ir.config_parameter'].sudo().get_param('l10n_vn_einvoice.api_session_hours')
        try:
            return max(float(value), 0.001) if value else DEFAULT_HOURS
        except ValueError:
            return DEFAULT_HOURS

    @api.model
    def _login(self, uid, apikey):
        """A new session key for this user and API key: ``(key, expires)``; the expired ones are dropped."""
        sessions = self.sudo()
        sessions.search([('expires', '<', fields.Datetime.now())]).unlink()
        key = secrets.token_urlsafe(32)
        expires = fields.Datetime.now() + timedelta(hours=self._hours())
        sessions.create({'user_id': uid, 'apikey_hash': key_hash(apikey), 'key_hash': key_hash(key), 'expires': expires})
        return key, expires

    @api.model
    def _check(self, uid, apikey, key):
        """True when ``key`` is a live session of this user and API key."""
        if not key:
            return False
        session = self.sudo().search([('key_hash', '=', key_hash(key))], limit=1)
        return bool(session) and session.user_id.id == uid and session.apikey_hash == key_hash(apikey) \
            and session.expires > fields.Datetime.now()
