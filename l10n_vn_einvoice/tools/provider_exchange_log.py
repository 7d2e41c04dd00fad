"""Every request to a provider and its answer, masked, in the user log (``l10n_vn_einvoice.event``).

The library's HTTP session hands each exchange to an observer (``Provider.observe``); this is the Odoo
side of it. Rows are written at once, or, inside :meth:`ExchangeLog.deferred` (around a savepoint that
a failure rolls back), kept and written when the block ends, so that failed attempts stay in the log.
"""

import contextlib

from ..models.einvoice_event import masked


class ExchangeLog:
    """The user log of one provider run: rows per exchange, tied to the invoice being worked on."""

    def __init__(self):
        self.move = None
        self._depth = 0
        self._rows = []

    def observer(self, account):
        """The callback given to the client of ``account``."""
        def observe(exchange):
            row = (account, self.move, self._vals(account, exchange))
            if self._depth:
                self._rows.append(row)
            else:
                self._write([row])
        return observe

    @staticmethod
    def _vals(account, exchange):
        if exchange.status is not None:
            what = f'HTTP {exchange.status}'
        else:
            what = {'not_sent': account.env._('could not connect, nothing sent'),
                    'no_answer': account.env._('no answer')}.get(exchange.outcome, exchange.outcome)
        return {
            'outcome': 'done' if exchange.ok else 'failed', 'provider_id': account.id, 'channel': exchange.operation,
            'message': account.env._('%(provider)s %(operation)s (attempt %(attempt)s): %(what)s in %(seconds)s s') % {
                'provider': account.name, 'operation': exchange.operation, 'attempt': exchange.attempt,
                'what': what, 'seconds': f'{exchange.elapsed:.3f}'},
            'request': masked(exchange.request), 'response': masked(exchange.response),
        }

    @staticmethod
    def _write(rows):
        for account, move, vals in rows:
            message = vals.pop('message')
            account.env['l10n_vn_einvoice.event']._log('provider_exchange', move, vals.pop('outcome'), message,
                                                      **vals)

    @contextlib.contextmanager
    def deferred(self, move=None):
        """Keep the rows of this block (about ``move``) and write them when it ends, even after a rollback."""
        self._depth += 1
        before, self.move = self.move, move if move is not None else self.move
        try:
            yield
        finally:
            self._depth -= 1
            self.move = before
            if not self._depth:
                rows, self._rows = self._rows, []
                self._write(rows)
