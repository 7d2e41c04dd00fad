"""The provider session tokens of an account: this process' cache, backed by the database."""

import hashlib
import logging
from collections.abc import MutableMapping

import psycopg2

_logger = logging.getLogger(__name__)

# Tokens of this Odoo process (a cache shared by its threads, like Odoo's own caches):
# key -> (token, expiry epoch); the database keeps one per account too, for the other workers.
_PROCESS_TOKENS = {}


class TokenCache(MutableMapping):
    """The library's token cache for one account: this process' dict, backed by a table of tokens.

    Tokens are written on a separate cursor (outside tests), in their own table: never in the issuing
    transaction, which must not fail on a concurrent update after the provider answered, and never on
    the account's row, which the user's transaction may be writing."""

    def __init__(self, account):
        self.account = account

    @staticmethod
    def _hash(key):
        return hashlib.sha256(repr(key).encode()).hexdigest()

    def __getitem__(self, key):
        if key in _PROCESS_TOKENS:
            return _PROCESS_TOKENS[key]
        cr = self.account.env.cr
        cr.execute('SELECT token, expiry FROM l10n_vn_einvoice_provider_token WHERE provider_id = %s AND key_hash = %s',
                   [self.account.id, self._hash(key)])
        row = cr.fetchone()
        if not row or not row[0]:
            raise KeyError(key)
        _PROCESS_TOKENS[key] = (row[0], row[1])
        return _PROCESS_TOKENS[key]

    def __setitem__(self, key, value):
        _PROCESS_TOKENS[key] = value
        self._store(value[0], self._hash(key), float(value[1]))

    def __delitem__(self, key):
        _PROCESS_TOKENS.pop(key, None)
        self._store(None, self._hash(key), 0.0)

    def __iter__(self):
        return iter(_PROCESS_TOKENS)

    def __len__(self):
        return len(_PROCESS_TOKENS)

    def _store(self, token, key_hash, expiry):
        query = ('INSERT INTO l10n_vn_einvoice_provider_token (provider_id, key_hash, token, expiry) '
                 'VALUES (%s, %s, %s, %s) ON CONFLICT (provider_id) DO UPDATE '
                 'SET key_hash = EXCLUDED.key_hash, token = EXCLUDED.token, expiry = EXCLUDED.expiry')
        params = [self.account.id, key_hash, token, expiry]
        env = self.account.env
        try:
            if env['account.move']._can_commit():
                with env.registry.cursor() as cr:
                    cr.execute("SET LOCAL lock_timeout = '2s'")
                    cr.execute(query, params)
            else:
                with env.cr.savepoint(flush=False):
                    env.cr.execute(query, params)
        except psycopg2.Error as e:  # a cache: losing a token costs one login
            _logger.info('Provider account %s: token not stored (%s)', self.account.id, type(e).__name__)
