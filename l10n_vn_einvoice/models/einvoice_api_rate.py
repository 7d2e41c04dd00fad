"""Rate limits of the e-invoice web service: requests per API key, and failed authentications (wrong
apikey or sessionkey) per remote address. A counter per key and minute in PostgreSQL (one
``INSERT … ON CONFLICT DO UPDATE``), so that every Odoo worker counts the same requests. Committed in its
own transaction at once: a refused or failed request still counts, and no request waits for another's."""

import time

from odoo import api, fields, models

DEFAULT_PER_MINUTE = 120
DEFAULT_FAILURES_PER_MINUTE = 10
WINDOW = 60  # seconds


class EinvoiceApiRate(models.Model):
    _name = 'l10n_vn_einvoice.api.rate'
    _description = 'E-invoice web service request counter'
    _log_access = False

    key = fields.Char(required=True, readonly=True, help='Hash of the API key.')
    minute = fields.Integer(required=True, readonly=True, help='Minute since the epoch.')
    count = fields.Integer(readonly=True)

    _sql_constraints = [('key_minute_unique', 'UNIQUE(key, minute)', 'One counter per key and minute.')]

    @api.model
    def _param(self, name, default):
        value = self.env['ir.config_parameter'].sudo().get_param(name)
        try:
            return int(value) if value else default
        except ValueError:
            return default

    @api.model
    def _limit(self):
        return self._param('l10n_vn_einvoice.api_rate_per_minute', DEFAULT_PER_MINUTE)

    @api.model
    def _failure_limit(self):
        return self._param('l10n_vn_einvoice.api_auth_failures_per_minute', DEFAULT_FAILURES_PER_MINUTE)

    def _cursor(self):
        cr = self.env.registry.cursor()  # its own transaction: committed now, whatever the request does
        if not self.env.registry.in_test_mode():  # (a test cursor is a savepoint of the test's transaction)
            # concurrent requests of one key add to the row another just committed, instead of failing
            cr.execute('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
        return cr

    @staticmethod
    def _wait(window, now):
        return max(1, int((window + 1) * WINDOW - now) + 1)

    @api.model
    def _hit(self, key, limit=None):
        """Count one request of ``key``: ``None`` if allowed (at most ``limit`` this minute, by default the
        per-key limit), else the seconds to wait."""
        limit, now = self._limit() if limit is None else limit, time.time()
        window = int(now // WINDOW)
        with self._cursor() as cr:
            cr.execute("""
                INSERT INTO l10n_vn_einvoice_api_rate (key, minute, count) VALUES (%s, %s, 1)
                ON CONFLICT (key, minute) DO UPDATE SET count = l10n_vn_einvoice_api_rate.count + 1
                RETURNING count
            """, [key, window])
            count = cr.fetchone()[0]
            if count == 1:  # first request of the minute: the old counters go
                cr.execute('DELETE FROM l10n_vn_einvoice_api_rate WHERE minute < %s', [window - 1])
        return self._wait(window, now) if count > limit else None

    @api.model
    def _blocked(self, key, limit):
        """``None`` while ``key`` counted fewer than ``limit`` this minute, else the seconds to wait."""
        now = time.time()
        window = int(now // WINDOW)
        self.env.cr.execute('SELECT count FROM l10n_vn_einvoice_api_rate WHERE key = %s AND minute = %s',
                            [key, window])
        row = self.env.cr.fetchone()
        return self._wait(window, now) if row and row[0] >= limit else None
