"""Idempotency keys of the e-invoice web service: the first create with a key records the answer; the same
key again (a retry) gets that answer, never a second invoice. ``UNIQUE(user_id, key)`` makes concurrent
retries wait for the first: the loser of the race sees the row once the first commits (its transaction is
tried again by the controller on the serialization failure) and answers with the stored result."""

import hashlib
import json

from odoo import api, fields, models


class EinvoiceApiRequest(models.Model):
    _name = 'l10n_vn_einvoice.api.request'
    _description = 'E-invoice web service idempotency key'
    _order = 'id desc'

    user_id = fields.Many2one('res.users', required=True, readonly=True, ondelete='cascade')
    key = fields.Char(required=True, readonly=True)
    operation = fields.Char(required=True, readonly=True)
    body_hash = fields.Char(readonly=True)
    move_id = fields.Many2one('account.move', readonly=True, ondelete='set null')
    answer = fields.Text(readonly=True)

    _sql_constraints = [('user_key_unique', 'UNIQUE(user_id, key)', 'An idempotency key is used once per user.')]

    @staticmethod
    def _body_hash(operation, body):
        return hashlib.sha256(json.dumps([operation, body], sort_keys=True, default=str).encode()).hexdigest()

    @api.model
    def _claim(self, uid, key, operation, body):
        """Take ``key`` for this request: ``None`` (go on; :meth:`_done` records the answer) or the earlier
        record of that key. Waits for a concurrent request holding the same key."""
        self.env.cr.execute("""
            INSERT INTO l10n_vn_einvoice_api_request (user_id, key, operation, body_hash, create_uid, write_uid,
                                                      create_date, write_date)
            VALUES (%s, %s, %s, %s, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (user_id, key) DO NOTHING RETURNING id
        """, [uid, key, operation, self._body_hash(operation, body), uid, uid], log_exceptions=False)
        if self.env.cr.fetchone():
            return None
        return self.sudo().search([('user_id', '=', uid), ('key', '=', key)], limit=1)

    @api.model
    def _done(self, uid, key, move, answer):
        """Record the invoice of ``key`` and its answer (``None``: not yet, its issuing goes on)."""
        self.sudo().search([('user_id', '=', uid), ('key', '=', key)], limit=1).write({
            'move_id': move.id if move else False, 'answer': json.dumps(answer) if answer is not None else False})
