"""The state of one issuing run through providers, passed explicitly from call to call."""

from .provider_exchange_log import ExchangeLog


class ProviderRun:
    """One run of issuing through providers (one invoice, a list one by one, or a batch).

    ``clients``: provider clients opened during the run, by account id (closed at the end);
    by invoice id: ``maybe_sent`` (the "may have reached the provider" flag before the run),
    ``results`` (answers already known: from a batch or a look-up), ``documents`` (library documents
    already built) and ``outcome`` (what the provider answered, even if recording it failed).
    ``exchanges``: the user log of the run's requests and answers (see :class:`ExchangeLog`).
    """

    def __init__(self):
        self.clients = {}
        self.maybe_sent = {}
        self.results = {}
        self.documents = {}
        self.outcome = {}
        self.exchanges = ExchangeLog()

    def client(self, account):
        """The open client of a provider account (opened once per run)."""
        if account.id not in self.clients:
            self.clients[account.id] = account._client(exchange_log=self.exchanges)
        return self.clients[account.id]

    def close(self):
        clients, self.clients = self.clients, {}
        for client in clients.values():
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
